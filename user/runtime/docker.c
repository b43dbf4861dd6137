/*
 * docker.c - non-blocking Docker Engine API client; see docker.h.
 *
 * Client lifecycle and request submission; transfers are in docker_io.c,
 * the /events stream in docker_events.c.
 */
#include "runtime/docker_priv.h"

#include "common/log.h"
#include "core/bus.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

double docker_mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Split host into a base URL and a unix socket path; 0 or -EINVAL. */
static int parse_host(struct docker_client *c, const char *host)
{
	if (!strncmp(host, "unix://", 7))
		host += 7;
	if (host[0] == '/') {
		if (strlen(host) >= sizeof(c->sock))
			return -EINVAL;
		snprintf(c->sock, sizeof(c->sock), "%s", host);
		snprintf(c->base, sizeof(c->base), "http://localhost");
		return 0;
	}
	if (!strncmp(host, "tcp://", 6))
		host += 6;
	else if (!strncmp(host, "http://", 7))
		host += 7;
	else
		return -EINVAL;
	if (!*host || strchr(host, '/') || strlen(host) > 200)
		return -EINVAL;
	snprintf(c->base, sizeof(c->base), "http://%s", host);
	return 0;
}

struct docker_client *docker_client_new(const char *host)
{
	struct docker_client *c;

	pthread_once(&curl_once, curl_init_once);
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = DOCKER_DEFAULT_HOST;
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	if (strlen(host) >= sizeof(c->endpoint) || parse_host(c, host) < 0) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", host);
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->connect_ms = DOCKER_CONNECT_TIMEOUT_MS;
	c->total_ms = DOCKER_TOTAL_TIMEOUT_MS;
	c->ev_backoff = 1.0;
	return c;
}

void docker_req_free(struct docker_req *q)
{
	if (!q)
		return;
	if (q->easy) {
		if (q->c && q->c->multi)
			curl_multi_remove_handle(q->c->multi, q->easy);
		curl_easy_cleanup(q->easy);
	}
	curl_slist_free_all(q->hdrs);
	free(q->path);
	free(q->body);
	free(q->buf);
	free(q);
}

/* Complete q with -ECANCELED so its owner can release its context. */
static void cancel(struct docker_req *q)
{
	struct docker_response r = { .err = -ECANCELED, .body = "" };

	if (!q->fn || q->is_events)
		return;
	snprintf(r.errmsg, sizeof(r.errmsg), "docker %s: %s %s: cancelled", q->c->endpoint,
		 q->method, q->path);
	q->fn(q->c, &r, q->ctx);
}

/* Free a request list; skip is the event stream, which may sit in one of them. */
static void free_list(struct docker_req *q, const struct docker_req *skip)
{
	while (q) {
		struct docker_req *next = q->next;

		if (q != skip) {
			cancel(q);
			docker_req_free(q);
		}
		q = next;
	}
}

void docker_client_free(struct docker_client *c)
{
	if (!c)
		return;
	free_list(c->queued, c->ev_req);
	free_list(c->waiting, c->ev_req);
	free_list(c->active, c->ev_req);
	docker_req_free(c->ev_req);
	curl_multi_cleanup(c->multi);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const char *docker_client_endpoint(const struct docker_client *c)
{
	return c->endpoint;
}

const char *docker_client_api_version(const struct docker_client *c)
{
	return c->api;
}

void docker_client_set_timeouts(struct docker_client *c, long connect_ms, long total_ms)
{
	if (connect_ms > 0)
		c->connect_ms = connect_ms;
	if (total_ms > 0)
		c->total_ms = total_ms;
}

bool docker_client_connected(const struct docker_client *c)
{
	return __atomic_load_n(&c->connected, __ATOMIC_RELAXED);
}

void docker_set_connected(struct docker_client *c, bool up)
{
	__atomic_store_n(&c->connected, up, __ATOMIC_RELAXED);
}

struct docker_req *docker_req_new(struct docker_client *c, const char *method, const char *path,
				  const char *body)
{
	struct docker_req *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->c = c;
	snprintf(q->method, sizeof(q->method), "%s", method);
	q->path = strdup(path);
	q->body = body ? strdup(body) : NULL;
	if (!q->path || (body && !q->body)) {
		docker_req_free(q);
		return NULL;
	}
	return q;
}

int docker_submit(struct docker_client *c, const char *method, const char *path,
		  const char *body, docker_done_fn fn, void *ctx)
{
	struct docker_req *q = docker_req_new(c, method, path, body), **tail;

	if (!q)
		return -ENOMEM;
	q->fn = fn;
	q->ctx = ctx;
	pthread_mutex_lock(&c->lock);
	for (tail = &c->queued; *tail; tail = &(*tail)->next)
		;
	*tail = q;
	pthread_mutex_unlock(&c->lock);
	curl_multi_wakeup(c->multi);
	return 0;
}

