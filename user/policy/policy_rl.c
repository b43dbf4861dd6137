/*
 * policy_rl.c - the `rl` policy: linear Q-learning with tile coding that
 * learns how much of the forecast interval's upper margin it can save.
 *
 * Action a picks a margin z[a] in {0.5, 0.625, 0.75, 0.875, 1.0}
 * (rl_model.c); the policy provisions for point + z (upper - point) at the
 * lead time, keeps the full band over the scale-down window, and applies
 * the predictive rule (policy/p_predictive.c).  z = 1.0 is exactly the
 * predictive policy's decision and the rule is monotone in the band, so
 * whatever the agent learnt it is never above predictive, never below the
 * raw HPA recommendation (the reactive safety net), never scales down on
 * missing telemetry, and the bounds are applied after it.
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
 * Guardrails: greedy actions only outside training, step size at most
 * RL_ALPHA_ONLINE (training: RL_ALPHA_TRAIN), TD error clipped to
 * +-RL_TD_CLIP, weights clipped to +-RL_W_CLIP, no update from a step with
 * missing telemetry, and the audit (rl_audit.h): when the agent's cheaper
 * bands miss the demand too often, or a violation follows a saving, it
 * takes the predictive choice until its proposals have a clean record again.
 *
 * Weights: the compiled-in default (policy/rl_default.inc, written by
 * bench/train_rl) or a model file (rl_model.h has the layout).
 */
#include "policy/internal.h"
#include "policy/rl_audit.h"
#include "policy/rl_model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RL_GAMMA	0.5
#define RL_ALPHA_TRAIN	0.05
#define RL_ALPHA_ONLINE 0.005
#define RL_TD_CLIP	50.0
#define RL_W_CLIP	200.0
#define RL_VIOL_PENALTY 30.0
#define RL_DELAY_MAX	64
#define RL_STR_(x)	#x
#define RL_STR(x)	RL_STR_(x)

