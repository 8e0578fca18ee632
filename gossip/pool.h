/*  pool.h -- node names and signed records, kept once for every view that
    holds them.

    What is the same in every node's view of the cluster lives here: the
    names of the nodes, numbered, and the signed records they said about
    themselves, each kept once with a reference count.  A swim_t has a
    pool to itself (swim_new); the simulator puts a whole cluster in one
    (swim_new_in), so a thousand nodes' views of one record cost one copy.
    A name's number is what the member table of a swim_t is indexed by.

    Names and records are numbered from 1 (0 is none).  A number stays
    good while a reference to it is held; the last reference frees the
    item and its number is handed out again.  Records are found by
    content, so two nodes that learn the same record share it.  The pool
    also lends the updates arrays of messages, and takes them back from
    the caller (swim_pool_reuse), so a busy simulation does not allocate
    one per message.

    One pool, one thread: the swim_t of a pool must run on the thread that
    made it, and the pool is destroyed after the last of them. */
#ifndef GL_POOL_H
#define GL_POOL_H

#include "wire.h"

typedef struct swim_pool swim_pool_t;

swim_pool_t *swim_pool_new (void);
void swim_pool_destroy (swim_pool_t **self_p);

/* Release a message whose updates array the pool lent (swim_pop of a
   swim_t in this pool hands such messages out), as gl_msg_clear does,
   keeping its memory for the next messages. */
void swim_pool_reuse (swim_pool_t *self, gl_msg_t *msg);

/* Names and records the pool holds now (0 once every holder let go). */
size_t swim_pool_items (const swim_pool_t *self);

/* ---- names ---- */

/* A reference to a name of at most GL_NAME_MAX bytes (its number), or 0
   when it is longer or memory is short. */
uint32_t swim_pool_name_ref (swim_pool_t *self, const char *name);
void swim_pool_name_drop (swim_pool_t *self, uint32_t id);
static inline void swim_pool_name_hold (swim_pool_t *self, uint32_t id);
/* The number of a name the pool holds, or 0 (no reference taken). */
uint32_t swim_pool_name_find (const swim_pool_t *self, const char *name);
static inline const char *swim_pool_name (const swim_pool_t *self, uint32_t id);
/* Names freed so far: a number found before stays that name's while this
   has not changed. */
static inline uint64_t swim_pool_names_freed (const swim_pool_t *self);
/* Numbers handed out so far: no name has a larger one. */
static inline uint32_t swim_pool_names_high (const swim_pool_t *self);

/* ---- records ---- */

/* A reference to this record (the caller checked its shape), or 0. */
uint32_t swim_pool_rec_ref (swim_pool_t *self, const gl_rec_t *rec);
void swim_pool_rec_drop (swim_pool_t *self, uint32_t id);
static inline void swim_pool_rec_hold (swim_pool_t *self, uint32_t id);
static inline const gl_rec_t *swim_pool_rec (const swim_pool_t *self, uint32_t id);
/* The record as an update (GL_UPD_REC), ready to copy into a message. */
static inline const gl_update_t *swim_pool_upd (const swim_pool_t *self, uint32_t id);
/* The bytes that update adds to an encoded message. */
static inline size_t swim_pool_rec_wire_size (const swim_pool_t *self, uint32_t id);

/* ---- messages ---- */

/* An encoded update is never longer than this (two names, an address, a
   key, a signature, an estimate and their keys). */
#define SWIM_UPDATE_BYTES_MAX 1024
/* Updates arrays of at most this many entries are lent and taken back;
   a longer one is the caller's to free. */
#define SWIM_POOL_SMALL       24

/* Room for a message's n updates (free it with free, or give the message
   back with swim_pool_reuse); NULL when memory is short. */
