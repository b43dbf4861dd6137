/*
 * test_requests.c - request telemetry against real servers and real load.
 *
 * Loads bpf/requests.bpf.c through user/telemetry/requests.c, runs the test
 * HTTP server (tests/helpers/req_httpd, one write per response) in cgroups
 * it creates in the v2 tree, drives it with wrk at fixed connections and
 * duration, and compares the kernel's figures with wrk's own (exact
 * percentiles from a Lua done() hook) and with the server's per-request log:
 * count within 2%, p50 within 15% (or 0.5 ms) of wrk, p99 within 15% of the
 * server log (each request from the kernel's receive stamp of its bytes to
 * the server's write) and 25% of wrk, at 2 ms and 20 ms delays, keep-alive and
 * Connection: close; time a request waits in the socket buffer counted (a
 * server that sleeps before each read); 500s counted as 5xx; a second server's traffic charged
 * to its own cgroup only; then bad input (tests/helpers/req_client): partial
 * requests, pipelining, connections closed mid-request, non-HTTP bytes, long
 * headers, 10,000 idle connections, a stopped server's accept queue.
 *
 * Prints TAP.  Needs root; children are stopped by pid and the cgroups
 * removed at exit, also on failure or signal.  Loopback only.
 */
#include "telemetry/netns.h"
#include "telemetry/requests.h"
#include "telemetry/tele.h"

#include "common/log.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_KIDS 16

static int tap_n, tap_failed;
static char cg_root[256];
static char cg_dirs[2][320];
static pid_t kids[MAX_KIDS];
static const char *build = "build";
static char lua_path[64] = "";
/* The other network namespaces req_sample dumps (check_accept_queue_netns). */
static int ns_fds[4];
static size_t n_ns_fds;
static const char *arrival_mode = "arrivals from cgroup_skb ingress";

static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	tap_failed += !ok;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* |a - e| <= max(tol * |e|, abs_tol) */
static int within(double a, double e, double tol, double abs_tol)
{
	double lim = fmax(tol * fabs(e), abs_tol);

	return isfinite(a) && isfinite(e) && fabs(a - e) <= lim;
}

static void kid_add(pid_t p)
{
	for (int i = 0; i < MAX_KIDS; i++) {
		if (!kids[i]) {
			kids[i] = p;
			return;
		}
	}
}

/* SIGTERM one child, SIGKILL after 3 s, reap it. */
static void kid_stop(pid_t p)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] == p)
			kids[i] = 0;
	if (p <= 0 || kill(p, SIGCONT) || kill(p, SIGTERM))
		return;
	for (int i = 0; i < 30; i++) {
		if (waitpid(p, NULL, WNOHANG) == p)
			return;
		usleep(100000);
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

static void cleanup(void)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i])
			kid_stop(kids[i]);
	for (int i = 0; i < 2; i++)
		if (cg_dirs[i][0])
			rmdir(cg_dirs[i]);
	if (lua_path[0])
		unlink(lua_path);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The v2 mount point from mountinfo (hybrid: .../unified; pure v2: /sys/fs/cgroup). */
static int find_cg2(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[1024], mnt[256], *dash;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		dash = strstr(line, " - cgroup2 ");
		if (dash && sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1) {
			snprintf(cg_root, sizeof(cg_root), "%s", mnt);
			break;
		}
	}
	fclose(f);
	return cg_root[0] ? 0 : -1;
}

static uint64_t cg_make(int i, const char *name)
{
	struct stat st;

	snprintf(cg_dirs[i], sizeof(cg_dirs[i]), "%s/presage-test-%s-%d", cg_root, name, getpid());
	if (mkdir(cg_dirs[i], 0755) && errno != EEXIST)
		return 0;
	return stat(cg_dirs[i], &st) ? 0 : (uint64_t)st.st_ino;
}

/*
 * Fork and exec argv with stdout on a pipe, optionally inside cgroup dir.
 * Returns the pid; *out_fd gets the read end.
 */
