/*
 * tele.c - loader of the BPF telemetry and reader of its maps.
 *
 * open -> choose a variant per hook (kvariant.h) -> set read-only options ->
 * load (later objects reuse the first one's cg_counters map) -> attach each
 * chosen program (cgroup_skb ones to the v2 root) -> poll / read -> free.
 */
#include "telemetry/tele.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "telemetry/cgfs.h"
#include "telemetry/kvariant.h"
#include "telemetry/prereq.h"

#include "events.skel.h"
#include "io.skel.h"
#include "sched.skel.h"

#define NCOUNTERS (sizeof(struct tele_cg_counters) / sizeof(__u64))
#define NHIST (sizeof(struct tele_hist) / sizeof(__u64))
#define NBLK	  (sizeof(struct tele_blk) / sizeof(__u64))

_Static_assert(sizeof(struct tele_ev_hdr) == 16, "event header layout");
_Static_assert(sizeof(struct tele_ev_task) == 48, "task event layout");
_Static_assert(sizeof(struct tele_ev_cgroup) == 24 + TELE_PATH_LEN, "cgroup event layout");
_Static_assert(sizeof(struct tele_cg_counters) == 11 * 8, "counter layout");
_Static_assert(sizeof(struct tele_blk) == 4 * 8 + sizeof(struct tele_hist), "block layout");
_Static_assert(sizeof(struct tele_hist) == (HIST_BUCKETS + 2) * 8, "histogram layout");

struct tele {
	struct sched_bpf *sched;
	struct io_bpf *io;
	struct events_bpf *ev;
	struct ring_buffer *rb;
	struct btf *vmlinux;
	struct bpf_program *progs[TELE_MAX_PROGS]; /* chosen variants */
	struct bpf_link *links[TELE_MAX_PROGS];
	int nprogs;
	int *sample_fds;	     /* per-CPU perf timers for cpu_sample, -1 = none */
	struct bpf_link **sample_links; /* cpu_sample attached to each */
	int nsampled;		     /* CPUs with cpu_sample attached */
	int cg_fd;    /* v2 root, for cgroup_skb */
	int stats_fd; /* keeps bpf stats on while open, or -1 */
	int ncpus;
	__u64 *pcpu;		 /* per-CPU read buffer: ncpus * sizeof(struct tele_blk) */
	struct tele_hist rq_sum; /* tele_read's sums (too large for the stack) */
	struct tele_blk blk_sum;
	bool raw_tp;
	bool runq_schedinfo; /* run-queue latency from task->sched_info */
	bool cpu_stints;     /* CPU time from sched_switch + cpu_sample, not stat_runtime */
	bool no_runq;
	bool no_net;
	bool force_raw;
	bool blk_one_slot;
	tele_event_fn cb;
	void *cb_ctx;
	int cb_ret;
	uint64_t events;
	uint64_t bad_events;
};

/* ---- variant choice ------------------------------------------------------ */

