/*
 * sbuf.c - binary state buffers (see sbuf.h).  Little-endian on disk
 * regardless of the host so state files move between machines.
 */
#include "model/sbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sbuf_put(struct sbuf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		uint8_t *d;

		while (nc < b->len + n)
			nc *= 2;
		d = realloc(b->data, nc);
		if (!d) {
			b->err = -ENOMEM;
			return;
		}
		b->data = d;
		b->cap = nc;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void sbuf_u32(struct sbuf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	sbuf_put(b, x, 4);
}

void sbuf_i64(struct sbuf *b, int64_t v)
{
	uint64_t u = (uint64_t)v;

	sbuf_u32(b, (uint32_t)u);
	sbuf_u32(b, (uint32_t)(u >> 32));
}

void sbuf_f64(struct sbuf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	sbuf_i64(b, (int64_t)u);
}

void sbuf_f64v(struct sbuf *b, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sbuf_f64(b, v[i]);
}

void sbuf_release(struct sbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void sbuf_reader_init(struct sbuf_reader *r, const void *p, size_t n)
{
	r->data = p;
	r->len = n;
	r->pos = 0;
	r->err = 0;
}

int sbuf_get(struct sbuf_reader *r, void *p, size_t n)
{
	if (r->err || n > r->len - r->pos) {
		r->err = -EBADMSG;
		memset(p, 0, n);
		return r->err;
	}
	memcpy(p, r->data + r->pos, n);
	r->pos += n;
	return 0;
}

uint32_t sbuf_get_u32(struct sbuf_reader *r)
{
	uint8_t x[4];

	sbuf_get(r, x, 4);
	return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

int64_t sbuf_get_i64(struct sbuf_reader *r)
{
	uint64_t lo = sbuf_get_u32(r), hi = sbuf_get_u32(r);

	return (int64_t)(lo | hi << 32);
}

double sbuf_get_f64(struct sbuf_reader *r)
{
	uint64_t u = (uint64_t)sbuf_get_i64(r);
	double v;

	memcpy(&v, &u, 8);
	if (!isfinite(v)) {
		r->err = -EBADMSG;
		return 0;
	}
	return v;
}

void sbuf_get_f64v(struct sbuf_reader *r, double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = sbuf_get_f64(r);
}

uint32_t sbuf_get_u32_range(struct sbuf_reader *r, uint32_t lo, uint32_t hi)
{
	uint32_t v = sbuf_get_u32(r);

	if (v < lo || v > hi) {
		r->err = -EBADMSG;
		return lo;
	}
	return v;
}
