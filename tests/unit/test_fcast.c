/*
 * test_fcast.c - forecasting models on synthetic series with known answers:
 * a pure sine forecast almost exactly after two periods, calibrated
 * intervals on Gaussian noise, no NaN on adversarial input, versioned
 * save/load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/fcast.h"
#include "blob_fixture.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const all_models[] = {"snaive", "ewma", "holt_winters", "arima",
					 "rnn",	   "direct", "ensemble"};
#define N_MODELS (sizeof(all_models) / sizeof(all_models[0]))

static double sine(int t)
{
	return 10 + 5 * sin(2 * M_PI * t / 48.0);
}

/* Deterministic standard normal (Box-Muller on an xorshift). */
static double gauss(uint64_t *s)
{
	double u1, u2;

	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	u1 = ((*s >> 11) + 1.0) / 9007199254740993.0;
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	u2 = (*s >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Max abs error of h-step forecasts after n samples of the sine. */
static double sine_error(const char *model, int season, int n, int h)
{
	struct fcast_params p = {.season = season, .max_horizon = h, .step_s = 60};
	struct fcast *f = fcast_new(model, &p);
	struct fcast_point out[48];
	double worst = 0;

	assert_non_null(f);
	for (int t = 0; t < n; t++)
		fcast_update(f, sine(t));
	assert_int_equal(fcast_forecast(f, h, 0.9, out), 0);
	for (int j = 0; j < h; j++) {
		worst = fmax(worst, fabs(out[j].point - sine(n + j)));
		assert_true(out[j].lower <= out[j].point && out[j].point <= out[j].upper);
	}
	fcast_free(f);
	return worst;
}

static void test_sine_given_season(void **state)
{
	/* Two periods plus a few samples, season given: within 1% of the amplitude. */
	assert_true(sine_error("snaive", 48, 100, 48) < 0.05);
	assert_true(sine_error("holt_winters", 48, 100, 48) < 0.05);
	assert_true(sine_error("arima", 48, 100, 48) < 0.05);
	/* The ensemble weighs members by rolling error: it needs the errors first. */
	assert_true(sine_error("ensemble", 48, 600, 48) < 0.05);
}

static void test_sine_auto_season(void **state)
{
	/* Auto-detected: detection runs every +25% of history, so by 2.5 periods. */
	assert_true(sine_error("snaive", 0, 120, 48) < 0.05);
	assert_true(sine_error("holt_winters", 0, 120, 48) < 0.05);
	assert_true(sine_error("arima", 0, 120, 48) < 0.05);
	assert_true(sine_error("ensemble", 0, 600, 48) < 0.05);
	assert_true(sine_error("rnn", 0, 2000, 12) < 0.25); /* learnt, not exact: 5% of amplitude */
}

static void test_season_detection(void **state)
{
	double x[2000], st[2];
	int per[2];

	for (int t = 0; t < 2000; t++)
		x[t] = sin(2 * M_PI * t / 24.0) + 0.5 * sin(2 * M_PI * t / 168.0);
	assert_int_equal(season_detect(x, 2000, 500, 0, per, st, 2), 2);
	assert_int_equal(per[0], 24);
	assert_int_equal(per[1], 168);
	for (int t = 0; t < 2000; t++)
		x[t] = t % 7 == 0; /* a spike every 7 steps */
	assert_true(season_detect(x, 2000, 500, 0, per, st, 2) >= 1);
	assert_int_equal(per[0], 7);
	for (int t = 0; t < 2000; t++)
		x[t] = 3;
	assert_int_equal(season_detect(x, 2000, 500, 0, per, st, 2), 0);
}

static void test_gaussian_coverage(void **state)
{
	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast_params p = {.max_horizon = 4, .step_s = 60};
		struct fcast *f = fcast_new(all_models[m], &p);
		struct fcast_point out[4];
		uint64_t s = 0x1234567 + m;
		double y, cov = 0;
		int scored = 0;

		assert_non_null(f);
		for (int t = 0; t < 4000; t++) {
			y = 100 + gauss(&s);
			if (t >= 2000) {
				cov += y >= out[0].lower && y <= out[0].upper;
				scored++;
			}
			fcast_update(f, y);
			assert_int_equal(fcast_forecast(f, 4, 0.9, out), 0);
		}
		cov = 100 * cov / scored;
		print_message("# %s: coverage %.1f%%\n", all_models[m], cov);
		assert_true(cov >= 87 && cov <= 93);
		fcast_free(f);
	}
}

static void check_finite(struct fcast *f, int h)
{
	struct fcast_point out[300];

	assert_int_equal(fcast_forecast(f, h, 0.9, out), 0);
	for (int j = 0; j < h; j++) {
		assert_true(isfinite(out[j].point));
		assert_true(isfinite(out[j].lower) && isfinite(out[j].upper));
		assert_true(out[j].lower <= out[j].upper);
	}
}

/*
 * Right-skewed noise (exponential): each bound misses on its own side about
 * (1 - coverage) / 2 of the time, not just the two together (each tail's
 * level is adapted on its own).
 */
static void test_skewed_tails(void **state)
{
	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast_params p = {.max_horizon = 2, .step_s = 60};
		struct fcast *f = fcast_new(all_models[m], &p);
		struct fcast_point out[2];
		uint64_t s = 0xabcdef + m;
		double y, up = 0, lo = 0;
		int scored = 0;

		assert_non_null(f);
		for (int t = 0; t < 6000; t++) {
			double u;

			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			u = ((s >> 11) + 1.0) / 9007199254740993.0;
			y = 100 - 5 * log(u); /* exponential, mean 105 */
			if (t >= 3000) {
				up += y > out[0].upper;
				lo += y < out[0].lower;
				scored++;
			}
			fcast_update(f, y);
			assert_int_equal(fcast_forecast(f, 2, 0.9, out), 0);
		}
		up = 100 * up / scored;
		lo = 100 * lo / scored;
		print_message("# %s: above %.1f%%, below %.1f%%\n", all_models[m], up, lo);
		assert_true(up >= 3 && up <= 7 && lo >= 3 && lo <= 7);
		fcast_free(f);
	}
}

