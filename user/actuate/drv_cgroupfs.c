/*
 * drv_cgroupfs.c - the cgroupfs actuation driver: CPU quota, CPU weight and
 * memory limit of plain cgroups, for hosts without a container runtime (or
 * runtimes whose API cannot update, such as Podman's compat API).
 *
 * It writes only to cgroups named in the config (exact relative paths, no
 * "..", no symlinks followed out of the mount): anything else is refused.
 * On cgroup v2 it writes cpu.max, cpu.weight and memory.max; on v1 (or a
 * hybrid host whose v2 tree has no controllers) cpu.cfs_period_us +
 * cpu.cfs_quota_us, cpu.shares and memory.limit_in_bytes.
 */
#include "actuate/act.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000

struct cgfs {
	char v2[256];      /* "" when absent */
	char v1_cpu[256];
	char v1_mem[256];
};

/* Is name one of the comma-separated options in opts? */
static bool has_opt(const char *opts, const char *name)
{
	size_t n = strlen(name);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}

/* Find the mount point of a cgroup2 fs (ctrl NULL), or of the v1 hierarchy with ctrl. */
static void find_mount(const char *ctrl, char *out, size_t len)
{
	char line[1024], mnt[512], fstype[32], opts[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
			continue;
		if ((!ctrl && !strcmp(fstype, "cgroup2")) ||
		    (ctrl && !strcmp(fstype, "cgroup") && has_opt(opts, ctrl))) {
			snprintf(out, len, "%s", mnt);
			break;
		}
	}
	fclose(f);
}

static int cgfs_open(struct act_driver *d)
{
	struct cgfs *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (d->cfg.cgroup_v2)
		snprintf(c->v2, sizeof(c->v2), "%s", d->cfg.cgroup_v2);
	else
		find_mount(NULL, c->v2, sizeof(c->v2));
	if (d->cfg.cgroup_v1_cpu)
		snprintf(c->v1_cpu, sizeof(c->v1_cpu), "%s", d->cfg.cgroup_v1_cpu);
	else
		find_mount("cpu", c->v1_cpu, sizeof(c->v1_cpu));
	if (d->cfg.cgroup_v1_mem)
		snprintf(c->v1_mem, sizeof(c->v1_mem), "%s", d->cfg.cgroup_v1_mem);
	else
		find_mount("memory", c->v1_mem, sizeof(c->v1_mem));
	d->priv = c;
	return 0;
}

static void cgfs_close(struct act_driver *d)
{
	free(d->priv);
	d->priv = NULL;
}

/* Is path one the config names, and well formed? */
static bool allowed(const struct act_driver *d, const char *path)
{
	size_t i;

	if (path[0] != '/' || strstr(path, "/..") || strstr(path, "//") || strchr(path, '\n'))
		return false;
	for (i = 0; i < d->cfg.n_cgroups; i++)
		if (!strcmp(d->cfg.cgroups[i], path))
			return true;
	return false;
}

/* Write s to root+cg+"/"+file; 0 or -errno. */
static int write_file(const char *root, const char *cg, const char *file, const char *s)
{
	char path[1024];
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), "%s%s/%s", root, cg, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		log_warn("failed to write \"%s\" to %s: %s", s, path, strerror(-err));
	return err;
}

static bool has_file(const char *root, const char *cg, const char *file)
{
	char path[1024];

	if (!root[0])
		return false;
	snprintf(path, sizeof(path), "%s%s/%s", root, cg, file);
	return access(path, F_OK) == 0;
}

/* Read one integer file (or "max" -> 0); 0 when unreadable. */
static int64_t read_num(const char *root, const char *cg, const char *file)
{
	char path[1024], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s%s/%s", root, cg, file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strncmp(buf, "max", 3) ? strtoll(buf, NULL, 10) : 0;
}