gl_update_t *swim_pool_updates (swim_pool_t *self, size_t n);
/* The bytes update u adds to an encoded message. */
size_t swim_pool_update_wire_size (const swim_pool_t *self, const gl_update_t *u);
/* The encoded size of a message, or SIZE_MAX when it cannot be encoded. */
size_t swim_pool_msg_size (const gl_msg_t *msg);

/* ---- inside ----------------------------------------------------------------
   Here only so that the lookups above can be inlined: a node asks for a
   name or a record several times for every update it takes, and in the
   simulator that is the innermost loop.  Use the functions.

   Items live in chunks that never move, so a pointer to an item stays
   good while the item lives; an open-addressed index (linear probing, at
   most half full) finds an item by content, and every item starts with
   its hash. */

#define SWIM_POOL_CHUNK_BITS  8
#define SWIM_POOL_CHUNK_ITEMS (1u << SWIM_POOL_CHUNK_BITS)
#define SWIM_POOL_SPARE       256 /* updates arrays kept for reuse */

typedef struct {
    char **chunks;
    uint32_t n_chunks, cap_chunks;
    uint32_t high; /* numbers 1..high were handed out */
    uint32_t *free_ids;
    uint32_t n_free, cap_free;
    size_t size; /* of one item */
} swim_slab_t;

typedef struct {
    uint32_t *slots; /* item numbers, 0 empty */
    uint32_t mask;   /* slots - 1, a power of two less one */
    uint32_t count;
} swim_index_t;

typedef struct {
    uint32_t hash;
    uint32_t refs;
    uint32_t len;
    char s[GL_NAME_MAX + 1];
} swim_pname_t;

typedef struct {
    uint32_t hash;
    uint32_t refs;
    uint32_t origin;    /* the name (a reference) */
    uint32_t wire_size; /* upd's bytes in an encoded message */
    gl_update_t upd;    /* GL_UPD_REC, the record in upd.rec: ready to send */
} swim_prec_t;

struct swim_pool {
    swim_slab_t names, recs;
    swim_index_t name_ix, rec_ix;
    uint64_t names_freed;                /* a name's number is good while this holds */
    size_t empty_size;                   /* of an encoded GOSSIP without updates */
    gl_update_t *spare[SWIM_POOL_SPARE]; /* updates arrays given back */
    size_t n_spare;
};

static inline void *swim_slab_at (const swim_slab_t *s, uint32_t id)
{
    uint32_t i = id - 1;
    return s->chunks[i >> SWIM_POOL_CHUNK_BITS] +
           (size_t) (i & (SWIM_POOL_CHUNK_ITEMS - 1)) * s->size;
}

static inline void swim_pool_name_hold (swim_pool_t *self, uint32_t id)
{
    if (id)
        ((swim_pname_t *) swim_slab_at (&self->names, id))->refs++;
}

static inline const char *swim_pool_name (const swim_pool_t *self, uint32_t id)
{
    return ((const swim_pname_t *) swim_slab_at (&self->names, id))->s;
}

static inline uint64_t swim_pool_names_freed (const swim_pool_t *self)
{
    return self->names_freed;
}

static inline uint32_t swim_pool_names_high (const swim_pool_t *self)
{
    return self->names.high;
}

static inline void swim_pool_rec_hold (swim_pool_t *self, uint32_t id)
{
    if (id)
        ((swim_prec_t *) swim_slab_at (&self->recs, id))->refs++;
}

static inline const gl_rec_t *swim_pool_rec (const swim_pool_t *self, uint32_t id)
{
    return &((const swim_prec_t *) swim_slab_at (&self->recs, id))->upd.rec;
}

static inline const gl_update_t *swim_pool_upd (const swim_pool_t *self, uint32_t id)
{
    return &((const swim_prec_t *) swim_slab_at (&self->recs, id))->upd;
}

static inline size_t swim_pool_rec_wire_size (const swim_pool_t *self, uint32_t id)
{
    return ((const swim_prec_t *) swim_slab_at (&self->recs, id))->wire_size;
}

#endif
