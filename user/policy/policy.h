/*
 * policy.h - scaling policies: one interface for reactive, predictive, RL
 * and oracle decisions, plus the vertical sizing, priority and budget rules
 * every decision goes through.
 *
 * A `struct policy` holds one service's decision state (HPA history, RL
 * weights, ...).  Each decision takes a `struct policy_input` (what the
 * engine knows now: forecast with intervals at the lead time and over the
 * scale-down window, replicas, limits, observations, SLO, cost and bounds)
 * and fills a `struct policy_output` (replicas, CPU and memory limits, CPU
 * weight and a one-line reason).  The pair is kept as the last decision for
 * `presage explain`.
 *
 * Order inside policy_decide(): validate the input -> the driver's
 * horizontal choice -> vertical sizing decided with it (a per-replica limit
 * that would exceed its maximum adds replicas instead) -> per-service
 * budget cap -> clamp to [min, max] -> CPU weight.  Whatever the driver or
 * the forecast says, the output replicas are within [min, max] and the
 * limits within their bounds.
 *
 * Units: demand and capacity in requests/s (or any per-second metric the
 * service scales on), time in seconds, CPU in cores, memory in bytes, cost
 * per replica-hour and budget per hour in one currency.
 */
#ifndef PRESAGE_POLICY_H
#define PRESAGE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_REASON_MAX 320
#define POLICY_NAME_MAX	  16

/* Kubernetes HPA defaults (autoscaling/v2 behaviour). */
#define HPA_TOLERANCE	  0.1
#define HPA_DOWN_WINDOW_S 300.0
#define HPA_PERIOD_S	  15.0
#define HPA_UP_PODS	  4

enum policy_prio {
	POLICY_PRIO_BEST_EFFORT = 0,
	POLICY_PRIO_NORMAL,
	POLICY_PRIO_HIGH,
	POLICY_PRIO_CRITICAL,
	POLICY_PRIO_COUNT,
};

/* A forecast of one quantity: point and interval.  valid = 0 when absent. */
struct policy_band {
	bool valid;
	double point, lower, upper;
};

struct policy_bounds {
	int min_replicas, max_replicas;
	double cpu_min, cpu_max; /* cores per replica; 0/0 = no vertical sizing */
	double mem_min, mem_max; /* bytes per replica; 0/0 = no vertical sizing */
};

struct policy_input {
	double now;    /* seconds (any epoch) */
	double step_s; /* seconds between decisions (> 0) */
	/* Demand forecast at the lead time (now + startup) and the largest
	 * point/upper from the next step through the scale-down window after
	 * the lead time (what a scale-down now must still serve). */
	struct policy_band fc;
	struct policy_band fc_window;
	int replicas_requested; /* current requested replicas (HPA "current") */
	int replicas_ready;
	double demand;		      /* observed demand of the last step; NAN = missing */
	double demand_peak;	      /* highest demand observed recently; 0/NAN = unknown */
	double backlog;		      /* requests queued beyond capacity (0 if none/unknown) */
	double utilisation;	      /* demand over ready capacity; NAN = missing */
	double latency_p95_ms;	      /* observed p95; NAN = missing, INFINITY = overloaded */
	double capacity;	      /* requests/s one ready replica serves (> 0) */
	double startup_s;	      /* measured replica start-up time */
	double slo_latency_ms;	      /* p95 SLO; 0 = none */
	double target_util;	      /* utilisation target, (0, 1] */
	double cost_per_replica_hour; /* 0 = unknown */
	double budget_per_hour;	      /* 0 = none */
	struct policy_bounds bounds;
	enum policy_prio prio;
	bool node_contended; /* CPU of the node is contended now */
	/* Vertical sizing (optional): service-wide CPU forecast in cores, per-replica
	 * memory forecast in bytes, current per-replica limits, OOM kills since the
	 * last decision. */
	struct policy_band cpu, mem;
	double cpu_limit, mem_limit;
	int oom_kills;
};

struct policy_output {
	int replicas;
	double cpu_limit, mem_limit; /* 0 when the service has no vertical bounds */
	int cpu_weight;		     /* cgroup v2 cpu.weight, 1..10000 */
	bool budget_bound;	     /* the budget lowered the replica count */
	bool bounded;		     /* clamped to min/max or limit bounds */
	char reason[POLICY_REASON_MAX];
};

struct policy;

/*
 * A policy driver.  decide() fills out->replicas (within [min, max] or not:
 * the caller clamps) and may write out->reason; it returns 0 or -errno.
 * sim_only drivers (the oracle) need perfect foresight and are refused by
 * the daemon.
 */
struct policy_ops {
	const char *name;
	bool sim_only;
	void *(*create)(const struct policy *p);
	void (*destroy)(void *st);
	int (*decide)(struct policy *p, void *st, const struct policy_input *in,
		      struct policy_output *out);
};

/* Driver table (NULL-terminated) and lookup by name (NULL for unknown). */
extern const struct policy_ops *const policy_drivers[];
const struct policy_ops *policy_lookup(const char *name);

/*
 * A forecast is trusted up to POLICY_TRUST_PEAK times the recent observed
 * peak (plus one replica's worth): a model blowing up on a spike or on too
 * little history must not buy max replicas for demand never seen.
 */
#define POLICY_TRUST_PEAK 4.0

/* The default policy for services that name none. */
#define POLICY_DEFAULT "predictive"

/* Tunables; zero fields take defaults. */
struct policy_params {
	double cpu_headroom;  /* fraction added to CPU forecasts, default 0.15 */
	double mem_headroom;  /* fraction added to memory forecasts, default 0.2 */
	double oom_bump;      /* memory multiplier after an OOM kill, default 1.5 */
	const char *rl_model; /* RL weights file; NULL = compiled-in default */
	bool rl_train;	      /* RL explores and learns fast (training runs) */
	double rl_epsilon;    /* exploration rate when training, default 0.1 */
	unsigned int seed;    /* RL exploration seed */
};

