/*
 * test_actuate.c - the actuation safety layer and the parts of the drivers
 * that need no daemon: driver table, opt-in refusal, bounds clamping,
 * dry-run events, start-up time bookkeeping, the JSON bodies sent to Docker
 * (clone, update, swarm spec) and the cgroupfs driver on a fake cgroup tree
 * in a temporary directory (v1 and v2 layouts, refusal of unlisted paths).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "actuate/act.h"
#include "actuate/drv_docker.h"
#include "containers/registry.h"
#include "core/bus.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int count_events(uint64_t after, enum bus_kind kind, const char *action, const char *msg)
{
	static struct bus_event ev[64];
	size_t n = bus_read(after, ev, 64, NULL), i;
	int k = 0;

	for (i = 0; i < n; i++)
		if (ev[i].kind == kind && (!action || !strcmp(ev[i].action, action)) &&
		    (!msg || strstr(ev[i].message, msg)))
			k++;
	return k;
}

static void test_driver_table(void **state)
{
	const char *const *n;
	struct act_driver *d;

	for (n = act_driver_names; *n; n++)
		assert_string_equal(act_ops_find(*n)->name, *n);
	assert_null(act_ops_find("kubernetes"));
	assert_null(act_ops_find(NULL));
	errno = 0;
	assert_null(act_driver_new("nope", NULL));
	assert_int_equal(errno, ENOENT);
	d = act_driver_new("dryrun", NULL);
	assert_non_null(d);
	assert_string_equal(act_driver_name(d), "dryrun");
	act_driver_free(d);
	act_driver_free(NULL);
}

static void test_refuses_not_enabled(void **state)
{
	struct act_driver *d = act_driver_new("dryrun", NULL);
	struct act_target t = { .id = "abc", .name = "web", .enabled = false };
	struct act_resize r = { .cpus = 1 };
	struct act_group g = { .service = "web", .enabled = false, .max = 5 };
	uint64_t seq = bus_last_seq();

	assert_int_equal(act_resize(d, &t, &r, "test"), -EPERM);
	assert_int_equal(act_scale(d, &g, 3, "test"), -EPERM);
	assert_int_equal(bus_last_seq(), seq); /* nothing published */
	act_driver_free(d);
}

