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
 *
 * A second combiner stacks the members: per horizon, a linear regression of
 * the outcome's change from the origin's value on the members' forecast
 * changes (plus an intercept), in units of the series' recent step size,
 * fitted online by recursive least squares with forgetting.  It can correct
 * biases a weighted average cannot (e.g. members that all overshoot at long
 * horizons).  Both combiners are scored like members; per horizon the one
 * with the lower recent error is used, the stack only after ENS_STACK_WARM
 * updates, so it can only be chosen where it has proved better.
 */
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ENS_MAX	       5
#define ENS_TOP	       3
#define ENS_DECAY      0.01
#define ENS_WARM       8	     /* errors a member needs at a horizon before it is ranked */
#define ENS_SLOTS      (ENS_MAX + 2) /* members, then the average and the stack */
#define ENS_AVG	       ENS_MAX
#define ENS_STACK      (ENS_MAX + 1)
#define ENS_D	       (ENS_MAX + 1) /* stack features: members + intercept */
#define ENS_LAMBDA     0.998
#define ENS_STACK_WARM 200

extern const struct fcast_ops fcast_snaive, fcast_ewma, fcast_holt_winters, fcast_arima, fcast_rnn;

static const struct fcast_ops *const ens_members[ENS_MAX] = {
    &fcast_snaive, &fcast_ewma, &fcast_holt_winters, &fcast_arima, &fcast_rnn,
};

