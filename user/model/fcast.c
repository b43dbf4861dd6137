/*
 * fcast.c - the forecaster wrapper: bounded history context, season
 * detection schedule, model dispatch, NaN guards, conformal intervals with
 * adaptive coverage, and versioned state (see fcast.h).
 */
#include "model/fcast.h"

#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FCAST_MAGIC   0x33434650u /* "PFC3": anchor-horizon calibration, surprise reference */
#define ACI_GAMMA     0.005	  /* adaptive-conformal step (Gibbs & Candes) */
#define SCALE_DECAY   0.02	  /* EWMA of |1-step error| */
#define QUANT_REFRESH 1		  /* updates between calibrated-quantile refreshes */
#define CAL_MIN	      16	  /* scores needed before empirical intervals */
#define SCALE_WARM    10	  /* errors before the scale (and scores) mean anything */
#define Z_CAP	      30	  /* |score| kept for calibration, in error scales */
#define FCAST_HIST_CYCLES 3.3 /* history: cycles of the longest detectable period */

extern const struct fcast_ops fcast_snaive, fcast_ewma, fcast_holt_winters, fcast_arima, fcast_rnn,
    fcast_direct, fcast_ensemble;

const struct fcast_ops *const fcast_models[] = {
    &fcast_snaive, &fcast_ewma,	  &fcast_holt_winters, &fcast_arima,
    &fcast_rnn,	   &fcast_direct, &fcast_ensemble,	  NULL,
};

/*
 * Calibration runs at anchor horizons only (fcast_anchors(): 1, 2, 3, 4, 6,
 * 8, 12, 16, 24, 32, 48, ... and H): memory and work grow with log H, not H.
 * Quantiles in between are interpolated in sqrt(h), the way errors of
 * random-walk-like series grow.
 */
struct fcast {
	const struct fcast_ops *ops;
	void *m;
	struct fcast_ctx c;
	int H;
	int A;			/* anchor horizons */
	int anchor[FCAST_MAX_ANCHORS];
	double *cur;		/* point forecasts 1..H of the newest origin */
	float *pend;		/* H origins x A anchors of point forecasts (for intervals) */
	double *pend_scale;	/* error scale at each origin */
	double *pend_ref;	/* one-step forecast surprise is judged against, per origin */
	double *pend_sscale;	/* the surprise reference's error scale at each origin */
	int64_t *pend_t;	/* origin index of each slot, -1 = empty */
	float *cal;		/* A anchors x FCAST_CAL_WIN normalised errors, by age */
	float *sorted;		/* the same windows kept sorted (O(1) quantiles) */
	int cal_n[FCAST_MAX_ANCHORS], cal_pos[FCAST_MAX_ANCHORS];
	double qlo[FCAST_MAX_ANCHORS], qhi[FCAST_MAX_ANCHORS]; /* at the tracked coverage */
	double aci_lo[FCAST_MAX_ANCHORS]; /* effective miscoverage of each tail per anchor (ACI) */
	double aci_hi[FCAST_MAX_ANCHORS];
	double scale;			  /* EWMA of |1-step error| */
	double sscale;			  /* the same for the surprise reference */
	double mag;			  /* EWMA of |y|: the series' magnitude */
	double last_score, last_y;
	int64_t seen; /* non-missing samples */
	int64_t since_q;
	/* not saved: a restored series simply starts these afresh */
	int64_t const_run; /* consecutive samples equal to the one before */
	int moving_run;	   /* consecutive samples that differ, after an idle stretch */
	bool idle;	   /* sat still for SCALE_WARM samples since the last restart */
	int warm_n;	   /* errors into the scale's (re)start, SCALE_WARM: settled */
};

int fcast_anchors(int H, int *out)
{
	static const int ladder[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192};
	int n = 0;

	for (size_t i = 0; i < sizeof(ladder) / sizeof(*ladder) && ladder[i] < H; i++)
		out[n++] = ladder[i];
	out[n++] = H;
	return n;
}

/* Anchor interval around horizon h (1..H): anchors lo <= h <= hi and the weight of hi. */
void fcast_anchor_interp(const int *anchor, int n, int h, int *lo, int *hi, double *w)
{
	int k = 0;

	while (k < n - 1 && anchor[k + 1] <= h)
		k++;
	*lo = k;
	*hi = k < n - 1 && anchor[k] < h ? k + 1 : k;
	*w = *hi == k ? 0
		      : (sqrt((double)h) - sqrt((double)anchor[k])) /
				(sqrt((double)anchor[*hi]) - sqrt((double)anchor[k]));
}

