/*
 * test_histq.c - quantiles and Prometheus reduction of log-linear histograms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/histq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_quantile_uniform(void **state)
{
	static double b[HIST_BUCKETS];
	/* 100000 values uniform in [1 ms, 2 ms): p50 must be ~1.5 ms. */
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 100000; i++)
		b[hist_bucket(1000000ull + (uint64_t)i * 10)] += 1;
	assert_true(fabs(histq_quantile(b, 0.5) - 0.0015) < 0.0015 * 0.02);
	assert_true(fabs(histq_quantile(b, 0.99) - 0.00199) < 0.00199 * 0.03);
	assert_true(histq_quantile(b, 0.01) >= 0.001 * 0.99);
}

static void test_quantile_empty(void **state)
{
	static double b[HIST_BUCKETS];

	memset(b, 0, sizeof(b));
	assert_true(isnan(histq_quantile(b, 0.5)));
	b[100] = 1;
	assert_true(isnan(histq_quantile(b, 0)));
	assert_true(isnan(histq_quantile(b, NAN)));
}

static void test_to_prom(void **state)
{
	static uint64_t fine[HIST_BUCKETS];
	struct hist_snap h;

	memset(fine, 0, sizeof(fine));
	fine[hist_bucket(3000)] = 5;        /* 3 us: under 10 us */
	fine[hist_bucket(2000000)] = 7;     /* 2 ms: under 2.5 ms */
	fine[hist_bucket(20000000000ull)] = 1; /* 20 s: only +Inf */
	histq_to_prom(fine, 13, 123456789, &h);
	assert_int_equal(h.le[0], 5);        /* le=1e-5 */
	assert_int_equal(h.le[6], 5);        /* le=1ms */
	assert_int_equal(h.le[7], 12);       /* le=2.5ms */
	assert_int_equal(h.le[PROM_LE_COUNT - 1], 12); /* le=10 */
	assert_int_equal(h.count, 13);
	assert_true(fabs(h.sum_seconds - 0.123456789) < 1e-12);
	for (int i = 1; i < PROM_LE_COUNT; i++)
		assert_true(h.le[i] >= h.le[i - 1]);
}

static void test_window_decays(void **state)
{
	struct histq_window *w = calloc(1, sizeof(*w));
	static uint64_t cum[HIST_BUCKETS];

	memset(cum, 0, sizeof(cum));
	histq_window_update(w, cum, 0.5);
	cum[hist_bucket(1000)] = 100;
	histq_window_update(w, cum, 0.5);
	assert_true(fabs(w->mass - 100) < 1e-9);
	histq_window_update(w, cum, 0.5);
	assert_true(fabs(w->mass - 50) < 1e-9);
	/* A reset counter (entry recreated) is treated as a fresh start. */
	cum[hist_bucket(1000)] = 10;
	histq_window_update(w, cum, 0.5);
	assert_true(fabs(w->mass - 35) < 1e-9);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantile_uniform),
		cmocka_unit_test(test_quantile_empty),
		cmocka_unit_test(test_to_prom),
		cmocka_unit_test(test_window_decays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