struct ens {
	int k, H;
	const struct fcast_ops *ops[ENS_MAX];
	void *m[ENS_MAX];
	double *pend;		 /* ENS_SLOTS x H origins x H horizons */
	int64_t *pend_t;	 /* H origins */
	double *pend_y, *pend_s; /* value and step scale at each origin */
	double *mse;		 /* ENS_SLOTS x H */
	int *nerr;		 /* ENS_SLOTS x H */
	double *sw, *sP;	 /* stack: H x ENS_D weights, H x ENS_D^2 RLS matrices */
	int64_t *sn;		 /* stack updates per horizon */
	double step_abs;	 /* EWMA of |y_t - y_{t-1}| */
	double last_y;
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
	free(e->pend_y);
	free(e->pend_s);
	free(e->sw);
	free(e->sP);
	free(e->sn);
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
	e->pend = calloc(ENS_SLOTS * H * H, sizeof(double));
	e->pend_t = malloc(H * sizeof(int64_t));
	e->pend_y = calloc(H, sizeof(double));
	e->pend_s = calloc(H, sizeof(double));
	e->mse = calloc(ENS_SLOTS * H, sizeof(double));
	e->nerr = calloc(ENS_SLOTS * H, sizeof(int));
	e->sw = calloc(H * ENS_D, sizeof(double));
	e->sP = calloc(H * ENS_D * ENS_D, sizeof(double));
	e->sn = calloc(H, sizeof(int64_t));
	if (!e->pend || !e->pend_t || !e->mse || !e->nerr || !e->pend_y || !e->pend_s || !e->sw ||
	    !e->sP || !e->sn)
		goto fail;
	for (size_t i = 0; i < H; i++) {
		e->pend_t[i] = -1;
		for (int d = 0; d < ENS_D; d++)
			e->sP[(i * ENS_D + d) * ENS_D + d] = 10;
	}
	e->cached_t = -1;
	for (int i = 0; i < ENS_MAX; i++) {
		e->ops[i] = ens_members[i];
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

/* Stack features of origin o at horizon h (scaled changes) into x; 0 if unusable. */
static int stack_features(struct ens *e, int h, int64_t o, double *x)
{
	double s = e->pend_s[o % e->H], y0 = e->pend_y[o % e->H];

	if (!(s > 0))
		return 0;
	for (int i = 0; i < ENS_MAX; i++) {
		x[i] = (ens_slot(e, i, o)[h - 1] - y0) / s;
		if (!isfinite(x[i]) || fabs(x[i]) > 1e6)
			return 0;
	}
	x[ENS_MAX] = 1;
	return 1;
}

/* RLS step of horizon h's stack with the outcome y of origin o. */
static void stack_learn(struct ens *e, int h, int64_t o, double y)
{
	double x[ENS_D], px[ENS_D], den = ENS_LAMBDA, err, target;
	double *w = e->sw + (size_t)(h - 1) * ENS_D, *P = e->sP + (size_t)(h - 1) * ENS_D * ENS_D;

	if (e->k != ENS_MAX || !stack_features(e, h, o, x))
		return;
	target = (y - e->pend_y[o % e->H]) / e->pend_s[o % e->H];
	if (!isfinite(target) || fabs(target) > 1e6)
		return;
	err = target;
	for (int i = 0; i < ENS_D; i++) {
		err -= w[i] * x[i];
		px[i] = 0;
		for (int j = 0; j < ENS_D; j++)
			px[i] += P[i * ENS_D + j] * x[j];
		den += x[i] * px[i];
	}
	for (int i = 0; i < ENS_D; i++) {
		w[i] += px[i] / den * err;
		for (int j = 0; j < ENS_D; j++)
			P[i * ENS_D + j] = (P[i * ENS_D + j] - px[i] * px[j] / den) / ENS_LAMBDA;
	}
	/* Windup guard, as in the RNN readout. */
	for (int i = 0; i < ENS_D; i++)
		if (!(P[i * ENS_D + i] < 1e6)) {
			memset(P, 0, sizeof(double) * ENS_D * ENS_D);
			for (int d = 0; d < ENS_D; d++)
				P[d * ENS_D + d] = 10;
			break;
		}
	e->sn[h - 1]++;
}

/* Score members' past forecasts against y (the sample at c->t). */
static void ens_score(struct ens *e, const struct fcast_ctx *c, double y)
{
	for (int h = 1; h <= e->H; h++) {
		int64_t o = c->t - h;

		if (o < 0 || e->pend_t[o % e->H] != o)
			continue;
		stack_learn(e, h, o, y);
		for (int i = 0; i < ENS_SLOTS; i++) {
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
		for (int b = a;
		     b > 0 && e->mse[idx[b] * e->H + hi] < e->mse[idx[b - 1] * e->H + hi]; b--) {
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

/* Inverse-error average of member forecasts f[i * stride + j] at horizon index j. */
static double ens_average(const struct ens *e, const double *f, size_t stride, int j, double dflt)
{
	double w[ENS_MAX], s = 0, ws = 0;

	ens_weights(e, j < e->H ? j : e->H - 1, w);
	for (int i = 0; i < e->k; i++) {
		double v = f[(size_t)i * stride + j];

		if (w[i] > 0 && isfinite(v)) {
			s += w[i] * v;
			ws += w[i];
		}
	}
	return ws > 0 ? s / ws : dflt;
}

/* Fill the average and stack pseudo-member slots of origin c->t. */
static void ens_combine(struct ens *e, const struct fcast_ctx *c, double y)
{
	double *avg = ens_slot(e, ENS_AVG, c->t), *stk = ens_slot(e, ENS_STACK, c->t), x[ENS_D];
	int64_t slot = c->t % e->H;

	e->pend_y[slot] = y;
	e->pend_s[slot] = e->step_abs;
	for (int j = 0; j < e->H; j++) {
		const double *w = e->sw + (size_t)j * ENS_D;
		double z = 0;

		avg[j] = ens_average(e, ens_slot(e, 0, c->t), (size_t)e->H * e->H, j, y);
		stk[j] = avg[j];
		if (e->k == ENS_MAX && stack_features(e, j + 1, c->t, x)) {
			for (int i = 0; i < ENS_D; i++)
				z += w[i] * x[i];
			if (isfinite(z))
				stk[j] = y + e->step_abs * z;
		}
	}
}

static void ens_update(void *p, const struct fcast_ctx *c, double y, int missing)
{
	struct ens *e = p;

	if (!missing) {
		ens_score(e, c, y);
		if (c->t > 0)
			e->step_abs += (fabs(y - e->last_y) - e->step_abs) /
				       (c->t < 100 ? (double)c->t : 100.0);
	}
	e->last_y = y;
	for (int i = 0; i < e->k; i++) {
		e->ops[i]->update(e->m[i], c, y, missing);
		e->ops[i]->predict(e->m[i], c, e->H, ens_slot(e, i, c->t));
	}
	ens_combine(e, c, y);
	e->pend_t[c->t % e->H] = c->t;
	e->cached_t = c->t;
}

/* Use the stack at horizon index j only where it has proved better. */
static int use_stack(const struct ens *e, int j)
{
	return e->sn[j] >= ENS_STACK_WARM && e->nerr[ENS_STACK * e->H + j] >= ENS_WARM &&
	       e->mse[ENS_STACK * e->H + j] < e->mse[ENS_AVG * e->H + j];
}

static void ens_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	struct ens *e = p;
	double *fresh, last = c->n ? fcast_ctx_back(c, 0) : 0;

	if (h <= e->H && e->cached_t == c->t) {
		for (int j = 0; j < h; j++)
			out[j] = ens_slot(e, use_stack(e, j) ? ENS_STACK : ENS_AVG, c->t)[j];
		return;
	}
	fresh = malloc((size_t)e->k * h * sizeof(double));
	if (!fresh) {
		for (int j = 0; j < h; j++)
			out[j] = last;
		return;
	}
	for (int i = 0; i < e->k; i++)
		e->ops[i]->predict(e->m[i], c, h, fresh + (size_t)i * h);
	for (int j = 0; j < h; j++)
		out[j] = ens_average(e, fresh, (size_t)h, j, last);
	free(fresh);
}

static void ens_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct ens *e = p;
	size_t H = (size_t)e->H;

	sbuf_f64v(b, e->pend, ENS_SLOTS * H * H);
	for (size_t i = 0; i < H; i++)
		sbuf_i64(b, e->pend_t[i]);
	sbuf_f64v(b, e->pend_y, H);
	sbuf_f64v(b, e->pend_s, H);
	sbuf_f64v(b, e->mse, ENS_SLOTS * H);
	for (size_t i = 0; i < ENS_SLOTS * H; i++)
		sbuf_u32(b, (uint32_t)e->nerr[i]);
	sbuf_f64v(b, e->sw, H * ENS_D);
	sbuf_f64v(b, e->sP, H * ENS_D * ENS_D);
	for (size_t i = 0; i < H; i++)
		sbuf_i64(b, e->sn[i]);
	sbuf_f64(b, e->step_abs);
	sbuf_f64(b, e->last_y);
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

	sbuf_get_f64v(r, e->pend, ENS_SLOTS * H * H);
	for (size_t i = 0; i < H; i++)
		e->pend_t[i] = sbuf_get_i64(r);
	sbuf_get_f64v(r, e->pend_y, H);
	sbuf_get_f64v(r, e->pend_s, H);
	sbuf_get_f64v(r, e->mse, ENS_SLOTS * H);
	for (size_t i = 0; i < ENS_SLOTS * H; i++)
		e->nerr[i] = (int)sbuf_get_u32_range(r, 0, ENS_WARM);
	sbuf_get_f64v(r, e->sw, H * ENS_D);
	sbuf_get_f64v(r, e->sP, H * ENS_D * ENS_D);
	for (size_t i = 0; i < H; i++)
		e->sn[i] = sbuf_get_i64(r);
	e->step_abs = sbuf_get_f64(r);
	e->last_y = sbuf_get_f64(r);
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
    .name = "ensemble",
    .version = 3,
    .create = ens_create,
    .destroy = ens_destroy,
    .update = ens_update,
    .predict = ens_predict,
    .save = ens_save,
    .load = ens_load,
};
