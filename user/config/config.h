/*
 * config.h - presaged's configuration: one JSON file, a key table, flag
 * overrides and atomic reload.
 *
 * Every key is one row of a table (name, type, bounds, default, field, apply
 * callback); docs/config.md describes the same rows.  Loading parses the file
 * into a fresh struct, validates all of it (every error is reported, unknown
 * keys by their JSON path, e.g. `unknown key "telemetry.tikc"`), applies the
 * command-line overrides registered with cfg_override(), and only then may
 * the result be published.  Startup and SIGHUP reload take the same path, so
 * a bad new file is rejected and the running configuration kept.
 *
 * Readers take the current configuration with cfg_acquire() and drop it with
 * cfg_release(); a published struct is never modified.
 */
#ifndef PRESAGE_CONFIG_H
#define PRESAGE_CONFIG_H

#include "core/publish.h"

#include <stdbool.h>
#include <stddef.h>

#define CFG_DEFAULT_PATH   "/etc/presage/presage.json"
#define CFG_MAX_FILE_BYTES (1 << 20)
#define CFG_NAME_LEN       128
#define CFG_PATH_LEN       256
#define CFG_MAX_SERVICES   256
#define CFG_MAX_LIST       64 /* entries of a string list (cgroups, ignore prefixes) */

/* One `services.<name>` object: the scaling and resizing rules of a service. */
struct cfg_service {
	char name[CFG_NAME_LEN];
	int min, max;             /* replicas */
	char policy[32];          /* "" = policy.default */
	double slo_latency_ms;    /* p95 target, 0 = none */
	double target;            /* utilisation target in (0, 1] */
	double capacity;          /* requests/s one replica serves, 0 = learn */
	double cpu_min, cpu_max;  /* cores, 0 = unbounded */
	double memory_min, memory_max; /* bytes, 0 = unbounded */
	int priority;             /* higher wins under contention */
	double cost;              /* relative cost of one replica-second */
	int n_cgroups;
	char **cgroups;           /* v2-relative paths the cgroupfs driver may write */
};

struct presage_config {
	double tick_seconds;
	double model_step_seconds;
	char listen[CFG_NAME_LEN];
	char socket[108];         /* sun_path limit */
	char state_dir[CFG_PATH_LEN];
	char log_level[16];
	bool dry_run;
	char driver[16];          /* auto, docker, swarm, cgroupfs, dryrun */
	struct {
		char host[CFG_PATH_LEN]; /* "" = $DOCKER_HOST or /var/run/docker.sock */
		int timeout_ms;
	} docker;
	struct {
		double quantile_window_seconds;
		int max_cgroups;
		int n_ignore;
		char **ignore_cgroups; /* path prefixes never tracked */
	} telemetry;
	struct {
		char model[32];
		double coverage;       /* prediction interval coverage */
		double season;         /* seconds, 0 = detect */
		int max_models;        /* groups with a behavioural model at once */
	} engine;
	struct {
		char default_policy[32];
		double time_scale;     /* policy clock speed-up (tests, demos); 1 = real time */
	} policy;
	struct {
		double cooldown_seconds;
		int max_actions_per_minute;
	} actuation;
	int n_services;
	struct cfg_service *services;
	char source[CFG_PATH_LEN]; /* file it came from, "" for built-in defaults */
	struct pub_obj pub;        /* private: publication reference count */
};

/* A configuration holding every default; NULL + errno on ENOMEM. */
struct presage_config *cfg_new_defaults(void);

/* Free a configuration that was never published (or NULL). */
void cfg_free(struct presage_config *c);

/*
 * Parse and validate the JSON text (len bytes; origin names it in messages).
 * Returns a new configuration or NULL with every problem written into err as
 * one line each ("unknown key \"telemetry.tikc\""); errno is EINVAL for
 * invalid content, ENOMEM when memory ran out.  Overrides are not applied.
 */
struct presage_config *cfg_parse(const char *text, size_t len, char *err, size_t errlen);

/*
 * Load path: read, cfg_parse(), then apply the registered overrides.  A
 * missing file is -ENOENT unless !must_exist, which yields the defaults (the
 * daemon's default path may be absent).  NULL path = defaults.  Returns 0 and
 * *out, or -errno with err holding one line per problem.
 */
int cfg_load(const char *path, bool must_exist, struct presage_config **out, char *err,
	     size_t errlen);

/*
 * Register a command-line override ("listen", "127.0.0.1:9000"): checked
 * against the key table now (0 or -EINVAL with err) and applied by every
 * later cfg_load(), so a reload keeps honouring the flags.  Lists take a
 * comma-separated value; booleans true/false.
 */
int cfg_override(const char *key, const char *value, char *err, size_t errlen);
void cfg_clear_overrides(void);

/*
 * Publish c as the current configuration (takes ownership).  Keys whose
 * value changed and that apply live run their apply callback; changed keys
 * that need a restart are logged.  The first publish applies everything.
 */
void cfg_publish(struct presage_config *c);

/* The current configuration with a reference taken, or NULL before publish. */
struct presage_config *cfg_acquire(void);
void cfg_release(struct presage_config *c);

/*
 * SIGHUP path: cfg_load(path) and publish on success, logging
 * "configuration reloaded from <path>"; on failure the old configuration
 * stays, "reload rejected, keeping the running configuration: ..." is logged
 * and a config event goes on the bus.  0 or -errno.
 */
int cfg_reload(const char *path, bool must_exist);

/* Service by name in c, or NULL. */
const struct cfg_service *cfg_service_find(const struct presage_config *c, const char *name);

/* Number of key-table rows and row i's name and help (docs, completion). */
size_t cfg_key_count(void);
const char *cfg_key_name(size_t i);
const char *cfg_key_help(size_t i);

#endif
