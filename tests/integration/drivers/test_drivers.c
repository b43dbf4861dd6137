/*
 * test_drivers.c - the Docker client, container registry and actuation
 * drivers against real dockerds (started by tests/integration/lib/
 * with_dockerd.sh: a plain daemon with --live-restore and a swarm manager).
 *
 * Run directly (as the test runner does) it re-executes itself through
 * with_dockerd.sh, which sets PRESAGE_TEST_DOCKER / _SWARM / _IMAGE and
 * removes the daemons afterwards.  Needs root (dockerd, cgroup files).
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
#include "runtime/docker.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *plain_host, *swarm_host, *image, *plain_dir;
static struct docker_client *plain, *swarm;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sync API call on c; returns rc and leaves the body in r (release it). */
static int api(struct docker_client *c, const char *method, const char *path, const char *body,
	       struct docker_response *r)
{
	return docker_request_sync(c, method, path, body, 20000, r);
}

static int api_ok(struct docker_client *c, const char *method, const char *path, const char *body)
{
	struct docker_response r;
	int rc = api(c, method, path, body, &r);

	if (rc < 0)
		print_message("# %s\n", r.errmsg);
	docker_response_release(&r);
	return rc;
}

/* Create (and start unless !start) a container; its full id into id. */
static void run_container(const char *name, const char *labels_json, const char *cmd_json,
			  bool start, char *id)
{
	char body[2048], path[256];
	struct docker_response r;
	struct docker_container c;

	snprintf(body, sizeof(body),
		 "{\"Image\":\"%s\",\"Cmd\":%s,\"Labels\":%s,\"StopSignal\":\"SIGKILL\","
		 "\"HostConfig\":{\"NetworkMode\":\"host\"}}", image, cmd_json, labels_json);
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	assert_int_equal(api(plain, "POST", path, body, &r), 0);
	assert_int_equal(docker_parse_inspect(r.body, r.len, &c), 0);
	docker_response_release(&r);
	strcpy(id, c.id);
	if (start) {
		snprintf(path, sizeof(path), "/containers/%s/start", id);
		assert_int_equal(api_ok(plain, "POST", path, NULL), 0);
	}
}

static int inspect(const char *id, struct docker_container *c)
{
	struct docker_response r;
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	rc = api(plain, "GET", path, NULL, &r);
	if (!rc)
		rc = docker_parse_inspect(r.body, r.len, c);
	docker_response_release(&r);
	return rc;
}

/* A cgroup file of container id: v1 controller dir first, then v2. */
static long long cg_read(const char *ctrl, const char *id, const char *file)
{
	char path[512], buf[128] = "";
	long long a = -1, b = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/docker/%s/%s", ctrl, id, file);
	f = fopen(path, "re");
	if (!f) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/docker/%s/%s", id, file);
		f = fopen(path, "re");
	}
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%lld %lld", &a, &b) < 1)
		a = -1;
	fclose(f);
	return a;
}

static void remove_container(const char *id)
{
	char path[192];

	snprintf(path, sizeof(path), "/containers/%s?force=1", id);
	api_ok(plain, "DELETE", path, NULL);
}

/* Count BUS events of kind with action since seq `after`. */
static int count_events(uint64_t after, enum bus_kind kind, const char *action, const char *msg)
{
	static struct bus_event ev[BUS_CAPACITY];
	size_t n = bus_read(after, ev, BUS_CAPACITY, NULL), i;
	int k = 0;

	for (i = 0; i < n; i++)
		if (ev[i].kind == kind && (!action || !strcmp(ev[i].action, action)) &&
		    (!msg || strstr(ev[i].message, msg)))
			k++;
	return k;
}

static struct act_driver *driver(const char *name, const char *host, bool dry)
{
	struct act_config cfg = { .docker_host = host, .timeout_ms = 20000, .stop_timeout_s = 2,
				  .dry_run = dry };
	struct act_driver *d = act_driver_new(name, &cfg);

	assert_non_null(d);
	return d;
}

/* ---- client ------------------------------------------------------------- */

