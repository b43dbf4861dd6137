/*
 * policy_rl.c - the `rl` policy: linear Q-learning with tile coding that
 * learns how far into the forecast interval to provision.
 *
 * Action a picks a margin z[a]; the policy provisions for
 * point + z (upper - point) at the lead time and over the scale-down window
 * and then applies the predictive rule (policy/p_predictive.c), so the HPA
 * floor, the no-scale-down-on-missing-telemetry rule and the bounds hold
 * whatever the agent learnt: it can only choose among safe decisions.
 *
 * State (each clipped to [0, 1] after scaling): forecast-to-capacity ratio
 * (upper at the lead over requested capacity at target), relative interval
 * width, utilisation over target, p95 latency over SLO, replicas (log scale),
 * and the share of recent steps in violation.  Features: for each state
 * variable, RL_TILINGS offset tilings of RL_TILES tiles; Q(s, a) is the sum
 * of the active weights of a row shared by all actions (the state's value)
 * and of action a's own row (its advantage), plus a bias per action.
 *
 * Reward of a decision, credited when its replicas are ready (start-up
 * time later, so the agent learns the effect of what it asked for):
 * -(replicas asked / replicas the demand then needed), minus
 * RL_VIOL_PENALTY when that step violated the SLO (latency over SLO,
 * backlog, or utilisation over 1).  One-step Q-learning over decisions,
 * gamma RL_GAMMA.
 *
 * Online learning guardrails: greedy actions only, step size at most
 * RL_ALPHA_ONLINE (training: RL_ALPHA_TRAIN), TD error clipped to
 * +-RL_TD_CLIP, weights clipped to +-RL_W_CLIP, no update from a step with
 * missing telemetry.
 *
 * Model file (text): "presage-rl 2 A F T N" then A biases and (A+1)*F*T*N
 * weights (the shared row last), whitespace separated.  Without a file the
 * compiled-in default (policy/rl_default.inc, produced by the trainer) is
 * used.
 */
#include "policy/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RL_ACTIONS	5
#define RL_FEATURES	6
#define RL_TILINGS	4
#define RL_TILES	8
#define RL_GAMMA	0.5
#define RL_ALPHA_TRAIN	0.05
#define RL_ALPHA_ONLINE 0.005
#define RL_TD_CLIP	50.0
#define RL_W_CLIP	200.0
#define RL_VIOL_PENALTY 30.0
#define RL_DELAY_MAX	64
#define RL_NW		((RL_ACTIONS + 1) * RL_FEATURES * RL_TILINGS * RL_TILES)
#define RL_SHARED	RL_ACTIONS /* row of w shared by every action: the state value */

static const double rl_margin[RL_ACTIONS] = {0.0, 0.5, 1.0, 1.5, 2.0};

static const double rl_default[RL_ACTIONS + RL_NW] = {
#include "policy/rl_default.inc"
};

struct rl {
	double bias[RL_ACTIONS];
	double w[RL_ACTIONS + 1][RL_FEATURES][RL_TILINGS][RL_TILES];
	/* Decisions not yet credited: ring of the last RL_DELAY_MAX decisions. */
	struct rl_entry {
		int idx[RL_FEATURES][RL_TILINGS];
		int a;
		double qmax;
		int replicas;
	} ring[RL_DELAY_MAX];
	long k; /* decisions made so far */
	double viol_ewma;
	bool train;
	double epsilon;
	unsigned int seed;
};

static double clip01(double v)
{
	return isnan(v) ? 0.0 : v < 0 ? 0.0 : v > 1 ? 1.0 : v;
}

static void features(const struct policy_input *in, double f[RL_FEATURES], double viol)
{
	double cap = fmax(1, in->replicas_requested) * in->capacity * in->target_util;
	double pt = in->fc.valid ? in->fc.point : NAN;
	double width = in->fc.valid ? (in->fc.upper - in->fc.lower) / fmax(fabs(pt), 1e-9) : 0;

	f[0] = clip01((in->fc.valid ? in->fc.upper : 0) / cap / 2.0);
	f[1] = clip01(width / 2.0);
	f[2] = clip01(in->utilisation / in->target_util / 2.0);
	f[3] = in->slo_latency_ms > 0 ? clip01(in->latency_p95_ms / in->slo_latency_ms / 2.0) : 0;
	f[4] = clip01(log2(1.0 + in->replicas_requested) / 10.0);
	f[5] = clip01(viol);
}

