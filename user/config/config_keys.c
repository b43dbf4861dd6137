/*
 * config_keys.c - the configuration key table: every key presaged accepts,
 * with its type, bounds, default, field and apply rule.  docs/config.md
 * mirrors these rows; adding a key is adding a row here and a field in
 * struct presage_config.
 */
#include "config/config_keys.h"
#include "common/log.h"
#include "export/prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT(f)  offsetof(struct presage_config, f), sizeof(((struct presage_config *)0)->f)
#define SVC(f)   offsetof(struct cfg_service, f), sizeof(((struct cfg_service *)0)->f)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const drivers[] = { "auto", "docker", "swarm", "cgroupfs", "dryrun", NULL };
static const char *const models[] = { "snaive", "ewma", "holt_winters", "arima", "rnn", "direct",
				      "ensemble", NULL };
static const char *const policies[] = { "reactive", "predictive", "rl", NULL };
static const char *const svc_policies[] = { "", "reactive", "predictive", "rl", "none", NULL };

/*
 * ADDR:PORT as the metrics endpoint parses it at start-up (one parser, so a
 * file that passes `presage config check` also starts), and a fixed port: 0
 * (any free port) would leave Prometheus nothing to scrape.
 */
static int check_listen(const char *s, char *why, size_t len)
{
	char host[CFG_NAME_LEN];
	unsigned int port;

	if (prom_parse_listen(s, host, sizeof(host), &port, why, len) < 0)
		return -1;
	if (port == 0) {
		snprintf(why, len, "port must be a number in 1..65535");
		return -1;
	}
	return 0;
}

static int check_abs_path(const char *s, char *why, size_t len)
{
	if (s[0] != '/') {
		snprintf(why, len, "must be an absolute path");
		return -1;
	}
	return 0;
}

/* "" (auto), an absolute socket path, unix://PATH, tcp://HOST:PORT or http://HOST:PORT. */
static int check_docker_host(const char *s, char *why, size_t len)
{
	if (!*s || s[0] == '/' || !strncmp(s, "unix:///", 8) || !strncmp(s, "tcp://", 6) ||
	    !strncmp(s, "http://", 7))
		return 0;
	snprintf(why, len, "expected unix:///PATH, tcp://HOST:PORT or an absolute socket path");
	return -1;
}

/* True when a component of path s is "..". */
static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

/* Cgroup paths are relative to the v2 mount and written with a leading '/'. */
static int check_cgroup_path(const char *s, char *why, size_t len)
{
	if (s[0] != '/' || has_dotdot(s)) {
		snprintf(why, len, "must be a cgroup path starting with '/' and without '..'");
		return -1;
	}
	return 0;
}

static void apply_log_level(const struct presage_config *c)
{
	log_set_level_name(c->log_level);
}

