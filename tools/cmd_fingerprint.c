/*
 * cmd_fingerprint.c - `presage fingerprint NAME|ID [-o table|json]`: the
 * behavioural fingerprint the engine keeps for a container (served by the
 * engine's "fingerprint" handler).  -o json prints the daemon's object as
 * is; the table prints its fields as "key: value" lines, nested objects
 * indented, so the CLI follows the fingerprint's own definition.
 */
#include "cli.h"
#include "ctl_client.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: presage fingerprint NAME|ID [-o table|json]\n");
}

int cmd_fingerprint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum cli_format fmt = CLI_TABLE;
	cJSON *args, *data = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h')
			return usage(stdout), CLI_OK;
		if (c != 'o' || !cli_parse_format("fingerprint", optarg, &fmt))
			return usage(stderr), CLI_USAGE;
	}
	if (argc - optind != 1)
		return usage(stderr), CLI_USAGE;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "container", argv[optind]);
	rc = cli_call_once(CTL_CMD_FINGERPRINT, args, &data);
	cJSON_Delete(args);
	if (rc != CLI_OK)
		return rc;
	if (fmt == CLI_JSON)
		cli_print_json(data);
	else if (cJSON_IsObject(data))
		cli_print_kv(data, 0);
	else
		cli_print_json(data);
	cJSON_Delete(data);
	return CLI_OK;
}
