/*
 * m_rnn.c - recurrent network forecaster: an echo state network (ESN) with
 * a readout trained online by recursive least squares.
 *
 * Fixed budget: RNN_UNITS tanh units with a sparse random recurrent matrix
 * (spectral radius RNN_RHO, regenerated from a seed so it is never saved),
 * inputs = the standardised value plus sin/cos of the phase of each detected
 * season (so the short memory of the reservoir is not asked to span a day).
 * The readout [1, state, inputs] -> next standardised value is updated by
 * RLS with forgetting (O(D^2) per step, D = 1 + units + inputs); standardising
 * uses slow running moments so the network sees values of order one.  A
 * multi-step forecast iterates the reservoir on its own predictions.
 */
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RNN_UNITS  32
#define RNN_IN	   (1 + 2 * FCAST_MAX_SEASONS)
#define RNN_D	   (1 + RNN_UNITS + RNN_IN)
#define RNN_NP	   (RNN_D * (RNN_D + 1) / 2) /* the RLS matrix, packed upper triangle */
#define RNN_RHO	   0.9
#define RNN_LAMBDA 0.999 /* RLS forgetting: memory of ~1000 steps */
#define RNN_MOM	   0.002 /* decay of the standardising moments */
#define RNN_SEED   0x9e3779b97f4a7c15ull

/*
 * The fixed random weights: the same for every series (one seed), so built
 * once per process and shared read-only (pthread_once) - 13 kB less per
 * series.
 */
struct rnn_res {
	int nz; /* non-zeros of w, as (row, col, value) */
	short nz_i[RNN_UNITS * RNN_UNITS], nz_j[RNN_UNITS * RNN_UNITS];
	double nz_v[RNN_UNITS * RNN_UNITS];
	double win[RNN_UNITS * RNN_IN];
};

static struct rnn_res rnn_res;
static pthread_once_t rnn_res_once = PTHREAD_ONCE_INIT;

struct rnn {
	const struct rnn_res *res;
	double x[RNN_UNITS];
	double wout[RNN_D];
	double P[RNN_NP]; /* symmetric: row i holds columns i..RNN_D-1 */
	double fprev[RNN_D]; /* features the last forecast was made from */
	double mean, var;
	int64_t n;
};

static double rnn_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / 9007199254740992.0 * 2 - 1;
}

/* Deterministic reservoir: 20% dense, scaled to spectral radius RNN_RHO. */
static void rnn_weights(void)
{
	struct rnn_res *r = &rnn_res;
	uint64_t s = RNN_SEED;
	double v[RNN_UNITS], nv[RNN_UNITS], norm = 0, w[RNN_UNITS * RNN_UNITS];

	for (int i = 0; i < RNN_UNITS * RNN_UNITS; i++) {
		double u = rnn_rand(&s), keep = rnn_rand(&s);

		w[i] = keep < -0.6 ? u : 0;
	}
	for (int i = 0; i < RNN_UNITS * RNN_IN; i++)
		r->win[i] = rnn_rand(&s) * (i % RNN_IN == 0 ? 1.0 : 0.5);
	/* Power iteration for the spectral radius estimate. */
	for (int i = 0; i < RNN_UNITS; i++)
		v[i] = 1;
	for (int it = 0; it < 100; it++) {
		norm = 0;
		for (int i = 0; i < RNN_UNITS; i++) {
			nv[i] = 0;
			for (int j = 0; j < RNN_UNITS; j++)
				nv[i] += w[i * RNN_UNITS + j] * v[j];
			norm += nv[i] * nv[i];
		}
		norm = sqrt(norm);
		if (norm < 1e-12)
			break;
		for (int i = 0; i < RNN_UNITS; i++)
			v[i] = nv[i] / norm;
	}
	if (norm > 1e-12)
		for (int i = 0; i < RNN_UNITS * RNN_UNITS; i++)
			w[i] *= RNN_RHO / norm;
	r->nz = 0;
	for (int i = 0; i < RNN_UNITS * RNN_UNITS; i++)
		if (w[i] != 0) {
			r->nz_i[r->nz] = (short)(i / RNN_UNITS);
			r->nz_j[r->nz] = (short)(i % RNN_UNITS);
			r->nz_v[r->nz++] = w[i];
		}
}

/* Offset of row i's diagonal in the packed matrix. */
static int rnn_row(int i)
{
	return i * RNN_D - i * (i - 1) / 2;
}

