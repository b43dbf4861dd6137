/*
 * anom.h - streaming anomaly score in [0, 1] for one metric.
 *
 * Input per step: the forecaster's normalised one-step error z (error divided
 * by the series' recent error scale, fcast_last_score()).  No look-ahead: the
 * score of a sample uses only that sample and the past.  Three parts, the
 * score is their maximum:
 *   surprise  tail probability p of |z| under the metric's own recent |z|
 *             distribution (empirical over the last ANOM_WIN values; beyond
 *             the window's maximum, an exponential tail fitted above its 90th
 *             percentile); 0 for p >= 1e-2 rising linearly in log p to 1 at
 *             p <= 1e-4;
 *   shift     two-sided CUSUM of z standardised by its robust scale (level
 *             shifts and changepoints the forecaster has not absorbed yet);
 *             0 below 6 robust sigmas of accumulated drift, 1 at 12; reset
 *             after it fires so one shift raises one alarm episode;
 *   variance  ratio of the short-term (about 10 steps) to long-term mean |z|:
 *             0 inside [1/8, 4], 1 beyond [1/32, 16] on a log scale.
 * On stationary data almost every score is 0 (about 1% of samples exceed 0
 * and 0.1% exceed 0.5), so a threshold means something.  The first
 * ANOM_WARMUP samples score 0: a distribution of a handful of errors says
 * nothing.  A missing sample is not scored (anom_update returns 0).
 */
#ifndef PRESAGE_MODEL_ANOM_H
#define PRESAGE_MODEL_ANOM_H

#include <stddef.h>

#include "model/sbuf.h"

#define ANOM_WIN     1024
#define ANOM_WARMUP  48
#define ANOM_VERSION 2 /* 2: windows stored as float */

struct anom_parts {
	double surprise, shift, variance;
};

struct anom;

/* New detector; NULL + errno (ENOMEM). */
struct anom *anom_new(void);
void anom_free(struct anom *a);
/* Heap bytes the detector holds. */
size_t anom_memory_bytes(const struct anom *a);

/*
 * Score the newest sample from its normalised one-step error z (NAN or
 * infinite = missing: returns 0 and learns nothing).  Returns the score in
 * [0, 1]; anom_parts() gives its components.
 */
double anom_update(struct anom *a, double z);
void anom_parts(const struct anom *a, struct anom_parts *out);
/* Fraction of scored samples whose score exceeded 0.5 (for fingerprints). */
double anom_rate(const struct anom *a);

/* Versioned state; anom_load returns -ENOMSG for another version, -EBADMSG if corrupt. */
void anom_save(const struct anom *a, struct sbuf *b);
int anom_load(struct anom *a, struct sbuf_reader *r);

#endif
