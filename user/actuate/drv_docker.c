/*
 * drv_docker.c - the docker actuation driver: in-place resize through
 * POST /containers/{id}/update, and horizontal scaling of plain-Docker
 * groups by cloning a member (scale up) and stopping then removing
 * presage-created replicas, newest first (scale down).
 *
 * A group is the set of containers labelled presage.service=NAME (else
 * com.docker.compose.service=NAME); its replica count is the number running.
 * A group that is a Swarm service on the same endpoint is handed to the
 * swarm driver's ops, so the default driver also scales Swarm services.
 * Only containers labelled presage.managed-by=presage are ever removed, so a
 * user's own containers survive any scale-down.  A scale-up that fails part
 * way removes every container it created before returning the error.
 */
#include "actuate/drv_docker.h"

#include "common/log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_MEMBERS 256

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int docker_open(struct act_driver *d)
{
	struct docker_client *dc = docker_client_new(d->cfg.docker_host);

	if (!dc)
		return -errno;
	docker_client_set_timeouts(dc, 0, d->cfg.timeout_ms);
	d->priv = dc;
	return 0;
}

static void docker_close(struct act_driver *d)
{
	docker_client_free(d->priv);
	d->priv = NULL;
}

/* Blocking call with the driver's timeout plus extra_ms; 0 or -errno, r filled. */
static int call(struct act_driver *d, const char *method, const char *path, const char *body,
		long extra_ms, struct docker_response *r)
{
	return docker_request_sync(d->priv, method, path, body, d->cfg.timeout_ms + extra_ms, r);
}

/* Inspect id into out; 0 or -errno (logged by the caller). */
static int inspect(struct act_driver *d, const char *id, struct docker_container *out,
		   struct docker_response *r)
{
	char path[160];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	rc = call(d, "GET", path, NULL, 0, r);
	if (!rc && docker_parse_inspect(r->body, r->len, out) < 0) {
		snprintf(r->errmsg, sizeof(r->errmsg), "docker %s: GET %s: answer is not valid JSON",
			 docker_client_endpoint(d->priv), path);
		rc = -EPROTO;
	}
	return rc;
}

static void warn_gone_or_failed(const char *what, const char *name, int rc, const char *errmsg)
{
	if (rc == -ENOENT)
		log_warn("cannot %s %s: the container no longer exists (%s)", what, name, errmsg);
	else
		log_warn("failed to %s %s: %s", what, name, errmsg);
}

static int docker_resize(struct act_driver *d, const struct act_target *t,
			 const struct act_resize *want, struct act_resize *prev)
{
	struct docker_response r;
	struct docker_container cur;
	char path[160], *body;
	int rc;

	rc = inspect(d, t->id, &cur, &r);
	if (rc < 0) {
		warn_gone_or_failed("resize", t->name, rc, r.errmsg);
		docker_response_release(&r);
		return rc;
	}
	docker_response_release(&r);
	act_docker_current(&cur, prev);
	body = act_docker_update_body(&cur, want);
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/%s/update", cur.id);
	rc = call(d, "POST", path, body, 0, &r);
	if (rc < 0)
		warn_gone_or_failed("resize", t->name, rc, r.errmsg);
	docker_response_release(&r);
	free(body);
	return rc;
}

/* URL-encoded filters={"label":["KEY=VALUE"]} for GET /containers/json. */
static int label_filter_path(char *buf, size_t len, const char *key, const char *value)
{
	char filter[512];
	char *enc;

	snprintf(filter, sizeof(filter), "{\"label\":[\"%s=%s\"]}", key, value);
	if (strpbrk(value, "\"\\"))
		return -EINVAL; /* would break out of the JSON string */
	enc = curl_easy_escape(NULL, filter, 0);
	if (!enc)
		return -ENOMEM;
	snprintf(buf, len, "/containers/json?all=1&filters=%s", enc);
	curl_free(enc);
	return 0;
}

