/*
 * ctl_server.c - the daemon side of the control socket: one thread, one
 * poll() loop over the listening socket and up to CTL_MAX_CLIENTS
 * connections; see ctl.h.
 *
 * Every connection is non-blocking with bounded buffers: a request line over
 * CTL_MAX_REQUEST is answered with an error and the connection closed; a
 * client that stalls mid-line or stops reading its answer for
 * CTL_IO_TIMEOUT_MS, or stays idle for CTL_IDLE_TIMEOUT_MS, is dropped.  So
 * no client can hold the thread, and handlers only read snapshots and the
 * bus, so nothing here can hold the telemetry thread.
 *
 * Pipelined requests are answered in order, but only while the answers a
 * connection owes stay under CTL_OUT_HIGH_WATER: past it the connection is
 * neither read nor dispatched until its client reads, so a client that
 * pipelines and never reads costs a bounded amount of memory (the rest of
 * its requests wait in the socket).
 */
#include "ctl/ctl.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	char *in;         /* partial request bytes */
	size_t in_len;
	char *out;        /* response bytes; out[out_off..out_len) not yet written */
	size_t out_len, out_off, out_cap;
	int64_t last_ms;  /* last progress either way */
	bool eof;         /* the client sent its last byte: answer what is buffered */
	bool closing;     /* answer nothing more, close once out is flushed */
};

static struct {
	pthread_t thread;
	bool running;
	int listen_fd, wake_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct conn conns[CTL_MAX_CLIENTS];
	size_t out_peak; /* largest output buffer so far; atomic, read by ctl_server_out_peak */
} srv = { .listen_fd = -1, .wake_fd = -1 };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Answer bytes queued and not yet written. */
static size_t conn_pending(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* True when the connection owes enough that its next requests must wait. */
static bool conn_held(const struct conn *c)
{
	return conn_pending(c) >= CTL_OUT_HIGH_WATER;
}

/* True when more request bytes should be read from the client. */
static bool conn_wants_read(const struct conn *c)
{
	return !c->closing && !c->eof && !conn_held(c);
}

/* Make room for n more output bytes: reuse what was written, else grow by doubling. */
static int conn_reserve(struct conn *c, size_t n)
{
	size_t cap = c->out_cap ? c->out_cap : 4096;
	char *nb;

	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, conn_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n <= c->out_cap)
		return 0;
	while (cap < c->out_len + n)
		cap *= 2;
	nb = realloc(c->out, cap);
	if (!nb)
		return -ENOMEM;
	c->out = nb;
	c->out_cap = cap;
	if (cap > __atomic_load_n(&srv.out_peak, __ATOMIC_RELAXED))
		__atomic_store_n(&srv.out_peak, cap, __ATOMIC_RELAXED);
	return 0;
}

/* Queue a response line (takes ownership of line; NULL = out of memory). */
static void conn_queue(struct conn *c, char *line)
{
	size_t n;

	if (!line) {
		c->closing = true;
		return;
	}
	n = strlen(line);
	if (conn_reserve(c, n) < 0) {
		free(line);
		c->closing = true;
		return;
	}
	memcpy(c->out + c->out_len, line, n);
	c->out_len += n;
	free(line);
}

/*
 * Answer the complete lines in the input buffer, in order, until the
 * connection owes CTL_OUT_HIGH_WATER bytes; the rest stay buffered until
 * conn_write drains the answers and calls this again.  Keeps the partial tail.
 */
static void conn_requests(struct conn *c)
{
	char *start = c->in, *nl;
	size_t left = c->in_len;

	if (!c->in)
		return;
	while (!c->closing && !conn_held(c) && (nl = memchr(start, '\n', left))) {
		size_t len = (size_t)(nl - start);

		if (len)
			conn_queue(c, ctl_dispatch(start, len));
		left -= len + 1;
		start = nl + 1;
	}
	memmove(c->in, start, left);
	c->in_len = left;
	/* Held back: complete lines may remain, so the tail is not known yet. */
	if (c->closing || conn_held(c))
		return;
	if (left > CTL_MAX_REQUEST) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request larger than %d bytes", CTL_MAX_REQUEST);
		conn_queue(c, ctl_response_error(msg));
		c->closing = true;
	} else if (c->eof) {
		/* Every request the client sent is answered; a partial last line never will be. */
		c->closing = true;
	}
}

/* Called only when conn_wants_read: the input buffer then holds at most a partial line. */
static void conn_read(struct conn *c)
{
	ssize_t r;

	if (!c->in) {
		c->in = malloc(CTL_MAX_REQUEST + 2);
		if (!c->in) {
			conn_close(c);
			return;
		}
	}
	r = read(c->fd, c->in + c->in_len, CTL_MAX_REQUEST + 1 - c->in_len);
	if (r < 0 && errno != EAGAIN && errno != EINTR) {
		conn_close(c);
		return;
	}
	if (r == 0) {
		/* The client finished sending: answer and flush what it is owed, then close. */
		c->eof = true;
		conn_requests(c);
		if (c->closing && !c->out_len)
			conn_close(c);
		return;
	}
	if (r > 0) {
		c->in_len += (size_t)r;
		c->last_ms = now_ms();
		conn_requests(c);
	}
}