/*
 * New policy state for one service using driver `name`; NULL + errno
 * (ENOENT unknown name, ENOMEM, ENOMSG/EBADMSG unreadable RL model, or the
 * error opening it).
 */
struct policy *policy_new(const char *name, const struct policy_params *pp);
void policy_free(struct policy *p);
const char *policy_name(const struct policy *p);
const struct policy_params *policy_params(const struct policy *p);

/*
 * One decision.  Returns 0 and fills *out, or -EINVAL when the input is
 * contradictory or unusable (min > max, budget below the cost of min
 * replicas, capacity <= 0, ...) with the one-line error in out->reason and
 * out->replicas = the current replicas clamped to the bounds (the safe
 * no-op).  The input and output are kept for policy_last().
 */
int policy_decide(struct policy *p, const struct policy_input *in, struct policy_output *out);

/* The last decision's input and output (false before the first one). */
bool policy_last(const struct policy *p, struct policy_input *in, struct policy_output *out);

/*
 * Check an input for contradictions; 0 or -EINVAL with a lowercase
 * one-line message in err ("min replicas 5 above max 3").
 */
int policy_validate(const struct policy_input *in, char *err, size_t errlen);

/* ---- HPA rules (reactive policy and safety net) ---- */

/*
 * The raw (unstabilised, unlimited) HPA recommendation:
 * ceil(requested * utilisation / target), or the requested count when the
 * ratio is within the 0.1 tolerance.  -1 when utilisation is missing (NAN
 * or negative).
 * Not clamped to bounds.
 */
int policy_hpa_raw(const struct policy_input *in);

/* Fewest replicas serving demand within the utilisation target and SLO. */
int policy_need(const struct policy_input *in, double demand);

/* ---- vertical sizing and priority (policy_size.c) ---- */

/*
 * Decide per-replica CPU and memory limits together with out->replicas:
 * CPU = forecast upper / replicas * (1 + headroom), and replicas grow when
 * that would exceed cpu_max; memory = forecast upper * (1 + headroom), bumped
 * by oom_bump over the current limit after an OOM kill; missing forecasts
 * keep the current limits (never shrink blind).  All clamped to bounds.
 */
void policy_size_vertical(const struct policy_params *pp, const struct policy_input *in,
			  struct policy_output *out);

/*
 * cgroup v2 cpu.weight from the priority class, raised when the node is
 * contended and the service's latency is near or above its SLO.  1..10000.
 */
int policy_cpu_weight(enum policy_prio prio, double latency_ms, double slo_ms, bool contended);

/* ---- budget across services (policy_budget.c) ---- */

struct policy_claim {
	enum policy_prio prio;
	int min_replicas;
	int wanted; /* the policy's desired replicas */
	double cost_per_replica_hour;
	int granted;	   /* out */
	bool budget_bound; /* out: granted < wanted because of the budget */
};

/*
 * Share budget_per_hour among n services: every service first gets its
 * min replicas, then the highest priority classes get what they want first
 * (ties in input order), a class that cannot be served in full gets what
 * still fits.  budget <= 0 means unlimited.  Returns 0, or -EINVAL when the
 * minimum replicas alone cost more than the budget (granted = min then).
 */
int policy_budget_allocate(struct policy_claim *c, size_t n, double budget_per_hour);

/* ---- forecasts from the model library (policy_fc.c) ---- */

struct fcast;
struct fcast_point;

/* Start-up in whole steps (rounded up) and the scale-down window in steps. */
/* Step counts saturate here, far above any forecast horizon. */
#define POLICY_STEPS_MAX (1 << 20)
int policy_lead_steps(double startup_s, double step_s);
int policy_window_steps(double step_s);

/*
 * From forecasts o[0..lead + window] (horizons 1.., o[k] = horizon k + 1):
 * the band at the lead time (o[lead]) and the largest point/upper (smallest
 * lower) from the next step through the window after the lead time.
 */
void policy_bands(const struct fcast_point *o, int lead, int window, struct policy_band *at,
		  struct policy_band *win);

/*
 * Fill in->fc and in->fc_window from forecaster f (fed up to the last
 * completed step) with intervals of the given coverage, using in->step_s
 * and in->startup_s.  0, or -errno from fcast_forecast() (-ENODATA before
 * any sample) or -ERANGE (lead beyond the longest horizon); on error the
 * bands are marked invalid, which the policies treat as missing.
 */
int policy_forecast_input(struct fcast *f, double coverage, struct policy_input *in);

/* ---- RL agent (policy_rl.c) ---- */

/* Save the RL policy's weights to path (atomic, model layout v3); 0 or -errno. */
int policy_rl_save(const struct policy *p, const char *path);

/*
 * Zero the RL policy's weights (the trainer starts from them, so a retrain
 * does not depend on the compiled-in model it replaces); 0 or -EINVAL.
 */
int policy_rl_clear(struct policy *p);

/*
 * Set dst's weights to the mean of the n agents' weights (dst may be one of
 * them): the trainer's ensemble of seeds.  0, or -EINVAL when a policy is
 * not rl or n < 1.
 */
int policy_rl_average(struct policy *dst, struct policy *const *src, int n);

/*
 * One-line text for an RL model load error (policy_new("rl") with
 * rl_model set fails with errno ENOMSG for a file of another layout
 * version, EBADMSG for a garbled one, or the open error).
 */
const char *policy_rl_strerror(int err);

#endif
