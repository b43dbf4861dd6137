/*
 * ctl.h - the control socket: protocol encoding, the command handler table,
 * the daemon-side server and the CLI-side client.  The wire format is in
 * include/presage/ctl_proto.h.
 *
 * Handlers read only published snapshots and the event bus (or their own
 * locked state); they run on the control thread, one request at a time, so
 * they must answer quickly.  Subsystems register their commands with
 * ctl_register() (the engine: forecast, fingerprint; scaling: explain) and
 * may add fields to the status object, to each container of top and to the
 * explain object (called with the container, or NULL) with ctl_add_fields().
 */
#ifndef PRESAGE_CTL_H
#define PRESAGE_CTL_H

#include "core/snapshot.h"
#include "presage/ctl_proto.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- protocol ------------------------------------------------------------- */

struct ctl_request {
	int v;
	char cmd[32];
	cJSON *args; /* object or NULL; owned, freed by ctl_request_free */
};

/*
 * Parse one request line.  0, -EINVAL (malformed; err says why) or -EPROTO
 * (another protocol version; req->v holds it).
 */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, char *err,
		      size_t errlen);
void ctl_request_free(struct ctl_request *req);

/* A request line (with '\n') for cmd and args (borrowed, may be NULL); NULL on ENOMEM. */
char *ctl_request_encode(const char *cmd, const cJSON *args);
/* Response lines (with '\n').  ok takes ownership of data (NULL = JSON null). */
char *ctl_response_ok(cJSON *data);
char *ctl_response_error(const char *msg);

struct ctl_response {
	int v;
	bool ok;
	char error[512];
	cJSON *data; /* points into root */
	cJSON *root; /* owned, freed by ctl_response_free */
};

/*
 * Parse one response line.  0 (ok or a daemon error in resp->error),
 * -EINVAL (malformed) or -EPROTO (another version: err names both).
 */
int ctl_response_parse(const char *line, size_t len, struct ctl_response *resp, char *err,
		       size_t errlen);
void ctl_response_free(struct ctl_response *resp);

/* ---- handlers ------------------------------------------------------------- */

/*
 * A command handler: args is the request's "args" object (NULL when absent).
 * On success set *data (owned by the caller afterwards, NULL = JSON null) and
 * return 0; on failure write a one-line reason into err and return -errno.
 */
typedef int (*ctl_handler_fn)(const cJSON *args, cJSON **data, char *err, size_t errlen,
			      void *ctx);

/*
 * Register the handler of cmd.  A subsystem's handler replaces a built-in
 * fallback (explain); registering a command twice is -EEXIST.
 */
int ctl_register(const char *cmd, ctl_handler_fn fn, void *ctx);
int ctl_unregister(const char *cmd);

/*
 * Extra fields: fn adds members to obj.  For "status" it is called once with
 * c == NULL; for "top" once per container object with its snapshot entry.
 */
typedef void (*ctl_fields_fn)(cJSON *obj, const struct snapshot *s, const struct cont_snap *c,
			      void *ctx);
int ctl_add_fields(const char *cmd, ctl_fields_fn fn, void *ctx);

/* Answer one request line: the response line (malloc'd, '\n'-terminated). */
char *ctl_dispatch(const char *line, size_t len);

/* The JSON object of one container as `top -o json` prints it (helpers reuse it). */
cJSON *ctl_container_json(const struct snapshot *s, const struct cont_snap *c);

/* Look up a container in s by arg "container" of args; NULL and err when absent. */
const struct cont_snap *ctl_find_container(const struct snapshot *s, const cJSON *args, char *err,
					   size_t errlen);

/* ---- server (daemon) -------------------------------------------------------- */

/*
 * Answer bytes a connection may owe before its next pipelined requests wait
 * (unread and undispatched) for the client to read; one answer may exceed it.
 */
#define CTL_OUT_HIGH_WATER (1024 * 1024)

/*
 * Listen on path (parent directory created 0755 if missing, socket 0600; a
 * stale socket is replaced, a live one is -EADDRINUSE) and serve requests
 * on a thread of its own.  0 or -errno with a one-line reason in err.
 */
int ctl_server_start(const char *path, char *err, size_t errlen);
/* Stop the thread, close every connection and remove the socket. */
void ctl_server_stop(void);
/* The largest output buffer any connection held since ctl_server_start (bytes; for tests). */
size_t ctl_server_out_peak(void);

/* ---- client (CLI) ------------------------------------------------------------ */

struct ctl_client;

/*
 * Connect to presaged at path; NULL + errno and err = "cannot reach presaged
 * at <path>: <reason>".
 */
struct ctl_client *ctl_client_connect(const char *path, char *err, size_t errlen);
void ctl_client_free(struct ctl_client *c);

/*
 * Let a signal cut a call short: when a signal interrupts the wait for an
 * answer and *stop (the caller's handler flag) is set, ctl_client_call
 * returns -EINTR.  Without a flag (the default) signals never end a call
 * before its timeout.
 */
void ctl_client_set_stop(struct ctl_client *c, volatile sig_atomic_t *stop);

/*
 * One request/response exchange (timeout_ms for the answer, 0 = 30 s).
 * 0 with *data (caller frees with cJSON_Delete; may be NULL), or -errno with
 * err: the daemon's error, a protocol mismatch, a timeout (-ETIMEDOUT), a
 * stop flag set by a signal (-EINTR) or a lost connection.
 */
int ctl_client_call(struct ctl_client *c, const char *cmd, const cJSON *args, int timeout_ms,
		    cJSON **data, char *err, size_t errlen);

#endif
