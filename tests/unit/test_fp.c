/*
 * test_fp.c - behavioural fingerprints and the live profile API: features
 * with known answers, similarity, persistence, profile state files (atomic,
 * versioned: another version is ignored) and cold start from the closest
 * known fingerprint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/state.h"
#include "model/fp.h"
#include "model/profile.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/presage-test-fp-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return state_dir_init(dir);
}

static int teardown(void **state)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* CPU with a daily cycle (1-minute steps), requests proportional to it. */
static void make_series(double *cpu, double *req, double *mem, int n, double amp, double growth)
{
	for (int t = 0; t < n; t++) {
		cpu[t] = 1 + amp * sin(2 * M_PI * t / 1440.0);
		req[t] = 100 * cpu[t];
		mem[t] = 1e9 * (1 + growth * t / 1440.0);
	}
}

static void test_features(void **state)
{
	static double cpu[4320], req[4320], mem[4320];
	struct fp_series s[3];
	struct fp f;

	make_series(cpu, req, mem, 4320, 0.5, 0.1);
	s[0] = (struct fp_series){
	    .role = FP_ROLE_CPU, .x = cpu, .n = 4320, .periods = {1440}, .strength = {0.9}};
	s[1] = (struct fp_series){.role = FP_ROLE_REQ, .x = req, .n = 4320};
	s[2] = (struct fp_series){.role = FP_ROLE_MEM, .x = mem, .n = 4320};
	fp_compute(&f, s, 3, 60);
	assert_true(f.v[FP_PERIOD1] == 86400);
	assert_true(fabs(f.v[FP_UTIL_P50] - 1) < 0.01);
	assert_true(fabs(f.v[FP_CPU_PER_REQ] - 0.01) < 1e-6);
	assert_true(fabs(f.v[FP_MEM_GROWTH] - 0.1 / 1.15) < 0.01); /* per day, of the mean */
	assert_true(fabs(f.v[FP_REQ_RATE] - 100) < 0.5);
	assert_true(f.present & (1u << FP_CPU_PER_REQ));
	assert_false(f.present & (1u << FP_IO_INTENSITY)); /* no I/O metric */
	assert_false(f.present & (1u << FP_LATENCY_SENS));
	for (int i = 0; i < FP_DIM; i++)
		assert_true(isfinite(f.v[i]));
	assert_true(fabs(fp_similarity(&f, &f) - 1) < 1e-12);
}

static void test_similarity_and_closest(void **state)
{
	static double cpu[3][2880], req[3][2880], mem[3][2880];
	const double amp[3] = {0.5, 0.55, 0.05}, growth[3] = {0, 0, 2};
	struct fp f[3];

	for (int k = 0; k < 3; k++) {
		struct fp_series s[3] = {
		    {.role = FP_ROLE_CPU,
		     .x = cpu[k],
		     .n = 2880,
		     .periods = {k == 2 ? 0 : 1440},
		     .strength = {0.8}},
		    {.role = FP_ROLE_REQ, .x = req[k], .n = 2880},
		    {.role = FP_ROLE_MEM, .x = mem[k], .n = 2880},
		};

		make_series(cpu[k], req[k], mem[k], 2880, amp[k], growth[k]);
		if (k == 2)
			for (int t = 0; t < 2880; t++)
				req[k][t] = 1; /* CPU-heavy, few requests */
		fp_compute(&f[k], s, 3, 60);
	}
	assert_true(fp_similarity(&f[0], &f[1]) > fp_similarity(&f[0], &f[2]));
	assert_true(fp_similarity(&f[0], &f[1]) > 0.9);
	assert_int_equal(fp_closest(&f[1], f, 3), 1);
	assert_int_equal(fp_closest(&f[2], f, 2),
			 1 - (fp_similarity(&f[2], &f[0]) > fp_similarity(&f[2], &f[1])));
	f[2].samples = 99999;
	assert_int_equal(fp_closest(NULL, f, 3), 2);
	assert_int_equal(fp_closest(NULL, f, 0), -1);
}

