/*
 * tele.h - kernel telemetry: load the BPF programs, read per-cgroup figures.
 *
 * One struct tele owns the sched, io and events BPF objects (sharing one
 * per-cgroup counter map), their links and the ring buffer of rare events.
 * It is meant to be driven by one thread: epoll on tele_fd(), drain with
 * tele_poll(), sample with tele_read() each tick, and drop dead cgroups
 * with tele_forget()/tele_sweep().  Not thread-safe.
 */
#ifndef PRESAGE_TELE_H
#define PRESAGE_TELE_H

#include <stdbool.h>
#include <stdint.h>

#include "presage/telemetry.h"

struct tele;

struct tele_opts {
	bool force_raw_tp;  /* use raw_tp variants even where tp_btf works */
	bool no_runq;	    /* skip run-queue latency (wakeup hooks not attached) */
	bool no_net;	    /* do not attach the cgroup_skb programs */
	bool enable_stats;  /* turn kernel.bpf_stats_enabled on while open */
	bool blk_one_slot;     /* tests: every block request hashes to one in-flight
				* slot, so concurrent requests take the hash path */
	const char *mountinfo; /* NULL: /proc/self/mountinfo (finds the v2 root) */
};

/* A decoded ring-buffer event. */
struct tele_event {
	int kind;	 /* TELE_EV_* */
	uint64_t ts_ns;	 /* CLOCK_MONOTONIC */
	uint64_t cgid;	 /* v2 cgroup id */
	uint32_t pid;	 /* OOM kill / fatal signal: thread-group id */
	int signal;	 /* fatal signal number (SIGKILL for an OOM kill) */
	char comm[TELE_COMM_LEN];
	char path[TELE_PATH_LEN]; /* mkdir/rmdir: path relative to the v2 mount */
};

/* Event callback; a non-zero return stops tele_poll() and is returned. */
typedef int (*tele_event_fn)(const struct tele_event *ev, void *ctx);

/* Per-cgroup figures summed over CPUs (counters since the entry appeared). */
struct tele_counters {
	uint64_t cpu_ns;
	uint64_t ctx_voluntary;
	uint64_t ctx_involuntary;
	uint64_t runq_count;
	uint64_t runq_sum_ns;
	uint64_t blk_read_bytes;
	uint64_t blk_write_bytes;
	uint64_t blk_read_ios;
	uint64_t blk_write_ios;
	uint64_t blk_lat_count;
	uint64_t blk_lat_sum_ns;
	uint64_t net_rx_bytes;
	uint64_t net_rx_packets;
	uint64_t net_tx_bytes;
	uint64_t net_tx_packets;
	uint64_t tcp_opened;
	uint64_t tcp_closed;
	uint64_t oom_kills;
	uint64_t fatal_signals;
	uint64_t runq_hist[HIST_BUCKETS];   /* hist.h buckets, ns */
	uint64_t blk_lat_hist[HIST_BUCKETS]; /* issue -> completion, ns */
};

#define TELE_MAX_PROGS 32

struct tele_prog_status {
	char name[32];
	bool attached;
	uint64_t run_cnt;     /* 0 unless kernel.bpf_stats_enabled */
	uint64_t run_time_ns;
};

struct tele_status {
	unsigned int progs_attached;
	unsigned int progs_total; /* programs of the variants chosen for this kernel */
	struct tele_prog_status prog[TELE_MAX_PROGS];
	bool stats_enabled;	  /* kernel.bpf_stats_enabled at the time of the call */
	bool raw_tp;		  /* some hook uses its raw_tp fallback */
	uint64_t rb_drops;	  /* ring-buffer records lost (buffer full) */
	uint64_t events;	  /* ring-buffer records received */
	uint64_t bad_events;	  /* records of unknown kind/version/size, skipped */
};

/*
 * Check prerequisites (root or CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN, kernel
 * BTF, bpf() allowed), mount tracefs at /sys/kernel/tracing when missing,
 * then open, load and attach every program.  A missing prerequisite is
 * logged as one line naming it; NULL + errno on failure.  o may be NULL.
 */
struct tele *tele_open(const struct tele_opts *o);

/* Release programs, links, maps and the ring buffer; NULL is a no-op. */
void tele_free(struct tele *t);

/* Epoll-able fd that becomes readable when events are waiting. */
int tele_fd(const struct tele *t);

/*
 * Drain waiting events without blocking, calling cb for each.  Returns the
 * number handled, the callback's non-zero value, or -errno.
 */
int tele_poll(struct tele *t, tele_event_fn cb, void *ctx);

/* Sum cgroup cgid's per-CPU figures into out; -ENOENT when it has no entry. */
int tele_read(struct tele *t, uint64_t cgid, struct tele_counters *out);

/* Delete cgroup cgid's entries from every map; 0 even when it had none. */
int tele_forget(struct tele *t, uint64_t cgid);

/*
 * Delete entries of cgroups for which alive() returns false (an exiting
 * task's last switch can recreate an entry after rmdir).  Returns the
 * number of cgroups removed or -errno.
 */
int tele_sweep(struct tele *t, bool (*alive)(uint64_t cgid, void *ctx), void *ctx);

/* Number of cgroups with an entry in the counter map (for tests), or -errno. */
int tele_count_entries(struct tele *t);

/*
 * fd of the socket-storage map whose arrivals the cgroup_skb ingress program
 * stamps, for req_opts.tele_sk_map_fd; -1 when that program is not attached.
 * Owned by t.
 */
int tele_req_sock_map_fd(const struct tele *t);

/* Programs, run statistics, ring-buffer drops and events received. */
void tele_status(struct tele *t, struct tele_status *st);

/*
 * A CPU-clock perf event firing TELE_CPU_SAMPLE_HZ times a second on cpu
 * (the timer cpu_sample runs on); its fd, or -1 with errno.
 */
int tele_open_cpu_timer(int cpu);

#endif
