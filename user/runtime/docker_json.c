/*
 * docker_json.c - parsers for Docker Engine API responses; see docker.h.
 *
 * Everything here is pure: text in, fixed-size structs out.  Inputs come from
 * a daemon we do not control (or a fuzzer), so every field is optional and
 * type-checked, strings are truncated to their buffers, numbers outside their
 * range are rejected, and a tree that does not parse is -EINVAL.
 */
#include "runtime/docker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void copy_str(char *dst, size_t n, const char *src)
{
	if (!n)
		return;
	snprintf(dst, n, "%s", src ? src : "");
}

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Integer field; non-numbers, NaN and values beyond +-2^62 read as 0. */
static int64_t jint(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 4.6e18)
		return 0;
	return (int64_t)v->valuedouble;
}

static cJSON *parse_n(const char *json, size_t len)
{
	if (!json || !len)
		return NULL;
	return cJSON_ParseWithLength(json, len);
}

int docker_version_cmp(const char *a, const char *b)
{
	unsigned int amaj = 0, amin = 0, bmaj = 0, bmin = 0;

	if (!a || sscanf(a, "%u.%u", &amaj, &amin) != 2)
		amaj = amin = 0;
	if (!b || sscanf(b, "%u.%u", &bmaj, &bmin) != 2)
		bmaj = bmin = 0;
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	if (amin != bmin)
		return amin < bmin ? -1 : 1;
	return 0;
}

int docker_parse_version(const char *json, size_t len, char *api, size_t api_len)
{
	cJSON *root = parse_n(json, len);
	const char *v = jstr(root, "ApiVersion");
	unsigned int maj, min;
	int rc = -EINVAL;

	if (v && strlen(v) < 16 && sscanf(v, "%u.%u", &maj, &min) == 2 && maj < 100 &&
	    min < 1000) {
		snprintf(api, api_len, "%u.%u", maj, min);
		rc = 0;
	}
	cJSON_Delete(root);
	return rc;
}

double docker_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *rest;
	double frac = 0;

	if (!s || !*s)
		return 0;
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || tm.tm_year < 70) /* Docker's zero time is year 1 */
		return 0;
	if (*rest == '.') {
		double scale = 0.1;

		for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
			frac += (*rest - '0') * scale;
	}
	/* Docker reports UTC ("Z"); offsets other than Z are not produced by it. */
	return (double)timegm(&tm) + frac;
}

static void parse_labels(const cJSON *labels, struct docker_label *out, size_t *n)
{
	const cJSON *l;

	*n = 0;
	cJSON_ArrayForEach(l, labels) {
		if (*n >= DOCKER_MAX_LABELS)
			break;
		if (!l->string || !cJSON_IsString(l) || !l->valuestring)
			continue;
		copy_str(out[*n].key, sizeof(out[*n].key), l->string);
		copy_str(out[*n].value, sizeof(out[*n].value), l->valuestring);
		(*n)++;
	}
}

static void parse_host_config(const cJSON *hc, struct docker_container *out)
{
	copy_str(out->network_mode, sizeof(out->network_mode), jstr(hc, "NetworkMode"));
	out->nano_cpus = jint(hc, "NanoCpus");
	out->cpu_quota = jint(hc, "CpuQuota");
	out->cpu_period = jint(hc, "CpuPeriod");
	out->cpu_shares = jint(hc, "CpuShares");
	out->memory = jint(hc, "Memory");
	out->memory_swap = jint(hc, "MemorySwap");
}

int docker_parse_inspect(const char *json, size_t len, struct docker_container *out)
{
	cJSON *root = parse_n(json, len);
	const cJSON *cfg, *state;
	const char *id, *name;

	memset(out, 0, sizeof(*out));
	id = jstr(root, "Id");
	if (!cJSON_IsObject(root) || !id || !*id) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	copy_str(out->id, sizeof(out->id), id);
	name = jstr(root, "Name");
	copy_str(out->name, sizeof(out->name), name && name[0] == '/' ? name + 1 : name);
	out->created = docker_parse_time(jstr(root, "Created"));
	cfg = cJSON_GetObjectItemCaseSensitive(root, "Config");
	copy_str(out->image, sizeof(out->image), jstr(cfg, "Image"));
	parse_labels(cJSON_GetObjectItemCaseSensitive(cfg, "Labels"), out->labels, &out->n_labels);
	state = cJSON_GetObjectItemCaseSensitive(root, "State");
	copy_str(out->status, sizeof(out->status), jstr(state, "Status"));
	out->running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
	out->pid = (int)jint(state, "Pid");
	out->started_at = docker_parse_time(jstr(state, "StartedAt"));
	parse_host_config(cJSON_GetObjectItemCaseSensitive(root, "HostConfig"), out);
	cJSON_Delete(root);
	return 0;
}

