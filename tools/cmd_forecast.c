/*
 * cmd_forecast.c - `presage forecast`: offline forecasts of a CSV series
 * (--input), optionally replayed row by row (--online), and the live form
 * `presage forecast NAME|ID` answered by presaged.
 *
 * Offline: the whole series is learnt online by the chosen model (missing
 * steps of gaps are fed as missing, never invented), then the H steps after
 * the last row are written as `timestamp,forecast,lower,upper`, future
 * timestamps in the input's own format.  --online writes, per input row,
 * `timestamp,value,forecast_h1,forecast_hH,lower_hH,upper_hH`, each forecast
 * made from the rows up to and including that row.
 */
#include "cli.h"
#include "ctl_client.h"
#include "io/csv.h"
#include "model/fcast.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP_FILL_MAX FCAST_HIST_MAX /* longer gaps are fed as this many missing steps */

struct fc_opts {
	const char *input, *model, *horizon;
	double coverage;
	int season, online;
};

static void fc_usage(FILE *f)
{
	fprintf(f,
		"usage: presage forecast --input F.csv --horizon H [--online] [-o csv]\n"
		"                        [--model NAME] [--coverage C] [--season auto|N]\n"
		"       presage forecast NAME|ID [--metric M] [--horizon DUR]\n"
		"  H: steps (12) or a duration (90s, 5m, 1h, 1d) converted with the series step\n"
		"  NAME: snaive|ewma|holt_winters|arima|rnn|direct|ensemble (default ensemble)\n"
		"  --input - reads stdin\n");
}

/* Horizon text to steps: bare integer = steps, suffix s/m/h/d = duration. */
static int parse_horizon(const char *s, double step, long *out)
{
	char *end;
	double v, mult = 0;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v > 0))
		return -EINVAL;
	if (!*end) {
		if (v != floor(v) || v > 1e6)
			return -EINVAL;
		*out = (long)v;
		return 0;
	}
	if (end[1])
		return -EINVAL;
	mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
	if (!mult || !(step > 0))
		return -EINVAL;
	v = ceil(v * mult / step - 1e-9);
	if (!(v <= 1000000)) /* tested before the cast: a long cannot hold 1e300 */
		return -EINVAL;
	*out = v < 1 ? 1 : (long)v;
	return 0;
}

/* "auto" = 0, "N" >= 1; -EINVAL otherwise. */
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

static void print_num(FILE *o, double v)
{
	fprintf(o, ",%.10g", v);
}

/* Feed row i of s (after the gap before it) to f. */
static void feed_row(struct fcast *f, const struct csv_series *s, size_t i)
{
	long gap = i ? csv_gap_steps(s->t[i - 1], s->t[i], s->step, GAP_FILL_MAX) : 0;

	while (gap-- > 0)
		fcast_update(f, NAN);
	fcast_update(f, s->v[i]);
}

static struct fcast *make_model(const struct fc_opts *o, double step, long h)
{
	struct fcast_params p = {
	    .season = o->season,
	    .max_horizon = h < FCAST_MAX_H ? (int)h : FCAST_MAX_H,
	    .step_s = step,
	    .coverage = o->coverage,
	};
	struct fcast *f = fcast_new(o->model, &p);

	if (!f)
		cli_err("forecast", "failed to create model %s: %s", o->model, strerror(errno));
	return f;
}

static int write_future(struct fcast *f, const struct csv_series *s, double step, long h,
			double coverage)
{
	struct fcast_point *pt = calloc((size_t)h, sizeof(*pt));
	char ts[64];

	if (!pt || fcast_forecast(f, (int)h, coverage, pt)) {
		free(pt);
		cli_err("forecast", "failed to forecast: %s", strerror(ENOMEM));
		return CLI_FAIL;
	}
	printf("timestamp,forecast,lower,upper\n");
	for (long i = 0; i < h; i++) {
		if (csv_format_ts(&s->fmt, s->t[s->n - 1] + (double)(i + 1) * step, ts,
				  sizeof(ts)) < 0) {
			free(pt);
			cli_err("forecast", "timestamp %ld steps ahead is out of range", i + 1);
			return CLI_FAIL;
		}
		printf("%s", ts);
		print_num(stdout, pt[i].point);
		print_num(stdout, pt[i].lower);
		print_num(stdout, pt[i].upper);
		putchar('\n');
	}
	free(pt);
	return CLI_OK;
}