static void test_dry_run_scale_and_bounds(void **state)
{
	struct act_driver *d = act_driver_new("dryrun", NULL);
	struct act_group g = { .service = "api", .enabled = true, .min = 2, .max = 5 };
	uint64_t seq = bus_last_seq();
	int n;

	assert_int_equal(act_replicas(d, &g, &n), 0);
	assert_int_equal(n, 2); /* starts at the minimum */
	assert_int_equal(act_scale(d, &g, 4, "forecast_peak"), 0);
	assert_int_equal(act_replicas(d, &g, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(act_scale(d, &g, 50, "spike"), 0); /* clamped to max */
	assert_int_equal(act_replicas(d, &g, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(act_scale(d, &g, 0, "idle"), 0); /* clamped to min */
	assert_int_equal(act_replicas(d, &g, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(act_scale(d, &g, 2, "steady"), 0); /* no-op, no event */
	assert_int_equal(count_events(seq, BUS_SCALE, "scale_up", "dry-run: replicas 2 -> 4"), 1);
	assert_int_equal(count_events(seq, BUS_SCALE, "scale_up", "4 -> 5"), 1);
	assert_int_equal(count_events(seq, BUS_SCALE, "scale_down", "5 -> 2"), 1);
	assert_int_equal(count_events(seq, BUS_SCALE, NULL, NULL), 3);
	/* min above max (presage.min=500 without a max): refused, never past the ceiling */
	g.min = 500;
	g.max = 0;
	assert_int_equal(act_scale(d, &g, 3, "label"), -EINVAL);
	assert_int_equal(act_replicas(d, &g, &n), 0);
	assert_int_equal(n, 2);
	act_driver_free(d);
}

static void test_resize_clamped_to_labels(void **state)
{
	struct act_driver *d = act_driver_new("dryrun", NULL);
	struct act_target t = { .id = "abc", .name = "db", .service = "db", .enabled = true };
	struct act_resize r = { .cpus = 8, .memory = 16LL << 30 };
	static struct bus_event ev[8];
	uint64_t seq = bus_last_seq();

	t.settings.has = CS_CPU_MAX | CS_MEM_MAX | CS_CPU_MIN;
	t.settings.cpu_max = 2;
	t.settings.cpu_min = 0.5;
	t.settings.mem_max = 1LL << 30;
	assert_int_equal(act_resize(d, &t, &r, "forecast_cpu"), 0);
	assert_int_equal(bus_read(seq, ev, 8, NULL), 1);
	assert_int_equal(ev[0].kind, BUS_RESIZE);
	assert_string_equal(ev[0].action, "resize");
	assert_string_equal(ev[0].reason, "forecast_cpu");
	assert_string_equal(ev[0].container, "abc");
	assert_non_null(strstr(ev[0].message, "->2 cores"));
	assert_non_null(strstr(ev[0].message, "->1024.0Mi"));
	r = (struct act_resize){ .cpus = 0.1 };
	assert_int_equal(act_resize(d, &t, &r, "idle"), 0);
	assert_int_equal(bus_read(seq + 1, ev, 8, NULL), 1);
	assert_string_equal(ev[0].action, "resize_cpu");
	assert_non_null(strstr(ev[0].message, "->0.5 cores"));
	/* Nothing valid left: NaN CPU, memory below the floor. */
	r = (struct act_resize){ .cpus = NAN, .memory = 1024 };
	assert_int_equal(act_resize(d, &t, &r, "bad"), -EINVAL);
	act_driver_free(d);
}

static void test_startup_times(void **state)
{
	struct act_driver *d = act_driver_new("dryrun", NULL);
	double run, srv;

	assert_true(isnan(act_startup_seconds(d, "web")));
	act_record_startup(d, "web", 1.0);
	act_record_startup(d, "web", 3.0);
	act_record_startup(d, "web", NAN);
	act_record_startup(d, "web", -1);
	assert_true(fabs(act_startup_seconds(d, "web") - 2.0) < 1e-9);
	act_record_startup(d, "api", 0.25);
	assert_true(act_startup_seconds(d, "api") == 0.25);
	/* Once a replica was seen serving, that figure is the start-up time. */
	act_record_serving(d, "api", 8.0);
	act_record_serving(d, "api", INFINITY);
	assert_true(act_startup_seconds(d, "api") == 8.0);
	act_startup_get(d, "api", &run, &srv);
	assert_true(run == 0.25 && srv == 8.0);
	act_startup_get(d, "web", &run, &srv);
	assert_true(fabs(run - 2.0) < 1e-9 && isnan(srv));
	act_driver_free(d);
}

static void test_identity_helpers(void **state)
{
	struct ctr_identity c = { .cgid = 1, .id = "abc", .name = "web-1", .service = "web" };
	struct act_target t;
	struct act_group g;

	c.settings.enabled = true;
	c.settings.has = CS_MAX;
	c.settings.max = 6;
	act_target_from_identity(&t, &c);
	assert_string_equal(t.id, "abc");
	assert_true(t.enabled);
	act_group_from_identity(&g, &c);
	assert_string_equal(g.service, "web");
	assert_int_equal(g.min, 1);
	assert_int_equal(g.max, 6);
	assert_int_equal(act_weight_to_shares(100), 2597);
	assert_int_equal(act_shares_to_weight(1024), 40); /* Docker's default shares */
	assert_int_equal(act_shares_to_weight(act_weight_to_shares(100)), 100);
	assert_int_equal(act_weight_to_shares(0), 2);
	assert_int_equal(act_shares_to_weight(1 << 30), 10000);
}

static void test_clone_body(void **state)
{
	static const char inspect[] =
		"{\"Id\":\"abc\",\"Name\":\"/web\",\"Config\":{\"Image\":\"bb:1\",\"Cmd\":[\"httpd\","
		"\"-f\"],\"Env\":[\"A=1\"],\"Labels\":{\"presage.service\":\"web\","
		"\"presage.managed-by\":\"someone\"},\"Hostname\":\"abc\"},\"HostConfig\":{"
		"\"NetworkMode\":\"host\",\"NanoCpus\":500000000,\"Memory\":67108864,"
		"\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]},\"Ulimits\":null}}";
	char *body = act_docker_clone_body(inspect, strlen(inspect));
	cJSON *j = cJSON_Parse(body), *hc, *labels;

	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "Image")->valuestring, "bb:1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "Cmd")), 2);
	assert_non_null(cJSON_GetObjectItem(j, "Env"));
	assert_null(cJSON_GetObjectItem(j, "Hostname")); /* a clone gets its own */
	labels = cJSON_GetObjectItem(j, "Labels");
	assert_string_equal(cJSON_GetObjectItem(labels, "presage.managed-by")->valuestring, "presage");
	assert_string_equal(cJSON_GetObjectItem(labels, "presage.service")->valuestring, "web");
	hc = cJSON_GetObjectItem(j, "HostConfig");
	assert_string_equal(cJSON_GetObjectItem(hc, "NetworkMode")->valuestring, "host");
	assert_true(cJSON_GetObjectItem(hc, "NanoCpus")->valuedouble == 5e8);
	assert_null(cJSON_GetObjectItem(hc, "PortBindings"));
	assert_null(cJSON_GetObjectItem(hc, "Ulimits"));
	cJSON_Delete(j);
	free(body);
	assert_null(act_docker_clone_body("{\"Config\":{}}", 13));
	assert_null(act_docker_clone_body("{\"Config\":{\"Image\":", 19));
	assert_null(act_docker_clone_body(NULL, 0));
}

static void test_update_body(void **state)
{
	struct docker_container cur = { 0 };
	struct act_resize r = { .cpus = 1.5, .memory = 256LL << 20, .cpu_weight = 100 };
	struct act_resize now;
	char *b;

	b = act_docker_update_body(&cur, &r);
	assert_string_equal(b, "{\"NanoCpus\":1500000000,\"Memory\":268435456,"
			       "\"MemorySwap\":536870912,\"CpuShares\":2597}");
	free(b);
	/* Created with a quota: stay with quota/period; keep the swap allowance. */
	cur.cpu_quota = 50000;
	cur.cpu_period = 50000;
	cur.memory = 128LL << 20;
	cur.memory_swap = 192LL << 20;
	r = (struct act_resize){ .cpus = 0.5, .memory = 64LL << 20 };
	b = act_docker_update_body(&cur, &r);
	assert_string_equal(b, "{\"CpuPeriod\":50000,\"CpuQuota\":25000,\"Memory\":67108864,"
			       "\"MemorySwap\":134217728}");
	free(b);
	act_docker_current(&cur, &now);
	assert_true(now.cpus == 1.0);
	assert_int_equal(now.memory, 128LL << 20);
	cur.memory_swap = -1;
	r = (struct act_resize){ .memory = 64LL << 20 };
	b = act_docker_update_body(&cur, &r);
	assert_string_equal(b, "{\"Memory\":67108864,\"MemorySwap\":-1}");
	free(b);
	/* a swap allowance from the daemon that would overflow memory + allowance saturates */
	cur.memory = 1LL << 20;
	cur.memory_swap = 4000000000000000000LL;
	r = (struct act_resize){ .memory = 8000000000000000000LL };
	b = act_docker_update_body(&cur, &r);
	assert_non_null(strstr(b, "\"MemorySwap\":9.2233720368547758e+18"));
	free(b);
}

static void test_swarm_bodies(void **state)
{
	static const char spec[] = "{\"Name\":\"s\",\"Mode\":{\"Replicated\":{\"Replicas\":1}},"
				   "\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"bb\"}}}";
	static const char tasks[] = "[{\"Status\":{\"State\":\"running\"}},{\"Status\":{\"State\":"
				    "\"preparing\"}},{\"Status\":{\"State\":\"running\"}},{}]";
	char *b = act_swarm_spec_with_replicas(spec, strlen(spec), 4);

	assert_non_null(strstr(b, "\"Replicas\":4"));
	assert_non_null(strstr(b, "\"TaskTemplate\""));
	free(b);
	assert_null(act_swarm_spec_with_replicas("{\"Mode\":{\"Global\":{}}}", 22, 4));
	assert_null(act_swarm_spec_with_replicas("{\"Mode\":", 8, 4));
	assert_int_equal(act_swarm_running_tasks(tasks, strlen(tasks)), 2);
	assert_int_equal(act_swarm_running_tasks("{}", 2), -EINVAL);
}

/* A fake cgroup tree: ROOT/v2/<cg>/{cpu.max,cpu.weight,memory.max} or the v1 files. */
static void make_file(const char *dir, const char *file, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void read_file(const char *dir, const char *file, char *out, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
}

static void test_cgroupfs_fake_trees(void **state)
{
	char root[] = "/tmp/presage-cgfs-XXXXXX", v2[256], v2cg[300], cpu[256], cpucg[300];
	char mem[256], memcg[300], buf[64];
	const char *allowed[] = { "/app" };
	struct act_config cfg = { .cgroups = allowed, .n_cgroups = 1 };
	struct act_target t = { .name = "app", .cgroup = "/app", .enabled = true };
	struct act_resize r = { .cpus = 1.5, .memory = 64LL << 20, .cpu_weight = 100 };
	struct act_driver *d;

	assert_non_null(mkdtemp(root));
	snprintf(v2, sizeof(v2), "%s/v2", root);
	snprintf(v2cg, sizeof(v2cg), "%s/app", v2);
	snprintf(cpu, sizeof(cpu), "%s/cpu", root);
	snprintf(cpucg, sizeof(cpucg), "%s/app", cpu);
	snprintf(mem, sizeof(mem), "%s/memory", root);
	snprintf(memcg, sizeof(memcg), "%s/app", mem);
	mkdir(v2, 0755), mkdir(v2cg, 0755), mkdir(cpu, 0755), mkdir(cpucg, 0755);
	mkdir(mem, 0755), mkdir(memcg, 0755);
	/* v1 layout first: the v2 directory has no controller files. */
	make_file(cpucg, "cpu.cfs_quota_us", "-1\n");
	make_file(cpucg, "cpu.cfs_period_us", "100000\n");
	make_file(cpucg, "cpu.shares", "1024\n");
	make_file(memcg, "memory.limit_in_bytes", "9223372036854771712\n");
	cfg.cgroup_v2 = v2;
	cfg.cgroup_v1_cpu = cpu;
	cfg.cgroup_v1_mem = mem;
	d = act_driver_new("cgroupfs", &cfg);
	assert_non_null(d);
	assert_int_equal(act_resize(d, &t, &r, "test"), 0);
	read_file(cpucg, "cpu.cfs_quota_us", buf, sizeof(buf));
	assert_string_equal(buf, "150000");
	read_file(cpucg, "cpu.shares", buf, sizeof(buf));
	assert_int_equal(atoi(buf), act_weight_to_shares(100));
	read_file(memcg, "memory.limit_in_bytes", buf, sizeof(buf));
	assert_string_equal(buf, "67108864");
	/* v2 files present: they win. */
	make_file(v2cg, "cpu.max", "max 100000\n");
	make_file(v2cg, "cpu.weight", "100\n");
	make_file(v2cg, "memory.max", "max\n");
	r = (struct act_resize){ .cpus = 0.25, .memory = 32LL << 20, .cpu_weight = 300 };
	assert_int_equal(act_resize(d, &t, &r, "test"), 0);
	read_file(v2cg, "cpu.max", buf, sizeof(buf));
	assert_string_equal(buf, "25000 100000");
	read_file(v2cg, "cpu.weight", buf, sizeof(buf));
	assert_string_equal(buf, "300");
	read_file(v2cg, "memory.max", buf, sizeof(buf));
	assert_string_equal(buf, "33554432");
	/* Only listed cgroups, no path tricks; scaling is not a cgroupfs operation. */
	strcpy(t.cgroup, "/other");
	assert_int_equal(act_resize(d, &t, &r, "test"), -EPERM);
	strcpy(t.cgroup, "/app/../other");
	assert_int_equal(act_resize(d, &t, &r, "test"), -EPERM);
	strcpy(t.cgroup, "app");
	assert_int_equal(act_resize(d, &t, &r, "test"), -EPERM);
	assert_int_equal(act_scale(d, &(struct act_group){ .service = "x", .enabled = true }, 2, "t"),
			 -EOPNOTSUPP);
	act_driver_free(d);
	/* A listed cgroup that has vanished: a clear error, no crash. */
	cfg.cgroups = (const char *[]){ "/gone" };
	d = act_driver_new("cgroupfs", &cfg);
	strcpy(t.cgroup, "/gone");
	assert_int_equal(act_resize(d, &t, &r, "test"), -ENOENT);
	act_driver_free(d);
	snprintf(buf, sizeof(buf), "rm -rf '%s'", root);
	assert_int_equal(system(buf), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_table),
		cmocka_unit_test(test_refuses_not_enabled),
		cmocka_unit_test(test_dry_run_scale_and_bounds),
		cmocka_unit_test(test_resize_clamped_to_labels),
		cmocka_unit_test(test_startup_times),
		cmocka_unit_test(test_identity_helpers),
		cmocka_unit_test(test_clone_body),
		cmocka_unit_test(test_update_body),
		cmocka_unit_test(test_swarm_bodies),
		cmocka_unit_test(test_cgroupfs_fake_trees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
