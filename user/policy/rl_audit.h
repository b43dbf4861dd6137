/*
 * rl_audit.h - the RL policy's audit guardrail (not a public API).
 *
 * The agent may provision for less than the predictive policy would (a
 * margin below 1.0 of the forecast interval's upper side).  The audit keeps,
 * for each of the last RL_AUDIT_WINDOW credited proposals, two outcomes of
 * such a cheaper choice, judged when the step it was made for is observed:
 *   - miss: the demand that came exceeded the upper bound of the cheaper
 *     band (the margin the agent saved was needed);
 *   - violation: the step violated the SLO while a cheaper choice the agent
 *     actually took was still in force.
 * Misses are judged for every cheaper proposal, also those the audit
 * overruled, so an agent that is still wrong stays overruled.  The audit
 * trips when the window holds RL_AUDIT_MISSES misses (the cheaper bands'
 * coverage is clearly worse than their cut implies) or RL_AUDIT_VIOLATIONS
 * violations; the agent then takes the predictive choice (margin 1.0)
 * until the window clears: RL_AUDIT_WINDOW proposals in a row without a
 * miss or violation, twice as many after each further trip (at most
 * 2^RL_AUDIT_BACKOFF_MAX windows).
 */
#ifndef PRESAGE_POLICY_RL_AUDIT_H
#define PRESAGE_POLICY_RL_AUDIT_H

#include <stdbool.h>

#define RL_AUDIT_WINDOW	     300
#define RL_AUDIT_MISSES	     20
#define RL_AUDIT_VIOLATIONS  1
#define RL_AUDIT_BACKOFF_MAX 4 /* clearing needs at most 16 windows */

struct rl_audit {
	unsigned char ev[RL_AUDIT_WINDOW]; /* ring: RL_AUDIT_MISS | RL_AUDIT_VIOL bits */
	int pos, n;			   /* next slot, entries held */
	int misses, violations;		   /* counts within the ring */
	bool tripped;			   /* falling back to the predictive choice */
	long clean;			   /* proposals since the last miss or violation */
	long trips;			   /* times it tripped */
};

/* A new audit: not tripped, nothing recorded. */
void rl_audit_init(struct rl_audit *a);

/* Record one credited proposal's outcome; trips or clears the fallback. */
void rl_audit_record(struct rl_audit *a, bool miss, bool violation);

/* True while the agent must take the predictive choice. */
bool rl_audit_fallback(const struct rl_audit *a);

#endif