static void test_client_negotiates_and_reports_errors(void **state)
{
	struct docker_response r;
	char id[80];

	assert_int_equal(api(plain, "GET", "/containers/json", NULL, &r), 0);
	docker_response_release(&r);
	assert_string_equal(docker_client_api_version(plain), "1.41");
	assert_int_equal(api(plain, "GET", "/containers/no-such-thing/json", NULL, &r), -ENOENT);
	assert_non_null(strstr(r.errmsg, plain_host));
	assert_non_null(strstr(r.errmsg, "404"));
	assert_non_null(strstr(r.errmsg, "No such container"));
	docker_response_release(&r);
	run_container("dup-name", "{}", "[\"sleep\",\"600\"]", false, id);
	/* Same name again: Docker answers 409 Conflict. */
	assert_int_equal(api(plain, "POST", "/containers/create?name=dup-name",
			     "{\"Image\":\"presage-bb:test\"}", &r), -EBUSY);
	assert_non_null(strstr(r.errmsg, "409"));
	print_message("# %s\n", r.errmsg);
	docker_response_release(&r);
	remove_container(id);
}

/* A unix socket that accepts connections (backlog) and never answers. */
static int hung_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

struct canned {
	int fd;
	const char *reply;
};

/* Serve one canned reply per connection until the listener is closed. */
static void *canned_server(void *arg)
{
	struct canned *c = arg;
	char buf[4096];
	int cfd;

	while ((cfd = accept(c->fd, NULL, NULL)) >= 0) {
		/* The client may hang up early (size cap): MSG_NOSIGNAL, no SIGPIPE. */
		if (read(cfd, buf, sizeof(buf)) > 0)
			send(cfd, c->reply, strlen(c->reply), MSG_NOSIGNAL);
		close(cfd);
	}
	return NULL;
}

static void done_cb(struct docker_client *c, const struct docker_response *r, void *ctx)
{
	struct docker_response *out = ctx;

	*out = *r;
	out->body = NULL;
}

static void test_client_hung_socket_times_out(void **state)
{
	const char *path = "/tmp/presage-hung.sock";
	struct docker_client *c;
	struct docker_response r, ar = { .status = -1 };
	int fd = hung_socket(path);
	double t0;

	c = docker_client_new("unix:///tmp/presage-hung.sock");
	assert_non_null(c);
	docker_client_set_timeouts(c, 500, 800);
	t0 = now_s();
	assert_int_equal(docker_request_sync(c, "GET", "/containers/json", NULL, 800, &r), -ETIMEDOUT);
	print_message("# sync: %s (%.2f s)\n", r.errmsg, now_s() - t0);
	assert_non_null(strstr(r.errmsg, "presage-hung.sock"));
	assert_non_null(strstr(r.errmsg, "timed out"));
	docker_response_release(&r);
	/* The asynchronous path gives the same answer without ever blocking. */
	assert_int_equal(docker_submit(c, "GET", "/containers/json", NULL, done_cb, &ar), 0);
	for (t0 = now_s(); ar.status == -1 && now_s() - t0 < 5;) {
		docker_client_wait(c, 100);
		docker_client_perform(c);
	}
	assert_int_equal(ar.err, -ETIMEDOUT);
	print_message("# async: %s\n", ar.errmsg);
	docker_client_free(c);
	close(fd);
	unlink(path);
}

static void canned_case(const char *reply, int want_err, const char *want_msg)
{
	const char *path = "/tmp/presage-canned.sock";
	struct canned cn = { .fd = hung_socket(path), .reply = reply };
	struct docker_client *c = docker_client_new(path);
	struct docker_response r;
	pthread_t th;

	pthread_create(&th, NULL, canned_server, &cn);
	assert_int_equal(docker_request_sync(c, "GET", "/containers/json", NULL, 2000, &r), want_err);
	print_message("# %s\n", r.errmsg);
	assert_non_null(strstr(r.errmsg, path));
	assert_non_null(strstr(r.errmsg, want_msg));
	docker_response_release(&r);
	docker_client_free(c);
	shutdown(cn.fd, SHUT_RDWR);
	close(cn.fd);
	pthread_join(th, NULL);
	unlink(path);
}

