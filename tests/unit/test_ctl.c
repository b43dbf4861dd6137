/*
 * test_ctl.c - the control protocol: encode/decode round trips, version
 * mismatch reported both ways, malformed lines, the built-in commands on a
 * snapshot and the bus, handler registration, and a real server/client
 * exchange over a unix socket (mode 0600, oversized request, no daemon),
 * backpressure on a client that pipelines and does not read, and the
 * client's wait for an answer under signals (timeout kept, stop flag).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bus.h"
#include "ctl/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void test_round_trip(void **state)
{
	cJSON *args = cJSON_CreateObject();
	struct ctl_request req;
	struct ctl_response resp;
	char err[256], *line;

	cJSON_AddStringToObject(args, "container", "web");
	line = ctl_request_encode("explain", args);
	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_int_equal(ctl_request_parse(line, strlen(line), &req, err, sizeof(err)), 0);
	assert_string_equal(req.cmd, "explain");
	assert_string_equal(cJSON_GetObjectItem(req.args, "container")->valuestring, "web");
	ctl_request_free(&req);
	free(line);
	cJSON_Delete(args);

	line = ctl_response_ok(cJSON_CreateNumber(42));
	assert_int_equal(ctl_response_parse(line, strlen(line), &resp, err, sizeof(err)), 0);
	assert_true(resp.ok);
	assert_true(resp.data->valuedouble == 42);
	ctl_response_free(&resp);
	free(line);
	line = ctl_response_error("no such container");
	assert_int_equal(ctl_response_parse(line, strlen(line), &resp, err, sizeof(err)), 0);
	assert_false(resp.ok);
	assert_string_equal(resp.error, "no such container");
	ctl_response_free(&resp);
	free(line);
}

static void test_version_mismatch(void **state)
{
	static const char newer_req[] = "{\"v\":2,\"cmd\":\"status\"}";
	static const char newer_resp[] = "{\"v\":2,\"ok\":true,\"data\":null}";
	struct ctl_request req;
	struct ctl_response resp;
	char err[256], *line;

	assert_int_equal(ctl_request_parse(newer_req, strlen(newer_req), &req, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "presaged speaks protocol 1, this presage speaks 2: use matching "
				 "presage and presaged versions");
	line = ctl_dispatch(newer_req, strlen(newer_req));
	assert_non_null(strstr(line, "\"ok\":false"));
	assert_non_null(strstr(line, "presaged speaks protocol 1, this presage speaks 2"));
	free(line);
	assert_int_equal(ctl_response_parse(newer_resp, strlen(newer_resp), &resp, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "presaged speaks protocol 2, this presage speaks 1: use matching "
				 "presage and presaged versions");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"", "nope", "[]", "{\"cmd\":\"status\"}", "{\"v\":\"1\",\"cmd\":\"status\"}",
		"{\"v\":1}", "{\"v\":1,\"cmd\":\"\"}", "{\"v\":1,\"cmd\":\"status\",\"args\":3}",
		"{\"v\":1.5,\"cmd\":\"status\"}", "{\"v\":1,\"cmd\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
	};
	struct ctl_request req;
	char err[256], *line;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_request_parse(bad[i], strlen(bad[i]), &req, err, sizeof(err)),
				 -EINVAL);
		line = ctl_dispatch(bad[i], strlen(bad[i]));
		assert_non_null(strstr(line, "\"ok\":false"));
		free(line);
	}
	line = ctl_dispatch("{\"v\":1,\"cmd\":\"frobnicate\"}", 26);
	assert_non_null(strstr(line, "command \\\"frobnicate\\\" is not available"));
	free(line);
}

static void publish_two(void)
{
	struct snapshot *s = snapshot_new(2);

	s->seq = 3;
	snprintf(s->c[0].id, SNAP_ID_LEN, "%s", "aaaa1111");
	snprintf(s->c[0].name, SNAP_NAME_LEN, "%s", "web-1");
	snprintf(s->c[0].service, SNAP_SERVICE_LEN, "%s", "web");
	snprintf(s->c[0].cgroup, SNAP_CGROUP_LEN, "%s", "/docker/aaaa1111");
	s->c[0].cgroup_id = 77;
	s->c[0].v[MET_CPU_SECONDS] = 1.5;
	snprintf(s->c[1].id, SNAP_ID_LEN, "%s", "4242");
	snprintf(s->c[1].name, SNAP_NAME_LEN, "%s", "mygroup");
	snprintf(s->status.driver, sizeof(s->status.driver), "%s", "dryrun");
	s->status.programs_attached = s->status.programs_total = 9;
	snapshot_publish(s);
}

/* Dispatch cmd with args text; return the parsed data (caller frees). */
static cJSON *call(const char *cmd, const char *args, bool want_ok)
{
	char req[512], err[256], *line;
	struct ctl_response resp;
	cJSON *data;

	snprintf(req, sizeof(req), "{\"v\":1,\"cmd\":\"%s\",\"args\":%s}", cmd, args);
	line = ctl_dispatch(req, strlen(req));
	assert_int_equal(ctl_response_parse(line, strlen(line), &resp, err, sizeof(err)), 0);
	free(line);
	assert_int_equal(resp.ok, want_ok);
	data = resp.data ? cJSON_DetachItemViaPointer(resp.root, resp.data) : NULL;
	if (!want_ok)
		data = cJSON_CreateString(resp.error), cJSON_Delete(resp.data);
	ctl_response_free(&resp);
	return data;
}

