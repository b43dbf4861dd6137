/*
 * ctl_handlers.c - the command table and the built-in commands: status, top,
 * events and a bus-based explain that the scaling code may replace; see
 * ctl.h.  Every built-in reads only the published snapshot and the bus.
 */
#include "ctl/ctl.h"
#include "config/config.h"
#include "core/bus.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDLERS 32
#define MAX_FIELDS   16
#define EVENTS_MAX   1000 /* events returned by one request */

struct handler {
	char cmd[32];
	ctl_handler_fn fn;
	void *ctx;
	bool builtin;
};

static struct handler handlers[MAX_HANDLERS];
static int n_handlers;
static struct {
	char cmd[32];
	ctl_fields_fn fn;
	void *ctx;
} fields[MAX_FIELDS];
static int n_fields;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Add a number, or null when it is not finite (JSON has no NaN). */
static void add_num(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static void call_fields(const char *cmd, cJSON *obj, const struct snapshot *s,
			const struct cont_snap *c)
{
	for (int i = 0; i < n_fields; i++)
		if (!strcmp(fields[i].cmd, cmd))
			fields[i].fn(obj, s, c, fields[i].ctx);
}

cJSON *ctl_container_json(const struct snapshot *s, const struct cont_snap *c)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "cgroup", c->cgroup);
	cJSON_AddNumberToObject(o, "cgroup_id", (double)c->cgroup_id);
	cJSON_AddStringToObject(o, "image", c->image);
	cJSON_AddStringToObject(o, "service", c->service);
	cJSON_AddStringToObject(o, "runtime", c->runtime);
	cJSON_AddBoolToObject(o, "enabled", c->enabled);
	add_num(o, "started", c->started);
	for (int m = 0; m < MET__COUNT; m++) {
		add_num(o, metric_descs[m].key, c->v[m]);
		if (metric_descs[m].alias)
			add_num(o, metric_descs[m].alias, c->v[m]);
	}
	/* Filled by the engine's field hooks when it runs; null until then. */
	cJSON_AddNullToObject(o, "forecast_cpu_cores");
	cJSON_AddNullToObject(o, "anomaly_score");
	return o;
}

const struct cont_snap *ctl_find_container(const struct snapshot *s, const cJSON *args, char *err,
					   size_t errlen)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(args, "container");
	const struct cont_snap *c;

	if (!cJSON_IsString(key) || !*key->valuestring) {
		snprintf(err, errlen, "missing argument \"container\" (a name or an id)");
		return NULL;
	}
	if (!s) {
		snprintf(err, errlen, "presaged has not sampled yet: try again in a second");
		return NULL;
	}
	c = snapshot_find(s, key->valuestring);
	if (!c)
		snprintf(err, errlen, "no container or cgroup named \"%s\" (or the id prefix is ambiguous)",
			 key->valuestring);
	return c;
}

/* ---- status ---------------------------------------------------------------- */

static void status_daemon(cJSON *o, const struct snapshot *s)
{
	const struct daemon_status *d = &s->status;
	cJSON *progs = cJSON_AddArrayToObject(o, "programs");

	cJSON_AddStringToObject(o, "driver", d->driver);
	cJSON_AddNumberToObject(o, "programs_attached", d->programs_attached);
	cJSON_AddNumberToObject(o, "programs_total", d->programs_total);
	for (int i = 0; progs && i < d->n_progs && i < 32; i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "name", d->bpf_prog_names[i]);
		cJSON_AddNumberToObject(p, "events_total", (double)d->bpf_events[i]);
		cJSON_AddItemToArray(progs, p);
	}
	add_num(o, "events_per_second", d->events_per_second);
	cJSON_AddNumberToObject(o, "ringbuf_dropped", (double)d->ringbuf_dropped);
	cJSON_AddNumberToObject(o, "containers", (double)s->n);
	cJSON_AddBoolToObject(o, "docker_connected", d->docker_connected);
	add_num(o, "started", d->started);
	add_num(o, "uptime_seconds", d->started > 0 ? now_unix() - d->started : NAN);
	add_num(o, "tick_seconds", d->tick_seconds);
	add_num(o, "last_tick_duration_seconds", d->last_tick_duration);
	cJSON_AddNumberToObject(o, "snapshot_seq", (double)s->seq);
	add_num(o, "snapshot_age_seconds", now_unix() - s->time);
}

