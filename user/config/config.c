/*
 * config.c - parse, validate, override, publish and reload the configuration;
 * see config.h.  The key table lives in config_keys.c.
 *
 * Values reach a field through two doors - a cJSON node from the file, or a
 * text value from a default or a command-line flag - and both end in the same
 * typed setters, so bounds and rules are checked once, the same way.
 */
#include "config/config.h"
#include "config/config_keys.h"
#include "common/log.h"
#include "core/bus.h"
#include "core/state.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OVERRIDES 32

/* Collected problems: one line each in the caller's buffer, counted. */
struct errs {
	char *buf;
	size_t len, used;
	int n;
	bool nomem;
};

static void errf(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void errf(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	size_t start;
	int w;

	e->n++;
	if (!e->buf || e->used + 1 >= e->len)
		return;
	if (e->used)
		e->buf[e->used++] = '\n';
	start = e->used;
	va_start(ap, fmt);
	w = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	if (w > 0)
		e->used += (size_t)w < e->len - e->used ? (size_t)w : e->len - e->used - 1;
	e->buf[e->used] = '\0';
	/* Keys and values may hold newlines or escapes: each problem stays one line. */
	log_clean(e->buf + start, e->buf + start, e->len - start);
}

static struct {
	char key[64];
	char value[256];
} overrides[MAX_OVERRIDES];
static int n_overrides;
static pthread_mutex_t override_lock = PTHREAD_MUTEX_INITIALIZER;

static struct pub_slot cur_slot = PUB_SLOT_INIT;

/* ---- typed setters -------------------------------------------------------- */

static void free_list(char **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int set_num(const struct cfg_key *k, void *base, double v, const char *path, struct errs *e)
{
	if (!isfinite(v) || v < k->min || v > k->max) {
		errf(e, "\"%s\" = %g is out of bounds [%g, %g]", path, v, k->min, k->max);
		return -EINVAL;
	}
	if (k->type == CFG_T_INT) {
		if (v != floor(v)) {
			errf(e, "\"%s\" must be an integer, got %g", path, v);
			return -EINVAL;
		}
		*(int *)((char *)base + k->off) = (int)v;
	} else {
		*(double *)((char *)base + k->off) = v;
	}
	return 0;
}

static int check_str(const struct cfg_key *k, const char *s, const char *path, struct errs *e)
{
	size_t n = strlen(s);
	char why[160];

	if (k->type == CFG_T_ENUM) {
		for (const char *const *c = k->choices; *c; c++)
			if (!strcmp(*c, s))
				return 0;
		errf(e, "\"%s\" = \"%s\" is not one of the accepted values", path, s);
		return -EINVAL;
	}
	if (n < (size_t)k->min || n > (size_t)k->max) {
		errf(e, "\"%s\" must be %g to %g characters long, got %zu", path, k->min, k->max, n);
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			errf(e, "\"%s\" contains a control character", path);
			return -EINVAL;
		}
	}
	if (k->check && k->check(s, why, sizeof(why)) < 0) {
		errf(e, "\"%s\" = \"%s\": %s", path, s, why);
		return -EINVAL;
	}
	return 0;
}

static int set_str(const struct cfg_key *k, void *base, const char *s, const char *path,
		   struct errs *e)
{
	if (check_str(k, s, path, e) < 0)
		return -EINVAL;
	snprintf((char *)base + k->off, k->size, "%s", s);
	return 0;
}

/* Replace the list field with items (n of them), each checked like a string. */
static int set_list(const struct cfg_key *k, void *base, const char *const *items, int n,
		    const char *path, struct errs *e)
{
	char ***field = (char ***)((char *)base + k->off);
	int *count = (int *)((char *)base + k->count_off);
	char **list, ipath[CFG_PATH_LEN + 16];
	int bad = 0;

	if (n > (int)k->max) {
		errf(e, "\"%s\" has %d entries, at most %g are allowed", path, n, k->max);
		return -EINVAL;
	}
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return e->nomem = true, -ENOMEM;
	for (int i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%d]", path, i);
		struct cfg_key ik = { .type = CFG_T_STR, .min = 1, .max = CFG_PATH_LEN - 1,
				      .check = k->check };
		if (check_str(&ik, items[i], ipath, e) < 0 && ++bad)
			continue;
		list[i] = strdup(items[i]);
		if (!list[i])
			e->nomem = true, bad++;
	}
	if (bad) {
		free_list(list, n);
		return -EINVAL;
	}
	free_list(*field, *count);
	*field = list;
	*count = n;
	return 0;
}

