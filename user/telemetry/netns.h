/*
 * netns.h - the network namespaces tracked containers listen in.
 *
 * sock_diag answers for the namespace its socket was made in, and most
 * containers (Docker's default bridge, Kubernetes pods) have their own.  A
 * netns_set learns the namespaces of the tracked cgroups' processes and
 * keeps one NETLINK_SOCK_DIAG socket made inside each, so the accept-queue
 * sample can dump every namespace's listeners without entering any of them
 * again.  Listeners are still attributed by the cgroup the kernel reports
 * for each socket, so a namespace found through a recycled pid only adds
 * sockets that are attributed rightly, never moves one.
 *
 * A socket pins its namespace: namespaces no process of a tracked cgroup
 * was seen in at the last round are let go.  Not thread-safe: the sampler
 * thread owns it.
 */
#ifndef PRESAGE_NETNS_H
#define PRESAGE_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Namespaces held at most (each costs one descriptor). */
#define NETNS_MAX 1024

struct netns_set;

/* An empty set; NULL + errno when presaged's own namespace cannot be read. */
struct netns_set *netns_set_new(void);
void netns_set_free(struct netns_set *s);

/* Start a round: every namespace is unseen until noted again. */
void netns_set_begin(struct netns_set *s);

/*
 * Note the namespace of process pid.  1 when it is a namespace other than
 * presaged's own (held, with its socket, from now on), 0 when it is
 * presaged's own, -errno when the process is gone (-ENOENT), the set is
 * full (-ENOSPC) or the namespace cannot be entered (e.g. -EPERM).
 */
int netns_set_note_pid(struct netns_set *s, pid_t pid);

/*
 * Note the namespace of a process of the cgroup directory dir (its first
 * pid in cgroup.procs).  As netns_set_note_pid; -ENOENT also when the
 * cgroup has no process.
 */
int netns_set_note_cgroup(struct netns_set *s, const char *dir);

/* End a round: let go of the namespaces not noted since netns_set_begin. */
void netns_set_end(struct netns_set *s);

/* The diag sockets of the held namespaces into fds (at most max); their count. */
size_t netns_set_fds(const struct netns_set *s, int *fds, size_t max);

/* Namespaces held. */
size_t netns_set_count(const struct netns_set *s);

#endif
