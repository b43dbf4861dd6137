/*
 * common.bpf.h - helpers shared by every presage BPF program.
 *
 * - cgroup id of a task (v2 hierarchy) with CO-RE, in two flavours: direct
 *   BTF pointer walks for tp_btf programs (plain loads, cheapest) and
 *   BPF_CORE_READ (probe reads) for raw_tp programs, whose arguments are
 *   untyped;
 * - lookup-or-init of a map entry;
 * - "reserve in the ring buffer or count a drop" with a per-CPU drop counter;
 * - RB_DROPS_MAP() to declare the drop counter.
 *
 * Maps shared by the telemetry objects live in tele_maps.bpf.h.
 *
 * This header is a stable interface: other program families include it.
 */
#ifndef PRESAGE_COMMON_BPF_H
#define PRESAGE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "presage/telemetry.h"

#define PF_KTHREAD 0x00200000 /* task_struct.flags: a kernel thread */

/* Define a per-CPU drop counter map (one u64) for rb_reserve_or_drop(). */
#define RB_DROPS_MAP(name)                                                                         \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                           \
		__uint(max_entries, 1);                                                            \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} name SEC(".maps")

/* v2 cgroup id of a task: tp_btf flavour (task is a trusted BTF pointer). */
static __always_inline __u64 task_cgid_btf(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

/* v2 cgroup id of a task: raw_tp flavour (any kernel pointer). */
static __always_inline __u64 task_cgid_core(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/*
 * Value of key in map, inserting a copy of init first when absent.  NULL
 * only when the map is full (bounded maps drop new cgroups, never old ones).
 */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/*
 * Count one ring-buffer reservation failure on this CPU in a RB_DROPS_MAP.
 * Atomic because a program in interrupt context may nest over another one.
 */
static __always_inline void rb_count_drop(void *drops)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(drops, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/*
 * Reserve size bytes in ringbuf rb and fill the event header; on failure
 * count a drop in the RB_DROPS_MAP drops and return NULL.  Submit with
 * bpf_ringbuf_submit().
 */
static __always_inline void *rb_reserve_or_drop(void *rb, void *drops, __u32 size, __u16 kind)
{
	struct tele_ev_hdr *h = bpf_ringbuf_reserve(rb, size, 0);

	if (!h) {
		rb_count_drop(drops);
		return NULL;
	}
	h->kind = kind;
	h->version = TELE_EV_VERSION;
	h->size = size;
	h->ts_ns = bpf_ktime_get_ns();
	return h;
}

#endif
