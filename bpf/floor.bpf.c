// SPDX-License-Identifier: GPL-2.0
/*
 * floor.bpf.c - empty programs on every hook the telemetry uses, for
 * bench/overhead only (the daemon never loads it).
 *
 * The run time of an empty program under kernel.bpf_stats_enabled is what
 * the statistics themselves (two clock reads around each run), the dispatch
 * and, on a machine whose TLB is flushed at every kernel entry (PTI without
 * PCID), the page walks to reach the program cost at that hook: the floor
 * under the ns-per-run figure of the real program at the same hook.  A hook
 * that fires rarely (a timer, a fatal signal) finds everything cold and has
 * a much higher floor than sched_switch, which fires back to back.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("perf_event")
int floor_cpu_sample(void *ctx)
{
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(floor_rq_insert, struct request *rq)
{
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(floor_rq_issue, struct request *rq)
{
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(floor_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	return 0;
}

SEC("cgroup_skb/ingress")
int floor_net_ingress(struct __sk_buff *skb)
{
	return 1; /* anything else drops the host's traffic */
}

SEC("cgroup_skb/egress")
int floor_net_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_sock_state, const struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(floor_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	return 0;
}