const struct cfg_key cfg_root_keys[] = {
	{ "tick_seconds", CFG_T_NUM, 0.1, 60, "1", ROOT(tick_seconds), .restart = true,
	  .help = "telemetry sampling period" },
	{ "model_step_seconds", CFG_T_NUM, 1, 3600, "60", ROOT(model_step_seconds),
	  .restart = true, .help = "resolution of the series the models learn from" },
	{ "listen", CFG_T_STR, 3, 127, "127.0.0.1:9560", ROOT(listen), .check = check_listen,
	  .restart = true, .help = "ADDR:PORT of the Prometheus /metrics endpoint" },
	{ "socket", CFG_T_STR, 2, 107, "/run/presage/presage.sock", ROOT(socket),
	  .check = check_abs_path, .restart = true, .help = "control socket path" },
	{ "state_dir", CFG_T_STR, 2, 255, "/var/lib/presage", ROOT(state_dir),
	  .check = check_abs_path, .restart = true, .help = "models, fingerprints, actuation state" },
	{ "log_level", CFG_T_ENUM, 0, 0, "info", ROOT(log_level), .choices = log_levels,
	  .apply = apply_log_level, .help = "error, warn, info or debug" },
	{ "dry_run", CFG_T_BOOL, 0, 0, "false", ROOT(dry_run),
	  .help = "decide and log, never change a container" },
	{ "driver", CFG_T_ENUM, 0, 0, "auto", ROOT(driver), .choices = drivers, .restart = true,
	  .help = "actuation driver: auto, docker, swarm, cgroupfs, dryrun" },
	{ "docker.host", CFG_T_STR, 0, 255, "", ROOT(docker.host), .check = check_docker_host,
	  .restart = true, .help = "Docker Engine API endpoint (\"\" = $DOCKER_HOST or the default socket)" },
	{ "docker.timeout_ms", CFG_T_INT, 100, 120000, "5000", ROOT(docker.timeout_ms),
	  .help = "timeout of one Docker API call" },
	{ "telemetry.quantile_window_seconds", CFG_T_NUM, 1, 3600, "60",
	  ROOT(telemetry.quantile_window_seconds), .restart = true,
	  .help = "window of the run-queue and request latency quantiles" },
	{ "telemetry.max_cgroups", CFG_T_INT, 16, 65536, "4096", ROOT(telemetry.max_cgroups),
	  .restart = true, .help = "most cgroups tracked at once (BPF map and series budget)" },
	{ "telemetry.ignore_cgroups", CFG_T_LIST, 0, CFG_MAX_LIST, "",
	  offsetof(struct presage_config, telemetry.ignore_cgroups), 0,
	  offsetof(struct presage_config, telemetry.n_ignore), .check = check_cgroup_path,
	  .help = "cgroup path prefixes never tracked" },
	{ "engine.model", CFG_T_ENUM, 0, 0, "ensemble", ROOT(engine.model), .choices = models,
	  .help = "forecasting model" },
	{ "engine.coverage", CFG_T_NUM, 0.5, 0.999, "0.9", ROOT(engine.coverage),
	  .help = "coverage of the forecast prediction interval" },
	{ "engine.season", CFG_T_NUM, 0, 604800, "0", ROOT(engine.season),
	  .help = "season length in seconds (0 = detect)" },
	{ "engine.max_models", CFG_T_INT, 1, 4096, "128", ROOT(engine.max_models),
	  .help = "most services/containers modelled at once (about 3.3 MB each)" },
	{ "policy.default", CFG_T_ENUM, 0, 0, "predictive", ROOT(policy.default_policy),
	  .choices = policies, .help = "scaling policy of services that name none" },
	{ "policy.time_scale", CFG_T_NUM, 1, 3600, "1", ROOT(policy.time_scale),
	  .help = "the policies' clock runs this many times faster than wall time (compressed "
		  "replays and demos; 1 in production)" },
	{ "actuation.cooldown_seconds", CFG_T_NUM, 0, 3600, "30", ROOT(actuation.cooldown_seconds),
	  .help = "least time between two actions on one service" },
	{ "actuation.max_actions_per_minute", CFG_T_INT, 1, 600, "30",
	  ROOT(actuation.max_actions_per_minute), .help = "global action rate limit" },
};
const size_t cfg_root_key_count = sizeof(cfg_root_keys) / sizeof(cfg_root_keys[0]);

const struct cfg_key cfg_service_keys[] = {
	{ "min", CFG_T_INT, 0, 1000, "1", SVC(min), .help = "fewest replicas" },
	{ "max", CFG_T_INT, 1, 1000, "10", SVC(max), .help = "most replicas" },
	{ "policy", CFG_T_ENUM, 0, 0, "", SVC(policy), .choices = svc_policies,
	  .help = "scaling policy (\"\" = policy.default, none = never scale)" },
	{ "slo_latency_ms", CFG_T_NUM, 0, 600000, "0", SVC(slo_latency_ms),
	  .help = "p95 latency objective in ms (0 = none)" },
	{ "target", CFG_T_NUM, 0.05, 1, "0.7", SVC(target), .help = "utilisation target" },
	{ "capacity", CFG_T_NUM, 0, 1e9, "0", SVC(capacity),
	  .help = "requests/s one replica serves (0 = learn it)" },
	{ "cpu_min", CFG_T_NUM, 0, 4096, "0", SVC(cpu_min), .help = "least CPU cores (0 = none)" },
	{ "cpu_max", CFG_T_NUM, 0, 4096, "0", SVC(cpu_max), .help = "most CPU cores (0 = none)" },
	{ "memory_min", CFG_T_NUM, 0, 1e15, "0", SVC(memory_min),
	  .help = "least memory limit in bytes (0 = none)" },
	{ "memory_max", CFG_T_NUM, 0, 1e15, "0", SVC(memory_max),
	  .help = "most memory limit in bytes (0 = none)" },
	{ "priority", CFG_T_INT, -1000, 1000, "0", SVC(priority),
	  .help = "higher priority wins under contention" },
	{ "cost", CFG_T_NUM, 0, 1e6, "1", SVC(cost), .help = "relative cost of one replica-second" },
	{ "cgroups", CFG_T_LIST, 0, CFG_MAX_LIST, "", offsetof(struct cfg_service, cgroups), 0,
	  offsetof(struct cfg_service, n_cgroups), .check = check_cgroup_path,
	  .help = "cgroups the cgroupfs driver may resize for this service" },
};
const size_t cfg_service_key_count = sizeof(cfg_service_keys) / sizeof(cfg_service_keys[0]);
