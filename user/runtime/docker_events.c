/*
 * docker_events.c - the long-lived GET /events stream of the Docker client.
 *
 * The stream is newline-delimited JSON; it is split into lines as bytes
 * arrive and each container event is handed to the watcher.  When the stream
 * ends for any reason the daemon is considered down: the outage is logged
 * and published once, the stream is retried with exponential backoff, and
 * the first successful reconnect is logged and published once.  After every
 * (re)connect the watcher receives a synthetic "resync" event, because
 * events sent while the stream was down are lost and state must be re-read.
 */
#include "runtime/docker_priv.h"

#include "common/log.h"
#include "core/bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int docker_client_watch_events(struct docker_client *c, docker_event_fn fn, void *ctx)
{
	if (c->ev_fn)
		return -EALREADY;
	c->ev_fn = fn;
	c->ev_ctx = ctx;
	c->ev_retry_at = 0;
	curl_multi_wakeup(c->multi);
	return 0;
}

static void stream_up(struct docker_client *c)
{
	struct docker_event ev = { .action = "resync", .exit_code = -1 };

	docker_set_connected(c, true);
	c->ev_backoff = 1.0;
	if (c->ev_outage) {
		c->ev_outage = false;
		log_info("docker %s: event stream reconnected, runtime is back", c->endpoint);
		bus_emit(BUS_RUNTIME, "", "", "", "recovered", "runtime_up",
			 "docker %s reachable again", c->endpoint);
	}
	c->ev_fn(&ev, c->ev_ctx);
}

/* Hand every complete line in q->buf to the watcher; keep the partial tail. */
static void drain_lines(struct docker_client *c, struct docker_req *q)
{
	struct docker_event ev;
	size_t start = 0, i;
	int rc;

	for (i = 0; i < q->len; i++) {
		if (q->buf[i] != '\n')
			continue;
		rc = i > start ? docker_parse_event(q->buf + start, i - start, &ev) : 0;
		if (rc == 1)
			c->ev_fn(&ev, c->ev_ctx);
		else if (rc < 0)
			LOG_RATELIMITED(LOG_WARN, "docker %s: ignoring an event line that is not JSON",
					c->endpoint);
		start = i + 1;
	}
	memmove(q->buf, q->buf + start, q->len - start);
	q->len -= start;
}

/*
 * Header callback: the stream is up as soon as its headers end with a 200,
 * which is long before the first event (an idle daemon sends nothing else).
 */
size_t docker_events_header(char *data, size_t sz, size_t nm, void *userp)
{
	struct docker_req *q = userp;
	size_t n = sz * nm;
	long status = 0;

	if (q->got_headers || n > 2 || (n == 2 && memcmp(data, "\r\n", 2)) ||
	    (n == 1 && data[0] != '\n'))
		return n;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 100)
		return n; /* interim response: the real headers follow */
	q->got_headers = true;
	if (status == 200)
		stream_up(q->c);
	return n;
}

size_t docker_events_write(char *data, size_t sz, size_t nm, void *userp)
{
	struct docker_req *q = userp;
	struct docker_client *c = q->c;
	size_t n = sz * nm;
	long status = 0;
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap : 8192;
		char *nb;

		while (cap < q->len + n + 1)
			cap *= 2;
		if (cap > EVENT_LINE_MAX) {
			q->too_big = true;
			return 0; /* a line this long is not an event: drop the stream */
		}
		nb = realloc(q->buf, cap);
		if (!nb)
			return 0;
		q->buf = nb;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
	q->buf[q->len] = '\0';
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		drain_lines(c, q);
	return n;
}

void docker_events_done(struct docker_client *c, struct docker_req *q,
			const struct docker_response *r)
{
	const char *why = r->errmsg[0] ? r->errmsg : "connection closed by the daemon";

	if (c->ev_req == q)
		c->ev_req = NULL;
	docker_set_connected(c, false);
	if (!c->ev_outage) {
		c->ev_outage = true;
		log_warn("docker %s: runtime unreachable, event stream lost (%s); retrying with backoff",
			 c->endpoint, why);
		bus_emit(BUS_RUNTIME, "", "", "", "outage", "runtime_down", "docker %s unreachable: %s",
			 c->endpoint, why);
	}
	c->ev_retry_at = docker_mono_now() + c->ev_backoff;
	c->ev_backoff = c->ev_backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->ev_backoff * 2;
	docker_req_free(q);
}

/* A stream that connected but never sent its headers is a hung daemon. */
static void check_hung(struct docker_client *c)
{
	struct docker_req *q = c->ev_req;
	struct docker_response r = { .err = -ETIMEDOUT, .body = "" };
	double limit = (double)(c->connect_ms + c->total_ms) / 1000.0;

	if (!q || !q->easy || q->got_headers || docker_mono_now() - q->started < limit)
		return;
	snprintf(r.errmsg, sizeof(r.errmsg), "docker %s: GET /events: no answer within %ld ms",
		 c->endpoint, c->connect_ms + c->total_ms);
	docker_events_done(c, q, &r);
}

void docker_events_tick(struct docker_client *c)
{
	struct docker_req *q;
	bool have_api;

	if (!c->ev_fn)
		return;
	check_hung(c);
	if (c->ev_req || docker_mono_now() < c->ev_retry_at)
		return;
	q = docker_req_new(c, "GET", EVENTS_PATH, NULL);
	if (!q)
		return;
	q->is_events = true;
	c->ev_req = q;
	pthread_mutex_lock(&c->lock);
	have_api = c->api[0] != '\0';
	if (!have_api) {
		/* Negotiate first: the queue path starts /version and holds q back. */
		q->next = c->queued;
		c->queued = q;
	}
	pthread_mutex_unlock(&c->lock);
	if (have_api && docker_req_start(c, q) < 0) {
		struct docker_response r = { .err = -ENOMEM, .body = "" };

		snprintf(r.errmsg, sizeof(r.errmsg), "docker %s: GET /events: out of memory",
			 c->endpoint);
		docker_events_done(c, q, &r);
	}
}
