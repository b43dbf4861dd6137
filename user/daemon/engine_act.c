/*
 * engine_act.c - from a group's forecast to a scaling decision and, for
 * enabled groups, to the runtime: the policy input is assembled here, the
 * policy decides (user/policy), and the actuation layer (user/actuate)
 * applies it under the daemon's own rate limits and cooldown.
 *
 * Scaling metric: requests/s when the group has request telemetry and a
 * per-replica capacity (label presage.capacity or config), else CPU cores
 * with a replica's CPU limit (presage.cpu.max, else one core) as capacity -
 * the HPA-on-CPU convention.  Missing telemetry never scales down: the
 * policies treat a NAN demand as "hold".
 */
#include "daemon/engine_priv.h"

#include "common/log.h"
#include "containers/registry.h"
#include "core/bus.h"
#include "model/profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct registry *engine_registry;

/*
 * Policy clock.  The policies count HPA's periods (15 s scale-up period,
 * 300 s scale-down window) in the seconds of policy_input.now, as the
 * simulator counts them in trace time.  A daemon fed a time-compressed load
 * (integration tests, `make demo`) sets policy.time_scale=k (1..3600): one
 * wall-clock second then counts as k seconds for the policy, and the
 * scale-down window is read from the forecast path over the compressed
 * window.  Unset or 1: wall-clock time, the production setting.
 */
static double time_scale = 1.0;

static enum policy_prio prio_of(enum ctr_priority p)
{
	switch (p) {
	case PRIO_HIGH: return POLICY_PRIO_HIGH;
	case PRIO_LOW: return POLICY_PRIO_BEST_EFFORT;
	default: return POLICY_PRIO_NORMAL;
	}
}

/* The Swarm service a task container belongs to, or NULL. */
static const char *swarm_service_of(const struct ctr_identity *id)
{
	for (size_t i = 0; i < id->n_labels; i++)
		if (!strcmp(id->labels[i].key, "com.docker.swarm.service.name"))
			return id->labels[i].value;
	return NULL;
}

#define SWARM_LABELS_TTL_S 30.0

/*
 * Settings of a Swarm service from its service labels, read at most every
 * SWARM_LABELS_TTL_S (a label change is picked up within that), through the
 * actuation driver.  False when the service cannot be read.
 */
static bool swarm_settings(struct group *g, const char *svc, double now, struct ctr_settings *st)
{
	if (!engine.act)
		return false;
	if (!g->swarm_at || now - g->swarm_at >= SWARM_LABELS_TTL_S || now < g->swarm_at) {
		g->swarm_rc = act_swarm_settings(engine.act, svc, NULL, 0, &g->swarm_st);
		g->swarm_at = now;
	}
	if (g->swarm_rc < 0)
		return false;
	*st = g->swarm_st;
	return true;
}

/*
 * The group's settings: labels of its first member (registry), or of its
 * Swarm service when the member is a task without labels of its own,
 * overlaid by the config's services.<name> entry, which wins when present.
 */
static bool group_settings(struct group *g, const struct snapshot *s, struct ctr_identity *id,
			   struct ctr_settings *st)
{
	const struct cfg_service *cs = cfg_service_find(engine.cfg, g->key);
	const char *svc;
	bool found = false;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < s->n && !found; i++) {
		const struct cont_snap *c = &s->c[i];

		if (strcmp(c->service[0] ? c->service : c->id, g->key))
			continue;
		found = engine_registry && registry_lookup(engine_registry, c->cgroup_id, id) == 0;
	}
	if (found)
		*st = id->settings;
	/* A Swarm task without presage labels of its own: its service's labels. */
	if (found && !st->enabled && (svc = swarm_service_of(id)) && !strcmp(svc, g->key) &&
	    swarm_settings(g, svc, s->time, st) && st->enabled)
		snprintf(g->service, sizeof(g->service), "%s", svc);
	if (!cs)
		return found && st->enabled;
	st->enabled = true;
	if (cs->min || cs->max) { st->min = cs->min; st->max = cs->max; }
	if (cs->policy[0]) snprintf(st->policy, sizeof(st->policy), "%s", cs->policy);
	if (cs->slo_latency_ms > 0) st->slo_latency_ms = cs->slo_latency_ms;
	if (cs->target > 0) st->target = cs->target;
	if (cs->capacity > 0) st->capacity = cs->capacity;
	if (cs->cpu_max > 0) {
		st->cpu_min = cs->cpu_min;
		st->cpu_max = cs->cpu_max;
		st->has |= CS_CPU_MIN | CS_CPU_MAX;
	}
	if (cs->memory_max > 0) {
		st->mem_min = (int64_t)cs->memory_min;
		st->mem_max = (int64_t)cs->memory_max;
		st->has |= CS_MEM_MIN | CS_MEM_MAX;
	}
	if (cs->cost > 0) st->cost = cs->cost;
	return true;
}

