/*
 * ctl_client.c - shared helpers of the daemon-facing CLI commands; see
 * ctl_client.h.
 */
#include "ctl_client.h"
#include "cli.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctl_client *cli_connect(void)
{
	char err[512];
	struct ctl_client *c = ctl_client_connect(cli_globals.socket_path, err, sizeof(err));

	if (!c)
		fprintf(stderr, "presage: %s\n", err);
	return c;
}

int cli_call(struct ctl_client *c, const char *cmd, const cJSON *args, cJSON **data)
{
	char err[1024];
	int rc = ctl_client_call(c, cmd, args, 0, data, err, sizeof(err));

	if (rc == 0)
		return CLI_OK;
	/* The user asked to stop (the caller's signal flag): nothing went wrong. */
	if (rc == -EINTR)
		return CLI_FAIL;
	/* The daemon's text may hold newlines or escapes: the error stays one line. */
	cli_clean(err, err, sizeof(err));
	/* A version mismatch names both sides already; others name the command. */
	if (rc == -EPROTO)
		fprintf(stderr, "presage: %s\n", err);
	else
		cli_err(cmd, "%s", err);
	return CLI_FAIL;
}

int cli_call_once(const char *cmd, const cJSON *args, cJSON **data)
{
	struct ctl_client *c = cli_connect();
	int rc;

	if (!c)
		return CLI_FAIL;
	rc = cli_call(c, cmd, args, data);
	ctl_client_free(c);
	return rc;
}

bool cli_parse_format(const char *cmd, const char *arg, enum cli_format *out)
{
	if (!strcmp(arg, "table"))
		*out = CLI_TABLE;
	else if (!strcmp(arg, "json"))
		*out = CLI_JSON;
	else {
		cli_err(cmd, "unknown output format \"%s\" (table or json)", arg);
		return false;
	}
	return true;
}

void cli_print_json(const cJSON *v)
{
	char *s = cJSON_Print(v);

	if (s)
		printf("%s\n", s);
	else
		printf("null\n");
	free(s);
}

double cli_num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *cli_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* v scaled by base through units[], "%.1f<unit><suffix>". */
static const char *scaled(double v, double base, const char *const *units, int n,
			  const char *suffix, char *buf, size_t len)
{
	int u = 0;

	if (!isfinite(v))
		return snprintf(buf, len, "-"), buf;
	while (fabs(v) >= base && u < n - 1) {
		v /= base;
		u++;
	}
	snprintf(buf, len, u ? "%.1f%s%s" : "%.0f%s%s", v, units[u], suffix);
	return buf;
}

const char *cli_bytes(double v, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };

	return scaled(v, 1024, u, 6, "", buf, len);
}

const char *cli_rate(double v, char *buf, size_t len)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB" };

	return scaled(v, 1000, u, 5, "/s", buf, len);
}

const char *cli_count(double v, char *buf, size_t len)
{
	static const char *const u[] = { "", "k", "M", "G", "T" };

	if (isfinite(v) && fabs(v) < 1000 && v != floor(v))
		return snprintf(buf, len, "%.1f", v), buf;
	return scaled(v, 1000, u, 5, "", buf, len);
}

const char *cli_seconds(double s, char *buf, size_t len)
{
	if (!isfinite(s))
		snprintf(buf, len, "-");
	else if (s < 1e-3)
		snprintf(buf, len, "%.0fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.*fms", s < 0.01 ? 1 : 0, s * 1e3);
	else
		snprintf(buf, len, "%.2fs", s);
	return buf;
}

/* Whole seconds a duration is shown in up to; beyond, days in exponent form. */
#define DURATION_MAX_S 1e15

const char *cli_duration(double s, char *buf, size_t len)
{
	/* Range first: converting a value long cannot hold is undefined. */
	long t = isfinite(s) && s > 0 && s < DURATION_MAX_S ? (long)s : 0;

	if (!isfinite(s))
		snprintf(buf, len, "-");
	else if (s >= DURATION_MAX_S)
		snprintf(buf, len, "%.3gd", s / 86400);
	else if (t < 60)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
	return buf;
}

const char *cli_time(double t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt;

	/* Range first: converting NaN or a value time_t cannot hold is undefined. */
	if (!isfinite(t) || fabs(t) >= 0x1p62) {
		snprintf(buf, len, "-");
		return buf;
	}
	tt = (time_t)t;
	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
	return buf;
}

const char *cli_clean(const char *s, char *buf, size_t len)
{
	return log_clean(s, buf, len);
}

static void print_scalar(const cJSON *v)
{
	if (cJSON_IsString(v))
		printf("%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		printf("%.6g", v->valuedouble);
	else if (cJSON_IsBool(v))
		printf("%s", cJSON_IsTrue(v) ? "true" : "false");
	else
		printf("-");
}

void cli_print_kv(const cJSON *obj, int indent)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj) {
		const char *key = it->string ? it->string : "-";

		if (cJSON_IsObject(it) || (cJSON_IsArray(it) && cJSON_IsObject(it->child))) {
			printf("%*s%s:\n", indent, "", key);
			cli_print_kv(it, indent + 2);
		} else if (cJSON_IsArray(it)) {
			const cJSON *e;

			printf("%*s%s: ", indent, "", key);
			cJSON_ArrayForEach(e, it) {
				print_scalar(e);
				printf("%s", e->next ? " " : "");
			}
			printf("\n");
		} else {
			printf("%*s%s: ", indent, "", key);
			print_scalar(it);
			printf("\n");
		}
	}
}
