// SPDX-License-Identifier: GPL-2.0
/*
 * sched.bpf.c - CPU time, context switches and run-queue latency per cgroup.
 *
 * - CPU time, where the loader can open per-CPU perf timers (tp_btf path):
 *   from the task's own se.sum_exec_runtime, which update_curr advances for
 *   every scheduling class by the same delta it charges to cpuacct.  Each
 *   CPU remembers the task it runs and how much of that task's runtime is
 *   already charged (cpu_stint); sched_switch charges the rest to prev's
 *   cgroup, and the cpu_sample program, a perf timer at TELE_CPU_SAMPLE_HZ
 *   on every CPU, charges a task that keeps the CPU for long.  That costs
 *   nothing per context switch beyond the switch program that runs anyway,
 *   where a sched_stat_runtime program would run about twice more per
 *   switch (it fires at every update_curr: dequeue, wakeup preemption
 *   checks, ticks).  Otherwise (no perf events, raw_tp kernels) CPU time
 *   comes from sched_stat_runtime, the same deltas one update_curr at a
 *   time.  On the stint path the switch keeps its charges and run-queue
 *   waits pending per CPU (struct cpu_stint) and adds them to the maps when
 *   the cgroup changes or cpu_sample flushes them.
 * - Context switches from sched_switch, charged to the *previous* task
 *   (`current` is still prev there): voluntary when it leaves sleeping,
 *   involuntary when preempted or still runnable.
 * - Run-queue latency: from the enqueue (wakeup, or the switch that takes a
 *   still-runnable task off the CPU) to the switch that puts it back.
 *   Where the kernel keeps schedstat's sched_info (CONFIG_SCHED_INFO, the
 *   loader checks), the enqueue time is already in
 *   next->sched_info.last_queued (rq clock) and "now" is this run queue's
 *   clock, updated by __schedule just before the tracepoint: no wakeup hook
 *   and no per-task state at all, the cheapest way by far, and the same
 *   figure as the kernel's own run_delay, except that a wait interrupted
 *   by a migration counts from its re-enqueue on the new CPU.  Otherwise the enqueue time is
 *   stamped from sched_wakeup/sched_wakeup_new and at the switch into task
 *   storage (tp_btf) or a bounded LRU hash keyed by pid (raw_tp fallback).
 *   Histogram per cgroup.
 *
 * Every hook exists twice: tp_btf (direct BTF loads, cheapest) and raw_tp
 * (probe reads) for kernels without BTF for a tracepoint; the loader enables
 * exactly one of each pair.
 */
#include "tele_maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0

/* Options, set by the loader before load. */
const volatile __u8 opt_runq = 1;	    /* measure run-queue latency */
const volatile __u8 opt_runq_schedinfo = 0; /* tp_btf: enqueue time from sched_info */
const volatile __u8 opt_cpu_stints = 0;	    /* tp_btf: CPU time from switch + cpu_sample */

HIST_MAP(runq_hist);

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runq_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TELE_MAX_RUNQ_PID);
	__type(key, __u32);
	__type(value, __u64);
} runq_ts_pid SEC(".maps");

/* Run-queue waits a CPU keeps before adding them to runq_hist in one go. */
#define RUNQ_PENDING 8

/*
 * Per CPU (stint path): the running task and the part of its runtime already
 * charged; the switch charges and the run-queue waits of one cgroup not yet
 * added to cg_counters / runq_hist.  A hash lookup is the dearest step of a
 * switch here (about 55 ns of a 200 ns program: the lookup code's page is
 * cold after every kernel entry on a TLB flushed by PTI without PCID), and
 * consecutive switches mostly charge the same cgroups, so the switch adds to
 * these per-CPU records and touches the hash maps only when the cgroup
 * changes, when RUNQ_PENDING waits are pending, or when cpu_sample (every
 * 1/TELE_CPU_SAMPLE_HZ s on every CPU, idle included) flushes them: the
 * maps lag the truth by at most that period, and nothing is dropped.  Only
 * the switch and cpu_sample touch this record, on their own CPU, and never
 * at the same time (the switch runs with interrupts off).
 */
struct cpu_stint {
	__u64 task;    /* task_struct address, 0 = unknown */
	__u64 charged; /* its se.sum_exec_runtime when last charged */
	__u64 acc_cgid; /* cgroup of the pending switch charges, 0 = none */
	__u64 acc_cpu_ns;
	__u64 acc_voluntary;
	__u64 acc_involuntary;
	__u64 rq_cgid; /* cgroup of the pending run-queue waits */
	__u64 rq_sum_ns;
	__u32 rq_n;
	__u16 rq_bucket[RUNQ_PENDING];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_stint);
} cpu_stint SEC(".maps");

