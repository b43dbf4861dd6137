/*
 * cgpath.h - cgroup path -> container runtime and container id.
 *
 * Recognises the layouts the runtimes create under both cgroupfs and systemd
 * cgroup drivers:
 *   docker      /docker/<64hex>, /system.slice/docker-<64hex>.scope
 *   containerd  /kubepods.../cri-containerd-<id>.scope, /kubepods/.../pod<uid>/<id>,
 *               /containerd/<id> style paths of plain containerd namespaces
 *   crio        /kubepods.../crio-<id>.scope, /crio/<id>
 *   podman      /libpod-<id>.scope, /machine.slice/libpod-<id>.scope,
 *               /libpod_parent/libpod-<id>
 * A container's own sub-cgroups (e.g. "<scope>/init" under systemd) map to the
 * container.  Ids are 64 lowercase hex digits; anything else is not a
 * container (a plain cgroup, tracked by its path).
 */
#ifndef PRESAGE_CGPATH_H
#define PRESAGE_CGPATH_H

#include <stddef.h>

enum ctr_runtime {
	RT_CGROUP = 0, /* plain cgroup, no container */
	RT_DOCKER,
	RT_CONTAINERD,
	RT_CRIO,
	RT_PODMAN,
	RT__COUNT
};

/* "cgroup", "docker", "containerd", "crio", "podman". */
extern const char *const ctr_runtime_names[RT__COUNT];

#define CTR_ID_HEX 64

/*
 * Parse path (relative to the cgroup mount, e.g. "/docker/<id>").  Returns
 * the runtime, with the 64-hex id copied to id (id_len >= 65) for a
 * container; RT_CGROUP (id = "") for anything else, including NULL, empty,
 * over-long or garbage paths.  Never fails.
 */
enum ctr_runtime cgpath_parse(const char *path, char *id, size_t id_len);

#endif
