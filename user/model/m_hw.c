/*
 * m_hw.c - Holt-Winters: additive, damped trend, one or two seasons.
 *
 * Error-correction form: with e = y - (l + phi b + s1 + s2),
 *   l += phi b + alpha e,  b = phi b + beta e,  s_i[phase] += gamma_i e.
 * Seasons come from the shared context (auto-detected or given).  The
 * smoothing constants are chosen by a bounded periodic refit: a small grid
 * is filtered over the history window and the set minimising the one-step
 * plus multi-step error wins; the state is then re-run over the window.
 * Refits happen on a doubling schedule while history grows, then every
 * cap/8 steps, and at once when the detected seasons change.  Between
 * refits each update is O(1).
 */
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HW_PHI 0.98

static const double hw_alpha[] = {0.02, 0.1, 0.3, 0.6};
static const double hw_beta[] = {0, 0.01};
static const double hw_gamma[] = {0.02, 0.1, 0.3};

struct hw_par {
	double alpha, beta, gamma, phi;
};

struct hw_state {
	double l, b;
	int np;
	int p[FCAST_MAX_SEASONS];
	double *s[FCAST_MAX_SEASONS];
};

struct hw {
	struct hw_par k;
	struct hw_state st;
	uint32_t gen; /* context season generation the state was fitted to */
	int64_t next_fit;
	int init;
};

static void hw_state_free(struct hw_state *st)
{
	for (int i = 0; i < FCAST_MAX_SEASONS; i++) {
		free(st->s[i]);
		st->s[i] = NULL;
	}
}

/* Make dst a deep copy of src (dst's seasonal arrays reused when possible). */
static int hw_state_copy(struct hw_state *dst, const struct hw_state *src)
{
	for (int i = 0; i < FCAST_MAX_SEASONS; i++) {
		if (i < src->np && (!dst->s[i] || dst->p[i] != src->p[i])) {
			free(dst->s[i]);
			dst->s[i] = malloc((size_t)src->p[i] * sizeof(double));
			if (!dst->s[i])
				return -ENOMEM;
		}
		if (i < src->np) {
			memcpy(dst->s[i], src->s[i], (size_t)src->p[i] * sizeof(double));
		} else { /* a season dst no longer has: do not keep its array */
			free(dst->s[i]);
			dst->s[i] = NULL;
		}
	}
	dst->l = src->l, dst->b = src->b, dst->np = src->np;
	memcpy(dst->p, src->p, sizeof(dst->p));
	return 0;
}

static double hw_season(const struct hw_state *st, int64_t t)
{
	double s = 0;

	for (int i = 0; i < st->np; i++)
		s += st->s[i][t % st->p[i]];
	return s;
}

/* One filter step at time t; returns the one-step forecast error (0 if !learn). */
static double hw_step(struct hw_state *st, const struct hw_par *k, int64_t t, double y, int learn)
{
	double yhat = st->l + k->phi * st->b + hw_season(st, t);
	double e = learn ? y - yhat : 0;

	st->l += k->phi * st->b + k->alpha * e;
	st->b = k->phi * st->b + k->beta * e;
	for (int i = 0; i < st->np; i++)
		st->s[i][t % st->p[i]] += k->gamma * (i ? 0.5 : 1) * e;
	return e;
}

/* Seasons usable on n samples: each needs two full cycles. */
static int usable_seasons(const struct fcast_ctx *c, int n, int *p)
{
	int np = 0;

	for (int i = 0; i < c->n_periods; i++)
		if (c->periods[i] >= 2 && 2 * c->periods[i] <= n)
			p[np++] = c->periods[i];
	return np;
}

/*
 * Denoise an estimated seasonal profile: circular centred mean over 0.5% of
 * the cycle (a week at one-minute steps has ~2 noisy samples per phase in
 * the window; its shape is smooth at that scale).
 */