/* Members of group g (any state) into out; count or -errno. */
static int list_members(struct act_driver *d, const char *service, struct docker_summary *out,
			size_t max)
{
	static const char *const keys[] = { "presage.service", "com.docker.compose.service" };
	struct docker_response r;
	char path[768];
	int rc = 0, n = 0;
	size_t k;

	for (k = 0; k < 2 && n == 0; k++) {
		rc = label_filter_path(path, sizeof(path), keys[k], service);
		if (rc < 0)
			return rc;
		rc = call(d, "GET", path, NULL, 0, &r);
		n = rc < 0 ? rc : docker_parse_list(r.body, r.len, out, max);
		if (rc < 0)
			log_warn("failed to list the containers of service %s: %s", service, r.errmsg);
		else if (n < 0)
			log_warn("docker %s: container list is not valid JSON",
				 docker_client_endpoint(d->priv));
		docker_response_release(&r);
		if (n < 0)
			return rc < 0 ? rc : -EPROTO;
		/* Compose names services per project: "web" of two projects is not one group. */
		for (int i = 1; k == 1 && i < n; i++) {
			if (strcmp(out[i].compose_project, out[0].compose_project)) {
				log_warn("service %s: compose projects '%s' and '%s' both have it; "
					 "label the containers presage.service to tell them apart",
					 service, out[0].compose_project, out[i].compose_project);
				return -ENOTUNIQ;
			}
		}
	}
	return n;
}

extern const struct act_ops act_swarm_ops;

/*
 * Is the group a Swarm service on this endpoint?  Then the swarm driver's
 * ops (which use the same client) scale it: cloning a task container would
 * make a replica Swarm does not know.  1 yes, 0 no (404, or 503 from a
 * daemon that is not a swarm manager), -errno when the daemon could not
 * say (timeout, 500, leaderless manager): the action fails rather than
 * guess.
 */
