/*
 * sampler.c - the telemetry thread's work: keep the set of tracked cgroups
 * in step with the kernel, read every source once per tick and publish the
 * snapshot.
 *
 * Sources per cgroup: BPF counters (tele_read), request telemetry
 * (req_read), cgroup files (cgfs_read: working set, throttling, PSI) and the
 * container registry (identity).  A cgroup that vanishes between listing and
 * reading simply yields missing values this tick; it is dropped from the
 * table, the maps and the registry when its rmdir event arrives, or when two
 * rescans in a row no longer find it (events can be lost when the ring
 * buffer is full).
 */
#include "daemon/daemon.h"

#include "common/log.h"
#include "containers/registry.h"
#include "core/bus.h"
#include "core/snapshot.h"
#include "telemetry/cgfs.h"
#include "telemetry/netns.h"
#include "telemetry/requests.h"
#include "telemetry/tele.h"
#include "runtime/docker.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESCAN_TICKS 10

/* Scratch buffers reused every tick (the telemetry thread is the only user). */
static struct raw_sample scratch_raw;
static struct ctr_identity scratch_id;
static struct tele_counters scratch_tc;
static struct req_figures scratch_rc;

static bool ignored(const struct daemon *d, const char *path)
{
	if (strcmp(path, "/") == 0 || path[0] == '\0')
		return true;
	for (int i = 0; i < d->cfg->telemetry.n_ignore; i++) {
		const char *p = d->cfg->telemetry.ignore_cgroups[i];

		if (strncmp(path, p, strlen(p)) == 0)
			return true;
	}
	return false;
}

static void track(struct daemon *d, uint64_t cgid, const char *path)
{
	struct cg_entry *e;

	if (ignored(d, path))
		return;
	e = cgtable_get(d->cgs, cgid);
	if (e) {
		e->missed_scans = 0;
		return;
	}
	e = cgtable_add(d->cgs, cgid, path);
	if (!e) {
		LOG_RATELIMITED(LOG_WARN, "not tracking cgroup %s: %s (telemetry.max_cgroups=%d)",
				path, strerror(errno), d->cfg->telemetry.max_cgroups);
		return;
	}
	if (d->reg)
		registry_add(d->reg, cgid, path);
	log_debug("tracking cgroup %s (id %llu)", path, (unsigned long long)cgid);
}

static void untrack(struct daemon *d, uint64_t cgid)
{
	struct cg_entry *e = cgtable_get(d->cgs, cgid);

	if (!e)
		return;
	log_debug("cgroup %s (id %llu) is gone", e->path, (unsigned long long)cgid);
	if (d->tele)
		tele_forget(d->tele, cgid);
	if (d->req)
		req_forget(d->req, cgid);
	if (d->reg)
		registry_remove(d->reg, cgid);
	cgtable_del(d->cgs, cgid);
}

void sampler_on_cgroup_event(struct daemon *d, bool born, uint64_t cgid, const char *path)
{
	if (born)
		track(d, cgid, path);
	else
		untrack(d, cgid);
}

static int rescan_cb(uint64_t cgid, const char *path, void *ctx)
{
	track(ctx, cgid, path);
	return 0;
}

static void age_entry(struct cg_entry *e, void *ctx)
{
	e->missed_scans++;
}

static bool alive_cb(uint64_t cgid, void *ctx)
{
	struct daemon *d = ctx;

	return cgtable_get(d->cgs, cgid) != NULL;
}

void sampler_rescan(struct daemon *d)
{
	struct cg_entry *gone[256];
	size_t n = 0, count;
	struct cg_entry **all;

	cgtable_foreach(d->cgs, age_entry, NULL);
	if (d->cgfs && cgfs_walk(d->cgfs, rescan_cb, d))
		LOG_RATELIMITED(LOG_WARN, "failed to walk the cgroup v2 tree: %s", strerror(errno));
	count = cgtable_count(d->cgs);
	all = malloc((count ? count : 1) * sizeof(*all));
	if (!all)
		return;
	count = cgtable_list(d->cgs, all, count);
	for (size_t i = 0; i < count && n < 256; i++)
		if (all[i]->missed_scans >= 2)
			gone[n++] = all[i];
	free(all);
	for (size_t i = 0; i < n; i++)
		untrack(d, gone[i]->cgid);
	/* An exiting task's last switch can recreate a map entry after rmdir. */
	if (d->tele)
		tele_sweep(d->tele, alive_cb, d);
}

