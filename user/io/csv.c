/*
 * csv.c - streaming reader and whole-file loader for `timestamp,value`
 * series.  See csv.h for the accepted format and the handling of missing
 * values, gaps and bad lines.  Every failure names the file and the line.
 */
#include "io/csv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_LINE_MAX 4096 /* longer lines are errors, never truncated silently */

struct csv_reader {
	FILE *f;
	char name[256];
	char *buf;
	size_t cap;
	long line;
	int rows;	 /* data rows returned so far */
	int header_seen; /* a header line was skipped */
	int err;	 /* sticky -errno */
	double last_t;
	struct csv_ts_format fmt;
	char msg[512];
};

static int reader_fail(struct csv_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reader_fail(struct csv_reader *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->msg, sizeof(r->msg), "line %ld of %s: ", r->line, r->name);
	if (n < 0 || (size_t)n >= sizeof(r->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

struct csv_reader *csv_reader_new(FILE *f, const char *name)
{
	struct csv_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->f = f;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "<input>");
	r->last_t = -INFINITY;
	return r;
}

void csv_reader_free(struct csv_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

const char *csv_reader_error(const struct csv_reader *r)
{
	return r ? r->msg : "";
}

const struct csv_ts_format *csv_reader_format(const struct csv_reader *r)
{
	return &r->fmt;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* Read exactly n digits at *p into *out. */
static int take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Optional ".digits" fraction: adds to *t, sets *digits. */
static int take_fraction(const char **p, double *frac, int *digits)
{
	double scale = 0.1;

	*frac = 0;
	*digits = 0;
	if (**p != '.')
		return 0;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		*frac += (**p - '0') * scale;
		scale /= 10;
		(*digits)++;
		(*p)++;
	}
	return *digits > 0 && *digits <= 9 ? 0 : -EINVAL;
}

static int parse_datetime(const char *s, double *t, struct csv_ts_format *fmt)
{
	int y, mo, d, h, mi, se, digits;
	double frac;
	const char *p = s;

	if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
	    take_digits(&p, 2, &d))
		return -EINVAL;
	if (*p != ' ' && *p != 'T')
		return -EINVAL;
	fmt->sep = *p++;
	if (take_digits(&p, 2, &h) || *p++ != ':' || take_digits(&p, 2, &mi) || *p++ != ':' ||
	    take_digits(&p, 2, &se) || take_fraction(&p, &frac, &digits) || *p)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
		return -EINVAL;
	*t = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) + frac;
	fmt->kind = CSV_TS_DATETIME;
	fmt->frac_digits = digits;
	return 0;
}

static int parse_unix(const char *s, double *t, struct csv_ts_format *fmt)
{
	const char *p = s;
	double whole = 0, frac;
	int digits, n = 0;

	if (*p == '-')
		p++;
	while (isdigit((unsigned char)*p) && n < 16) {
		whole = whole * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || isdigit((unsigned char)*p) || take_fraction(&p, &frac, &digits) || *p)
		return -EINVAL;
	*t = (s[0] == '-' ? -1 : 1) * (whole + frac);
	fmt->kind = CSV_TS_UNIX;
	fmt->frac_digits = digits;
	fmt->sep = ' ';
	return 0;
}

int csv_parse_ts(const char *s, double *t, struct csv_ts_format *fmt)
{
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_datetime(s, t, fmt);
	return parse_unix(s, t, fmt);
}

int csv_format_ts(const struct csv_ts_format *fmt, double t, char *buf, size_t len)
{
	int n;

	if (!isfinite(t) || len == 0)
		return -EINVAL;
	if (fmt->kind != CSV_TS_DATETIME) {
		n = snprintf(buf, len, "%.*f", fmt->frac_digits, t);
	} else {
		double fl = floor(t + 0.5 * pow(10, -fmt->frac_digits));
		int64_t secs = (int64_t)fl, y;
		int m, d, sod;

		if (fl < -62167219200.0 || fl > 253402300799.0) /* years 0..9999 */
			return -EINVAL;
		civil_from_days(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400, &y, &m, &d);
		sod = (int)(secs - (secs >= 0 ? secs / 86400 : (secs - 86399) / 86400) * 86400);
		n = snprintf(buf, len, "%04lld-%02d-%02d%c%02d:%02d:%02d", (long long)y, m, d,
			     fmt->sep ? fmt->sep : ' ', sod / 3600, sod / 60 % 60, sod % 60);
		if (n > 0 && (size_t)n < len && fmt->frac_digits > 0) {
			char fr[32];
			double f = t - fl < 0 ? 0 : t - fl;

			snprintf(fr, sizeof(fr), "%.*f", fmt->frac_digits, f);
			/* fr is "0.xxx" ("1.000" cannot happen: fl absorbed the rounding) */
			n += snprintf(buf + n, len - (size_t)n, "%s", fr + 1);
		}
	}
	return n < 0 || (size_t)n >= len ? -EINVAL : n;
}

/* Trim blanks (and a line's CR/LF), in place. */
static char *trim_blanks(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Trim blanks and one pair of surrounding double quotes, in place. */
static char *trim_field(char *s)
{
	char *e;

	s = trim_blanks(s);
	e = s + strlen(s);
	if (e - s >= 2 && s[0] == '"' && e[-1] == '"') {
		e[-1] = '\0';
		s++;
	}
	return s;
}

static int is_missing_word(const char *s)
{
	return !*s || !strcasecmp(s, "nan") || !strcasecmp(s, "-nan") || !strcasecmp(s, "na") ||
	       !strcasecmp(s, "null") || !strcasecmp(s, "none");
}

/* Parse the value field into row; sets missing for the documented words. */
static int parse_value(struct csv_reader *r, const char *s, struct csv_row *row)
{
	char *end;
	double v;

	row->missing = 0;
	if (is_missing_word(s)) {
		row->missing = 1;
		row->v = NAN;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		return reader_fail(r, -EINVAL, "value '%.32s' is not a number", s);
	if (isnan(v)) {
		row->missing = 1;
		row->v = NAN;
		return 0;
	}
	if (!isfinite(v))
		return reader_fail(r, -EINVAL, "value '%.32s' is infinite or out of range", s);
	row->v = v;
	return 0;
}

/* Read one physical line into r->buf; 1 ok, 0 eof, -errno. */
static int read_line(struct csv_reader *r)
{
	ssize_t n;

	errno = 0;
	n = getline(&r->buf, &r->cap, r->f);
	if (n < 0) {
		if (ferror(r->f))
			return reader_fail(r, errno ? -errno : -EIO, "read failed: %s",
					   strerror(errno ? errno : EIO));
		return 0;
	}
	r->line++;
	if (n > CSV_LINE_MAX)
		return reader_fail(r, -EINVAL, "line longer than %d bytes", CSV_LINE_MAX);
	if ((size_t)n != strlen(r->buf))
		return reader_fail(r, -EINVAL, "NUL byte in line");
	return 1;
}

/* Merge a row's timestamp format into the file's; kinds must agree. */
static int merge_format(struct csv_reader *r, const struct csv_ts_format *f)
{
	if (r->fmt.kind == CSV_TS_UNKNOWN) {
		r->fmt = *f;
		return 0;
	}
	if (r->fmt.kind != f->kind)
		return reader_fail(r, -EINVAL, "timestamp kind differs from earlier rows");
	if (f->frac_digits > r->fmt.frac_digits)
		r->fmt.frac_digits = f->frac_digits;
	return 0;
}

/* Parse r->buf as a data row; 1 row, 2 skip (header/blank/comment), -errno. */
static int parse_line(struct csv_reader *r, struct csv_row *row)
{
	char *s = r->buf, *comma, *ts, *val;
	struct csv_ts_format f = {0};

	if (r->line == 1 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
	    (unsigned char)s[2] == 0xbf)
		s += 3;
	s = trim_blanks(s); /* quotes belong to fields, unquoted one by one below */
	if (!*s || *s == '#')
		return 2;
	comma = strchr(s, ',');
	if (!comma)
		return reader_fail(r, -EINVAL, "expected 'timestamp,value'");
	*comma = '\0';
	ts = trim_field(s);
	val = trim_field(comma + 1);
	if (strchr(val, ','))
		return reader_fail(r, -EINVAL, "expected 2 fields, found more");
	if (csv_parse_ts(ts, &row->t, &f)) {
		/* Only the first non-blank line may be a header. */
		if (r->rows == 0 && !r->header_seen && !isdigit((unsigned char)ts[0])) {
			r->header_seen = 1;
			return 2;
		}
		return reader_fail(r, -EINVAL, "bad timestamp '%.40s'", ts);
	}
	if (strlen(ts) >= CSV_TS_MAX)
		return reader_fail(r, -EINVAL, "timestamp longer than %d bytes", CSV_TS_MAX - 1);
	if (merge_format(r, &f))
		return r->err;
	if (!(row->t > r->last_t))
		return reader_fail(r, -EINVAL, "timestamp '%s' %s the previous row's", ts,
				   row->t == r->last_t ? "duplicates" : "is before");
	if (parse_value(r, val, row))
		return r->err;
	snprintf(row->ts_text, sizeof(row->ts_text), "%s", ts);
	row->line = r->line;
	r->last_t = row->t;
	return 1;
}

int csv_reader_next(struct csv_reader *r, struct csv_row *row)
{
	int rc;

	if (r->err)
		return r->err;
	for (;;) {
		rc = read_line(r);
		if (rc <= 0)
			return rc;
		rc = parse_line(r, row);
		if (rc == 1) {
			r->rows++;
			return 1;
		}
		if (rc < 0)
			return rc;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double csv_median_step(const double *t, size_t n)
{
	double *d, med;
	size_t m = 0;

	if (n < 2)
		return 0;
	d = malloc((n - 1) * sizeof(*d));
	if (!d) /* fall back to the first interval rather than failing */
		return t[1] - t[0];
	for (size_t i = 1; i < n; i++)
		if (t[i] > t[i - 1])
			d[m++] = t[i] - t[i - 1];
	if (m == 0) {
		free(d);
		return 0;
	}
	qsort(d, m, sizeof(*d), cmp_double);
	med = d[m / 2];
	free(d);
	return med;
}

/* Grow the series arrays to hold at least want rows. */
static int series_grow(struct csv_series *s, size_t *cap, size_t want)
{
	size_t nc = *cap ? *cap * 2 : 1024;
	double *t, *v;
	char(*ts)[CSV_TS_MAX];

	if (want <= *cap)
		return 0;
	t = realloc(s->t, nc * sizeof(*t));
	if (t)
		s->t = t;
	v = realloc(s->v, nc * sizeof(*v));
	if (v)
		s->v = v;
	ts = realloc(s->ts, nc * sizeof(*ts));
	if (ts)
		s->ts = ts;
	if (!t || !v || !ts)
		return -ENOMEM;
	*cap = nc;
	return 0;
}

/* Count gaps (intervals > 1.5 step) and the steps they leave out. */
static void series_gaps(struct csv_series *s)
{
	s->step = csv_median_step(s->t, s->n);
	s->gaps = s->gap_steps = 0;
	if (s->step <= 0)
		return;
	for (size_t i = 1; i < s->n; i++) {
		double k = (s->t[i] - s->t[i - 1]) / s->step;

		if (k > 1.5) {
			long m = csv_gap_steps(s->t[i - 1], s->t[i], s->step, LONG_MAX / 4);

			s->gaps++;
			s->gap_steps = s->gap_steps > SIZE_MAX / 2 ? s->gap_steps
								   : s->gap_steps + (size_t)m;
		}
	}
}

int csv_load_stream(FILE *f, const char *name, struct csv_series *s, char *err, size_t errlen)
{
	struct csv_reader *r = csv_reader_new(f, name);
	struct csv_row row;
	size_t cap = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!r) {
		snprintf(err, errlen, "failed to read %s: %s", name, strerror(ENOMEM));
		return -ENOMEM;
	}
	while ((rc = csv_reader_next(r, &row)) == 1) {
		if (series_grow(s, &cap, s->n + 1)) {
			rc = -ENOMEM;
			snprintf(err, errlen, "failed to load %s: %s", name, strerror(ENOMEM));
			break;
		}
		s->t[s->n] = row.t;
		s->v[s->n] = row.v;
		memcpy(s->ts[s->n], row.ts_text, CSV_TS_MAX);
		s->n_missing += (size_t)row.missing;
		s->n++;
	}
	if (rc < 0 && rc != -ENOMEM)
		snprintf(err, errlen, "%s", csv_reader_error(r));
	if (rc == 0 && s->n == 0) {
		rc = -ENODATA;
		snprintf(err, errlen, "%s has no data rows", name);
	}
	s->fmt = *csv_reader_format(r);
	csv_reader_free(r);
	if (rc < 0) {
		csv_series_free(s);
		return rc;
	}
	series_gaps(s);
	return 0;
}

int csv_load(const char *path, struct csv_series *s, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	if (!strcmp(path, "-"))
		return csv_load_stream(stdin, "<stdin>", s, err, errlen);
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		memset(s, 0, sizeof(*s));
		snprintf(err, errlen, "failed to open %s: %s", path, strerror(errno));
		return rc;
	}
	rc = csv_load_stream(f, path, s, err, errlen);
	fclose(f);
	return rc;
}

void csv_series_free(struct csv_series *s)
{
	if (!s)
		return;
	free(s->t);
	free(s->v);
	free(s->ts);
	memset(s, 0, sizeof(*s));
}

long csv_gap_steps(double prev, double t, double step, long cap)
{
	double k;

	if (!(step > 0) || !isfinite(prev) || !isfinite(t))
		return 0;
	k = (t - prev) / step;
	if (!(k > 1.5))
		return 0;
	k = round(k) - 1;
	return k > (double)cap ? cap : (long)k;
}
