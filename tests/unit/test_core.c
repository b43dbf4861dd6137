/*
 * test_core.c - snapshot publication, the event bus and state files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/metric.h"
#include "core/snapshot.h"
#include "core/state.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_snapshot_lifetime(void **state)
{
	struct snapshot *a = snapshot_new(2), *b = snapshot_new(0), *held;

	snprintf(a->c[0].id, sizeof(a->c[0].id), "%s", "0123456789abcdef");
	snprintf(a->c[1].name, sizeof(a->c[1].name), "%s", "web-1");
	assert_true(isnan(a->c[1].v[MET_CPU_SECONDS]));
	snapshot_publish(a);
	held = snapshot_acquire();
	assert_ptr_equal(held, a);
	snapshot_publish(b); /* a survives: held has a reference */
	assert_non_null(snapshot_find(held, "0123"));
	assert_non_null(snapshot_find(held, "web-1"));
	assert_null(snapshot_find(held, "012"));   /* prefixes need 4 chars */
	assert_null(snapshot_find(held, "nope"));
	snapshot_release(held);                    /* frees a (ASan checks) */
	held = snapshot_acquire();
	assert_ptr_equal(held, b);
	snapshot_release(held);
	snapshot_publish(NULL);
	assert_null(snapshot_acquire());
}

static void test_bus_ring(void **state)
{
	struct bus_event *out = calloc(BUS_CAPACITY, sizeof(*out));
	uint64_t missed;
	size_t n;

	bus_reset();
	for (int i = 0; i < BUS_CAPACITY + 10; i++)
		bus_emit(BUS_SCALE, "c1", "web", "svc", "scale_up", "forecast", "event %d", i);
	assert_int_equal(bus_last_seq(), BUS_CAPACITY + 10);
	n = bus_read(0, out, BUS_CAPACITY, &missed);
	assert_int_equal(n, BUS_CAPACITY);
	assert_int_equal(missed, 10);
	assert_int_equal(out[0].seq, 11);
	assert_string_equal(out[0].message, "event 10");
	n = bus_read(BUS_CAPACITY + 5, out, 100, &missed);
	assert_int_equal(n, 5);
	assert_int_equal(missed, 0);
	assert_string_equal(out[4].action, "scale_up");
	free(out);
}

static void test_metric_keys(void **state)
{
	for (int i = 0; i < MET__COUNT; i++) {
		const struct metric_desc *d = &metric_descs[i];

		assert_non_null(d->key);
		assert_int_equal(metric_by_key(d->key), i);
		if (d->prom) /* JSON key = Prometheus name without the prefix */
			assert_string_equal(d->prom + strlen("presage_container_"), d->key);
	}
	assert_int_equal(metric_by_key("cpu_seconds_total"), MET_CPU_SECONDS);
	assert_int_equal(metric_by_key("net_rx_bytes_total"), MET_NET_RX_BYTES);
}

static void test_state_files(void **state)
{
	char dir[] = "/tmp/presage-state-XXXXXX", path[256], key[64];
	size_t len;
	char *buf;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(state_dir_init(dir), 0);
	snprintf(path, sizeof(path), "%s/models/x.model", dir);
	assert_int_equal(state_write_atomic(path, "abc", 3), 0);
	assert_int_equal(state_write_atomic(path, "hello", 5), 0);
	buf = state_read_file(path, 100, &len);
	assert_non_null(buf);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);
	assert_null(state_read_file(path, 2, &len)); /* over the cap */
	state_key_to_file("nginx:1.25/../x", key, sizeof(key));
	assert_null(strchr(key, '/'));
	assert_string_equal(key, "nginx%3A1.25%2F..%2Fx");
	state_key_to_file("..", key, sizeof(key));
	assert_string_not_equal(key, "..");
	unlink(path);
	snprintf(path, sizeof(path), "rm -r '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_lifetime),
		cmocka_unit_test(test_bus_ring),
		cmocka_unit_test(test_metric_keys),
		cmocka_unit_test(test_state_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
