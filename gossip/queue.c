/*  queue.c -- the broadcast queue (see queue.h). */
#include "queue.h"

#include <stdlib.h>
#include <string.h>

/* Items looked at ahead of the one being read: each costs a cache miss
   in a large cluster, and they overlap when asked for together. */
#define QUEUE_AHEAD 16

typedef struct {
    uint32_t id; /* the node's name */
    uint32_t stamp;
    uint32_t rec; /* the record queued, or 0: the caller's status */
} item_t;

typedef struct {
    item_t *items;
    uint32_t mask;       /* capacity - 1 */
    uint32_t head, tail; /* positions, taken modulo the capacity */
} ring_t;

typedef struct {
    ring_t *lv; /* by level: times sent */
    uint32_t n;
    uint32_t live;               /* nodes with an update queued */
    uint32_t sel_level, sel_pos; /* swim_queue_select looked up to here */
} levels_t;

struct swim_queue {
    swim_pool_t *pool;
    swim_queue_dropped_fn *dropped;
    void *ctx;
    uint32_t *stamps; /* by name number and class: the stamp of its update's
                         item, 0 none */
    uint32_t cap;     /* name numbers with room in stamps */
    uint32_t stamp;   /* the last stamp handed out */
    levels_t cls[SWIM_CLASSES];
};

static uint32_t *stamps_of (const swim_queue_t *self, uint32_t id)
{
    return &self->stamps[(size_t) id * SWIM_CLASSES];
}

static bool item_live (const swim_queue_t *self, const item_t *it, int cls)
{
    return stamps_of (self, it->id)[cls] == it->stamp;
}

