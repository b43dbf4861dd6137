/*
 * engine.c - the engine worker thread: groups containers into services,
 * aggregates each group's tick values into model-step series, runs the
 * behavioural profile (forecasts, anomaly, fingerprint) on every closed
 * step, asks the scaling code for a decision (engine_act.c) and publishes
 * an insight after every tick.
 *
 * The worker only reads snapshots; it never touches telemetry state, so a
 * slow model refit or a hung runtime API call delays decisions, never
 * sampling.
 */
#include "daemon/engine.h"
#include "daemon/engine_priv.h"

#include "common/log.h"
#include "core/snapshot.h"
#include "core/state.h"
#include "model/profile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct engine engine;

static const struct profile_metric profile_metrics[SM__COUNT] = {
	[SM_CPU_CORES] = { "cpu_cores", FP_ROLE_CPU },
	[SM_MEMORY_BYTES] = { "memory_bytes", FP_ROLE_MEM },
	[SM_REQUESTS_PER_SEC] = { "requests_per_second", FP_ROLE_REQ },
	[SM_NET_RX_BPS] = { "network_receive_bps", FP_ROLE_NET },
	[SM_NET_TX_BPS] = { "network_transmit_bps", FP_ROLE_NET },
	[SM_FS_READ_BPS] = { "fs_read_bps", FP_ROLE_IO },
	[SM_FS_WRITE_BPS] = { "fs_write_bps", FP_ROLE_IO },
	[SM_REQ_P95_SECONDS] = { "request_p95_seconds", FP_ROLE_LAT },
	[SM_RUNQ_P99_SECONDS] = { "runqueue_p99_seconds", FP_ROLE_OTHER },
};

static struct pub_slot ins_slot = PUB_SLOT_INIT;

static void profile_params_of(const struct presage_config *cfg, struct profile_params *pp)
{
	memset(pp, 0, sizeof(*pp));
	pp->n_metrics = SM__COUNT;
	pp->metrics = profile_metrics;
	pp->model = cfg->engine.model[0] ? cfg->engine.model : NULL;
	pp->step_s = cfg->model_step_seconds;
	pp->coverage = cfg->engine.coverage;
	pp->season = cfg->engine.season > 0 ? (int)lround(cfg->engine.season / cfg->model_step_seconds)
					    : 0;
	if (pp->season == 1)
		pp->season = 0;
}

/* Load the group's saved profile, else cold-start it from its image's, else fresh. */
static struct profile *open_profile(struct group *g)
{
	const char *dir = engine.cfg->state_dir;
	struct profile_params pp;
	struct profile *p;
	char path[1024];
	const char *keys[1] = { g->image };

	profile_params_of(engine.cfg, &pp);
	profile_model_path(dir, g->state_key, path, sizeof(path));
	p = profile_load(path, &pp);
	if (p) {
		log_info("engine: %s resumes from saved state (%lld steps)", g->key,
			 (long long)profile_steps(p));
		return p;
	}
	p = profile_new(&pp);
	if (!p) {
		LOG_RATELIMITED(LOG_WARN, "engine: failed to create a profile for %s: %s", g->key,
				strerror(errno));
		return NULL;
	}
	if (g->image[0] && strcmp(g->image, g->state_key) &&
	    profile_cold_start(p, dir, keys, 1) >= 0)
		log_info("engine: %s cold-starts from the model of image %s", g->key, g->image);
	return p;
}

static void save_group(struct group *g)
{
	char path[1024];
	struct fp fp;
	int rc;

	if (!g->prof || profile_steps(g->prof) == 0)
		return;
	profile_model_path(engine.cfg->state_dir, g->state_key, path, sizeof(path));
	rc = profile_save(g->prof, path);
	if (rc)
		LOG_RATELIMITED(LOG_WARN, "engine: failed to save %s: %s", path, strerror(-rc));
	profile_fingerprint(g->prof, &fp);
	profile_fp_path(engine.cfg->state_dir, g->state_key, path, sizeof(path));
	if (fp.samples > 0 && (rc = fp_save(&fp, path)))
		LOG_RATELIMITED(LOG_WARN, "engine: failed to save %s: %s", path, strerror(-rc));
}

static void group_free(struct group *g)
{
	if (!g)
		return;
	profile_free(g->prof);
	series_free(g->series);
	policy_free(g->pol);
	free(g);
}

