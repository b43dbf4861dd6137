/*
 * test_config.c - the configuration loader: defaults, a full good file,
 * unknown keys named by path, bounds, wrong types, cross-key rules, every
 * error reported, flag overrides and atomic reload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct presage_config *parse(const char *text, char *err, size_t len)
{
	return cfg_parse(text, strlen(text), err, len);
}

static void test_defaults(void **state)
{
	struct presage_config *c = cfg_new_defaults();

	assert_non_null(c);
	assert_true(c->tick_seconds == 1);
	assert_string_equal(c->listen, "127.0.0.1:9560");
	assert_string_equal(c->socket, "/run/presage/presage.sock");
	assert_string_equal(c->state_dir, "/var/lib/presage");
	assert_string_equal(c->driver, "auto");
	assert_string_equal(c->engine.model, "ensemble");
	assert_int_equal(c->telemetry.n_ignore, 0);
	assert_int_equal(c->n_services, 0);
	cfg_free(c);
	cfg_free(NULL);
}

static const char good[] =
	"{\"tick_seconds\": 0.5, \"model_step_seconds\": 30, \"listen\": \"[::1]:9999\",\n"
	" \"log_level\": \"debug\", \"dry_run\": true, \"driver\": \"docker\",\n"
	" \"docker\": {\"host\": \"unix:///run/docker.sock\", \"timeout_ms\": 2000},\n"
	" \"telemetry\": {\"quantile_window_seconds\": 30, \"max_cgroups\": 512,\n"
	"                 \"ignore_cgroups\": [\"/system.slice\", \"/user.slice\"]},\n"
	" \"engine\": {\"model\": \"holt_winters\", \"coverage\": 0.95, \"season\": 86400},\n"
	" \"policy\": {\"default\": \"reactive\"},\n"
	" \"actuation\": {\"cooldown_seconds\": 10, \"max_actions_per_minute\": 5},\n"
	" \"services\": {\"web\": {\"min\": 2, \"max\": 8, \"policy\": \"rl\", \"slo_latency_ms\": 200,\n"
	"                          \"target\": 0.6, \"capacity\": 100, \"cpu_min\": 0.5, \"cpu_max\": 2,\n"
	"                          \"memory_min\": 1e8, \"memory_max\": 1e9, \"priority\": 5,\n"
	"                          \"cost\": 2, \"cgroups\": [\"/web\"]},\n"
	"              \"db\": {}}}\n";

static void test_good_file(void **state)
{
	char err[512];
	struct presage_config *c = parse(good, err, sizeof(err));
	const struct cfg_service *web;

	assert_non_null(c);
	assert_true(c->tick_seconds == 0.5);
	assert_string_equal(c->listen, "[::1]:9999");
	assert_true(c->dry_run);
	assert_int_equal(c->docker.timeout_ms, 2000);
	assert_int_equal(c->telemetry.n_ignore, 2);
	assert_string_equal(c->telemetry.ignore_cgroups[1], "/user.slice");
	assert_string_equal(c->policy.default_policy, "reactive");
	assert_int_equal(c->n_services, 2);
	web = cfg_service_find(c, "web");
	assert_non_null(web);
	assert_int_equal(web->max, 8);
	assert_true(web->memory_max == 1e9);
	assert_int_equal(web->n_cgroups, 1);
	assert_string_equal(web->cgroups[0], "/web");
	assert_int_equal(cfg_service_find(c, "db")->min, 1); /* defaults per service */
	assert_null(cfg_service_find(c, "nope"));
	cfg_free(c);
}

static void expect_error(const char *text, const char *needle)
{
	char err[1024];
	struct presage_config *c = parse(text, err, sizeof(err));

	assert_null(c);
	assert_int_equal(errno, EINVAL);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
}

static void test_unknown_keys(void **state)
{
	expect_error("{\"telemetry\": {\"tikc\": 3}}", "unknown key \"telemetry.tikc\"");
	expect_error("{\"tick\": 1}", "unknown key \"tick\"");
	expect_error("{\"services\": {\"web\": {\"mni\": 1}}}", "unknown key \"services.web.mni\"");
	expect_error("{\"docker\": {\"host\": \"/s\", \"x\": {\"y\": 1}}}", "unknown key \"docker.x\"");
	expect_error("{\"tick_seconds\": 1, \"tick_seconds\": 2}", "duplicate key \"tick_seconds\"");
	/* One key spelt nested and dotted in one file is a duplicate too. */
	expect_error("{\"docker\": {\"host\": \"/a\"}, \"docker.host\": \"/b\"}",
		     "duplicate key \"docker.host\"");
	expect_error("{\"services\": {\"web\": {\"min\": 1, \"min\": 2}}}",
		     "duplicate key \"services.web.min\"");
	/* A key holding a newline is reported on one line. */
	expect_error("{\"a\\nb\": 1}", "unknown key \"a?b\"");
}

