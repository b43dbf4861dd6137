/*
 * act.c - the actuation safety layer and driver table; see act.h.
 *
 * Everything that changes a container passes here, so the rules live once:
 * opt-in (enabled), bounds, dry-run, one event and one log line per action.
 * In dry-run the driver's mutating ops are never called - only the read-only
 * replicas() - and the event says what would have happened.
 */
#include "actuate/act.h"

#include "common/log.h"
#include "containers/registry.h"
#include "core/bus.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct act_ops act_docker_ops, act_swarm_ops, act_cgroupfs_ops, act_dryrun_ops;

static const struct act_ops *const table[] = {
	&act_docker_ops, &act_swarm_ops, &act_cgroupfs_ops, &act_dryrun_ops,
};

const char *const act_driver_names[] = { "docker", "swarm", "cgroupfs", "dryrun", NULL };

const struct act_ops *act_ops_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i]->name, name))
			return table[i];
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_cfg(struct act_config *c)
{
	size_t i;

	free((char *)c->docker_host);
	free((char *)c->cgroup_v2);
	free((char *)c->cgroup_v1_cpu);
	free((char *)c->cgroup_v1_mem);
	for (i = 0; c->cgroups && i < c->n_cgroups; i++)
		free((char *)c->cgroups[i]);
	free((void *)c->cgroups);
}

/* Deep copy of cfg with defaults filled in; 0 or -ENOMEM. */
static int copy_cfg(struct act_config *dst, const struct act_config *src)
{
	const char **list;
	size_t i;

	*dst = *src;
	dst->timeout_ms = src->timeout_ms > 0 ? src->timeout_ms : 10000;
	dst->stop_timeout_s = src->stop_timeout_s > 0 ? src->stop_timeout_s : 10;
	dst->ready_timeout_s = src->ready_timeout_s > 0 ? src->ready_timeout_s : 30;
	dst->docker_host = dup_or_null(src->docker_host);
	dst->cgroup_v2 = dup_or_null(src->cgroup_v2);
	dst->cgroup_v1_cpu = dup_or_null(src->cgroup_v1_cpu);
	dst->cgroup_v1_mem = dup_or_null(src->cgroup_v1_mem);
	list = calloc(src->n_cgroups + 1, sizeof(*list));
	dst->cgroups = list;
	if (!list)
		return -ENOMEM;
	for (i = 0; i < src->n_cgroups; i++)
		if (!(list[i] = strdup(src->cgroups[i])))
			return -ENOMEM;
	return 0;
}

struct act_driver *act_driver_new(const char *name, const struct act_config *cfg)
{
	const struct act_ops *ops = act_ops_find(name);
	static const struct act_config none;
	struct act_driver *d;
	int rc;

