/*
 * kvariant.h - what this kernel offers the telemetry, and the workarounds.
 *
 * Each hook exists as a tp_btf program (typed arguments, direct loads: the
 * cheapest) and a raw_tp program (untyped arguments read with probe reads).
 * tp_btf needs a `btf_trace_<tracepoint>` type in the kernel's BTF (added
 * with the tracepoint's BTF in 5.5, and only for tracepoints built with it);
 * raw_tp only needs the tracepoint itself.  The loader picks per tracepoint:
 *   - tp_btf when vmlinux BTF has btf_trace_<tp>;
 *   - else raw_tp when /sys/kernel/tracing/events/<group>/<tp> exists (or
 *     tracefs is absent: the attach then tells);
 *   - else neither, with a warning: that figure stays 0 and the rest runs.
 * Known differences handled in the programs themselves:
 *   - sched_switch has no prev_state argument before 5.18: raw_tp reads
 *     task->__state (task->state before 5.14, a CO-RE flavour);
 *   - mark_victim gained a uid argument in 6.x: only the task is used;
 *   - sched_stat_runtime lost its vruntime argument in 6.8: only the first
 *     two are used;
 *   - block_rq_complete gives nr_bytes of a possibly partial completion:
 *     bytes are counted each time, the request when the rest is covered;
 *   - cgroup_mkdir/rmdir fire for v1 hierarchies too: filtered on the
 *     default (v2) hierarchy, whose hierarchy_id is 0.
 */
#ifndef PRESAGE_KVARIANT_H
#define PRESAGE_KVARIANT_H

#define TELE_TRACEFS "/sys/kernel/tracing"
#define TELE_BTF_PATH "/sys/kernel/btf/vmlinux"

struct kv_tracepoint {
	const char *group;
	const char *name;
};

/* Every tracepoint the programs attach to, with its tracefs group. */
static const struct kv_tracepoint kv_tracepoints[] = {
	{ "sched", "sched_stat_runtime" }, { "sched", "sched_switch" },
	{ "sched", "sched_wakeup" },	   { "sched", "sched_wakeup_new" },
	{ "block", "block_rq_insert" },	   { "block", "block_rq_issue" },
	{ "block", "block_rq_complete" },  { "sock", "inet_sock_set_state" },
	{ "cgroup", "cgroup_mkdir" },	   { "cgroup", "cgroup_rmdir" },
	{ "oom", "mark_victim" },	   { "signal", "signal_deliver" },
};

#endif