static void tiles(const double f[RL_FEATURES], int idx[RL_FEATURES][RL_TILINGS])
{
	for (int i = 0; i < RL_FEATURES; i++)
		for (int k = 0; k < RL_TILINGS; k++) {
			int t = (int)floor(f[i] * (RL_TILES - 1) + (double)k / RL_TILINGS);

			idx[i][k] = t < 0 ? 0 : t >= RL_TILES ? RL_TILES - 1 : t;
		}
}

static double q_value(const struct rl *r, int a, int idx[RL_FEATURES][RL_TILINGS])
{
	double q = r->bias[a];

	for (int i = 0; i < RL_FEATURES; i++)
		for (int k = 0; k < RL_TILINGS; k++)
			q += r->w[a][i][k][idx[i][k]] + r->w[RL_SHARED][i][k][idx[i][k]];
	return q;
}

static int greedy(const struct rl *r, int idx[RL_FEATURES][RL_TILINGS], double *qbest)
{
	int best = 0;
	double bq = q_value(r, 0, idx);

	for (int a = 1; a < RL_ACTIONS; a++) {
		double q = q_value(r, a, idx);

		if (q > bq) {
			bq = q;
			best = a;
		}
	}
	*qbest = bq;
	return best;
}

static double clipw(double v)
{
	return v > RL_W_CLIP ? RL_W_CLIP : v < -RL_W_CLIP ? -RL_W_CLIP : v;
}

/* One Q-learning update of entry e toward reward + gamma qnext. */
static void learn(struct rl *r, struct rl_entry *e, double reward, double qnext)
{
	int a = e->a;
	double alpha =
	    (r->train ? RL_ALPHA_TRAIN : RL_ALPHA_ONLINE) / (2 * RL_FEATURES * RL_TILINGS + 1);
	double td = reward + RL_GAMMA * qnext - q_value(r, a, e->idx);

	if (!isfinite(td))
		return;
	td = td > RL_TD_CLIP ? RL_TD_CLIP : td < -RL_TD_CLIP ? -RL_TD_CLIP : td;
	r->bias[a] = clipw(r->bias[a] + alpha * td);
	for (int i = 0; i < RL_FEATURES; i++)
		for (int k = 0; k < RL_TILINGS; k++) {
			double *w = &r->w[a][i][k][e->idx[i][k]];
			double *v = &r->w[RL_SHARED][i][k][e->idx[i][k]];

			*w = clipw(*w + alpha * td);
			*v = clipw(*v + alpha * td);
		}
}

/*
 * Credit the decision whose replicas became ready for the step just
 * observed (lead steps earlier): its reward is the replicas it asked for
 * over those the observed demand needed, minus the penalty if that step
 * violated the SLO.  No update on missing telemetry.  Returns the violation.
 */
static bool credit(struct rl *r, const struct policy_input *in)
{
	long lead = (long)ceil(in->startup_s / in->step_s - 1e-9), j;
	struct rl_entry *e;
	bool viol;
	int need;

	if (isnan(in->demand) || isnan(in->utilisation))
		return false;
	viol = in->backlog > 0 || in->utilisation > 1.0 ||
	       (in->slo_latency_ms > 0 && !(in->latency_p95_ms <= in->slo_latency_ms));
	if (lead > RL_DELAY_MAX - 2)
		lead = RL_DELAY_MAX - 2;
	j = r->k - 1 - lead;
	if (j < 0)
		return viol;
	e = &r->ring[j % RL_DELAY_MAX];
	need = policy_need(in, in->demand);
	learn(r, e, -(double)e->replicas / (need > 1 ? need : 1) - (viol ? RL_VIOL_PENALTY : 0),
	      r->ring[(j + 1) % RL_DELAY_MAX].qmax);
	return viol;
}

static int load_model(struct rl *r, const char *path);

