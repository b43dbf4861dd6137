/*
 * fp.c - behavioural fingerprints (see fp.h for every feature's meaning).
 */
#include "model/fp.h"

#include "common/select.h"
#include "core/state.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FP_MAGIC 0x31465050u /* "PPF1" */

const char *const fp_feature_names[FP_DIM] = {
    "period1_seconds",
    "period1_strength",
    "period2_seconds",
    "period2_strength",
    "util_p50",
    "util_p95",
    "burstiness",
    "trend_per_day",
    "cpu_seconds_per_request",
    "memory_growth_per_day",
    "io_bytes_per_cpu_second",
    "network_bytes_per_cpu_second",
    "latency_sensitivity",
    "anomaly_rate",
    "memory_p95_bytes",
    "request_rate",
};

static double mean_of(const double *x, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += x[i];
	return n ? s / n : 0;
}

/* Quantile q of x (on a copy); 0 when empty. */
static double quantile(const double *x, int n, double q)
{
	double *t, v;

	if (n <= 0 || !(t = malloc((size_t)n * sizeof(*t))))
		return 0;
	memcpy(t, x, (size_t)n * sizeof(*t));
	v = select_kth(t, n, (int)fmin(n - 1, floor(q * n)));
	free(t);
	return v;
}

/* Least-squares slope per sample. */
static double slope(const double *x, int n)
{
	double mt = (n - 1) / 2.0, mx = mean_of(x, n), sxy = 0, stt = 0;

	for (int i = 0; i < n; i++) {
		sxy += (i - mt) * (x[i] - mx);
		stt += (i - mt) * (i - mt);
	}
	return stt > 0 ? sxy / stt : 0;
}

static double correlation(const double *a, const double *b, int n)
{
	double ma = mean_of(a, n), mb = mean_of(b, n), sab = 0, saa = 0, sbb = 0;

	for (int i = 0; i < n; i++) {
		sab += (a[i] - ma) * (b[i] - mb);
		saa += (a[i] - ma) * (a[i] - ma);
		sbb += (b[i] - mb) * (b[i] - mb);
	}
	return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
}

static void set(struct fp *f, int i, double v)
{
	f->v[i] = isfinite(v) ? v : 0;
	f->present |= 1u << i;
}

static const struct fp_series *by_role(const struct fp_series *m, int n, enum fp_role r)
{
	for (int i = 0; i < n; i++)
		if (m[i].role == r && m[i].n > 1)
			return &m[i];
	return NULL;
}

/* Features of the primary metric: seasons, level, burstiness, trend. */
static void primary_features(struct fp *out, const struct fp_series *p, double step_s)
{
	double mu = mean_of(p->x, p->n), var = 0;

	for (int i = 0; i < p->n; i++)
		var += (p->x[i] - mu) * (p->x[i] - mu) / p->n;
	set(out, FP_PERIOD1, p->periods[0] * step_s);
	set(out, FP_PERIOD1_STR, p->periods[0] ? p->strength[0] : 0);
	set(out, FP_PERIOD2, p->periods[1] * step_s);
	set(out, FP_PERIOD2_STR, p->periods[1] ? p->strength[1] : 0);
	set(out, FP_UTIL_P50, quantile(p->x, p->n, 0.5));
	set(out, FP_UTIL_P95, quantile(p->x, p->n, 0.95));
	set(out, FP_BURSTINESS, fabs(mu) > 0 ? sqrt(var) / fabs(mu) : 0);
	set(out, FP_TREND, fabs(mu) > 0 ? slope(p->x, p->n) * (86400 / step_s) / fabs(mu) : 0);
	set(out, FP_ANOMALY_RATE, p->anomaly_rate);
}

