/*
 * fuzz_rlmodel.c - libFuzzer target for the RL policy's model file parser
 * (policy_new("rl") with a model path): arbitrary bytes must load or be
 * rejected with ENOMSG (another layout version) or EBADMSG, never crash or
 * leave a half-loaded policy.
 */
#include "policy/policy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct policy_params pp = { 0 };
	struct policy *p;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/presage-fuzz-rl-%d", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	pp.rl_model = path;
	p = policy_new("rl", &pp);
	if (!p && errno != EBADMSG && errno != ENOMSG && errno != ENOMEM && errno != EINVAL)
		abort();
	policy_free(p);
	unlink(path);
	return 0;
}
