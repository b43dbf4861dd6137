/*
 * labels.c - presage.* labels -> validated settings; see labels.h.
 *
 * One table row per label: its key, the CS_* bit it sets and a parser that
 * writes into struct ctr_settings and returns 0 or -EINVAL.  Cross-label
 * checks (min <= max) run after all rows, and drop both halves of a
 * contradiction, since neither can be trusted.
 */
#include "containers/labels.h"

#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const ctr_priority_names[3] = { "normal", "high", "low" };

#define MIN_MEMORY (4LL << 20) /* the kernel/runc floor for a memory limit */

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int ctr_parse_bytes(const char *s, int64_t *out)
{
	static const char units[] = "kmgt";
	char *end;
	double v, mul = 1;
	const char *u;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -EINVAL;
	if (*end && (u = strchr(units, end[0] | 0x20)) != NULL) {
		mul = pow(1024.0, (double)(u - units + 1));
		end++;
		if (!strcasecmp(end, "ib") || !strcasecmp(end, "b"))
			end += strlen(end);
	} else if (!strcasecmp(end, "b")) {
		end++;
	}
	if (*end || v * mul > 9.0e18)
		return -EINVAL;
	*out = (int64_t)(v * mul);
	return 0;
}

static int p_min(const char *v, struct ctr_settings *s) { return parse_int(v, 0, 10000, &s->min); }
static int p_max(const char *v, struct ctr_settings *s) { return parse_int(v, 1, 10000, &s->max); }

static int p_policy(const char *v, struct ctr_settings *s)
{
	if (strcmp(v, "reactive") && strcmp(v, "predictive") && strcmp(v, "rl"))
		return -EINVAL;
	snprintf(s->policy, sizeof(s->policy), "%s", v);
	return 0;
}

static int p_slo(const char *v, struct ctr_settings *s)
{
	return parse_double(v, 1e-3, 3.6e6, &s->slo_latency_ms);
}

/* Utilisation as a fraction (0.7) or a percentage (70 or 70%). */
static int p_target(const char *v, struct ctr_settings *s)
{
	char buf[32];
	size_t n = strlen(v);
	bool pct = n && v[n - 1] == '%';

	if (n >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(pct ? n - 1 : n), v);
	if (parse_double(buf, 1e-3, 100, &s->target) < 0)
		return -EINVAL;
	if (pct || s->target > 1)
		s->target /= 100;
	return 0;
}

static int p_capacity(const char *v, struct ctr_settings *s)
{
	return parse_double(v, 1e-6, 1e9, &s->capacity);
}

static int p_cpu_min(const char *v, struct ctr_settings *s)
{
	return parse_double(v, 0.01, 4096, &s->cpu_min);
}

static int p_cpu_max(const char *v, struct ctr_settings *s)
{
	return parse_double(v, 0.01, 4096, &s->cpu_max);
}

static int p_mem(const char *v, int64_t *out)
{
	int64_t b;

	if (ctr_parse_bytes(v, &b) < 0 || b < MIN_MEMORY)
		return -EINVAL;
	*out = b;
	return 0;
}

static int p_mem_min(const char *v, struct ctr_settings *s) { return p_mem(v, &s->mem_min); }
static int p_mem_max(const char *v, struct ctr_settings *s) { return p_mem(v, &s->mem_max); }

