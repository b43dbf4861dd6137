/*
 * test_prom.c - the Prometheus exposition and endpoint: label escaping and
 * UTF-8 repair, value spelling, every per-container family, histograms,
 * collectors, routes, and real HTTP exchanges through libmicrohttpd over a
 * socketpair (404, 405, oversized headers); the listen address parser, and
 * that the listening socket handed to libmicrohttpd is closed once, by it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "export/prom.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int bad_closes;

/*
 * close() of a descriptor that is not open, counted: the executable's close()
 * wins over libc's (and ASan's) for every caller, libmicrohttpd included.  A
 * second close of one socket is harmless only until another thread reuses
 * the number, so a test cannot see it any other way.
 */
int close(int fd)
{
	long rc = syscall(SYS_close, fd);

	if (rc < 0 && errno == EBADF)
		__atomic_fetch_add(&bad_closes, 1, __ATOMIC_RELAXED);
	return (int)rc;
}

static void test_escaping(void **state)
{
	struct prom_writer w;
	struct prom_label l[2] = { { "a", "x\\y\"z\nw" }, { "b", "bad\xff\xc0utf" } };

	prom_writer_init(&w);
	prom_sample(&w, "m", l, 2, 1);
	assert_string_equal(w.buf, "m{a=\"x\\\\y\\\"z\\nw\",b=\"bad\xef\xbf\xbd\xef\xbf\xbdutf\"} 1\n");
	w.len = 0;
	prom_family(&w, "m", PROM_COUNTER, "line\\one\ntwo \"q\"");
	assert_string_equal(w.buf, "# HELP m line\\\\one\\ntwo \"q\"\n# TYPE m counter\n");
	prom_writer_free(&w);
}

static void test_values(void **state)
{
	struct prom_writer w;

	prom_writer_init(&w);
	prom_sample(&w, "a", NULL, 0, 123456789012345.0);
	prom_sample(&w, "b", NULL, 0, 0.1);
	prom_sample(&w, "c", NULL, 0, NAN);
	prom_sample(&w, "d", NULL, 0, -INFINITY);
	prom_sample(&w, "e", NULL, 0, 1.0 / 3);
	assert_string_equal(w.buf, "a 123456789012345\nb 0.1\nc NaN\nd -Inf\ne 0.33333333333333331\n");
	prom_writer_free(&w);
}

static struct snapshot *sample_snapshot(void)
{
	struct snapshot *s = snapshot_new(2);

	s->seq = 7;
	snprintf(s->c[0].id, SNAP_ID_LEN, "%s", "abc123");
	snprintf(s->c[0].name, SNAP_NAME_LEN, "%s", "web \"1\"");
	snprintf(s->c[0].image, SNAP_IMAGE_LEN, "%s", "nginx:1.25");
	s->c[0].v[MET_CPU_SECONDS] = 12.5;
	s->c[0].v[MET_REQUESTS] = 3;
	s->c[0].req_by_class[CODE_2XX] = 3;
	s->c[0].req.count = 3;
	s->c[0].req.sum_seconds = 0.03;
	for (int b = 0; b < PROM_LE_COUNT; b++)
		s->c[0].req.le[b] = prom_le_bounds[b] >= 0.01 ? 3 : 0;
	snprintf(s->c[1].id, SNAP_ID_LEN, "%s", "4242");
	snprintf(s->c[1].name, SNAP_NAME_LEN, "%s", "mygroup");
	s->c[1].runq.count = 10;
	s->c[1].runq.sum_seconds = 0.001;
	snprintf(s->status.bpf_prog_names[0], 32, "%s", "sched_switch");
	s->status.bpf_events[0] = 99;
	s->status.n_progs = 1;
	return s;
}

static void extra(struct prom_writer *w, const struct snapshot *s, void *ctx)
{
	struct prom_label l[1] = { { "service", "web" } };

	prom_family(w, "presage_desired_replicas", PROM_GAUGE, "Replicas wanted.");
	prom_sample(w, "presage_desired_replicas", l, 1, *(int *)ctx);
}

