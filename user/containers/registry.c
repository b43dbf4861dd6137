/*
 * registry.c - cgroup id -> container identity; see registry.h.
 *
 * Entries live in a chained hash on cgid.  Each inspect in flight carries
 * (cgid, generation): an entry removed or re-added while its fetch was
 * running has a new generation, so a late answer can never be applied to the
 * wrong cgroup.  Callbacks of the Docker client run inside registry_poll()
 * (docker_client_perform), never with the registry lock held by the caller.
 */
#include "containers/registry.h"

#include "common/log.h"
#include "core/bus.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct reg_entry {
	struct ctr_identity id;
	bool label_enabled;       /* presage.enable=true on the container */
	uint64_t gen;
	struct reg_entry *next;
};

struct registry {
	pthread_mutex_t lock;
	struct docker_client *dc;
	struct reg_entry *buckets[NBUCKETS];
	size_t count, max;
	uint64_t next_gen;
	int changed;              /* identities changed since the last poll */
	char **cfg_keys;
	size_t n_cfg_keys;
};

struct fetch {
	struct registry *r;
	uint64_t cgid, gen;
};

static void on_event(const struct docker_event *ev, void *ctx);

struct registry *registry_new(struct docker_client *dc, size_t max)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->dc = dc;
	r->max = max ? max : 65536;
	if (dc && docker_client_watch_events(dc, on_event, r) < 0)
		log_warn("docker %s: event stream already followed elsewhere; identities refresh "
			 "on first sight only", docker_client_endpoint(dc));
	return r;
}

static void free_cfg_keys(struct registry *r)
{
	size_t i;

	for (i = 0; i < r->n_cfg_keys; i++)
		free(r->cfg_keys[i]);
	free(r->cfg_keys);
	r->cfg_keys = NULL;
	r->n_cfg_keys = 0;
}

