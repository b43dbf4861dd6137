/*
 * cmd_status.c - `presage status [-o table|json]`: daemon health - version,
 * uptime, driver, BPF programs attached, events/s, drops, containers.
 */
#include "cli.h"
#include "ctl_client.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: presage status [-o table|json]\n");
}

static void print_status(const cJSON *d)
{
	char a[32], b[32], c[32];
	const char *listen = cli_str(d, "listen"), *config = cli_str(d, "config");

	printf("presaged %s (protocol %.0f), pid %.0f, up %s\n", cli_str(d, "version"),
	       cli_num(d, "protocol"), cli_num(d, "pid"),
	       cli_duration(cli_num(d, "uptime_seconds"), a, sizeof(a)));
	if (!cJSON_IsTrue(cJSON_GetObjectItem(d, "ready"))) {
		printf("state:       starting (no sample yet)\n");
		return;
	}
	printf("driver:      %s%s\n", cli_str(d, "driver"),
	       cJSON_IsTrue(cJSON_GetObjectItem(d, "dry_run")) ? " (dry run)" : "");
	printf("docker:      %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItem(d, "docker_connected")) ? "connected" : "not connected");
	printf("programs:    %.0f/%.0f attached\n", cli_num(d, "programs_attached"),
	       cli_num(d, "programs_total"));
	printf("events:      %s/s, %s dropped\n", cli_count(cli_num(d, "events_per_second"), a, sizeof(a)),
	       cli_count(cli_num(d, "ringbuf_dropped"), b, sizeof(b)));
	printf("containers:  %.0f\n", cli_num(d, "containers"));
	printf("tick:        %s (last took %s, %s ago)\n",
	       cli_seconds(cli_num(d, "tick_seconds"), a, sizeof(a)),
	       cli_seconds(cli_num(d, "last_tick_duration_seconds"), b, sizeof(b)),
	       cli_seconds(cli_num(d, "snapshot_age_seconds"), c, sizeof(c)));
	if (*listen)
		printf("metrics:     http://%s/metrics\n", listen);
	printf("config:      %s\n", *config ? config : "built-in defaults");
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum cli_format fmt = CLI_TABLE;
	cJSON *data = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h')
			return usage(stdout), CLI_OK;
		if (c != 'o' || !cli_parse_format("status", optarg, &fmt))
			return usage(stderr), CLI_USAGE;
	}
	if (optind != argc)
		return usage(stderr), CLI_USAGE;
	rc = cli_call_once(CTL_CMD_STATUS, NULL, &data);
	if (rc != CLI_OK)
		return rc;
	if (fmt == CLI_JSON)
		cli_print_json(data);
	else
		print_status(data);
	cJSON_Delete(data);
	return CLI_OK;
}