/* ---- from text (defaults, flags) ---------------------------------------- */

static int set_list_text(const struct cfg_key *k, void *base, const char *text, const char *path,
			 struct errs *e)
{
	const char *items[CFG_MAX_LIST + 1];
	char *copy = strdup(text), *save = NULL, *tok;
	int n = 0, rc;

	if (!copy)
		return e->nomem = true, -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && n <= CFG_MAX_LIST;
	     tok = strtok_r(NULL, ",", &save))
		items[n++] = tok;
	rc = set_list(k, base, items, n, path, e);
	free(copy);
	return rc;
}

static int set_text(const struct cfg_key *k, void *base, const char *text, const char *path,
		    struct errs *e)
{
	char *end;
	double v;

	switch (k->type) {
	case CFG_T_NUM:
	case CFG_T_INT:
		errno = 0;
		v = strtod(text, &end);
		if (!*text || *end || errno) {
			errf(e, "\"%s\" must be a number, got \"%s\"", path, text);
			return -EINVAL;
		}
		return set_num(k, base, v, path, e);
	case CFG_T_BOOL:
		if (strcmp(text, "true") && strcmp(text, "false")) {
			errf(e, "\"%s\" must be true or false, got \"%s\"", path, text);
			return -EINVAL;
		}
		*(bool *)((char *)base + k->off) = !strcmp(text, "true");
		return 0;
	case CFG_T_LIST:
		return set_list_text(k, base, text, path, e);
	default:
		return set_str(k, base, text, path, e);
	}
}

/* ---- from JSON ------------------------------------------------------------ */

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "null";
}

static int set_list_json(const struct cfg_key *k, void *base, const cJSON *v, const char *path,
			 struct errs *e)
{
	const char *items[CFG_MAX_LIST + 1];
	const cJSON *it;
	int n = 0, i = 0, bad = 0;

	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it)) {
			errf(e, "\"%s[%d]\" must be a string, got %s", path, i, json_type_name(it));
			bad++;
		} else if (n <= CFG_MAX_LIST) {
			items[n++] = it->valuestring;
		}
		i++;
	}
	if (bad)
		return -EINVAL;
	if (i > n) {
		errf(e, "\"%s\" has %d entries, at most %g are allowed", path, i, k->max);
		return -EINVAL;
	}
	return set_list(k, base, items, n, path, e);
}

static int set_json(const struct cfg_key *k, void *base, const cJSON *v, const char *path,
		    struct errs *e)
{
	static const char *const want[] = {
		[CFG_T_NUM] = "a number", [CFG_T_INT] = "an integer", [CFG_T_BOOL] = "a boolean",
		[CFG_T_STR] = "a string", [CFG_T_ENUM] = "a string", [CFG_T_LIST] = "an array of strings",
	};
	bool ok;

	switch (k->type) {
	case CFG_T_NUM:
	case CFG_T_INT:
		ok = cJSON_IsNumber(v);
		break;
	case CFG_T_BOOL:
		ok = cJSON_IsBool(v);
		break;
	case CFG_T_LIST:
		ok = cJSON_IsArray(v);
		break;
	default:
		ok = cJSON_IsString(v);
	}
	if (!ok) {
		errf(e, "\"%s\" must be %s, got %s", path, want[k->type], json_type_name(v));
		return -EINVAL;
	}
	if (k->type == CFG_T_NUM || k->type == CFG_T_INT)
		return set_num(k, base, v->valuedouble, path, e);
	if (k->type == CFG_T_BOOL)
		return *(bool *)((char *)base + k->off) = cJSON_IsTrue(v), 0;
	if (k->type == CFG_T_LIST)
		return set_list_json(k, base, v, path, e);
	return set_str(k, base, v->valuestring, path, e);
}