const struct fcast_ops *fcast_lookup(const char *name)
{
	if (!name)
		name = "ensemble";
	for (int i = 0; fcast_models[i]; i++)
		if (!strcmp(fcast_models[i]->name, name))
			return fcast_models[i];
	return NULL;
}

static void params_defaults(struct fcast_params *p)
{
	if (p->max_horizon <= 0)
		p->max_horizon = 24;
	if (p->max_horizon > FCAST_MAX_H)
		p->max_horizon = FCAST_MAX_H;
	if (!(p->step_s > 0))
		p->step_s = 60;
	if (p->max_period <= 0)
		p->max_period = (int)fmin(7 * 86400.0 / p->step_s, FCAST_HIST_MAX / 2.2);
	if (p->max_period < 4)
		p->max_period = 4;
	if (p->season < 0)
		p->season = 0;
	if (p->n_exog < 0 || p->n_exog > FCAST_MAX_EXOG)
		p->n_exog = 0;
	if (!(p->coverage > 0 && p->coverage < 1))
		p->coverage = 0.9;
}

static int ctx_init(struct fcast_ctx *c, const struct fcast_params *p)
{
	int want;

	memset(c, 0, sizeof(*c));
	c->p = *p;
	params_defaults(&c->p);
	/*
	 * History: enough cycles of the longest season to average a noisy
	 * seasonal profile (8 of a fixed period, FCAST_HIST_CYCLES of the
	 * longest detectable one), within FCAST_HIST_MAX.  2.2 cycles (just
	 * over the two detection needs) saved 42 kB per weekly series but cost
	 * 1-2% MASE at h12 on the benches: not taken.
	 */
	want = c->p.season >= 2 ? 8 * c->p.season : (int)(FCAST_HIST_CYCLES * c->p.max_period);
	c->cap = want < 1024 ? 1024 : want > FCAST_HIST_MAX ? FCAST_HIST_MAX : want;
	if (c->p.season > c->cap / 2)
		c->p.season = 1; /* a fixed period longer than the history cannot be learnt */
	c->t = -1;
	c->next_detect = 32;
	c->hist = calloc((size_t)c->cap, sizeof(*c->hist));
	c->miss = calloc((size_t)c->cap / 8 + 1, 1);
	if (c->p.season >= 2) {
		c->periods[0] = c->p.season;
		c->strength[0] = 1;
		c->n_periods = 1;
	}
	return c->hist && c->miss ? 0 : -ENOMEM;
}

/* Store sample t (in the ring) and its missing flag. */
static void ctx_set(struct fcast_ctx *c, int64_t t, double y, int missing)
{
	int64_t i = t % c->cap;

	c->hist[i] = (float)fmin(fmax(y, -FCAST_VALUE_MAX), FCAST_VALUE_MAX);
	c->miss[i >> 3] = (uint8_t)((c->miss[i >> 3] & ~(1u << (i & 7))) | (missing ? 1u << (i & 7) : 0));
}

static void ctx_push(struct fcast_ctx *c, double y, int missing)
{
	c->t++;
	ctx_set(c, c->t, y, missing);
	if (c->n < c->cap)
		c->n++;
}

void fcast_ctx_copy(const struct fcast_ctx *c, double *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = fcast_ctx_back(c, n - 1 - i);
}

/* Re-detect seasons on a doubling, then periodic, schedule (bounded work). */
static void ctx_detect(struct fcast_ctx *c)
{
	int periods[FCAST_MAX_SEASONS] = {0}, np;
	double strength[FCAST_MAX_SEASONS] = {0}, *x;
	int64_t every = c->cap / 8 > 64 ? c->cap / 8 : 64, grow = (c->t + 1) / 4;

	if (c->p.season != 0 || c->t < c->next_detect)
		return;
	/* Every +25% while the history grows (sum of costs stays O(cap log cap)). */
	c->next_detect = c->t + (c->n < c->cap ? (grow > 16 ? grow : 16) : every);
	x = malloc((size_t)c->n * sizeof(*x));
	if (!x)
		return; /* keep the old seasons; retried at the next slot */
	fcast_ctx_copy(c, x, c->n);
	np = season_detect(x, c->n, c->p.max_period, c->p.step_s, periods, strength,
			   FCAST_MAX_SEASONS);
	free(x);
	memcpy(c->strength, strength, sizeof(strength));
	if (np != c->n_periods || memcmp(periods, c->periods, sizeof(periods))) {
		memcpy(c->periods, periods, sizeof(periods));
		c->n_periods = np;
		c->season_gen++;
	}
}

