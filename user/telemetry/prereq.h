/*
 * prereq.h - start-up checks for the kernel telemetry.
 *
 * Each check logs one line naming what is missing and how to get it, so an
 * operator sees the cause, not a verifier dump.
 */
#ifndef PRESAGE_PREREQ_H
#define PRESAGE_PREREQ_H

#include <stdbool.h>

/*
 * True when the process may load and attach the programs: uid 0 with
 * CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON (+ CAP_NET_ADMIN when need_net).
 * status is a /proc/<pid>/status file (NULL: our own), for tests.
 */
bool prereq_caps_ok(const char *status, bool need_net);

/*
 * Check capabilities, kernel BTF and that bpf() is allowed, and mount
 * tracefs when missing (a failure there is a warning: tp_btf and raw_tp
 * hooks do not need it).  0 or -errno (EPERM, ENOENT) after logging.
 */
int prereq_check(bool need_net);

/* Mount tracefs at /sys/kernel/tracing unless mounted; 0 or -errno. */
int prereq_mount_tracefs(void);

#endif