/*
 * Servers run on CPU 0 and wrk on CPU 1 (with two CPUs or more), both at
 * the lowest real-time priority (SCHED_FIFO 1), so the client's own
 * scheduling delay, which no server-side measurement can see, stays out of
 * wrk's percentiles, and the server's wake-up after accept (which the kernel
 * figure counts but the server's log, stamped at its first read, does not)
 * stays short when other work shares the machine.  Neither spins, and the
 * kernel's real-time throttling leaves the other tasks 5% in any case.
 */
#define CPU_SERVER 0
#define CPU_CLIENT 1

/* Pin the calling process to cpu when the machine has it (-1: leave it). */
static void pin_cpu(int cpu)
{
	struct sched_param sp = { .sched_priority = 1 };
	cpu_set_t set;

	if (cpu < 0 || sysconf(_SC_NPROCESSORS_ONLN) <= cpu)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	sched_setscheduler(0, SCHED_FIFO, &sp); /* best effort: a fair task otherwise */
}

static pid_t spawn(const char *cgdir, char *const argv[], int *out_fd, int in_fd, int cpu)
{
	int pfd[2];
	pid_t p;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	p = fork();
	if (p == 0) {
		if (cgdir) {
			char path[400];
			FILE *f;

			snprintf(path, sizeof(path), "%s/cgroup.procs", cgdir);
			f = fopen(path, "w");
			if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
				_exit(126);
		}
		dup2(pfd[1], 1);
		if (in_fd >= 0)
			dup2(in_fd, 0);
		close(pfd[0]);
		pin_cpu(cpu);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	if (p > 0)
		kid_add(p);
	*out_fd = pfd[0];
	return p;
}

/* Read one line from fd (byte by byte: the child keeps writing later). */
static int read_line(int fd, char *buf, size_t n)
{
	size_t i = 0;

	while (i + 1 < n && read(fd, buf + i, 1) == 1 && buf[i] != '\n')
		i++;
	buf[i] = 0;
	return i ? 0 : -1;
}

struct server {
	pid_t pid;
	int port;
	int out;
	char log[64];
};

static int server_start_rd(struct server *s, int cg, int delay_us, int read_delay_us,
			   int with_log)
{
	char bin[256], delay[32], rdelay[32], line[64];
	char *argv[] = { bin, "-p", "0", "-d", delay, "-r", rdelay,
			 with_log ? "-l" : NULL, s->log, NULL };

	snprintf(bin, sizeof(bin), "%s/tests/helpers/req_httpd", build);
	snprintf(delay, sizeof(delay), "%d", delay_us);
	snprintf(rdelay, sizeof(rdelay), "%d", read_delay_us);
	snprintf(s->log, sizeof(s->log), "/tmp/presage-req-%d-%d.log", getpid(), cg);
	s->pid = spawn(cg_dirs[cg], argv, &s->out, -1, CPU_SERVER);
	if (s->pid < 0 || read_line(s->out, line, sizeof(line)) ||
	    sscanf(line, "port %d", &s->port) != 1)
		return -1;
	return 0;
}

static int server_start(struct server *s, int cg, int delay_us, int with_log)
{
	return server_start_rd(s, cg, delay_us, 0, with_log);
}

static void server_stop(struct server *s)
{
	kid_stop(s->pid);
	close(s->out);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The q-quantile (seconds) of column col of the server's service-time log
 * (LOG_READ: from its first read; LOG_ARRIVAL: from the kernel's receive
 * stamp); NAN if the log is empty or, for LOG_ARRIVAL, if a request has no
 * stamp.
 */
enum { LOG_READ, LOG_ARRIVAL };

static double log_quantile(const char *path, double q, int col)
{
	FILE *f = fopen(path, "r");
	uint64_t *v = NULL;
	size_t n = 0, cap = 0, unstamped = 0;
	unsigned long long x[2];
	double r = NAN;

	while (f && fscanf(f, "%llu %llu", &x[0], &x[1]) == 2) {
		if (!x[col]) {
			unstamped++;
			continue;
		}
		if (n == cap) {
			uint64_t *t = realloc(v, (cap = cap ? cap * 2 : 4096) * sizeof(*v));

			if (!t)
				break;
			v = t;
		}
		v[n++] = x[col];
	}
	if (n && !unstamped) {
		qsort(v, n, sizeof(*v), cmp_u64);
		r = (double)v[(size_t)(q * (double)(n - 1))] / 1e9;
	} else if (unstamped) {
		printf("# %s: %zu of %zu requests without a kernel receive stamp\n", path,
		       unstamped, n + unstamped);
	}
	if (f)
		fclose(f);
	free(v);
	return r;
}

struct wrk_res {
	long requests;
	double p50, p95, p99; /* seconds */
};

/* Run wrk against port/path; 0 when it reported its figures. */
static int run_wrk(int port, const char *path, int conns, int secs, int close_conn,
		   struct wrk_res *w)
{
	char url[128], c[16], d[16], line[256];
	char *argv[] = { "wrk", "-t1", "-c", c, "-d", d, "-s", lua_path, url,
			 close_conn ? "-H" : NULL, "Connection: close", NULL };
	long p50, p95, p99;
	int fd, ok = -1;
	FILE *f;
	pid_t p;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	snprintf(c, sizeof(c), "%d", conns);
	snprintf(d, sizeof(d), "%ds", secs);
	p = spawn(NULL, argv, &fd, -1, CPU_CLIENT);
	f = p > 0 ? fdopen(fd, "r") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "WRK requests=%ld p50_us=%ld p95_us=%ld p99_us=%ld", &w->requests,
			   &p50, &p95, &p99) == 4) {
			w->p50 = p50 / 1e6;
			w->p95 = p95 / 1e6;
			w->p99 = p99 / 1e6;
			ok = 0;
		}
	}
	if (f)
		fclose(f);
	kid_stop(p);
	return ok;
}