static bool has_btf_tp(const struct tele *t, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return t->vmlinux && btf__find_by_name_kind(t->vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

/* Does vmlinux BTF have struct sname with a member named member? */
static bool btf_has_member(const struct btf *btf, const char *sname, const char *member)
{
	const struct btf_member *m;
	const struct btf_type *ty;
	int id, i;

	id = btf ? btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT) : -1;
	if (id <= 0)
		return false;
	ty = btf__type_by_id(btf, id);
	m = btf_members(ty);
	for (i = 0; i < btf_vlen(ty); i++, m++)
		if (strcmp(btf__name_by_offset(btf, m->name_off), member) == 0)
			return true;
	return false;
}

/*
 * Can the tp_btf sched_switch program read run-queue waits from the
 * kernel's sched_info (kvariant.h)?  Needs the fields in BTF and the
 * bookkeeping compiled in (CONFIG_SCHED_INFO: /proc/<pid>/schedstat).
 */
static bool runq_schedinfo_ok(const struct tele *t)
{
	return !t->force_raw && has_btf_tp(t, "sched_switch") &&
	       btf_has_member(t->vmlinux, "sched_info", "last_queued") &&
	       btf_has_member(t->vmlinux, "cfs_rq", "rq") &&
	       btf_has_member(t->vmlinux, "rq", "clock") && access("/proc/self/schedstat", R_OK) == 0;
}

/* Does the tracepoint exist?  Unknown without tracefs: let attach tell. */
static bool tp_exists(const char *tp)
{
	char path[256];
	struct stat st;
	size_t i;

	if (stat(TELE_TRACEFS "/events", &st) < 0)
		return true;
	for (i = 0; i < sizeof(kv_tracepoints) / sizeof(kv_tracepoints[0]); i++) {
		if (strcmp(kv_tracepoints[i].name, tp))
			continue;
		snprintf(path, sizeof(path), TELE_TRACEFS "/events/%s/%s", kv_tracepoints[i].group,
			 tp);
		return stat(path, &st) == 0;
	}
	return true;
}

/* Should prog be loaded on this kernel with these options? */
static bool want_prog(struct tele *t, const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *tp = strchr(sec, '/') ? strchr(sec, '/') + 1 : sec;
	bool btf = !t->force_raw && has_btf_tp(t, tp);

	/* The block hooks share in-flight records: one flavour for all three. */
	if (strncmp(tp, "block_rq_", 9) == 0)
		btf = !t->force_raw && has_btf_tp(t, "block_rq_insert") &&
		      has_btf_tp(t, "block_rq_issue") && has_btf_tp(t, "block_rq_complete");

	if (strncmp(sec, "cgroup_skb/", 11) == 0)
		return !t->no_net && t->cg_fd >= 0;
	if (strcmp(sec, "perf_event") == 0)
		return t->cpu_stints;
	if (strcmp(sec, "tp_btf/sched_stat_runtime") == 0 && t->cpu_stints)
		return false;
	if (strncmp(tp, "sched_wakeup", 12) == 0 &&
	    (t->no_runq || (t->runq_schedinfo && strncmp(sec, "tp_btf/", 7) == 0)))
		return false;
	if (strncmp(sec, "tp_btf/", 7) == 0)
		return btf;
	if (strncmp(sec, "raw_tp/", 7) != 0 || btf)
		return false;
	if (!tp_exists(tp)) {
		log_warn("tracepoint %s not found in this kernel: its figures stay 0", tp);
		return false;
	}
	t->raw_tp = true;
	return true;
}

/* Set autoload per program and remember the chosen ones. */
static int choose_variants(struct tele *t, struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		bool use = want_prog(t, prog);

		bpf_program__set_autoload(prog, use);
		if (!use)
			continue;
		if (t->nprogs >= TELE_MAX_PROGS)
			return -E2BIG;
		t->progs[t->nprogs++] = prog;
	}
	return 0;
}

/* ---- open and load ------------------------------------------------------- */

/* Point obj's cg_counters at the map the first object created. */
static int share_counters(struct tele *t, struct bpf_map *m)
{
	int err = bpf_map__reuse_fd(m, bpf_map__fd(t->sched->maps.cg_counters));

	if (err)
		log_err("failed to share the counter map: %s", strerror(-err));
	return err;
}

int tele_open_cpu_timer(int cpu)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ull / TELE_CPU_SAMPLE_HZ, /* ns of cpu-clock */
	};

	return (int)syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/*
 * Open a CPU-clock perf timer at TELE_CPU_SAMPLE_HZ on every online CPU for
 * cpu_sample.  Returns the number opened; 0 (logged) when perf events are
 * unavailable, and CPU time then comes from sched_stat_runtime.  A CPU that
 * comes online later has no timer: its long stints are charged at the switch.
 */
