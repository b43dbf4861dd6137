/*
 * prom.h - the metrics registry, the Prometheus text exposition and the
 * /metrics HTTP endpoint.
 *
 * Rendering reads only the published snapshot (and whatever the registered
 * collectors read), never the telemetry thread's live state, so a slow or
 * hostile scraper cannot stall a tick.  Built in: every per-container family
 * of metric_descs with a Prometheus name, the run-queue and request latency
 * histograms, requests by status class, and the daemon's own families
 * (build info, BPF program runs, ring-buffer drops, containers tracked).
 * Later subsystems add families with prom_register_collector(): forecasts,
 * anomaly scores, fingerprints, desired replicas, scaling actions.
 *
 * Label values are escaped (\\, ", newline) and invalid UTF-8 is replaced, so
 * any container name is safe.  Removed containers are absent from the
 * snapshot and so vanish from the output: label cardinality stays bounded.
 */
#ifndef PRESAGE_PROM_H
#define PRESAGE_PROM_H

#include "core/snapshot.h"

#include <stdbool.h>
#include <stddef.h>

/* A growing text buffer the exposition is written into. */
struct prom_writer {
	char *buf;
	size_t len, cap;
	bool oom; /* an allocation failed: the output is truncated, do not serve it */
};

struct prom_label {
	const char *name;
	const char *value;
};

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM, PROM_UNTYPED };

void prom_writer_init(struct prom_writer *w);
void prom_writer_free(struct prom_writer *w);

/* Append raw text / formatted text (no escaping). */
void prom_write(struct prom_writer *w, const char *s, size_t n);
void prom_printf(struct prom_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help" (help escaped) and "# TYPE name type" lines. */
void prom_family(struct prom_writer *w, const char *name, enum prom_type type, const char *help);

/*
 * One sample line: name, labels (n pairs, values escaped; pairs with a NULL
 * value are skipped) and the value (NaN and infinities in Prometheus
 * spelling, integers without exponent).
 */
void prom_sample(struct prom_writer *w, const char *name, const struct prom_label *labels,
		 size_t n, double value);

/* Append s escaped as a label value (\\ \" \n, invalid UTF-8 as U+FFFD). */
void prom_escape_label(struct prom_writer *w, const char *s);

/*
 * The four identity labels of a container (container_id, container_name,
 * image, service) followed by up to `extra` more slots the caller fills;
 * returns the number used (4).
 */
size_t prom_container_labels(const struct cont_snap *c, struct prom_label *out);

/*
 * A collector appends whole families (HELP, TYPE, samples) for one subsystem.
 * s is the snapshot being rendered (NULL before the first tick).  Collectors
 * run on HTTP threads: read only published or locked state, never block long.
 */
typedef void (*prom_collect_fn)(struct prom_writer *w, const struct snapshot *s, void *ctx);

/*
 * Register fn under a unique name (e.g. "forecast"); rendered in
 * registration order after the built-in families.  0, -EEXIST, -ENOSPC or
 * -EINVAL.  Unregistering waits for a render in progress to finish.
 */
int prom_register_collector(const char *name, prom_collect_fn fn, void *ctx);
int prom_unregister_collector(const char *name);

/* Render the whole exposition for snapshot s (may be NULL); 0 or -ENOMEM. */
int prom_render_snapshot(struct prom_writer *w, const struct snapshot *s);

/* ---- HTTP ------------------------------------------------------------------ */

enum prom_route { PROM_ROUTE_METRICS, PROM_ROUTE_HEALTHZ, PROM_ROUTE_INDEX, PROM_ROUTE_NOT_FOUND,
		  PROM_ROUTE_BAD_METHOD };

/* Route of a request: only GET and HEAD on /metrics, /healthz and /. */
enum prom_route prom_route(const char *method, const char *url);

#define PROM_DEFAULT_LISTEN    "127.0.0.1:9560"
#define PROM_MAX_CONNECTIONS   384 /* beyond this new connections are refused */
#define PROM_CONN_TIMEOUT_S    10  /* idle or slow clients are dropped after this */
#define PROM_CONN_MEMORY_LIMIT (32 * 1024) /* bounds request line and headers */
#define PROM_MAX_BODY          4096 /* a GET body beyond this closes the connection */

/*
 * Split a listen address "HOST:PORT" or "[IPV6]:PORT" into host (without
 * brackets) and port (decimal digits only, 0..65535; 0 = any free port).
 * 0, or -EINVAL with the reason in why.  The config check and the endpoint
 * both use it, so a file `presage config check` accepts also starts.
 */
int prom_parse_listen(const char *addr, char *host, size_t hlen, unsigned int *port, char *why,
		      size_t wlen);

struct prom_http;

/*
 * Serve /metrics and /healthz on listen ("ADDR:PORT", IPv6 as "[::1]:PORT")
 * from libmicrohttpd's own thread pool.  listen NULL = no listening socket
 * (connections come from prom_http_add_connection; tests and fuzzing).
 * NULL + errno and a one-line reason in err ("failed to listen on
 * 127.0.0.1:9560: Address already in use").
 */
struct prom_http *prom_http_new(const char *listen, char *err, size_t errlen);
void prom_http_free(struct prom_http *h);

/* Hand an accepted (or socketpair) fd to the server, which owns it; 0 or -errno. */
int prom_http_add_connection(struct prom_http *h, int fd);

/* The daemon's single endpoint: prom_http_new/free on a global. 0 or -errno. */
int prom_server_start(const char *listen, char *err, size_t errlen);
void prom_server_stop(void);

#endif
