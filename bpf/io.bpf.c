// SPDX-License-Identifier: GPL-2.0
/*
 * io.bpf.c - block I/O and network traffic per cgroup.
 *
 * Block: completion runs in interrupt context where `current` is anyone, so
 * the submitting cgroup is remembered per request (keyed by its address) at
 * block_rq_insert, or at block_rq_issue for requests issued directly; the
 * latency runs from issue to the final completion.  Bytes are counted on
 * every (possibly partial) completion.  In-flight requests live in a
 * direct-mapped array of slots, with an LRU hash keyed by request address
 * for a request whose slot is taken (entries of requests no longer in use
 * age out); a cgroup's bytes, completions and latency histogram are one
 * per-CPU entry (struct tele_blk), so a completion makes one hash lookup.
 *
 * Network: cgroup_skb programs attached to the v2 root see every packet of
 * every socket, with bpf_skb_cgroup_id() naming the socket's cgroup; bytes
 * are skb->len (IP header onwards, a GSO super-packet counted as one
 * packet).  They MUST return 1: anything else drops the host's traffic.
 * TCP connections opened/closed come from sock:inet_sock_set_state, charged
 * to the socket's cgroup (accepted sockets inherit the listener's).
 *
 * Request arrivals: ingress also stamps, for connections the request
 * programs track (socket storage shared with requests.bpf.c), when payload
 * arrived, so that object needs no per-segment tcp_probe program.  An
 * untracked socket costs one socket-storage pointer test.
 */
#include "tele_maps.bpf.h"
#include "req_sock.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define REQ_OP_MASK  0xff
#define REQ_OP_READ  0
#define REQ_OP_WRITE 1
#define IPPROTO_TCP_ 6

struct inflight {
	__u64 cgid;
	__u64 issue_ns;
};

/*
 * In-flight requests: first a direct-mapped array indexed by a hash of the
 * request (slot_index_*), then, for a request whose slot another request
 * holds, an LRU hash keyed by its address.  An array lookup is inlined by the JIT
 * and touches one value page; a hash lookup costs a call, its bucket page
 * and its element page, and block hooks run with a cold TLB (every I/O is
 * a new kernel entry or an interrupt): the array is the common case.
 *
 * Slot ownership is one word, the request address plus BLK_BUSY while the
 * request is between insert/issue and its final completion (plus, not or:
 * the verifier allows a constant offset on a request pointer, no other
 * arithmetic), claimed by compare-and-swap: a request takes a free slot, or the idle slot of a
 * completed request, never a busy one.  Request structs are preallocated
 * and recycled, so a request mostly finds its own idle slot again.  cgid
 * and issue_ns are written only by the owner, after the claim.
 */
#define BLK_SLOTS 4096 /* power of two */
#define BLK_BUSY  1ULL /* request structs are aligned: bit 0 is free */

/* Set by the loader before load; tests set 0 to drive the hash path. */
const volatile __u32 opt_blk_slot_mask = BLK_SLOTS - 1;

struct blk_slot {
	__u64 owner; /* request address (+ BLK_BUSY in flight), 0 = never used */
	__u64 cgid;
	__u64 issue_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLK_SLOTS);
	__type(key, __u32);
	__type(value, struct blk_slot);
} blk_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TELE_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct inflight);
} blk_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TELE_MAX_CGROUPS); /* it holds the byte counters too */
	__type(key, __u64);
	__type(value, struct tele_blk);
} blk_cg SEC(".maps");

static const struct tele_blk zero_blk;

/* ---- block --------------------------------------------------------------- */

/*
 * A request's slot index, the same at its insert, issue and completion: its
 * queue, hardware context and tag (the scheduler tag when an I/O scheduler
 * is in use, fixed from allocation to release; else the driver tag, which
 * is then fixed too).  tp_btf cannot do arithmetic on the request pointer
 * itself; the raw_tp flavour, where it is a number, hashes the address.
 * The loader uses one flavour for all three hooks, so the index function
 * never differs between them.  Ownership compares addresses.
 */
static __always_inline __u32 slot_index_btf(struct request *rq)
{
	struct blk_mq_hw_ctx *h = rq->mq_hctx;
	int itag = rq->internal_tag, tag = rq->tag;
	__u32 x = (__u32)rq->q->id * 0x9E3779B1u ^ (h ? h->queue_num : 0) * 0x85EBCA77u;

	/* two plain loads: a select between field addresses fails the verifier */
	barrier_var(itag);
	barrier_var(tag);
	return (x + (__u32)(itag >= 0 ? itag : tag)) & opt_blk_slot_mask;
}

static __always_inline __u32 slot_index_addr(__u64 rq)
{
	return (__u32)((rq * 0x9E3779B97F4A7C15ULL) >> 52) & opt_blk_slot_mask;
}

static __always_inline struct blk_slot *slot_of(__u32 idx)
{
	idx &= BLK_SLOTS - 1;
	return bpf_map_lookup_elem(&blk_slots, &idx);
}