static void test_builtins(void **state)
{
	cJSON *d, *c;

	publish_two();
	d = call("top", "{}", true);
	assert_int_equal(cJSON_GetArraySize(d), 2);
	c = cJSON_GetArrayItem(d, 0);
	assert_string_equal(cJSON_GetObjectItem(c, "cgroup")->valuestring, "/docker/aaaa1111");
	assert_true(cJSON_GetObjectItem(c, "cgroup_id")->valuedouble == 77);
	assert_true(cJSON_GetObjectItem(c, "cpu_usage_seconds_total")->valuedouble == 1.5);
	assert_true(cJSON_GetObjectItem(c, "cpu_seconds_total")->valuedouble == 1.5); /* alias */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "memory_working_set_bytes")));
	for (int m = 0; m < MET__COUNT; m++)
		assert_non_null(cJSON_GetObjectItem(c, metric_descs[m].key));
	cJSON_Delete(d);
	d = call("status", "{}", true);
	assert_true(cJSON_GetObjectItem(d, "containers")->valuedouble == 2);
	assert_string_equal(cJSON_GetObjectItem(d, "driver")->valuestring, "dryrun");
	cJSON_Delete(d);

	bus_reset();
	bus_emit(BUS_SCALE, "aaaa1111", "web-1", "web", "scale_up", "forecast", "2 -> 3 replicas");
	bus_emit(BUS_CONTAINER, "4242", "mygroup", "", "start", "cgroup", "new cgroup");
	d = call("events", "{}", true);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "events")), 2);
	assert_true(cJSON_GetObjectItem(d, "last_seq")->valuedouble == 2);
	cJSON_Delete(d);
	d = call("events", "{\"after\":1}", true);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "events")), 1);
	cJSON_Delete(d);
	d = call("events", "{\"after\":0,\"limit\":1}", true);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "events")), 1);
	assert_true(cJSON_GetObjectItem(d, "last_seq")->valuedouble == 1); /* next page starts at 2 */
	cJSON_Delete(d);
	d = call("explain", "{\"container\":\"web-1\"}", true);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "decision"), "action")->valuestring,
			    "scale_up");
	cJSON_Delete(d);
	d = call("explain", "{\"container\":\"ghost\"}", false);
	assert_non_null(strstr(d->valuestring, "no container"));
	cJSON_Delete(d);
	d = call("fingerprint", "{\"container\":\"web-1\"}", false);
	assert_non_null(strstr(d->valuestring, "not available"));
	cJSON_Delete(d);
	snapshot_publish(NULL);
}

