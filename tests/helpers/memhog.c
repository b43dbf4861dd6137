/*
 * memhog.c - test workload: allocate and touch memory until killed.
 *
 * Usage: memhog MIB   (touch up to MIB MiB in 1 MiB steps, then sleep)
 * Meant to run in a memory-limited cgroup where the OOM killer ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Published so the compiler cannot drop the allocations. */
char *volatile memhog_last;

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 0, i;

	if (mib <= 0) {
		fprintf(stderr, "usage: memhog MIB\n");
		return 2;
	}
	for (i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);

		if (!p)
			return 1;
		memset(p, (int)i + 1, 1 << 20);
		memhog_last = p;
	}
	pause();
	return 0;
}
