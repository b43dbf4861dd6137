/*
 * requests.c - user side of the request telemetry (bpf/requests.bpf.c).
 *
 * Walks the usual skeleton path (open -> set read-only options -> load ->
 * attach), reads the per-cgroup aggregates on demand, samples listener
 * accept queues through NETLINK_SOCK_DIAG (the kernel has no tracepoint on
 * the accept queue, and one dump of listeners per tick is cheap) in
 * presaged's network namespace and in those of the containers (sockets made
 * there by telemetry/netns.c), and drains
 * slow-request exemplars from the ring buffer.
 */
#include "telemetry/requests.h"

#include "common/log.h"
#include "core/histq.h"
#include "requests.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct req_ev_slow) == 88, "req_ev_slow layout");
_Static_assert(sizeof(struct req_cg) == (REQ_CLASS_N + 4 + HIST_BUCKETS) * 8, "req_cg layout");

#define TCP_LISTEN_STATE 10

/* Accept-queue figures of one cgroup at the last sample. */
struct req_listen {
	uint64_t cgid;
	uint64_t depth;
	uint64_t max;
	uint32_t n;
};

struct req_tele {
	struct requests_bpf *skel;
	struct ring_buffer *rb;
	int ncpu;
	struct req_listen *lis; /* sorted by cgid */
	size_t nlis;
	bool sampled;
	/* req_poll() callback, valid during the call only */
	req_slow_cb cb;
	void *cb_ctx;
	int delivered;
	struct req_cg *cg; /* lookup buffer: 5 KiB, kept off the stack */
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct req_tele *r = ctx;
	const struct req_ev_slow *ev = data;

	if (size < sizeof(*ev) || ev->kind != REQ_EV_SLOW)
		return 0;
	if (r->cb)
		r->cb(r->cb_ctx, ev);
	r->delivered++;
	return 0;
}

/* Set read-only options on an opened, not yet loaded skeleton. */
static void apply_opts(struct requests_bpf *skel, const struct req_opts *o)
{
	if (!o)
		return;
	if (o->slow_ns)
		skel->rodata->opt_slow_ns = o->slow_ns == UINT64_MAX ? 0 : o->slow_ns;
	if (o->slow_gap_ns)
		skel->rodata->opt_slow_gap_ns = o->slow_gap_ns;
	if (o->no_arrival || o->arrival_from_tele)
		bpf_program__set_autoload(skel->progs.req_arrival, false);
}

/* Use the telemetry's socket-storage map when asked to (see struct req_opts). */
static int share_sk_map(struct requests_bpf *skel, const struct req_opts *o)
{
	int err;

	if (!o || !o->arrival_from_tele || o->no_arrival)
		return 0;
	err = bpf_map__reuse_fd(skel->maps.req_socks, o->tele_sk_map_fd);
	if (err)
		log_err("failed to share the telemetry's socket map: %s", strerror(-err));
	return err;
}

struct req_tele *req_open_opts(const struct req_opts *opts)
{
	struct req_tele *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->cg = malloc(sizeof(*r->cg));
	if (!r->cg) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	log_route_libbpf();
	r->ncpu = libbpf_num_possible_cpus();
	r->skel = requests_bpf__open();
	if (!r->skel || r->ncpu <= 0) {
		err = r->ncpu <= 0 ? r->ncpu : -errno;
		log_err("failed to open request programs: %s", strerror(-err));
		goto fail;
	}
	apply_opts(r->skel, opts);
	err = share_sk_map(r->skel, opts);
	if (err)
		goto fail;
	err = requests_bpf__load(r->skel);
	if (err) {
		log_err("failed to load request programs: %s", strerror(-err));
		goto fail;
	}
	err = requests_bpf__attach(r->skel);
	if (err) {
		log_err("failed to attach request programs: %s", strerror(-err));
		goto fail;
	}
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.req_events), on_event, r, NULL);
	if (!r->rb) {
		err = -errno;
		log_err("failed to open request ring buffer: %s", strerror(-err));
		goto fail;
	}
	return r;
fail:
	req_free(r);
	errno = -err;
	return NULL;
}

struct req_tele *req_open(void)
{
	return req_open_opts(NULL);
}

void req_free(struct req_tele *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	requests_bpf__destroy(r->skel);
	free(r->lis);
	free(r->cg);
	free(r);
}

