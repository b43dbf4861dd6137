/*
 * histq.c - quantiles and reductions of log-linear histograms; see histq.h.
 */
#include "core/histq.h"

#include <math.h>
#include <string.h>

double histq_quantile(const double *b, double q)
{
	double total = 0, target, acc = 0;

	for (int i = 0; i < HIST_BUCKETS; i++)
		total += b[i];
	if (total <= 0 || !(q > 0 && q < 1))
		return NAN;
	target = q * total;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		double lo, hi, frac;

		if (b[i] <= 0 || acc + b[i] < target) {
			acc += b[i];
			continue;
		}
		lo = (double)hist_bucket_lower((unsigned int)i);
		hi = i + 1 < HIST_BUCKETS ? (double)hist_bucket_lower((unsigned int)i + 1) : lo * 1.0625;
		frac = (target - acc) / b[i];
		return (lo + (hi - lo) * frac) / 1e9;
	}
	return (double)hist_bucket_lower(HIST_BUCKETS - 1) / 1e9;
}

void histq_to_prom(const uint64_t *fine, uint64_t count, uint64_t sum_ns, struct hist_snap *out)
{
	int le = 0;
	uint64_t acc = 0;

	memset(out, 0, sizeof(*out));
	/*
	 * A fine bucket counts towards an `le` bound when its upper edge is at
	 * most the bound; buckets straddling a bound go to the next one, so
	 * counts are never reported below their true value by more than one
	 * fine bucket width (<= 1/16 of the value).
	 */
	for (int i = 0; i < HIST_BUCKETS; i++) {
		double upper = i + 1 < HIST_BUCKETS ? (double)hist_bucket_lower((unsigned int)i + 1)
						    : INFINITY;

		while (le < PROM_LE_COUNT && upper > prom_le_bounds[le] * 1e9)
			out->le[le++] = acc;
		acc += fine[i];
	}
	while (le < PROM_LE_COUNT)
		out->le[le++] = acc;
	out->count = count > acc ? count : acc;
	out->sum_seconds = (double)sum_ns / 1e9;
}

void histq_window_update(struct histq_window *win, const uint64_t *cum, double decay)
{
	double mass = 0;

	for (int i = 0; i < HIST_BUCKETS; i++) {
		/* A counter that went backwards (entry recreated) restarts from 0. */
		uint64_t d = cum[i] >= win->prev[i] ? cum[i] - win->prev[i] : cum[i];

		win->w[i] = win->w[i] * decay + (win->primed ? (double)d : 0);
		mass += win->w[i];
		win->prev[i] = cum[i];
	}
	win->mass = mass;
	win->primed = 1;
}
