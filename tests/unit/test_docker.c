/*
 * test_docker.c - Docker Engine API response parsers and client set-up:
 * version negotiation rules, inspect / list / events / service parsing of
 * real responses (captured from dockerd 20.10, API 1.41), and truncated,
 * garbage and wrongly typed input.  No daemon needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bus.h"
#include "runtime/docker.h"

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID "eed41a775fee82c1a44cecde50a56e6097c814574d92176e1c4b3fa419ebe720"

static const char inspect_json[] =
	"{\"Id\":\"" ID "\",\"Created\":\"2026-11-28T12:38:54.01Z\",\"Path\":\"sleep\","
	"\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":13048,"
	"\"StartedAt\":\"2026-11-28T12:38:54.210585424Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"},"
	"\"Name\":\"/web1\",\"HostConfig\":{\"NetworkMode\":\"host\",\"NanoCpus\":1500000000,"
	"\"CpuShares\":0,\"Memory\":134217728,\"MemorySwap\":268435456,\"CpuQuota\":0,"
	"\"CpuPeriod\":0},\"Config\":{\"Image\":\"presage-bb:test\",\"Cmd\":[\"sleep\",\"1000\"],"
	"\"Labels\":{\"presage.cpu.max\":\"1.5\",\"presage.enable\":\"true\","
	"\"presage.service\":\"web\"}},\"Image\":\"sha256:876155a41b66\"}";

static void test_version_negotiation(void **state)
{
	char api[16];

	assert_int_equal(docker_parse_version("{\"ApiVersion\":\"1.41\",\"Version\":\"20.10\"}", 40,
					      api, sizeof(api)), 0);
	assert_string_equal(api, "1.41");
	assert_true(docker_version_cmp("1.41", DOCKER_API_MAX) < 0);
	assert_true(docker_version_cmp("1.44", DOCKER_API_MAX) > 0);
	assert_true(docker_version_cmp("1.9", "1.10") < 0); /* numeric, not lexical */
	assert_int_equal(docker_version_cmp("1.43", "1.43"), 0);
	assert_int_equal(docker_parse_version("{\"ApiVersion\":\"abc\"}", 20, api, sizeof(api)),
			 -EINVAL);
	assert_int_equal(docker_parse_version("{\"ApiVersion\":1.41}", 19, api, sizeof(api)),
			 -EINVAL);
	assert_int_equal(docker_parse_version("{\"ApiVers", 9, api, sizeof(api)), -EINVAL);
	assert_int_equal(docker_parse_version(NULL, 0, api, sizeof(api)), -EINVAL);
}

static void test_inspect_real_response(void **state)
{
	struct docker_container c;

	assert_int_equal(docker_parse_inspect(inspect_json, strlen(inspect_json), &c), 0);
	assert_string_equal(c.id, ID);
	assert_string_equal(c.name, "web1"); /* leading '/' dropped */
	assert_string_equal(c.image, "presage-bb:test"); /* Config.Image, not the digest */
	assert_true(c.running);
	assert_int_equal(c.pid, 13048);
	assert_int_equal(c.nano_cpus, 1500000000LL);
	assert_int_equal(c.memory, 134217728LL);
	assert_int_equal(c.memory_swap, 268435456LL);
	assert_string_equal(c.network_mode, "host");
	assert_int_equal(c.n_labels, 3);
	assert_string_equal(docker_label_get(&c, "presage.service"), "web");
	assert_null(docker_label_get(&c, "nope"));
	assert_true(c.started_at > 1795869534.2 && c.started_at < 1795869534.3);
}

static void test_inspect_truncated_and_garbage(void **state)
{
	struct docker_container c;
	size_t cut;

	/* Every truncation of a valid answer is rejected, never half-parsed. */
	for (cut = 0; cut < strlen(inspect_json); cut += 7)
		assert_int_equal(docker_parse_inspect(inspect_json, cut, &c), -EINVAL);
	assert_int_equal(docker_parse_inspect("not json at all", 15, &c), -EINVAL);
	assert_int_equal(docker_parse_inspect("[1,2,3]", 7, &c), -EINVAL);
	assert_int_equal(docker_parse_inspect("{\"Id\":5}", 8, &c), -EINVAL);
	/* Wrong types and absurd numbers read as absent. */
	assert_int_equal(docker_parse_inspect("{\"Id\":\"x\",\"Config\":[],\"State\":\"up\","
					      "\"HostConfig\":{\"NanoCpus\":1e300,\"Memory\":\"big\"}}",
					      86, &c), 0);
	assert_int_equal(c.nano_cpus, 0);
	assert_int_equal(c.memory, 0);
	assert_false(c.running);
	assert_string_equal(c.image, "");
}

