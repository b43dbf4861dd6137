/*
 * engine_ctl.c - what the engine shows: control-socket commands
 * (`forecast`, `fingerprint`, the engine's part of `explain` and `top`) and
 * its Prometheus families (presage_forecast, presage_anomaly_score,
 * presage_fingerprint_*, presage_desired_replicas).
 *
 * Everything here reads the published insight and snapshot only.  A
 * container is answered through its group: its service, else itself.
 */
#include "daemon/engine_priv.h"

#include "ctl/ctl.h"
#include "export/prom.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* JSON number, or null when not finite (DESIGN.md: missing is null, never 0). */
static void add_num(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* The group of the container named in args, with its snapshot row. */
static const struct ginsight *find_group(const struct insight *ins, const struct snapshot *s,
					 const cJSON *args, char *err, size_t errlen)
{
	const struct cont_snap *c = ctl_find_container(s, args, err, errlen);
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(args, "container");
	const struct ginsight *g = NULL;

	if (c)
		g = engine_insight_find(ins, c->service[0] ? c->service : c->id);
	else if (cJSON_IsString(key))
		g = engine_insight_find(ins, key->valuestring); /* a service by name */
	if (!g && (c || !err[0]))
		snprintf(err, errlen, "no model yet for \"%s\": the engine learns one step per %gs",
			 cJSON_IsString(key) ? key->valuestring : "?", ins ? ins->step_s : 0.0);
	else if (g)
		err[0] = '\0';
	return g;
}

static cJSON *fp_json(const struct fp *fp)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; o && i < FP_DIM; i++)
		add_num(o, fp_feature_names[i], fp->v[i]);
	return o;
}

static int h_fingerprint(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	struct snapshot *s = snapshot_acquire();
	struct insight *ins = engine_insight_acquire();
	const struct ginsight *g = find_group(ins, s, args, err, errlen);
	cJSON *o = NULL;

	if (g && !g->has_fp)
		snprintf(err, errlen, "no fingerprint yet for \"%s\" (%lld model steps learnt)",
			 g->key, (long long)g->steps);
	else if (g && (o = cJSON_CreateObject())) {
		cJSON_AddStringToObject(o, "group", g->key);
		cJSON_AddStringToObject(o, "service", g->service);
		cJSON_AddNumberToObject(o, "members", g->members);
		cJSON_AddNumberToObject(o, "samples", (double)g->fp.samples);
		cJSON_AddNumberToObject(o, "step_seconds", ins->step_s);
		cJSON_AddItemToObject(o, "features", fp_json(&g->fp));
		add_num(o, "anomaly_score", g->anomaly_overall);
	}
	engine_insight_release(ins);
	snapshot_release(s);
	*data = o;
	return o ? 0 : -ENOENT;
}

/* Forecast of one metric up to the requested horizon (capped at the path kept). */
static int h_forecast(const cJSON *args, cJSON **data, char *err, size_t errlen, void *ctx)
{
	const cJSON *jm = cJSON_GetObjectItemCaseSensitive(args, "metric");
	const cJSON *jh = cJSON_GetObjectItemCaseSensitive(args, "horizon_seconds");
	const cJSON *js = cJSON_GetObjectItemCaseSensitive(args, "horizon_steps");
	int m = cJSON_IsString(jm) ? series_metric_by_name(jm->valuestring) : SM_CPU_CORES;
	struct snapshot *s = snapshot_acquire();
	struct insight *ins = engine_insight_acquire();
	/* Our own reference: the engine thread drops engine.cfg on a reload at any time. */
	struct presage_config *cfg = cfg_acquire();
	const struct ginsight *g = m < 0 ? NULL : find_group(ins, s, args, err, errlen);
	cJSON *o = NULL, *pts;
	int h;

	if (m < 0)
		snprintf(err, errlen, "unknown metric \"%s\" (cpu_cores, memory_bytes, "
			 "requests_per_second, ...)", jm->valuestring);
	else if (g && !g->fc_valid)
		snprintf(err, errlen, "no forecast yet for \"%s\" (%lld model steps learnt)", g->key,
			 (long long)g->steps);
	else if (g && (o = cJSON_CreateObject())) {
		h = cJSON_IsNumber(js) && js->valuedouble >= 1 ? (int)fmin(js->valuedouble, 1e6)
		    : cJSON_IsNumber(jh) && jh->valuedouble > 0
			    ? (int)fmin(ceil(jh->valuedouble / ins->step_s), 1e6)
			    : 12;
		h = h < 1 ? 1 : h > ENGINE_PATH ? ENGINE_PATH : h;
		cJSON_AddStringToObject(o, "group", g->key);
		cJSON_AddStringToObject(o, "metric", series_metric_names[m]);
		cJSON_AddNumberToObject(o, "step_seconds", ins->step_s);
		cJSON_AddNumberToObject(o, "coverage", cfg ? cfg->engine.coverage : 0.9);
		add_num(o, "last", g->last[m]);
		cJSON_AddNumberToObject(o, "origin", g->origin);
		pts = cJSON_AddArrayToObject(o, "points");
		for (int k = 0; k < h; k++) {
			cJSON *p = cJSON_CreateObject();

			cJSON_AddNumberToObject(p, "timestamp", g->origin + (k + 1) * ins->step_s);
			add_num(p, "forecast", g->path[m][k].point);
			add_num(p, "lower", g->path[m][k].lower);
			add_num(p, "upper", g->path[m][k].upper);
			cJSON_AddItemToArray(pts, p);
		}
		add_num(o, "anomaly_score", g->anomaly[m]);
	}
	cfg_release(cfg);
	engine_insight_release(ins);
	snapshot_release(s);
	*data = o;
	return o ? 0 : -ENOENT;
}

