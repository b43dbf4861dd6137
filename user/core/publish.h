/*
 * publish.h - one writer publishes immutable objects, many readers hold
 * references (read-copy-update with reference counts).
 *
 * An object embeds struct pub_obj (anywhere) and sets its free function.
 * pub_set() swaps the slot's object; pub_get() returns the current one with a
 * reference taken; pub_put() drops a reference and frees the object when the
 * last is gone.  The lock covers only the swap and the counts, so a slow
 * reader never stalls the writer.
 */
#ifndef PRESAGE_PUBLISH_H
#define PRESAGE_PUBLISH_H

#include <pthread.h>

struct pub_obj {
	int refs;
	void (*free)(struct pub_obj *o);
};

struct pub_slot {
	pthread_mutex_t lock;
	struct pub_obj *cur;
};

#define PUB_SLOT_INIT { PTHREAD_MUTEX_INITIALIZER, NULL }

/* Publish o (the caller's reference moves to the slot; NULL clears it). */
void pub_set(struct pub_slot *s, struct pub_obj *o);
/* Current object with a reference taken, or NULL. */
struct pub_obj *pub_get(struct pub_slot *s);
/* Drop a reference taken by pub_get (or the creator's); NULL is a no-op. */
void pub_put(struct pub_slot *s, struct pub_obj *o);

#endif
