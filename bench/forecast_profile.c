/*
 * forecast_profile.c - memory and CPU of one live profile as the daemon runs
 * it: 9 metrics, one-minute steps, the ensemble, max_horizon 60 (the
 * daemon's defaults), fed either the NASA one-minute trace (metric i reads
 * it from a different offset) or a synthetic six-week series with a daily
 * and a weekly season plus noise (--synthetic), so both seasons are live.
 *
 * Prints the heap the profile holds (measured by the allocator: mallinfo2
 * before and after, so it checks profile_memory_bytes(), which is printed
 * beside it), the CPU per profile update (all metrics together, process
 * CPU time over every update, fingerprint refreshes included) and the cost
 * of one 60-step forecast with intervals per metric.
 *
 * usage: forecast_profile [--synthetic] [--horizon H] [--steps N] [--traces DIR]
 */
#include "io/csv.h"
#include "model/profile.h"

#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_METRICS 9

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Daily + weekly pattern with noise (deterministic LCG), one-minute steps. */
static double synth(long t, int metric, unsigned *seed)
{
	double day = sin(2 * M_PI * t / 1440.0), dow = (t / 1440) % 7 >= 5 ? -0.4 : 0.3;
	double u1, u2;

	*seed = *seed * 1103515245u + 12345u;
	u1 = ((*seed >> 8) + 1.0) / 16777217.0;
	*seed = *seed * 1103515245u + 12345u;
	u2 = ((*seed >> 8) + 1.0) / 16777217.0;
	return (10 + metric) * (1 + 0.5 * day + dow) +
	       0.3 * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"synthetic", no_argument, 0, 's'},
					     {"horizon", required_argument, 0, 'H'},
					     {"steps", required_argument, 0, 'n'},
					     {"traces", required_argument, 0, 't'},
					     {0, 0, 0, 0}};
	const char *dir = getenv("PRESAGE_TRACES") ? getenv("PRESAGE_TRACES") : "../shared/traces";
	struct profile_metric m[N_METRICS];
	struct profile_params pp = {.n_metrics = N_METRICS, .metrics = m, .step_s = 60};
	struct csv_series s = {0};
	int synthetic = 0, o;
	long steps = 0;
	char path[4096], err[256];
	struct fcast_point out[256];

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 's')
			synthetic = 1;
		else if (o == 'H')
			pp.max_horizon = atoi(optarg);
		else if (o == 'n')
			steps = atol(optarg);
		else if (o == 't')
			dir = optarg;
		else
			return 2;
	}
	for (int i = 0; i < N_METRICS; i++)
		m[i] = (struct profile_metric){.name = "m", .role = i == 0 ? FP_ROLE_CPU : FP_ROLE_OTHER};
	if (!synthetic) {
		snprintf(path, sizeof(path), "%s/nasa_http_jul95_1min.csv", dir);
		if (csv_load(path, &s, err, sizeof(err))) {
			fprintf(stderr, "forecast_profile: %s\n", err);
			return 1;
		}
	}
	if (steps <= 0)
		steps = synthetic ? 6 * 7 * 1440 : (long)s.n;

	size_t h0 = heap_used();
	struct profile *p = profile_new(&pp);
	unsigned seed = 1;
	double vals[N_METRICS], t0, t1, fc = 0;

	if (!p) {
		perror("forecast_profile: profile_new");
		return 1;
	}
	t0 = cpu_now();
	for (long t = 0; t < steps; t++) {
		for (int i = 0; i < N_METRICS; i++)
			vals[i] = synthetic ? synth(t, i, &seed) : s.v[(t + 97 * i) % (long)s.n];
		profile_update(p, vals);
	}
	t1 = cpu_now();
	int H = pp.max_horizon > 0 ? pp.max_horizon : 60;
	for (int k = 0; k < 100; k++)
		for (int i = 0; i < N_METRICS; i++) {
			double a = cpu_now();

			profile_forecast(p, i, H, 0.9, out);
			fc += cpu_now() - a;
		}
	printf("series %s, %ld steps, %d metrics, horizon %d\n", synthetic ? "synthetic" : "nasa",
	       steps, N_METRICS, H);
	printf("heap held by the profile: %zu bytes (allocator)\n", heap_used() - h0);
	printf("profile_memory_bytes:     %zu bytes\n", profile_memory_bytes(p));
	printf("cpu per profile update:   %.1f us (all metrics)\n", (t1 - t0) / steps * 1e6);
	printf("cpu per %d-step forecast: %.1f us (one metric, with intervals)\n", H,
	       fc / (100 * N_METRICS) * 1e6);
	profile_free(p);
	csv_series_free(&s);
	return 0;
}