static void test_client_garbage_and_truncated(void **state)
{
	/* Garbage where the version should be: the client cannot negotiate. */
	canned_case("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{garbage!", -EPROTO,
		    "GET /containers/json: response is not a Docker version");
	/* Truncated: the body ends before Content-Length. */
	canned_case("HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"ApiVersion\":",
		    -EPROTO, "GET /containers/json: transfer closed");
	/* A body past the size cap is refused, not buffered. */
	{
		size_t big = DOCKER_MAX_RESPONSE + 4096, hl;
		char *reply = malloc(big + 128);

		hl = (size_t)sprintf(reply, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
				     "Connection: close\r\n\r\n", big);
		memset(reply + hl, 'a', big);
		reply[hl + big] = '\0';
		canned_case(reply, -E2BIG, "larger than");
		free(reply);
	}
	/* A 500 with Docker's error body. */
	canned_case("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 22\r\nConnection: close"
		    "\r\n\r\n{\"message\":\"boom\"}\r\n\r\n", -EIO, "500 boom");
}

/* ---- registry --------------------------------------------------------------- */

static uint64_t v2_cgid(const char *id)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/unified/docker/%s", id);
	if (stat(path, &st) < 0) {
		snprintf(path, sizeof(path), "/sys/fs/cgroup/docker/%s", id);
		if (stat(path, &st) < 0)
			return 0;
	}
	return st.st_ino;
}

static void test_registry_resolves_identity(void **state)
{
	struct docker_client *dc = docker_client_new(plain_host);
	struct registry *reg = registry_new(dc, 100);
	struct ctr_identity ci;
	char id[80], rel[128];
	uint64_t cgid, seq = bus_last_seq();
	double t0;

	run_container("ident-1",
		      "{\"presage.enable\":\"true\",\"presage.service\":\"api\",\"presage.min\":\"abc\","
		      "\"presage.max\":\"5\",\"presage.memory.max\":\"256m\"}",
		      "[\"sleep\",\"600\"]", true, id);
	cgid = v2_cgid(id);
	assert_true(cgid > 0);
	snprintf(rel, sizeof(rel), "/docker/%s", id);
	assert_int_equal(registry_add(reg, cgid, rel), 0);
	for (t0 = now_s(); now_s() - t0 < 10; usleep(50000)) {
		registry_poll(reg);
		if (registry_lookup(reg, cgid, &ci) == 0 && ci.resolved)
			break;
	}
	assert_true(ci.resolved);
	assert_string_equal(ci.id, id);
	assert_string_equal(ci.name, "ident-1");
	assert_string_equal(ci.image, image);
	assert_string_equal(ci.service, "api");
	assert_int_equal(ci.runtime, RT_DOCKER);
	assert_true(ci.settings.enabled);
	assert_false(ci.settings.has & CS_MIN); /* "abc" rejected with a warning */
	assert_int_equal(ci.settings.max, 5);
	assert_int_equal(ci.settings.mem_max, 256LL << 20);
	/* Docker's own events reach the bus: stopping it publishes a die. */
	remove_container(id);
	for (t0 = now_s(); now_s() - t0 < 10 && !count_events(seq, BUS_CONTAINER, "die", NULL);
	     usleep(50000))
		registry_poll(reg);
	assert_true(count_events(seq, BUS_CONTAINER, "die", NULL) >= 1);
	docker_client_free(dc);
	registry_free(reg);
}

/* ---- docker driver: resize -------------------------------------------------- */

