/*
 * docker_io.c - transfers of the Docker client: curl easy setup, the multi
 * loop (version negotiation first, then the held-back requests), completion
 * and error mapping, and the blocking wrapper for worker threads.
 */
#include "runtime/docker_priv.h"

#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Append a chunk to q->buf; abort the transfer (return 0) past the size cap. */
static size_t body_write(char *data, size_t sz, size_t nm, void *userp)
{
	struct docker_req *q = userp;
	size_t n = sz * nm;
	char *nb;

	if (q->len + n + 1 > DOCKER_MAX_RESPONSE) {
		q->too_big = true;
		return 0;
	}
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;

		while (cap < q->len + n + 1)
			cap *= 2;
		nb = realloc(q->buf, cap);
		if (!nb)
			return 0;
		q->buf = nb;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
	q->buf[q->len] = '\0';
	return n;
}

int docker_req_setup(struct docker_req *q, const char *api, long total_ms)
{
	struct docker_client *c = q->c;
	char url[1024];

	q->easy = curl_easy_init();
	if (!q->easy)
		return -ENOMEM;
	if (api && *api)
		snprintf(url, sizeof(url), "%s/v%s%s", c->base, api, q->path);
	else
		snprintf(url, sizeof(url), "%s%s", c->base, q->path);
	curl_easy_setopt(q->easy, CURLOPT_URL, url);
	if (c->sock[0])
		curl_easy_setopt(q->easy, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	curl_easy_setopt(q->easy, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION,
			 q->is_events ? docker_events_write : body_write);
	if (q->is_events) {
		curl_easy_setopt(q->easy, CURLOPT_HEADERFUNCTION, docker_events_header);
		curl_easy_setopt(q->easy, CURLOPT_HEADERDATA, q);
	}
	q->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!q->hdrs)
		return -ENOMEM;
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->hdrs);
	if (q->body || !strcmp(q->method, "POST")) {
		curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE, (long)(q->body ? strlen(q->body) : 0));
		/* POSTFIELDS switches to POST; CUSTOMREQUEST keeps the verb asked for. */
	}
	return 0;
}

/* Map a finished transfer to a response (status, err, one-line errmsg). */
static void fill_response(struct docker_req *q, CURLcode cc, struct docker_response *r)
{
	const char *ep = q->c->endpoint;
	char msg[200];

	memset(r, 0, sizeof(*r));
	r->body = q->buf ? q->buf : "";
	r->len = q->len;
	if (q->easy)
		curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc != CURLE_OK) {
		if (q->too_big)
			r->err = -E2BIG;
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			r->err = -ETIMEDOUT;
		else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
			r->err = -ECONNREFUSED;
		else
			r->err = -EPROTO;
		if (q->too_big)
			snprintf(msg, sizeof(msg), "response larger than %u bytes", DOCKER_MAX_RESPONSE);
		else if (r->err == -ECONNREFUSED && q->c->sock[0])
			snprintf(msg, sizeof(msg), "cannot connect to the socket: %s",
				 access(q->c->sock, F_OK) ? "no such file" : "connection refused");
		else if (r->err == -ETIMEDOUT)
			snprintf(msg, sizeof(msg), "timed out (%s)", q->errbuf[0] ? q->errbuf :
				 curl_easy_strerror(cc));
		else
			snprintf(msg, sizeof(msg), "%s", q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc));
		snprintf(r->errmsg, sizeof(r->errmsg), "docker %s: %s %s: %s", ep, q->method, q->path,
			 msg);
		return;
	}
	if (r->status >= 200 && r->status < 300)
		return;
	r->err = r->status == 404 ? -ENOENT : r->status == 409 ? -EBUSY : -EIO;
	docker_parse_error(r->body, r->len, msg, sizeof(msg));
	snprintf(r->errmsg, sizeof(r->errmsg), "docker %s: %s %s: %ld %s", ep, q->method, q->path,
		 r->status, msg);
}

int docker_req_start(struct docker_client *c, struct docker_req *q)
{
	char api[16];

	pthread_mutex_lock(&c->lock);
	snprintf(api, sizeof(api), "%s", c->api);
	pthread_mutex_unlock(&c->lock);
	if (docker_req_setup(q, q->is_version ? NULL : api, q->is_events ? 0 : c->total_ms) < 0 ||
	    curl_multi_add_handle(c->multi, q->easy) != CURLM_OK)
		return -ENOMEM;
	q->started = docker_mono_now();
	if (!q->is_events) {
		q->next = c->active;
		c->active = q;
	}
	return 0;
}

static void version_done(struct docker_client *c, struct docker_response *r);

/* Complete q without a transfer (failed setup, failed negotiation). */
static void fail_req(struct docker_client *c, struct docker_req *q, int err, const char *why)
{
	struct docker_response r = { .err = err, .body = "" };

	snprintf(r.errmsg, sizeof(r.errmsg), "%s", why);
	if (q->is_version) {
		/* the requests waiting for negotiation fail with it, not wait forever */
		docker_req_free(q);
		version_done(c, &r);
		return;
	}
	if (q->is_events) {
		docker_events_done(c, q, &r); /* frees q */
		return;
	}
	if (q->fn)
		q->fn(c, &r, q->ctx);
	docker_req_free(q);
}