static void rnn_reset_rls(struct rnn *r)
{
	memset(r->P, 0, sizeof(r->P));
	memset(r->wout, 0, sizeof(r->wout));
	for (int i = 0; i < RNN_D; i++)
		r->P[rnn_row(i)] = 100;
}

static void *rnn_create(const struct fcast_ctx *c)
{
	struct rnn *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_once(&rnn_res_once, rnn_weights);
	r->res = &rnn_res;
	rnn_reset_rls(r);
	r->var = 1;
	return r;
}

static void rnn_destroy(void *p)
{
	free(p);
}

static size_t rnn_mem(const void *p, const struct fcast_ctx *c)
{
	return sizeof(struct rnn);
}

/* Inputs at time t for standardised value z. */
static void rnn_inputs(const struct fcast_ctx *c, int64_t t, double z, double *u)
{
	memset(u, 0, sizeof(double) * RNN_IN);
	u[0] = fmin(fmax(z, -10), 10);
	for (int s = 0; s < c->n_periods && s < FCAST_MAX_SEASONS; s++) {
		double th = 2 * M_PI * (double)(t % c->periods[s]) / c->periods[s];

		u[1 + 2 * s] = sin(th);
		u[2 + 2 * s] = cos(th);
	}
}

/*
 * Squashing function of the reservoir: tanh by its [7/6] Pade approximant,
 * clamped where it reaches +-1 (|error| < 1e-4, five times cheaper than
 * libm's tanh, which dominated the cost of iterated forecasts).
 */
static double rnn_tanh(double v)
{
	double v2 = v * v;

	if (v > 4.97)
		return 1;
	if (v < -4.97)
		return -1;
	return v * (135135 + v2 * (17325 + v2 * (378 + v2))) /
	       (135135 + v2 * (62370 + v2 * (3150 + 28 * v2)));
}

/*
 * Inputs of the next forecast step t: the phases are rotated on from the
 * previous step's u by (sin, cos) of one step in rot (no libm calls per
 * step); the first step (t = newest + 1) computes them afresh.
 */
static void rnn_advance_inputs(const struct fcast_ctx *c, int64_t t, double z, double *u,
			       const double *rot)
{
	if (t == c->t + 1) {
		rnn_inputs(c, t, z, u);
		return;
	}
	u[0] = fmin(fmax(z, -10), 10);
	for (int s = 0; s < c->n_periods && s < FCAST_MAX_SEASONS; s++) {
		double sn = u[1 + 2 * s], cs = u[2 + 2 * s];

		u[1 + 2 * s] = sn * rot[2 * s + 1] + cs * rot[2 * s];
		u[2 + 2 * s] = cs * rot[2 * s + 1] - sn * rot[2 * s];
	}
}

/* Advance a reservoir state x by input u. */
static void rnn_step(const struct rnn *r, double *x, const double *u)
{
	double a[RNN_UNITS];

	/* The reservoir is 20% dense: walk its non-zeros only. */
	for (int i = 0; i < RNN_UNITS; i++) {
		a[i] = 0;
		for (int j = 0; j < RNN_IN; j++)
			a[i] += r->res->win[i * RNN_IN + j] * u[j];
	}
	for (int k = 0; k < r->res->nz; k++)
		a[r->res->nz_i[k]] += r->res->nz_v[k] * x[r->res->nz_j[k]];
	for (int i = 0; i < RNN_UNITS; i++)
		x[i] = rnn_tanh(a[i]);
}

static void rnn_features(const double *x, const double *u, double *f)
{
	f[0] = 1;
	memcpy(f + 1, x, sizeof(double) * RNN_UNITS);
	memcpy(f + 1 + RNN_UNITS, u, sizeof(double) * RNN_IN);
}

static double rnn_out(const struct rnn *r, const double *f)
{
	double y = 0;

	for (int i = 0; i < RNN_D; i++)
		y += r->wout[i] * f[i];
	return fmin(fmax(y, -10), 10);
}