static int on_tele_event(const struct tele_event *ev, void *ctx)
{
	struct daemon *d = ctx;
	struct cg_entry *e = cgtable_get(d->cgs, ev->cgid);
	const char *where = e ? e->path : "?";

	d->events_seen++;
	switch (ev->kind) {
	case TELE_EV_CGROUP_MKDIR:
		sampler_on_cgroup_event(d, true, ev->cgid, ev->path);
		break;
	case TELE_EV_CGROUP_RMDIR:
		sampler_on_cgroup_event(d, false, ev->cgid, ev->path);
		break;
	case TELE_EV_OOM_KILL:
		bus_emit(BUS_TELEMETRY, NULL, where, NULL, "oom_kill", "memory_limit",
			 "OOM killer killed pid %u (%s) in cgroup %s", ev->pid, ev->comm, where);
		break;
	case TELE_EV_FATAL_SIGNAL:
		bus_emit(BUS_TELEMETRY, NULL, where, NULL, "fatal_signal", "signal",
			 "pid %u (%s) in cgroup %s got signal %d", ev->pid, ev->comm, where,
			 ev->signal);
		break;
	default:
		break;
	}
	return 0;
}

void sampler_drain(struct daemon *d)
{
	if (d->tele)
		tele_poll(d->tele, on_tele_event, d);
}

/*
 * A slow-request exemplar.  The kernel already samples them (one per CPU per
 * gap); the bus gets at most one a second so they cannot crowd out scaling
 * and lifecycle events.
 */
static void on_slow_request(void *ctx, const struct req_ev_slow *ev)
{
	static double last;
	struct daemon *d = ctx;
	struct cg_entry *e = cgtable_get(d->cgs, ev->cgid);
	char line[REQ_LINE_LEN + 1];
	double now = mono_now();
	size_t n = 0;

	if (now - last < 1.0)
		return;
	last = now;
	/* The request line is raw bytes from the wire: keep printable ASCII only. */
	for (size_t i = 0; i < REQ_LINE_LEN && ev->req_line[i] && ev->req_line[i] != '\r' &&
			   ev->req_line[i] != '\n'; i++)
		line[n++] = ev->req_line[i] >= 0x20 && ev->req_line[i] < 0x7f ? ev->req_line[i] : '?';
	line[n] = '\0';
	bus_emit(BUS_TELEMETRY, NULL, e ? e->path : "?", NULL, "slow_request", "exemplar",
		 "%.1f ms on port %u in cgroup %s (pid %u): %s", (double)ev->latency_ns / 1e6,
		 ev->lport, e ? e->path : "?", ev->pid, line);
}

void sampler_drain_requests(struct daemon *d)
{
	if (d->req)
		req_poll(d->req, 0, on_slow_request, d);
}

static void read_bpf(struct daemon *d, uint64_t cgid, struct raw_sample *r)
{
	struct tele_counters *tc = &scratch_tc;

	if (!d->tele || tele_read(d->tele, cgid, tc))
		return;
	r->have_bpf = true;
	r->cpu_ns = tc->cpu_ns;
	r->ctx_vol = tc->ctx_voluntary;
	r->ctx_invol = tc->ctx_involuntary;
	memcpy(r->runq_hist, tc->runq_hist, sizeof(r->runq_hist));
	r->runq_count = tc->runq_count;
	r->runq_sum_ns = tc->runq_sum_ns;
	r->blk_read = tc->blk_read_bytes;
	r->blk_write = tc->blk_write_bytes;
	r->net_rx = tc->net_rx_bytes;
	r->net_tx = tc->net_tx_bytes;
	r->net_rx_pkts = tc->net_rx_packets;
	r->net_tx_pkts = tc->net_tx_packets;
	r->tcp_opened = tc->tcp_opened;
	r->tcp_closed = tc->tcp_closed;
	r->oom_kills = tc->oom_kills;
	r->fatal_signals = tc->fatal_signals;
}

