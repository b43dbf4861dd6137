/*
 * m_ensemble.c - combine the other models by their recent rolling error.
 *
 * Every member sees every sample.  Each update the members' forecasts for
 * horizons 1..H are remembered; when outcomes arrive each member's squared
 * error at each horizon feeds an exponentially weighted mean (memory of
 * about 1/ENS_DECAY steps).  The forecast at horizon h is the average of the
 * ENS_TOP members with the lowest recent error at h, weighted by inverse
 * error (Bates-Granger): a member that stops fitting the series loses its
 * weight within a few hundred steps, per series and per horizon.
 */
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ENS_MAX   5
#define ENS_TOP   3
#define ENS_DECAY 0.01
#define ENS_WARM  8 /* errors a member needs at a horizon before it is ranked */

static const char *const ens_names[ENS_MAX] = { "snaive", "ewma", "holt_winters", "arima", "rnn" };

struct ens {
	int k, H;
	const struct fcast_ops *ops[ENS_MAX];
	void *m[ENS_MAX];
	double *pend;   /* ENS_MAX x H origins x H horizons */
	int64_t *pend_t; /* H origins */
	double *mse;    /* ENS_MAX x H */
	int *nerr;      /* ENS_MAX x H */
	int64_t cached_t; /* origin whose forecasts pend holds at slot t % H */
};

static void ens_destroy(void *p)
{
	struct ens *e = p;

	for (int i = 0; i < e->k; i++)
		if (e->m[i])
			e->ops[i]->destroy(e->m[i]);
	free(e->pend);
	free(e->pend_t);
	free(e->mse);
	free(e->nerr);
	free(e);
}

static void *ens_create(const struct fcast_ctx *c)
{
	struct ens *e = calloc(1, sizeof(*e));
	size_t H;

	if (!e)
		return NULL;
	e->H = c->p.max_horizon;
	H = (size_t)e->H;
	e->pend = calloc(ENS_MAX * H * H, sizeof(double));
	e->pend_t = malloc(H * sizeof(int64_t));
	e->mse = calloc(ENS_MAX * H, sizeof(double));
	e->nerr = calloc(ENS_MAX * H, sizeof(int));
	if (!e->pend || !e->pend_t || !e->mse || !e->nerr)
		goto fail;
	for (size_t i = 0; i < H; i++)
		e->pend_t[i] = -1;
	e->cached_t = -1;
	for (int i = 0; i < ENS_MAX; i++) {
		e->ops[i] = fcast_lookup(ens_names[i]);
		e->m[i] = e->ops[i] ? e->ops[i]->create(c) : NULL;
		if (!e->m[i])
			goto fail;
		e->k++;
	}
	return e;
fail:
	ens_destroy(e);
	return NULL;
}

static double *ens_slot(struct ens *e, int member, int64_t origin)
{
	return e->pend + ((size_t)member * e->H + (size_t)(origin % e->H)) * e->H;
}

/* Score members' past forecasts against y (the sample at c->t). */
static void ens_score(struct ens *e, const struct fcast_ctx *c, double y)
{
	for (int h = 1; h <= e->H; h++) {
		int64_t o = c->t - h;

		if (o < 0 || e->pend_t[o % e->H] != o)
			continue;
		for (int i = 0; i < e->k; i++) {
			double err = y - ens_slot(e, i, o)[h - 1], *m = &e->mse[i * e->H + h - 1];
			int *n = &e->nerr[i * e->H + h - 1];

			if (!isfinite(err))
				err = 1e150; /* a member producing garbage ranks last */
			err = fmin(fabs(err), 1e150);
			*m = *n == 0 ? err * err : *m + ENS_DECAY * (err * err - *m);
			if (*n < ENS_WARM)
				(*n)++;
		}
	}
}

static void ens_update(void *p, const struct fcast_ctx *c, double y, int missing)
{
	struct ens *e = p;

	if (!missing)
		ens_score(e, c, y);
	for (int i = 0; i < e->k; i++) {
		e->ops[i]->update(e->m[i], c, y, missing);
		e->ops[i]->predict(e->m[i], c, e->H, ens_slot(e, i, c->t));
	}
	e->pend_t[c->t % e->H] = c->t;
	e->cached_t = c->t;
}

