/*
 * sim_run.c - forecasts for the simulator and the step loop: replicas
 * starting and ready, the M/M/c queue with backlog, and the scoring.
 */
#include "policy/sim.h"
#include "policy/queue.h"
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG_EPS 1e-6 /* requests: below this a queue counts as empty */

/* ---- forecasts ---- */

int sim_forecast_alloc(struct sim_forecast *fc, size_t n, int lead, int window)
{
	double **arr[] = {&fc->p1, &fc->point, &fc->lower, &fc->upper, &fc->wpoint, &fc->wupper};

	memset(fc, 0, sizeof(*fc));
	fc->n = n;
	fc->lead = lead;
	fc->window = window;
	fc->valid = calloc(n ? n : 1, 1);
	for (size_t k = 0; k < sizeof(arr) / sizeof(arr[0]); k++)
		*arr[k] = calloc(n ? n : 1, sizeof(double));
	for (size_t k = 0; k < sizeof(arr) / sizeof(arr[0]); k++)
		if (!*arr[k] || !fc->valid) {
			sim_forecast_free(fc);
			return -ENOMEM;
		}
	return 0;
}

void sim_forecast_free(struct sim_forecast *fc)
{
	if (!fc)
		return;
	free(fc->valid);
	free(fc->p1);
	free(fc->point);
	free(fc->lower);
	free(fc->upper);
	free(fc->wpoint);
	free(fc->wupper);
	memset(fc, 0, sizeof(*fc));
}

/* Store the forecast made before step t from horizons 1..h in o. */
static void fc_store(struct sim_forecast *fc, size_t t, const struct fcast_point *o)
{
	struct policy_band at, win;

	policy_bands(o, fc->lead, fc->window, &at, &win);
	fc->valid[t] = 1;
	fc->p1[t] = o[0].point;
	fc->point[t] = at.point;
	fc->lower[t] = at.lower;
	fc->upper[t] = at.upper;
	fc->wpoint[t] = win.point;
	fc->wupper[t] = win.upper;
}

int sim_forecast_build(const struct sim_trace *tr, const struct sim_params *sp,
		       struct sim_forecast *fc, char *err, size_t errlen)
{
	struct fcast_params fp = {.step_s = tr->step_s};
	struct fcast_point *o;
	struct fcast *f;
	int lead = sim_lead_steps(sp, tr->step_s), win = sim_window_steps(tr->step_s);
	int h = lead + 1 + win;

