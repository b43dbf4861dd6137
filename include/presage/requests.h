/*
 * requests.h - structs shared by bpf/requests.bpf.c and user/telemetry/requests.c.
 *
 * Server-side request telemetry: the kernel pairs each request received on
 * an accepted TCP connection with the first bytes sent back, and aggregates
 * per v2 cgroup (count by HTTP status class, log-linear latency histogram,
 * connections opened/closed).  Only sampled slow requests (exemplars) travel
 * through the ring buffer, each starting with a tele_ev_hdr.  Fixed-width
 * fields, explicit padding, no pointers.
 */
#ifndef PRESAGE_REQUESTS_H
#define PRESAGE_REQUESTS_H

#include "presage/hist.h"

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bounds of every map (the kernel side never grows past these). */
#define REQ_MAX_CGROUPS	 4096 /* cgroups with request figures */
#define REQ_RINGBUF_SIZE (64 * 1024)
#define REQ_LINE_LEN	 48 /* bytes of the request line kept for exemplars */

/* Ring-buffer record kind (tele_ev_hdr.kind); apart from telemetry.h's kinds. */
#define REQ_EV_SLOW 32

/* Status classes: index = first digit - 1 for 1xx..5xx, REQ_CLASS_OTHER else. */
enum req_class {
	REQ_CLASS_1XX = 0,
	REQ_CLASS_2XX,
	REQ_CLASS_3XX,
	REQ_CLASS_4XX,
	REQ_CLASS_5XX,
	REQ_CLASS_OTHER, /* non-HTTP protocol, or a response we could not read */
	REQ_CLASS_N,
};

/* Per-CPU loss and diagnostic counters (index into the req_stats map). */
enum req_stat {
	REQ_ST_CG_FULL = 0,  /* request dropped: per-cgroup map full */
	REQ_ST_SK_NOMEM,     /* connection untracked: socket storage allocation failed */
	REQ_ST_READ_FAIL,    /* syscall buffer unreadable: classified as other */
	REQ_ST_RB_DROP,	     /* exemplar dropped: ring buffer full */
	REQ_ST_PIPELINED,    /* requests that arrived before the previous response */
	REQ_ST_ABANDONED,    /* connection closed with a request unanswered */
	REQ_ST_UNPAIRED,     /* HTTP response start with no request to pair */
	REQ_ST_NO_ARRIVAL,   /* request timed from recv: its arrival was not seen */
	REQ_ST_N,
};

/* Per-cgroup aggregate (one shared copy, updated with atomic adds). */
struct req_cg {
	__u64 count[REQ_CLASS_N];
	__u64 sum_ns;	    /* sum of latencies of counted requests */
	__u64 conn_opened;  /* passive opens charged to this cgroup */
	__u64 conn_closed;  /* ... and their ends (active = opened - closed) */
	__u64 abandoned;    /* requests never answered (connection closed) */
	__u64 hist[HIST_BUCKETS];
};

/* REQ_EV_SLOW: one sampled slow request. */
struct req_ev_slow {
	__u16 kind;	/* tele_ev_hdr layout: REQ_EV_SLOW */
	__u16 version;	/* 1 */
	__u32 size;	/* whole record */
	__u64 ts_ns;	/* CLOCK_MONOTONIC when the response started */
	__u64 cgid;
	__u64 latency_ns;
	__u32 pid;	/* thread-group id of the responding task */
	__u16 lport;	/* local (server) port, host order */
	__u8 class;	/* enum req_class */
	__u8 pad;
	char req_line[REQ_LINE_LEN]; /* first bytes of the request, not terminated */
};

#endif
