/*
 * anom.c - streaming anomaly score (see anom.h for the definition).
 *
 * Each part is a statistic of the normalised error z whose tail probability
 * is judged against that same statistic's own recent history (a window of
 * ANOM_WIN values, kept sorted): structure that is normal for a series (a
 * forecaster's steady bias, autocorrelated errors, staircases) is learnt as
 * normal, whatever its shape.  Per sample: O(log W) searches and O(W)
 * memmoves in three sorted windows.
 */
#include "model/anom.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_DECAY 0.1 /* the short-term means: about 10 samples */
#define RATE_DECAY  0.001

/*
 * A window of a statistic's recent values, by age and sorted.  Stored as
 * float (half the memory; a score needs no more digits); statistics are
 * rounded to float before they are judged, so comparisons stay exact.
 */
struct twin {
	float ring[ANOM_WIN];
	float sorted[ANOM_WIN];
	int n, pos;
};

struct anom {
	struct twin abs_z;  /* |z| */
	struct twin mean_z; /* short-term mean of z (level shifts) */
	struct twin spread; /* short-term mean of |z| (variance changes) */
	double m_short, a_short;
	double rate; /* EWMA of score > 0.5 */
	int64_t seen;
	struct anom_parts last;
};

struct anom *anom_new(void)
{
	struct anom *a = calloc(1, sizeof(*a));

	if (!a)
		errno = ENOMEM;
	return a;
}

void anom_free(struct anom *a)
{
	free(a);
}

size_t anom_memory_bytes(const struct anom *a)
{
	return a ? sizeof(*a) : 0;
}

/* v rounded to the float the windows store (clamped to +-1e30). */
static double fq(double v)
{
	return (float)fmin(fmax(v, -1e30), 1e30);
}

