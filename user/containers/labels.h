/*
 * labels.h - presage.* container labels parsed into validated settings.
 *
 * Acting is opt-in: `presage.enable=true`.  The other labels tune what the
 * engine may do with a container or its service.  A label that does not
 * parse (or contradicts another, like min > max) is reported with one
 * warning naming the container and the label, and that setting is ignored:
 * the container keeps the defaults for it, never a half-parsed value.
 */
#ifndef PRESAGE_LABELS_H
#define PRESAGE_LABELS_H

#include "runtime/docker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ctr_priority { PRIO_NORMAL = 0, PRIO_HIGH, PRIO_LOW };
extern const char *const ctr_priority_names[3];

/* Which optional settings were given (and valid). */
enum {
	CS_MIN = 1u << 0, CS_MAX = 1u << 1, CS_POLICY = 1u << 2, CS_SLO = 1u << 3,
	CS_TARGET = 1u << 4, CS_CAPACITY = 1u << 5, CS_CPU_MIN = 1u << 6, CS_CPU_MAX = 1u << 7,
	CS_MEM_MIN = 1u << 8, CS_MEM_MAX = 1u << 9, CS_PRIORITY = 1u << 10, CS_COST = 1u << 11,
};

struct ctr_settings {
	bool enabled;             /* presage.enable=true */
	unsigned int has;         /* CS_* bits */
	int min, max;             /* replicas, 0..10000 */
	char policy[16];          /* reactive | predictive | rl */
	double slo_latency_ms;    /* > 0 */
	double target;            /* utilisation, (0, 1] (percent 1..100 accepted) */
	double capacity;          /* requests/s per replica, > 0 */
	double cpu_min, cpu_max;  /* cores, > 0 */
	int64_t mem_min, mem_max; /* bytes, >= 4 MiB */
	enum ctr_priority priority;
	double cost;              /* per replica-hour, >= 0 */
};

/*
 * Parse labels of container `who` (name or id, for messages) into out
 * (zeroed first).  Returns the number of labels rejected (each logged once
 * as a warning); never fails.
 */
int ctr_labels_parse(const char *who, const struct docker_label *labels, size_t n,
		     struct ctr_settings *out);

/* Service of a container: presage.service, swarm service name, compose service, else "". */
void ctr_labels_service(const struct docker_label *labels, size_t n, char *out, size_t out_len);

/* Byte size with optional k/m/g/t suffix (binary, case-insensitive, optional "b"/"ib"); 0 or -EINVAL. */
int ctr_parse_bytes(const char *s, int64_t *out);

#endif
