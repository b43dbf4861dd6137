/*
 * fuzz_ctl.c - libFuzzer target for the control protocol: any request line
 * gets a well-formed response line (parsed back by the client's parser),
 * and any response line is parsed or rejected cleanly.  A small snapshot
 * and a few bus events are published so top, status, events and explain
 * run their real code.
 */
#include "core/bus.h"
#include "ctl/ctl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
	struct snapshot *s = snapshot_new(2);

	snprintf(s->c[0].id, SNAP_ID_LEN, "%s", "abcdef0123456789");
	snprintf(s->c[0].name, SNAP_NAME_LEN, "%s", "web-1");
	snprintf(s->c[0].service, SNAP_SERVICE_LEN, "%s", "web");
	s->c[0].v[MET_CPU_SECONDS] = 1;
	snprintf(s->c[1].id, SNAP_ID_LEN, "%s", "4242");
	snprintf(s->c[1].name, SNAP_NAME_LEN, "%s", "mygroup");
	snapshot_publish(s);
	bus_emit(BUS_SCALE, "abcdef0123456789", "web-1", "web", "scale_up", "forecast", "2 -> 3");
	bus_emit(BUS_ANOMALY, "4242", "mygroup", "", "anomaly", "cpu", "score 0.9");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct ctl_response resp;
	char err[512], *line;

	if (!once++)
		setup();
	line = ctl_dispatch((const char *)data, size);
	if (!line)
		return 0; /* out of memory only */
	if (ctl_response_parse(line, strlen(line), &resp, err, sizeof(err)) != 0)
		abort(); /* the daemon must always answer in its own protocol */
	ctl_response_free(&resp);
	free(line);
	if (ctl_response_parse((const char *)data, size, &resp, err, sizeof(err)) == 0)
		ctl_response_free(&resp);
	return 0;
}
