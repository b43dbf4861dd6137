/*
 * test_sim.c - the trace-driven simulator: pre-warming exactly start-up
 * time ahead of a known step, start-up and removal bookkeeping, backlog,
 * cost accounting, bad trace input and parameter errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/queue.h"
#include "policy/sim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define N    120
#define JUMP 60

struct rec {
	struct sim_step s[N];
	size_t n;
};

static int record(void *arg, const struct sim_step *st)
{
	struct rec *r = arg;

	assert_true(st->requested >= 1 && st->requested <= 100);
	assert_true(st->ready >= 0 && st->ready <= st->requested);
	if (r->n < N)
		r->s[r->n++] = *st;
	return 0;
}

static struct sim_params params(double startup)
{
	struct sim_params sp = {.capacity = 10,
				.startup_s = startup,
				.slo_ms = 500,
				.min_replicas = 1,
				.max_replicas = 100,
				.target = 0.7};
	char err[128];

	assert_int_equal(sim_params_check(&sp, err, sizeof(err)), 0);
	return sp;
}

/* Demand 100 req/s, then 400 req/s from step JUMP; 60 s steps. */
static void step_trace(struct sim_trace *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->n = N;
	tr->step_s = 60;
	tr->obs = malloc(N * sizeof(double));
	tr->demand = malloc(N * sizeof(double));
	assert_non_null(tr->obs);
	assert_non_null(tr->demand);
	for (int i = 0; i < N; i++)
		tr->obs[i] = tr->demand[i] = i < JUMP ? 100 : 400;
}

/* A perfect forecast: the true demand at every horizon, zero-width interval. */
static void perfect(const struct sim_trace *tr, struct sim_forecast *fc, int lead, int win)
{
	assert_int_equal(sim_forecast_alloc(fc, tr->n, lead, win), 0);
	for (size_t t = 1; t < tr->n; t++) {
		size_t at = t + lead < tr->n ? t + lead : tr->n - 1;

		fc->valid[t] = 1;
		fc->p1[t] = tr->demand[t];
		fc->point[t] = fc->lower[t] = fc->upper[t] = tr->demand[at];
		/* The window runs from step t through win steps after the lead. */
		fc->wpoint[t] = fc->wupper[t] = tr->demand[at];
		for (size_t k = t; k <= at + win && k < tr->n; k++)
			fc->wpoint[t] = fc->wupper[t] = fmax(fc->wupper[t], tr->demand[k]);
	}
}

static void test_prewarm_exactly_startup_ahead(void **state)
{
	const double startups[] = {0, 60, 150, 300};
	const int leads[] = {0, 1, 3, 5};

	for (int k = 0; k < 4; k++) {
		struct sim_params sp = params(startups[k]);
		int lead = sim_lead_steps(&sp, 60); /* 150 s rounds up to 3 steps */
		struct sim_trace tr;
		struct sim_forecast fc;
		struct sim_result res;
		struct rec *r = calloc(1, sizeof(*r));
		char err[128];
		int first = -1;

		assert_int_equal(lead, leads[k]);
		step_trace(&tr);
		perfect(&tr, &fc, lead, sim_window_steps(60));
		assert_int_equal(
		    sim_run(&tr, &fc, "predictive", &sp, record, r, &res, err, sizeof(err)), 0);
		for (int i = 0; i < N && first < 0; i++)
			if (r->s[i].requested > r->s[0].requested)
				first = i;
		/* Asked for exactly `lead` steps before the jump, ready at the jump. */
		assert_int_equal(first, JUMP - lead);
		assert_true(r->s[JUMP - 1].ready < r->s[JUMP].ready);
		/* Enough for the new demand at the target within the HPA tolerance. */
		assert_true(r->s[JUMP].ready >= queue_need(400, 10, 0.7 * 1.1, 0.5, 100));
		assert_false(r->s[JUMP].violated);
		assert_int_equal(res.violations, 0);
		/* The reactive baseline sees the jump one step late and violates. */
		if (lead > 0) {
			assert_int_equal(
			    sim_run(&tr, &fc, "reactive", &sp, NULL, NULL, &res, err, sizeof(err)),
			    0);
			assert_true(res.violations > 0);
		}
		sim_forecast_free(&fc);
		sim_trace_free(&tr);
		free(r);
	}
}