static void test_fp_file(void **state)
{
	struct fp a = {.present = 3, .samples = 42}, b;
	char path[512];
	FILE *fh;

	a.v[0] = 86400;
	a.v[1] = 0.5;
	snprintf(path, sizeof(path), "%s/fingerprints/x.fp", dir);
	assert_int_equal(fp_save(&a, path), 0);
	assert_int_equal(fp_load(path, &b), 0);
	assert_memory_equal(a.v, b.v, sizeof(a.v));
	assert_int_equal(a.present, b.present);
	assert_int_equal(a.samples, b.samples);
	fh = fopen(path, "r+");
	fseek(fh, 4, SEEK_SET);
	fputc(99, fh); /* another version */
	fclose(fh);
	assert_int_equal(fp_load(path, &b), -ENOMSG);
	assert_int_equal(fp_load("/nonexistent/x.fp", &b), -ENOENT);
}

static const struct profile_metric metrics[] = {
    {"cpu_usage_seconds_total", FP_ROLE_CPU},
    {"requests_total", FP_ROLE_REQ},
};

static struct profile *feed(int n, double amp, uint64_t seed)
{
	struct profile_params pp = {
	    .n_metrics = 2, .metrics = metrics, .max_horizon = 10, .model = "holt_winters"};
	struct profile *p = profile_new(&pp);
	double v[2];

	assert_non_null(p);
	for (int t = 0; t < n; t++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		v[0] =
		    1 + amp * sin(2 * M_PI * t / 120.0) + (double)(seed >> 40) / (1 << 24) * 0.01;
		v[1] = t == 50 ? NAN : 100 * v[0];
		assert_int_equal(profile_update(p, v), 0);
	}
	return p;
}

