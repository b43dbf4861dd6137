// SPDX-License-Identifier: GPL-2.0
/*
 * requests.bpf.c - server-side request/response telemetry, tracepoints only.
 *
 * Choice of hooks (measured: see docs/requests.md and bench/requests):
 * - Server connections are marked at the SYN_RECV -> ESTABLISHED transition
 *   (tp_btf/inet_sock_set_state): that is a passive open, exactly the
 *   sockets accept() returns, and the tracepoint hands us the socket
 *   pointer.  Per-connection state lives in socket storage, keyed by the
 *   socket itself (pre-fork servers pass sockets between processes, so
 *   pid/fd keys would break) and freed by the kernel with the socket: no
 *   map of connections can leak or fill.
 * - Reads and writes are seen at tp_btf/sock_recv_length and
 *   sock_send_length, which fire for every read, recv, write, send and sendfile
 *   on a socket and may use socket storage.  A socket without our storage
 *   costs one pointer test.
 * - The first bytes of the request/response are read from the syscall's
 *   user buffer, found through the task's saved user registers
 *   (bpf_task_pt_regs: syscall number and arguments).  This replaces the
 *   usual pairing of sys_enter_{read,write,...} with a per-thread scratch
 *   map: no program runs on the (much more frequent) file reads and writes,
 *   and there is no scratch map to fill up.  Unknown syscalls (io_uring,
 *   kernel threads) are timed as a generic protocol and counted.
 * - Arrival time: a request is timed from when the kernel received its
 *   first bytes, not from when the server got round to reading them.  In
 *   the daemon the telemetry's cgroup_skb ingress program (io.bpf.c), which
 *   runs for every packet anyway, stamps it into the shared socket storage
 *   (req_sock.bpf.h); loaded alone, this object stamps it itself from
 *   tp_btf/tcp_probe, which fires for every segment entering
 *   tcp_rcv_established: one more program run per segment of every TCP
 *   connection on the host.  When the arrival was not seen (e.g. data
 *   riding on the handshake ACK), the request is timed from its read, and
 *   counted (REQ_ST_NO_ARRIVAL).
 *
 * Pairing: HTTP/1.x is recognised by a method at the head of the first read;
 * each read that starts with a method starts a request, each write starting
 * with "HTTP/1." is a response (status class from its code).  A request that
 * arrives before the previous response (pipelining) is queued as the next
 * start; responses to requests that arrived in the same segment batch are
 * timed from that batch.  Any other protocol: the first read after a write
 * starts a request, the first write after it ends it.
 *
 * Aggregation per v2 cgroup in a bounded hash (atomic adds: a per-CPU copy of
 * a 5 KiB histogram per cgroup per CPU would cost more than the contention
 * it avoids at request rates).  Races between the softirq (arrival) and the
 * process (read/write) sides of one connection can shift a timestamp, never
 * corrupt a map: tracing programs cannot take spin locks.
 */
#include "req_sock.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MSG_PEEK   2


/* Options, set by the loader before load. */
const volatile __u64 opt_slow_ns = 100000000ULL;   /* exemplar threshold (0: none) */
const volatile __u64 opt_slow_gap_ns = 10000000ULL; /* at most one exemplar per CPU per gap */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, REQ_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct req_cg);
} req_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REQ_ST_N);
	__type(key, __u32);
	__type(value, __u64);
} req_stats SEC(".maps");

/* Last exemplar time per CPU (the exemplar rate limit). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} req_slow_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, REQ_RINGBUF_SIZE);
} req_events SEC(".maps");

RB_DROPS_MAP(req_rb_drops);

static const struct req_cg zero_cg;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&req_stats, &idx);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* The aggregate of cgid, created on first use; NULL (and counted) when full. */
static __always_inline struct req_cg *cg_of(__u64 cgid)
{
	struct req_cg *c = lookup_or_init(&req_cgroups, &cgid, &zero_cg);

	if (!c)
		stat_inc(REQ_ST_CG_FULL);
	return c;
}

static __always_inline void conn_charge(__u64 cgid, int opened)
{
	struct req_cg *c = cg_of(cgid);

	if (!c)
		return;
	if (opened)
		__sync_fetch_and_add(&c->conn_opened, 1);
	else
		__sync_fetch_and_add(&c->conn_closed, 1);
}

/*
 * The user buffer of the socket syscall in progress, or NULL when the
 * current task is not in one we can decode (kernel thread, io_uring,
 * another architecture).  Vectored calls yield their first segment.
 */
static __always_inline const char *syscall_buf(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs;
	const void *iov = NULL, *p = NULL;
	const char *arg;

	if (t->flags & PF_KTHREAD)
		return NULL;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	arg = (const char *)regs->si;
	switch (regs->orig_ax) {
	case 0:	 /* read */
	case 1:	 /* write */
	case 44: /* sendto */
	case 45: /* recvfrom */
		return arg;
	case 19: /* readv */
	case 20: /* writev */
		iov = arg;
		break;
	case 46:  /* sendmsg */
	case 47:  /* recvmsg */
	case 299: /* recvmmsg: the first message */
	case 307: /* sendmmsg */
		/* struct user_msghdr: msg_name, msg_namelen (+pad), msg_iov */
		if (bpf_probe_read_user(&iov, sizeof(iov), arg + 16))
			return NULL;
		break;
	default:
		return NULL;
	}
	if (!iov || bpf_probe_read_user(&p, sizeof(p), iov))
		return NULL;
	return p;
#else
	return NULL;
#endif
}

