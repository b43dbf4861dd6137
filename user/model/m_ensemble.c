/*
 * m_ensemble.c - combine the other models by their recent rolling error.
 *
 * Every member sees every sample.  Each update the members' forecasts for
 * horizons 1..H are remembered and scored when their outcomes arrive.  Two
 * combinations are kept per horizon:
 *
 * The reference combination (the engine's earlier ensemble) reacts within a
 * few hundred steps: the average of the ENS_TOP members with the lowest
 * recent squared error (EWMA, memory about 1/ENS_DECAY steps), weighted by
 * inverse error (Bates-Granger), or, where it has proved better after
 * ENS_STACK_WARM updates, a stack - a linear regression of the outcome's
 * change from the origin's value on the members' forecast changes (plus an
 * intercept), in units of the series' recent step size, fitted online by
 * recursive least squares with forgetting.  It uses the least-squares
 * members only: the direct model aims at the median and leaves bursts out
 * of its fit, so a burst is a larger surprise to it.  Its one-step forecast
 * is what anomalies are judged against (fcast_ops.surprise): a combination
 * that locks onto whichever member fits a regular series best makes a
 * departure stand out.
 *
 * The published forecast weighs the members and the reference combination
 * by exponential weights on their discounted absolute errors (Hedge):
 * weight exp(-ENS_HEDGE_RATE * L), L = sum over past outcomes of
 * |error| / step scale, discounted by ENS_HEDGE_KEEP per step (memory
 * ~1000 outcomes).  Absolute error because the aim is the conditional
 * median (what MAE rewards); the long memory because errors at one horizon
 * are correlated over that many steps and the members often differ by a
 * few percent: short-memory inverse-error weights then spread evenly over
 * similar members and chase noise.  A member (or the reference) that is
 * clearly better over the last few hundred steps takes nearly all of the
 * weight.
 *
 * Scoring, weights and the stack live at the anchor horizons only
 * (fcast_anchors()); a horizon between two anchors blends their member
 * weights and stack corrections linearly in sqrt(h).  Memory and work grow
 * with log H.
 *
 * Members forecast horizons 1..ENS_FRESH afresh every update; the horizons
 * beyond come from each member's full path, forecast every ENS_REFRESH
 * updates ENS_REFRESH steps further than H and read shifted meanwhile (a
 * long-horizon forecast from a few steps earlier differs little, and
 * iterating the recurrent members 60 steps every minute dominated the
 * cost).  With H <= ENS_FRESH every forecast is fresh.
 */
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ENS_MAX	       6
#define ENS_REF	       5 /* members 0..ENS_REF-1 make the reference combination */
#define ENS_TOP	       3
#define ENS_DECAY      0.01
#define ENS_WARM       8	     /* errors a member needs at a horizon before it is ranked */
#define ENS_SLOTS      (ENS_MAX + 3) /* members, the reference's average and stack, itself */
#define ENS_AVG	       ENS_MAX
#define ENS_STACK      (ENS_MAX + 1)
#define ENS_REFC       (ENS_MAX + 2)
#define ENS_D	       (ENS_REF + 1) /* stack features: reference members + intercept */
#define ENS_EXPERTS    (ENS_MAX + 1) /* Hedge's experts: members and the reference */
#define ENS_HEDGE_RATE 0.3	     /* per unit of discounted |error| / step scale */
#define ENS_HEDGE_KEEP 0.999	     /* discount of past losses per outcome */
#define ENS_LOSS_MAX   50	     /* one outcome's loss, in step scales, at most */
#define ENS_LAMBDA     0.998
#define ENS_STACK_WARM 200
#define ENS_FRESH      12 /* horizons every member forecasts afresh each update */
#define ENS_REFRESH    8  /* updates between the members' full-horizon forecasts */

extern const struct fcast_ops fcast_snaive, fcast_ewma, fcast_holt_winters, fcast_arima, fcast_rnn,
    fcast_direct;

/* The reference combination's members first (ENS_REF of them). */
static const struct fcast_ops *const ens_members[ENS_MAX] = {
    &fcast_snaive, &fcast_ewma, &fcast_holt_winters, &fcast_arima, &fcast_rnn, &fcast_direct,
};

/* Per-horizon blend of anchor quantities: anchors k0/k1 and k1's weight. */
struct ens_blend {
	int k0, k1;
	double a;
};

