/*
 * requests.c - cost of presage's programs on a real HTTP server.
 *
 * Runs tests/helpers/req_httpd (no delay: the server is CPU-bound, the worst
 * case for per-request overhead) under wrk in three arms per round, in a
 * rotating order so drift hits every arm alike:
 *   - none: no program attached;
 *   - req: the request programs alone (loaded alone they stamp arrivals
 *     from tcp_probe);
 *   - all: everything presaged attaches (scheduler, block, network, event
 *     and request programs, the request object sharing the telemetry's
 *     socket map so its cgroup_skb ingress program stamps arrivals).
 * Prints the median requests/s of each arm, the ratios to none, and the
 * nanoseconds per BPF program run measured by the kernel in one more "all"
 * run (kernel.bpf_stats_enabled, switched on for that run only, since it
 * adds two clock reads per program run, then restored).
 *
 * usage: requests [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS] [-k] (-k: Connection: close)
 * Needs root.  The helper is found under $PRESAGE_BUILD (default ./build).
 */
#include "telemetry/requests.h"
#include "telemetry/tele.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROUNDS 31

static char lua_path[64];
static pid_t server_pid;
static char stats_prev = '0';

static void cleanup(void)
{
	FILE *f;

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	if (lua_path[0])
		unlink(lua_path);
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "w");
	if (f) {
		fputc(stats_prev, f);
		fclose(f);
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Switch BPF run-time statistics; the first call remembers the setting. */
static void stats_set(char on)
{
	static int saved;
	FILE *f;

	if (!saved && (f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r"))) {
		int c = fgetc(f);

		stats_prev = c == '1' ? '1' : '0';
		saved = 1;
		fclose(f);
	}
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "w");
	if (f) {
		fputc(on, f);
		fclose(f);
	}
}

static pid_t spawn(char *const argv[], int *out)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

static int start_server(const char *build)
{
	char bin[256], line[64];
	char *argv[] = { bin, "-p", "0", "-d", "0", NULL };
	int fd, port = -1;
	size_t i = 0;

	snprintf(bin, sizeof(bin), "%s/tests/helpers/req_httpd", build);
	server_pid = spawn(argv, &fd);
	while (server_pid > 0 && i + 1 < sizeof(line) && read(fd, line + i, 1) == 1 &&
	       line[i] != '\n')
		i++;
	line[i] = 0;
	if (sscanf(line, "port %d", &port) != 1)
		port = -1;
	close(fd);
	return port;
}

/* One wrk run; returns requests per second, or a negative value on failure. */
static double wrk_rate(int port, int conns, int secs, int close_conn)
{
	char url[64], c[16], d[16], line[256];
	char *argv[] = { "wrk", "-t2", "-c", c, "-d", d, "-s", lua_path, url,
			 close_conn ? "-H" : NULL, "Connection: close", NULL };
	double rate = -1, reqs, us;
	int fd;
	pid_t pid;
	FILE *f;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	snprintf(c, sizeof(c), "%d", conns);
	snprintf(d, sizeof(d), "%ds", secs);
	pid = spawn(argv, &fd);
	f = pid > 0 ? fdopen(fd, "r") : NULL;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "WRK requests=%lf duration_us=%lf", &reqs, &us) == 2 && us > 0)
			rate = reqs / (us / 1e6);
	if (f)
		fclose(f);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return rate;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct prog_acc {
	char name[32]; /* copied: the program's own name dies with it */
	unsigned long long runs, ns;
};

enum arm { ARM_NONE, ARM_REQ, ARM_ALL, NARMS };
static const char *const arm_names[NARMS] = { "none", "req", "all" };

#define MAX_ACC (REQ_NPROGS + TELE_MAX_PROGS)

/* Add one program's run statistics to acc under its name. */
static void acc_add(struct prog_acc *acc, const char *name, uint64_t runs, uint64_t ns)
{
	int i;

	for (i = 0; i < MAX_ACC && acc[i].name[0] && strcmp(acc[i].name, name); i++)
		;
	if (i == MAX_ACC)
		return;
	snprintf(acc[i].name, sizeof(acc[i].name), "%s", name);
	acc[i].runs += runs;
	acc[i].ns += ns;
}

static void acc_collect(struct prog_acc *acc, struct tele *t, struct req_tele *r)
{
	struct tele_status ts;
	struct req_status rs;

	if (t) {
		tele_status(t, &ts);
		for (unsigned int i = 0; i < ts.progs_total; i++)
			acc_add(acc, ts.prog[i].name, ts.prog[i].run_cnt, ts.prog[i].run_time_ns);
	}
	if (r && !req_status(r, &rs))
		for (int i = 0; i < REQ_NPROGS; i++)
			if (rs.prog[i].name)
				acc_add(acc, rs.prog[i].name, rs.prog[i].run_cnt,
					rs.prog[i].run_time_ns);
}

/* One wrk run in arm a; adds the programs' run statistics to acc (if any). */
static double arm_run(enum arm a, int port, int conns, int secs, int close_conn,
		      struct prog_acc *acc)
{
	struct tele *t = NULL;
	struct req_tele *r = NULL;
	double rate = -1;