swim_queue_t *swim_queue_new (swim_pool_t *pool, swim_queue_dropped_fn *dropped, void *ctx)
{
    swim_queue_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pool = pool;
    self->dropped = dropped;
    self->ctx = ctx;
    for (int cls = 0; cls < SWIM_CLASSES; cls++) {
        levels_t *q = &self->cls[cls];
        q->lv = calloc (1, sizeof *q->lv);
        q->n = 1;
        if (!q->lv) {
            swim_queue_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void swim_queue_destroy (swim_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    swim_queue_t *self = *self_p;
    for (int cls = 0; cls < SWIM_CLASSES; cls++) {
        levels_t *q = &self->cls[cls];
        for (uint32_t i = 0; q->lv && i < q->n; i++)
            free (q->lv[i].items);
        free (q->lv);
    }
    free (self->stamps);
    free (self);
    *self_p = NULL;
}

int swim_queue_reserve (swim_queue_t *self, uint32_t ids)
{
    if (ids <= self->cap)
        return 0;
    uint32_t *stamps = realloc (self->stamps, (size_t) ids * SWIM_CLASSES * sizeof *stamps);
    if (!stamps)
        return -1;
    memset (stamps + (size_t) self->cap * SWIM_CLASSES, 0,
            (size_t) (ids - self->cap) * SWIM_CLASSES * sizeof *stamps);
    self->stamps = stamps;
    self->cap = ids;
    return 0;
}

uint32_t swim_queue_size (const swim_queue_t *self, int cls)
{
    if (cls < SWIM_CLASSES)
        return self->cls[cls].live;
    uint32_t n = 0;
    for (int c = 0; c < SWIM_CLASSES; c++)
        n += self->cls[c].live;
    return n;
}

/* The ring without its stale items, in a buffer of fitting size; -1 when
   that cannot be had (the ring is left as it was). */
static int ring_rebuild (swim_queue_t *self, ring_t *r, int cls)
{
    uint32_t keep = 0;
    for (uint32_t p = r->head; p != r->tail; p++)
        keep += item_live (self, &r->items[p & r->mask], cls);
    /* Room for as many again while small, half as many in a large
       cluster (10,000 estimates queued at every node), where memory
       counts more than rebuilding a little more often. */
    uint32_t cap = 16, room = keep < 4096 ? keep : keep / 2;
    while (cap < keep + room + 16)
        cap *= 2;
    item_t *items = malloc (cap * sizeof *items);
    if (!items)
        return -1;
    uint32_t n = 0;
    for (uint32_t p = r->head; p != r->tail; p++)
        if (item_live (self, &r->items[p & r->mask], cls))
            items[n++] = r->items[p & r->mask];
    free (r->items);
    r->items = items;
    r->mask = cap - 1;
    r->head = 0;
    r->tail = n;
    return 0;
}

/* Stamps ran out (after four billion updates queued): number the items
   filed again from 1, and drop the stale ones, which could otherwise
   pass for live under a reused stamp. */
static void stamps_renumber (swim_queue_t *self)
{
    uint32_t stamp = 0;
    for (int cls = 0; cls < SWIM_CLASSES; cls++) {
        levels_t *q = &self->cls[cls];
        for (uint32_t level = 0; level < q->n; level++) {
            ring_t *r = &q->lv[level];
            uint32_t n = 0;
            for (uint32_t p = r->head; p != r->tail; p++) {
                item_t it = r->items[p & r->mask];
                if (!item_live (self, &it, cls))
                    continue;
                it.stamp = ++stamp;
                stamps_of (self, it.id)[cls] = it.stamp;
                r->items[(r->head + n++) & r->mask] = it;
            }
            r->tail = r->head + n;
        }
    }
    self->stamp = stamp;
}

/* Room for one more item: the same ring without its stale items when they
   are half of it, else a bigger one. */
static int ring_room (swim_queue_t *self, ring_t *r, int cls)
{
    uint32_t size = r->tail - r->head;
    if (r->items && size <= r->mask)
        return 0;
    return ring_rebuild (self, r, cls);
}

/* A wave of news (a thousand nodes joining) passes through every level
   in turn: give back what it left behind. */
static void ring_trim (swim_queue_t *self, ring_t *r, int cls)
{
    uint32_t size = r->tail - r->head;
    if (r->items && r->mask >= 255 && 16 * size <= r->mask + 1)
        ring_rebuild (self, r, cls);
}

/* File the update of class cls about name `id` at `level`, first or last;
   0 or -1.  An update it had queued before is replaced. */
static int level_link (swim_queue_t *self, uint32_t id, int cls, uint32_t rec, uint32_t level,
                       bool at_head)
{
    levels_t *q = &self->cls[cls];
    if (id >= self->cap && swim_queue_reserve (self, id >= 2 * self->cap ? id + 1 : 2 * self->cap))
        return -1;
    if (level >= q->n) {
        uint32_t n = level + 1;
        ring_t *lv = realloc (q->lv, n * sizeof *lv);
        if (!lv)
            return -1;
        memset (lv + q->n, 0, (n - q->n) * sizeof *lv);
        q->lv = lv;
        q->n = n;
    }
    if (self->stamp == UINT32_MAX)
        stamps_renumber (self);
    ring_t *r = &q->lv[level];
    if (ring_room (self, r, cls))
        return -1;
    item_t it = { id, ++self->stamp, rec };
    if (at_head)
        r->items[--r->head & r->mask] = it;
    else
        r->items[r->tail++ & r->mask] = it;
    uint32_t *qs = stamps_of (self, it.id);
    if (!qs[cls])
        q->live++;
    qs[cls] = it.stamp;
    return 0;
}

void swim_queue_drop (swim_queue_t *self, uint32_t id, int cls)
{
    if (id >= self->cap)
        return;
    uint32_t *qs = stamps_of (self, id);
    if (qs[cls]) {
        qs[cls] = 0;
        self->cls[cls].live--;
    }
}

/* Given up on its own: the caller hears of it. */
static void give_up (swim_queue_t *self, uint32_t id, int cls)
{
    swim_queue_drop (self, id, cls);
    if (self->dropped)
        self->dropped (self->ctx, id, cls);
}

int swim_queue_put (swim_queue_t *self, uint32_t id, int cls, uint32_t rec)
{
    if (level_link (self, id, cls, rec, 0, true)) {
        swim_queue_drop (self, id, cls);
        return -1;
    }
    return 0;
}

static void prefetch_item (const swim_queue_t *self, const item_t *it)
{
    __builtin_prefetch (stamps_of (self, it->id));
    if (it->rec)
        __builtin_prefetch (swim_pool_upd (self->pool, it->rec));
}

/* Membership news first: memberlist likewise fills a message with its
   own broadcasts before the delegate's (Serf's events).  Resource
   estimates come every minute from every node and can fill every message
   of a large cluster; refutations and deaths must not wait behind them
   (glsim: a thousand nodes whose refreshes ran in step declared healthy
   nodes dead).  swim_queue_sent drops the items looked at from the front
   of their rings. */
size_t swim_queue_select (swim_queue_t *self, size_t max, uint32_t limit, swim_pick_t *picks)
{
    size_t n = 0;
    for (int cls = 0; cls < SWIM_CLASSES; cls++)
        self->cls[cls].sel_level = UINT32_MAX;
    for (int cls = 0; cls < SWIM_CLASSES && n < max; cls++) {
        levels_t *q = &self->cls[cls];
        for (uint32_t level = 0; level < q->n && n < max && q->live; level++) {
            ring_t *r = &q->lv[level];
            uint32_t p = r->head;
            if (level + 1 < q->n && q->lv[level + 1].items) { /* where picks go next */
                const ring_t *nx = &q->lv[level + 1];
                __builtin_prefetch (&nx->items[nx->tail & nx->mask], 1);
                __builtin_prefetch (&nx->items[(nx->tail + 5) & nx->mask], 1);
            }
            for (uint32_t a = p; a != r->tail && a - p < QUEUE_AHEAD; a++)
                prefetch_item (self, &r->items[a & r->mask]);
            for (; p != r->tail && n < max; p++) {
                if (r->tail - p > QUEUE_AHEAD)
                    prefetch_item (self, &r->items[(p + QUEUE_AHEAD) & r->mask]);
                const item_t *it = &r->items[p & r->mask];
                if (!item_live (self, it, cls))
                    continue;
                if (level >= limit) /* the cluster shrank: sent enough */
                    give_up (self, it->id, cls);
                else
                    picks[n++] = (swim_pick_t){ it->id, level, it->rec, (uint8_t) cls };
            }
            q->sel_level = level;
            q->sel_pos = p;
        }
    }
    return n;
}

void swim_queue_sent (swim_queue_t *self, const swim_pick_t *picks, size_t n, uint32_t limit)
{
    /* What swim_queue_select looked at leaves the front of its rings. */
    for (int cls = 0; cls < SWIM_CLASSES; cls++) {
        levels_t *q = &self->cls[cls];
        for (uint32_t level = 0; q->sel_level != UINT32_MAX && level <= q->sel_level; level++) {
            ring_t *r = &q->lv[level];
            r->head = level < q->sel_level ? r->tail : q->sel_pos;
            ring_trim (self, r, cls);
        }
    }
    for (size_t i = 0; i < n; i++) { /* where they go: a few lines */
        const levels_t *q = &self->cls[picks[i].cls];
        uint32_t level = picks[i].level + 1;
        if (level < q->n && q->lv[level].items)
            __builtin_prefetch (
                &q->lv[level].items[(q->lv[level].tail + (uint32_t) i) & q->lv[level].mask], 1);
    }
    for (size_t i = 0; i < n; i++) {
        const swim_pick_t *pk = &picks[i];
        uint32_t level = pk->level + 1;
        if (level >= limit || level_link (self, pk->id, pk->cls, pk->rec, level, false))
            give_up (self, pk->id, pk->cls);
    }
}

void swim_queue_prefetch (const swim_queue_t *self)
{
    for (int cls = 0; cls < SWIM_CLASSES; cls++) {
        const ring_t *r = self->cls[cls].lv;
        if (r && r->items)
            __builtin_prefetch (&r->items[(r->head - 1) & r->mask], 1);
    }
}