/* One decision: the current tick's, or the newest applied one (acted). */
static cJSON *decision_json(const struct ginsight *g, bool acted)
{
	const struct policy_input *in = acted ? &g->acted_in : &g->in;
	const struct policy_output *out = acted ? &g->acted_out : &g->out;
	const char *policy = acted ? g->acted_policy : g->policy;
	const char *result = acted ? g->acted_result : g->action_result;
	cJSON *o = cJSON_CreateObject(), *i = cJSON_CreateObject(), *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "time", acted ? g->acted_at : g->decided_at);
	cJSON_AddStringToObject(o, "kind", "decision");
	cJSON_AddStringToObject(o, "action", out->replicas > in->replicas_requested ? "scale_up"
					     : out->replicas < in->replicas_requested ? "scale_down"
					     : acted ? "resize"
										      : "hold");
	cJSON_AddStringToObject(o, "reason", policy);
	cJSON_AddStringToObject(o, "message", out->reason);
	cJSON_AddStringToObject(o, "policy", policy);
	add_num(i, "demand", in->demand);
	add_num(i, "forecast", in->fc.valid ? in->fc.point : NAN);
	add_num(i, "forecast_upper", in->fc.valid ? in->fc.upper : NAN);
	add_num(i, "forecast_window_upper", in->fc_window.valid ? in->fc_window.upper : NAN);
	add_num(i, "lead_seconds", in->startup_s);
	add_num(i, "capacity", in->capacity);
	if (!acted)
		cJSON_AddBoolToObject(i, "capacity_learned", g->capacity_learned);
	add_num(i, "utilisation", in->utilisation);
	add_num(i, "target_utilisation", in->target_util);
	add_num(i, "latency_p95_ms", in->latency_p95_ms);
	add_num(i, "slo_latency_ms", in->slo_latency_ms);
	cJSON_AddNumberToObject(i, "replicas_requested", in->replicas_requested);
	cJSON_AddNumberToObject(i, "replicas_ready", in->replicas_ready);
	cJSON_AddNumberToObject(i, "min_replicas", in->bounds.min_replicas);
	cJSON_AddNumberToObject(i, "max_replicas", in->bounds.max_replicas);
	cJSON_AddItemToObject(o, "inputs", i);
	cJSON_AddNumberToObject(r, "replicas", out->replicas);
	add_num(r, "cpu_limit", out->cpu_limit > 0 ? out->cpu_limit : NAN);
	add_num(r, "memory_limit", out->mem_limit > 0 ? out->mem_limit : NAN);
	cJSON_AddNumberToObject(r, "cpu_weight", out->cpu_weight);
	cJSON_AddBoolToObject(r, "budget_bound", out->budget_bound);
	cJSON_AddBoolToObject(r, "bounded", out->bounded);
	cJSON_AddItemToObject(o, "output", r);
	cJSON_AddStringToObject(o, "applied", result[0] ? result
				: engine.act ? "nothing to change" : "no actuation driver");
	return o;
}

/*
 * explain: the engine's answer replaces the bus-derived one.  `decision` is
 * the newest decision that was applied (scale or resize, with the inputs it
 * was taken on) so that it still answers "why" once later ticks hold;
 * `current` is this tick's decision.  Before any action both are the same.
 */