static int smooth_profile(double *s, int p)
{
	int w = p / 400; /* half width */
	double *t, acc = 0;

	if (w < 1)
		return 0;
	t = malloc((size_t)p * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (int k = -w; k <= w; k++)
		acc += s[((k % p) + p) % p];
	for (int i = 0; i < p; i++) {
		t[i] = acc / (2 * w + 1);
		acc += s[(i + w + 1) % p] - s[((i - w) % p + p) % p];
	}
	memcpy(s, t, (size_t)p * sizeof(*t));
	free(t);
	return 0;
}

/* Initial state from the window x[0..n) starting at time t0 (uses the whole window). */
static int hw_init_state(struct hw_state *st, const double *x, int n, int64_t t0, const int *p,
			 int np)
{
	double *cnt, *acc, mean = 0;
	int rc = 0;

	hw_state_free(st);
	st->np = np;
	memcpy(st->p, p, sizeof(int) * (size_t)np);
	for (int i = 0; i < n; i++)
		mean += x[i] / n;
	for (int s = 0; s < np && !rc; s++) {
		st->s[s] = malloc((size_t)p[s] * sizeof(double));
		acc = calloc((size_t)p[s], sizeof(double));
		cnt = calloc((size_t)p[s], sizeof(double));
		if (!st->s[s] || !acc || !cnt) {
			rc = -ENOMEM;
			goto next;
		}
		/* Phase means of what the shorter seasons leave unexplained. */
		for (int i = 0; i < n; i++) {
			int64_t t = t0 + i;
			double r = x[i] - mean;

			for (int q = 0; q < s; q++)
				r -= st->s[q][t % p[q]];
			acc[t % p[s]] += r;
			cnt[t % p[s]] += 1;
		}
		for (int k = 0; k < p[s]; k++)
			acc[k] = cnt[k] > 0 ? acc[k] / cnt[k] : 0;
		rc = smooth_profile(acc, p[s]);
		for (int k = 0; k < p[s] && !rc; k++)
			st->s[s][k] = acc[k];
next:
		free(acc);
		free(cnt);
	}
	if (rc)
		return rc;
	st->l = np ? mean : x[0];
	st->b = 0;
	return 0;
}

/*
 * Filter the window with constants k from the initial state into *st and
 * return the fit criterion: log one-step MSE + log h-step MSE.
 */
static double hw_run(struct hw_state *st, const struct hw_par *k, const double *x,
		     const uint8_t *miss, int n, int64_t t0, int h)
{
	double s1 = 0, sh = 0, damp = k->phi * (1 - pow(k->phi, h)) / (1 - k->phi);
	double ring[64];
	int n1 = 0, nh = 0;

	h = h < 1 ? 1 : h > 64 ? 64 : h;
	for (int i = 0; i < n; i++) {
		int64_t t = t0 + i;
		double e;

		if (i >= h && !miss[i]) {
			double eh = x[i] - ring[i % h];

			sh += eh * eh;
			nh++;
		}
		e = hw_step(st, k, t, x[i], !miss[i]);
		if (!miss[i]) {
			s1 += e * e;
			n1++;
		}
		ring[i % h] = st->l + damp * st->b + hw_season(st, t + h);
	}
	return log(s1 / (n1 ? n1 : 1) + 1e-300) + log(sh / (nh ? nh : 1) + 1e-300);
}

/* Grid-search the constants over the history window, then rebuild the state. */
static int hw_refit(struct hw *m, const struct fcast_ctx *c)
{
	int n = c->n, p[FCAST_MAX_SEASONS], np = usable_seasons(c, n, p), rc = -ENOMEM;
	int h = c->p.max_horizon < 24 ? c->p.max_horizon : 24;
	double *x = malloc((size_t)n * sizeof(*x)), best = INFINITY;
	uint8_t *miss = malloc((size_t)n);
	struct hw_state init = {0}, work = {0};
	int64_t t0 = c->t - n + 1;

	if (!x || !miss)
		goto out;
	fcast_ctx_copy(c, x, n);
	for (int i = 0; i < n; i++)
		miss[i] = (uint8_t)fcast_ctx_missing(c, t0 + i);
	if (hw_init_state(&init, x, n, t0, p, np))
		goto out;
	for (size_t a = 0; a < sizeof(hw_alpha) / sizeof(*hw_alpha); a++)
		for (size_t bb = 0; bb < sizeof(hw_beta) / sizeof(*hw_beta); bb++)
			for (size_t g = 0; g < (np ? sizeof(hw_gamma) / sizeof(*hw_gamma) : 1);
			     g++) {
				struct hw_par k = {hw_alpha[a], hw_beta[bb], hw_gamma[g], HW_PHI};
				double j;

				if (hw_state_copy(&work, &init))
					goto out;
				j = hw_run(&work, &k, x, miss, n, t0, h);
				if (j < best || !isfinite(best)) {
					best = j;
					m->k = k;
					if (hw_state_copy(&m->st, &work))
						goto out;
				}
			}
	rc = 0;
out:
	hw_state_free(&init);
	hw_state_free(&work);
	free(x);
	free(miss);
	return rc;
}

static void *hw_create(const struct fcast_ctx *c)
{
	struct hw *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->k = (struct hw_par){0.3, 0, 0.1, HW_PHI};
	m->next_fit = 16;
	m->gen = c->season_gen;
	return m;
}

static void hw_destroy(void *p)
{
	struct hw *m = p;

	hw_state_free(&m->st);
	free(m);
}

static size_t hw_mem(const void *p, const struct fcast_ctx *c)
{
	const struct hw *m = p;
	size_t b = sizeof(*m);

	for (int i = 0; i < m->st.np; i++)
		b += (size_t)m->st.p[i] * sizeof(*m->st.s[i]);
	return b;
}

static void hw_update(void *p, const struct fcast_ctx *c, double y, int missing)
{
	struct hw *m = p;
	int ps[FCAST_MAX_SEASONS];
	int np = usable_seasons(c, c->n, ps);

	if (!m->init) {
		m->st.l = y;
		m->init = 1;
		return;
	}
	/* Seasons changed or became learnable: refit now rather than on schedule. */
	if (m->gen != c->season_gen || np != m->st.np || (np && ps[np - 1] != m->st.p[np - 1]))
		m->next_fit = c->t;
	m->gen = c->season_gen;
	if (c->t >= m->next_fit) {
		int64_t every = c->cap / 8 > 256 ? c->cap / 8 : 256;

		m->next_fit = c->n < c->cap ? (c->t + 1) * 2 : c->t + every;
		if (m->next_fit > c->t + every)
			m->next_fit = c->t + every;
		if (hw_refit(m, c) == 0)
			return; /* the refit already ran the state up to this sample */
	}
	hw_step(&m->st, &m->k, c->t, y, !missing);
}

static void hw_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	struct hw *m = p;
	double damp = 0, f = 1;

	for (int j = 1; j <= h; j++) {
		f *= m->k.phi;
		damp += f;
		out[j - 1] = m->st.l + damp * m->st.b + hw_season(&m->st, c->t + j);
	}
}