static void test_oracle_and_cost(void **state)
{
	struct sim_params sp = params(120);
	struct sim_trace tr;
	struct sim_forecast fc;
	struct sim_result res;
	struct rec *r = calloc(1, sizeof(*r));
	char err[128];
	double rs = 0;

	step_trace(&tr);
	perfect(&tr, &fc, 2, 5);
	assert_int_equal(sim_run(&tr, &fc, "oracle", &sp, record, r, &res, err, sizeof(err)), 0);
	assert_int_equal(res.violations, 0);
	assert_int_equal(res.steps, N);
	/* Cost counts requested replicas, the starting ones included. */
	for (int i = 0; i < N; i++)
		rs += r->s[i].requested * 60.0;
	assert_true(fabs(res.replica_seconds - rs) < 1e-6);
	assert_true(r->s[JUMP - 2].requested > r->s[JUMP - 2].ready);
	assert_int_equal(res.actions, 1);
	assert_true(isfinite(res.p95_latency_ms) && res.p95_latency_ms <= 500);
	/* The step records carry the forecast bands (--decisions-out). */
	assert_true(isnan(r->s[0].upper) && isnan(r->s[0].wupper) && isnan(r->s[0].forecast));
	for (int i = 1; i < N; i++) {
		assert_true(r->s[i].upper == fc.upper[i]);
		assert_true(r->s[i].wupper == fc.wupper[i]);
		assert_false(r->s[i].violated);
	}
	sim_forecast_free(&fc);
	sim_trace_free(&tr);
	free(r);
}

static void test_backlog(void **state)
{
	struct sim_params sp = params(60);
	struct sim_trace tr;
	struct sim_result res;
	struct rec *r = calloc(1, sizeof(*r));
	char err[128];

	sp.max_replicas = 2; /* 20 req/s at most: 400 req/s cannot be served */
	step_trace(&tr);
	assert_int_equal(sim_run(&tr, NULL, "reactive", &sp, NULL, NULL, &res, err, sizeof(err)),
			 0);
	/* Overloaded from the start: every step has backlog, so no p95. */
	assert_int_equal(res.violations, N);
	assert_true(isnan(res.p95_latency_ms));
	/* Backlog carried over is served later: it grows while overloaded. */
	sp.max_replicas = 100;
	for (int i = 0; i < N; i++)
		tr.demand[i] = tr.obs[i] = i == 10 ? 5000 : 50;
	assert_int_equal(sim_run(&tr, NULL, "reactive", &sp, record, r, &res, err, sizeof(err)), 0);
	assert_true(r->s[10].backlog > 0);
	assert_true(r->s[10].violated && r->s[11].violated);
	assert_true(r->s[N - 1].backlog == 0 && !r->s[N - 1].violated);
	sim_trace_free(&tr);
	free(r);
}