static void explain_fields(cJSON *o, const struct snapshot *s, const struct cont_snap *c,
			   void *ctx)
{
	struct insight *ins = engine_insight_acquire();
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(o, "target");
	const struct ginsight *g;
	cJSON *st;

	/* A container answers through its group; a bare name may be the service itself. */
	if (c)
		g = engine_insight_find(ins, c->service[0] ? c->service : c->id);
	else
		g = cJSON_IsString(target) ? engine_insight_find(ins, target->valuestring) : NULL;
	if (g && g->has_decision) {
		cJSON_ReplaceItemInObject(o, "decision", decision_json(g, g->has_acted));
		cJSON_AddItemToObject(o, "current", decision_json(g, false));
		st = cJSON_AddObjectToObject(o, "startup");
		add_num(st, "running_seconds", g->startup_running);
		add_num(st, "serving_seconds", g->startup_serving);
		cJSON_ReplaceItemInObject(o, "source", cJSON_CreateString("engine"));
	}
	engine_insight_release(ins);
}

/* top: the forecast and anomaly columns. */
static void top_fields(cJSON *o, const struct snapshot *s, const struct cont_snap *c, void *ctx)
{
	struct insight *ins = engine_insight_acquire();
	const struct ginsight *g;

	g = engine_insight_find(ins, c->service[0] ? c->service : c->id);
	cJSON_DeleteItemFromObject(o, "forecast_cpu_cores");
	add_num(o, "forecast_cpu_cores", g && g->fc_valid ? g->fc[SM_CPU_CORES][0].point : NAN);
	add_num(o, "forecast_requests_per_second",
		g && g->fc_valid ? g->fc[SM_REQUESTS_PER_SEC][0].point : NAN);
	cJSON_DeleteItemFromObject(o, "anomaly_score");
	add_num(o, "anomaly_score", g && g->steps > 0 ? g->anomaly_overall : NAN);
	engine_insight_release(ins);
}

/* ---- Prometheus families ------------------------------------------------- */

static const int prom_fc_metrics[] = { SM_CPU_CORES, SM_MEMORY_BYTES, SM_REQUESTS_PER_SEC };
#define N_FC_METRICS (sizeof(prom_fc_metrics) / sizeof(prom_fc_metrics[0]))

/* The horizon_seconds label value of horizon k. */
static void horizon_label(const struct ginsight *g, int k, char *buf, size_t len)
{
	snprintf(buf, len, "%g", g->horizon_s[k]);
}

/*
 * The horizons of g to export, as indexes into horizon_s, ascending and each
 * label once; their count.  The engine keeps {1 step, 5 steps, lead} by
 * position (the scaling code reads the lead last), so a lead of at most one
 * step or of five steps repeats one, and a lead under five steps comes last
 * though shorter: the same series twice breaks the exposition format.
 */
static int export_horizons(const struct ginsight *g, int idx[ENGINE_HORIZONS])
{
	char a[32], b[32];
	int n = 0;

	for (int k = 0; k < ENGINE_HORIZONS; k++) {
		bool dup = false;
		int at = n;

		horizon_label(g, k, a, sizeof(a));
		for (int j = 0; j < n && !dup; j++) {
			horizon_label(g, idx[j], b, sizeof(b));
			dup = !strcmp(a, b);
		}
		if (dup)
			continue;
		for (; at > 0 && g->horizon_s[idx[at - 1]] > g->horizon_s[k]; at--)
			idx[at] = idx[at - 1];
		idx[at] = k;
		n++;
	}
	return n;
}

static void forecast_samples(struct prom_writer *w, const struct cont_snap *c,
			     const struct ginsight *g)
{
	static const char *const bounds[] = { "point", "lower", "upper" };
	struct prom_label l[8];
	size_t n = prom_container_labels(c, l);
	int idx[ENGINE_HORIZONS], nh = export_horizons(g, idx);
	char hz[32];

	for (size_t i = 0; i < N_FC_METRICS; i++) {
		int m = prom_fc_metrics[i];

		for (int j = 0; j < nh; j++) {
			int k = idx[j];
			const struct fcast_point *p = &g->fc[m][k];
			double v[3] = { p->point, p->lower, p->upper };

			horizon_label(g, k, hz, sizeof(hz));
			l[n] = (struct prom_label){ "metric", series_metric_names[m] };
			l[n + 1] = (struct prom_label){ "horizon_seconds", hz };
			for (int b = 0; b < 3; b++) {
				l[n + 2] = (struct prom_label){ "bound", bounds[b] };
				prom_sample(w, "presage_forecast", l, n + 3, v[b]);
			}
		}
	}
}