static void read_requests(struct daemon *d, uint64_t cgid, struct raw_sample *r)
{
	struct req_figures *rc = &scratch_rc;

	if (!d->req || req_read(d->req, cgid, rc))
		return;
	r->have_req = true;
	for (int c = 0; c < CODE__COUNT && c < REQ_CLASS_N; c++)
		r->req_class[c] = rc->count[c];
	memcpy(r->req_hist, rc->hist, sizeof(r->req_hist));
	r->req_count = rc->hist_count;
	r->req_sum_ns = rc->sum_ns;
	r->accept_queue = rc->accept_queue_known ? (double)rc->accept_queue_depth : NAN;
	r->conns_active = (double)rc->connections_active;
}

static void read_gauges(struct daemon *d, const struct cg_entry *e, struct raw_sample *r)
{
	struct cgfs_gauges g;

	if (!d->cgfs || cgfs_read(d->cgfs, e->path, &g))
		return; /* vanished between listing and reading: values stay missing */
#define HAVE(bit, val) ((g.have & CGFS_HAVE_##bit) ? (double)(val) : NAN)
	r->mem_working_set = HAVE(MEM_WSET, g.mem_working_set_bytes);
	r->mem_usage = HAVE(MEM_USAGE, g.mem_usage_bytes);
	r->mem_limit = HAVE(MEM_LIMIT, g.mem_limit_bytes);
	r->cpu_throttled_s = HAVE(CPU_THROTTLED, g.cpu_throttled_ns / 1e9);
	r->psi_cpu = HAVE(PSI_CPU, g.psi_cpu_some_avg10);
	r->psi_mem = HAVE(PSI_MEM, g.psi_mem_some_avg10);
	r->psi_io = HAVE(PSI_IO, g.psi_io_some_avg10);
	r->cpu_fallback_s = HAVE(CPU_USAGE, g.cpu_usage_ns / 1e9);
#undef HAVE
}

static void fill_identity(struct daemon *d, const struct cg_entry *e, struct cont_snap *c)
{
	struct ctr_identity *id = &scratch_id;

	c->cgroup_id = e->cgid;
	snprintf(c->cgroup, sizeof(c->cgroup), "%s", e->path);
	c->started = e->first_seen;
	if (d->reg && registry_lookup(d->reg, e->cgid, id) == 0) {
		snprintf(c->id, sizeof(c->id), "%s", id->id);
		snprintf(c->name, sizeof(c->name), "%s", id->name);
		snprintf(c->image, sizeof(c->image), "%s", id->image);
		snprintf(c->service, sizeof(c->service), "%s", id->service);
		snprintf(c->runtime, sizeof(c->runtime), "%s", ctr_runtime_names[id->runtime]);
		c->enabled = id->settings.enabled;
		return;
	}
	snprintf(c->id, sizeof(c->id), "%llu", (unsigned long long)e->cgid);
	snprintf(c->name, sizeof(c->name), "%s", e->path[0] == '/' ? e->path + 1 : e->path);
	snprintf(c->runtime, sizeof(c->runtime), "cgroup");
}

static int cmp_snap(const void *a, const void *b)
{
	return strcmp(((const struct cont_snap *)a)->id, ((const struct cont_snap *)b)->id);
}

static uint64_t tele_figures(struct daemon *d, struct daemon_status *st)
{
	struct tele_status ts;
	uint64_t runs = 0;

	tele_status(d->tele, &ts);
	st->programs_attached = (int)ts.progs_attached;
	st->programs_total = (int)ts.progs_total;
	st->ringbuf_dropped = ts.rb_drops;
	for (int i = 0; i < TELE_MAX_PROGS && st->n_progs < 32; i++) {
		if (!ts.prog[i].name[0])
			continue;
		snprintf(st->bpf_prog_names[st->n_progs], sizeof(st->bpf_prog_names[0]), "%s",
			 ts.prog[i].name);
		st->bpf_events[st->n_progs++] = ts.prog[i].run_cnt;
		runs += ts.prog[i].run_cnt;
	}
	st->bpf_map_entries = tele_count_entries(d->tele);
	return runs + ts.events;
}

