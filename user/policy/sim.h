/*
 * sim.h - trace-driven backtesting of scaling policies (`presage sim`).
 *
 * The model (DESIGN.md "Trace-driven simulation"; docs/scaling.md):
 *   - Discrete steps of dt seconds (the trace's step or --step).  The trace
 *     value times --scale is the demand in requests/s during the step.
 *   - Each ready replica serves `capacity` req/s: an M/M/c queue with
 *     exponential service of mean 1/capacity (policy/queue.h, Erlang C).
 *   - A decision for step t sees only the demand of steps before t: the
 *     forecaster has been fed steps 0..t-1 and the observations are those
 *     of step t-1.  The oracle alone is given the true future.
 *   - A replica asked for at step t is ready at step t + L, L = the start-up
 *     time rounded up to whole steps; removal is immediate, newest (still
 *     starting) replicas first.
 *   - Demand above what the ready replicas serve in a step carries over as
 *     backlog and is offered again (on top of new demand) in later steps.
 *   - A step violates the SLO when its p95 response time exceeds the SLO or
 *     backlog is non-zero at its start or end (queued requests waited at
 *     least until a step boundary).
 *   - Cost is replica-seconds of requested replicas, starting ones included.
 *   - Every policy starts with the replicas the first step needs, all ready.
 *
 * Bad input: a missing (empty/NaN) or negative trace value is missing
 * telemetry - the policies see NAN and the forecaster skips it - while the
 * simulated demand holds the last valid value; gaps in the timestamps are
 * missing steps handled the same way (resampling puts them in empty
 * buckets); zeros and spikes are real demand and simulated as they are.
 */
#ifndef PRESAGE_POLICY_SIM_H
#define PRESAGE_POLICY_SIM_H

#include <stdbool.h>
#include <stddef.h>

#include "io/csv.h"
#include "policy/policy.h"

#define SIM_MAX_REPLICAS 10000 /* largest --max the simulator accepts */

struct sim_params {
	double capacity;  /* req/s per ready replica (> 0) */
	double startup_s; /* replica start-up time (>= 0) */
	double slo_ms;	  /* p95 latency SLO */
	double step_s;	  /* 0 = the trace's own step */
	double scale;	  /* multiplier for trace values, > 0 */
	int min_replicas, max_replicas;
	double target;		 /* utilisation target, (0, 1] */
	double coverage;	 /* forecast interval coverage, default 0.95 */
	const char *model;	 /* forecasting model, default "ensemble" */
	struct policy_params pp; /* passed to every policy */
};

/* Fill defaults for zero fields and check; 0 or -EINVAL with a message. */
int sim_params_check(struct sim_params *sp, char *err, size_t errlen);

/* A trace resampled to whole steps. */
struct sim_trace {
	size_t n;
	double step_s;
	double t0;	   /* unix seconds of step 0 */
	double *obs;	   /* demand the policies observe (NAN = missing) */
	double *demand;	   /* demand simulated (missing ones held) */
	size_t n_missing;  /* missing steps (empty, NaN or gap) */
	size_t n_negative; /* negative values, treated as missing */
	struct csv_ts_format fmt;
};

/*
 * Resample a loaded series to steps of step_s seconds (0 = the series'
 * step): each step's value is the mean of the valid rows that fall in it,
 * times scale; a step shorter than the series' step takes the value of the
 * row whose interval covers it.  0 or -errno with a message (no data, bad step).
 */
int sim_trace_from_series(const struct csv_series *s, double step_s, double scale,
			  struct sim_trace *tr, char *err, size_t errlen);
void sim_trace_free(struct sim_trace *tr);

/*
 * Forecasts the policies see, one per step t (made after steps 0..t-1):
 * at the lead time (horizon lead + 1, the step new replicas become ready)
 * and the largest point and upper from the next step through the
 * scale-down window after the lead time.
 * This struct is the seam between the simulator and the forecasting
 * engine: sim_forecast_build() fills it from the model library, tests may
 * fill it by hand.  valid[t] = 0 before the first sample.
 */
struct sim_forecast {
	size_t n;
	int lead;   /* L: start-up in whole steps */
	int window; /* scale-down window in whole steps */
	unsigned char *valid;
	double *p1;		       /* one-step-ahead point (for the decisions file) */
	double *point, *lower, *upper; /* at horizon L + 1 */
	double *wpoint, *wupper;       /* max over horizons L + 1 .. L + 1 + window */
};

/* Lead and window in steps for these parameters and step. */
int sim_lead_steps(const struct sim_params *sp, double step_s);
int sim_window_steps(double step_s);

/* Allocate an all-invalid forecast of n steps; 0 or -ENOMEM. */
int sim_forecast_alloc(struct sim_forecast *fc, size_t n, int lead, int window);

/*
 * Run the forecasting model sp->model (user/model/) online over the
 * observed demand and fill *fc.  0 or -errno with a message.
 */
int sim_forecast_build(const struct sim_trace *tr, const struct sim_params *sp,
		       struct sim_forecast *fc, char *err, size_t errlen);
void sim_forecast_free(struct sim_forecast *fc);

/* One simulated step, for --decisions-out. */
struct sim_step {
	size_t i;
	double demand;	 /* simulated demand, req/s */
	double forecast; /* one-step-ahead point forecast (NAN if none) */
	double upper;	 /* upper bound of the forecast at the lead time (NAN if none) */
	double wupper;	 /* upper bound over the scale-down window (NAN if none) */
	int requested, ready;
	double latency_ms; /* p95 of the step; INFINITY with backlog */
	double backlog;
	bool violated;
};
typedef int (*sim_step_fn)(void *arg, const struct sim_step *st);

struct sim_result {
	char policy[POLICY_NAME_MAX];
	size_t steps, violations;
	double slo_violation_pct;
	double replica_seconds;
	double cost_vs_oracle; /* NAN until sim_run_all() fills it */
	long actions;
	double p95_latency_ms; /* over steps without backlog; NAN if none */
	bool error;	       /* a decision reported an error (see message) */
};

/*
 * Simulate policy p (state kept: RL learns across calls) over the trace.
 * cb (may be NULL) is called per step; a non-zero return stops the run and
 * is returned.  0 or -errno with a message in err.
 */
int sim_run_policy(const struct sim_trace *tr, const struct sim_forecast *fc, struct policy *p,
		   const struct sim_params *sp, sim_step_fn cb, void *arg, struct sim_result *res,
		   char *err, size_t errlen);

/*
 * Simulate the named policy with fresh state.  0 or -errno (ENOENT unknown
 * policy) with a message.
 */
int sim_run(const struct sim_trace *tr, const struct sim_forecast *fc, const char *policy,
	    const struct sim_params *sp, sim_step_fn cb, void *arg, struct sim_result *res,
	    char *err, size_t errlen);

#endif