static int fp_handler(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	*data = cJSON_CreateString((const char *)ctx);
	return 0;
}

static void add_field(cJSON *obj, const struct snapshot *s, const struct cont_snap *c, void *ctx)
{
	cJSON_ReplaceItemInObject(obj, "anomaly_score", cJSON_CreateNumber(0.25));
}

static void test_registration(void **state)
{
	cJSON *d;

	assert_int_equal(ctl_register("fingerprint", fp_handler, "fp!"), 0);
	assert_int_equal(ctl_register("fingerprint", fp_handler, "fp!"), -EEXIST);
	assert_int_equal(ctl_register("explain", fp_handler, "mine"), 0); /* replaces the built-in */
	d = call("fingerprint", "{}", true);
	assert_string_equal(d->valuestring, "fp!");
	cJSON_Delete(d);
	d = call("explain", "{}", true);
	assert_string_equal(d->valuestring, "mine");
	cJSON_Delete(d);
	assert_int_equal(ctl_unregister("fingerprint"), 0);
	assert_int_equal(ctl_unregister("explain"), 0);
	assert_int_equal(ctl_unregister("status"), -ENOENT); /* built-ins stay */
	assert_int_equal(ctl_add_fields("top", add_field, NULL), 0);
	publish_two();
	d = call("top", "{}", true);
	assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "anomaly_score")->valuedouble == 0.25);
	cJSON_Delete(d);
	snapshot_publish(NULL);
}

static void test_server_client(void **state)
{
	char dir[] = "/tmp/presage-test-ctl-XXXXXX", path[128], err[256], big[CTL_MAX_REQUEST + 64];
	struct ctl_client *c;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	cJSON *d;
	int fd;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/presage.sock", dir);
	c = ctl_client_connect(path, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "cannot reach presaged at "));
	assert_non_null(strstr(err, ": no such file or directory"));
	publish_two();
	assert_int_equal(ctl_server_start(path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	c = ctl_client_connect(path, err, sizeof(err));
	assert_non_null(c);
	for (int i = 0; i < 3; i++) { /* several requests on one connection */
		assert_int_equal(ctl_client_call(c, "top", NULL, 5000, &d, err, sizeof(err)), 0);
		assert_int_equal(cJSON_GetArraySize(d), 2);
		cJSON_Delete(d);
	}
	assert_int_equal(ctl_client_call(c, "nope", NULL, 5000, &d, err, sizeof(err)), -EREMOTEIO);
	assert_non_null(strstr(err, "not available"));
	ctl_client_free(c);

	/* An oversized request line is answered with an error, then closed. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	memset(big, 'x', sizeof(big));
	(void)!send(fd, big, sizeof(big), MSG_NOSIGNAL);
	n = recv(fd, big, sizeof(big) - 1, MSG_WAITALL);
	assert_true(n > 0);
	big[n] = '\0';
	assert_non_null(strstr(big, "request larger than"));
	close(fd);

	/* A second daemon on the same socket is refused; the first keeps it. */
	assert_int_equal(ctl_server_start(path, err, sizeof(err)), -EALREADY);
	ctl_server_stop();
	assert_int_equal(stat(path, &st), -1);
	snapshot_publish(NULL);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}

/* A temp directory and a socket path in it; the server is started on the path. */
static void start_server(char *dir, char *path, size_t len)
{
	char err[256];

	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/presage.sock", dir);
	assert_int_equal(ctl_server_start(path, err, sizeof(err)), 0);
}

static void stop_server(const char *dir)
{
	ctl_server_stop();
	rmdir(dir);
}

static int connect_raw(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

#define PIPELINED   1000
#define PIPE_CONTS  20   /* containers in the snapshot: a top answer is about 29 KiB */
#define PIPE_REQ    1100 /* bytes of one request line at most (padded: more than a socket holds) */

/*
 * Request i of the pipeline: even ones "top" (big answers), odd ones an
 * unknown command that the error names, so the order shows.  Padded with an
 * ignored argument so the requests are more than the socket buffers hold.
 */
static size_t pipelined_request(int i, char *buf, size_t len)
{
	char pad[1001];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	if (i % 2)
		return (size_t)snprintf(buf, len, "{\"v\":1,\"cmd\":\"q%d\",\"args\":{\"pad\":\"%s\"}}\n",
					i, pad);
	return (size_t)snprintf(buf, len, "{\"v\":1,\"cmd\":\"top\",\"args\":{\"pad\":\"%s\"}}\n",
				pad);
}

/* Check answer line i of the pipeline (without its '\n'). */
static void check_pipelined_answer(int i, const char *line, size_t len)
{
	struct ctl_response resp;
	char err[256], want[64];

	assert_int_equal(ctl_response_parse(line, len, &resp, err, sizeof(err)), 0);
	if (i % 2 == 0) {
		assert_true(resp.ok);
		assert_int_equal(cJSON_GetArraySize(resp.data), PIPE_CONTS);
	} else {
		snprintf(want, sizeof(want), "command \"q%d\" is not available", i);
		assert_false(resp.ok);
		if (!strstr(resp.error, want))
			fail_msg("answer %d is \"%s\"", i, resp.error);
	}
	ctl_response_free(&resp);
}

/* Send what the socket takes of the requests from *sent on, without blocking. */
static void send_some(int fd, char *reqs, size_t total, size_t *sent)
{
	while (*sent < total) {
		ssize_t w = send(fd, reqs + *sent, total - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w <= 0)
			break;
		*sent += (size_t)w;
	}
}

/*
 * Read every answer (still sending the requests the socket would not take,
 * then shutting down the sending side when half_close), checking each in
 * order; returns the number of answers.
 */
static int read_answers(int fd, char *reqs, size_t total, size_t *sent, bool half_close)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap), *line, *nl;
	int got = 0;

	while (got < PIPELINED) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (*sent < total ? POLLOUT : 0) };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 4000), 1);
		if (p.revents & POLLOUT) {
			send_some(fd, reqs, total, sent);
			if (*sent == total && half_close)
				shutdown(fd, SHUT_WR);
		}
		if (!(p.revents & POLLIN))
			continue;
		if (cap - len < 65536)
			buf = realloc(buf, cap *= 2);
		r = read(fd, buf + len, cap - len);
		assert_true(r > 0);
		len += (size_t)r;
		for (line = buf; (nl = memchr(line, '\n', len - (size_t)(line - buf))); line = nl + 1)
			check_pipelined_answer(got++, line, (size_t)(nl - line));
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
	}
	free(buf);
	return got;
}

