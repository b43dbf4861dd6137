/*
 * cmd_events.c - `presage events [--follow] [-o table|json] [--container K]
 * [--limit N]`: scaling, resize, anomaly, lifecycle, container and runtime
 * events from the daemon's event bus.
 *
 * Without --follow: the newest events (default 100) then exit; -o json
 * prints them as one array.  With --follow: those, then new events as they
 * come (polled twice a second on one connection); -o json prints one object
 * per line.  Events overwritten before they were read are reported on stderr.
 */
#include "cli.h"
#include "ctl_client.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: presage events [--follow] [-o table|json] [--container NAME|ID|SERVICE]"
		   " [--limit N]\n");
}

static void print_header(void)
{
	printf("%-19s %-9s %-18s %-14s %s\n", "TIME", "KIND", "NAME", "ACTION", "MESSAGE");
}

/* One table row, cut to 100 columns. */
static void print_event(const cJSON *ev)
{
	char when[32], name[19], line[256];
	const char *n = cli_str(ev, "name");

	snprintf(name, sizeof(name), "%s", *n ? n : *cli_str(ev, "service") ? cli_str(ev, "service")
									     : "-");
	snprintf(line, sizeof(line), "%-19s %-9s %-18s %-14s %s", cli_time(cli_num(ev, "time"), when,
		 sizeof(when)), cli_str(ev, "kind"), name, cli_str(ev, "action"), cli_str(ev, "message"));
	printf("%.100s\n", cli_clean(line, line, sizeof(line)));
}

static void print_batch(const cJSON *events, enum cli_format fmt, bool follow)
{
	const cJSON *ev;
	char *s;

	if (fmt == CLI_JSON && !follow) {
		cli_print_json(events);
		return;
	}
	cJSON_ArrayForEach(ev, events) {
		if (fmt == CLI_TABLE) {
			print_event(ev);
			continue;
		}
		s = cJSON_PrintUnformatted(ev);
		if (s)
			printf("%s\n", s);
		free(s);
	}
	fflush(stdout);
}

/* One request; prints the batch and advances *after. */
static int fetch(struct ctl_client *c, cJSON *args, enum cli_format fmt, bool follow,
		 double *after)
{
	const cJSON *events;
	cJSON *data;
	double missed;

	if (cli_call(c, CTL_CMD_EVENTS, args, &data) != CLI_OK)
		return CLI_FAIL;
	events = cJSON_GetObjectItemCaseSensitive(data, "events");
	missed = cli_num(data, "missed");
	if (isfinite(missed) && missed > 0)
		fprintf(stderr, "presage: events: %.0f events were overwritten before they were read\n",
			missed);
	print_batch(events, fmt, follow);
	*after = cli_num(data, "last_seq");
	cJSON_Delete(data);
	return CLI_OK;
}

static int follow_loop(struct ctl_client *c, cJSON *args, enum cli_format fmt, double after)
{
	struct timespec half = { 0, 500000000 };

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* Ctrl-C while waiting for an answer ends the wait, not only the sleep. */
	ctl_client_set_stop(c, &stop);
	cJSON_DeleteItemFromObject(args, "limit");
	cJSON_AddNumberToObject(args, "after", isfinite(after) ? after : 0);
	while (!stop) {
		nanosleep(&half, NULL);
		if (stop)
			break;
		if (fetch(c, args, fmt, true, &after) != CLI_OK)
			return stop ? CLI_OK : CLI_FAIL;
		cJSON_ReplaceItemInObject(args, "after", cJSON_CreateNumber(after));
	}
	return CLI_OK;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },	     { "output", required_argument, NULL, 'o' },
		{ "container", required_argument, NULL, 'c' }, { "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },	     { 0 },
	};
	enum cli_format fmt = CLI_TABLE;
	cJSON *args = cJSON_CreateObject();
	struct ctl_client *c = NULL;
	bool follow = false;
	double after = 0;
	long limit = 100;
	char *end;
	int opt, rc = CLI_USAGE;

	while ((opt = getopt_long(argc, argv, "fo:c:l:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			rc = CLI_OK;
			goto out;
		} else if (opt == 'f') {
			follow = true;
		} else if (opt == 'c') {
			cJSON_AddStringToObject(args, "container", optarg);
		} else if (opt == 'l' && (limit = strtol(optarg, &end, 10)) > 0 && !*end && limit <= 1000) {
			continue;
		} else if (opt != 'o' || !cli_parse_format("events", optarg, &fmt)) {
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	cJSON_AddNumberToObject(args, "limit", (double)limit);
	c = cli_connect();
	rc = CLI_FAIL;
	if (!c)
		goto out;
	if (fmt == CLI_TABLE)
		print_header();
	rc = fetch(c, args, fmt, follow, &after);
	if (rc == CLI_OK && follow)
		rc = follow_loop(c, args, fmt, after);
	goto out;
bad:
	usage(stderr);
out:
	ctl_client_free(c);
	cJSON_Delete(args);
	return rc;
}