static int swarm_service(struct act_driver *d, const char *service)
{
	struct docker_response r;
	char path[256], *enc;
	int rc;

	enc = curl_easy_escape(NULL, service, 0);
	if (!enc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/services/%s", enc);
	curl_free(enc);
	rc = call(d, "GET", path, NULL, 0, &r);
	if (rc < 0 && r.status != 404 && r.status != 503)
		log_warn("cannot tell whether %s is a swarm service: %s", service, r.errmsg);
	docker_response_release(&r);
	if (rc == 0)
		return 1;
	return r.status == 404 || r.status == 503 ? 0 : rc;
}

static int docker_replicas(struct act_driver *d, const struct act_group *g, int *out)
{
	struct docker_summary *m = calloc(MAX_MEMBERS, sizeof(*m));
	int n, i, running = 0, sw;

	if (!m)
		return -ENOMEM;
	sw = swarm_service(d, g->service);
	if (sw != 0) {
		free(m);
		return sw > 0 ? act_swarm_ops.replicas(d, g, out) : sw;
	}
	n = list_members(d, g->service, m, MAX_MEMBERS);
	for (i = 0; i < n; i++)
		running += m[i].running;
	free(m);
	if (n < 0)
		return n;
	*out = running;
	return 0;
}

/* Remove id (force: it may be running); failures are logged, not returned. */
static void remove_container(struct act_driver *d, const char *id, const char *name)
{
	struct docker_response r;
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	rc = call(d, "DELETE", path, NULL, 0, &r);
	if (rc < 0 && rc != -ENOENT)
		log_warn("failed to remove container %s: %s", name, r.errmsg);
	docker_response_release(&r);
}

/* Wait until id runs (or ready_timeout_s); 0, -ETIMEDOUT or the inspect error. */
static int wait_running(struct act_driver *d, const char *id, const char *name)
{
	double deadline = mono_now() + d->cfg.ready_timeout_s;
	struct docker_container c;
	struct docker_response r;
	int rc;

	for (;;) {
		rc = inspect(d, id, &c, &r);
		if (rc < 0)
			log_warn("failed to inspect new replica %s: %s", name, r.errmsg);
		docker_response_release(&r);
		if (rc < 0)
			return rc;
		if (c.running)
			return 0;
		if (!strcmp(c.status, "exited") || !strcmp(c.status, "dead")) {
			log_warn("new replica %s exited right after start", name);
			return -ECHILD;
		}
		if (mono_now() > deadline) {
			log_warn("new replica %s not running after %d s", name, d->cfg.ready_timeout_s);
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
}

/*
 * Docker's container name syntax, [a-zA-Z0-9][a-zA-Z0-9_.-]*: a clone's
 * name comes from the service name, which a container's own label may set,
 * and goes into a URL.
 */
static bool docker_name_ok(const char *name)
{
	if (!isalnum((unsigned char)name[0]))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

/*
 * A create whose answer was lost (timeout, cut connection) or unreadable
 * may still have made the container: remove it by name, but only if it
 * carries presage's mark (the name was free when chosen).
 */
static void remove_lost_clone(struct act_driver *d, const char *name)
{
	struct docker_container c;
	struct docker_response r;
	const char *mark;
	int rc = inspect(d, name, &c, &r);

	docker_response_release(&r);
	if (rc < 0)
		return;
	mark = docker_label_get(&c, ACT_MANAGED_LABEL);
	if (mark && !strcmp(mark, ACT_MANAGED_VALUE) && !strcmp(c.name, name)) {
		log_warn("removing replica %s, created although its create call failed", name);
		remove_container(d, c.id, name);
	}
}

/* Create and start one clone named name; its id into id_out.  0 or -errno. */
static int start_clone(struct act_driver *d, const char *body, const char *name, char *id_out,
		       size_t id_len)
{
	struct docker_response r;
	struct docker_container c;
	char path[256];
	int rc;

	if (!docker_name_ok(name)) {
		log_warn("cannot create replica '%.64s': not a valid container name "
			 "([a-zA-Z0-9][a-zA-Z0-9_.-]*)", name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/containers/create?name=%s", name);
	rc = call(d, "POST", path, body, 0, &r);
	if (rc < 0) {
		bool answered = r.status != 0;

		log_warn("failed to create replica %s: %s", name, r.errmsg);
		docker_response_release(&r);
		if (!answered)
			remove_lost_clone(d, name);
		return rc;
	}
	/* The create answer is {"Id": ..., "Warnings": [...]}: inspect's parser reads Id. */
	rc = docker_parse_inspect(r.body, r.len, &c);
	docker_response_release(&r);
	if (rc < 0) {
		log_warn("docker %s: the answer to creating replica %s is not valid JSON",
			 docker_client_endpoint(d->priv), name);
		remove_lost_clone(d, name);
		return -EPROTO;
	}
	snprintf(id_out, id_len, "%s", c.id);
	snprintf(path, sizeof(path), "/containers/%s/start", c.id);
	rc = call(d, "POST", path, NULL, 0, &r);
	if (rc < 0)
		log_warn("failed to start replica %s: %s", name, r.errmsg);
	docker_response_release(&r);
	return rc < 0 ? rc : wait_running(d, c.id, name);
}

/* Is name taken by any container of the daemon? (list of all names in all) */
static bool name_taken(const struct docker_summary *all, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(all[i].name, name))
			return true;
	return false;
}

/* Next free "SERVICE-<k>" (k from *next upward) into name. */
static void next_name(const struct docker_summary *all, int n, const char *service, int *next,
		      char *name, size_t len)
{
	do {
		snprintf(name, len, "%s-%d", service, (*next)++);
	} while (name_taken(all, n, name));
}

/* The template: the oldest running member, else the oldest member; NULL if none. */
static const struct docker_summary *pick_template(const struct docker_summary *m, int n)
{
	const struct docker_summary *best = NULL;
	int i;

	for (i = 0; i < n; i++) {
		if (!best || (m[i].running && !best->running) ||
		    (m[i].running == best->running && m[i].created < best->created))
			best = &m[i];
	}
	return best;
}

/* Clone body from the group's template member; NULL (logged) on failure. */
static char *template_body(struct act_driver *d, const struct act_group *g,
			   const struct docker_summary *m, int n)
{
	const struct docker_summary *t = pick_template(m, n);
	struct docker_response r;
	char path[160], *body;

	if (!t) {
		log_warn("cannot scale up service %s: it has no container to clone", g->service);
		return NULL;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", t->id);
	if (call(d, "GET", path, NULL, 0, &r) < 0) {
		log_warn("failed to inspect %s to clone it: %s", t->name, r.errmsg);
		docker_response_release(&r);
		return NULL;
	}
	body = act_docker_clone_body(r.body, r.len);
	if (!body)
		log_warn("cannot clone %s: its inspect answer has no usable Config", t->name);
	docker_response_release(&r);
	return body;
}

/* Every container of the daemon (for name collisions); count or -errno. */
static int list_all(struct act_driver *d, struct docker_summary *out, size_t max)
{
	struct docker_response r;
	int rc = call(d, "GET", "/containers/json?all=1", NULL, 0, &r);

	if (!rc)
		rc = docker_parse_list(r.body, r.len, out, max);
	else
		log_warn("failed to list containers: %s", r.errmsg);
	docker_response_release(&r);
	return rc;
}

static int scale_up(struct act_driver *d, const struct act_group *g, const struct docker_summary *m,
		    int n, int count)
{
	struct docker_summary *all = calloc(MAX_MEMBERS * 4, sizeof(*all));
	char (*made)[DOCKER_ID_LEN] = calloc((size_t)count, sizeof(*made));
	char name[SNAP_SERVICE_LEN + 16], *body = NULL;
	int i, rc = -ENOMEM, n_all, next = 1;
	double t0;

	if (!all || !made || !(body = template_body(d, g, m, n)))
		goto out;
	n_all = rc = list_all(d, all, MAX_MEMBERS * 4);
	for (i = 0; rc >= 0 && i < count; i++) {
		next_name(all, n_all, g->service, &next, name, sizeof(name));
		t0 = mono_now();
		rc = start_clone(d, body, name, made[i], sizeof(made[i]));
		if (rc >= 0)
			act_record_startup(d, g->service, mono_now() - t0);
	}
	if (rc < 0) /* no partial state: undo every replica made in this call */
		for (i = 0; i < count; i++)
			if (made[i][0])
				remove_container(d, made[i], made[i]);
out:
	free(body);
	free(made);
	free(all);
	return rc < 0 ? rc : 0;
}

static int cmp_newest_first(const void *a, const void *b)
{
	const struct docker_summary *x = a, *y = b;

	return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

/* Graceful stop (SIGTERM, stop timeout, SIGKILL) then removal of one replica. */
static int stop_and_remove(struct act_driver *d, const struct docker_summary *s)
{
	struct docker_response r;
	char path[192];
	int rc;

	snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", s->id, d->cfg.stop_timeout_s);
	rc = call(d, "POST", path, NULL, d->cfg.stop_timeout_s * 1000L, &r);
	if (rc < 0 && rc != -ENOENT)
		log_warn("failed to stop replica %s: %s", s->name, r.errmsg);
	docker_response_release(&r);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	remove_container(d, s->id, s->name);
	return 0;
}

static int scale_down(struct act_driver *d, const struct act_group *g, struct docker_summary *m,
		      int n, int count)
{
	int i, k = 0, removed = 0, rc = 0;

	/* Candidates: running replicas presage created, newest first. */
	for (i = 0; i < n; i++)
		if (m[i].running && m[i].managed)
			m[k++] = m[i];
	qsort(m, (size_t)k, sizeof(*m), cmp_newest_first);
	if (k < count)
		log_warn("service %s: only %d of the %d replicas to remove were created by presage; "
			 "containers without %s=%s are never removed", g->service, k, count,
			 ACT_MANAGED_LABEL, ACT_MANAGED_VALUE);
	for (i = 0; i < k && removed < count; i++) {
		rc = stop_and_remove(d, &m[i]);
		if (rc < 0)
			break;
		removed++;
	}
	if (removed == 0 && count > 0)
		return rc < 0 ? rc : -EPERM;
	return removed;
}

static int docker_scale(struct act_driver *d, const struct act_group *g, int from, int to)
{
	struct docker_summary *m = calloc(MAX_MEMBERS, sizeof(*m));
	int n, rc, sw;

	if (!m)
		return -ENOMEM;
	sw = swarm_service(d, g->service);
	if (sw != 0) {
		free(m);
		return sw > 0 ? act_swarm_ops.scale(d, g, from, to) : sw;
	}
	n = list_members(d, g->service, m, MAX_MEMBERS);
	if (n < 0)
		rc = n;
	else if (to > from)
		rc = scale_up(d, g, m, n, to - from);
	else
		rc = scale_down(d, g, m, n, from - to);
	free(m);
	if (rc < 0)
		return rc;
	return to > from ? to : from - rc;
}

const struct act_ops act_docker_ops = {
	.name = "docker",
	.open = docker_open,
	.close = docker_close,
	.resize = docker_resize,
	.replicas = docker_replicas,
	.scale = docker_scale,
};
