/*
 * docker_priv.h - internals shared by docker.c, docker_io.c and
 * docker_events.c; not for other subsystems.
 *
 * Requests go through three stages: `queued` (submitted, any thread, under
 * the lock), `waiting` (owner thread: held back until the API version is
 * known) and the curl multi handle (`active`, in flight).  Only the owner
 * thread - the one calling docker_client_perform() - touches the multi
 * handle, `waiting`, `active` and the event-stream state.
 */
#ifndef PRESAGE_DOCKER_PRIV_H
#define PRESAGE_DOCKER_PRIV_H

#include "runtime/docker.h"

#include <curl/curl.h>
#include <pthread.h>

#define EVENTS_PATH   "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
#define EVENT_LINE_MAX (1u << 20)
#define BACKOFF_MAX_S 30.0

struct docker_req {
	struct docker_client *c;
	CURL *easy;
	struct curl_slist *hdrs;
	char method[8];
	char *path;
	char *body;
	docker_done_fn fn;
	void *ctx;
	char *buf;
	size_t len, cap;
	bool too_big;
	bool is_version, is_events, got_headers;
	double started;
	char errbuf[CURL_ERROR_SIZE];
	struct docker_req *next;
};

struct docker_client {
	char endpoint[256];
	char base[256];          /* "http://localhost" for unix sockets */
	char sock[108];          /* unix socket path, "" for TCP */
	CURLM *multi;
	pthread_mutex_t lock;    /* queued, api, connected */
	struct docker_req *queued;
	struct docker_req *waiting;
	struct docker_req *active;
	char api[16];
	bool version_inflight;
	bool connected;
	long connect_ms, total_ms;
	docker_event_fn ev_fn;
	void *ev_ctx;
	struct docker_req *ev_req;
	double ev_retry_at, ev_backoff;
	bool ev_outage;
};

double docker_mono_now(void);
void docker_set_connected(struct docker_client *c, bool up);
void docker_req_free(struct docker_req *q);
struct docker_req *docker_req_new(struct docker_client *c, const char *method, const char *path,
				  const char *body);
/* Configure q->easy for q (URL with the negotiated version, timeouts, body); 0 or -ENOMEM. */
int docker_req_setup(struct docker_req *q, const char *api, long total_ms);
/* Add q to the multi handle and the active list; 0 or -ENOMEM. */
int docker_req_start(struct docker_client *c, struct docker_req *q);
/* Events: start the stream when due; handle its end; drop a stream that never answered. */
void docker_events_tick(struct docker_client *c);
void docker_events_done(struct docker_client *c, struct docker_req *q, const struct docker_response *r);
size_t docker_events_write(char *data, size_t sz, size_t nm, void *userp);
size_t docker_events_header(char *data, size_t sz, size_t nm, void *userp);

#endif
