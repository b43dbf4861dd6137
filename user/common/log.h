/*
 * log.h - levelled logging for the daemon and the CLI.
 *
 * One line per message on stderr (or syslog-style prefix when not a tty).
 * libbpf's own messages are routed here by log_route_libbpf().  Anything that
 * can repeat per event must go through LOG_RATELIMITED so a storm of one
 * failure cannot flood the journal.
 */
#ifndef PRESAGE_LOG_H
#define PRESAGE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the minimum level printed; "error", "warn", "info", "debug". */
int log_set_level_name(const char *name);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Program name used as prefix ("presaged", "presage"). */
void log_set_ident(const char *ident);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

/*
 * Copy s into buf (cut to len - 1 bytes) with control characters as '?', so
 * text from outside (JSON keys, container names, a daemon's error) stays one
 * printable line.  buf may be s.  Returns buf.
 */
char *log_clean(const char *s, char *buf, size_t len);

/* Route libbpf's print callback through log_msg (warnings as LOG_WARN). */
void log_route_libbpf(void);

/*
 * Returns true when a message for this site may be printed now: at most
 * `burst` messages per `interval_s` seconds; suppressed counts are reported
 * with the next message that gets through.
 */
struct log_ratelimit {
	uint64_t window_start_ns;
	unsigned int printed;
	unsigned int suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned int burst, unsigned int interval_s);

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Rate-limited (5 per minute per call site) variant. */
#define LOG_RATELIMITED(lvl, ...)                                                                  \
	do {                                                                                       \
		static struct log_ratelimit _rl;                                                   \
		if ((lvl) <= log_get_level() && log_ratelimit_ok(&_rl, 5, 60))                     \
			log_msg(lvl, __VA_ARGS__);                                                 \
	} while (0)

#endif
