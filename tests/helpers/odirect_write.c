/*
 * odirect_write.c - test workload: write MiB of data to a file with O_DIRECT.
 *
 * Usage: odirect_write FILE MIB
 * Writes MIB aligned 1 MiB blocks (bypassing the page cache, so every byte
 * reaches the block layer in this process's context), fsyncs, prints the
 * bytes written and exits 0; exits 1 with a message on any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (1 << 20)

int main(int argc, char **argv)
{
	long mib = argc > 2 ? strtol(argv[2], NULL, 10) : -1, i;
	unsigned long long total = 0;
	void *buf;
	int fd;

	if (argc != 3 || mib <= 0) {
		fprintf(stderr, "usage: odirect_write FILE MIB\n");
		return 2;
	}
	if (posix_memalign(&buf, 4096, BLOCK)) {
		fprintf(stderr, "odirect_write: out of memory\n");
		return 1;
	}
	memset(buf, 0xa5, BLOCK);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "odirect_write: failed to open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < mib; i++) {
		ssize_t n = write(fd, buf, BLOCK);

		if (n != BLOCK) {
			fprintf(stderr, "odirect_write: failed to write %s: %s\n", argv[1],
				n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		total += (unsigned long long)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "odirect_write: failed to sync %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	free(buf);
	printf("%llu\n", total);
	return 0;
}