/* ---- walking the tree ----------------------------------------------------- */

static const struct cfg_key *find_key(const struct cfg_key *tab, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

/* True when some key of the table lives under "prefix." (a nested object). */
static bool is_group(const struct cfg_key *tab, size_t n, const char *prefix)
{
	size_t len = strlen(prefix);

	for (size_t i = 0; i < n; i++)
		if (!strncmp(tab[i].name, prefix, len) && tab[i].name[len] == '.')
			return true;
	return false;
}

/* True when an earlier member of parent has it's name (cJSON keeps both). */
static bool is_duplicate(const cJSON *parent, const cJSON *it)
{
	for (const cJSON *p = parent->child; p && p != it; p = p->next)
		if (p->string && !strcmp(p->string, it->string))
			return true;
	return false;
}

/* Objects are bounded so the duplicate scan stays cheap on hostile input. */
#define MAX_MEMBERS 1024

static void parse_services(const cJSON *obj, struct presage_config *c, struct errs *e);

/*
 * Set every member of obj from table tab.  disp is the JSON path shown in
 * messages, rel the path the table rows are named by (they differ under
 * services.<name>).  seen[i] marks row i set: a key may be spelt nested
 * ({"docker":{"host":..}}) or dotted ("docker.host"), and both spellings of
 * one key in a file are a duplicate like two equal names in one object.
 */
static void walk(const cJSON *obj, const char *disp, const char *rel, const struct cfg_key *tab,
		 size_t ntab, void *base, bool *seen, struct errs *e)
{
	char dpath[512], rpath[512];
	const cJSON *it;

	if (cJSON_GetArraySize(obj) > MAX_MEMBERS) {
		errf(e, "\"%s\" has more than %d keys", *disp ? disp : "(root)", MAX_MEMBERS);
		return;
	}
	cJSON_ArrayForEach(it, obj) {
		snprintf(dpath, sizeof(dpath), "%s%s%s", disp, *disp ? "." : "", it->string);
		snprintf(rpath, sizeof(rpath), "%s%s%s", rel, *rel ? "." : "", it->string);
		const struct cfg_key *k = find_key(tab, ntab, rpath);

		if (is_duplicate(obj, it) || (k && seen[k - tab]))
			errf(e, "duplicate key \"%s\"", dpath);
		else if (k)
			seen[k - tab] = true, set_json(k, base, it, dpath, e);
		else if (tab == cfg_root_keys && !strcmp(rpath, "services"))
			cJSON_IsObject(it) ? parse_services(it, base, e)
					   : errf(e, "\"services\" must be an object, got %s",
						  json_type_name(it));
		else if (is_group(tab, ntab, rpath) && cJSON_IsObject(it))
			walk(it, dpath, rpath, tab, ntab, base, seen, e);
		else if (is_group(tab, ntab, rpath))
			errf(e, "\"%s\" must be an object, got %s", dpath, json_type_name(it));
		else
			errf(e, "unknown key \"%s\"", dpath);
	}
}

/* walk() over a whole table's object, with its own record of the keys set. */
static void walk_table(const cJSON *obj, const char *disp, const struct cfg_key *tab, size_t ntab,
		       void *base, struct errs *e)
{
	bool *seen = calloc(ntab, sizeof(*seen));

	if (!seen) {
		e->nomem = true;
		return;
	}
	walk(obj, disp, "", tab, ntab, base, seen, e);
	free(seen);
}

static int apply_defaults(const struct cfg_key *tab, size_t n, void *base, struct errs *e)
{
	for (size_t i = 0; i < n; i++)
		if (set_text(&tab[i], base, tab[i].def, tab[i].name, e) < 0)
			return -EINVAL;
	return 0;
}

static void check_service(const struct cfg_service *s, const char *disp, struct errs *e)
{
	if (s->min > s->max)
		errf(e, "\"%s.min\" = %d exceeds \"%s.max\" = %d", disp, s->min, disp, s->max);
	if (s->cpu_max > 0 && s->cpu_min > s->cpu_max)
		errf(e, "\"%s.cpu_min\" = %g exceeds \"%s.cpu_max\" = %g", disp, s->cpu_min, disp,
		     s->cpu_max);
	if (s->memory_max > 0 && s->memory_min > s->memory_max)
		errf(e, "\"%s.memory_min\" = %g exceeds \"%s.memory_max\" = %g", disp,
		     s->memory_min, disp, s->memory_max);
}

static bool service_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= CFG_NAME_LEN)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	return true;
}

