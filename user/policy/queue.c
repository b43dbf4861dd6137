/*
 * queue.c - M/M/c (Erlang C) latency and sizing; see queue.h for the model.
 */
#include "policy/queue.h"

#include <limits.h>
#include <math.h>

#define P95_TAIL 0.05

double queue_erlang_c(int c, double a)
{
	double b = 1.0;

	if (!(a > 0))
		return 0.0;
	if (c <= 0 || a >= c)
		return 1.0;
	for (int k = 1; k <= c; k++)
		b = a * b / (k + a * b);
	return b / (1.0 - (a / c) * (1.0 - b));
}

/* P(T > t) for the response time of an M/M/c queue (see queue.h). */
static double tail(double t, double cw, double mu, double theta)
{
	double wait;

	if (fabs(mu - theta) < 1e-9 * mu)
		wait = (1.0 + mu * t) * exp(-mu * t);
	else
		wait = (mu * exp(-theta * t) - theta * exp(-mu * t)) / (mu - theta);
	return (1.0 - cw) * exp(-mu * t) + cw * wait;
}

/* Bisection for P(T > t) = 0.05 given Erlang C probability cw. */
static double p95_from(double cw, double mu, double theta)
{
	double lo = 0, hi = 1.0 / mu;

	while (tail(hi, cw, mu, theta) > P95_TAIL && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 60 && hi - lo > 1e-9 * hi; i++) {
		double mid = 0.5 * (lo + hi);

		if (tail(mid, cw, mu, theta) > P95_TAIL)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

double queue_p95(int c, double lambda, double mu)
{
	if (!(mu > 0) || isnan(lambda))
		return NAN;
	if (lambda <= 0)
		return queue_p95_floor(mu);
	if (c <= 0 || lambda >= c * mu)
		return INFINITY;
	return p95_from(queue_erlang_c(c, lambda / mu), mu, c * mu - lambda);
}

double queue_p95_floor(double mu)
{
	return -log(P95_TAIL) / mu;
}

int queue_need(double lambda, double mu, double target, double slo_s, int nmax)
{
	if (nmax > INT_MAX - 1) /* "more than nmax" must stay representable */
		nmax = INT_MAX - 1;
	double a, b = 1.0;
	int n;

	if (!(lambda > 0) || !(mu > 0))
		return 0;
	if (!(target > 0) || target > 1)
		target = 1;
	a = lambda / mu;
	if (a / target > nmax)
		return nmax + 1;
	n = (int)ceil(a / target - 1e-9);
	if (n < 1)
		n = 1;
	if (!(slo_s > 0))
		return n;
	/* Erlang B up to n, then one more server at a time until the SLO holds. */
	for (int k = 1; k <= n; k++)
		b = a * b / (k + a * b);
	for (; n <= nmax; n++) {
		if (n > a) {
			double cw = b / (1.0 - (a / n) * (1.0 - b));

			/* p95 <= slo  <=>  P(T > slo) <= 0.05: the tail is decreasing. */
			if (tail(slo_s, cw, mu, n * mu - lambda) <= P95_TAIL)
				return n;
		}
		b = a * b / (n + 1 + a * b);
	}
	return nmax + 1;
}