static void test_docker_resize_cpu_in_place(void **state)
{
	struct act_driver *d = driver("docker", plain_host, false);
	struct docker_container before, after;
	struct act_target t = { .enabled = true };
	struct act_resize r = { .cpus = 1.2 };
	char id[80];

	run_container("cpu-1", "{\"presage.enable\":\"true\",\"presage.cpu.max\":\"1.5\"}",
		      "[\"sh\",\"-c\",\"while :; do :; done\"]", true, id);
	assert_int_equal(inspect(id, &before), 0);
	strcpy(t.id, id);
	strcpy(t.name, "cpu-1");
	t.settings.has = CS_CPU_MAX;
	t.settings.cpu_max = 1.5;
	assert_int_equal(act_resize(d, &t, &r, "test_raise"), 0);
	assert_int_equal(inspect(id, &after), 0);
	assert_int_equal(after.nano_cpus, 1200000000LL);
	assert_int_equal(cg_read("cpu", id, "cpu.cfs_quota_us") > 0 ?
				 cg_read("cpu", id, "cpu.cfs_quota_us") : cg_read("cpu", id, "cpu.max"),
			 120000);
	assert_true(after.running);
	assert_int_equal(after.pid, before.pid);
	assert_true(after.started_at == before.started_at);
	/* Above presage.cpu.max: clamped to 1.5 cores. */
	r.cpus = 3;
	assert_int_equal(act_resize(d, &t, &r, "test_clamp"), 0);
	assert_int_equal(inspect(id, &after), 0);
	assert_int_equal(after.nano_cpus, 1500000000LL);
	/* Lowered when idle. */
	r.cpus = 0.5;
	assert_int_equal(act_resize(d, &t, &r, "test_lower"), 0);
	assert_int_equal(inspect(id, &after), 0);
	assert_int_equal(after.nano_cpus, 500000000LL);
	assert_int_equal(after.pid, before.pid);
	print_message("# cpu.cfs_quota_us now %lld, pid %d unchanged\n",
		      cg_read("cpu", id, "cpu.cfs_quota_us"), after.pid);
	remove_container(id);
	act_driver_free(d);
}

static void test_docker_resize_memory_and_weight(void **state)
{
	struct act_driver *d = driver("docker", plain_host, false);
	struct docker_container before, after;
	struct act_target t = { .enabled = true };
	struct act_resize r = { .memory = 128LL << 20, .cpu_weight = 200 };
	char id[80];

	run_container("mem-1", "{\"presage.enable\":\"true\"}", "[\"sleep\",\"600\"]", true, id);
	assert_int_equal(inspect(id, &before), 0);
	strcpy(t.id, id);
	strcpy(t.name, "mem-1");
	assert_int_equal(act_resize(d, &t, &r, "test_memory"), 0);
	assert_int_equal(inspect(id, &after), 0);
	assert_int_equal(after.memory, 128LL << 20);
	assert_int_equal(after.cpu_shares, act_weight_to_shares(200));
	assert_int_equal(cg_read("memory", id, "memory.limit_in_bytes") > 0 ?
				 cg_read("memory", id, "memory.limit_in_bytes") :
				 cg_read("memory", id, "memory.max"),
			 128LL << 20);
	r = (struct act_resize){ .memory = 64LL << 20 };
	assert_int_equal(act_resize(d, &t, &r, "test_memory_down"), 0);
	assert_int_equal(inspect(id, &after), 0);
	assert_int_equal(after.memory, 64LL << 20);
	assert_int_equal(after.pid, before.pid);
	remove_container(id);
	act_driver_free(d);
}

static void test_docker_refuses_not_enabled(void **state)
{
	struct act_driver *d = driver("docker", plain_host, false);
	struct act_target t = { .enabled = false };
	struct act_resize r = { .cpus = 0.5 };
	struct act_group g = { .service = "user-svc", .enabled = false, .max = 3 };
	struct docker_container c;
	char id[80];

	run_container("user-1", "{\"presage.service\":\"user-svc\"}", "[\"sleep\",\"600\"]", true, id);
	strcpy(t.id, id);
	strcpy(t.name, "user-1");
	assert_int_equal(act_resize(d, &t, &r, "test"), -EPERM);
	assert_int_equal(act_scale(d, &g, 3, "test"), -EPERM);
	assert_int_equal(inspect(id, &c), 0);
	assert_int_equal(c.nano_cpus, 0);
	remove_container(id);
	act_driver_free(d);
}

