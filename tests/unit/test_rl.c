/*
 * test_rl.c - the RL policy: between the HPA floor and predictive on random
 * inputs, the audit fallback (module and policy), model file layout v3
 * (round trip, rejection of version 2 and of garbage) and weight averaging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "unit/policy_fixture.h"
#include "policy/rl_audit.h"
#include "policy/rl_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int decide(struct policy *p, const struct policy_input *in, struct policy_output *out)
{
	assert_int_equal(policy_decide(p, in, out), 0);
	return out->replicas;
}

static double pick(unsigned int *seed)
{
	return pick_adversarial(seed, 500);
}

/* A temporary file holding text; the caller unlinks path. */
static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A v3 model whose only non-zero value is the bias of action a. */
static void write_biased_model(char *path, int a, double bias)
{
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "presage-rl 3 %d %d %d %d\n", RL_ACTIONS, RL_FEATURES, RL_TILINGS, RL_TILES);
	for (int i = 0; i < RL_ACTIONS; i++)
		fprintf(f, "%g ", rl_margin[i]);
	fputc('\n', f);
	for (int i = 0; i < RL_ACTIONS; i++)
		fprintf(f, "%g ", i == a ? bias : 0.0);
	for (int i = 0; i < RL_NW; i++)
		fputs("0 ", f);
	assert_int_equal(fclose(f), 0);
}

/*
 * Random and adversarial inputs: rl never asks for more than predictive on
 * the same input, and never for less than the raw HPA recommendation
 * (within the bounds), whatever state its learning and audit are in.  Run
 * for the agent as shipped and for one exploring at random (training mode,
 * epsilon 1: every margin, and the audit never overrules it).
 */
static void test_rl_between_floor_and_predictive(void **state)
{
	const struct policy_params pps[] = {{0}, {.rl_train = true, .rl_epsilon = 1.0, .seed = 3}};

	for (int c = 0; c < 2; c++) {
		struct policy *rl = policy_new("rl", &pps[c]);
		struct policy *pred = policy_new("predictive", NULL);
		unsigned int seed = 7;
		int cheaper = 0;

		assert_non_null(rl);
		assert_non_null(pred);
		for (int k = 0; k < 20000; k++) {
			struct policy_input in = base_input(1 + rand_r(&seed) % 40, pick(&seed));
			struct policy_output o_rl, o_pred;
			int raw;

			in.now += k * 15;
			set_fc(&in, pick(&seed), pick(&seed), pick(&seed));
			in.fc_window.point = pick(&seed);
			in.fc_window.upper = pick(&seed);
			in.fc.valid = rand_r(&seed) % 8 != 0;
			in.demand = rand_r(&seed) % 4 ? in.demand : pick(&seed);
			in.demand_peak = rand_r(&seed) % 2 ? 0 : fabs(pick(&seed));
			in.latency_p95_ms = pick(&seed);
			in.backlog = rand_r(&seed) % 10 ? 0 : 5;
			decide(rl, &in, &o_rl);
			decide(pred, &in, &o_pred);
			assert_true(o_rl.replicas <= o_pred.replicas);
			cheaper += o_rl.replicas < o_pred.replicas;
			raw = policy_hpa_raw(&in);
			if (raw >= 0) {
				int floor = raw < 1 ? 1 : raw > 50 ? 50 : raw;

				assert_true(o_rl.replicas >= floor);
			}
			assert_true(o_rl.replicas >= 1 && o_rl.replicas <= 50);
		}
		/* The agent did save, so the comparison was not vacuous. */
		print_message("rl (%s) below predictive on %d of 20000 inputs\n",
			      c ? "exploring" : "as shipped", cheaper);
		assert_true(cheaper > (c ? 100 : 0));
		policy_free(rl);
		policy_free(pred);
	}
}

