/*
 * p_reactive.c - the `reactive` policy: the Kubernetes HPA rules exactly
 * (autoscaling/v2 default behaviour), the baseline and the safety net.
 *
 *   raw        = ceil(current * metric / target), or current within 0.1 tolerance
 *   stabilised = raw when scaling up (up window 0 s); when scaling down, the
 *                max of the raw recommendations of the last 300 s
 *   rate limit = up to max(2 x, +4) replicas over the replicas at the start
 *                of the last 15 s period; down by at most 100% per 15 s
 *
 * "current" is the requested replica count and the metric is utilisation
 * over the ready replicas (DESIGN.md, simulator details).  A missing metric
 * keeps the current count, as the HPA skips a sync without metrics.
 */
#include "policy/internal.h"

#include <math.h>
#include <stdlib.h>

static void rec_push(struct hpa *h, double t, int v)
{
	int i = (h->rec_head + h->rec_n) % HPA_HIST_MAX;

	if (h->rec_n == HPA_HIST_MAX) {
		h->rec_head = (h->rec_head + 1) % HPA_HIST_MAX;
		h->rec_n--;
	}
	h->rec_t[i] = t;
	h->rec_v[i] = v;
	h->rec_n++;
}

/* Max of the recommendations within (now - window, now]; drops older ones. */
static int rec_max(struct hpa *h, double now, double window)
{
	int best = -1;

	while (h->rec_n && h->rec_t[h->rec_head] <= now - window) {
		h->rec_head = (h->rec_head + 1) % HPA_HIST_MAX;
		h->rec_n--;
	}
	for (int k = 0; k < h->rec_n; k++) {
		int i = (h->rec_head + k) % HPA_HIST_MAX;

		if (h->rec_v[i] > best)
			best = h->rec_v[i];
	}
	return best;
}

/* Net replicas added (sign > 0) or removed (sign < 0) in (now - period, now]. */
static int ev_sum(struct hpa *h, double now, int sign)
{
	int sum = 0;

	while (h->ev_n && h->ev_t[h->ev_head] <= now - HPA_PERIOD_S) {
		h->ev_head = (h->ev_head + 1) % HPA_HIST_MAX;
		h->ev_n--;
	}
	for (int k = 0; k < h->ev_n; k++) {
		int d = h->ev_d[(h->ev_head + k) % HPA_HIST_MAX];

		if ((sign > 0 && d > 0) || (sign < 0 && d < 0))
			sum += abs(d);
	}
	return sum;
}

static void ev_push(struct hpa *h, double t, int d)
{
	int i = (h->ev_head + h->ev_n) % HPA_HIST_MAX;

	if (h->ev_n == HPA_HIST_MAX) {
		h->ev_head = (h->ev_head + 1) % HPA_HIST_MAX;
		h->ev_n--;
	}
	h->ev_t[i] = t;
	h->ev_d[i] = d;
	h->ev_n++;
}

static int rate_limit(struct hpa *h, const struct policy_input *in, int cur, int want,
		      struct policy_output *out)
{
	if (want > cur) {
		int start = cur - ev_sum(h, in->now, 1);
		int lim = (int)ceil(start * 2.0);

		if (start + HPA_UP_PODS > lim)
			lim = start + HPA_UP_PODS;
		if (want > lim) {
			policy_reason_add(out,
					  "scale-up limited to %d (max(100%%, %d pods) per %gs)",
					  lim, HPA_UP_PODS, HPA_PERIOD_S);
			want = lim;
		}
	} else if (want < cur) {
		int start = cur + ev_sum(h, in->now, -1);
		int lim = (int)(start * (1.0 - 1.0)); /* 100% per period: no floor above 0 */

		if (want < lim)
			want = lim;
	}
	return want;
}

int hpa_step(struct hpa *h, const struct policy_input *in, struct policy_output *out)
{
	int cur = in->replicas_requested;
	int raw = policy_hpa_raw(in);
	int want, down;

	if (raw < 0) {
		policy_reason_add(out, "hpa: metric missing, keeping %d", cur);
		return cur;
	}
	rec_push(h, in->now, raw);
	down = rec_max(h, in->now, HPA_DOWN_WINDOW_S);
	want = raw > cur ? raw : (cur < down ? cur : down);
	policy_reason_add(out, "hpa: util %.3f target %.3f -> raw %d", in->utilisation,
			  in->target_util, raw);
	if (raw < cur && want > raw)
		policy_reason_add(out, "scale-down stabilised at %d (max over %gs)", want,
				  HPA_DOWN_WINDOW_S);
	want = rate_limit(h, in, cur, want, out);
	/* The HPA applies min/max before acting: record the change it makes. */
	if (want < in->bounds.min_replicas)
		want = in->bounds.min_replicas;
	if (want > in->bounds.max_replicas)
		want = in->bounds.max_replicas;
	if (want != cur)
		ev_push(h, in->now, want - cur);
	return want;
}

static void *reactive_create(const struct policy *p)
{
	return calloc(1, sizeof(struct hpa));
}

static int reactive_decide(struct policy *p, void *st, const struct policy_input *in,
			   struct policy_output *out)
{
	out->replicas = hpa_step(st, in, out);
	return 0;
}

const struct policy_ops policy_reactive_ops = {
    .name = "reactive",
    .create = reactive_create,
    .destroy = free,
    .decide = reactive_decide,
};
