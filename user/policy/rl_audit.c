/*
 * rl_audit.c - the RL policy's audit guardrail: sliding counts of how the
 * agent's cheaper choices fared (see rl_audit.h).
 *
 * Why counts over a window and not the learnt values: the Q-function is
 * trained on synthetic traces and learns online only slowly, so on a trace
 * unlike those it can be confidently wrong for hours.  The audit needs no
 * model - it only looks at what the agent's savings risked and cost - and
 * its fallback is the predictive policy, which the agent's cheaper choices
 * never exceed.  Each trip doubles the clean run needed to clear (up to
 * RL_AUDIT_BACKOFF_MAX windows): an agent that keeps failing on a service
 * is trusted ever less there, one that failed once is back after a window.
 */
#include "policy/rl_audit.h"

#define RL_AUDIT_MISS 1
#define RL_AUDIT_VIOL 2

void rl_audit_init(struct rl_audit *a)
{
	*a = (struct rl_audit){0};
}

static long clean_needed(const struct rl_audit *a)
{
	long k = a->trips - 1 < RL_AUDIT_BACKOFF_MAX ? a->trips - 1 : RL_AUDIT_BACKOFF_MAX;

	return (long)RL_AUDIT_WINDOW << (k < 0 ? 0 : k);
}

void rl_audit_record(struct rl_audit *a, bool miss, bool violation)
{
	unsigned char ev = (miss ? RL_AUDIT_MISS : 0) | (violation ? RL_AUDIT_VIOL : 0);

	if (a->n == RL_AUDIT_WINDOW) {
		a->misses -= !!(a->ev[a->pos] & RL_AUDIT_MISS);
		a->violations -= !!(a->ev[a->pos] & RL_AUDIT_VIOL);
	} else {
		a->n++;
	}
	a->ev[a->pos] = ev;
	a->misses += miss;
	a->violations += violation;
	a->pos = (a->pos + 1) % RL_AUDIT_WINDOW;
	a->clean = ev ? 0 : a->clean + 1;
	if (!a->tripped && (a->misses >= RL_AUDIT_MISSES || a->violations >= RL_AUDIT_VIOLATIONS)) {
		a->tripped = true;
		a->trips++;
	} else if (a->tripped && a->clean >= clean_needed(a)) {
		a->tripped = false;
	}
}

bool rl_audit_fallback(const struct rl_audit *a)
{
	return a->tripped;
}
