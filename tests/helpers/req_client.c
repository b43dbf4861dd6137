/*
 * req_client.c - awkward HTTP clients for the request-telemetry tests.
 *
 * usage: req_client PORT MODE [ARG]
 *   partial K     K keep-alive requests, each sent in three pieces 5 ms apart
 *   pipeline K    K requests in one write, then read the K responses
 *   midclose      half a request, then close
 *   garbage       binary non-HTTP bytes ending in an empty line
 *   longhdr SIZE  one request with a SIZE-byte header
 *   idle N        open N connections, print "open N", hold them until stdin
 *                 closes, then close them all
 * Prints "responses N" (the number of HTTP status lines received) or
 * "open N"; exits 1 on connection failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int port;

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("req_client: failed to connect");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send all of p; -1 when the server stopped reading (e.g. it answered 431). */
static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until `want` status lines arrived (or timeout/EOF); returns the count. */
static int read_responses(int fd, int want)
{
	char buf[65536];
	int got = 0;

	while (got < want) {
		ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);

		if (r <= 0)
			break;
		buf[r] = 0;
		for (char *p = buf; (p = memmem(p, (size_t)(buf + r - p), "HTTP/1.", 7)); p += 7)
			got++;
	}
	return got;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	nanosleep(&ts, NULL);
}

static int mode_partial(int k)
{
	static const char *piece[] = { "GET /part", "ial HTTP/1.1\r\nHost: x\r\n", "\r\n" };
	int fd = dial(), got = 0;

	for (int i = 0; i < k; i++) {
		for (int j = 0; j < 3; j++) {
			if (send_all(fd, piece[j], strlen(piece[j])))
				return got;
			sleep_ms(5);
		}
		got += read_responses(fd, 1);
	}
	close(fd);
	return got;
}

static int mode_pipeline(int k)
{
	const char *req = "GET /pipe HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t n = strlen(req);
	char *all = malloc(n * (size_t)k);
	int fd = dial(), got;

	for (int i = 0; i < k; i++)
		memcpy(all + n * (size_t)i, req, n);
	got = send_all(fd, all, n * (size_t)k) ? 0 : read_responses(fd, k);
	free(all);
	close(fd);
	return got;
}

static int mode_simple(const char *req, size_t n, int want)
{
	int fd = dial(), got = 0;

	(void)send_all(fd, req, n); /* the server may answer before reading it all */
	if (want)
		got = read_responses(fd, want);
	else
		sleep_ms(50);
	close(fd);
	return got;
}

static int mode_longhdr(size_t size)
{
	char *req = malloc(size + 128);
	int n, got;

	n = sprintf(req, "GET /long HTTP/1.1\r\nHost: x\r\nX-Long: ");
	memset(req + n, 'a', size);
	memcpy(req + n + size, "\r\n\r\n", 4);
	got = mode_simple(req, (size_t)n + size + 4, 1);
	free(req);
	return got;
}

static int mode_idle(int n)
{
	int *fds = malloc(sizeof(int) * (size_t)n);
	char c;

	for (int i = 0; i < n; i++)
		fds[i] = dial();
	printf("open %d\n", n);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	static const char garbage[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03junk\r\n\r\n";
	const char *mode;
	int arg, got;

	if (argc < 3) {
		fprintf(stderr, "usage: req_client PORT MODE [ARG]\n");
		return 2;
	}
	port = atoi(argv[1]);
	mode = argv[2];
	arg = argc > 3 ? atoi(argv[3]) : 1;
	if (!strcmp(mode, "idle"))
		return mode_idle(arg);
	if (!strcmp(mode, "partial"))
		got = mode_partial(arg);
	else if (!strcmp(mode, "pipeline"))
		got = mode_pipeline(arg);
	else if (!strcmp(mode, "midclose"))
		got = mode_simple("GET /mid HTTP/1.1\r\nHo", 21, 0);
	else if (!strcmp(mode, "garbage"))
		got = mode_simple(garbage, sizeof(garbage) - 1, 1);
	else if (!strcmp(mode, "longhdr"))
		got = mode_longhdr((size_t)arg);
	else {
		fprintf(stderr, "req_client: unknown mode '%s'\n", mode);
		return 2;
	}
	printf("responses %d\n", got);
	return 0;
}
