/*
 * profile.h - the live engine API: one behavioural profile per service (or
 * lone container), called by the daemon from a worker thread.
 *
 * A profile runs, per metric, a forecaster (model/fcast.h) and an anomaly
 * detector (model/anom.h) on one aggregated sample per model step
 * (per-minute by default; step_s configurable), and keeps the behavioural
 * fingerprint (model/fp.h) of the whole container across its metrics.
 *
 * Typical use (worker thread, once per model step):
 *   struct profile *p = profile_load(path, &params);   // or profile_new()
 *   if (!p) p = profile_new(&params);                   // ENOENT/ENOMSG: fresh
 *   profile_update(p, values);          // values[i] for metric i, NAN = missing
 *   profile_forecast(p, i, h, 0.9, out);   // h steps with intervals
 *   profile_anomaly(p, i);              // latest score of metric i in [0,1]
 *   profile_anomaly_overall(p);         // max over metrics and fingerprint departure
 *   profile_fingerprint(p, &fp);
 *   profile_save(p, path);              // atomic; e.g. every few minutes and at exit
 * A new container of a known image/service: profile_cold_start() with the
 * candidates' state keys starts it from the closest known fingerprint's
 * model state instead of from nothing.
 *
 * Memory per metric is bounded (history ring of at most FCAST_HIST_MAX
 * floats, calibration at anchor horizons, fixed model state): about 376 kB
 * and 50 us of CPU per update at the default max_horizon 60 (ensemble), a
 * 9-metric profile within PROFILE_MEMORY_BUDGET (profile_memory_bytes()).
 * A profile is not thread-safe: one thread at a time.  Every number it returns
 * is finite.
 */
#ifndef PRESAGE_MODEL_PROFILE_H
#define PRESAGE_MODEL_PROFILE_H

#include <stdint.h>

#include "model/fcast.h"
#include "model/fp.h"

#define PROFILE_MAX_METRICS 16
#define PROFILE_VERSION	    2
/*
 * Heap budget of one profile at the daemon's defaults (9 metrics, ensemble,
 * one-minute steps, max_horizon 60) once daily and weekly seasons are
 * learnt; tests/unit/test_fp.c holds profile_memory_bytes() to it.
 */
#define PROFILE_MEMORY_BUDGET (3328u << 10)
/* Of which the seasonal state the models grow on learning a daily and a
 * weekly season at one-minute steps (Holt-Winters: a double per phase). */
#define PROFILE_SEASON_BYTES(n_metrics) ((size_t)(n_metrics) * (10080 + 1440) * sizeof(double))
#define PROFILE_FP_EVERY    60 /* steps between fingerprint refreshes */

struct profile_metric {
	const char *name;  /* e.g. "cpu_usage_seconds_total" (copied) */
	enum fp_role role; /* what the metric is, for the fingerprint */
};

struct profile_params {
	int n_metrics;			      /* 1..PROFILE_MAX_METRICS */
	const struct profile_metric *metrics; /* n_metrics entries */
	const char *model;		      /* default "ensemble" */
	double step_s;			      /* seconds per model step, default 60 */
	int max_horizon;		      /* calibrated horizons, default 60 */
	int season;			      /* 0 auto, 1 none, N fixed */
	double coverage;		      /* tracked coverage, default 0.9 */
};

struct profile;

/* New empty profile; NULL + errno (EINVAL bad params, ENOENT model, ENOMEM). */
struct profile *profile_new(const struct profile_params *p);
void profile_free(struct profile *p);

/* Feed one sample per metric (values[0..n_metrics), NAN = missing).  0 or -EINVAL. */
int profile_update(struct profile *p, const double *values);

/* Forecast h steps of metric i with intervals at coverage; see fcast_forecast(). */
int profile_forecast(struct profile *p, int metric, int h, double coverage,
		     struct fcast_point *out);

/* Latest anomaly score of metric i (0 for a bad index or no data yet). */
double profile_anomaly(const struct profile *p, int metric);

/*
 * Container-level score: the maximum of the metrics' scores and of the
 * departure of the recent fingerprint from the learnt baseline (0 while the
 * similarity is above 0.7, 1 at 0.3 and below).
 */
double profile_anomaly_overall(const struct profile *p);

/* Current fingerprint (recomputed every PROFILE_FP_EVERY steps). */
void profile_fingerprint(const struct profile *p, struct fp *out);

/*
 * Heap bytes the profile holds in steady state: its struct, and per metric
 * the forecaster (history, calibration, model state) and anomaly detector.
 * Transient buffers of refits and fingerprint refreshes are not counted.
 * The unit tests hold it to the documented budget (docs/engine.md).
 */
size_t profile_memory_bytes(const struct profile *p);

/* Samples fed so far. */
int64_t profile_steps(const struct profile *p);

/*
 * Save the whole state to path atomically (temp file, fsync, rename).
 * 0 or -errno.
 */
int profile_save(struct profile *p, const char *path);

/*
 * Load a profile saved with the same metric names, model and step.  NULL +
 * errno: ENOENT (no file), ENOMSG (another version or layout: logged as a
 * warning, the file is ignored, never trusted), EBADMSG (corrupt), ENOMEM.
 */
struct profile *profile_load(const char *path, const struct profile_params *p);

/*
 * Cold start: candidates are state keys (service or image names) whose
 * fingerprints live in <state_dir>/fingerprints/<key>.fp and models in
 * <state_dir>/models/<key>.model (key made file-safe by state_key_to_file).
 * The candidate whose fingerprint is closest to p's own (or, while p has
 * none yet, the one learnt from the most samples) donates its model state;
 * p keeps nothing of its own.  Returns the chosen index, or -errno (ENOENT:
 * no usable candidate).
 */
int profile_cold_start(struct profile *p, const char *state_dir, const char *const *keys, int n);

/* Paths of a key's files in the state directory (buffers of len bytes). */
void profile_model_path(const char *state_dir, const char *key, char *buf, size_t len);
void profile_fp_path(const char *state_dir, const char *key, char *buf, size_t len);

#endif
