/*
 * cgfs.c - cgroup mounts from mountinfo and gauges from cgroup files (v1+v2).
 *
 * Cgroup files report size 0, so each is read with one read() into a small
 * buffer.  A cgroup can vanish between any two reads: ENOENT is normal and
 * never logged here.
 */
#include "telemetry/cgfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGFS_MAX_V1 16
#define CGFS_MAX_DEPTH 32
/* v1 reports "no limit" as PAGE_COUNTER_MAX pages, just under 2^63. */
#define CGFS_V1_UNLIMITED (1ULL << 62)

struct cgfs_v1 {
	char opts[256]; /* super options: "rw,cpu,cpuacct" */
	char dir[PATH_MAX];
};

struct cgfs {
	char v2[PATH_MAX];
	int nv1;
	struct cgfs_v1 v1[CGFS_MAX_V1];
};

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* One mountinfo line: record it when it is a cgroup mount. */
static void parse_mount_line(struct cgfs *c, char *line)
{
	char *save = NULL, *tok, *mnt = NULL, *fstype = NULL, *opts = NULL;
	int field = 0, after_sep = -1;

	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), field++) {
		if (field == 4)
			mnt = tok;
		if (after_sep < 0 && field >= 6 && strcmp(tok, "-") == 0) {
			after_sep = 0;
			continue;
		}
		if (after_sep >= 0) {
			if (after_sep == 0)
				fstype = tok;
			else if (after_sep == 2)
				opts = tok;
			after_sep++;
		}
	}
	if (!mnt || !fstype)
		return;
	unescape(mnt);
	if (strcmp(fstype, "cgroup2") == 0 && !c->v2[0]) {
		snprintf(c->v2, sizeof(c->v2), "%s", mnt);
	} else if (strcmp(fstype, "cgroup") == 0 && opts && c->nv1 < CGFS_MAX_V1) {
		snprintf(c->v1[c->nv1].opts, sizeof(c->v1[0].opts), "%s", opts);
		snprintf(c->v1[c->nv1].dir, sizeof(c->v1[0].dir), "%s", mnt);
		c->nv1++;
	}
}

struct cgfs *cgfs_new(const char *mountinfo)
{
	const char *path = mountinfo ? mountinfo : "/proc/self/mountinfo";
	struct cgfs *c;
	char line[4096];
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f))
		parse_mount_line(c, line);
	fclose(f);
	if (!c->v2[0] && c->nv1 == 0) {
		free(c);
		errno = ENOENT;
		return NULL;
	}
	return c;
}

void cgfs_free(struct cgfs *c)
{
	free(c);
}

const char *cgfs_v2_root(const struct cgfs *c)
{
	return c->v2[0] ? c->v2 : NULL;
}

int cgfs_open_v2_root(const char *mountinfo)
{
	struct cgfs *c = cgfs_new(mountinfo);
	const char *root = c ? cgfs_v2_root(c) : NULL;
	int fd = root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	cgfs_free(c);
	return fd;
}

const char *cgfs_v1_dir(const struct cgfs *c, const char *ctrl)
{
	size_t n = strlen(ctrl);
	int i;

	for (i = 0; i < c->nv1; i++) {
		const char *o = c->v1[i].opts;

		while (o && *o) {
			if (strncmp(o, ctrl, n) == 0 && (o[n] == ',' || o[n] == '\0'))
				return c->v1[i].dir;
			o = strchr(o, ',');
			o = o ? o + 1 : NULL;
		}
	}
	return NULL;
}

bool cgfs_is_hybrid(const struct cgfs *c)
{
	return c->nv1 > 0;
}

static const char *v2_or_null(const struct cgfs *c)
{
	return cgfs_v2_root(c);
}

