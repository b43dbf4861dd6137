/*
 * policy_size.c - vertical sizing (CPU and memory limits per replica) and
 * CPU priority, decided together with the replica count.
 *
 * Horizontal and vertical must not fight (the VPA/HPA conflict): the CPU
 * forecast is for the whole service, so the per-replica limit follows the
 * replica count chosen, and when one replica would need more than cpu_max
 * the replica count grows instead of the limit.  Memory is per replica
 * (working sets do not shrink when replicas are added).
 */
#include "policy/internal.h"

#include <math.h>

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static bool band_ok(const struct policy_band *b)
{
	return b->valid && isfinite(b->point) && isfinite(b->upper);
}

static void size_cpu(const struct policy_params *pp, const struct policy_input *in,
		     struct policy_output *out)
{
	const struct policy_bounds *b = &in->bounds;
	double total, per;
	int n;

	if (!band_ok(&in->cpu)) {
		out->cpu_limit =
		    clampd(in->cpu_limit > 0 ? in->cpu_limit : b->cpu_max, b->cpu_min, b->cpu_max);
		return;
	}
	total = fmax(in->cpu.upper, in->cpu.point);
	total = total > 0 ? total * (1.0 + pp->cpu_headroom) : 0;
	n = out->replicas > 0 ? out->replicas : 1;
	if (total / n > b->cpu_max) {
		double q = ceil(total / b->cpu_max - 1e-9);
		int more = q > b->max_replicas ? b->max_replicas : (int)q;

		if (more > n) {
			policy_reason_add(out, "cpu %.3g cores needs %d replicas at %.3g max",
					  total, more, b->cpu_max);
			out->replicas = n = more;
		}
	}
	per = total / n;
	if (per > b->cpu_max || per < b->cpu_min)
		out->bounded = true;
	out->cpu_limit = clampd(per, b->cpu_min, b->cpu_max);
}

static void size_mem(const struct policy_params *pp, const struct policy_input *in,
		     struct policy_output *out)
{
	const struct policy_bounds *b = &in->bounds;
	double want = in->mem_limit > 0 ? in->mem_limit : b->mem_max;

	if (band_ok(&in->mem))
		want = fmax(in->mem.upper, in->mem.point) * (1.0 + pp->mem_headroom);
	if (in->oom_kills > 0 && in->mem_limit > 0) {
		double bumped = in->mem_limit * pp->oom_bump;

		if (bumped > want)
			want = bumped;
		policy_reason_add(out, "oom kill: memory raised to %.4g bytes",
				  clampd(want, b->mem_min, b->mem_max));
	}
	if (!(want >= b->mem_min) || want > b->mem_max)
		out->bounded = true;
	out->mem_limit = clampd(isnan(want) ? b->mem_max : want, b->mem_min, b->mem_max);
}

void policy_size_vertical(const struct policy_params *pp, const struct policy_input *in,
			  struct policy_output *out)
{
	if (in->bounds.cpu_max > 0)
		size_cpu(pp, in, out);
	if (in->bounds.mem_max > 0)
		size_mem(pp, in, out);
}

int policy_cpu_weight(enum policy_prio prio, double latency_ms, double slo_ms, bool contended)
{
	static const int base[POLICY_PRIO_COUNT] = {25, 100, 400, 1600};
	double w, r;

	if (prio < 0 || prio >= POLICY_PRIO_COUNT)
		prio = POLICY_PRIO_NORMAL;
	w = base[prio];
	/* Only under contention does weight matter; then the services close to
	 * (from 80% of) or over their SLO get up to 4x, best effort never. */
	if (contended && prio != POLICY_PRIO_BEST_EFFORT && slo_ms > 0 && !isnan(latency_ms)) {
		r = latency_ms / slo_ms;
		if (r > 0.8)
			w *= 1.0 + fmin(3.0, (r - 0.8) * 7.5);
	}
	return (int)clampd(round(w), 1, 10000);
}