static void test_bounds(void **state)
{
	expect_error("{\"tick_seconds\": 0}", "\"tick_seconds\" = 0 is out of bounds [0.1, 60]");
	expect_error("{\"telemetry\": {\"max_cgroups\": 1e9}}", "telemetry.max_cgroups");
	expect_error("{\"docker\": {\"timeout_ms\": 150.5}}", "must be an integer");
	expect_error("{\"listen\": \"localhost\"}", "expected ADDR:PORT");
	expect_error("{\"listen\": \"127.0.0.1:70000\"}", "port must be");
	expect_error("{\"socket\": \"relative.sock\"}", "absolute path");
	expect_error("{\"driver\": \"k8s\"}", "\"driver\" = \"k8s\" is not one of");
	expect_error("{\"telemetry\": {\"ignore_cgroups\": [\"/a/../b\"]}}", "ignore_cgroups[0]");
	expect_error("{\"services\": {\"web\": {\"min\": 5, \"max\": 3}}}",
		     "\"services.web.min\" = 5 exceeds \"services.web.max\" = 3");
	expect_error("{\"tick_seconds\": 10, \"model_step_seconds\": 5}", "shorter than");
	expect_error("{\"services\": {\"a/b\": {}}}", "service name");
}

static void test_types(void **state)
{
	expect_error("{\"tick_seconds\": \"1\"}", "\"tick_seconds\" must be a number, got a string");
	expect_error("{\"dry_run\": 1}", "\"dry_run\" must be a boolean, got a number");
	expect_error("{\"telemetry\": 3}", "\"telemetry\" must be an object, got a number");
	expect_error("{\"telemetry\": {\"ignore_cgroups\": [1]}}", "ignore_cgroups[0]\" must be a string");
	expect_error("{\"services\": []}", "\"services\" must be an object");
	expect_error("[1, 2]", "must be a JSON object");
	expect_error("{\"tick_seconds\": 1,\n \"x\": }", "invalid JSON at line 2");
	/* A second object or a stray brace after the first is not ignored. */
	expect_error("{\"tick_seconds\": 1}\n{\"tick_seconds\": 2}", "trailing data");
	expect_error("{\"tick_seconds\": 1} }", "trailing data after the configuration object at line 1");
}

static void test_all_errors_reported(void **state)
{
	char err[1024];
	int lines = 1;

	assert_null(parse("{\"a\": 1, \"tick_seconds\": -1, \"driver\": 3, \"engine\": {\"b\": 0}}", err,
			  sizeof(err)));
	for (const char *p = err; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 4);
}

static void test_load_and_overrides(void **state)
{
	char path[] = "/tmp/presage-test-config-XXXXXX", err[512];
	struct presage_config *c = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	close(fd);
	assert_int_equal(cfg_override("listen", "127.0.0.1:1234", err, sizeof(err)), 0);
	assert_int_equal(cfg_override("telemetry.ignore_cgroups", "/a,/b,/c", err, sizeof(err)), 0);
	assert_int_equal(cfg_override("tick_seconds", "0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tick_seconds"));
	assert_int_equal(cfg_override("nope", "1", err, sizeof(err)), -EINVAL);
	assert_int_equal(cfg_load(path, true, &c, err, sizeof(err)), 0);
	assert_string_equal(c->listen, "127.0.0.1:1234");
	assert_int_equal(c->telemetry.n_ignore, 3);
	assert_string_equal(c->source, path);
	cfg_free(c);
	cfg_clear_overrides();
	unlink(path);
	assert_int_equal(cfg_load(path, true, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(cfg_load(path, false, &c, err, sizeof(err)), 0); /* absent default */
	assert_string_equal(c->source, "");
	cfg_free(c);
}

static void test_publish_and_reload(void **state)
{
	char path[] = "/tmp/presage-test-config-XXXXXX";
	struct presage_config *c = cfg_new_defaults(), *held;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	cfg_publish(c);
	held = cfg_acquire();
	assert_ptr_equal(held, c);
	f = fopen(path, "w");
	fputs("{\"tick_seconds\": 2, \"engine\": {\"modle\": \"x\"}}", f);
	fclose(f);
	assert_int_equal(cfg_reload(path, true), -EINVAL);
	assert_ptr_equal(cfg_acquire(), c); /* the bad file changed nothing */
	cfg_release(c);
	f = fopen(path, "w");
	fputs("{\"tick_seconds\": 2, \"log_level\": \"error\"}", f);
	fclose(f);
	assert_int_equal(cfg_reload(path, true), 0);
	c = cfg_acquire();
	assert_true(c->tick_seconds == 2);
	assert_true(held->tick_seconds == 1); /* the old one lives while held */
	cfg_release(c);
	cfg_release(held);
	cfg_publish(NULL);
	assert_null(cfg_acquire());
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_load_and_overrides),
		cmocka_unit_test(test_publish_and_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