/* Read base/rel/file into buf (NUL-terminated); bytes read or -errno. */
static ssize_t read_cg_file(const char *base, const char *rel, const char *file, char *buf,
			    size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (!base)
		return -ENOENT;
	if (snprintf(path, sizeof(path), "%s%s/%s", base, strcmp(rel, "/") ? rel : "", file) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* Single unsigned number in a file; "max" gives -ERANGE. */
static int read_u64(const char *base, const char *rel, const char *file, uint64_t *out)
{
	char buf[64], *end;
	ssize_t n = read_cg_file(base, rel, file, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (strncmp(buf, "max", 3) == 0)
		return -ERANGE;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

int cgfs_parse_keyed(const char *text, const char *key, uint64_t *out)
{
	size_t n = strlen(key);
	const char *p = text;
	char *end;

	while (p && *p) {
		if (strncmp(p, key, n) == 0 && p[n] == ' ') {
			errno = 0;
			*out = strtoull(p + n + 1, &end, 10);
			return errno || end == p + n + 1 ? -EINVAL : 0;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -ENOENT;
}

int cgfs_parse_psi_some10(const char *text, double *out)
{
	const char *p;
	char *end;
	double v;

	if (strncmp(text, "some ", 5) != 0)
		return -EINVAL;
	p = strstr(text, "avg10=");
	if (!p)
		return -EINVAL;
	v = strtod(p + 6, &end);
	if (end == p + 6 || !(v >= 0.0 && v <= 100.0))
		return -EINVAL;
	*out = v;
	return 0;
}

/* Keyed value from a file; 0 or -errno. */
static int read_keyed(const char *base, const char *rel, const char *file, const char *key,
		      uint64_t *out)
{
	char buf[8192];
	ssize_t n = read_cg_file(base, rel, file, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return cgfs_parse_keyed(buf, key, out);
}

static bool cg_dir_exists(const char *base, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	if (!base)
		return false;
	snprintf(path, sizeof(path), "%s%s", base, strcmp(rel, "/") ? rel : "");
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Memory gauges: v1 memory controller when mounted, else v2 files. */
static void read_memory(const struct cgfs *c, const char *rel, struct cgfs_gauges *g)
{
	const char *v1 = cgfs_v1_dir(c, "memory");
	uint64_t usage, inactive, limit;
	int v1ok = v1 && cg_dir_exists(v1, rel);
	const char *base = v1ok ? v1 : v2_or_null(c);

	if (read_u64(base, rel, v1ok ? "memory.usage_in_bytes" : "memory.current", &usage))
		return;
	g->mem_usage_bytes = usage;
	g->have |= CGFS_HAVE_MEM_USAGE;
	if (!read_keyed(base, rel, "memory.stat", v1ok ? "total_inactive_file" : "inactive_file",
			&inactive)) {
		g->mem_working_set_bytes = usage > inactive ? usage - inactive : 0;
		g->have |= CGFS_HAVE_MEM_WSET;
	}
	if (!read_u64(base, rel, v1ok ? "memory.limit_in_bytes" : "memory.max", &limit) &&
	    limit < CGFS_V1_UNLIMITED) {
		g->mem_limit_bytes = limit;
		g->have |= CGFS_HAVE_MEM_LIMIT;
	}
}

/* CPU usage and throttling: v1 cpuacct/cpu controllers, else v2 cpu.stat. */
static void read_cpu(const struct cgfs *c, const char *rel, struct cgfs_gauges *g)
{
	const char *acct = cgfs_v1_dir(c, "cpuacct"), *cpu = cgfs_v1_dir(c, "cpu");
	uint64_t v;

	if (acct && !read_u64(acct, rel, "cpuacct.usage", &v)) {
		g->cpu_usage_ns = v;
		g->have |= CGFS_HAVE_CPU_USAGE;
	} else if (!read_keyed(v2_or_null(c), rel, "cpu.stat", "usage_usec", &v)) {
		g->cpu_usage_ns = v * 1000;
		g->have |= CGFS_HAVE_CPU_USAGE;
	}
	if (cpu && !read_keyed(cpu, rel, "cpu.stat", "throttled_time", &v)) {
		g->cpu_throttled_ns = v;
		g->have |= CGFS_HAVE_CPU_THROTTLED;
	} else if (!read_keyed(v2_or_null(c), rel, "cpu.stat", "throttled_usec", &v)) {
		g->cpu_throttled_ns = v * 1000;
		g->have |= CGFS_HAVE_CPU_THROTTLED;
	}
	if (g->have & CGFS_HAVE_CPU_THROTTLED) {
		if (read_keyed(cpu ? cpu : v2_or_null(c), rel, "cpu.stat", "nr_throttled", &v) == 0)
			g->cpu_nr_throttled = v;
	}
}

/* PSI "some avg10" of file into *out, setting bit in g->have when found. */
static void read_psi(const struct cgfs *c, const char *rel, const char *file, unsigned int bit,
		     double *out, struct cgfs_gauges *g)
{
	char buf[512];

	if (read_cg_file(v2_or_null(c), rel, file, buf, sizeof(buf)) > 0 &&
	    cgfs_parse_psi_some10(buf, out) == 0)
		g->have |= bit;
}

int cgfs_read(const struct cgfs *c, const char *relpath, struct cgfs_gauges *g)
{
	static const char *const ctrls[] = { "memory", "cpuacct", "cpu", "blkio" };
	bool found;
	size_t i;

	memset(g, 0, sizeof(*g));
	if (relpath[0] != '/' || strstr(relpath, "/.."))
		return -EINVAL;
	found = cg_dir_exists(v2_or_null(c), relpath);
	for (i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]) && !found; i++)
		found = cg_dir_exists(cgfs_v1_dir(c, ctrls[i]), relpath);
	if (!found)
		return -ENOENT;
	read_memory(c, relpath, g);
	read_cpu(c, relpath, g);
	read_psi(c, relpath, "cpu.pressure", CGFS_HAVE_PSI_CPU, &g->psi_cpu_some_avg10, g);
	read_psi(c, relpath, "memory.pressure", CGFS_HAVE_PSI_MEM, &g->psi_mem_some_avg10, g);
	read_psi(c, relpath, "io.pressure", CGFS_HAVE_PSI_IO, &g->psi_io_some_avg10, g);
	return 0;
}

/* Full path of relpath in the v2 mount; -ENOENT without one. */
static int v2_path(const struct cgfs *c, const char *rel, char *buf, size_t len)
{
	if (!c->v2[0])
		return -ENOENT;
	if (rel[0] != '/' || strstr(rel, "/.."))
		return -EINVAL;
	if (snprintf(buf, len, "%s%s", c->v2, strcmp(rel, "/") ? rel : "") >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int cgfs_cgid(const struct cgfs *c, const char *relpath, uint64_t *id)
{
	char path[PATH_MAX];
	struct stat st;
	int err = v2_path(c, relpath, path, sizeof(path));

	if (err)
		return err;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = (uint64_t)st.st_ino;
	return 0;
}

/* Visit rel (a directory under the v2 mount) and its children. */
static int walk_dir(const struct cgfs *c, char *rel, size_t cap, int depth, cgfs_walk_fn fn,
		    void *ctx)
{
	size_t len = strlen(rel);
	struct dirent *de;
	uint64_t id;
	char path[PATH_MAX];
	DIR *d;
	int ret = 0;

	if (cgfs_cgid(c, len ? rel : "/", &id) < 0)
		return 0; /* vanished meanwhile */
	ret = fn(id, len ? rel : "/", ctx);
	if (ret || depth >= CGFS_MAX_DEPTH)
		return ret;
	snprintf(path, sizeof(path), "%s%s", c->v2, rel);
	d = opendir(path);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (len + 1 + strlen(de->d_name) >= cap)
			continue;
		snprintf(rel + len, cap - len, "/%s", de->d_name);
		ret = walk_dir(c, rel, cap, depth + 1, fn, ctx);
		rel[len] = '\0';
	}
	closedir(d);
	return ret;
}

int cgfs_walk(const struct cgfs *c, cgfs_walk_fn fn, void *ctx)
{
	char rel[PATH_MAX] = "";

	if (!c->v2[0])
		return -ENOENT;
	return walk_dir(c, rel, sizeof(rel), 0, fn, ctx);
}
