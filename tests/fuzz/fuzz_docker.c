/*
 * fuzz_docker.c - libFuzzer target for the Docker Engine API response
 * parsers (version, inspect, list, /events lines, service, tasks, error
 * bodies) and the request bodies built from them (clone, update, swarm spec).
 * Every input goes through every parser: each must reject garbage cleanly.
 */
#include "actuate/drv_docker.h"
#include "runtime/docker.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_inspect(const char *s, size_t n)
{
	static struct docker_container c;
	struct act_resize r = { .cpus = 1.5, .memory = 64 << 20, .cpu_weight = 200 };
	char *body;

	if (docker_parse_inspect(s, n, &c) == 0) {
		docker_label_get(&c, "presage.enable");
		act_docker_current(&c, &r);
		body = act_docker_update_body(&c, &r);
		free(body);
	}
	body = act_docker_clone_body(s, n);
	free(body);
}

static void fuzz_service(const char *s, size_t n)
{
	struct docker_service *svc = malloc(sizeof(*svc));
	char *spec;

	if (svc && docker_parse_service(s, n, svc) == 0) {
		spec = act_swarm_spec_with_replicas(svc->spec, strlen(svc->spec), 3);
		free(spec);
		free(svc->spec);
	}
	free(svc);
	spec = act_swarm_spec_with_replicas(s, n, 2);
	free(spec);
	act_swarm_running_tasks(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct docker_summary rows[8];
	struct docker_event ev;
	char api[16], msg[128], *z;

	docker_parse_version(s, size, api, sizeof(api));
	docker_parse_list(s, size, rows, 8);
	docker_parse_event(s, size, &ev);
	docker_parse_error(s, size, msg, sizeof(msg));
	fuzz_inspect(s, size);
	fuzz_service(s, size);
	/* The time and version parsers take C strings. */
	z = malloc(size + 1);
	if (z) {
		memcpy(z, data, size);
		z[size] = '\0';
		docker_parse_time(z);
		docker_version_cmp(z, "1.41");
		free(z);
	}
	return 0;
}
