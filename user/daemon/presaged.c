/*
 * presaged.c - the presage node daemon: flags, start-up and shutdown order,
 * and the telemetry thread's event loop.
 *
 * Modules start in dependency order and stop in reverse (chrony style):
 * config -> state dir -> BPF telemetry -> container registry -> snapshots
 * -> metrics endpoint -> control socket -> engine worker.  The loop waits on
 * one epoll set: signals (signalfd), the tick timer (timerfd) and the BPF
 * ring buffer.  SIGTERM/SIGINT stop cleanly (state flushed, exit 0); SIGHUP
 * reloads the config, keeping the old one when the new one is bad.
 */
#include "daemon/daemon.h"
#include "daemon/engine.h"

#include "common/log.h"
#include "config/config.h"
#include "core/bus.h"
#include "core/snapshot.h"
#include "core/state.h"
#include "ctl/ctl.h"
#include "export/prom.h"
#include "telemetry/requests.h"
#include "telemetry/tele.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/presage/presage.json"

enum { EV_SIGNAL = 1, EV_TIMER, EV_TELE, EV_REQ };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: presaged [OPTIONS]\n"
		"  --config PATH       configuration file (default " DEFAULT_CONFIG ")\n"
		"  --dry-run           decide and log, never change a container\n"
		"  --state-dir DIR     model and fingerprint state (default /var/lib/presage)\n"
		"  --socket PATH       control socket (default /run/presage/presage.sock)\n"
		"  --listen ADDR:PORT  metrics endpoint (default 127.0.0.1:9560)\n"
		"  --docker-host URL   Docker endpoint (default $DOCKER_HOST or "
		"/var/run/docker.sock)\n"
		"  --log-level LEVEL   error, warn, info or debug (default info)\n"
		"  --version           print the version and exit\n"
		"  --help              this text\n");
}

/* Parse flags into d->flags; returns -1 to exit 0 (help/version), 2 on usage error. */
static int parse_flags(int argc, char **argv, struct daemon_flags *f)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "docker-host", required_argument, NULL, 'H' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	f->config_path = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': f->config_path = optarg; f->config_given = true; break;
		case 'n': f->dry_run = true; break;
		case 'S': f->state_dir = optarg; break;
		case 's': f->socket_path = optarg; break;
		case 'l': f->listen = optarg; break;
		case 'H': f->docker_host = optarg; break;
		case 'L': f->log_level = optarg; break;
		case 'V': printf("presaged %s\n", PRESAGE_VERSION); return -1;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "presaged: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (f->log_level && log_set_level_name(f->log_level)) {
		fprintf(stderr, "presaged: invalid --log-level '%s'\n", f->log_level);
		return 2;
	}
	return 0;
}

double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Register the flags that override the config file (they survive reloads). */
static int register_overrides(const struct daemon_flags *f)
{
	const struct { const char *key, *value; } ov[] = {
		{ "state_dir", f->state_dir }, { "socket", f->socket_path },
		{ "listen", f->listen },       { "log_level", f->log_level },
		{ "docker.host", f->docker_host }, { "dry_run", f->dry_run ? "true" : NULL },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(ov) / sizeof(ov[0]); i++) {
		if (!ov[i].value)
			continue;
		if (cfg_override(ov[i].key, ov[i].value, err, sizeof(err))) {
			fprintf(stderr, "presaged: invalid option for %s: %s\n", ov[i].key, err);
			return -1;
		}
	}
	return 0;
}

/*
 * Load and publish the configuration.  A missing default file means
 * built-in defaults; a missing file named by --config is an error.
 */
static int load_config(const struct daemon_flags *f)
{
	struct presage_config *c = NULL;
	char err[4096] = "";
	int rc = cfg_load(f->config_path, f->config_given, &c, err, sizeof(err));

	if (rc) {
		/* One line per problem; the first names the file. */
		log_err("failed to load config %s: %s", f->config_path,
			err[0] ? err : strerror(-rc));
		return -1;
	}
	cfg_publish(c);
	return 0;
}

static void refresh_config(struct daemon *d)
{
	struct presage_config *c = cfg_acquire();

	cfg_release(d->cfg);
	d->cfg = c;
}

static void reload_config(struct daemon *d)
{
	double old_tick = d->cfg->tick_seconds;

	if (cfg_reload(d->flags.config_path, d->flags.config_given))
		return; /* cfg_reload logged why and kept the running configuration */
	refresh_config(d);
	if (!d->flags.log_level)
		log_set_level_name(d->cfg->log_level);
	engine_set_config();
	if (d->cfg->tick_seconds != old_tick)
		d->retime = true;
}

static int add_fd(int ep, int fd, int tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Arm fd to fire every `seconds`; 0 or -errno. */
static int arm_timer(int fd, double seconds)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)seconds;
	its.it_value.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	its.it_interval = its.it_value;
	return timerfd_settime(fd, 0, &its, NULL) ? -errno : 0;
}