static uint64_t req_figures_status(struct daemon *d, struct daemon_status *st)
{
	struct req_status rs;
	uint64_t runs = 0;

	if (req_status(d->req, &rs))
		return 0;
	for (int i = 0; i < REQ_NPROGS && st->n_progs < 32; i++) {
		if (!rs.prog[i].name)
			continue;
		st->programs_total++;
		st->programs_attached += rs.prog[i].attached;
		snprintf(st->bpf_prog_names[st->n_progs], sizeof(st->bpf_prog_names[0]), "%s",
			 rs.prog[i].name);
		st->bpf_events[st->n_progs++] = rs.prog[i].run_cnt;
		runs += rs.prog[i].run_cnt;
	}
	st->req_map_entries = rs.cgroups;
	st->network_namespaces = d->netns ? (int64_t)netns_set_count(d->netns) : 0;
	return runs;
}

static void fill_status(struct daemon *d, struct snapshot *s, double now)
{
	struct daemon_status *st = &s->status;
	uint64_t runs = 0;

	snprintf(st->driver, sizeof(st->driver), "%s", d->cfg->driver);
	st->started = d->started;
	st->tick_seconds = d->cfg->tick_seconds;
	st->docker_connected = d->docker && docker_client_connected(d->docker);
	st->tracked_cgroups = cgtable_count(d->cgs);
	st->bpf_map_entries = -1;
	if (d->tele)
		runs += tele_figures(d, st);
	if (d->req)
		runs += req_figures_status(d, st);
	if (d->prev_tick_mono > 0 && now > d->prev_tick_mono && runs >= d->prev_prog_runs)
		d->events_per_second = (double)(runs - d->prev_prog_runs) / (now - d->prev_tick_mono);
	st->events_per_second = d->events_per_second;
	d->prev_prog_runs = runs;
}

/* Ticks between two rounds of learning the containers' network namespaces. */
#define NETNS_ROUND_TICKS 10

/* Note the network namespace of a process of cgroup e (v2 directory, else v1 memory's). */
static void note_netns(struct daemon *d, const struct cg_entry *e)
{
	const char *v2 = cgfs_v2_root(d->cgfs), *v1 = cgfs_v1_dir(d->cgfs, "memory");
	char dir[4096];
	int err = -ENOENT;

	if (v2 && snprintf(dir, sizeof(dir), "%s%s", v2, e->path) < (int)sizeof(dir))
		err = netns_set_note_cgroup(d->netns, dir);
	if (err == -ENOENT && v1 && snprintf(dir, sizeof(dir), "%s%s", v1, e->path) < (int)sizeof(dir))
		err = netns_set_note_cgroup(d->netns, dir);
	/* No process, or one gone since: an empty cgroup has no listener either. */
	if (err < 0 && err != -ENOENT && err != -ESRCH)
		LOG_RATELIMITED(LOG_WARN, "failed to open the network namespace of cgroup %s: %s",
				e->path, strerror(-err));
}

/*
 * Sample the accept queues in presaged's namespace and the containers'.
 * The namespaces are relearnt every NETNS_ROUND_TICKS ticks: a container's
 * listeners count from at most that long after it starts, and a dead
 * container's namespace is let go as late.
 */
static void sample_listeners(struct daemon *d, struct cg_entry **list, size_t n)
{
	int fds[NETNS_MAX];
	size_t nfds = 0;

	if (d->netns && d->cgfs && d->ticks % NETNS_ROUND_TICKS == 0) {
		netns_set_begin(d->netns);
		for (size_t i = 0; i < n; i++)
			note_netns(d, list[i]);
		netns_set_end(d->netns);
	}
	if (d->netns)
		nfds = netns_set_fds(d->netns, fds, NETNS_MAX);
	req_sample(d->req, fds, nfds);
}

