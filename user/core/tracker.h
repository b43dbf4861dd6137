/*
 * tracker.h - per-cgroup tick state: turns cumulative kernel counters and
 * cgroup-file gauges into the values of a container snapshot (rates over the
 * last tick, quantiles over a recent window, Prometheus histograms).
 *
 * The telemetry thread owns every tracker entry; nothing here locks.
 */
#ifndef PRESAGE_TRACKER_H
#define PRESAGE_TRACKER_H

#include "core/histq.h"
#include "core/snapshot.h"

#include <stdbool.h>
#include <stdint.h>

/* Everything read for one cgroup in one tick.  Cumulative unless noted. */
struct raw_sample {
	bool have_bpf;              /* scheduler/block/net counters below are valid */
	uint64_t cpu_ns, ctx_vol, ctx_invol;
	uint64_t runq_hist[HIST_BUCKETS], runq_count, runq_sum_ns;
	uint64_t blk_read, blk_write;
	uint64_t net_rx, net_tx, net_rx_pkts, net_tx_pkts;
	uint64_t tcp_opened, tcp_closed, oom_kills, fatal_signals;
	bool have_req;              /* request telemetry below is valid */
	uint64_t req_class[CODE__COUNT];
	uint64_t req_hist[HIST_BUCKETS], req_count, req_sum_ns;
	double accept_queue, conns_active; /* gauges, NAN if unknown */
	/* cgroup-file gauges, NAN if unknown */
	double mem_working_set, mem_usage, mem_limit, cpu_throttled_s;
	double psi_cpu, psi_mem, psi_io;
	double cpu_fallback_s;      /* cpuacct / cpu.stat usage when BPF is absent */
};

/* Reset a sample to "nothing known". */
void raw_sample_clear(struct raw_sample *r);

struct tracker {
	double prev_time;           /* monotonic seconds of the previous update, 0 = none */
	double prev_cpu_s, prev_read, prev_write, prev_rx, prev_tx, prev_req;
	bool prev_valid;
	struct histq_window runq, req;
};

/*
 * Update tracker t with sample r taken at monotonic time `now` and write the
 * container's values into out->v, out->runq, out->req, out->req_by_class.
 * `decay` sets the quantile window (see histq_window_update).  Rates are NAN
 * on the first update and whenever a counter is unknown.
 */
void tracker_update(struct tracker *t, const struct raw_sample *r, double now, double decay,
		    struct cont_snap *out);

#endif
