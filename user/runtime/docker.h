/*
 * docker.h - non-blocking Docker Engine API client (libcurl multi + cJSON).
 *
 * One client talks to one endpoint: a unix socket ("unix:///run/docker.sock"
 * or a bare path) or TCP ("tcp://host:port").  Several clients may exist at
 * once (two dockerds = two nodes or regions).  Requests are asynchronous: they
 * are queued with a completion callback and driven by docker_client_perform()
 * from the owner's event loop or worker thread, so a slow or dead daemon never
 * stalls the caller.  The API version is negotiated on first use
 * (min(server ApiVersion, DOCKER_API_MAX)) and every path is prefixed with
 * "/v1.xx".  A blocking wrapper, docker_request_sync(), exists for the
 * actuation worker, which may wait.
 *
 * Every request has a connect and a total timeout and a response size cap.
 * Failures are reported as one line naming the endpoint and the cause
 * ("docker unix:///x.sock: GET /containers/abc/json: 404 No such container").
 *
 * The /events stream is a long-lived request parsed line by line into
 * container events; it reconnects with exponential backoff, logging an outage
 * once and the recovery once (both also published on the bus as BUS_RUNTIME).
 *
 * The JSON parsers are exported (docker_parse_*) so they can be unit tested
 * and fuzzed without a daemon.  They copy what they need out of the cJSON tree.
 */
#ifndef PRESAGE_DOCKER_H
#define PRESAGE_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/select.h>

#define DOCKER_API_MAX          "1.43"
#define DOCKER_DEFAULT_HOST     "unix:///var/run/docker.sock"
#define DOCKER_MAX_RESPONSE     (8u << 20) /* bytes; a bigger body is an error */
#define DOCKER_CONNECT_TIMEOUT_MS 2000
#define DOCKER_TOTAL_TIMEOUT_MS   10000

#define DOCKER_ID_LEN      72
#define DOCKER_NAME_LEN    128
#define DOCKER_IMAGE_LEN   160
#define DOCKER_MAX_LABELS  32
#define DOCKER_LABEL_KEY   96
#define DOCKER_LABEL_VAL   160

struct docker_client;

/* A finished request.  body is NUL-terminated (may be empty), owned by the client. */
struct docker_response {
	long status;        /* HTTP status, 0 when no response came */
	const char *body;
	size_t len;
	int err;            /* 0, or -errno class: -ETIMEDOUT, -ECONNREFUSED, -EPROTO, -E2BIG */
	char errmsg[320];   /* one line naming endpoint, request and cause; "" on 2xx */
};

typedef void (*docker_done_fn)(struct docker_client *c, const struct docker_response *r,
			       void *ctx);

struct docker_label {
	char key[DOCKER_LABEL_KEY];
	char value[DOCKER_LABEL_VAL];
};

/* What presage needs from GET /containers/{id}/json. */
struct docker_container {
	char id[DOCKER_ID_LEN];
	char name[DOCKER_NAME_LEN];   /* without the leading '/' */
	char image[DOCKER_IMAGE_LEN]; /* Config.Image, as configured */
	char network_mode[32];
	char status[16];              /* created, running, exited, ... */
	bool running;
	int pid;
	double created;               /* unix seconds, 0 when unknown */
	double started_at;
	int64_t nano_cpus, cpu_quota, cpu_period, cpu_shares, memory, memory_swap;
	size_t n_labels;
	struct docker_label labels[DOCKER_MAX_LABELS];
};

/* One row of GET /containers/json. */
struct docker_summary {
	char id[DOCKER_ID_LEN];
	char name[DOCKER_NAME_LEN];
	double created;
	bool running;
	bool managed;       /* labelled presage.managed-by=presage */
	char compose_project[64]; /* label com.docker.compose.project, "" if none */
};

/* One container event of the /events stream. */
struct docker_event {
	char id[DOCKER_ID_LEN];
	char action[24];    /* create, start, die, destroy, update, rename, ... */
	char name[DOCKER_NAME_LEN];
	char image[DOCKER_IMAGE_LEN];
	int64_t time_nano;
	int exit_code;      /* die only, else -1 */
};

/* What the swarm driver needs from GET /services/{id}. */
struct docker_service {
	char id[DOCKER_ID_LEN];
	char name[DOCKER_NAME_LEN];
	uint64_t version;   /* Version.Index, needed by update */
	bool replicated;    /* Mode.Replicated (global services cannot scale) */
	uint64_t replicas;
	size_t n_labels;    /* Spec.Labels (service labels, not container labels) */
	struct docker_label labels[DOCKER_MAX_LABELS];
	char *spec;         /* Spec re-serialised (heap, caller frees) */
};

typedef void (*docker_event_fn)(const struct docker_event *ev, void *ctx);

