/*
 * cgtable.h - the set of tracked cgroups, keyed by v2 cgroup id.
 *
 * Owned by the telemetry thread.  Each entry keeps the cgroup's relative
 * path, the tick tracker and the identity last resolved for it.  The table is
 * bounded (max entries fixed at creation): adding past the bound fails with
 * -ENOSPC so a cgroup storm cannot exhaust the daemon's memory.
 */
#ifndef PRESAGE_CGTABLE_H
#define PRESAGE_CGTABLE_H

#include "core/tracker.h"

#include <stddef.h>
#include <stdint.h>

struct cg_entry {
	uint64_t cgid;
	char path[SNAP_CGROUP_LEN];  /* relative to the v2 mount, "/a/b" */
	double first_seen;           /* unix seconds */
	unsigned int missed_scans;   /* consecutive rescans that did not see it */
	struct tracker tr;
	struct cg_entry *next;       /* hash chain (private) */
};

struct cgtable;

/* A table for at most max entries; NULL + errno on failure. */
struct cgtable *cgtable_new(size_t max);
void cgtable_free(struct cgtable *t);

/* Entry for cgid or NULL. */
struct cg_entry *cgtable_get(struct cgtable *t, uint64_t cgid);

/*
 * Add cgid with path (or return the existing entry, path refreshed).
 * NULL + errno ENOSPC when full, ENOMEM when out of memory.
 */
struct cg_entry *cgtable_add(struct cgtable *t, uint64_t cgid, const char *path);

/* Remove cgid; 0 or -ENOENT. */
int cgtable_del(struct cgtable *t, uint64_t cgid);

size_t cgtable_count(const struct cgtable *t);

/* Call fn for every entry (in no particular order); fn must not add or delete. */
void cgtable_foreach(struct cgtable *t, void (*fn)(struct cg_entry *e, void *ctx), void *ctx);

/* Collect up to max entry pointers into out (stable until the next add/del). */
size_t cgtable_list(struct cgtable *t, struct cg_entry **out, size_t max);

#endif