/* out = b - a, histogram and counters */
static void fig_delta(const struct req_figures *a, const struct req_figures *b,
		      struct req_figures *out)
{
	*out = *b;
	for (int i = 0; i < REQ_CLASS_N; i++)
		out->count[i] = b->count[i] - a->count[i];
	for (int i = 0; i < HIST_BUCKETS; i++)
		out->hist[i] = b->hist[i] - a->hist[i];
	out->total = b->total - a->total;
	out->abandoned = b->abandoned - a->abandoned;
}

static void read_cg(struct req_tele *r, uint64_t id, struct req_figures *f)
{
	req_sample(r, ns_fds, n_ns_fds);
	if (req_read(r, id, f))
		memset(f, 0, sizeof(*f));
}

static int write_lua(void)
{
	static const char lua[] =
		"done = function(s, lat, req)\n"
		"  io.write(string.format(\"WRK requests=%d p50_us=%d p95_us=%d p99_us=%d\\n\",\n"
		"    s.requests, lat:percentile(50), lat:percentile(95), lat:percentile(99)))\n"
		"end\n";
	int fd;

	snprintf(lua_path, sizeof(lua_path), "/tmp/presage-req-XXXXXX");
	fd = mkstemp(lua_path);
	if (fd < 0 || write(fd, lua, sizeof(lua) - 1) != (ssize_t)sizeof(lua) - 1) {
		lua_path[0] = 0;
		return -1;
	}
	close(fd);
	return 0;
}

struct ex_acc {
	uint64_t cgid;
	int n, good;
};

static void on_exemplar(void *ctx, const struct req_ev_slow *ev)
{
	struct ex_acc *a = ctx;

	a->n++;
	if (ev->cgid == a->cgid && ev->latency_ns >= 15000000 && ev->class == REQ_CLASS_2XX &&
	    !strncmp(ev->req_line, "GET / HTTP/1.1", 14))
		a->good++;
}

/* Exemplars of the 20 ms run: the threshold is 15 ms (see main). */
static void check_exemplars(struct req_tele *r, uint64_t id)
{
	struct ex_acc a = { .cgid = id };

	while (req_poll(r, 0, on_exemplar, &a) > 0)
		;
	tap(a.good > 0, "slow-request exemplars: %d of %d well-formed", a.good, a.n);
}

