/*
 * publish.c - reference-counted publication of immutable objects; see publish.h.
 */
#include "core/publish.h"

#include <stdbool.h>
#include <stddef.h>

void pub_set(struct pub_slot *s, struct pub_obj *o)
{
	struct pub_obj *old;

	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = o;
	pthread_mutex_unlock(&s->lock);
	pub_put(s, old);
}

struct pub_obj *pub_get(struct pub_slot *s)
{
	struct pub_obj *o;

	pthread_mutex_lock(&s->lock);
	o = s->cur;
	if (o)
		o->refs++;
	pthread_mutex_unlock(&s->lock);
	return o;
}

void pub_put(struct pub_slot *s, struct pub_obj *o)
{
	bool last;

	if (!o)
		return;
	pthread_mutex_lock(&s->lock);
	last = --o->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last)
		o->free(o);
}
