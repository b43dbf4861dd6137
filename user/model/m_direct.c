/*
 * m_direct.c - direct multi-horizon regression: one robust linear model per
 * anchor horizon, learnt online.
 *
 * The iterating models (ARIMA, the echo-state network) forecast h steps by
 * feeding their own one-step forecasts back, so a one-step fit's small
 * errors compound, and least squares lets the bursts of a spiky series pull
 * every forecast.  This model instead learns, at the horizons h = 1, 2, 4,
 * ... and H (dr_anchors()), a separate map from what is known at the origin
 * to the value h steps later:
 *
 *   (y_{t+h} - y_t) / s_t = w_h . x(t, h)
 *
 * with s_t the series' slow mean absolute step, and x:
 *   - an intercept;
 *   - DR_K Fourier pairs of the primary season's phase at t + h (the
 *     calendar day when it fits the history, else the shortest detected
 *     season; the second season is the shortest other detected one);
 *   - the last step, rolling medians over the last 3, 12 and 48 samples
 *     (a level that a burst does not drag) and two EWMA levels (memory 50
 *     and 500 samples), each relative to y_t;
 *   - the mean around t + h one, two and three primary cycles back and one
 *     second-season cycle back (the same phase on the previous days and
 *     week), relative to y_t.
 * Everything is in units of s_t relative to the newest value, so the model
 * is scale-free and follows level shifts without relearning.  Features of
 * a season absent, or not yet in the history, are 0; when a season changes
 * the weights and covariance of its features start afresh.
 *
 * Each anchor's weights are fitted by recursive least squares with
 * forgetting (memory ~1/(1 - DR_LAMBDA) samples) and Huber weights (an
 * error beyond DR_HUBER times that anchor's recent mean absolute error
 * counts linearly, not squared, as in least absolute deviations): the fit
 * aims at the conditional median, which is what MAE rewards and what a
 * bursty series' next values look like.  A horizon between two anchors
 * blends the two anchors' models applied to its own features, linearly in
 * sqrt(h).  Work per update is O(A D^2) (A anchors, D = DR_D features);
 * memory is A packed D x D matrices plus H origins of DR_NO features.
 */
#include "common/select.h"
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DR_K	    6 /* Fourier pairs of the primary season */
#define DR_CYCLES   3 /* primary-season lags: 1..DR_CYCLES cycles back */
#define DR_NO	    6 /* origin features: step, 3 medians, 2 levels */
#define DR_MED_MAX  48
#define DR_D	    (1 + 2 * DR_K + DR_NO + DR_CYCLES + 1)
#define DR_NP	    (DR_D * (DR_D + 1) / 2) /* packed upper triangle */
#define DR_LAMBDA   0.9999
#define DR_DELTA    1.0	  /* initial P: prior weights of order one scale */
#define DR_HUBER    1.0	  /* residuals beyond this many recent MAEs are down-weighted */
#define DR_CLIP	    100	  /* features and targets, in scales */
#define DR_S_DECAY  0.001 /* memory of the scale s (mean |step|) */
#define DR_SIG_WARM 100	  /* residuals before an anchor's MAE is an EWMA */
#define DR_F_SEAS   (1)	  /* first Fourier column */
#define DR_F_ORIG   (1 + 2 * DR_K)
#define DR_F_LAGS   (DR_F_ORIG + DR_NO)

static const int dr_med[3] = {3, 12, DR_MED_MAX};
static const double dr_lev[2] = {0.02, 0.002};

struct dr_anchor {
	double w[DR_D];
	double P[DR_NP];
	double sig; /* EWMA of |residual| (scales) */
	int64_t n;  /* updates */
};

struct direct {
	int H, A;
	int anchor[FCAST_MAX_ANCHORS];
	struct dr_anchor *a; /* A models */
	float *orig;	     /* H origins x DR_NO features (scales, relative to y) */
	double *orig_y;	     /* value at each origin */
	double *orig_s;	     /* scale at each origin */
	int64_t *orig_t;     /* origin of each slot, -1 = none */
	double lev[2], s, last_y;
	int64_t n; /* samples seen (missing included) */
	int per[FCAST_MAX_SEASONS];
	uint32_t gen;
};

