/*
 * csv.h - reader for the offline series format `timestamp,value`.
 *
 * Format (DESIGN.md, "Offline CSV"): one sample per line, `timestamp,value`,
 * optional header line, CRLF or LF, optional UTF-8 BOM, blank lines and
 * lines starting with '#' ignored.  Fields may be wrapped in double quotes
 * and padded with blanks.  Timestamps are unix seconds (integer or with a
 * fraction, e.g. 1700000000 or 1700000000.250) or `YYYY-MM-DD HH:MM:SS`
 * (also with 'T' as separator and an optional fraction), read as UTC.  One
 * file uses one timestamp kind.
 *
 * Handling of awkward input (documented contract, tested in test_csv.c):
 *   - a line that cannot be parsed is an error naming the file and line;
 *   - timestamps must increase strictly: a duplicate or decreasing one is an
 *     error naming the line;
 *   - an empty value, "nan", "NA" or "null" is a *missing* sample: the row is
 *     returned with missing = 1 and v = NAN, models skip it;
 *   - an infinite value ("inf", or a number that overflows a double) is an
 *     error naming the line: it is never a measurement;
 *   - huge finite values (up to DBL_MAX) are accepted as they are;
 *   - gaps (an interval longer than 1.5 times the series step) are reported
 *     by csv_load() (count and missing steps), never filled with invented
 *     rows: consumers feed the missing steps to models as missing.
 */
#ifndef PRESAGE_CSV_H
#define PRESAGE_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_TS_MAX 40 /* longest timestamp text kept, NUL included */

enum csv_ts_kind {
	CSV_TS_UNKNOWN = 0,
	CSV_TS_UNIX,	 /* seconds since the epoch, optional fraction */
	CSV_TS_DATETIME, /* YYYY-MM-DD HH:MM:SS[.fff], UTC */
};

/* How a file writes its timestamps, so output can write them the same way. */
struct csv_ts_format {
	enum csv_ts_kind kind;
	int frac_digits; /* digits after the decimal point (max seen), 0 = none */
	char sep;	 /* date/time separator of CSV_TS_DATETIME: ' ' or 'T' */
};

struct csv_row {
	double t;		  /* unix seconds */
	double v;		  /* value; NAN when missing */
	int missing;		  /* 1 when the value was empty/nan/NA/null */
	long line;		  /* 1-based line number in the input */
	char ts_text[CSV_TS_MAX]; /* the timestamp exactly as written */
};

struct csv_reader;

/*
 * Start reading rows from f (borrowed, not closed).  name is used in error
 * messages ("trace.csv", "<stdin>").  NULL + errno (ENOMEM) on failure.
 */
struct csv_reader *csv_reader_new(FILE *f, const char *name);

/*
 * Read the next row into *row.  Returns 1 for a row, 0 at end of input,
 * -errno on error (EINVAL bad line / bad timestamp order / infinite value,
 * EIO read error, ENOMEM); then csv_reader_error() holds a one-line message
 * such as "line 12 of trace.csv: value is not a number".  After an error the
 * reader keeps returning the same error.
 */
int csv_reader_next(struct csv_reader *r, struct csv_row *row);

/* The last error message ("" when none). */
const char *csv_reader_error(const struct csv_reader *r);

/* Timestamp format detected so far (kind CSV_TS_UNKNOWN before a row). */
const struct csv_ts_format *csv_reader_format(const struct csv_reader *r);

void csv_reader_free(struct csv_reader *r);

/* A whole series in memory. */
struct csv_series {
	size_t n;		/* rows (missing values included) */
	double *t;		/* n unix timestamps, strictly increasing */
	double *v;		/* n values, NAN where missing */
	char (*ts)[CSV_TS_MAX]; /* n timestamps as written */
	double step;		/* median interval in seconds; 0 when n < 2 */
	size_t n_missing;	/* rows with a missing value */
	size_t gaps;		/* intervals longer than 1.5 * step */
	size_t gap_steps;	/* steps absent in those gaps (not invented) */
	struct csv_ts_format fmt;
};

/*
 * Load the CSV at path ("-" = stdin) into *s.  Returns 0, or -errno with a
 * one-line message in err (naming the file and line when one is at fault).
 * An input with no data row is an error (-ENODATA).  Free with
 * csv_series_free().
 */
int csv_load(const char *path, struct csv_series *s, char *err, size_t errlen);

/* Same from an open stream (borrowed); name is used in messages. */
int csv_load_stream(FILE *f, const char *name, struct csv_series *s, char *err, size_t errlen);

/* Release what csv_load() allocated; s is zeroed; NULL is a no-op. */
void csv_series_free(struct csv_series *s);

/*
 * Median of the positive intervals of t[0..n); 0 when n < 2.  Used as the
 * series step: robust to a few gaps.
 */
double csv_median_step(const double *t, size_t n);

/*
 * Steps missing between two consecutive rows at prev and t for a series of
 * the given step: round((t - prev) / step) - 1 when the interval exceeds 1.5
 * steps, else 0; never more than cap.  0 when step <= 0.
 */
long csv_gap_steps(double prev, double t, double step, long cap);

/*
 * Write timestamp t (unix seconds) in the format fmt into buf: the way the
 * input wrote its own timestamps, used for future (forecast) timestamps.
 * Returns the length written, or -EINVAL (buf too small, t not finite or
 * outside years 0..9999 for datetimes).
 */
int csv_format_ts(const struct csv_ts_format *fmt, double t, char *buf, size_t len);

/*
 * Parse one timestamp text.  Sets *t and fills *fmt (kind, frac digits,
 * separator).  0 or -EINVAL.
 */
int csv_parse_ts(const char *s, double *t, struct csv_ts_format *fmt);

#endif