static int lb(const float *s, int n, double v)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (s[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void twin_push(struct twin *w, double u)
{
	int i;

	if (w->n == ANOM_WIN) {
		i = lb(w->sorted, w->n, w->ring[w->pos]);
		memmove(w->sorted + i, w->sorted + i + 1, (size_t)(w->n - i - 1) * sizeof(float));
		w->n--;
	}
	i = lb(w->sorted, w->n, u);
	memmove(w->sorted + i + 1, w->sorted + i, (size_t)(w->n - i) * sizeof(float));
	w->sorted[i] = (float)u;
	w->ring[w->pos] = (float)u;
	w->pos = (w->pos + 1) % ANOM_WIN;
	w->n++;
}

/*
 * P(X >= u) under the window: empirical while some value reached u (a
 * recurring event, e.g. a daily jump, is not news); beyond the window's
 * maximum, an exponential tail fitted to the excesses over the 90th
 * percentile (so probabilities finer than 1/W can be told apart).
 */
static double twin_upper(const struct twin *w, double u)
{
	int n = w->n, k = n - lb(w->sorted, n, u), i90 = (int)(0.9 * n);
	double p_emp = (k + 1.0) / (n + 1.0), q90, exc = 0;

	if (n == 0)
		return 1;
	q90 = w->sorted[i90 < n ? i90 : n - 1];
	if (k >= 1 || u <= q90)
		return p_emp;
	for (int i = i90 + 1; i < n; i++)
		exc += (w->sorted[i] - q90) / (n - i90 - 1);
	if (!(exc > 0))
		return 1e-12; /* beyond a tail that never varied */
	return fmin(p_emp, (double)(n - i90) / n * exp(-(u - q90) / exc));
}

/* Two-sided: the statistic is unusually high or unusually low. */
static double twin_two_sided(const struct twin *w, double u)
{
	const struct twin *p = w;
	int n = p->n, k = n - lb(p->sorted, n, nextafter(u, INFINITY)); /* values > u */
	double up = twin_upper(w, u), lo_emp, lo;

	k = n - k; /* values <= u */
	lo_emp = (k + 1.0) / (n + 1.0);
	lo = lo_emp;

	/* Mirror of twin_upper for the lower tail, empirical plus exponential. */
	if (n > 0 && k < 1) {
		int i10 = (int)(0.1 * n);
		double q10 = p->sorted[i10], exc = 0;

		for (int i = 0; i < i10; i++)
			exc += (q10 - p->sorted[i]) / i10;
		if (u < q10)
			lo = exc > 0 ? fmin(lo_emp, (double)(i10 + 1) / n * exp(-(q10 - u) / exc))
				     : 1e-12;
	}
	return fmin(1, 2 * fmin(lo, up));
}

static double ramp(double x, double lo, double hi)
{
	return x <= lo ? 0 : x >= hi ? 1 : (x - lo) / (hi - lo);
}

/* Map a tail probability to a score: 0 at p >= 1e-2, 1 at p <= 1e-4. */
static double p_score(double p)
{
	return ramp(-log10(fmax(p, 1e-300)), 2, 4);
}

double anom_update(struct anom *a, double z)
{
	double u = fq(fabs(z)), score = 0, ms, as;

	/*
	 * Not finite: nothing to judge.  Exactly 0: the series sat still where it
	 * was forecast to (an idle service); such stretches would fill the windows
	 * with zeros and make the ordinary noise of the load that follows look
	 * extreme for a whole window.
	 */
	if (!isfinite(z) || z == 0)
		return 0;
	if (a->seen == 0) {
		a->m_short = z;
		a->a_short = u;
	} else {
		a->m_short += SHORT_DECAY * (z - a->m_short);
		a->a_short += SHORT_DECAY * (u - a->a_short);
	}
	memset(&a->last, 0, sizeof(a->last));
	ms = fq(a->m_short);
	as = fq(a->a_short);
	if (a->seen >= ANOM_WARMUP) {
		a->last.surprise = p_score(twin_upper(&a->abs_z, u));
		a->last.shift = p_score(twin_two_sided(&a->mean_z, ms));
		a->last.variance = p_score(twin_two_sided(&a->spread, as));
		score = fmax(a->last.surprise, fmax(a->last.shift, a->last.variance));
		a->rate += RATE_DECAY * ((score > 0.5) - a->rate);
	}
	twin_push(&a->abs_z, u);
	twin_push(&a->mean_z, ms);
	twin_push(&a->spread, as);
	a->seen++;
	return fmin(fmax(score, 0), 1);
}

void anom_parts(const struct anom *a, struct anom_parts *out)
{
	*out = a->last;
}

double anom_rate(const struct anom *a)
{
	return a->rate;
}

static void twin_save(const struct twin *w, struct sbuf *b)
{
	sbuf_u32(b, (uint32_t)w->n);
	sbuf_u32(b, (uint32_t)w->pos);
	for (int i = 0; i < w->n; i++)
		sbuf_f64(b, w->ring[i]);
}

void anom_save(const struct anom *a, struct sbuf *b)
{
	sbuf_u32(b, ANOM_VERSION);
	twin_save(&a->abs_z, b);
	twin_save(&a->mean_z, b);
	twin_save(&a->spread, b);
	sbuf_f64(b, a->m_short);
	sbuf_f64(b, a->a_short);
	sbuf_f64(b, a->rate);
	sbuf_i64(b, a->seen);
}

static int cmp(const void *x, const void *y)
{
	float p = *(const float *)x, q = *(const float *)y;

	return (p > q) - (p < q);
}

static void twin_load(struct twin *w, struct sbuf_reader *r)
{
	w->n = (int)sbuf_get_u32_range(r, 0, ANOM_WIN);
	w->pos = (int)sbuf_get_u32_range(r, 0, ANOM_WIN - 1);
	/* a window still filling holds slots 0..n-1 and writes slot n next */
	if (w->n < ANOM_WIN && w->pos != w->n && !r->err)
		r->err = -EBADMSG;
	if (r->err)
		w->n = w->pos = 0;
	for (int i = 0; i < w->n; i++) {
		double v = sbuf_get_f64(r);

		w->ring[i] = (float)(isfinite(v) ? fq(v) : 0);
	}
	memcpy(w->sorted, w->ring, sizeof(float) * (size_t)w->n);
	qsort(w->sorted, (size_t)w->n, sizeof(float), cmp);
}

int anom_load(struct anom *a, struct sbuf_reader *r)
{
	struct anom *t;

	if (sbuf_get_u32(r) != ANOM_VERSION)
		return r->err ? r->err : -ENOMSG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	twin_load(&t->abs_z, r);
	twin_load(&t->mean_z, r);
	twin_load(&t->spread, r);
	t->m_short = sbuf_get_f64(r);
	t->a_short = sbuf_get_f64(r);
	t->rate = sbuf_get_f64(r);
	t->seen = sbuf_get_i64(r);
	if (!r->err)
		*a = *t;
	free(t);
	return r->err;
}
