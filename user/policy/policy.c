/*
 * policy.c - the policy driver table and the decision pipeline shared by
 * every driver: validation, HPA arithmetic, sizing, budget and bounds.
 */
#include "policy/policy.h"
#include "policy/queue.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct policy_ops policy_reactive_ops;
extern const struct policy_ops policy_predictive_ops;
extern const struct policy_ops policy_rl_ops;
extern const struct policy_ops policy_oracle_ops;

const struct policy_ops *const policy_drivers[] = {
    &policy_reactive_ops, &policy_predictive_ops, &policy_rl_ops, &policy_oracle_ops, NULL,
};

struct policy {
	const struct policy_ops *ops;
	void *st;
	struct policy_params pp;
	bool has_last;
	struct policy_input last_in;
	struct policy_output last_out;
};

const struct policy_ops *policy_lookup(const char *name)
{
	for (size_t i = 0; name && policy_drivers[i]; i++)
		if (strcmp(policy_drivers[i]->name, name) == 0)
			return policy_drivers[i];
	return NULL;
}

static void params_defaults(struct policy_params *pp)
{
	if (!(pp->cpu_headroom > 0))
		pp->cpu_headroom = 0.15;
	if (!(pp->mem_headroom > 0))
		pp->mem_headroom = 0.2;
	if (!(pp->oom_bump > 1))
		pp->oom_bump = 1.5;
	if (!(pp->rl_epsilon > 0))
		pp->rl_epsilon = 0.1;
}

struct policy *policy_new(const char *name, const struct policy_params *pp)
{
	const struct policy_ops *ops = policy_lookup(name);
	struct policy *p;