static int lis_cmp(const void *a, const void *b)
{
	const struct req_listen *x = a, *y = b;

	return x->cgid < y->cgid ? -1 : x->cgid > y->cgid;
}

/* Add one listener to the (unsorted) table being built. */
static int lis_add(struct req_listen **tab, size_t *n, size_t *cap, uint64_t cgid,
		   uint32_t depth, uint32_t max)
{
	for (size_t i = 0; i < *n; i++) {
		if ((*tab)[i].cgid == cgid) {
			(*tab)[i].depth += depth;
			(*tab)[i].max += max;
			(*tab)[i].n++;
			return 0;
		}
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct req_listen *t = realloc(*tab, ncap * sizeof(**tab));

		if (!t)
			return -ENOMEM;
		*tab = t;
		*cap = ncap;
	}
	(*tab)[(*n)++] = (struct req_listen){ .cgid = cgid, .depth = depth, .max = max, .n = 1 };
	return 0;
}

/* The cgroup id attribute of one inet_diag reply, 0 when absent. */
static uint64_t diag_cgid(const struct nlmsghdr *h)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	uint64_t id = 0;

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= sizeof(id)) {
			memcpy(&id, RTA_DATA(a), sizeof(id));
			break;
		}
	}
	return id;
}

/* Parse one buffer of dump replies; 1 when the dump is done. */
static int diag_parse(const char *buf, int len, struct req_listen **tab, size_t *n, size_t *cap)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

	for (; NLMSG_OK(h, (unsigned int)len); h = NLMSG_NEXT(h, len)) {
		const struct inet_diag_msg *m;
		int err;

		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error ? e->error : -EPROTO;
		}
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return -EPROTO;
		m = NLMSG_DATA(h);
		err = lis_add(tab, n, cap, diag_cgid(h), m->idiag_rqueue, m->idiag_wqueue);
		if (err)
			return err;
	}
	return 0;
}

/* Dump the TCP listeners of one address family into the table. */
static int diag_dump(int fd, int family, char *buf, size_t bufsz, struct req_listen **tab,
		     size_t *n, size_t *cap)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = 1u << TCP_LISTEN_STATE },
	};
	int done = 0;

	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	while (!done) {
		ssize_t len = recv(fd, buf, bufsz, 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len < 0 ? -errno : -EPROTO;
		done = diag_parse(buf, (int)len, tab, n, cap);
		if (done < 0)
			return done;
	}
	return 0;
}

/* Dump the TCP listeners of both families through diag socket fd into the table. */
static int diag_dump_all(int fd, char *buf, size_t bufsz, struct req_listen **tab, size_t *n,
			 size_t *cap)
{
	int err = diag_dump(fd, AF_INET, buf, bufsz, tab, n, cap);

	return err ? err : diag_dump(fd, AF_INET6, buf, bufsz, tab, n, cap);
}

int req_sample(struct req_tele *r, const int *ns_fds, size_t n_ns)
{
	const size_t bufsz = 32768;
	struct req_listen *tab = NULL;
	size_t n = 0, cap = 0;
	char *buf;
	int fd, err;

	buf = malloc(bufsz);
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0 || !buf) {
		err = fd < 0 ? -errno : -ENOMEM;
		free(buf);
		if (fd >= 0)
			close(fd);
		return err;
	}
	err = diag_dump_all(fd, buf, bufsz, &tab, &n, &cap);
	close(fd);
	/*
	 * The other namespaces: one that fails only loses its own listeners
	 * (its socket stays open, so the namespace cannot have gone away).
	 */
	for (size_t i = 0; !err && i < n_ns; i++) {
		int e = diag_dump_all(ns_fds[i], buf, bufsz, &tab, &n, &cap);

		if (e == -ENOMEM) {
			err = e;
		} else if (e) {
			/* Its listeners may be partly counted this tick; the next dump starts afresh. */
			LOG_RATELIMITED(LOG_WARN,
					"failed to sample accept queues of a container network "
					"namespace: %s",
					strerror(-e));
		}
	}
	free(buf);
	if (err) {
		free(tab);
		LOG_RATELIMITED(LOG_WARN, "failed to sample accept queues: %s", strerror(-err));
		return err;
	}
	if (n)
		qsort(tab, n, sizeof(*tab), lis_cmp);
	free(r->lis);
	r->lis = tab;
	r->nlis = n;
	r->sampled = true;
	return 0;
}