static __always_inline void charge_runtime(__u64 cgid, __u64 delta)
{
	struct tele_cg_counters *c = cg_counters_of(cgid);

	if (c)
		c->cpu_ns += delta;
}

static __always_inline void charge_switch(__u64 cgid, int voluntary, __u64 runtime)
{
	struct tele_cg_counters *c = cg_counters_of(cgid);

	if (!c)
		return;
	c->cpu_ns += runtime;
	if (voluntary)
		c->ctx_voluntary += 1;
	else
		c->ctx_involuntary += 1;
}

/* A task waited from *ts until now on a run queue: record it, clear *ts. */
static __always_inline void charge_runq(__u64 cgid, __u64 *ts)
{
	__u64 start = *ts, delta;

	if (!start)
		return;
	*ts = 0;
	delta = bpf_ktime_get_ns() - start;
	if ((__s64)delta >= 0)
		hist_add(&runq_hist, cgid, delta, 0);
}

/* Add this CPU's pending switch charges to cg_counters. */
static __always_inline void acc_flush(struct cpu_stint *st)
{
	__u64 cgid = st->acc_cgid;
	struct tele_cg_counters *c;

	if (!cgid)
		return;
	c = cg_counters_of(cgid);
	if (c) {
		c->cpu_ns += st->acc_cpu_ns;
		c->ctx_voluntary += st->acc_voluntary;
		c->ctx_involuntary += st->acc_involuntary;
	}
	st->acc_cgid = 0;
	st->acc_cpu_ns = st->acc_voluntary = st->acc_involuntary = 0;
}

/* charge_switch() through this CPU's pending record. */
static __always_inline void acc_switch(struct cpu_stint *st, __u64 cgid, int voluntary,
				       __u64 runtime)
{
	if (st->acc_cgid != cgid) {
		acc_flush(st);
		st->acc_cgid = cgid;
	}
	st->acc_cpu_ns += runtime;
	if (voluntary)
		st->acc_voluntary += 1;
	else
		st->acc_involuntary += 1;
}

/* Add this CPU's pending run-queue waits to runq_hist. */
static __always_inline void rq_flush(struct cpu_stint *st)
{
	__u64 cgid = st->rq_cgid;
	__u32 n = st->rq_n, i;
	struct tele_hist *h;

	if (!n)
		return;
	h = lookup_or_init(&runq_hist, &cgid, &zero_hist);
	if (h) {
		h->count += n;
		h->sum_ns += st->rq_sum_ns;
		for (i = 0; i < RUNQ_PENDING && i < n; i++) {
			__u32 b = st->rq_bucket[i];

			if (b < HIST_BUCKETS)
				h->bucket[b] += 1;
		}
	}
	st->rq_n = 0;
	st->rq_sum_ns = 0;
}

/* A run-queue wait of delta ns in cgid, kept pending on this CPU. */
static __always_inline void rq_pending(struct cpu_stint *st, __u64 cgid, __u64 delta)
{
	__u32 n = st->rq_n;

	if (n && st->rq_cgid != cgid) {
		rq_flush(st);
		n = 0;
	}
	st->rq_cgid = cgid;
	st->rq_bucket[n & (RUNQ_PENDING - 1)] = (__u16)hist_bucket(delta);
	st->rq_sum_ns += delta;
	st->rq_n = ++n;
	if (n >= RUNQ_PENDING)
		rq_flush(st);
}

/* ---- tp_btf flavour ------------------------------------------------------ */

/*
 * Run-queue wait of next from the kernel's own sched_info bookkeeping; kept
 * pending in st when given (stint path).
 */
static __always_inline void runq_schedinfo(struct task_struct *prev, struct task_struct *next,
					   struct cpu_stint *st)
{
	__u64 queued = next->sched_info.last_queued, now;
	struct cfs_rq *cq = prev->se.cfs_rq;

	if (!queued || !cq)
		return;
	now = cq->rq->clock;
	if (now <= queued)
		return;
	if (st)
		rq_pending(st, task_cgid_btf(next), now - queued);
	else
		hist_add(&runq_hist, task_cgid_btf(next), now - queued, 0);
}

