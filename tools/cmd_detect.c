/*
 * cmd_detect.c - `presage detect`: streaming anomaly scores of a CSV series.
 *
 * Reads `timestamp,value` rows one at a time (a file or stdin) and writes
 * `timestamp,value,anomaly_score` for each as soon as it is read: the score
 * of a row uses that row and the rows before it only.  Each row updates a
 * forecaster (default ensemble); the anomaly detector scores its normalised
 * one-step error (model/anom.h).  Steps missing in gaps are fed as missing;
 * a row with a missing value scores 0 and is written with an empty value.
 * The step used for gaps is the median of the first intervals (up to 64);
 * the forecaster is created at the second row, with the first interval as
 * its step, so seasons are judged at the series' own resolution.
 */
#include "cli.h"
#include "io/csv.h"
#include "model/anom.h"
#include "model/fcast.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_ROWS 64

struct det_opts {
	const char *input, *model;
	int season;
};

static void det_usage(FILE *f)
{
	fprintf(f, "usage: presage detect --input F.csv [-o csv] [--model NAME] [--season auto|N]\n"
		   "  writes timestamp,value,anomaly_score (score in [0,1]) per input row\n"
		   "  --input - reads stdin\n");
}

static int parse_season(const char *s, int *out)
{
	char *end;
	long v;

	if (!strcmp(s, "auto")) {
		*out = 0;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (*end || end == s || v < 1 || v > FCAST_HIST_MAX / 2)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* Running step estimate: median of the first STEP_ROWS intervals. */
struct step_est {
	double iv[STEP_ROWS];
	int n;
	double step;
};

static void step_add(struct step_est *e, double dt)
{
	double tmp[STEP_ROWS];

	if (e->n >= STEP_ROWS || !(dt > 0))
		return;
	e->iv[e->n++] = dt;
	memcpy(tmp, e->iv, sizeof(double) * (size_t)e->n);
	for (int i = 1; i < e->n; i++) /* insertion sort: at most 64 values, once each */
		for (int j = i; j > 0 && tmp[j] < tmp[j - 1]; j--) {
			double t = tmp[j];

			tmp[j] = tmp[j - 1];
			tmp[j - 1] = t;
		}
	e->step = tmp[e->n / 2];
}

struct det_state {
	const struct det_opts *o;
	struct fcast *f;
	double first_v;
	struct anom *a;
	struct step_est est;
	double prev_t;
	long rows;
};

/* The forecaster starts at the second row, once a step is known. */
static int start_model(struct det_state *d, double step)
{
	struct fcast_params p = {.season = d->o->season, .max_horizon = 1, .step_s = step};

	d->f = fcast_new(d->o->model, &p);
	if (!d->f)
		return -errno;
	fcast_update(d->f, d->first_v);
	return 0;
}

/* Score one row and write its output line; 0 or -errno. */
static int detect_row(struct det_state *d, const struct csv_row *row)
{
	double score = 0;

	if (d->rows == 1 && start_model(d, row->t - d->prev_t))
		return -ENOMEM;
	if (d->rows > 0) {
		long gap = csv_gap_steps(d->prev_t, row->t, d->est.step, FCAST_HIST_MAX);

		while (gap-- > 0)
			fcast_update(d->f, NAN);
		step_add(&d->est, row->t - d->prev_t);
	}
	if (d->f) {
		fcast_update(d->f, row->v);
		if (!row->missing)
			score = anom_update(d->a, fcast_last_score(d->f));
	} else {
		d->first_v = row->v;
	}
	d->prev_t = row->t;
	d->rows++;
	printf("%s,", row->ts_text);
	if (!row->missing)
		printf("%.10g", row->v);
	printf(",%.4f\n", score);
	return 0;
}

static int detect_stream(const struct det_opts *o, FILE *in, const char *name)
{
	struct det_state d = {.o = o};
	struct csv_reader *r = csv_reader_new(in, name);
	struct csv_row row;
	int rc, ret = CLI_FAIL;

	d.a = r ? anom_new() : NULL;
	if (!d.a) {
		cli_err("detect", "failed to start: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	printf("timestamp,value,anomaly_score\n");
	while ((rc = csv_reader_next(r, &row)) == 1) {
		if (detect_row(&d, &row)) {
			cli_err("detect", "failed to create model %s: %s", o->model,
				strerror(ENOMEM));
			goto out;
		}
	}
	if (rc < 0) {
		fflush(stdout);
		cli_err("detect", "%s", csv_reader_error(r));
		goto out;
	}
	if (d.rows == 0) {
		cli_err("detect", "%s has no data rows", name);
		goto out;
	}
	ret = CLI_OK;
out:
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("detect", "failed to write output: %s", strerror(errno));
		ret = CLI_FAIL;
	}
	anom_free(d.a);
	fcast_free(d.f);
	csv_reader_free(r);
	return ret;
}

/* Validate the parsed options; CLI_OK or CLI_USAGE (message printed). */
static int det_check(const struct det_opts *o, const char *fmt, int argc, char **argv)
{
	if (!o->input || optind != argc) {
		cli_err("detect", optind != argc ? "unexpected argument '%s'" : "%s",
			optind != argc ? argv[optind] : "--input is required");
		return CLI_USAGE;
	}
	if (strcmp(fmt, "csv")) {
		cli_err("detect", "unsupported output format '%s' (csv)", fmt);
		return CLI_USAGE;
	}
	if (!fcast_lookup(o->model)) {
		cli_err("detect",
			"unknown model '%s' (snaive|ewma|holt_winters|arima|rnn|direct|ensemble)",
			o->model);
		return CLI_USAGE;
	}
	return CLI_OK;
}

int cmd_detect(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"input", required_argument, NULL, 'i'}, {"output", required_argument, NULL, 'o'},
	    {"model", required_argument, NULL, 'm'}, {"season", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},	     {0},
	};
	struct det_opts o = {.model = "ensemble"};
	const char *fmt = "csv";
	FILE *in;
	int c, rc;

	while ((c = getopt_long(argc, argv, "i:o:m:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.input = optarg;
			break;
		case 'o':
			fmt = optarg;
			break;
		case 'm':
			o.model = optarg;
			break;
		case 's':
			if (parse_season(optarg, &o.season)) {
				cli_err("detect", "bad --season '%s': auto or a period in steps",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			det_usage(stdout);
			return CLI_OK;
		default:
			det_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (det_check(&o, fmt, argc, argv))
		return CLI_USAGE;
	if (!strcmp(o.input, "-")) {
		/* A pipe may be a live feed: each score leaves as soon as its row came. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		return detect_stream(&o, stdin, "<stdin>");
	}
	in = fopen(o.input, "r");
	if (!in) {
		cli_err("detect", "failed to open %s: %s", o.input, strerror(errno));
		return CLI_FAIL;
	}
	rc = detect_stream(&o, in, o.input);
	fclose(in);
	return rc;
}
