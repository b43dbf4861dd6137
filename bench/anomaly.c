/*
 * anomaly.c - NAB scoring of presage's streaming anomaly score.
 *
 * Runs the same pipeline as `presage detect` (forecaster + model/anom.h,
 * one row at a time, no look-ahead) on every file listed in the corpus'
 * windows.json and scores it the Numenta Anomaly Benchmark way, standard
 * profile (A_TP = 1, A_FP = 0.11, A_FN = 1):
 *   - a detection is a row whose score is >= the threshold;
 *   - inside a window only the earliest detection counts, weighted by
 *     scaledSigmoid(-(right - i + 1) / width), highest at the window start;
 *   - a window with no detection costs -1;
 *   - a detection outside windows costs 0.11 * scaledSigmoid of its distance
 *     past the previous window (in window widths), -0.11 before any window;
 *   - rows in the probation period (first 15% of a file, at most 750 rows)
 *     are not scored;
 *   - one threshold for the whole corpus: the best over a 0.01 grid (as NAB
 *     optimises it), also printed at the fixed threshold 0.5;
 *   - normalised: 100 * (raw - null) / (perfect - null), null = no detection,
 *     perfect = every window detected at its first row.
 *
 * usage: anomaly [--model NAME] [DIR]   (DIR default $PRESAGE_NAB, else
 * $PRESAGE_TRACES/nab-artificial, else ../shared/traces/nab-artificial).  Every row of every listed
 * file is used.
 */
#include "io/csv.h"
#include "model/anom.h"
#include "model/fcast.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 64
#define MAX_WIN	  16

struct nab_file {
	char name[256];
	size_t n, probation;
	double *score;
	int nwin;
	size_t ws[MAX_WIN], we[MAX_WIN]; /* window row indexes, inclusive */
};

static double scaled_sigmoid(double x)
{
	return x > 3 ? -1 : 2 / (1 + exp(5 * x)) - 1;
}

/* Score every row of s with the detect pipeline. */
static int run_detector(const char *model, const struct csv_series *s, double *score)
{
	struct fcast_params p = {.max_horizon = 1, .step_s = s->step};
	struct fcast *f = fcast_new(model, &p);
	struct anom *a = anom_new();

	if (!f || !a) {
		fcast_free(f);
		anom_free(a);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		long gap = i ? csv_gap_steps(s->t[i - 1], s->t[i], s->step, FCAST_HIST_MAX) : 0;

		while (gap-- > 0)
			fcast_update(f, NAN);
		fcast_update(f, s->v[i]);
		score[i] = isfinite(s->v[i]) ? anom_update(a, fcast_last_score(f)) : 0;
	}
	fcast_free(f);
	anom_free(a);
	return 0;
}

/* Row index of the first timestamp >= t (windows use "....000000" stamps). */
static size_t row_at(const struct csv_series *s, const char *text, int end)
{
	struct csv_ts_format fmt;
	double t;
	size_t i = 0;

	if (csv_parse_ts(text, &t, &fmt))
		return end ? s->n - 1 : 0;
	while (i < s->n && s->t[i] < t)
		i++;
	if (end && (i == s->n || s->t[i] > t))
		i = i ? i - 1 : 0;
	return i < s->n ? i : s->n - 1;
}

static int load_file(const char *dir, const cJSON *item, const char *model, struct nab_file *nf)
{
	struct csv_series s;
	char path[4096], err[512];
	const cJSON *w;

	snprintf(nf->name, sizeof(nf->name), "%s", item->string);
	snprintf(path, sizeof(path), "%s/%s", dir, item->string);
	if (csv_load(path, &s, err, sizeof(err))) {
		fprintf(stderr, "anomaly: %s\n", err);
		return -1;
	}
	nf->n = s.n;
	nf->probation = (size_t)fmin(floor(0.15 * s.n), 750);
	nf->score = calloc(s.n, sizeof(double));
	nf->nwin = 0;
	cJSON_ArrayForEach(w, item)
	{
		if (nf->nwin < MAX_WIN && cJSON_GetArraySize(w) == 2 &&
		    cJSON_IsString(cJSON_GetArrayItem(w, 0)) &&
		    cJSON_IsString(cJSON_GetArrayItem(w, 1))) {
			nf->ws[nf->nwin] = row_at(&s, cJSON_GetArrayItem(w, 0)->valuestring, 0);
			nf->we[nf->nwin] = row_at(&s, cJSON_GetArrayItem(w, 1)->valuestring, 1);
			nf->nwin++;
		}
	}
	if (!nf->score || run_detector(model, &s, nf->score)) {
		csv_series_free(&s);
		return -1;
	}
	csv_series_free(&s);
	return 0;
}

