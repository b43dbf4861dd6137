/*
 * drv_dryrun.c - the dryrun actuation driver: changes nothing anywhere.
 *
 * The safety layer logs and publishes what would be done (the driver is
 * dry-run by definition).  To let a policy run closed-loop in simulation,
 * the driver remembers the replica count it was last asked for per group,
 * starting from the group's minimum (at least 1).
 */
#include "actuate/act.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dry_group {
	char service[SNAP_SERVICE_LEN];
	int replicas;
};

struct dry {
	struct dry_group g[ACT_MAX_GROUPS];
	size_t n;
};

static int dry_open(struct act_driver *d)
{
	d->priv = calloc(1, sizeof(struct dry));
	return d->priv ? 0 : -ENOMEM;
}

static void dry_close(struct act_driver *d)
{
	free(d->priv);
	d->priv = NULL;
}

/* The remembered group, created at its minimum; NULL when the table is full. */
static struct dry_group *group(struct act_driver *d, const struct act_group *g)
{
	struct dry *s = d->priv;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->g[i].service, g->service))
			return &s->g[i];
	if (s->n >= ACT_MAX_GROUPS)
		return NULL;
	snprintf(s->g[s->n].service, sizeof(s->g[s->n].service), "%s", g->service);
	s->g[s->n].replicas = g->min > 0 ? g->min : 1;
	return &s->g[s->n++];
}

static int dry_resize(struct act_driver *d, const struct act_target *t, const struct act_resize *r,
		      struct act_resize *prev)
{
	return 0;
}

static int dry_replicas(struct act_driver *d, const struct act_group *g, int *out)
{
	struct dry_group *x;
	int rc = -ENOSPC;

	pthread_mutex_lock(&d->lock);
	x = group(d, g);
	if (x) {
		*out = x->replicas;
		rc = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int dry_scale(struct act_driver *d, const struct act_group *g, int from, int to)
{
	struct dry_group *x;

	pthread_mutex_lock(&d->lock);
	x = group(d, g);
	if (x)
		x->replicas = to;
	pthread_mutex_unlock(&d->lock);
	return x ? to : -ENOSPC;
}

const struct act_ops act_dryrun_ops = {
	.name = "dryrun",
	.open = dry_open,
	.close = dry_close,
	.resize = dry_resize,
	.replicas = dry_replicas,
	.scale = dry_scale,
};
