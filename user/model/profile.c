/*
 * profile.c - per-service behavioural profile: forecasters, anomaly scores
 * and fingerprint over several metrics, with atomic versioned state files
 * and cold start from the closest known fingerprint (see profile.h).
 */
#include "model/profile.h"

#include "common/log.h"
#include "core/state.h"
#include "model/anom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROFILE_MAGIC	 0x31525050u /* "PPR1" */
#define PROFILE_MAX_FILE (64u << 20) /* largest state file read */
#define NAME_MAX_LEN	 64

struct profile {
	struct profile_params p;
	struct profile_metric metrics[PROFILE_MAX_METRICS];
	char names[PROFILE_MAX_METRICS][NAME_MAX_LEN];
	char model[32];
	struct fcast *f[PROFILE_MAX_METRICS];
	struct anom *a[PROFILE_MAX_METRICS];
	double score[PROFILE_MAX_METRICS];
	struct fp fp;	     /* over the whole bounded history */
	double fp_departure; /* 0..1 score of the recent day against fp */
	int64_t steps;
};

size_t profile_memory_bytes(const struct profile *p)
{
	size_t b = sizeof(*p);

	for (int i = 0; i < p->p.n_metrics; i++)
		b += fcast_memory_bytes(p->f[i]) + anom_memory_bytes(p->a[i]);
	return b;
}

static int params_copy(struct profile *pr, const struct profile_params *p)
{
	if (!p || p->n_metrics < 1 || p->n_metrics > PROFILE_MAX_METRICS || !p->metrics)
		return -EINVAL;
	pr->p = *p;
	snprintf(pr->model, sizeof(pr->model), "%s", p->model ? p->model : "ensemble");
	pr->p.model = pr->model;
	if (!(pr->p.step_s > 0))
		pr->p.step_s = 60;
	if (pr->p.max_horizon <= 0)
		pr->p.max_horizon = 60;
	if (!(pr->p.coverage > 0 && pr->p.coverage < 1))
		pr->p.coverage = 0.9;
	for (int i = 0; i < p->n_metrics; i++) {
		snprintf(pr->names[i], NAME_MAX_LEN, "%s",
			 p->metrics[i].name ? p->metrics[i].name : "");
		pr->metrics[i].name = pr->names[i];
		pr->metrics[i].role = p->metrics[i].role;
	}
	pr->p.metrics = pr->metrics;
	return 0;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->p.n_metrics; i++) {
		fcast_free(p->f[i]);
		anom_free(p->a[i]);
	}
	free(p);
}

struct profile *profile_new(const struct profile_params *params)
{
	struct profile *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	rc = params_copy(p, params);
	if (!rc && !fcast_lookup(p->model))
		rc = -ENOENT;
	for (int i = 0; !rc && i < p->p.n_metrics; i++) {
		struct fcast_params fp = {.season = p->p.season,
					  .max_horizon = p->p.max_horizon,
					  .step_s = p->p.step_s,
					  .coverage = p->p.coverage};

		p->f[i] = fcast_new(p->model, &fp);
		p->a[i] = anom_new();
		if (!p->f[i] || !p->a[i])
			rc = -ENOMEM;
	}
	if (rc) {
		p->p.n_metrics = p->p.n_metrics > 0 && p->p.n_metrics <= PROFILE_MAX_METRICS
				     ? p->p.n_metrics
				     : 0;
		profile_free(p);
		errno = -rc;
		return NULL;
	}
	return p;
}

/* Fingerprint from the newest `window` samples of every metric (0 = all). */
static void compute_fp(const struct profile *p, int window, struct fp *out)
{
	struct fp_series s[PROFILE_MAX_METRICS];
	double *bufs[PROFILE_MAX_METRICS] = {0};
	int n = 0;

	for (int i = 0; i < p->p.n_metrics; i++) {
		const struct fcast_ctx *c = fcast_context(p->f[i]);
		int k = window > 0 && window < c->n ? window : c->n;

		bufs[i] = k > 0 ? malloc((size_t)k * sizeof(double)) : NULL;
		if (!bufs[i])
			continue;
		fcast_ctx_copy(c, bufs[i], k);
		s[n] = (struct fp_series){.role = p->metrics[i].role,
					  .x = bufs[i],
					  .n = k,
					  .periods = {c->periods[0], c->periods[1]},
					  .strength = {c->strength[0], c->strength[1]},
					  .anomaly_rate = anom_rate(p->a[i])};
		n++;
	}
	fp_compute(out, s, n, p->p.step_s);
	for (int i = 0; i < p->p.n_metrics; i++)
		free(bufs[i]);
}