/*
 * direct on a daily cycle (5-minute steps) with one-sample bursts: it
 * learns the cycle, and the bursts do not drag its 12-step forecasts (much
 * better than a level, close to the noise).
 */
static void test_direct_daily_with_bursts(void **state)
{
	struct fcast_params p = {.max_horizon = 12, .step_s = 300};
	struct fcast *d = fcast_new("direct", &p), *e = fcast_new("ewma", &p);
	struct fcast_point od[12], oe[12];
	double fd[12], fe[12], ed = 0, ee = 0;
	uint64_t s = 5;
	int n = 0;

	assert_non_null(d);
	assert_non_null(e);
	for (int t = 0; t < 6 * 288; t++) {
		double y = 10 + 3 * sin(2 * M_PI * t / 288.0) + 0.3 * gauss(&s) + (t % 97 ? 0 : 20);

		if (t >= 5 * 288 + 12 && t % 97) {
			ed += fabs(y - fd[(t - 12) % 12]);
			ee += fabs(y - fe[(t - 12) % 12]);
			n++;
		}
		fcast_update(d, y);
		fcast_update(e, y);
		assert_int_equal(fcast_forecast(d, 12, 0.9, od), 0);
		assert_int_equal(fcast_forecast(e, 12, 0.9, oe), 0);
		fd[t % 12] = od[11].point;
		fe[t % 12] = oe[11].point;
	}
	print_message("# 12-step MAE: direct %.3f, ewma %.3f\n", ed / n, ee / n);
	assert_true(ed < 0.5 * ee);
	assert_true(ed / n < 0.6); /* noise alone: 0.24 */
	fcast_free(d);
	fcast_free(e);
}

static void test_adversarial_no_nan(void **state)
{
	static const double evil[] = {NAN, INFINITY, -INFINITY, 1e300, -1e300, 0, 1e-300, 1.7e308};

	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast_params p = {.max_horizon = 12, .step_s = 60};
		struct fcast *f = fcast_new(all_models[m], &p);
		uint64_t s = 99;

		assert_non_null(f);
		assert_int_equal(fcast_forecast(f, 3, 0.9, (struct fcast_point[3]){0}), -ENODATA);
		fcast_update(f, 5); /* single row */
		check_finite(f, 3);
		for (int t = 0; t < 3000; t++) {
			double y = t % 97 < 8 ? evil[t % 8] : t < 1000 ? 42 : gauss(&s) * 1e150;

			fcast_update(f, y);
			if (t % 50 == 0)
				check_finite(f, 12);
			assert_true(isfinite(fcast_scale(f)));
		}
		check_finite(f, 300); /* beyond the tracked horizons */
		fcast_free(f);
	}
}

/* Sharp-edged square wave: no model may run away (e.g. a non-invertible MA). */
static void test_square_wave_bounded(void **state)
{
	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast_params p = {.max_horizon = 12, .step_s = 300};
		struct fcast *f = fcast_new(all_models[m], &p);
		struct fcast_point out[12];

		for (int t = 0; t < 3000; t++) {
			fcast_update(f, (t % 288) < 144 ? 80 : 0);
			assert_int_equal(fcast_forecast(f, 12, 0.9, out), 0);
			for (int j = 0; j < 12; j++)
				assert_true(fabs(out[j].point) < 1000);
		}
		fcast_free(f);
	}
}

static void test_constant_series(void **state)
{
	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast *f = fcast_new(all_models[m], NULL);
		struct fcast_point out[5];

		for (int t = 0; t < 500; t++)
			fcast_update(f, 7.5);
		assert_int_equal(fcast_forecast(f, 5, 0.9, out), 0);
		for (int j = 0; j < 5; j++)
			assert_true(fabs(out[j].point - 7.5) < 1e-6);
		fcast_free(f);
	}
}

/*
 * An idle service (exactly 0 for a while) that starts taking load: the first
 * change is not a billion error scales, so no interval runs away (they once
 * reached 1e14; models that overshoot the step may still be wide for a
 * while, as their errors were), and the ensemble's error scale is learnt
 * from the new regime instead of staying at zero.
 */
