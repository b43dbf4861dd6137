/*
 * m_arima.c - ARIMA with automatic differencing and order selection,
 * seasonality through Fourier terms, and optional exogenous inputs.
 *
 * The model is a dynamic regression on the (d times differenced) series y':
 *   y'_t = c + sum_{i<=p} phi_i y'_{t-i} + sum_{i<=q} theta_i e_{t-i}
 *          + sum_seasons sum_{k<=K} (a_k sin + b_k cos)(2 pi k t / P)
 *          + sum_j beta_j x_{j,t} + e_t
 * i.e. ARIMA(p,d,q) with Fourier seasonal regressors.  The MA part is
 * estimated the Hannan-Rissanen way: the residuals of a long AR become
 * regressors of a second least-squares stage, so every fit stays linear.
 *
 * A refit builds X'X for the largest design on the history window and selects
 * by AIC the Fourier order K, then p (up to 12), from sub-blocks of it; d is
 * chosen on a hold-out (the newest fifth of the window, one- plus multi-step
 * error); then, in the second stage, ARMA(p <= 2, q <= 2) against the long
 * AR by AIC.  Each candidate costs a small Cholesky solve, not a
 * pass over the data.  Refits are bounded and periodic (doubling while the
 * history grows, then every cap/8 steps, and when the seasons change);
 * between refits an update is O(1).
 */
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AR_PMAX	   12
#define AR_KMAX	   10
#define AR_QMAX	   2
#define AR_MMAX	   (1 + AR_PMAX + 2 * AR_KMAX * FCAST_MAX_SEASONS + FCAST_MAX_EXOG + AR_QMAX)
#define AR_WIN_MIN 16384 /* samples in the fit window at least (if available) */

struct arima {
	int d, p, K, np, nx, q;
	double e_hist[AR_QMAX]; /* newest one-step residuals of y' (MA inputs) */
	double pred1;		/* one-step forecast of y' for the next sample */
	int per[FCAST_MAX_SEASONS];
	double coef[AR_MMAX];
	int fitted;
	uint32_t gen;
	int64_t next_fit;
	double *xring; /* cap x nx exogenous history (NULL without exog) */
};

/* Layout of a design: which blocks a row contains. */
struct ar_layout {
	int p, K, np, nx;
	const int *per;
	int q;		    /* MA terms: residual lags appended last */
	const double *elag; /* elag[0] = residual at t-1 */
	const double *cs;   /* cos, sin of each season's phase at t (NULL: computed) */
};

static int ar_cols(const struct ar_layout *L)
{
	return 1 + L->p + 2 * L->K * L->np + L->nx + L->q;
}

/* Fill row for time t given y' lags (lag[0] = y'_{t-1}) and exog x. */
static void ar_row(const struct ar_layout *L, int64_t t, const double *lag, const double *x,
		   double *row)
{
	int c = 0;

	row[c++] = 1;
	for (int i = 0; i < L->p; i++)
		row[c++] = lag[i];
	for (int s = 0; s < L->np; s++) {
		double th = L->cs ? 0 : 2 * M_PI * (double)(t % L->per[s]) / L->per[s];
		double c1 = L->cs ? L->cs[2 * s] : cos(th), s1 = L->cs ? L->cs[2 * s + 1] : sin(th);
		double ck = c1, sk = s1;

		for (int k = 1; k <= L->K; k++) {
			double nc;

			row[c++] = sk;
			row[c++] = ck;
			nc = ck * c1 - sk * s1; /* angle addition: (k+1) theta */
			sk = sk * c1 + ck * s1;
			ck = nc;
		}
	}
	for (int j = 0; j < L->nx; j++)
		row[c++] = x[j];
	for (int i = 0; i < L->q; i++)
		row[c++] = L->elag[i];
}

/* Normal equations of the full design over the window. */
struct ar_normal {
	double xtx[AR_MMAX * AR_MMAX], xty[AR_MMAX], yty;
	int n, m;
};