static struct group *group_find(const char *key)
{
	for (size_t i = 0; i < engine.n; i++)
		if (!strcmp(engine.groups[i]->key, key))
			return engine.groups[i];
	return NULL;
}

/* Series capacity: one day of model steps, at least 64, at most 10080 (a week of minutes). */
static size_t series_cap(double step)
{
	double cap = 86400.0 / step;

	return cap < 64 ? 64 : cap > 10080 ? 10080 : (size_t)cap;
}

static struct group *group_get(const struct cont_snap *c)
{
	const char *key = c->service[0] ? c->service : c->id;
	struct group *g = group_find(key);

	if (g || engine.n >= ENGINE_MAX_GROUPS)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->key, sizeof(g->key), "%s", key);
	snprintf(g->service, sizeof(g->service), "%s", c->service);
	snprintf(g->image, sizeof(g->image), "%s", c->image);
	snprintf(g->state_key, sizeof(g->state_key), "%s",
		 c->service[0] ? c->service : c->image[0] ? c->image : c->cgroup);
	g->series = series_new(g->key, series_cap(engine.cfg->model_step_seconds),
			       engine.cfg->model_step_seconds);
	if (!g->series) {
		free(g);
		return NULL;
	}
	engine.groups[engine.n++] = g;
	return g;
}

/* Sum (or max, for latencies) of the members' finite values. */
static void add_member(struct group *g, const struct cont_snap *c)
{
	static const int src[SM__COUNT] = {
		[SM_CPU_CORES] = MET_CPU_CORES,        [SM_MEMORY_BYTES] = MET_MEM_WORKING_SET,
		[SM_REQUESTS_PER_SEC] = MET_REQUESTS_PER_SEC, [SM_NET_RX_BPS] = MET_NET_RX_BPS,
		[SM_NET_TX_BPS] = MET_NET_TX_BPS,      [SM_FS_READ_BPS] = MET_FS_READ_BPS,
		[SM_FS_WRITE_BPS] = MET_FS_WRITE_BPS,  [SM_REQ_P95_SECONDS] = MET_REQ_P95,
		[SM_RUNQ_P99_SECONDS] = MET_RUNQ_P99,
	};

	for (int m = 0; m < SM__COUNT; m++) {
		double v = c->v[src[m]];
		bool is_max = m == SM_REQ_P95_SECONDS || m == SM_RUNQ_P99_SECONDS;

		if (!isfinite(v))
			continue;
		if (isnan(g->tick[m]))
			g->tick[m] = v;
		else
			g->tick[m] = is_max ? fmax(g->tick[m], v) : g->tick[m] + v;
	}
	g->members++;
	g->enabled |= c->enabled;
	g->oom_total += isfinite(c->v[MET_OOM_KILLS]) ? c->v[MET_OOM_KILLS] : 0;
}

static void group_reset_tick(struct group *g)
{
	for (int m = 0; m < SM__COUNT; m++)
		g->tick[m] = NAN;
	g->members = 0;
	g->enabled = false;
	g->oom_total = 0;
}

static void aggregate(const struct snapshot *s)
{
	for (size_t i = 0; i < engine.n; i++)
		group_reset_tick(engine.groups[i]);
	for (size_t i = 0; i < s->n; i++) {
		struct group *g = group_get(&s->c[i]);

		if (!g)
			continue;
		if (g->members == 0 && g->seen_seq != s->seq)
			group_reset_tick(g);
		g->seen_seq = s->seq;
		g->last_seen = s->time;
		add_member(g, &s->c[i]);
	}
}

static size_t count_profiles(void)
{
	size_t n = 0;

	for (size_t i = 0; i < engine.n; i++)
		n += engine.groups[i]->prof != NULL;
	return n;
}

/*
 * Learn the steps that closed, then refresh forecasts and anomaly scores.
 * A group gets its profile once it has lived ENGINE_MIN_STEPS steps (short
 * lived cgroups never cost a model) and while fewer than
 * engine.max_models exist; it then learns the whole series it already has.
 */
