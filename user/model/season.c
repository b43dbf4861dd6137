/*
 * season.c - seasonal period detection by autocorrelation.
 *
 * The series is detrended (least-squares line), its autocorrelation computed
 * for every lag through one FFT (O(n log n), bounded by the history cap), and
 * periods are the lags where the autocorrelation has a prominent local
 * maximum: the shortest strong one first (a multiple of a period peaks too,
 * so among near-equal peaks the shortest wins), then a longer multiple of it
 * whose peak is clearly higher (e.g. a weekly cycle on top of a daily one).
 * The autocorrelation of bursty series is noisy, so it is smoothed over a
 * window proportional to the lag (k/64) before peaks are picked, and a period
 * within 3% of a calendar period (hour, day, week at the series' step) is
 * snapped to it: container workloads follow clocks, and a period off by a
 * few steps would drift the seasonal phase of every model by a cycle a month.
 */
#include "model/fcast.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEASON_MIN_ACF	0.25 /* weakest autocorrelation called a season */
#define SEASON_MIN_PROM 0.10 /* the ACF must dip by this much before the peak */

/* In-place iterative radix-2 FFT of n (a power of two) points; inv = inverse. */
static void fft(double complex *x, int n, int inv)
{
	for (int i = 1, j = 0; i < n; i++) {
		int bit = n >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			double complex t = x[i];

			x[i] = x[j];
			x[j] = t;
		}
	}
	for (int len = 2; len <= n; len <<= 1) {
		double ang = 2 * M_PI / len * (inv ? 1 : -1);
		double complex wl = cos(ang) + I * sin(ang);

		for (int i = 0; i < n; i += len) {
			double complex w = 1;

			for (int j = 0; j < len / 2; j++) {
				double complex u = x[i + j], v = x[i + j + len / 2] * w;

				x[i + j] = u + v;
				x[i + j + len / 2] = u - v;
				w *= wl;
			}
		}
	}
}

/* Autocorrelation of detrended x for lags 0..maxlag into r; 0 or -1. */
static int acf(const double *x, int n, int maxlag, double *r)
{
	int m = 1;
	double complex *z;
	double sx = 0, sxx = 0, sy = 0, sxy = 0, slope, icpt;

	while (m < 2 * n)
		m <<= 1;
	z = calloc((size_t)m, sizeof(*z));
	if (!z)
		return -1;
	for (int i = 0; i < n; i++) {
		sx += i, sxx += (double)i * i, sy += x[i], sxy += i * x[i];
	}
	slope = (n * sxy - sx * sy) / fmax(n * sxx - sx * sx, 1e-300);
	icpt = (sy - slope * sx) / n;
	for (int i = 0; i < n; i++)
		z[i] = x[i] - (icpt + slope * i);
	fft(z, m, 0);
	for (int i = 0; i < m; i++)
		z[i] = creal(z[i]) * creal(z[i]) + cimag(z[i]) * cimag(z[i]);
	fft(z, m, 1);
	for (int k = 0; k <= maxlag; k++) /* unbiased: divide by the overlap */
		r[k] = creal(z[k]) / m / (n - k);
	free(z);
	if (!(r[0] > 0))
		return -1;
	for (int k = maxlag; k >= 0; k--)
		r[k] /= r[0];
	return 0;
}

/* Smooth r in place with a centred mean over +-k/64 lags (none below 64). */
static int smooth(double *r, int maxlag)
{
	double *cum = malloc((size_t)(maxlag + 2) * sizeof(*cum));

	if (!cum)
		return -1;
	cum[0] = 0;
	for (int k = 0; k <= maxlag; k++)
		cum[k + 1] = cum[k] + r[k];
	for (int k = 1; k <= maxlag; k++) {
		int w = k / 64, lo = k - w < 1 ? 1 : k - w;
		int hi = k + w > maxlag ? maxlag : k + w;

		r[k] = (cum[hi + 1] - cum[lo]) / (hi - lo + 1);
	}
	free(cum);
	return 0;
}

/* Snap a period to a calendar period (hour, day, week) within 3%. */
static int snap(int k, double step_s, int maxlag)
{
	static const double cal[] = {3600, 86400, 604800};

	if (!(step_s > 0))
		return k;
	for (size_t i = 0; i < sizeof(cal) / sizeof(*cal); i++) {
		double c = cal[i] / step_s;

		if (c >= 4 && c <= maxlag && fabs(k - c) <= 0.03 * c && fabs(c - round(c)) < 1e-6)
			return (int)round(c);
	}
	return k;
}

/* Is lag k a prominent local maximum of r? */
static int is_peak(const double *r, int k, int maxlag)
{
	double lo = r[k];
	int w = k / 10 > 1 ? k / 10 : 1;

	for (int j = k - w; j <= k + w; j++)
		if (j >= 1 && j <= maxlag && r[j] > r[k])
			return 0;
	for (int j = k / 2; j < k; j++)
		lo = fmin(lo, r[j]);
	return r[k] >= SEASON_MIN_ACF && r[k] - lo >= SEASON_MIN_PROM;
}

/* Best peak near lag k (within 2%), or 0. */
static int peak_near(const double *r, int k, int maxlag)
{
	int w = k / 50 > 1 ? k / 50 : 1, best = 0;

	for (int j = k - w; j <= k + w && j <= maxlag; j++)
		if (j >= 4 && is_peak(r, j, maxlag) && (!best || r[j] > r[best]))
			best = j;
	return best;
}

/* Highest unsmoothed autocorrelation within 2% of lag k. */
static double raw_near(const double *raw, int k, int maxlag)
{
	int w = k / 50 > 1 ? k / 50 : 1;
	double best = -1;

	for (int j = k - w; j <= k + w; j++)
		if (j >= 1 && j <= maxlag)
			best = fmax(best, raw[j]);
	return best;
}

int season_detect(const double *x, int n, int max_period, double step_s, int *periods,
		  double *strength, int max)
{
	int maxlag = n / 2 < max_period ? n / 2 : max_period, p1 = 0, np = 0;
	double *r, *raw, best = 0;

	if (maxlag < 4 || max < 1 || !(r = malloc(2 * (size_t)(maxlag + 1) * sizeof(*r))))
		return 0;
	raw = r + maxlag + 1;
	if (acf(x, n, maxlag, r) || (memcpy(raw, r, (size_t)(maxlag + 1) * sizeof(*r)), 0) ||
	    smooth(r, maxlag)) {
		free(r);
		return 0;
	}
	for (int k = 4; k <= maxlag; k++)
		if (is_peak(r, k, maxlag) && r[k] > best)
			best = r[k];
	for (int k = 4; k <= maxlag && !p1; k++)
		if (is_peak(r, k, maxlag) && r[k] >= 0.8 * best)
			p1 = k;
	if (p1) {
		p1 = snap(p1, step_s, maxlag);
		periods[np] = p1;
		strength[np++] = r[p1];
		for (int m = 2; np < max && (long)m * p1 <= maxlag; m++) {
			int k = peak_near(r, m * p1, maxlag);

			/* Compare unsmoothed heights: smoothing flattens long lags more. */
			if (k && m >= 3 &&
			    raw_near(raw, k, maxlag) > raw_near(raw, p1, maxlag) + 0.05) {
				/* an exact multiple keeps both cycles aligned */
				periods[np] = snap(m * p1, step_s, maxlag) % p1
						  ? m * p1
						  : snap(m * p1, step_s, maxlag);
				strength[np++] = r[k];
				break;
			}
		}
	}
	free(r);
	return np;
}