/* Packed index of (i, j), i <= j. */
static int pk(int i, int j)
{
	return i * DR_D - i * (i - 1) / 2 + (j - i);
}

/* Forget features from..to-1 of m: their weights 0, their covariance the prior. */
static void dr_reset_cols(struct dr_anchor *m, int from, int to)
{
	for (int i = 0; i < DR_D; i++)
		for (int j = i; j < DR_D; j++)
			if ((i >= from && i < to) || (j >= from && j < to))
				m->P[pk(i, j)] = i == j ? DR_DELTA : 0;
	for (int i = from; i < to; i++)
		m->w[i] = 0;
}

static void dr_reset(struct dr_anchor *m)
{
	memset(m, 0, sizeof(*m));
	dr_reset_cols(m, 0, DR_D);
	m->sig = 1;
}

/*
 * The horizons with a model of their own: powers of two below H, and H (a
 * sparser ladder than fcast_anchors(): each model is a D x D matrix, and a
 * horizon in between is served by its neighbours applied to its own
 * features).
 */
static int dr_anchors(int H, int *out)
{
	int n = 0;

	for (int h = 1; h < H && n < FCAST_MAX_ANCHORS - 1; h *= 2)
		out[n++] = h;
	out[n++] = H;
	return n;
}

static void dr_destroy(void *p)
{
	struct direct *d = p;

	free(d->a);
	free(d->orig);
	free(d->orig_y);
	free(d->orig_s);
	free(d->orig_t);
	free(d);
}

static size_t dr_mem(const void *p, const struct fcast_ctx *c)
{
	const struct direct *d = p;
	size_t H = (size_t)d->H;

	return sizeof(*d) + (size_t)d->A * sizeof(*d->a) +
	       H * (DR_NO * sizeof(float) + 2 * sizeof(double) + sizeof(int64_t));
}

static void *dr_create(const struct fcast_ctx *c)
{
	struct direct *d = calloc(1, sizeof(*d));
	size_t H;

	if (!d)
		return NULL;
	d->H = c->p.max_horizon;
	d->A = dr_anchors(d->H, d->anchor);
	H = (size_t)d->H;
	d->a = malloc((size_t)d->A * sizeof(*d->a));
	d->orig = calloc(H * DR_NO, sizeof(float));
	d->orig_y = calloc(H, sizeof(double));
	d->orig_s = calloc(H, sizeof(double));
	d->orig_t = malloc(H * sizeof(int64_t));
	if (!d->a || !d->orig || !d->orig_y || !d->orig_s || !d->orig_t) {
		dr_destroy(d);
		return NULL;
	}
	for (int k = 0; k < d->A; k++)
		dr_reset(&d->a[k]);
	for (size_t i = 0; i < H; i++)
		d->orig_t[i] = -1;
	d->gen = c->season_gen + 1; /* take the context's seasons at the first update */
	return d;
}

static double dr_clip(double v)
{
	return isfinite(v) ? fmin(fmax(v, -DR_CLIP), DR_CLIP) : 0;
}

/* Scale of the series: mean |step|, floored so a still series divides safely. */
static double dr_scale(const struct direct *d, double y)
{
	return fmax(d->s, 1e-9 * fabs(y) + 1e-300);
}

/* Copy the history values of times a..b (in the ring) into out. */
static void dr_copy(const struct fcast_ctx *c, int64_t a, int64_t b, double *out)
{
	int64_t i = a % c->cap;

	for (int64_t t = a; t <= b; t++) {
		*out++ = c->hist[i];
		if (++i == c->cap)
			i = 0;
	}
}

/* Median of the newest k history values (1 <= k <= n, k <= DR_MED_MAX). */
static double dr_median(const struct fcast_ctx *c, int k)
{
	double v[DR_MED_MAX], lo, up;

	dr_copy(c, c->t - k + 1, c->t, v);
	lo = select_kth(v, k, (k - 1) / 2);
	if (k % 2)
		return lo;
	/* even: the mean of the two middle values; the upper one is the least above */
	up = v[k / 2];
	for (int i = k / 2 + 1; i < k; i++)
		up = fmin(up, v[i]);
	return 0.5 * (lo + up);
}

