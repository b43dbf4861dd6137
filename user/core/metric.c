/*
 * metric.c - the per-container metric table; see metric.h.
 */
#include "core/metric.h"

#include <string.h>

#define P "presage_container_"

const struct metric_desc metric_descs[MET__COUNT] = {
	[MET_CPU_SECONDS] = { "cpu_usage_seconds_total", "cpu_seconds_total",
			      P "cpu_usage_seconds_total", METRIC_COUNTER,
			      "Cumulative CPU time consumed, in seconds." },
	[MET_CPU_CORES] = { "cpu_cores", NULL, NULL, METRIC_GAUGE,
			    "CPU cores used over the last tick." },
	[MET_CTX_SWITCHES] = { "context_switches_total", NULL, P "context_switches_total",
			       METRIC_COUNTER, "Context switches away from the container's tasks." },
	[MET_CTX_VOLUNTARY] = { "context_switches_voluntary_total", NULL, NULL, METRIC_COUNTER,
				"Voluntary context switches (the task blocked)." },
	[MET_CTX_INVOLUNTARY] = { "context_switches_involuntary_total", NULL, NULL,
				  METRIC_COUNTER, "Involuntary context switches (preemption)." },
	[MET_RUNQ_P50] = { "runqueue_latency_p50_seconds", NULL, NULL, METRIC_GAUGE,
			   "Median run-queue latency over the recent window." },
	[MET_RUNQ_P99] = { "runqueue_latency_p99_seconds", NULL, NULL, METRIC_GAUGE,
			   "99th percentile run-queue latency over the recent window." },
	[MET_CPU_THROTTLED] = { "cpu_throttled_seconds_total", NULL,
				P "cpu_throttled_seconds_total", METRIC_COUNTER,
				"Total time the container was throttled by its CPU quota." },
	[MET_MEM_WORKING_SET] = { "memory_working_set_bytes", NULL, P "memory_working_set_bytes",
				  METRIC_GAUGE, "Memory usage minus inactive file cache." },
	[MET_MEM_USAGE] = { "memory_usage_bytes", NULL, P "memory_usage_bytes", METRIC_GAUGE,
			    "Memory usage including cache." },
	[MET_MEM_LIMIT] = { "spec_memory_limit_bytes", "memory_limit_bytes", P "spec_memory_limit_bytes",
			    METRIC_GAUGE, "Memory limit of the cgroup." },
	[MET_FS_READ_BYTES] = { "fs_read_bytes_total", NULL, P "fs_read_bytes_total",
				METRIC_COUNTER, "Bytes read from block devices." },
	[MET_FS_WRITE_BYTES] = { "fs_write_bytes_total", NULL, P "fs_write_bytes_total",
				 METRIC_COUNTER, "Bytes written to block devices." },
	[MET_FS_READ_BPS] = { "fs_read_bytes_per_second", NULL, NULL, METRIC_GAUGE,
			      "Block read rate over the last tick." },
	[MET_FS_WRITE_BPS] = { "fs_write_bytes_per_second", NULL, NULL, METRIC_GAUGE,
			       "Block write rate over the last tick." },
	[MET_NET_RX_BYTES] = { "network_receive_bytes_total", "net_rx_bytes_total",
			       P "network_receive_bytes_total", METRIC_COUNTER,
			       "Bytes received (IP packets, headers included)." },
	[MET_NET_TX_BYTES] = { "network_transmit_bytes_total", "net_tx_bytes_total",
			       P "network_transmit_bytes_total", METRIC_COUNTER,
			       "Bytes transmitted (IP packets, headers included)." },
	[MET_NET_RX_PACKETS] = { "network_receive_packets_total", NULL,
				 P "network_receive_packets_total", METRIC_COUNTER,
				 "Packets received." },
	[MET_NET_TX_PACKETS] = { "network_transmit_packets_total", NULL,
				 P "network_transmit_packets_total", METRIC_COUNTER,
				 "Packets transmitted." },
	[MET_NET_RX_BPS] = { "network_receive_bytes_per_second", NULL, NULL, METRIC_GAUGE,
			     "Receive rate over the last tick." },
	[MET_NET_TX_BPS] = { "network_transmit_bytes_per_second", NULL, NULL, METRIC_GAUGE,
			     "Transmit rate over the last tick." },
	[MET_TCP_OPENED] = { "tcp_connections_opened_total", NULL,
			     P "tcp_connections_opened_total", METRIC_COUNTER,
			     "TCP connections established." },
	[MET_TCP_CLOSED] = { "tcp_connections_closed_total", NULL,
			     P "tcp_connections_closed_total", METRIC_COUNTER,
			     "TCP connections closed." },
	[MET_OOM_KILLS] = { "oom_kills_total", NULL, P "oom_kills_total", METRIC_COUNTER,
			    "Processes of the container killed by the OOM killer." },
	[MET_FATAL_SIGNALS] = { "fatal_signals_total", NULL, P "fatal_signals_total",
				METRIC_COUNTER, "SIGSEGV, SIGABRT and SIGKILL delivered." },
	[MET_PSI_CPU_SOME] = { "pressure_cpu_some_avg10", NULL, NULL, METRIC_GAUGE,
			       "CPU pressure (PSI some avg10, percent)." },
	[MET_PSI_MEM_SOME] = { "pressure_memory_some_avg10", NULL, NULL, METRIC_GAUGE,
			       "Memory pressure (PSI some avg10, percent)." },
	[MET_PSI_IO_SOME] = { "pressure_io_some_avg10", NULL, NULL, METRIC_GAUGE,
			      "I/O pressure (PSI some avg10, percent)." },
	[MET_REQUESTS] = { "requests_total", NULL, NULL, METRIC_COUNTER,
			   "Requests served (all status classes)." },
	[MET_REQUESTS_PER_SEC] = { "requests_per_second", NULL, NULL, METRIC_GAUGE,
				   "Requests served per second over the last tick." },
	[MET_ERRORS_5XX] = { "errors_5xx_total", NULL, NULL, METRIC_COUNTER,
			     "Responses with a 5xx status." },
	[MET_REQ_P50] = { "request_p50_seconds", NULL, NULL, METRIC_GAUGE,
			  "Median request latency over the recent window." },
	[MET_REQ_P95] = { "request_p95_seconds", NULL, NULL, METRIC_GAUGE,
			  "95th percentile request latency over the recent window." },
	[MET_REQ_P99] = { "request_p99_seconds", NULL, NULL, METRIC_GAUGE,
			  "99th percentile request latency over the recent window." },
	[MET_ACCEPT_QUEUE] = { "accept_queue_depth", NULL, P "accept_queue_depth", METRIC_GAUGE,
			       "Connections waiting in listening sockets' accept queues." },
	[MET_CONNS_ACTIVE] = { "connections_active", NULL, P "connections_active", METRIC_GAUGE,
			       "Server connections currently open." },
};

int metric_by_key(const char *key)
{
	for (int i = 0; i < MET__COUNT; i++) {
		const struct metric_desc *d = &metric_descs[i];

		if (strcmp(d->key, key) == 0 || (d->alias && strcmp(d->alias, key) == 0))
			return i;
	}
	return -1;
}
