/*
 * rl_model.c - the RL policy's weights: compiled-in default, model file
 * load and save (layout in rl_model.h).
 *
 * The loader reads into a scratch copy and publishes it only when the whole
 * file checked out, so a bad file never leaves a half-loaded agent.
 */
#include "policy/rl_model.h"

#include "core/state.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * From halfway between the point forecast and the upper bound to the upper
 * bound itself.  1.0 is exactly the predictive policy's band, so the agent
 * is at most as cautious as predictive, and its cheapest choice still keeps
 * half the forecast's upper margin.
 */
const double rl_margin[RL_ACTIONS] = {0.5, 0.625, 0.75, 0.875, 1.0};

static const double rl_default[RL_ACTIONS + RL_NW] = {
#include "policy/rl_default.inc"
};

void rl_weights_default(struct rl_weights *q)
{
	memcpy(q->bias, rl_default, sizeof(q->bias));
	memcpy(q->w, rl_default + RL_ACTIONS, sizeof(q->w));
}

static bool read_finite(FILE *f, double *v)
{
	return fscanf(f, "%lf", v) == 1 && isfinite(*v);
}

static int parse(FILE *f, struct rl_weights *q)
{
	int ver, na, nf, nt, nn, c;
	double *w = &q->w[0][0][0][0], z;

	if (fscanf(f, "presage-rl %d", &ver) != 1)
		return -EBADMSG;
	if (ver != RL_MODEL_VERSION)
		return -ENOMSG;
	if (fscanf(f, "%d %d %d %d", &na, &nf, &nt, &nn) != 4 || na != RL_ACTIONS ||
	    nf != RL_FEATURES || nt != RL_TILINGS || nn != RL_TILES)
		return -EBADMSG;
	for (int i = 0; i < RL_ACTIONS; i++)
		if (!read_finite(f, &z) || fabs(z - rl_margin[i]) > 1e-9)
			return -EBADMSG;
	for (int i = 0; i < RL_ACTIONS; i++)
		if (!read_finite(f, &q->bias[i]))
			return -EBADMSG;
	for (int i = 0; i < RL_NW; i++)
		if (!read_finite(f, &w[i]))
			return -EBADMSG;
	while ((c = fgetc(f)) != EOF)
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return -EBADMSG;
	return 0;
}

int rl_weights_load(struct rl_weights *q, const char *path)
{
	struct rl_weights *tmp = malloc(sizeof(*tmp));
	FILE *f;
	int rc;

	if (!tmp)
		return -ENOMEM;
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	rc = parse(f, tmp);
	fclose(f);
	if (!rc)
		*q = *tmp;
	free(tmp);
	return rc;
}

int rl_weights_save(const struct rl_weights *q, const char *path)
{
	const double *w = &q->w[0][0][0][0];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return -errno;
	fprintf(f, "presage-rl %d %d %d %d %d\n", RL_MODEL_VERSION, RL_ACTIONS, RL_FEATURES,
		RL_TILINGS, RL_TILES);
	for (int i = 0; i < RL_ACTIONS; i++)
		fprintf(f, "%.6g%c", rl_margin[i], i + 1 < RL_ACTIONS ? ' ' : '\n');
	for (int i = 0; i < RL_ACTIONS; i++)
		fprintf(f, "%.6g%c", q->bias[i], i + 1 < RL_ACTIONS ? ' ' : '\n');
	for (int i = 0; i < RL_NW; i++)
		fprintf(f, "%.6g%c", w[i], (i + 1) % RL_TILES ? ' ' : '\n');
	err = fclose(f) ? -ENOMEM : state_write_atomic(path, buf, len);
	free(buf);
	return err;
}
