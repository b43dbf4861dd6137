/*
 * cmd_explain.c - `presage explain NAME|ID|SERVICE [-o table|json]`: why
 * the last scaling, resize or lifecycle decision about a container (or its
 * service) was taken, with the events around it.
 *
 * The daemon's answer is the scaling engine's when it registered one, else
 * the built-in reading of the event bus ({target, id, name, service, source,
 * decision, recent_events}; the engine adds `current`, and inputs/output to
 * each decision); the table shows the known fields and prints any others
 * generically, so a richer answer needs no CLI change.
 */
#include "cli.h"
#include "ctl_client.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: presage explain NAME|ID|SERVICE [-o table|json]\n");
}

static void print_event_line(const char *prefix, const cJSON *ev)
{
	char when[32];

	printf("%s%s  %-9s %-14s %-12s %s\n", prefix, cli_time(cli_num(ev, "time"), when, sizeof(when)),
	       cli_str(ev, "kind"), cli_str(ev, "action"), cli_str(ev, "reason"),
	       cli_str(ev, "message"));
}

/* An event line, then the engine's inputs, output and result when present. */
static void print_decision(const char *prefix, const cJSON *dec)
{
	static const char *const parts[] = { "inputs", "output", NULL };
	const cJSON *applied = cJSON_GetObjectItemCaseSensitive(dec, "applied");

	print_event_line(prefix, dec);
	for (const char *const *p = parts; *p; p++) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(dec, *p);

		if (cJSON_IsObject(o)) {
			printf("  %s:\n", *p);
			cli_print_kv(o, 4);
		}
	}
	if (cJSON_IsString(applied))
		printf("  applied: %s\n", applied->valuestring);
}

static bool is_known(const char *key)
{
	static const char *const known[] = { "target", "id", "name", "service", "source",
					     "decision", "current", "recent_events", NULL };

	for (const char *const *k = known; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

static void print_explain(const cJSON *d)
{
	const cJSON *dec = cJSON_GetObjectItemCaseSensitive(d, "decision");
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(d, "current");
	const cJSON *recent = cJSON_GetObjectItemCaseSensitive(d, "recent_events"), *it;
	const char *name = cli_str(d, "name");

	printf("%s", *name ? name : cli_str(d, "target"));
	if (*cli_str(d, "id"))
		printf(" (id %.12s%s%s)", cli_str(d, "id"), *cli_str(d, "service") ? ", service " : "",
		       cli_str(d, "service"));
	printf("\n");
	if (cJSON_IsObject(dec))
		print_decision("last decision: ", dec);
	else
		printf("last decision: none recorded since presaged started\n");
	if (cJSON_IsObject(cur))
		print_decision("now: ", cur);
	cJSON_ArrayForEach(it, d) {
		if (it->string && !is_known(it->string)) {
			cJSON *one = cJSON_CreateObject();

			cJSON_AddItemReferenceToObject(one, it->string, (cJSON *)it);
			cli_print_kv(one, 0);
			cJSON_Delete(one);
		}
	}
	if (cJSON_GetArraySize(recent) > 0) {
		printf("recent events:\n");
		cJSON_ArrayForEach(it, recent)
			print_event_line("  ", it);
	}
}

int cmd_explain(int argc, char **argv)
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
		if (c != 'o' || !cli_parse_format("explain", optarg, &fmt))
			return usage(stderr), CLI_USAGE;
	}
	if (argc - optind != 1)
		return usage(stderr), CLI_USAGE;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "container", argv[optind]);
	rc = cli_call_once(CTL_CMD_EXPLAIN, args, &data);
	cJSON_Delete(args);
	if (rc != CLI_OK)
		return rc;
	/* The layout is for an object; anything else (a newer daemon?) prints as it is. */
	if (fmt == CLI_JSON || !cJSON_IsObject(data))
		cli_print_json(data);
	else
		print_explain(data);
	cJSON_Delete(data);
	return CLI_OK;
}