void registry_free(struct registry *r)
{
	struct reg_entry *e, *next;
	size_t b;

	if (!r)
		return;
	for (b = 0; b < NBUCKETS; b++) {
		for (e = r->buckets[b]; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free_cfg_keys(r);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct reg_entry **slot_of(struct registry *r, uint64_t cgid)
{
	struct reg_entry **p = &r->buckets[(cgid * 0x9E3779B97F4A7C15ull) >> 54];

	while (*p && (*p)->id.cgid != cgid)
		p = &(*p)->next;
	return p;
}

static bool cfg_listed(const struct registry *r, const struct ctr_identity *c)
{
	size_t i;

	for (i = 0; i < r->n_cfg_keys; i++) {
		const char *k = r->cfg_keys[i];

		if (!strcmp(k, c->id) || !strcmp(k, c->name) || !strcmp(k, c->cgroup))
			return true;
	}
	return false;
}

/* Identity from the path alone: what is known before (or without) the runtime. */
static void identity_from_path(struct ctr_identity *c, uint64_t cgid, const char *relpath)
{
	char cid[CTR_ID_HEX + 1];

	memset(c, 0, sizeof(*c));
	c->cgid = cgid;
	snprintf(c->cgroup, sizeof(c->cgroup), "%s", relpath);
	c->runtime = cgpath_parse(relpath, cid, sizeof(cid));
	if (c->runtime == RT_CGROUP) {
		snprintf(c->id, sizeof(c->id), "%" PRIu64, cgid);
		snprintf(c->name, sizeof(c->name), "%s", relpath[0] == '/' ? relpath + 1 : relpath);
		c->resolved = true; /* nothing more to learn */
	} else {
		snprintf(c->id, sizeof(c->id), "%s", cid);
		snprintf(c->name, sizeof(c->name), "%.12s", cid);
	}
	c->running = true;
}

static void on_inspect(struct docker_client *dc, const struct docker_response *resp, void *ctx);

/* Start an inspect of e (lock held; docker_submit only queues). */
static void fetch_start(struct registry *r, struct reg_entry *e)
{
	struct fetch *f;
	char path[128];

	if (!r->dc || (e->id.runtime != RT_DOCKER && e->id.runtime != RT_PODMAN))
		return;
	f = malloc(sizeof(*f));
	if (!f)
		return;
	*f = (struct fetch){ .r = r, .cgid = e->id.cgid, .gen = e->gen };
	snprintf(path, sizeof(path), "/containers/%s/json", e->id.id);
	if (docker_submit(r->dc, "GET", path, NULL, on_inspect, f) < 0)
		free(f);
}

int registry_add(struct registry *r, uint64_t cgid, const char *relpath)
{
	struct reg_entry **p, *e;

	if (!relpath || relpath[0] != '/')
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	p = slot_of(r, cgid);
	if (*p && !strcmp((*p)->id.cgroup, relpath)) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	if (!*p && r->count >= r->max) {
		pthread_mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	e = *p ? *p : calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	if (!*p) {
		*p = e;
		r->count++;
	}
	identity_from_path(&e->id, cgid, relpath);
	e->id.settings.enabled = cfg_listed(r, &e->id);
	e->gen = ++r->next_gen;
	r->changed++;
	fetch_start(r, e);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int registry_remove(struct registry *r, uint64_t cgid)
{
	struct reg_entry **p, *e;

	pthread_mutex_lock(&r->lock);
	p = slot_of(r, cgid);
	e = *p;
	if (e) {
		*p = e->next;
		r->count--;
		r->changed++;
	}
	pthread_mutex_unlock(&r->lock);
	free(e);
	return e ? 0 : -ENOENT;
}

int registry_lookup(struct registry *r, uint64_t cgid, struct ctr_identity *out)
{
	struct reg_entry *e;

	pthread_mutex_lock(&r->lock);
	e = *slot_of(r, cgid);
	if (e)
		*out = e->id;
	pthread_mutex_unlock(&r->lock);
	return e ? 0 : -ENOENT;
}

/* Does e match key (full id, id prefix of 12+ chars, name or cgroup path)? */
static bool entry_matches(const struct reg_entry *e, const char *key)
{
	size_t kl = strlen(key);

	if (!strcmp(e->id.id, key) || !strcmp(e->id.name, key) || !strcmp(e->id.cgroup, key))
		return true;
	return kl >= 12 && !strncmp(e->id.id, key, kl);
}

static struct reg_entry *find_locked(struct registry *r, const char *key)
{
	struct reg_entry *e;
	size_t b;

	for (b = 0; b < NBUCKETS; b++)
		for (e = r->buckets[b]; e; e = e->next)
			if (entry_matches(e, key))
				return e;
	return NULL;
}

int registry_find(struct registry *r, const char *key, struct ctr_identity *out)
{
	struct reg_entry *e;

	if (!key || !*key)
		return -ENOENT;
	pthread_mutex_lock(&r->lock);
	e = find_locked(r, key);
	if (e)
		*out = e->id;
	pthread_mutex_unlock(&r->lock);
	return e ? 0 : -ENOENT;
}

size_t registry_list(struct registry *r, struct ctr_identity *out, size_t max)
{
	struct reg_entry *e;
	size_t b, n = 0;

	pthread_mutex_lock(&r->lock);
	for (b = 0; b < NBUCKETS && n < max; b++)
		for (e = r->buckets[b]; e && n < max; e = e->next)
			out[n++] = e->id;
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t registry_count(struct registry *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* Re-evaluate config enablement of every entry (lock held). */
static void reapply_config(struct registry *r)
{
	struct reg_entry *e;
	size_t b;

	for (b = 0; b < NBUCKETS; b++)
		for (e = r->buckets[b]; e; e = e->next)
			e->id.settings.enabled = e->label_enabled || cfg_listed(r, &e->id);
}

int registry_set_config_enabled(struct registry *r, const char *const *keys, size_t n)
{
	char **copy = calloc(n ? n : 1, sizeof(*copy));
	size_t i;

	if (!copy)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		copy[i] = strdup(keys[i]);
		if (!copy[i]) {
			while (i--)
				free(copy[i]);
			free(copy);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&r->lock);
	free_cfg_keys(r);
	r->cfg_keys = copy;
	r->n_cfg_keys = n;
	reapply_config(r);
	r->changed++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Fill the runtime metadata of e from an inspect (lock held). */
static void apply_inspect(struct registry *r, struct reg_entry *e, const struct docker_container *d)
{
	struct ctr_identity *c = &e->id;
	/* Labels never change on a container: parse (and warn) once per label set. */
	bool same = c->resolved && c->n_labels == d->n_labels &&
		    !memcmp(c->labels, d->labels, d->n_labels * sizeof(d->labels[0]));

	snprintf(c->name, sizeof(c->name), "%s", d->name[0] ? d->name : c->name);
	snprintf(c->image, sizeof(c->image), "%s", d->image);
	c->running = d->running;
	c->created = d->created;
	c->started_at = d->started_at;
	if (!same) {
		c->n_labels = d->n_labels;
		memcpy(c->labels, d->labels, d->n_labels * sizeof(d->labels[0]));
		ctr_labels_service(d->labels, d->n_labels, c->service, sizeof(c->service));
		ctr_labels_parse(c->name, d->labels, d->n_labels, &c->settings);
		e->label_enabled = c->settings.enabled;
	}
	c->settings.enabled = e->label_enabled || cfg_listed(r, c);
	c->resolved = true;
}

static void on_inspect(struct docker_client *dc, const struct docker_response *resp, void *ctx)
{
	struct fetch *f = ctx;
	struct registry *r = f->r;
	struct docker_container d;
	struct reg_entry *e;
	int rc = resp->err;

	if (!rc && docker_parse_inspect(resp->body, resp->len, &d) < 0) {
		rc = -EPROTO;
		LOG_RATELIMITED(LOG_WARN, "docker %s: inspect answer is not valid JSON",
				docker_client_endpoint(dc));
	}
	pthread_mutex_lock(&r->lock);
	e = *slot_of(r, f->cgid);
	if (e && e->gen == f->gen) {
		if (!rc) {
			apply_inspect(r, e, &d);
			r->changed++;
		} else if (rc != -ENOENT && rc != -ECANCELED) {
			LOG_RATELIMITED(LOG_WARN, "failed to inspect container %s: %s", e->id.name,
					resp->errmsg);
		}
	}
	pthread_mutex_unlock(&r->lock);
	free(f);
}

/* Re-inspect every runtime container (lock held): after a stream outage. */
static void refetch_all(struct registry *r)
{
	struct reg_entry *e;
	size_t b;

	for (b = 0; b < NBUCKETS; b++)
		for (e = r->buckets[b]; e; e = e->next)
			fetch_start(r, e);
}

static void publish_lifecycle(const struct docker_event *ev, const struct reg_entry *e)
{
	const char *name = e ? e->id.name : ev->name;
	const char *service = e ? e->id.service : "";

	if (!strcmp(ev->action, "die"))
		bus_emit(BUS_CONTAINER, ev->id, name, service, "die", "runtime_event",
			 "container %s exited with code %d", name, ev->exit_code);
	else
		bus_emit(BUS_CONTAINER, ev->id, name, service, ev->action, "runtime_event",
			 "container %s: %s", name, ev->action);
}

/* Docker event callback (from docker_client_perform inside registry_poll). */
static void on_event(const struct docker_event *ev, void *ctx)
{
	struct registry *r = ctx;
	struct reg_entry *e;
	bool lifecycle = !strcmp(ev->action, "start") || !strcmp(ev->action, "die") ||
			 !strcmp(ev->action, "destroy");

	pthread_mutex_lock(&r->lock);
	if (!strcmp(ev->action, "resync")) {
		refetch_all(r);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	e = find_locked(r, ev->id);
	if (e && !strcmp(ev->action, "die")) {
		e->id.running = false;
		r->changed++;
	} else if (e && (!strcmp(ev->action, "start") || !strcmp(ev->action, "update") ||
			 !strcmp(ev->action, "rename"))) {
		fetch_start(r, e);
	}
	if (lifecycle)
		publish_lifecycle(ev, e);
	pthread_mutex_unlock(&r->lock);
}

int registry_poll(struct registry *r)
{
	int changed;

	if (r->dc)
		docker_client_perform(r->dc);
	pthread_mutex_lock(&r->lock);
	changed = r->changed;
	r->changed = 0;
	pthread_mutex_unlock(&r->lock);
	return changed;
}
