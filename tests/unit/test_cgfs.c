/*
 * test_cgfs.c - cgroup mount discovery and gauge parsing on fake trees.
 *
 * Each test builds a temporary directory with a mountinfo file pointing at
 * fake hierarchies (hybrid v1+v2, or pure v2) and files with known values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "telemetry/cgfs.h"

static char tmp[PATH_MAX];

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX * 2], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (slash = strchr(path + strlen(tmp) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mountinfo(const char *lines)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), lines, tmp, tmp, tmp, tmp, tmp);
	put("mountinfo", buf);
}

static struct cgfs *open_fake(void)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/mountinfo", tmp);
	return cgfs_new(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_cgfs.XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

#define HYBRID                                                                                     \
	"30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"                                        \
	"31 30 0:27 / %s/cpu\\040acct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"       \
	"32 30 0:28 / %s/memory rw,relatime shared:10 - cgroup cgroup rw,memory\n"                 \
	"33 30 0:29 / %s/unified rw,relatime shared:11 - cgroup2 cgroup2 rw\n"                     \
	"34 30 0:30 / %s/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"

static void test_hybrid_mounts(void **state)
{
	char want[PATH_MAX + 32];
	struct cgfs *c;

	(void)state;
	mountinfo(HYBRID);
	c = open_fake();
	assert_non_null(c);
	assert_true(cgfs_is_hybrid(c));
	snprintf(want, sizeof(want), "%s/unified", tmp);
	assert_string_equal(cgfs_v2_root(c), want);
	snprintf(want, sizeof(want), "%s/cpu acct", tmp);
	assert_string_equal(cgfs_v1_dir(c, "cpu"), want);
	assert_string_equal(cgfs_v1_dir(c, "cpuacct"), want);
	snprintf(want, sizeof(want), "%s/memory", tmp);
	assert_string_equal(cgfs_v1_dir(c, "memory"), want);
	assert_null(cgfs_v1_dir(c, "blkio"));
	assert_null(cgfs_v1_dir(c, "cpuset"));
	cgfs_free(c);
}

static void test_hybrid_gauges(void **state)
{
	struct cgfs_gauges g;
	struct cgfs *c;

	(void)state;
	mountinfo(HYBRID);
	put("memory/app/memory.usage_in_bytes", "1000000\n");
	put("memory/app/memory.stat", "cache 5\ninactive_file 7\ntotal_inactive_file 250000\n");
	put("memory/app/memory.limit_in_bytes", "9223372036854771712\n");
	put("cpu acct/app/cpuacct.usage", "123456789\n");
	put("cpu acct/app/cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 4500\n");
	put("unified/app/cpu.pressure", "some avg10=1.50 avg60=0.20 avg300=0.00 total=1\n"
					"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put("unified/app/memory.pressure", "garbage\n");
	c = open_fake();
	assert_non_null(c);
	assert_int_equal(cgfs_read(c, "/app", &g), 0);
	assert_int_equal(g.mem_usage_bytes, 1000000);
	assert_int_equal(g.mem_working_set_bytes, 750000); /* total_, not the local line */
	assert_false(g.have & CGFS_HAVE_MEM_LIMIT);	    /* v1 "unlimited" */
	assert_int_equal(g.cpu_usage_ns, 123456789);
	assert_int_equal(g.cpu_throttled_ns, 4500);
	assert_int_equal(g.cpu_nr_throttled, 3);
	assert_true(g.have & CGFS_HAVE_PSI_CPU);
	assert_true(g.psi_cpu_some_avg10 > 1.49 && g.psi_cpu_some_avg10 < 1.51);
	assert_false(g.have & CGFS_HAVE_PSI_MEM);
	assert_false(g.have & CGFS_HAVE_PSI_IO);
	put("memory/app/memory.limit_in_bytes", "33554432\n");
	assert_int_equal(cgfs_read(c, "/app", &g), 0);
	assert_true(g.have & CGFS_HAVE_MEM_LIMIT);
	assert_int_equal(g.mem_limit_bytes, 33554432);
	cgfs_free(c);
}

