/*
 * m_baseline.c - the baseline models: seasonal naive and EWMA.
 *
 * snaive repeats the last cycle of the shortest detected (or given) season,
 * or the last value when there is none.  ewma is simple exponential
 * smoothing; it runs a few smoothing constants side by side and forecasts
 * with the one whose recent one-step error is lowest, so the constant adapts
 * to the series instead of being tuned.
 */
#include "model/fcast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- snaive: stateless, everything is in the context ---- */

static void *snaive_create(const struct fcast_ctx *c)
{
	static int dummy;

	return &dummy;
}

static void snaive_destroy(void *m)
{
}

static size_t snaive_mem(const void *m, const struct fcast_ctx *c)
{
	return 0; /* one static object shared by all */
}

static void snaive_update(void *m, const struct fcast_ctx *c, double y, int missing)
{
}

static void snaive_predict(void *m, const struct fcast_ctx *c, int h, double *out)
{
	int p = c->n_periods ? c->periods[0] : 1;

	if (p > c->n)
		p = 1;
	for (int j = 1; j <= h; j++) {
		int back = p * ((j + p - 1) / p) - j; /* same phase, last full cycle */

		out[j - 1] = c->n ? fcast_ctx_back(c, back) : 0;
	}
}

static void snaive_save(void *m, const struct fcast_ctx *c, struct sbuf *b)
{
}

static int snaive_load(void *m, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	return 0;
}

const struct fcast_ops fcast_snaive = {
    .name = "snaive",
    .version = 1,
    .create = snaive_create,
    .destroy = snaive_destroy,
    .update = snaive_update,
    .predict = snaive_predict,
    .save = snaive_save,
    .load = snaive_load,
    .mem = snaive_mem,
};

/* ---- ewma ---- */

#define EWMA_K	   4
#define EWMA_DECAY 0.02 /* memory of the error that picks the constant */

static const double ewma_alpha[EWMA_K] = {0.05, 0.15, 0.4, 0.8};

struct ewma {
	double level[EWMA_K];
	double mse[EWMA_K];
	int init;
};

static void *ewma_create(const struct fcast_ctx *c)
{
	return calloc(1, sizeof(struct ewma));
}

static size_t ewma_mem(const void *m, const struct fcast_ctx *c)
{
	return sizeof(struct ewma);
}

static void ewma_destroy(void *m)
{
	free(m);
}

static void ewma_update(void *m, const struct fcast_ctx *c, double y, int missing)
{
	struct ewma *e = m;

	if (!e->init) {
		for (int k = 0; k < EWMA_K; k++)
			e->level[k] = y;
		e->init = 1;
		return;
	}
	if (missing)
		return;
	for (int k = 0; k < EWMA_K; k++) {
		double err = y - e->level[k];

		e->mse[k] += EWMA_DECAY * (err * err - e->mse[k]);
		e->level[k] += ewma_alpha[k] * err;
	}
}

static void ewma_predict(void *m, const struct fcast_ctx *c, int h, double *out)
{
	struct ewma *e = m;
	int best = 0;

	for (int k = 1; k < EWMA_K; k++)
		if (e->mse[k] < e->mse[best])
			best = k;
	for (int j = 0; j < h; j++)
		out[j] = e->level[best];
}

static void ewma_save(void *m, const struct fcast_ctx *c, struct sbuf *b)
{
	struct ewma *e = m;

	sbuf_f64v(b, e->level, EWMA_K);
	sbuf_f64v(b, e->mse, EWMA_K);
	sbuf_u32(b, (uint32_t)e->init);
}

static int ewma_load(void *m, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	struct ewma *e = m;

	sbuf_get_f64v(r, e->level, EWMA_K);
	sbuf_get_f64v(r, e->mse, EWMA_K);
	e->init = (int)sbuf_get_u32_range(r, 0, 1);
	return r->err;
}

const struct fcast_ops fcast_ewma = {
    .name = "ewma",
    .version = 1,
    .create = ewma_create,
    .destroy = ewma_destroy,
    .update = ewma_update,
    .predict = ewma_predict,
    .save = ewma_save,
    .load = ewma_load,
    .mem = ewma_mem,
};
