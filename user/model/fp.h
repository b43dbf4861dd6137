/*
 * fp.h - behavioural fingerprint: a fixed-length, documented feature vector
 * per container (or service), a similarity measure, persistence, and the
 * choice of the closest known fingerprint for cold start.
 *
 * Features (index: meaning, unit).  A feature whose inputs are absent (no
 * request metric, say) is marked absent in `present` and ignored by the
 * similarity; values are always finite.
 *   0 FP_PERIOD1       dominant period, seconds (0 = no season found)
 *   1 FP_PERIOD1_STR   its strength: autocorrelation at that lag, 0..1
 *   2 FP_PERIOD2       second (longer) period, seconds (0 = none)
 *   3 FP_PERIOD2_STR   its strength, 0..1
 *   4 FP_UTIL_P50      median of the primary metric (CPU, cores)
 *   5 FP_UTIL_P95      95th percentile of the primary metric
 *   6 FP_BURSTINESS    coefficient of variation of the primary metric
 *   7 FP_TREND         primary metric's linear trend, fraction of its mean per day
 *   8 FP_CPU_PER_REQ   CPU seconds per request (mean CPU / mean request rate)
 *   9 FP_MEM_GROWTH    memory's linear trend, fraction of its mean per day
 *  10 FP_IO_INTENSITY  I/O bytes per CPU second
 *  11 FP_NET_INTENSITY network bytes per CPU second
 *  12 FP_LATENCY_SENS  correlation of latency with request rate (or CPU), -1..1
 *  13 FP_ANOMALY_RATE  share of recent samples with anomaly score > 0.5
 *  14 FP_MEM_P95       95th percentile of memory, bytes
 *  15 FP_REQ_RATE      mean request rate, requests per second
 * Similarity: each present feature is mapped to a comparable scale (periods
 * and magnitudes on log scales, shares and correlations as they are, trends
 * through tanh), and sim = exp(-4 * mean squared difference) over features
 * present in both: 1 = identical, ~0 = unrelated.
 */
#ifndef PRESAGE_MODEL_FP_H
#define PRESAGE_MODEL_FP_H

#include <stddef.h>
#include <stdint.h>

#include "model/sbuf.h"

#define FP_VERSION 1

enum fp_feature {
	FP_PERIOD1,
	FP_PERIOD1_STR,
	FP_PERIOD2,
	FP_PERIOD2_STR,
	FP_UTIL_P50,
	FP_UTIL_P95,
	FP_BURSTINESS,
	FP_TREND,
	FP_CPU_PER_REQ,
	FP_MEM_GROWTH,
	FP_IO_INTENSITY,
	FP_NET_INTENSITY,
	FP_LATENCY_SENS,
	FP_ANOMALY_RATE,
	FP_MEM_P95,
	FP_REQ_RATE,
	FP_DIM
};

/* Feature names as exported (presage_fingerprint_<name>). */
extern const char *const fp_feature_names[FP_DIM];

/* What a metric is, so features know where to look. */
enum fp_role {
	FP_ROLE_OTHER = 0,
	FP_ROLE_CPU,
	FP_ROLE_MEM,
	FP_ROLE_IO,
	FP_ROLE_NET,
	FP_ROLE_REQ,
	FP_ROLE_LAT
};

struct fp {
	double v[FP_DIM];
	uint32_t present; /* bit i set when feature i is present */
	int64_t samples;  /* model steps the fingerprint was computed from */
};

/* One metric's recent history for fp_compute(). */
struct fp_series {
	enum fp_role role;
	const double *x; /* oldest first */
	int n;
	int periods[2]; /* detected periods in steps (0 = none) */
	double strength[2];
	double anomaly_rate;
};

/*
 * Compute a fingerprint from the metrics' histories (step_s seconds per
 * sample).  The primary metric is the CPU one, else the first.  Never fails;
 * features without inputs are absent.
 */
void fp_compute(struct fp *out, const struct fp_series *m, int n, double step_s);

/* Similarity in [0, 1] (0 when no feature is present in both). */
double fp_similarity(const struct fp *a, const struct fp *b);

/*
 * Index of the candidate closest to q among c[0..n); with q NULL or empty,
 * the candidate computed from the most samples.  -1 when n == 0.
 */
int fp_closest(const struct fp *q, const struct fp *c, int n);

void fp_serialize(const struct fp *f, struct sbuf *b);
/* 0, -ENOMSG (another version) or -EBADMSG. */
int fp_deserialize(struct fp *f, struct sbuf_reader *r);

/* Atomic write (temp, fsync, rename) / read of one fingerprint file. */
int fp_save(const struct fp *f, const char *path);
int fp_load(const char *path, struct fp *f);

#endif
