/*
 * train_rl.c - train the `rl` scaling policy in the simulator on synthetic
 * demand traces and write its model file (and the compiled-in default).
 *
 * Traces: daily and weekly cycles of random level, amplitude and phase,
 * multiplicative and Poisson-like noise, bursts with ramps, level shifts
 * and a few missing samples, at 1-minute and 5-minute steps, with random
 * start-up times.  None of the real traces is used, so the benchmark
 * traces stay unseen.  Forecasts come from the real forecasting engine.
 *
 * RL_AGENTS agents, each with its own exploration seed and starting from
 * zero weights (not from the compiled-in model, so a retrain reproduces the
 * shipped model from the source alone), are trained on the same traces
 * (each epoch replays every trace with one persistent, epsilon-greedy
 * agent); the model shipped is the mean of their weights.
 * One agent's greedy choices hinge on the order its exploration happened to
 * visit states in, so single runs differ noticeably from seed to seed;
 * Q is linear in the weights, so the mean is the agents' averaged opinion
 * of every state.  The averaged model is then scored, as shipped (greedy,
 * online learning, audit), on the training traces.
 *
 * usage: train_rl [--traces N] [--epochs N] [--seed S] [--out MODEL]
 *                 [--c-out FILE.inc]
 * Defaults: 12 traces, 6 epochs, seed 1, out config/rl-policy.model.
 */
#include "policy/sim.h"

#define RL_AGENTS 4

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
	struct sim_trace tr;
	struct sim_forecast fc;
	struct sim_params sp;
};

static unsigned long long rng_state;