static void test_docker_container_gone_before_action(void **state)
{
	struct act_driver *d = driver("docker", plain_host, false);
	struct act_target t = { .enabled = true };
	struct act_resize r = { .cpus = 0.5 };
	char id[80];

	run_container("gone-1", "{\"presage.enable\":\"true\"}", "[\"sleep\",\"600\"]", true, id);
	strcpy(t.id, id);
	strcpy(t.name, "gone-1");
	remove_container(id); /* between the decision and the action */
	assert_int_equal(act_resize(d, &t, &r, "test"), -ENOENT);
	act_driver_free(d);
}

/* ---- docker driver: horizontal ------------------------------------------- */

/* Running members of service and how many carry the managed-by label. */
static int members(const char *service, int *managed, struct docker_summary *rows)
{
	char path[512];
	struct docker_response r;
	int n, i, running = 0;

	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22"
		 "presage.service%%3D%s%%22%%5D%%7D", service);
	assert_int_equal(api(plain, "GET", path, NULL, &r), 0);
	n = docker_parse_list(r.body, r.len, rows, 32);
	docker_response_release(&r);
	*managed = 0;
	for (i = 0; i < n; i++) {
		running += rows[i].running;
		*managed += rows[i].managed;
	}
	return running;
}

static void test_docker_scale_clone_and_remove_managed_only(void **state)
{
	struct act_driver *d = driver("docker", plain_host, false);
	struct act_group g = { .service = "web", .enabled = true, .min = 1, .max = 4 };
	struct docker_summary rows[32];
	struct docker_container c;
	uint64_t seq = bus_last_seq();
	int managed, n;
	char id[80];

	run_container("web", "{\"presage.enable\":\"true\",\"presage.service\":\"web\","
		      "\"tier\":\"front\"}", "[\"sleep\",\"600\"]", true, id);
	assert_int_equal(act_scale(d, &g, 3, "test_load_up"), 0);
	assert_int_equal(members("web", &managed, rows), 3);
	assert_int_equal(managed, 2);
	assert_int_equal(count_events(seq, BUS_SCALE, "scale_up", "1 -> 3"), 1);
	assert_int_equal(inspect("web-1", &c), 0);
	assert_true(c.running);
	assert_string_equal(docker_label_get(&c, "presage.managed-by"), "presage");
	assert_string_equal(docker_label_get(&c, "tier"), "front");
	assert_string_equal(c.image, image);
	assert_string_equal(c.network_mode, "host");
	assert_int_equal(inspect("web-2", &c), 0);
	print_message("# create->running: %.3f s (mean of the clones)\n",
		      act_startup_seconds(d, "web"));
	assert_true(isfinite(act_startup_seconds(d, "web")));
	/* Above max: clamped to 4. */
	assert_int_equal(act_scale(d, &g, 9, "test_clamp"), 0);
	assert_int_equal(members("web", &managed, rows), 4);
	/* Down to the minimum: only presage's replicas go, the user's stays. */
	assert_int_equal(act_scale(d, &g, 0, "test_load_down"), 0);
	n = members("web", &managed, rows);
	assert_int_equal(n, 1);
	assert_int_equal(managed, 0);
	assert_int_equal(inspect(id, &c), 0);
	assert_true(c.running);
	/* With min 0 the user's own container is still never removed. */
	g.min = 0;
	assert_int_equal(act_scale(d, &g, 0, "test_never_user"), -EPERM);
	assert_int_equal(inspect(id, &c), 0);
	assert_true(c.running);
	remove_container(id);
	act_driver_free(d);
}

static void test_docker_failed_scale_up_leaves_nothing(void **state)
{
	struct act_driver *d = driver("docker", plain_host, false);
	struct act_group g = { .service = "broken", .enabled = true, .min = 0, .max = 3 };
	struct docker_summary rows[32];
	struct docker_container c;
	int managed;
	char id[80];

	/* A template that cannot start: its command does not exist. */
	run_container("broken", "{\"presage.enable\":\"true\",\"presage.service\":\"broken\"}",
		      "[\"/no/such/binary\"]", false, id);
	assert_true(act_scale(d, &g, 2, "test_fail") < 0);
	members("broken", &managed, rows);
	assert_int_equal(managed, 0);
	assert_int_equal(inspect("broken-1", &c), -ENOENT);
	remove_container(id);
	act_driver_free(d);
}

