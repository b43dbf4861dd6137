/*
 * fcast.h - the forecasting engine: one interface for every model, a shared
 * per-series context, and calibrated (conformal) prediction intervals.
 *
 * A `struct fcast` runs one named model on one series, one sample per model
 * step (per-minute aggregates by default).  Everything is online with
 * bounded memory: the context keeps the last FCAST_HIST_MAX samples at most,
 * models refit periodically on that window only, and each update costs a
 * bounded amount of work.
 *
 * Intervals: every update the point forecasts at the anchor horizons
 * (fcast_anchors(): 1, 2, 3, 4, 6, 8, 12, ... up to max_horizon) are
 * remembered; when the outcome arrives the error at each anchor, divided by
 * the series' recent error scale at the forecast's origin, joins a
 * per-anchor window of FCAST_CAL_WIN scores (float).  An interval is the
 * point forecast plus the window's empirical quantiles times the current
 * scale (split-conformal on the series' own recent errors), interpolated in
 * sqrt(h) between anchors, with the quantile level adjusted online per
 * anchor (adaptive conformal inference) so the realised coverage tracks the
 * nominal one.
 *
 * Robustness: values beyond +-FCAST_VALUE_MAX are clipped for modelling; a
 * missing sample (NAN) advances time without being learnt; every output is
 * finite - a model whose forecast is not finite is reset and replaced by the
 * last value until it recovers.  Not thread-safe: one thread per object.
 */
#ifndef PRESAGE_MODEL_FCAST_H
#define PRESAGE_MODEL_FCAST_H

#include <stddef.h>
#include <stdint.h>

#include "model/sbuf.h"

#define FCAST_MAX_H	  256	/* longest horizon tracked for intervals */
#define FCAST_HIST_MAX	  32768 /* most samples a context keeps */
#define FCAST_MAX_SEASONS 2	/* seasonal periods modelled at once */
#define FCAST_MAX_EXOG	  8
#define FCAST_CAL_WIN	  512 /* scores per anchor horizon in the calibration window */
#define FCAST_MAX_ANCHORS 16  /* calibrated (anchor) horizons at most */
#define FCAST_VALUE_MAX	  1e38 /* modelling clips here: history is stored as float */

/* Construction parameters (zero = default for every field). */
struct fcast_params {
	int season;	 /* 0 auto-detect, 1 none, N >= 2 a fixed period in steps */
	int max_horizon; /* horizons with calibrated intervals, default 24 */
	double step_s;	 /* seconds per step, used to bound seasons (default 60) */
	int max_period;	 /* longest period detected, default 7 days of steps */
	int n_exog;	 /* exogenous inputs (used by arima), 0..FCAST_MAX_EXOG */
	double coverage; /* the coverage whose realised rate is tracked, default 0.9 */
};

/*
 * Shared per-series context: the bounded history and the seasons detected on
 * it.  Models read it; only the fcast object writes it.
 */
struct fcast_ctx {
	struct fcast_params p;
	int64_t t;     /* index of the newest sample (-1 before any) */
	float *hist;   /* ring of cap values (missing ones imputed) */
	uint8_t *miss; /* bitmap: bit set where hist holds an imputed value */
	int cap;       /* ring capacity; refits and season detection every cap/8 steps */
	int n;	       /* samples held (<= cap) */
	int periods[FCAST_MAX_SEASONS];
	double strength[FCAST_MAX_SEASONS]; /* autocorrelation at each period */
	int n_periods;
	uint32_t season_gen;	     /* bumped whenever periods change */
	int64_t next_detect;	     /* t of the next season detection */
	double exog[FCAST_MAX_EXOG]; /* latest exogenous inputs */
};

/* Value k steps back (0 = newest); k < ctx->n. */
static inline double fcast_ctx_back(const struct fcast_ctx *c, int k)
{
	int64_t i = (c->t - k) % c->cap;

	return c->hist[i < 0 ? i + c->cap : i];
}

/* 1 if the sample at time t (held in the ring) was missing (imputed). */
static inline int fcast_ctx_missing(const struct fcast_ctx *c, int64_t t)
{
	int64_t i = t % c->cap;

	return (c->miss[i >> 3] >> (i & 7)) & 1;
}