static double ar_exog(const struct arima *a, const struct fcast_ctx *c, int64_t t, int j)
{
	return a->xring ? a->xring[(size_t)(t % c->cap) * a->nx + j] : 0;
}

/*
 * Accumulate X'X, X'y for differencing d over the newest w samples, leaving
 * out the newest `skip` (a hold-out).
 */
static void ar_build(const struct arima *a, const struct fcast_ctx *c, const struct ar_layout *L,
		     int d, int w, int skip, struct ar_normal *ne)
{
	int64_t t0 = c->t - w + 1;
	double row[AR_MMAX], lag[AR_PMAX], x[FCAST_MAX_EXOG];
	int m = ar_cols(L);

	memset(ne, 0, sizeof(*ne));
	ne->m = m;
	/* Rows from t0 + 1 + p whatever d: both differencings fit the same rows. */
	for (int64_t t = t0 + 1 + L->p; t <= c->t - skip; t++) {
		int bad = 0;
		double y;

		for (int k = 0; k <= L->p + d; k++)
			bad |= fcast_ctx_missing(c, t - k);
		if (bad)
			continue;
		y = fcast_ctx_back(c, (int)(c->t - t)) -
		    (d ? fcast_ctx_back(c, (int)(c->t - t + 1)) : 0);
		for (int i = 0; i < L->p; i++)
			lag[i] = fcast_ctx_back(c, (int)(c->t - t + 1 + i)) -
				 (d ? fcast_ctx_back(c, (int)(c->t - t + 2 + i)) : 0);
		for (int j = 0; j < L->nx; j++)
			x[j] = ar_exog(a, c, t, j);
		ar_row(L, t, lag, x, row);
		for (int i = 0; i < m; i++) {
			ne->xty[i] += row[i] * y;
			for (int j = 0; j <= i; j++)
				ne->xtx[i * m + j] += row[i] * row[j];
		}
		ne->yty += y * y;
		ne->n++;
	}
	for (int i = 0; i < m; i++)
		for (int j = i + 1; j < m; j++)
			ne->xtx[i * m + j] = ne->xtx[j * m + i];
}

/* Column indexes of candidate (p, K) inside the full design Lf. */
static int ar_subcols(const struct ar_layout *Lf, int p, int K, int *idx)
{
	int m = 0;

	idx[m++] = 0;
	for (int i = 0; i < p; i++)
		idx[m++] = 1 + i;
	for (int s = 0; s < Lf->np; s++)
		for (int k = 0; k < 2 * K; k++)
			idx[m++] = 1 + Lf->p + s * 2 * Lf->K + k;
	for (int j = 0; j < Lf->nx; j++)
		idx[m++] = 1 + Lf->p + 2 * Lf->K * Lf->np + j;
	return m;
}

/* Least squares for candidate (p, K): coefficients into coef, returns AIC. */
static double ar_candidate(const struct ar_normal *ne, const struct ar_layout *Lf, int p, int K,
			   double *coef)
{
	int idx[AR_MMAX], m = ar_subcols(Lf, p, K, idx);
	double a[AR_MMAX * AR_MMAX], sse;

	if (ne->n <= m + 8)
		return INFINITY;
	for (int i = 0; i < m; i++) {
		coef[i] = ne->xty[idx[i]];
		for (int j = 0; j < m; j++)
			a[i * m + j] = ne->xtx[idx[i] * ne->m + idx[j]];
	}
	if (fcast_solve_spd(a, coef, m))
		return INFINITY;
	sse = ne->yty;
	for (int i = 0; i < m; i++)
		sse -= coef[i] * ne->xty[idx[i]];
	sse = fmax(sse, 1e-12 * fmax(ne->yty, 1e-300));
	return ne->n * log(sse / ne->n) + 2.0 * m;
}