static void conn_write(struct conn *c)
{
	ssize_t w = send(c->fd, c->out + c->out_off, conn_pending(c), MSG_NOSIGNAL);

	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		conn_close(c);
		return;
	}
	if (w > 0) {
		c->out_off += (size_t)w;
		c->last_ms = now_ms();
	}
	if (c->out_off == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = c->out_cap = 0;
	}
	/* The client is reading again: answer the requests that were held back. */
	if (!conn_held(c))
		conn_requests(c);
	if (c->closing && !c->out_len)
		conn_close(c);
}

static void conn_accept(void)
{
	int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (srv.conns[i].fd >= 0)
			continue;
		srv.conns[i].fd = fd;
		srv.conns[i].last_ms = now_ms();
		return;
	}
	/* Full: tell the client why instead of leaving it hanging. */
	char *line = ctl_response_error("presaged is serving too many clients: try again");

	if (line) {
		(void)!send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
		free(line);
	}
	close(fd);
	LOG_RATELIMITED(LOG_WARN, "control socket: more than %d clients, refusing one",
			CTL_MAX_CLIENTS);
}

/* Drop connections that stalled mid-request, stopped reading or idled too long. */
static void conn_timeouts(void)
{
	int64_t now = now_ms();

	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct conn *c = &srv.conns[i];
		bool busy = c->in_len || c->out_len;

		if (c->fd < 0)
			continue;
		if (now - c->last_ms > (busy ? CTL_IO_TIMEOUT_MS : CTL_IDLE_TIMEOUT_MS))
			conn_close(c);
	}
}

static void *serve(void *arg)
{
	struct pollfd pfd[CTL_MAX_CLIENTS + 2];
	int idx[CTL_MAX_CLIENTS + 2];

	for (;;) {
		int n = 2;

		pfd[0] = (struct pollfd){ .fd = srv.wake_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = srv.listen_fd, .events = POLLIN };
		for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
			struct conn *c = &srv.conns[i];

			if (c->fd < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = c->fd };
			pfd[n].events = (conn_wants_read(c) ? POLLIN : 0) | (c->out_len ? POLLOUT : 0);
			idx[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) {
			log_err("control socket: poll failed: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			conn_accept();
		for (int k = 2; k < n; k++) {
			struct conn *c = &srv.conns[idx[k]];

			if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) && conn_wants_read(c))
				conn_read(c);
			/* Gone while not read from: the write below fails, or nothing is owed. */
			else if ((pfd[k].revents & (POLLHUP | POLLERR)) && !c->out_len)
				conn_close(c);
			/* Also right after a read: its answers usually fit the socket at once. */
			if (c->fd >= 0 && c->out_len)
				conn_write(c);
		}
		conn_timeouts();
	}
	return NULL;
}

/* mkdir -p of path's parent directory, new directories mode 0755. */
static int make_parent(const char *path)
{
	char dir[sizeof(srv.path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Remove a socket left by a dead daemon; -EADDRINUSE when one still answers. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	return unlink(sa->sun_path) < 0 ? -errno : 0;
}

/* Bind, restrict to 0600 before listen() (so nobody connects in between), listen. */
static int open_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/') {
		snprintf(err, errlen, "failed to create control socket %s: not an absolute path "
			 "shorter than %zu bytes", path, sizeof(sa.sun_path));
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = make_parent(path);
	if (!rc)
		rc = clear_stale(&sa);
	if (rc) {
		snprintf(err, errlen, "failed to create control socket %s: %s", path,
			 rc == -EADDRINUSE ? "another presaged is listening on it"
			 : rc == -EEXIST ? "a file that is not a socket is in the way"
					 : strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "failed to create control socket %s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

int ctl_server_start(const char *path, char *err, size_t errlen)
{
	int rc;

	if (srv.running)
		return -EALREADY;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		srv.conns[i].fd = -1;
	__atomic_store_n(&srv.out_peak, 0, __ATOMIC_RELAXED);
	srv.listen_fd = open_socket(path, err, errlen);
	if (srv.listen_fd < 0)
		return srv.listen_fd;
	snprintf(srv.path, sizeof(srv.path), "%s", path);
	srv.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rc = srv.wake_fd < 0 ? -errno : -pthread_create(&srv.thread, NULL, serve, NULL);
	if (rc) {
		snprintf(err, errlen, "failed to start the control thread: %s", strerror(-rc));
		if (srv.wake_fd >= 0)
			close(srv.wake_fd);
		close(srv.listen_fd);
		unlink(path);
		srv.listen_fd = srv.wake_fd = -1;
		return rc;
	}
	srv.running = true;
	log_info("control socket listening on %s", path);
	return 0;
}

void ctl_server_stop(void)
{
	uint64_t one = 1;

	if (!srv.running)
		return;
	(void)!write(srv.wake_fd, &one, sizeof(one));
	pthread_join(srv.thread, NULL);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (srv.conns[i].fd >= 0)
			conn_close(&srv.conns[i]);
	close(srv.listen_fd);
	close(srv.wake_fd);
	unlink(srv.path);
	srv.listen_fd = srv.wake_fd = -1;
	srv.running = false;
}

size_t ctl_server_out_peak(void)
{
	return __atomic_load_n(&srv.out_peak, __ATOMIC_RELAXED);
}
