/*
 * snapshot.c - publication of immutable snapshots; see snapshot.h.
 *
 * A mutex guards only the pointer swap and the reference counts; readers
 * never hold it while they read, so a slow HTTP client cannot stall the tick.
 */
#include "core/snapshot.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const double prom_le_bounds[PROM_LE_COUNT] = {
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10,
};

const char *const code_class_names[CODE__COUNT] = { "1xx", "2xx", "3xx", "4xx", "5xx", "other" };

static struct pub_slot slot = PUB_SLOT_INIT;

static void snapshot_free(struct pub_obj *o)
{
	struct snapshot *s = (struct snapshot *)((char *)o - offsetof(struct snapshot, pub));

	free(s->c);
	free(s);
}

struct snapshot *snapshot_new(size_t n)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = calloc(n ? n : 1, sizeof(*s->c));
	if (!s->c) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->n = n;
	for (size_t i = 0; i < n; i++)
		for (int m = 0; m < MET__COUNT; m++)
			s->c[i].v[m] = NAN;
	s->pub.refs = 1;
	s->pub.free = snapshot_free;
	return s;
}

void snapshot_publish(struct snapshot *s)
{
	pub_set(&slot, s ? &s->pub : NULL);
}

struct snapshot *snapshot_acquire(void)
{
	struct pub_obj *o = pub_get(&slot);

	return o ? (struct snapshot *)((char *)o - offsetof(struct snapshot, pub)) : NULL;
}

void snapshot_release(struct snapshot *s)
{
	if (s)
		pub_put(&slot, &s->pub);
}

const struct cont_snap *snapshot_find(const struct snapshot *s, const char *key)
{
	size_t klen = strlen(key);
	const struct cont_snap *prefix = NULL;
	int prefix_hits = 0;

	if (!s || !klen)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct cont_snap *c = &s->c[i];

		if (!strcmp(c->id, key) || !strcmp(c->name, key) || !strcmp(c->cgroup, key))
			return c;
		if (klen >= 4 && !strncmp(c->id, key, klen)) {
			prefix = c;
			prefix_hits++;
		}
	}
	return prefix_hits == 1 ? prefix : NULL;
}