/* True when the 8 bytes at h start an HTTP/1.x request line. */
static __always_inline int is_http_method(const char *h)
{
	__u32 w = *(const __u32 *)h;

	/* little-endian words of "GET ", "POST", "PUT ", "HEAD", "DELE", ... */
	switch (w) {
	case 0x20544547: /* GET  */
	case 0x54534f50: /* POST */
	case 0x20545550: /* PUT  */
	case 0x44414548: /* HEAD */
	case 0x454c4544: /* DELE(TE) */
	case 0x4954504f: /* OPTI(ONS) */
	case 0x43544150: /* PATC(H) */
	case 0x4e4e4f43: /* CONN(ECT) */
	case 0x43415254: /* TRAC(E) */
		return 1;
	}
	return 0;
}

/* Status class of a response head "HTTP/1.x NNN", or -1 when not one. */
static __always_inline int http_status_class(const char *h)
{
	if (*(const __u32 *)h != 0x50545448 /* HTTP */ || h[4] != '/' || h[5] != '1' ||
	    h[6] != '.' || h[8] != ' ')
		return -1;
	if (h[9] >= '1' && h[9] <= '5')
		return h[9] - '1';
	return REQ_CLASS_OTHER;
}

/* Send one exemplar, at most one per CPU per opt_slow_gap_ns. */
static __always_inline void exemplar(struct sock *sk, struct req_sk *s, __u64 lat, __u64 now,
				     int cls)
{
	struct req_ev_slow *e;
	__u32 zero = 0;
	__u64 *last;

	if (!opt_slow_ns || lat < opt_slow_ns)
		return;
	last = bpf_map_lookup_elem(&req_slow_last, &zero);
	if (!last || now - *last < opt_slow_gap_ns)
		return;
	*last = now;
	e = rb_reserve_or_drop(&req_events, &req_rb_drops, sizeof(*e), REQ_EV_SLOW);
	if (!e) {
		stat_inc(REQ_ST_RB_DROP);
		return;
	}
	e->cgid = s->cgid;
	e->latency_ns = lat;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->lport = sk->__sk_common.skc_num;
	e->class = cls;
	e->pad = 0;
	__builtin_memcpy(e->req_line, s->req_line, REQ_LINE_LEN);
	bpf_ringbuf_submit(e, 0);
}

/* Count one answered request of class cls that took lat ns. */
static __always_inline void complete(struct sock *sk, struct req_sk *s, __u64 lat, __u64 now,
				     int cls)
{
	struct req_cg *c = cg_of(s->cgid);
	__u32 b = hist_bucket(lat), ci = (__u32)cls;

	if (!c)
		return;
	if (ci >= REQ_CLASS_N)
		ci = REQ_CLASS_OTHER;
	/* opaque to the compiler, so the checks below stay on the index registers */
	barrier_var(ci);
	barrier_var(b);
	if (ci >= REQ_CLASS_N || b >= HIST_BUCKETS)
		return;
	__sync_fetch_and_add(&c->count[ci], 1);
	__sync_fetch_and_add(&c->sum_ns, lat);
	__sync_fetch_and_add(&c->hist[b], 1);
	exemplar(sk, s, lat, now, (int)ci);
}

/*
 * Charge the connection to the cgroup of the task serving it: the socket
 * inherited the listener's cgroup, which differs when another process
 * (socket activation, a supervisor) created the listener.  Checked when a
 * request starts, which is when the server is reading it.
 */
static __always_inline void follow_server_cgroup(struct req_sk *s)
{
	__u64 cur = bpf_get_current_cgroup_id();

	if (cur == s->cgid || (bpf_get_current_task_btf()->flags & PF_KTHREAD))
		return;
	if ((s->flags & (SK_COUNTED | SK_CLOSED)) == SK_COUNTED) {
		conn_charge(s->cgid, 0);
		conn_charge(cur, 1);
	}
	s->cgid = cur;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(req_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct sock *s_ = (struct sock *)sk;
	struct req_sk *s;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		s = bpf_sk_storage_get(&req_socks, s_, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!s) {
			stat_inc(REQ_ST_SK_NOMEM);
			return 0;
		}
		s->cgid = sk->sk_cgrp_data.cgroup->kn->id;
		s->flags = SK_COUNTED;
		conn_charge(s->cgid, 1);
		return 0;
	}
	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_CLOSE && newstate != TCP_LAST_ACK)
		return 0;
	s = bpf_sk_storage_get(&req_socks, s_, 0, 0);
	if (!s || (s->flags & SK_CLOSED))
		return 0;
	s->flags |= SK_CLOSED;
	if (s->flags & SK_COUNTED)
		conn_charge(s->cgid, 0);
	if (s->req_start) {
		struct req_cg *c = cg_of(s->cgid);

		stat_inc(REQ_ST_ABANDONED);
		if (c)
			__sync_fetch_and_add(&c->abandoned, 1);
	}
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(req_arrival, struct sock *sk, const struct sk_buff *skb)
{
	struct req_sk *s = bpf_sk_storage_get(&req_socks, sk, 0, 0);
	__u8 doff = 0;

	if (!s || (s->flags & SK_CLOSED))
		return 0;
	/* skb->data is the TCP header here; payload = len - header length */
	if (bpf_probe_read_kernel(&doff, 1, skb->data + 12))
		return 0;
	if (skb->len <= (__u32)(doff >> 4) * 4)
		return 0;
	req_stamp_arrival(s, bpf_ktime_get_ns());
	return 0;
}

