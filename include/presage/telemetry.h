/*
 * telemetry.h - structs shared by the BPF telemetry programs and user space.
 *
 * The kernel aggregates per cgroup (keyed by the v2 cgroup id) in per-CPU
 * maps; user space sums the CPUs.  Only rare events (cgroup born/died, OOM
 * kill, fatal signal) travel through the ring buffer, each starting with a
 * tele_ev_hdr so one buffer can carry several kinds.  Fixed-width fields,
 * explicit padding, no pointers: the layout must be identical for the BPF
 * target and the host.
 */
#ifndef PRESAGE_TELEMETRY_H
#define PRESAGE_TELEMETRY_H

#include "presage/hist.h"

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TELE_EV_VERSION	  1
#define TELE_COMM_LEN	  16
#define TELE_PATH_LEN	  512
/* Bounds of every map (the kernel side never grows past these). */
#define TELE_MAX_CGROUPS  10240 /* scalar counters */
#define TELE_MAX_HIST_CG  2048	/* cgroups with a latency histogram */
#define TELE_MAX_INFLIGHT 16384 /* block requests between issue and completion */
#define TELE_MAX_RUNQ_PID 32768 /* raw_tp fallback: pids waiting on a run queue */
#define TELE_RINGBUF_SIZE (256 * 1024)
/* Rate of the per-CPU perf timer that charges tasks which keep the CPU (sched.bpf.c). */
#define TELE_CPU_SAMPLE_HZ 50

enum tele_ev_kind {
	TELE_EV_CGROUP_MKDIR = 1,
	TELE_EV_CGROUP_RMDIR = 2,
	TELE_EV_OOM_KILL = 3,
	TELE_EV_FATAL_SIGNAL = 4,
};

/* Header of every ring-buffer record. */
struct tele_ev_hdr {
	__u16 kind;	/* enum tele_ev_kind */
	__u16 version;	/* TELE_EV_VERSION */
	__u32 size;	/* whole record, header included */
	__u64 ts_ns;	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
};

/* TELE_EV_CGROUP_MKDIR / RMDIR: a cgroup of the v2 hierarchy. */
struct tele_ev_cgroup {
	struct tele_ev_hdr hdr;
	__u64 cgid;
	char path[TELE_PATH_LEN]; /* relative to the v2 mount, NUL-terminated */
};

/* TELE_EV_OOM_KILL / TELE_EV_FATAL_SIGNAL: a task and its v2 cgroup. */
struct tele_ev_task {
	struct tele_ev_hdr hdr;
	__u64 cgid;
	__u32 pid;    /* thread-group id */
	__u32 signal; /* SIGKILL for an OOM kill */
	char comm[TELE_COMM_LEN];
};

/* Per-cgroup scalar counters (one copy per CPU in the kernel). */
struct tele_cg_counters {
	__u64 cpu_ns;
	__u64 ctx_voluntary;
	__u64 ctx_involuntary;
	__u64 net_rx_bytes;
	__u64 net_rx_packets;
	__u64 net_tx_bytes;
	__u64 net_tx_packets;
	__u64 tcp_opened;
	__u64 tcp_closed;
	__u64 oom_kills;
	__u64 fatal_signals;
};

/*
 * A log-linear latency histogram (hist.h buckets, nanoseconds) with its
 * count and sum, kept together so a hook touches one map entry per sample.
 */
struct tele_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 bucket[HIST_BUCKETS];
};

/*
 * Per-cgroup block I/O (one copy per CPU in the kernel): bytes and final
 * completions by direction and the issue-to-completion latency, in one
 * entry so a completion makes one map lookup.
 */
struct tele_blk {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 read_ios;
	__u64 write_ios;
	struct tele_hist lat;
};

#endif
