/*
 * prom_render.c - the metrics registry and the exposition of a snapshot:
 * built-in per-container and daemon families, then registered collectors in
 * registration order; see prom.h.
 */
#include "export/prom.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_COLLECTORS 32

static struct {
	char name[32];
	prom_collect_fn fn;
	void *ctx;
} collectors[MAX_COLLECTORS];
static int n_collectors;
/* Renders hold it shared; (un)registration exclusive, so a ctx outlives its use. */
static pthread_rwlock_t reg_lock = PTHREAD_RWLOCK_INITIALIZER;

int prom_register_collector(const char *name, prom_collect_fn fn, void *ctx)
{
	int rc = 0;

	if (!name || !*name || strlen(name) >= sizeof(collectors[0].name) || !fn)
		return -EINVAL;
	pthread_rwlock_wrlock(&reg_lock);
	for (int i = 0; i < n_collectors; i++)
		if (!strcmp(collectors[i].name, name))
			rc = -EEXIST;
	if (!rc && n_collectors == MAX_COLLECTORS)
		rc = -ENOSPC;
	if (!rc) {
		snprintf(collectors[n_collectors].name, sizeof(collectors[0].name), "%s", name);
		collectors[n_collectors].fn = fn;
		collectors[n_collectors].ctx = ctx;
		n_collectors++;
	}
	pthread_rwlock_unlock(&reg_lock);
	return rc;
}

int prom_unregister_collector(const char *name)
{
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&reg_lock);
	for (int i = 0; i < n_collectors; i++) {
		if (strcmp(collectors[i].name, name))
			continue;
		memmove(&collectors[i], &collectors[i + 1],
			(size_t)(n_collectors - i - 1) * sizeof(collectors[0]));
		n_collectors--;
		rc = 0;
		break;
	}
	pthread_rwlock_unlock(&reg_lock);
	return rc;
}

/* One family of metric_descs: a sample per container that has the value. */
static void render_metric(struct prom_writer *w, const struct snapshot *s, int m)
{
	const struct metric_desc *d = &metric_descs[m];
	struct prom_label l[4];

	prom_family(w, d->prom, d->type == METRIC_COUNTER ? PROM_COUNTER : PROM_GAUGE, d->help);
	for (size_t i = 0; s && i < s->n; i++) {
		if (isnan(s->c[i].v[m]))
			continue;
		prom_container_labels(&s->c[i], l);
		prom_sample(w, d->prom, l, 4, s->c[i].v[m]);
	}
}

static void render_hist(struct prom_writer *w, const char *name, const struct cont_snap *c,
			const struct hist_snap *h)
{
	struct prom_label l[5];
	char metric[128], le[32];

	prom_container_labels(c, l);
	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (int b = 0; b < PROM_LE_COUNT; b++) {
		snprintf(le, sizeof(le), "%g", prom_le_bounds[b]);
		l[4] = (struct prom_label){ "le", le };
		prom_sample(w, metric, l, 5, (double)h->le[b]);
	}
	l[4] = (struct prom_label){ "le", "+Inf" };
	prom_sample(w, metric, l, 5, (double)h->count);
	snprintf(metric, sizeof(metric), "%s_sum", name);
	prom_sample(w, metric, l, 4, h->sum_seconds);
	snprintf(metric, sizeof(metric), "%s_count", name);
	prom_sample(w, metric, l, 4, (double)h->count);
}

/* Request figures exist only for containers whose requests are observed. */
static bool has_requests(const struct cont_snap *c)
{
	return !isnan(c->v[MET_REQUESTS]);
}