	if (!ops) {
		errno = ENOENT;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ops = ops;
	if (pp)
		p->pp = *pp;
	params_defaults(&p->pp);
	if (ops->create) {
		p->st = ops->create(p);
		if (!p->st) {
			int e = errno ? errno : ENOMEM;

			free(p);
			errno = e;
			return NULL;
		}
	}
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	if (p->ops->destroy)
		p->ops->destroy(p->st);
	free(p);
}

const char *policy_name(const struct policy *p)
{
	return p->ops->name;
}

const struct policy_params *policy_params(const struct policy *p)
{
	return &p->pp;
}

/* The private state of the driver, for the drivers' own helpers. */
void *policy_state(const struct policy *p);
void *policy_state(const struct policy *p)
{
	return p->st;
}

int policy_validate(const struct policy_input *in, char *err, size_t errlen)
{
	const struct policy_bounds *b = &in->bounds;

	if (b->min_replicas < 0 || b->max_replicas < 1) {
		snprintf(err, errlen, "replica bounds [%d, %d] must have min >= 0 and max >= 1",
			 b->min_replicas, b->max_replicas);
		return -EINVAL;
	}
	if (b->min_replicas > b->max_replicas) {
		snprintf(err, errlen, "min replicas %d above max %d", b->min_replicas,
			 b->max_replicas);
		return -EINVAL;
	}
	if (!(in->capacity > 0) || !isfinite(in->capacity)) {
		snprintf(err, errlen, "replica capacity %g must be a positive number",
			 in->capacity);
		return -EINVAL;
	}
	if (!(in->target_util > 0) || in->target_util > 1) {
		snprintf(err, errlen, "utilisation target %g must be in (0, 1]", in->target_util);
		return -EINVAL;
	}
	if (!(in->step_s > 0) || !(in->startup_s >= 0) || !isfinite(in->step_s) ||
	    !isfinite(in->startup_s)) {
		snprintf(err, errlen, "step %g s and start-up %g s must be positive", in->step_s,
			 in->startup_s);
		return -EINVAL;
	}
	/* written to hold for NaN too, and a limit is a finite number */
	if (!(b->cpu_min >= 0 && b->cpu_min <= b->cpu_max && isfinite(b->cpu_max)) ||
	    !(b->mem_min >= 0 && b->mem_min <= b->mem_max && isfinite(b->mem_max))) {
		snprintf(err, errlen, "limit bounds cpu [%g, %g] mem [%g, %g] are contradictory",
			 b->cpu_min, b->cpu_max, b->mem_min, b->mem_max);
		return -EINVAL;
	}
	if (in->budget_per_hour > 0 && in->cost_per_replica_hour > 0 &&
	    b->min_replicas * in->cost_per_replica_hour > in->budget_per_hour + 1e-9) {
		snprintf(err, errlen, "budget %.4g/h below the cost of min replicas %.4g/h",
			 in->budget_per_hour, b->min_replicas * in->cost_per_replica_hour);
		return -EINVAL;
	}
	return 0;
}

int policy_hpa_raw(const struct policy_input *in)
{
	double ratio, cur = in->replicas_requested;

	/* A negative utilisation is a broken measurement: as good as missing. */
	if (isnan(in->utilisation) || in->utilisation < 0)
		return -1;
	ratio = in->utilisation / in->target_util;
	if (fabs(ratio - 1.0) <= HPA_TOLERANCE)
		return in->replicas_requested;
	/* No ready replica but demand: HPA has no usable metric; ask for one. */
	if (!isfinite(ratio))
		return in->replicas_requested > 0
			   ? (in->replicas_requested > INT_MAX / 2 ? INT_MAX
								   : in->replicas_requested * 2)
			   : 1;
	if (cur * ratio > 1e6)
		return 1000000;
	return (int)ceil(cur * ratio - 1e-9);
}

int policy_need(const struct policy_input *in, double demand)
{
	int nmax = in->bounds.max_replicas;

	if (!isfinite(demand))
		return isnan(demand) ? 0 : nmax;
	return queue_need(demand, in->capacity, in->target_util, in->slo_latency_ms / 1000.0, nmax);
}

/* Append to the reason, keeping it one line and bounded. */
void policy_reason_add(struct policy_output *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void policy_reason_add(struct policy_output *out, const char *fmt, ...)
{
	size_t len = strlen(out->reason);
	va_list ap;

	if (len + 3 >= sizeof(out->reason))
		return;
	if (len) {
		strcpy(out->reason + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(out->reason + len, sizeof(out->reason) - len, fmt, ap);
	va_end(ap);
}

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Per-service budget: cap replicas at what the budget pays for. */
static void apply_budget(const struct policy_input *in, struct policy_output *out)
{
	double can;
	int afford;

	if (!(in->budget_per_hour > 0) || !(in->cost_per_replica_hour > 0))
		return;
	can = floor(in->budget_per_hour / in->cost_per_replica_hour + 1e-9);
	if (!(can < (double)out->replicas)) /* also an infinite budget: it never binds */
		return;
	afford = (int)can;
	policy_reason_add(out, "budget %.4g/h binds: %d replicas wanted, %d affordable",
			  in->budget_per_hour, out->replicas, afford);
	out->replicas = afford;
	out->budget_bound = true;
}

static void finish(const struct policy_params *pp, const struct policy_input *in,
		   struct policy_output *out)
{
	const struct policy_bounds *b = &in->bounds;
	int r = clamp_int(out->replicas, b->min_replicas, b->max_replicas);

	if (r != out->replicas) {
		policy_reason_add(out, "clamped %d to bounds [%d, %d]", out->replicas,
				  b->min_replicas, b->max_replicas);
		out->bounded = true;
		out->replicas = r;
	}
	policy_size_vertical(pp, in, out);
	apply_budget(in, out);
	out->replicas = clamp_int(out->replicas, b->min_replicas, b->max_replicas);
	out->cpu_weight =
	    policy_cpu_weight(in->prio, in->latency_p95_ms, in->slo_latency_ms, in->node_contended);
}

int policy_decide(struct policy *p, const struct policy_input *in, struct policy_output *out)
{
	int cur =
	    clamp_int(in->replicas_requested, in->bounds.min_replicas, in->bounds.max_replicas);
	int err;

	memset(out, 0, sizeof(*out));
	err = policy_validate(in, out->reason, sizeof(out->reason));
	if (err) {
		out->replicas = in->bounds.min_replicas <= in->bounds.max_replicas
				    ? cur
				    : in->replicas_requested;
		out->cpu_limit = in->cpu_limit;
		out->mem_limit = in->mem_limit;
		return err;
	}
	out->replicas = cur;
	err = p->ops->decide(p, p->st, in, out);
	if (err) {
		if (!out->reason[0])
			snprintf(out->reason, sizeof(out->reason), "%s policy failed: %s",
				 p->ops->name, strerror(-err));
		out->replicas = cur;
	}
	finish(&p->pp, in, out);
	p->last_in = *in;
	p->last_out = *out;
	p->has_last = true;
	return err;
}

bool policy_last(const struct policy *p, struct policy_input *in, struct policy_output *out)
{
	if (!p->has_last)
		return false;
	if (in)
		*in = p->last_in;
	if (out)
		*out = p->last_out;
	return true;
}
