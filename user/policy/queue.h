/*
 * queue.h - the M/M/c queueing model shared by the scaling policies and the
 * trace-driven simulator.
 *
 * A service with c ready replicas, each serving mu requests/s (exponential
 * service times, mean 1/mu), receiving Poisson arrivals at lambda requests/s,
 * is an M/M/c queue.  With offered load a = lambda/mu and per-server
 * utilisation rho = a/c < 1, the probability that a request waits is Erlang
 * C:
 *
 *     C(c, a) = B(c, a) / (1 - rho (1 - B(c, a)))
 *
 * where B is Erlang B, computed by the stable recursion B(0) = 1,
 * B(k) = a B(k-1) / (k + a B(k-1)).  A waiting request waits Exp(theta),
 * theta = c mu - lambda, so the response time T = W + S has
 *
 *     P(T > t) = (1 - C) e^(-mu t) + C (mu e^(-theta t) - theta e^(-mu t)) / (mu - theta)
 *
 * (the hypoexponential tail; (1 + mu t) e^(-mu t) when theta == mu).  The p95
 * latency is the t with P(T > t) = 0.05, found by bisection.  With rho >= 1
 * the queue is unstable: p95 is infinite (the simulator turns the excess into
 * backlog instead).
 */
#ifndef PRESAGE_POLICY_QUEUE_H
#define PRESAGE_POLICY_QUEUE_H

/*
 * Erlang C probability of waiting for c servers at offered load a (Erlangs).
 * 1 when a >= c (unstable or saturated), 0 when a <= 0; c <= 0 gives 1.
 */
double queue_erlang_c(int c, double a);

/*
 * p95 response time in seconds of an M/M/c queue; INFINITY when unstable
 * (lambda >= c mu, or c <= 0 with lambda > 0); the service-time p95
 * (-ln 0.05 / mu) at lambda = 0.  mu must be > 0 (NAN otherwise).
 */
double queue_p95(int c, double lambda, double mu);

/*
 * Fewest replicas serving lambda req/s with per-replica utilisation at most
 * target (0 < target <= 1) and p95 response time at most slo_s seconds
 * (slo_s <= 0: no latency SLO).  Returns a value in [0, nmax + 1]: nmax + 1
 * means even nmax replicas do not meet the SLO.  lambda <= 0 or NAN gives 0.
 */
int queue_need(double lambda, double mu, double target, double slo_s, int nmax);

/* Smallest p95 any replica count can give: the service time's own p95. */
double queue_p95_floor(double mu);

#endif