static void test_render(void **state)
{
	struct snapshot *s = sample_snapshot();
	struct prom_writer w;
	int three = 3;

	prom_writer_init(&w);
	assert_int_equal(prom_register_collector("scaling", extra, &three), 0);
	assert_int_equal(prom_register_collector("scaling", extra, &three), -EEXIST);
	assert_int_equal(prom_render_snapshot(&w, s), 0);
	assert_non_null(strstr(w.buf, "# TYPE presage_container_cpu_usage_seconds_total counter\n"
				      "presage_container_cpu_usage_seconds_total{container_id=\"abc123\","
				      "container_name=\"web \\\"1\\\"\",image=\"nginx:1.25\",service=\"\"} 12.5\n"));
	/* NAN values are absent, not 0: container 4242 has no CPU sample. */
	assert_null(strstr(w.buf, "presage_container_cpu_usage_seconds_total{container_id=\"4242\""));
	assert_non_null(strstr(w.buf, "# TYPE presage_container_runqueue_latency_seconds histogram"));
	assert_non_null(strstr(w.buf, "presage_container_runqueue_latency_seconds_bucket{container_id=\"4242\","
				      "container_name=\"mygroup\",image=\"\",service=\"\",le=\"+Inf\"} 10\n"));
	assert_non_null(strstr(w.buf, "presage_container_runqueue_latency_seconds_count{container_id=\"4242\""));
	assert_non_null(strstr(w.buf, "code_class=\"2xx\"} 3\n"));
	assert_non_null(strstr(w.buf, "presage_container_request_duration_seconds_bucket{container_id=\"abc123\""));
	assert_null(strstr(w.buf, "presage_container_request_duration_seconds_bucket{container_id=\"4242\""));
	assert_non_null(strstr(w.buf, "presage_bpf_events_total{program=\"sched_switch\"} 99\n"));
	assert_non_null(strstr(w.buf, "presage_build_info{version=\""));
	assert_non_null(strstr(w.buf, "presage_desired_replicas{service=\"web\"} 3\n"));
	assert_int_equal(prom_unregister_collector("scaling"), 0);
	assert_int_equal(prom_unregister_collector("scaling"), -ENOENT);
	prom_writer_free(&w);
	snapshot_release(s);
}

static void test_routes(void **state)
{
	assert_int_equal(prom_route("GET", "/metrics"), PROM_ROUTE_METRICS);
	assert_int_equal(prom_route("HEAD", "/healthz"), PROM_ROUTE_HEALTHZ);
	assert_int_equal(prom_route("POST", "/metrics"), PROM_ROUTE_BAD_METHOD);
	assert_int_equal(prom_route("GET", "/metrics/x"), PROM_ROUTE_NOT_FOUND);
	assert_int_equal(prom_route("DELETE", "/nope"), PROM_ROUTE_NOT_FOUND);
}

