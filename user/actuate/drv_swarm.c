/*
 * drv_swarm.c - the swarm actuation driver: scales a replicated Swarm
 * service through its service API.
 *
 * An update must carry the full spec and the version index it was read at;
 * if someone else updated the service in between, Docker answers 409 or a
 * 500 "update out of sequence", and the driver re-reads and retries.  After a
 * scale-up it waits (bounded) for the new tasks to run, which gives the
 * group's start-up time.  Resizing is done in place on the task containers
 * of this node, as the docker driver does (POST /containers/{id}/update):
 * changing the limits in the service spec would restart every task.
 */
#include "actuate/drv_docker.h"

#include "common/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UPDATE_RETRIES 5

extern const struct act_ops act_swarm_ops, act_docker_ops;

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int swarm_open(struct act_driver *d)
{
	struct docker_client *dc = docker_client_new(d->cfg.docker_host);

	if (!dc)
		return -errno;
	docker_client_set_timeouts(dc, 0, d->cfg.timeout_ms);
	d->priv = dc;
	return 0;
}

static void swarm_close(struct act_driver *d)
{
	docker_client_free(d->priv);
	d->priv = NULL;
}

/* GET /services/{name}; 0 (out->spec to free) or -errno, logged. */
static int get_service(struct act_driver *d, const char *name, struct docker_service *out)
{
	struct docker_response r;
	char path[256], *enc;
	int rc;

	memset(out, 0, sizeof(*out));
	enc = curl_easy_escape(NULL, name, 0);
	if (!enc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/services/%s", enc);
	curl_free(enc);
	rc = docker_request_sync(d->priv, "GET", path, NULL, d->cfg.timeout_ms, &r);
	if (!rc && docker_parse_service(r.body, r.len, out) < 0) {
		snprintf(r.errmsg, sizeof(r.errmsg), "docker %s: GET %s: answer is not a service",
			 docker_client_endpoint(d->priv), path);
		rc = -EPROTO;
	}
	if (rc == -ENOENT)
		log_warn("swarm service %s does not exist (%s)", name, r.errmsg);
	else if (rc < 0)
		log_warn("failed to read swarm service %s: %s", name, r.errmsg);
	docker_response_release(&r);
	return rc;
}

static int swarm_replicas(struct act_driver *d, const struct act_group *g, int *out)
{
	struct docker_service s;
	int rc = get_service(d, g->service, &s);

	if (rc < 0)
		return rc;
	free(s.spec);
	if (!s.replicated) {
		log_warn("swarm service %s is global: it cannot be scaled", g->service);
		return -EOPNOTSUPP;
	}
	if (s.replicas > ACT_MAX_REPLICAS * 100ULL) { /* garbage, not a count we could act on */
		log_warn("swarm service %s: implausible replica count %llu", g->service,
			 (unsigned long long)s.replicas);
		return -EPROTO;
	}
	*out = (int)s.replicas;
	return 0;
}

/* One update attempt: 0, -EAGAIN (version conflict: retry) or -errno. */
static int try_update(struct act_driver *d, const struct act_group *g, int to)
{
	struct docker_service s;
	struct docker_response r;
	char path[192], *spec;
	int rc = get_service(d, g->service, &s);

	if (rc < 0)
		return rc;
	if (!s.spec)
		return -EPROTO;
	spec = act_swarm_spec_with_replicas(s.spec, strlen(s.spec), to);
	free(s.spec);
	if (!spec)
		return -EOPNOTSUPP;
	snprintf(path, sizeof(path), "/services/%s/update?version=%llu", s.id,
		 (unsigned long long)s.version);
	rc = docker_request_sync(d->priv, "POST", path, spec, d->cfg.timeout_ms, &r);
	free(spec);
	if (rc < 0 && (r.status == 409 || (r.status == 500 && strstr(r.errmsg, "out of sequence")))) {
		log_debug("swarm service %s changed under us, retrying: %s", g->service, r.errmsg);
		rc = -EAGAIN;
	} else if (rc < 0) {
		log_warn("failed to update swarm service %s: %s", g->service, r.errmsg);
	}
	docker_response_release(&r);
	return rc;
}

/* Running tasks of the service; count or -errno. */
static int running_tasks(struct act_driver *d, const char *service)
{
	struct docker_response r;
	char filter[384], path[768], *enc;
	int n;

	snprintf(filter, sizeof(filter),
		 "{\"service\":[\"%s\"],\"desired-state\":[\"running\"]}", service);
	enc = curl_easy_escape(NULL, filter, 0);
	if (!enc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/tasks?filters=%s", enc);
	curl_free(enc);
	n = docker_request_sync(d->priv, "GET", path, NULL, d->cfg.timeout_ms, &r);
	if (!n)
		n = act_swarm_running_tasks(r.body, r.len);
	docker_response_release(&r);
	return n;
}

/* Wait (bounded) for `to` running tasks and record the start-up time. */
static void measure_startup(struct act_driver *d, const struct act_group *g, int to, double t0)
{
	double deadline = t0 + d->cfg.ready_timeout_s;
	int n;

	while (mono_now() < deadline) {
		n = running_tasks(d, g->service);
		if (n < 0)
			return;
		if (n >= to) {
			act_record_startup(d, g->service, mono_now() - t0);
			return;
		}
		usleep(100000);
	}
	log_warn("swarm service %s: %d replicas not all running after %d s", g->service, to,
		 d->cfg.ready_timeout_s);
}

static int swarm_scale(struct act_driver *d, const struct act_group *g, int from, int to)
{
	double t0 = mono_now();
	int i, rc = -EAGAIN;

	if (strpbrk(g->service, "\"\\/?#"))
		return -EINVAL;
	for (i = 0; i < UPDATE_RETRIES && rc == -EAGAIN; i++)
		rc = try_update(d, g, to);
	if (rc == -EAGAIN)
		log_warn("failed to update swarm service %s: still conflicting after %d attempts",
			 g->service, UPDATE_RETRIES);
	if (rc < 0)
		return rc;
	if (to > from)
		measure_startup(d, g, to, t0);
	return to;
}

int act_swarm_settings(struct act_driver *d, const char *service, char *name, size_t name_len,
		       struct ctr_settings *out)
{
	struct docker_service s;
	int rc;

	if (d->ops != &act_swarm_ops && d->ops != &act_docker_ops)
		return -EOPNOTSUPP;
	rc = get_service(d, service, &s);
	if (rc < 0)
		return rc;
	free(s.spec);
	if (!s.replicated)
		return -EOPNOTSUPP;
	ctr_labels_parse(s.name, s.labels, s.n_labels, out);
	if (name)
		snprintf(name, name_len, "%s", s.name);
	return 0;
}

int act_swarm_group(struct act_driver *d, const char *service, struct act_group *out)
{
	struct ctr_settings st;
	char name[SNAP_SERVICE_LEN];
	int rc = act_swarm_settings(d, service, name, sizeof(name), &st);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->service, sizeof(out->service), "%s", name);
	out->enabled = st.enabled;
	out->min = (st.has & CS_MIN) ? st.min : 1;
	out->max = (st.has & CS_MAX) ? st.max : 0;
	return 0;
}

/* In place on this node's task container (the priv is a docker client, as the docker driver's). */
static int swarm_resize(struct act_driver *d, const struct act_target *t,
			const struct act_resize *want, struct act_resize *prev)
{
	return act_docker_ops.resize(d, t, want, prev);
}

const struct act_ops act_swarm_ops = {
	.name = "swarm",
	.open = swarm_open,
	.close = swarm_close,
	.resize = swarm_resize,
	.replicas = swarm_replicas,
	.scale = swarm_scale,
};
