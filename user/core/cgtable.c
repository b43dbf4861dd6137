/*
 * cgtable.c - bounded hash table of tracked cgroups; see cgtable.h.
 */
#include "core/cgtable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct cgtable {
	struct cg_entry **buckets;
	size_t nbuckets;
	size_t count;
	size_t max;
};

static size_t slot(const struct cgtable *t, uint64_t cgid)
{
	/* Fibonacci hashing: cgroup ids are sequential, spread them. */
	return (size_t)((cgid * 11400714819323198485ull) >> 20) % t->nbuckets;
}

struct cgtable *cgtable_new(size_t max)
{
	struct cgtable *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = max ? max : 1;
	t->nbuckets = t->max < 64 ? 64 : t->max;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void cgtable_free(struct cgtable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct cg_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	free(t);
}

struct cg_entry *cgtable_get(struct cgtable *t, uint64_t cgid)
{
	for (struct cg_entry *e = t->buckets[slot(t, cgid)]; e; e = e->next)
		if (e->cgid == cgid)
			return e;
	return NULL;
}

struct cg_entry *cgtable_add(struct cgtable *t, uint64_t cgid, const char *path)
{
	struct cg_entry *e = cgtable_get(t, cgid);
	struct timespec now;
	size_t s;

	if (e) {
		snprintf(e->path, sizeof(e->path), "%s", path);
		return e;
	}
	if (t->count >= t->max) {
		errno = ENOSPC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cgid = cgid;
	snprintf(e->path, sizeof(e->path), "%s", path);
	clock_gettime(CLOCK_REALTIME, &now);
	e->first_seen = (double)now.tv_sec + now.tv_nsec / 1e9;
	s = slot(t, cgid);
	e->next = t->buckets[s];
	t->buckets[s] = e;
	t->count++;
	return e;
}

int cgtable_del(struct cgtable *t, uint64_t cgid)
{
	struct cg_entry **pp = &t->buckets[slot(t, cgid)];

	for (; *pp; pp = &(*pp)->next) {
		struct cg_entry *e = *pp;

		if (e->cgid != cgid)
			continue;
		*pp = e->next;
		free(e);
		t->count--;
		return 0;
	}
	return -ENOENT;
}

size_t cgtable_count(const struct cgtable *t)
{
	return t->count;
}

void cgtable_foreach(struct cgtable *t, void (*fn)(struct cg_entry *e, void *ctx), void *ctx)
{
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct cg_entry *e = t->buckets[i]; e; e = e->next)
			fn(e, ctx);
}

size_t cgtable_list(struct cgtable *t, struct cg_entry **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nbuckets && n < max; i++)
		for (struct cg_entry *e = t->buckets[i]; e && n < max; e = e->next)
			out[n++] = e;
	return n;
}
