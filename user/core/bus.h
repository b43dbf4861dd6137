/*
 * bus.h - the internal event bus.
 *
 * Scaling actions, resizes, anomalies, lifecycle rule firings, container
 * births and deaths (from BPF and Docker's /events stream), runtime outages
 * and config reloads are published here.  The bus keeps the last BUS_CAPACITY
 * events in a ring with a global sequence number; readers copy out events
 * after a sequence they remember (`presage events --follow`, `explain`), so a
 * slow reader never blocks a publisher - it only misses overwritten events,
 * and is told how many.
 */
#ifndef PRESAGE_BUS_H
#define PRESAGE_BUS_H

#include <stddef.h>
#include <stdint.h>

#define BUS_CAPACITY 4096

enum bus_kind {
	BUS_CONTAINER,  /* container/cgroup appeared or went away */
	BUS_SCALE,      /* replicas changed (or would, in dry-run) */
	BUS_RESIZE,     /* CPU / memory / weight changed in place */
	BUS_ANOMALY,
	BUS_LIFECYCLE,
	BUS_RUNTIME,    /* runtime API outage / recovery */
	BUS_TELEMETRY,  /* OOM kill, fatal signal, drops */
	BUS_CONFIG,
	BUS__COUNT
};

struct bus_event {
	uint64_t seq;
	double time;            /* unix seconds */
	enum bus_kind kind;
	char container[72];     /* id, "" if none */
	char name[128];
	char service[128];
	char action[32];        /* e.g. scale_up, resize_cpu, oom_kill */
	char reason[64];        /* short machine-readable reason */
	char message[384];      /* human-readable one line */
};

extern const char *const bus_kind_names[BUS__COUNT];

/* Publish an event (seq and time are filled in); thread-safe, never blocks long. */
void bus_publish(const struct bus_event *ev);

/* printf-style convenience wrapper for bus_publish. */
void bus_emit(enum bus_kind kind, const char *container, const char *name, const char *service,
	      const char *action, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/*
 * Copy up to max events with seq > after into out, oldest first; returns how
 * many.  *missed (if non-NULL) gets the number of events after `after` that
 * were already overwritten.
 */
size_t bus_read(uint64_t after, struct bus_event *out, size_t max, uint64_t *missed);

/* Sequence number of the newest event (0 before any). */
uint64_t bus_last_seq(void);

/* Forget everything (tests). */
void bus_reset(void);

#endif
