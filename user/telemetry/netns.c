/*
 * netns.c - network namespaces of tracked cgroups, one sock_diag socket each.
 *
 * A namespace is known by the device and inode of its nsfs file.  A socket
 * belongs for life to the namespace it was made in, so the socket is made by
 * a short-lived thread that enters the namespace (setns affects the calling
 * thread only, and this thread ends right after), and the sampler thread
 * never leaves its own namespace.
 */
#include "telemetry/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct ns_entry {
	dev_t dev;
	ino_t ino;
	int fd;    /* NETLINK_SOCK_DIAG socket made inside the namespace */
	bool seen; /* noted in the current round */
};

struct netns_set {
	dev_t own_dev;
	ino_t own_ino;
	struct ns_entry *e;
	size_t n, cap;
};

struct netns_set *netns_set_new(void)
{
	struct netns_set *s;
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->own_dev = st.st_dev;
	s->own_ino = st.st_ino;
	return s;
}

void netns_set_free(struct netns_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		close(s->e[i].fd);
	free(s->e);
	free(s);
}

void netns_set_begin(struct netns_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->e[i].seen = false;
}

struct mk_sock {
	int nsfd;
	int fd;  /* out: the socket, or -1 */
	int err; /* out: -errno */
};

/* Thread body: enter the namespace, make the socket there, end. */
static void *mk_sock_thread(void *arg)
{
	struct mk_sock *m = arg;

	if (setns(m->nsfd, CLONE_NEWNET)) {
		m->err = -errno;
		return NULL;
	}
	m->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (m->fd < 0)
		m->err = -errno;
	return NULL;
}

/* A sock_diag socket inside the namespace nsfd refers to; fd or -errno. */
static int socket_in(int nsfd)
{
	struct mk_sock m = { .nsfd = nsfd, .fd = -1 };
	pthread_t t;
	int err = pthread_create(&t, NULL, mk_sock_thread, &m);

	if (err)
		return -err;
	pthread_join(t, NULL);
	return m.fd >= 0 ? m.fd : m.err;
}

int netns_set_note_pid(struct netns_set *s, pid_t pid)
{
	struct ns_entry *ne;
	char path[64];
	struct stat st;
	int nsfd, fd;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return -errno;
	/* Identity from the open file: the pid may be reused after the open, the file not. */
	if (fstat(nsfd, &st)) {
		int err = -errno;

		close(nsfd);
		return err;
	}
	if (st.st_dev == s->own_dev && st.st_ino == s->own_ino) {
		close(nsfd);
		return 0;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].dev == st.st_dev && s->e[i].ino == st.st_ino) {
			s->e[i].seen = true;
			close(nsfd);
			return 1;
		}
	}
	if (s->n >= NETNS_MAX) {
		close(nsfd);
		return -ENOSPC;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct ns_entry *e = realloc(s->e, cap * sizeof(*e));

		if (!e) {
			close(nsfd);
			return -ENOMEM;
		}
		s->e = e;
		s->cap = cap;
	}
	fd = socket_in(nsfd);
	close(nsfd); /* the socket holds the namespace from here */
	if (fd < 0)
		return fd;
	ne = &s->e[s->n++];
	*ne = (struct ns_entry){ .dev = st.st_dev, .ino = st.st_ino, .fd = fd, .seen = true };
	return 1;
}

/* The first pid in dir/cgroup.procs; -ENOENT when it holds none. */
static int first_pid(const char *dir, pid_t *pid)
{
	char path[4096], buf[32];
	ssize_t n;
	long v = 0;
	int fd, i;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9' && v < 1L << 31; i++)
		v = v * 10 + (buf[i] - '0');
	/* A pid is digits up to a newline; anything else is not a cgroup.procs we know. */
	if (!i || v <= 0 || v >= 1L << 31 || i == n || buf[i] != '\n')
		return n ? -EPROTO : -ENOENT;
	*pid = (pid_t)v;
	return 0;
}

int netns_set_note_cgroup(struct netns_set *s, const char *dir)
{
	pid_t pid;
	int err = first_pid(dir, &pid);

	return err ? err : netns_set_note_pid(s, pid);
}

void netns_set_end(struct netns_set *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].seen)
			s->e[j++] = s->e[i];
		else
			close(s->e[i].fd);
	}
	s->n = j;
}

size_t netns_set_fds(const struct netns_set *s, int *fds, size_t max)
{
	size_t n = s->n < max ? s->n : max;

	for (size_t i = 0; i < n; i++)
		fds[i] = s->e[i].fd;
	return n;
}

size_t netns_set_count(const struct netns_set *s)
{
	return s->n;
}