static void hw_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct hw *m = p;

	sbuf_f64v(b, &m->k.alpha, 1);
	sbuf_f64v(b, &m->k.beta, 1);
	sbuf_f64v(b, &m->k.gamma, 1);
	sbuf_f64v(b, &m->k.phi, 1);
	sbuf_f64(b, m->st.l);
	sbuf_f64(b, m->st.b);
	sbuf_u32(b, (uint32_t)m->st.np);
	for (int i = 0; i < m->st.np; i++) {
		sbuf_u32(b, (uint32_t)m->st.p[i]);
		sbuf_f64v(b, m->st.s[i], (size_t)m->st.p[i]);
	}
	sbuf_u32(b, m->gen);
	sbuf_i64(b, m->next_fit);
	sbuf_u32(b, (uint32_t)m->init);
}

static int hw_load(void *p, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	struct hw *m = p;

	m->k.alpha = sbuf_get_f64(r);
	m->k.beta = sbuf_get_f64(r);
	m->k.gamma = sbuf_get_f64(r);
	m->k.phi = sbuf_get_f64(r);
	m->st.l = sbuf_get_f64(r);
	m->st.b = sbuf_get_f64(r);
	m->st.np = (int)sbuf_get_u32_range(r, 0, FCAST_MAX_SEASONS);
	for (int i = 0; i < m->st.np && !r->err; i++) {
		m->st.p[i] = (int)sbuf_get_u32_range(r, 2, (uint32_t)c->cap);
		m->st.s[i] = calloc((size_t)m->st.p[i], sizeof(double));
		if (!m->st.s[i])
			return -ENOMEM;
		for (int k = 0; k < m->st.p[i] && !r->err; k++) {
			double v = sbuf_get_f64(r);

			m->st.s[i][k] = isfinite(v) ? fmin(fmax(v, -1e300), 1e300) : 0;
		}
	}
	m->gen = sbuf_get_u32(r);
	m->next_fit = sbuf_get_i64(r);
	m->init = (int)sbuf_get_u32_range(r, 0, 1);
	return r->err;
}

const struct fcast_ops fcast_holt_winters = {
    .name = "holt_winters",
    .version = 1,
    .create = hw_create,
    .destroy = hw_destroy,
    .update = hw_update,
    .predict = hw_predict,
    .save = hw_save,
    .load = hw_load,
    .mem = hw_mem,
};