static int make_timer(double seconds)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (arm_timer(fd, seconds)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Returns false when the daemon should stop. */
static bool handle_signal(struct daemon *d, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload_config(d);
			continue;
		}
		log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
		return false;
	}
	return true;
}

static void handle_timer(struct daemon *d, int tfd)
{
	uint64_t expirations;

	if (read(tfd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	if (expirations > 1)
		log_debug("tick late by %llu intervals", (unsigned long long)expirations - 1);
	sampler_tick(d);
}

static int event_loop(struct daemon *d, int ep, int sfd, int tfd)
{
	struct epoll_event evs[8];

	for (;;) {
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("failed to wait for events: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_SIGNAL:
				if (!handle_signal(d, sfd))
					return 0;
				if (d->retime && !arm_timer(tfd, d->cfg->tick_seconds))
					d->retime = false;
				break;
			case EV_TIMER:
				handle_timer(d, tfd);
				break;
			case EV_TELE:
				sampler_drain(d);
				break;
			case EV_REQ:
				sampler_drain_requests(d);
				break;
			}
		}
	}
}

static int block_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* status: the telemetry thread's own bookkeeping, for operators and the churn test. */
static void status_fields(cJSON *o, const struct snapshot *s, const struct cont_snap *c, void *ctx)
{
	const struct daemon_status *st;

	if (!s)
		return;
	st = &s->status;
	cJSON_AddNumberToObject(o, "tracked_cgroups", (double)st->tracked_cgroups);
	if (st->bpf_map_entries >= 0)
		cJSON_AddNumberToObject(o, "bpf_map_entries", (double)st->bpf_map_entries);
	else
		cJSON_AddNullToObject(o, "bpf_map_entries");
	cJSON_AddNumberToObject(o, "request_map_entries", (double)st->req_map_entries);
	cJSON_AddNumberToObject(o, "network_namespaces", (double)st->network_namespaces);
}

static int start_services(struct daemon *d)
{
	char err[256] = "";

	if (prom_server_start(d->cfg->listen, err, sizeof(err))) {
		log_err("failed to start metrics endpoint on %s: %s", d->cfg->listen, err);
		return -1;
	}
	ctl_add_fields(CTL_CMD_STATUS, status_fields, NULL);
	if (ctl_server_start(d->cfg->socket, err, sizeof(err))) {
		log_err("failed to open control socket %s: %s", d->cfg->socket, err);
		return -1;
	}
	if (engine_start(d->reg)) {
		log_err("failed to start the engine worker");
		return -1;
	}
	return 0;
}

static void stop_services(void)
{
	engine_stop();
	ctl_server_stop();
	prom_server_stop();
}

static int run(struct daemon *d)
{
	int sfd = -1, tfd = -1, ep = -1, rc = 1;

	sfd = block_signals();
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0) {
		log_err("failed to set up the event loop: %s", strerror(errno));
		goto out;
	}
	if (sampler_init(d))
		goto out;
	if (start_services(d))
		goto out_services;
	tfd = make_timer(d->cfg->tick_seconds);
	if (tfd < 0 || add_fd(ep, sfd, EV_SIGNAL) || add_fd(ep, tfd, EV_TIMER) ||
	    (d->tele && add_fd(ep, tele_fd(d->tele), EV_TELE)) ||
	    (d->req && add_fd(ep, req_events_fd(d->req), EV_REQ))) {
		log_err("failed to set up the event loop: %s", strerror(errno));
		goto out_services;
	}
	log_info("presaged %s running: tick %.3gs, metrics on %s, socket %s, driver %s%s",
		 PRESAGE_VERSION, d->cfg->tick_seconds, d->cfg->listen, d->cfg->socket,
		 d->cfg->driver, d->cfg->dry_run ? " (dry run)" : "");
	sampler_tick(d); /* publish a first snapshot at once */
	rc = event_loop(d, ep, sfd, tfd) ? 1 : 0;
out_services:
	stop_services();
	sampler_fini(d);
out:
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	int rc;

	log_set_ident("presaged");
	rc = parse_flags(argc, argv, &d.flags);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (register_overrides(&d.flags) || load_config(&d.flags))
		return 1;
	d.cfg = cfg_acquire();
	if (!d.flags.log_level)
		log_set_level_name(d.cfg->log_level);
	d.started = unix_now();
	if ((rc = state_dir_init(d.cfg->state_dir))) {
		log_err("failed to create state directory %s: %s", d.cfg->state_dir, strerror(-rc));
		cfg_release(d.cfg);
		return 1;
	}
	rc = run(&d);
	snapshot_publish(NULL);
	cfg_release(d.cfg);
	cfg_publish(NULL);
	log_info("stopped");
	return rc;
}