static void refresh_fp(struct profile *p)
{
	struct fp recent;
	int day = (int)(86400 / p->p.step_s);
	double sim;

	compute_fp(p, 0, &p->fp);
	if (p->steps < 2 * day) { /* no baseline longer than the recent window yet */
		p->fp_departure = 0;
		return;
	}
	compute_fp(p, day, &recent);
	sim = fp_similarity(&recent, &p->fp);
	p->fp_departure = sim >= 0.7 ? 0 : sim <= 0.3 ? 1 : (0.7 - sim) / 0.4;
}

int profile_update(struct profile *p, const double *values)
{
	if (!values)
		return -EINVAL;
	for (int i = 0; i < p->p.n_metrics; i++) {
		fcast_update(p->f[i], values[i]);
		p->score[i] =
		    isfinite(values[i]) ? anom_update(p->a[i], fcast_last_score(p->f[i])) : 0;
	}
	if (++p->steps % PROFILE_FP_EVERY == 0)
		refresh_fp(p);
	return 0;
}

int profile_forecast(struct profile *p, int metric, int h, double coverage, struct fcast_point *out)
{
	if (metric < 0 || metric >= p->p.n_metrics)
		return -EINVAL;
	return fcast_forecast(p->f[metric], h, coverage, out);
}

double profile_anomaly(const struct profile *p, int metric)
{
	return metric >= 0 && metric < p->p.n_metrics ? p->score[metric] : 0;
}

double profile_anomaly_overall(const struct profile *p)
{
	double s = p->fp_departure;

	for (int i = 0; i < p->p.n_metrics; i++)
		s = fmax(s, p->score[i]);
	return s;
}

void profile_fingerprint(const struct profile *p, struct fp *out)
{
	*out = p->fp;
}

int64_t profile_steps(const struct profile *p)
{
	return p->steps;
}

static void put_str(struct sbuf *b, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	sbuf_u32(b, n);
	sbuf_put(b, s, n);
}

/* Header: what a file must match to be loaded into these parameters. */
static void save_header(const struct profile *p, struct sbuf *b)
{
	sbuf_u32(b, PROFILE_MAGIC);
	sbuf_u32(b, PROFILE_VERSION);
	sbuf_u32(b, (uint32_t)p->p.n_metrics);
	for (int i = 0; i < p->p.n_metrics; i++) {
		put_str(b, p->names[i]);
		sbuf_u32(b, (uint32_t)p->metrics[i].role);
	}
	put_str(b, p->model);
	sbuf_f64(b, p->p.step_s);
	sbuf_u32(b, (uint32_t)p->p.max_horizon);
	sbuf_u32(b, (uint32_t)p->p.season);
	sbuf_f64(b, p->p.coverage);
}

int profile_save(struct profile *p, const char *path)
{
	struct sbuf b = {0};
	int rc;

	save_header(p, &b);
	sbuf_i64(&b, p->steps);
	fp_serialize(&p->fp, &b);
	sbuf_f64(&b, p->fp_departure);
	for (int i = 0; i < p->p.n_metrics; i++) {
		struct sbuf m = {0};

		rc = fcast_save(p->f[i], &m);
		sbuf_u32(&b, (uint32_t)m.len);
		sbuf_put(&b, m.data, m.len);
		if (rc && !b.err)
			b.err = rc;
		sbuf_release(&m);
		anom_save(p->a[i], &b);
		sbuf_f64(&b, p->score[i]);
	}
	rc = b.err ? b.err : state_write_atomic(path, b.data, b.len);
	sbuf_release(&b);
	return rc;
}

