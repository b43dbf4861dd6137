/*
 * drv_docker.h - request bodies built by the docker and swarm drivers.
 *
 * Pure functions (JSON in, JSON out), exported so they are unit tested and
 * fuzzed apart from a daemon.  Results are heap strings the caller frees.
 */
#ifndef PRESAGE_DRV_DOCKER_H
#define PRESAGE_DRV_DOCKER_H

#include "actuate/act.h"
#include "runtime/docker.h"

#include <stddef.h>

/*
 * POST /containers/create body cloning the container described by an inspect
 * answer: image, command, entrypoint, env, working dir, user, labels (plus
 * presage.managed-by=presage), stop signal/timeout, and from HostConfig the
 * network mode, resource limits, ulimits, binds and capabilities.  NULL when
 * the inspect is not valid JSON or has no Config.Image.
 */
char *act_docker_clone_body(const char *inspect_json, size_t len);

/*
 * POST /containers/{id}/update body for r given the current limits cur:
 * NanoCpus, or CpuQuota/CpuPeriod when the container was created with a
 * quota (Docker refuses to mix them); Memory, with MemorySwap moved along
 * (keeping the swap allowance, or 2x memory when none was set, as `docker run
 * -m` does; Docker refuses memory above the swap limit); CpuShares.
 */
char *act_docker_update_body(const struct docker_container *cur, const struct act_resize *r);

/* Current limits of cur as a resize (0 = unlimited/default). */
void act_docker_current(const struct docker_container *cur, struct act_resize *out);

/*
 * Swarm service spec (Spec JSON) with Mode.Replicated.Replicas set to
 * replicas; NULL when spec is not a replicated service spec.
 */
char *act_swarm_spec_with_replicas(const char *spec, size_t len, int replicas);

/* Number of tasks in state "running" in a GET /tasks answer; -EINVAL on garbage. */
int act_swarm_running_tasks(const char *json, size_t len);

#endif