static void learn(struct group *g, int closed)
{
	struct series *se = g->series;
	size_t first = se->len > (size_t)closed ? se->len - (size_t)closed : 0;
	double vals[SM__COUNT];

	if (!g->prof) {
		if (se->len < ENGINE_MIN_STEPS ||
		    count_profiles() >= (size_t)engine.cfg->engine.max_models)
			return;
		if (!(g->prof = open_profile(g)))
			return;
		first = 0;
	}
	for (size_t i = first; i < se->len; i++) {
		for (int m = 0; m < SM__COUNT; m++)
			vals[m] = series_value(se, i, (enum series_metric)m);
		profile_update(g->prof, vals);
		memcpy(g->ins.last, vals, sizeof(vals));
		g->ins.origin = series_time(se, i);
	}
	g->steps_since_save += closed;
}

/* Largest point and upper bound over horizons from..to (1-based). */
static void window_max(struct fcast_point *w, const struct fcast_point *out, int from, int to)
{
	*w = out[from - 1];
	for (int h = from; h < to; h++) {
		w->point = fmax(w->point, out[h].point);
		w->upper = fmax(w->upper, out[h].upper);
		w->lower = fmax(w->lower, out[h].lower);
	}
}

static void forecast(struct group *g, double lead_s)
{
	static struct fcast_point out[FCAST_MAX_H];
	double step = engine.cfg->model_step_seconds;
	int hs[ENGINE_HORIZONS] = { 1, 5, (int)ceil(lead_s / step) };
	int max_h;
	struct ginsight *in = &g->ins;

	hs[2] = hs[2] < 1 ? 1 : hs[2] > FCAST_MAX_H ? FCAST_MAX_H : hs[2];
	/* Through the lead time plus HPA's 300 s scale-down window. */
	max_h = hs[2] + (int)ceil(HPA_DOWN_WINDOW_S / step);
	max_h = max_h < ENGINE_PATH ? ENGINE_PATH : max_h > FCAST_MAX_H ? FCAST_MAX_H : max_h;
	in->fc_valid = false;
	for (int m = 0; m < SM__COUNT; m++) {

		if (profile_forecast(g->prof, m, max_h, engine.cfg->engine.coverage, out))
			continue;
		for (int k = 0; k < ENGINE_HORIZONS; k++) {
			in->fc[m][k] = out[hs[k] - 1];
			in->horizon_s[k] = hs[k] * step;
		}
		window_max(&in->fc_window[m], out, hs[2], max_h);
		for (int k = 0; k < ENGINE_PATH; k++)
			in->path[m][k] = out[k < max_h ? k : max_h - 1];
		in->fc_valid = true;
	}
	for (int m = 0; m < SM__COUNT; m++)
		in->anomaly[m] = profile_anomaly(g->prof, m);
	in->anomaly_overall = profile_anomaly_overall(g->prof);
	profile_fingerprint(g->prof, &in->fp);
	in->has_fp = in->fp.samples > 0;
	in->steps = profile_steps(g->prof);
}

static double group_lead_seconds(const struct group *g)
{
	double s = engine.act ? act_startup_seconds(engine.act, g->service) : NAN;

	return isfinite(s) && s > 0 ? s : engine.cfg->model_step_seconds;
}

static void step_group(struct group *g, const struct snapshot *s)
{
	int closed;

	if (g->seen_seq != s->seq)
		return;
	engine_watch_startup(g, s);
	closed = series_add_tick(g->series, s->time, g->tick);
	if (closed <= 0)
		return;
	learn(g, closed);
	if (!g->prof)
		return;
	forecast(g, group_lead_seconds(g));
	engine_decide(g, s);
	if (g->steps_since_save >= 10) {
		save_group(g);
		g->steps_since_save = 0;
	}
}

/* Drop groups unseen for ten model steps (their state is saved first). */
static void expire_groups(double now)
{
	double grace = 10 * engine.cfg->model_step_seconds;

	for (size_t i = 0; i < engine.n;) {
		struct group *g = engine.groups[i];

		if (now - g->last_seen < grace) {
			i++;
			continue;
		}
		save_group(g);
		group_free(g);
		engine.groups[i] = engine.groups[--engine.n];
	}
}

static void insight_free(struct pub_obj *o)
{
	struct insight *ins = (struct insight *)((char *)o - offsetof(struct insight, pub));

	free(ins->g);
	free(ins);
}