struct ens {
	int k, H, A;
	int anchor[FCAST_MAX_ANCHORS];
	const struct fcast_ops *ops[ENS_MAX];
	void *m[ENS_MAX];
	double *cur;		 /* ENS_MAX x H forecasts of the newest origin */
	double *comb;		 /* H combined forecasts of the newest origin */
	struct ens_blend *bl;	 /* H: each horizon's anchors (fcast_anchor_interp) */
	double *path;		 /* ENS_MAX x (H + ENS_REFRESH) full forecasts from path_t */
	int64_t path_t;		 /* origin of path, -1 = none */
	float *pend;		 /* ENS_SLOTS x H origins x A anchors */
	int64_t *pend_t;	 /* H origins */
	double *pend_y, *pend_s; /* value and step scale at each origin */
	double *mse;		 /* ENS_SLOTS x A */
	int *nerr;		 /* ENS_SLOTS x A */
	double *loss;		 /* A x ENS_EXPERTS discounted absolute errors (Hedge) */
	double *sw, *sP;	 /* stack: A x ENS_D weights, A x ENS_D^2 RLS matrices */
	int64_t *sn;		 /* stack updates per anchor */
	double step_abs;	 /* EWMA of |y_t - y_{t-1}| */
	double ref1;		 /* the reference's one-step forecast of the newest origin */
	double last_y;
	int64_t cached_t; /* origin whose forecasts cur and comb hold */
};

static void ens_destroy(void *p)
{
	struct ens *e = p;

	for (int i = 0; i < e->k; i++)
		if (e->m[i])
			e->ops[i]->destroy(e->m[i]);
	free(e->cur);
	free(e->comb);
	free(e->bl);
	free(e->path);
	free(e->pend);
	free(e->pend_t);
	free(e->mse);
	free(e->nerr);
	free(e->loss);
	free(e->pend_y);
	free(e->pend_s);
	free(e->sw);
	free(e->sP);
	free(e->sn);
	free(e);
}

static size_t ens_mem(const void *p, const struct fcast_ctx *c)
{
	const struct ens *e = p;
	size_t H = (size_t)e->H, A = (size_t)e->A, b = sizeof(*e);

	b += (ENS_MAX + 1 + 2) * H * sizeof(double) + H * sizeof(int64_t);
	b += H * sizeof(struct ens_blend);
	b += e->path ? ENS_MAX * (H + ENS_REFRESH) * sizeof(double) : 0;
	b += ENS_SLOTS * H * A * sizeof(float) + ENS_SLOTS * A * (sizeof(double) + sizeof(int));
	b += A * (ENS_D + ENS_D * ENS_D + ENS_EXPERTS) * sizeof(double) + A * sizeof(int64_t);
	for (int i = 0; i < e->k; i++)
		b += e->ops[i]->mem ? e->ops[i]->mem(e->m[i], c) : 0;
	return b;
}

static void stack_reset(double *P)
{
	memset(P, 0, sizeof(double) * ENS_D * ENS_D);
	for (int d = 0; d < ENS_D; d++)
		P[d * ENS_D + d] = 10;
}

