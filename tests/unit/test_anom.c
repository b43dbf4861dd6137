/*
 * test_anom.c - streaming anomaly score: low on normal data, a level shift
 * and a spike raise it within a few points, variance changes are seen,
 * missing and adversarial inputs are safe, state round-trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/anom.h"
#include "blob_fixture.h"
#include "model/fcast.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double gauss(uint64_t *s)
{
	double u1, u2;

	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	u1 = ((*s >> 11) + 1.0) / 9007199254740993.0;
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	u2 = (*s >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* The detect pipeline on one value: forecaster then detector. */
static double pipe_step(struct fcast *f, struct anom *a, double y)
{
	fcast_update(f, y);
	return anom_update(a, fcast_last_score(f));
}

static void test_low_on_normal_data(void **state)
{
	struct fcast *f = fcast_new("ensemble", NULL);
	struct anom *a = anom_new();
	uint64_t s = 11;
	int high = 0, any = 0, n = 0;

	for (int t = 0; t < 6000; t++) {
		double sc = pipe_step(f, a, 50 + 10 * sin(2 * M_PI * t / 100.0) + gauss(&s));

		assert_true(sc >= 0 && sc <= 1);
		if (t >= 1000) {
			high += sc > 0.5;
			any += sc > 0;
			n++;
		}
	}
	print_message("# normal data: %.2f%% > 0, %.2f%% > 0.5\n", 100.0 * any / n,
		      100.0 * high / n);
	assert_true(high <= n / 100); /* at most 1% above 0.5 */
	fcast_free(f);
	anom_free(a);
}

/*
 * An idle service (exactly 0 for hours) that then takes steady noisy load:
 * once the forecaster has the new level, its ordinary noise is not scored
 * as anomalous (the idle stretch's perfect forecasts once filled the
 * detector's windows and made every later wiggle look extreme).
 */
static void test_idle_then_load(void **state)
{
	struct fcast *f = fcast_new("ensemble", NULL);
	struct anom *a = anom_new();
	uint64_t s = 5;
	int high = 0, n = 0;

	for (int t = 0; t < 400; t++)
		pipe_step(f, a, 0);
	for (int t = 0; t < 1000; t++) {
		double sc = pipe_step(f, a, 100 + 3 * gauss(&s));

		if (t >= 100) {
			high += sc > 0.5;
			n++;
		}
	}
	print_message("# idle then load: %.2f%% > 0.5\n", 100.0 * high / n);
	assert_true(high <= n / 300); /* at most 0.33% above 0.5 (0.56-0.67% before) */
	fcast_free(f);
	anom_free(a);
}

static void test_level_shift(void **state)
{
	struct fcast *f = fcast_new("ensemble", NULL);
	struct anom *a = anom_new();
	uint64_t s = 5;
	double peak = 0;

	for (int t = 0; t < 2000; t++)
		pipe_step(f, a, 100 + gauss(&s));
	for (int t = 0; t < 5; t++) /* a shift of 4 sigma: detected within 5 points */
		peak = fmax(peak, pipe_step(f, a, 104 + gauss(&s)));
	assert_true(peak > 0.8);
	fcast_free(f);
	anom_free(a);
}

static void test_small_persistent_shift(void **state)
{
	struct anom *a = anom_new();
	uint64_t s = 17;
	double peak = 0;

	/* Normalised errors: 1.5 sigma of persistent bias, no single point rare. */
	for (int t = 0; t < 3000; t++)
		anom_update(a, gauss(&s));
	for (int t = 0; t < 15; t++)
		peak = fmax(peak, anom_update(a, 1.5 + gauss(&s)));
	assert_true(peak > 0.5);
	anom_free(a);
}

static void test_variance_drop(void **state)
{
	struct anom *a = anom_new();
	uint64_t s = 23;
	double peak = 0;

	for (int t = 0; t < 3000; t++)
		anom_update(a, gauss(&s));
	for (int t = 0; t < 30; t++) /* the series goes flat: errors vanish */
		peak = fmax(peak, anom_update(a, 0.01 * gauss(&s)));
	assert_true(peak > 0.5);
	anom_free(a);
}

static void test_missing_and_adversarial(void **state)
{
	struct anom *a = anom_new();
	static const double evil[] = {NAN, INFINITY, -INFINITY, 1e300, -1e300, 0, 1e-300};

	assert_true(anom_update(a, NAN) == 0);
	for (int t = 0; t < 5000; t++) {
		double sc = anom_update(a, evil[t % 7]);

		assert_true(isfinite(sc) && sc >= 0 && sc <= 1);
	}
	for (int t = 0; t < 100; t++)
		assert_true(anom_update(a, 0) <= 1);
	anom_free(a);
	anom_free(NULL);
}

/* A score window whose write position disagrees with its fill is refused. */
static void test_load_inconsistent_window(void **state)
{
	struct anom *a = anom_new(), *b = anom_new();
	struct sbuf buf = {0};
	struct sbuf_reader r;
	uint64_t s = 5;
	long off;

	for (int t = 0; t < 300; t++)
		anom_update(a, gauss(&s));
	anom_save(a, &buf);
	off = blob_find_filling_window(buf.data, buf.len, 100, 300);
	assert_true(off >= 0);
	buf.data[off + 4] ^= 1;
	sbuf_reader_init(&r, buf.data, buf.len);
	assert_int_equal(anom_load(b, &r), -EBADMSG);
	for (int t = 0; t < 20; t++) {
		double v = anom_update(b, -1);

		assert_true(v >= 0 && v <= 1);
	}
	sbuf_release(&buf);
	anom_free(a);
	anom_free(b);
}

static void test_save_load(void **state)
{
	struct anom *a = anom_new(), *b = anom_new();
	struct sbuf buf = {0};
	struct sbuf_reader r;
	uint64_t s = 3;

	for (int t = 0; t < 1500; t++)
		anom_update(a, gauss(&s));
	anom_save(a, &buf);
	sbuf_reader_init(&r, buf.data, buf.len);
	assert_int_equal(anom_load(b, &r), 0);
	for (int t = 0; t < 100; t++) {
		double z = gauss(&s) * (t > 50 ? 5 : 1);

		assert_true(anom_update(a, z) == anom_update(b, z));
	}
	buf.data[0] ^= 1; /* another version */
	sbuf_reader_init(&r, buf.data, buf.len);
	assert_int_equal(anom_load(b, &r), -ENOMSG);
	sbuf_reader_init(&r, buf.data, 10);
	buf.data[0] ^= 1;
	assert_int_equal(anom_load(b, &r), -EBADMSG);
	sbuf_release(&buf);
	anom_free(a);
	anom_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_low_on_normal_data),	    cmocka_unit_test(test_level_shift),
	    cmocka_unit_test(test_small_persistent_shift),  cmocka_unit_test(test_variance_drop),
	    cmocka_unit_test(test_missing_and_adversarial), cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_load_inconsistent_window),
	    cmocka_unit_test(test_idle_then_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