static void render_requests(struct prom_writer *w, const struct snapshot *s)
{
	static const char total[] = "presage_container_requests_total";
	static const char dur[] = "presage_container_request_duration_seconds";
	struct prom_label l[5];

	prom_family(w, total, PROM_COUNTER, "Requests served, by HTTP status class.");
	for (size_t i = 0; s && i < s->n; i++) {
		if (!has_requests(&s->c[i]))
			continue;
		prom_container_labels(&s->c[i], l);
		for (int k = 0; k < CODE__COUNT; k++) {
			l[4] = (struct prom_label){ "code_class", code_class_names[k] };
			prom_sample(w, total, l, 5, (double)s->c[i].req_by_class[k]);
		}
	}
	prom_family(w, dur, PROM_HISTOGRAM, "Request duration seen at the server, in seconds.");
	for (size_t i = 0; s && i < s->n; i++)
		if (has_requests(&s->c[i]))
			render_hist(w, dur, &s->c[i], &s->c[i].req);
}

static void render_containers(struct prom_writer *w, const struct snapshot *s)
{
	static const char runq[] = "presage_container_runqueue_latency_seconds";
	static const char start[] = "presage_container_start_time_seconds";
	struct prom_label l[4];

	for (int m = 0; m < MET__COUNT; m++)
		if (metric_descs[m].prom)
			render_metric(w, s, m);
	prom_family(w, runq, PROM_HISTOGRAM,
		    "Time runnable tasks waited for a CPU (wakeup or preemption to running), in seconds.");
	for (size_t i = 0; s && i < s->n; i++)
		render_hist(w, runq, &s->c[i], &s->c[i].runq);
	render_requests(w, s);
	prom_family(w, start, PROM_GAUGE, "Unix time presage first saw the container.");
	for (size_t i = 0; s && i < s->n; i++) {
		prom_container_labels(&s->c[i], l);
		prom_sample(w, start, l, 4, s->c[i].started);
	}
}

static void gauge(struct prom_writer *w, const char *name, const char *help, double v)
{
	prom_family(w, name, PROM_GAUGE, help);
	prom_sample(w, name, NULL, 0, v);
}

static void render_daemon(struct prom_writer *w, const struct snapshot *s)
{
	static const char events[] = "presage_bpf_events_total";
	static const char drops[] = "presage_ringbuf_dropped_events_total";
	const struct daemon_status *d = s ? &s->status : NULL;
	struct prom_label l[1] = { { "version", PRESAGE_VERSION } };

	prom_family(w, "presage_build_info", PROM_GAUGE, "Version of presaged, value 1.");
	prom_sample(w, "presage_build_info", l, 1, 1);
	prom_family(w, events, PROM_COUNTER, "Runs of each BPF program.");
	for (int i = 0; d && i < d->n_progs && i < 32; i++) {
		l[0] = (struct prom_label){ "program", d->bpf_prog_names[i] };
		prom_sample(w, events, l, 1, (double)d->bpf_events[i]);
	}
	prom_family(w, drops, PROM_COUNTER, "Events lost because the ring buffer was full.");
	if (d)
		prom_sample(w, drops, NULL, 0, (double)d->ringbuf_dropped);
	if (!d)
		return;
	gauge(w, "presage_bpf_programs_attached", "BPF programs attached.", d->programs_attached);
	gauge(w, "presage_bpf_programs", "BPF programs presaged can attach.", d->programs_total);
	gauge(w, "presage_containers", "Containers and cgroups tracked.", (double)s->n);
	gauge(w, "presage_docker_connected", "1 when the Docker Engine API answers.",
	      d->docker_connected);
	gauge(w, "presage_start_time_seconds", "Unix time presaged started.", d->started);
	gauge(w, "presage_last_tick_timestamp_seconds", "Unix time of the latest snapshot.", s->time);
	gauge(w, "presage_tick_duration_seconds", "Time spent building the latest snapshot.",
	      d->last_tick_duration);
}

int prom_render_snapshot(struct prom_writer *w, const struct snapshot *s)
{
	render_containers(w, s);
	render_daemon(w, s);
	pthread_rwlock_rdlock(&reg_lock);
	for (int i = 0; i < n_collectors; i++)
		collectors[i].fn(w, s, collectors[i].ctx);
	pthread_rwlock_unlock(&reg_lock);
	return w->oom ? -ENOMEM : 0;
}
