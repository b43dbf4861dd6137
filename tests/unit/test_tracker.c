/*
 * test_tracker.c - rates, missing values and quantiles of the per-cgroup tracker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/tracker.h"

#include <math.h>
#include <stdlib.h>

static void test_rates_and_missing(void **state)
{
	struct tracker *t = calloc(1, sizeof(*t));
	struct raw_sample *r = malloc(sizeof(*r));
	struct snapshot *s = snapshot_new(1);
	struct cont_snap *c = &s->c[0];

	raw_sample_clear(r);
	r->have_bpf = true;
	r->cpu_ns = 1000000000ull;
	r->net_tx = 1000;
	tracker_update(t, r, 10.0, 0.9, c);
	assert_true(fabs(c->v[MET_CPU_SECONDS] - 1.0) < 1e-12);
	assert_true(isnan(c->v[MET_CPU_CORES]));      /* no previous tick */
	assert_true(isnan(c->v[MET_MEM_WORKING_SET])); /* gauge unknown */
	assert_true(isnan(c->v[MET_REQUESTS]));        /* no request telemetry */

	r->cpu_ns = 3000000000ull; /* +2 s of CPU over 2 s: 1 core */
	r->net_tx = 5000;
	r->mem_working_set = 4096;
	tracker_update(t, r, 12.0, 0.9, c);
	assert_true(fabs(c->v[MET_CPU_CORES] - 1.0) < 1e-9);
	assert_true(fabs(c->v[MET_NET_TX_BPS] - 2000) < 1e-9);
	assert_true(fabs(c->v[MET_MEM_WORKING_SET] - 4096) < 1e-9);

	r->cpu_ns = 1; /* counter restarted (map entry recreated): no negative rate */
	tracker_update(t, r, 13.0, 0.9, c);
	assert_true(isnan(c->v[MET_CPU_CORES]));
	snapshot_release(s);
	free(r);
	free(t);
}

static void test_request_quantiles(void **state)
{
	struct tracker *t = calloc(1, sizeof(*t));
	struct raw_sample *r = malloc(sizeof(*r));
	struct snapshot *s = snapshot_new(1);
	struct cont_snap *c = &s->c[0];

	raw_sample_clear(r);
	r->have_req = true;
	tracker_update(t, r, 1.0, 0.9, c);
	for (int i = 0; i < 1000; i++)
		r->req_hist[hist_bucket(2000000 + (uint64_t)i * 1000)]++; /* 2..3 ms */
	r->req_class[CODE_2XX] = 990;
	r->req_class[CODE_5XX] = 10;
	r->req_count = 1000;
	tracker_update(t, r, 2.0, 0.9, c);
	assert_true(fabs(c->v[MET_REQ_P50] - 0.0025) < 0.0025 * 0.05);
	assert_true(c->v[MET_REQ_P99] > c->v[MET_REQ_P50]);
	assert_true(fabs(c->v[MET_REQUESTS_PER_SEC] - 1000) < 1e-9);
	assert_true(fabs(c->v[MET_ERRORS_5XX] - 10) < 1e-9);
	assert_int_equal(c->req.count, 1000);
	snapshot_release(s);
	free(r);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_and_missing),
		cmocka_unit_test(test_request_quantiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
