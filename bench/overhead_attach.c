/*
 * overhead_attach.c - attach presage's kernel telemetry and hold it.
 *
 * Used by bench/overhead.sh to measure the cost of the telemetry without the
 * whole daemon: attaches every program (tele_open), prints "attached N/M"
 * once ready, drains events, and on SIGINT/SIGTERM (or after -t seconds)
 * prints per-program run statistics when --stats was given:
 *   prog <name> runs <run_cnt> ns_per_run <run_time_ns / run_cnt>
 *   total_runs <sum of run_cnt> total_ns <sum of run_time_ns>
 *   end
 * SIGUSR1 prints the same block at once (the bench takes differences).
 * --floor attaches instead an empty program on every hook the telemetry uses
 * (bpf/floor.bpf.c), with statistics on, and prints the same lines for
 * them: the floor under the figure of the real program at each hook.
 * Usage: overhead_attach [--stats] [--raw-tp] [--floor] [-t SECONDS]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "telemetry/cgfs.h"
#include "telemetry/tele.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static volatile sig_atomic_t stop, dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

static void print_stats(struct tele *t)
{
	unsigned long long runs = 0, ns = 0;
	struct tele_status st;
	unsigned int i;

	tele_status(t, &st);
	printf("stats_enabled %d drops %llu events %llu\n", st.stats_enabled,
	       (unsigned long long)st.rb_drops, (unsigned long long)st.events);
	for (i = 0; i < st.progs_total; i++) {
		const struct tele_prog_status *p = &st.prog[i];

		printf("prog %s runs %llu ns_per_run %.1f\n", p->name,
		       (unsigned long long)p->run_cnt,
		       p->run_cnt ? (double)p->run_time_ns / (double)p->run_cnt : 0.0);
		runs += p->run_cnt;
		ns += p->run_time_ns;
	}
	printf("total_runs %llu total_ns %llu\nend\n", runs, ns);
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: overhead_attach [--stats] [--raw-tp] [--floor] [-t SECONDS]\n");
	return 2;
}

/* The daemon's per-CPU timers (tele_open_cpu_timer) for floor_cpu_sample. */
static int attach_floor_timers(struct bpf_program *p, struct bpf_link **links, int ncpu)
{
	int n = 0;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		int fd = tele_open_cpu_timer(cpu);

		if (fd < 0)
			continue;
		links[cpu] = bpf_program__attach_perf_event(p, fd);
		if (!links[cpu])
			close(fd);
		else
			n++;
	}
	return n;
}

/*
 * --floor: the empty programs of floor.bpf.c, statistics on, until
 * signalled; then one "prog" line each.  cgroup_skb ones go to the v2 root.
 */
static int run_floor(void)
{
	struct bpf_link **timers = NULL, *links[16] = { 0 };
	struct bpf_program *p;
	struct floor_bpf *f;
	int stats_fd, cg_fd = cgfs_open_v2_root(NULL);
	int ncpu = libbpf_num_possible_cpus(), n = 0, total = 0, rc = 1;

	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	f = floor_bpf__open_and_load();
	if (stats_fd < 0 || !f || ncpu <= 0) {
		fprintf(stderr, "overhead_attach: failed to load the empty programs\n");
		goto out;
	}
	timers = calloc((size_t)ncpu, sizeof(*timers));
	if (!timers)
		goto out;
	bpf_object__for_each_program(p, f->obj) {
		const char *sec = bpf_program__section_name(p);

		total++;
		if (strcmp(sec, "perf_event") == 0) {
			n += attach_floor_timers(p, timers, ncpu) > 0;
			continue;
		}
		if (n >= (int)(sizeof(links) / sizeof(links[0])))
			break;
		if (strncmp(sec, "cgroup_skb/", 11) == 0)
			links[n] = cg_fd >= 0 ? bpf_program__attach_cgroup(p, cg_fd) : NULL;
		else
			links[n] = bpf_program__attach(p);
		if (!links[n]) {
			fprintf(stderr, "overhead_attach: failed to attach %s\n", bpf_program__name(p));
			goto out;
		}
		n++;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached %d/%d\n", n, total);
	fflush(stdout);
	while (!stop)
		pause();
	bpf_object__for_each_program(p, f->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		printf("prog %s runs %llu ns_per_run %.1f\n", bpf_program__name(p),
		       (unsigned long long)info.run_cnt,
		       info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
	}
	printf("end\n");
	fflush(stdout);
	rc = 0;
out:
	for (int i = 0; i < (int)(sizeof(links) / sizeof(links[0])); i++)
		bpf_link__destroy(links[i]);
	for (int i = 0; timers && i < ncpu; i++)
		bpf_link__destroy(timers[i]);
	free(timers);
	floor_bpf__destroy(f);
	if (cg_fd >= 0)
		close(cg_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "stats", no_argument, NULL, 's' },
						  { "raw-tp", no_argument, NULL, 'r' },
						  { "floor", no_argument, NULL, 'f' },
						  { NULL, 0, NULL, 0 } };
	struct tele_opts o = { 0 };
	struct tele_status st;
	struct pollfd pfd;
	struct tele *t;
	double secs = 0;
	time_t end = 0;
	int c;

	log_set_ident("overhead_attach");
	while ((c = getopt_long(argc, argv, "srft:", longopts, NULL)) != -1) {
		if (c == 'f')
			return run_floor();
		if (c == 's')
			o.enable_stats = true;
		else if (c == 'r')
			o.force_raw_tp = true;
		else if (c == 't' && (secs = strtod(optarg, NULL)) > 0)
			end = time(NULL) + (time_t)secs;
		else
			return usage();
	}
	t = tele_open(&o);
	if (!t) {
		fprintf(stderr, "overhead_attach: failed to open telemetry: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	tele_status(t, &st);
	printf("attached %u/%u\n", st.progs_attached, st.progs_total);
	fflush(stdout);
	pfd.fd = tele_fd(t);
	pfd.events = POLLIN;
	while (!stop && (!end || time(NULL) < end)) {
		if (poll(&pfd, 1, 200) > 0)
			tele_poll(t, NULL, NULL);
		if (dump && o.enable_stats)
			print_stats(t);
		dump = 0;
	}
	if (o.enable_stats)
		print_stats(t);
	tele_free(t);
	return 0;
}
