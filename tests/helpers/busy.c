/*
 * busy.c - test workload: spin on the CPU for a number of seconds.
 *
 * Usage: busy SECONDS   (wall-clock seconds; 0 or absent: until killed)
 * Exit status 0 after the time is up, 2 on a bad argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 0, end;
	unsigned long i;

	if (secs < 0) {
		fprintf(stderr, "busy: seconds must be >= 0\n");
		return 2;
	}
	end = now() + secs;
	for (;;) {
		for (i = 0; i < 100000; i++)
			sink += i;
		if (secs > 0 && now() >= end)
			return 0;
	}
}