/*
 * The slot rq holds busy, or one it has just claimed (cgid and issue_ns
 * cleared); NULL: use the hash.
 */
static __always_inline struct blk_slot *slot_claim(__u64 rq, __u32 idx)
{
	struct blk_slot *e = slot_of(idx);
	struct inflight *h;
	__u64 w;

	if (!e)
		return NULL;
	w = e->owner;
	if (w == (rq + BLK_BUSY))
		return e; /* requeued, or a completion was missed */
	if (w & BLK_BUSY)
		return NULL; /* another request is in flight there */
	if (__sync_val_compare_and_swap(&e->owner, w, rq + BLK_BUSY) != w)
		return NULL; /* lost the slot to another CPU */
	e->cgid = 0;
	e->issue_ns = 0;
	/*
	 * The slot changes hands: this life of rq may have begun in the hash
	 * while another request held the slot (then requeued); retire that
	 * record so it cannot outlive this one.  Rare: slots mostly return to
	 * the request that last held them (w == rq).
	 */
	if (w != rq && w) {
		h = bpf_map_lookup_elem(&blk_inflight, &rq);
		if (h)
			h->cgid = 0;
	}
	return e;
}

/* The slot rq holds busy, or NULL. */
static __always_inline struct blk_slot *slot_find(__u64 rq, __u32 idx)
{
	struct blk_slot *e = slot_of(idx);

	return e && e->owner == (rq + BLK_BUSY) ? e : NULL;
}

/*
 * An insert (or re-insert after a requeue) charges the inserting task's
 * cgroup, as the issue says: the cgroup is taken at insert time.
 *
 * Hash entries are reused, not deleted: the next I/O on the same request
 * finds its entry and writes it in place (a lookup) instead of an LRU
 * insert and delete (several times the cost).  cgid == 0 marks an entry
 * whose request completed.
 */
static __always_inline void rq_insert(__u64 rq, __u32 idx)
{
	struct blk_slot *sl = slot_claim(rq, idx);
	struct inflight *e, v = { .cgid = bpf_get_current_cgroup_id() };

	if (sl) {
		sl->cgid = v.cgid;
		sl->issue_ns = 0;
		return;
	}
	e = bpf_map_lookup_elem(&blk_inflight, &rq);
	if (e) {
		e->cgid = v.cgid;
		e->issue_ns = 0;
		return;
	}
	bpf_map_update_elem(&blk_inflight, &rq, &v, BPF_ANY);
}

static __always_inline void rq_issue(__u64 rq, __u32 idx)
{
	struct blk_slot *sl = slot_find(rq, idx);
	struct inflight *e = NULL, v;

	if (!sl) {
		e = bpf_map_lookup_elem(&blk_inflight, &rq);
		if (e && e->cgid) { /* in flight in the hash */
			e->issue_ns = bpf_ktime_get_ns();
			return;
		}
		/* issued directly, without an insert: a slot if one is free */
		sl = slot_claim(rq, idx);
	}
	if (sl) {
		if (!sl->cgid)
			sl->cgid = bpf_get_current_cgroup_id();
		sl->issue_ns = bpf_ktime_get_ns();
		return;
	}
	v.cgid = bpf_get_current_cgroup_id();
	v.issue_ns = bpf_ktime_get_ns();
	if (e) {
		*e = v;
		return;
	}
	bpf_map_update_elem(&blk_inflight, &rq, &v, BPF_ANY);
}

