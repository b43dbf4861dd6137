/*
 * engine.h - the engine worker: per-group series, behavioural profiles
 * (forecasts, anomaly scores, fingerprints), scaling decisions and
 * actuation, run on snapshots in a thread of their own.
 *
 * A group is a service (presage.service, Swarm or compose service) or a lone
 * container / cgroup.  Its demand is the sum over its members, so a new
 * replica never looks like falling load.  After every tick the worker
 * publishes an immutable `struct insight` that the control socket and
 * /metrics read.
 */
#ifndef PRESAGE_ENGINE_H
#define PRESAGE_ENGINE_H

#include "config/config.h"
#include "core/publish.h"
#include "core/snapshot.h"
#include "core/series.h"
#include "model/fcast.h"
#include "model/fp.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stdint.h>

#define ENGINE_MAX_GROUPS   512
#define ENGINE_MIN_STEPS    3   /* model steps a group lives before it gets one */
#define ENGINE_HORIZONS     3   /* 1 step, 5 steps, the group's lead time */
#define ENGINE_PATH         60  /* steps of forecast path kept for `presage forecast` */

struct ginsight {
	char key[SNAP_SERVICE_LEN > SNAP_ID_LEN ? SNAP_SERVICE_LEN : SNAP_ID_LEN];
	char service[SNAP_SERVICE_LEN];
	char state_key[SNAP_IMAGE_LEN]; /* service, else image, else cgroup path */
	int members;
	bool enabled;
	int64_t steps;                   /* model steps learnt */
	double last[SM__COUNT];          /* latest closed step, NAN missing */
	double horizon_s[ENGINE_HORIZONS];
	struct fcast_point fc[SM__COUNT][ENGINE_HORIZONS];
	/* largest point and upper bound from the lead time over the scale-down window */
	struct fcast_point fc_window[SM__COUNT];
	bool fc_valid;
	double origin;                   /* unix time of the newest step learnt */
	struct fcast_point path[SM__COUNT][ENGINE_PATH]; /* steps 1..ENGINE_PATH */
	double anomaly[SM__COUNT];
	double anomaly_overall;
	struct fp fp;
	bool has_fp;
	/* last scaling decision */
	bool has_decision;
	double decided_at;               /* unix seconds */
	char policy[POLICY_NAME_MAX];
	struct policy_input in;
	struct policy_output out;
	char action_result[160];         /* what actuation did with it */
	bool capacity_learned;           /* req/s per replica learnt, not labelled */
	double startup_running;          /* measured create -> running, NAN none */
	double startup_serving;          /* measured scale-up -> serving, NAN none */
	uint64_t actions[3];             /* applied: scale_up, scale_down, resize */
	/*
	 * The newest decision that changed something (its inputs as they were):
	 * what `explain` answers about once the current tick's decision is a hold.
	 */
	bool has_acted;
	double acted_at;
	char acted_policy[POLICY_NAME_MAX];
	struct policy_input acted_in;
	struct policy_output acted_out;
	char acted_result[160];
};

struct insight {
	struct pub_obj pub;
	double time;
	double step_s;
	size_t n;
	struct ginsight *g;
};

struct registry;

/*
 * Start the worker thread with the published configuration; reg (borrowed,
 * thread-safe, may be NULL) resolves containers' labels.  0 or -errno.
 */
int engine_start(struct registry *reg);
/* Stop the worker, save every profile's state, free everything. */
void engine_stop(void);
/* Hand a new configuration to the worker (SIGHUP); it applies at its next tick. */
void engine_set_config(void);

/* The latest insight with a reference taken (NULL before the first), and release. */
struct insight *engine_insight_acquire(void);
void engine_insight_release(struct insight *ins);
/* Group by key (service or container id) in ins, or NULL. */
const struct ginsight *engine_insight_find(const struct insight *ins, const char *key);

/* engine_ctl.c: control-socket handlers and /metrics families of the engine. */
void engine_ctl_register(void);
void engine_ctl_unregister(void);

#endif
