/*
 * forecast.c - rolling-origin accuracy and cost of every forecasting model.
 *
 * Protocol (the same as bench/forecast_statsmodels.py): each model learns
 * online over the whole series, one sample at a time; from the origin at 70%
 * of the rows to the end, after each update it forecasts 1..12 steps with a
 * 90% interval, and the forecasts are scored against the outcomes.  MASE is
 * the mean absolute error divided by the in-sample (first 70%) mean absolute
 * error of the seasonal naive forecast with a daily season (86400 s / step;
 * lag 1 if a day does not fit twice in the training part).  Coverage is the
 * share of outcomes inside the 90% interval.  CPU is process CPU time per
 * update including the forecast, measured over the whole series.
 *
 * usage: forecast [--traces DIR] [--model NAME]... [--csv] [--season N] [TRACE.csv ...]
 * DIR defaults to $PRESAGE_TRACES or ../shared/traces; default traces are
 * nasa_http_jul95_1min.csv and google2019_avg_cpu_5min.csv.  No subsetting:
 * every row of every trace is used.
 */
#include "io/csv.h"
#include "model/fcast.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HMAX 12

struct result {
	double mase1, mase12, cov1, cov12, us;
	long scored;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* In-sample MAE of the seasonal naive forecast with lag m over v[0..n). */
static double snaive_scale(const double *v, size_t n, size_t m)
{
	double s = 0;
	size_t k = 0;

	for (size_t i = m; i < n; i++)
		if (isfinite(v[i]) && isfinite(v[i - m])) {
			s += fabs(v[i] - v[i - m]);
			k++;
		}
	return k && s > 0 ? s / k : 1;
}

static int bench_season; /* --season N (0 = auto) */

static int run_model(const char *model, const struct csv_series *s, size_t split, double scale,
		     struct result *r)
{
	struct fcast_params p = {.max_horizon = HMAX, .step_s = s->step, .season = bench_season};
	struct fcast *f = fcast_new(model, &p);
	struct fcast_point out[HMAX];
	double e1 = 0, e12 = 0, c1 = 0, c12 = 0, cpu = 0;

	if (!f)
		return -1;
	memset(r, 0, sizeof(*r));
	for (size_t t = 0; t < s->n; t++) {
		double t0 = cpu_now();

		fcast_update(f, s->v[t]);
		fcast_forecast(f, HMAX, 0.9, out);
		cpu += cpu_now() - t0;
		if (t + 1 < split || t + HMAX >= s->n)
			continue;
		e1 += fabs(s->v[t + 1] - out[0].point);
		e12 += fabs(s->v[t + HMAX] - out[HMAX - 1].point);
		c1 += s->v[t + 1] >= out[0].lower && s->v[t + 1] <= out[0].upper;
		c12 +=
		    s->v[t + HMAX] >= out[HMAX - 1].lower && s->v[t + HMAX] <= out[HMAX - 1].upper;
		r->scored++;
	}
	fcast_free(f);
	if (r->scored) {
		r->mase1 = e1 / r->scored / scale;
		r->mase12 = e12 / r->scored / scale;
		r->cov1 = 100 * c1 / r->scored;
		r->cov12 = 100 * c12 / r->scored;
	}
	r->us = cpu / s->n * 1e6;
	return 0;
}

static int bench_trace(const char *path, const char *name, const char **models, int nm, int csv)
{
	struct csv_series s;
	char err[512];
	size_t split, m;
	double scale;

	if (csv_load(path, &s, err, sizeof(err))) {
		fprintf(stderr, "forecast: %s\n", err);
		return -1;
	}
	split = (size_t)(0.7 * s.n);
	m = s.step > 0 ? (size_t)llround(86400 / s.step) : 1;
	if (m < 1 || 2 * m > split)
		m = 1;
	scale = snaive_scale(s.v, split, m);
	if (!csv)
		printf("# %s: %zu rows, step %.0f s, train %zu, season for MASE %zu, scale %.6g\n",
		       name, s.n, s.step, split, m, scale);
	for (int i = 0; i < nm; i++) {
		struct result r;

		if (run_model(models[i], &s, split, scale, &r)) {
			fprintf(stderr, "forecast: model %s unavailable\n", models[i]);
			continue;
		}
		printf(csv ? "%s,%s,%.4f,%.4f,%.1f,%.1f,%.2f\n"
			   : "%-28s %-13s %8.4f %8.4f %7.1f %7.1f %10.2f\n",
		       name, models[i], r.mase1, r.mase12, r.cov1, r.cov12, r.us);
		fflush(stdout);
	}
	csv_series_free(&s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"traces", required_argument, NULL, 't'},
	    {"model", required_argument, NULL, 'm'},
	    {"csv", no_argument, NULL, 'c'},
	    {"season", required_argument, NULL, 's'},
	    {0},
	};
	const char *dir = getenv("PRESAGE_TRACES"), *models[16];
	const char *defaults[] = {"nasa_http_jul95_1min.csv", "google2019_avg_cpu_5min.csv"};
	int nm = 0, csv = 0, c, rc = 0;
	char path[4096];

	if (!dir)
		dir = "../shared/traces";
	while ((c = getopt_long(argc, argv, "t:m:cs:", opts, NULL)) != -1) {
		if (c == 't')
			dir = optarg;
		else if (c == 'm' && nm < 16)
			models[nm++] = optarg;
		else if (c == 'c')
			csv = 1;
		else if (c == 's')
			bench_season = atoi(optarg);
		else
			return 2;
	}
	if (nm == 0)
		for (int i = 0; fcast_models[i]; i++)
			models[nm++] = fcast_models[i]->name;
	printf(csv ? "trace,model,mase_h1,mase_h12,coverage_h1,coverage_h12,cpu_us_per_update\n"
		   : "%-28s %-13s %8s %8s %7s %7s %10s\n",
	       "trace", "model", "MASE h1", "MASE h12", "cov1%", "cov12%", "us/update");
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			rc |= bench_trace(
			    argv[i], strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i],
			    models, nm, csv);
	} else {
		for (size_t i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, defaults[i]);
			rc |= bench_trace(path, defaults[i], models, nm, csv);
		}
	}
	return rc ? 1 : 0;
}