/* nr_bytes of rq done; final when they cover what is left of it. */
static __always_inline void rq_complete(__u64 rq, __u32 idx, __u32 op, __u32 nr_bytes, __u32 left)
{
	struct blk_slot *sl = slot_find(rq, idx);
	struct inflight *e = NULL;
	__u64 cgid, issued, lat;
	struct tele_blk *b;
	__u32 k;

	if (sl) {
		cgid = sl->cgid;
		issued = sl->issue_ns;
		/*
		 * Idle: this request's slot until another takes it.  Released
		 * with an atomic, a full barrier: the loads above must not move
		 * past it (a new owner's writes could be read otherwise).
		 */
		if (nr_bytes >= left)
			__sync_val_compare_and_swap(&sl->owner, rq + BLK_BUSY, rq);
	} else {
		e = bpf_map_lookup_elem(&blk_inflight, &rq);
		if (!e)
			return;
		cgid = e->cgid;
		issued = e->issue_ns;
		if (nr_bytes >= left)
			e->cgid = 0;
	}
	if (!cgid)
		return;
	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return;
	b = lookup_or_init(&blk_cg, &cgid, &zero_blk);
	if (!b)
		return;
	/*
	 * Atomic, though only this program writes blk_cg and this CPU's copy
	 * is uncontended: kernels before the tracing-program recursion guard
	 * (6.1) may nest a hardirq completion over a softirq one.
	 */
	__sync_fetch_and_add(op == REQ_OP_READ ? &b->read_bytes : &b->write_bytes, nr_bytes);
	if (nr_bytes < left)
		return;
	__sync_fetch_and_add(op == REQ_OP_READ ? &b->read_ios : &b->write_ios, 1);
	if (!issued)
		return;
	lat = bpf_ktime_get_ns() - issued;
	k = hist_bucket(lat);
	if (k >= HIST_BUCKETS)
		return;
	__sync_fetch_and_add(&b->lat.bucket[k], 1);
	__sync_fetch_and_add(&b->lat.count, 1);
	__sync_fetch_and_add(&b->lat.sum_ns, lat);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(rq_insert_btf, struct request *rq)
{
	rq_insert((__u64)rq, slot_index_btf(rq));
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(rq_issue_btf, struct request *rq)
{
	rq_issue((__u64)rq, slot_index_btf(rq));
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
	rq_complete((__u64)rq, slot_index_btf(rq), rq->cmd_flags & REQ_OP_MASK, nr_bytes,
		    rq->__data_len);
	return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(rq_insert_raw, struct request *rq)
{
	rq_insert((__u64)rq, slot_index_addr((__u64)rq));
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(rq_issue_raw, struct request *rq)
{
	rq_issue((__u64)rq, slot_index_addr((__u64)rq));
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(rq_complete_raw, struct request *rq, int error, unsigned int nr_bytes)
{
	rq_complete((__u64)rq, slot_index_addr((__u64)rq),
		    BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK, nr_bytes,
		    BPF_CORE_READ(rq, __data_len));
	return 0;
}

/* ---- network ------------------------------------------------------------- */

static __always_inline void charge_skb(struct __sk_buff *skb, int egress)
{
	__u64 cgid = bpf_skb_cgroup_id(skb);
	struct tele_cg_counters *c;

	if (!cgid)
		return;
	c = cg_counters_of(cgid);
	if (!c)
		return;
	if (egress) {
		__sync_fetch_and_add(&c->net_tx_bytes, skb->len);
		__sync_fetch_and_add(&c->net_tx_packets, 1);
	} else {
		__sync_fetch_and_add(&c->net_rx_bytes, skb->len);
		__sync_fetch_and_add(&c->net_rx_packets, 1);
	}
}

#define ETH_P_IPV6_VERSION 6

/* True when this TCP packet (IP header onwards) carries payload. */
static __always_inline int tcp_has_payload(struct __sk_buff *skb)
{
	__u8 b0 = 0, doff = 0;
	__u32 ip_len;

	if (bpf_skb_load_bytes(skb, 0, &b0, 1))
		return 0;
	/* IPv6: a TCP header right after the fixed header (extension headers are rare on TCP) */
	ip_len = (b0 >> 4) == ETH_P_IPV6_VERSION ? 40 : (__u32)(b0 & 0xf) * 4;
	if (bpf_skb_load_bytes(skb, ip_len + 12, &doff, 1))
		return 0;
	return skb->len > ip_len + (__u32)(doff >> 4) * 4;
}

/* Stamp the arrival of payload on a connection the request programs track. */
static __always_inline void req_arrival_skb(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct req_sk *s;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_TCP_)
		return;
	s = bpf_sk_storage_get(&req_socks, sk, 0, 0);
	if (!s || (s->flags & SK_CLOSED) || !tcp_has_payload(skb))
		return;
	req_stamp_arrival(s, bpf_ktime_get_ns());
}

SEC("cgroup_skb/ingress")
int net_ingress(struct __sk_buff *skb)
{
	charge_skb(skb, 0);
	req_arrival_skb(skb);
	return 1;
}

SEC("cgroup_skb/egress")
int net_egress(struct __sk_buff *skb)
{
	charge_skb(skb, 1);
	return 1;
}

/* ---- TCP connections ----------------------------------------------------- */

/* A connection is closed when a state that had it established ends. */
static __always_inline int was_established(int st)
{
	return st == TCP_ESTABLISHED || st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 ||
	       st == TCP_CLOSE_WAIT || st == TCP_LAST_ACK || st == TCP_CLOSING;
}

static __always_inline void tcp_state(__u64 cgid, int oldstate, int newstate)
{
	struct tele_cg_counters *c;
	int opened = newstate == TCP_ESTABLISHED;
	int closed = newstate == TCP_CLOSE && was_established(oldstate);

	if (!cgid || (!opened && !closed))
		return;
	c = cg_counters_of(cgid);
	if (!c)
		return;
	__sync_fetch_and_add(opened ? &c->tcp_opened : &c->tcp_closed, 1);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sock_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	struct cgroup *cg;

	if (sk->sk_protocol != IPPROTO_TCP_)
		return 0;
	cg = sk->sk_cgrp_data.cgroup;
	tcp_state(cg ? cg->kn->id : 0, oldstate, newstate);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(sock_state_raw, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	tcp_state(BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id), oldstate, newstate);
	return 0;
}