/*
 * A client that pipelines a thousand requests with big answers and reads
 * nothing: the daemon stops taking its requests once it owes about
 * CTL_OUT_HIGH_WATER bytes instead of buffering every answer (14 MiB here),
 * then answers them all, in order, as the client reads.
 */
static void test_server_backpressure(void **state)
{
	char dir[] = "/tmp/presage-test-ctl-XXXXXX", path[128];
	struct snapshot *snap = snapshot_new(PIPE_CONTS);
	size_t total = 0, sent = 0;
	char *reqs = malloc(PIPELINED * PIPE_REQ);
	struct timespec settle = { 0, 300000000 };
	int fd;

	for (int i = 0; i < PIPE_CONTS; i++) {
		snprintf(snap->c[i].id, SNAP_ID_LEN, "%064d", i);
		snprintf(snap->c[i].name, SNAP_NAME_LEN, "container-%d", i);
	}
	snapshot_publish(snap);
	for (int i = 0; i < PIPELINED; i++)
		total += pipelined_request(i, reqs + total, PIPE_REQ);
	start_server(dir, path, sizeof(path));
	fd = connect_raw(path);
	send_some(fd, reqs, total, &sent);
	/* Let the server take what it will; a second push finds the socket full. */
	nanosleep(&settle, NULL);
	send_some(fd, reqs, total, &sent);
	nanosleep(&settle, NULL);
	if (ctl_server_out_peak() > 4 * CTL_OUT_HIGH_WATER)
		fail_msg("the server buffered %zu bytes of answers", ctl_server_out_peak());
	assert_true(sent < total); /* the daemon stopped reading */
	assert_int_equal(read_answers(fd, reqs, total, &sent, false), PIPELINED);
	assert_true(ctl_server_out_peak() <= 4 * CTL_OUT_HIGH_WATER);

	/* A client that sends everything, then half-closes, gets every answer, then EOF. */
	close(fd);
	fd = connect_raw(path);
	sent = 0;
	send_some(fd, reqs, total, &sent);
	assert_int_equal(read_answers(fd, reqs, total, &sent, true), PIPELINED);
	assert_int_equal(poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 4000), 1);
	assert_int_equal(read(fd, &(char){ 0 }, 1), 0);
	close(fd);
	stop_server(dir);
	snapshot_publish(NULL);
	free(reqs);
}