/* Weights of the members at horizon index hi into w (sum 1). */
static void ens_weights(const struct ens *e, int hi, double *w)
{
	int idx[ENS_MAX], n = 0;
	double sum = 0, floor_ = 1e-300;

	for (int i = 0; i < e->k; i++) {
		w[i] = 0;
		if (e->nerr[i * e->H + hi] >= ENS_WARM)
			idx[n++] = i;
	}
	if (n == 0) {
		for (int i = 0; i < e->k; i++)
			w[i] = 1.0 / e->k;
		return;
	}
	for (int a = 1; a < n; a++) /* insertion sort by recent error */
		for (int b = a; b > 0 && e->mse[idx[b] * e->H + hi] < e->mse[idx[b - 1] * e->H + hi];
		     b--) {
			int t = idx[b];

			idx[b] = idx[b - 1];
			idx[b - 1] = t;
		}
	if (n > ENS_TOP)
		n = ENS_TOP;
	floor_ = fmax(1e-12 * e->mse[idx[n - 1] * e->H + hi], 1e-300);
	for (int a = 0; a < n; a++) {
		w[idx[a]] = 1 / (e->mse[idx[a] * e->H + hi] + floor_);
		sum += w[idx[a]];
	}
	for (int i = 0; i < e->k; i++)
		w[i] /= sum;
}

static void ens_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	struct ens *e = p;
	double *fresh = NULL, w[ENS_MAX];
	int cached = h <= e->H && e->cached_t == c->t;

	if (!cached) {
		fresh = malloc((size_t)e->k * h * sizeof(double));
		if (!fresh) {
			for (int j = 0; j < h; j++)
				out[j] = c->n ? fcast_ctx_back(c, 0) : 0;
			return;
		}
		for (int i = 0; i < e->k; i++)
			e->ops[i]->predict(e->m[i], c, h, fresh + (size_t)i * h);
	}
	for (int j = 0; j < h; j++) {
		double s = 0, ws = 0;

		ens_weights(e, j < e->H ? j : e->H - 1, w);
		for (int i = 0; i < e->k; i++) {
			double f = cached ? ens_slot(e, i, c->t)[j] : fresh[(size_t)i * h + j];

			if (w[i] > 0 && isfinite(f)) {
				s += w[i] * f;
				ws += w[i];
			}
		}
		out[j] = ws > 0 ? s / ws : (c->n ? fcast_ctx_back(c, 0) : 0);
	}
	free(fresh);
}

static void ens_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct ens *e = p;
	size_t H = (size_t)e->H;

	sbuf_f64v(b, e->pend, (size_t)e->k * H * H);
	for (size_t i = 0; i < H; i++)
		sbuf_i64(b, e->pend_t[i]);
	sbuf_f64v(b, e->mse, (size_t)e->k * H);
	for (size_t i = 0; i < (size_t)e->k * H; i++)
		sbuf_u32(b, (uint32_t)e->nerr[i]);
	sbuf_i64(b, e->cached_t);
	for (int i = 0; i < e->k; i++) {
		sbuf_u32(b, e->ops[i]->version);
		e->ops[i]->save(e->m[i], c, b);
	}
}

static int ens_load(void *p, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	struct ens *e = p;
	size_t H = (size_t)e->H;

	sbuf_get_f64v(r, e->pend, (size_t)e->k * H * H);
	for (size_t i = 0; i < H; i++)
		e->pend_t[i] = sbuf_get_i64(r);
	sbuf_get_f64v(r, e->mse, (size_t)e->k * H);
	for (size_t i = 0; i < (size_t)e->k * H; i++)
		e->nerr[i] = (int)sbuf_get_u32_range(r, 0, ENS_WARM);
	e->cached_t = sbuf_get_i64(r);
	for (int i = 0; i < e->k && !r->err; i++) {
		if (sbuf_get_u32(r) != e->ops[i]->version)
			return -ENOMSG;
		if (e->ops[i]->load(e->m[i], c, r))
			return r->err ? r->err : -EBADMSG;
	}
	return r->err;
}

const struct fcast_ops fcast_ensemble = {
	.name = "ensemble", .version = 1, .create = ens_create, .destroy = ens_destroy,
	.update = ens_update, .predict = ens_predict, .save = ens_save, .load = ens_load,
};
