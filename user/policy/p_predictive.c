/*
 * p_predictive.c - the `predictive` and `oracle` policies.
 *
 * predictive: provision for the upper bound of the demand forecast at the
 * lead time (now + start-up), so replicas asked for now are ready when the
 * load arrives (pre-warming); scale down only to what the upper bound from
 * the next step through the scale-down window after the lead time still
 * needs (removal is immediate, a replica asked again is back only at the
 * lead time); never below the raw HPA
 * recommendation of the moment (the reactive safety net catches what the
 * forecast missed); never scale down when telemetry or the forecast is
 * missing.  Adversarial forecasts are defused before use: NAN makes the
 * forecast absent, negatives count as 0, and a value beyond four times
 * the observed peak is cut to it (policy_band_clean); bounds are applied after
 * the driver.
 *
 * oracle (simulator only): fed perfect foresight by the simulator - fc.upper
 * is the largest true demand between now and the lead time - it asks for
 * the cheapest count meeting the SLO and the utilisation target and drops
 * replicas as soon as they are not needed: the cost lower bound.
 */
#include "policy/internal.h"
#include "policy/queue.h"

#include <math.h>

/* Demand the policy provisions for: the band's upper bound, sanitised. */
static bool band_upper(const struct policy_band *b, double *v)
{
	double u;

	if (!b->valid || isnan(b->point) || isnan(b->upper))
		return false;
	u = b->upper > b->point ? b->upper : b->point;
	*v = u > 0 ? u : 0;
	return true;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Replicas for a demand band: the utilisation target (within the HPA's 0.1
 * tolerance, so predictive is never held to a stricter target than the
 * baseline) holds at the expected demand (the point) and the latency SLO still holds if demand
 * reaches the upper bound (utilisation may then exceed the target, never 100%).
 */
static int predictive_need(const struct policy_input *in, double point, double upper)
{
	int nmax = in->bounds.max_replicas;
	struct policy_input band = *in;
	int at_point;

	/* The target is met within the HPA's tolerance band, as for the HPA. */
	band.target_util = fmin(1.0, in->target_util * (1.0 + HPA_TOLERANCE));
	at_point = policy_need(&band, point);
	int at_upper = queue_need(upper, in->capacity, 1.0, in->slo_latency_ms / 1000.0, nmax);

	return imax(at_point, at_upper);
}

/*
 * The predictive rule for the demand band at the lead time (lead) and over
 * the scale-down window (win); shared with the RL policy, which chooses how
 * far into the interval to provision.
 */
int predictive_rule(const struct policy_input *in, const struct policy_band *lead,
		    const struct policy_band *win, struct policy_output *out)
{
	int cur = in->replicas_requested;
	int raw = policy_hpa_raw(in);
	int up = predictive_need(in, lead->point, lead->upper);
	int hold = predictive_need(in, win->point, win->upper);
	int want = imax(up, raw);

	if (want >= cur) {
		policy_reason_add(out,
				  "forecast %.4g (upper %.4g) req/s at +%gs needs %d (hpa "
				  "floor %d)",
				  lead->point, lead->upper, in->startup_s, up, raw);
		return want;
	}
	if (isnan(in->demand) || raw < 0) {
		policy_reason_add(out, "telemetry missing: not scaling down from %d", cur);
		return cur;
	}
	if (hold >= cur) {
		policy_reason_add(out,
				  "forecast over the scale-down window (upper %.4g req/s) "
				  "still needs %d: holding %d",
				  win->upper, hold, cur);
		return cur;
	}
	want = imax(want, hold);
	policy_reason_add(out, "scale down to %d: window needs %d, lead needs %d, hpa floor %d",
			  want, hold, up, raw);
	return want;
}

bool policy_band_clean(const struct policy_input *in, const struct policy_band *b,
		       struct policy_band *o)
{
	double cap = INFINITY;

	if (!b->valid || isnan(b->point) || isnan(b->upper))
		return false;
	if (isfinite(in->demand_peak) && in->demand_peak > 0)
		cap = POLICY_TRUST_PEAK * in->demand_peak + in->capacity * in->target_util;
	o->valid = true;
	o->point = fmin(cap, b->point > 0 ? b->point : 0);
	o->upper = fmin(cap, b->upper > o->point ? b->upper : o->point);
	o->lower = b->lower < o->point ? b->lower : o->point;
	return true;
}

static int predictive_decide(struct policy *p, void *st, const struct policy_input *in,
			     struct policy_output *out)
{
	struct policy_band lead, win;
	int raw;

	if (!policy_band_clean(in, &in->fc, &lead)) {
		raw = policy_hpa_raw(in);
		out->replicas = imax(in->replicas_requested, raw);
		policy_reason_add(out, "forecast missing: hpa floor %d, never scaling down", raw);
		return 0;
	}
	if (!policy_band_clean(in, &in->fc_window, &win))
		win = lead;
	win.point = fmax(win.point, lead.point);
	win.upper = fmax(win.upper, lead.upper);
	out->replicas = predictive_rule(in, &lead, &win, out);
	return 0;
}

const struct policy_ops policy_predictive_ops = {
    .name = "predictive",
    .decide = predictive_decide,
};

static int oracle_decide(struct policy *p, void *st, const struct policy_input *in,
			 struct policy_output *out)
{
	double need;

	if (!band_upper(&in->fc, &need)) {
		policy_reason_add(out, "oracle: no foresight given, keeping %d",
				  in->replicas_requested);
		return 0;
	}
	out->replicas = policy_need(in, need);
	policy_reason_add(out, "oracle: peak demand %.4g req/s until +%gs needs %d", need,
			  in->startup_s, out->replicas);
	return 0;
}

const struct policy_ops policy_oracle_ops = {
    .name = "oracle",
    .sim_only = true,
    .decide = oracle_decide,
};
