/*
 * hist.h - the log-linear latency histogram shared by BPF and user space.
 *
 * Values are nanoseconds.  Below 16 ns every value has its own bucket; above,
 * each power of two [2^e, 2^(e+1)) is split into 16 equal sub-buckets, so a
 * bucket's width is at most 1/16 of its lower bound: quantiles read from it
 * are within ~6% (half that with mid-point interpolation).  Exponents past
 * HIST_MAX_EXP (2^40 ns ~ 18 minutes) land in the last bucket.
 *
 * The bucket function is branch-light and loop-free so the verifier accepts it
 * in any program.
 */
#ifndef PRESAGE_HIST_H
#define PRESAGE_HIST_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define HIST_SUB_BITS 4
#define HIST_SUB      (1 << HIST_SUB_BITS)
#define HIST_MAX_EXP  40
#define HIST_BUCKETS  ((HIST_MAX_EXP - HIST_SUB_BITS + 2) * HIST_SUB) /* 608 */

/* Index of the most significant set bit of v (v != 0), without loops. */
static __always_inline unsigned int hist_msb(unsigned long long v)
{
	unsigned int r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { r += 1; }
	return r;
}

/* Bucket index of a value in nanoseconds, always < HIST_BUCKETS. */
static __always_inline unsigned int hist_bucket(unsigned long long v)
{
	unsigned int e, sub;

	if (v < HIST_SUB)
		return (unsigned int)v;
	e = hist_msb(v);
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	sub = (unsigned int)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

/* Inclusive lower bound (ns) of bucket idx; the upper bound is that of idx+1. */
static __always_inline unsigned long long hist_bucket_lower(unsigned int idx)
{
	unsigned int e, sub;

	if (idx < HIST_SUB)
		return idx;
	e = idx / HIST_SUB + HIST_SUB_BITS - 1;
	sub = idx % HIST_SUB;
	return (unsigned long long)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

#endif