/* Least squares on the columns idx[0..m) of ne; AIC, coefficients into coef. */
static double ar_candidate_idx(const struct ar_normal *ne, int m, const int *idx, double *coef)
{
	double a[AR_MMAX * AR_MMAX], sse;

	if (ne->n <= m + 8)
		return INFINITY;
	for (int i = 0; i < m; i++) {
		coef[i] = ne->xty[idx[i]];
		for (int j = 0; j < m; j++)
			a[i * m + j] = ne->xtx[idx[i] * ne->m + idx[j]];
	}
	if (fcast_solve_spd(a, coef, m))
		return INFINITY;
	sse = ne->yty;
	for (int i = 0; i < m; i++)
		sse -= coef[i] * ne->xty[idx[i]];
	sse = fmax(sse, 1e-12 * fmax(ne->yty, 1e-300));
	return ne->n * log(sse / ne->n) + 2.0 * m;
}

/* Columns of (p, q) in the second-stage design [1, p2 lags, F Fourier, nx, MA]. */
static int ar_ma_cols(int p, int q, int p2, int F, int nx, int *idx)
{
	int m = 0;

	idx[m++] = 0;
	for (int i = 0; i < p; i++)
		idx[m++] = 1 + i;
	for (int i = 0; i < F + nx; i++)
		idx[m++] = 1 + p2 + i;
	for (int i = 0; i < q; i++)
		idx[m++] = 1 + p2 + F + nx + i;
	return m;
}

/* Fourier order limit for the seasons in L (K < P/2). */
static int ar_kmax(const struct ar_layout *L)
{
	int k = L->np ? AR_KMAX : 0;

	for (int s = 0; s < L->np; s++)
		if (L->per[s] / 2 - 1 < k)
			k = L->per[s] / 2 - 1;
	return k < 0 ? 0 : k;
}

/*
 * Choose K (unless fixed_k >= 0) then p by AIC on one set of normal
 * equations; sets a->p/K/coef.
 */
static double ar_select(struct arima *a, const struct ar_normal *ne, const struct ar_layout *Lf,
			int fixed_k)
{
	static const int ks[] = {0, 1, 2, 4, 6, 10}, ps[] = {0, 1, 2, 3, 4, 6, 8, 12};
	double best = INFINITY, coef[AR_MMAX] = {0};
	int bk = 0;

	for (size_t i = 0; fixed_k < 0 && i < sizeof(ks) / sizeof(*ks) && ks[i] <= Lf->K; i++) {
		double aic = ar_candidate(ne, Lf, 2, ks[i], coef);

		if (aic < best)
			best = aic, bk = ks[i];
	}
	if (fixed_k >= 0)
		bk = fixed_k;
	best = INFINITY;
	for (size_t i = 0; i < sizeof(ps) / sizeof(*ps); i++) {
		double aic = ar_candidate(ne, Lf, ps[i], bk, coef);

		if (aic < best) {
			best = aic;
			a->p = ps[i];
			a->K = bk;
			memcpy(a->coef, coef, sizeof(coef));
		}
	}
	return best;
}

static void ar_forecast_at(const struct arima *a, const struct fcast_ctx *c, int back, int h,
			   double *out);

/*
 * Criterion of the current model on the newest w samples (a hold-out the fit
 * did not see): log one-step MSE + log h-step MSE from origins every 2 steps,
 * so the choice of differencing answers for the longer horizons too.
 */
static double ar_criterion(const struct arima *a, const struct fcast_ctx *c, int w, int h)
{
	double out[64], s1 = 0, sh = 0;
	int n = 0;

	h = h < 1 ? 1 : h > 64 ? 64 : h;
	for (int back = w; back >= h; back -= 2) {
		double e1, eh;

		if (back >= c->n - AR_PMAX - 2)
			continue;
		ar_forecast_at(a, c, back, h, out);
		e1 = fcast_ctx_back(c, back - 1) - out[0];
		eh = fcast_ctx_back(c, back - h) - out[h - 1];
		if (!isfinite(e1) || !isfinite(eh))
			return INFINITY;
		s1 += e1 * e1;
		sh += eh * eh;
		n++;
	}
	return n ? log(s1 / n + 1e-300) + log(sh / n + 1e-300) : INFINITY;
}

