/*
 * blob_fixture.h - locating a window record in a saved model state, for
 * tests that craft inconsistent state files.
 *
 * A window is saved as u32 n, u32 pos, then n f64 values (little-endian).
 * A window still filling has pos == n.
 */
#ifndef PRESAGE_TESTS_BLOB_FIXTURE_H
#define PRESAGE_TESTS_BLOB_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t blob_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Offset of the first "n, pos == n" header with lo <= n <= hi, or -1. */
static inline long blob_find_filling_window(const uint8_t *b, size_t len, uint32_t lo,
					    uint32_t hi)
{
	for (size_t i = 0; i + 8 <= len; i++) {
		uint32_t n = blob_u32(b + i);

		if (n >= lo && n <= hi && blob_u32(b + i + 4) == n && i + 8 + 8 * (size_t)n <= len)
			return (long)i;
	}
	return -1;
}

#endif
