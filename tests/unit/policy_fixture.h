/*
 * policy_fixture.h - the policy input the policy and RL unit tests start
 * from.  Include after policy/policy.h.
 */
#ifndef PRESAGE_TEST_POLICY_FIXTURE_H
#define PRESAGE_TEST_POLICY_FIXTURE_H

#include <math.h>
#include <stdlib.h>

/* A service of `cur` ready replicas of 10 req/s at target 0.7, bounds 1..50. */
static inline struct policy_input base_input(int cur, double util)
{
	struct policy_input in = {
	    .now = 1000,
	    .step_s = 15,
	    .replicas_requested = cur,
	    .replicas_ready = cur,
	    .capacity = 10,
	    .startup_s = 30,
	    .slo_latency_ms = 500,
	    .target_util = 0.7,
	    .bounds = {.min_replicas = 1, .max_replicas = 50},
	    .prio = POLICY_PRIO_NORMAL,
	};

	in.utilisation = util;
	in.demand = util * cur * in.capacity;
	in.latency_p95_ms = 200;
	return in;
}

/* The same forecast band at the lead time and over the window. */
static inline void set_fc(struct policy_input *in, double point, double lower, double upper)
{
	in->fc = (struct policy_band){true, point, lower, upper};
	in->fc_window = in->fc;
}

/*
 * A random policy input value: a quarter of the time one of NAN, +-INFINITY,
 * 0, -1, +-1e300, 1e-300; else uniform in [0, scale] or in [0, 3].
 */
static inline double pick_adversarial(unsigned int *seed, double scale)
{
	static const double special[] = {NAN, INFINITY, -INFINITY, 0, -1, 1e300, -1e300, 1e-300};
	int r = rand_r(seed) % 4;

	if (r == 0)
		return special[rand_r(seed) % 8];
	return (double)rand_r(seed) / RAND_MAX * (r == 1 ? scale : 3);
}

#endif