/* ---- swarm ----------------------------------------------------------------- */

static int service_replicas(const char *name, int *running)
{
	struct docker_response r;
	struct docker_service s;
	char path[256];
	int rc;

	snprintf(path, sizeof(path), "/services/%s", name);
	rc = docker_request_sync(swarm, "GET", path, NULL, 10000, &r);
	assert_int_equal(rc, 0);
	assert_int_equal(docker_parse_service(r.body, r.len, &s), 0);
	docker_response_release(&r);
	free(s.spec);
	snprintf(path, sizeof(path), "/tasks?filters=%%7B%%22service%%22%%3A%%5B%%22%s%%22%%5D%%7D",
		 name);
	assert_int_equal(docker_request_sync(swarm, "GET", path, NULL, 10000, &r), 0);
	*running = act_swarm_running_tasks(r.body, r.len);
	docker_response_release(&r);
	return (int)s.replicas;
}

static void test_swarm_scale_and_dry_run(void **state)
{
	struct act_config cfg = { .docker_host = swarm_host, .timeout_ms = 20000,
				  .ready_timeout_s = 60 };
	struct act_driver *d = act_driver_new("swarm", &cfg), *dry;
	struct act_group g;
	char spec[1024];
	int running;

	assert_non_null(d);
	snprintf(spec, sizeof(spec),
		 "{\"Name\":\"sw-web\",\"Labels\":{\"presage.enable\":\"true\",\"presage.max\":\"4\"},"
		 "\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"%s\",\"Args\":[\"sleep\",\"600\"]},"
		 "\"Networks\":[{\"Target\":\"host\"}]},\"Mode\":{\"Replicated\":{\"Replicas\":1}}}",
		 image);
	assert_int_equal(api_ok(swarm, "POST", "/services/create", spec), 0);
	assert_int_equal(act_swarm_group(d, "sw-web", &g), 0);
	assert_true(g.enabled);
	assert_int_equal(g.max, 4);
	assert_int_equal(act_scale(d, &g, 3, "test_swarm_up"), 0);
	assert_int_equal(service_replicas("sw-web", &running), 3);
	assert_int_equal(running, 3);
	print_message("# swarm: 1 -> 3 replicas running after %.2f s\n",
		      act_startup_seconds(d, "sw-web"));
	/* Dry-run: nothing changes. */
	cfg.dry_run = true;
	dry = act_driver_new("swarm", &cfg);
	assert_int_equal(act_scale(dry, &g, 1, "test_dry"), 0);
	assert_int_equal(service_replicas("sw-web", &running), 3);
	act_driver_free(dry);
	assert_int_equal(act_scale(d, &g, 1, "test_swarm_down"), 0);
	assert_int_equal(service_replicas("sw-web", &running), 1);
	/* The default docker driver recognises a Swarm service and scales it as one. */
	act_driver_free(d);
	d = driver("docker", swarm_host, false);
	assert_int_equal(act_swarm_group(d, "sw-web", &g), 0);
	assert_int_equal(act_scale(d, &g, 2, "test_docker_on_swarm"), 0);
	assert_int_equal(service_replicas("sw-web", &running), 2);
	api_ok(swarm, "DELETE", "/services/sw-web", NULL);
	act_driver_free(d);
}

static void test_docker_dry_run_changes_nothing(void **state)
{
	struct act_driver *d = driver("docker", plain_host, true);
	struct act_group g = { .service = "dry", .enabled = true, .min = 1, .max = 4 };
	struct act_target t = { .enabled = true };
	struct act_resize r = { .cpus = 0.7, .memory = 96LL << 20 };
	struct docker_summary rows[32];
	struct docker_container c;
	uint64_t seq = bus_last_seq();
	int managed;
	char id[80];

	run_container("dry", "{\"presage.enable\":\"true\",\"presage.service\":\"dry\"}",
		      "[\"sleep\",\"600\"]", true, id);
	strcpy(t.id, id);
	strcpy(t.name, "dry");
	assert_int_equal(act_resize(d, &t, &r, "test_dry"), 0);
	assert_int_equal(act_scale(d, &g, 3, "test_dry"), 0);
	assert_int_equal(inspect(id, &c), 0);
	assert_int_equal(c.nano_cpus, 0);
	assert_int_equal(c.memory, 0);
	assert_int_equal(members("dry", &managed, rows), 1);
	assert_int_equal(count_events(seq, BUS_SCALE, "scale_up", "dry-run"), 1);
	assert_int_equal(count_events(seq, BUS_RESIZE, NULL, "dry-run"), 1);
	remove_container(id);
	act_driver_free(d);
}