static void *ens_create(const struct fcast_ctx *c)
{
	struct ens *e = calloc(1, sizeof(*e));
	size_t H, A;

	if (!e)
		return NULL;
	e->H = c->p.max_horizon;
	e->A = fcast_anchors(e->H, e->anchor);
	H = (size_t)e->H;
	A = (size_t)e->A;
	e->cur = calloc(ENS_MAX * H, sizeof(double));
	e->comb = calloc(H, sizeof(double));
	e->bl = calloc(H, sizeof(*e->bl));
	e->path = H > ENS_FRESH ? calloc(ENS_MAX * (H + ENS_REFRESH), sizeof(double)) : NULL;
	e->path_t = -1;
	e->pend = calloc(ENS_SLOTS * H * A, sizeof(float));
	e->pend_t = malloc(H * sizeof(int64_t));
	e->pend_y = calloc(H, sizeof(double));
	e->pend_s = calloc(H, sizeof(double));
	e->mse = calloc(ENS_SLOTS * A, sizeof(double));
	e->nerr = calloc(ENS_SLOTS * A, sizeof(int));
	e->loss = calloc(A * ENS_EXPERTS, sizeof(double));
	e->sw = calloc(A * ENS_D, sizeof(double));
	e->sP = calloc(A * ENS_D * ENS_D, sizeof(double));
	e->sn = calloc(A, sizeof(int64_t));
	if (!e->cur || !e->comb || !e->bl || (H > ENS_FRESH && !e->path) || !e->pend ||
	    !e->pend_t || !e->mse || !e->nerr || !e->loss || !e->pend_y || !e->pend_s || !e->sw ||
	    !e->sP || !e->sn)
		goto fail;
	for (size_t i = 0; i < H; i++) {
		e->pend_t[i] = -1;
		fcast_anchor_interp(e->anchor, e->A, (int)i + 1, &e->bl[i].k0, &e->bl[i].k1,
				    &e->bl[i].a);
	}
	for (size_t k = 0; k < A; k++)
		stack_reset(e->sP + k * ENS_D * ENS_D);
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

/* Pending anchor forecasts of slot `member` for origin o. */
static float *ens_slot(struct ens *e, int member, int64_t origin)
{
	return e->pend + ((size_t)member * e->H + (size_t)(origin % e->H)) * e->A;
}

static float to_f32(double v)
{
	return (float)(isfinite(v) ? fmin(fmax(v, -1e30), 1e30) : 1e30);
}

/* Stack features (scaled changes of the members' forecasts f[i * stride]) into x; 0 if unusable. */
static int stack_features(double s, double y0, const double *f, size_t stride, double *x)
{
	if (!(s > 0))
		return 0;
	for (int i = 0; i < ENS_REF; i++) {
		x[i] = (f[(size_t)i * stride] - y0) / s;
		if (!isfinite(x[i]) || fabs(x[i]) > 1e6)
			return 0;
	}
	x[ENS_REF] = 1;
	return 1;
}

/* RLS step of anchor k's stack with the outcome y of origin o. */
static void stack_learn(struct ens *e, int k, int64_t o, double y)
{
	double x[ENS_D], px[ENS_D], f[ENS_REF], den = ENS_LAMBDA, err, target;
	double *w = e->sw + (size_t)k * ENS_D, *P = e->sP + (size_t)k * ENS_D * ENS_D;
	double s = e->pend_s[o % e->H], y0 = e->pend_y[o % e->H];

	for (int i = 0; i < ENS_REF && e->k == ENS_MAX; i++)
		f[i] = ens_slot(e, i, o)[k];
	if (e->k != ENS_MAX || !stack_features(s, y0, f, 1, x))
		return;
	target = (y - y0) / s;
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
			stack_reset(P);
			break;
		}
	e->sn[k]++;
}

/*
 * Hedge's losses at anchor k: every expert's absolute error on origin o in
 * units of the step scale there, added to its discounted sum.
 */
static void hedge_learn(struct ens *e, int k, int64_t o, double y)
{
	double s = e->pend_s[o % e->H], *L = e->loss + (size_t)k * ENS_EXPERTS;

	if (!(s > 0))
		return;
	for (int i = 0; i < ENS_EXPERTS; i++) {
		double l = fabs(y - ens_slot(e, i < ENS_MAX ? i : ENS_REFC, o)[k]) / s;

		L[i] = ENS_HEDGE_KEEP * L[i] + (isfinite(l) ? fmin(l, ENS_LOSS_MAX) : ENS_LOSS_MAX);
	}
}

/* Score members' past anchor forecasts against y (the sample at c->t). */
static void ens_score(struct ens *e, const struct fcast_ctx *c, double y)
{
	for (int k = 0; k < e->A; k++) {
		int64_t o = c->t - e->anchor[k];

		if (o < 0 || e->pend_t[o % e->H] != o)
			continue;
		stack_learn(e, k, o, y);
		hedge_learn(e, k, o, y);
		for (int i = 0; i < ENS_SLOTS; i++) {
			double err = y - ens_slot(e, i, o)[k], *m = &e->mse[i * e->A + k];
			int *n = &e->nerr[i * e->A + k];

			if (!isfinite(err))
				err = 1e150; /* a member producing garbage ranks last */
			err = fmin(fabs(err), 1e150);
			*m = *n == 0 ? err * err : *m + ENS_DECAY * (err * err - *m);
			if (*n < ENS_WARM)
				(*n)++;
		}
	}
}

