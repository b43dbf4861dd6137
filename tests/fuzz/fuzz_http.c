/*
 * fuzz_http.c - libFuzzer target for the /metrics endpoint: the input is
 * written as raw bytes into a real libmicrohttpd connection (a socketpair
 * handed to the server) and the answer read back.  Any request must get an
 * HTTP answer or a closed connection, never a crash; only GET/HEAD on
 * /metrics, /healthz and / may answer 200.
 */
#include "export/prom.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct prom_http *setup(void)
{
	struct snapshot *s = snapshot_new(1);
	char err[256];
	struct prom_http *h;

	snprintf(s->c[0].id, SNAP_ID_LEN, "%s", "abc");
	snprintf(s->c[0].name, SNAP_NAME_LEN, "%s", "web \"1\"");
	s->c[0].v[MET_CPU_SECONDS] = 2.5;
	snapshot_publish(s);
	h = prom_http_new(NULL, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return h;
}

/* Read the answer until the server closes or 0.3 s pass (a request the server still waits on, e.g. with a NUL in its line, is dropped by its own timeout); bytes read. */
static size_t drain(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (poll(&p, 1, 300) == 1) {
		char tmp[65536];
		ssize_t r = read(fd, tmp, sizeof(tmp));

		if (r <= 0)
			break;
		if (n < cap - 1) {
			size_t k = (size_t)r < cap - 1 - n ? (size_t)r : cap - 1 - n;

			memcpy(buf + n, tmp, k);
			n += k;
		}
	}
	buf[n] = '\0';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct prom_http *h;
	char out[256];
	int sv[2];

	if (!h)
		h = setup();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (prom_http_add_connection(h, sv[1]) < 0) {
		close(sv[0]);
		return 0;
	}
	if (size)
		(void)!send(sv[0], data, size, MSG_NOSIGNAL);
	shutdown(sv[0], SHUT_WR);
	drain(sv[0], out, sizeof(out));
	close(sv[0]);
	/* A 200 needs a GET or HEAD request line. */
	if (!strncmp(out, "HTTP/1.1 200", 12) || !strncmp(out, "HTTP/1.0 200", 12)) {
		if (size < 4 || (memcmp(data, "GET ", 4) && memcmp(data, "HEAD", 4)))
			abort();
	}
	return 0;
}
