/*  pool.c -- names and signed records, kept once (see pool.h). */
#include "pool.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

/* ---- slabs: numbered items in chunks that never move ---- */

/* A zeroed item, or 0 when out of memory. */
static uint32_t slab_alloc (swim_slab_t *s)
{
    uint32_t id;
    if (s->n_free)
        id = s->free_ids[--s->n_free];
    else {
        if (s->high >= UINT32_MAX - SWIM_POOL_CHUNK_ITEMS)
            return 0;
        if ((s->high >> SWIM_POOL_CHUNK_BITS) == s->n_chunks) {
            if (s->n_chunks == s->cap_chunks) {
                uint32_t cap = s->cap_chunks ? 2 * s->cap_chunks : 16;
                char **chunks = realloc (s->chunks, cap * sizeof *chunks);
                if (!chunks)
                    return 0;
                s->chunks = chunks;
                s->cap_chunks = cap;
            }
            char *chunk = malloc (SWIM_POOL_CHUNK_ITEMS * s->size);
            if (!chunk)
                return 0;
            s->chunks[s->n_chunks++] = chunk;
        }
        id = ++s->high;
    }
    memset (swim_slab_at (s, id), 0, s->size);
    return id;
}

static void slab_free (swim_slab_t *s, uint32_t id)
{
    if (s->n_free == s->cap_free) {
        uint32_t cap = s->cap_free ? 2 * s->cap_free : 64;
        uint32_t *ids = realloc (s->free_ids, cap * sizeof *ids);
        if (!ids)
            return; /* never handed out again: a small leak */
        s->free_ids = ids;
        s->cap_free = cap;
    }
    s->free_ids[s->n_free++] = id;
}

static void slab_clear (swim_slab_t *s)
{
    for (uint32_t i = 0; i < s->n_chunks; i++)
        free (s->chunks[i]);
    free (s->chunks);
    free (s->free_ids);
    memset (s, 0, sizeof *s);
}

static uint32_t hash_at (const swim_slab_t *s, uint32_t id)
{
    return *(const uint32_t *) swim_slab_at (s, id);
}

/* ---- the index: items by content ---- */

/* Room for one more entry. */
static int index_reserve (swim_index_t *ix, const swim_slab_t *s)
{
    if (ix->slots && 2 * ((size_t) ix->count + 1) <= (size_t) ix->mask + 1)
        return 0;
    size_t cap = ix->slots ? 2 * ((size_t) ix->mask + 1) : 64;
    if (cap > (1ull << 31))
        return -1;
    uint32_t *slots = calloc (cap, sizeof *slots);
    if (!slots)
        return -1;
    uint32_t mask = (uint32_t) cap - 1;
    for (size_t i = 0; ix->slots && i <= ix->mask; i++) {
        uint32_t id = ix->slots[i];
        if (!id)
            continue;
        uint32_t j = hash_at (s, id) & mask;
        while (slots[j])
            j = (j + 1) & mask;
        slots[j] = id;
    }
    free (ix->slots);
    ix->slots = slots;
    ix->mask = mask;
    return 0;
}

static void index_add (swim_index_t *ix, uint32_t hash, uint32_t id)
{
    uint32_t i = hash & ix->mask;
    while (ix->slots[i])
        i = (i + 1) & ix->mask;
    ix->slots[i] = id;
    ix->count++;
}

/* Remove an entry, shifting back those after it that probed past it. */
static void index_del (swim_index_t *ix, const swim_slab_t *s, uint32_t id)
{
    uint32_t mask = ix->mask, i = hash_at (s, id) & mask;
    while (ix->slots[i] != id)
        i = (i + 1) & mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        uint32_t other = ix->slots[j];
        if (!other)
            break;
        uint32_t home = hash_at (s, other) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            ix->slots[i] = other;
            i = j;
        }
    }
    ix->slots[i] = 0;
    ix->count--;
}

