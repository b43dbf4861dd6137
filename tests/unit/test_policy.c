/*
 * test_policy.c - scaling policies: the HPA rules on hand-computed cases,
 * predictive guardrails on adversarial forecasts, bounds, contradictory
 * constraints, vertical sizing, priority, budget and the Erlang C model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/fcast.h"
#include "policy/policy.h"
#include "policy/queue.h"
#include "unit/policy_fixture.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int decide(struct policy *p, struct policy_input *in)
{
	struct policy_output out;

	assert_int_equal(policy_decide(p, in, &out), 0);
	assert_true(out.replicas >= in->bounds.min_replicas);
	assert_true(out.replicas <= in->bounds.max_replicas);
	assert_true(out.reason[0] != 0);
	return out.replicas;
}

static void test_hpa_tolerance(void **state)
{
	struct policy_input in = base_input(10, 0.75);

	/* 0.75 / 0.7 = 1.071: inside the 0.1 band, no change. */
	assert_int_equal(policy_hpa_raw(&in), 10);
	in.utilisation = 0.64; /* 0.914: inside */
	assert_int_equal(policy_hpa_raw(&in), 10);
	in.utilisation = 0.78; /* 1.114: ceil(11.14) = 12 */
	assert_int_equal(policy_hpa_raw(&in), 12);
	in.utilisation = 0.62; /* 0.886: ceil(8.86) = 9 */
	assert_int_equal(policy_hpa_raw(&in), 9);
	in.utilisation = NAN;
	assert_int_equal(policy_hpa_raw(&in), -1);
}

static void test_hpa_stabilisation(void **state)
{
	struct policy *p = policy_new("reactive", NULL);
	struct policy_input in = base_input(10, 0.7);

	assert_non_null(p);
	assert_int_equal(decide(p, &in), 10);
	/* Load halves at t = 1060: raw 5, but 10 was recommended within 300 s. */
	for (double t = 1060; t < 1300; t += 60) {
		in = base_input(10, 0.35);
		in.now = t;
		assert_int_equal(decide(p, &in), 10);
	}
	/* At 1300 s the recommendation of 1000 s is exactly 300 s old: out. */
	in = base_input(10, 0.35);
	in.now = 1300;
	assert_int_equal(decide(p, &in), 5);
	policy_free(p);
}

static void test_hpa_rate_limits(void **state)
{
	struct policy *p = policy_new("reactive", NULL);
	struct policy_input in = base_input(2, 7.0);

	/* raw ceil(2 * 10) = 20; limit max(2 * 2, 2 + 4) = 6. */
	assert_int_equal(decide(p, &in), 6);
	policy_free(p);
	p = policy_new("reactive", NULL);
	in = base_input(10, 2.1);
	/* raw 30; limit max(20, 14) = 20. */
	assert_int_equal(decide(p, &in), 20);
	/* 5 s later, same 15 s period: period start is still 10, limit 20. */
	in = base_input(20, 2.1);
	in.now += 5;
	assert_int_equal(decide(p, &in), 20);
	/* After the period: start 20, limit 40. */
	in = base_input(20, 2.1);
	in.now += 16;
	assert_int_equal(decide(p, &in), 40);
	policy_free(p);
	/* Scale down is limited by 100% per period only: to raw at once. */
	p = policy_new("reactive", NULL);
	in = base_input(40, 0.07);
	assert_int_equal(decide(p, &in), 4);
	policy_free(p);
}

static void test_hpa_missing_metric(void **state)
{
	struct policy *p = policy_new("reactive", NULL);
	struct policy_input in = base_input(7, NAN);

	assert_int_equal(decide(p, &in), 7);
	policy_free(p);
}

static void test_predictive_prewarm_and_floor(void **state)
{
	struct policy *p = policy_new("predictive", NULL);
	struct policy_input in = base_input(5, 0.7);

	/* Forecast 140 req/s (upper 160) at the lead time: at least 160 / 10 req/s
	 * at the SLO and 140 / (10 * 0.77) = 18.2 -> 19 at the point. */
	set_fc(&in, 140, 120, 160);
	assert_int_equal(decide(p, &in), 19);
	/* Forecast 0: never below the raw HPA recommendation (ceil(5 * 2) = 10). */
	in = base_input(5, 1.4);
	set_fc(&in, 0, 0, 0);
	assert_int_equal(decide(p, &in), 10);
	/* Scale down allowed by the window: 7 req/s fits one replica at the target,
	 * but the upper bound 8 req/s on one replica (p95 1.5 s) breaks the 500 ms
	 * SLO, two meet it (p95 tail at 0.5 s = 0.012); raw HPA is 1. */
	in = base_input(10, 0.07);
	set_fc(&in, 7, 5, 8);
	assert_int_equal(decide(p, &in), 2);
	/* ... unless the window's upper bound still needs them. */
	in = base_input(10, 0.07);
	set_fc(&in, 7, 5, 8);
	in.fc_window.upper = 100;
	in.fc_window.point = 90;
	assert_int_equal(decide(p, &in), 10);
	policy_free(p);
}

