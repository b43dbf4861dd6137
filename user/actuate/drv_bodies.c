/*
 * drv_bodies.c - JSON request bodies for the docker and swarm drivers; see
 * drv_docker.h.  Values are copied out of the daemon's own answers with
 * cJSON, so whatever the daemon reported is sent back verbatim: a clone gets
 * exactly the configuration of its template.
 */
#include "actuate/drv_docker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Copy the named members of src that exist into dst. */
static int copy_keys(cJSON *dst, const cJSON *src, const char *const *keys)
{
	const cJSON *v;
	cJSON *dup;

	for (; *keys; keys++) {
		v = cJSON_GetObjectItemCaseSensitive(src, *keys);
		if (!v || cJSON_IsNull(v))
			continue;
		dup = cJSON_Duplicate(v, 1);
		if (!dup || !cJSON_AddItemToObject(dst, *keys, dup)) {
			cJSON_Delete(dup);
			return -ENOMEM;
		}
	}
	return 0;
}

static const char *const config_keys[] = {
	"Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "StopSignal", "StopTimeout",
	"Tty", "OpenStdin", "ExposedPorts", "Healthcheck", NULL,
};

/* PortBindings are left out: a clone cannot bind the same host ports. */
static const char *const host_keys[] = {
	"NetworkMode", "NanoCpus", "CpuQuota", "CpuPeriod", "CpuShares", "CpusetCpus", "Memory",
	"MemorySwap", "MemoryReservation", "PidsLimit", "Ulimits", "Binds", "CapAdd", "CapDrop",
	"Init", "ShmSize", "Tmpfs", "SecurityOpt", "ReadonlyRootfs", "LogConfig", NULL,
};

/* Labels of the template plus the managed-by mark. */
static int clone_labels(cJSON *body, const cJSON *cfg)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
	cJSON *labels = cJSON_IsObject(src) ? cJSON_Duplicate(src, 1) : cJSON_CreateObject();

	if (!labels)
		return -ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(labels, ACT_MANAGED_LABEL);
	if (!cJSON_AddStringToObject(labels, ACT_MANAGED_LABEL, ACT_MANAGED_VALUE) ||
	    !cJSON_AddItemToObject(body, "Labels", labels)) {
		cJSON_Delete(labels);
		return -ENOMEM;
	}
	return 0;
}

char *act_docker_clone_body(const char *inspect_json, size_t len)
{
	cJSON *root = inspect_json && len ? cJSON_ParseWithLength(inspect_json, len) : NULL;
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "Config");
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(root, "HostConfig");
	cJSON *body = NULL, *host = NULL;
	char *out = NULL;

	if (!cJSON_IsObject(cfg) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "Image")))
		goto out;
	body = cJSON_CreateObject();
	host = cJSON_CreateObject();
	if (!body || !host || copy_keys(body, cfg, config_keys) < 0 || clone_labels(body, cfg) < 0)
		goto out;
	if (cJSON_IsObject(hc) && copy_keys(host, hc, host_keys) < 0)
		goto out;
	if (!cJSON_AddItemToObject(body, "HostConfig", host))
		goto out;
	host = NULL;
	out = cJSON_PrintUnformatted(body);
out:
	cJSON_Delete(host);
	cJSON_Delete(body);
	cJSON_Delete(root);
	return out;
}

void act_docker_current(const struct docker_container *cur, struct act_resize *out)
{
	memset(out, 0, sizeof(*out));
	if (cur->nano_cpus > 0)
		out->cpus = (double)cur->nano_cpus / 1e9;
	else if (cur->cpu_quota > 0)
		out->cpus = (double)cur->cpu_quota / (double)(cur->cpu_period > 0 ? cur->cpu_period :
							    100000);
	out->memory = cur->memory > 0 ? cur->memory : 0;
	out->cpu_weight = cur->cpu_shares > 0 ? act_shares_to_weight((unsigned int)cur->cpu_shares) : 0;
}

static int add_cpu(cJSON *body, const struct docker_container *cur, double cpus)
{
	double period;

	if (cur->cpu_quota > 0 || cur->cpu_period > 0) {
		period = cur->cpu_period > 0 ? (double)cur->cpu_period : 100000.0;
		if (!cJSON_AddNumberToObject(body, "CpuPeriod", period) ||
		    !cJSON_AddNumberToObject(body, "CpuQuota", round(cpus * period)))
			return -ENOMEM;
		return 0;
	}
	return cJSON_AddNumberToObject(body, "NanoCpus", round(cpus * 1e9)) ? 0 : -ENOMEM;
}

static int add_memory(cJSON *body, const struct docker_container *cur, int64_t mem)
{
	if (!cJSON_AddNumberToObject(body, "Memory", (double)mem))
		return -ENOMEM;
	if (cur->memory_swap == -1)
		return cJSON_AddNumberToObject(body, "MemorySwap", -1) ? 0 : -ENOMEM;
	if (cur->memory_swap > 0) {
		/* Keep the swap allowance the container had on top of its memory. */
		int64_t extra = cur->memory > 0 && cur->memory_swap > cur->memory ?
					cur->memory_swap - cur->memory : 0;
		/* saturated: both come from outside (bounds, the daemon's answer) */
		int64_t swap = extra > INT64_MAX - mem ? INT64_MAX : mem + extra;

		return cJSON_AddNumberToObject(body, "MemorySwap", (double)swap) ? 0 : -ENOMEM;
	}
	/*
	 * No swap limit yet: Docker refuses a memory limit alone here ("should be
	 * smaller than already set memoryswap limit"); use what `docker run -m`
	 * would have set, twice the memory.
	 */
	return cJSON_AddNumberToObject(body, "MemorySwap", 2.0 * (double)mem) ? 0 : -ENOMEM;
}

char *act_docker_update_body(const struct docker_container *cur, const struct act_resize *r)
{
	cJSON *body = cJSON_CreateObject();
	char *out = NULL;
	int rc = 0;

	if (!body)
		return NULL;
	if (r->cpus > 0)
		rc = add_cpu(body, cur, r->cpus);
	if (!rc && r->memory > 0)
		rc = add_memory(body, cur, r->memory);
	if (!rc && r->cpu_weight > 0 &&
	    !cJSON_AddNumberToObject(body, "CpuShares", act_weight_to_shares(r->cpu_weight)))
		rc = -ENOMEM;
	if (!rc)
		out = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	return out;
}

char *act_swarm_spec_with_replicas(const char *spec, size_t len, int replicas)
{
	cJSON *root = spec && len ? cJSON_ParseWithLength(spec, len) : NULL;
	cJSON *mode = cJSON_GetObjectItemCaseSensitive(root, "Mode");
	cJSON *repl = cJSON_GetObjectItemCaseSensitive(mode, "Replicated");
	char *out = NULL;

	if (cJSON_IsObject(repl) && replicas >= 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(repl, "Replicas");
		if (cJSON_AddNumberToObject(repl, "Replicas", replicas))
			out = cJSON_PrintUnformatted(root);
	}
	cJSON_Delete(root);
	return out;
}

int act_swarm_running_tasks(const char *json, size_t len)
{
	cJSON *root = json && len ? cJSON_ParseWithLength(json, len) : NULL;
	const cJSON *t, *status, *state;
	int n = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	cJSON_ArrayForEach(t, root) {
		status = cJSON_GetObjectItemCaseSensitive(t, "Status");
		state = cJSON_GetObjectItemCaseSensitive(status, "State");
		if (cJSON_IsString(state) && !strcmp(state->valuestring, "running"))
			n++;
	}
	cJSON_Delete(root);
	return n;
}
