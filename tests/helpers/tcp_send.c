/*
 * tcp_send.c - test workload: send bytes over one TCP connection.
 *
 * Usage: tcp_send PORT BYTES [RETRANS_FILE]   (connects to 127.0.0.1:PORT)
 * Writes BYTES in 64 KiB writes, shuts the connection down, waits for the
 * peer to close, prints the bytes written; exit 1 with a message on error.
 * With RETRANS_FILE, writes there the payload bytes the kernel sent again
 * (TCP_INFO tcpi_bytes_retrans): they leave the cgroup a second time, so a
 * byte count taken at egress includes them (loopback retransmits too, e.g.
 * when a stalled VM lets the retransmission timer fire).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
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

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: tcp_send PORT BYTES [RETRANS_FILE]\n");
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
	if (argc == 4) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);
		FILE *f;

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0) {
			fprintf(stderr, "tcp_send: TCP_INFO: %s\n", strerror(errno));
			return 1;
		}
		f = fopen(argv[3], "w");
		if (!f || fprintf(f, "%llu\n", (unsigned long long)ti.tcpi_bytes_retrans) < 0 ||
		    fclose(f)) {
			fprintf(stderr, "tcp_send: failed to write %s\n", argv[3]);
			return 1;
		}
	}
	close(fd);
	printf("%llu\n", sent);
	return 0;
}