/* ---- cgroupfs -------------------------------------------------------------- */

static long long read_ll(const char *fmt, const char *cg, const char *file)
{
	char path[512];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), fmt, cg, file);
	f = fopen(path, "re");
	if (f && fscanf(f, "%lld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void test_cgroupfs_writes_only_listed_cgroups(void **state)
{
	char name[64], other[64], dir[256];
	const char *list[1] = { name };
	struct act_config cfg = { .cgroups = list, .n_cgroups = 1 };
	struct act_target t = { .enabled = true }, u = { .enabled = true };
	struct act_resize r = { .cpus = 0.5, .memory = 64LL << 20, .cpu_weight = 50 };
	bool v1 = access("/sys/fs/cgroup/cpu/tasks", F_OK) == 0;
	const char *cpu = v1 ? "/sys/fs/cgroup/cpu%s/%s" : "/sys/fs/cgroup%s/%s";
	const char *mem = v1 ? "/sys/fs/cgroup/memory%s/%s" : "/sys/fs/cgroup%s/%s";
	struct act_driver *d;
	long long quota_before;

	snprintf(name, sizeof(name), "/presage-act-%d", getpid());
	snprintf(other, sizeof(other), "/presage-act-other-%d", getpid());
	snprintf(dir, sizeof(dir), cpu, name, "");
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), cpu, other, "");
	assert_int_equal(mkdir(dir, 0755), 0);
	if (v1) {
		snprintf(dir, sizeof(dir), mem, name, "");
		assert_int_equal(mkdir(dir, 0755), 0);
	}
	d = act_driver_new("cgroupfs", &cfg);
	assert_non_null(d);
	strcpy(t.cgroup, name);
	strcpy(t.name, name + 1);
	assert_int_equal(act_resize(d, &t, &r, "test_cgroupfs"), 0);
	if (v1) {
		assert_int_equal(read_ll(cpu, name, "cpu.cfs_quota_us"), 50000);
		assert_int_equal(read_ll(cpu, name, "cpu.shares"), act_weight_to_shares(50));
		assert_int_equal(read_ll(mem, name, "memory.limit_in_bytes"), 64LL << 20);
	}
	/* A cgroup the config does not name is refused and left as it was. */
	strcpy(u.cgroup, other);
	strcpy(u.name, other + 1);
	quota_before = read_ll(cpu, other, v1 ? "cpu.cfs_quota_us" : "cpu.max");
	assert_int_equal(act_resize(d, &u, &r, "test_cgroupfs"), -EPERM);
	assert_int_equal(read_ll(cpu, other, v1 ? "cpu.cfs_quota_us" : "cpu.max"), quota_before);
	/* Path tricks are refused too. */
	snprintf(u.cgroup, sizeof(u.cgroup), "%s/../%s", name, other + 1);
	assert_int_equal(act_resize(d, &u, &r, "test_cgroupfs"), -EPERM);
	act_driver_free(d);
	snprintf(dir, sizeof(dir), cpu, name, "");
	rmdir(dir);
	snprintf(dir, sizeof(dir), cpu, other, "");
	rmdir(dir);
	if (v1) {
		snprintf(dir, sizeof(dir), mem, name, "");
		rmdir(dir);
	}
}

/* ---- outage and recovery ------------------------------------------------- */

static int dockerd_ctl(const char *verb)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "bash tests/integration/lib/dockerd_ctl.sh %s '%s' >/dev/null 2>&1",
		 verb, plain_dir);
	return system(cmd);
}

