/*
 * bus.c - the internal event bus; see bus.h.
 */
#include "core/bus.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const bus_kind_names[BUS__COUNT] = {
	"container", "scale", "resize", "anomaly", "lifecycle", "runtime", "telemetry", "config",
};

static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bus_event ring[BUS_CAPACITY];
static uint64_t last_seq;

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bus_publish(const struct bus_event *ev)
{
	struct bus_event *slot;

	pthread_mutex_lock(&bus_lock);
	last_seq++;
	slot = &ring[last_seq % BUS_CAPACITY];
	*slot = *ev;
	slot->seq = last_seq;
	slot->time = now_unix();
	pthread_mutex_unlock(&bus_lock);
}

static void copy_field(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void bus_emit(enum bus_kind kind, const char *container, const char *name, const char *service,
	      const char *action, const char *reason, const char *fmt, ...)
{
	struct bus_event ev = { .kind = kind };
	va_list ap;

	copy_field(ev.container, sizeof(ev.container), container);
	copy_field(ev.name, sizeof(ev.name), name);
	copy_field(ev.service, sizeof(ev.service), service);
	copy_field(ev.action, sizeof(ev.action), action);
	copy_field(ev.reason, sizeof(ev.reason), reason);
	va_start(ap, fmt);
	vsnprintf(ev.message, sizeof(ev.message), fmt, ap);
	va_end(ap);
	bus_publish(&ev);
}

size_t bus_read(uint64_t after, struct bus_event *out, size_t max, uint64_t *missed)
{
	uint64_t first, seq;
	size_t n = 0;

	pthread_mutex_lock(&bus_lock);
	first = last_seq >= BUS_CAPACITY ? last_seq - BUS_CAPACITY + 1 : 1;
	if (missed)
		*missed = after + 1 < first ? first - after - 1 : 0;
	seq = after + 1 > first ? after + 1 : first;
	for (; seq <= last_seq && n < max; seq++)
		out[n++] = ring[seq % BUS_CAPACITY];
	pthread_mutex_unlock(&bus_lock);
	return n;
}

uint64_t bus_last_seq(void)
{
	uint64_t s;

	pthread_mutex_lock(&bus_lock);
	s = last_seq;
	pthread_mutex_unlock(&bus_lock);
	return s;
}

void bus_reset(void)
{
	pthread_mutex_lock(&bus_lock);
	last_seq = 0;
	memset(ring, 0, sizeof(ring));
	pthread_mutex_unlock(&bus_lock);
}