static void parse_services(const cJSON *obj, struct presage_config *c, struct errs *e)
{
	int n = cJSON_GetArraySize(obj), i = 0;
	char disp[CFG_NAME_LEN + 16];
	const cJSON *it;

	if (n > CFG_MAX_SERVICES) {
		errf(e, "\"services\" has %d entries, at most %d are allowed", n, CFG_MAX_SERVICES);
		return;
	}
	c->services = calloc(n ? n : 1, sizeof(*c->services));
	if (!c->services) {
		e->nomem = true;
		return;
	}
	cJSON_ArrayForEach(it, obj) {
		struct cfg_service *s = &c->services[i];

		snprintf(disp, sizeof(disp), "services.%s", it->string);
		if (is_duplicate(obj, it)) {
			errf(e, "duplicate key \"%s\"", disp);
			continue;
		}
		if (!service_name_ok(it->string)) {
			errf(e, "\"%s\": a service name must be 1 to %d printable characters without '/'",
			     disp, CFG_NAME_LEN - 1);
			continue;
		}
		if (!cJSON_IsObject(it)) {
			errf(e, "\"%s\" must be an object, got %s", disp, json_type_name(it));
			continue;
		}
		snprintf(s->name, sizeof(s->name), "%s", it->string);
		c->n_services = ++i;
		apply_defaults(cfg_service_keys, cfg_service_key_count, s, e);
		walk_table(it, disp, cfg_service_keys, cfg_service_key_count, s, e);
		check_service(s, disp, e);
	}
}

/* Rules across keys, checked after every key is set (also after overrides). */
static void check_cross(const struct presage_config *c, struct errs *e)
{
	if (c->model_step_seconds < c->tick_seconds)
		errf(e, "\"model_step_seconds\" = %g is shorter than \"tick_seconds\" = %g",
		     c->model_step_seconds, c->tick_seconds);
	if (c->telemetry.quantile_window_seconds < c->tick_seconds)
		errf(e, "\"telemetry.quantile_window_seconds\" = %g is shorter than "
			"\"tick_seconds\" = %g", c->telemetry.quantile_window_seconds,
		     c->tick_seconds);
}

/* ---- public --------------------------------------------------------------- */

void cfg_free(struct presage_config *c)
{
	if (!c)
		return;
	free_list(c->telemetry.ignore_cgroups, c->telemetry.n_ignore);
	for (int i = 0; i < c->n_services; i++)
		free_list(c->services[i].cgroups, c->services[i].n_cgroups);
	free(c->services);
	free(c);
}

static void cfg_free_pub(struct pub_obj *o)
{
	cfg_free((struct presage_config *)((char *)o - offsetof(struct presage_config, pub)));
}

struct presage_config *cfg_new_defaults(void)
{
	struct presage_config *c = calloc(1, sizeof(*c));
	struct errs e = { 0 };

	if (!c)
		return NULL;
	c->pub.refs = 1;
	c->pub.free = cfg_free_pub;
	/* The table's defaults are constants: failing here is a table bug. */
	if (apply_defaults(cfg_root_keys, cfg_root_key_count, c, &e) < 0 || e.n) {
		cfg_free(c);
		errno = e.nomem ? ENOMEM : EINVAL;
		return NULL;
	}
	return c;
}