/* RLS step on features f towards target z. */
static void rnn_rls(struct rnn *r, const double *f, double z)
{
	double pf[RNN_D] = {0}, den = RNN_LAMBDA, e = z - rnn_out(r, f), tr = 0;

	for (int i = 0; i < RNN_D; i++) {
		const double *row = r->P + rnn_row(i);

		pf[i] += row[0] * f[i];
		for (int j = i + 1; j < RNN_D; j++) {
			pf[i] += row[j - i] * f[j];
			pf[j] += row[j - i] * f[i];
		}
	}
	for (int i = 0; i < RNN_D; i++)
		den += f[i] * pf[i];
	for (int i = 0; i < RNN_D; i++)
		r->wout[i] += pf[i] / den * e;
	for (int i = 0; i < RNN_D; i++) {
		double *row = r->P + rnn_row(i);

		for (int j = i; j < RNN_D; j++)
			row[j - i] = (row[j - i] - pf[i] * pf[j] / den) / RNN_LAMBDA;
		tr += row[0];
	}
	/* Windup guard: without excitation forgetting inflates P without bound. */
	if (!(tr < 1e4 * RNN_D)) {
		if (!isfinite(tr)) {
			rnn_reset_rls(r);
			return;
		}
		for (int i = 0; i < RNN_NP; i++)
			r->P[i] *= 1e4 * RNN_D / tr;
	}
}

static void rnn_update(void *p, const struct fcast_ctx *c, double y, int missing)
{
	struct rnn *r = p;
	double u[RNN_IN], z, sd;

	if (r->n == 0) {
		r->mean = y;
		r->var = 0;
	}
	if (!missing) {
		double d = y - r->mean, rate = r->n < 500 ? 1.0 / (r->n + 1) : RNN_MOM;

		r->mean += rate * d;
		r->var += rate * (d * d - r->var);
	}
	sd = sqrt(fmax(r->var, 1e-300)) + 1e-12 * (fabs(r->mean) + 1e-300);
	z = (y - r->mean) / sd;
	if (r->n > 0 && !missing)
		rnn_rls(r, r->fprev, fmin(fmax(z, -10), 10));
	rnn_inputs(c, c->t, z, u);
	rnn_step(r, r->x, u);
	rnn_features(r->x, u, r->fprev);
	r->n++;
}

static void rnn_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	struct rnn *r = p;
	double x[RNN_UNITS], u[RNN_IN], f[RNN_D], z, rot[2 * FCAST_MAX_SEASONS];
	double sd = sqrt(fmax(r->var, 1e-300)) + 1e-12 * (fabs(r->mean) + 1e-300);

	if (r->n < 2 * RNN_D) { /* the readout has not seen enough to say anything */
		for (int j = 0; j < h; j++)
			out[j] = c->n ? fcast_ctx_back(c, 0) : 0;
		return;
	}
	memcpy(x, r->x, sizeof(x));
	memcpy(f, r->fprev, sizeof(f));
	for (int s = 0; s < c->n_periods && s < FCAST_MAX_SEASONS; s++) {
		rot[2 * s] = sin(2 * M_PI / c->periods[s]);
		rot[2 * s + 1] = cos(2 * M_PI / c->periods[s]);
	}
	for (int j = 1; j <= h; j++) {
		z = rnn_out(r, f);
		out[j - 1] = r->mean + sd * z;
		if (j == h)
			break;
		rnn_advance_inputs(c, c->t + j, z, u, rot);
		rnn_step(r, x, u);
		rnn_features(x, u, f);
	}
}

static void rnn_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct rnn *r = p;

	sbuf_f64v(b, r->x, RNN_UNITS);
	sbuf_f64v(b, r->wout, RNN_D);
	sbuf_f64v(b, r->P, RNN_NP);
	sbuf_f64v(b, r->fprev, RNN_D);
	sbuf_f64(b, r->mean);
	sbuf_f64(b, r->var);
	sbuf_i64(b, r->n);
}

static int rnn_load(void *p, const struct fcast_ctx *c, struct sbuf_reader *r)
{
	struct rnn *m = p;

	sbuf_get_f64v(r, m->x, RNN_UNITS);
	sbuf_get_f64v(r, m->wout, RNN_D);
	sbuf_get_f64v(r, m->P, RNN_NP);
	sbuf_get_f64v(r, m->fprev, RNN_D);
	m->mean = sbuf_get_f64(r);
	m->var = sbuf_get_f64(r);
	m->n = sbuf_get_i64(r);
	if (m->var < 0 || m->n < 0)
		r->err = -EBADMSG;
	return r->err;
}

const struct fcast_ops fcast_rnn = {
    .name = "rnn",
    .version = 2,
    .create = rnn_create,
    .destroy = rnn_destroy,
    .update = rnn_update,
    .predict = rnn_predict,
    .save = rnn_save,
    .load = rnn_load,
    .mem = rnn_mem,
};
