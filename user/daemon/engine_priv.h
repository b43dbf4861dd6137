/*
 * engine_priv.h - state shared by the engine worker's files (engine.c,
 * engine_act.c, engine_ctl.c).  Only the worker thread touches it, except
 * the publication slot.
 */
#ifndef PRESAGE_ENGINE_PRIV_H
#define PRESAGE_ENGINE_PRIV_H

#include "actuate/act.h"
#include "daemon/engine.h"

#include <pthread.h>

struct profile;

struct group {
	char key[sizeof(((struct ginsight *)0)->key)];
	char service[SNAP_SERVICE_LEN];
	char image[SNAP_IMAGE_LEN];
	char state_key[SNAP_IMAGE_LEN];
	struct series *series;
	struct profile *prof;
	struct policy *pol;
	uint64_t seen_seq;
	double last_seen;          /* unix seconds */
	int members;
	bool enabled;
	double tick[SM__COUNT];    /* this tick's aggregate */
	double oom_total, oom_prev;
	struct ginsight ins;       /* working copy, published each tick */
	double last_action;        /* unix seconds of the last actuation */
	double up_at;              /* scale-up awaiting its first serving replica, 0: none */
	/* learned capacity: EWMAs of the group's CPU cores and requests/s */
	double cap_cpu, cap_rps;
	/* a Swarm service's own labels (its tasks do not carry them), cached */
	struct ctr_settings swarm_st;
	double swarm_at;           /* unix seconds of the last read, 0: never */
	int swarm_rc;
	int64_t steps_since_save;
};

struct engine {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct presage_config *cfg;      /* worker's reference */
	struct presage_config *next_cfg; /* handed over by engine_set_config */
	struct group *groups[ENGINE_MAX_GROUPS];
	size_t n;
	uint64_t last_seq;
	struct act_driver *act;          /* NULL: decisions are only explained */
	char act_name[16];
};

extern struct engine engine;
extern struct registry *engine_registry;

/* engine_act.c: decide for a group after a closed step, and act on it. */
void engine_decide(struct group *g, const struct snapshot *s);
/*
 * Every tick: after a scale-up, the first new member that served a request
 * gives the group's start-up time (scale-up -> serving), the policy's lead.
 */
void engine_watch_startup(struct group *g, const struct snapshot *s);
/* Open the actuation driver named by the config ("auto" resolves here). */
void engine_act_open(void);
void engine_act_close(void);

#endif
