/*
 * log.c - levelled logging; see log.h.
 */
#include "common/log.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level cur_level = LOG_INFO;
static const char *ident = "presage";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_set_level_name(const char *name)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			cur_level = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(name, "warning") == 0) {
		cur_level = LOG_WARN;
		return 0;
	}
	return -1;
}

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_ident(const char *name)
{
	ident = name;
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (lvl > cur_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: %s: %s\n", ident, level_names[lvl], buf);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

char *log_clean(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; len && i < len - 1 && s[i]; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (len)
		buf[i] = '\0';
	return buf;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;

	log_vmsg(lvl, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned int burst, unsigned int interval_s)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now - rl->window_start_ns > (uint64_t)interval_s * 1000000000ull) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