	if (!ops) {
		errno = ENOENT;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->ops = ops;
	pthread_mutex_init(&d->lock, NULL);
	rc = copy_cfg(&d->cfg, cfg ? cfg : &none);
	/* The dryrun driver is dry-run by definition: the safety layer says "would". */
	if (ops == &act_dryrun_ops)
		d->cfg.dry_run = true;
	if (!rc && ops->open)
		rc = ops->open(d);
	if (rc < 0) {
		act_driver_free(d);
		errno = -rc;
		return NULL;
	}
	return d;
}

void act_driver_free(struct act_driver *d)
{
	if (!d)
		return;
	if (d->priv && d->ops->close)
		d->ops->close(d);
	free_cfg(&d->cfg);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

const char *act_driver_name(const struct act_driver *d)
{
	return d->ops->name;
}

/* Clamp r to t's bounds into out; false when nothing valid remains. */
static bool clamp_resize(const struct act_target *t, const struct act_resize *r,
			 struct act_resize *out)
{
	const struct ctr_settings *s = &t->settings;

	*out = *r;
	if (!(isfinite(out->cpus) && out->cpus > 0))
		out->cpus = 0;
	if (out->cpus > 0 && (s->has & CS_CPU_MIN) && out->cpus < s->cpu_min)
		out->cpus = s->cpu_min;
	if (out->cpus > 0 && (s->has & CS_CPU_MAX) && out->cpus > s->cpu_max)
		out->cpus = s->cpu_max;
	if (out->cpus > 0 && out->cpus < 0.01)
		out->cpus = 0.01;
	if (out->memory > 0 && (s->has & CS_MEM_MIN) && out->memory < s->mem_min)
		out->memory = s->mem_min;
	if (out->memory > 0 && (s->has & CS_MEM_MAX) && out->memory > s->mem_max)
		out->memory = s->mem_max;
	if (out->memory > 0 && out->memory < (4LL << 20))
		out->memory = 0;
	if (out->memory < 0)
		out->memory = 0;
	if (out->cpu_weight > 10000)
		out->cpu_weight = 10000;
	return out->cpus > 0 || out->memory > 0 || out->cpu_weight > 0;
}

static const char *resize_action(const struct act_resize *r)
{
	int n = (r->cpus > 0) + (r->memory > 0) + (r->cpu_weight > 0);

	if (n > 1)
		return "resize";
	return r->cpus > 0 ? "resize_cpu" : r->memory > 0 ? "resize_memory" : "resize_weight";
}

/* "cpu 1->1.5 cores, memory 64Mi->128Mi" into buf. */
static void describe_resize(char *buf, size_t len, const struct act_resize *p,
			    const struct act_resize *r)
{
	char from[32];
	int off = 0;

	/* A previous value of 0 means unknown or unlimited: print it as such. */
	buf[0] = '\0';
	if (r->cpus > 0) {
		snprintf(from, sizeof(from), p->cpus > 0 ? "%.3g" : "unlimited", p->cpus);
		off += snprintf(buf + off, len - (size_t)off, "cpu %s->%.3g cores", from, r->cpus);
	}
	if (r->memory > 0 && (size_t)off < len) {
		snprintf(from, sizeof(from), p->memory > 0 ? "%.1fMi" : "unlimited",
			 (double)p->memory / 1048576.0);
		off += snprintf(buf + off, len - (size_t)off, "%smemory %s->%.1fMi", off ? ", " : "",
				from, (double)r->memory / 1048576.0);
	}
	if (r->cpu_weight > 0 && (size_t)off < len) {
		snprintf(from, sizeof(from), p->cpu_weight ? "%u" : "default", p->cpu_weight);
		snprintf(buf + off, len - (size_t)off, "%scpu weight %s->%u", off ? ", " : "", from,
			 r->cpu_weight);
	}
}

int act_resize(struct act_driver *d, const struct act_target *t, const struct act_resize *r,
	       const char *reason)
{
	struct act_resize want, prev = { 0 };
	char what[160];
	int rc;

	reason = reason && *reason ? reason : "unspecified";
	if (!t->enabled) {
		LOG_RATELIMITED(LOG_WARN, "refusing to resize %s: not enabled (label presage.enable=true "
				"or list it in the config)", t->name);
		return -EPERM;
	}
	if (!clamp_resize(t, r, &want))
		return -EINVAL;
	if (!d->ops->resize)
		return -EOPNOTSUPP;
	if (!d->cfg.dry_run || d->ops == &act_dryrun_ops) {
		rc = d->ops->resize(d, t, &want, &prev);
		if (rc < 0)
			return rc;
	}
	describe_resize(what, sizeof(what), &prev, &want);
	log_info("%s%s %s: %s (%s)", d->cfg.dry_run ? "dry-run: would " : "",
		 d->cfg.dry_run ? "resize" : "resized", t->name, what, reason);
	bus_emit(BUS_RESIZE, t->id, t->name, t->service, resize_action(&want), reason, "%s%s",
		 d->cfg.dry_run ? "dry-run: " : "", what);
	return 0;
}

int act_replicas(struct act_driver *d, const struct act_group *g, int *out)
{
	if (!d->ops->replicas)
		return -EOPNOTSUPP;
	return d->ops->replicas(d, g, out);
}

int act_scale(struct act_driver *d, const struct act_group *g, int replicas, const char *reason)
{
	int max = g->max > 0 ? g->max : ACT_MAX_REPLICAS, min = g->min > 0 ? g->min : 0;
	int cur, rc;

	reason = reason && *reason ? reason : "unspecified";
	if (!g->enabled) {
		LOG_RATELIMITED(LOG_WARN, "refusing to scale service %s: not enabled (label "
				"presage.enable=true or list it in the config)", g->service);
		return -EPERM;
	}
	if (!d->ops->scale || !d->ops->replicas)
		return -EOPNOTSUPP;
	if (min > max) { /* e.g. presage.min=500 without presage.max: never past the ceiling */
		LOG_RATELIMITED(LOG_WARN, "refusing to scale service %s: min replicas %d above max %d",
				g->service, min, max);
		return -EINVAL;
	}
	replicas = replicas < min ? min : replicas > max ? max : replicas;
	rc = d->ops->replicas(d, g, &cur);
	if (rc < 0)
		return rc;
	if (cur == replicas)
		return 0;
	/* Only the dryrun driver's scale (it just remembers the count) runs in dry-run. */
	if (!d->cfg.dry_run || d->ops == &act_dryrun_ops) {
		rc = d->ops->scale(d, g, cur, replicas);
		if (rc < 0)
			return rc;
		replicas = rc;
		if (replicas == cur)
			return -EPERM;
	}
	log_info("%s service %s from %d to %d replicas (%s)",
		 d->cfg.dry_run ? "dry-run: would scale" : "scaled", g->service, cur, replicas, reason);
	bus_emit(BUS_SCALE, "", "", g->service, replicas > cur ? "scale_up" : "scale_down", reason,
		 "%sreplicas %d -> %d", d->cfg.dry_run ? "dry-run: " : "", cur, replicas);
	return 0;
}

static double stat_mean(const struct act_startup_stat *st)
{
	return st->samples ? st->mean : NAN;
}

void act_startup_get(struct act_driver *d, const char *service, double *running,
		     double *serving)
{
	double r = NAN, s = NAN;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->n_startup; i++)
		if (!strcmp(d->startup[i].service, service)) {
			r = stat_mean(&d->startup[i].running);
			s = stat_mean(&d->startup[i].serving);
		}
	pthread_mutex_unlock(&d->lock);
	if (running)
		*running = r;
	if (serving)
		*serving = s;
}

double act_startup_seconds(struct act_driver *d, const char *service)
{
	double r, s;

	act_startup_get(d, service, &r, &s);
	return isfinite(s) ? s : r;
}

static void record(struct act_driver *d, const char *service, double seconds, bool serving)
{
	struct act_startup *s = NULL;
	struct act_startup_stat *st;
	size_t i;

	if (!isfinite(seconds) || seconds < 0)
		return;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->n_startup && !s; i++)
		if (!strcmp(d->startup[i].service, service))
			s = &d->startup[i];
	if (!s && d->n_startup < ACT_MAX_GROUPS) {
		s = &d->startup[d->n_startup++];
		snprintf(s->service, sizeof(s->service), "%s", service);
	}
	if (s) {
		st = serving ? &s->serving : &s->running;
		st->last = seconds;
		st->samples++;
		/* Running mean for the first few, then an EWMA that follows drift. */
		st->mean += (seconds - st->mean) / (st->samples < 8 ? st->samples : 8);
	}
	pthread_mutex_unlock(&d->lock);
}

