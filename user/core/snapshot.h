/*
 * snapshot.h - the immutable per-tick view of every tracked container.
 *
 * The telemetry thread owns the live state and, once per tick, builds a new
 * snapshot and publishes it.  Everything else (engine worker, HTTP and
 * control-socket handlers) takes a reference with snapshot_acquire(), reads
 * it without locks, and drops it with snapshot_release().  A snapshot is never
 * modified after publication.
 */
#ifndef PRESAGE_SNAPSHOT_H
#define PRESAGE_SNAPSHOT_H

#include "core/metric.h"
#include "core/publish.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed `le` bounds (seconds) exported for latency histograms. */
#define PROM_LE_COUNT 19
extern const double prom_le_bounds[PROM_LE_COUNT];

/* A latency histogram reduced to Prometheus form (cumulative since start). */
struct hist_snap {
	uint64_t count;
	double sum_seconds;
	uint64_t le[PROM_LE_COUNT]; /* cumulative counts <= bound; +Inf is count */
};

enum code_class { CODE_1XX, CODE_2XX, CODE_3XX, CODE_4XX, CODE_5XX, CODE_OTHER, CODE__COUNT };
extern const char *const code_class_names[CODE__COUNT];

#define SNAP_ID_LEN      72
#define SNAP_NAME_LEN    128
#define SNAP_CGROUP_LEN  256
#define SNAP_IMAGE_LEN   160
#define SNAP_SERVICE_LEN 128

struct cont_snap {
	char id[SNAP_ID_LEN];           /* full container id, or decimal cgroup id */
	char name[SNAP_NAME_LEN];       /* no leading '/' */
	char cgroup[SNAP_CGROUP_LEN];   /* path relative to the v2 mount */
	char image[SNAP_IMAGE_LEN];
	char service[SNAP_SERVICE_LEN]; /* "" when none */
	char runtime[16];               /* docker, containerd, crio, podman, cgroup */
	uint64_t cgroup_id;
	double started;                 /* unix seconds first seen */
	bool enabled;                   /* presage.enable=true or listed in config */
	double v[MET__COUNT];           /* NAN when missing */
	struct hist_snap runq;
	struct hist_snap req;
	uint64_t req_by_class[CODE__COUNT];
};

struct daemon_status {
	char driver[16];
	int programs_attached;
	int programs_total;
	double events_per_second;      /* ring-buffer events + BPF program runs/s */
	uint64_t ringbuf_dropped;
	uint64_t bpf_events[32];       /* per program, cumulative runs */
	char bpf_prog_names[32][32];
	int n_progs;
	bool docker_connected;
	size_t tracked_cgroups;        /* entries in the daemon's cgroup table */
	int64_t bpf_map_entries;       /* per-cgroup entries in the telemetry maps, -1 unknown */
	int64_t req_map_entries;       /* per-cgroup entries in the request maps */
	int64_t network_namespaces;    /* containers' namespaces sampled for accept queues */
	double started;                /* unix seconds */
	double tick_seconds;
	double last_tick_duration;     /* seconds spent building the last snapshot */
};

struct snapshot {
	uint64_t seq;
	double time;                   /* unix seconds of the sample */
	struct daemon_status status;
	size_t n;
	struct cont_snap *c;           /* sorted by id */
	struct pub_obj pub; /* private: reference count */
};

/* Allocate an empty snapshot for n containers (values NAN); NULL on ENOMEM. */
struct snapshot *snapshot_new(size_t n);

/*
 * Publish s as the current snapshot (takes ownership of the caller's
 * reference); the previous one is released.
 */
void snapshot_publish(struct snapshot *s);

/* The current snapshot with a reference taken, or NULL before the first tick. */
struct snapshot *snapshot_acquire(void);
void snapshot_release(struct snapshot *s);

/* Container by id, name, short id prefix (>= 4 chars) or cgroup path; NULL if none. */
const struct cont_snap *snapshot_find(const struct snapshot *s, const char *key);

#endif
