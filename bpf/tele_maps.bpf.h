/*
 * tele_maps.bpf.h - maps shared by the telemetry objects (sched, io, events).
 *
 * Every object declares the same cg_counters map; the loader creates it once
 * (with the first object) and hands its fd to the others with
 * bpf_map__reuse_fd(), so all families charge one per-cgroup record.
 * Entries are allocated on first charge (no preallocation: memory follows
 * the number of live cgroups) and removed by user space when a cgroup dies.
 */
#ifndef PRESAGE_TELE_MAPS_BPF_H
#define PRESAGE_TELE_MAPS_BPF_H

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TELE_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct tele_cg_counters);
} cg_counters SEC(".maps");

static const struct tele_cg_counters zero_counters;
static const struct tele_hist zero_hist;

/* This CPU's counters of cgroup cgid, created on first use (NULL if full). */
static __always_inline struct tele_cg_counters *cg_counters_of(__u64 cgid)
{
	return lookup_or_init(&cg_counters, &cgid, &zero_counters);
}

/*
 * Add v ns to this CPU's histogram of cgid in hist map m.  atomic (a
 * constant) is for callers that may run in interrupt context and nest over
 * another program touching the same entry; scheduler hooks run with
 * interrupts off and use plain adds.
 */
static __always_inline void hist_add(void *m, __u64 cgid, __u64 v, const int atomic)
{
	struct tele_hist *h = lookup_or_init(m, &cgid, &zero_hist);
	__u32 b = hist_bucket(v);

	if (!h || b >= HIST_BUCKETS)
		return;
	if (atomic) {
		__sync_fetch_and_add(&h->bucket[b], 1);
		__sync_fetch_and_add(&h->count, 1);
		__sync_fetch_and_add(&h->sum_ns, v);
	} else {
		h->bucket[b] += 1;
		h->count += 1;
		h->sum_ns += v;
	}
}

/* A per-cgroup latency histogram map (per CPU, allocated on first use). */
#define HIST_MAP(name)                                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__uint(max_entries, TELE_MAX_HIST_CG);                                             \
		__type(key, __u64);                                                                \
		__type(value, struct tele_hist);                                                   \
	} name SEC(".maps")

#endif