void fcast_free(struct fcast *f)
{
	if (!f)
		return;
	if (f->m)
		f->ops->destroy(f->m);
	free(f->c.hist);
	free(f->c.miss);
	free(f->cur);
	free(f->pend);
	free(f->pend_scale);
	free(f->pend_ref);
	free(f->pend_sscale);
	free(f->pend_t);
	free(f->cal);
	free(f->sorted);
	free(f);
}

static int fcast_alloc(struct fcast *f)
{
	size_t H = (size_t)f->H, A;

	f->A = fcast_anchors(f->H, f->anchor);
	A = (size_t)f->A;
	f->cur = calloc(H, sizeof(double));
	f->pend = calloc(H * A, sizeof(float));
	f->pend_scale = calloc(H, sizeof(double));
	f->pend_ref = calloc(H, sizeof(double));
	f->pend_sscale = calloc(H, sizeof(double));
	f->pend_t = malloc(H * sizeof(int64_t));
	f->cal = calloc(A * FCAST_CAL_WIN, sizeof(float));
	f->sorted = calloc(A * FCAST_CAL_WIN, sizeof(float));
	if (!f->cur || !f->pend || !f->pend_scale || !f->pend_ref || !f->pend_sscale ||
	    !f->pend_t || !f->cal || !f->sorted)
		return -ENOMEM;
	for (size_t i = 0; i < H; i++)
		f->pend_t[i] = -1;
	for (size_t i = 0; i < A; i++)
		f->aci_lo[i] = f->aci_hi[i] = (1 - f->c.p.coverage) / 2;
	return 0;
}

size_t fcast_memory_bytes(const struct fcast *f)
{
	size_t H = (size_t)f->H, A = (size_t)f->A;
	size_t b = sizeof(*f) + (size_t)f->c.cap * sizeof(*f->c.hist) + (size_t)f->c.cap / 8 + 1;

	b += H * sizeof(double) * 4 + H * A * sizeof(float) + H * sizeof(int64_t);
	b += 2 * A * FCAST_CAL_WIN * sizeof(float);
	return b + (f->ops->mem ? f->ops->mem(f->m, &f->c) : 0);
}

struct fcast *fcast_new(const char *name, const struct fcast_params *p)
{
	const struct fcast_ops *ops = fcast_lookup(name);
	struct fcast_params dp = {0};
	struct fcast *f;

