/*
 * sbuf.h - little-endian binary (de)serialisation for model state.
 *
 * Writers append to a growable buffer and latch the first error; readers
 * consume a borrowed buffer, latch a short read, and never read past its end,
 * so a truncated or hostile state file yields an error, not a crash.
 */
#ifndef PRESAGE_MODEL_SBUF_H
#define PRESAGE_MODEL_SBUF_H

#include <stddef.h>
#include <stdint.h>

struct sbuf {
	uint8_t *data;
	size_t len, cap;
	int err; /* first -errno, sticky */
};

struct sbuf_reader {
	const uint8_t *data;
	size_t len, pos;
	int err; /* -EBADMSG once a read ran past the end or failed a check */
};

void sbuf_put(struct sbuf *b, const void *p, size_t n);
void sbuf_u32(struct sbuf *b, uint32_t v);
void sbuf_i64(struct sbuf *b, int64_t v);
void sbuf_f64(struct sbuf *b, double v);
void sbuf_f64v(struct sbuf *b, const double *v, size_t n);
/* Release the buffer's memory; the struct is zeroed. */
void sbuf_release(struct sbuf *b);

void sbuf_reader_init(struct sbuf_reader *r, const void *p, size_t n);
int sbuf_get(struct sbuf_reader *r, void *p, size_t n);
uint32_t sbuf_get_u32(struct sbuf_reader *r);
int64_t sbuf_get_i64(struct sbuf_reader *r);
/* Non-finite values read back as 0 and mark the reader bad: state is never trusted. */
double sbuf_get_f64(struct sbuf_reader *r);
void sbuf_get_f64v(struct sbuf_reader *r, double *v, size_t n);
/* Read a u32 that must lie in [lo, hi]; out of range marks the reader bad. */
uint32_t sbuf_get_u32_range(struct sbuf_reader *r, uint32_t lo, uint32_t hi);

#endif
