/*
 * series.h - bounded per-key history at model resolution.
 *
 * Telemetry arrives every tick (1 s); models learn from per-step aggregates
 * (60 s by default).  A series accumulates tick values into the current step
 * (mean of the finite values; a step with no finite value is missing) and,
 * when a step closes, appends the aggregate to a fixed-size ring.  Memory is
 * fixed at creation: cap steps x SERIES_METRICS doubles.
 */
#ifndef PRESAGE_SERIES_H
#define PRESAGE_SERIES_H

#include <stddef.h>

enum series_metric {
	SM_CPU_CORES,        /* sum over the group's containers */
	SM_MEMORY_BYTES,     /* working set, summed */
	SM_REQUESTS_PER_SEC, /* summed */
	SM_NET_RX_BPS,
	SM_NET_TX_BPS,
	SM_FS_READ_BPS,
	SM_FS_WRITE_BPS,
	SM_REQ_P95_SECONDS,  /* max over the group */
	SM_RUNQ_P99_SECONDS, /* max over the group */
	SM__COUNT
};

extern const char *const series_metric_names[SM__COUNT];

/* Metric by name (as in series_metric_names); -1 if unknown. */
int series_metric_by_name(const char *name);

struct series {
	char key[128];
	double step;         /* seconds per aggregated point */
	size_t cap, len, head; /* ring: oldest at (head + cap - len) % cap */
	double *t;           /* step start times (unix seconds) */
	double *v;           /* cap x SM__COUNT, NAN for missing */
	double cur_start;    /* start of the step being accumulated, 0 = none */
	double acc[SM__COUNT];
	unsigned int acc_n[SM__COUNT];
};

/* A series of cap steps of `step` seconds; NULL + errno on failure. */
struct series *series_new(const char *key, size_t cap, double step);
void series_free(struct series *s);

/*
 * Add one tick's values (SM__COUNT entries, NAN = missing) observed at unix
 * time t.  Returns the number of steps closed by this call (0 or more; gaps
 * longer than a step close the missing steps as NAN so time stays regular).
 */
int series_add_tick(struct series *s, double t, const double *vals);

/* i-th point from the oldest (0 <= i < len): time and one metric. */
double series_time(const struct series *s, size_t i);
double series_value(const struct series *s, size_t i, enum series_metric m);

#endif
