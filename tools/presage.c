/*
 * presage.c - the `presage` CLI: global options and command dispatch.
 *
 * Each command lives in tools/cmd_<name>.c.  Offline commands (forecast
 * --input, detect, sim, config check) need neither the daemon nor root; the
 * others talk to presaged over its control socket.
 */
#include "cli.h"
#include "common/log.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_globals cli_globals = { .socket_path = PRESAGE_DEFAULT_SOCKET };

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cli_command commands[] = {
	{ "status", cmd_status, "daemon health: programs, events/s, drops, containers, driver" },
	{ "top", cmd_top, "live per-container resources, requests, forecast, anomaly" },
	{ "fingerprint", cmd_fingerprint, "a container's behavioural fingerprint" },
	{ "forecast", cmd_forecast, "live forecast of a container, or offline on a CSV" },
	{ "detect", cmd_detect, "offline anomaly scores of a CSV series" },
	{ "sim", cmd_sim, "backtest scaling policies on a trace" },
	{ "events", cmd_events, "scaling, anomaly and lifecycle events" },
	{ "explain", cmd_explain, "why the last decision for a container was taken" },
	{ "config", cmd_config, "config check FILE: validate a configuration file" },
};

void cli_err(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "presage: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: presage [--socket PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'presage COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	log_set_ident("presage");
	log_set_level(LOG_WARN);
	/* '+' stops at the first non-option: the command's own flags follow it. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli_globals.socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("presage %s\n", PRESAGE_VERSION);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (!commands[i].fn) {
			cli_err(argv[optind], "not built into this binary");
			return CLI_FAIL;
		}
		int first = optind;

		optind = 0; /* reset getopt for the command's own parsing */
		return commands[i].fn(argc - first, argv + first);
	}
	cli_err(argv[optind], "unknown command (see presage --help)");
	return CLI_USAGE;
}