/* The reference's average at anchor k: weights of its members into w (sum 1). */
static void ens_weights_ref(const struct ens *e, int k, double *w)
{
	int idx[ENS_MAX], n = 0, A = e->A;
	double sum = 0, floor_ = 1e-300;

	for (int i = 0; i < e->k; i++) {
		w[i] = 0;
		if (i < ENS_REF && e->nerr[i * A + k] >= ENS_WARM)
			idx[n++] = i;
	}
	if (n == 0) {
		for (int i = 0; i < ENS_REF; i++)
			w[i] = 1.0 / ENS_REF;
		return;
	}
	for (int a = 1; a < n; a++) /* insertion sort by recent error */
		for (int b = a; b > 0 && e->mse[idx[b] * A + k] < e->mse[idx[b - 1] * A + k]; b--) {
			int t = idx[b];

			idx[b] = idx[b - 1];
			idx[b - 1] = t;
		}
	if (n > ENS_TOP)
		n = ENS_TOP;
	floor_ = fmax(1e-12 * e->mse[idx[n - 1] * A + k], 1e-300);
	for (int a = 0; a < n; a++) {
		w[idx[a]] = 1 / (e->mse[idx[a] * A + k] + floor_);
		sum += w[idx[a]];
	}
	for (int i = 0; i < e->k; i++)
		w[i] /= sum;
}

/*
 * Hedge's weights at anchor k: of the members into w, of the reference
 * into *wr (all sum to 1).  Experts not yet warm have none.
 */
static void ens_hedge(const struct ens *e, int k, double *w, double *wr)
{
	const double *L = e->loss + (size_t)k * ENS_EXPERTS;
	double lmin = INFINITY, sum = 0;

	for (int i = 0; i < ENS_EXPERTS; i++)
		if (e->nerr[(i < ENS_MAX ? i : ENS_REFC) * e->A + k] >= ENS_WARM)
			lmin = fmin(lmin, L[i]);
	for (int i = 0; i < ENS_EXPERTS; i++) {
		int warm = e->nerr[(i < ENS_MAX ? i : ENS_REFC) * e->A + k] >= ENS_WARM;
		double v = warm ? exp(-ENS_HEDGE_RATE * (L[i] - lmin)) : 0;

		if (i < ENS_MAX)
			w[i] = v;
		else
			*wr = v;
		sum += v;
	}
	if (!(sum > 0)) { /* nothing warm yet: the reference alone */
		memset(w, 0, sizeof(double) * ENS_MAX);
		*wr = 1;
		return;
	}
	for (int i = 0; i < ENS_MAX; i++)
		w[i] /= sum;
	*wr /= sum;
}

/*
 * Effective member weights of the published forecast at anchor k into w:
 * Hedge's member weights plus the reference's weight spread over the
 * reference average's weights wref.  *wr: the reference's share.
 */
static void ens_weights_pub(const struct ens *e, int k, const double *wref, double *w, double *wr)
{
	ens_hedge(e, k, w, wr);
	for (int i = 0; i < e->k; i++)
		w[i] += *wr * wref[i];
}

/* Published member weights at anchor k (no stack correction), for ens_predict. */
static void ens_weights(const struct ens *e, int k, double *w)
{
	double wref[ENS_MAX], wr;

	ens_weights_ref(e, k, wref);
	ens_weights_pub(e, k, wref, w, &wr);
}

/* Use the stack at anchor k only where it has proved better. */
static int use_stack(const struct ens *e, int k)
{
	return e->sn[k] >= ENS_STACK_WARM && e->nerr[ENS_STACK * e->A + k] >= ENS_WARM &&
	       e->mse[ENS_STACK * e->A + k] < e->mse[ENS_AVG * e->A + k];
}

static struct ens_blend ens_blend_at(const struct ens *e, int h)
{
	return e->bl[(h < e->H ? h : e->H) - 1];
}

/* Weighted average at horizon index j of f[i * stride + j] with anchor weights W. */
static double ens_average(const struct ens *e, const double (*W)[ENS_MAX], struct ens_blend b,
			  const double *f, size_t stride, int j, double dflt)
{
	double s = 0, ws = 0;

	for (int i = 0; i < e->k; i++) {
		double w = (1 - b.a) * W[b.k0][i] + b.a * W[b.k1][i], v = f[(size_t)i * stride + j];

		if (w > 0 && isfinite(v)) {
			s += w * v;
			ws += w;
		}
	}
	return ws > 0 ? s / ws : dflt;
}

