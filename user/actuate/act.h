/*
 * act.h - actuation: drivers that change containers, and the safety layer
 * every change goes through.
 *
 * A driver is a struct of function pointers with a name (docker, swarm,
 * cgroupfs, dryrun), looked up from a table.  Callers never call a driver's
 * ops directly: act_resize() and act_scale() check that the target is
 * enabled (presage.enable=true or listed in the config), clamp the request
 * to its bounds, honour --dry-run (no mutating call at all, whatever the
 * driver), publish a BUS_RESIZE / BUS_SCALE event with the action and reason,
 * and log one line.  Drivers may block (they run on the actuation worker,
 * never on the telemetry thread) but every API call they make has a timeout.
 *
 * The driver also measures each group's start-up time (container create ->
 * running), which the policy uses as its lead time for pre-warming.
 */
#ifndef PRESAGE_ACT_H
#define PRESAGE_ACT_H

#include "containers/labels.h"
#include "core/snapshot.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctr_identity;

#define ACT_MANAGED_LABEL "presage.managed-by"
#define ACT_MANAGED_VALUE "presage"
#define ACT_MAX_REPLICAS  100   /* hard ceiling when a group names no max */
#define ACT_MAX_GROUPS    64    /* groups whose start-up time is remembered */

struct act_config {
	const char *docker_host;   /* docker/swarm endpoint; NULL: $DOCKER_HOST or default */
	long timeout_ms;           /* per API call; <= 0: 10 s */
	int stop_timeout_s;        /* graceful stop before removal; <= 0: 10 s */
	int ready_timeout_s;       /* wait for new replicas to run; <= 0: 30 s */
	const char *const *cgroups;/* cgroupfs: the only cgroups it may write (relative paths) */
	size_t n_cgroups;
	const char *cgroup_v2;     /* cgroupfs: v2 mount; NULL: from mountinfo */
	const char *cgroup_v1_cpu; /* cgroupfs: v1 cpu mount; NULL: from mountinfo ("" none) */
	const char *cgroup_v1_mem; /* cgroupfs: v1 memory mount; NULL: from mountinfo */
	bool dry_run;              /* --dry-run: never call a mutating operation */
};

/* One container (or plain cgroup) to resize. */
struct act_target {
	char id[SNAP_ID_LEN];
	char name[SNAP_NAME_LEN];
	char cgroup[SNAP_CGROUP_LEN];
	char service[SNAP_SERVICE_LEN];
	bool enabled;
	struct ctr_settings settings; /* bounds: cpu.min/max, memory.min/max */
};

/* A resize request; a zero field leaves that resource unchanged. */
struct act_resize {
	double cpus;              /* cores (quota), > 0 */
	int64_t memory;           /* bytes, >= 4 MiB */
	unsigned int cpu_weight;  /* 1..10000 (cgroup v2 cpu.weight scale) */
};

/* A replica group: a plain-Docker service (presage.service) or a Swarm service. */
struct act_group {
	char service[SNAP_SERVICE_LEN];
	bool enabled;
	int min, max;             /* max 0: ACT_MAX_REPLICAS */
};

struct act_driver;

struct act_ops {
	const char *name;
	int (*open)(struct act_driver *d);
	void (*close)(struct act_driver *d);
	/* Apply r to t; fill prev with the values before (0 when unknown). */
	int (*resize)(struct act_driver *d, const struct act_target *t, const struct act_resize *r,
		      struct act_resize *prev);
	/* Current replicas of g (read-only, allowed in dry-run). */
	int (*replicas)(struct act_driver *d, const struct act_group *g, int *out);
	/*
	 * Move g from `from` to `to` replicas (both already within bounds);
	 * returns the replica count reached (a scale-down may stop short when
	 * too few replicas are presage-managed) or -errno.
	 */
	int (*scale)(struct act_driver *d, const struct act_group *g, int from, int to);
};

