/*
 * sim.c - the trace-driven simulator; the model is described in sim.h and
 * docs/scaling.md.
 */
#include "policy/sim.h"
#include "policy/queue.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_params_check(struct sim_params *sp, char *err, size_t errlen)
{
	if (sp->scale == 0)
		sp->scale = 1;
	if (sp->target == 0)
		sp->target = 0.7;
	if (sp->coverage == 0)
		sp->coverage = 0.95;
	if (!sp->model)
		sp->model = "ensemble";
	if (!(sp->capacity > 0) || !isfinite(sp->capacity)) {
		snprintf(err, errlen, "capacity %g must be a positive number of req/s",
			 sp->capacity);
		return -EINVAL;
	}
	if (!(sp->startup_s >= 0) || !isfinite(sp->startup_s) || !(sp->step_s >= 0)) {
		snprintf(err, errlen, "start-up %g s and step %g s must not be negative",
			 sp->startup_s, sp->step_s);
		return -EINVAL;
	}
	if (!(sp->scale > 0) || !isfinite(sp->scale)) {
		snprintf(err, errlen, "scale %g must be positive", sp->scale);
		return -EINVAL;
	}
	if (!(sp->target > 0) || sp->target > 1) {
		snprintf(err, errlen, "utilisation target %g must be in (0, 1]", sp->target);
		return -EINVAL;
	}
	if (!(sp->coverage > 0) || !(sp->coverage < 1)) {
		snprintf(err, errlen, "interval coverage %g must be in (0, 1)", sp->coverage);
		return -EINVAL;
	}
	if (sp->min_replicas < 0 || sp->max_replicas < 1 || sp->min_replicas > sp->max_replicas) {
		snprintf(err, errlen, "min replicas %d and max %d: need 0 <= min <= max, max >= 1",
			 sp->min_replicas, sp->max_replicas);
		return -EINVAL;
	}
	/* Erlang C costs O(replicas) per step: keep a run within seconds. */
	if (sp->max_replicas > SIM_MAX_REPLICAS) {
		snprintf(err, errlen, "max replicas %d above the simulator's limit %d",
			 sp->max_replicas, SIM_MAX_REPLICAS);
		return -EINVAL;
	}
	if (!(sp->slo_ms > 1000.0 * queue_p95_floor(sp->capacity))) {
		snprintf(err, errlen,
			 "slo %g ms is not above the p95 service time %.4g ms of one request at "
			 "capacity %g req/s",
			 sp->slo_ms, 1000.0 * queue_p95_floor(sp->capacity), sp->capacity);
		return -EINVAL;
	}
	return 0;
}

int sim_lead_steps(const struct sim_params *sp, double step_s)
{
	return policy_lead_steps(sp->startup_s, step_s);
}

int sim_window_steps(double step_s)
{
	return policy_window_steps(step_s);
}

/* ---- trace ---- */

static int trace_alloc(struct sim_trace *tr, size_t n)
{
	tr->obs = malloc(n * sizeof(double));
	tr->demand = malloc(n * sizeof(double));
	if (!tr->obs || !tr->demand)
		return -ENOMEM;
	tr->n = n;
	return 0;
}

/*
 * Steps shorter than the series' own step (upsampling) have no row of
 * their own: they take the value of the row whose interval covers them.
 */
static void trace_hold(const struct csv_series *s, double scale, struct sim_trace *tr,
		       const size_t *cnt)
{
	size_t r = 0;

	for (size_t i = 0; i < tr->n; i++) {
		double start = tr->t0 + i * tr->step_s;

		while (r + 1 < s->n && s->t[r + 1] <= start)
			r++;
		if (cnt[i] || s->t[r] > start || start >= s->t[r] + s->step)
			continue;
		if (!isnan(s->v[r]) && s->v[r] >= 0)
			tr->obs[i] = s->v[r] * scale;
	}
}

/* Average valid rows per bucket into tr->obs (NAN if none); count negatives. */
static int trace_bucket(const struct csv_series *s, double scale, struct sim_trace *tr)
{
	size_t *cnt = calloc(tr->n, sizeof(size_t));

	if (!cnt)
		return -ENOMEM;
	for (size_t i = 0; i < tr->n; i++)
		tr->obs[i] = 0;
	for (size_t i = 0; i < s->n; i++) {
		size_t b = (size_t)floor((s->t[i] - tr->t0) / tr->step_s + 1e-9);

		if (b >= tr->n || isnan(s->v[i]))
			continue;
		if (s->v[i] < 0) {
			tr->n_negative++;
			continue;
		}
		tr->obs[b] += s->v[i] * scale;
		cnt[b]++;
	}
	for (size_t i = 0; i < tr->n; i++)
		tr->obs[i] = cnt[i] ? tr->obs[i] / cnt[i] : NAN;
	if (s->step > tr->step_s)
		trace_hold(s, scale, tr, cnt);
	free(cnt);
	return 0;
}

int sim_trace_from_series(const struct csv_series *s, double step_s, double scale,
			  struct sim_trace *tr, char *err, size_t errlen)
{
	double last = 0, span;

	memset(tr, 0, sizeof(*tr));
	if (!s->n) {
		snprintf(err, errlen, "trace has no samples");
		return -ENODATA;
	}
	tr->step_s = step_s > 0 ? step_s : s->step > 0 ? s->step : 60;
	tr->t0 = s->t[0];
	tr->fmt = s->fmt;
	span = s->t[s->n - 1] - s->t[0];
	if (span / tr->step_s > 1e8) {
		snprintf(err, errlen, "step %g s is too small for a trace spanning %g s",
			 tr->step_s, span);
		return -EINVAL;
	}
	if (trace_alloc(tr, (size_t)floor(span / tr->step_s + 1e-9) + 1) ||
	    trace_bucket(s, scale, tr)) {
		sim_trace_free(tr);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < tr->n; i++) {
		if (isnan(tr->obs[i]) || !isfinite(tr->obs[i])) {
			tr->obs[i] = NAN;
			tr->n_missing++;
		} else {
			last = tr->obs[i];
		}
		tr->demand[i] = isnan(tr->obs[i]) ? last : tr->obs[i];
	}
	/* Missing steps before the first valid one hold the first valid value. */
	for (size_t i = 0; i < tr->n && isnan(tr->obs[i]); i++)
		tr->demand[i] = NAN;
	for (size_t i = tr->n; i-- > 0;)
		if (isnan(tr->demand[i]))
			tr->demand[i] = i + 1 < tr->n ? tr->demand[i + 1] : 0;
	return 0;
}

void sim_trace_free(struct sim_trace *tr)
{
	if (!tr)
		return;
	free(tr->obs);
	free(tr->demand);
	memset(tr, 0, sizeof(*tr));
}