void sampler_tick(struct daemon *d)
{
	double now = mono_now(), decay;
	size_t n = cgtable_count(d->cgs);
	struct cg_entry **list = malloc((n ? n : 1) * sizeof(*list));
	struct snapshot *s = list ? snapshot_new(n) : NULL;

	if (!s) {
		free(list);
		LOG_RATELIMITED(LOG_ERR, "failed to build snapshot: out of memory");
		return;
	}
	if (d->reg)
		registry_poll(d->reg);
	n = cgtable_list(d->cgs, list, n);
	if (d->req)
		sample_listeners(d, list, n); /* accept-queue depths for this tick */
	s->n = n;
	/* Quantile window: mass decays to 1/e after quantile_window_seconds. */
	decay = exp(-d->cfg->tick_seconds / d->cfg->telemetry.quantile_window_seconds);
	for (size_t i = 0; i < n; i++) {
		struct raw_sample *r = &scratch_raw;

		raw_sample_clear(r);
		read_bpf(d, list[i]->cgid, r);
		read_requests(d, list[i]->cgid, r);
		read_gauges(d, list[i], r);
		fill_identity(d, list[i], &s->c[i]);
		tracker_update(&list[i]->tr, r, now, decay, &s->c[i]);
	}
	free(list);
	qsort(s->c, s->n, sizeof(*s->c), cmp_snap);
	fill_status(d, s, now);
	s->seq = ++d->seq;
	s->time = unix_now();
	s->status.last_tick_duration = mono_now() - now;
	d->prev_tick_mono = now;
	snapshot_publish(s);
	if (++d->ticks % RESCAN_TICKS == 0)
		sampler_rescan(d);
}

/* The runtime client: --docker-host / docker.host, else $DOCKER_HOST, else the default socket. */
static struct docker_client *open_docker(const struct presage_config *cfg)
{
	const char *host = cfg->docker.host[0] ? cfg->docker.host : getenv("DOCKER_HOST");
	struct docker_client *dc = docker_client_new(host && *host ? host : "unix:///var/run/docker.sock");

	if (!dc) {
		log_warn("invalid Docker endpoint '%s': containers named by cgroup path",
			 host ? host : "");
		return NULL;
	}
	docker_client_set_timeouts(dc, 1000, cfg->docker.timeout_ms);
	return dc;
}

int sampler_init(struct daemon *d)
{
	struct tele_opts to = { .enable_stats = true };

	d->cgs = cgtable_new((size_t)d->cfg->telemetry.max_cgroups);
	if (!d->cgs) {
		log_err("failed to allocate the cgroup table: %s", strerror(errno));
		return -1;
	}
	d->cgfs = cgfs_new(NULL);
	if (!d->cgfs)
		log_warn("no cgroup filesystem found: memory, throttling and PSI gauges missing");
	d->tele = tele_open(&to);
	if (!d->tele)
		log_err("BPF telemetry unavailable (%s); continuing with cgroup files only",
			strerror(errno));
	d->req = req_open_opts(&(struct req_opts){
		.tele_sk_map_fd = d->tele ? tele_req_sock_map_fd(d->tele) : -1,
		.arrival_from_tele = d->tele && tele_req_sock_map_fd(d->tele) >= 0,
	});
	if (!d->req)
		log_warn("request telemetry unavailable (%s)", strerror(errno));
	d->netns = d->req ? netns_set_new() : NULL;
	if (d->req && !d->netns)
		log_warn("failed to read presaged's network namespace (%s): accept queues of "
			 "containers with their own network are not sampled",
			 strerror(errno));
	d->docker = open_docker(d->cfg);
	d->reg = registry_new(d->docker, (size_t)d->cfg->telemetry.max_cgroups);
	if (!d->reg)
		log_warn("container registry unavailable (%s): cgroups named by path",
			 strerror(errno));
	sampler_rescan(d);
	return 0;
}

void sampler_fini(struct daemon *d)
{
	/* The client first: cancelling its requests calls back into the registry. */
	docker_client_free(d->docker);
	registry_free(d->reg);
	netns_set_free(d->netns);
	req_free(d->req);
	tele_free(d->tele);
	cgfs_free(d->cgfs);
	cgtable_free(d->cgs);
	d->reg = NULL;
	d->docker = NULL;
	d->req = NULL;
	d->netns = NULL;
	d->tele = NULL;
	d->cgfs = NULL;
	d->cgs = NULL;
}