/* Send req over a socketpair into the server; the response until close (malloc'd). */
static char *exchange(struct prom_http *h, const char *req, size_t len)
{
	int sv[2];
	size_t cap = 1 << 20, n = 0;
	char *out = calloc(1, cap);
	struct pollfd p;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(prom_http_add_connection(h, sv[1]), 0);
	if (len)
		assert_true(send(sv[0], req, len, MSG_NOSIGNAL) > 0 || errno == EPIPE);
	p = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	while (n < cap - 1 && poll(&p, 1, 5000) == 1) {
		ssize_t r = read(sv[0], out + n, cap - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(sv[0]);
	return out;
}

static void test_http(void **state)
{
	static const char big_hdr[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ";
	struct snapshot *s = sample_snapshot();
	char err[256], *r, *huge;
	struct prom_http *h;

	snapshot_publish(s);
	h = prom_http_new(NULL, err, sizeof(err));
	assert_non_null(h);
	r = exchange(h, "GET /metrics HTTP/1.0\r\n\r\n", 25);
	assert_non_null(strstr(r, "200 OK"));
	assert_non_null(strstr(r, "text/plain; version=0.0.4"));
	assert_non_null(strstr(r, "presage_container_cpu_usage_seconds_total{"));
	free(r);
	r = exchange(h, "GET /nope HTTP/1.0\r\n\r\n", 22);
	assert_non_null(strstr(r, "404"));
	free(r);
	r = exchange(h, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 48);
	assert_non_null(strstr(r, "405"));
	assert_non_null(strstr(r, "Allow: GET, HEAD"));
	free(r);
	r = exchange(h, "GET /healthz HTTP/1.0\r\n\r\n", 25);
	assert_non_null(strstr(r, " 503 ")); /* the snapshot's time is 0: stale */
	free(r);
	huge = malloc(64 * 1024);
	memcpy(huge, big_hdr, sizeof(big_hdr) - 1);
	memset(huge + sizeof(big_hdr) - 1, 'a', 64 * 1024 - sizeof(big_hdr) - 4);
	memcpy(huge + 64 * 1024 - 4, "\r\n\r\n", 4);
	r = exchange(h, huge, 64 * 1024);
	assert_null(strstr(r, "200 OK")); /* refused (431/413 or closed), never served */
	free(r);
	free(huge);
	r = exchange(h, "\x01\x02garbage\r\n\r\n", 13);
	assert_null(strstr(r, "200 OK"));
	free(r);
	prom_http_free(h);
	snapshot_publish(NULL);
}

static void test_listen_errors(void **state)
{
	char err[256];
	struct prom_http *a, *b;

	assert_null(prom_http_new("nonsense", err, sizeof(err)));
	assert_non_null(strstr(err, "failed to listen on nonsense"));
	a = prom_http_new("127.0.0.1:0", err, sizeof(err));
	assert_non_null(a);
	prom_http_free(a);
	a = prom_http_new("127.0.0.1:39561", err, sizeof(err));
	if (!a)
		skip();
	b = prom_http_new("127.0.0.1:39561", err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "Address already in use"));
	prom_http_free(a);
}

static void test_listen_parse(void **state)
{
	static const struct {
		const char *addr, *host;
		unsigned int port;
	} good[] = {
		{ "127.0.0.1:9560", "127.0.0.1", 9560 }, { "[::1]:80", "::1", 80 },
		{ "localhost:65535", "localhost", 65535 }, { "0.0.0.0:0", "0.0.0.0", 0 },
		{ "[fe80::1%lo]:1", "fe80::1%lo", 1 },
	};
	static const char *const bad[] = {
		"nonsense", ":80", "[]:80", "127.0.0.1:+80", "127.0.0.1: 80", "x: 80", " x:80",
		"127.0.0.1:", "::1:80", "[::1:80", "::1]:80", "[a]b]:80", "a b:80", "127.0.0.1:65536",
		"127.0.0.1:0x50", "127.0.0.1:-1", "127.0.0.1:99999999999999999999999", "a\n:80",
	};
	char host[128], why[96];
	unsigned int port;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (prom_parse_listen(good[i].addr, host, sizeof(host), &port, why, sizeof(why)))
			fail_msg("\"%s\" refused: %s", good[i].addr, why);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (prom_parse_listen(bad[i], host, sizeof(host), &port, why, sizeof(why)) != -EINVAL)
			fail_msg("\"%s\" accepted as %s port %u", bad[i], host, port);
		assert_true(why[0]);
	}
	assert_int_equal(prom_parse_listen("abcdef:1", host, 4, &port, why, sizeof(why)), -EINVAL);
}

/*
 * The listening socket is libmicrohttpd's once handed over: it closes it in
 * MHD_stop_daemon and when it fails to start late (here: no descriptor left
 * for its epoll), and presage must not close it a second time.
 */
static void test_listen_socket_owner(void **state)
{
	struct rlimit old, lim;
	struct prom_http *h;
	char err[256];
	int lowest;

	bad_closes = 0;
	h = prom_http_new("127.0.0.1:0", err, sizeof(err));
	assert_non_null(h);
	prom_http_free(h);
	assert_int_equal(bad_closes, 0);

	lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest + 1; /* room for the listening socket only */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	h = prom_http_new("127.0.0.1:0", err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_null(h);
	assert_non_null(strstr(err, "failed to start the metrics endpoint on 127.0.0.1:0"));
	assert_int_equal(bad_closes, 0);
	assert_int_equal(fcntl(lowest, F_GETFD), -1); /* closed, not leaked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),   cmocka_unit_test(test_values),
		cmocka_unit_test(test_render),     cmocka_unit_test(test_routes),
		cmocka_unit_test(test_http),       cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_listen_parse), cmocka_unit_test(test_listen_socket_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