static int h_status(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	struct snapshot *s = snapshot_acquire();
	struct presage_config *cfg = cfg_acquire();
	cJSON *o = cJSON_CreateObject();

	if (!o) {
		snapshot_release(s);
		cfg_release(cfg);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(o, "version", PRESAGE_VERSION);
	cJSON_AddNumberToObject(o, "protocol", CTL_PROTO_VERSION);
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddBoolToObject(o, "ready", s != NULL);
	if (cfg) {
		cJSON_AddBoolToObject(o, "dry_run", cfg->dry_run);
		cJSON_AddStringToObject(o, "listen", cfg->listen);
		cJSON_AddStringToObject(o, "config", cfg->source);
	}
	if (s)
		status_daemon(o, s);
	call_fields(CTL_CMD_STATUS, o, s, NULL);
	snapshot_release(s);
	cfg_release(cfg);
	*data = o;
	return 0;
}

/* ---- top --------------------------------------------------------------------- */

static int h_top(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	struct snapshot *s = snapshot_acquire();
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && s && i < s->n; i++) {
		cJSON *o = ctl_container_json(s, &s->c[i]);

		if (!o) {
			cJSON_Delete(arr);
			arr = NULL;
			break;
		}
		call_fields(CTL_CMD_TOP, o, s, &s->c[i]);
		cJSON_AddItemToArray(arr, o);
	}
	snapshot_release(s);
	if (!arr)
		return -ENOMEM;
	*data = arr;
	return 0;
}

/* ---- events ------------------------------------------------------------------ */

static cJSON *event_json(const struct bus_event *ev)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "seq", (double)ev->seq);
	cJSON_AddNumberToObject(o, "time", ev->time);
	cJSON_AddStringToObject(o, "kind", ev->kind < BUS__COUNT ? bus_kind_names[ev->kind] : "?");
	cJSON_AddStringToObject(o, "container", ev->container);
	cJSON_AddStringToObject(o, "name", ev->name);
	cJSON_AddStringToObject(o, "service", ev->service);
	cJSON_AddStringToObject(o, "action", ev->action);
	cJSON_AddStringToObject(o, "reason", ev->reason);
	cJSON_AddStringToObject(o, "message", ev->message);
	return o;
}

/* An event is about key when key is its container id, name or service. */
static bool event_matches(const struct bus_event *ev, const char *key)
{
	return !key || !strcmp(ev->container, key) || !strcmp(ev->name, key) ||
	       (ev->service[0] && !strcmp(ev->service, key));
}

/* A non-negative integer argument, or def when absent; -1 when malformed. */
static double num_arg(const cJSON *args, const char *name, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);

	if (!v)
		return def;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1.8e19)
		return -1;
	return floor(v->valuedouble);
}

static int h_events(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	const cJSON *ckey = cJSON_GetObjectItemCaseSensitive(args, "container");
	const char *key = cJSON_IsString(ckey) ? ckey->valuestring : NULL;
	double after = num_arg(args, "after", -1), limit = num_arg(args, "limit", EVENTS_MAX);
	uint64_t last = bus_last_seq(), missed = 0, m, cur;
	struct bus_event chunk[64];
	cJSON *o, *arr;
	size_t got, n = 0;
	bool full = false;

	if (limit < 0 || (cJSON_GetObjectItemCaseSensitive(args, "after") && after < 0)) {
		snprintf(err, errlen, "\"after\" and \"limit\" must be non-negative integers");
		return -EINVAL;
	}
	if (limit > EVENTS_MAX)
		limit = EVENTS_MAX;
	/* Without "after", the newest `limit` events (a filtered read scans all kept). */
	cur = after >= 0 ? (uint64_t)after
			 : (key || last < (uint64_t)limit ? 0 : last - (uint64_t)limit);
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "events");
	while (arr && !full && (got = bus_read(cur, chunk, 64, &m)) > 0) {
		missed += m;
		for (size_t i = 0; i < got && !full; i++) {
			/* Paging (with "after") stops at limit so the next page resumes here. */
			full = after >= 0 && n >= (size_t)limit;
			if (full)
				break;
			cur = chunk[i].seq;
			if (event_matches(&chunk[i], key) && ++n)
				cJSON_AddItemToArray(arr, event_json(&chunk[i]));
		}
	}
	/* Without "after", keep the newest `limit` matches. */
	while (arr && cJSON_GetArraySize(arr) > (int)limit)
		cJSON_DeleteItemFromArray(arr, 0);
	cJSON_AddNumberToObject(o, "last_seq", (double)cur);
	cJSON_AddNumberToObject(o, "missed", after >= 0 ? (double)missed : 0);
	*data = o;
	return arr ? 0 : -ENOMEM;
}