struct lat_run {
	struct req_figures d; /* the kernel's figures for the run */
	struct wrk_res w;
	double p50, p99;
	double log99;	   /* server log from the kernel's receive stamp */
	double log99_read; /* server log from its own read */
};

/* One wrk run against a fresh server; 0 when both ran. */
static int measure_latency(struct req_tele *r, uint64_t id, int delay_us, int close_conn,
			   struct lat_run *m)
{
	const char *mode = close_conn ? "close" : "keep-alive";
	struct req_figures f0, f1;
	struct server s;

	if (server_start(&s, 0, delay_us, 1)) {
		tap(0, "server starts (%d us, %s)", delay_us, mode);
		return -1;
	}
	while (req_poll(r, 0, NULL, NULL) > 0)
		; /* drop exemplars of earlier runs */
	read_cg(r, id, &f0);
	/* fewer connections with close: connection churn loads wrk's own threads,
	 * whose scheduling delay shows in its (client-side) percentiles */
	if (run_wrk(s.port, "/", close_conn ? 4 : 10, 3, close_conn, &m->w)) {
		tap(0, "wrk runs (%d us, %s)", delay_us, mode);
		server_stop(&s);
		return -1;
	}
	usleep(200000);
	server_stop(&s); /* writes the service-time log */
	read_cg(r, id, &f1);
	fig_delta(&f0, &f1, &m->d);
	m->p50 = req_quantile(&m->d, 0.5);
	m->p99 = req_quantile(&m->d, 0.99);
	m->log99 = log_quantile(s.log, 0.99, LOG_ARRIVAL);
	m->log99_read = log_quantile(s.log, 0.99, LOG_READ);
	unlink(s.log);
	return 0;
}

/*
 * Load at a fixed delay and connection mode; compare with wrk and the server
 * log.  The server's log is taken from the kernel's receive stamp of each
 * request (SO_TIMESTAMPING) to its write: the interval presage measures,
 * including the time a request waits in the socket buffer for a descheduled
 * server, which a log started at the server's own read misses (that figure
 * is printed too).  wrk's percentiles also hold what happens after the
 * server's write (loopback delivery, waking wrk's thread on an idle vCPU)
 * and before its request reaches the kernel, which neither the server nor
 * the kernel can see; on this hypervisor that client-side delay alone
 * sometimes pushes wrk's p99 past the tolerance.  So a run is repeated (at
 * most LAT_ATTEMPTS times in all, saying so) when every other check holds,
 * the kernel agrees with the server's log and only wrk is further off, and
 * above (client-side delay only adds); the last run is judged on all checks.
 */
#define LAT_ATTEMPTS 5

static void check_latency(struct req_tele *r, uint64_t id, int delay_us, int close_conn)
{
	const char *mode = close_conn ? "close" : "keep-alive";
	struct lat_run m;
	int count_ok, class_ok, p50_ok, log_ok, wrk_ok;

	for (int attempt = 0;; attempt++) {
		if (measure_latency(r, id, delay_us, close_conn, &m))
			return;
		count_ok = within((double)m.d.total, (double)m.w.requests, 0.02, 0);
		class_ok = m.d.count[REQ_CLASS_2XX] == m.d.total;
		p50_ok = within(m.p50, m.w.p50, 0.15, 0.0005);
		log_ok = within(m.p99, m.log99, 0.15, 0);
		wrk_ok = within(m.p99, m.w.p99, 0.25, 0);
		if (wrk_ok || !(count_ok && class_ok && p50_ok && log_ok) ||
		    m.w.p99 < m.p99 || attempt == LAT_ATTEMPTS - 1)
			break;
		printf("# %d us %s: p99 %.6f s agrees with the server log %.6f s but not with "
		       "wrk %.6f s (client-side delay): measuring again\n",
		       delay_us, mode, m.p99, m.log99, m.w.p99);
	}
	tap(count_ok, "%d us %s: count %llu vs wrk %ld (2%%)", delay_us, mode,
	    (unsigned long long)m.d.total, m.w.requests);
	tap(class_ok, "%d us %s: all 2xx", delay_us, mode);
	tap(p50_ok, "%d us %s: p50 %.6f s vs wrk %.6f s", delay_us, mode, m.p50, m.w.p50);
	tap(log_ok, "%d us %s: p99 %.6f s vs server log %.6f s from the kernel's receive stamp "
	    "(%.6f s from its read)", delay_us, mode, m.p99, m.log99, m.log99_read);
	tap(wrk_ok, "%d us %s: p99 %.6f s vs wrk %.6f s", delay_us, mode, m.p99, m.w.p99);
}

