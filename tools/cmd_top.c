/*
 * cmd_top.c - `presage top [--once] [-o table|json] [--sort KEY] [-n SECS]`:
 * live per-container CPU, memory, network, block I/O, requests, latency,
 * forecast and anomaly score, refreshed like `docker stats`.
 *
 * The table fits 100 columns.  `--once -o json` prints one JSON array (one
 * object per container, every metric key of the metric table and its alias,
 * null for missing values); live JSON prints one such array per line.
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
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* Short sort names for the columns; anything else is a JSON key. */
static const struct {
	const char *name, *key;
} sort_alias[] = {
	{ "cpu", "cpu_cores" },
	{ "mem", "memory_working_set_bytes" },
	{ "rx", "network_receive_bytes_per_second" },
	{ "tx", "network_transmit_bytes_per_second" },
	{ "read", "fs_read_bytes_per_second" },
	{ "write", "fs_write_bytes_per_second" },
	{ "req", "requests_per_second" },
	{ "p99", "request_p99_seconds" },
	{ "forecast", "forecast_cpu_cores" },
	{ "anomaly", "anomaly_score" },
};

static const char *sort_key = "cpu_cores";

static void usage(FILE *f)
{
	fprintf(f, "usage: presage top [--once] [-o table|json] [--sort KEY] [-n SECONDS]\n"
		   "  KEY: name, cpu, mem, rx, tx, read, write, req, p99, forecast, anomaly,\n"
		   "       or any key of `presage top --once -o json`\n");
}

/* Descending by number (missing last), ascending by text for string keys. */
static int cmp(const void *pa, const void *pb)
{
	const cJSON *a = *(cJSON *const *)pa, *b = *(cJSON *const *)pb;
	const cJSON *va = cJSON_GetObjectItemCaseSensitive(a, sort_key);
	const cJSON *vb = cJSON_GetObjectItemCaseSensitive(b, sort_key);
	double x, y;

	if (cJSON_IsString(va) || cJSON_IsString(vb))
		return strcmp(cli_str(a, sort_key), cli_str(b, sort_key));
	x = cli_num(a, sort_key);
	y = cli_num(b, sort_key);
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(cli_str(a, "name"), cli_str(b, "name"));
}

/* The array's items sorted (a malloc'd vector of borrowed pointers). */
static cJSON **sorted(const cJSON *arr, int *n)
{
	cJSON **v;
	const cJSON *it;
	int i = 0;

	*n = cJSON_GetArraySize(arr);
	v = calloc(*n ? *n : 1, sizeof(*v));
	if (!v)
		return NULL;
	cJSON_ArrayForEach(it, arr)
		v[i++] = (cJSON *)it;
	qsort(v, (size_t)*n, sizeof(*v), cmp);
	return v;
}

static void pct(double cores, char *buf, size_t len)
{
	if (isfinite(cores))
		snprintf(buf, len, "%.1f%%", cores * 100);
	else
		snprintf(buf, len, "-");
}

static void print_row(const cJSON *o)
{
	char name[19], cpu[12], mem[16], rx[16], tx[16], rd[16], wr[16], req[16], p99[16], fc[12],
		an[12];
	double anomaly = cli_num(o, "anomaly_score");

	cli_clean(*cli_str(o, "name") ? cli_str(o, "name") : cli_str(o, "id"), name, sizeof(name));
	pct(cli_num(o, "cpu_cores"), cpu, sizeof(cpu));
	cli_bytes(cli_num(o, "memory_working_set_bytes"), mem, sizeof(mem));
	cli_rate(cli_num(o, "network_receive_bytes_per_second"), rx, sizeof(rx));
	cli_rate(cli_num(o, "network_transmit_bytes_per_second"), tx, sizeof(tx));
	cli_rate(cli_num(o, "fs_read_bytes_per_second"), rd, sizeof(rd));
	cli_rate(cli_num(o, "fs_write_bytes_per_second"), wr, sizeof(wr));
	cli_count(cli_num(o, "requests_per_second"), req, sizeof(req));
	cli_seconds(cli_num(o, "request_p99_seconds"), p99, sizeof(p99));
	pct(cli_num(o, "forecast_cpu_cores"), fc, sizeof(fc));
	if (isfinite(anomaly))
		snprintf(an, sizeof(an), "%.2f", anomaly);
	else
		snprintf(an, sizeof(an), "-");
	printf("%-18s %6s %8s %8s %8s %8s %8s %7s %7s %6s %5s\n", name, cpu, mem, rx, tx, rd, wr, req,
	       p99, fc, an);
}