static void parse_summary(const cJSON *row, struct docker_summary *s)
{
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(row, "Names");
	const cJSON *first = cJSON_GetArrayItem(names, 0);
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(row, "Labels");
	const char *state = jstr(row, "State"), *managed = jstr(labels, "presage.managed-by");
	const char *name = cJSON_IsString(first) ? first->valuestring : NULL;

	memset(s, 0, sizeof(*s));
	copy_str(s->id, sizeof(s->id), jstr(row, "Id"));
	copy_str(s->name, sizeof(s->name), name && name[0] == '/' ? name + 1 : name);
	s->created = (double)jint(row, "Created");
	s->running = state && !strcmp(state, "running");
	s->managed = managed && !strcmp(managed, "presage");
	copy_str(s->compose_project, sizeof(s->compose_project),
		 jstr(labels, "com.docker.compose.project"));
}

int docker_parse_list(const char *json, size_t len, struct docker_summary *out, size_t max)
{
	cJSON *root = parse_n(json, len);
	const cJSON *row;
	size_t n = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	cJSON_ArrayForEach(row, root) {
		if (n >= max)
			break;
		if (!cJSON_IsObject(row) || !jstr(row, "Id"))
			continue;
		parse_summary(row, &out[n++]);
	}
	cJSON_Delete(root);
	return (int)n;
}

int docker_parse_event(const char *line, size_t len, struct docker_event *out)
{
	cJSON *root = parse_n(line, len);
	const cJSON *actor, *attrs;
	const char *type, *action, *id, *code;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	type = jstr(root, "Type");
	action = jstr(root, "Action");
	actor = cJSON_GetObjectItemCaseSensitive(root, "Actor");
	id = jstr(actor, "ID");
	if (type && !strcmp(type, "container") && action && id && *id) {
		attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
		copy_str(out->id, sizeof(out->id), id);
		/* "exec_start: sh -c ..." -> "exec_start": keep the verb only. */
		copy_str(out->action, sizeof(out->action), action);
		out->action[strcspn(out->action, ": ")] = '\0';
		copy_str(out->name, sizeof(out->name), jstr(attrs, "name"));
		copy_str(out->image, sizeof(out->image), jstr(attrs, "image"));
		out->time_nano = jint(root, "timeNano");
		code = jstr(attrs, "exitCode");
		if (code)
			out->exit_code = atoi(code);
		rc = 1;
	}
	cJSON_Delete(root);
	return rc;
}

int docker_parse_service(const char *json, size_t len, struct docker_service *out)
{
	cJSON *root = parse_n(json, len);
	const cJSON *spec, *mode, *repl, *ver;
	const char *id;

	memset(out, 0, sizeof(*out));
	id = jstr(root, "ID");
	spec = cJSON_GetObjectItemCaseSensitive(root, "Spec");
	ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
	if (!id || !*id || !cJSON_IsObject(spec) ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ver, "Index")) || jint(ver, "Index") < 0) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	copy_str(out->id, sizeof(out->id), id);
	copy_str(out->name, sizeof(out->name), jstr(spec, "Name"));
	out->version = (uint64_t)jint(ver, "Index");
	mode = cJSON_GetObjectItemCaseSensitive(spec, "Mode");
	repl = cJSON_GetObjectItemCaseSensitive(mode, "Replicated");
	out->replicated = cJSON_IsObject(repl);
	if (out->replicated && jint(repl, "Replicas") > 0)
		out->replicas = (uint64_t)jint(repl, "Replicas");
	parse_labels(cJSON_GetObjectItemCaseSensitive(spec, "Labels"), out->labels, &out->n_labels);
	out->spec = cJSON_PrintUnformatted(spec);
	cJSON_Delete(root);
	return out->spec ? 0 : -ENOMEM;
}

/* Printable excerpt of a body that is not Docker's error JSON. */
static void excerpt(const char *s, size_t len, char *msg, size_t msg_len)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 1 < msg_len && j < 80; i++)
		msg[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	msg[j] = '\0';
	/* Trailing newline or spaces add nothing to a one-line message. */
	while (j && msg[j - 1] == ' ')
		msg[--j] = '\0';
}

void docker_parse_error(const char *json, size_t len, char *msg, size_t msg_len)
{
	cJSON *root = parse_n(json, len);
	const char *m = jstr(root, "message");
	char *nl;

	if (!msg_len)
		return;
	if (m)
		copy_str(msg, msg_len, m);
	else if (json && len)
		excerpt(json, len, msg, msg_len);
	else
		copy_str(msg, msg_len, "empty response");
	nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	cJSON_Delete(root);
}

const char *docker_label_get(const struct docker_container *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_labels; i++)
		if (!strcmp(c->labels[i].key, key))
			return c->labels[i].value;
	return NULL;
}