/* ---- explain (fallback: the decisions on the bus) -------------------------------- */

static bool is_decision(const struct bus_event *ev)
{
	return ev->kind == BUS_SCALE || ev->kind == BUS_RESIZE || ev->kind == BUS_LIFECYCLE;
}

/* The newest decision about any of keys[] and up to 10 related events. */
static void explain_scan(const char *const keys[3], cJSON *o)
{
	struct bus_event chunk[64];
	cJSON *related = cJSON_CreateArray(), *decision = NULL;
	uint64_t cur = 0, m;
	size_t got;

	while ((got = bus_read(cur, chunk, 64, &m)) > 0) {
		for (size_t i = 0; i < got; i++) {
			const struct bus_event *ev = &chunk[i];

			cur = ev->seq;
			if (!(event_matches(ev, keys[0]) || event_matches(ev, keys[1]) ||
			      (keys[2][0] && event_matches(ev, keys[2]))))
				continue;
			if (is_decision(ev)) {
				cJSON_Delete(decision);
				decision = event_json(ev);
			}
			cJSON_AddItemToArray(related, event_json(ev));
			if (cJSON_GetArraySize(related) > 10)
				cJSON_DeleteItemFromArray(related, 0);
		}
	}
	cJSON_AddItemToObject(o, "decision", decision ? decision : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "recent_events", related);
}

static int h_explain(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(args, "container");
	struct snapshot *s = snapshot_acquire();
	const struct cont_snap *c = s ? snapshot_find(s, cJSON_IsString(key) ? key->valuestring : "")
				      : NULL;
	const char *keys[3];
	cJSON *o;

	if (!cJSON_IsString(key) || !*key->valuestring) {
		snapshot_release(s);
		snprintf(err, errlen, "missing argument \"container\" (a name, an id or a service)");
		return -EINVAL;
	}
	keys[0] = c ? c->id : key->valuestring;
	keys[1] = c ? c->name : key->valuestring;
	keys[2] = c ? c->service : "";
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "target", key->valuestring);
	cJSON_AddStringToObject(o, "id", c ? c->id : "");
	cJSON_AddStringToObject(o, "name", c ? c->name : "");
	cJSON_AddStringToObject(o, "service", c ? c->service : "");
	cJSON_AddStringToObject(o, "source", "events");
	explain_scan(keys, o);
	/* The engine adds its last decision (inputs, output, what was applied). */
	call_fields(CTL_CMD_EXPLAIN, o, s, c);
	snapshot_release(s);
	if (!c && cJSON_IsNull(cJSON_GetObjectItem(o, "decision")) &&
	    !cJSON_GetArraySize(cJSON_GetObjectItem(o, "recent_events"))) {
		cJSON_Delete(o);
		snprintf(err, errlen, "no container, cgroup or service named \"%s\"", key->valuestring);
		return -ENOENT;
	}
	*data = o;
	return 0;
}

/* ---- the table ------------------------------------------------------------------- */