void act_record_startup(struct act_driver *d, const char *service, double seconds)
{
	record(d, service, seconds, false);
}

void act_record_serving(struct act_driver *d, const char *service, double seconds)
{
	record(d, service, seconds, true);
}

void act_target_from_identity(struct act_target *t, const struct ctr_identity *c)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", c->id);
	snprintf(t->name, sizeof(t->name), "%s", c->name);
	snprintf(t->cgroup, sizeof(t->cgroup), "%s", c->cgroup);
	snprintf(t->service, sizeof(t->service), "%s", c->service);
	t->enabled = c->settings.enabled;
	t->settings = c->settings;
}

void act_group_from_identity(struct act_group *g, const struct ctr_identity *c)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->service, sizeof(g->service), "%s", c->service);
	g->enabled = c->settings.enabled;
	g->min = (c->settings.has & CS_MIN) ? c->settings.min : 1;
	g->max = (c->settings.has & CS_MAX) ? c->settings.max : 0;
}

unsigned int act_weight_to_shares(unsigned int weight)
{
	if (weight < 1)
		weight = 1;
	if (weight > 10000)
		weight = 10000;
	/* Rounded both ways so weight -> shares -> weight is exact. */
	return 2 + (unsigned int)(((unsigned long)(weight - 1) * 262142UL + 4999UL) / 9999UL);
}

unsigned int act_shares_to_weight(unsigned int shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + (unsigned int)(((unsigned long)(shares - 2) * 9999UL + 131071UL) / 262142UL);
}