/* y' at time t (t - 1 must be in the history when d = 1). */
static double ar_yd(const struct arima *a, const struct fcast_ctx *c, int64_t t)
{
	return fcast_ctx_back(c, (int)(c->t - t)) -
	       (a->d ? fcast_ctx_back(c, (int)(c->t - t + 1)) : 0);
}

/*
 * One-step residuals of the chosen AR model over the newest w samples into
 * res[0..w) (index t - t0; 0 where unknown or missing).
 */
static void ar_residuals(const struct arima *a, const struct fcast_ctx *c, int w, double *res)
{
	struct ar_layout L = {a->p, a->K, a->np, a->nx, a->per};
	int64_t t0 = c->t - w + 1;
	double lag[AR_PMAX], row[AR_MMAX], x[FCAST_MAX_EXOG];
	int m = ar_cols(&L);

	memset(res, 0, (size_t)w * sizeof(*res));
	for (int64_t t = t0 + 1 + AR_PMAX; t <= c->t; t++) {
		double yhat = 0;
		int bad = 0;

		for (int k = 0; k <= a->p + 1; k++)
			bad |= fcast_ctx_missing(c, t - k);
		if (bad)
			continue;
		for (int i = 0; i < a->p; i++)
			lag[i] = ar_yd(a, c, t - 1 - i);
		for (int j = 0; j < a->nx; j++)
			x[j] = ar_exog(a, c, t, j);
		ar_row(&L, t, lag, x, row);
		for (int i = 0; i < m; i++)
			yhat += a->coef[i] * row[i];
		res[t - t0] = ar_yd(a, c, t) - yhat;
	}
}

/*
 * Is 1 + t1 B + t2 B^2 invertible (roots outside the unit circle, with a
 * margin)?  A non-invertible MA feeds its residuals back without bound.
 */
static int ma_invertible(const double *th, int q)
{
	double t1 = th[0], t2 = q > 1 ? th[1] : 0;

	return fabs(t2) < 0.98 && t1 + t2 > -0.98 && t2 - t1 > -0.98 && fabs(t1) < 1.98;
}

/*
 * Hannan-Rissanen second stage: regress y' on up to 2 lags, the chosen
 * Fourier terms and inputs, and up to AR_QMAX lags of the first stage's
 * residuals; keep the (p, q) of lowest AIC, the long AR included (q = 0).
 */
