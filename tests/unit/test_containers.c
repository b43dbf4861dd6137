/*
 * test_containers.c - cgroup path -> runtime and id for every runtime layout
 * (and garbage paths), presage.* label parsing (bad values, min > max,
 * byte suffixes, service precedence), and the registry without a runtime
 * (plain cgroups named by path, bounded size, config enablement).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "containers/cgpath.h"
#include "containers/labels.h"
#include "containers/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_path(const char *path, enum ctr_runtime rt, const char *id)
{
	char got[CTR_ID_HEX + 1];

	assert_int_equal(cgpath_parse(path, got, sizeof(got)), rt);
	assert_string_equal(got, id);
}

static void test_cgpath_runtimes(void **state)
{
	expect_path("/docker/" H64, RT_DOCKER, H64);
	expect_path("/system.slice/docker-" H64 ".scope", RT_DOCKER, H64);
	expect_path("/docker/" H64 "/init", RT_DOCKER, H64); /* sub-cgroup of a container */
	expect_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
		    "cri-containerd-" H64 ".scope", RT_CONTAINERD, H64);
	expect_path("/kubepods/burstable/pod6b8c9d2e-1111-2222-3333-444455556666/" H64,
		    RT_CONTAINERD, H64);
	expect_path("/kubepods/besteffort/podabc/" H64, RT_CONTAINERD, H64);
	expect_path("/kubepods.slice/kubepods-pod1.slice/crio-" H64 ".scope", RT_CRIO, H64);
	expect_path("/crio/" H64, RT_CRIO, H64);
	expect_path("/machine.slice/libpod-" H64 ".scope", RT_PODMAN, H64);
	expect_path("/libpod_parent/libpod-" H64, RT_PODMAN, H64);
	expect_path("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" H64
		    ".scope/container", RT_PODMAN, H64);
	assert_string_equal(ctr_runtime_names[RT_CONTAINERD], "containerd");
}