static void anomaly_samples(struct prom_writer *w, const struct cont_snap *c,
			    const struct ginsight *g)
{
	struct prom_label l[8];
	size_t n = prom_container_labels(c, l);

	for (int m = 0; m < SM__COUNT; m++) {
		l[n] = (struct prom_label){ "metric", series_metric_names[m] };
		prom_sample(w, "presage_anomaly_score", l, n + 1, g->anomaly[m]);
	}
	l[n] = (struct prom_label){ "metric", "all" };
	prom_sample(w, "presage_anomaly_score", l, n + 1, g->anomaly_overall);
}

/* Each container's group, for the per-container families below. */
static const struct ginsight *group_of(const struct insight *ins, const struct cont_snap *c)
{
	return engine_insight_find(ins, c->service[0] ? c->service : c->id);
}

static void collect_model(struct prom_writer *w, const struct snapshot *s, void *ctx)
{
	struct insight *ins = engine_insight_acquire();
	char name[96];

	prom_family(w, "presage_forecast", PROM_GAUGE,
		    "Forecast of the container's group at a horizon, with interval bounds.");
	for (size_t i = 0; s && i < s->n; i++) {
		const struct ginsight *g = group_of(ins, &s->c[i]);

		if (g && g->fc_valid)
			forecast_samples(w, &s->c[i], g);
	}
	prom_family(w, "presage_anomaly_score", PROM_GAUGE,
		    "Streaming anomaly score in [0,1] of the container's group per metric.");
	for (size_t i = 0; s && i < s->n; i++) {
		const struct ginsight *g = group_of(ins, &s->c[i]);

		if (g && g->steps > 0)
			anomaly_samples(w, &s->c[i], g);
	}
	for (int f = 0; f < FP_DIM; f++) {
		snprintf(name, sizeof(name), "presage_fingerprint_%s", fp_feature_names[f]);
		prom_family(w, name, PROM_GAUGE, "Behavioural fingerprint feature (docs/engine.md).");
		for (size_t i = 0; s && i < s->n; i++) {
			const struct ginsight *g = group_of(ins, &s->c[i]);
			struct prom_label l[8];

			if (g && g->has_fp)
				prom_sample(w, name, l, prom_container_labels(&s->c[i], l), g->fp.v[f]);
		}
	}
	engine_insight_release(ins);
}

static void collect_scaling(struct prom_writer *w, const struct snapshot *s, void *ctx)
{
	struct insight *ins = engine_insight_acquire();
	static const char *const actions[] = { "scale_up", "scale_down", "resize" };

	prom_family(w, "presage_desired_replicas", PROM_GAUGE,
		    "Replicas the scaling policy wants for the service.");
	for (size_t i = 0; ins && i < ins->n; i++) {
		const struct ginsight *g = &ins->g[i];
		struct prom_label l[2] = { { "service", g->key }, { "policy", g->policy } };

		if (g->has_decision)
			prom_sample(w, "presage_desired_replicas", l, 2, g->out.replicas);
	}
	prom_family(w, "presage_scaling_actions_total", PROM_COUNTER,
		    "Actions applied to the runtime, by action and deciding policy.");
	for (size_t i = 0; ins && i < ins->n; i++) {
		const struct ginsight *g = &ins->g[i];

		for (int a = 0; a < 3; a++) {
			struct prom_label l[3] = { { "service", g->key }, { "action", actions[a] },
						   { "reason", g->policy } };

			if (g->actions[a])
				prom_sample(w, "presage_scaling_actions_total", l, 3,
					    (double)g->actions[a]);
		}
	}
	engine_insight_release(ins);
}

void engine_ctl_register(void)
{
	ctl_register(CTL_CMD_FINGERPRINT, h_fingerprint, NULL);
	ctl_register(CTL_CMD_FORECAST, h_forecast, NULL);
	ctl_add_fields(CTL_CMD_EXPLAIN, explain_fields, NULL);
	ctl_add_fields(CTL_CMD_TOP, top_fields, NULL);
	prom_register_collector("engine_model", collect_model, NULL);
	prom_register_collector("engine_scaling", collect_scaling, NULL);
}

void engine_ctl_unregister(void)
{
	prom_unregister_collector("engine_scaling");
	prom_unregister_collector("engine_model");
	ctl_unregister(CTL_CMD_FORECAST);
	ctl_unregister(CTL_CMD_FINGERPRINT);
}