static double urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static double nrand(void)
{
	double u = urand() + 1e-12, v = urand();

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double uniform(double lo, double hi)
{
	return lo + (hi - lo) * urand();
}

/* Multiplicative burst profile: ramp up, hold, decay. */
static void add_bursts(double *mult, size_t n, double per_day, size_t day)
{
	size_t count = (size_t)(per_day * n / day + urand());

	for (size_t b = 0; b < count; b++) {
		size_t at = (size_t)(urand() * n), ramp = 1 + (size_t)(urand() * 10);
		size_t len = 3 + (size_t)(urand() * 60);
		double mag = uniform(0.3, 2.0);

		for (size_t k = 0; k < ramp + len && at + k < n; k++)
			mult[at + k] *= 1 + mag * (k < ramp ? (double)(k + 1) / ramp : 1.0);
	}
}

static int synth(struct sim_trace *tr, double step)
{
	size_t day = (size_t)(86400 / step), n = 7 * day;
	double base = uniform(50, 400), amp = uniform(0.2, 0.8), ph = uniform(0, 2 * M_PI);
	double wk = uniform(0.6, 1.0), noise = uniform(0.02, 0.15);
	double *mult = malloc(n * sizeof(double));

	memset(tr, 0, sizeof(*tr));
	tr->obs = malloc(n * sizeof(double));
	tr->demand = malloc(n * sizeof(double));
	if (!mult || !tr->obs || !tr->demand) {
		free(mult);
		return -1;
	}
	tr->n = n;
	tr->step_s = step;
	tr->fmt.kind = CSV_TS_UNIX;
	for (size_t i = 0; i < n; i++)
		mult[i] = 1;
	add_bursts(mult, n, uniform(0.5, 4), day);
	for (int s = (int)(urand() * 3); s > 0; s--) {
		size_t at = (size_t)(urand() * n);
		double f = uniform(0.7, 1.5);

		for (size_t i = at; i < n; i++)
			mult[i] *= f;
	}
	for (size_t i = 0; i < n; i++) {
		double d = (double)(i % day) / day, w = (i / day) % 7 >= 5 ? wk : 1;
		double v = base * w * (1 + amp * sin(2 * M_PI * d + ph)) * mult[i];

		v *= exp(noise * nrand());
		v += sqrt(fmax(v, 0)) * nrand();
		tr->demand[i] = fmax(0, v);
		tr->obs[i] = urand() < 0.005 ? NAN : tr->demand[i];
	}
	free(mult);
	return 0;
}

static int make_job(struct job *j, int k)
{
	char err[256];
	double step = k % 3 == 2 ? 300 : 60;

	j->sp = (struct sim_params){
	    .capacity = 20, .slo_ms = 500, .min_replicas = 1, .max_replicas = 200, .target = 0.7};
	j->sp.startup_s = (double[]){30, 60, 120, 300}[(int)(urand() * 4)];
	if (sim_params_check(&j->sp, err, sizeof(err)) || synth(&j->tr, step)) {
		fprintf(stderr, "train_rl: failed to make trace %d: %s\n", k, err);
		return -1;
	}
	if (sim_forecast_build(&j->tr, &j->sp, &j->fc, err, sizeof(err))) {
		fprintf(stderr, "train_rl: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Turn the saved model file into the compiled-in initialiser list: the
 * biases and weights, without the header and margin lines (rl_model.c
 * checks neither for its own default).
 */
static int write_inc(const char *model, const char *inc)
{
	FILE *in = fopen(model, "r"), *out = fopen(inc, "w");
	char line[256], margins[256];
	double v;
	int k = 0;

	if (!in || !out || !fgets(line, sizeof(line), in) || !fgets(margins, sizeof(margins), in)) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -1;
	}
	fprintf(out,
		"/* rl_default.inc - compiled-in RL weights, written by bench/train_rl "
		"from %s (%s; margins %s) */\n",
		"config/rl-policy.model", strtok(line, "\n"), strtok(margins, "\n"));
	while (fscanf(in, "%lf", &v) == 1)
		fprintf(out, "%.6g,%s", v, ++k % 8 ? " " : "\n");
	fclose(in);
	return fclose(out) ? -1 : 0;
}

/*
 * Replay every trace and print the mean violation and cost: with agent p
 * (which keeps learning across calls: one training epoch), or, with p NULL,
 * a fresh greedy agent per trace loaded from model (the model as shipped).
 */
static void score(struct policy *p, const char *model, struct job *jobs, int n,
		  const double *oracle, const char *label)
{
	double viol = 0, cost = 0;
	char err[256];

	for (int k = 0; k < n; k++) {
		struct sim_params sp = jobs[k].sp;
		struct sim_result r;
		int rc;

		sp.pp.rl_model = model;
		rc = p ? sim_run_policy(&jobs[k].tr, &jobs[k].fc, p, &sp, NULL, NULL, &r, err,
					sizeof(err))
		       : sim_run(&jobs[k].tr, &jobs[k].fc, "rl", &sp, NULL, NULL, &r, err,
				 sizeof(err));
		if (rc) {
			fprintf(stderr, "train_rl: %s\n", err);
			continue;
		}
		viol += r.slo_violation_pct / n;
		cost += r.replica_seconds / oracle[k] / n;
	}
	printf("%s: mean slo_violation_pct %.3f, mean cost_vs_oracle %.3f\n", label, viol, cost);
}

/* Reference figures: the oracle's cost and the other policies' scores. */
static void baselines(struct job *jobs, int n, double *oracle)
{
	static const char *const names[] = {"oracle", "reactive", "predictive"};
	char err[256];

	for (int i = 0; i < 3; i++) {
		double viol = 0, cost = 0;

		for (int k = 0; k < n; k++) {
			struct sim_result r;

			if (sim_run(&jobs[k].tr, &jobs[k].fc, names[i], &jobs[k].sp, NULL, NULL, &r,
				    err, sizeof(err)))
				continue;
			if (i == 0)
				oracle[k] = r.replica_seconds;
			viol += r.slo_violation_pct / n;
			cost += r.replica_seconds / oracle[k] / n;
		}
		printf("%-10s: mean slo_violation_pct %.3f, mean cost_vs_oracle %.3f\n", names[i],
		       viol, cost);
	}
}

struct train_opts {
	const char *out, *inc;
	int n, epochs;
};

static int parse_opts(int argc, char **argv, struct train_opts *o)
{
	static const struct option opts[] = {
	    {"traces", required_argument, NULL, 'n'}, {"epochs", required_argument, NULL, 'e'},
	    {"seed", required_argument, NULL, 's'},   {"out", required_argument, NULL, 'o'},
	    {"c-out", required_argument, NULL, 'c'},  {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			o->n = atoi(optarg);
		else if (c == 'e')
			o->epochs = atoi(optarg);
		else if (c == 's')
			rng_state = strtoull(optarg, NULL, 10) ? strtoull(optarg, NULL, 10) : 1;
		else if (c == 'o')
			o->out = optarg;
		else if (c == 'c')
			o->inc = optarg;
		else
			return -1;
	}
	return o->n < 1 || o->epochs < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct train_opts o = {.out = "config/rl-policy.model", .n = 12, .epochs = 6};
	struct policy *agents[RL_AGENTS] = {0}, *mean;
	struct job *jobs;
	double *oracle;
	int rc = 0, n;

	rng_state = 1;
	if (parse_opts(argc, argv, &o)) {
		fprintf(stderr, "usage: train_rl [--traces N] [--epochs N] [--seed S] "
				"[--out MODEL] [--c-out FILE.inc]\n");
		return 2;
	}
	n = o.n;
	jobs = calloc(n, sizeof(*jobs));
	oracle = calloc(n, sizeof(double));
	mean = policy_new("rl", NULL);
	if (!jobs || !oracle || !mean) {
		rc = 1;
		goto out;
	}
	for (int k = 0; k < n; k++)
		if (make_job(&jobs[k], k)) {
			rc = 1;
			goto out;
		}
	baselines(jobs, n, oracle);
	for (int a = 0; a < RL_AGENTS; a++) {
		/* Exploration seeds 7, 8, ...: seed 7 is the single agent of
		 * earlier trainers. */
		struct policy_params pp = {.rl_train = true, .seed = 7 + a};
		char label[64];

		agents[a] = policy_new("rl", &pp);
		if (!agents[a] || policy_rl_clear(agents[a])) {
			rc = 1;
			goto out;
		}
		for (int e = 0; e < o.epochs; e++) {
			snprintf(label, sizeof(label), "agent %d epoch %d", a, e);
			score(agents[a], NULL, jobs, n, oracle, label);
		}
	}
	if (policy_rl_average(mean, agents, RL_AGENTS) || policy_rl_save(mean, o.out) ||
	    (o.inc && write_inc(o.out, o.inc))) {
		fprintf(stderr, "train_rl: failed to write %s\n", o.out);
		rc = 1;
	} else {
		char label[64];

		snprintf(label, sizeof(label), "rl (mean of %d agents, as shipped)", RL_AGENTS);
		score(NULL, o.out, jobs, n, oracle, label);
	}
out:
	for (int k = 0; jobs && k < n; k++) {
		sim_trace_free(&jobs[k].tr);
		sim_forecast_free(&jobs[k].fc);
	}
	for (int a = 0; a < RL_AGENTS; a++)
		policy_free(agents[a]);
	policy_free(mean);
	free(jobs);
	free(oracle);
	return rc;
}
