/*
 * loadgen.c - an open-loop HTTP load generator for closed-loop scaling tests
 * and the demo: it replays a load shape with one `Connection: close` request
 * per connection on loopback, so every request is a new connection that
 * SO_REUSEPORT spreads over the replicas that exist at that moment.
 *
 * The shape is a list of request rates (req/s), one per step of --step-ms
 * wall-clock milliseconds, linearly interpolated between points; it comes
 * from --shape "R0,R1,..." or from a trace CSV (header line, then
 * "timestamp,value" rows, e.g. requests per minute) compressed in time: each
 * row lasts --step-ms and the rows are scaled so their largest value is
 * --peak req/s.  Requests are issued on a schedule (the integral of the
 * rate), by --concurrency threads, so a slow server does not slow the
 * offered load until every thread waits on it.
 *
 * Bounded: it stops at the end of the shape, after --duration seconds or
 * after --max-requests requests, whichever comes first.  Every --report-ms it
 * prints "t_s,target_rps,ok,errors,mean_ms" (CSV with a header) on stdout.
 *
 * Usage: loadgen --port N (--shape LIST | --trace FILE [--from ROW] [--rows N]
 *        --peak RPS) [--step-ms MS] [--floor RPS] [--concurrency N]
 *        [--duration S] [--max-requests N] [--report-ms MS]
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_POINTS 100000
#define MAX_THREADS 256

static double *rate;            /* req/s at each point */
static double *cum;             /* requests scheduled before each point */
static int n_points;
static double step_s = 1.0;
static int port;
static int concurrency = 16;
static double duration_s = 600;
static long max_requests = 1000000;
static double report_s = 1.0;
static double t0;
static atomic_long next_ticket;
static atomic_long n_ok, n_err;
static atomic_llong total_us;
static atomic_int stop;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Requests scheduled in [0, t): the integral of the interpolated rate. */
static double scheduled(double t)
{
	int i = (int)(t / step_s);
	double dt, r0, r1;

	if (t <= 0)
		return 0;
	if (i >= n_points - 1)
		return cum[n_points - 1];
	dt = t - i * step_s;
	r0 = rate[i];
	r1 = rate[i + 1];
	return cum[i] + r0 * dt + (r1 - r0) * dt * dt / (2 * step_s);
}

static double rate_at(double t)
{
	int i = (int)(t / step_s);
	double f;

	if (i >= n_points - 1)
		return rate[n_points - 1];
	f = (t - i * step_s) / step_s;
	return rate[i] + (rate[i + 1] - rate[i]) * f;
}

static int add_point(double r)
{
	if (n_points >= MAX_POINTS || !(r >= 0) || r > 1e6)
		return -EINVAL;
	rate[n_points++] = r;
	return 0;
}

static int parse_shape(const char *s)
{
	char *end;

	while (*s) {
		double r = strtod(s, &end);

		if (end == s || add_point(r))
			return -EINVAL;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return n_points >= 2 ? 0 : -EINVAL;
}

/* Rows from..from+rows of a "timestamp,value" CSV, scaled to peak req/s. */
static int load_trace(const char *path, long from, long rows, double peak, double floor_rps)
{
	FILE *f = fopen(path, "r");
	char line[512];
	long row = 0;
	double max = 0;

	if (!f) {
		fprintf(stderr, "loadgen: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f) && n_points < rows) {
		char *c = strrchr(line, ',');
		char *end;
		double v;

		if (row++ == 0 || row - 2 < from || !c)
			continue;
		v = strtod(c + 1, &end);
		if (end == c + 1 || add_point(v)) {
			fprintf(stderr, "loadgen: line %ld of %s: not a rate\n", row, path);
			fclose(f);
			return -EINVAL;
		}
		max = v > max ? v : max;
	}
	fclose(f);
	if (n_points < 2 || max <= 0) {
		fprintf(stderr, "loadgen: %s: fewer than two usable rows\n", path);
		return -EINVAL;
	}
	for (int i = 0; i < n_points; i++)
		rate[i] = floor_rps + rate[i] / max * (peak - floor_rps);
	return 0;
}

/* One request on a new connection; 0 when a 2xx status line came back. */
static int one_request(void)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 2 };
	char buf[512];
	ssize_t n, have = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
		while ((n = read(fd, buf + have, sizeof(buf) - 1 - (size_t)have)) > 0 &&
		       have + n < (ssize_t)sizeof(buf) - 1)
			have += n;
		buf[have] = '\0';
		rc = strncmp(buf, "HTTP/1.", 7) == 0 && buf[9] == '2' ? 0 : -1;
	}
	close(fd);
	return rc;
}

