/*
 * internal.h - helpers shared by the policy drivers (not a public API).
 */
#ifndef PRESAGE_POLICY_INTERNAL_H
#define PRESAGE_POLICY_INTERNAL_H

#include "policy/policy.h"

/* Append "; <text>" to out->reason (bounded, one line). */
void policy_reason_add(struct policy_output *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Longest HPA recommendation history kept (entries within the window). */
#define HPA_HIST_MAX 1024

/*
 * HPA behaviour state: recommendations within the scale-down stabilisation
 * window and scale events within the rate-limit period.
 */
struct hpa {
	double rec_t[HPA_HIST_MAX];
	int rec_v[HPA_HIST_MAX];
	int rec_head, rec_n;
	double ev_t[HPA_HIST_MAX];
	int ev_d[HPA_HIST_MAX];
	int ev_head, ev_n;
};

/*
 * One HPA evaluation at in->now: record the raw recommendation, stabilise
 * (max over the 300 s window when scaling down), rate-limit (up: max(100%,
 * 4 pods) per 15 s; down: 100% per 15 s) and record the scale event.
 * Returns the new desired replicas (not clamped to bounds) and describes
 * the steps in out->reason.  Missing utilisation keeps the current count.
 */
int hpa_step(struct hpa *h, const struct policy_input *in, struct policy_output *out);

/*
 * Sanitise a demand forecast band: false when absent or NAN; negatives
 * count as 0, upper >= point >= lower, and everything capped at
 * POLICY_TRUST_PEAK x the observed peak plus one replica at target.
 */
bool policy_band_clean(const struct policy_input *in, const struct policy_band *b,
		       struct policy_band *o);

/* The driver's private state (what ops->create returned). */
void *policy_state(const struct policy *p);

/*
 * The predictive rule (p_predictive.c) for the demand bands at the lead time
 * and over the scale-down window (sanitised: point >= 0, upper >= point):
 * max(need(lead), raw HPA), scaling down only to need(win) and never on
 * missing telemetry.  need() keeps the utilisation target at the point and
 * the latency SLO at the upper bound.  Returns
 * the desired replicas (not clamped) and explains it in out->reason.
 */
int predictive_rule(const struct policy_input *in, const struct policy_band *lead,
		    const struct policy_band *win, struct policy_output *out);
#endif