static int write_online_row(struct fcast *f, const struct csv_series *s, size_t i, long h,
			    double coverage, struct fcast_point *pt)
{
	if (fcast_forecast(f, (int)h, coverage, pt))
		return -ENOMEM;
	printf("%s,", s->ts[i]);
	if (isfinite(s->v[i]))
		printf("%.10g", s->v[i]);
	print_num(stdout, pt[0].point);
	print_num(stdout, pt[h - 1].point);
	print_num(stdout, pt[h - 1].lower);
	print_num(stdout, pt[h - 1].upper);
	putchar('\n');
	return 0;
}

static int forecast_offline(const struct fc_opts *o)
{
	struct csv_series s;
	struct fcast *f = NULL;
	struct fcast_point *pt = NULL;
	char err[512];
	double step;
	long h;
	int rc = CLI_FAIL;

	if (csv_load(o->input, &s, err, sizeof(err))) {
		cli_err("forecast", "%s", err);
		return CLI_FAIL;
	}
	step = s.step;
	if (!(step > 0)) {
		step = 60; /* one row: no interval to learn the step from */
		fprintf(stderr, "presage: forecast: %s has one row, assuming a 60 s step\n",
			strcmp(o->input, "-") ? o->input : "<stdin>");
	}
	if (parse_horizon(o->horizon, step, &h)) {
		cli_err("forecast", "bad --horizon '%s': steps (12) or a duration (90s, 5m, 1h)",
			o->horizon);
		csv_series_free(&s);
		return CLI_USAGE;
	}
	f = make_model(o, step, h);
	pt = calloc((size_t)h, sizeof(*pt));
	if (!f || !pt)
		goto out;
	if (o->online)
		printf("timestamp,value,forecast_h1,forecast_h%ld,lower_h%ld,upper_h%ld\n", h, h,
		       h);
	for (size_t i = 0; i < s.n; i++) {
		feed_row(f, &s, i);
		if (o->online && write_online_row(f, &s, i, h, o->coverage, pt)) {
			cli_err("forecast", "failed to forecast row %zu: out of memory", i + 1);
			goto out;
		}
	}
	rc = o->online ? CLI_OK : write_future(f, &s, step, h, o->coverage);
	if (fflush(stdout) || ferror(stdout)) {
		cli_err("forecast", "failed to write output: %s", strerror(errno));
		rc = CLI_FAIL;
	}
out:
	free(pt);
	fcast_free(f);
	csv_series_free(&s);
	return rc;
}

