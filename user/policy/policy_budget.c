/*
 * policy_budget.c - sharing a cost budget among services by priority.
 */
#include "policy/policy.h"

#include <errno.h>
#include <math.h>

static double cost_of(const struct policy_claim *c, int replicas)
{
	return replicas * (c->cost_per_replica_hour > 0 ? c->cost_per_replica_hour : 0);
}

/* Grant every claim of class prio as much as still fits, in input order. */
static double serve_class(struct policy_claim *c, size_t n, int prio, double left)
{
	for (size_t i = 0; i < n; i++) {
		int extra, fit;
		double unit = c[i].cost_per_replica_hour;

		if ((int)c[i].prio != prio || c[i].wanted <= c[i].granted)
			continue;
		extra = c[i].wanted - c[i].granted;
		if (unit > 0) {
			double can = floor(left / unit + 1e-9);

			fit = can < (double)extra ? (int)can : extra; /* cast only what fits an int */
		} else {
			fit = extra;
		}
		if (fit < extra)
			c[i].budget_bound = true;
		if (fit > extra)
			fit = extra;
		if (fit < 0)
			fit = 0;
		c[i].granted += fit;
		left -= fit * (unit > 0 ? unit : 0);
	}
	return left;
}

int policy_budget_allocate(struct policy_claim *c, size_t n, double budget_per_hour)
{
	double left = budget_per_hour;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		c[i].granted = c[i].min_replicas > 0 ? c[i].min_replicas : 0;
		c[i].budget_bound = false;
		if (c[i].wanted < c[i].granted)
			c[i].wanted = c[i].granted;
		left -= cost_of(&c[i], c[i].granted);
	}
	if (!(budget_per_hour > 0)) {
		for (size_t i = 0; i < n; i++)
			c[i].granted = c[i].wanted;
		return 0;
	}
	if (left < -1e-9)
		err = -EINVAL;
	for (int prio = POLICY_PRIO_COUNT - 1; prio >= 0 && left > 0; prio--)
		left = serve_class(c, n, prio, left);
	for (size_t i = 0; i < n; i++)
		if (c[i].granted < c[i].wanted)
			c[i].budget_bound = true;
	return err;
}