static void band_of(struct policy_band *b, const struct fcast_point *p)
{
	b->valid = isfinite(p->point);
	b->point = p->point;
	b->lower = p->lower;
	b->upper = p->upper;
}

static int current_replicas(const struct group *g, int members)
{
	struct act_group ag = { 0 };
	int n;

	if (!engine.act || !g->service[0])
		return members;
	snprintf(ag.service, sizeof(ag.service), "%s", g->service);
	return act_replicas(engine.act, &ag, &n) == 0 && n > 0 ? n : members;
}

/* The scale-down window in compressed time: horizons lead..lead + 300 s / k. */
static void compressed_window(const struct group *g, int m, struct policy_band *b)
{
	const struct ginsight *gi = &g->ins;
	double step = engine.cfg->model_step_seconds;
	int lead = (int)ceil(gi->horizon_s[ENGINE_HORIZONS - 1] / step - 1e-9);
	int last = lead + (int)ceil(HPA_DOWN_WINDOW_S / time_scale / step - 1e-9);
	struct fcast_point w;

	lead = lead < 1 ? 1 : lead > ENGINE_PATH ? ENGINE_PATH : lead;
	last = last < lead ? lead : last > ENGINE_PATH ? ENGINE_PATH : last;
	w = gi->path[m][lead - 1];
	for (int h = lead; h < last; h++) {
		w.point = fmax(w.point, gi->path[m][h].point);
		w.upper = fmax(w.upper, gi->path[m][h].upper);
		w.lower = fmax(w.lower, gi->path[m][h].lower);
	}
	band_of(b, &w);
}

#define CAP_MIN_RPS 1.0  /* below this a step says nothing about CPU per request */
#define CAP_ALPHA   0.1  /* EWMA weight of a step (about ten steps of memory) */

/* Follow the group's CPU per request (ratio of EWMAs, busy steps only). */
static void learn_capacity(struct group *g)
{
	double cpu = g->ins.last[SM_CPU_CORES], rps = g->ins.last[SM_REQUESTS_PER_SEC];

	if (!isfinite(cpu) || !isfinite(rps) || rps < CAP_MIN_RPS || !(cpu > 0))
		return;
	if (!(g->cap_rps > 0)) {
		g->cap_cpu = cpu;
		g->cap_rps = rps;
		return;
	}
	g->cap_cpu += CAP_ALPHA * (cpu - g->cap_cpu);
	g->cap_rps += CAP_ALPHA * (rps - g->cap_rps);
}

/*
 * Requests/s one replica serves: presage.capacity, else learnt as the rate
 * at which a replica uses up its CPU allotment (presage.cpu.max, else one
 * core) at the group's measured CPU per request; 0 while unknown (the group
 * is then sized on CPU).
 */
static double capacity_of(const struct group *g, const struct ctr_settings *st, bool *learned)
{
	*learned = false;
	if (st->capacity > 0)
		return st->capacity;
	if (!(g->cap_rps > 0) || !(g->cap_cpu > 0))
		return 0;
	*learned = true;
	return (st->cpu_max > 0 ? st->cpu_max : 1.0) / (g->cap_cpu / g->cap_rps);
}