static void test_pure_v2_gauges(void **state)
{
	struct cgfs_gauges g;
	struct cgfs *c;

	(void)state;
	mountinfo("40 1 0:33 / %s/v2 rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
	put("v2/a/b/memory.current", "4096\n");
	put("v2/a/b/memory.stat", "anon 1\nactive_file 2\ninactive_file 8192\n");
	put("v2/a/b/memory.max", "max\n");
	put("v2/a/b/cpu.stat", "usage_usec 2500\nuser_usec 2000\nnr_throttled 1\n"
			       "throttled_usec 77\n");
	put("v2/a/b/io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	c = open_fake();
	assert_non_null(c);
	assert_false(cgfs_is_hybrid(c));
	assert_int_equal(cgfs_read(c, "/a/b", &g), 0);
	assert_int_equal(g.mem_usage_bytes, 4096);
	assert_int_equal(g.mem_working_set_bytes, 0); /* clamped, never negative */
	assert_false(g.have & CGFS_HAVE_MEM_LIMIT);
	assert_int_equal(g.cpu_usage_ns, 2500000);
	assert_int_equal(g.cpu_throttled_ns, 77000);
	assert_true(g.have & CGFS_HAVE_PSI_IO);
	assert_false(g.have & CGFS_HAVE_PSI_CPU);
	put("v2/a/b/memory.max", "1048576\n");
	assert_int_equal(cgfs_read(c, "/a/b", &g), 0);
	assert_int_equal(g.mem_limit_bytes, 1048576);
	cgfs_free(c);
}

static void test_vanished_and_bad_paths(void **state)
{
	struct cgfs_gauges g;
	struct cgfs *c;

	(void)state;
	mountinfo(HYBRID);
	put("unified/x/cgroup.procs", "");
	c = open_fake();
	assert_non_null(c);
	assert_int_equal(cgfs_read(c, "/gone", &g), -ENOENT);
	assert_int_equal(cgfs_read(c, "/x/../..", &g), -EINVAL);
	assert_int_equal(cgfs_read(c, "relative", &g), -EINVAL);
	assert_int_equal(cgfs_read(c, "/x", &g), 0); /* exists, no gauges: have == 0 */
	assert_int_equal(g.have, 0);
	cgfs_free(c);
}

static void test_no_cgroup_mounts(void **state)
{
	(void)state;
	mountinfo("30 25 0:26 / /sys rw - sysfs sysfs rw\n");
	errno = 0;
	assert_null(open_fake());
	assert_int_equal(errno, ENOENT);
}

static int count_dirs(uint64_t id, const char *rel, void *ctx)
{
	int *n = ctx;

	assert_true(id > 0);
	assert_true(rel[0] == '/');
	(*n)++;
	return strcmp(rel, "/stop/here") == 0 ? 42 : 0;
}

static void test_cgid_and_walk(void **state)
{
	char path[PATH_MAX + 32];
	struct stat st;
	struct cgfs *c;
	uint64_t id;
	int n = 0;

	(void)state;
	mountinfo(HYBRID);
	put("unified/a/b/f", "");
	put("unified/a/c/f", "");
	c = open_fake();
	assert_non_null(c);
	assert_int_equal(cgfs_cgid(c, "/a/b", &id), 0);
	snprintf(path, sizeof(path), "%s/unified/a/b", tmp);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(id, st.st_ino);
	assert_int_equal(cgfs_cgid(c, "/a/b/f", &id), -ENOTDIR);
	assert_int_equal(cgfs_cgid(c, "/nope", &id), -ENOENT);
	assert_int_equal(cgfs_walk(c, count_dirs, &n), 0);
	assert_int_equal(n, 4); /* /, /a, /a/b, /a/c */
	put("unified/stop/here/f", "");
	n = 0;
	assert_int_equal(cgfs_walk(c, count_dirs, &n), 42);
	cgfs_free(c);
}

static void test_parsers(void **state)
{
	uint64_t v;
	double d;

	(void)state;
	assert_int_equal(cgfs_parse_keyed("a 1\nab 2\nb 3", "b", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(cgfs_parse_keyed("a 1\nab 2\n", "ab", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(cgfs_parse_keyed("a 1\n", "b", &v), -ENOENT);
	assert_int_equal(cgfs_parse_keyed("a x\n", "a", &v), -EINVAL);
	assert_int_equal(cgfs_parse_keyed("", "a", &v), -ENOENT);
	assert_int_equal(cgfs_parse_psi_some10("some avg10=12.34 avg60=0", &d), 0);
	assert_true(d > 12.33 && d < 12.35);
	assert_int_equal(cgfs_parse_psi_some10("full avg10=1.00", &d), -EINVAL);
	assert_int_equal(cgfs_parse_psi_some10("some avg10=nan", &d), -EINVAL);
	assert_int_equal(cgfs_parse_psi_some10("some avg10=101", &d), -EINVAL);
	assert_int_equal(cgfs_parse_psi_some10("some avg60=1", &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hybrid_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hybrid_gauges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pure_v2_gauges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_and_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cgroup_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgid_and_walk, setup, teardown),
		cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