static void test_audit_module(void **state)
{
	struct rl_audit a;

	rl_audit_init(&a);
	assert_false(rl_audit_fallback(&a));
	/* Misses below the bound keep the agent's choices... */
	for (int i = 0; i < RL_AUDIT_MISSES - 1; i++)
		rl_audit_record(&a, true, false);
	assert_false(rl_audit_fallback(&a));
	/* ... the bound trips the fallback, */
	rl_audit_record(&a, true, false);
	assert_true(rl_audit_fallback(&a));
	assert_int_equal(a.trips, 1);
	/* which holds until a window of clean proposals. */
	for (int i = 0; i < RL_AUDIT_WINDOW - 1; i++)
		rl_audit_record(&a, false, false);
	assert_true(rl_audit_fallback(&a));
	rl_audit_record(&a, false, false);
	assert_false(rl_audit_fallback(&a));
	/* One violation after a saving trips it; the second trip needs two
	 * clean windows. */
	rl_audit_record(&a, false, true);
	assert_true(rl_audit_fallback(&a));
	assert_int_equal(a.trips, 2);
	for (int i = 0; i < 2 * RL_AUDIT_WINDOW - 1; i++)
		rl_audit_record(&a, false, false);
	assert_true(rl_audit_fallback(&a));
	rl_audit_record(&a, false, false);
	assert_false(rl_audit_fallback(&a));
	/* The backoff is bounded. */
	for (int t = 0; t < 10; t++) {
		rl_audit_record(&a, false, true);
		for (long i = 0; i < ((long)RL_AUDIT_WINDOW << RL_AUDIT_BACKOFF_MAX); i++)
			rl_audit_record(&a, false, false);
		assert_false(rl_audit_fallback(&a));
	}
}

/*
 * An agent that always takes the cheapest margin: violations after its
 * savings make it return predictive's decision (z = 1.0), and it is let go
 * again after a clean window.
 */
static void test_audit_fallback_policy(void **state)
{
	char path[] = "/tmp/test_rl_biased_XXXXXX";
	struct policy_params pp = {.rl_model = path};
	struct policy *rl, *pred = policy_new("predictive", NULL);
	struct policy_input in = base_input(4, 0.7);
	struct policy_output o_rl, o_pred;

	write_biased_model(path, 0, 100);
	rl = policy_new("rl", &pp);
	unlink(path);
	assert_non_null(rl);
	assert_non_null(pred);
	/* Demand 28 req/s, forecast 30 (20..60): predictive provisions for 60,
	 * the agent for 45. */
	set_fc(&in, 30, 20, 60);
	decide(rl, &in, &o_rl);
	decide(pred, &in, &o_pred);
	assert_true(o_rl.replicas < o_pred.replicas);
	assert_non_null(strstr(o_rl.reason, "rl: margin 0.5"));
	/* Violations (p95 over the SLO) while its savings are in force. */
	in.latency_p95_ms = 900;
	for (int k = 0; k < 5; k++) {
		in.now += in.step_s;
		decide(rl, &in, &o_rl);
	}
	decide(pred, &in, &o_pred);
	assert_int_equal(o_rl.replicas, o_pred.replicas);
	assert_non_null(strstr(o_rl.reason, "audit fallback to margin 1.0"));
	/* Clean steps: still overruled until a whole window is clean. */
	in.latency_p95_ms = 200;
	for (int k = 0; k < RL_AUDIT_WINDOW - 10; k++) {
		in.now += in.step_s;
		decide(rl, &in, &o_rl);
		assert_int_equal(o_rl.replicas, o_pred.replicas);
	}
	for (int k = 0; k < 20; k++) {
		in.now += in.step_s;
		decide(rl, &in, &o_rl);
	}
	assert_true(o_rl.replicas < o_pred.replicas);
	assert_non_null(strstr(o_rl.reason, "rl: margin 0.5"));
	policy_free(rl);
	policy_free(pred);
}