static void poll_for(struct registry *reg, double seconds)
{
	double t0;

	for (t0 = now_s(); now_s() - t0 < seconds; usleep(50000))
		registry_poll(reg);
}

static void test_outage_logged_once_and_recovered(void **state)
{
	struct docker_client *dc = docker_client_new(plain_host);
	struct registry *reg = registry_new(dc, 100);
	struct act_driver *d = driver("docker", plain_host, false);
	struct act_target t = { .enabled = true };
	struct act_resize r = { .cpus = 0.4 };
	struct docker_container c;
	uint64_t seq = bus_last_seq();
	double t0;
	char id[80];

	run_container("survivor", "{\"presage.enable\":\"true\"}", "[\"sleep\",\"600\"]", true, id);
	poll_for(reg, 1.0); /* event stream up */
	assert_int_equal(dockerd_ctl("stop"), 0);
	poll_for(reg, 8.0); /* several reconnect attempts with backoff */
	assert_int_equal(count_events(seq, BUS_RUNTIME, "outage", NULL), 1);
	strcpy(t.id, id);
	strcpy(t.name, "survivor");
	assert_true(act_resize(d, &t, &r, "during_outage") < 0);
	assert_int_equal(dockerd_ctl("start"), 0);
	for (t0 = now_s(); now_s() - t0 < 40 && !count_events(seq, BUS_RUNTIME, "recovered", NULL);
	     usleep(50000))
		registry_poll(reg);
	assert_int_equal(count_events(seq, BUS_RUNTIME, "recovered", NULL), 1);
	assert_int_equal(count_events(seq, BUS_RUNTIME, "outage", NULL), 1);
	/* Acting resumes, on the container that lived through it (--live-restore). */
	assert_int_equal(act_resize(d, &t, &r, "after_outage"), 0);
	assert_int_equal(inspect(id, &c), 0);
	assert_int_equal(c.nano_cpus, 400000000LL);
	remove_container(id);
	act_driver_free(d);
	docker_client_free(dc);
	registry_free(reg);
}

/* Without the environment of with_dockerd.sh, run through it. */
static void reexec_with_dockerd(char **argv)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || access("tests/integration/lib/with_dockerd.sh", X_OK) < 0) {
		printf("not ok 1 - test_drivers: run from the repository root (with_dockerd.sh "
		       "not found)\n");
		exit(1);
	}
	self[n] = '\0';
	execl("/bin/bash", "bash", "tests/integration/lib/with_dockerd.sh", self, (char *)NULL);
	perror("exec");
	exit(1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_negotiates_and_reports_errors),
		cmocka_unit_test(test_client_hung_socket_times_out),
		cmocka_unit_test(test_client_garbage_and_truncated),
		cmocka_unit_test(test_registry_resolves_identity),
		cmocka_unit_test(test_docker_resize_cpu_in_place),
		cmocka_unit_test(test_docker_resize_memory_and_weight),
		cmocka_unit_test(test_docker_refuses_not_enabled),
		cmocka_unit_test(test_docker_container_gone_before_action),
		cmocka_unit_test(test_docker_scale_clone_and_remove_managed_only),
		cmocka_unit_test(test_docker_failed_scale_up_leaves_nothing),
		cmocka_unit_test(test_docker_dry_run_changes_nothing),
		cmocka_unit_test(test_swarm_scale_and_dry_run),
		cmocka_unit_test(test_cgroupfs_writes_only_listed_cgroups),
		cmocka_unit_test(test_outage_logged_once_and_recovered),
	};
	int rc;

	plain_host = getenv("PRESAGE_TEST_DOCKER");
	swarm_host = getenv("PRESAGE_TEST_SWARM");
	plain_dir = getenv("PRESAGE_TEST_DOCKER_DIR");
	image = getenv("PRESAGE_TEST_IMAGE");
	if (!plain_host || !swarm_host || !plain_dir || !image)
		reexec_with_dockerd(argv);
	plain = docker_client_new(plain_host);
	swarm = docker_client_new(swarm_host);
	if (!plain || !swarm)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	docker_client_free(plain);
	docker_client_free(swarm);
	return rc;
}
