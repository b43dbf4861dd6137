/*
 * histq.h - reading the log-linear histograms of include/presage/hist.h:
 * quantiles, Prometheus reduction and a decaying window.
 */
#ifndef PRESAGE_HISTQ_H
#define PRESAGE_HISTQ_H

#include "core/snapshot.h"
#include "presage/hist.h"

#include <stdint.h>

/*
 * The q-quantile (0 < q < 1) in seconds of a bucket-count array of
 * HIST_BUCKETS doubles, interpolating linearly inside the bucket; NAN when
 * the histogram is empty.
 */
double histq_quantile(const double *b, double q);

/* Add the fine cumulative histogram `fine` to the Prometheus-form `out`. */
void histq_to_prom(const uint64_t *fine, uint64_t count, uint64_t sum_ns, struct hist_snap *out);

/*
 * A recent-window view of a cumulative kernel histogram: each tick the
 * increase since the previous tick is added and older mass decays by
 * `decay` (e.g. 0.9 for a window of ~10 ticks).  Memory: HIST_BUCKETS
 * doubles plus the previous cumulative counts.
 */
struct histq_window {
	double w[HIST_BUCKETS];
	uint64_t prev[HIST_BUCKETS];
	double mass;
	int primed;
};

/* Feed the current cumulative counts; the first call only primes. */
void histq_window_update(struct histq_window *win, const uint64_t *cum, double decay);

#endif