static void test_trace_bad_values(void **state)
{
	double t[] = {0, 60, 120, 180, 420, 480, 540}; /* 180 -> 420: 3 steps missing */
	double v[] = {10, NAN, -5, 0, 20, 1e6, 30};
	struct csv_series s = {.n = 7, .t = t, .v = v, .step = 60};
	struct sim_trace tr;
	char err[128];

	assert_int_equal(sim_trace_from_series(&s, 0, 2.0, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 10);
	assert_int_equal(tr.n_negative, 1);
	assert_int_equal(tr.n_missing, 5); /* NaN, negative, 3 gap steps */
	assert_true(isnan(tr.obs[1]) && isnan(tr.obs[2]) && isnan(tr.obs[5]));
	/* Simulated demand holds the last valid value; zero and spikes are real. */
	assert_true(tr.demand[1] == 20 && tr.demand[2] == 20);
	assert_true(tr.obs[3] == 0 && tr.demand[5] == 0);
	assert_true(tr.obs[8] == 2e6);
	sim_trace_free(&tr);
	/* Resampling to 120 s averages the valid rows of each bucket. */
	assert_int_equal(sim_trace_from_series(&s, 120, 1.0, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 5);
	assert_true(tr.obs[0] == 10 && tr.obs[1] == 0 && isnan(tr.obs[2]));
	sim_trace_free(&tr);
	/* Upsampling to 30 s: each row covers its own 60 s, gaps stay missing. */
	assert_int_equal(sim_trace_from_series(&s, 30, 1.0, &tr, err, sizeof(err)), 0);
	assert_int_equal(tr.n, 19);
	assert_true(tr.obs[0] == 10 && tr.obs[1] == 10 && isnan(tr.obs[2]));
	assert_true(tr.obs[6] == 0 && tr.obs[7] == 0 && isnan(tr.obs[8]) && isnan(tr.obs[13]));
	assert_true(tr.obs[14] == 20 && tr.obs[15] == 20 && tr.obs[18] == 30);
	sim_trace_free(&tr);
	s.n = 0;
	assert_int_equal(sim_trace_from_series(&s, 0, 1.0, &tr, err, sizeof(err)), -ENODATA);
}

static void test_all_missing_is_safe(void **state)
{
	struct sim_params sp = params(60);
	struct sim_trace tr;
	struct sim_forecast fc;
	struct sim_result res;
	char err[128];
	const char *names[] = {"reactive", "predictive", "rl", "oracle"};

	step_trace(&tr);
	for (int i = 0; i < N; i++)
		tr.obs[i] = NAN;
	assert_int_equal(sim_forecast_alloc(&fc, N, 1, 5), 0); /* no forecast at all */
	for (int k = 0; k < 4; k++) {
		struct rec *r = calloc(1, sizeof(*r));

		assert_int_equal(
		    sim_run(&tr, &fc, names[k], &sp, record, r, &res, err, sizeof(err)), 0);
		/* Blind policies never scale down; the oracle still sees the truth. */
		if (k < 3)
			for (int i = 1; i < N; i++)
				assert_true(r->s[i].requested >= r->s[i - 1].requested);
		free(r);
	}
	sim_forecast_free(&fc);
	sim_trace_free(&tr);
}

static void test_params_errors(void **state)
{
	struct sim_params sp = {
	    .capacity = 10, .slo_ms = 200, .min_replicas = 1, .max_replicas = 10};
	char err[256];

	/* p95 of one request alone is ln(20) / 10 s = 299.6 ms. */
	assert_int_equal(sim_params_check(&sp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "slo 200 ms is not above the p95 service time"));
	sp.slo_ms = 500;
	sp.min_replicas = 5;
	sp.max_replicas = 3;
	assert_int_equal(sim_params_check(&sp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "min replicas 5 and max 3"));
	sp.min_replicas = 1;
	sp.capacity = -1;
	assert_int_equal(sim_params_check(&sp, err, sizeof(err)), -EINVAL);
	sp.capacity = 10;
	sp.target = 1.5;
	assert_int_equal(sim_params_check(&sp, err, sizeof(err)), -EINVAL);
}

static void test_unknown_policy(void **state)
{
	struct sim_params sp = params(60);
	struct sim_trace tr;
	struct sim_result res;
	char err[128];

	step_trace(&tr);
	assert_int_equal(sim_run(&tr, NULL, "magic", &sp, NULL, NULL, &res, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "unknown policy magic");
	sim_trace_free(&tr);
}

/* An RL model of another layout version: a one-line error naming the file. */
static void test_rl_model_error(void **state)
{
	struct sim_params sp = params(60);
	char path[] = "/tmp/test_sim_rl_XXXXXX", want[128];
	struct sim_trace tr;
	struct sim_result res;
	char err[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_true(write(fd, "presage-rl 2 5 6 4 8\n", 21) == 21);
	close(fd);
	step_trace(&tr);
	sp.pp.rl_model = path;
	assert_int_equal(sim_run(&tr, NULL, "rl", &sp, NULL, NULL, &res, err, sizeof(err)),
			 -ENOMSG);
	snprintf(want, sizeof(want), "failed to load rl model %s: ", path);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	assert_non_null(strstr(err, "another layout version"));
	assert_null(strchr(err, '\n'));
	unlink(path);
	sim_trace_free(&tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prewarm_exactly_startup_ahead),
	    cmocka_unit_test(test_oracle_and_cost),
	    cmocka_unit_test(test_backlog),
	    cmocka_unit_test(test_trace_bad_values),
	    cmocka_unit_test(test_all_missing_is_safe),
	    cmocka_unit_test(test_params_errors),
	    cmocka_unit_test(test_unknown_policy),
	    cmocka_unit_test(test_rl_model_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