/*
 * Time spent in the socket buffer counts: the server sleeps 10 ms before it
 * reads a readable connection and then answers at once, so its own log says
 * ~0 while wrk waits ~10 ms (more when both connections queue).  Timed from
 * the read, presage would agree with the server; timed from the arrival it
 * agrees with wrk.
 */
static void check_queued(struct req_tele *r, uint64_t id)
{
	struct req_figures f0, f1, d;
	struct server s;
	struct wrk_res w;
	double p50, log50, arr50;

	if (server_start_rd(&s, 0, 0, 10000, 1)) {
		tap(0, "server starts (read delay)");
		return;
	}
	read_cg(r, id, &f0);
	if (run_wrk(s.port, "/", 2, 2, 0, &w)) {
		tap(0, "wrk runs (read delay)");
		server_stop(&s);
		return;
	}
	usleep(200000);
	server_stop(&s);
	read_cg(r, id, &f1);
	fig_delta(&f0, &f1, &d);
	p50 = req_quantile(&d, 0.5);
	log50 = log_quantile(s.log, 0.5, LOG_READ);
	arr50 = log_quantile(s.log, 0.5, LOG_ARRIVAL);
	unlink(s.log);
	tap(within(p50, w.p50, 0.15, 0.0005) && p50 > 0.008,
	    "%s: queued 10 ms in the socket buffer: p50 %.6f s vs wrk %.6f s (server's own "
	    "%.6f s from its read, %.6f s from the kernel's receive stamp)",
	    arrival_mode, p50, w.p50, log50, arr50);
}

/* Two servers in two cgroups: each one's traffic lands in its own cgroup only. */
static void check_attribution(struct req_tele *r, uint64_t ida, uint64_t idb)
{
	struct req_figures a0, a1, b0, b1, da, db;
	struct server sa, sb;
	struct wrk_res wa = { 0 }, wb = { 0 };
	int ok;

	ok = !server_start(&sa, 0, 1000, 0) && !server_start(&sb, 1, 1000, 0);
	read_cg(r, ida, &a0);
	read_cg(r, idb, &b0);
	ok = ok && !run_wrk(sa.port, "/", 8, 2, 0, &wa) && !run_wrk(sb.port, "/500", 8, 2, 0, &wb);
	usleep(200000);
	read_cg(r, ida, &a1);
	read_cg(r, idb, &b1);
	server_stop(&sa);
	server_stop(&sb);
	fig_delta(&a0, &a1, &da);
	fig_delta(&b0, &b1, &db);
	tap(ok, "two servers in two cgroups under wrk");
	tap(within((double)db.count[REQ_CLASS_5XX], (double)wb.requests, 0.02, 0),
	    "status 500 counted as 5xx: %llu vs wrk %ld",
	    (unsigned long long)db.count[REQ_CLASS_5XX], wb.requests);
	tap(within((double)da.count[REQ_CLASS_2XX], (double)wa.requests, 0.02, 0),
	    "first cgroup: 2xx %llu vs wrk %ld", (unsigned long long)da.count[REQ_CLASS_2XX],
	    wa.requests);
	tap(da.count[REQ_CLASS_5XX] == 0 && db.count[REQ_CLASS_2XX] == 0,
	    "no traffic charged to the other cgroup (5xx in first %llu, 2xx in second %llu)",
	    (unsigned long long)da.count[REQ_CLASS_5XX],
	    (unsigned long long)db.count[REQ_CLASS_2XX]);
}