void fp_compute(struct fp *out, const struct fp_series *m, int n, double step_s)
{
	const struct fp_series *cpu = by_role(m, n, FP_ROLE_CPU), *p = cpu;
	const struct fp_series *mem = by_role(m, n, FP_ROLE_MEM), *io = by_role(m, n, FP_ROLE_IO);
	const struct fp_series *net = by_role(m, n, FP_ROLE_NET), *req = by_role(m, n, FP_ROLE_REQ);
	const struct fp_series *lat = by_role(m, n, FP_ROLE_LAT);
	double cpu_mean = cpu ? mean_of(cpu->x, cpu->n) : 0;

	memset(out, 0, sizeof(*out));
	if (!(step_s > 0))
		step_s = 60;
	if (!p && n > 0 && m[0].n > 1)
		p = &m[0];
	if (!p)
		return;
	out->samples = p->n;
	primary_features(out, p, step_s);
	if (req && cpu && mean_of(req->x, req->n) > 0)
		set(out, FP_CPU_PER_REQ, cpu_mean / mean_of(req->x, req->n));
	if (mem) {
		double mm = mean_of(mem->x, mem->n);

		set(out, FP_MEM_GROWTH, mm > 0 ? slope(mem->x, mem->n) * (86400 / step_s) / mm : 0);
		set(out, FP_MEM_P95, quantile(mem->x, mem->n, 0.95));
	}
	if (io && cpu_mean > 0)
		set(out, FP_IO_INTENSITY, mean_of(io->x, io->n) / cpu_mean);
	if (net && cpu_mean > 0)
		set(out, FP_NET_INTENSITY, mean_of(net->x, net->n) / cpu_mean);
	if (lat && (req || cpu)) {
		const struct fp_series *o = req ? req : cpu;
		int k = lat->n < o->n ? lat->n : o->n;

		set(out, FP_LATENCY_SENS, correlation(lat->x + lat->n - k, o->x + o->n - k, k));
	}
	if (req)
		set(out, FP_REQ_RATE, mean_of(req->x, req->n));
}

/* Feature i on the comparable scale used by the similarity. */
static double comparable(const struct fp *f, int i)
{
	double v = f->v[i];

	switch (i) {
	case FP_PERIOD1:
	case FP_PERIOD2:
		return log1p(fmax(v, 0)) / log1p(604800.0);
	case FP_TREND:
	case FP_MEM_GROWTH:
		return tanh(v);
	case FP_PERIOD1_STR:
	case FP_PERIOD2_STR:
	case FP_ANOMALY_RATE:
	case FP_LATENCY_SENS:
		return v;
	default: /* magnitudes spanning decades */
		return copysign(log10(1 + fabs(v)), v) / 4;
	}
}

double fp_similarity(const struct fp *a, const struct fp *b)
{
	uint32_t both = a->present & b->present;
	double s = 0;
	int n = 0;

	for (int i = 0; i < FP_DIM; i++) {
		if (!(both & (1u << i)))
			continue;
		double d = comparable(a, i) - comparable(b, i);

		s += d * d;
		n++;
	}
	return n ? exp(-4 * s / n) : 0;
}

int fp_closest(const struct fp *q, const struct fp *c, int n)
{
	int best = n > 0 ? 0 : -1;
	double bs = -1;

	for (int i = 0; i < n; i++) {
		double s = q && q->present ? fp_similarity(q, &c[i]) : (double)c[i].samples;

		if (s > bs) {
			bs = s;
			best = i;
		}
	}
	return best;
}

void fp_serialize(const struct fp *f, struct sbuf *b)
{
	sbuf_u32(b, FP_MAGIC);
	sbuf_u32(b, FP_VERSION);
	sbuf_u32(b, FP_DIM);
	sbuf_u32(b, f->present);
	sbuf_f64v(b, f->v, FP_DIM);
	sbuf_i64(b, f->samples);
}

int fp_deserialize(struct fp *f, struct sbuf_reader *r)
{
	struct fp t;

	if (sbuf_get_u32(r) != FP_MAGIC || sbuf_get_u32(r) != FP_VERSION ||
	    sbuf_get_u32(r) != FP_DIM)
		return r->err ? r->err : -ENOMSG;
	t.present = sbuf_get_u32(r) & ((1u << FP_DIM) - 1);
	sbuf_get_f64v(r, t.v, FP_DIM);
	t.samples = sbuf_get_i64(r);
	if (r->err || t.samples < 0)
		return -EBADMSG;
	*f = t;
	return 0;
}

int fp_save(const struct fp *f, const char *path)
{
	struct sbuf b = {0};
	int rc;

	fp_serialize(f, &b);
	rc = b.err ? b.err : state_write_atomic(path, b.data, b.len);
	sbuf_release(&b);
	return rc;
}

int fp_load(const char *path, struct fp *f)
{
	struct sbuf_reader r;
	size_t len;
	void *buf = state_read_file(path, 1 << 16, &len);
	int rc;

	if (!buf)
		return -errno;
	sbuf_reader_init(&r, buf, len);
	rc = fp_deserialize(f, &r);
	if (!rc && r.pos != r.len)
		rc = -EBADMSG;
	free(buf);
	return rc;
}
