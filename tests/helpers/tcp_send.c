/*
 * tcp_send.c - test workload: send bytes over one TCP connection.
 *
 * Usage: tcp_send PORT BYTES   (connects to 127.0.0.1:PORT)
 * Writes BYTES in 64 KiB writes, shuts the connection down, waits for the
 * peer to close, prints the bytes written; exit 1 with a message on error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned long long want, sent = 0;
	static char buf[CHUNK];
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: tcp_send PORT BYTES\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	want = strtoull(argv[2], NULL, 10);
	memset(buf, 'x', sizeof(buf));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "tcp_send: failed to connect to port %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	while (sent < want) {
		size_t n = want - sent < CHUNK ? (size_t)(want - sent) : CHUNK;
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			fprintf(stderr, "tcp_send: failed to write: %s\n", strerror(errno));
			return 1;
		}
		sent += (unsigned long long)w;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	printf("%llu\n", sent);
	return 0;
}
