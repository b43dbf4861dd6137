/*
 * ctl_client.c - the CLI side of the control socket: connect, send one
 * request line, read one response line with a deadline; see ctl.h.
 */
#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct ctl_client {
	int fd;
	char path[108];
	char *buf;      /* bytes read past the last response line */
	size_t len, cap;
	volatile sig_atomic_t *stop; /* the caller's signal flag, or NULL */
};

/* strerror with a lowercase first letter, as every presage message is. */
static const char *reason(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

struct ctl_client *ctl_client_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_client *c;
	char why[128];
	int e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot reach presaged at %s: socket path too long", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "cannot reach presaged at %s: out of memory", path);
		return NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot reach presaged at %s: %s%s", path,
			 reason(e, why, sizeof(why)),
			 e == ENOENT || e == ECONNREFUSED ? " (is presaged running?)" : "");
		ctl_client_free(c);
		errno = e;
		return NULL;
	}
	return c;
}

void ctl_client_set_stop(struct ctl_client *c, volatile sig_atomic_t *stop)
{
	c->stop = stop;
}

void ctl_client_free(struct ctl_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(struct ctl_client *c, const char *line, char *err, size_t errlen)
{
	size_t n = strlen(line), off = 0;
	char why[128];

	while (off < n) {
		ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;

			snprintf(err, errlen, "lost connection to presaged at %s: %s", c->path,
				 reason(e, why, sizeof(why)));
			return -e;
		}
		off += (size_t)w;
	}
	return 0;
}

/*
 * Wait until c->fd is readable or the deadline passes: 1, or -errno with err.
 * A signal only ends the wait when it set the caller's stop flag; otherwise
 * the wait resumes with the time that is left, so the timeout holds.
 */
static int wait_readable(struct ctl_client *c, int64_t deadline, int timeout_ms, char *err,
			 size_t errlen)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char why[128];
	int64_t left;
	int n;

	for (;;) {
		if (c->stop && *c->stop) {
			snprintf(err, errlen, "interrupted while waiting for presaged at %s", c->path);
			return -EINTR;
		}
		left = deadline - now_ms();
		n = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (n > 0)
			return 1;
		if (n == 0) {
			snprintf(err, errlen, "presaged at %s did not answer within %d ms", c->path,
				 timeout_ms);
			return -ETIMEDOUT;
		}
		if (errno != EINTR) {
			int e = errno;

			snprintf(err, errlen, "failed to wait for presaged at %s: %s", c->path,
				 reason(e, why, sizeof(why)));
			return -e;
		}
	}
}

/* Read until a '\n' is buffered; its offset, or -errno with err. */
static ssize_t read_line(struct ctl_client *c, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	char *nl;

	while (!(nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL)) {
		ssize_t r;
		int rc;

		if (c->len >= CTL_MAX_RESPONSE) {
			snprintf(err, errlen, "response from presaged larger than %d bytes",
				 CTL_MAX_RESPONSE);
			return -EMSGSIZE;
		}
		/* Read only what poll promised: a blocking read would outlive the timeout. */
		rc = wait_readable(c, deadline, timeout_ms, err, errlen);
		if (rc < 0)
			return rc;
		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 131072;
			char *nb = realloc(c->buf, cap);

			if (!nb)
				return snprintf(err, errlen, "out of memory"), -ENOMEM;
			c->buf = nb;
			c->cap = cap;
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "presaged at %s closed the connection", c->path);
			return -ECONNRESET;
		}
		c->len += (size_t)r;
	}
	return nl - c->buf;
}

int ctl_client_call(struct ctl_client *c, const char *cmd, const cJSON *args, int timeout_ms,
		    cJSON **data, char *err, size_t errlen)
{
	struct ctl_response resp;
	char *line = ctl_request_encode(cmd, args);
	ssize_t nl;
	int rc;

	*data = NULL;
	if (!line)
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	rc = send_all(c, line, err, errlen);
	free(line);
	if (rc < 0)
		return rc;
	nl = read_line(c, timeout_ms > 0 ? timeout_ms : 30000, err, errlen);
	if (nl < 0)
		return (int)nl;
	rc = ctl_response_parse(c->buf, (size_t)nl, &resp, err, errlen);
	c->len -= (size_t)nl + 1;
	memmove(c->buf, c->buf + nl + 1, c->len);
	if (rc < 0)
		return rc;
	if (!resp.ok) {
		snprintf(err, errlen, "%s", resp.error);
		ctl_response_free(&resp);
		return -EREMOTEIO;
	}
	if (resp.data)
		*data = cJSON_DetachItemViaPointer(resp.root, resp.data);
	ctl_response_free(&resp);
	return 0;
}