	if (!ops) {
		errno = ENOENT;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->ops = ops;
	if (ctx_init(&f->c, p ? p : &dp) || (f->H = f->c.p.max_horizon, fcast_alloc(f)) ||
	    !(f->m = ops->create(&f->c))) {
		fcast_free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

/* Position of the first element >= v in sorted a[0..n). */
static int lower_bound(const float *a, int n, float v)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A score as the calibration windows keep it (NaN: 0). */
static float z_kept(double z)
{
	return isfinite(z) ? (float)fmin(fmax(z, -Z_CAP), Z_CAP) : 0;
}

/* Add z to anchor k's window, evicting the oldest score when full. */
static void cal_push(struct fcast *f, int k, double zd)
{
	float *w = f->cal + (size_t)k * FCAST_CAL_WIN, *so = f->sorted + (size_t)k * FCAST_CAL_WIN;
	float z = z_kept(zd);
	int n = f->cal_n[k], i;

	if (n == FCAST_CAL_WIN) {
		i = lower_bound(so, n, w[f->cal_pos[k]]);
		memmove(so + i, so + i + 1, (size_t)(n - i - 1) * sizeof(float));
		n--;
	}
	i = lower_bound(so, n, z);
	memmove(so + i + 1, so + i, (size_t)(n - i) * sizeof(float));
	so[i] = z;
	w[f->cal_pos[k]] = z;
	f->cal_pos[k] = (f->cal_pos[k] + 1) % FCAST_CAL_WIN;
	f->cal_n[k] = n + 1;
}

/* Conformal quantile pair of anchor k with miscoverage alo below, ahi above. */
static void cal_quantiles(struct fcast *f, int k, double alo, double ahi, double *lo, double *up)
{
	const float *so = f->sorted + (size_t)k * FCAST_CAL_WIN;
	int n = f->cal_n[k], il, iu;

	alo = fmin(fmax(alo, 0), 0.5);
	ahi = fmin(fmax(ahi, 0), 0.5);
	il = (int)floor((n + 1) * alo) - 1;
	iu = (int)ceil((n + 1) * (1 - ahi)) - 1;
	il = il < 0 ? 0 : il > n - 1 ? n - 1 : il;
	iu = iu < 0 ? 0 : iu > n - 1 ? n - 1 : iu;
	*lo = so[il];
	*up = so[iu];
}

static void refresh_quantiles(struct fcast *f)
{
	for (int k = 0; k < f->A; k++)
		if (f->cal_n[k] >= CAL_MIN)
			cal_quantiles(f, k, f->aci_lo[k], f->aci_hi[k], &f->qlo[k], &f->qhi[k]);
}

/* Score the forecasts made anchor-h steps ago against the new outcome y. */
static void calibrate(struct fcast *f, double y)
{
	int64_t now = f->c.t + 1;

	for (int k = 0; k < f->A; k++) {
		int h = f->anchor[k], slot;
		double z;

		if (h > now)
			break;
		slot = (int)((now - h) % f->H);
		if (f->pend_t[slot] != now - h)
			continue;
		z = (y - f->pend[(size_t)slot * f->A + k]) / fabs(f->pend_scale[slot]);
		if (!isfinite(z))
			continue;
		if (h == 1) {
			double zs = (y - f->pend_ref[slot]) / f->pend_sscale[slot];

			f->last_score = isfinite(zs) ? zs : z;
		}
		/* a forecast made while the series was constant has no error scale */
		if (f->pend_scale[slot] < 0)
			continue;
		cal_push(f, k, z);
		if (f->cal_n[k] > CAL_MIN) {
			double tail = (1 - f->c.p.coverage) / 2;

			f->aci_lo[k] += ACI_GAMMA * (tail - (z < f->qlo[k]));
			f->aci_hi[k] += ACI_GAMMA * (tail - (z > f->qhi[k]));
			f->aci_lo[k] = fmin(fmax(f->aci_lo[k], 0), 0.5);
			f->aci_hi[k] = fmin(fmax(f->aci_hi[k], 0), 0.5);
		}
	}
}

/*
 * True when the error scale means something: above rounding noise of the
 * series' magnitude.  A series that has been constant (an idle service at
 * 0 req/s) has none, and its first change must not be read as infinitely
 * many scales (nor winsorised away).
 */
static bool scale_known(const struct fcast *f)
{
	return f->scale > 1e-6 * f->mag + 1e-12;
}

/* One step of an error scale s with error e (see update_scale). */
static void scale_step(double *s, double e, int warm_n)
{
	if (warm_n < SCALE_WARM)
		*s += (e - *s) / (warm_n + 1);
	else
		*s += SCALE_DECAY * (fmin(e, 10 * *s + 1e-300) - *s);
}

/*
 * Track the 1-step error scale: EWMA of |e|, started as the mean of the first
 * errors; once established, errors are winsorised at 10 scales so one wild
 * outlier cannot hide the next ones.  The surprise reference's scale (the
 * same unless the model has a reference) is tracked alike: anomaly scores
 * are judged in that forecast's own units, intervals in the point
 * forecast's.
 */
static void update_scale(struct fcast *f, double y)
{
	int slot = (int)(f->c.t % f->H);
	double e, es;

	f->mag += (f->seen < 100 ? 1.0 / (f->seen + 1) : SCALE_DECAY) * (fabs(y) - f->mag);
	if (f->c.t < 0 || f->pend_t[slot] != f->c.t)
		return;
	es = fabs(y - f->pend_ref[slot]);
	e = f->ops->surprise ? fabs(y - f->pend[(size_t)slot * f->A]) : es; /* anchor 0: h = 1 */
	if (!isfinite(e) || !isfinite(es))
		return;
	scale_step(&f->scale, e, f->warm_n);
	scale_step(&f->sscale, es, f->warm_n);
	if (f->warm_n < SCALE_WARM)
		f->warm_n++;
}

/*
 * A series that sat exactly still (an idle service at 0 req/s) and then
 * keeps moving for SCALE_WARM samples (it took load) starts its error scale
 * afresh: otherwise the winsorising above would keep it near zero for
 * thousands of steps and every later sample would look infinitely
 * surprising.  Isolated spikes on a still series (a few samples, then still
 * again) do not restart it: each stays a surprise.  Nor does a series that
 * is merely well predicted.
 */
static void track_constant(struct fcast *f, double y)
{
	if (f->seen > 0 && y == f->last_y) {
		if (++f->const_run >= SCALE_WARM)
			f->idle = true;
		f->moving_run = 0;
		return;
	}
	f->const_run = 0;
	if (!f->idle || ++f->moving_run < SCALE_WARM)
		return;
	f->idle = false;
	f->moving_run = 0;
	if (!scale_known(f)) {
		f->scale = f->sscale = 0;
		f->warm_n = 0;
	}
}

/*
 * Smallest scale allowed: one part per million of the series' magnitude, so
 * rounding noise of a constant series is not read as surprise.
 */
static double scale_floor(const struct fcast *f)
{
	return fmax(f->scale, fmax(1e-6 * f->mag, 1e-12));
}

static double sscale_floor(const struct fcast *f)
{
	return fmax(f->sscale, fmax(1e-6 * f->mag, 1e-12));
}

/* Run the model's forecast of the newest origin; keep its anchors pending. */
static void predict_pending(struct fcast *f)
{
	int slot = (int)(f->c.t % f->H);
	double *out = f->cur;
	int bad = 0;

	f->ops->predict(f->m, &f->c, f->H, out);
	/* Diverged: not finite, or absurdly far from anything the series did. */
	for (int i = 0; i < f->H; i++)
		bad |= !isfinite(out[i]) ||
		       fabs(out[i] - f->last_y) > 1e4 * (f->mag + f->scale) + 1e-9;
	if (bad) {
		void *m = f->ops->create(&f->c);

		LOG_RATELIMITED(LOG_WARN, "model %s diverged, restarted it", f->ops->name);
		if (m) {
			f->ops->destroy(f->m);
			f->m = m;
		}
		for (int i = 0; i < f->H; i++)
			out[i] = f->last_y;
	}
	f->pend_ref[slot] = out[0];
	if (!bad && f->ops->surprise) {
		double r = f->ops->surprise(f->m, &f->c);

		if (isfinite(r) && fabs(r - f->last_y) <= 1e4 * (f->mag + f->scale) + 1e-9)
			f->pend_ref[slot] = r;
	}
	for (int k = 0; k < f->A; k++)
		f->pend[(size_t)slot * f->A + k] = (float)fmin(fmax(out[f->anchor[k] - 1], -3e38), 3e38);
	f->pend_t[slot] = f->c.t;
	/* negative: the scale was unknown (scored for surprise, not calibrated) */
	f->pend_scale[slot] = scale_known(f) ? scale_floor(f) : -scale_floor(f);
	f->pend_sscale[slot] = sscale_floor(f);
}

void fcast_update(struct fcast *f, double y)
{
	int missing = !isfinite(y);

	if (missing)
		y = f->c.t >= 0 ? f->cur[0] : f->last_y;
	y = fmin(fmax(y, -FCAST_VALUE_MAX), FCAST_VALUE_MAX);
	f->last_score = NAN;
	if (!missing) {
		if (f->seen >= SCALE_WARM)
			calibrate(f, y);
		track_constant(f, y);
		update_scale(f, y);
		f->seen++;
	}
	ctx_push(&f->c, y, missing);
	f->last_y = y;
	ctx_detect(&f->c);
	f->ops->update(f->m, &f->c, y, missing);
	predict_pending(f);
	if (++f->since_q >= QUANT_REFRESH) {
		f->since_q = 0;
		refresh_quantiles(f);
	}
}

void fcast_set_exog(struct fcast *f, const double *x, int n)
{
	for (int i = 0; i < n && i < f->c.p.n_exog; i++)
		f->c.exog[i] =
		    isfinite(x[i]) ? fmin(fmax(x[i], -FCAST_VALUE_MAX), FCAST_VALUE_MAX) : 0;
}

/* Inverse standard normal CDF (Acklam's rational approximation, |err| < 1e-9). */
static double norm_quantile(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
				   -2.759285104469687e+02, 1.383577518672690e+02,
				   -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
				   -1.556989798598866e+02, 6.680131188771972e+01,
				   -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
				   -2.400758277161838e+00, -2.549732539343734e+00,
				   4.374664141464968e+00,  2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
				   2.445134137142996e+00, 3.754408661907416e+00};
	double q, r;

	p = fmin(fmax(p, 1e-12), 1 - 1e-12);
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - 0.02425)
		return -norm_quantile(1 - p);
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	       (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* Normalised bounds of anchor k at coverage cov (0 when k has too few scores). */
static int anchor_z(struct fcast *f, int k, double cov, double *lo, double *up)
{
	if (f->cal_n[k] < CAL_MIN)
		return 0;
	if (fabs(cov - f->c.p.coverage) < 1e-9) {
		*lo = f->qlo[k];
		*up = f->qhi[k];
	} else {
		double r = (1 - cov) / (1 - f->c.p.coverage);

		cal_quantiles(f, k, r * f->aci_lo[k], r * f->aci_hi[k], lo, up);
	}
	return 1;
}

/* Normalised interval bounds for horizon h (1-based) at coverage cov. */
static void interval_z(struct fcast *f, int h, double cov, double *lo, double *up)
{
	int hh = h <= f->H ? h : f->H, k0, k1;
	double widen = h <= f->H ? 1 : sqrt((double)h / f->H), w, l1, u1;

	fcast_anchor_interp(f->anchor, f->A, hh, &k0, &k1, &w);
	if (!anchor_z(f, k0, cov, lo, up) || !anchor_z(f, k1, cov, &l1, &u1)) {
		/* Too few scores yet: a Gaussian guess widening with the horizon. */
		double z = norm_quantile(0.5 + cov / 2) * sqrt((double)h);

		*lo = -z;
		*up = z;
		return;
	}
	*lo = (*lo + w * (l1 - *lo)) * widen;
	*up = (*up + w * (u1 - *up)) * widen;
}

static double clampv(double v)
{
	return isfinite(v) ? fmin(fmax(v, -10 * FCAST_VALUE_MAX), 10 * FCAST_VALUE_MAX) : 0;
}

int fcast_forecast(struct fcast *f, int h, double coverage, struct fcast_point *out)
{
	double *pts, s = scale_floor(f), lo, up;

	if (h <= 0 || !(coverage > 0 && coverage < 1))
		return -EINVAL;
	if (f->c.t < 0)
		return -ENODATA;
	pts = f->cur;
	if (h > f->H) {
		pts = malloc((size_t)h * sizeof(*pts));
		if (!pts)
			return -ENOMEM;
		f->ops->predict(f->m, &f->c, h, pts);
	}
	for (int i = 0; i < h; i++) {
		double p = isfinite(pts[i]) ? pts[i] : f->last_y;

		interval_z(f, i + 1, coverage, &lo, &up);
		out[i].point = clampv(p);
		out[i].lower = clampv(p + fmin(lo, 0) * s);
		out[i].upper = clampv(p + fmax(up, 0) * s);
	}
	if (h > f->H)
		free(pts);
	return 0;
}

double fcast_last_score(const struct fcast *f)
{
	return f->last_score;
}

double fcast_scale(const struct fcast *f)
{
	return scale_floor(f);
}

const struct fcast_ctx *fcast_context(const struct fcast *f)
{
	return &f->c;
}

const char *fcast_model_name(const struct fcast *f)
{
	return f->ops->name;
}

int64_t fcast_count(const struct fcast *f)
{
	return f->c.t + 1;
}

int fcast_solve_spd(double *a, double *b, int n)
{
	double *l = malloc((size_t)n * n * sizeof(*l)), ridge = 0;
	int ok = 0;

	if (!l)
		return -ENOMEM;
	for (int tries = 0; tries < 6 && !ok; tries++) {
		ok = 1;
		for (int i = 0; i < n && ok; i++) {
			for (int j = 0; j <= i; j++) {
				double s = a[i * n + j] + (i == j ? ridge : 0);

				for (int k = 0; k < j; k++)
					s -= l[i * n + k] * l[j * n + k];
				if (i == j) {
					if (!(s > 0)) {
						ok = 0;
						break;
					}
					l[i * n + i] = sqrt(s);
				} else {
					l[i * n + j] = s / l[j * n + j];
				}
			}
		}
		/* Ill-conditioned: add a ridge relative to the diagonal and retry. */
		if (!ok) {
			double dmax = 1e-12;

			for (int i = 0; i < n; i++)
				dmax = fmax(dmax, fabs(a[i * n + i]));
			ridge = ridge ? ridge * 100 : dmax * 1e-10;
		}
	}
	if (ok) {
		for (int i = 0; i < n; i++) { /* forward: L y = b */
			for (int k = 0; k < i; k++)
				b[i] -= l[i * n + k] * b[k];
			b[i] /= l[i * n + i];
		}
		for (int i = n - 1; i >= 0; i--) { /* back: L^T x = y */
			for (int k = i + 1; k < n; k++)
				b[i] -= l[k * n + i] * b[k];
			b[i] /= l[i * n + i];
		}
	}
	free(l);
	return ok ? 0 : -EDOM;
}

int fcast_save(struct fcast *f, struct sbuf *b)
{
	const struct fcast_ctx *c = &f->c;
	size_t HA = (size_t)f->H * f->A;
	uint32_t nl = (uint32_t)strlen(f->ops->name);

	sbuf_u32(b, FCAST_MAGIC);
	sbuf_u32(b, nl);
	sbuf_put(b, f->ops->name, nl);
	sbuf_u32(b, f->ops->version);
	sbuf_u32(b, (uint32_t)f->H);
	sbuf_u32(b, (uint32_t)c->cap);
	sbuf_u32(b, (uint32_t)c->p.n_exog);
	sbuf_i64(b, c->t);
	sbuf_u32(b, (uint32_t)c->n);
	for (int k = c->n - 1; k >= 0; k--) {
		int64_t i = (c->t - k) % c->cap;
		uint8_t m = (uint8_t)fcast_ctx_missing(c, c->t - k);

		sbuf_f64(b, c->hist[i]);
		sbuf_put(b, &m, 1);
	}
	sbuf_u32(b, (uint32_t)c->n_periods);
	for (int i = 0; i < FCAST_MAX_SEASONS; i++) {
		sbuf_u32(b, (uint32_t)c->periods[i]);
		sbuf_f64(b, c->strength[i]);
	}
	sbuf_u32(b, c->season_gen);
	sbuf_i64(b, c->next_detect);
	sbuf_f64v(b, c->exog, FCAST_MAX_EXOG);
	sbuf_u32(b, (uint32_t)f->A);
	sbuf_f64v(b, f->cur, (size_t)f->H);
	for (size_t i = 0; i < HA; i++)
		sbuf_f64(b, f->pend[i]);
	sbuf_f64v(b, f->pend_scale, (size_t)f->H);
	sbuf_f64v(b, f->pend_ref, (size_t)f->H);
	sbuf_f64v(b, f->pend_sscale, (size_t)f->H);
	for (int i = 0; i < f->H; i++)
		sbuf_i64(b, f->pend_t[i]);
	for (int k = 0; k < f->A; k++) {
		const float *w = f->cal + (size_t)k * FCAST_CAL_WIN;

		sbuf_u32(b, (uint32_t)f->cal_n[k]);
		sbuf_u32(b, (uint32_t)f->cal_pos[k]);
		for (int i = 0; i < f->cal_n[k]; i++)
			sbuf_f64(b, w[i]);
	}
	sbuf_f64v(b, f->aci_lo, (size_t)f->A);
	sbuf_f64v(b, f->aci_hi, (size_t)f->A);
	sbuf_f64v(b, f->qlo, (size_t)f->A);
	sbuf_f64v(b, f->qhi, (size_t)f->A);
	sbuf_f64(b, f->scale);
	sbuf_f64(b, f->sscale);
	sbuf_f64(b, f->mag);
	sbuf_f64(b, isfinite(f->last_score) ? f->last_score : 0);
	sbuf_f64(b, f->last_y);
	sbuf_i64(b, f->seen);
	f->ops->save(f->m, c, b);
	return b->err;
}

/* Check the header: same model, version and shape as f; 0 or -ENOMSG. */
static int load_header(struct fcast *f, struct sbuf_reader *r)
{
	char name[32] = "";
	uint32_t nl;

	if (sbuf_get_u32(r) != FCAST_MAGIC)
		return -ENOMSG;
	nl = sbuf_get_u32(r);
	if (nl >= sizeof(name) || sbuf_get(r, name, nl) || strcmp(name, f->ops->name) ||
	    sbuf_get_u32(r) != f->ops->version || sbuf_get_u32(r) != (uint32_t)f->H ||
	    sbuf_get_u32(r) != (uint32_t)f->c.cap || sbuf_get_u32(r) != (uint32_t)f->c.p.n_exog)
		return -ENOMSG;
	return 0;
}

static void load_ctx(struct fcast_ctx *c, struct sbuf_reader *r)
{
	c->t = sbuf_get_i64(r);
	c->n = (int)sbuf_get_u32_range(r, 0, (uint32_t)c->cap);
	if (c->t < c->n - 1 || c->t > ((int64_t)1 << 50))
		r->err = -EBADMSG;
	for (int k = c->n - 1; k >= 0 && !r->err; k--) {
		double v = sbuf_get_f64(r);
		uint8_t m = 0;

		sbuf_get(r, &m, 1);
		ctx_set(c, c->t - k, isfinite(v) ? v : 0, m != 0);
	}
	c->n_periods = (int)sbuf_get_u32_range(r, 0, FCAST_MAX_SEASONS);
	for (int i = 0; i < FCAST_MAX_SEASONS; i++) {
		c->periods[i] = (int)sbuf_get_u32_range(r, 0, (uint32_t)c->cap / 2);
		c->strength[i] = sbuf_get_f64(r);
		if (i < c->n_periods && c->periods[i] < 2)
			r->err = -EBADMSG;
	}
	c->season_gen = sbuf_get_u32(r);
	c->next_detect = sbuf_get_i64(r);
	sbuf_get_f64v(r, c->exog, FCAST_MAX_EXOG);
}

static int cmp_flt(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* Read anchor k's window and rebuild its sorted copy. */
static void load_window(struct fcast *f, int k, struct sbuf_reader *r)
{
	float *w = f->cal + (size_t)k * FCAST_CAL_WIN, *so = f->sorted + (size_t)k * FCAST_CAL_WIN;

	f->cal_n[k] = (int)sbuf_get_u32_range(r, 0, FCAST_CAL_WIN);
	f->cal_pos[k] = (int)sbuf_get_u32_range(r, 0, FCAST_CAL_WIN - 1);
	/* a window still filling holds slots 0..n-1 and writes slot n next */
	if (f->cal_n[k] < FCAST_CAL_WIN && f->cal_pos[k] != f->cal_n[k] && !r->err)
		r->err = -EBADMSG;
	if (r->err)
		f->cal_n[k] = f->cal_pos[k] = 0;
	for (int i = 0; i < f->cal_n[k]; i++)
		w[i] = z_kept(sbuf_get_f64(r));
	memcpy(so, w, (size_t)f->cal_n[k] * sizeof(float));
	qsort(so, (size_t)f->cal_n[k], sizeof(float), cmp_flt);
}

static void load_cal(struct fcast *f, struct sbuf_reader *r)
{
	if (sbuf_get_u32(r) != (uint32_t)f->A)
		r->err = -EBADMSG;
	sbuf_get_f64v(r, f->cur, (size_t)f->H);
	for (size_t i = 0; i < (size_t)f->H * f->A && !r->err; i++)
		f->pend[i] = (float)fmin(fmax(sbuf_get_f64(r), -FCAST_VALUE_MAX), FCAST_VALUE_MAX);
	sbuf_get_f64v(r, f->pend_scale, (size_t)f->H);
	sbuf_get_f64v(r, f->pend_ref, (size_t)f->H);
	sbuf_get_f64v(r, f->pend_sscale, (size_t)f->H);
	for (int i = 0; i < f->H && !r->err; i++)
		f->pend_t[i] = sbuf_get_i64(r);
	for (int k = 0; k < f->A && !r->err; k++)
		load_window(f, k, r);
	sbuf_get_f64v(r, f->aci_lo, (size_t)f->A);
	sbuf_get_f64v(r, f->aci_hi, (size_t)f->A);
	sbuf_get_f64v(r, f->qlo, (size_t)f->A);
	sbuf_get_f64v(r, f->qhi, (size_t)f->A);
	f->scale = sbuf_get_f64(r);
	f->sscale = sbuf_get_f64(r);
	f->mag = sbuf_get_f64(r);
	/* error scales and the magnitude are finite and not negative in any saved state */
	if (!(f->scale >= 0 && f->sscale >= 0 && f->mag >= 0 && isfinite(f->scale) &&
	      isfinite(f->sscale) && isfinite(f->mag)) &&
	    !r->err)
		r->err = -EBADMSG;
	f->last_score = sbuf_get_f64(r);
	f->last_y = sbuf_get_f64(r);
	f->seen = sbuf_get_i64(r);
	f->warm_n = f->seen < SCALE_WARM ? (int)(f->seen > 0 ? f->seen : 0) : SCALE_WARM;
}

int fcast_load(struct fcast *f, const void *buf, size_t len)
{
	struct fcast *g = fcast_new(f->ops->name, &f->c.p);
	struct sbuf_reader r;
	struct fcast tmp;
	int rc;

	if (!g)
		return -errno;
	sbuf_reader_init(&r, buf, len);
	rc = load_header(g, &r);
	if (!rc) {
		load_ctx(&g->c, &r);
		load_cal(g, &r);
		if (!r.err)
			rc = g->ops->load(g->m, &g->c, &r);
		if (!rc && (r.err || r.pos != r.len))
			rc = -EBADMSG;
	}
	if (rc) {
		fcast_free(g);
		return rc;
	}
	tmp = *f;
	*f = *g;
	*g = tmp;
	fcast_free(g);
	return 0;
}
