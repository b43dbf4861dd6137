/*
 * cgpath.c - cgroup path -> container runtime and id; see cgpath.h.
 *
 * The path is walked component by component from the leaf up, so the
 * deepest component that names a container wins and a container's own
 * sub-cgroups ("init", "payload") still resolve to it.  Every rule needs a
 * full 64-hex id, which keeps ordinary slices and user cgroups from ever
 * being mistaken for containers.
 */
#include "containers/cgpath.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *const ctr_runtime_names[RT__COUNT] = {
	"cgroup", "docker", "containerd", "crio", "podman",
};

#define MAX_COMPONENTS 32
#define MAX_PATH       4096

struct comp {
	const char *s;
	size_t len;
};

static bool is_hex64(const char *s, size_t len)
{
	size_t i;

	if (len != CTR_ID_HEX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* "<prefix><64hex>" optionally followed by ".scope"; the id part or NULL. */
static const char *prefixed_id(const struct comp *c, const char *prefix)
{
	size_t pl = strlen(prefix), len = c->len;

	if (len > 6 && !memcmp(c->s + len - 6, ".scope", 6))
		len -= 6;
	if (len <= pl || memcmp(c->s, prefix, pl))
		return NULL;
	return is_hex64(c->s + pl, len - pl) ? c->s + pl : NULL;
}

static bool comp_is(const struct comp *c, const char *name)
{
	return c->len == strlen(name) && !memcmp(c->s, name, c->len);
}

static bool comp_starts(const struct comp *c, const char *prefix)
{
	size_t pl = strlen(prefix);

	return c->len >= pl && !memcmp(c->s, prefix, pl);
}

static size_t split(const char *path, struct comp *out)
{
	size_t n = 0;
	const char *p = path, *e;

	while (*p && n < MAX_COMPONENTS) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		out[n].s = p;
		out[n++].len = (size_t)(e - p);
		p = e;
	}
	return n;
}

/* Runtime of a bare 64-hex component, from the components above it. */
static enum ctr_runtime bare_owner(const struct comp *c, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++) {
		if (comp_is(&c[k], "docker"))
			return RT_DOCKER;
		if (comp_is(&c[k], "crio"))
			return RT_CRIO;
		if (comp_is(&c[k], "libpod_parent") || comp_starts(&c[k], "machine.slice"))
			return RT_PODMAN;
		if (comp_starts(&c[k], "kubepods") || comp_is(&c[k], "containerd"))
			return RT_CONTAINERD;
	}
	return RT_CGROUP;
}

/* Runtime and id named by component i, or RT_CGROUP. */
static enum ctr_runtime match_comp(const struct comp *c, size_t i, const char **id)
{
	static const struct {
		const char *prefix;
		enum ctr_runtime rt;
	} rules[] = {
		{ "docker-", RT_DOCKER },        { "cri-containerd-", RT_CONTAINERD },
		{ "crio-", RT_CRIO },            { "libpod-", RT_PODMAN },
	};
	size_t r;

	/* crio-conmon-<id>.scope (the monitor) fails the hex check: not a container. */
	for (r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		*id = prefixed_id(&c[i], rules[r].prefix);
		if (*id)
			return rules[r].rt;
	}
	if (is_hex64(c[i].s, c[i].len)) {
		*id = c[i].s;
		return bare_owner(c, i);
	}
	return RT_CGROUP;
}

enum ctr_runtime cgpath_parse(const char *path, char *id, size_t id_len)
{
	struct comp c[MAX_COMPONENTS];
	enum ctr_runtime rt;
	const char *hit;
	size_t n, i;

	if (id_len)
		id[0] = '\0';
	if (!path || !*path || strnlen(path, MAX_PATH) >= MAX_PATH)
		return RT_CGROUP;
	n = split(path, c);
	for (i = n; i-- > 0;) {
		rt = match_comp(c, i, &hit);
		if (rt == RT_CGROUP)
			continue;
		if (id_len > CTR_ID_HEX)
			snprintf(id, id_len, "%.*s", CTR_ID_HEX, hit);
		return rt;
	}
	return RT_CGROUP;
}
