/*
 * series.c - bounded per-key history at model resolution; see series.h.
 */
#include "core/series.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const series_metric_names[SM__COUNT] = {
	"cpu_cores",      "memory_bytes",   "requests_per_second", "network_receive_bps",
	"network_transmit_bps", "fs_read_bps", "fs_write_bps", "request_p95_seconds",
	"runqueue_p99_seconds",
};

int series_metric_by_name(const char *name)
{
	for (int i = 0; i < SM__COUNT; i++)
		if (strcmp(series_metric_names[i], name) == 0)
			return i;
	return -1;
}

struct series *series_new(const char *key, size_t cap, double step)
{
	struct series *s;

	if (!cap || !(step > 0)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->cap = cap;
	s->step = step;
	s->t = calloc(cap, sizeof(*s->t));
	s->v = calloc(cap * SM__COUNT, sizeof(*s->v));
	if (!s->t || !s->v) {
		series_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void series_free(struct series *s)
{
	if (!s)
		return;
	free(s->t);
	free(s->v);
	free(s);
}

static void push(struct series *s, double t, const double *vals)
{
	memcpy(&s->v[s->head * SM__COUNT], vals, SM__COUNT * sizeof(double));
	s->t[s->head] = t;
	s->head = (s->head + 1) % s->cap;
	if (s->len < s->cap)
		s->len++;
}

/* Close the step being accumulated; append its aggregate. */
static void close_step(struct series *s)
{
	double agg[SM__COUNT];

	for (int m = 0; m < SM__COUNT; m++) {
		agg[m] = s->acc_n[m] ? s->acc[m] / s->acc_n[m] : NAN;
		s->acc[m] = 0;
		s->acc_n[m] = 0;
	}
	push(s, s->cur_start, agg);
}

int series_add_tick(struct series *s, double t, const double *vals)
{
	static const double missing[SM__COUNT] = { NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN };
	int closed = 0;

	if (!isfinite(t))
		return 0;
	if (s->cur_start == 0)
		s->cur_start = floor(t / s->step) * s->step;
	if (t < s->cur_start)
		return 0; /* clock stepped back: ignore until it catches up */
	if (t >= s->cur_start + s->step) {
		close_step(s);
		closed++;
		s->cur_start += s->step;
		/* A long gap becomes missing steps; only the last cap can be kept. */
		if (t >= s->cur_start + s->step) {
			double k = floor((t - s->cur_start) / s->step);
			double keep = k < (double)s->cap ? k : (double)s->cap;

			s->cur_start += (k - keep) * s->step;
			for (double i = 0; i < keep; i++) {
				push(s, s->cur_start, missing);
				s->cur_start += s->step;
			}
			closed += k < 1e9 ? (int)k : 1000000000;
		}
	}
	for (int m = 0; m < SM__COUNT; m++) {
		if (!isfinite(vals[m]))
			continue;
		s->acc[m] += vals[m];
		s->acc_n[m]++;
	}
	return closed;
}

double series_time(const struct series *s, size_t i)
{
	return s->t[(s->head + s->cap - s->len + i) % s->cap];
}

double series_value(const struct series *s, size_t i, enum series_metric m)
{
	return s->v[((s->head + s->cap - s->len + i) % s->cap) * SM__COUNT + m];
}
