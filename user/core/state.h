/*
 * state.h - the state directory layout and atomic file writes.
 *
 * Layout under the state directory (default /var/lib/presage, 0700):
 *   models/<key>.model        model state per service or image (versioned)
 *   fingerprints/<key>.fp     behavioural fingerprints
 *   policy/<key>.rl           online-learned RL policy state
 *   actuation/<group>.json    what presage created (replicas) and when
 * <key> is a service or image name made file-safe by state_key_to_file().
 */
#ifndef PRESAGE_STATE_H
#define PRESAGE_STATE_H

#include <stddef.h>

/* Create dir (and the standard subdirectories) with mode 0700; 0 or -errno. */
int state_dir_init(const char *dir);

/*
 * Write len bytes to path atomically: temp file in the same directory,
 * fsync, rename, fsync of the directory.  0 or -errno; on failure the old
 * file is untouched and no temp file is left behind.
 */
int state_write_atomic(const char *path, const void *buf, size_t len);

/*
 * Read a whole file (at most max bytes) into a malloc'd, NUL-terminated
 * buffer; NULL + errno (EFBIG when over max, else the open or read error,
 * e.g. EISDIR).
 */
void *state_read_file(const char *path, size_t max, size_t *len);

/*
 * Map an arbitrary key (service, image "nginx:1.25", ...) to a file-safe
 * name: [A-Za-z0-9._-] kept, other bytes as %XX; never "." or "..".
 */
void state_key_to_file(const char *key, char *out, size_t len);

#endif
