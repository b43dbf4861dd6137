/*
 * requests.h - request telemetry per cgroup, with no instrumentation.
 *
 * Loads and attaches bpf/requests.bpf.c (server-side request/response
 * pairing on accepted TCP connections, HTTP/1.x status classes, log-linear
 * latency histograms per v2 cgroup) and samples the accept queues of
 * listening sockets through sock_diag.  Figures are cumulative since load;
 * the caller turns them into rates and windowed quantiles.
 *
 * Typical use, once per tick: req_sample(), then req_read() per cgroup;
 * req_forget() when a cgroup dies; req_poll() drains slow-request exemplars.
 */
#ifndef PRESAGE_TELEMETRY_REQUESTS_H
#define PRESAGE_TELEMETRY_REQUESTS_H

#include "presage/requests.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct req_tele;

/* Load options; zeroed fields take the defaults. */
struct req_opts {
	uint64_t slow_ns;     /* exemplar threshold (default 100 ms; UINT64_MAX: none) */
	uint64_t slow_gap_ns; /* at most one exemplar per CPU per gap (default 10 ms) */
	bool no_arrival;      /* time from the read instead of the segment arrival */
	/*
	 * Share the telemetry's socket-storage map (tele_req_sock_map_fd()),
	 * whose cgroup_skb ingress program stamps arrivals: the per-segment
	 * tcp_probe program is then not attached.
	 */
	bool arrival_from_tele;
	int tele_sk_map_fd;
};

/* Cumulative figures of one cgroup. */
struct req_figures {
	uint64_t count[REQ_CLASS_N]; /* by class: 1xx..5xx, other */
	uint64_t total;		     /* sum of count[] */
	uint64_t errors_5xx;	     /* count[REQ_CLASS_5XX] */
	uint64_t hist[HIST_BUCKETS]; /* latency, hist.h buckets (ns) */
	uint64_t hist_count;	     /* == total */
	uint64_t sum_ns;
	uint64_t abandoned;	     /* requests whose connection closed unanswered */
	uint64_t connections_active; /* accepted, not yet closed by the server */
	/* Accept queues of the cgroup's listening sockets at the last req_sample(). */
	uint64_t accept_queue_depth; /* connections waiting for accept() */
	uint64_t accept_queue_max;   /* sum of the listen() backlogs */
	uint32_t listeners;	     /* 0 with accept_queue_known: no listener */
	bool accept_queue_known;     /* false before the first successful sample */
};

/* Program health for `presage status`. */
struct req_prog_status {
	const char *name; /* BPF program name (static storage); NULL: not loaded here */
	bool attached;
	uint64_t run_cnt;     /* 0 unless kernel.bpf_stats_enabled */
	uint64_t run_time_ns;
};

#define REQ_NPROGS 4

struct req_status {
	struct req_prog_status prog[REQ_NPROGS];
	uint64_t stat[REQ_ST_N]; /* loss and diagnostic counters (enum req_stat) */
	uint32_t cgroups;	 /* entries in the per-cgroup map */
	uint32_t max_cgroups;	 /* its bound */
};

/*
 * Load and attach the request programs with default options.  Returns NULL
 * with errno set (and one error line logged) when the kernel refuses.
 */
struct req_tele *req_open(void);

/* Same as req_open() with options (NULL: defaults). */
struct req_tele *req_open_opts(const struct req_opts *opts);

/*
 * Sample the accept queues of every TCP listener in this network namespace
 * and in the n_ns others whose NETLINK_SOCK_DIAG sockets ns_fds are (see
 * telemetry/netns.h), grouped by the listener's v2 cgroup.  0 or -errno; on
 * failure the previous sample stays.  A namespace whose dump fails only
 * loses its own listeners (logged).
 */
int req_sample(struct req_tele *r, const int *ns_fds, size_t n_ns);

/*
 * Cumulative figures of cgroup cgid into out.  0, or -ENOENT when the cgroup
 * has neither requests, connections nor listeners; -errno on map errors.
 */
int req_read(struct req_tele *r, uint64_t cgid, struct req_figures *out);

/* The q-quantile (0 < q < 1) latency of f in seconds; NAN when empty. */
double req_quantile(const struct req_figures *f, double q);

/* Drop the figures of a dead cgroup.  0, or -ENOENT when it had none. */
int req_forget(struct req_tele *r, uint64_t cgid);

/* Fill st with program, map and loss figures.  0 or -errno. */
int req_status(struct req_tele *r, struct req_status *st);

/* Callback for req_poll(): one slow-request exemplar (borrowed). */
typedef void (*req_slow_cb)(void *ctx, const struct req_ev_slow *ev);

/*
 * Deliver pending exemplars to cb, waiting at most timeout_ms (0: no wait).
 * Returns the number delivered or -errno.
 */
int req_poll(struct req_tele *r, int timeout_ms, req_slow_cb cb, void *ctx);

/* Ring-buffer epoll fd, for callers that multiplex (readable: call req_poll). */
int req_events_fd(struct req_tele *r);

/* Detach and free; NULL is a no-op. */
void req_free(struct req_tele *r);

#endif
