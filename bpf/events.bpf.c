// SPDX-License-Identifier: GPL-2.0
/*
 * events.bpf.c - rare events through a ring buffer, also counted per cgroup.
 *
 * - cgroup created/removed: cgroup_mkdir/rmdir fire for every hierarchy,
 *   v1 ones included (their ids are numbered apart), so only the v2
 *   hierarchy (v2_hierarchy_id) is reported;
 * - OOM kill (oom:mark_victim) with the victim's cgroup;
 * - fatal signals: signal_deliver of SIGSEGV/SIGABRT with the default
 *   action, and SIGKILL once per killed process (the thread-group leader
 *   of a group exiting because of SIGKILL; a crash's group exit also
 *   delivers SIGKILL to the other threads, which is not counted again).
 * A record that finds the ring buffer full is counted in rb_drops.
 */
#include "tele_maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL_ 9
#define SIGABRT_ 6
#define SIGSEGV_ 11

/* Options, set by the loader before load. */
const volatile __u32 v2_hierarchy_id = 0; /* the default hierarchy is 0 */
const volatile __u32 fatal_sig_mask = (1u << SIGKILL_) | (1u << SIGABRT_) | (1u << SIGSEGV_);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TELE_RINGBUF_SIZE);
} events SEC(".maps");

RB_DROPS_MAP(rb_drops);

static __always_inline void emit_cgroup(__u16 kind, __u32 hid, __u64 cgid, const char *path)
{
	struct tele_ev_cgroup *e;

	if (hid != v2_hierarchy_id)
		return;
	e = rb_reserve_or_drop(&events, &rb_drops, sizeof(*e), kind);
	if (!e)
		return;
	e->cgid = cgid;
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, 0);
}

/* Count and report a task event for (cgid, tgid, comm). */
static __always_inline void emit_task(__u16 kind, __u64 cgid, __u32 tgid, __u32 sig,
				      const char *comm)
{
	struct tele_cg_counters *c = cg_counters_of(cgid);
	struct tele_ev_task *e;

	if (c)
		__sync_fetch_and_add(kind == TELE_EV_OOM_KILL ? &c->oom_kills : &c->fatal_signals, 1);
	e = rb_reserve_or_drop(&events, &rb_drops, sizeof(*e), kind);
	if (!e)
		return;
	e->cgid = cgid;
	e->pid = tgid;
	e->signal = sig;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm);
	bpf_ringbuf_submit(e, 0);
}

/* Is delivering sig to current fatal and to be counted once per process? */
static __always_inline int fatal_once(int sig, struct k_sigaction *ka)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (sig <= 0 || sig >= 32 || !(fatal_sig_mask & (1u << sig)))
		return 0;
	if (sig != SIGKILL_)
		return ka && BPF_CORE_READ(ka, sa.sa_handler) == 0; /* SIG_DFL */
	return BPF_CORE_READ(t, pid) == BPF_CORE_READ(t, tgid) &&
	       (BPF_CORE_READ(t, signal, group_exit_code) & 0x7f) == SIGKILL_;
}

static __always_inline void on_signal(int sig, struct k_sigaction *ka)
{
	struct task_struct *t;

	if (!fatal_once(sig, ka))
		return;
	t = (struct task_struct *)bpf_get_current_task();
	emit_task(TELE_EV_FATAL_SIGNAL, bpf_get_current_cgroup_id(), BPF_CORE_READ(t, tgid), sig,
		  t->comm);
}

/* ---- tp_btf flavour ------------------------------------------------------ */

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir_btf, struct cgroup *cgrp, const char *path)
{
	emit_cgroup(TELE_EV_CGROUP_MKDIR, cgrp->root->hierarchy_id, cgrp->kn->id, path);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(cgroup_rmdir_btf, struct cgroup *cgrp, const char *path)
{
	emit_cgroup(TELE_EV_CGROUP_RMDIR, cgrp->root->hierarchy_id, cgrp->kn->id, path);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(oom_victim_btf, struct task_struct *t)
{
	emit_task(TELE_EV_OOM_KILL, task_cgid_btf(t), t->tgid, SIGKILL_, t->comm);
	return 0;
}

/*
 * tp_btf flavour of fatal_once() + on_signal(): the mask test first (most
 * signals are not fatal), then direct loads instead of probe reads.
 */
SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver_btf, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *t;

	if (sig <= 0 || sig >= 32 || !(fatal_sig_mask & (1u << sig)))
		return 0;
	t = bpf_get_current_task_btf();
	if (sig != SIGKILL_ ? !ka || ka->sa.sa_handler != 0 /* SIG_DFL */
			    : t->pid != t->tgid || (t->signal->group_exit_code & 0x7f) != SIGKILL_)
		return 0;
	emit_task(TELE_EV_FATAL_SIGNAL, task_cgid_btf(t), t->tgid, sig, t->comm);
	return 0;
}

/* ---- raw_tp flavour ------------------------------------------------------ */

SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir_raw, struct cgroup *cgrp, const char *path)
{
	emit_cgroup(TELE_EV_CGROUP_MKDIR, BPF_CORE_READ(cgrp, root, hierarchy_id),
		    BPF_CORE_READ(cgrp, kn, id), path);
	return 0;
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(cgroup_rmdir_raw, struct cgroup *cgrp, const char *path)
{
	emit_cgroup(TELE_EV_CGROUP_RMDIR, BPF_CORE_READ(cgrp, root, hierarchy_id),
		    BPF_CORE_READ(cgrp, kn, id), path);
	return 0;
}

/* Older kernels pass the task only; newer ones add the uid. */
SEC("raw_tp/mark_victim")
int BPF_PROG(oom_victim_raw, struct task_struct *t)
{
	emit_task(TELE_EV_OOM_KILL, task_cgid_core(t), BPF_CORE_READ(t, tgid), SIGKILL_,
		  t->comm);
	return 0;
}

SEC("raw_tp/signal_deliver")
int BPF_PROG(signal_deliver_raw, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	on_signal(sig, ka);
	return 0;
}