static void test_profile_roundtrip(void **state)
{
	struct profile_params pp = {
	    .n_metrics = 2, .metrics = metrics, .max_horizon = 10, .model = "holt_winters"};
	struct profile *a = feed(600, 0.5, 1), *b;
	struct fcast_point fa[10], fb[10];
	char path[512];
	FILE *fh;

	snprintf(path, sizeof(path), "%s/models/svc.model", dir);
	assert_int_equal(profile_save(a, path), 0);
	b = profile_load(path, &pp);
	assert_non_null(b);
	assert_int_equal(profile_steps(b), 600);
	assert_int_equal(profile_forecast(a, 1, 10, 0.9, fa), 0);
	assert_int_equal(profile_forecast(b, 1, 10, 0.9, fb), 0);
	assert_memory_equal(fa, fb, sizeof(fa));
	assert_true(profile_anomaly(a, 0) == profile_anomaly(b, 0));
	assert_true(profile_anomaly_overall(b) >= 0 && profile_anomaly_overall(b) <= 1);
	assert_int_equal(profile_forecast(a, 2, 10, 0.9, fa), -EINVAL);
	profile_free(b);
	/* A file of another version is ignored (with a warning), never trusted. */
	fh = fopen(path, "r+");
	fseek(fh, 4, SEEK_SET);
	fputc(77, fh);
	fclose(fh);
	assert_null(profile_load(path, &pp));
	assert_int_equal(errno, ENOMSG);
	/* Other parameters (another model) do not load either. */
	assert_int_equal(profile_save(a, path), 0);
	pp.model = "arima";
	assert_null(profile_load(path, &pp));
	assert_int_equal(errno, ENOMSG);
	profile_free(a);
	profile_free(NULL);
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * A 9-metric profile at the daemon's defaults stays within the documented
 * budget, and profile_memory_bytes() is what the allocator sees (checked
 * where the allocator keeps statistics: not under ASan).  Learning seasons
 * only adds their state, reserved by PROFILE_SEASON_BYTES.
 */
static void test_profile_memory_budget(void **state)
{
	struct profile_metric m[9];
	struct profile_params pp = {.n_metrics = 9, .metrics = m};
	size_t h0 = heap_used(), held, acct;
	struct profile *p;
	double v[9];

	for (int i = 0; i < 9; i++)
		m[i] = (struct profile_metric){"m", i ? FP_ROLE_OTHER : FP_ROLE_CPU};
	p = profile_new(&pp);
	assert_non_null(p);
	for (int t = 0; t < 400; t++) {
		for (int i = 0; i < 9; i++)
			v[i] = (i + 1) * (2 + sin(2 * M_PI * t / 60.0)) + 0.01 * ((t * 7919 + i) % 13);
		assert_int_equal(profile_update(p, v), 0);
	}
	held = heap_used() - h0;
	acct = profile_memory_bytes(p);
	assert_true(acct + PROFILE_SEASON_BYTES(9) <= PROFILE_MEMORY_BUDGET);
	if (held > 0) /* allocator statistics available */
		assert_true(fabs((double)held - (double)acct) <= 0.05 * (double)held);
	profile_free(p);
}

/* Seasonal state appears in the accounting when seasons are learnt. */
static void test_profile_memory_seasons(void **state)
{
	struct profile_metric m[1] = {{"cpu", FP_ROLE_CPU}};
	struct profile_params pp = {.n_metrics = 1, .metrics = m, .step_s = 600};
	struct profile *p = profile_new(&pp);
	size_t before;

	assert_non_null(p);
	assert_int_equal(profile_update(p, (double[]){1}), 0);
	before = profile_memory_bytes(p);
	/* Daily and weekly pattern at 10-minute steps for three weeks. */
	for (int t = 1; t < 3 * 1008; t++) {
		double y = 10 + 3 * sin(2 * M_PI * t / 144.0) + ((t / 144) % 7 >= 5 ? -4 : 0);

		assert_int_equal(profile_update(p, &y), 0);
	}
	assert_true(profile_memory_bytes(p) >= before + 144 * sizeof(double));
	assert_true(profile_memory_bytes(p) <= before + (1008 + 144) * sizeof(double) + 4096);
	profile_free(p);
}

/* The ensemble's anchor-horizon state at the default horizon survives a save/load. */
static void test_profile_roundtrip_ensemble(void **state)
{
	struct profile_params pp = {.n_metrics = 2, .metrics = metrics};
	struct profile *a = profile_new(&pp), *b;
	struct fcast_point fa[60], fb[60];
	char path[512];
	double v[2];

	assert_non_null(a);
	for (int t = 0; t < 700; t++) {
		v[0] = 1 + 0.5 * sin(2 * M_PI * t / 120.0) + 0.01 * ((t * 31) % 7);
		v[1] = 100 * v[0];
		assert_int_equal(profile_update(a, v), 0);
	}
	snprintf(path, sizeof(path), "%s/models/ens.model", dir);
	assert_int_equal(profile_save(a, path), 0);
	b = profile_load(path, &pp);
	assert_non_null(b);
	assert_int_equal(profile_forecast(a, 0, 60, 0.9, fa), 0);
	assert_int_equal(profile_forecast(b, 0, 60, 0.9, fb), 0);
	assert_memory_equal(fa, fb, sizeof(fa));
	for (int t = 700; t < 720; t++) {
		v[0] = 1 + 0.5 * sin(2 * M_PI * t / 120.0);
		v[1] = 100 * v[0];
		assert_int_equal(profile_update(a, v), 0);
		assert_int_equal(profile_update(b, v), 0);
	}
	assert_int_equal(profile_forecast(a, 0, 60, 0.9, fa), 0);
	assert_int_equal(profile_forecast(b, 0, 60, 0.9, fb), 0);
	for (int j = 0; j < 60; j++)
		assert_true(isfinite(fb[j].point) && fb[j].lower <= fb[j].upper);
	profile_free(a);
	profile_free(b);
}

static void test_cold_start(void **state)
{
	struct profile *big = feed(1200, 0.5, 2), *flat = feed(300, 0.0, 3), *fresh;
	const char *keys[] = {"flat", "missing", "big"};
	struct fp fb, fc;
	char path[512];

	profile_model_path(dir, "big", path, sizeof(path));
	assert_int_equal(profile_save(big, path), 0);
	profile_fp_path(dir, "big", path, sizeof(path));
	profile_fingerprint(big, &fb);
	assert_int_equal(fp_save(&fb, path), 0);
	profile_model_path(dir, "flat", path, sizeof(path));
	assert_int_equal(profile_save(flat, path), 0);
	profile_fp_path(dir, "flat", path, sizeof(path));
	profile_fingerprint(flat, &fc);
	assert_int_equal(fp_save(&fc, path), 0);
	/* A new container with no history: the most-learnt candidate donates. */
	fresh = feed(0, 0, 4);
	assert_int_equal(profile_cold_start(fresh, dir, keys, 3), 2);
	assert_int_equal(profile_steps(fresh), 1200);
	profile_free(fresh);
	assert_int_equal(profile_cold_start(flat, dir, keys + 1, 1), -ENOENT);
	profile_free(big);
	profile_free(flat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_features),   cmocka_unit_test(test_similarity_and_closest),
	    cmocka_unit_test(test_fp_file),    cmocka_unit_test(test_profile_roundtrip),
	    cmocka_unit_test(test_cold_start), cmocka_unit_test(test_profile_memory_budget),
	    cmocka_unit_test(test_profile_memory_seasons),
	    cmocka_unit_test(test_profile_roundtrip_ensemble),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