/* "line L column C" of offset off in text. */
static void where(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/*
 * True when anything but JSON whitespace follows the value that ends at *end;
 * *end is moved to it.  The parser stops after one value by itself, and a
 * second object or a stray brace after it must not be silently ignored.
 */
static bool trailing(const char *text, size_t len, const char **end)
{
	const char *p = *end;

	while (p < text + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	*end = p;
	return p < text + len;
}

struct presage_config *cfg_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct errs e = { .buf = err, .len = errlen };
	struct presage_config *c;
	const char *end = NULL;
	cJSON *root;
	int line, col;

	if (err && errlen)
		err[0] = '\0';
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root || !cJSON_IsObject(root) || trailing(text, len, &end)) {
		where(text, end && end >= text && end <= text + len ? (size_t)(end - text) : 0, &line,
		      &col);
		if (!root)
			errf(&e, "invalid JSON at line %d column %d", line, col);
		else if (!cJSON_IsObject(root))
			errf(&e, "the configuration must be a JSON object");
		else
			errf(&e, "trailing data after the configuration object at line %d column %d",
			     line, col);
		cJSON_Delete(root);
		errno = EINVAL;
		return NULL;
	}
	c = cfg_new_defaults();
	if (!c) {
		cJSON_Delete(root);
		return NULL;
	}
	walk_table(root, "", cfg_root_keys, cfg_root_key_count, c, &e);
	cJSON_Delete(root);
	check_cross(c, &e);
	if (e.n || e.nomem) {
		cfg_free(c);
		errno = e.nomem && !e.n ? ENOMEM : EINVAL;
		return NULL;
	}
	return c;
}

static int apply_overrides(struct presage_config *c, struct errs *e)
{
	int rc = 0;

	pthread_mutex_lock(&override_lock);
	for (int i = 0; i < n_overrides; i++) {
		const struct cfg_key *k = find_key(cfg_root_keys, cfg_root_key_count,
						   overrides[i].key);

		if (k && set_text(k, c, overrides[i].value, overrides[i].key, e) < 0)
			rc = -EINVAL;
	}
	pthread_mutex_unlock(&override_lock);
	return rc;
}

int cfg_load(const char *path, bool must_exist, struct presage_config **out, char *err,
	     size_t errlen)
{
	struct errs e = { .buf = err, .len = errlen };
	struct presage_config *c;
	size_t len = 0;
	char *text = NULL;
	bool from_file;

	if (err && errlen)
		err[0] = '\0';
	if (path)
		text = state_read_file(path, CFG_MAX_FILE_BYTES, &len);
	if (path && !text && (must_exist || errno != ENOENT)) {
		int rc = errno;

		char why[128];

		snprintf(why, sizeof(why), "%s", rc == EFBIG ? "larger than 1 MiB" : strerror(rc));
		why[0] = (char)tolower((unsigned char)why[0]);
		errf(&e, "failed to read %s: %s", path, why);
		return -rc;
	}
	from_file = text != NULL;
	c = from_file ? cfg_parse(text, len, err, errlen) : cfg_new_defaults();
	free(text);
	if (!c)
		return -errno;
	if (from_file)
		snprintf(c->source, sizeof(c->source), "%s", path);
	e.used = err ? strlen(err) : 0;
	if (apply_overrides(c, &e) < 0 || (check_cross(c, &e), e.n)) {
		cfg_free(c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

int cfg_override(const char *key, const char *value, char *err, size_t errlen)
{
	struct errs e = { .buf = err, .len = errlen };
	const struct cfg_key *k = find_key(cfg_root_keys, cfg_root_key_count, key);
	struct presage_config *probe;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!k) {
		errf(&e, "unknown key \"%s\"", key);
		return -EINVAL;
	}
	if (strlen(key) >= sizeof(overrides[0].key) || strlen(value) >= sizeof(overrides[0].value)) {
		errf(&e, "\"%s\": value too long", key);
		return -EINVAL;
	}
	probe = cfg_new_defaults();
	if (!probe)
		return -ENOMEM;
	rc = set_text(k, probe, value, key, &e);
	cfg_free(probe);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&override_lock);
	rc = n_overrides < MAX_OVERRIDES ? 0 : -ENOSPC;
	if (!rc) {
		snprintf(overrides[n_overrides].key, sizeof(overrides[0].key), "%s", key);
		snprintf(overrides[n_overrides].value, sizeof(overrides[0].value), "%s", value);
		n_overrides++;
	}
	pthread_mutex_unlock(&override_lock);
	return rc;
}

void cfg_clear_overrides(void)
{
	pthread_mutex_lock(&override_lock);
	n_overrides = 0;
	pthread_mutex_unlock(&override_lock);
}

/* True when key k holds the same value in a and b. */
static bool key_equal(const struct cfg_key *k, const void *a, const void *b)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

	switch (k->type) {
	case CFG_T_NUM:
		return *(const double *)pa == *(const double *)pb;
	case CFG_T_INT:
		return *(const int *)pa == *(const int *)pb;
	case CFG_T_BOOL:
		return *(const bool *)pa == *(const bool *)pb;
	case CFG_T_LIST: {
		int na = *(const int *)((const char *)a + k->count_off);
		int nb = *(const int *)((const char *)b + k->count_off);
		char *const *la = *(char *const *const *)pa, *const *lb = *(char *const *const *)pb;

		if (na != nb)
			return false;
		for (int i = 0; i < na; i++)
			if (strcmp(la[i], lb[i]))
				return false;
		return true;
	}
	default:
		return !strcmp(pa, pb);
	}
}