/* Start-up of a group's replicas: two measurements, each a smoothed mean. */
struct act_startup_stat {
	double last, mean;        /* seconds */
	unsigned int samples;
};

struct act_startup {
	char service[SNAP_SERVICE_LEN];
	struct act_startup_stat running; /* create -> running (the driver) */
	struct act_startup_stat serving; /* scale-up -> first request served (the engine) */
};

struct act_driver {
	const struct act_ops *ops;
	struct act_config cfg;    /* strings and list are private copies */
	void *priv;
	pthread_mutex_t lock;     /* startup table */
	struct act_startup startup[ACT_MAX_GROUPS];
	size_t n_startup;
};

/* Driver ops by name ("docker", "swarm", "cgroupfs", "dryrun"), or NULL. */
const struct act_ops *act_ops_find(const char *name);
/* Names of every driver, NULL-terminated. */
extern const char *const act_driver_names[];

/*
 * Open driver `name` with cfg (copied).  NULL + errno: ENOENT unknown
 * driver, EINVAL bad config, ENOMEM, or the driver's own open error.
 */
struct act_driver *act_driver_new(const char *name, const struct act_config *cfg);
void act_driver_free(struct act_driver *d);
const char *act_driver_name(const struct act_driver *d);

/*
 * Resize t in place after the safety checks (enabled, bounds, dry-run);
 * publishes BUS_RESIZE.  0, -EPERM (not enabled / not allowed), -EINVAL
 * (nothing valid to do), -ENOENT (container gone), or the driver's error.
 */
int act_resize(struct act_driver *d, const struct act_target *t, const struct act_resize *r,
	       const char *reason);

/*
 * Scale g to `replicas`, clamped to [min, max]; publishes BUS_SCALE.  A no-op
 * (0) when already there.  0, -EPERM, -EOPNOTSUPP (driver cannot scale), or
 * the driver's error (a failed scale-up leaves no partial replicas behind).
 */
int act_scale(struct act_driver *d, const struct act_group *g, int replicas, const char *reason);

/* Current replicas of g; 0 or -errno. */
int act_replicas(struct act_driver *d, const struct act_group *g, int *out);

/*
 * Measured start-up time of a group's replicas (mean seconds): until the
 * first new replica served a request, from the scale-up, when that was ever
 * seen (request telemetry), else from create to running; NAN before any.
 */
double act_startup_seconds(struct act_driver *d, const char *service);
/* Both figures (NAN when not measured yet); either pointer may be NULL. */
void act_startup_get(struct act_driver *d, const char *service, double *running,
		     double *serving);
/* Record one create -> running measurement (drivers call this). */
void act_record_startup(struct act_driver *d, const char *service, double seconds);
/* Record one scale-up -> first request served measurement (the engine). */
void act_record_serving(struct act_driver *d, const char *service, double seconds);

/*
 * Swarm and docker drivers (the docker driver hands Swarm services to the
 * swarm ops): group of Swarm service `service` (name or id) from its
 * service labels (presage.enable, presage.min, presage.max).  0, -ENOENT,
 * -EOPNOTSUPP (other driver or a global service), or the API error.
 */
int act_swarm_group(struct act_driver *d, const char *service, struct act_group *out);
/*
 * Every presage.* setting of Swarm service `service` from its service labels
 * (`docker service create --label`), for the engine: a service's tasks do
 * not carry them.  Same returns as act_swarm_group().
 */
int act_swarm_settings(struct act_driver *d, const char *service, char *name, size_t name_len,
		       struct ctr_settings *out);

/* Target and group from a registry identity (settings give the bounds). */
void act_target_from_identity(struct act_target *t, const struct ctr_identity *c);
void act_group_from_identity(struct act_group *g, const struct ctr_identity *c);

/* Docker <-> cgroup CPU weight conversions (shares 2..262144 <-> weight 1..10000). */
unsigned int act_weight_to_shares(unsigned int weight);
unsigned int act_shares_to_weight(unsigned int shares);

#endif