/* Stacked forecast at anchor k from the newest origin (avg when the stack cannot say). */
static double ens_stacked(const struct ens *e, int k, double y, double avg)
{
	const double *w = e->sw + (size_t)k * ENS_D;
	double x[ENS_D], z = 0;

	if (e->k != ENS_MAX ||
	    !stack_features(e->step_abs, y, e->cur + e->anchor[k] - 1, (size_t)e->H, x))
		return avg;
	for (int i = 0; i < ENS_D; i++)
		z += w[i] * x[i];
	return isfinite(z) ? y + e->step_abs * z : avg;
}

/*
 * Combine the newest origin's member forecasts (cur) into comb and the
 * pending slots.  At anchors the reference uses the stack where it has
 * proved better; between anchors the stack's correction of the average
 * (stack - average at each anchor, 0 where the average is used) is
 * interpolated: a regression fitted at one horizon is not applied to
 * another horizon's forecasts.  The published forecast blends the members
 * and the reference (its average's weights, its correction) by Hedge.
 */
static void ens_combine(struct ens *e, const struct fcast_ctx *c, double y)
{
	double W[FCAST_MAX_ANCHORS][ENS_MAX], D[FCAST_MAX_ANCHORS];
	int64_t slot = c->t % e->H;

	e->pend_y[slot] = y;
	e->pend_s[slot] = e->step_abs;
	for (int k = 0; k < e->A; k++) {
		struct ens_blend b = {k, k, 0};
		int j = e->anchor[k] - 1;
		double avg, stk, ref, wref[ENS_MAX], wr;

		ens_weights_ref(e, k, wref);
		memcpy(W[k], wref, sizeof(wref));
		avg = ens_average(e, W, b, e->cur, (size_t)e->H, j, y);
		stk = ens_stacked(e, k, y, avg);
		ref = use_stack(e, k) ? stk : avg;
		if (k == 0)
			e->ref1 = ref;
		ens_slot(e, ENS_AVG, c->t)[k] = to_f32(avg);
		ens_slot(e, ENS_STACK, c->t)[k] = to_f32(stk);
		ens_slot(e, ENS_REFC, c->t)[k] = to_f32(ref);
		ens_weights_pub(e, k, wref, W[k], &wr);
		D[k] = wr * (ref - avg);
	}
	for (int j = 0; j < e->H; j++) {
		struct ens_blend b = ens_blend_at(e, j + 1);
		double avg = ens_average(e, W, b, e->cur, (size_t)e->H, j, y);

		e->comb[j] = avg + (1 - b.a) * D[b.k0] + b.a * D[b.k1];
	}
}

/*
 * Member i's forecasts 1..H of the newest origin into f: fresh up to
 * ENS_FRESH, beyond from its path (re-forecast every ENS_REFRESH updates).
 */
static void ens_member_forecast(struct ens *e, const struct fcast_ctx *c, int i, double *f)
{
	size_t L = (size_t)e->H + ENS_REFRESH;
	double *path = e->path ? e->path + (size_t)i * L : NULL;
	int64_t age = c->t - e->path_t;

	if (!path) {
		e->ops[i]->predict(e->m[i], c, e->H, f);
		return;
	}
	if (e->path_t < 0 || age < 0 || age >= ENS_REFRESH) {
		e->ops[i]->predict(e->m[i], c, (int)L, path);
		memcpy(f, path, (size_t)e->H * sizeof(double));
		if (i == e->k - 1)
			e->path_t = -2; /* stamped with c->t once every member has one */
		return;
	}
	e->ops[i]->predict(e->m[i], c, ENS_FRESH, f);
	memcpy(f + ENS_FRESH, path + age + ENS_FRESH,
	       (size_t)(e->H - ENS_FRESH) * sizeof(double));
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
	for (int i = 0; i < e->k; i++)
		e->ops[i]->update(e->m[i], c, y, missing);
	for (int i = 0; i < e->k; i++) {
		double *f = e->cur + (size_t)i * e->H;
		float *slot = ens_slot(e, i, c->t);

		ens_member_forecast(e, c, i, f);
		for (int k = 0; k < e->A; k++)
			slot[k] = to_f32(f[e->anchor[k] - 1]);
	}
	if (e->path && e->path_t == -2)
		e->path_t = c->t;
	ens_combine(e, c, y);
	e->pend_t[c->t % e->H] = c->t;
	e->cached_t = c->t;
}

