/*
 * tracker.c - per-cgroup tick state; see tracker.h.
 */
#include "core/tracker.h"

#include <math.h>
#include <string.h>

void raw_sample_clear(struct raw_sample *r)
{
	memset(r, 0, sizeof(*r));
	r->accept_queue = r->conns_active = NAN;
	r->mem_working_set = r->mem_usage = r->mem_limit = r->cpu_throttled_s = NAN;
	r->psi_cpu = r->psi_mem = r->psi_io = NAN;
	r->cpu_fallback_s = NAN;
}

/* Rate of a cumulative value; NAN when unknown or when the counter restarted. */
static double rate(double cur, double prev, double dt, bool prev_valid)
{
	if (!prev_valid || dt <= 0 || isnan(cur) || isnan(prev) || cur < prev)
		return NAN;
	return (cur - prev) / dt;
}

static void fill_bpf(const struct raw_sample *r, double *v)
{
	v[MET_CPU_SECONDS] = (double)r->cpu_ns / 1e9;
	v[MET_CTX_VOLUNTARY] = (double)r->ctx_vol;
	v[MET_CTX_INVOLUNTARY] = (double)r->ctx_invol;
	v[MET_CTX_SWITCHES] = (double)(r->ctx_vol + r->ctx_invol);
	v[MET_FS_READ_BYTES] = (double)r->blk_read;
	v[MET_FS_WRITE_BYTES] = (double)r->blk_write;
	v[MET_NET_RX_BYTES] = (double)r->net_rx;
	v[MET_NET_TX_BYTES] = (double)r->net_tx;
	v[MET_NET_RX_PACKETS] = (double)r->net_rx_pkts;
	v[MET_NET_TX_PACKETS] = (double)r->net_tx_pkts;
	v[MET_TCP_OPENED] = (double)r->tcp_opened;
	v[MET_TCP_CLOSED] = (double)r->tcp_closed;
	v[MET_OOM_KILLS] = (double)r->oom_kills;
	v[MET_FATAL_SIGNALS] = (double)r->fatal_signals;
}

static void fill_requests(struct tracker *t, const struct raw_sample *r, double decay,
			  struct cont_snap *out)
{
	uint64_t total = 0;

	for (int c = 0; c < CODE__COUNT; c++) {
		out->req_by_class[c] = r->req_class[c];
		total += r->req_class[c];
	}
	out->v[MET_REQUESTS] = (double)total;
	out->v[MET_ERRORS_5XX] = (double)r->req_class[CODE_5XX];
	out->v[MET_ACCEPT_QUEUE] = r->accept_queue;
	out->v[MET_CONNS_ACTIVE] = r->conns_active;
	histq_window_update(&t->req, r->req_hist, decay);
	out->v[MET_REQ_P50] = histq_quantile(t->req.w, 0.50);
	out->v[MET_REQ_P95] = histq_quantile(t->req.w, 0.95);
	out->v[MET_REQ_P99] = histq_quantile(t->req.w, 0.99);
	histq_to_prom(r->req_hist, r->req_count, r->req_sum_ns, &out->req);
}

static void fill_gauges(const struct raw_sample *r, double *v)
{
	v[MET_MEM_WORKING_SET] = r->mem_working_set;
	v[MET_MEM_USAGE] = r->mem_usage;
	v[MET_MEM_LIMIT] = r->mem_limit;
	v[MET_CPU_THROTTLED] = r->cpu_throttled_s;
	v[MET_PSI_CPU_SOME] = r->psi_cpu;
	v[MET_PSI_MEM_SOME] = r->psi_mem;
	v[MET_PSI_IO_SOME] = r->psi_io;
}

void tracker_update(struct tracker *t, const struct raw_sample *r, double now, double decay,
		    struct cont_snap *out)
{
	double *v = out->v;
	double dt = now - t->prev_time;
	bool pv = t->prev_valid && t->prev_time > 0;

	if (r->have_bpf) {
		fill_bpf(r, v);
		histq_window_update(&t->runq, r->runq_hist, decay);
		v[MET_RUNQ_P50] = histq_quantile(t->runq.w, 0.50);
		v[MET_RUNQ_P99] = histq_quantile(t->runq.w, 0.99);
		histq_to_prom(r->runq_hist, r->runq_count, r->runq_sum_ns, &out->runq);
	} else {
		v[MET_CPU_SECONDS] = r->cpu_fallback_s;
	}
	if (r->have_req)
		fill_requests(t, r, decay, out);
	fill_gauges(r, v);

	v[MET_CPU_CORES] = rate(v[MET_CPU_SECONDS], t->prev_cpu_s, dt, pv);
	v[MET_FS_READ_BPS] = rate(v[MET_FS_READ_BYTES], t->prev_read, dt, pv);
	v[MET_FS_WRITE_BPS] = rate(v[MET_FS_WRITE_BYTES], t->prev_write, dt, pv);
	v[MET_NET_RX_BPS] = rate(v[MET_NET_RX_BYTES], t->prev_rx, dt, pv);
	v[MET_NET_TX_BPS] = rate(v[MET_NET_TX_BYTES], t->prev_tx, dt, pv);
	v[MET_REQUESTS_PER_SEC] = rate(v[MET_REQUESTS], t->prev_req, dt, pv);

	t->prev_cpu_s = v[MET_CPU_SECONDS];
	t->prev_read = v[MET_FS_READ_BYTES];
	t->prev_write = v[MET_FS_WRITE_BYTES];
	t->prev_rx = v[MET_NET_RX_BYTES];
	t->prev_tx = v[MET_NET_TX_BYTES];
	t->prev_req = v[MET_REQUESTS];
	t->prev_time = now;
	t->prev_valid = true;
}