static void test_predictive_missing_telemetry(void **state)
{
	const char *names[] = {"predictive", "rl"};

	for (int i = 0; i < 2; i++) {
		struct policy *p = policy_new(names[i], NULL);
		struct policy_input in = base_input(10, 0.1);

		assert_non_null(p);
		/* Missing observations with a low forecast: never scale down. */
		in.demand = NAN;
		in.utilisation = NAN;
		in.latency_p95_ms = NAN;
		set_fc(&in, 1, 0, 2);
		assert_int_equal(decide(p, &in), 10);
		/* Missing forecast: hold (or the HPA floor if higher). */
		in = base_input(10, 0.1);
		set_fc(&in, NAN, NAN, NAN);
		assert_int_equal(decide(p, &in), 10);
		in = base_input(10, 1.4);
		in.fc.valid = false;
		assert_int_equal(decide(p, &in), 20);
		policy_free(p);
	}
}

static double pick(unsigned int *seed)
{
	return pick_adversarial(seed, 2000);
}

/* Random and adversarial inputs: outputs always within bounds, finite. */
static void test_bounds_never_violated(void **state)
{
	const char *names[] = {"reactive", "predictive", "rl", "oracle"};
	unsigned int seed = 42;

	for (int i = 0; i < 4; i++) {
		struct policy *p = policy_new(names[i], NULL);

		for (int k = 0; k < 5000; k++) {
			struct policy_input in = base_input(1 + rand_r(&seed) % 60, pick(&seed));
			struct policy_output out;

			in.now += k * 15;
			in.bounds = (struct policy_bounds){2, 30, 0.25, 2.0, 64e6, 512e6};
			set_fc(&in, pick(&seed), pick(&seed), pick(&seed));
			in.fc_window.upper = pick(&seed);
			in.demand = pick(&seed);
			in.latency_p95_ms = pick(&seed);
			in.cpu =
			    (struct policy_band){rand_r(&seed) % 2, pick(&seed), 0, pick(&seed)};
			in.mem = (struct policy_band){rand_r(&seed) % 2, pick(&seed) * 1e8, 0,
						      pick(&seed) * 1e8};
			in.cpu_limit = pick(&seed);
			in.mem_limit = pick(&seed) * 1e8;
			in.oom_kills = rand_r(&seed) % 2;
			assert_int_equal(policy_decide(p, &in, &out), 0);
			assert_true(out.replicas >= 2 && out.replicas <= 30);
			assert_true(out.cpu_limit >= 0.25 && out.cpu_limit <= 2.0);
			assert_true(out.mem_limit >= 64e6 && out.mem_limit <= 512e6);
			assert_true(out.cpu_weight >= 1 && out.cpu_weight <= 10000);
		}
		policy_free(p);
	}
}

static void test_contradictions(void **state)
{
	struct policy *p = policy_new("predictive", NULL);
	struct policy_input in = base_input(4, 0.7);
	struct policy_output out;

	in.bounds.min_replicas = 5;
	in.bounds.max_replicas = 3;
	assert_int_equal(policy_decide(p, &in, &out), -EINVAL);
	assert_string_equal(out.reason, "min replicas 5 above max 3");
	in = base_input(4, 0.7);
	in.bounds.min_replicas = 3;
	in.cost_per_replica_hour = 1.0;
	in.budget_per_hour = 2.5;
	assert_int_equal(policy_decide(p, &in, &out), -EINVAL);
	assert_non_null(strstr(out.reason, "budget 2.5/h below the cost of min replicas 3/h"));
	assert_int_equal(out.replicas, 4);
	in = base_input(4, 0.7);
	in.capacity = 0;
	assert_int_equal(policy_decide(p, &in, &out), -EINVAL);
	assert_non_null(strstr(out.reason, "capacity"));
	policy_free(p);
	assert_null(policy_new("nonesuch", NULL));
	assert_int_equal(errno, ENOENT);
}

static void test_budget_binds(void **state)
{
	struct policy *p = policy_new("reactive", NULL);
	struct policy_input in = base_input(10, 1.4);
	struct policy_output out;

	in.cost_per_replica_hour = 0.5;
	in.budget_per_hour = 7.0; /* 14 replicas affordable, 20 wanted */
	assert_int_equal(policy_decide(p, &in, &out), 0);
	assert_int_equal(out.replicas, 14);
	assert_true(out.budget_bound);
	assert_non_null(strstr(out.reason, "budget 7/h binds"));
	policy_free(p);
}