struct nab_tally {
	double raw;
	int tp, fn, fp;
};

/* NAB raw score of one file at threshold th (standard profile). */
static void score_file(const struct nab_file *f, double th, struct nab_tally *t)
{
	double best[MAX_WIN];
	int cur = -1, prev = -1;

	for (int w = 0; w < f->nwin; w++)
		best[w] = NAN;
	for (size_t i = f->probation; i < f->n; i++) {
		cur = -1;
		for (int w = 0; w < f->nwin; w++) {
			if (i >= f->ws[w] && i <= f->we[w])
				cur = w;
			if (f->we[w] < i && (prev < 0 || f->we[w] > f->we[prev]))
				prev = w;
		}
		if (f->score[i] < th)
			continue;
		if (cur >= 0) {
			double width = (double)(f->we[cur] - f->ws[cur] + 1);
			double v = scaled_sigmoid(-(double)(f->we[cur] - i + 1) / width);

			if (isnan(best[cur]) || v > best[cur])
				best[cur] = v;
		} else {
			double pos = prev < 0 ? -1 : 0;

			if (prev >= 0) {
				double width = (double)(f->we[prev] - f->ws[prev] + 1);

				pos = scaled_sigmoid((double)(i - f->we[prev]) / (width - 1));
			}
			t->raw += 0.11 * (prev < 0 ? -1 : pos);
			t->fp++;
		}
	}
	for (int w = 0; w < f->nwin; w++) {
		if (isnan(best[w])) {
			t->raw -= 1;
			t->fn++;
		} else {
			t->raw += best[w];
			t->tp++;
		}
	}
}

static double normalised(const struct nab_file *fs, int nf, double th, struct nab_tally *t)
{
	double null = 0, perfect = 0;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < nf; i++) {
		score_file(&fs[i], th, t);
		null -= fs[i].nwin;
		perfect += fs[i].nwin * scaled_sigmoid(-1.0);
	}
	return perfect > null ? 100 * (t->raw - null) / (perfect - null) : 0;
}

static cJSON *read_windows(const char *dir)
{
	char path[4096], *buf;
	FILE *f;
	long len;
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "%s/windows.json", dir);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "anomaly: failed to open %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = len > 0 ? calloc(1, (size_t)len + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len)
		j = cJSON_Parse(buf);
	free(buf);
	fclose(f);
	if (!j)
		fprintf(stderr, "anomaly: failed to parse %s\n", path);
	return j;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"model", required_argument, NULL, 'm'}, {0}};
	const char *dir = getenv("PRESAGE_NAB"), *model = "ensemble";
	static struct nab_file files[MAX_FILES];
	struct nab_tally t, bt;
	double best = -INFINITY, best_th = 0, s;
	const cJSON *item;
	cJSON *j;
	int nf = 0, c;
	static char dirbuf[4096];

	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1)
		if (c == 'm')
			model = optarg;
		else
			return 2;
	if (optind < argc)
		dir = argv[optind];
	if (!dir && getenv("PRESAGE_TRACES")) {
		snprintf(dirbuf, sizeof(dirbuf), "%s/nab-artificial", getenv("PRESAGE_TRACES"));
		dir = dirbuf;
	}
	if (!dir)
		dir = "../shared/traces/nab-artificial";
	if (!(j = read_windows(dir)))
		return 1;
	cJSON_ArrayForEach(item, j)
	{
		if (nf < MAX_FILES && load_file(dir, item, model, &files[nf]) == 0)
			nf++;
	}
	cJSON_Delete(j);
	for (int k = 0; k <= 100; k++) {
		s = normalised(files, nf, k / 100.0, &t);
		if (s > best) {
			best = s;
			best_th = k / 100.0;
			bt = t;
		}
	}
	printf("# NAB standard profile, %d files, model %s\n", nf, model);
	printf("nab_score_best %.1f threshold %.2f tp %d fn %d fp %d\n", best, best_th, bt.tp,
	       bt.fn, bt.fp);
	s = normalised(files, nf, 0.5, &t);
	printf("nab_score_at_0.5 %.1f tp %d fn %d fp %d\n", s, t.tp, t.fn, t.fp);
	for (int i = 0; i < nf; i++)
		free(files[i].score);
	return 0;
}