static void test_cgpath_not_containers(void **state)
{
	expect_path("/", RT_CGROUP, "");
	expect_path("", RT_CGROUP, "");
	expect_path(NULL, RT_CGROUP, "");
	expect_path("/mygroup", RT_CGROUP, "");
	expect_path("/system.slice/sshd.service", RT_CGROUP, "");
	expect_path("/docker", RT_CGROUP, "");
	expect_path("/docker/" H64 "0", RT_CGROUP, "");              /* 65 hex */
	expect_path("/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		    RT_CGROUP, "");                                 /* upper case */
	expect_path("/docker/xyz", RT_CGROUP, "");
	expect_path("/system.slice/docker-abc.scope", RT_CGROUP, "");
	expect_path("/kubepods.slice/crio-conmon-" H64 ".scope", RT_CGROUP, ""); /* monitor */
	expect_path("/" H64, RT_CGROUP, "");                        /* bare id, no runtime parent */
	expect_path("////docker////" H64 "///", RT_DOCKER, H64);    /* tolerant of slashes */
	expect_path("/docker-" H64 ".scope.scope", RT_CGROUP, "");
}

static void test_cgpath_garbage_never_crashes(void **state)
{
	char buf[5000], id[8];
	int i;

	memset(buf, '/', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	expect_path(buf, RT_CGROUP, "");
	for (i = 0; i < 4999; i++)
		buf[i] = (char)(1 + (i * 37) % 255);
	expect_path(buf, RT_CGROUP, "");
	/* An id buffer too small for the id still reports the runtime, id empty. */
	assert_int_equal(cgpath_parse("/docker/" H64, id, sizeof(id)), RT_DOCKER);
	assert_string_equal(id, "");
}

#define L(k, v) { .key = k, .value = v }

static void test_labels_all_valid(void **state)
{
	const struct docker_label l[] = {
		L("presage.enable", "true"), L("presage.min", "2"), L("presage.max", "8"),
		L("presage.policy", "predictive"), L("presage.slo.latency_ms", "250"),
		L("presage.target", "70%"), L("presage.capacity", "120.5"),
		L("presage.cpu.min", "0.25"), L("presage.cpu.max", "2"),
		L("presage.memory.min", "64m"), L("presage.memory.max", "1.5G"),
		L("presage.priority", "high"), L("presage.cost", "0.04"), L("other", "x"),
	};
	struct ctr_settings s;

	assert_int_equal(ctr_labels_parse("c1", l, sizeof(l) / sizeof(l[0]), &s), 0);
	assert_true(s.enabled);
	assert_int_equal(s.has, CS_MIN | CS_MAX | CS_POLICY | CS_SLO | CS_TARGET | CS_CAPACITY |
				CS_CPU_MIN | CS_CPU_MAX | CS_MEM_MIN | CS_MEM_MAX | CS_PRIORITY | CS_COST);
	assert_int_equal(s.min, 2);
	assert_int_equal(s.max, 8);
	assert_string_equal(s.policy, "predictive");
	assert_true(s.slo_latency_ms == 250);
	assert_true(s.target > 0.699 && s.target < 0.701);
	assert_true(s.capacity == 120.5);
	assert_true(s.cpu_min == 0.25 && s.cpu_max == 2);
	assert_int_equal(s.mem_min, 64LL << 20);
	assert_int_equal(s.mem_max, 1536LL << 20);
	assert_int_equal(s.priority, PRIO_HIGH);
	assert_true(s.cost == 0.04);
}

static void test_labels_bad_values_ignored(void **state)
{
	const struct docker_label l[] = {
		L("presage.enable", "yes please"), L("presage.min", "two"), L("presage.max", "-1"),
		L("presage.policy", "magic"), L("presage.slo.latency_ms", "0"),
		L("presage.target", "150"), L("presage.capacity", "nan"),
		L("presage.cpu.max", "1e999"), L("presage.memory.max", "12 parsecs"),
		L("presage.memory.min", "1k"), L("presage.priority", "urgent"),
		L("presage.cost", "-3"), L("presage.cpu.min", ""),
	};
	struct ctr_settings s;

	assert_int_equal(ctr_labels_parse("c2", l, sizeof(l) / sizeof(l[0]), &s), 13);
	assert_false(s.enabled);
	assert_int_equal(s.has, 0);
	assert_int_equal(s.priority, PRIO_NORMAL);
}

static void test_labels_min_above_max(void **state)
{
	const struct docker_label l[] = {
		L("presage.enable", "true"), L("presage.min", "5"), L("presage.max", "2"),
		L("presage.cpu.min", "2"), L("presage.cpu.max", "1"),
		L("presage.memory.min", "1g"), L("presage.memory.max", "512m"),
		L("presage.target", "0.5"),
	};
	struct ctr_settings s;

	assert_int_equal(ctr_labels_parse("c3", l, sizeof(l) / sizeof(l[0]), &s), 3);
	assert_true(s.enabled);
	assert_int_equal(s.has, CS_TARGET); /* both halves of each contradiction dropped */
}

static void test_bytes(void **state)
{
	int64_t b;

	assert_int_equal(ctr_parse_bytes("1024", &b), 0);
	assert_int_equal(b, 1024);
	assert_int_equal(ctr_parse_bytes("4k", &b), 0);
	assert_int_equal(b, 4096);
	assert_int_equal(ctr_parse_bytes("2MiB", &b), 0);
	assert_int_equal(b, 2 << 20);
	assert_int_equal(ctr_parse_bytes("1g", &b), 0);
	assert_int_equal(b, 1 << 30);
	assert_int_equal(ctr_parse_bytes("3GB", &b), 0);
	assert_int_equal(b, 3LL << 30);
	assert_int_equal(ctr_parse_bytes("1t", &b), 0);
	assert_int_equal(ctr_parse_bytes("12x", &b), -EINVAL);
	assert_int_equal(ctr_parse_bytes("-5m", &b), -EINVAL);
	assert_int_equal(ctr_parse_bytes("", &b), -EINVAL);
	assert_int_equal(ctr_parse_bytes("99999999t", &b), -EINVAL);
	assert_int_equal(ctr_parse_bytes("5mm", &b), -EINVAL);
}

static void test_service_precedence(void **state)
{
	const struct docker_label all[] = {
		L("com.docker.compose.service", "compose"), L("com.docker.swarm.service.name", "swarm"),
		L("presage.service", "mine"),
	};
	char out[64];

	ctr_labels_service(all, 3, out, sizeof(out));
	assert_string_equal(out, "mine");
	ctr_labels_service(all, 2, out, sizeof(out));
	assert_string_equal(out, "swarm");
	ctr_labels_service(all, 1, out, sizeof(out));
	assert_string_equal(out, "compose");
	ctr_labels_service(all, 0, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_registry_plain_cgroups(void **state)
{
	struct registry *r = registry_new(NULL, 3);
	struct ctr_identity c;

	assert_non_null(r);
	assert_int_equal(registry_add(r, 4242, "/mygroup"), 0);
	assert_int_equal(registry_lookup(r, 4242, &c), 0);
	assert_string_equal(c.id, "4242");
	assert_string_equal(c.name, "mygroup");
	assert_string_equal(c.cgroup, "/mygroup");
	assert_int_equal(c.runtime, RT_CGROUP);
	assert_true(c.resolved);
	assert_false(c.settings.enabled);
	/* A container path without a runtime client: full id, short name. */
	assert_int_equal(registry_add(r, 7, "/docker/" H64), 0);
	assert_int_equal(registry_lookup(r, 7, &c), 0);
	assert_string_equal(c.id, H64);
	assert_string_equal(c.name, "0123456789ab");
	assert_int_equal(c.runtime, RT_DOCKER);
	assert_false(c.resolved);
	assert_int_equal(registry_find(r, "0123456789abcd", &c), 0);
	assert_int_equal(c.cgid, 7);
	assert_int_equal(registry_find(r, "mygroup", &c), 0);
	assert_int_equal(registry_find(r, "0123", &c), -ENOENT); /* prefix too short */
	/* Bounded: the fourth distinct cgroup does not fit. */
	assert_int_equal(registry_add(r, 8, "/b"), 0);
	assert_int_equal(registry_add(r, 9, "/c"), -ENOSPC);
	assert_int_equal(registry_add(r, 8, "/b-renamed"), 0); /* re-add refreshes */
	assert_int_equal(registry_lookup(r, 8, &c), 0);
	assert_string_equal(c.name, "b-renamed");
	assert_int_equal(registry_add(r, 10, "relative"), -EINVAL);
	assert_int_equal(registry_count(r), 3);
	assert_true(registry_poll(r) > 0);
	assert_int_equal(registry_poll(r), 0);
	assert_int_equal(registry_remove(r, 4242), 0);
	assert_int_equal(registry_remove(r, 4242), -ENOENT);
	assert_int_equal(registry_lookup(r, 4242, &c), -ENOENT);
	registry_free(r);
	registry_free(NULL);
}

static void test_registry_config_enabled(void **state)
{
	struct registry *r = registry_new(NULL, 0);
	const char *keys[] = { "/batch/job1" };
	struct ctr_identity list[4];

	assert_int_equal(registry_add(r, 1, "/batch/job1"), 0);
	assert_int_equal(registry_add(r, 2, "/batch/job2"), 0);
	assert_int_equal(registry_set_config_enabled(r, keys, 1), 0);
	assert_int_equal(registry_lookup(r, 1, &list[0]), 0);
	assert_true(list[0].settings.enabled);
	assert_int_equal(registry_lookup(r, 2, &list[0]), 0);
	assert_false(list[0].settings.enabled);
	/* Entries added later are matched too. */
	assert_int_equal(registry_set_config_enabled(r, (const char *[]){ "job3" }, 1), 0);
	assert_int_equal(registry_add(r, 3, "/job3"), 0);
	assert_int_equal(registry_lookup(r, 3, &list[0]), 0);
	assert_true(list[0].settings.enabled);
	assert_int_equal(registry_list(r, list, 4), 3);
	registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgpath_runtimes),
		cmocka_unit_test(test_cgpath_not_containers),
		cmocka_unit_test(test_cgpath_garbage_never_crashes),
		cmocka_unit_test(test_labels_all_valid),
		cmocka_unit_test(test_labels_bad_values_ignored),
		cmocka_unit_test(test_labels_min_above_max),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_service_precedence),
		cmocka_unit_test(test_registry_plain_cgroups),
		cmocka_unit_test(test_registry_config_enabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
