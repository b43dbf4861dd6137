/*
 * crash.c - test workload: die of a fatal signal.
 *
 * Usage: crash segv|abrt   (a NULL write, or abort())
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "abrt") == 0)
		abort();
	if (argc == 2 && strcmp(argv[1], "segv") == 0) {
		volatile int *p = NULL;

		*p = 1;
	}
	fprintf(stderr, "usage: crash segv|abrt\n");
	return 2;
}