/* A model: a named table row of functions over an opaque state. */
struct fcast_ops {
	const char *name;
	uint32_t version; /* bump when the saved layout changes */
	void *(*create)(const struct fcast_ctx *c);
	void (*destroy)(void *m);
	/* The newest sample (already in c) is y; missing = 1 when imputed. */
	void (*update)(void *m, const struct fcast_ctx *c, double y, int missing);
	/* Point forecasts for steps 1..h after the newest sample into out[0..h). */
	void (*predict)(void *m, const struct fcast_ctx *c, int h, double *out);
	void (*save)(void *m, const struct fcast_ctx *c, struct sbuf *b);
	int (*load)(void *m, const struct fcast_ctx *c, struct sbuf_reader *r);
	/* Heap bytes the state holds (the state struct included). */
	size_t (*mem)(const void *m, const struct fcast_ctx *c);
	/*
	 * Optional: the one-step forecast the next sample's surprise
	 * (fcast_last_score()) is judged against, after update; NULL = the
	 * point forecast.  For a model whose published forecast trades
	 * reaction speed for accuracy (the ensemble).
	 */
	double (*surprise)(void *m, const struct fcast_ctx *c);
};

/* The model table; NULL-terminated.  fcast_lookup(NULL) is the default. */
extern const struct fcast_ops *const fcast_models[];
const struct fcast_ops *fcast_lookup(const char *name);

struct fcast_point {
	double point, lower, upper;
};

struct fcast;

/* New forecaster running model `name` ("ensemble" if NULL); NULL + errno. */
struct fcast *fcast_new(const char *name, const struct fcast_params *p);
void fcast_free(struct fcast *f);

/* Feed one sample (NAN = missing step). */
void fcast_update(struct fcast *f, double y);

/* Set the exogenous inputs that go with the next update (n <= n_exog). */
void fcast_set_exog(struct fcast *f, const double *x, int n);

/*
 * Forecast steps 1..h after the newest sample with intervals of the given
 * coverage (0 < coverage < 1) into out[0..h).  Horizons beyond max_horizon
 * use the last calibrated horizon's scores widened by sqrt(h / max_horizon).
 * 0, or -EINVAL (bad h/coverage), -ENODATA (no sample yet).
 */
int fcast_forecast(struct fcast *f, int h, double coverage, struct fcast_point *out);

/*
 * The newest sample's one-step error divided by the error scale at the
 * forecast's origin; NAN when the newest sample was missing or had no
 * forecast to compare with (the first sample).  The error is against the
 * model's surprise reference (fcast_ops.surprise) where it has one.
 */
double fcast_last_score(const struct fcast *f);
/* Current one-step error scale (robust, > 0 once data arrived). */
double fcast_scale(const struct fcast *f);
const struct fcast_ctx *fcast_context(const struct fcast *f);
const char *fcast_model_name(const struct fcast *f);
/* Samples fed so far (missing included). */
int64_t fcast_count(const struct fcast *f);
/*
 * Heap bytes the forecaster holds: its struct, history, calibration and the
 * model's state (as the model reports it).  Transient refit buffers are not
 * counted.
 */
size_t fcast_memory_bytes(const struct fcast *f);

/*
 * Serialise the whole state (context, model, calibration) into b, tagged with
 * the model's name and version.  fcast_load() restores it into a forecaster
 * created with the same model; a blob of another model or version, or a
 * corrupt one, returns -ENOMSG / -EBADMSG and leaves f unchanged.
 */
int fcast_save(struct fcast *f, struct sbuf *b);
int fcast_load(struct fcast *f, const void *buf, size_t len);

/* ---- helpers shared by the models (model/fcast.c, model/season.c) ---- */

/*
 * Detect up to max seasonal periods in x[0..n) by autocorrelation (FFT);
 * periods must be 4..max_period with at least two full cycles in x; step_s
 * (seconds per sample, 0 if unknown) lets near-calendar periods snap.  Writes
 * periods (shortest first) and their autocorrelation; returns how many.
 */
int season_detect(const double *x, int n, int max_period, double step_s, int *periods,
		  double *strength, int max);

/* Solve the n x n SPD system A x = b in place (Cholesky, ridge on failure). 0 or -EDOM. */
int fcast_solve_spd(double *a, double *b, int n);

/*
 * Anchor horizons for max horizon H: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48,
 * ... below H, then H; written to out (FCAST_MAX_ANCHORS entries), returns
 * how many.  Calibration and the ensemble's scoring run at these only.
 */
int fcast_anchors(int H, int *out);
/*
 * Horizon h (1..H) lies between anchors lo and hi (indices; equal when h is
 * an anchor); w is hi's weight for interpolating linearly in sqrt(h).
 */
void fcast_anchor_interp(const int *anchor, int n, int h, int *lo, int *hi, double *w);

/* Copy the newest n history values, oldest first, into out. */
void fcast_ctx_copy(const struct fcast_ctx *c, double *out, int n);

#endif
