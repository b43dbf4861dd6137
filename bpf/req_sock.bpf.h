/*
 * req_sock.bpf.h - per-connection request state in socket storage, shared by
 * requests.bpf.c (which creates and reads it) and io.bpf.c (whose
 * cgroup_skb ingress program, run for every packet anyway, stamps when a
 * tracked connection's payload arrived).  The loader creates the map once
 * and hands its fd to the other object (bpf_map__reuse_fd).
 */
#ifndef PRESAGE_REQ_SOCK_BPF_H
#define PRESAGE_REQ_SOCK_BPF_H

#include "common.bpf.h"
#include "presage/requests.h"

/* Per-connection flags. */
#define SK_COUNTED 1 /* charged in conn_opened */
#define SK_CLOSED  2 /* server side finished: conn_closed charged */
#define SK_DECIDED 4 /* protocol decided at the first read */
#define SK_HTTP	   8 /* HTTP/1.x */

struct req_sk {
	__u64 cgid;	  /* cgroup charged for this connection */
	__u64 q_first;	  /* arrival of the oldest unread payload, 0: none */
	__u64 q_last;	  /* arrival of the newest payload */
	__u64 req_start;  /* start of the oldest unanswered request, 0: none */
	__u64 next_start; /* start of a pipelined request behind it */
	__u64 last_start; /* start of the last answered request */
	__u32 flags;
	__u32 pad;
	char req_line[REQ_LINE_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct req_sk);
} req_socks SEC(".maps");

/* Payload of a tracked, open connection arrived at now (softirq side). */
static __always_inline void req_stamp_arrival(struct req_sk *s, __u64 now)
{
	if (!s->q_first)
		s->q_first = now;
	s->q_last = now;
}

#endif
