/*
 * prom_http.c - the /metrics and /healthz endpoint on libmicrohttpd; see
 * prom.h.
 *
 * libmicrohttpd runs its own small thread pool; we bind the listening socket
 * ourselves so a failure names its cause.  Limits: connections, per-connection
 * memory (request line and headers), idle timeout and GET body size.  The
 * rendered exposition is cached per snapshot for a short while, so hundreds
 * of concurrent scrapes render once and copy.
 */
#include "export/prom.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_MAX_AGE_S 0.5
#define POOL_THREADS    2
#define PROM_CTYPE      "text/plain; version=0.0.4; charset=utf-8"

struct prom_http {
	struct MHD_Daemon *mhd;
};

/* Per-request state: the body bytes a GET carried so far. */
struct req_state {
	size_t body;
};

static struct {
	pthread_mutex_t lock;
	struct prom_writer w;
	uint64_t seq;
	double at;
	bool valid;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct prom_http *server;

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum prom_route prom_route(const char *method, const char *url)
{
	enum prom_route r;

	if (!url || !method)
		return PROM_ROUTE_NOT_FOUND;
	if (!strcmp(url, "/metrics"))
		r = PROM_ROUTE_METRICS;
	else if (!strcmp(url, "/healthz"))
		r = PROM_ROUTE_HEALTHZ;
	else if (!strcmp(url, "/"))
		r = PROM_ROUTE_INDEX;
	else
		return PROM_ROUTE_NOT_FOUND;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return PROM_ROUTE_BAD_METHOD;
	return r;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *ctype,
			     const char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text)
{
	return reply(conn, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Serve the cached exposition, re-rendering when the snapshot moved on. */
static enum MHD_Result serve_metrics(struct MHD_Connection *conn)
{
	struct snapshot *s = snapshot_acquire();
	uint64_t seq = s ? s->seq : 0;
	double now = mono_now();
	enum MHD_Result ret;

	pthread_mutex_lock(&cache.lock);
	if (!cache.valid || cache.seq != seq || now - cache.at > CACHE_MAX_AGE_S) {
		cache.w.len = 0;
		cache.w.oom = false;
		cache.valid = prom_render_snapshot(&cache.w, s) == 0;
		cache.seq = seq;
		cache.at = now;
	}
	snapshot_release(s);
	if (cache.valid)
		ret = reply(conn, MHD_HTTP_OK, PROM_CTYPE, cache.w.buf ? cache.w.buf : "",
			    cache.w.len);
	else
		ret = reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	pthread_mutex_unlock(&cache.lock);
	return ret;
}

/* Healthy when a snapshot exists and is younger than ten ticks (at least 10 s). */
static enum MHD_Result serve_healthz(struct MHD_Connection *conn)
{
	struct snapshot *s = snapshot_acquire();
	struct timespec ts;
	char msg[96];
	double age, limit;
	unsigned int status = MHD_HTTP_OK;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!s) {
		snprintf(msg, sizeof(msg), "starting: no snapshot yet\n");
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
	} else {
		age = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - s->time;
		limit = s->status.tick_seconds * 10 > 10 ? s->status.tick_seconds * 10 : 10;
		if (age > limit)
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(msg, sizeof(msg), "%s: last tick %.1f s ago\n",
			 status == MHD_HTTP_OK ? "ok" : "stale", age);
	}
	snapshot_release(s);
	return reply_text(conn, status, msg);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	static const char index_html[] = "presaged: see /metrics and /healthz\n";
	enum prom_route r = prom_route(method, url);
	struct req_state *st = *con_cls;

	if (!st) {
		/* First call: headers only.  Refuse early what we will not serve. */
		if (r == PROM_ROUTE_BAD_METHOD)
			return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		st->body += *upload_size;
		*upload_size = 0;
		return st->body > PROM_MAX_BODY ? MHD_NO : MHD_YES;
	}
	switch (r) {
	case PROM_ROUTE_METRICS:
		return serve_metrics(conn);
	case PROM_ROUTE_HEALTHZ:
		return serve_healthz(conn);
	case PROM_ROUTE_INDEX:
		return reply_text(conn, MHD_HTTP_OK, index_html);
	default:
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	}
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	/* Checked first: suppressed debug lines would still be counted and reported. */
	if (log_get_level() < LOG_DEBUG)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	LOG_RATELIMITED(LOG_DEBUG, "http: %s", msg);
}

/* True when host[0..n) is a name or address getaddrinfo may take (':' only for IPv6). */
static bool host_chars_ok(const char *host, size_t n, bool v6)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (ch <= ' ' || ch == 0x7f || ch == '[' || ch == ']' || (ch == ':' && !v6))
			return false;
	}
	return true;
}