	if (a == ARM_ALL) {
		t = tele_open(&(struct tele_opts){ 0 });
		if (!t || tele_req_sock_map_fd(t) < 0)
			goto out;
		r = req_open_opts(&(struct req_opts){ .arrival_from_tele = true,
						      .tele_sk_map_fd = tele_req_sock_map_fd(t) });
	} else if (a == ARM_REQ) {
		r = req_open();
	}
	if (a != ARM_NONE && !r)
		goto out;
	rate = wrk_rate(port, conns, secs, close_conn);
	if (acc)
		acc_collect(acc, t, r);
out:
	req_free(r);
	tele_free(t);
	return rate;
}

static int write_lua(void)
{
	static const char lua[] =
		"done = function(s, lat, req)\n"
		"  io.write(string.format(\"WRK requests=%d duration_us=%d\\n\", s.requests, s.duration))\n"
		"end\n";
	int fd;

	snprintf(lua_path, sizeof(lua_path), "/tmp/presage-bench-req-XXXXXX");
	fd = mkstemp(lua_path);
	if (fd < 0 || write(fd, lua, sizeof(lua) - 1) != (ssize_t)sizeof(lua) - 1) {
		lua_path[0] = 0;
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Report; stats_reqs is the number of requests of the statistics run, so the
 * BPF time per request can be set against the CPU time per request of the
 * system (all CPUs over the median rate): an estimate immune to the
 * run-to-run noise of a shared machine.
 */
static void report(double rate[NARMS][MAX_ROUNDS], int rounds, const struct prog_acc *acc,
		   double stats_reqs)
{
	double m[NARMS], bpf_ns = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	for (int a = 0; a < NARMS; a++) {
		m[a] = median(rate[a], rounds);
		printf("requests/s, %-4s (median of %d): %.0f\n", arm_names[a], rounds, m[a]);
	}
	printf("ratio req/none: %.4f (%.2f%% fewer requests/s: request programs alone)\n",
	       m[ARM_REQ] / m[ARM_NONE], 100.0 * (1 - m[ARM_REQ] / m[ARM_NONE]));
	printf("ratio all/none: %.4f (%.2f%% fewer requests/s with everything presaged attaches; "
	       "target <= 3%%)\n",
	       m[ARM_ALL] / m[ARM_NONE], 100.0 * (1 - m[ARM_ALL] / m[ARM_NONE]));
	printf("ns per program run (one more \"all\" run, kernel.bpf_stats_enabled=1):\n");
	for (int i = 0; i < MAX_ACC && acc[i].name[0]; i++) {
		if (!acc[i].runs)
			continue;
		printf("bpf %-20s runs %12llu  %6.1f ns/run  %6.2f runs/request\n", acc[i].name,
		       acc[i].runs, (double)acc[i].ns / (double)acc[i].runs,
		       stats_reqs > 0 ? (double)acc[i].runs / stats_reqs : 0.0);
		bpf_ns += (double)acc[i].ns;
	}
	if (stats_reqs > 0 && m[ARM_NONE] > 0 && ncpu > 0)
		printf("bpf time per request: %.0f ns = %.2f%% of the %.0f ns of CPU per request "
		       "(%ld CPUs at the median rate without programs)\n",
		       bpf_ns / stats_reqs,
		       100.0 * bpf_ns / stats_reqs / (1e9 * (double)ncpu / m[ARM_NONE]),
		       1e9 * (double)ncpu / m[ARM_NONE], ncpu);
}

int main(int argc, char **argv)
{
	static double rate[NARMS][MAX_ROUNDS];
	static struct prog_acc acc[MAX_ACC];
	double stats_rate;
	int rounds = 5, secs = 4, conns = 50, close_conn = 0, opt, port;
	const char *build = getenv("PRESAGE_BUILD") ? getenv("PRESAGE_BUILD") : "build";

	while ((opt = getopt(argc, argv, "r:d:c:k")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'd': secs = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'k': close_conn = 1; break;
		default:
			fprintf(stderr, "usage: requests [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS] [-k]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || secs < 1 || conns < 1) {
		fprintf(stderr, "requests: rounds 1..%d, seconds and connections >= 1\n", MAX_ROUNDS);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "requests: needs root (BPF)\n");
		return 1;
	}
	log_set_level(LOG_WARN);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	port = write_lua() ? -1 : start_server(build);
	if (port < 0) {
		fprintf(stderr, "requests: failed to start %s/tests/helpers/req_httpd\n", build);
		return 1;
	}
	/* statistics cost two clock reads per run: off while throughput is compared */
	stats_set('0');
	printf("server req_httpd (no delay), wrk -t2 -c%d -d%ds%s, %d rounds, arms in rotating order\n",
	       conns, secs, close_conn ? " Connection: close" : " keep-alive", rounds);
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < NARMS; k++) {
			enum arm a = (enum arm)((i + k) % NARMS);

			rate[a][i] = arm_run(a, port, conns, secs, close_conn, NULL);
			if (rate[a][i] <= 0) {
				fprintf(stderr, "requests: wrk or the programs failed in round %d (%s)\n",
					i + 1, arm_names[a]);
				return 1;
			}
		}
		printf("round %d: none %.0f/s, req %.0f/s, all %.0f/s\n", i + 1, rate[ARM_NONE][i],
		       rate[ARM_REQ][i], rate[ARM_ALL][i]);
	}
	stats_set('1');
	stats_rate = arm_run(ARM_ALL, port, conns, secs, close_conn, acc);
	if (stats_rate <= 0) {
		fprintf(stderr, "requests: the statistics run failed\n");
		return 1;
	}
	report(rate, rounds, acc, stats_rate * secs);
	return 0;
}