static void test_model_v3_roundtrip(void **state)
{
	char path[] = "/tmp/test_rl_model_XXXXXX";
	struct policy_params pp = {.rl_model = path};
	struct policy *a = policy_new("rl", NULL), *b, *mean;
	struct policy_input in = base_input(4, 0.9);
	struct policy_output oa, ob;
	char line[64];
	FILE *f;

	write_file(path, "");
	assert_int_equal(policy_rl_save(a, path), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "presage-rl 3 5 6 4 8\n");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "0.5 0.625 0.75 0.875 1\n");
	fclose(f);
	b = policy_new("rl", &pp);
	assert_non_null(b);
	set_fc(&in, 50, 30, 70);
	decide(a, &in, &oa);
	decide(b, &in, &ob);
	assert_int_equal(oa.replicas, ob.replicas);
	assert_string_equal(oa.reason, ob.reason);
	/* The last decision is kept for explain. */
	assert_true(policy_last(b, &in, &ob));
	assert_int_equal(in.replicas_requested, 4);
	assert_int_equal(ob.replicas, oa.replicas);
	/* The mean of one agent is that agent; non-rl policies are refused. */
	mean = policy_new("rl", NULL);
	assert_int_equal(policy_rl_average(mean, &b, 1), 0);
	assert_int_equal(policy_rl_save(mean, path), 0);
	policy_free(b);
	b = policy_new("rl", &pp);
	assert_non_null(b);
	in = base_input(4, 0.9);
	set_fc(&in, 50, 30, 70);
	decide(a, &in, &oa);
	decide(b, &in, &ob);
	assert_int_equal(oa.replicas, ob.replicas);
	policy_free(b);
	/* Cleared weights (the trainer's start) save as zeros. */
	assert_int_equal(policy_rl_clear(mean), 0);
	assert_int_equal(policy_rl_save(mean, path), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "0 0 0 0 0\n");
	fclose(f);
	b = policy_new("predictive", NULL);
	assert_int_equal(policy_rl_clear(b), -EINVAL);
	assert_int_equal(policy_rl_average(mean, &b, 1), -EINVAL);
	assert_int_equal(policy_rl_average(b, &a, 1), -EINVAL);
	assert_int_equal(policy_rl_average(mean, &a, 0), -EINVAL);
	unlink(path);
	assert_int_equal(policy_rl_save(a, "/nonexistent-dir/x"), -ENOENT);
	assert_int_equal(policy_rl_save(b, path), -EINVAL);
	policy_free(a);
	policy_free(b);
	policy_free(mean);
}

/* Version 2 files, garbage, other margins, cut or padded files: refused. */
static void test_model_rejected(void **state)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
	    {"presage-rl 2 5 6 4 8\n-0.7 -0.4 -0.5 -0.5 -0.5\n0 0 0\n", ENOMSG},
	    {"presage-rl 4 5 6 4 8\n", ENOMSG},
	    {"", EBADMSG},
	    {"presage-rl", EBADMSG},
	    {"\x7f"
	     "ELF\x02\x01\x01",
	     EBADMSG},
	    {"presage-rl 3 5 6 4 8\n0.5 0.625 0.75 0.875 1\n1 2 3\n", EBADMSG},
	    {"presage-rl 3 5 6 4 8\n0 0.5 1 1.5 2\n", EBADMSG},
	    {"presage-rl 3 3 4 5 6\n", EBADMSG},
	    {"presage-rl 3 5 6 4 8\n0.5 0.625 0.75 nan 1\n", EBADMSG},
	};
	char path[] = "/tmp/test_rl_bad_XXXXXX";
	struct policy_params pp = {.rl_model = path};
	struct policy *good = policy_new("rl", NULL);
	FILE *f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(path, "/tmp/test_rl_bad_XXXXXX");
		write_file(path, bad[i].text);
		errno = 0;
		assert_null(policy_new("rl", &pp));
		assert_int_equal(errno, bad[i].err);
		unlink(path);
	}
	assert_non_null(strstr(policy_rl_strerror(ENOMSG), "version 3"));
	assert_non_null(strstr(policy_rl_strerror(-EBADMSG), "not a valid presage-rl"));
	/* A valid file followed by anything but white space is garbled too. */
	strcpy(path, "/tmp/test_rl_bad_XXXXXX");
	write_file(path, "");
	assert_int_equal(policy_rl_save(good, path), 0);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("\n\t \n", f);
	fclose(f);
	struct policy *ok = policy_new("rl", &pp);

	assert_non_null(ok);
	policy_free(ok);
	f = fopen(path, "a");
	fputs("7\n", f);
	fclose(f);
	assert_null(policy_new("rl", &pp));
	assert_int_equal(errno, EBADMSG);
	unlink(path);
	/* Missing file: the open error. */
	assert_null(policy_new("rl", &pp));
	assert_int_equal(errno, ENOENT);
	policy_free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rl_between_floor_and_predictive),
	    cmocka_unit_test(test_audit_module),
	    cmocka_unit_test(test_audit_fallback_policy),
	    cmocka_unit_test(test_model_v3_roundtrip),
	    cmocka_unit_test(test_model_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