/* Live horizon: "12" is steps, "90s"/"5m"/"1h"/"1d" a duration; 0 or -1. */
static int live_horizon(const char *text, cJSON *args)
{
	static const struct { char unit; double s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char *end;
	double v = strtod(text, &end);

	if (end == text || !(v > 0) || !isfinite(v))
		return -1;
	if (!*end) {
		cJSON_AddNumberToObject(args, "horizon_steps", v);
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (end[0] == units[i].unit && !end[1]) {
			cJSON_AddNumberToObject(args, "horizon_seconds", v * units[i].s);
			return 0;
		}
	}
	return -1;
}

static void live_print(const cJSON *d, const char *fmt)
{
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(d, "points"), *p;
	char when[32];

	if (fmt && !strcmp(fmt, "json")) {
		cli_print_json(d);
		return;
	}
	if (fmt && !strcmp(fmt, "csv")) {
		printf("timestamp,forecast,lower,upper\n");
		cJSON_ArrayForEach(p, pts)
			printf("%.0f,%.6g,%.6g,%.6g\n", cli_num(p, "timestamp"), cli_num(p, "forecast"),
			       cli_num(p, "lower"), cli_num(p, "upper"));
		return;
	}
	printf("%s %s, step %gs, %.0f%% interval (last %.6g)\n", cli_str(d, "group"),
	       cli_str(d, "metric"), cli_num(d, "step_seconds"), 100 * cli_num(d, "coverage"),
	       cli_num(d, "last"));
	printf("%-20s %12s %12s %12s\n", "TIME", "FORECAST", "LOWER", "UPPER");
	cJSON_ArrayForEach(p, pts)
		printf("%-20s %12.4g %12.4g %12.4g\n", cli_time(cli_num(p, "timestamp"), when,
								 sizeof(when)),
		       cli_num(p, "forecast"), cli_num(p, "lower"), cli_num(p, "upper"));
}

/*
 * Live form: `presage forecast NAME|ID [--metric M] [--horizon H] [-o
 * table|json|csv]` asks presaged over the control socket for the forecast of
 * the container's group (its service, else itself).
 */
static int forecast_live(const char *target, const char *metric, const char *horizon,
			 const char *fmt)
{
	cJSON *args = cJSON_CreateObject(), *data = NULL;
	int rc;

	if (fmt && strcmp(fmt, "table") && strcmp(fmt, "json") && strcmp(fmt, "csv")) {
		cli_err("forecast", "unsupported output format '%s' (table, json or csv)", fmt);
		cJSON_Delete(args);
		return CLI_USAGE;
	}
	cJSON_AddStringToObject(args, "container", target);
	if (metric)
		cJSON_AddStringToObject(args, "metric", metric);
	if (horizon && live_horizon(horizon, args)) {
		cli_err("forecast", "bad --horizon '%s': steps (12) or a duration (90s, 5m, 1h)",
			horizon);
		cJSON_Delete(args);
		return CLI_USAGE;
	}
	rc = cli_call_once("forecast", args, &data);
	cJSON_Delete(args);
	if (rc == CLI_OK)
		live_print(data, fmt);
	cJSON_Delete(data);
	return rc;
}

/* Parse -o, --model, --coverage, --season shared checks; CLI_OK or CLI_USAGE. */
static int check_opts(struct fc_opts *o, const char *season, const char *fmt)
{
	if (fmt && strcmp(fmt, "csv")) {
		cli_err("forecast", "unsupported output format '%s' (csv)", fmt);
		return CLI_USAGE;
	}
	if (!fcast_lookup(o->model)) {
		cli_err("forecast",
			"unknown model '%s' (snaive|ewma|holt_winters|arima|rnn|direct|ensemble)",
			o->model);
		return CLI_USAGE;
	}
	if (!(o->coverage > 0 && o->coverage < 1)) {
		cli_err("forecast", "--coverage must be between 0 and 1 (e.g. 0.9)");
		return CLI_USAGE;
	}
	if (season && parse_season(season, &o->season)) {
		cli_err("forecast", "bad --season '%s': auto or a period in steps", season);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Parse the options into o (and the texts to check); -1 to go on, else an exit code. */
static int fc_parse(int argc, char **argv, struct fc_opts *o, const char **season, const char **fmt,
		    const char **metric)
{
	static const struct option opts[] = {
	    {"input", required_argument, NULL, 'i'},  {"horizon", required_argument, NULL, 'H'},
	    {"online", no_argument, NULL, 'O'},	      {"output", required_argument, NULL, 'o'},
	    {"model", required_argument, NULL, 'm'},  {"coverage", required_argument, NULL, 'c'},
	    {"season", required_argument, NULL, 's'}, {"metric", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "i:H:o:m:c:s:h", opts, NULL)) != -1) {
		if (c == 'i' || c == 'H' || c == 'o' || c == 'm' || c == 's' || c == 'M') {
			const char **dst[] = {
			    ['i'] = &o->input, ['H'] = &o->horizon, ['o'] = fmt,
			    ['m'] = &o->model, ['s'] = season,	    ['M'] = metric};

			*dst[c] = optarg;
		} else if (c == 'O') {
			o->online = 1;
		} else if (c == 'c') {
			o->coverage = strtod(optarg, &end);
			if (*end || end == optarg)
				o->coverage = -1;
		} else {
			fc_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? CLI_OK : CLI_USAGE;
		}
	}
	return -1;
}

int cmd_forecast(int argc, char **argv)
{
	struct fc_opts o = {.model = "ensemble", .coverage = 0.9};
	const char *season = NULL, *fmt = NULL, *metric = NULL;
	int rc = fc_parse(argc, argv, &o, &season, &fmt, &metric);

	if (rc >= 0)
		return rc;
	if (!o.input) {
		if (optind != argc - 1) {
			fc_usage(stderr);
			return CLI_USAGE;
		}
		return forecast_live(argv[optind], metric, o.horizon, fmt);
	}
	if (optind != argc || !o.horizon) {
		cli_err("forecast", optind != argc ? "unexpected argument '%s'" : "%s",
			optind != argc ? argv[optind] : "--horizon is required with --input");
		return CLI_USAGE;
	}
	rc = check_opts(&o, season, fmt);
	if (!rc && parse_horizon(o.horizon, 1, &(long){0})) {
		cli_err("forecast", "bad --horizon '%s': steps (12) or a duration (90s, 5m, 1h)",
			o.horizon);
		rc = CLI_USAGE;
	}
	return rc ? rc : forecast_offline(&o);
}