static void ens_predict(void *p, const struct fcast_ctx *c, int h, double *out)
{
	struct ens *e = p;
	double *fresh, last = c->n ? fcast_ctx_back(c, 0) : 0, W[FCAST_MAX_ANCHORS][ENS_MAX];

	if (h <= e->H && e->cached_t == c->t) {
		memcpy(out, e->comb, (size_t)h * sizeof(double));
		return;
	}
	fresh = malloc((size_t)e->k * h * sizeof(double));
	if (!fresh) {
		for (int j = 0; j < h; j++)
			out[j] = last;
		return;
	}
	for (int k = 0; k < e->A; k++)
		ens_weights(e, k, W[k]);
	for (int i = 0; i < e->k; i++)
		e->ops[i]->predict(e->m[i], c, h, fresh + (size_t)i * h);
	for (int j = 0; j < h; j++)
		out[j] = ens_average(e, W, ens_blend_at(e, j + 1), fresh, (size_t)h, j, last);
	free(fresh);
}

/* The reference's one-step forecast: what the next sample's surprise is judged against. */
static double ens_surprise(void *p, const struct fcast_ctx *c)
{
	const struct ens *e = p;

	return e->cached_t == c->t ? e->ref1 : (c->n ? fcast_ctx_back(c, 0) : 0);
}

static void ens_save(void *p, const struct fcast_ctx *c, struct sbuf *b)
{
	struct ens *e = p;
	size_t H = (size_t)e->H, A = (size_t)e->A;

	sbuf_f64v(b, e->cur, ENS_MAX * H);
	sbuf_f64v(b, e->comb, H);
	for (size_t i = 0; i < ENS_SLOTS * H * A; i++)
		sbuf_f64(b, e->pend[i]);
	for (size_t i = 0; i < H; i++)
		sbuf_i64(b, e->pend_t[i]);
	sbuf_f64v(b, e->pend_y, H);
	sbuf_f64v(b, e->pend_s, H);
	sbuf_f64v(b, e->mse, ENS_SLOTS * A);
	for (size_t i = 0; i < ENS_SLOTS * A; i++)
		sbuf_u32(b, (uint32_t)e->nerr[i]);
	sbuf_f64v(b, e->loss, A * ENS_EXPERTS);
	sbuf_f64v(b, e->sw, A * ENS_D);
	sbuf_f64v(b, e->sP, A * ENS_D * ENS_D);
	for (size_t i = 0; i < A; i++)
		sbuf_i64(b, e->sn[i]);
	sbuf_f64(b, e->step_abs);
	sbuf_f64(b, e->ref1);
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
	size_t H = (size_t)e->H, A = (size_t)e->A;

	sbuf_get_f64v(r, e->cur, ENS_MAX * H);
	sbuf_get_f64v(r, e->comb, H);
	for (size_t i = 0; i < ENS_SLOTS * H * A && !r->err; i++)
		e->pend[i] = to_f32(sbuf_get_f64(r));
	for (size_t i = 0; i < H; i++)
		e->pend_t[i] = sbuf_get_i64(r);
	sbuf_get_f64v(r, e->pend_y, H);
	sbuf_get_f64v(r, e->pend_s, H);
	sbuf_get_f64v(r, e->mse, ENS_SLOTS * A);
	for (size_t i = 0; i < ENS_SLOTS * A; i++)
		e->nerr[i] = (int)sbuf_get_u32_range(r, 0, ENS_WARM);
	sbuf_get_f64v(r, e->loss, A * ENS_EXPERTS);
	for (size_t i = 0; i < A * ENS_EXPERTS; i++)
		if (!(e->loss[i] >= 0))
			r->err = -EBADMSG;
	sbuf_get_f64v(r, e->sw, A * ENS_D);
	sbuf_get_f64v(r, e->sP, A * ENS_D * ENS_D);
	for (size_t i = 0; i < A; i++)
		e->sn[i] = sbuf_get_i64(r);
	e->step_abs = sbuf_get_f64(r);
	e->ref1 = sbuf_get_f64(r);
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
    .version = 5,
    .create = ens_create,
    .destroy = ens_destroy,
    .update = ens_update,
    .predict = ens_predict,
    .save = ens_save,
    .load = ens_load,
    .mem = ens_mem,
    .surprise = ens_surprise,
};
