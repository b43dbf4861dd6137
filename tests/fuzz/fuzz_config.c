/*
 * fuzz_config.c - libFuzzer target for the configuration parser: any bytes
 * must give a validated configuration or error lines, never a crash or a
 * leak, and an accepted configuration must respect the table's rules.
 */
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[4096];
	struct presage_config *c = cfg_parse((const char *)data, size, err, sizeof(err));

	if (!c) {
		if (!err[0])
			abort(); /* every rejection must say why */
		return 0;
	}
	if (c->tick_seconds < 0.1 || c->model_step_seconds < c->tick_seconds ||
	    c->n_services > CFG_MAX_SERVICES || c->telemetry.n_ignore > CFG_MAX_LIST)
		abort();
	for (int i = 0; i < c->n_services; i++)
		if (c->services[i].min > c->services[i].max || !c->services[i].name[0])
			abort();
	cfg_free(c);
	return 0;
}