struct rl {
	struct rl_weights q;
	/* Decisions not yet credited: ring of the last RL_DELAY_MAX decisions. */
	struct rl_entry {
		int idx[RL_FEATURES][RL_TILINGS];
		int a;	      /* action taken (RL_PREDICTIVE under the audit) */
		double qmax;  /* greedy value of the state, for the previous TD target */
		int replicas; /* what the decision asked for */
		int proposal; /* what the agent's own choice asked for (audit or not) */
		int z1;	      /* what the predictive choice (z = 1.0) asked for */
		double cut;   /* upper bound of a cheaper proposal's band (else INFINITY) */
	} ring[RL_DELAY_MAX];
	long k; /* decisions made so far */
	double viol_ewma;
	struct rl_audit audit;
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

static double q_value(const struct rl_weights *q, int a, int idx[RL_FEATURES][RL_TILINGS])
{
	double v = q->bias[a];

	for (int i = 0; i < RL_FEATURES; i++)
		for (int k = 0; k < RL_TILINGS; k++)
			v += q->w[a][i][k][idx[i][k]] + q->w[RL_SHARED][i][k][idx[i][k]];
	return v;
}

static int greedy(const struct rl_weights *q, int idx[RL_FEATURES][RL_TILINGS], double *qbest)
{
	int best = 0;
	double bq = q_value(q, 0, idx);

	for (int a = 1; a < RL_ACTIONS; a++) {
		double v = q_value(q, a, idx);

		if (v > bq) {
			bq = v;
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
	struct rl_weights *q = &r->q;
	int a = e->a;
	double alpha =
	    (r->train ? RL_ALPHA_TRAIN : RL_ALPHA_ONLINE) / (2 * RL_FEATURES * RL_TILINGS + 1);
	double td = reward + RL_GAMMA * qnext - q_value(q, a, e->idx);

	if (!isfinite(td))
		return;
	td = td > RL_TD_CLIP ? RL_TD_CLIP : td < -RL_TD_CLIP ? -RL_TD_CLIP : td;
	q->bias[a] = clipw(q->bias[a] + alpha * td);
	for (int i = 0; i < RL_FEATURES; i++)
		for (int k = 0; k < RL_TILINGS; k++) {
			double *w = &q->w[a][i][k][e->idx[i][k]];
			double *v = &q->w[RL_SHARED][i][k][e->idx[i][k]];

			*w = clipw(*w + alpha * td);
			*v = clipw(*v + alpha * td);
		}
}

/*
 * Feed the audit the outcome of decision j (made lead steps ago for the step
 * just observed): a miss when the agent's own proposal, taken or overruled,
 * was a cheaper band whose upper bound the demand exceeded; a violation when
 * the step violated while a cheaper choice the agent took within the
 * scale-down window up to j was in force (a replica not asked for is there
 * only start-up time after it is asked for).
 */
static void audit(struct rl *r, const struct policy_input *in, long j, bool viol)
{
	const struct rl_entry *e = &r->ring[j % RL_DELAY_MAX];
	long from = j - policy_window_steps(in->step_s);
	bool miss = in->demand > e->cut, saved = false;

	if (from <= r->k - RL_DELAY_MAX)
		from = r->k - RL_DELAY_MAX + 1;
	for (long i = from < 0 ? 0 : from; viol && !saved && i <= j; i++)
		saved = r->ring[i % RL_DELAY_MAX].replicas < r->ring[i % RL_DELAY_MAX].z1;
	rl_audit_record(&r->audit, miss, viol && saved);
}

/*
 * Credit the decision whose replicas became ready for the step just
 * observed (lead steps earlier): its reward is the replicas it asked for
 * over those the observed demand needed, minus the penalty if that step
 * violated the SLO; the audit learns whether a saving cost the step.  No
 * update on missing telemetry.  Returns the violation.
 */
static bool credit(struct rl *r, const struct policy_input *in)
{
	long lead = policy_lead_steps(in->startup_s, in->step_s), j;
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
	audit(r, in, j, viol);
	return viol;
}

static void *rl_create(const struct policy *p)
{
	const struct policy_params *pp = policy_params(p);
	struct rl *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return NULL;
	rl_weights_default(&r->q);
	if (pp->rl_model && (rc = rl_weights_load(&r->q, pp->rl_model)) < 0) {
		free(r);
		errno = -rc;
		return NULL;
	}
	rl_audit_init(&r->audit);
	r->train = pp->rl_train;
	r->epsilon = pp->rl_epsilon;
	r->seed = pp->seed ? pp->seed : 1;
	return r;
}

static int rl_choose(struct rl *r, int idx[RL_FEATURES][RL_TILINGS], double *qbest)
{
	int a = greedy(&r->q, idx, qbest);

	if (r->train && rand_r(&r->seed) < r->epsilon * RAND_MAX)
		a = rand_r(&r->seed) % RL_ACTIONS;
	return a;
}

/*
 * The predictive rule with the lead-time band cut to margin z.  The band over
 * the scale-down window keeps its full upper bound, as in
 * predictive_decide(): a replica removed is back only start-up time after
 * it is asked for again, so the agent saves on what it adds, never by
 * removing replicas earlier than predictive would from the same state.
 * At z = 1 this is exactly predictive_decide()'s decision.
 */
static int rule_at(const struct policy_input *in, const struct policy_band *full, double z,
		   struct policy_output *out)
{
	struct policy_band lead = *full, win;

	/* upper == point (also both infinite): nothing to cut, and no INF - INF. */
	if (full->upper > full->point)
		lead.upper = full->point + z * (full->upper - full->point);
	if (!policy_band_clean(in, &in->fc_window, &win))
		win = *full;
	win.point = fmax(win.point, full->point);
	win.upper = fmax(win.upper, full->upper);
	return predictive_rule(in, &lead, &win, out);
}

static int rl_decide(struct policy *p, void *st, const struct policy_input *in,
		     struct policy_output *out)
{
	struct rl *r = st;
	struct rl_entry *e = &r->ring[r->k % RL_DELAY_MAX];
	struct policy_output scratch = {0};
	double f[RL_FEATURES], qbest;
	struct policy_band lead;
	int a, taken;

	features(in, f, r->viol_ewma);
	tiles(f, e->idx);
	a = rl_choose(r, e->idx, &qbest);
	e->qmax = qbest;
	e->a = RL_PREDICTIVE;
	e->replicas = e->proposal = e->z1 = in->replicas_requested;
	e->cut = INFINITY;
	r->k++;
	if (!isnan(in->demand))
		r->viol_ewma = 0.9 * r->viol_ewma + 0.1 * credit(r, in);
	if (!policy_band_clean(in, &in->fc, &lead)) {
		int raw = policy_hpa_raw(in);

		out->replicas = raw > in->replicas_requested ? raw : in->replicas_requested;
		e->replicas = e->proposal = e->z1 = out->replicas;
		policy_reason_add(out, "rl: forecast missing, hpa floor %d, not scaling down", raw);
		return 0;
	}
	/* Training explores without the audit, so the agent learns what every
	 * margin does; the audit guards the agent as shipped. */
	taken = a;
	if (a != RL_PREDICTIVE && !r->train && rl_audit_fallback(&r->audit)) {
		policy_reason_add(
		    out,
		    "rl: audit fallback to margin 1.0 (proposed %.3g; last %d "
		    "proposals: %d cheaper bands missed, %d violations after savings)",
		    rl_margin[a], r->audit.n, r->audit.misses, r->audit.violations);
		taken = RL_PREDICTIVE;
	} else {
		policy_reason_add(out, "rl: margin %.3g of the interval (q %.3g)", rl_margin[a],
				  qbest);
	}
	/* The rule once per band: the one taken explains itself in out. */
	e->z1 = rule_at(in, &lead, 1.0, taken == RL_PREDICTIVE ? out : &scratch);
	e->proposal = a == RL_PREDICTIVE ? e->z1
					 : rule_at(in, &lead, rl_margin[a], taken == a ? out : &scratch);
	if (a != RL_PREDICTIVE && lead.upper > lead.point)
		e->cut = lead.point + rl_margin[a] * (lead.upper - lead.point);
	e->a = taken;
	out->replicas = taken == RL_PREDICTIVE ? e->z1 : e->proposal;
	e->replicas = out->replicas;
	return 0;
}

int policy_rl_save(const struct policy *p, const char *path)
{
	const struct rl *r = policy_state(p);

	if (strcmp(policy_name(p), "rl") != 0)
		return -EINVAL;
	return rl_weights_save(&r->q, path);
}

int policy_rl_clear(struct policy *p)
{
	if (strcmp(policy_name(p), "rl") != 0)
		return -EINVAL;
	memset(&((struct rl *)policy_state(p))->q, 0, sizeof(struct rl_weights));
	return 0;
}

int policy_rl_average(struct policy *dst, struct policy *const *src, int n)
{
	struct rl_weights *d;
	double *dw;

	if (n < 1 || strcmp(policy_name(dst), "rl") != 0)
		return -EINVAL;
	for (int k = 0; k < n; k++)
		if (strcmp(policy_name(src[k]), "rl") != 0)
			return -EINVAL;
	d = &((struct rl *)policy_state(dst))->q;
	dw = &d->w[0][0][0][0];
	/* Element by element, so dst may be one of src.  Q is linear in the
	 * weights, so the mean agent's Q is the mean of the agents' Q. */
	for (int i = 0; i < RL_ACTIONS; i++) {
		double s = 0;

		for (int k = 0; k < n; k++)
			s += ((const struct rl *)policy_state(src[k]))->q.bias[i];
		d->bias[i] = s / n;
	}
	for (int i = 0; i < RL_NW; i++) {
		double s = 0;

		for (int k = 0; k < n; k++)
			s += (&((const struct rl *)policy_state(src[k]))->q.w[0][0][0][0])[i];
		dw[i] = s / n;
	}
	return 0;
}

const char *policy_rl_strerror(int err)
{
	err = err < 0 ? -err : err;
	if (err == ENOMSG)
		return "a presage-rl model of another layout version (this build reads "
		       "version " RL_STR(RL_MODEL_VERSION) "; retrain with bench/train_rl)";
	if (err == EBADMSG)
		return "not a valid presage-rl version " RL_STR(
		    RL_MODEL_VERSION) " model (garbled, truncated, or other dimensions or margins)";
	return strerror(err);
}

const struct policy_ops policy_rl_ops = {
    .name = "rl",
    .create = rl_create,
    .destroy = free,
    .decide = rl_decide,
};