static int open_sample_timers(struct tele *t)
{
	int cpu, n = 0, err = 0;

	t->sample_fds = malloc((size_t)t->ncpus * sizeof(*t->sample_fds));
	t->sample_links = calloc((size_t)t->ncpus, sizeof(*t->sample_links));
	if (!t->sample_fds || !t->sample_links) {
		free(t->sample_fds);
		free(t->sample_links);
		t->sample_fds = NULL;
		t->sample_links = NULL;
		return 0;
	}
	for (cpu = 0; cpu < t->ncpus; cpu++) {
		t->sample_fds[cpu] = tele_open_cpu_timer(cpu);
		if (t->sample_fds[cpu] >= 0)
			n++;
		else if (errno != ENODEV && errno != ENOENT) /* not an offline CPU */
			err = errno;
	}
	if (!n)
		log_info("no perf timers (%s): CPU time from sched_stat_runtime",
			 strerror(err ? err : ENODEV));
	return n;
}

static int load_sched(struct tele *t)
{
	int err;

	t->sched = sched_bpf__open();
	if (!t->sched)
		return -errno;
	t->runq_schedinfo = runq_schedinfo_ok(t);
	t->cpu_stints = !t->force_raw && has_btf_tp(t, "sched_switch") &&
			btf_has_member(t->vmlinux, "sched_entity", "sum_exec_runtime") &&
			open_sample_timers(t) > 0;
	t->sched->rodata->opt_runq = !t->no_runq;
	t->sched->rodata->opt_runq_schedinfo = t->runq_schedinfo;
	t->sched->rodata->opt_cpu_stints = t->cpu_stints;
	err = choose_variants(t, t->sched->obj);
	if (!err)
		err = sched_bpf__load(t->sched);
	if (err)
		log_err("failed to load the scheduler programs: %s", strerror(-err));
	return err;
}

static int load_io(struct tele *t)
{
	int err;

	t->io = io_bpf__open();
	if (!t->io)
		return -errno;
	if (t->blk_one_slot)
		t->io->rodata->opt_blk_slot_mask = 0;
	err = share_counters(t, t->io->maps.cg_counters);
	if (!err)
		err = choose_variants(t, t->io->obj);
	if (!err)
		err = io_bpf__load(t->io);
	if (err)
		log_err("failed to load the block and network programs: %s", strerror(-err));
	return err;
}

static int load_events(struct tele *t)
{
	int err;

	t->ev = events_bpf__open();
	if (!t->ev)
		return -errno;
	err = share_counters(t, t->ev->maps.cg_counters);
	if (!err)
		err = choose_variants(t, t->ev->obj);
	if (!err)
		err = events_bpf__load(t->ev);
	if (err)
		log_err("failed to load the event programs: %s", strerror(-err));
	return err;
}

/* Attach cpu_sample to every perf timer opened; the links own the fds. */
static int attach_sampler(struct tele *t, struct bpf_program *p)
{
	int cpu, err = 0;

	for (cpu = 0; cpu < t->ncpus; cpu++) {
		if (t->sample_fds[cpu] < 0)
			continue;
		t->sample_links[cpu] = bpf_program__attach_perf_event(p, t->sample_fds[cpu]);
		if (!t->sample_links[cpu]) {
			err = -errno;
			log_err("failed to attach %s on cpu %d: %s", bpf_program__name(p), cpu,
				strerror(-err));
			return err;
		}
		t->sample_fds[cpu] = -1;
		t->nsampled++;
	}
	return 0;
}

static int attach_all(struct tele *t)
{
	int i, err;

	for (i = 0; i < t->nprogs; i++) {
		struct bpf_program *p = t->progs[i];

		if (strcmp(bpf_program__section_name(p), "perf_event") == 0) {
			err = attach_sampler(t, p);
			if (err)
				return err;
			continue;
		}
		if (strncmp(bpf_program__section_name(p), "cgroup_skb/", 11) == 0)
			t->links[i] = bpf_program__attach_cgroup(p, t->cg_fd);
		else
			t->links[i] = bpf_program__attach(p);
		if (!t->links[i]) {
			err = -errno;
			log_err("failed to attach %s: %s", bpf_program__name(p), strerror(-err));
			return err;
		}
	}
	return 0;
}

static int on_record(void *ctx, void *data, size_t size);

/* Open the v2 root for the cgroup_skb programs; -1 (warned) when absent. */
static int open_v2_root(const char *mountinfo)
{
	int fd = cgfs_open_v2_root(mountinfo);

	if (fd < 0)
		log_warn("no cgroup v2 mount found: network counters disabled");
	return fd;
}