/* Restore everything after the header into p; 0 or -errno. */
static int load_body(struct profile *p, struct sbuf_reader *r)
{
	int rc;

	p->steps = sbuf_get_i64(r);
	if ((rc = fp_deserialize(&p->fp, r)))
		return rc;
	p->fp_departure = fmin(fmax(sbuf_get_f64(r), 0), 1);
	for (int i = 0; i < p->p.n_metrics && !r->err; i++) {
		uint32_t len = sbuf_get_u32(r);

		if (r->err || len > r->len - r->pos)
			return -EBADMSG;
		rc = fcast_load(p->f[i], r->data + r->pos, len);
		if (rc)
			return rc;
		r->pos += len;
		if ((rc = anom_load(p->a[i], r)))
			return rc;
		p->score[i] = fmin(fmax(sbuf_get_f64(r), 0), 1);
	}
	return r->err ? r->err : r->pos == r->len ? 0 : -EBADMSG;
}

struct profile *profile_load(const char *path, const struct profile_params *params)
{
	struct profile *p = profile_new(params);
	struct sbuf hdr = {0};
	struct sbuf_reader r;
	size_t len;
	void *buf;
	int rc;

	if (!p)
		return NULL;
	buf = state_read_file(path, PROFILE_MAX_FILE, &len);
	if (!buf) {
		rc = -errno;
		goto fail;
	}
	save_header(p, &hdr);
	rc = hdr.err ? hdr.err : len < hdr.len || memcmp(buf, hdr.data, hdr.len) ? -ENOMSG : 0;
	if (!rc) {
		sbuf_reader_init(&r, buf, len);
		r.pos = hdr.len;
		rc = load_body(p, &r);
	}
	sbuf_release(&hdr);
	free(buf);
	if (rc == -ENOMSG)
		log_warn("ignoring state file %s: another version or layout", path);
	else if (rc)
		log_warn("ignoring state file %s: %s", path, strerror(-rc));
	if (!rc)
		return p;
fail:
	profile_free(p);
	errno = -rc;
	return NULL;
}

void profile_model_path(const char *state_dir, const char *key, char *buf, size_t len)
{
	char k[512];

	state_key_to_file(key, k, sizeof(k));
	snprintf(buf, len, "%s/models/%s.model", state_dir, k);
}

void profile_fp_path(const char *state_dir, const char *key, char *buf, size_t len)
{
	char k[512];

	state_key_to_file(key, k, sizeof(k));
	snprintf(buf, len, "%s/fingerprints/%s.fp", state_dir, k);
}

/* The params point into the struct itself: re-aim them after a struct copy. */
static void fix_pointers(struct profile *p)
{
	p->p.model = p->model;
	p->p.metrics = p->metrics;
	for (int i = 0; i < p->p.n_metrics; i++)
		p->metrics[i].name = p->names[i];
}

int profile_cold_start(struct profile *p, const char *state_dir, const char *const *keys, int n)
{
	struct fp *c = calloc((size_t)(n > 0 ? n : 1), sizeof(*c));
	int *idx = calloc((size_t)(n > 0 ? n : 1), sizeof(*idx)), m = 0, best;
	struct profile *donor = NULL, tmp;
	char path[4096];

	if (!c || !idx) {
		free(c);
		free(idx);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		profile_fp_path(state_dir, keys[i], path, sizeof(path));
		if (fp_load(path, &c[m]) == 0)
			idx[m++] = i;
	}
	/* Closest first; fall back to the next ones if a model file is unusable. */
	while (m > 0 && !donor) {
		best = fp_closest(p->fp.present ? &p->fp : NULL, c, m);
		profile_model_path(state_dir, keys[idx[best]], path, sizeof(path));
		donor = profile_load(path, &p->p);
		if (!donor) {
			c[best] = c[m - 1];
			idx[best] = idx[--m];
		} else {
			best = idx[best];
			tmp = *p;
			*p = *donor;
			*donor = tmp;
			fix_pointers(p);
			profile_free(donor);
			free(c);
			free(idx);
			return best;
		}
	}
	free(c);
	free(idx);
	return -ENOENT;
}