static void test_inspect_many_labels_bounded(void **state)
{
	char *json = malloc(20000);
	struct docker_container c;
	int i, off;

	off = sprintf(json, "{\"Id\":\"abc\",\"Config\":{\"Labels\":{");
	for (i = 0; i < 100; i++)
		off += sprintf(json + off, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
	off += sprintf(json + off, "}}}");
	assert_int_equal(docker_parse_inspect(json, (size_t)off, &c), 0);
	assert_int_equal(c.n_labels, DOCKER_MAX_LABELS);
	free(json);
}

static void test_list(void **state)
{
	static const char list[] =
		"[{\"Id\":\"a1\",\"Names\":[\"/web-1\"],\"Created\":200,\"State\":\"running\","
		"\"Labels\":{\"presage.managed-by\":\"presage\","
		"\"com.docker.compose.project\":\"shop\"}},"
		"{\"Id\":\"b2\",\"Names\":[\"/web\"],\"Created\":100,\"State\":\"exited\",\"Labels\":{}},"
		"{\"Names\":[\"/no-id\"]}, 17]";
	struct docker_summary s[4];

	assert_int_equal(docker_parse_list(list, strlen(list), s, 4), 2);
	assert_string_equal(s[0].name, "web-1");
	assert_true(s[0].running);
	assert_true(s[0].managed);
	assert_false(s[1].running);
	assert_false(s[1].managed);
	assert_true(s[1].created == 100);
	assert_string_equal(s[0].compose_project, "shop");
	assert_string_equal(s[1].compose_project, "");
	assert_int_equal(docker_parse_list(list, strlen(list), s, 1), 1);
	assert_int_equal(docker_parse_list("{}", 2, s, 4), -EINVAL);
	assert_int_equal(docker_parse_list("[{\"Id\":", 7, s, 4), -EINVAL);
}

static void test_events(void **state)
{
	static const char die[] =
		"{\"status\":\"die\",\"id\":\"" ID "\",\"Type\":\"container\",\"Action\":\"die\","
		"\"Actor\":{\"ID\":\"" ID "\",\"Attributes\":{\"exitCode\":\"137\",\"image\":"
		"\"presage-bb:test\",\"name\":\"w2\"}},\"scope\":\"local\",\"time\":1795869540,"
		"\"timeNano\":1795869540183826950}";
	static const char net[] = "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"d4\"}}";
	static const char exec[] = "{\"Type\":\"container\",\"Action\":\"exec_start: sh -c true\","
				   "\"Actor\":{\"ID\":\"abc\",\"Attributes\":{}}}";
	struct docker_event ev;

	assert_int_equal(docker_parse_event(die, strlen(die), &ev), 1);
	assert_string_equal(ev.action, "die");
	assert_string_equal(ev.id, ID);
	assert_string_equal(ev.name, "w2");
	assert_int_equal(ev.exit_code, 137);
	/* Parsed through a double: nanosecond stamps keep microsecond precision. */
	assert_true(ev.time_nano / 1000 >= 1795869540183826LL - 1 && ev.time_nano / 1000 <= 1795869540183827LL);
	assert_int_equal(docker_parse_event(net, strlen(net), &ev), 0);
	assert_int_equal(docker_parse_event(exec, strlen(exec), &ev), 1);
	assert_string_equal(ev.action, "exec_start");
	assert_int_equal(docker_parse_event(die, 40, &ev), -EINVAL);
	assert_int_equal(docker_parse_event("\x01\x02garbage", 9, &ev), -EINVAL);
}

static void test_service(void **state)
{
	static const char svc[] =
		"{\"ID\":\"hcyx\",\"Version\":{\"Index\":42},\"Spec\":{\"Name\":\"s1\",\"Labels\":"
		"{\"presage.enable\":\"true\"},\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"bb\"}},"
		"\"Mode\":{\"Replicated\":{\"Replicas\":2}}}}";
	static const char global[] = "{\"ID\":\"g\",\"Version\":{\"Index\":1},\"Spec\":{\"Name\":\"g\","
				     "\"Mode\":{\"Global\":{}}}}";
	struct docker_service s;

	assert_int_equal(docker_parse_service(svc, strlen(svc), &s), 0);
	assert_string_equal(s.id, "hcyx");
	assert_string_equal(s.name, "s1");
	assert_int_equal(s.version, 42);
	assert_true(s.replicated);
	assert_int_equal(s.replicas, 2);
	assert_int_equal(s.n_labels, 1);
	assert_non_null(strstr(s.spec, "\"TaskTemplate\""));
	free(s.spec);
	assert_int_equal(docker_parse_service(global, strlen(global), &s), 0);
	assert_false(s.replicated);
	free(s.spec);
	assert_int_equal(docker_parse_service("{\"ID\":\"x\",\"Spec\":{}}", 20, &s), -EINVAL);
	assert_int_equal(docker_parse_service(svc, 30, &s), -EINVAL);
}

static void test_error_bodies(void **state)
{
	char msg[64];

	docker_parse_error("{\"message\":\"No such container: nope\"}", 37, msg, sizeof(msg));
	assert_string_equal(msg, "No such container: nope");
	docker_parse_error("<html>\n502 Bad Gateway</html>", 29, msg, sizeof(msg));
	assert_string_equal(msg, "<html>?502 Bad Gateway</html>");
	docker_parse_error("", 0, msg, sizeof(msg));
	assert_string_equal(msg, "empty response");
	docker_parse_error("{\"message\":\"line one\\nline two\"}", 32, msg, sizeof(msg));
	assert_string_equal(msg, "line one");
}

static void test_time(void **state)
{
	assert_true(docker_parse_time("1970-01-02T00:00:00Z") == 86400);
	assert_true(docker_parse_time("1970-01-02T00:00:00.5Z") == 86400.5);
	assert_true(docker_parse_time("0001-01-01T00:00:00Z") == 0);
	assert_true(docker_parse_time("yesterday") == 0);
	assert_true(docker_parse_time(NULL) == 0);
}

static void test_client_hosts(void **state)
{
	struct docker_client *c;

	c = docker_client_new("unix:///run/x.sock");
	assert_non_null(c);
	assert_string_equal(docker_client_endpoint(c), "unix:///run/x.sock");
	assert_string_equal(docker_client_api_version(c), "");
	assert_false(docker_client_connected(c));
	docker_client_free(c);
	c = docker_client_new("tcp://127.0.0.1:2375");
	assert_non_null(c);
	docker_client_free(c);
	c = docker_client_new("/var/run/docker.sock");
	assert_non_null(c);
	docker_client_free(c);
	setenv("DOCKER_HOST", "tcp://10.0.0.1:2375", 1);
	c = docker_client_new(NULL);
	assert_string_equal(docker_client_endpoint(c), "tcp://10.0.0.1:2375");
	docker_client_free(c);
	unsetenv("DOCKER_HOST");
	c = docker_client_new(NULL);
	assert_string_equal(docker_client_endpoint(c), DOCKER_DEFAULT_HOST);
	docker_client_free(c);
	errno = 0;
	assert_null(docker_client_new("ftp://x"));
	assert_int_equal(errno, EINVAL);
	assert_null(docker_client_new("tcp://"));
	docker_client_free(NULL);
}

static void done(struct docker_client *c, const struct docker_response *r, void *ctx)
{
	*(int *)ctx = r->err;
}

/* A socket that does not exist: every request completes with an error, none hangs. */
static void test_client_absent_socket(void **state)
{
	struct docker_client *c = docker_client_new("unix:///nonexistent/docker.sock");
	struct docker_response r;
	int err = 1, i;

	assert_int_equal(docker_request_sync(c, "GET", "/containers/json", NULL, 1000, &r),
			 -ECONNREFUSED);
	assert_non_null(strstr(r.errmsg, "/nonexistent/docker.sock"));
	docker_response_release(&r);
	assert_int_equal(docker_submit(c, "GET", "/containers/json", NULL, done, &err), 0);
	for (i = 0; i < 50 && err == 1; i++) {
		docker_client_wait(c, 20);
		docker_client_perform(c);
	}
	assert_int_equal(err, -ECONNREFUSED);
	/* Pending requests are cancelled (callback with -ECANCELED) on free. */
	err = 1;
	assert_int_equal(docker_submit(c, "GET", "/x", NULL, done, &err), 0);
	docker_client_free(c);
	assert_int_equal(err, -ECANCELED);
}

/* ---- the /events stream against a scripted fake daemon ------------------ */

struct fake {
	int fd;
	int events_served;
	int max_events;
};

/* The client may hang up first: MSG_NOSIGNAL keeps SIGPIPE away. */
static void fake_reply(int cfd, const char *s)
{
	send(cfd, s, strlen(s), MSG_NOSIGNAL);
}

/* Version requests get a version; event streams get a split line, garbage, then EOF. */
static void *fake_daemon(void *arg)
{
	struct fake *f = arg;
	char req[2048];
	ssize_t n;
	int cfd;

	while (f->events_served < f->max_events && (cfd = accept(f->fd, NULL, NULL)) >= 0) {
		n = read(cfd, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		if (strstr(req, "GET /version")) {
			fake_reply(cfd, "HTTP/1.1 200 OK\r\nContent-Length: 21\r\nConnection: close\r\n\r\n"
					"{\"ApiVersion\":\"1.41\"}");
		} else if (strstr(req, "/events")) {
			fake_reply(cfd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					"Connection: close\r\n\r\n");
			usleep(50000);
			fake_reply(cfd, "{\"Type\":\"container\",\"Action\":\"st");
			usleep(50000);
			fake_reply(cfd, "art\",\"Actor\":{\"ID\":\"abc\",\"Attributes\":{\"name\":\"w\"}}}\n"
					"\x01 not json\n{\"Type\":\"network\",\"Action\":\"connect\"}\n");
			usleep(100000);
			f->events_served++;
		}
		close(cfd);
	}
	return NULL;
}

static char seen[32][24];
static int n_seen;

static void on_ev(const struct docker_event *ev, void *ctx)
{
	if (n_seen < 32)
		snprintf(seen[n_seen++], sizeof(seen[0]), "%s", ev->action);
}

static int count_kind(uint64_t after, const char *action)
{
	static struct bus_event ev[64];
	size_t n = bus_read(after, ev, 64, NULL), i;
	int k = 0;

	for (i = 0; i < n; i++)
		k += ev[i].kind == BUS_RUNTIME && !strcmp(ev[i].action, action);
	return k;
}

static void test_events_stream_outage_and_recovery(void **state)
{
	char path[64];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct fake f = { .max_events = 2 };
	struct docker_client *c;
	uint64_t seq = bus_last_seq();
	pthread_t th;
	int i;

	snprintf(path, sizeof(path), "/tmp/presage-fake-%d.sock", getpid());
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	f.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(path);
	assert_int_equal(bind(f.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f.fd, 8), 0);
	pthread_create(&th, NULL, fake_daemon, &f);
	c = docker_client_new(path);
	n_seen = 0;
	assert_int_equal(docker_client_watch_events(c, on_ev, NULL), 0);
	assert_int_equal(docker_client_watch_events(c, on_ev, NULL), -EALREADY);
	/* First stream, its end (outage), a reconnect after 1 s backoff (recovery). */
	for (i = 0; i < 300 && count_kind(seq, "recovered") == 0; i++) {
		docker_client_wait(c, 10);
		docker_client_perform(c);
	}
	assert_int_equal(count_kind(seq, "outage"), 1);
	assert_int_equal(count_kind(seq, "recovered"), 1);
	/* resync, start (assembled from two writes); the garbage and network lines are skipped. */
	assert_true(n_seen >= 3);
	assert_string_equal(seen[0], "resync");
	assert_string_equal(seen[1], "start");
	assert_string_equal(seen[2], "resync");
	docker_client_free(c);
	shutdown(f.fd, SHUT_RDWR);
	close(f.fd);
	pthread_join(th, NULL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_negotiation),
		cmocka_unit_test(test_inspect_real_response),
		cmocka_unit_test(test_inspect_truncated_and_garbage),
		cmocka_unit_test(test_inspect_many_labels_bounded),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_client_hosts),
		cmocka_unit_test(test_client_absent_socket),
		cmocka_unit_test(test_events_stream_outage_and_recovery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