static int add_handler(const char *cmd, ctl_handler_fn fn, void *ctx, bool builtin)
{
	for (int i = 0; i < n_handlers; i++) {
		if (strcmp(handlers[i].cmd, cmd))
			continue;
		if (!handlers[i].builtin)
			return -EEXIST;
		handlers[i] = (struct handler){ .fn = fn, .ctx = ctx, .builtin = builtin };
		snprintf(handlers[i].cmd, sizeof(handlers[i].cmd), "%s", cmd);
		return 0;
	}
	if (n_handlers == MAX_HANDLERS)
		return -ENOSPC;
	handlers[n_handlers] = (struct handler){ .fn = fn, .ctx = ctx, .builtin = builtin };
	snprintf(handlers[n_handlers].cmd, sizeof(handlers[0].cmd), "%s", cmd);
	n_handlers++;
	return 0;
}

static void register_builtins(void)
{
	pthread_rwlock_wrlock(&table_lock);
	add_handler(CTL_CMD_STATUS, h_status, NULL, true);
	add_handler(CTL_CMD_TOP, h_top, NULL, true);
	add_handler(CTL_CMD_EVENTS, h_events, NULL, true);
	add_handler(CTL_CMD_EXPLAIN, h_explain, NULL, true);
	pthread_rwlock_unlock(&table_lock);
}

int ctl_register(const char *cmd, ctl_handler_fn fn, void *ctx)
{
	int rc;

	if (!cmd || !*cmd || strlen(cmd) >= sizeof(handlers[0].cmd) || !fn)
		return -EINVAL;
	pthread_once(&builtins_once, register_builtins);
	pthread_rwlock_wrlock(&table_lock);
	rc = add_handler(cmd, fn, ctx, false);
	pthread_rwlock_unlock(&table_lock);
	return rc;
}

int ctl_unregister(const char *cmd)
{
	int rc = -ENOENT;

	pthread_once(&builtins_once, register_builtins);
	pthread_rwlock_wrlock(&table_lock);
	for (int i = 0; i < n_handlers; i++) {
		if (strcmp(handlers[i].cmd, cmd) || handlers[i].builtin)
			continue;
		memmove(&handlers[i], &handlers[i + 1], (size_t)(n_handlers - i - 1) * sizeof(handlers[0]));
		n_handlers--;
		rc = 0;
		break;
	}
	pthread_rwlock_unlock(&table_lock);
	return rc;
}

int ctl_add_fields(const char *cmd, ctl_fields_fn fn, void *ctx)
{
	int rc = 0;

	if (!cmd || strlen(cmd) >= sizeof(fields[0].cmd) || !fn)
		return -EINVAL;
	pthread_rwlock_wrlock(&table_lock);
	if (n_fields == MAX_FIELDS) {
		rc = -ENOSPC;
	} else {
		snprintf(fields[n_fields].cmd, sizeof(fields[0].cmd), "%s", cmd);
		fields[n_fields].fn = fn;
		fields[n_fields].ctx = ctx;
		n_fields++;
	}
	pthread_rwlock_unlock(&table_lock);
	return rc;
}

/* Run the handler of req under the table lock (so it is not unregistered meanwhile). */
static char *run(const struct ctl_request *req)
{
	char err[512] = "", *line = NULL;
	cJSON *data = NULL;
	int rc = -ENOSYS;

	pthread_rwlock_rdlock(&table_lock);
	for (int i = 0; i < n_handlers; i++) {
		if (strcmp(handlers[i].cmd, req->cmd))
			continue;
		rc = handlers[i].fn(req->args, &data, err, sizeof(err), handlers[i].ctx);
		break;
	}
	pthread_rwlock_unlock(&table_lock);
	if (rc == -ENOSYS && !err[0])
		snprintf(err, sizeof(err), "command \"%s\" is not available in this presaged",
			 req->cmd);
	if (rc == 0)
		return ctl_response_ok(data);
	cJSON_Delete(data);
	if (!err[0])
		snprintf(err, sizeof(err), "%s failed: %s", req->cmd, strerror(-rc));
	line = ctl_response_error(err);
	return line;
}

char *ctl_dispatch(const char *line, size_t len)
{
	struct ctl_request req;
	char err[256], *out;

	pthread_once(&builtins_once, register_builtins);
	if (ctl_request_parse(line, len, &req, err, sizeof(err)) < 0)
		return ctl_response_error(err);
	out = run(&req);
	ctl_request_free(&req);
	return out;
}