static void start_or_fail(struct docker_client *c, struct docker_req *q)
{
	char why[320];

	if (docker_req_start(c, q) == 0)
		return;
	snprintf(why, sizeof(why), "docker %s: %s %s: out of memory", c->endpoint, q->method,
		 q->path);
	if (q->easy) {
		curl_easy_cleanup(q->easy);
		q->easy = NULL;
	}
	fail_req(c, q, -ENOMEM, why);
}

/* Negotiation finished: release (or fail) everything held back for it. */
/*
 * A request that failed because version negotiation did: name the request
 * itself, with the cause of the /version failure ("docker EP: POST /x: cannot
 * connect to the socket: no such file").
 */
static void reword(char *dst, size_t len, const struct docker_client *c, const char *method,
		   const char *path, const char *version_errmsg)
{
	const char *cause = strstr(version_errmsg, "GET /version: ");

	cause = cause ? cause + strlen("GET /version: ") : version_errmsg;
	snprintf(dst, len, "docker %s: %s %s: %s", c->endpoint, method, path, cause);
}

static void release_waiting(struct docker_client *c, const struct docker_response *vr)
{
	struct docker_req *q = c->waiting, *next;
	char why[320];

	c->waiting = NULL;
	for (; q; q = next) {
		next = q->next;
		q->next = NULL;
		reword(why, sizeof(why), c, q->method, q->path, vr->errmsg);
		if (vr->err)
			fail_req(c, q, vr->err, why);
		else
			start_or_fail(c, q);
	}
}

static void version_done(struct docker_client *c, struct docker_response *r)
{
	char api[16];

	c->version_inflight = false;
	if (!r->err && docker_parse_version(r->body, r->len, api, sizeof(api)) < 0) {
		r->err = -EPROTO;
		snprintf(r->errmsg, sizeof(r->errmsg),
			 "docker %s: GET /version: response is not a Docker version object",
			 c->endpoint);
	}
	if (!r->err) {
		if (docker_version_cmp(api, DOCKER_API_MAX) > 0)
			snprintf(api, sizeof(api), "%s", DOCKER_API_MAX);
		pthread_mutex_lock(&c->lock);
		snprintf(c->api, sizeof(c->api), "%s", api);
		pthread_mutex_unlock(&c->lock);
		log_debug("docker %s: using API version %s", c->endpoint, api);
	}
	release_waiting(c, r);
}

/* Unlink q from the active list (it may be absent: event stream). */
static void unlink_active(struct docker_client *c, struct docker_req *q)
{
	struct docker_req **p;

	for (p = &c->active; *p; p = &(*p)->next) {
		if (*p == q) {
			*p = q->next;
			return;
		}
	}
}

static void finish(struct docker_client *c, struct docker_req *q, CURLcode cc)
{
	struct docker_response r;

	fill_response(q, cc, &r);
	if (r.status) {
		docker_set_connected(c, true);
		/* it answers again: reconnect a lost event stream now, not at its backoff */
		if (!q->is_events && c->ev_outage && !c->ev_req)
			c->ev_retry_at = 0;
	} else if (r.err == -ECONNREFUSED)
		docker_set_connected(c, false);
	if (q->is_events) {
		docker_events_done(c, q, &r);
		return;
	}
	unlink_active(c, q);
	if (q->is_version)
		version_done(c, &r);
	if (q->fn)
		q->fn(c, &r, q->ctx);
	docker_req_free(q);
}

/* Route newly submitted requests: start now, or hold until the version is known. */
static void dispatch_queued(struct docker_client *c)
{
	struct docker_req *q, *next, *ver;
	bool have_api;

	pthread_mutex_lock(&c->lock);
	q = c->queued;
	c->queued = NULL;
	have_api = c->api[0] != '\0';
	pthread_mutex_unlock(&c->lock);
	for (; q; q = next) {
		next = q->next;
		q->next = NULL;
		if (have_api) {
			start_or_fail(c, q);
			continue;
		}
		q->next = c->waiting;
		c->waiting = q;
	}
	if (have_api || !c->waiting || c->version_inflight)
		return;
	ver = docker_req_new(c, "GET", "/version", NULL);
	if (!ver) {
		struct docker_response r = { .err = -ENOMEM, .body = "" };

		snprintf(r.errmsg, sizeof(r.errmsg), "docker %s: GET /version: out of memory",
			 c->endpoint);
		release_waiting(c, &r);
		return;
	}
	ver->is_version = true;
	c->version_inflight = true;
	start_or_fail(c, ver);
}

int docker_client_perform(struct docker_client *c)
{
	struct docker_req *q;
	CURLMsg *m;
	int running = 0, left, n = 0;

	dispatch_queued(c);
	docker_events_tick(c);
	curl_multi_perform(c->multi, &running);
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		finish(c, q, m->data.result);
	}
	/* Completions may have queued follow-up requests (inspect after an event). */
	dispatch_queued(c);
	for (q = c->waiting; q; q = q->next)
		n++;
	for (q = c->active; q; q = q->next)
		n++;
	return n + (c->ev_req ? 1 : 0);
}