static void ar_add_ma(struct arima *a, const struct fcast_ctx *c, int w, struct ar_normal *ne,
		      double *res)
{
	static const int cand[][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}, {0, 1}, {0, 2}};
	int p2 = a->p > 2 ? a->p : 2, F = 2 * a->K * a->np, idx[AR_MMAX], best_q = 0, best_p = a->p;
	struct ar_layout L = {p2, a->K, a->np, a->nx, a->per, AR_QMAX, NULL};
	double best, coef[AR_MMAX] = {0}, keep[AR_MMAX];
	int64_t t0 = c->t - w + 1;

	ar_residuals(a, c, w, res);
	/* Normal equations with the residual lags as extra regressors. */
	memset(ne, 0, sizeof(*ne));
	ne->m = ar_cols(&L);
	for (int64_t t = t0 + 3 + AR_PMAX; t <= c->t; t++) {
		double lag[AR_PMAX], row[AR_MMAX], x[FCAST_MAX_EXOG], el[AR_QMAX], y;
		int bad = 0;

		for (int k = 0; k <= p2 + 1; k++)
			bad |= fcast_ctx_missing(c, t - k);
		if (bad)
			continue;
		for (int i = 0; i < p2; i++)
			lag[i] = ar_yd(a, c, t - 1 - i);
		for (int j = 0; j < a->nx; j++)
			x[j] = ar_exog(a, c, t, j);
		for (int i = 0; i < AR_QMAX; i++)
			el[i] = res[t - 1 - i - t0];
		L.elag = el;
		ar_row(&L, t, lag, x, row);
		y = ar_yd(a, c, t);
		for (int i = 0; i < ne->m; i++) {
			ne->xty[i] += row[i] * y;
			for (int j = 0; j <= i; j++)
				ne->xtx[i * ne->m + j] += row[i] * row[j];
		}
		ne->yty += y * y;
		ne->n++;
	}
	for (int i = 0; i < ne->m; i++)
		for (int j = i + 1; j < ne->m; j++)
			ne->xtx[i * ne->m + j] = ne->xtx[j * ne->m + i];
	best = ar_candidate_idx(ne, ar_ma_cols(a->p, 0, p2, F, a->nx, idx), idx, keep);
	for (size_t k = 0; k < sizeof(cand) / sizeof(*cand); k++) {
		int n = ar_ma_cols(cand[k][0], cand[k][1], p2, F, a->nx, idx);
		double aic = ar_candidate_idx(ne, n, idx, coef);

		if (aic < best && ma_invertible(coef + n - cand[k][1], cand[k][1])) {
			best = aic, best_p = cand[k][0], best_q = cand[k][1];
			memcpy(keep, coef, sizeof(keep));
		}
	}
	if (best_q > 0) {
		a->p = best_p;
		a->q = best_q;
		memcpy(a->coef, keep, sizeof(keep));
		for (int i = 0; i < AR_QMAX; i++) /* start the MA inputs from the window's end */
			a->e_hist[i] = res[w - 1 - i];
	}
}

static int ar_refit(struct arima *a, const struct fcast_ctx *c)
{
	struct ar_normal *ne = malloc(sizeof(*ne));
	struct ar_layout Lf = {AR_PMAX, 0, 0, a->nx, a->per};
	int w = c->n, longest = 0, k0, hold, h = c->p.max_horizon < 24 ? c->p.max_horizon : 24;
	double crit0;

	if (!ne)
		return -ENOMEM;
	a->np = 0;
	a->q = 0;
	memset(a->e_hist, 0, sizeof(a->e_hist));
	for (int s = 0; s < c->n_periods; s++)
		if (c->periods[s] >= 4 && c->periods[s] <= c->n)
			a->per[a->np++] = c->periods[s], longest = c->periods[s];
	Lf.np = a->np;
	Lf.K = ar_kmax(&Lf);
	/* Window: enough for the longest season, bounded so a refit stays cheap. */
	if (w > AR_WIN_MIN && w > (3 * longest) / 2)
		w = AR_WIN_MIN > (3 * longest) / 2 ? AR_WIN_MIN : (3 * longest) / 2;
	/*
	 * Differencing by hold-out: fit d = 0 and d = 1 (K and p by AIC; the
	 * differenced model keeps the levels' K, as the seasonal shape barely
	 * shows in one-step differences yet adds up over a horizon) on all but
	 * the newest fifth of the window, keep the d that forecasts that fifth
	 * better at one step and at h steps, then refit it on the whole window.
	 */
	hold = w / 5 >= 4 * h && w - w / 5 > 4 * AR_PMAX ? w / 5 : 0;
	ar_build(a, c, &Lf, 0, w, hold, ne);
	a->d = 0;
	a->fitted = ar_select(a, ne, &Lf, -1) < INFINITY;
	k0 = a->K;
	crit0 = a->fitted && hold ? ar_criterion(a, c, hold, h) : INFINITY;
	if (hold) {
		ar_build(a, c, &Lf, 1, w, hold, ne);
		a->d = 1;
		a->d = ar_select(a, ne, &Lf, k0) < INFINITY && ar_criterion(a, c, hold, h) < crit0;
	}
	ar_build(a, c, &Lf, a->d, w, 0, ne);
	a->fitted = ar_select(a, ne, &Lf, a->d ? k0 : -1) < INFINITY;
	if (a->fitted && w > AR_PMAX + 16) {
		double *res = malloc((size_t)w * sizeof(*res));

		if (res)
			ar_add_ma(a, c, w, ne, res);
		free(res);
	}
	free(ne);
	return 0;
}

