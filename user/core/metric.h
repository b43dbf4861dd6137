/*
 * metric.h - the per-container metric table.
 *
 * One row per figure a container snapshot carries.  The same table drives
 * `presage top -o json` (key = Prometheus name without "presage_container_",
 * plus the alias the issues use where it differs), the /metrics exposition
 * (families with a prom name) and the series the engine learns from.
 * Missing values are NAN in snapshots and JSON null in output, never 0.
 */
#ifndef PRESAGE_METRIC_H
#define PRESAGE_METRIC_H

#include <stdbool.h>

enum metric_id {
	MET_CPU_SECONDS,          /* cumulative on-CPU seconds */
	MET_CPU_CORES,            /* rate of the above over the last tick */
	MET_CTX_SWITCHES,         /* voluntary + involuntary */
	MET_CTX_VOLUNTARY,
	MET_CTX_INVOLUNTARY,
	MET_RUNQ_P50,             /* seconds, over the recent window */
	MET_RUNQ_P99,
	MET_CPU_THROTTLED,        /* cumulative seconds (cgroup cpu.stat) */
	MET_MEM_WORKING_SET,      /* bytes: usage - inactive_file */
	MET_MEM_USAGE,            /* bytes */
	MET_MEM_LIMIT,            /* bytes, NAN when unlimited */
	MET_FS_READ_BYTES,
	MET_FS_WRITE_BYTES,
	MET_FS_READ_BPS,          /* rates over the last tick */
	MET_FS_WRITE_BPS,
	MET_NET_RX_BYTES,
	MET_NET_TX_BYTES,
	MET_NET_RX_PACKETS,
	MET_NET_TX_PACKETS,
	MET_NET_RX_BPS,
	MET_NET_TX_BPS,
	MET_TCP_OPENED,
	MET_TCP_CLOSED,
	MET_OOM_KILLS,
	MET_FATAL_SIGNALS,
	MET_PSI_CPU_SOME,         /* avg10 percent, NAN without PSI */
	MET_PSI_MEM_SOME,
	MET_PSI_IO_SOME,
	MET_REQUESTS,             /* cumulative, all classes */
	MET_REQUESTS_PER_SEC,
	MET_ERRORS_5XX,
	MET_REQ_P50,              /* seconds */
	MET_REQ_P95,
	MET_REQ_P99,
	MET_ACCEPT_QUEUE,
	MET_CONNS_ACTIVE,
	MET__COUNT
};

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric_desc {
	const char *key;   /* JSON key = prom name without the prefix */
	const char *alias; /* second JSON key used by the issues, or NULL */
	const char *prom;  /* full Prometheus family name, or NULL if JSON only */
	enum metric_type type;
	const char *help;
};

extern const struct metric_desc metric_descs[MET__COUNT];

/* Row of a metric by JSON key or alias; -1 when unknown. */
int metric_by_key(const char *key);

#endif
