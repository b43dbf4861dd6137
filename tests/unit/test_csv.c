/*
 * test_csv.c - the `timestamp,value` reader: formats, missing values, gaps,
 * bad lines named by number, timestamp order, and timestamp re-formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/csv.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static char err[512];

/* Load text as a series; returns csv_load_stream's result. */
static int load_text(const char *text, struct csv_series *s)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	err[0] = '\0';
	rc = csv_load_stream(f, "t.csv", s, err, sizeof(err));
	fclose(f);
	return rc;
}

static void test_datetime_header(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("timestamp,value\n2014-04-01 00:00:00,1.5\n"
				   "2014-04-01 00:05:00,2\n2014-04-01 00:10:00,-3e2\n",
				   &s),
			 0);
	assert_int_equal(s.n, 3);
	assert_true(s.t[0] == 1396310400.0);
	assert_true(s.step == 300.0);
	assert_true(s.v[2] == -300.0);
	assert_int_equal(s.fmt.kind, CSV_TS_DATETIME);
	assert_string_equal(s.ts[1], "2014-04-01 00:05:00");
	assert_int_equal(s.gaps, 0);
	csv_series_free(&s);
}

static void test_unix_crlf_bom(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("\xef\xbb\xbf"
				   "1700000000,1\r\n1700000060,2\r\n\r\n"
				   "# comment\n\"1700000120\", 3 \r\n",
				   &s),
			 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.fmt.kind, CSV_TS_UNIX);
	assert_int_equal(s.fmt.frac_digits, 0);
	assert_true(s.v[2] == 3);
	assert_true(s.step == 60);
	csv_series_free(&s);
}

static void test_bad_line_named(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("timestamp,value\n1,1\n2,abc\n", &s), -EINVAL);
	assert_non_null(strstr(err, "line 3 of t.csv"));
	assert_non_null(strstr(err, "not a number"));
	assert_null(s.t);
	assert_int_equal(load_text("1,1\n2\n", &s), -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(load_text("1,1\n2,2,2\n", &s), -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(load_text("1,1\nfoo,2\n", &s), -EINVAL);
	assert_non_null(strstr(err, "bad timestamp"));
	assert_int_equal(load_text("2014-02-30 00:00:00,1\n", &s), -EINVAL);
	assert_int_equal(load_text("1,1\n2014-02-03 00:00:00,1\n", &s), -EINVAL);
	assert_non_null(strstr(err, "kind"));
}

static void test_order_errors(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("t,v\n10,1\n20,1\n20,2\n", &s), -EINVAL);
	assert_non_null(strstr(err, "line 4"));
	assert_non_null(strstr(err, "duplicates"));
	assert_int_equal(load_text("t,v\n10,1\n20,1\n15,2\n", &s), -EINVAL);
	assert_non_null(strstr(err, "is before"));
}

static void test_missing_and_infinite(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("1,1\n2,nan\n3,\n4,NA\n5,5\n", &s), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.n_missing, 3);
	assert_true(isnan(s.v[1]) && isnan(s.v[2]) && isnan(s.v[3]));
	csv_series_free(&s);
	assert_int_equal(load_text("1,1\n2,inf\n", &s), -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(load_text("1,1\n2,1e400\n", &s), -EINVAL);
	assert_int_equal(load_text("1,1\n2,1e300\n3,-1.7e308\n", &s), 0);
	assert_true(s.v[2] == -1.7e308);
	csv_series_free(&s);
}

static void test_single_row_and_empty(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("timestamp,value\n5,7\n", &s), 0);
	assert_int_equal(s.n, 1);
	assert_true(s.step == 0);
	csv_series_free(&s);
	assert_int_equal(load_text("timestamp,value\n", &s), -ENODATA);
	assert_int_equal(load_text("", &s), -ENODATA);
	assert_non_null(strstr(err, "no data"));
}

/* Both fields quoted: each field loses its own quotes. */
static void test_quoted_fields(void **state)
{
	struct csv_series s;

	assert_int_equal(load_text("\"t\",\"v\"\n\"1\",\"2\"\n \"2\" , \"3.5\" \r\n", &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.t[1] == 2 && s.v[1] == 3.5);
	csv_series_free(&s);
}

static void test_gaps_reported(void **state)
{
	struct csv_series s;

	/* step 60, one gap of 3 missing steps, nothing invented */
	assert_int_equal(load_text("0,1\n60,1\n120,1\n360,1\n420,1\n480,1\n", &s), 0);
	assert_int_equal(s.n, 6);
	assert_true(s.step == 60);
	assert_int_equal(s.gaps, 1);
	assert_int_equal(s.gap_steps, 3);
	csv_series_free(&s);
	/* a gap of ~1e25 steps is counted, saturated, not undefined */
	assert_int_equal(load_text("0,1\n0.000000001,1\n0.000000002,1\n9999999999999999,1\n", &s),
			 0);
	assert_int_equal(s.gaps, 1);
	assert_true(s.gap_steps > 1000000000ull);
	csv_series_free(&s);
}

static void test_format_roundtrip(void **state)
{
	struct csv_ts_format f;
	char buf[64];
	double t;

	assert_int_equal(csv_parse_ts("2014-04-01 23:59:30", &t, &f), 0);
	assert_true(csv_format_ts(&f, t + 60, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "2014-04-02 00:00:30");
	assert_int_equal(csv_parse_ts("1970-01-01T00:00:00.250", &t, &f), 0);
	assert_int_equal(f.frac_digits, 3);
	assert_true(csv_format_ts(&f, t + 0.5, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.750");
	assert_int_equal(csv_parse_ts("1700000000.50", &t, &f), 0);
	assert_true(csv_format_ts(&f, t + 1, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "1700000001.50");
	assert_int_equal(csv_parse_ts("1960-02-29 12:00:00", &t, &f), 0);
	assert_true(csv_format_ts(&f, t, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "1960-02-29 12:00:00");
	assert_int_equal(csv_format_ts(&f, NAN, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(csv_format_ts(&f, 1e18, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(csv_format_ts(&f, 0, buf, 5), -EINVAL);
}

static void test_streaming_reader(void **state)
{
	const char *text = "1,1\n2,2\n3,x\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct csv_reader *r = csv_reader_new(f, "s.csv");
	struct csv_row row;

	assert_int_equal(csv_reader_next(r, &row), 1);
	assert_int_equal(row.line, 1);
	assert_int_equal(csv_reader_next(r, &row), 1);
	assert_string_equal(row.ts_text, "2");
	assert_int_equal(csv_reader_next(r, &row), -EINVAL);
	assert_int_equal(csv_reader_next(r, &row), -EINVAL);
	assert_non_null(strstr(csv_reader_error(r), "line 3 of s.csv"));
	csv_reader_free(r);
	csv_reader_free(NULL);
	fclose(f);
}

static void test_long_line(void **state)
{
	static char text[10000];
	struct csv_series s;

	memset(text, '1', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	assert_int_equal(load_text(text, &s), -EINVAL);
	assert_non_null(strstr(err, "line 1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datetime_header),
	    cmocka_unit_test(test_unix_crlf_bom),
	    cmocka_unit_test(test_bad_line_named),
	    cmocka_unit_test(test_order_errors),
	    cmocka_unit_test(test_missing_and_infinite),
	    cmocka_unit_test(test_single_row_and_empty),
	    cmocka_unit_test(test_quoted_fields),
	    cmocka_unit_test(test_gaps_reported),
	    cmocka_unit_test(test_format_roundtrip),
	    cmocka_unit_test(test_streaming_reader),
	    cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