static size_t ar_mem(const void *p, const struct fcast_ctx *c)
{
	const struct arima *a = p;

	return sizeof(*a) + (a->xring ? (size_t)c->cap * a->nx * sizeof(double) : 0);
}

static void *ar_create(const struct fcast_ctx *c)
{
	struct arima *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->nx = c->p.n_exog;
	if (a->nx) {
		a->xring = calloc((size_t)c->cap * a->nx, sizeof(double));
		if (!a->xring) {
			free(a);
			return NULL;
		}
	}
	a->next_fit = 32;
	a->gen = c->season_gen;
	return a;
}

static void ar_destroy(void *p)
{
	struct arima *a = p;

	free(a->xring);
	free(a);
}

static void ar_update(void *p, const struct fcast_ctx *c, double y, int missing)
{
	struct arima *a = p;
	double f;

	if (a->xring)
		memcpy(a->xring + (size_t)(c->t % c->cap) * a->nx, c->exog, sizeof(double) * a->nx);
	/* The MA inputs: this sample's one-step residual (0 when missing). */
	memmove(a->e_hist + 1, a->e_hist, sizeof(double) * (AR_QMAX - 1));
	a->e_hist[0] = !missing && a->q > 0 && c->n > 1 ? ar_yd(a, c, c->t) - a->pred1 : 0;
	if (!isfinite(a->e_hist[0]))
		a->e_hist[0] = 0;
	if (a->gen != c->season_gen) {
		a->gen = c->season_gen;
		a->next_fit = c->t;
	}
	if (c->t >= a->next_fit) {
		int64_t every = c->cap / 8 > 256 ? c->cap / 8 : 256;

		a->next_fit = c->n < c->cap ? (c->t + 1) * 2 : c->t + every;
		if (a->next_fit > c->t + every)
			a->next_fit = c->t + every;
		ar_refit(a, c);
	}
	if (a->q > 0) { /* only an MA model needs its own one-step residuals */
		ar_forecast_at(a, c, 0, 1, &f);
		a->pred1 = a->d ? f - fcast_ctx_back(c, 0) : f;
	}
}

/* Forecast h steps from the origin `back` samples before the newest one. */
static void ar_forecast_at(const struct arima *a, const struct fcast_ctx *c, int back, int h,
			   double *out)
{
	double lag[AR_PMAX], row[AR_MMAX], level = fcast_ctx_back(c, back), x[FCAST_MAX_EXOG];
	double el[AR_QMAX] = {0}, cs[2 * FCAST_MAX_SEASONS], step[2 * FCAST_MAX_SEASONS];
	struct ar_layout L = {a->p, a->K, a->np, a->nx, a->per, a->q, el, cs};
	int m = ar_cols(&L);

	if (!a->fitted || c->n - back < a->p + a->d + 1) {
		for (int j = 0; j < h; j++)
			out[j] = level;
		return;
	}
	for (int j = 0; j < a->nx; j++) /* future inputs: held at the origin's values */
		x[j] = back ? ar_exog(a, c, c->t - back, j) : c->exog[j];
	for (int i = 0; i < a->p; i++)
		lag[i] = fcast_ctx_back(c, back + i) - (a->d ? fcast_ctx_back(c, back + i + 1) : 0);
	/* Residuals are known at the newest origin only; future ones are 0. */
	if (back == 0)
		memcpy(el, a->e_hist, sizeof(el));
	/* Season phases of the future steps: rotated on, not recomputed. */
	for (int s = 0; s < a->np; s++) {
		double th = 2 * M_PI * (double)((c->t - back + 1) % a->per[s]) / a->per[s];

		cs[2 * s] = cos(th);
		cs[2 * s + 1] = sin(th);
		step[2 * s] = cos(2 * M_PI / a->per[s]);
		step[2 * s + 1] = sin(2 * M_PI / a->per[s]);
	}
	for (int j = 1; j <= h; j++) {
		double yd = 0;

		ar_row(&L, c->t - back + j, lag, x, row);
		for (int s = 0; s < a->np; s++) {
			double c0 = cs[2 * s], s0 = cs[2 * s + 1];

			cs[2 * s] = c0 * step[2 * s] - s0 * step[2 * s + 1];
			cs[2 * s + 1] = s0 * step[2 * s] + c0 * step[2 * s + 1];
		}
		memmove(el + 1, el, sizeof(double) * (AR_QMAX - 1));
		el[0] = 0;
		for (int i = 0; i < m; i++)
			yd += a->coef[i] * row[i];
		memmove(lag + 1, lag, sizeof(double) * (size_t)(a->p > 0 ? a->p - 1 : 0));
		if (a->p)
			lag[0] = yd;
		level = a->d ? level + yd : yd;
		out[j - 1] = level;
	}
}

