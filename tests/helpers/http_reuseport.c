/*
 * http_reuseport.c - a tiny HTTP/1.1 server for replica tests.
 *
 * Every replica binds the same port with SO_REUSEPORT, so with
 * `--network host` the kernel spreads new connections over the replicas of
 * a service and a new replica starts serving as soon as it listens.  Each
 * response is written with one write() (no Nagle + delayed-ACK stall on
 * loopback) and closes the connection, so load generated with
 * `Connection: close` re-balances on every request.
 *
 * Usage: http_reuseport [--port N] [--work-us N] [--threads N] [--name S]
 *                       [--warmup-ms N]
 *   --work-us   CPU burned per request (busy loop), to make load CPU-bound
 *   --warmup-ms wait this long before listening, like an application that
 *               loads caches or compiles before it can serve (pre-warming)
 *   --threads   accepting threads (default 1), each with its own socket
 *   --name      replica name in the body (default: hostname)
 * The body is "<name> <pid> <request number>\n".  The first response served
 * is logged on stderr as "first request served at <unix seconds>", so a
 * test can tell when a replica really started serving.  SIGTERM/SIGINT:
 * exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port = 8080;
static long work_us;
static char name[64];
static atomic_ulong served;
static long warmup_ms;

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

static void burn(long us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static int listen_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0) {
		fprintf(stderr, "http_reuseport: failed to listen on port %d: %s\n", port,
			strerror(errno));
		exit(1);
	}
	return fd;
}

/* Read until the end of the request headers (or EOF/error); true if a request came. */
static int read_request(int fd)
{
	char buf[4096];
	size_t have = 0;
	ssize_t n;

	while (have < sizeof(buf) - 1) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return have > 0;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 1;
	}
	return 1;
}

static void serve(int cfd)
{
	char body[128], resp[256];
	int one = 1, blen, rlen;
	unsigned long nth;

	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!read_request(cfd))
		return;
	if (work_us > 0)
		burn(work_us);
	nth = atomic_fetch_add(&served, 1) + 1;
	blen = snprintf(body, sizeof(body), "%s %d %lu\n", name, (int)getpid(), nth);
	rlen = snprintf(resp, sizeof(resp),
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
			"Connection: close\r\n\r\n%s", blen, body);
	if (write(cfd, resp, (size_t)rlen) < 0)
		return;
	if (nth == 1) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		fprintf(stderr, "first request served at %lld.%09ld\n", (long long)now.tv_sec,
			now.tv_nsec);
	}
}

static void *accept_loop(void *arg)
{
	int fd = listen_socket(), cfd;

	(void)arg;
	for (;;) {
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			return NULL;
		}
		serve(cfd);
		close(cfd);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },   { "work-us", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' }, { "name", required_argument, NULL, 'n' },
		{ "warmup-ms", required_argument, NULL, 'W' }, { NULL, 0, NULL, 0 },
	};
	int c, threads = 1, i;
	pthread_t th;

	gethostname(name, sizeof(name) - 1);
	while ((c = getopt_long(argc, argv, "p:w:t:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'w': work_us = atol(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'n': snprintf(name, sizeof(name), "%s", optarg); break;
		case 'W': warmup_ms = atol(optarg); break;
		default:
			fprintf(stderr, "usage: http_reuseport [--port N] [--work-us N] [--threads N] "
					"[--name S] [--warmup-ms N]\n");
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || threads < 1 || threads > 64 || work_us < 0 ||
	    warmup_ms < 0 || warmup_ms > 3600000) {
		fprintf(stderr, "http_reuseport: bad arguments\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (warmup_ms > 0) {
		struct timespec w = { warmup_ms / 1000, warmup_ms % 1000 * 1000000L };

		while (nanosleep(&w, &w) < 0 && errno == EINTR)
			;
	}
	for (i = 1; i < threads; i++)
		pthread_create(&th, NULL, accept_loop, NULL);
	accept_loop(NULL);
	return 1;
}