/* The policy's input; *learned: sized on a learnt request capacity. */
static void build_input(const struct group *g, const struct ctr_settings *st,
			const struct snapshot *s, struct policy_input *in, bool *learned)
{
	const struct ginsight *gi = &g->ins;
	double capacity = capacity_of(g, st, learned);
	bool by_req = capacity > 0 && isfinite(gi->last[SM_REQUESTS_PER_SEC]);
	int m = by_req ? SM_REQUESTS_PER_SEC : SM_CPU_CORES;

	*learned = *learned && by_req;
	memset(in, 0, sizeof(*in));
	in->now = s->time * time_scale;
	in->step_s = engine.cfg->model_step_seconds * time_scale;
	band_of(&in->fc, &gi->fc[m][ENGINE_HORIZONS - 1]);
	if (time_scale > 1)
		compressed_window(g, m, &in->fc_window);
	else
		band_of(&in->fc_window, &gi->fc_window[m]);
	in->replicas_requested = current_replicas(g, g->members);
	in->replicas_ready = g->members;
	in->demand = gi->last[m];
	in->capacity = by_req ? capacity : st->cpu_max > 0 ? st->cpu_max : 1.0;
	in->utilisation = in->replicas_ready > 0 && isfinite(in->demand)
				  ? in->demand / (in->replicas_ready * in->capacity) : NAN;
	in->latency_p95_ms = gi->last[SM_REQ_P95_SECONDS] * 1000;
	in->startup_s = gi->horizon_s[ENGINE_HORIZONS - 1] * time_scale;
	in->slo_latency_ms = st->slo_latency_ms;
	in->target_util = st->target > 0 ? st->target : 0.7;
	in->cost_per_replica_hour = st->cost;
	in->bounds.min_replicas = st->min > 0 ? st->min : 1;
	in->bounds.max_replicas = st->max > 0 ? st->max : ACT_MAX_REPLICAS;
	in->bounds.cpu_min = st->cpu_min;
	in->bounds.cpu_max = st->cpu_max;
	in->bounds.mem_min = (double)st->mem_min;
	in->bounds.mem_max = (double)st->mem_max;
	in->prio = prio_of(st->priority);
	band_of(&in->cpu, &gi->fc[SM_CPU_CORES][ENGINE_HORIZONS - 1]);
	band_of(&in->mem, &gi->fc[SM_MEMORY_BYTES][ENGINE_HORIZONS - 1]);
	if (in->mem.valid && g->members > 0) { /* per replica */
		in->mem.point /= g->members;
		in->mem.lower /= g->members;
		in->mem.upper /= g->members;
	}
	in->oom_kills = (int)(g->oom_total - g->oom_prev);
}

/*
 * Times of the daemon's most recent actions, on every service together
 * (actuation.max_actions_per_minute is a global limit): a ring as long as
 * the largest limit the config allows, so any limit can bind.  Engine
 * thread only.
 */
#define ACTION_RING 600
static double action_times[ACTION_RING];
static unsigned int n_actions;

/* Daemon-level guard: cooldown after an action and at most N actions a minute. */
static bool may_act(struct group *g, double now, char *why, size_t len)
{
	unsigned int recent = 0;
	int max = engine.cfg->actuation.max_actions_per_minute;

	if (now - g->last_action < engine.cfg->actuation.cooldown_seconds) {
		snprintf(why, len, "in cooldown (%.0fs left)",
			 engine.cfg->actuation.cooldown_seconds - (now - g->last_action));
		return false;
	}
	for (unsigned int i = 0; i < n_actions && i < ACTION_RING; i++)
		recent += now - action_times[i] < 60;
	if (max > 0 && recent >= (unsigned int)max) {
		snprintf(why, len, "rate limit: %u actions in the last minute on this node", recent);
		return false;
	}
	return true;
}

/* Remember an applied decision with the inputs it was taken on (explain). */
static void note_action(struct group *g, double now)
{
	struct ginsight *i = &g->ins;

	g->last_action = now;
	action_times[n_actions++ % ACTION_RING] = now;
	if (n_actions >= 2 * ACTION_RING) /* keep "ring full" without wrapping the count */
		n_actions -= ACTION_RING;
	i->has_acted = true;
	i->acted_at = i->decided_at;
	memcpy(i->acted_policy, i->policy, sizeof(i->acted_policy));
	i->acted_in = i->in;
	i->acted_out = i->out;
	memcpy(i->acted_result, i->action_result, sizeof(i->acted_result));
}

static void apply_replicas(struct group *g, const struct ctr_settings *st,
			   const struct policy_output *out, double now)
{
	struct act_group ag = { .enabled = true, .min = g->ins.in.bounds.min_replicas,
				.max = g->ins.in.bounds.max_replicas };
	int rc;

	snprintf(ag.service, sizeof(ag.service), "%s", g->service);
	rc = act_scale(engine.act, &ag, out->replicas, out->reason);
	if (rc == 0) {
		/* the earliest unanswered scale-up: its replicas are made first */
		if (out->replicas > g->ins.in.replicas_requested && !g->up_at)
			g->up_at = now;
		g->ins.actions[out->replicas > g->ins.in.replicas_requested ? 0 : 1]++;
		snprintf(g->ins.action_result, sizeof(g->ins.action_result), "scaled %s to %d",
			 g->service, out->replicas);
		note_action(g, now);
	} else {
		snprintf(g->ins.action_result, sizeof(g->ins.action_result),
			 "scaling %s failed: %s", g->service, strerror(-rc));
	}
}