/* Keep the first bytes of a request for exemplars (only what was received). */
static __always_inline void keep_req_line(struct req_sk *s, const char *buf, int ret)
{
	__u64 n = ret < REQ_LINE_LEN ? (__u64)ret : REQ_LINE_LEN;

	__builtin_memset(s->req_line, 0, sizeof(s->req_line));
	barrier_var(n);
	if (!buf || n < 1 || n > REQ_LINE_LEN || bpf_probe_read_user(s->req_line, n, buf))
		s->req_line[0] = 0;
}

/* A read of ret > 0 bytes on a server connection: maybe a request start. */
static __always_inline void on_read(struct sock *sk, struct req_sk *s, int ret)
{
	__u64 arrival = s->q_first;
	const char *buf = NULL;
	char head[8] = {};
	int start;

	/* Bytes still queued after this read arrived no earlier than q_last. */
	s->q_first = sk->sk_receive_queue.qlen ? s->q_last : 0;
	if (!arrival) {
		/* the one clock read of a read: stamped arrivals need none */
		arrival = bpf_ktime_get_ns();
		if (!s->req_start)
			stat_inc(REQ_ST_NO_ARRIVAL);
	}
	if (!(s->flags & SK_DECIDED) || (s->flags & SK_HTTP)) {
		buf = syscall_buf();
		if (buf && ret >= 4 && !bpf_probe_read_user(head, sizeof(head), buf) &&
		    is_http_method(head)) {
			s->flags |= SK_HTTP;
		} else {
			buf = NULL;
		}
		s->flags |= SK_DECIDED;
	}
	start = (s->flags & SK_HTTP) ? buf != NULL : !s->req_start;
	if (!start)
		return;
	follow_server_cgroup(s);
	if (!s->req_start) {
		s->req_start = arrival;
		keep_req_line(s, buf ? buf : syscall_buf(), ret);
		return;
	}
	stat_inc(REQ_ST_PIPELINED);
	if (!s->next_start)
		s->next_start = arrival;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(req_recv, struct sock *sk, int ret, int flags)
{
	struct req_sk *s;

	if (ret <= 0 || (flags & MSG_PEEK))
		return 0;
	s = bpf_sk_storage_get(&req_socks, sk, 0, 0);
	if (!s || (s->flags & SK_CLOSED))
		return 0;
	on_read(sk, s, ret);
	return 0;
}

/* A write on an HTTP connection: pair it when it starts a response. */
static __always_inline void on_http_write(struct sock *sk, struct req_sk *s, __u64 now)
{
	const char *buf = syscall_buf();
	char head[12] = {};
	int cls;

	if (!buf || bpf_probe_read_user(head, sizeof(head), buf)) {
		/* unreadable (sendfile, io_uring): time it, class unknown */
		stat_inc(REQ_ST_READ_FAIL);
		cls = REQ_CLASS_OTHER;
	} else {
		cls = http_status_class(head);
		if (cls < 0)
			return; /* the rest of a response */
	}
	if (s->req_start) {
		complete(sk, s, now - s->req_start, now, cls);
		s->last_start = s->req_start;
		s->req_start = s->next_start;
		s->next_start = 0;
	} else if (s->last_start) {
		/* another request of the same arrived batch (pipelining) */
		stat_inc(REQ_ST_PIPELINED);
		complete(sk, s, now - s->last_start, now, cls);
	} else {
		stat_inc(REQ_ST_UNPAIRED);
	}
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(req_send, struct sock *sk, int ret, int flags)
{
	struct req_sk *s;
	__u64 now;

	if (ret <= 0)
		return 0;
	s = bpf_sk_storage_get(&req_socks, sk, 0, 0);
	if (!s || (s->flags & SK_CLOSED))
		return 0;
	now = bpf_ktime_get_ns();
	if (s->flags & SK_HTTP) {
		on_http_write(sk, s, now);
	} else if (s->req_start) {
		complete(sk, s, now - s->req_start, now, REQ_CLASS_OTHER);
		s->req_start = 0;
	}
	return 0;
}
