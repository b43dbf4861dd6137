/*
 * cmd_sim.c - `presage sim`: backtest scaling policies on a demand trace.
 *
 * presage sim --trace F.csv --policy reactive|predictive|rl|oracle|all
 *             [--capacity R] [--startup S] [--slo-ms MS] [--step S] [--scale X]
 *             [--min N] [--max N] [--target U] [--decisions-out F.csv]
 *             [-o json|table]
 * Hidden tuning options: --model NAME (forecaster, default ensemble),
 * --coverage C (forecast interval, default 0.95), --rl-model PATH, --timing
 * (print forecasting and simulation times on stderr).
 *
 * The simulator's model is in user/policy/sim.h and docs/scaling.md.  The
 * oracle always runs (it is the cost reference of cost_vs_oracle).
 */
#include "cli.h"
#include "common/log.h"
#include "io/csv.h"
#include "policy/sim.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_POLICIES 4

static const char *const all_policies[N_POLICIES] = {"reactive", "predictive", "rl", "oracle"};

struct sim_opts {
	const char *trace, *policy, *decisions, *output;
	bool timing;
	struct sim_params sp;
};

struct dec_out {
	FILE *f;
	const struct sim_trace *tr;
	const char *policy; /* non-NULL: leading policy column */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: presage sim --trace F.csv --policy reactive|predictive|rl|oracle|all\n"
	    "         [--capacity REQ_PER_S] [--startup SECONDS] [--slo-ms MS] [--step SECONDS]\n"
	    "         [--scale X] [--min N] [--max N] [--target UTIL]\n"
	    "         [--decisions-out F.csv] [-o json|table]\n");
}

static int num_opt(const char *name, const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*v)) {
		cli_err("sim", "--%s: not a number: %s", name, s);
		return -1;
	}
	return 0;
}

static int int_opt(const char *name, const char *s, int *v)
{
	double d;

	if (num_opt(name, s, &d))
		return -1;
	if (d != floor(d) || d < -1e9 || d > 1e9) {
		cli_err("sim", "--%s: not an integer: %s", name, s);
		return -1;
	}
	*v = (int)d;
	return 0;
}

static int parse_one(int c, struct sim_opts *o)
{
	struct sim_params *sp = &o->sp;

	switch (c) {
	case 't':
		o->trace = optarg;
		return 0;
	case 'p':
		o->policy = optarg;
		return 0;
	case 'c':
		return num_opt("capacity", optarg, &sp->capacity);
	case 'u':
		return num_opt("startup", optarg, &sp->startup_s);
	case 'l':
		return num_opt("slo-ms", optarg, &sp->slo_ms);
	case 's':
		return num_opt("step", optarg, &sp->step_s);
	case 'x':
		return num_opt("scale", optarg, &sp->scale);
	case 'm':
		return int_opt("min", optarg, &sp->min_replicas);
	case 'M':
		return int_opt("max", optarg, &sp->max_replicas);
	case 'g':
		return num_opt("target", optarg, &sp->target);
	case 'd':
		o->decisions = optarg;
		return 0;
	case 'o':
		o->output = optarg;
		return 0;
	case 'F':
		sp->model = optarg;
		return 0;
	case 'C':
		return num_opt("coverage", optarg, &sp->coverage);
	case 'R':
		sp->pp.rl_model = optarg;
		return 0;
	case 'T':
		o->timing = true;
		return 0;
	default:
		return -1;
	}
}