static void ar_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	ar_forecast_at(p, c, 0, h, out);
}

static void ar_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct arima *a = p;

	sbuf_u32(b, (uint32_t)a->d);
	sbuf_u32(b, (uint32_t)a->q);
	sbuf_f64v(b, a->e_hist, AR_QMAX);
	sbuf_f64(b, a->pred1);
	sbuf_u32(b, (uint32_t)a->p);
	sbuf_u32(b, (uint32_t)a->K);
	sbuf_u32(b, (uint32_t)a->np);
	for (int s = 0; s < FCAST_MAX_SEASONS; s++)
		sbuf_u32(b, (uint32_t)a->per[s]);
	sbuf_f64v(b, a->coef, AR_MMAX);
	sbuf_u32(b, (uint32_t)a->fitted);
	sbuf_u32(b, a->gen);
	sbuf_i64(b, a->next_fit);
	if (a->xring)
		sbuf_f64v(b, a->xring, (size_t)c->cap * a->nx);
}

static int ar_load(void *p, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	struct arima *a = p;

	a->d = (int)sbuf_get_u32_range(r, 0, 1);
	a->q = (int)sbuf_get_u32_range(r, 0, AR_QMAX);
	sbuf_get_f64v(r, a->e_hist, AR_QMAX);
	a->pred1 = sbuf_get_f64(r);
	a->p = (int)sbuf_get_u32_range(r, 0, AR_PMAX);
	a->K = (int)sbuf_get_u32_range(r, 0, AR_KMAX);
	a->np = (int)sbuf_get_u32_range(r, 0, FCAST_MAX_SEASONS);
	for (int s = 0; s < FCAST_MAX_SEASONS; s++)
		a->per[s] = (int)sbuf_get_u32_range(r, 0, (uint32_t)c->cap);
	for (int s = 0; s < a->np; s++)
		if (a->per[s] < 4)
			r->err = -EBADMSG;
	sbuf_get_f64v(r, a->coef, AR_MMAX);
	a->fitted = (int)sbuf_get_u32_range(r, 0, 1);
	a->gen = sbuf_get_u32(r);
	a->next_fit = sbuf_get_i64(r);
	if (a->xring)
		sbuf_get_f64v(r, a->xring, (size_t)c->cap * a->nx);
	return r->err;
}

const struct fcast_ops fcast_arima = {
    .name = "arima",
    .version = 2,
    .create = ar_create,
    .destroy = ar_destroy,
    .update = ar_update,
    .predict = ar_predict,
    .save = ar_save,
    .load = ar_load,
    .mem = ar_mem,
};
