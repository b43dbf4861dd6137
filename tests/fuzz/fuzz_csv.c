/*
 * fuzz_csv.c - libFuzzer target for the `timestamp,value` reader: any bytes
 * must yield rows or a clean error, never a crash, a leak or a non-finite
 * timestamp; re-formatting a parsed timestamp must not fail for sane years.
 */
#include "io/csv.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_series s;
	char err[512], buf[64];
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (csv_load_stream(f, "fuzz.csv", &s, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < s.n; i++) {
			if (!isfinite(s.t[i]) || (i && !(s.t[i] > s.t[i - 1])))
				abort();
		}
		csv_format_ts(&s.fmt, s.t[s.n - 1] + s.step, buf, sizeof(buf));
		csv_series_free(&s);
	}
	fclose(f);
	return 0;
}
