/*
 * ctl_proto.h - the control-socket protocol shared by presaged and presage.
 *
 * A unix stream socket (mode 0600) carrying line-delimited JSON, one request
 * and one response per line, any number of requests per connection:
 *
 *   request   {"v":1,"cmd":"status","args":{...}}
 *   response  {"v":1,"ok":true,"data":...}
 *             {"v":1,"ok":false,"error":"one line"}
 *
 * "v" is the protocol version.  A daemon answers a request of another
 * version with ok:false and its own "v"; a client that reads a response of
 * another version reports both numbers ("presaged speaks protocol 2, this
 * presage speaks 1: ...").  Adding a command or a field keeps the version;
 * renaming or removing one bumps it.  The data of each command is
 * documented in docs/cli.md (it is what `-o json` prints).
 */
#ifndef PRESAGE_CTL_PROTO_H
#define PRESAGE_CTL_PROTO_H

#define CTL_PROTO_VERSION 1

#define CTL_DEFAULT_SOCKET "/run/presage/presage.sock"

/* A request line longer than this is answered with an error and closed. */
#define CTL_MAX_REQUEST (64 * 1024)
/* The client refuses a response line longer than this. */
#define CTL_MAX_RESPONSE (64 * 1024 * 1024)
/* A client that sent part of a line, or cannot take its response, this long is dropped. */
#define CTL_IO_TIMEOUT_MS 5000
/* A connection idle this long between requests is closed. */
#define CTL_IDLE_TIMEOUT_MS 60000
/* Connections served at once; more wait in the listen backlog. */
#define CTL_MAX_CLIENTS 64

/* Commands (the "cmd" member). */
#define CTL_CMD_STATUS      "status"      /* args: none */
#define CTL_CMD_TOP         "top"         /* args: none; data: array of containers */
#define CTL_CMD_EVENTS      "events"      /* args: after (seq), limit, container */
#define CTL_CMD_EXPLAIN     "explain"     /* args: container (name, id or service) */
#define CTL_CMD_FINGERPRINT "fingerprint" /* args: container */
#define CTL_CMD_FORECAST    "forecast"    /* args: container, metric, horizon_seconds */

#endif
