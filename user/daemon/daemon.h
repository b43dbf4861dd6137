/*
 * daemon.h - state shared by the pieces of presaged's main thread.
 *
 * presaged has one telemetry thread (main(): event loop, sampling, snapshot
 * publication), one engine worker thread (models, policies, actuation on
 * snapshots), the HTTP server's threads and the control-socket thread.  Only
 * the telemetry thread touches struct daemon's telemetry members.
 */
#ifndef PRESAGE_DAEMON_H
#define PRESAGE_DAEMON_H

#include "config/config.h"
#include "core/cgtable.h"

#include <stdbool.h>
#include <stdint.h>

struct tele;
struct req_tele;
struct netns_set;
struct cgfs;
struct registry;
struct docker_client;

/* Command-line flags; they override the config file. */
struct daemon_flags {
	const char *config_path;
	const char *state_dir;
	const char *socket_path;
	const char *listen;
	const char *log_level;
	const char *docker_host;
	bool dry_run;
	bool config_given; /* --config was passed: a missing file is an error */
};

struct daemon {
	struct daemon_flags flags;
	struct presage_config *cfg;    /* current configuration (a reference) */
	bool retime;                   /* tick_seconds changed: re-arm the timer */
	struct tele *tele;             /* NULL when BPF telemetry is unavailable */
	struct req_tele *req;          /* NULL when request telemetry is unavailable */
	struct netns_set *netns;       /* containers' network namespaces; NULL without req */
	struct cgfs *cgfs;             /* cgroup mounts; NULL when none found */
	struct docker_client *docker;  /* runtime API client, NULL when not configured */
	struct registry *reg;          /* cgroup id -> container identity */
	struct cgtable *cgs;           /* tracked cgroups */
	uint64_t seq;
	double started;                /* unix seconds */
	unsigned long ticks;
	uint64_t events_seen;          /* ring-buffer events drained, cumulative */
	uint64_t prev_prog_runs;
	double prev_tick_mono;
	double events_per_second;
};

/* sampler.c: discover cgroups, read every source, publish a snapshot. */
int sampler_init(struct daemon *d);
void sampler_tick(struct daemon *d);
void sampler_rescan(struct daemon *d);
void sampler_drain(struct daemon *d);
void sampler_drain_requests(struct daemon *d);
void sampler_on_cgroup_event(struct daemon *d, bool born, uint64_t cgid, const char *path);
void sampler_fini(struct daemon *d);

double mono_now(void);
double unix_now(void);

#endif