static void test_idle_then_busy(void **state)
{
	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast_params p = {.max_horizon = 14, .step_s = 1};
		struct fcast *f = fcast_new(all_models[m], &p);
		struct fcast_point out[14];
		uint64_t seed = 42;

		for (int t = 0; t < 40; t++)
			fcast_update(f, 0);
		for (int t = 0; t < 200; t++) {
			fcast_update(f, 100 + 3 * gauss(&seed));
			assert_int_equal(fcast_forecast(f, 14, 0.9, out), 0);
			for (int j = 0; j < 14; j++)
				assert_true(out[j].upper < 2000 && out[j].lower > -2000);
		}
		/* long after the change the 1-step interval reflects the noise (sd 3) */
		if (!strcmp(all_models[m], "ensemble"))
			assert_true(out[0].upper - out[0].lower > 2 &&
				    out[0].upper - out[0].lower < 40);
		fcast_free(f);
	}
}

static void test_save_load(void **state)
{
	for (size_t m = 0; m < N_MODELS; m++) {
		struct fcast_params p = {.max_horizon = 6, .step_s = 300};
		struct fcast *a = fcast_new(all_models[m], &p), *b = fcast_new(all_models[m], &p);
		struct fcast_point oa[6], ob[6];
		struct sbuf buf = {0};
		uint64_t s = 7;

		for (int t = 0; t < 700; t++)
			fcast_update(a, sine(t) + gauss(&s) * 0.1 + (t == 300 ? NAN : 0));
		assert_int_equal(fcast_save(a, &buf), 0);
		assert_int_equal(fcast_load(b, buf.data, buf.len), 0);
		for (int t = 700; t < 800; t++) {
			double y = sine(t) + gauss(&s) * 0.1;

			fcast_update(a, y);
			fcast_update(b, y);
		}
		fcast_forecast(a, 6, 0.8, oa);
		fcast_forecast(b, 6, 0.8, ob);
		assert_memory_equal(oa, ob, sizeof(oa));
		/* Truncated, corrupted and foreign blobs are refused, b untouched. */
		assert_int_equal(fcast_load(b, buf.data, buf.len / 2), -EBADMSG);
		buf.data[0] ^= 0xff;
		assert_int_equal(fcast_load(b, buf.data, buf.len), -ENOMSG);
		fcast_forecast(b, 6, 0.8, ob);
		assert_memory_equal(oa, ob, sizeof(oa));
		sbuf_release(&buf);
		fcast_free(a);
		fcast_free(b);
	}
}

/* A calibration window whose write position disagrees with its fill is refused. */
static void test_load_inconsistent_window(void **state)
{
	struct fcast_params p = {.max_horizon = 6, .step_s = 300};
	struct fcast *a = fcast_new("ensemble", &p), *b = fcast_new("ensemble", &p);
	struct fcast_point o[6];
	struct sbuf buf = {0};
	uint64_t s = 11;
	long off;

	for (int t = 0; t < 300; t++)
		fcast_update(a, sine(t) + gauss(&s) * 0.1);
	assert_int_equal(fcast_save(a, &buf), 0);
	off = blob_find_filling_window(buf.data, buf.len, 200, 299);
	assert_true(off >= 0);
	buf.data[off + 4] ^= 1; /* pos = n +- 1 */
	assert_int_equal(fcast_load(b, buf.data, buf.len), -EBADMSG);
	for (int t = 0; t < 20; t++)
		fcast_update(b, -30);
	assert_int_equal(fcast_forecast(b, 6, 0.9, o), 0);
	assert_true(isfinite(o[5].lower) && isfinite(o[5].upper));
	sbuf_release(&buf);
	fcast_free(a);
	fcast_free(b);
}

static void test_lookup_and_errors(void **state)
{
	struct fcast *f;
	struct fcast_point out[2];

	assert_null(fcast_new("nope", NULL));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(fcast_lookup(NULL)->name, "ensemble");
	f = fcast_new("ewma", NULL);
	fcast_update(f, 1);
	assert_int_equal(fcast_forecast(f, 0, 0.9, out), -EINVAL);
	assert_int_equal(fcast_forecast(f, 2, 1.0, out), -EINVAL);
	assert_int_equal(fcast_forecast(f, 2, NAN, out), -EINVAL);
	fcast_free(f);
	fcast_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sine_given_season),	cmocka_unit_test(test_sine_auto_season),
	    cmocka_unit_test(test_season_detection),	cmocka_unit_test(test_gaussian_coverage),
	    cmocka_unit_test(test_adversarial_no_nan),	cmocka_unit_test(test_constant_series),
	    cmocka_unit_test(test_square_wave_bounded), cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_load_inconsistent_window),
	    cmocka_unit_test(test_lookup_and_errors),	cmocka_unit_test(test_idle_then_busy),
	    cmocka_unit_test(test_skewed_tails),	cmocka_unit_test(test_direct_daily_with_bursts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