int prom_parse_listen(const char *addr, char *host, size_t hlen, unsigned int *port, char *why,
		      size_t wlen)
{
	const char *colon = strrchr(addr, ':'), *h = addr;
	bool v6 = addr[0] == '[';
	unsigned long p = 0;
	size_t n;

	if (!colon || colon == addr || !colon[1])
		return snprintf(why, wlen, "expected ADDR:PORT"), -EINVAL;
	n = (size_t)(colon - addr);
	if (v6 != (colon[-1] == ']'))
		return snprintf(why, wlen, "unbalanced brackets around the address"), -EINVAL;
	if (v6) {
		h++;
		n -= 2;
	} else if (memchr(addr, ':', n)) {
		return snprintf(why, wlen, "an IPv6 address must be in brackets, e.g. [::1]:9560"),
		       -EINVAL;
	}
	if (!n)
		return snprintf(why, wlen, "expected ADDR:PORT"), -EINVAL;
	if (!host_chars_ok(h, n, v6))
		return snprintf(why, wlen, "the address contains a space, bracket or control "
			       "character"), -EINVAL;
	if (n >= hlen)
		return snprintf(why, wlen, "the address is longer than %zu bytes", hlen - 1), -EINVAL;
	/* Digits only: strtol would also take "+80", " 80" or "0x50". */
	for (const char *d = colon + 1; *d && p <= 65535; d++)
		p = *d >= '0' && *d <= '9' ? p * 10 + (unsigned long)(*d - '0') : ULONG_MAX;
	if (p > 65535)
		return snprintf(why, wlen, "port must be a number in 1..65535"), -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (unsigned int)p;
	return 0;
}

/* A bound, listening, non-blocking socket for listen; fd or -errno with err. */
static int open_listener(const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[128], port[16], why[96];
	unsigned int pnum;
	int fd, one = 1, rc;

	if (prom_parse_listen(addr, host, sizeof(host), &pnum, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "failed to listen on %s: %s", addr, why);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", pnum);
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "failed to listen on %s: %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
			rc = -errno;
			close(fd);
			fd = rc;
		}
	} else {
		fd = -errno;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(err, errlen, "failed to listen on %s: %s", addr, strerror(-fd));
	return fd;
}

/*
 * After a failed MHD_start_daemon: close fd unless MHD did.  libmicrohttpd
 * 0.9.75 closes a socket handed over with MHD_OPTION_LISTEN_SOCKET when it
 * fails late (a thread, epoll or eventfd it cannot create) but not when it
 * refuses the options early, and says neither.  So close it only when fd
 * still is that socket: once MHD closed it, another thread may own the number.
 */
static void close_if_same(int fd, const struct stat *was)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && st.st_dev == was->st_dev && st.st_ino == was->st_ino)
		close(fd);
}

struct prom_http *prom_http_new(const char *addr, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	struct prom_http *h = calloc(1, sizeof(*h));
	struct stat sock_st;
	int fd = -1;

	if (!h) {
		snprintf(err, errlen, "failed to start the metrics endpoint: out of memory");
		return NULL;
	}
	if (addr) {
		fd = open_listener(addr, err, errlen);
		if (fd < 0) {
			errno = -fd;
			free(h);
			return NULL;
		}
		/* Unknown identity (never seen): a failed start then leaks fd, never closes another. */
		if (fstat(fd, &sock_st) < 0)
			memset(&sock_st, 0, sizeof(sock_st));
	} else {
		flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	}
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, PROM_MAX_CONNECTIONS, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, PROM_CONN_TIMEOUT_S, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, PROM_CONN_MEMORY_LIMIT, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_done, NULL },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
		/* Last, so it is cut off by the END below when there is no socket. */
		{ fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END, fd, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	/* From here the socket is MHD's: MHD_stop_daemon closes it, never we. */
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_ARRAY, ops,
				  MHD_OPTION_END);
	if (!h->mhd) {
		int e = errno ? errno : EIO;

		snprintf(err, errlen, "failed to start the metrics endpoint on %s: %s",
			 addr ? addr : "(no socket)", strerror(e));
		if (fd >= 0)
			close_if_same(fd, &sock_st);
		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

void prom_http_free(struct prom_http *h)
{
	if (!h)
		return;
	/* Closes the listening socket too. */
	MHD_stop_daemon(h->mhd);
	free(h);
}

int prom_http_add_connection(struct prom_http *h, int fd)
{
	/* A loopback peer address: MHD wants one, and a socketpair has none. */
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	/* MHD closes fd itself, also when it refuses the connection. */
	if (MHD_add_connection(h->mhd, fd, (struct sockaddr *)&sin, sizeof(sin)) != MHD_YES)
		return -(errno ? errno : EIO);
	return 0;
}

int prom_server_start(const char *addr, char *err, size_t errlen)
{
	if (server)
		return -EALREADY;
	server = prom_http_new(addr ? addr : PROM_DEFAULT_LISTEN, err, errlen);
	if (!server)
		return -errno;
	log_info("serving metrics on http://%s/metrics", addr ? addr : PROM_DEFAULT_LISTEN);
	return 0;
}

void prom_server_stop(void)
{
	prom_http_free(server);
	server = NULL;
	pthread_mutex_lock(&cache.lock);
	prom_writer_free(&cache.w);
	cache.valid = false;
	pthread_mutex_unlock(&cache.lock);
}