/*
 * Mean of the history around time `at` (+-w), relative to y0 in scales s;
 * 0 when the window is not in the history.
 */
static double dr_window(const struct fcast_ctx *c, int64_t at, int w, double y0, double s)
{
	int64_t oldest = c->t - c->n + 1, i;
	double sum = 0;

	if (at - w < oldest || at + w > c->t)
		return 0;
	i = (at - w) % c->cap;
	for (int j = -w; j <= w; j++) {
		sum += c->hist[i];
		if (++i == c->cap)
			i = 0;
	}
	return dr_clip((sum / (2 * w + 1) - y0) / s);
}

/* Time of the k-th (1-based) cycle of period p back from t + h that lies before t. */
static int64_t dr_cycle_back(int64_t t, int h, int p, int w, int k)
{
	int64_t j = (h + w + p - 1) / p; /* first cycle whose window ends by t */

	return t + h - (j + k - 1) * (int64_t)p;
}

/*
 * Features of origin t for horizon h into x: the stored origin features of
 * (relative to y0, in scales s) and the seasonal ones read from the history.
 */
static void dr_features(const struct direct *d, const struct fcast_ctx *c, int64_t t, int h,
			const float *of, double y0, double s, double *x)
{
	int p = d->per[0], w = p / 144 > 1 ? p / 144 : 1, K = p ? (p - 1) / 2 : 0;

	memset(x, 0, sizeof(double) * DR_D);
	x[0] = 1;
	if (K > DR_K)
		K = DR_K;
	if (p) {
		double th = 2 * M_PI * (double)((t + h) % p) / p, s1 = sin(th), c1 = cos(th);
		double sk = s1, ck = c1;

		for (int k = 0; k < K; k++) {
			double nc = ck * c1 - sk * s1;

			x[DR_F_SEAS + 2 * k] = sk;
			x[DR_F_SEAS + 2 * k + 1] = ck;
			sk = sk * c1 + ck * s1;
			ck = nc;
		}
		for (int k = 1; k <= DR_CYCLES; k++)
			x[DR_F_LAGS + k - 1] = dr_window(c, dr_cycle_back(t, h, p, w, k), w, y0, s);
	}
	if (d->per[1])
		x[DR_F_LAGS + DR_CYCLES] =
		    dr_window(c, dr_cycle_back(t, h, d->per[1], w, 1), w, y0, s);
	for (int i = 0; i < DR_NO; i++)
		x[DR_F_ORIG + i] = of[i];
}

static double dr_dot(const double *w, const double *x)
{
	double z = 0;

	for (int i = 0; i < DR_D; i++)
		z += w[i] * x[i];
	return z;
}

/* Huber-weighted RLS step of anchor m on features x towards target z. */
static void dr_learn(struct dr_anchor *m, const double *x, double z)
{
	double px[DR_D] = {0}, r = z - dr_dot(m->w, x), wt, den, tr = 0;

	if (!isfinite(r))
		return;
	wt = fabs(r) > DR_HUBER * m->sig ? DR_HUBER * m->sig / fabs(r) : 1;
	m->sig += (fabs(r) - m->sig) / (m->n < DR_SIG_WARM ? (double)(m->n + 1) : DR_SIG_WARM);
	m->sig = fmax(m->sig, 1e-6);
	for (int i = 0; i < DR_D; i++) {
		const double *row = m->P + pk(i, i);

		px[i] += row[0] * x[i];
		for (int j = i + 1; j < DR_D; j++) {
			px[i] += row[j - i] * x[j];
			px[j] += row[j - i] * x[i];
		}
	}
	den = DR_LAMBDA / fmax(wt, 1e-6);
	for (int i = 0; i < DR_D; i++)
		den += x[i] * px[i];
	den = 1 / den;
	for (int i = 0; i < DR_D; i++) {
		double gi = px[i] * den, *row = m->P + pk(i, i);

		m->w[i] += gi * r;
		for (int j = i; j < DR_D; j++)
			row[j - i] = (row[j - i] - gi * px[j]) * (1 / DR_LAMBDA);
		tr += row[0];
	}
	m->n++;
	/* Windup guard: without excitation forgetting inflates P without bound. */
	if (!(tr < 1e4 * DR_D)) {
		if (!isfinite(tr) || !isfinite(dr_dot(m->w, m->w))) {
			dr_reset(m);
			return;
		}
		for (int i = 0; i < DR_NP; i++)
			m->P[i] *= 1e4 * DR_D / tr;
	}
}

