// SPDX-License-Identifier: GPL-2.0
/*
 * floor.bpf.c - an empty sched_switch program, for bench/overhead only.
 *
 * Its run time under kernel.bpf_stats_enabled is what the statistics
 * themselves (two clock reads around each run) and the dispatch cost on this
 * machine: the floor under every ns-per-run figure the bench prints.  The
 * daemon never loads it.
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