/* Run req_client PORT MODE ARG; returns the responses it received, -1 on failure. */
static int run_client(int port, const char *mode, int arg)
{
	char bin[256], p[16], a[16], line[64];
	char *argv[] = { bin, p, (char *)mode, a, NULL };
	int fd, got = -1;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/tests/helpers/req_client", build);
	snprintf(p, sizeof(p), "%d", port);
	snprintf(a, sizeof(a), "%d", arg);
	pid = spawn(NULL, argv, &fd, -1, -1);
	if (pid > 0 && !read_line(fd, line, sizeof(line)))
		sscanf(line, "responses %d", &got);
	close(fd);
	kid_stop(pid);
	return got;
}

struct bad_case {
	const char *mode;
	int arg;
	int cls;	   /* class expected to grow, -1: none */
	uint64_t expect;   /* growth of that class (and of the total) */
	uint64_t abandoned;
};

static void check_bad_input(struct req_tele *r, uint64_t id)
{
	static const struct bad_case cases[] = {
		{ "partial", 5, REQ_CLASS_2XX, 5, 0 },	 { "pipeline", 8, REQ_CLASS_2XX, 8, 0 },
		{ "midclose", 1, -1, 0, 1 },		 { "garbage", 1, REQ_CLASS_OTHER, 1, 0 },
		{ "longhdr", 16000, REQ_CLASS_2XX, 1, 0 }, { "longhdr", 40000, REQ_CLASS_4XX, 1, 0 },
	};
	struct req_figures f0, f1, d;
	struct server s;

	if (server_start(&s, 0, 1000, 0)) {
		tap(0, "server starts for bad input");
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		int got;

		read_cg(r, id, &f0);
		got = run_client(s.port, c->mode, c->arg);
		usleep(100000);
		read_cg(r, id, &f1);
		fig_delta(&f0, &f1, &d);
		tap(got >= 0 && d.total == c->expect && (c->cls < 0 || d.count[c->cls] == c->expect) &&
			    d.abandoned == c->abandoned,
		    "%s %d: %llu requests (class %d), %llu abandoned, client saw %d responses",
		    c->mode, c->arg, (unsigned long long)d.total, c->cls,
		    (unsigned long long)d.abandoned, got);
	}
	server_stop(&s);
}

/* Hold n idle connections open to port; returns the client pid, *ctl its stdin. */
static pid_t hold_idle(int port, int n, int *ctl, int *out)
{
	char bin[256], p[16], a[16], line[64];
	char *argv[] = { bin, p, "idle", a, NULL };
	int in[2], got = 0;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC))
		return -1;
	snprintf(bin, sizeof(bin), "%s/tests/helpers/req_client", build);
	snprintf(p, sizeof(p), "%d", port);
	snprintf(a, sizeof(a), "%d", n);
	pid = spawn(NULL, argv, out, in[0], -1);
	close(in[0]);
	*ctl = in[1];
	if (pid > 0 && !read_line(*out, line, sizeof(line)))
		sscanf(line, "open %d", &got);
	return got == n ? pid : -1;
}

static void release_idle(pid_t pid, int ctl, int out)
{
	close(ctl); /* the client closes its connections on EOF */
	if (pid > 0)
		waitpid(pid, NULL, 0);
	kid_stop(pid);
	close(out);
}

/* 10,000 idle connections: counted as active, bounded maps, released on close. */
static void check_idle(struct req_tele *r, uint64_t id)
{
	struct req_figures f0, f1, f2;
	struct req_status st;
	struct server s;
	int ctl = -1, out = -1;
	pid_t pid;

	if (server_start(&s, 0, 1000, 0)) {
		tap(0, "server starts for idle connections");
		return;
	}
	read_cg(r, id, &f0);
	pid = hold_idle(s.port, 10000, &ctl, &out);
	usleep(500000);
	read_cg(r, id, &f1);
	req_status(r, &st);
	release_idle(pid, ctl, out);
	usleep(1000000);
	read_cg(r, id, &f2);
	server_stop(&s);
	tap(pid > 0 && f1.connections_active - f0.connections_active == 10000,
	    "10000 idle connections active: %llu",
	    (unsigned long long)(f1.connections_active - f0.connections_active));
	tap(f1.total == f0.total, "idle connections are no requests");
	tap(st.cgroups <= st.max_cgroups && st.stat[REQ_ST_SK_NOMEM] == 0,
	    "maps bounded: %u/%u cgroups, %llu storage failures", st.cgroups, st.max_cgroups,
	    (unsigned long long)st.stat[REQ_ST_SK_NOMEM]);
	tap(f2.connections_active == f0.connections_active,
	    "connections released on close: %llu active",
	    (unsigned long long)f2.connections_active);
}