long docker_client_fdset(struct docker_client *c, fd_set *r, fd_set *w, fd_set *e, int *maxfd)
{
	long timeout = -1;
	bool queued;

	curl_multi_fdset(c->multi, r, w, e, maxfd);
	curl_multi_timeout(c->multi, &timeout);
	pthread_mutex_lock(&c->lock);
	queued = c->queued != NULL;
	pthread_mutex_unlock(&c->lock);
	if (queued)
		return 0;
	/* Wake in time for an event-stream reconnect. */
	if (c->ev_fn && !c->ev_req) {
		long due = (long)((c->ev_retry_at - docker_mono_now()) * 1000) + 1;

		if (due < 0)
			due = 0;
		if (timeout < 0 || due < timeout)
			timeout = due;
	}
	return timeout;
}

int docker_client_wait(struct docker_client *c, int timeout_ms)
{
	fd_set r, w, e;
	int maxfd = -1;
	long t;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	t = docker_client_fdset(c, &r, &w, &e, &maxfd);
	if (t >= 0 && t < timeout_ms)
		timeout_ms = (int)t;
	if (curl_multi_poll(c->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
		return -EIO;
	return 0;
}

void docker_client_wakeup(struct docker_client *c)
{
	curl_multi_wakeup(c->multi);
}

/* Blocking negotiation for sync requests; 0 or -errno with out->errmsg. */
static int sync_negotiate(struct docker_client *c, long timeout_ms, struct docker_response *out)
{
	struct docker_req *q = docker_req_new(c, "GET", "/version", NULL);
	CURLcode cc;

	if (!q)
		return -ENOMEM;
	q->is_version = true;
	if (docker_req_setup(q, NULL, timeout_ms) < 0) {
		docker_req_free(q);
		return -ENOMEM;
	}
	cc = curl_easy_perform(q->easy);
	fill_response(q, cc, out);
	if (out->status)
		docker_set_connected(c, true);
	q->c = NULL; /* not in the multi: keep req_free away from it */
	if (!out->err) {
		char api[16];

		if (docker_parse_version(q->buf, q->len, api, sizeof(api)) == 0) {
			if (docker_version_cmp(api, DOCKER_API_MAX) > 0)
				snprintf(api, sizeof(api), "%s", DOCKER_API_MAX);
			pthread_mutex_lock(&c->lock);
			snprintf(c->api, sizeof(c->api), "%s", api);
			pthread_mutex_unlock(&c->lock);
		} else {
			out->err = -EPROTO;
			snprintf(out->errmsg, sizeof(out->errmsg),
				 "docker %s: GET /version: response is not a Docker version object",
				 c->endpoint);
		}
	}
	out->body = NULL;
	out->len = 0;
	docker_req_free(q);
	return out->err;
}

int docker_request_sync(struct docker_client *c, const char *method, const char *path,
			const char *body, long timeout_ms, struct docker_response *out)
{
	struct docker_req *q;
	char api[16];
	CURLcode cc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (timeout_ms <= 0)
		timeout_ms = c->total_ms;
	pthread_mutex_lock(&c->lock);
	snprintf(api, sizeof(api), "%s", c->api);
	pthread_mutex_unlock(&c->lock);
	if (!api[0]) {
		rc = sync_negotiate(c, timeout_ms, out);
		if (rc < 0) {
			char why[sizeof(out->errmsg)];

			reword(why, sizeof(why), c, method, path, out->errmsg);
			snprintf(out->errmsg, sizeof(out->errmsg), "%s", why);
			return rc;
		}
		pthread_mutex_lock(&c->lock);
		snprintf(api, sizeof(api), "%s", c->api);
		pthread_mutex_unlock(&c->lock);
	}
	q = docker_req_new(c, method, path, body);
	if (!q || docker_req_setup(q, api, timeout_ms) < 0) {
		docker_req_free(q);
		snprintf(out->errmsg, sizeof(out->errmsg), "docker %s: out of memory", c->endpoint);
		return out->err = -ENOMEM;
	}
	cc = curl_easy_perform(q->easy);
	fill_response(q, cc, out);
	if (out->status)
		docker_set_connected(c, true);
	else if (out->err == -ECONNREFUSED)
		docker_set_connected(c, false);
	/*
	 * Hand the body over to the caller; docker_response_release() frees it.
	 * An empty answer is "", as docker.h promises (NULL only if even that
	 * allocation fails, with err set).
	 */
	out->body = q->buf ? q->buf : calloc(1, 1);
	if (!out->body && !out->err) {
		snprintf(out->errmsg, sizeof(out->errmsg), "docker %s: out of memory", c->endpoint);
		out->err = -ENOMEM;
	}
	q->buf = NULL;
	q->c = NULL;
	docker_req_free(q);
	return out->err;
}

void docker_response_release(struct docker_response *r)
{
	if (!r)
		return;
	free((char *)r->body);
	r->body = NULL;
	r->len = 0;
}
