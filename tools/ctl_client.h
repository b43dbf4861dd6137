/*
 * ctl_client.h - what the daemon-facing CLI commands share: one call to
 * presaged with the standard error lines, `-o table|json` parsing, human
 * units and reading numbers that may be JSON null.
 */
#ifndef PRESAGE_TOOLS_CTL_CLIENT_H
#define PRESAGE_TOOLS_CTL_CLIENT_H

#include "ctl/ctl.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

enum cli_format { CLI_TABLE, CLI_JSON };

/*
 * Open a connection to presaged at --socket; NULL after printing
 * "presage: cannot reach presaged at <socket>: <reason>".
 */
struct ctl_client *cli_connect(void);

/*
 * cmd with args (borrowed, may be NULL) over c; CLI_OK with *data (free
 * with cJSON_Delete) or CLI_FAIL after printing the one-line error.
 */
int cli_call(struct ctl_client *c, const char *cmd, const cJSON *args, cJSON **data);

/* cli_connect + cli_call + close, for one-shot commands. */
int cli_call_once(const char *cmd, const cJSON *args, cJSON **data);

/* Parse an -o argument; false (after a usage message) when unknown. */
bool cli_parse_format(const char *cmd, const char *arg, enum cli_format *out);

/* Print a JSON value, indented, with a final newline. */
void cli_print_json(const cJSON *v);

/* Number member of obj, NAN when absent or null. */
double cli_num(const cJSON *obj, const char *key);
/* String member of obj, "" when absent. */
const char *cli_str(const cJSON *obj, const char *key);

/* Human units into buf ("-" for NAN): 1.5GiB, 12.0MB/s, 850us, 2h03m, 12.3k. */
const char *cli_bytes(double v, char *buf, size_t len);
const char *cli_rate(double bytes_per_s, char *buf, size_t len);
const char *cli_seconds(double s, char *buf, size_t len);
const char *cli_duration(double s, char *buf, size_t len);
const char *cli_count(double v, char *buf, size_t len);
/* "YYYY-MM-DD HH:MM:SS" local time of a unix time. */
const char *cli_time(double t, char *buf, size_t len);

/* Copy s into buf (truncated to len - 1) with control characters as '?', for tables. */
const char *cli_clean(const char *s, char *buf, size_t len);

/* Print an object generically as "key: value" lines (nested indented). */
void cli_print_kv(const cJSON *obj, int indent);

#endif