/*
 * A member without presage labels of its own (a Swarm task, whose labels
 * are the service's, or a container listed in the config) is resized under
 * its group's settings: enabled, CPU and memory bounds.  In place, like any
 * container: for a Swarm task the service spec keeps its own limits (an
 * update of the spec would restart every task), so tasks the service starts
 * later begin from the spec and are resized at the next decision.
 */
static void member_target(const struct group *g, struct act_target *t,
			  const struct ctr_identity *id, const struct ctr_settings *group_st)
{
	const char *svc = swarm_service_of(id);

	act_target_from_identity(t, id);
	if (t->enabled) {
		/*
		 * Its own labels enable it, but the operator's services.<name>
		 * bounds still win over them (a label must not lift a limit
		 * past the config's ceiling).
		 */
		const struct cfg_service *cs = cfg_service_find(engine.cfg, g->key);
		unsigned int cpu = CS_CPU_MIN | CS_CPU_MAX, mem = CS_MEM_MIN | CS_MEM_MAX;

		if (cs && cs->cpu_max > 0) {
			t->settings.cpu_min = group_st->cpu_min;
			t->settings.cpu_max = group_st->cpu_max;
			t->settings.has |= cpu;
		}
		if (cs && cs->memory_max > 0) {
			t->settings.mem_min = group_st->mem_min;
			t->settings.mem_max = group_st->mem_max;
			t->settings.has |= mem;
		}
		return;
	}
	if (!group_st->enabled)
		return;
	/* a plain container of a labelled group without presage.enable itself stays untouched */
	if (!(svc && !strcmp(svc, g->key)) && !cfg_service_find(engine.cfg, g->key))
		return;
	t->enabled = true;
	t->settings = *group_st;
}

/* Resize every member whose limit differs by more than 10% from the decision. */
static void apply_limits(struct group *g, const struct snapshot *s, const struct ctr_settings *st,
			 const struct policy_output *out, double now)
{
	struct ctr_identity id;
	struct act_target t;
	struct act_resize r = { .cpus = out->cpu_limit, .memory = (int64_t)out->mem_limit,
				.cpu_weight = (unsigned int)out->cpu_weight };
	int done = 0;

	if (!(r.cpus > 0) && !(r.memory > 0))
		return;
	for (size_t i = 0; i < s->n; i++) {
		const struct cont_snap *c = &s->c[i];

		if (strcmp(c->service[0] ? c->service : c->id, g->key))
			continue;
		if (!engine_registry || registry_lookup(engine_registry, c->cgroup_id, &id))
			continue;
		member_target(g, &t, &id, st);
		if (!t.enabled)
			continue;
		if (act_resize(engine.act, &t, &r, out->reason) == 0)
			done++;
	}
	if (done) {
		g->ins.actions[2]++;
		snprintf(g->ins.action_result, sizeof(g->ins.action_result),
			 "resized %d container(s): %.2f cores, %lld bytes", done, r.cpus,
			 (long long)r.memory);
		note_action(g, now);
	}
}

/* A scale-up whose replicas never serve (no request telemetry) stops waiting. */
#define STARTUP_WAIT_MAX_S 900.0

void engine_watch_startup(struct group *g, const struct snapshot *s)
{
	double took;

	if (!g->up_at || !engine.act)
		return;
	took = s->time - g->up_at;
	if (took > STARTUP_WAIT_MAX_S || took < 0) {
		g->up_at = 0;
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct cont_snap *c = &s->c[i];

		/* a member first seen after the scale-up that has answered a request */
		if (strcmp(c->service[0] ? c->service : c->id, g->key) || c->started < g->up_at ||
		    !(c->v[MET_REQUESTS] > 0))
			continue;
		act_record_serving(engine.act, g->service, took);
		bus_emit(BUS_RUNTIME, c->id, c->name, g->service, "startup_measured", "serving",
			 "new replica %s served its first request %.1f s after the scale-up "
			 "(lead time now %.1f s)", c->name, took,
			 act_startup_seconds(engine.act, g->service));
		g->up_at = 0;
		return;
	}
}

