/*
 * test_hist.c - the log-linear histogram shared by BPF and user space.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "presage/hist.h"

/* Every value lies in [lower(b), lower(b+1)) of its bucket b. */
static void check_value(unsigned long long v)
{
	unsigned int b = hist_bucket(v);

	assert_true(b < HIST_BUCKETS);
	if (b == HIST_BUCKETS - 1)
		return;
	assert_true(hist_bucket_lower(b) <= v);
	assert_true(v < hist_bucket_lower(b + 1));
}

static void test_bucket_count(void **state)
{
	(void)state;
	assert_int_equal(HIST_BUCKETS, 608);
}

static void test_small_values_exact(void **state)
{
	unsigned int v;

	(void)state;
	for (v = 0; v < HIST_SUB; v++) {
		assert_int_equal(hist_bucket(v), v);
		assert_int_equal(hist_bucket_lower(v), v);
	}
	assert_int_equal(hist_bucket(16), 16);
	assert_int_equal(hist_bucket(17), 17);
	assert_int_equal(hist_bucket(32), 32);
	assert_int_equal(hist_bucket(34), 33);
}

static void test_bounds_contain_values(void **state)
{
	unsigned long long v;
	unsigned int e;

	(void)state;
	for (v = 0; v < 100000; v++)
		check_value(v);
	for (e = 4; e <= HIST_MAX_EXP; e++) {
		v = 1ULL << e;
		check_value(v - 1);
		check_value(v);
		check_value(v + 1);
		check_value(v + v / 3);
	}
}

static void test_monotonic_and_relative_width(void **state)
{
	unsigned int b;

	(void)state;
	for (b = 1; b < HIST_BUCKETS; b++) {
		unsigned long long lo = hist_bucket_lower(b - 1), hi = hist_bucket_lower(b);

		assert_true(hi > lo);
		if (lo >= HIST_SUB)
			assert_true((hi - lo) * HIST_SUB <= lo); /* width <= 1/16 of lower */
		assert_int_equal(hist_bucket(hist_bucket_lower(b)), b);
	}
}

static void test_overflow_last_bucket(void **state)
{
	(void)state;
	assert_int_equal(hist_bucket(1ULL << (HIST_MAX_EXP + 1)), HIST_BUCKETS - 1);
	assert_int_equal(hist_bucket(~0ULL), HIST_BUCKETS - 1);
	assert_int_equal(hist_bucket((1ULL << (HIST_MAX_EXP + 1)) - 1), HIST_BUCKETS - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_count),
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_bounds_contain_values),
		cmocka_unit_test(test_monotonic_and_relative_width),
		cmocka_unit_test(test_overflow_last_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
