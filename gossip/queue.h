/*  queue.h -- the broadcast queue: updates waiting to ride on messages.

    Every message a node sends carries some of the updates it has to
    spread (SWIM's piggybacking): the least-sent first, membership news
    ahead of resource estimates, each until it was sent `limit` times
    (the caller's retransmit limit).  An update is named by the number of
    the node it is about (a name of the pool, pool.h) and its class; a
    node has at most one update queued per class, so a newer update about
    it replaces the older one still waiting.  The queue holds no copy of
    an update: a record is a reference into the pool, and a SUSPECT or
    DEAD status (record 0) is the caller's to keep until the queue gives
    it up.

    Sending is two steps: swim_queue_select picks the updates for one
    message, and swim_queue_sent counts them as sent once the message is
    on its way (a message that is not sent leaves the queue as it was).

    A class files its updates in levels by how many times they were sent;
    a level is a ring of items, each a node and a stamp.  An update that
    leaves its level early (replaced, dropped) leaves a stale item behind,
    known by a stamp that is no longer the node's; stale items are
    skipped, and dropped when a ring is rebuilt.  Rings, not linked lists:
    the next updates to send are found without visiting each in turn,
    which in a large cluster costs a cache miss apiece. */
#ifndef GL_QUEUE_H
#define GL_QUEUE_H

#include "pool.h"

enum { SWIM_CLASS_MEMBERSHIP = 0, SWIM_CLASS_RES = 1, SWIM_CLASSES = 2 };

typedef struct swim_queue swim_queue_t;

/* An update picked to send: about name `id`, in class `cls`, the record
   `rec` (0: the caller's status), sent `level` times so far. */
typedef struct {
    uint32_t id, level, rec;
    uint8_t cls;
} swim_pick_t;

/* The queue tells the caller when it gives up an update on its own (sent
   enough, or no memory to file it): a status it kept can go then. */
typedef void (swim_queue_dropped_fn) (void *ctx, uint32_t id, int cls);

swim_queue_t *swim_queue_new (swim_pool_t *pool, swim_queue_dropped_fn *dropped, void *ctx);
void swim_queue_destroy (swim_queue_t **self_p);

/* Room for updates about name numbers below `ids`; 0 or -1. */
int swim_queue_reserve (swim_queue_t *self, uint32_t ids);

/* Queue an update about `id` (record `rec`, or 0 for the caller's
   status) to go out first, in place of what was queued about it in that
   class.  -1 when memory is short: then nothing is queued about it. */
int swim_queue_put (swim_queue_t *self, uint32_t id, int cls, uint32_t rec);

/* Nothing of class cls queued about `id` any more. */
void swim_queue_drop (swim_queue_t *self, uint32_t id, int cls);

/* Updates queued, of one class or (SWIM_CLASSES) of all. */
uint32_t swim_queue_size (const swim_queue_t *self, int cls);

/* Up to `max` least-sent updates into picks, membership news first: an
   update sent `limit` times already (the cluster shrank) is given up
   instead.  Nothing counts as sent until swim_queue_sent. */
size_t swim_queue_select (swim_queue_t *self, size_t max, uint32_t limit, swim_pick_t *picks);

/* The n picks of the last select went out: each moves a level down, or
   is given up once sent `limit` times. */
void swim_queue_sent (swim_queue_t *self, const swim_pick_t *picks, size_t n, uint32_t limit);

/* Ask the cache for the places where news is filed (before a message
   full of it is taken). */
void swim_queue_prefetch (const swim_queue_t *self);

#endif