/*
 * A client for host: NULL or "" means $DOCKER_HOST, else DOCKER_DEFAULT_HOST.
 * Accepts "unix://PATH", "/PATH", "tcp://HOST:PORT", "http://HOST:PORT".
 * Does no I/O.  NULL + errno EINVAL (bad host) or ENOMEM.
 */
struct docker_client *docker_client_new(const char *host);
/*
 * Cancels everything in flight: each pending callback runs once more with
 * err -ECANCELED (so owners can free their contexts; free the client before
 * the objects its callbacks point to).  NULL is a no-op.
 */
void docker_client_free(struct docker_client *c);

/* The endpoint as given, for messages ("unix:///var/run/docker.sock"). */
const char *docker_client_endpoint(const struct docker_client *c);
/* Negotiated API version ("1.41"), or "" before negotiation. */
const char *docker_client_api_version(const struct docker_client *c);
/* Timeouts for later requests; values <= 0 keep the defaults. */
void docker_client_set_timeouts(struct docker_client *c, long connect_ms, long total_ms);
/* True after the last request or event stream reached the daemon; false after an outage. */
bool docker_client_connected(const struct docker_client *c);

/*
 * Queue METHOD PATH (unversioned, e.g. "/containers/json?all=1") with an
 * optional JSON body; fn is called from docker_client_perform() when done
 * (also on failure, with r->err set).  Thread-safe.  0 or -ENOMEM.
 */
int docker_submit(struct docker_client *c, const char *method, const char *path,
		  const char *body, docker_done_fn fn, void *ctx);

/*
 * Drive transfers without blocking and run completion callbacks.  Call it
 * whenever the client's fds are ready or its timeout expired.  Returns the
 * number of requests still in flight (including the event stream).
 */
int docker_client_perform(struct docker_client *c);

/*
 * Event-loop integration: add the client's fds to the sets (like
 * curl_multi_fdset) and return the longest the caller may sleep (ms, -1 none).
 */
long docker_client_fdset(struct docker_client *c, fd_set *r, fd_set *w, fd_set *e, int *maxfd);

/* Block up to timeout_ms for activity (or docker_client_wakeup()); then call perform. */
int docker_client_wait(struct docker_client *c, int timeout_ms);
/* Make a concurrent docker_client_wait() return early; thread-safe. */
void docker_client_wakeup(struct docker_client *c);

/*
 * Blocking request for worker threads: like docker_submit but waits up to
 * timeout_ms (total; <= 0 uses the client's total timeout).  Independent of
 * the multi handle, so it may be called from any thread.  Returns 0 for a
 * 2xx status, else a negative errno (-ENOENT 404, -EEXIST/-EBUSY 409,
 * -ETIMEDOUT, -ECONNREFUSED, -EIO other status) with out->errmsg set.
 * out->body must be released with docker_response_release().
 */
int docker_request_sync(struct docker_client *c, const char *method, const char *path,
			const char *body, long timeout_ms, struct docker_response *out);
void docker_response_release(struct docker_response *r);

/*
 * Follow GET /events filtered to containers; fn is called from
 * docker_client_perform() for each container event.  The stream reconnects
 * with backoff (1 s doubling to 30 s) after an outage.  0, -EALREADY, -ENOMEM.
 */
int docker_client_watch_events(struct docker_client *c, docker_event_fn fn, void *ctx);

/* ---- parsers (pure; exported for tests and fuzzing) ----------------------- */

/* ApiVersion of GET /version into api (e.g. "1.41"); 0 or -EINVAL. */
int docker_parse_version(const char *json, size_t len, char *api, size_t api_len);
/* "1.41" vs "1.43" -> <0, 0, >0; unparsable versions compare as 0.0. */
int docker_version_cmp(const char *a, const char *b);
/* GET /containers/{id}/json; 0 or -EINVAL (garbage, truncated, missing Id). */
int docker_parse_inspect(const char *json, size_t len, struct docker_container *out);
/* GET /containers/json: up to max rows into out; count or -EINVAL. */
int docker_parse_list(const char *json, size_t len, struct docker_summary *out, size_t max);
/* One /events line: 1 container event filled, 0 other event, -EINVAL garbage. */
int docker_parse_event(const char *line, size_t len, struct docker_event *out);
/* GET /services/{id}; 0 or -EINVAL; on success out->spec must be freed. */
int docker_parse_service(const char *json, size_t len, struct docker_service *out);
/* Docker's {"message": "..."} error body into msg (or a short excerpt); never fails. */
void docker_parse_error(const char *json, size_t len, char *msg, size_t msg_len);
/* Parse RFC 3339 with fraction ("2024-01-02T03:04:05.123Z") to unix seconds; 0 on error. */
double docker_parse_time(const char *s);
/* Value of label key in c, or NULL. */
const char *docker_label_get(const struct docker_container *c, const char *key);

#endif