/* Learn every anchor whose origin's outcome is the newest sample y. */
static void dr_learn_all(struct direct *d, const struct fcast_ctx *c, double y)
{
	double x[DR_D];

	for (int k = 0; k < d->A; k++) {
		int64_t o = c->t - d->anchor[k], slot = o % d->H;

		if (o < 0 || d->orig_t[slot] != o)
			continue;
		dr_features(d, c, o, d->anchor[k], d->orig + slot * DR_NO, d->orig_y[slot],
			    d->orig_s[slot], x);
		dr_learn(&d->a[k], x, dr_clip((y - d->orig_y[slot]) / d->orig_s[slot]));
	}
}

/*
 * The calendar day in steps, when the step divides a day and two days fit in
 * the history; else 0.  Workloads follow clocks: the day's features are
 * offered from the start, before detection can confirm a weak daily cycle
 * (the regression gives them no weight when there is none).
 */
static int dr_day(const struct fcast_ctx *c)
{
	double day = 86400 / c->p.step_s;
	long r = lround(day);

	return r >= 8 && fabs(day - (double)r) < 1e-6 * day && 2 * r <= c->cap ? (int)r : 0;
}

/*
 * The periods the features follow: the calendar day (when it fits) and the
 * shortest other detected period, else the detected periods.
 */
static void dr_periods(const struct fcast_ctx *c, int *p)
{
	int day = dr_day(c), n = 0;

	p[0] = p[1] = 0;
	if (day)
		p[n++] = day;
	for (int i = 0; i < c->n_periods && n < 2; i++)
		if (c->periods[i] != day)
			p[n++] = c->periods[i];
}

/* Seasons changed: forget what was learnt about the features that moved. */
static void dr_seasons(struct direct *d, const struct fcast_ctx *c)
{
	int p[FCAST_MAX_SEASONS];

	d->gen = c->season_gen;
	dr_periods(c, p);
	for (int k = 0; k < d->A && p[0] != d->per[0]; k++) {
		dr_reset_cols(&d->a[k], DR_F_SEAS, DR_F_ORIG);
		dr_reset_cols(&d->a[k], DR_F_LAGS, DR_F_LAGS + DR_CYCLES);
	}
	for (int k = 0; k < d->A && (p[1] != d->per[1] || p[0] != d->per[0]); k++)
		dr_reset_cols(&d->a[k], DR_F_LAGS + DR_CYCLES, DR_D);
	d->per[0] = p[0];
	d->per[1] = p[1];
}

/* Keep the newest origin's features for learning once its outcomes arrive. */
static void dr_store_origin(struct direct *d, const struct fcast_ctx *c, double y)
{
	int64_t slot = c->t % d->H;
	float *of = d->orig + slot * DR_NO;
	double s = dr_scale(d, y);

	of[0] = (float)dr_clip((c->n > 1 ? fcast_ctx_back(c, 1) - y : 0) / s);
	for (int i = 0; i < 3; i++)
		of[1 + i] =
		    (float)dr_clip((dr_median(c, dr_med[i] < c->n ? dr_med[i] : c->n) - y) / s);
	for (int i = 0; i < 2; i++)
		of[4 + i] = (float)dr_clip((d->lev[i] - y) / s);
	d->orig_y[slot] = y;
	d->orig_s[slot] = s;
	d->orig_t[slot] = c->t;
}

static void dr_update(void *p, const struct fcast_ctx *c, double y, int missing)
{
	struct direct *d = p;

	if (d->gen != c->season_gen)
		dr_seasons(d, c);
	if (d->n == 0) {
		d->lev[0] = d->lev[1] = y;
	} else if (!missing) {
		d->s += (fabs(y - d->last_y) - d->s) /
			(d->n < 1.0 / DR_S_DECAY ? (double)d->n : 1.0 / DR_S_DECAY);
		dr_learn_all(d, c, y);
		for (int i = 0; i < 2; i++)
			d->lev[i] += dr_lev[i] * (y - d->lev[i]);
	}
	d->last_y = y;
	d->n++;
	dr_store_origin(d, c, y);
}