static void *worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		long k = atomic_fetch_add(&next_ticket, 1);
		double start;

		if (k >= max_requests)
			break;
		/* Wait for this ticket's turn on the schedule. */
		while (!atomic_load(&stop) && scheduled(now_s() - t0) < (double)k + 1)
			usleep(500);
		if (atomic_load(&stop))
			break;
		start = now_s();
		if (one_request() == 0) {
			atomic_fetch_add(&n_ok, 1);
			atomic_fetch_add(&total_us, (long long)((now_s() - start) * 1e6));
		} else {
			atomic_fetch_add(&n_err, 1);
		}
	}
	return NULL;
}

static void report_loop(void)
{
	long ok0 = 0, err0 = 0;
	long long us0 = 0;
	double end = (n_points - 1) * step_s;

	end = end < duration_s ? end : duration_s;
	printf("t_s,target_rps,ok,errors,mean_ms\n");
	fflush(stdout);
	for (double next = report_s; !atomic_load(&stop); next += report_s) {
		double t = now_s() - t0;
		long ok, err;
		long long us;

		if (next > t)
			usleep((useconds_t)((next - t) * 1e6));
		t = now_s() - t0;
		ok = atomic_load(&n_ok);
		err = atomic_load(&n_err);
		us = atomic_load(&total_us);
		printf("%.1f,%.1f,%ld,%ld,%.2f\n", t, rate_at(t), ok - ok0, err - err0,
		       ok > ok0 ? (double)(us - us0) / 1000.0 / (double)(ok - ok0) : 0.0);
		fflush(stdout);
		ok0 = ok;
		err0 = err;
		us0 = us;
		if (t >= end || ok + err >= max_requests)
			atomic_store(&stop, 1);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen --port N (--shape R0,R1,... | --trace FILE --peak RPS "
			"[--from ROW] [--rows N] [--floor RPS]) [--step-ms MS] [--concurrency N] "
			"[--duration S] [--max-requests N] [--report-ms MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", 1, 0, 'p' },	   { "shape", 1, 0, 's' },	  { "trace", 1, 0, 't' },
		{ "from", 1, 0, 'f' },	   { "rows", 1, 0, 'r' },	  { "peak", 1, 0, 'P' },
		{ "floor", 1, 0, 'F' },	   { "step-ms", 1, 0, 'm' },	  { "concurrency", 1, 0, 'c' },
		{ "duration", 1, 0, 'd' }, { "max-requests", 1, 0, 'n' }, { "report-ms", 1, 0, 'R' },
		{ 0, 0, 0, 0 }
	};
	const char *shape = NULL, *trace = NULL;
	long from = 0, rows = MAX_POINTS;
	double peak = 0, floor_rps = 0;
	pthread_t th[MAX_THREADS];
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 's': shape = optarg; break;
		case 't': trace = optarg; break;
		case 'f': from = atol(optarg); break;
		case 'r': rows = atol(optarg); break;
		case 'P': peak = atof(optarg); break;
		case 'F': floor_rps = atof(optarg); break;
		case 'm': step_s = atof(optarg) / 1000.0; break;
		case 'c': concurrency = atoi(optarg); break;
		case 'd': duration_s = atof(optarg); break;
		case 'n': max_requests = atol(optarg); break;
		case 'R': report_s = atof(optarg) / 1000.0; break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || !(step_s >= 0.01) || concurrency < 1 ||
	    concurrency > MAX_THREADS || !(duration_s > 0) || max_requests < 1 ||
	    !(report_s >= 0.05) || !shape == !trace || (trace && !(peak > 0)) ||
	    from < 0 || rows < 2 || !(floor_rps >= 0) || (trace && floor_rps > peak))
		usage();
	rate = calloc(MAX_POINTS, sizeof(*rate));
	cum = calloc(MAX_POINTS, sizeof(*cum));
	if (!rate || !cum)
		return 1;
	if (shape && parse_shape(shape)) {
		fprintf(stderr, "loadgen: --shape: expected two or more rates 0..1e6, comma-separated\n");
		return 2;
	}
	if (trace && load_trace(trace, from, rows, peak, floor_rps))
		return 1;
	for (int i = 1; i < n_points; i++)
		cum[i] = cum[i - 1] + (rate[i - 1] + rate[i]) / 2 * step_s;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	t0 = now_s();
	for (int i = 0; i < concurrency; i++)
		if (pthread_create(&th[i], NULL, worker, NULL)) {
			concurrency = i;
			break;
		}
	report_loop();
	for (int i = 0; i < concurrency; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr, "loadgen: %ld ok, %ld errors in %.1f s\n", atomic_load(&n_ok),
		atomic_load(&n_err), now_s() - t0);
	return atomic_load(&n_ok) > 0 ? 0 : 1;
}
