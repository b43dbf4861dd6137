/*
 * cgfs.h - cgroup filesystem gauges the BPF hooks cannot give.
 *
 * Discovers the v2 mount and the v1 controller mounts from mountinfo (hybrid
 * hosts have both; pure v2 hosts only the former) and reads, for a cgroup
 * path relative to the mounts (v2 style, "/docker/<id>"), the memory working
 * set (usage minus inactive file), memory limit, CPU usage and throttled
 * time, and PSI "some avg10" of cpu, memory and io.  The same relative path
 * is looked up in each v1 controller.  Also maps a path to its v2 cgroup id
 * and walks the v2 tree.
 */
#ifndef PRESAGE_CGFS_H
#define PRESAGE_CGFS_H

#include <stdbool.h>
#include <stdint.h>

struct cgfs;

/* Bits of cgfs_gauges.have: which fields were read. */
enum {
	CGFS_HAVE_MEM_USAGE = 1u << 0,
	CGFS_HAVE_MEM_WSET = 1u << 1,
	CGFS_HAVE_MEM_LIMIT = 1u << 2, /* absent: no limit, or unknown */
	CGFS_HAVE_CPU_USAGE = 1u << 3,
	CGFS_HAVE_CPU_THROTTLED = 1u << 4,
	CGFS_HAVE_PSI_CPU = 1u << 5,
	CGFS_HAVE_PSI_MEM = 1u << 6,
	CGFS_HAVE_PSI_IO = 1u << 7,
};

struct cgfs_gauges {
	unsigned int have; /* CGFS_HAVE_* */
	uint64_t mem_usage_bytes;
	uint64_t mem_working_set_bytes;
	uint64_t mem_limit_bytes;
	uint64_t cpu_usage_ns;
	uint64_t cpu_throttled_ns;
	uint64_t cpu_nr_throttled;
	double psi_cpu_some_avg10; /* percent, 0..100 */
	double psi_mem_some_avg10;
	double psi_io_some_avg10;
};

/*
 * Discover cgroup mounts from a mountinfo file (NULL: /proc/self/mountinfo).
 * NULL + errno on failure (ENOENT when no cgroup mount at all).
 */
struct cgfs *cgfs_new(const char *mountinfo);
void cgfs_free(struct cgfs *c);

/* Mount point of the v2 hierarchy, or NULL when there is none. */
const char *cgfs_v2_root(const struct cgfs *c);

/*
 * An O_RDONLY directory fd of the v2 root found in mountinfo (NULL:
 * /proc/self/mountinfo), for attaching cgroup programs; -1 when there is none.
 */
int cgfs_open_v2_root(const char *mountinfo);

/* Mount point of v1 controller ctrl ("memory", "cpuacct"...), or NULL. */
const char *cgfs_v1_dir(const struct cgfs *c, const char *ctrl);

/* True when v1 controllers are mounted (hybrid or legacy host). */
bool cgfs_is_hybrid(const struct cgfs *c);

/*
 * Read the gauges of cgroup relpath ("/" for the root).  0 with g->have
 * telling which fields were found; -ENOENT (no message) when the cgroup
 * exists in no hierarchy, e.g. it vanished; -EINVAL for a path with "..".
 */
int cgfs_read(const struct cgfs *c, const char *relpath, struct cgfs_gauges *g);

/* v2 cgroup id of relpath (the inode number of its v2 directory). */
int cgfs_cgid(const struct cgfs *c, const char *relpath, uint64_t *id);

/* Called per v2 cgroup with its id and relative path; non-zero stops the walk. */
typedef int (*cgfs_walk_fn)(uint64_t id, const char *relpath, void *ctx);

/*
 * Walk the v2 tree depth-first (parents first), root included as "/".
 * Returns 0, the callback's non-zero value, or -errno (-ENOENT: no v2 mount).
 * Directories that vanish during the walk are skipped.
 */
int cgfs_walk(const struct cgfs *c, cgfs_walk_fn fn, void *ctx);

/* ---- parsers, exposed for tests ---- */

/* Value of "key N" in a flat-keyed file's text (memory.stat, cpu.stat). */
int cgfs_parse_keyed(const char *text, const char *key, uint64_t *out);

/* avg10 of the "some" line of a PSI file's text. */
int cgfs_parse_psi_some10(const char *text, double *out);

#endif