void engine_decide(struct group *g, const struct snapshot *s)
{
	struct ctr_identity id;
	struct ctr_settings st;
	struct policy_output out;
	const char *pname;
	char why[96];

	if (!group_settings(g, s, &id, &st))
		return;
	pname = st.policy[0] ? st.policy : engine.cfg->policy.default_policy;
	if (!policy_lookup(pname) || policy_lookup(pname)->sim_only) {
		LOG_RATELIMITED(LOG_WARN, "engine: policy '%s' of %s cannot run live (reactive, "
				"predictive or rl)", pname, g->key);
		return;
	}
	if (!g->pol || strcmp(policy_name(g->pol), pname)) {
		policy_free(g->pol);
		g->pol = policy_new(pname, NULL);
		if (!g->pol) {
			LOG_RATELIMITED(LOG_WARN, "engine: no policy '%s' for %s: %s", pname, g->key,
					strerror(errno));
			return;
		}
	}
	learn_capacity(g);
	build_input(g, &st, s, &g->ins.in, &g->ins.capacity_learned);
	policy_decide(g->pol, &g->ins.in, &out);
	g->oom_prev = g->oom_total;
	g->ins.out = out;
	g->ins.has_decision = true;
	g->ins.decided_at = s->time;
	snprintf(g->ins.policy, sizeof(g->ins.policy), "%s", pname);
	g->ins.action_result[0] = '\0';
	g->ins.startup_running = g->ins.startup_serving = NAN;
	if (!engine.act)
		return;
	act_startup_get(engine.act, g->service, &g->ins.startup_running, &g->ins.startup_serving);
	if (!may_act(g, s->time, why, sizeof(why))) {
		snprintf(g->ins.action_result, sizeof(g->ins.action_result), "held: %s", why);
		return;
	}
	if (g->service[0] && out.replicas != g->ins.in.replicas_requested)
		apply_replicas(g, &st, &out, s->time);
	else
		apply_limits(g, s, &st, &out, s->time);
}

/* DESIGN.md: the docker driver when a Docker socket answers, else cgroupfs. */
static bool docker_answers(const struct presage_config *cfg)
{
	const char *host = cfg->docker.host[0] ? cfg->docker.host : getenv("DOCKER_HOST");
	struct docker_client *dc = docker_client_new(host && *host ? host
								: "unix:///var/run/docker.sock");
	struct docker_response r = { 0 };
	bool ok;

	if (!dc)
		return false;
	ok = docker_request_sync(dc, "GET", "/_ping", NULL, 1000, &r) == 0;
	docker_response_release(&r);
	docker_client_free(dc);
	return ok;
}

/* policy.time_scale (see time_scale). */
static void read_time_scale(void)
{
	time_scale = engine.cfg->policy.time_scale >= 1 ? engine.cfg->policy.time_scale : 1.0;
	if (time_scale > 1)
		log_info("policy clock runs %gx wall-clock time (policy.time_scale)", time_scale);
}

void engine_act_open(void)
{
	struct act_config ac = { 0 };
	const char *name = engine.cfg->driver;
	const char **cgs = NULL;
	size_t n = 0;

	read_time_scale();
	if (!strcmp(name, "auto"))
		name = docker_answers(engine.cfg) ? "docker" : "cgroupfs";
	for (int i = 0; i < engine.cfg->n_services; i++)
		n += (size_t)engine.cfg->services[i].n_cgroups;
	cgs = n ? calloc(n, sizeof(*cgs)) : NULL;
	n = 0;
	for (int i = 0; cgs && i < engine.cfg->n_services; i++)
		for (int k = 0; k < engine.cfg->services[i].n_cgroups; k++)
			cgs[n++] = engine.cfg->services[i].cgroups[k];
	ac.docker_host = engine.cfg->docker.host[0] ? engine.cfg->docker.host : NULL;
	ac.timeout_ms = engine.cfg->docker.timeout_ms;
	ac.cgroups = cgs;
	ac.n_cgroups = n;
	ac.dry_run = engine.cfg->dry_run;
	engine.act = act_driver_new(name, &ac);
	free(cgs);
	if (!engine.act) {
		log_warn("actuation driver '%s' unavailable (%s): decisions are explained, not applied",
			 name, strerror(errno));
		return;
	}
	snprintf(engine.act_name, sizeof(engine.act_name), "%s", name);
	log_info("actuation through the %s driver%s", name, ac.dry_run ? " (dry run)" : "");
}

void engine_act_close(void)
{
	act_driver_free(engine.act);
	engine.act = NULL;
}