/* A stopped server's listener fills its accept queue; the sample sees it. */
static void check_accept_queue(struct req_tele *r, uint64_t id)
{
	struct req_figures f;
	struct server s;
	int ctl = -1, out = -1;
	pid_t pid;

	if (server_start(&s, 0, 1000, 0)) {
		tap(0, "server starts for the accept queue");
		return;
	}
	kill(s.pid, SIGSTOP);
	pid = hold_idle(s.port, 20, &ctl, &out);
	usleep(200000);
	read_cg(r, id, &f);
	tap(pid > 0 && f.accept_queue_known && f.listeners == 1 && f.accept_queue_depth == 20 &&
		    f.accept_queue_max > 0,
	    "accept queue of a stopped server: %llu waiting of %llu, %u listener(s)",
	    (unsigned long long)f.accept_queue_depth, (unsigned long long)f.accept_queue_max,
	    f.listeners);
	kill(s.pid, SIGCONT);
	release_idle(pid, ctl, out);
	usleep(300000);
	read_cg(r, id, &f);
	tap(f.accept_queue_depth == 0, "accept queue drained: %llu",
	    (unsigned long long)f.accept_queue_depth);
	server_stop(&s);
}

/*
 * Child of check_accept_queue_netns: in cgroup cgdir and a network namespace
 * of its own (as a container on Docker's bridge), listen on loopback and
 * open n connections it never accepts; report on ready, hold until hold
 * reaches EOF.
 */
static void netns_listener(const char *cgdir, int n, int ready, int hold)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct ifreq ifr = { .ifr_name = "lo" };
	socklen_t sl = sizeof(sa);
	char path[400], c;
	int l, s, fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgdir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0 || close(fd) || unshare(CLONE_NEWNET))
		_exit(126);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		_exit(125);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		_exit(125);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 64) ||
	    getsockname(l, (struct sockaddr *)&sa, &sl))
		_exit(124);
	for (int i = 0; i < n; i++) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(123);
	}
	if (write(ready, "k", 1) != 1)
		_exit(122);
	while (read(hold, &c, 1) > 0)
		;
	_exit(0);
}

/*
 * A listener in a network namespace of its own: invisible from presaged's
 * namespace, counted once the namespace set holds it (learnt from the
 * cgroup's process, as the daemon does), and let go when the cgroup has no
 * process left.
 */
