/*
 * test_cgtable.c - the bounded cgroup table: add, lookup, delete, bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cgtable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void test_add_get_del(void **state)
{
	struct cgtable *t = cgtable_new(300);
	char path[64];

	for (uint64_t id = 1000; id < 1200; id++) {
		snprintf(path, sizeof(path), "/g%llu", (unsigned long long)id);
		assert_non_null(cgtable_add(t, id, path));
	}
	assert_int_equal(cgtable_count(t), 200);
	assert_string_equal(cgtable_get(t, 1100)->path, "/g1100");
	/* Re-adding refreshes the path, does not duplicate. */
	assert_non_null(cgtable_add(t, 1100, "/moved"));
	assert_int_equal(cgtable_count(t), 200);
	assert_string_equal(cgtable_get(t, 1100)->path, "/moved");
	for (uint64_t id = 1000; id < 1200; id++)
		assert_int_equal(cgtable_del(t, id), 0);
	assert_int_equal(cgtable_count(t), 0);
	assert_int_equal(cgtable_del(t, 1000), -ENOENT);
	assert_null(cgtable_get(t, 1000));
	cgtable_free(t);
}

static void test_bound(void **state)
{
	struct cgtable *t = cgtable_new(3);

	assert_non_null(cgtable_add(t, 1, "/a"));
	assert_non_null(cgtable_add(t, 2, "/b"));
	assert_non_null(cgtable_add(t, 3, "/c"));
	errno = 0;
	assert_null(cgtable_add(t, 4, "/d"));
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(cgtable_del(t, 2), 0);
	assert_non_null(cgtable_add(t, 4, "/d"));
	cgtable_free(t);
	cgtable_free(NULL);
}

static void test_long_path_truncated(void **state)
{
	struct cgtable *t = cgtable_new(4);
	char longp[1000];

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_non_null(cgtable_add(t, 9, longp));
	assert_int_equal(strlen(cgtable_get(t, 9)->path), SNAP_CGROUP_LEN - 1);
	cgtable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_del),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_long_path_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