static void dr_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	struct direct *d = p;
	int64_t slot = c->t % d->H;
	double x[DR_D], y0 = c->n ? fcast_ctx_back(c, 0) : 0;

	if (c->t < 0 || d->orig_t[slot] != c->t) {
		for (int j = 0; j < h; j++)
			out[j] = y0;
		return;
	}
	y0 = d->orig_y[slot];
	for (int j = 1; j <= h; j++) {
		int k0, k1;
		double wb, z = 0;

		fcast_anchor_interp(d->anchor, d->A, j < d->H ? j : d->H, &k0, &k1, &wb);
		dr_features(d, c, c->t, j, d->orig + slot * DR_NO, y0, d->orig_s[slot], x);
		/* An anchor that has not seen two samples per weight says nothing yet. */
		if (d->a[k0].n >= 2 * DR_D)
			z += (1 - wb) * dr_dot(d->a[k0].w, x);
		if (d->a[k1].n >= 2 * DR_D)
			z += wb * dr_dot(d->a[k1].w, x);
		out[j - 1] = y0 + d->orig_s[slot] * dr_clip(z);
	}
}

static void dr_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct direct *d = p;

	for (int k = 0; k < d->A; k++) {
		sbuf_f64v(b, d->a[k].w, DR_D);
		sbuf_f64v(b, d->a[k].P, DR_NP);
		sbuf_f64(b, d->a[k].sig);
		sbuf_i64(b, d->a[k].n);
	}
	for (int i = 0; i < d->H * DR_NO; i++)
		sbuf_f64(b, d->orig[i]);
	sbuf_f64v(b, d->orig_y, (size_t)d->H);
	sbuf_f64v(b, d->orig_s, (size_t)d->H);
	for (int i = 0; i < d->H; i++)
		sbuf_i64(b, d->orig_t[i]);
	sbuf_f64v(b, d->lev, 2);
	sbuf_f64(b, d->s);
	sbuf_f64(b, d->last_y);
	sbuf_i64(b, d->n);
	for (int i = 0; i < FCAST_MAX_SEASONS; i++)
		sbuf_u32(b, (uint32_t)d->per[i]);
	sbuf_u32(b, d->gen);
}

static int dr_load(void *p, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	struct direct *d = p;

	for (int k = 0; k < d->A; k++) {
		sbuf_get_f64v(r, d->a[k].w, DR_D);
		sbuf_get_f64v(r, d->a[k].P, DR_NP);
		d->a[k].sig = sbuf_get_f64(r);
		d->a[k].n = sbuf_get_i64(r);
		if (!(d->a[k].sig > 0) || d->a[k].n < 0)
			r->err = -EBADMSG;
	}
	for (int i = 0; i < d->H * DR_NO; i++)
		d->orig[i] = (float)dr_clip(sbuf_get_f64(r));
	sbuf_get_f64v(r, d->orig_y, (size_t)d->H);
	sbuf_get_f64v(r, d->orig_s, (size_t)d->H);
	for (int i = 0; i < d->H; i++) {
		d->orig_t[i] = sbuf_get_i64(r);
		if (d->orig_t[i] >= 0 && !(d->orig_s[i] > 0))
			r->err = -EBADMSG;
	}
	sbuf_get_f64v(r, d->lev, 2);
	d->s = sbuf_get_f64(r);
	d->last_y = sbuf_get_f64(r);
	d->n = sbuf_get_i64(r);
	for (int i = 0; i < FCAST_MAX_SEASONS; i++)
		d->per[i] = (int)sbuf_get_u32_range(r, 0, (uint32_t)c->cap);
	d->gen = sbuf_get_u32(r);
	if (d->s < 0 || d->n < 0)
		r->err = -EBADMSG;
	return r->err;
}

const struct fcast_ops fcast_direct = {
    .name = "direct",
    .version = 1,
    .create = dr_create,
    .destroy = dr_destroy,
    .update = dr_update,
    .predict = dr_predict,
    .save = dr_save,
    .load = dr_load,
    .mem = dr_mem,
};