static void test_budget_allocate(void **state)
{
	struct policy_claim c[3] = {
	    {.prio = POLICY_PRIO_BEST_EFFORT,
	     .min_replicas = 1,
	     .wanted = 10,
	     .cost_per_replica_hour = 1},
	    {.prio = POLICY_PRIO_CRITICAL,
	     .min_replicas = 2,
	     .wanted = 8,
	     .cost_per_replica_hour = 1},
	    {.prio = POLICY_PRIO_NORMAL,
	     .min_replicas = 1,
	     .wanted = 5,
	     .cost_per_replica_hour = 2},
	};

	/* 5/h for the minimums, 6/h more for critical, the last 2/h buy one normal
	 * replica, nothing is left for best effort. */
	assert_int_equal(policy_budget_allocate(c, 3, 13), 0);
	assert_int_equal(c[1].granted, 8);
	assert_false(c[1].budget_bound);
	assert_int_equal(c[2].granted, 2);
	assert_true(c[2].budget_bound);
	assert_int_equal(c[0].granted, 1);
	assert_true(c[0].budget_bound);
	/* Minimums alone over budget: an error, minimums granted. */
	assert_int_equal(policy_budget_allocate(c, 3, 3), -EINVAL);
	assert_int_equal(c[1].granted, 2);
	/* No budget: everyone gets what they want. */
	assert_int_equal(policy_budget_allocate(c, 3, 0), 0);
	assert_int_equal(c[0].granted, 10);
}

static void test_vertical(void **state)
{
	struct policy *p = policy_new("reactive", NULL);
	struct policy_input in = base_input(2, 0.7);
	struct policy_output out;

	in.bounds = (struct policy_bounds){1, 10, 0.1, 1.0, 64e6, 1e9};
	/* 3 cores (upper) + 15% = 3.45 cores: 4 replicas at 0.8625, not 2 at 1.725. */
	in.cpu = (struct policy_band){true, 2.5, 2.0, 3.0};
	assert_int_equal(policy_decide(p, &in, &out), 0);
	assert_int_equal(out.replicas, 4);
	assert_true(fabs(out.cpu_limit - 0.8625) < 1e-9);
	/* OOM: 1.5 x the current 400 MB beats forecast 200 MB + 20%. */
	in = base_input(2, 0.7);
	in.bounds = (struct policy_bounds){1, 10, 0.1, 1.0, 64e6, 1e9};
	in.mem = (struct policy_band){true, 150e6, 100e6, 200e6};
	in.mem_limit = 400e6;
	in.oom_kills = 1;
	assert_int_equal(policy_decide(p, &in, &out), 0);
	assert_true(fabs(out.mem_limit - 600e6) < 1);
	/* ... and never above the maximum. */
	in.mem_limit = 900e6;
	assert_int_equal(policy_decide(p, &in, &out), 0);
	assert_true(out.mem_limit == 1e9);
	/* No forecast: keep the current limits. */
	in = base_input(2, 0.7);
	in.bounds = (struct policy_bounds){1, 10, 0.1, 1.0, 64e6, 1e9};
	in.cpu_limit = 0.5;
	in.mem_limit = 300e6;
	assert_int_equal(policy_decide(p, &in, &out), 0);
	assert_true(out.cpu_limit == 0.5 && out.mem_limit == 300e6);
	policy_free(p);
}

static void test_cpu_weight(void **state)
{
	assert_int_equal(policy_cpu_weight(POLICY_PRIO_NORMAL, 450, 500, false), 100);
	assert_int_equal(policy_cpu_weight(POLICY_PRIO_NORMAL, 300, 500, true), 100);
	/* 0.9 of the SLO under contention: 1 + 0.1 * 7.5 = 1.75x. */
	assert_int_equal(policy_cpu_weight(POLICY_PRIO_NORMAL, 450, 500, true), 175);
	assert_int_equal(policy_cpu_weight(POLICY_PRIO_CRITICAL, 2000, 500, true), 6400);
	assert_int_equal(policy_cpu_weight(POLICY_PRIO_BEST_EFFORT, 2000, 500, true), 25);
	assert_int_equal(policy_cpu_weight(POLICY_PRIO_HIGH, NAN, 500, true), 400);
}