/* Fill the accept-queue fields of out from the last sample. */
static void fill_listen(const struct req_tele *r, uint64_t cgid, struct req_figures *out)
{
	struct req_listen key = { .cgid = cgid }, *l;

	out->accept_queue_known = r->sampled;
	if (!r->nlis)
		return;
	l = bsearch(&key, r->lis, r->nlis, sizeof(*r->lis), lis_cmp);
	if (!l)
		return;
	out->accept_queue_depth = l->depth;
	out->accept_queue_max = l->max;
	out->listeners = l->n;
}

int req_read(struct req_tele *r, uint64_t cgid, struct req_figures *out)
{
	const struct req_cg *v = r->cg;
	int err;

	memset(out, 0, sizeof(*out));
	fill_listen(r, cgid, out);
	err = bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.req_cgroups), &cgid, r->cg);
	if (err) {
		err = -errno;
		if (err == -ENOENT && out->listeners)
			return 0;
		return err;
	}
	for (int i = 0; i < REQ_CLASS_N; i++) {
		out->count[i] = v->count[i];
		out->total += v->count[i];
	}
	out->errors_5xx = v->count[REQ_CLASS_5XX];
	memcpy(out->hist, v->hist, sizeof(out->hist));
	for (int i = 0; i < HIST_BUCKETS; i++)
		out->hist_count += v->hist[i];
	out->sum_ns = v->sum_ns;
	out->abandoned = v->abandoned;
	/* opened and closed are read at different instants: never below 0 */
	out->connections_active =
		v->conn_opened > v->conn_closed ? v->conn_opened - v->conn_closed : 0;
	return 0;
}

double req_quantile(const struct req_figures *f, double q)
{
	double b[HIST_BUCKETS];

	for (int i = 0; i < HIST_BUCKETS; i++)
		b[i] = (double)f->hist[i];
	return histq_quantile(b, q);
}

int req_forget(struct req_tele *r, uint64_t cgid)
{
	if (bpf_map_delete_elem(bpf_map__fd(r->skel->maps.req_cgroups), &cgid))
		return -errno;
	return 0;
}

/* Run statistics of one program (zero unless kernel.bpf_stats_enabled). */
static void prog_status(const struct bpf_program *p, const struct bpf_link *l,
			struct req_prog_status *st)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(p);

	memset(&info, 0, sizeof(info));
	if (!bpf_program__autoload(p))
		return; /* not part of this configuration: name stays NULL */
	st->name = bpf_program__name(p);
	st->attached = l != NULL;
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		st->run_cnt = info.run_cnt;
		st->run_time_ns = info.run_time_ns;
	}
}

/* Sum the per-CPU loss counters into st->stat. */
static int stats_sum(struct req_tele *r, struct req_status *st)
{
	int fd = bpf_map__fd(r->skel->maps.req_stats);
	uint64_t *vals = calloc((size_t)r->ncpu, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < REQ_ST_N; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < r->ncpu; c++)
			st->stat[k] += vals[c];
	}
	free(vals);
	return 0;
}

int req_status(struct req_tele *r, struct req_status *st)
{
	struct requests_bpf *s = r->skel;
	int fd = bpf_map__fd(s->maps.req_cgroups);
	uint64_t key, next;
	void *prev = NULL;

	memset(st, 0, sizeof(*st));
	prog_status(s->progs.req_state, s->links.req_state, &st->prog[0]);
	prog_status(s->progs.req_arrival, s->links.req_arrival, &st->prog[1]);
	prog_status(s->progs.req_recv, s->links.req_recv, &st->prog[2]);
	prog_status(s->progs.req_send, s->links.req_send, &st->prog[3]);
	st->max_cgroups = bpf_map__max_entries(s->maps.req_cgroups);
	while (!bpf_map_get_next_key(fd, prev, &next) && st->cgroups < st->max_cgroups) {
		st->cgroups++;
		key = next;
		prev = &key;
	}
	return stats_sum(r, st);
}

int req_poll(struct req_tele *r, int timeout_ms, req_slow_cb cb, void *ctx)
{
	int err;

	r->cb = cb;
	r->cb_ctx = ctx;
	r->delivered = 0;
	err = ring_buffer__poll(r->rb, timeout_ms);
	r->cb = NULL;
	if (err < 0 && err != -EINTR)
		return err;
	return r->delivered;
}

int req_events_fd(struct req_tele *r)
{
	return ring_buffer__epoll_fd(r->rb);
}