static __always_inline void enqueue_btf(struct task_struct *p)
{
	__u64 *ts;

	if (!opt_runq || !p->pid)
		return;
	ts = bpf_task_storage_get(&runq_ts, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
}

SEC("tp_btf/sched_stat_runtime")
int BPF_PROG(stat_runtime_btf, struct task_struct *t, __u64 runtime)
{
	charge_runtime(task_cgid_btf(t), runtime);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup_btf, struct task_struct *p)
{
	enqueue_btf(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new_btf, struct task_struct *p)
{
	enqueue_btf(p);
	return 0;
}

/* SCHED_NORMAL, SCHED_BATCH, SCHED_IDLE: the fair class, which sets prev_sum_exec_runtime. */
static __always_inline int is_fair(const struct task_struct *p)
{
	return p->policy == 0 || p->policy == 3 || p->policy == 5;
}

/*
 * Runtime of prev not charged yet, and start next's stint.  Runs with
 * interrupts off (inside __schedule), so cpu_sample never interleaves.
 * When this CPU's stint names another task, prev got the CPU without a
 * traced switch (some kernels switch to and from certain threads without
 * the tracepoint; seen with ftrace on a paravirtualised 6.18), or this is
 * the first switch since load: a fair task's stint then starts at
 * prev_sum_exec_runtime, which the kernel sets whenever it picks the task;
 * other classes lose that one stint.
 */
static __always_inline __u64 stint_switch(struct cpu_stint *st, struct task_struct *prev,
					   struct task_struct *next)
{
	__u64 run = 0, sum, base, picked, charged;

	sum = prev->se.sum_exec_runtime;
	picked = prev->se.prev_sum_exec_runtime;
	charged = st->charged;
	/* all loads done here: the verifier refuses one load insn merged over two pointer types */
	asm volatile("" ::: "memory");
	if (st->task == (__u64)prev)
		base = charged;
	else if (is_fair(prev))
		base = picked;
	else
		base = sum;
	if (sum > base)
		run = sum - base;
	st->task = (__u64)next;
	st->charged = next->se.sum_exec_runtime;
	return run;
}

/*
 * Perf timer on each CPU: flush the CPU's pending charges and waits, and
 * charge what the running task ran since its stint was last charged
 * (update_curr keeps sum_exec_runtime current to the last scheduler tick).  In the middle of a switch the stint already names next
 * while current is still prev: nothing is charged then.
 */
SEC("perf_event")
int cpu_sample(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct cpu_stint *st;
	__u32 zero = 0;
	__u64 now;

	st = bpf_map_lookup_elem(&cpu_stint, &zero);
	if (!st)
		return 0;
	acc_flush(st);
	rq_flush(st);
	if (st->task != (__u64)t || !t->pid)
		return 0;
	now = t->se.sum_exec_runtime;
	if (now <= st->charged)
		return 0;
	charge_runtime(task_cgid_btf(t), now - st->charged);
	st->charged = now;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	int voluntary = !preempt && prev_state != TASK_RUNNING;
	struct cpu_stint *st = NULL;
	__u32 zero = 0;
	__u64 run = 0;
	__u64 *ts;

	if (opt_cpu_stints) {
		st = bpf_map_lookup_elem(&cpu_stint, &zero);
		if (st)
			run = stint_switch(st, prev, next);
	}
	if (prev->pid) {
		if (st)
			acc_switch(st, task_cgid_btf(prev), voluntary, run);
		else
			charge_switch(task_cgid_btf(prev), voluntary, run);
		if (!voluntary && !opt_runq_schedinfo)
			enqueue_btf(prev);
	}
	if (!opt_runq || !next->pid)
		return 0;
	if (opt_runq_schedinfo) {
		runq_schedinfo(prev, next, st);
		return 0;
	}
	ts = bpf_task_storage_get(&runq_ts, next, 0, 0);
	if (ts)
		charge_runq(task_cgid_btf(next), ts);
	return 0;
}

/* ---- raw_tp flavour ------------------------------------------------------ */

/* Kernels before 5.14 name the state field `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state_core(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (unsigned int)BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

static __always_inline void enqueue_core(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 now;

	if (!opt_runq || !pid)
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_ts_pid, &pid, &now, BPF_ANY);
}

SEC("raw_tp/sched_stat_runtime")
int BPF_PROG(stat_runtime_raw, struct task_struct *t, __u64 runtime)
{
	charge_runtime(task_cgid_core(t), runtime);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(wakeup_raw, struct task_struct *p)
{
	enqueue_core(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(wakeup_new_raw, struct task_struct *p)
{
	enqueue_core(p);
	return 0;
}

/* The prev_state argument is recent (5.18); read the field instead. */
SEC("raw_tp/sched_switch")
int BPF_PROG(switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	int voluntary = !preempt && task_state_core(prev) != TASK_RUNNING;
	__u32 next_pid = BPF_CORE_READ(next, pid);
	__u64 *ts;

	if (BPF_CORE_READ(prev, pid)) {
		charge_switch(task_cgid_core(prev), voluntary, 0);
		if (!voluntary)
			enqueue_core(prev);
	}
	if (!opt_runq || !next_pid)
		return 0;
	ts = bpf_map_lookup_elem(&runq_ts_pid, &next_pid);
	if (ts) {
		charge_runq(task_cgid_core(next), ts);
		bpf_map_delete_elem(&runq_ts_pid, &next_pid);
	}
	return 0;
}