static void check_accept_queue_netns(struct req_tele *r, uint64_t id, const char *cgdir)
{
	struct req_figures f0, f1, f2;
	struct netns_set *set = netns_set_new();
	int ready[2], hold[2], noted = 0, gone = 0;
	size_t held = 0, after = 1;
	pid_t pid;
	char c;

	if (!set || pipe2(ready, O_CLOEXEC) || pipe2(hold, O_CLOEXEC)) {
		tap(0, "namespace set and pipes");
		netns_set_free(set);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		netns_listener(cgdir, 20, ready[1], hold[0]);
	}
	close(ready[1]);
	close(hold[0]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		tap(0, "listener in its own network namespace starts");
		close(hold[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		close(ready[0]);
		netns_set_free(set);
		return;
	}
	n_ns_fds = 0;
	read_cg(r, id, &f0);
	netns_set_begin(set);
	noted = netns_set_note_cgroup(set, cgdir);
	netns_set_end(set);
	held = netns_set_count(set);
	n_ns_fds = netns_set_fds(set, ns_fds, 4);
	read_cg(r, id, &f1);
	close(hold[1]);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	netns_set_begin(set);
	gone = netns_set_note_cgroup(set, cgdir);
	netns_set_end(set);
	after = netns_set_count(set);
	n_ns_fds = netns_set_fds(set, ns_fds, 4);
	read_cg(r, id, &f2);
	netns_set_free(set);
	n_ns_fds = 0;
	tap(f0.listeners == 0, "listener in another namespace unseen from presaged's: %u listener(s)",
	    f0.listeners);
	tap(noted == 1 && held == 1, "the cgroup's namespace is learnt: note %d, %zu held", noted,
	    held);
	tap(f1.listeners == 1 && f1.accept_queue_depth == 20 && f1.accept_queue_max == 64,
	    "accept queue in the container's namespace: %llu waiting of %llu, %u listener(s)",
	    (unsigned long long)f1.accept_queue_depth, (unsigned long long)f1.accept_queue_max,
	    f1.listeners);
	tap(gone == -ENOENT && after == 0 && f2.listeners == 0,
	    "an empty cgroup's namespace is let go: note %d, %zu held, %u listener(s)", gone, after,
	    f2.listeners);
}

static void check_status(struct req_tele *r)
{
	struct req_status st;
	int attached = 0, loaded = 0;

	tap(req_status(r, &st) == 0, "status readable");
	for (int i = 0; i < REQ_NPROGS; i++) {
		loaded += st.prog[i].name != NULL;
		attached += st.prog[i].name && st.prog[i].attached;
	}
	/* tcp_probe is left out when the telemetry's ingress stamps arrivals */
	tap(loaded == REQ_NPROGS - 1 && attached == loaded, "%d of %d programs attached",
	    attached, loaded);
	for (int i = 0; i < REQ_ST_N; i++)
		printf("# stat[%d] = %llu\n", i, (unsigned long long)st.stat[i]);
}

int main(void)
{
	struct req_tele *r;
	struct tele *t;
	uint64_t ida, idb;

	if (geteuid() != 0) {
		printf("ok 1 - requests # SKIP needs root\n1..1\n");
		return 0;
	}
	if (getenv("PRESAGE_BUILD"))
		build = getenv("PRESAGE_BUILD");
	log_set_level(LOG_WARN);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (find_cg2() || !(ida = cg_make(0, "req-a")) || !(idb = cg_make(1, "req-b")) ||
	    write_lua()) {
		tap(0, "test cgroups and wrk script created");
		printf("1..%d\n", tap_n);
		return 1;
	}
	/* as the daemon runs them: arrivals stamped by the telemetry's ingress program */
	t = tele_open(&(struct tele_opts){ 0 });
	r = req_open_opts(&(struct req_opts){
		.slow_ns = 15000000,
		.slow_gap_ns = 1000000,
		.arrival_from_tele = t && tele_req_sock_map_fd(t) >= 0,
		.tele_sk_map_fd = t ? tele_req_sock_map_fd(t) : -1,
	});
	tap(t && tele_req_sock_map_fd(t) >= 0 && r != NULL,
	    "request programs load and attach, sharing the telemetry's socket map");
	if (!r) {
		printf("1..%d\n", tap_n);
		return 1;
	}
	check_latency(r, ida, 2000, 0);
	check_latency(r, ida, 20000, 0);
	check_exemplars(r, ida);
	check_latency(r, ida, 2000, 1);
	check_latency(r, ida, 20000, 1);
	check_queued(r, ida);
	check_attribution(r, ida, idb);
	check_bad_input(r, ida);
	check_idle(r, ida);
	check_accept_queue(r, ida);
	check_accept_queue_netns(r, ida, cg_dirs[0]);
	check_status(r);
	req_free(r);
	tele_free(t);
	/* loaded alone, the request object stamps arrivals from tcp_probe */
	arrival_mode = "arrivals from tcp_probe";
	r = req_open();
	tap(r != NULL, "request programs load and attach alone");
	if (r)
		check_queued(r, ida);
	req_free(r);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
