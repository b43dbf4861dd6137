/*
 * registry.h - cgroup id -> container identity, fed by telemetry and Docker.
 *
 * The telemetry thread reports cgroups as they appear and vanish
 * (registry_add / registry_remove, keyed by v2 cgroup id with the path
 * relative to the v2 mount).  The path names the runtime and container id
 * (cgpath.h); for Docker and Podman containers the rest of the identity -
 * name, image as configured, labels, service, presage.* settings - is fetched
 * asynchronously with an inspect request on first sight and refreshed on the
 * runtime's events (start, update, rename, and a full re-read after an event
 * stream outage).  Nothing here blocks: registry_poll() drives the Docker
 * client without waiting and applies whatever completed.
 *
 * Without a runtime (or for containerd/CRI-O containers, whose APIs presage
 * does not speak) an entry is still complete enough to track: plain cgroups
 * get id = decimal cgroup id and name = path without the leading '/';
 * containers get their full id and a 12-hex short name.
 *
 * All functions are thread-safe (one internal mutex); lookups return copies.
 */
#ifndef PRESAGE_REGISTRY_H
#define PRESAGE_REGISTRY_H

#include "containers/cgpath.h"
#include "containers/labels.h"
#include "core/snapshot.h"
#include "runtime/docker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctr_identity {
	uint64_t cgid;                  /* v2 cgroup id */
	char id[SNAP_ID_LEN];           /* container id, or decimal cgroup id */
	char name[SNAP_NAME_LEN];       /* no leading '/' */
	char cgroup[SNAP_CGROUP_LEN];   /* relative to the v2 mount */
	char image[SNAP_IMAGE_LEN];     /* Config.Image; "" until known */
	char service[SNAP_SERVICE_LEN]; /* "" when none */
	enum ctr_runtime runtime;
	bool resolved;                  /* runtime metadata applied */
	bool running;
	double created, started_at;     /* unix seconds, 0 when unknown */
	struct ctr_settings settings;   /* settings.enabled: presage.enable or config list */
	size_t n_labels;
	struct docker_label labels[DOCKER_MAX_LABELS];
};

struct registry;

/*
 * A registry for at most max entries.  dc (borrowed, may be NULL) is the
 * runtime API client used for metadata; the registry follows its /events
 * stream and drives it from registry_poll().  NULL + errno on failure.
 */
struct registry *registry_new(struct docker_client *dc, size_t max);
void registry_free(struct registry *r);

/*
 * Track cgroup cgid at relpath (re-adding refreshes the path).  Starts an
 * inspect for Docker/Podman containers.  0, -ENOSPC (full), -ENOMEM, -EINVAL.
 */
int registry_add(struct registry *r, uint64_t cgid, const char *relpath);

/* Forget cgid (also any fetch in flight for it); 0 or -ENOENT. */
int registry_remove(struct registry *r, uint64_t cgid);

/* Copy the identity of cgid into out; 0 or -ENOENT. */
int registry_lookup(struct registry *r, uint64_t cgid, struct ctr_identity *out);

/* Copy the entry whose id, 12+ char id prefix, name or cgroup path is key; 0 or -ENOENT. */
int registry_find(struct registry *r, const char *key, struct ctr_identity *out);

/* Copy up to max entries (in no particular order); returns how many. */
size_t registry_list(struct registry *r, struct ctr_identity *out, size_t max);

size_t registry_count(struct registry *r);

/*
 * Containers enabled by configuration in addition to the presage.enable label:
 * keys are names, ids or cgroup paths (copied).  0 or -ENOMEM.
 */
int registry_set_config_enabled(struct registry *r, const char *const *keys, size_t n);

/*
 * Drive the runtime client without blocking and apply finished fetches and
 * events.  Call once per tick (and whenever the client's fds are ready).
 * Returns the number of entries whose identity changed.
 */
int registry_poll(struct registry *r);

#endif