static int parse(int argc, char **argv, struct sim_opts *o)
{
	static const struct option opts[] = {
	    {"trace", required_argument, NULL, 't'},
	    {"policy", required_argument, NULL, 'p'},
	    {"capacity", required_argument, NULL, 'c'},
	    {"startup", required_argument, NULL, 'u'},
	    {"slo-ms", required_argument, NULL, 'l'},
	    {"step", required_argument, NULL, 's'},
	    {"scale", required_argument, NULL, 'x'},
	    {"min", required_argument, NULL, 'm'},
	    {"max", required_argument, NULL, 'M'},
	    {"target", required_argument, NULL, 'g'},
	    {"decisions-out", required_argument, NULL, 'd'},
	    {"output", required_argument, NULL, 'o'},
	    {"model", required_argument, NULL, 'F'},
	    {"coverage", required_argument, NULL, 'C'},
	    {"rl-model", required_argument, NULL, 'R'},
	    {"timing", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (parse_one(c, o)) {
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || !o->trace) {
		cli_err("sim", optind < argc ? "unexpected argument: %s" : "--trace is required",
			optind < argc ? argv[optind] : "");
		return -1;
	}
	if (strcmp(o->output, "json") && strcmp(o->output, "table")) {
		cli_err("sim", "-o: unknown output format %s (json or table)", o->output);
		return -1;
	}
	if (strcmp(o->policy, "all") && !policy_lookup(o->policy)) {
		cli_err("sim",
			"--policy: unknown policy %s (reactive, predictive, rl, oracle, all)",
			o->policy);
		return -1;
	}
	return 0;
}

/* v and a comma; only the comma when v is NAN (no forecast). */
static void put_num(FILE *f, double v)
{
	if (isnan(v))
		fputc(',', f);
	else
		fprintf(f, "%.6g,", v);
}

static int write_step(void *arg, const struct sim_step *st)
{
	struct dec_out *d = arg;
	char ts[CSV_TS_MAX];
	double t = d->tr->t0 + st->i * d->tr->step_s;

	if (csv_format_ts(&d->tr->fmt, t, ts, sizeof(ts)) < 0)
		snprintf(ts, sizeof(ts), "%.0f", t);
	if (d->policy)
		fprintf(d->f, "%s,", d->policy);
	fprintf(d->f, "%s,%.6g,", ts, st->demand);
	put_num(d->f, st->forecast);
	fprintf(d->f, "%d,%d,", st->requested, st->ready);
	put_num(d->f, st->upper);
	put_num(d->f, st->wupper);
	if (isfinite(st->latency_ms))
		fprintf(d->f, "%.6g,", st->latency_ms);
	else
		fputs("inf,", d->f);
	fprintf(d->f, "%d\n", st->violated);
	return ferror(d->f) ? -EIO : 0;
}

static void json_num(const char *key, double v, int prec, bool last)
{
	if (isfinite(v))
		printf("\"%s\": %.*f%s", key, prec, v, last ? "" : ", ");
	else
		printf("\"%s\": null%s", key, last ? "" : ", ");
}

static void print_json(const struct sim_result *r, int n)
{
	printf("[");
	for (int i = 0; i < n; i++) {
		printf("%s\n  {\"policy\": \"%s\", ", i ? "," : "", r[i].policy);
		json_num("slo_violation_pct", r[i].slo_violation_pct, 3, false);
		json_num("replica_seconds", r[i].replica_seconds, 0, false);
		json_num("cost_vs_oracle", r[i].cost_vs_oracle, 4, false);
		printf("\"actions\": %ld, ", r[i].actions);
		json_num("p95_latency_ms", r[i].p95_latency_ms, 2, true);
		printf("}");
	}
	printf("\n]\n");
}

static void print_table(const struct sim_result *r, int n)
{
	printf("%-11s %17s %15s %14s %8s %14s\n", "policy", "slo_violation_pct", "replica_seconds",
	       "cost_vs_oracle", "actions", "p95_latency_ms");
	for (int i = 0; i < n; i++)
		printf("%-11s %17.3f %15.0f %14.3f %8ld %14.1f\n", r[i].policy,
		       r[i].slo_violation_pct, r[i].replica_seconds, r[i].cost_vs_oracle,
		       r[i].actions, r[i].p95_latency_ms);
}

static int load(const struct sim_opts *o, struct sim_trace *tr)
{
	struct csv_series s;
	char err[512];
	int e = csv_load(o->trace, &s, err, sizeof(err));

	if (e) {
		cli_err("sim", "%s", err);
		return e;
	}
	e = sim_trace_from_series(&s, o->sp.step_s, o->sp.scale, tr, err, sizeof(err));
	csv_series_free(&s);
	if (e) {
		cli_err("sim", "%s: %s", o->trace, err);
		return e;
	}
	if (tr->n_missing || tr->n_negative)
		log_warn("%s: %zu of %zu steps missing (gaps or empty/NaN values), %zu negative "
			 "values treated as missing",
			 o->trace, tr->n_missing, tr->n, tr->n_negative);
	return 0;
}

/* Run the selected policies into res[0..*n) and the oracle reference into *ref. */
static int run_all(const struct sim_opts *o, const struct sim_trace *tr,
		   const struct sim_forecast *fc, FILE *dec, struct sim_result *res, int *n,
		   struct sim_result *ref)
{
	bool all = strcmp(o->policy, "all") == 0;
	struct dec_out d = {.f = dec, .tr = tr};
	char err[512];
	int k = 0;

	for (int i = 0; i < N_POLICIES; i++) {
		const char *name = all_policies[i];
		bool shown = all || strcmp(o->policy, name) == 0;
		bool oracle = strcmp(name, "oracle") == 0;
		struct sim_result *r = shown ? &res[k] : ref;
		int e;

		if (!shown && !oracle)
			continue;
		d.policy = all ? name : NULL;
		e = sim_run(tr, fc, name, &o->sp, shown && dec ? write_step : NULL, &d, r, err,
			    sizeof(err));
		if (e) {
			cli_err("sim", "policy %s: %s", name, err);
			return e;
		}
		if (shown && oracle)
			*ref = *r;
		k += shown;
	}
	for (int i = 0; i < k; i++)
		res[i].cost_vs_oracle =
		    ref->replica_seconds > 0 ? res[i].replica_seconds / ref->replica_seconds : NAN;
	*n = k;
	return 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int simulate(const struct sim_opts *o)
{
	double t0, t1, t2;
	struct sim_result res[N_POLICIES], ref;
	struct sim_trace tr;
	struct sim_forecast fc = {0};
	char err[512];
	FILE *dec = NULL;
	int n = 0, rc = CLI_FAIL;

	if (load(o, &tr))
		return CLI_FAIL;
	t0 = mono_now();
	if (sim_forecast_build(&tr, &o->sp, &fc, err, sizeof(err))) {
		cli_err("sim", "%s", err);
		goto out;
	}
	if (o->decisions) {
		dec = fopen(o->decisions, "w");
		if (!dec) {
			cli_err("sim", "failed to open %s: %s", o->decisions, strerror(errno));
			goto out;
		}
		fprintf(dec, "%stimestamp,demand,forecast,replicas_requested,replicas_ready,"
			"forecast_upper,window_upper,latency_ms,violated\n",
			strcmp(o->policy, "all") ? "" : "policy,");
	}
	t1 = mono_now();
	if (run_all(o, &tr, &fc, dec, res, &n, &ref))
		goto out;
	t2 = mono_now();
	if (o->timing)
		fprintf(stderr, "timing: %zu steps, forecasting %.3f s, %d policies %.3f s\n", tr.n,
			t1 - t0, n + (n < N_POLICIES && strcmp(o->policy, "oracle") != 0), t2 - t1);
	if (dec && fclose(dec)) {
		dec = NULL;
		cli_err("sim", "failed to write %s: %s", o->decisions, strerror(errno));
		goto out;
	}
	dec = NULL;
	if (strcmp(o->output, "json") == 0)
		print_json(res, n);
	else
		print_table(res, n);
	rc = CLI_OK;
out:
	if (dec)
		fclose(dec);
	sim_forecast_free(&fc);
	sim_trace_free(&tr);
	return rc;
}

int cmd_sim(int argc, char **argv)
{
	struct sim_opts o = {
	    .policy = "all",
	    .output = "table",
	    .sp = {.capacity = 10,
		   .startup_s = 60,
		   .slo_ms = 500,
		   .scale = 1,
		   .min_replicas = 1,
		   .max_replicas = 100,
		   .target = 0.7},
	};
	char err[512];
	int e = parse(argc, argv, &o);

	if (e)
		return e > 0 ? CLI_OK : CLI_USAGE;
	if (sim_params_check(&o.sp, err, sizeof(err))) {
		cli_err("sim", "%s", err);
		return CLI_USAGE;
	}
	return simulate(&o);
}