static volatile sig_atomic_t stop_flag;
static bool set_stop_flag;

static void on_usr1(int sig)
{
	if (set_stop_flag)
		stop_flag = 1;
}

/* A handler that answers late, holding the control thread (the client's wait matters). */
static int slow_handler(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	struct timespec ts = { 1, 0 };

	nanosleep(&ts, NULL);
	*data = NULL;
	return 0;
}

/* Signal the test's thread 100 ms after being started. */
static void *kick(void *arg)
{
	struct timespec ts = { 0, 100000000 };

	nanosleep(&ts, NULL);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One call of "slow" with a signal 100 ms into its wait; its rc, *ms its duration. */
static int call_kicked(struct ctl_client *c, int timeout_ms, int64_t *ms, char *err, size_t len)
{
	pthread_t self = pthread_self(), kicker;
	int64_t t0 = ms_now();
	cJSON *d = NULL;
	int rc;

	assert_int_equal(pthread_create(&kicker, NULL, kick, &self), 0);
	rc = ctl_client_call(c, "slow", NULL, timeout_ms, &d, err, len);
	*ms = ms_now() - t0;
	pthread_join(kicker, NULL);
	cJSON_Delete(d);
	return rc;
}

/*
 * A signal during the wait for an answer (SA_RESTART, as signal() installs
 * handlers) must neither turn the wait into a blocking read that outlives
 * the timeout nor be ignored when the caller's stop flag is set.
 */
static void test_client_signals(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART }, old;
	char dir[] = "/tmp/presage-test-ctl-XXXXXX", path[128], err[256];
	struct ctl_client *c;
	int64_t ms;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(ctl_register("slow", slow_handler, NULL), 0);
	start_server(dir, path, sizeof(path));

	c = ctl_client_connect(path, err, sizeof(err));
	assert_non_null(c);
	set_stop_flag = false;
	assert_int_equal(call_kicked(c, 300, &ms, err, sizeof(err)), -ETIMEDOUT);
	assert_true(ms < 800); /* the answer comes after 1 s */
	assert_non_null(strstr(err, "did not answer within 300 ms"));
	ctl_client_free(c);

	c = ctl_client_connect(path, err, sizeof(err));
	assert_non_null(c);
	stop_flag = 0;
	set_stop_flag = true;
	ctl_client_set_stop(c, &stop_flag);
	assert_int_equal(call_kicked(c, 5000, &ms, err, sizeof(err)), -EINTR);
	assert_true(ms < 800);
	assert_non_null(strstr(err, "interrupted"));
	ctl_client_free(c);

	stop_server(dir);
	ctl_unregister("slow");
	sigaction(SIGUSR1, &old, NULL);
}

/* After a failed assertion too: the next test starts its own server. */
static int server_teardown(void **state)
{
	ctl_server_stop();
	ctl_unregister("slow");
	signal(SIGUSR1, SIG_DFL);
	snapshot_publish(NULL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_malformed),    cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_registration), cmocka_unit_test(test_server_client),
		cmocka_unit_test_teardown(test_server_backpressure, server_teardown),
		cmocka_unit_test_teardown(test_client_signals, server_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