static int p_priority(const char *v, struct ctr_settings *s)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (!strcmp(v, ctr_priority_names[i])) {
			s->priority = (enum ctr_priority)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int p_cost(const char *v, struct ctr_settings *s)
{
	return parse_double(v, 0, 1e9, &s->cost);
}

static const struct label_rule {
	const char *key;
	unsigned int bit;
	int (*parse)(const char *v, struct ctr_settings *s);
	const char *expect; /* for the warning */
} rules[] = {
	{ "presage.min", CS_MIN, p_min, "an integer 0..10000" },
	{ "presage.max", CS_MAX, p_max, "an integer 1..10000" },
	{ "presage.policy", CS_POLICY, p_policy, "reactive, predictive or rl" },
	{ "presage.slo.latency_ms", CS_SLO, p_slo, "milliseconds > 0" },
	{ "presage.target", CS_TARGET, p_target, "a utilisation in (0, 1] or a percentage" },
	{ "presage.capacity", CS_CAPACITY, p_capacity, "requests/s > 0" },
	{ "presage.cpu.min", CS_CPU_MIN, p_cpu_min, "cores >= 0.01" },
	{ "presage.cpu.max", CS_CPU_MAX, p_cpu_max, "cores >= 0.01" },
	{ "presage.memory.min", CS_MEM_MIN, p_mem_min, "bytes >= 4m (k/m/g suffixes)" },
	{ "presage.memory.max", CS_MEM_MAX, p_mem_max, "bytes >= 4m (k/m/g suffixes)" },
	{ "presage.priority", CS_PRIORITY, p_priority, "high, normal or low" },
	{ "presage.cost", CS_COST, p_cost, "a cost >= 0" },
};

/* Apply one label; 0 when it is not a settings label or parsed, 1 when rejected. */
static int apply_label(const char *who, const struct docker_label *l, struct ctr_settings *out)
{
	struct ctr_settings tmp = *out;
	size_t i;

	if (!strcmp(l->key, "presage.enable")) {
		out->enabled = !strcasecmp(l->value, "true") || !strcmp(l->value, "1");
		if (out->enabled || !strcasecmp(l->value, "false") || !strcmp(l->value, "0"))
			return 0;
		log_warn("container %s: ignoring label presage.enable=\"%s\": expected true or false",
			 who, l->value);
		return 1;
	}
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(l->key, rules[i].key))
			continue;
		if (rules[i].parse(l->value, &tmp) < 0) {
			log_warn("container %s: ignoring label %s=\"%s\": expected %s", who, l->key,
				 l->value, rules[i].expect);
			return 1;
		}
		*out = tmp;
		out->has |= rules[i].bit;
		return 0;
	}
	return 0;
}

/* Drop both bounds of a pair when lo > hi; 1 when dropped. */
static int check_pair(const char *who, struct ctr_settings *s, unsigned int lo_bit,
		      unsigned int hi_bit, double lo, double hi, const char *what)
{
	if ((s->has & lo_bit) && (s->has & hi_bit) && lo > hi) {
		log_warn("container %s: ignoring labels presage.%s.min/max: min %g > max %g", who,
			 what, lo, hi);
		s->has &= ~(lo_bit | hi_bit);
		return 1;
	}
	return 0;
}

int ctr_labels_parse(const char *who, const struct docker_label *labels, size_t n,
		     struct ctr_settings *out)
{
	int bad = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++)
		bad += apply_label(who, &labels[i], out);
	if ((out->has & CS_MIN) && (out->has & CS_MAX) && out->min > out->max) {
		log_warn("container %s: ignoring labels presage.min/presage.max: min %d > max %d",
			 who, out->min, out->max);
		out->has &= ~(CS_MIN | CS_MAX);
		bad++;
	}
	bad += check_pair(who, out, CS_CPU_MIN, CS_CPU_MAX, out->cpu_min, out->cpu_max, "cpu");
	bad += check_pair(who, out, CS_MEM_MIN, CS_MEM_MAX, (double)out->mem_min,
			  (double)out->mem_max, "memory");
	return bad;
}

void ctr_labels_service(const struct docker_label *labels, size_t n, char *out, size_t out_len)
{
	static const char *const keys[] = {
		"presage.service", "com.docker.swarm.service.name", "com.docker.compose.service",
	};
	size_t k, i;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < n; i++) {
			if (!strcmp(labels[i].key, keys[k]) && labels[i].value[0]) {
				snprintf(out, out_len, "%s", labels[i].value);
				return;
			}
		}
	}
	if (out_len)
		out[0] = '\0';
}