static void test_queue(void **state)
{
	/* Erlang C(2, 1) = 1/3; C(1, a) = a. */
	assert_true(fabs(queue_erlang_c(2, 1.0) - 1.0 / 3) < 1e-12);
	assert_true(fabs(queue_erlang_c(1, 0.5) - 0.5) < 1e-12);
	assert_true(queue_erlang_c(3, 3.0) == 1.0);
	/* M/M/1: T ~ Exp(mu - lambda): p95 = ln 20 / (mu - lambda). */
	assert_true(fabs(queue_p95(1, 8, 10) - log(20) / 2) < 1e-6);
	assert_true(fabs(queue_p95(4, 0, 10) - log(20) / 10) < 1e-9);
	assert_true(isinf(queue_p95(2, 20, 10)));
	assert_true(isinf(queue_p95(0, 1, 10)));
	/* Sizing: target binds at low load, the SLO near the service time. */
	assert_int_equal(queue_need(70, 10, 0.7, 0, 100), 10);
	assert_int_equal(queue_need(0, 10, 0.7, 0.5, 100), 0);
	assert_int_equal(queue_need(1e9, 10, 0.7, 0.5, 100), 101);
	assert_true(queue_p95(queue_need(95, 10, 1.0, 0.35, 100), 95, 10) <= 0.35);
	assert_true(queue_p95(queue_need(95, 10, 1.0, 0.35, 100) - 1, 95, 10) > 0.35);
}

static void test_forecast_trusted_to_peak(void **state)
{
	const char *names[] = {"predictive", "rl"};

	for (int i = 0; i < 2; i++) {
		struct policy *p = policy_new(names[i], NULL);
		struct policy_input in = base_input(2, 0.7);

		/* A blown-up forecast (1e9 req/s) after a peak of 10 req/s is cut to
		 * 4 x 10 + 7 = 47 req/s: 7 replicas at most, not max. */
		in.demand_peak = 10;
		set_fc(&in, 1e9, 0, 1e9);
		assert_true(decide(p, &in) <= queue_need(47, 10, 0.7, 0.5, 50));
		/* No known peak: only the bounds limit it. */
		in.demand_peak = 0;
		assert_int_equal(decide(p, &in), 50);
		/* The HPA floor holds for RL whatever margin it picks. */
		in = base_input(5, 1.4);
		set_fc(&in, 0, 0, 0);
		assert_true(decide(p, &in) >= 10);
		policy_free(p);
	}
}

static void test_forecast_input(void **state)
{
	struct fcast_params fp = {.step_s = 60, .max_horizon = 12};
	struct fcast *f = fcast_new(NULL, &fp);
	struct policy_input in = base_input(3, 0.7);
	struct fcast_point o[8];

	assert_non_null(f);
	in.step_s = 60;
	in.startup_s = 90; /* 2 steps: horizon 3; window 5 steps: horizons 4..8 */
	assert_int_equal(policy_lead_steps(90, 60), 2);
	assert_int_equal(policy_window_steps(60), 5);
	assert_int_equal(policy_forecast_input(f, 0.9, &in), -ENODATA);
	assert_false(in.fc.valid);
	for (int i = 0; i < 200; i++)
		fcast_update(f, 100 + (i % 2));
	assert_int_equal(policy_forecast_input(f, 0.9, &in), 0);
	assert_true(in.fc.valid && in.fc_window.valid);
	assert_true(in.fc.lower <= in.fc.point && in.fc.point <= in.fc.upper);
	assert_true(fabs(in.fc.point - 100.5) < 5);
	assert_true(in.fc_window.upper >= in.fc.upper);
	/* Bands from hand-made horizons. */
	for (int k = 0; k < 8; k++)
		o[k] = (struct fcast_point){10.0 * k, 10.0 * k - 1, 10.0 * k + 1};
	policy_bands(o, 2, 5, &in.fc, &in.fc_window);
	assert_true(in.fc.point == 20 && in.fc.upper == 21 && in.fc.lower == 19);
	assert_true(in.fc_window.point == 70 && in.fc_window.upper == 71);
	in.startup_s = 1e6;
	assert_int_equal(policy_forecast_input(f, 0.9, &in), -ERANGE);
	fcast_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hpa_tolerance),
	    cmocka_unit_test(test_hpa_stabilisation),
	    cmocka_unit_test(test_hpa_rate_limits),
	    cmocka_unit_test(test_hpa_missing_metric),
	    cmocka_unit_test(test_predictive_prewarm_and_floor),
	    cmocka_unit_test(test_predictive_missing_telemetry),
	    cmocka_unit_test(test_bounds_never_violated),
	    cmocka_unit_test(test_contradictions),
	    cmocka_unit_test(test_budget_binds),
	    cmocka_unit_test(test_budget_allocate),
	    cmocka_unit_test(test_vertical),
	    cmocka_unit_test(test_cpu_weight),
	    cmocka_unit_test(test_queue),
	    cmocka_unit_test(test_forecast_trusted_to_peak),
	    cmocka_unit_test(test_forecast_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
