/*
 * cmd_config.c - `presage config check FILE`: validate a configuration file
 * offline, printing every problem on a line of its own
 * ("presage: FILE: unknown key \"telemetry.tikc\""); exit 0 valid, 1 not.
 */
#include "cli.h"
#include "config/config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: presage config check FILE\n");
}

static int check(const char *path)
{
	struct presage_config *c = NULL;
	char err[16384];

	if (cfg_load(path, true, &c, err, sizeof(err)) < 0) {
		for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(stderr, "presage: %s: %s\n", path, line);
		return CLI_FAIL;
	}
	printf("%s: ok (%d service%s)\n", path, c->n_services, c->n_services == 1 ? "" : "s");
	cfg_free(c);
	return CLI_OK;
}

int cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return usage(stdout), CLI_OK;
		return usage(stderr), CLI_USAGE;
	}
	if (argc - optind != 2 || strcmp(argv[optind], "check"))
		return usage(stderr), CLI_USAGE;
	return check(argv[optind + 1]);
}