void cfg_publish(struct presage_config *c)
{
	struct presage_config *old = cfg_acquire();

	for (size_t i = 0; c && i < cfg_root_key_count; i++) {
		const struct cfg_key *k = &cfg_root_keys[i];

		if (old && key_equal(k, old, c))
			continue;
		if (k->apply)
			k->apply(c);
		else if (old && k->restart)
			log_warn("config key \"%s\" changed: it takes effect after a restart",
				 k->name);
	}
	cfg_release(old);
	pub_set(&cur_slot, c ? &c->pub : NULL);
}

struct presage_config *cfg_acquire(void)
{
	struct pub_obj *o = pub_get(&cur_slot);

	return o ? (struct presage_config *)((char *)o - offsetof(struct presage_config, pub))
		 : NULL;
}

void cfg_release(struct presage_config *c)
{
	if (c)
		pub_put(&cur_slot, &c->pub);
}

int cfg_reload(const char *path, bool must_exist)
{
	struct presage_config *c = NULL;
	char err[1024];
	int rc;

	rc = cfg_load(path, must_exist, &c, err, sizeof(err));
	if (rc < 0) {
		/* Several problems are one line each: the log wants one line. */
		for (char *p = err; (p = strchr(p, '\n'));)
			*p = ';';
		log_err("reload rejected, keeping the running configuration: %s: %s",
			path ? path : "(defaults)", err);
		bus_emit(BUS_CONFIG, NULL, NULL, NULL, "reload_rejected", "invalid", "%s", err);
		return rc;
	}
	cfg_publish(c);
	log_info("configuration reloaded from %s", path ? path : "(defaults)");
	bus_emit(BUS_CONFIG, NULL, NULL, NULL, "reload", "sighup", "configuration reloaded from %s",
		 path ? path : "built-in defaults");
	return 0;
}

const struct cfg_service *cfg_service_find(const struct presage_config *c, const char *name)
{
	for (int i = 0; c && i < c->n_services; i++)
		if (!strcmp(c->services[i].name, name))
			return &c->services[i];
	return NULL;
}

size_t cfg_key_count(void)
{
	return cfg_root_key_count;
}

const char *cfg_key_name(size_t i)
{
	return i < cfg_root_key_count ? cfg_root_keys[i].name : NULL;
}

const char *cfg_key_help(size_t i)
{
	return i < cfg_root_key_count ? cfg_root_keys[i].help : NULL;
}