static int set_cpu(const struct cgfs *c, const char *cg, double cpus, struct act_resize *prev)
{
	char buf[64];
	long quota = lround(cpus * CFS_PERIOD_US);
	int rc;

	if (has_file(c->v2, cg, "cpu.max")) {
		long q = 0, p = 0;
		char path[1024];
		FILE *f;

		snprintf(path, sizeof(path), "%s%s/cpu.max", c->v2, cg);
		f = fopen(path, "re");
		if (f && fscanf(f, "%ld %ld", &q, &p) == 2 && q > 0 && p > 0)
			prev->cpus = (double)q / (double)p;
		if (f)
			fclose(f);
		snprintf(buf, sizeof(buf), "%ld %d", quota, CFS_PERIOD_US);
		return write_file(c->v2, cg, "cpu.max", buf);
	}
	if (!has_file(c->v1_cpu, cg, "cpu.cfs_quota_us"))
		return -ENOENT;
	if (read_num(c->v1_cpu, cg, "cpu.cfs_quota_us") > 0 && read_num(c->v1_cpu, cg, "cpu.cfs_period_us") > 0)
		prev->cpus = (double)read_num(c->v1_cpu, cg, "cpu.cfs_quota_us") /
			     (double)read_num(c->v1_cpu, cg, "cpu.cfs_period_us");
	snprintf(buf, sizeof(buf), "%d", CFS_PERIOD_US);
	rc = write_file(c->v1_cpu, cg, "cpu.cfs_period_us", buf);
	snprintf(buf, sizeof(buf), "%ld", quota);
	return rc ? rc : write_file(c->v1_cpu, cg, "cpu.cfs_quota_us", buf);
}

static int set_weight(const struct cgfs *c, const char *cg, unsigned int weight,
		      struct act_resize *prev)
{
	char buf[32];

	if (has_file(c->v2, cg, "cpu.weight")) {
		prev->cpu_weight = (unsigned int)read_num(c->v2, cg, "cpu.weight");
		snprintf(buf, sizeof(buf), "%u", weight);
		return write_file(c->v2, cg, "cpu.weight", buf);
	}
	if (!has_file(c->v1_cpu, cg, "cpu.shares"))
		return -ENOENT;
	prev->cpu_weight = act_shares_to_weight((unsigned int)read_num(c->v1_cpu, cg, "cpu.shares"));
	snprintf(buf, sizeof(buf), "%u", act_weight_to_shares(weight));
	return write_file(c->v1_cpu, cg, "cpu.shares", buf);
}

static int set_memory(const struct cgfs *c, const char *cg, int64_t mem, struct act_resize *prev)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)mem);
	if (has_file(c->v2, cg, "memory.max")) {
		prev->memory = read_num(c->v2, cg, "memory.max");
		return write_file(c->v2, cg, "memory.max", buf);
	}
	if (!has_file(c->v1_mem, cg, "memory.limit_in_bytes"))
		return -ENOENT;
	prev->memory = read_num(c->v1_mem, cg, "memory.limit_in_bytes");
	if (prev->memory >= (1LL << 62)) /* v1 reports "unlimited" as a huge number */
		prev->memory = 0;
	/* v1 refuses a memory limit above memory.memsw.limit_in_bytes: raise that first. */
	if (has_file(c->v1_mem, cg, "memory.memsw.limit_in_bytes") &&
	    read_num(c->v1_mem, cg, "memory.memsw.limit_in_bytes") < mem)
		write_file(c->v1_mem, cg, "memory.memsw.limit_in_bytes", buf);
	return write_file(c->v1_mem, cg, "memory.limit_in_bytes", buf);
}

static int cgfs_resize(struct act_driver *d, const struct act_target *t,
		       const struct act_resize *want, struct act_resize *prev)
{
	const struct cgfs *c = d->priv;
	int rc = 0;

	if (!allowed(d, t->cgroup)) {
		LOG_RATELIMITED(LOG_WARN, "refusing to write cgroup %s: not named in the config",
				t->cgroup);
		return -EPERM;
	}
	if (want->cpus > 0)
		rc = set_cpu(c, t->cgroup, want->cpus, prev);
	if (!rc && want->cpu_weight > 0)
		rc = set_weight(c, t->cgroup, want->cpu_weight, prev);
	if (!rc && want->memory > 0)
		rc = set_memory(c, t->cgroup, want->memory, prev);
	if (rc == -ENOENT)
		log_warn("cannot resize cgroup %s: it no longer exists or lacks the controller",
			 t->cgroup);
	return rc;
}

const struct act_ops act_cgroupfs_ops = {
	.name = "cgroupfs",
	.open = cgfs_open,
	.close = cgfs_close,
	.resize = cgfs_resize,
};