static void *rl_create(const struct policy *p)
{
	const struct policy_params *pp = policy_params(p);
	struct rl *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	memcpy(r->bias, rl_default, sizeof(r->bias));
	memcpy(r->w, rl_default + RL_ACTIONS, sizeof(r->w));
	if (pp->rl_model && load_model(r, pp->rl_model) < 0) {
		free(r);
		return NULL;
	}
	r->train = pp->rl_train;
	r->epsilon = pp->rl_epsilon;
	r->seed = pp->seed ? pp->seed : 1;
	return r;
}

static int rl_choose(struct rl *r, int idx[RL_FEATURES][RL_TILINGS], double *qbest)
{
	int a = greedy(r, idx, qbest);

	if (r->train && rand_r(&r->seed) < r->epsilon * RAND_MAX)
		a = rand_r(&r->seed) % RL_ACTIONS;
	return a;
}

static int rl_decide(struct policy *p, void *st, const struct policy_input *in,
		     struct policy_output *out)
{
	struct rl *r = st;
	struct rl_entry *e = &r->ring[r->k % RL_DELAY_MAX];
	double f[RL_FEATURES], qbest, z;
	struct policy_band lead, win;
	int a;

	features(in, f, r->viol_ewma);
	tiles(f, e->idx);
	a = rl_choose(r, e->idx, &qbest);
	e->a = a;
	e->qmax = qbest;
	e->replicas = in->replicas_requested;
	r->k++;
	if (!isnan(in->demand))
		r->viol_ewma = 0.9 * r->viol_ewma + 0.1 * credit(r, in);
	if (!policy_band_clean(in, &in->fc, &lead)) {
		int raw = policy_hpa_raw(in);

		out->replicas = raw > in->replicas_requested ? raw : in->replicas_requested;
		e->replicas = out->replicas;
		policy_reason_add(out, "rl: forecast missing, hpa floor %d, not scaling down", raw);
		return 0;
	}
	z = rl_margin[a];
	lead.upper = lead.point + z * (lead.upper - lead.point);
	win = lead;
	if (policy_band_clean(in, &in->fc_window, &win)) {
		win.point = fmax(lead.point, win.point);
		win.upper = fmax(lead.upper, win.point + z * fmax(0, win.upper - win.point));
	}
	policy_reason_add(out, "rl: margin %.1f of the interval (q %.3g)", z, qbest);
	out->replicas = predictive_rule(in, &lead, &win, out);
	e->replicas = out->replicas;
	return 0;
}

static int load_model(struct rl *r, const char *path)
{
	FILE *f = fopen(path, "r");
	int ver, na, nf, nt, nn, ok = 1;
	double *all = (double *)r->bias;

	if (!f)
		return -errno;
	if (fscanf(f, "presage-rl %d %d %d %d %d", &ver, &na, &nf, &nt, &nn) != 5 || ver != 2 ||
	    na != RL_ACTIONS || nf != RL_FEATURES || nt != RL_TILINGS || nn != RL_TILES)
		ok = 0;
	for (int i = 0; ok && i < RL_ACTIONS; i++)
		ok = fscanf(f, "%lf", &all[i]) == 1 && isfinite(all[i]);
	all = &r->w[0][0][0][0];
	for (int i = 0; ok && i < RL_NW; i++)
		ok = fscanf(f, "%lf", &all[i]) == 1 && isfinite(all[i]);
	fclose(f);
	if (!ok) {
		errno = EBADMSG;
		return -EBADMSG;
	}
	return 0;
}

int policy_rl_save(const struct policy *p, const char *path)
{
	const struct rl *r = policy_state(p);
	char tmp[4096];
	const double *w = &r->w[0][0][0][0];
	FILE *f;
	int err = 0;

	if (strcmp(policy_name(p), "rl") != 0)
		return -EINVAL;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "presage-rl 2 %d %d %d %d\n", RL_ACTIONS, RL_FEATURES, RL_TILINGS, RL_TILES);
	for (int i = 0; i < RL_ACTIONS; i++)
		fprintf(f, "%.6g%c", r->bias[i], i + 1 < RL_ACTIONS ? ' ' : '\n');
	for (int i = 0; i < RL_NW; i++)
		fprintf(f, "%.6g%c", w[i], (i + 1) % RL_TILES ? ' ' : '\n');
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

const struct policy_ops policy_rl_ops = {
    .name = "rl",
    .create = rl_create,
    .destroy = free,
    .decide = rl_decide,
};