static int tele_setup(struct tele *t, const struct tele_opts *o)
{
	int err;

	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0)
		return t->ncpus < 0 ? t->ncpus : -EINVAL;
	t->pcpu = calloc((size_t)t->ncpus, sizeof(struct tele_blk)); /* the largest value */
	if (!t->pcpu)
		return -ENOMEM;
	t->vmlinux = btf__load_vmlinux_btf();
	if (!t->vmlinux)
		log_warn("failed to load kernel BTF: using raw tracepoints");
	if (!t->no_net)
		t->cg_fd = open_v2_root(o->mountinfo);
	if (o->enable_stats) {
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (t->stats_fd < 0)
			log_warn("failed to enable bpf run statistics: %s", strerror(errno));
	}
	err = load_sched(t);
	if (!err)
		err = load_io(t);
	if (!err)
		err = load_events(t);
	if (!err)
		err = attach_all(t);
	if (err)
		return err;
	t->rb = ring_buffer__new(bpf_map__fd(t->ev->maps.events), on_record, t, NULL);
	return t->rb ? 0 : -errno;
}

struct tele *tele_open(const struct tele_opts *o)
{
	static const struct tele_opts defaults;
	struct tele *t;
	int err;

	o = o ? o : &defaults;
	log_route_libbpf();
	err = prereq_check(!o->no_net);
	if (err) {
		errno = -err;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cg_fd = t->stats_fd = -1;
	t->no_runq = o->no_runq;
	t->no_net = o->no_net;
	t->force_raw = o->force_raw_tp;
	t->blk_one_slot = o->blk_one_slot;
	err = tele_setup(t, o);
	if (err) {
		tele_free(t);
		errno = err < 0 ? -err : EINVAL;
		return NULL;
	}
	log_info("telemetry attached: %d programs%s%s%s", t->nprogs,
		 t->raw_tp ? ", some raw tracepoint fallbacks" : "",
		 t->runq_schedinfo ? ", run-queue waits from sched_info" : "",
		 t->cpu_stints ? ", CPU time from switches and per-CPU timers" : "");
	return t;
}

void tele_free(struct tele *t)
{
	int i;

	if (!t)
		return;
	ring_buffer__free(t->rb);
	for (i = 0; i < t->nprogs; i++)
		bpf_link__destroy(t->links[i]);
	for (i = 0; t->sample_links && i < t->ncpus; i++)
		bpf_link__destroy(t->sample_links[i]);
	for (i = 0; t->sample_fds && i < t->ncpus; i++)
		if (t->sample_fds[i] >= 0)
			close(t->sample_fds[i]);
	free(t->sample_links);
	free(t->sample_fds);
	events_bpf__destroy(t->ev);
	io_bpf__destroy(t->io);
	sched_bpf__destroy(t->sched);
	btf__free(t->vmlinux);
	if (t->cg_fd >= 0)
		close(t->cg_fd);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	free(t->pcpu);
	free(t);
}

/* ---- events -------------------------------------------------------------- */

int tele_fd(const struct tele *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

/* Decode a record into ev; false when it is malformed or of another version. */
static bool decode(const void *data, size_t size, struct tele_event *ev)
{
	const struct tele_ev_hdr *h = data;

	memset(ev, 0, sizeof(*ev));
	if (size < sizeof(*h) || h->version != TELE_EV_VERSION || h->size > size)
		return false;
	ev->kind = h->kind;
	ev->ts_ns = h->ts_ns;
	if ((h->kind == TELE_EV_CGROUP_MKDIR || h->kind == TELE_EV_CGROUP_RMDIR) &&
	    h->size == sizeof(struct tele_ev_cgroup)) {
		const struct tele_ev_cgroup *e = data;

		ev->cgid = e->cgid;
		memcpy(ev->path, e->path, sizeof(ev->path));
		ev->path[sizeof(ev->path) - 1] = '\0';
		return true;
	}
	if ((h->kind == TELE_EV_OOM_KILL || h->kind == TELE_EV_FATAL_SIGNAL) &&
	    h->size == sizeof(struct tele_ev_task)) {
		const struct tele_ev_task *e = data;

		ev->cgid = e->cgid;
		ev->pid = e->pid;
		ev->signal = (int)e->signal;
		memcpy(ev->comm, e->comm, sizeof(ev->comm));
		ev->comm[sizeof(ev->comm) - 1] = '\0';
		return true;
	}
	return false;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tele *t = ctx;
	struct tele_event ev;
	int ret;

	t->events++;
	if (!decode(data, size, &ev)) {
		t->bad_events++;
		LOG_RATELIMITED(LOG_WARN, "skipped a telemetry event of unknown kind or version");
		return 0;
	}
	ret = t->cb ? t->cb(&ev, t->cb_ctx) : 0;
	if (ret) {
		t->cb_ret = ret;
		return -ECANCELED; /* libbpf stops on a negative value only */
	}
	return 0;
}

int tele_poll(struct tele *t, tele_event_fn cb, void *ctx)
{
	int n;

	t->cb = cb;
	t->cb_ctx = ctx;
	t->cb_ret = 0;
	n = ring_buffer__consume(t->rb);
	t->cb = NULL;
	if (t->cb_ret)
		return t->cb_ret;
	return n;
}

/* ---- maps ---------------------------------------------------------------- */

/* Add the per-CPU values (nwords u64 each) of key cgid in map fd to out. */
static int sum_percpu(struct tele *t, int fd, uint64_t cgid, uint64_t *out, size_t nwords)
{
	int cpu;
	size_t i;

	if (bpf_map_lookup_elem(fd, &cgid, t->pcpu) < 0)
		return -errno;
	for (cpu = 0; cpu < t->ncpus; cpu++)
		for (i = 0; i < nwords; i++)
			out[i] += t->pcpu[(size_t)cpu * nwords + i];
	return 0;
}

static int map_fds(const struct tele *t, int fds[3])
{
	fds[0] = bpf_map__fd(t->sched->maps.cg_counters);
	fds[1] = bpf_map__fd(t->sched->maps.runq_hist);
	fds[2] = bpf_map__fd(t->io->maps.blk_cg);
	return 3;
}

/* Copy the summed kernel counters c and histograms into out. */
static void fill_counters(struct tele_counters *out, const struct tele_cg_counters *c,
			  const struct tele_hist *rq, const struct tele_blk *blk)
{
	out->cpu_ns = c->cpu_ns;
	out->ctx_voluntary = c->ctx_voluntary;
	out->ctx_involuntary = c->ctx_involuntary;
	out->runq_count = rq->count;
	out->runq_sum_ns = rq->sum_ns;
	out->blk_read_bytes = blk->read_bytes;
	out->blk_write_bytes = blk->write_bytes;
	out->blk_read_ios = blk->read_ios;
	out->blk_write_ios = blk->write_ios;
	out->blk_lat_count = blk->lat.count;
	out->blk_lat_sum_ns = blk->lat.sum_ns;
	out->net_rx_bytes = c->net_rx_bytes;
	out->net_rx_packets = c->net_rx_packets;
	out->net_tx_bytes = c->net_tx_bytes;
	out->net_tx_packets = c->net_tx_packets;
	out->tcp_opened = c->tcp_opened;
	out->tcp_closed = c->tcp_closed;
	out->oom_kills = c->oom_kills;
	out->fatal_signals = c->fatal_signals;
	memcpy(out->runq_hist, rq->bucket, sizeof(out->runq_hist));
	memcpy(out->blk_lat_hist, blk->lat.bucket, sizeof(out->blk_lat_hist));
}

int tele_read(struct tele *t, uint64_t cgid, struct tele_counters *out)
{
	struct tele_cg_counters c = { 0 };
	int fds[3], e0, e1, e2;

	memset(out, 0, sizeof(*out));
	memset(&t->rq_sum, 0, sizeof(t->rq_sum));
	memset(&t->blk_sum, 0, sizeof(t->blk_sum));
	map_fds(t, fds);
	e0 = sum_percpu(t, fds[0], cgid, (uint64_t *)&c, NCOUNTERS);
	e1 = sum_percpu(t, fds[1], cgid, (uint64_t *)&t->rq_sum, NHIST);
	e2 = sum_percpu(t, fds[2], cgid, (uint64_t *)&t->blk_sum, NBLK);
	if (e0 && e1 && e2)
		return e0 == -ENOENT ? -ENOENT : e0;
	fill_counters(out, &c, &t->rq_sum, &t->blk_sum);
	return 0;
}

int tele_forget(struct tele *t, uint64_t cgid)
{
	int fds[3], i, n = map_fds(t, fds), err = 0;

	for (i = 0; i < n; i++)
		if (bpf_map_delete_elem(fds[i], &cgid) < 0 && errno != ENOENT)
			err = -errno;
	return err;
}

/* Append the keys of map fd for which alive() is false to *dead. */
static int collect_dead(int fd, bool (*alive)(uint64_t, void *), void *ctx, uint64_t **dead,
			size_t *n, size_t *cap)
{
	uint64_t key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (alive(key, ctx))
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			uint64_t *p = realloc(*dead, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			*dead = p;
			*cap = ncap;
		}
		(*dead)[(*n)++] = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int tele_sweep(struct tele *t, bool (*alive)(uint64_t cgid, void *ctx), void *ctx)
{
	uint64_t *dead = NULL;
	size_t n = 0, cap = 0, i, removed = 0;
	int fds[3], k, nf = map_fds(t, fds), err = 0;

	for (k = 0; k < nf && !err; k++)
		err = collect_dead(fds[k], alive, ctx, &dead, &n, &cap);
	if (!err && n)
		qsort(dead, n, sizeof(*dead), cmp_u64);
	for (i = 0; !err && i < n; i++) {
		if (i > 0 && dead[i] == dead[i - 1])
			continue;
		err = tele_forget(t, dead[i]);
		removed++;
	}
	free(dead);
	return err ? err : (int)removed;
}

int tele_count_entries(struct tele *t)
{
	int fd = bpf_map__fd(t->sched->maps.cg_counters), n = 0;
	uint64_t key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

int tele_req_sock_map_fd(const struct tele *t)
{
	int i;

	for (i = 0; i < t->nprogs; i++)
		if (t->progs[i] == t->io->progs.net_ingress && t->links[i])
			return bpf_map__fd(t->io->maps.req_socks);
	return -1;
}

/* ---- status -------------------------------------------------------------- */

static bool stats_enabled(void)
{
	char c = '0';
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '1';
}

static uint64_t ring_drops(struct tele *t)
{
	uint64_t sum = 0;
	__u32 zero = 0;
	int cpu;

	if (bpf_map_lookup_elem(bpf_map__fd(t->ev->maps.rb_drops), &zero, t->pcpu) < 0)
		return 0;
	for (cpu = 0; cpu < t->ncpus; cpu++)
		sum += t->pcpu[cpu];
	return sum;
}

void tele_status(struct tele *t, struct tele_status *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	st->progs_total = (unsigned int)t->nprogs;
	for (i = 0; i < t->nprogs; i++) {
		struct tele_prog_status *ps = &st->prog[i];
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		snprintf(ps->name, sizeof(ps->name), "%s", bpf_program__name(t->progs[i]));
		ps->attached = t->links[i] != NULL ||
			       (strcmp(bpf_program__section_name(t->progs[i]), "perf_event") == 0 &&
				t->nsampled > 0);
		st->progs_attached += ps->attached;
		if (bpf_obj_get_info_by_fd(bpf_program__fd(t->progs[i]), &info, &len) == 0) {
			ps->run_cnt = info.run_cnt;
			ps->run_time_ns = info.run_time_ns;
		}
	}
	st->stats_enabled = t->stats_fd >= 0 || stats_enabled();
	st->raw_tp = t->raw_tp;
	st->rb_drops = ring_drops(t);
	st->events = t->events;
	st->bad_events = t->bad_events;
}