	if (1 + win >= FCAST_MAX_H) {
		snprintf(err, errlen,
			 "step %g s: the %g s scale-down window is %d steps, more than the "
			 "%d-step forecast (use a longer --step)",
			 tr->step_s, HPA_DOWN_WINDOW_S, win, FCAST_MAX_H - 1);
		return -EINVAL;
	}
	if (h > FCAST_MAX_H) {
		snprintf(err, errlen, "start-up %g s is %d steps: longer than the %d-step forecast",
			 sp->startup_s, lead, FCAST_MAX_H - 1 - win);
		return -EINVAL;
	}
	fp.max_horizon = h;
	fp.coverage = sp->coverage;
	if (sim_forecast_alloc(fc, tr->n, lead, win)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f = fcast_new(sp->model, &fp);
	o = calloc(h, sizeof(*o));
	if (!f || !o) {
		int e = errno ? errno : ENOMEM;

		snprintf(err, errlen, "failed to create forecasting model %s: %s", sp->model,
			 strerror(e));
		fcast_free(f);
		free(o);
		sim_forecast_free(fc);
		return -e;
	}
	for (size_t t = 1; t < tr->n; t++) {
		fcast_update(f, tr->obs[t - 1]);
		if (fcast_forecast(f, h, sp->coverage, o) == 0)
			fc_store(fc, t, o);
	}
	fcast_free(f);
	free(o);
	return 0;
}

/* ---- the step loop ---- */

struct run {
	const struct sim_trace *tr;
	const struct sim_forecast *fc;
	const struct sim_params *sp;
	struct policy *p;
	bool oracle;
	int lead;
	int *pend; /* replicas becoming ready, by step modulo lead + 1 */
	int req, ready;
	double backlog;	     /* requests queued at the end of the last step */
	double util, lat_ms; /* observations of the last step */
	double peak;	     /* highest observed demand so far (NAN before any) */
	double *lat;	     /* p95 of steps without backlog */
	size_t nlat;
};

static void fill_band(struct policy_band *b, bool valid, double pt, double lo, double up)
{
	b->valid = valid && !isnan(pt);
	b->point = pt;
	b->lower = lo;
	b->upper = up;
}

/* The oracle's foresight: the largest true demand until the lead time. */
static double oracle_peak(const struct run *r, size_t t)
{
	double peak = r->tr->demand[t] + r->backlog / r->tr->step_s;

	for (size_t k = t + 1; k <= t + (size_t)r->lead && k < r->tr->n; k++)
		peak = fmax(peak, r->tr->demand[k]);
	return peak;
}

static void build_input(const struct run *r, size_t t, struct policy_input *in)
{
	const struct sim_params *sp = r->sp;
	const struct sim_forecast *fc = r->fc;
	double obs = t ? r->tr->obs[t - 1] : NAN;

	memset(in, 0, sizeof(*in));
	in->now = r->tr->t0 + t * r->tr->step_s;
	in->step_s = r->tr->step_s;
	if (r->oracle) {
		double peak = oracle_peak(r, t);

		fill_band(&in->fc, true, peak, peak, peak);
		in->fc_window = in->fc;
	} else if (fc && t < fc->n) {
		fill_band(&in->fc, fc->valid[t], fc->point[t], fc->lower[t], fc->upper[t]);
		fill_band(&in->fc_window, fc->valid[t], fc->wpoint[t], fc->lower[t], fc->wupper[t]);
	}
	in->replicas_requested = r->req;
	in->replicas_ready = r->ready;
	in->demand = obs;
	in->demand_peak = r->peak;
	in->backlog = r->backlog;
	in->utilisation = isnan(obs) ? NAN : r->util;
	in->latency_p95_ms = isnan(obs) ? NAN : r->lat_ms;
	in->capacity = sp->capacity;
	in->startup_s = sp->startup_s;
	in->slo_latency_ms = sp->slo_ms;
	in->target_util = sp->target;
	in->bounds.min_replicas = sp->min_replicas;
	in->bounds.max_replicas = sp->max_replicas;
	in->prio = POLICY_PRIO_NORMAL;
}

/* Apply a new requested count: start new replicas or remove newest first. */
static void apply(struct run *r, size_t t, int want)
{
	int m = r->lead + 1;

	if (want > r->req) {
		if (r->lead == 0)
			r->ready += want - r->req;
		else
			r->pend[(t + r->lead) % m] += want - r->req;
	} else {
		int drop = r->req - want;

		for (int k = r->lead; k >= 1 && drop > 0; k--) {
			int *slot = &r->pend[(t + k) % m];
			int d = *slot < drop ? *slot : drop;

			*slot -= d;
			drop -= d;
		}
		r->ready -= drop;
	}
	r->req = want;
}

/* Serve step t with the ready replicas; fills the step record. */
static void serve(struct run *r, size_t t, struct sim_step *st)
{
	double dt = r->tr->step_s, mu = r->sp->capacity;
	double in_q = r->backlog;
	double offered = r->tr->demand[t] + in_q / dt;
	double cap = r->ready * mu;

	if (offered < cap || offered <= 0) {
		r->backlog = 0;
		st->latency_ms = 1000.0 * queue_p95(r->ready, offered, mu);
	} else {
		r->backlog = (offered - cap) * dt;
		st->latency_ms = INFINITY;
	}
	if (r->backlog < BACKLOG_EPS)
		r->backlog = 0;
	r->util = r->ready > 0 ? offered / cap : offered > 0 ? INFINITY : 0;
	r->lat_ms = st->latency_ms;
	st->backlog = r->backlog;
	st->violated = in_q > 0 || r->backlog > 0 || !(st->latency_ms <= r->sp->slo_ms);
	if (in_q <= 0 && r->backlog <= 0)
		r->lat[r->nlat++] = st->latency_ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void score(struct run *r, struct sim_result *res)
{
	res->slo_violation_pct = res->steps ? 100.0 * res->violations / res->steps : 0;
	res->cost_vs_oracle = NAN;
	res->p95_latency_ms = NAN;
	if (r->nlat) {
		size_t k = (size_t)ceil(0.95 * r->nlat) - 1;

		qsort(r->lat, r->nlat, sizeof(double), cmp_double);
		res->p95_latency_ms = r->lat[k];
	}
}

static int run_init(struct run *r, const struct sim_trace *tr, const struct sim_params *sp)
{
	struct policy_input in = {.capacity = sp->capacity,
				  .target_util = sp->target,
				  .slo_latency_ms = sp->slo_ms,
				  .bounds = {sp->min_replicas, sp->max_replicas}};
	int n0 = policy_need(&in, tr->demand[0]);

	r->lead = sim_lead_steps(sp, tr->step_s);
	r->pend = calloc(r->lead + 1, sizeof(int));
	r->lat = malloc(tr->n * sizeof(double));
	if (!r->pend || !r->lat)
		return -ENOMEM;
	n0 = n0 < sp->min_replicas   ? sp->min_replicas
	     : n0 > sp->max_replicas ? sp->max_replicas
				     : n0;
	r->req = r->ready = n0;
	r->util = r->lat_ms = r->peak = NAN;
	return 0;
}

static int run_step(struct run *r, size_t t, struct sim_result *res, struct sim_step *st, char *err,
		    size_t errlen)
{
	struct policy_input in;
	struct policy_output out;
	int m = r->lead + 1, e;

	r->ready += r->pend[t % m];
	r->pend[t % m] = 0;
	if (t && !isnan(r->tr->obs[t - 1]) && !(r->tr->obs[t - 1] <= r->peak))
		r->peak = r->tr->obs[t - 1];
	build_input(r, t, &in);
	e = policy_decide(r->p, &in, &out);
	if (e) {
		snprintf(err, errlen, "step %zu: %s", t, out.reason);
		return e;
	}
	if (out.replicas != r->req)
		res->actions++;
	apply(r, t, out.replicas);
	memset(st, 0, sizeof(*st));
	st->i = t;
	st->demand = r->tr->demand[t];
	st->forecast = st->upper = st->wupper = NAN;
	if (r->fc && t < r->fc->n && r->fc->valid[t]) {
		st->forecast = r->fc->p1[t];
		st->upper = r->fc->upper[t];
		st->wupper = r->fc->wupper[t];
	}
	serve(r, t, st);
	st->requested = r->req;
	st->ready = r->ready;
	res->replica_seconds += r->req * r->tr->step_s;
	res->violations += st->violated;
	res->steps++;
	return 0;
}

int sim_run_policy(const struct sim_trace *tr, const struct sim_forecast *fc, struct policy *p,
		   const struct sim_params *sp, sim_step_fn cb, void *arg, struct sim_result *res,
		   char *err, size_t errlen)
{
	struct run r = {.tr = tr, .fc = fc, .sp = sp, .p = p};
	struct sim_step st;
	int e = 0;

	memset(res, 0, sizeof(*res));
	snprintf(res->policy, sizeof(res->policy), "%s", policy_name(p));
	r.oracle = strcmp(policy_name(p), "oracle") == 0;
	if (!tr->n) {
		snprintf(err, errlen, "trace has no steps");
		return -ENODATA;
	}
	if (run_init(&r, tr, sp)) {
		snprintf(err, errlen, "out of memory");
		e = -ENOMEM;
		goto out;
	}
	for (size_t t = 0; t < tr->n && !e; t++) {
		e = run_step(&r, t, res, &st, err, errlen);
		if (!e && cb)
			e = cb(arg, &st);
	}
	score(&r, res);
out:
	free(r.pend);
	free(r.lat);
	return e;
}

int sim_run(const struct sim_trace *tr, const struct sim_forecast *fc, const char *policy,
	    const struct sim_params *sp, sim_step_fn cb, void *arg, struct sim_result *res,
	    char *err, size_t errlen)
{
	struct policy *p;
	int e;

	if (!policy_lookup(policy)) {
		snprintf(err, errlen, "unknown policy %s", policy);
		return -ENOENT;
	}
	p = policy_new(policy, &sp->pp);
	if (!p) {
		e = errno ? errno : ENOMEM;
		if (strcmp(policy, "rl") == 0 && sp->pp.rl_model)
			snprintf(err, errlen, "failed to load rl model %s: %s", sp->pp.rl_model,
				 policy_rl_strerror(e));
		else
			snprintf(err, errlen, "failed to create policy %s: %s", policy,
				 strerror(e));
		return -e;
	}
	e = sim_run_policy(tr, fc, p, sp, cb, arg, res, err, errlen);
	policy_free(p);
	return e;
}