static void publish_insight(double now)
{
	struct insight *ins = calloc(1, sizeof(*ins));

	if (!ins)
		return;
	ins->g = calloc(engine.n ? engine.n : 1, sizeof(*ins->g));
	if (!ins->g) {
		free(ins);
		return;
	}
	for (size_t i = 0; i < engine.n; i++) {
		struct group *g = engine.groups[i];

		snprintf(g->ins.key, sizeof(g->ins.key), "%s", g->key);
		snprintf(g->ins.service, sizeof(g->ins.service), "%s", g->service);
		snprintf(g->ins.state_key, sizeof(g->ins.state_key), "%s", g->state_key);
		g->ins.members = g->members;
		g->ins.enabled = g->enabled;
		ins->g[ins->n++] = g->ins;
	}
	ins->time = now;
	ins->step_s = engine.cfg->model_step_seconds;
	ins->pub.refs = 1;
	ins->pub.free = insight_free;
	pub_set(&ins_slot, &ins->pub);
}

struct insight *engine_insight_acquire(void)
{
	struct pub_obj *o = pub_get(&ins_slot);

	return o ? (struct insight *)((char *)o - offsetof(struct insight, pub)) : NULL;
}

void engine_insight_release(struct insight *ins)
{
	if (ins)
		pub_put(&ins_slot, &ins->pub);
}

const struct ginsight *engine_insight_find(const struct insight *ins, const char *key)
{
	for (size_t i = 0; ins && i < ins->n; i++)
		if (!strcmp(ins->g[i].key, key))
			return &ins->g[i];
	return NULL;
}

static void run_tick(void)
{
	struct snapshot *s = snapshot_acquire();

	if (!s || s->seq == engine.last_seq) {
		snapshot_release(s);
		return;
	}
	engine.last_seq = s->seq;
	aggregate(s);
	for (size_t i = 0; i < engine.n; i++)
		step_group(engine.groups[i], s);
	expire_groups(s->time);
	publish_insight(s->time);
	snapshot_release(s);
}

/* Take a configuration handed over by engine_set_config(). */
static void adopt_config(void)
{
	struct presage_config *next;

	pthread_mutex_lock(&engine.lock);
	next = engine.next_cfg;
	engine.next_cfg = NULL;
	pthread_mutex_unlock(&engine.lock);
	if (!next)
		return;
	cfg_release(engine.cfg);
	engine.cfg = next;
	engine_act_close();
	engine_act_open();
}

static void *worker(void *arg)
{
	struct timespec until;

	for (;;) {
		pthread_mutex_lock(&engine.lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(engine.cfg->tick_seconds * 1e9);
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		while (!engine.stop && !engine.next_cfg &&
		       pthread_cond_timedwait(&engine.cond, &engine.lock, &until) == 0)
			;
		if (engine.stop) {
			pthread_mutex_unlock(&engine.lock);
			return NULL;
		}
		pthread_mutex_unlock(&engine.lock);
		adopt_config();
		run_tick();
	}
}

int engine_start(struct registry *reg)
{
	int rc;

	engine_registry = reg;
	pthread_mutex_init(&engine.lock, NULL);
	pthread_cond_init(&engine.cond, NULL);
	engine.cfg = cfg_acquire();
	if (!engine.cfg)
		return -EINVAL;
	engine_act_open();
	engine_ctl_register();
	rc = pthread_create(&engine.thread, NULL, worker, NULL);
	if (rc) {
		engine_ctl_unregister();
		engine_act_close();
		return -rc;
	}
	engine.running = true;
	return 0;
}

void engine_stop(void)
{
	if (!engine.running)
		return;
	pthread_mutex_lock(&engine.lock);
	engine.stop = true;
	pthread_cond_signal(&engine.cond);
	pthread_mutex_unlock(&engine.lock);
	pthread_join(engine.thread, NULL);
	engine.running = false;
	engine_ctl_unregister();
	for (size_t i = 0; i < engine.n; i++) {
		save_group(engine.groups[i]);
		group_free(engine.groups[i]);
	}
	engine.n = 0;
	engine_act_close();
	pub_set(&ins_slot, NULL);
	cfg_release(engine.next_cfg);
	cfg_release(engine.cfg);
	engine.next_cfg = engine.cfg = NULL;
}

void engine_set_config(void)
{
	struct presage_config *c = cfg_acquire();

	pthread_mutex_lock(&engine.lock);
	cfg_release(engine.next_cfg);
	engine.next_cfg = c;
	pthread_cond_signal(&engine.cond);
	pthread_mutex_unlock(&engine.lock);
}
