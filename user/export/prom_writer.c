/*
 * prom_writer.c - the Prometheus text-format writer: a growing buffer, family
 * headers, sample lines, label escaping and value spelling; see prom.h.
 */
#include "export/prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_writer_init(struct prom_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void prom_writer_free(struct prom_writer *w)
{
	free(w->buf);
	prom_writer_init(w);
}

/* Room for n more bytes plus a NUL; false (and w->oom) when out of memory. */
static bool reserve(struct prom_writer *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->oom)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	cap = w->cap ? w->cap : 16384;
	while (cap < w->len + n + 1)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->oom = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

void prom_write(struct prom_writer *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

void prom_printf(struct prom_writer *w, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		prom_write(w, small, (size_t)n);
		return;
	}
	if (!reserve(w, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s, or 0 when the bytes are invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Escape for a label value (quote too) or a HELP text (backslash, newline). */
static void escape(struct prom_writer *w, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (n == 0) {
			prom_write(w, "\xef\xbf\xbd", 3);
			p++;
		} else if (*p == '\\') {
			prom_write(w, "\\\\", 2), p++;
		} else if (*p == '\n') {
			prom_write(w, "\\n", 2), p++;
		} else if (*p == '"' && quote) {
			prom_write(w, "\\\"", 2), p++;
		} else {
			prom_write(w, (const char *)p, n);
			p += n;
		}
	}
}

void prom_escape_label(struct prom_writer *w, const char *s)
{
	escape(w, s ? s : "", true);
}

void prom_family(struct prom_writer *w, const char *name, enum prom_type type, const char *help)
{
	static const char *const types[] = { "counter", "gauge", "histogram", "untyped" };

	prom_printf(w, "# HELP %s ", name);
	escape(w, help ? help : "", false);
	prom_printf(w, "\n# TYPE %s %s\n", name, types[type]);
}

/* Shortest text that reads back as v: integers plainly, else %.15g or %.17g. */
static void write_value(struct prom_writer *w, double v)
{
	char buf[40];

	if (isnan(v)) {
		prom_write(w, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		prom_printf(w, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		prom_printf(w, "%.0f", v);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	prom_printf(w, "%s", buf);
}

void prom_sample(struct prom_writer *w, const char *name, const struct prom_label *labels,
		 size_t n, double value)
{
	bool open = false;

	prom_printf(w, "%s", name);
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].value)
			continue;
		prom_printf(w, "%s%s=\"", open ? "," : "{", labels[i].name);
		prom_escape_label(w, labels[i].value);
		prom_write(w, "\"", 1);
		open = true;
	}
	prom_write(w, open ? "} " : " ", open ? 2 : 1);
	write_value(w, value);
	prom_write(w, "\n", 1);
}

size_t prom_container_labels(const struct cont_snap *c, struct prom_label *out)
{
	out[0] = (struct prom_label){ "container_id", c->id };
	out[1] = (struct prom_label){ "container_name", c->name };
	out[2] = (struct prom_label){ "image", c->image };
	out[3] = (struct prom_label){ "service", c->service };
	return 4;
}
