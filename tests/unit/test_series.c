/*
 * test_series.c - tick aggregation, gaps and ring bounds of struct series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/series.h"

#include <math.h>

static void fill(double *v, double x)
{
	for (int m = 0; m < SM__COUNT; m++)
		v[m] = x;
}

static void test_aggregates_mean(void **state)
{
	struct series *s = series_new("svc", 10, 60);
	double v[SM__COUNT];

	for (int i = 0; i < 60; i++) {
		fill(v, i % 2 ? 3 : 1);
		v[SM_MEMORY_BYTES] = NAN; /* missing all step long */
		assert_int_equal(series_add_tick(s, 6000 + i, v), 0);
	}
	fill(v, 5);
	assert_int_equal(series_add_tick(s, 6060, v), 1);
	assert_int_equal(s->len, 1);
	assert_true(fabs(series_value(s, 0, SM_CPU_CORES) - 2) < 1e-12);
	assert_true(isnan(series_value(s, 0, SM_MEMORY_BYTES)));
	assert_true(fabs(series_time(s, 0) - 6000) < 1e-9);
	series_free(s);
}

static void test_gap_and_wrap(void **state)
{
	struct series *s = series_new("svc", 4, 10);
	double v[SM__COUNT];

	fill(v, 1);
	series_add_tick(s, 100, v);
	/* 35 s later: closes the step of 100 and marks 110, 120 missing. */
	assert_int_equal(series_add_tick(s, 135, v), 3);
	assert_int_equal(s->len, 3);
	assert_true(isnan(series_value(s, 1, SM_CPU_CORES)));
	for (int i = 0; i < 10; i++)
		series_add_tick(s, 140 + 10 * i, v);
	assert_int_equal(s->len, 4); /* bounded */
	assert_true(series_time(s, 3) > series_time(s, 0));
	/* A huge gap cannot overflow the ring. */
	assert_true(series_add_tick(s, 1e9, v) > 4);
	assert_int_equal(s->len, 4);
	assert_int_equal(series_add_tick(s, NAN, v), 0);
	series_free(s);
}

static void test_bad_args(void **state)
{
	assert_null(series_new("x", 0, 60));
	assert_null(series_new("x", 10, 0));
	series_free(NULL);
	assert_int_equal(series_metric_by_name("requests_per_second"), SM_REQUESTS_PER_SEC);
	assert_int_equal(series_metric_by_name("nope"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregates_mean),
		cmocka_unit_test(test_gap_and_wrap),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