static void print_table(const cJSON *arr, bool live)
{
	char when[32];
	cJSON **v;
	int n;

	v = sorted(arr, &n);
	if (!v)
		return;
	if (live) {
		if (isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		printf("presage top - %d container%s - %s - sorted by %s (Ctrl-C quits)\n", n,
		       n == 1 ? "" : "s", cli_time((double)time(NULL), when, sizeof(when)), sort_key);
	}
	printf("%-18s %6s %8s %8s %8s %8s %8s %7s %7s %6s %5s\n", "NAME", "CPU", "MEM", "NET RX",
	       "NET TX", "BLK RD", "BLK WR", "REQ/S", "P99", "FCST", "ANOM");
	for (int i = 0; i < n; i++)
		print_row(v[i]);
	free(v);
	fflush(stdout);
}

static void print_json_lines(const cJSON *arr)
{
	char *s = cJSON_PrintUnformatted(arr);

	if (s)
		printf("%s\n", s);
	free(s);
	fflush(stdout);
}

/* Refresh every interval until a signal; the connection stays open. */
static int run_live(struct ctl_client *c, enum cli_format fmt, double interval)
{
	struct timespec ts = { (time_t)interval, (long)((interval - floor(interval)) * 1e9) };
	cJSON *data;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* Ctrl-C while waiting for an answer ends the wait, not only the sleep. */
	ctl_client_set_stop(c, &stop);
	while (!stop) {
		if (cli_call(c, CTL_CMD_TOP, NULL, &data) != CLI_OK)
			return stop ? CLI_OK : CLI_FAIL;
		if (fmt == CLI_JSON)
			print_json_lines(data);
		else
			print_table(data, true);
		cJSON_Delete(data);
		nanosleep(&ts, NULL);
	}
	return CLI_OK;
}

static bool set_sort(const char *arg)
{
	for (size_t i = 0; i < sizeof(sort_alias) / sizeof(sort_alias[0]); i++)
		if (!strcmp(arg, sort_alias[i].name))
			return sort_key = sort_alias[i].key, true;
	if (!strcmp(arg, "name") || !strcmp(arg, "id") || !strcmp(arg, "image") ||
	    !strcmp(arg, "service") || !strcmp(arg, "cgroup") || metric_by_key(arg) >= 0)
		return sort_key = arg, true;
	cli_err("top", "unknown sort key \"%s\"", arg);
	return false;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' },	    { "output", required_argument, NULL, 'o' },
		{ "sort", required_argument, NULL, 's' },   { "interval", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },	    { 0 },
	};
	enum cli_format fmt = CLI_TABLE;
	struct ctl_client *c;
	double interval = 1;
	bool once = false;
	cJSON *data;
	char *end;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "o:s:n:h", opts, NULL)) != -1) {
		if (opt == 'h')
			return usage(stdout), CLI_OK;
		if (opt == '1')
			once = true;
		else if (opt == 'o' && cli_parse_format("top", optarg, &fmt))
			continue;
		else if (opt == 's' && set_sort(optarg))
			continue;
		else if (opt == 'n' && (interval = strtod(optarg, &end)) >= 0.1 && !*end && interval <= 3600)
			continue;
		else
			return usage(stderr), CLI_USAGE;
	}
	if (optind != argc)
		return usage(stderr), CLI_USAGE;
	c = cli_connect();
	if (!c)
		return CLI_FAIL;
	if (!once) {
		rc = run_live(c, fmt, interval);
	} else if ((rc = cli_call(c, CTL_CMD_TOP, NULL, &data)) == CLI_OK) {
		if (fmt == CLI_JSON)
			cli_print_json(data);
		else
			print_table(data, false);
		cJSON_Delete(data);
	}
	ctl_client_free(c);
	return rc;
}