static uint64_t mix64 (uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

/* FNV-1a folded, as name_hash, for a name known to be short. */
static uint64_t str_hash (const char *name)
{
    uint64_t h = gl_fnv1a (name, strlen (name));
    return h ^ (h >> 32);
}

/* ---- the pool ---- */

size_t swim_pool_msg_size (const gl_msg_t *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (gl_msg_encode (msg, &buf, &len))
        len = SIZE_MAX;
    free (buf);
    return len;
}

/* msgpack encodes each element of the updates array by itself, so a
   message is its fields, the array's key and header, and its updates one
   after another. */
size_t swim_pool_update_wire_size (const swim_pool_t *self, const gl_update_t *u)
{
    gl_msg_t one = { .type = GL_MSG_GOSSIP, .n_updates = 1, .updates = (gl_update_t *) u };
    size_t len = swim_pool_msg_size (&one);
    if (len == SIZE_MAX || self->empty_size == SIZE_MAX || len < self->empty_size + 2)
        return SWIM_UPDATE_BYTES_MAX;
    return len - self->empty_size - 2; /* the array's key, fixarray header */
}

swim_pool_t *swim_pool_new (void)
{
    swim_pool_t *self = calloc (1, sizeof *self);
    if (self) {
        self->names.size = sizeof (swim_pname_t);
        self->recs.size = sizeof (swim_prec_t);
        gl_msg_t empty = { .type = GL_MSG_GOSSIP };
        self->empty_size = swim_pool_msg_size (&empty);
    }
    return self;
}

void swim_pool_destroy (swim_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    swim_pool_t *self = *self_p;
    slab_clear (&self->names);
    slab_clear (&self->recs);
    for (size_t i = 0; i < self->n_spare; i++)
        free (self->spare[i]);
    free (self->name_ix.slots);
    free (self->rec_ix.slots);
    free (self);
    *self_p = NULL;
}

gl_update_t *swim_pool_updates (swim_pool_t *self, size_t n)
{
    if (n > SWIM_POOL_SMALL)
        return malloc (n * sizeof (gl_update_t));
    if (self->n_spare)
        return self->spare[--self->n_spare];
    return malloc (SWIM_POOL_SMALL * sizeof (gl_update_t));
}

void swim_pool_reuse (swim_pool_t *self, gl_msg_t *msg)
{
    if (msg->updates && msg->n_updates <= SWIM_POOL_SMALL && self->n_spare < SWIM_POOL_SPARE) {
        self->spare[self->n_spare++] = msg->updates;
        msg->updates = NULL;
        msg->n_updates = 0;
    }
    gl_msg_clear (msg);
}

size_t swim_pool_items (const swim_pool_t *self)
{
    return (size_t) self->names.high - self->names.n_free + (size_t) self->recs.high -
           self->recs.n_free;
}

/* ---- names ---- */

/* The hash and length of a name of at most GL_NAME_MAX bytes, in one
   pass; false when it is longer (or not terminated within the limit).
   FNV-1a folded to 32 bits. */
static bool name_hash (const char *name, uint32_t *hash, uint32_t *len)
{
    size_t n = strnlen (name, GL_NAME_MAX + 1);
    if (n > GL_NAME_MAX)
        return false;
    uint64_t h = gl_fnv1a (name, n);
    *hash = (uint32_t) (h ^ (h >> 32));
    *len = (uint32_t) n;
    return true;
}

uint32_t swim_pool_name_find (const swim_pool_t *self, const char *name)
{
    uint32_t h, len;
    if (!self->name_ix.slots || !name_hash (name, &h, &len))
        return 0;
    uint32_t mask = self->name_ix.mask;
    for (uint32_t i = h & mask, id; (id = self->name_ix.slots[i]); i = (i + 1) & mask) {
        const swim_pname_t *n = swim_slab_at (&self->names, id);
        if (n->hash == h && n->len == len && !memcmp (n->s, name, len))
            return id;
    }
    return 0;
}

uint32_t swim_pool_name_ref (swim_pool_t *self, const char *name)
{
    uint32_t id = swim_pool_name_find (self, name);
    if (id) {
        swim_pool_name_hold (self, id);
        return id;
    }
    if (strnlen (name, GL_NAME_MAX + 1) > GL_NAME_MAX ||
        index_reserve (&self->name_ix, &self->names) || !(id = slab_alloc (&self->names)))
        return 0;
    swim_pname_t *n = swim_slab_at (&self->names, id);
    n->hash = (uint32_t) str_hash (name);
    n->refs = 1;
    n->len = (uint32_t) strlen (name);
    memcpy (n->s, name, n->len + 1);
    index_add (&self->name_ix, n->hash, id);
    return id;
}

void swim_pool_name_drop (swim_pool_t *self, uint32_t id)
{
    if (!id)
        return;
    swim_pname_t *n = swim_slab_at (&self->names, id);
    if (--n->refs == 0) {
        index_del (&self->name_ix, &self->names, id);
        slab_free (&self->names, id);
        self->names_freed++;
    }
}

/* ---- records ---- */

static uint32_t rec_hash (const gl_rec_t *rec)
{
    uint64_t h = mix64 (str_hash (rec->origin), rec->kind);
    h = mix64 (h, rec->generation);
    h = mix64 (h, rec->seq);
    h = mix64 (h, rec->time_ms);
    uint64_t sig;
    memcpy (&sig, rec->sig, sizeof sig);
    return (uint32_t) mix64 (h, sig);
}

static bool res_equal (const gl_res_t *a, const gl_res_t *b)
{
    return a->cores == b->cores && a->load1_milli == b->load1_milli &&
           a->load_recent_milli == b->load_recent_milli &&
           a->owner_load_milli == b->owner_load_milli && a->mem_total_kb == b->mem_total_kb &&
           a->mem_avail_kb == b->mem_avail_kb && a->owner_idle_s == b->owner_idle_s &&
           a->state == b->state && a->guests == b->guests && a->started == b->started;
}

static bool rec_equal (const gl_rec_t *a, const gl_rec_t *b)
{
    return a->kind == b->kind && a->generation == b->generation && a->seq == b->seq &&
           a->time_ms == b->time_ms && !memcmp (a->sig, b->sig, sizeof a->sig) &&
           !strcmp (a->origin, b->origin) && !strcmp (a->addr, b->addr) &&
           !memcmp (a->pubkey, b->pubkey, sizeof a->pubkey) && res_equal (&a->res, &b->res);
}

uint32_t swim_pool_rec_ref (swim_pool_t *self, const gl_rec_t *rec)
{
    uint32_t h = rec_hash (rec), id;
    if (self->rec_ix.slots) {
        uint32_t mask = self->rec_ix.mask;
        for (uint32_t i = h & mask; (id = self->rec_ix.slots[i]); i = (i + 1) & mask) {
            swim_prec_t *r = swim_slab_at (&self->recs, id);
            if (r->hash == h && rec_equal (&r->upd.rec, rec)) {
                r->refs++;
                return id;
            }
        }
    }
    uint32_t origin = swim_pool_name_ref (self, rec->origin);
    if (!origin || index_reserve (&self->rec_ix, &self->recs) || !(id = slab_alloc (&self->recs))) {
        swim_pool_name_drop (self, origin);
        return 0;
    }
    swim_prec_t *r = swim_slab_at (&self->recs, id);
    r->hash = h;
    r->refs = 1;
    r->origin = origin;
    r->upd.kind = GL_UPD_REC;
    r->upd.rec = *rec;
    r->wire_size = (uint32_t) swim_pool_update_wire_size (self, &r->upd);
    index_add (&self->rec_ix, h, id);
    return id;
}

void swim_pool_rec_drop (swim_pool_t *self, uint32_t id)
{
    if (!id)
        return;
    swim_prec_t *r = swim_slab_at (&self->recs, id);
    if (--r->refs == 0) {
        swim_pool_name_drop (self, r->origin);
        index_del (&self->rec_ix, &self->recs, id);
        slab_free (&self->recs, id);
    }
}
