/*  swim.c -- membership and failure detection (the protocol is in swim.h).

    What one swim_t keeps:
      - the member table: one 64-byte entry per node name we know, found
        by the name's number in the pool (below), and a list of the
        members in probe order; a member we forgot leaves a tombstone in
        its entry, so that its old records can't bring it back;
      - the broadcast queue (queue.h): the updates waiting to ride on
        outgoing messages, membership news ahead of estimates, then by how
        many times each was sent already, and the SUSPECT and DEAD updates
        it names, which it does not keep itself;
      - the current probe, the indirect probes we run for others, and the
        suspicion deadlines (a min-heap);
      - two FIFOs the caller drains: messages to send, and events.

    What is the same in every node's view lives in a pool (pool.h), which a
    swim_t has to itself (swim_new) or shares with others in the same
    process (swim_new_in, the simulator): node names, numbered, and the
    signed records, each kept once with a reference count.  A member's
    entry points at its latest records instead of copying them, so a
    simulated cluster of N nodes holds each record once, not N times.

    Knowledge about a node is ordered by (generation, incarnation); the
    rules are in the "knowledge" section, one function per kind of update.
    Nothing here reads a clock, does I/O or touches global state, and every
    random choice comes from the instance's own seeded generator, so the
    same inputs give the same outputs.                                   */
#include "swim.h"
#include "pool.h"
#include "queue.h"
#include "rng.h"
#include "str.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The first messages to a member we just learned carry our ALIVE record,
   so that it learns us too. */
#define INTRO_MSGS            3
/* Indirect probes we run for others at once; more requests are dropped. */
#define RELAYS_MAX            32
/* Most random members picked at once (helpers, gossip and leave targets). */
#define PICK_MAX              64
/* We keep gossiping to a member this many probe intervals after it died
   or left, so it can hear the news and refute it (memberlist: 30 s). */
#define GOSSIP_TO_DEAD_PROBES 30
/* Push-pull slows down above this many members (memberlist). */
#define PUSHPULL_SCALE_NODES  32
/* Every cluster sends each update at least as often as one of a thousand
   members: retransmit_mult * max (RETRANSMIT_MIN_LOG, log10 (n + 1)). */
#define RETRANSMIT_MIN_LOG    4
/* A gossip round goes to at most this many times gossip_nodes members. */
#define GOSSIP_BURST          4
/* Suspects we were drawn to probe, waiting for a probe period. */
#define VOUCH_MAX             4
/* Most probe rings (cluster.conf allows up to 16). */
#define RINGS_MAX             16
/* A push-pull must leave room in the packet for the envelope. */
#define SYNC_BYTES_MAX        (GL_PKT_MAX - 65536)
/* Most ring neighbours: a successor and a predecessor on every ring. */
#define NBRS_MAX              (2 * RINGS_MAX)
/* Most estimates on one message to a ring neighbour (about 9 KB encoded):
   what is owed beyond goes on the next message, a gossip interval on. */
#define RES_BATCH             64

/* ---- copying updates -------------------------------------------------------- */

/* A string field up to its terminating NUL, eight bytes at a time (the
   fields are multiples of eight long): no reader looks past the NUL. */
static inline void cstr_copy (char *d, const char *s, size_t cap)
{
    for (size_t i = 0; i < cap; i += 8) {
        uint64_t w;
        memcpy (&w, s + i, 8);
        memcpy (d + i, &w, 8);
        if ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)
            return;
    }
}

/* *d = *s for what a reader sees: the strings only up to their NUL, which
   spares most of the 650 bytes (addresses and names are short). */
static inline void upd_copy (gl_update_t *d, const gl_update_t *s)
{
    _Static_assert(sizeof d->node % 8 == 0 && sizeof d->rec.addr % 8 == 0, "fields of 8s");
    d->kind = s->kind;
    cstr_copy (d->node, s->node, sizeof d->node);
    d->generation = s->generation;
    d->incarnation = s->incarnation;
    cstr_copy (d->from, s->from, sizeof d->from);
    d->rec.kind = s->rec.kind;
    cstr_copy (d->rec.origin, s->rec.origin, sizeof d->rec.origin);
    d->rec.generation = s->rec.generation;
    d->rec.seq = s->rec.seq;
    d->rec.time_ms = s->rec.time_ms;
    cstr_copy (d->rec.addr, s->rec.addr, sizeof d->rec.addr);
    memcpy (d->rec.pubkey, s->rec.pubkey, sizeof d->rec.pubkey);
    d->rec.res = s->rec.res;
    memcpy (d->rec.sig, s->rec.sig, sizeof d->rec.sig);
}

/* ---- types ---------------------------------------------------------------- */

enum { ENT_NONE = 0, ENT_MEMBER, ENT_TOMB };

/* One node's view of one member, at its name's number: a cache line.  A
   tombstone keeps state, generation, incarnation and `alive` (the key). */
typedef struct {
    uint8_t kind;  /* ENT_* */
    uint8_t state; /* swim_state_t */
    uint8_t intro; /* messages left that introduce us to it */
    bool has_res;
    uint32_t rec; /* its latest ALIVE or LEAVE record */
    uint64_t generation;
    uint64_t incarnation; /* a suspicion can raise it above rec's seq */
    uint64_t state_since;
    uint64_t res_recv; /* our clock when `res` came */
    uint32_t alive;    /* its latest ALIVE record: address, key */
    uint32_t res;      /* its latest RES record, when has_res */
    uint64_t res_seq;  /* of `res` */
    uint32_t accuser;  /* SUSPECT, DEAD: who said so first (name) */
    uint32_t aux;      /* its suspicion or queued status, slot + 1 */
} ent_t;

_Static_assert(sizeof (ent_t) == 64, "a member entry is one cache line");

typedef struct {
    uint64_t start_ms, deadline_ms;
    uint64_t min_ms, max_ms;
    uint32_t k;      /* independent confirmations expected */
    uint32_t n;      /* received so far */
    uint32_t from[]; /* who confirmed (names): k slots */
} suspicion_t;

/* What a member's entry has no room for: its suspicion, and the SUSPECT
   or DEAD update queued about it (a record queued is always its latest,
   in the entry already).  Few members have one at a time. */
typedef struct {
    suspicion_t *susp; /* while SUSPECT */
    uint8_t st_kind;   /* GL_UPD_SUSPECT or _DEAD queued, else 0 */
    uint32_t st_from;  /* who says so (a reference) */
    uint64_t st_generation, st_incarnation;
} aux_t;

/* An indirect probe we run for `requester`. */
typedef struct {
    char requester[GL_NAME_MAX + 1];
    char target[GL_NAME_MAX + 1];
    uint32_t requester_seq; /* echoed in our ACK or NACK */
    uint32_t seq;           /* of our own PING to the target */
    uint64_t nack_at, expire_at;
    bool nacked;
} relay_t;

typedef struct {
    bool active, acked, asked_others;
    char target[GL_NAME_MAX + 1];
    uint64_t generation, incarnation; /* the target's, when the probe began */
    uint32_t seq;
    uint64_t ack_deadline;
    uint32_t nacks, expected_nacks;
} probe_t;

typedef struct {
    uint64_t at;
    uint32_t name; /* a reference */
} alarm_t;

/* An estimate still owed to some ring neighbours (estimates on the rings,
   below): whose it is (we send its latest), to whom (bits of nbr[]), and
   when it goes in a GOSSIP of its own if no other message took it. */
typedef struct {
    uint32_t id;
    uint32_t owe;
    uint64_t due;
} owed_t;

typedef struct {
    char *items;
    size_t size, head, count, cap;
} fifo_t;

struct swim_t {
    swim_config_t cfg;
    swim_signer_t signer;
    uint64_t rng;
    swim_pool_t *pool;
    bool own_pool;
    uint32_t me_id; /* our name */
    char me_name[GL_NAME_MAX + 1];
    uint8_t me_pubkey[GL_PUBKEY_BYTES];
    ent_t me; /* never in the table below */

    ent_t *ents; /* by name number: members and tombstones */
    uint32_t cap_ents;
    uint32_t *order; /* the members' names, in probe order */
    size_t n_members, cap_members;
    size_t n_state[4]; /* members per swim_state_t */
    aux_t *auxs;       /* by slot; free when empty */
    uint32_t n_auxs, cap_auxs;

    probe_t probe;
    size_t probe_pos;
    uint32_t ring_next;        /* the ring whose successor we probe next */
    uint64_t live_changes;     /* members that became live or stopped being */
    uint64_t view_changes;     /* changes of what swim_member_at reports */
    uint64_t rings_of;         /* live_changes + 1 when ring_succ was found */
    uint32_t *ring_succ;       /* our successor on each ring (names) */
    uint32_t *ring_pred;       /* and our predecessor */
    uint32_t vouch[VOUCH_MAX]; /* suspects to probe before the rings (names) */
    size_t n_vouch;
    uint32_t nbr[NBRS_MAX]; /* the ring neighbours: successors, predecessors */
    uint32_t n_nbr;
    uint64_t nbrs_of; /* rings_of when nbr was found */
    owed_t *owed;     /* estimates owed to ring neighbours, oldest first */
    size_t n_owed, cap_owed;
    uint64_t owed_due; /* no estimate is due before */
    bool in_sync;      /* swim_recv: the message is a push-pull */
    uint32_t next_seq;
    uint64_t next_probe_at;
    size_t n_relays;
    alarm_t *alarms; /* suspicion deadlines, a min-heap */
    size_t n_alarms, cap_alarms;
    uint64_t alarm_at; /* alarms[0].at, or UINT64_MAX */
    uint32_t awareness;

    uint32_t *peers; /* the gossip_peers names most recently probed, newest first */
    size_t n_peers;
    swim_queue_t *queue; /* updates waiting to ride on messages */
    swim_pick_t *picked; /* scratch: max_piggyback entries */
    uint64_t next_gossip_at, next_pushpull_at;

    char **seeds;
    size_t n_seeds;
    uint64_t next_join_at;
    bool synced;      /* a member answered a push-pull of ours with its state */
    bool buried_once; /* bury_past_self ran, at buried_at */
    uint64_t buried_at;

    fifo_t out, events;
    swim_stats_t stats;

    /* swim_recv: the name of the update being applied, found already. */
    const char *hint_name;
    uint32_t hint_id;
    uint64_t hint_epoch; /* pool->names_freed when it was found */

    /* Seldom used, and big: last, away from what every message reads. */
    relay_t relays[RELAYS_MAX];
    char me_addr[GL_ADDR_MAX + 1];
};

/* ---- small helpers -------------------------------------------------------- */

static bool name_ok (const char *name)
{
    return strnlen (name, GL_NAME_MAX + 1) <= GL_NAME_MAX && gl_name_valid (name);
}

static uint64_t min_u64 (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static bool res_zero (const gl_res_t *r)
{
    return !r->cores && !r->load1_milli && !r->load_recent_milli && !r->owner_load_milli &&
           !r->mem_total_kb && !r->mem_avail_kb && !r->owner_idle_s && !r->state && !r->guests &&
           !r->started;
}

static size_t rng_below (swim_t *self, size_t n)
{
    return n ? (size_t) (gl_splitmix64 (&self->rng) % n) : 0;
}

static const char *name_of (const swim_t *self, uint32_t id)
{
    return swim_pool_name (self->pool, id);
}

static const gl_rec_t *rec_of (const swim_t *self, uint32_t id)
{
    return swim_pool_rec (self->pool, id);
}

static uint32_t ent_id (const swim_t *self, const ent_t *m)
{
    return m == &self->me ? self->me_id : (uint32_t) (m - self->ents);
}

static const char *ent_name (const swim_t *self, const ent_t *m)
{
    return m == &self->me ? self->me_name : name_of (self, (uint32_t) (m - self->ents));
}

/* Where it said it is, in its latest ALIVE record. */
static const char *ent_addr (const swim_t *self, const ent_t *m)
{
    return rec_of (self, m->alive)->addr;
}

static const uint8_t *ent_pubkey (const swim_t *self, const ent_t *m)
{
    return rec_of (self, m->alive)->pubkey;
}

static uint64_t ent_res_seq (const ent_t *m)
{
    return m->has_res ? m->res_seq : 0;
}

/* ---- FIFOs (messages out, events) ----------------------------------------- */

static bool fifo_push (fifo_t *f, const void *item)
{
    if (f->head + f->count == f->cap) {
        if (f->head >= f->cap / 2 && f->head > 0) {
            memmove (f->items, f->items + f->head * f->size, f->count * f->size);
            f->head = 0;
        }
        else {
            size_t cap = f->cap ? f->cap * 2 : 16;
            char *items = realloc (f->items, cap * f->size);
            if (!items)
                return false;
            f->items = items;
            f->cap = cap;
        }
    }
    memcpy (f->items + (f->head + f->count) * f->size, item, f->size);
    f->count++;
    return true;
}

static bool fifo_pop (fifo_t *f, void *item)
{
    if (!f->count)
        return false;
    memcpy (item, f->items + f->head * f->size, f->size);
    f->head++;
    if (--f->count == 0) {
        f->head = 0;
        if (f->cap > 64) { /* a burst (a whole state learned) is over */
            free (f->items);
            f->items = NULL;
            f->cap = 0;
        }
    }
    return true;
}

static void push_event (swim_t *self, int kind, const char *node, const char *from,
                        uint64_t generation, uint64_t incarnation, uint64_t now)
{
    swim_event_t ev;
    memset (&ev, 0, sizeof ev);
    ev.kind = kind;
    gl_strlcpy (ev.node, node, sizeof ev.node);
    gl_strlcpy (ev.from, from ? from : "", sizeof ev.from);
    ev.generation = generation;
    ev.incarnation = incarnation;
    ev.at_ms = now;
    fifo_push (&self->events, &ev);
}

/* ---- the member table ----------------------------------------------------- */

static ent_t *ent_find (swim_t *self, const char *name, int kind)
{
    uint32_t id = name == self->hint_name && self->hint_epoch == swim_pool_names_freed (self->pool)
                      ? self->hint_id
                      : swim_pool_name_find (self->pool, name);
    if (!id || id >= self->cap_ents || self->ents[id].kind != kind)
        return NULL;
    return &self->ents[id];
}

static ent_t *member_find (swim_t *self, const char *name)
{
    return ent_find (self, name, ENT_MEMBER);
}

static ent_t *tomb_find (swim_t *self, const char *name)
{
    return ent_find (self, name, ENT_TOMB);
}

static ent_t *member_by_id (swim_t *self, uint32_t id)
{
    if (!id || id >= self->cap_ents || self->ents[id].kind != ENT_MEMBER)
        return NULL;
    return &self->ents[id];
}

static ent_t *member_at (swim_t *self, size_t i)
{
    return &self->ents[self->order[i]];
}

/* Us and the members we think are alive or suspect. */
static size_t live_count (const swim_t *self)
{
    return 1 + self->n_state[SWIM_ALIVE] + self->n_state[SWIM_SUSPECT];
}

/* Room in the table for name number `id`.  Doubles, but to at most a
   quarter more than the numbers the pool has handed out, which a shared
   pool hands out to every node of the cluster early: the table then has
   about one entry per node.  Never by less than a quarter, though: while
   10,000 nodes start, each newcomer is a new number, and a table grown to
   fit each would be copied over and over.  Pointers into the table are
   stale after this. */
static int ents_reserve (swim_t *self, uint32_t id)
{
    if (id < self->cap_ents)
        return 0;
    size_t cap = 2 * (size_t) self->cap_ents, high = swim_pool_names_high (self->pool);
    if (cap < 64)
        cap = 64;
    if (cap > high + 1 + high / 4)
        cap = high + 1 + high / 4;
    if (cap < (size_t) self->cap_ents + self->cap_ents / 4)
        cap = (size_t) self->cap_ents + self->cap_ents / 4;
    if (cap < (size_t) id + 1)
        cap = (size_t) id + 1;
    if (swim_queue_reserve (self->queue, (uint32_t) cap))
        return -1;
    ent_t *ents = aligned_alloc (64, cap * sizeof *ents);
    if (!ents)
        return -1;
    if (self->cap_ents)
        memcpy (ents, self->ents, self->cap_ents * sizeof *ents);
    memset (ents + self->cap_ents, 0, (cap - self->cap_ents) * sizeof *ents);
    free (self->ents);
    self->ents = ents;
    self->cap_ents = (uint32_t) cap;
    return 0;
}

/* What an entry holds in the pool, given back; the entry is left empty
   but keeps its name's reference. */
static void ent_release (swim_t *self, ent_t *m)
{
    swim_pool_rec_drop (self->pool, m->rec);
    swim_pool_rec_drop (self->pool, m->alive);
    swim_pool_rec_drop (self->pool, m->res);
    swim_pool_name_drop (self->pool, m->accuser);
    m->rec = m->alive = m->res = m->accuser = 0;
}

/* A new ALIVE member, put at a random place in the probe order (memberlist
   does the same, so a newcomer is not always probed last).  Pointers into
   the table are stale after this. */
static ent_t *member_add (swim_t *self, const char *name)
{
    if (self->n_members == self->cap_members) {
        size_t cap = self->cap_members ? self->cap_members * 2 : 16;
        uint32_t *order = realloc (self->order, cap * sizeof *order);
        if (!order)
            return NULL;
        self->order = order;
        self->cap_members = cap;
    }
    uint32_t id = swim_pool_name_ref (self->pool, name);
    if (!id)
        return NULL;
    if (ents_reserve (self, id)) {
        swim_pool_name_drop (self->pool, id);
        return NULL;
    }
    ent_t *m = &self->ents[id];
    if (m->kind != ENT_NONE) { /* a tombstone: it holds the name already */
        ent_release (self, m);
        swim_pool_name_drop (self->pool, id);
    }
    uint32_t last = (uint32_t) self->n_members++;
    uint32_t pos = (uint32_t) rng_below (self, (size_t) last + 1);
    self->live_changes++;
    self->view_changes++;
    if (pos != last)
        self->order[last] = self->order[pos];
    self->order[pos] = id;
    memset (m, 0, sizeof *m);
    m->kind = ENT_MEMBER;
    m->state = SWIM_ALIVE;
    self->n_state[SWIM_ALIVE]++;
    return m;
}

static void set_state (swim_t *self, ent_t *m, uint8_t state, uint64_t now)
{
    bool was_live = m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT;
    if (was_live != (state == SWIM_ALIVE || state == SWIM_SUSPECT))
        self->live_changes++;
    self->view_changes++;
    self->n_state[m->state]--;
    self->n_state[state]++;
    m->state = state;
    m->state_since = now;
}

/* A forgotten member becomes a tombstone: state, generation, incarnation
   and key stay (its broadcasts and suspicion are gone already). */
static void tomb_put (swim_t *self, ent_t *m)
{
    uint32_t alive = m->alive;
    m->alive = 0;
    ent_release (self, m);
    ent_t t = { .kind = ENT_TOMB,
                .state = m->state,
                .generation = m->generation,
                .incarnation = m->incarnation,
                .alive = alive };
    *m = t;
}

/* ---- records ---------------------------------------------------------------- */

/* Keep an accepted ALIVE or LEAVE record (its addr and key too): the
   reference `rid` passes to the member. */
static void take_record (swim_t *self, ent_t *m, uint32_t rid)
{
    self->view_changes++; /* its incarnation, address or state with it */
    if (rec_of (self, rid)->kind == GL_REC_ALIVE) {
        swim_pool_rec_hold (self->pool, rid);
        swim_pool_rec_drop (self->pool, m->alive);
        m->alive = rid;
    }
    swim_pool_rec_drop (self->pool, m->rec);
    m->rec = rid;
}

static void take_res (swim_t *self, ent_t *m, uint32_t rid, uint64_t now)
{
    swim_pool_rec_drop (self->pool, m->res);
    self->view_changes++;
    m->has_res = true;
    m->res = rid;
    m->res_seq = rec_of (self, rid)->seq;
    m->res_recv = now;
}

/* What every record must be before we read it: a valid name, a
   terminated address, a kind we know. */
static bool record_readable (const gl_rec_t *rec, bool name_known)
{
    return (name_known || name_ok (rec->origin)) && memchr (rec->addr, 0, sizeof rec->addr) &&
           rec->kind >= GL_REC_ALIVE && rec->kind <= GL_REC_RES;
}

/* Records are rebuilt from their parts when relayed, so a record we take
   must have exactly the shape its kind allows or its signature would not
   survive the trip.  Checked with the signature, when the record is news:
   most records that arrive are known already and go no further. */
static bool record_shaped (const gl_rec_t *rec)
{
    switch (rec->kind) {
        case GL_REC_ALIVE: return rec->addr[0] && res_zero (&rec->res);
        case GL_REC_LEAVE:
            return !rec->addr[0] && sodium_is_zero (rec->pubkey, sizeof rec->pubkey) &&
                   res_zero (&rec->res);
        case GL_REC_RES:
            return !rec->addr[0] && sodium_is_zero (rec->pubkey, sizeof rec->pubkey) &&
                   rec->res.state <= GL_RES_UNAVAILABLE;
        default: return false;
    }
}

/* Shaped as its kind allows, and signed with this key. */
static bool signed_by (swim_t *self, const gl_rec_t *rec, const uint8_t *pubkey)
{
    return record_shaped (rec) && self->signer.verify (self->signer.ctx, rec, pubkey) == 0;
}

/* A record of ours, signed, as a reference; 0 on failure.  `res` only for
   GL_REC_RES. */
static uint32_t sign_own (swim_t *self, uint8_t kind, uint64_t seq, const gl_res_t *res,
                          uint64_t now)
{
    gl_rec_t rec;
    memset (&rec, 0, sizeof rec);
    rec.kind = kind;
    gl_strlcpy (rec.origin, self->me_name, sizeof rec.origin);
    rec.generation = self->me.generation;
    rec.seq = seq;
    rec.time_ms = now;
    if (kind == GL_REC_ALIVE) {
        gl_strlcpy (rec.addr, self->me_addr, sizeof rec.addr);
        memcpy (rec.pubkey, self->me_pubkey, sizeof rec.pubkey);
    }
    if (res)
        rec.res = *res;
    if (self->signer.sign (self->signer.ctx, &rec))
        return 0;
    return swim_pool_rec_ref (self->pool, &rec);
}

/* ---- what the broadcast queue carries -------------------------------------
   The queue (queue.h) holds no copy of an update: a record is a
   reference into the pool, a suspicion or death the few numbers it says,
   kept here in the member's aux slot; after the retransmit limit an
   update is forgotten. */

static void set_status_update (gl_update_t *u, uint8_t kind, const char *node, uint64_t generation,
                               uint64_t incarnation, const char *from)
{
    /* What a reader sees of a zeroed update, without writing its 650
       bytes: strings end at their NUL, the rest is zero. */
    u->rec.kind = 0;
    u->rec.origin[0] = 0;
    u->rec.generation = u->rec.seq = u->rec.time_ms = 0;
    u->rec.addr[0] = 0;
    memset (u->rec.pubkey, 0, sizeof u->rec.pubkey);
    memset (&u->rec.res, 0, sizeof u->rec.res);
    memset (u->rec.sig, 0, sizeof u->rec.sig);
    u->kind = kind;
    gl_strlcpy (u->node, node, sizeof u->node);
    u->generation = generation;
    u->incarnation = incarnation;
    gl_strlcpy (u->from, from, sizeof u->from);
}

/* How many times each update is sent.  A member misses an update only
   when every one of the n * limit sends misses it, which happens with
   probability about e^-(limit * (1 - loss)); one of n members does with n
   times that.  memberlist's retransmit_mult * log10 (n + 1) gives a large
   cluster room to spare (16 sends, 1 update in 4,000 at 1,000 members and
   5 % loss), but not a small one: 8 sends at 64 members miss someone on
   3 % of the updates, 12 at 256 on 0.3 %, and the member who missed one
   waits for a push-pull, 30 s to a few minutes (glsim: 99.9 % reach in
   20-60 s for those updates).  So no cluster sends fewer than a thousand
   members would. */
static uint32_t retransmit_limit (const swim_t *self)
{
    double n = (double) live_count (self);
    uint32_t scale = (uint32_t) ceil (log10 (n + 1));
    if (scale < RETRANSMIT_MIN_LOG)
        scale = RETRANSMIT_MIN_LOG;
    return self->cfg.retransmit_mult * scale;
}

/* ---- aux slots: suspicions and queued status updates ---- */

static aux_t *aux_of (const swim_t *self, const ent_t *m)
{
    return m->aux ? &self->auxs[m->aux - 1] : NULL;
}

/* m's slot, made when it has none; NULL when out of memory. */
static aux_t *aux_get (swim_t *self, ent_t *m)
{
    if (m->aux)
        return &self->auxs[m->aux - 1];
    uint32_t slot = 0;
    while (slot < self->n_auxs && (self->auxs[slot].susp || self->auxs[slot].st_kind))
        slot++;
    if (slot == self->cap_auxs) {
        uint32_t cap = self->cap_auxs ? 2 * self->cap_auxs : 16;
        aux_t *auxs = realloc (self->auxs, cap * sizeof *auxs);
        if (!auxs)
            return NULL;
        self->auxs = auxs;
        self->cap_auxs = cap;
    }
    if (slot == self->n_auxs)
        self->n_auxs++;
    memset (&self->auxs[slot], 0, sizeof self->auxs[slot]);
    m->aux = slot + 1;
    return &self->auxs[slot];
}

/* Give the slot back once it holds nothing. */
static void aux_put (swim_t *self, ent_t *m)
{
    aux_t *a = aux_of (self, m);
    if (a && !a->susp && !a->st_kind) {
        m->aux = 0;
        while (self->n_auxs && !self->auxs[self->n_auxs - 1].susp &&
               !self->auxs[self->n_auxs - 1].st_kind)
            self->n_auxs--;
    }
}

static void status_clear (swim_t *self, ent_t *m)
{
    aux_t *a = aux_of (self, m);
    if (a && a->st_kind) {
        swim_pool_name_drop (self->pool, a->st_from);
        a->st_from = 0;
        a->st_kind = 0;
        aux_put (self, m);
    }
}

/* ---- the queue (queue.h) ---- */

/* The entry behind an update queued (us or a member). */
static ent_t *ent_of (swim_t *self, uint32_t id)
{
    return id == self->me_id ? &self->me : &self->ents[id];
}

/* The queue gave up an update on its own: a status it named goes. */
static void queue_dropped (void *ctx, uint32_t id, int cls)
{
    swim_t *self = ctx;
    if (cls == SWIM_CLASS_MEMBERSHIP)
        status_clear (self, ent_of (self, id));
}

static void res_forget (swim_t *self, uint32_t id);

/* Nothing of class cls queued (or owed to ring neighbours) about m any
   more. */
static void queue_drop (swim_t *self, ent_t *m, int cls)
{
    swim_queue_drop (self->queue, ent_id (self, m), cls);
    if (cls == SWIM_CLASS_MEMBERSHIP)
        status_clear (self, m);
    else
        res_forget (self, ent_id (self, m));
}

/* Queue m's latest record of this class (its ALIVE or LEAVE record, or
   its estimate) to spread, in place of what was queued about it. */
static void queue_record (swim_t *self, ent_t *m, int cls)
{
    if (cls == SWIM_CLASS_MEMBERSHIP)
        status_clear (self, m);
    if (swim_queue_put (self->queue, ent_id (self, m), cls,
                        cls == SWIM_CLASS_RES ? m->res : m->rec))
        queue_drop (self, m, cls);
}

/* Queue a SUSPECT or DEAD update about m, in place of what was queued. */
static void queue_status (swim_t *self, ent_t *m, const gl_update_t *u)
{
    status_clear (self, m);
    uint32_t from = swim_pool_name_ref (self->pool, u->from);
    aux_t *a = from ? aux_get (self, m) : NULL;
    if (!a) {
        swim_pool_name_drop (self->pool, from);
        queue_drop (self, m, SWIM_CLASS_MEMBERSHIP);
        return;
    }
    a->st_kind = u->kind;
    a->st_from = from;
    a->st_generation = u->generation;
    a->st_incarnation = u->incarnation;
    if (swim_queue_put (self->queue, ent_id (self, m), SWIM_CLASS_MEMBERSHIP, 0))
        queue_drop (self, m, SWIM_CLASS_MEMBERSHIP);
}

/* The update picked to send. */
static void queued_update (swim_t *self, const swim_pick_t *pk, gl_update_t *u)
{
    if (pk->rec) {
        upd_copy (u, swim_pool_upd (self->pool, pk->rec));
        return;
    }
    const aux_t *a = aux_of (self, ent_of (self, pk->id));
    set_status_update (u, a->st_kind, name_of (self, pk->id), a->st_generation, a->st_incarnation,
                       name_of (self, a->st_from));
}

/* ---- output ------------------------------------------------------------------ */

/* What we think of m when it is worse than alive, as a SUSPECT or DEAD
   update from whoever said so first; 1 if written, else 0. */
static size_t status_of (swim_t *self, const ent_t *m, gl_update_t *u)
{
    if (m->state != SWIM_SUSPECT && m->state != SWIM_DEAD)
        return 0;
    set_status_update (u, m->state == SWIM_SUSPECT ? GL_UPD_SUSPECT : GL_UPD_DEAD,
                       ent_name (self, m), m->generation, m->incarnation,
                       m->accuser ? name_of (self, m->accuser) : self->me_name);
    return 1;
}

/* A member's latest ALIVE or LEAVE record, as an update. */
static void record_update (const swim_t *self, const ent_t *m, gl_update_t *u)
{
    upd_copy (u, swim_pool_upd (self->pool, m->rec));
}

/* What a message to `m` should tell it about itself: that we think it is
   suspect or dead (so it can refute at once, as memberlist does when it
   probes a suspect), or, the first few times, who we are. */
static size_t news_for (swim_t *self, ent_t *m, gl_update_t *u, bool our_record_sent)
{
    size_t n = status_of (self, m, u);
    if (m->intro) {
        m->intro--;
        if (!our_record_sent)
            record_update (self, &self->me, &u[n++]);
    }
    return n;
}

/* We just sent `to` a PING or an ACK, which opened a connection to it if
   none was open (the agent's links, cmd/links.h): first among the peers
   gossip and indirect probes go to, the one touched longest ago leaving
   when there are gossip_peers.  ACKs count as well as PINGs: a member
   that probed us lately is then a peer too, so a member is the peer of
   about as many members as are its peers (those it probed lately, and
   those that probed it), never of none. */
static void peer_touch (swim_t *self, const ent_t *to)
{
    if (!self->cfg.gossip_peers || to < self->ents || to >= self->ents + self->cap_ents)
        return;
    uint32_t id = (uint32_t) (to - self->ents);
    size_t at = 0;
    while (at < self->n_peers && self->peers[at] != id)
        at++;
    if (at == self->n_peers && self->n_peers < self->cfg.gossip_peers)
        self->n_peers++;
    if (at == self->n_peers)
        at--;
    memmove (self->peers + 1, self->peers, at * sizeof *self->peers);
    self->peers[0] = id;
}

/* ---- estimates on the rings -------------------------------------------------

   With probe_rings = K (and more than K other live members), estimates do
   not go through the broadcast queue, where every member sends each one
   4 * retransmit_mult = 16 times: with every node refreshing its estimate
   every minute, that is 16 N / 60 estimates a second sent by each node,
   and the gossip messages that carry them grew with N until they filled
   every gossip round (glsim, idle: 7.0, 9.6 and 17.8 messages a second
   per node at 64, 256 and 1,000 nodes; real agents: 2.0, 5.2 and 8.0
   packets a second at 16, 64 and 128).  Instead an estimate floods the
   ring neighbours, the union of K random rings (an expander, of
   diameter about log N): a member that takes an estimate new to it (a
   later sequence number than it holds) owes it to each of its ring
   neighbours once, but the one it came from; one it holds already is
   passed on by nobody, and a neighbour that sends us an estimate we
   still owe it is owed it no more.  Each node then sends each estimate
   at most 2 K times (8), whatever N.

   Our own new estimate goes at once, in a GOSSIP to each neighbour, and
   so does one that came straight from its origin: two hops at once reach
   the origin's 2 K neighbours and theirs, about 2 K + 2 K (2 K - 1) = 64
   members, everyone in a small cluster.  Further on, what is owed rides
   on the messages a node sends its neighbours anyway: its PINGs go to its
   successors and its ACKs to its predecessors, each of them once every K
   probe periods, up to RES_BATCH estimates a message; what no message
   took within K probe periods (res_hold: views that differ, a neighbour
   that does not probe us, Lifeguard slowing our probes) goes in a GOSSIP
   to that neighbour.  A node is the neighbour of about 2 K origins, each
   refreshing once a refresh interval, so it sends the probes' two
   messages a second and about 2 K * 2 K = 64 GOSSIPs a refresh interval
   (about one a second), whatever N; only the bytes grow with N, as they
   must: every node hears every estimate.  Beyond two hops an estimate
   reaches a neighbour within K probe periods of reaching us (4 s by
   default), so every member within two network delays plus K probe
   periods for each hop beyond the second: the rings' union is an
   expander, about log N / log (2 K - 1) hops across (glsim, no loss:
   99.9 % of 256 nodes in 2.3 s, of 1,000 in 3-5 s; bench/README.md,
   cluster.conf(5)).

   Estimates learned from a push-pull are not passed on: the exchange
   repairs what we missed, and a joiner that learned a thousand at once
   would flood its neighbours with what they hold.  The estimate's origin
   refreshes it within a refresh interval, and the others' own
   push-pulls bring it sooner.  With fewer live members than K + 1, or K
   = 0, estimates go through the queue as SWIM has it; what is owed when
   the rings go off is queued then. */

static bool rings_on (const swim_t *self);
static void rings_find (swim_t *self);

static uint64_t res_hold (const swim_t *self)
{
    return (uint64_t) self->cfg.probe_rings * self->cfg.probe_interval_ms;
}

static int nbr_slot (const swim_t *self, uint32_t id)
{
    for (uint32_t j = 0; j < self->n_nbr; j++)
        if (self->nbr[j] == id)
            return (int) j;
    return -1;
}

/* Drop what is owed to nobody, keeping the order. */
static void owed_compact (swim_t *self)
{
    size_t keep = 0;
    for (size_t i = 0; i < self->n_owed; i++)
        if (self->owed[i].owe)
            self->owed[keep++] = self->owed[i];
    self->n_owed = keep;
}

/* The ring neighbours, found again once the rings changed.  What was owed
   to a neighbour that stays stays owed; a new neighbour (a joiner, or the
   next one round from a member that died) is owed everything still in
   flight, which it may have missed while it was not ours. */
static void nbrs_refresh (swim_t *self)
{
    rings_find (self);
    if (self->nbrs_of == self->rings_of)
        return;
    self->nbrs_of = self->rings_of;
    uint32_t nbr[NBRS_MAX], n = 0;
    for (uint32_t r = 0; r < self->cfg.probe_rings; r++) {
        uint32_t both[2] = { self->ring_succ[r], self->ring_pred[r] };
        for (int k = 0; k < 2; k++) {
            bool dup = !both[k];
            for (uint32_t j = 0; j < n && !dup; j++)
                dup = nbr[j] == both[k];
            if (!dup)
                nbr[n++] = both[k];
        }
    }
    uint32_t map[NBRS_MAX], fresh = 0;
    for (uint32_t j = 0; j < self->n_nbr; j++) {
        map[j] = 0;
        for (uint32_t i = 0; i < n; i++)
            if (nbr[i] == self->nbr[j])
                map[j] = 1u << i;
    }
    for (uint32_t i = 0; i < n; i++) {
        bool known = false;
        for (uint32_t j = 0; j < self->n_nbr && !known; j++)
            known = self->nbr[j] == nbr[i];
        if (!known)
            fresh |= 1u << i;
    }
    for (size_t i = 0; i < self->n_owed; i++) {
        uint32_t owe = fresh;
        for (uint32_t j = 0; j < self->n_nbr; j++)
            if (self->owed[i].owe & (1u << j))
                owe |= map[j];
        self->owed[i].owe = owe;
    }
    memcpy (self->nbr, nbr, n * sizeof *nbr);
    self->n_nbr = n;
    owed_compact (self);
}

static owed_t *owed_find (swim_t *self, uint32_t id)
{
    for (size_t i = 0; i < self->n_owed; i++)
        if (self->owed[i].id == id)
            return &self->owed[i];
    return NULL;
}

/* The latest estimate of the member named `id` (us too), or 0. */
static uint32_t owed_rec (swim_t *self, uint32_t id)
{
    const ent_t *m = id == self->me_id ? &self->me : member_by_id (self, id);
    return m && m->has_res ? m->res : 0;
}

/* m's estimate is new to us: owe it to every ring neighbour but `from`,
   who sent it (NULL: ours, which goes at once). */
static void res_owe (swim_t *self, ent_t *m, const char *from, uint64_t now)
{
    nbrs_refresh (self);
    uint32_t owe = self->n_nbr == 32 ? ~0u : (1u << self->n_nbr) - 1;
    if (from) {
        uint32_t fid = swim_pool_name_find (self->pool, from);
        int s = fid ? nbr_slot (self, fid) : -1;
        if (s >= 0)
            owe &= ~(1u << s);
    }
    if (!owe)
        return;
    uint64_t due = !from || gl_streq (from, ent_name (self, m)) ? now : now + res_hold (self);
    uint32_t id = ent_id (self, m);
    owed_t *o = owed_find (self, id);
    if (!o) {
        if (self->n_owed == self->cap_owed) {
            size_t cap = self->cap_owed ? 2 * self->cap_owed : 16;
            owed_t *owed = realloc (self->owed, cap * sizeof *owed);
            if (!owed)
                return; /* push-pull and its next refresh bring it */
            self->owed = owed;
            self->cap_owed = cap;
        }
        o = &self->owed[self->n_owed++];
        o->id = id;
        o->due = due;
    }
    o->owe = owe; /* the newer replaces the older, which nobody needs now */
    if (due < o->due)
        o->due = due;
    if (o->due < self->owed_due)
        self->owed_due = o->due;
}

/* `from` sent us m's estimate that we hold already: it needs it no more. */
static void res_heard (swim_t *self, const ent_t *m, const char *from)
{
    if (!self->n_owed)
        return;
    uint32_t fid = swim_pool_name_find (self->pool, from);
    int s = fid ? nbr_slot (self, fid) : -1;
    owed_t *o = s >= 0 ? owed_find (self, ent_id (self, m)) : NULL;
    if (o && (o->owe &= ~(1u << s)) == 0)
        owed_compact (self);
}

/* Nothing owed of m's estimate any more (it restarted, or is forgotten). */
static void res_forget (swim_t *self, uint32_t id)
{
    owed_t *o = owed_find (self, id);
    if (o) {
        o->owe = 0;
        owed_compact (self);
    }
}

/* What is owed to `to` and goes on a message to it: how many (at most
   RES_BATCH), and into u when u is not NULL.  *bit is its neighbour's. */
static size_t res_for (swim_t *self, const ent_t *to, gl_update_t *u, uint32_t *bit)
{
    *bit = 0;
    if (!self->n_owed || !to || to == &self->me)
        return 0;
    int s = nbr_slot (self, ent_id (self, to));
    if (s < 0)
        return 0;
    *bit = 1u << s;
    size_t n = 0;
    for (size_t i = 0; i < self->n_owed && n < RES_BATCH; i++) {
        uint32_t rid = self->owed[i].owe & *bit ? owed_rec (self, self->owed[i].id) : 0;
        if (!rid)
            continue;
        if (u)
            upd_copy (&u[n], swim_pool_upd (self->pool, rid));
        n++;
    }
    return n;
}

/* The n estimates res_for counted went out to the neighbour at `bit`. */
static void res_sent (swim_t *self, uint32_t bit, size_t n)
{
    for (size_t i = 0; i < self->n_owed && n; i++)
        if (self->owed[i].owe & bit) {
            self->owed[i].owe &= ~bit;
            n -= owed_rec (self, self->owed[i].id) != 0;
        }
    owed_compact (self);
}

/* The rings went off: what is owed goes through the queue. */
static void res_to_queue (swim_t *self)
{
    for (size_t i = 0; i < self->n_owed; i++) {
        uint32_t id = self->owed[i].id;
        if (owed_rec (self, id))
            queue_record (self, id == self->me_id ? &self->me : &self->ents[id], SWIM_CLASS_RES);
    }
    self->n_owed = 0;
}

/* Send a PING, ACK, PING_REQ, NACK or GOSSIP, with as many queued updates
   as fit and, to a ring neighbour, the estimates owed to it; `to` is the
   member named to_name, when it is one.  A GOSSIP with nothing to say is
   not sent; returns whether the message went out. */
static bool send_small (swim_t *self, uint8_t type, ent_t *to, const char *to_name,
                        const char *to_addr, uint32_t seq, const char *target,
                        const char *target_addr)
{
    uint32_t limit = retransmit_limit (self);
    size_t n_picked = swim_queue_select (self->queue, self->cfg.max_piggyback, limit, self->picked);
    uint32_t res_bit;
    size_t n_res = res_for (self, to, NULL, &res_bit);
    if (type == GL_MSG_GOSSIP && !n_picked && !n_res)
        return false;
    bool our_record_sent = false; /* ours is always a record, never a status */
    for (size_t i = 0; i < n_picked; i++)
        if (self->picked[i].cls == SWIM_CLASS_MEMBERSHIP && self->picked[i].id == self->me_id)
            our_record_sent = true;

    swim_out_t out;
    memset (&out, 0, sizeof out);
    gl_strlcpy (out.to_name, to_name, sizeof out.to_name);
    gl_strlcpy (out.to_addr, to_addr, sizeof out.to_addr);
    out.msg.type = type;
    out.msg.probe_seq = seq;
    gl_strlcpy (out.msg.target, target, sizeof out.msg.target);
    gl_strlcpy (out.msg.target_addr, target_addr, sizeof out.msg.target_addr);

    gl_update_t news[2];
    size_t n_news = to ? news_for (self, to, news, our_record_sent) : 0;
    size_t n = n_picked + n_news + n_res;
    if (n) {
        out.msg.updates = swim_pool_updates (self->pool, n);
        if (!out.msg.updates)
            return false;
        for (size_t i = 0; i < n_picked; i++)
            queued_update (self, &self->picked[i], &out.msg.updates[i]);
        for (size_t i = 0; i < n_news; i++)
            upd_copy (&out.msg.updates[n_picked + i], &news[i]);
        res_for (self, to, out.msg.updates + n_picked + n_news, &res_bit);
        out.msg.n_updates = (uint32_t) n;
    }
    if (!fifo_push (&self->out, &out)) {
        free (out.msg.updates);
        return false;
    }
    swim_queue_sent (self->queue, self->picked, n_picked, limit);
    if (n_res)
        res_sent (self, res_bit, n_res);
    if (to && (type == GL_MSG_PING || type == GL_MSG_ACK))
        peer_touch (self, to);
    return true;
}

/* Estimates no message took within res_hold (and our own, at once) go
   in a GOSSIP to each neighbour they are owed to, with everything else
   owed to it.  What a full message left waits a gossip interval. */
static void res_flush (swim_t *self, uint64_t now)
{
    if (!self->n_owed || now < self->owed_due)
        return;
    if (!rings_on (self)) {
        res_to_queue (self);
        return;
    }
    nbrs_refresh (self);
    uint32_t due = 0;
    for (size_t i = 0; i < self->n_owed; i++)
        if (self->owed[i].due <= now)
            due |= self->owed[i].owe;
    for (uint32_t j = 0; j < self->n_nbr; j++) {
        if (!(due & (1u << j)))
            continue;
        ent_t *m = member_by_id (self, self->nbr[j]);
        if (!m ||
            !send_small (self, GL_MSG_GOSSIP, m, ent_name (self, m), ent_addr (self, m), 0, "", ""))
            res_sent (self, 1u << j, SIZE_MAX); /* nobody to send it to */
    }
    self->owed_due = UINT64_MAX;
    for (size_t i = 0; i < self->n_owed; i++) {
        if (self->owed[i].due <= now)
            self->owed[i].due = now + self->cfg.gossip_interval_ms;
        self->owed_due = min_u64 (self->owed_due, self->owed[i].due);
    }
}

/* Everything we know about one member, as updates: its latest ALIVE or
   LEAVE record, then what we think of it if worse, then its resources.
   At most three; their encoded size is added to *bytes. */
static size_t state_updates (swim_t *self, const ent_t *m, gl_update_t *u, size_t *bytes)
{
    size_t n = 0;
    record_update (self, m, &u[n++]);
    *bytes += swim_pool_rec_wire_size (self->pool, m->rec);
    if (status_of (self, m, &u[n]))
        *bytes += swim_pool_update_wire_size (self->pool, &u[n++]);
    if (m->has_res) {
        upd_copy (&u[n++], swim_pool_upd (self->pool, m->res));
        *bytes += swim_pool_rec_wire_size (self->pool, m->res);
    }
    return n;
}

static size_t array_header (size_t n)
{
    return n <= 15 ? 1 : n <= 65535 ? 3 : 5;
}

/* Push-pull: our whole state, us first.  Dead and left members go too, so
   that their fate spreads.  A state too big for one packet (with room for
   the envelope) is cut in half until it fits; the probe order is
   reshuffled every round, so the others go another time.  Its encoded
   size is known from its updates' sizes, without encoding it. */
static void send_sync (swim_t *self, uint8_t type, const char *to_name, const char *to_addr)
{
    size_t cap = 3 * (self->n_members + 1);
    if (cap > GL_UPDATES_MAX)
        cap = GL_UPDATES_MAX;
    swim_out_t out;
    memset (&out, 0, sizeof out);
    gl_strlcpy (out.to_name, to_name, sizeof out.to_name);
    gl_strlcpy (out.to_addr, to_addr, sizeof out.to_addr);
    out.msg.type = type;
    size_t base = swim_pool_msg_size (&out.msg);
    out.msg.updates = swim_pool_updates (self->pool, cap);
    /* After us and the first k members: updates (upto[k]) and their bytes. */
    size_t *upto = malloc (2 * (self->n_members + 1) * sizeof *upto), *bytes = upto;
    if (!out.msg.updates || !upto) {
        free (out.msg.updates);
        free (upto);
        return;
    }
    bytes = upto + self->n_members + 1;
    size_t n = 0, b = 0, k = 0;
    n += state_updates (self, &self->me, out.msg.updates, &b);
    upto[0] = n;
    bytes[0] = b;
    for (; k < self->n_members && n + 3 <= cap; k++) {
        n += state_updates (self, member_at (self, k), out.msg.updates + n, &b);
        upto[k + 1] = n;
        bytes[k + 1] = b;
    }
    size_t members = self->n_members;
    for (;;) {
        size_t used = members < k ? members : k;
        size_t count = upto[used];
        if (count * SWIM_UPDATE_BYTES_MAX <= SYNC_BYTES_MAX || !members ||
            (base != SIZE_MAX && base + 1 + array_header (count) + bytes[used] <= SYNC_BYTES_MAX)) {
            out.msg.n_updates = (uint32_t) count;
            break;
        }
        members /= 2;
    }
    free (upto);
    if (out.msg.n_updates < n / 2 && out.msg.n_updates > SWIM_POOL_SMALL) { /* what was cut goes */
        gl_update_t *fewer = realloc (out.msg.updates, out.msg.n_updates * sizeof *fewer);
        if (fewer)
            out.msg.updates = fewer;
    }
    if (!fifo_push (&self->out, &out))
        free (out.msg.updates);
}

/* Send to a member by name, when we know where it is. */
static void send_to_member (swim_t *self, uint8_t type, const char *name, uint32_t seq,
                            const char *target)
{
    ent_t *m = member_find (self, name);
    if (m)
        send_small (self, type, m, ent_name (self, m), ent_addr (self, m), seq, target, "");
}

/* ---- random picks ------------------------------------------------------------ */

typedef bool (*member_ok_fn) (swim_t *self, const ent_t *m, const void *arg);

/* Up to `want` distinct random members that pass `ok`, with at most 3n
   draws, as memberlist's kRandomNodes: cheap when most members qualify. */
static size_t pick_members (swim_t *self, size_t want, member_ok_fn ok, const void *arg,
                            uint32_t *picks)
{
    size_t got = 0, n = self->n_members;
    if (want > PICK_MAX)
        want = PICK_MAX;
    for (size_t tries = 0; got < want && tries < 3 * n; tries++) {
        uint32_t i = (uint32_t) rng_below (self, n);
        if (!ok (self, member_at (self, i), arg))
            continue;
        bool dup = false;
        for (size_t j = 0; j < got && !dup; j++)
            dup = picks[j] == i;
        if (!dup)
            picks[got++] = i;
    }
    return got;
}

static bool is_live (const ent_t *m)
{
    return m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT;
}

static bool alive_ok (swim_t *self, const ent_t *m, const void *arg)
{
    (void) self;
    (void) arg;
    return m->state == SWIM_ALIVE;
}

static bool live_ok (swim_t *self, const ent_t *m, const void *arg)
{
    (void) self;
    (void) arg;
    return is_live (m);
}

static bool dead_ok (swim_t *self, const ent_t *m, const void *arg)
{
    (void) self;
    (void) arg;
    return m->state == SWIM_DEAD;
}

/* A helper for an indirect probe: alive, and not the target itself. */
static bool helper_ok (swim_t *self, const ent_t *m, const void *target)
{
    (void) self;
    return m->state == SWIM_ALIVE && m != target;
}

/* Gossip goes to live members, and to the recently dead or departed so
   that they can hear it and refute. */
static bool gossip_ok (swim_t *self, const ent_t *m, const void *now_p)
{
    uint64_t now = *(const uint64_t *) now_p;
    return is_live (m) ||
           now - m->state_since < (uint64_t) GOSSIP_TO_DEAD_PROBES * self->cfg.probe_interval_ms;
}

/* Up to `want` distinct members that pass `ok`: first at random among the
   peers (the members we last sent a PING or an ACK, whose connections
   are open), then at random among all.  Only gossip of estimates draws
   this way: the helpers of an indirect probe stay random (a peer is a
   member we spoke with lately, and one that crashed since, not yet
   suspected, would be picked more often than at random; its silence
   makes Lifeguard blame ourselves), and so does gossip of membership
   news in the round robin and in small clusters (below; on the rings
   beyond news_random_max members it is drawn as estimates are). */
static size_t pick_near (swim_t *self, size_t want, member_ok_fn ok, const void *arg, ent_t **to)
{
    if (want > PICK_MAX)
        want = PICK_MAX;
    uint32_t peers[PICK_MAX];
    size_t n = 0, n_peers = 0;
    for (size_t i = 0; i < self->n_peers && n_peers < PICK_MAX; i++) {
        ent_t *m = &self->ents[self->peers[i]];
        if (m->kind == ENT_MEMBER && ok (self, m, arg))
            peers[n_peers++] = self->peers[i];
    }
    while (n < want && n_peers) { /* a random one of the peers left */
        size_t k = rng_below (self, n_peers);
        to[n++] = &self->ents[peers[k]];
        peers[k] = peers[--n_peers];
    }
    if (n < want) {
        uint32_t picks[PICK_MAX];
        size_t got = pick_members (self, want, ok, arg, picks);
        for (size_t i = 0; i < got && n < want; i++) {
            ent_t *m = member_at (self, picks[i]);
            bool dup = false;
            for (size_t j = 0; j < n && !dup; j++)
                dup = to[j] == m;
            if (!dup)
                to[n++] = m;
        }
    }
    return n;
}

/* One update straight to member m, outside dissemination. */
static void send_update (swim_t *self, const ent_t *m, const gl_update_t *u)
{
    swim_out_t out;
    memset (&out, 0, sizeof out);
    gl_strlcpy (out.to_name, ent_name (self, m), sizeof out.to_name);
    gl_strlcpy (out.to_addr, ent_addr (self, m), sizeof out.to_addr);
    out.msg.type = GL_MSG_GOSSIP;
    out.msg.updates = swim_pool_updates (self->pool, 1);
    if (!out.msg.updates)
        return;
    out.msg.updates[0] = *u;
    out.msg.n_updates = 1;
    if (!fifo_push (&self->out, &out))
        free (out.msg.updates);
}

/* One update straight to every live member, or to 3 * gossip_nodes of them
   in a larger cluster; dissemination tells the rest. */
static void tell_many (swim_t *self, const gl_update_t *u)
{
    size_t fanout = 3 * (size_t) self->cfg.gossip_nodes;
    size_t live = live_count (self) - 1;
    uint32_t picks[PICK_MAX];
    size_t n = 0;
    if (live <= fanout && live <= PICK_MAX) {
        for (size_t i = 0; i < self->n_members; i++)
            if (is_live (member_at (self, i)))
                picks[n++] = (uint32_t) i;
    }
    else
        n = pick_members (self, fanout, live_ok, NULL, picks);
    for (size_t i = 0; i < n; i++)
        send_update (self, member_at (self, picks[i]), u);
}

/* ---- suspicion (Lifeguard) -------------------------------------------------- */

static suspicion_t *suspicion_of (const swim_t *self, const ent_t *m)
{
    const aux_t *a = aux_of (self, m);
    return a ? a->susp : NULL;
}

static uint64_t suspicion_timeout (const suspicion_t *s)
{
    if (s->k == 0 || s->max_ms <= s->min_ms)
        return s->min_ms;
    double frac = log (s->n + 1.0) / log (s->k + 1.0);
    double t = (double) s->max_ms - (double) (s->max_ms - s->min_ms) * frac;
    return t < (double) s->min_ms ? s->min_ms : (uint64_t) t;
}

static void alarm_push (swim_t *self, uint64_t at, uint32_t name)
{
    if (self->n_alarms == self->cap_alarms) {
        size_t cap = self->cap_alarms ? self->cap_alarms * 2 : 16;
        alarm_t *alarms = realloc (self->alarms, cap * sizeof *alarms);
        if (!alarms)
            return;
        self->alarms = alarms;
        self->cap_alarms = cap;
    }
    swim_pool_name_hold (self->pool, name);
    alarm_t *h = self->alarms;
    size_t i = self->n_alarms++;
    while (i > 0 && h[(i - 1) / 2].at > at) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i].at = at;
    h[i].name = name;
    self->alarm_at = h[0].at;
}

/* Remove the first alarm; its name's reference passes to the caller. */
static void alarm_pop (swim_t *self)
{
    alarm_t *h = self->alarms;
    alarm_t last = h[--self->n_alarms];
    size_t i = 0, n = self->n_alarms;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && h[child + 1].at < h[child].at)
            child++;
        if (h[child].at >= last.at)
            break;
        h[i] = h[child];
        i = child;
    }
    if (n)
        h[i] = last;
    self->alarm_at = n ? h[0].at : UINT64_MAX;
}

static void suspicion_clear (swim_t *self, ent_t *m)
{
    suspicion_t *s = suspicion_of (self, m);
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++)
        swim_pool_name_drop (self->pool, s->from[i]);
    free (s);
    aux_of (self, m)->susp = NULL;
    aux_put (self, m);
}

/* Suspicion timeouts are fixed when the suspicion starts: min grows with
   log10 of the cluster size, max is a multiple of it, and each independent
   confirmation brings the deadline closer to min. */
static void suspicion_start (swim_t *self, ent_t *m, uint64_t now)
{
    size_t n = live_count (self);
    uint32_t k = self->cfg.indirect_checks;
    if (n < (size_t) k + 2)
        k = 0; /* too few others to ever confirm it */
    suspicion_clear (self, m);
    aux_t *a = aux_get (self, m);
    suspicion_t *s = a ? calloc (1, sizeof *s + k * sizeof s->from[0]) : NULL;
    if (!s) {
        aux_put (self, m);
        return; /* it stays suspect until refuted or found dead elsewhere */
    }
    a->susp = s;
    double scale = log10 ((double) n);
    if (scale < 1)
        scale = 1;
    s->min_ms = (uint64_t) (self->cfg.suspicion_mult * scale * self->cfg.probe_interval_ms);
    s->max_ms = s->min_ms * self->cfg.suspicion_max_mult;
    s->k = k;
    s->start_ms = now;
    s->deadline_ms = now + suspicion_timeout (s);
    alarm_push (self, s->deadline_ms, ent_id (self, m));
}

/* Another node suspects m too; true when that is news. */
static bool suspicion_confirm (swim_t *self, ent_t *m, const char *from)
{
    suspicion_t *s = suspicion_of (self, m);
    if (!s || s->n >= s->k)
        return false;
    uint32_t id = swim_pool_name_find (self->pool, from);
    if (id && id == m->accuser)
        return false;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->from[i] == id)
            return false;
    if (!(id = swim_pool_name_ref (self->pool, from)))
        return false;
    s->from[s->n++] = id;
    s->deadline_ms = s->start_ms + suspicion_timeout (s);
    alarm_push (self, s->deadline_ms, ent_id (self, m));
    return true;
}

static void awareness_add (swim_t *self, int delta)
{
    if (delta < 0 && self->awareness > 0)
        self->awareness--;
    else if (delta > 0 && self->awareness + 1 < self->cfg.awareness_max)
        self->awareness++;
}

static void set_accuser (swim_t *self, ent_t *m, const char *from)
{
    uint32_t id = from ? swim_pool_name_ref (self->pool, from) : 0;
    swim_pool_name_drop (self->pool, m->accuser);
    m->accuser = id;
}

/* ---- knowledge ---------------------------------------------------------------
   Each function takes one update and applies the ordering rules of swim.h;
   what changes our view is queued to spread further and reported as an
   event.  `sender` is who handed us the update. */

static void old_news (swim_t *self)
{
    self->stats.old_records++;
}

static void refuse (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    self->stats.bad_records++;
    push_event (self, SWIM_EV_BAD_RECORD, rec->origin, sender, rec->generation, rec->seq, now);
}

/* A new ALIVE record of ours, at incarnation `inc`, queued to spread. */
static int sign_alive (swim_t *self, uint64_t inc, uint64_t now)
{
    uint32_t rid = sign_own (self, GL_REC_ALIVE, inc, NULL, now);
    if (!rid)
        return -1;
    self->me.incarnation = inc;
    take_record (self, &self->me, rid);
    queue_record (self, &self->me, SWIM_CLASS_MEMBERSHIP);
    return 0;
}

/* Someone suspects us or says we are dead: if it is about this life and
   not already refuted, out-bid it. */
static void accused (swim_t *self, const gl_update_t *u, const char *sender, uint64_t now)
{
    ent_t *me = &self->me;
    if (me->state == SWIM_LEFT || u->generation != me->generation || u->incarnation == UINT64_MAX)
        return;
    /* An accusation we refuted already: whoever handed it to us has not
       heard the refutation.  Dissemination sends it only so many times,
       and a node that missed all of them (often the accuser itself, which
       keeps telling us) would declare us dead when its timer runs out, or
       keep us dead until a push-pull.  Answer it directly (regression:
       t/sim/scenarios/refute-old-news.scen). */
    if (u->incarnation < me->incarnation) {
        ent_t *m = member_find (self, sender);
        if (m && is_live (m)) {
            gl_update_t mine;
            record_update (self, me, &mine);
            send_update (self, m, &mine);
        }
        return;
    }
    if (sign_alive (self, u->incarnation + 1, now))
        return;
    /* The refutation races timers already running everywhere; in a small
       cluster dissemination sends it only four times a node, and a node
       that misses them all declares us dead.  So, like a LEAVE, it also
       goes straight to every member (a few in a large cluster; regression:
       t/sim/scenarios/refute-between-pauses.scen). */
    gl_update_t mine;
    record_update (self, me, &mine);
    tell_many (self, &mine);
    self->stats.refutations++;
    awareness_add (self, +1); /* Lifeguard: being suspected hints that we are slow */
    push_event (self, SWIM_EV_REFUTED, self->me_name, u->from, me->generation, me->incarnation,
                now);
}

/* An ALIVE record of a node we don't know (or forgot). */
static void learn (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    ent_t *t = tomb_find (self, rec->origin);
    if (t) {
        if (rec->generation < t->generation ||
            (rec->generation == t->generation && rec->seq <= t->incarnation)) {
            old_news (self);
            return;
        }
        if (rec->generation == t->generation &&
            memcmp (rec->pubkey, ent_pubkey (self, t), GL_PUBKEY_BYTES)) {
            refuse (self, rec, sender, now); /* one life, one key */
            return;
        }
    }
    if (!signed_by (self, rec, rec->pubkey)) { /* trust on first use */
        refuse (self, rec, sender, now);
        return;
    }
    uint32_t rid = swim_pool_rec_ref (self->pool, rec);
    ent_t *m = rid ? member_add (self, rec->origin) : NULL;
    if (!m) {
        swim_pool_rec_drop (self->pool, rid);
        return;
    }
    m->generation = rec->generation;
    m->incarnation = rec->seq;
    m->state_since = now;
    m->intro = INTRO_MSGS;
    take_record (self, m, rid);
    push_event (self, SWIM_EV_JOINED, rec->origin, sender, m->generation, m->incarnation, now);
    queue_record (self, m, SWIM_CLASS_MEMBERSHIP);
}

/* A newer generation of m: the node restarted.  It replaces all we knew. */
static void restart (swim_t *self, ent_t *m, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    uint32_t rid = swim_pool_rec_ref (self->pool, rec);
    if (!rid)
        return;
    suspicion_clear (self, m);
    m->generation = rec->generation;
    m->incarnation = rec->seq;
    set_accuser (self, m, NULL);
    m->intro = INTRO_MSGS;
    take_record (self, m, rid);
    if (m->has_res && rec_of (self, m->res)->generation < m->generation) {
        m->has_res = false;
        swim_pool_rec_drop (self->pool, m->res);
        m->res = 0;
        queue_drop (self, m, SWIM_CLASS_RES);
    }
    set_state (self, m, SWIM_ALIVE, now);
    push_event (self, SWIM_EV_JOINED, rec->origin, sender, m->generation, m->incarnation, now);
    queue_record (self, m, SWIM_CLASS_MEMBERSHIP);
}

static void apply_alive (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    ent_t *m = member_find (self, rec->origin);
    if (!m) {
        learn (self, rec, sender, now);
        return;
    }
    const uint8_t *pubkey = ent_pubkey (self, m);
    if (rec->generation > m->generation) {
        /* A new key is believed only once the old self is dead or gone
           (it lost its state directory); else it is an impostor. */
        bool same_key = memcmp (rec->pubkey, pubkey, GL_PUBKEY_BYTES) == 0;
        bool gone = m->state == SWIM_DEAD || m->state == SWIM_LEFT;
        if ((!same_key && !gone) || !signed_by (self, rec, rec->pubkey))
            refuse (self, rec, sender, now);
        else
            restart (self, m, rec, sender, now);
        return;
    }
    if (rec->generation < m->generation || rec->seq <= m->incarnation) {
        old_news (self);
        return;
    }
    if (memcmp (rec->pubkey, pubkey, GL_PUBKEY_BYTES) || !signed_by (self, rec, pubkey)) {
        refuse (self, rec, sender, now);
        return;
    }
    uint32_t rid = swim_pool_rec_ref (self->pool, rec);
    if (!rid)
        return;
    /* A higher incarnation of this life: the node refutes whatever we
       thought, even a death. */
    m->incarnation = rec->seq;
    take_record (self, m, rid);
    if (m->state != SWIM_ALIVE) {
        suspicion_clear (self, m);
        set_accuser (self, m, NULL);
        set_state (self, m, SWIM_ALIVE, now);
        push_event (self, SWIM_EV_ALIVE, rec->origin, sender, m->generation, m->incarnation, now);
    }
    queue_record (self, m, SWIM_CLASS_MEMBERSHIP);
}

/* LEAVE and RES records need the node's key: for a node or a generation we
   don't know yet, they are held back (push-pull brings them again). */
static void apply_leave (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    ent_t *m = member_find (self, rec->origin);
    if (!m || rec->generation > m->generation)
        return;
    if (rec->generation < m->generation || rec->seq < m->incarnation || m->state == SWIM_LEFT) {
        old_news (self);
        return;
    }
    if (!signed_by (self, rec, ent_pubkey (self, m))) {
        refuse (self, rec, sender, now);
        return;
    }
    uint32_t rid = swim_pool_rec_ref (self->pool, rec);
    if (!rid)
        return;
    suspicion_clear (self, m);
    m->incarnation = rec->seq;
    set_accuser (self, m, NULL);
    take_record (self, m, rid);
    set_state (self, m, SWIM_LEFT, now);
    push_event (self, SWIM_EV_LEFT, rec->origin, sender, m->generation, m->incarnation, now);
    queue_record (self, m, SWIM_CLASS_MEMBERSHIP);
}

static void apply_res (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    ent_t *m = member_find (self, rec->origin);
    if (!m || rec->generation > m->generation)
        return;
    if (rec->generation < m->generation || (m->has_res && rec->seq <= ent_res_seq (m))) {
        if (m->has_res && rec->generation == m->generation && rec->seq == ent_res_seq (m))
            res_heard (self, m, sender);
        old_news (self);
        return;
    }
    if (!signed_by (self, rec, ent_pubkey (self, m))) {
        refuse (self, rec, sender, now);
        return;
    }
    uint32_t rid = swim_pool_rec_ref (self->pool, rec);
    if (!rid)
        return;
    take_res (self, m, rid, now);
    if (!rings_on (self))
        queue_record (self, m, SWIM_CLASS_RES);
    else if (!self->in_sync)
        res_owe (self, m, sender, now);
}

/* Someone still believes an earlier life of ours is alive: we restarted
   before it was declared dead (perhaps with a new key, after losing our
   state directory, which nobody would accept while the old life lives).
   Declare that life dead, with our current ALIVE record right behind it,
   to every live member; at most once per probe interval. */
static void bury_past_self (swim_t *self, const gl_rec_t *old, uint64_t now)
{
    ent_t *me = &self->me;
    if (me->state == SWIM_LEFT ||
        (self->buried_once && now < self->buried_at + self->cfg.probe_interval_ms))
        return;
    self->buried_once = true;
    self->buried_at = now;
    gl_update_t u[2];
    set_status_update (&u[0], GL_UPD_DEAD, self->me_name, old->generation, old->seq, self->me_name);
    record_update (self, me, &u[1]);
    for (size_t i = 0; i < self->n_members; i++) {
        const ent_t *m = member_at (self, i);
        if (!is_live (m))
            continue;
        swim_out_t out;
        memset (&out, 0, sizeof out);
        gl_strlcpy (out.to_name, ent_name (self, m), sizeof out.to_name);
        gl_strlcpy (out.to_addr, ent_addr (self, m), sizeof out.to_addr);
        out.msg.type = GL_MSG_GOSSIP;
        out.msg.updates = swim_pool_updates (self->pool, 2);
        if (!out.msg.updates)
            return;
        memcpy (out.msg.updates, u, sizeof u);
        out.msg.n_updates = 2;
        if (!fifo_push (&self->out, &out))
            free (out.msg.updates);
    }
}

static void apply_record (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    /* A name the pool holds (swim_recv found it already) is a valid one. */
    bool known =
        rec->origin == self->hint_name && self->hint_epoch == swim_pool_names_freed (self->pool);
    if (!record_readable (rec, known)) {
        refuse (self, rec, sender, now);
        return;
    }
    if (known ? self->hint_id == self->me_id : gl_streq (rec->origin, self->me_name))
        return; /* about us: we know better (see past_self_alive) */
    if (rec->kind == GL_REC_ALIVE)
        apply_alive (self, rec, sender, now);
    else if (rec->kind == GL_REC_LEAVE)
        apply_leave (self, rec, sender, now);
    else
        apply_res (self, rec, sender, now);
}

/* SUSPECT and DEAD updates are not signed: anyone may say them, and the
   node itself answers with a signed ALIVE record. */
static bool status_current (swim_t *self, const ent_t *m, const gl_update_t *u)
{
    if (!m || u->generation > m->generation)
        return false; /* a life we haven't seen: wait for its record */
    if (u->generation < m->generation || u->incarnation < m->incarnation || m->state == SWIM_DEAD ||
        m->state == SWIM_LEFT) {
        old_news (self);
        return false;
    }
    return true;
}

static void vouch_draw (swim_t *self, const ent_t *m, const char *accuser);

static void apply_suspect (swim_t *self, const gl_update_t *u, uint64_t now)
{
    ent_t *m = member_find (self, u->node);
    if (!status_current (self, m, u))
        return;
    if (m->state == SWIM_SUSPECT) {
        if (u->incarnation > m->incarnation) {
            m->incarnation = u->incarnation;
            self->view_changes++;
        }
        if (suspicion_confirm (self, m, u->from))
            queue_status (self, m, u); /* a new voice: pass it on */
        return;
    }
    m->incarnation = u->incarnation;
    set_accuser (self, m, u->from);
    set_state (self, m, SWIM_SUSPECT, now);
    suspicion_start (self, m, now);
    vouch_draw (self, m, u->from);
    push_event (self, SWIM_EV_SUSPECT, u->node, u->from, m->generation, m->incarnation, now);
    queue_status (self, m, u);
}

static void apply_dead (swim_t *self, const gl_update_t *u, uint64_t now)
{
    ent_t *m = member_find (self, u->node);
    if (!status_current (self, m, u))
        return;
    suspicion_clear (self, m);
    m->incarnation = u->incarnation;
    set_accuser (self, m, u->from);
    set_state (self, m, SWIM_DEAD, now);
    push_event (self, SWIM_EV_DEAD, u->node, u->from, m->generation, m->incarnation, now);
    queue_status (self, m, u);
}

static void apply_update (swim_t *self, const gl_update_t *u, const char *sender, uint64_t now)
{
    if (u->kind == GL_UPD_REC) {
        apply_record (self, &u->rec, sender, now);
        return;
    }
    if ((u->kind != GL_UPD_SUSPECT && u->kind != GL_UPD_DEAD) || !name_ok (u->node) ||
        !name_ok (u->from))
        return;
    if (gl_streq (u->node, self->me_name))
        accused (self, u, sender, now);
    else if (u->kind == GL_UPD_SUSPECT)
        apply_suspect (self, u, now);
    else
        apply_dead (self, u, now);
}

/* ---- probing ----------------------------------------------------------------- */

/* End of a probe round: forget members dead or gone for long enough, then
   shuffle the order for the next round. */
static void end_of_round (swim_t *self, uint64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < self->n_members; i++) {
        ent_t *m = member_at (self, i);
        bool gone = m->state == SWIM_DEAD || m->state == SWIM_LEFT;
        if (gone && now - m->state_since >= self->cfg.dead_reap_ms) {
            queue_drop (self, m, SWIM_CLASS_MEMBERSHIP);
            queue_drop (self, m, SWIM_CLASS_RES);
            self->n_state[m->state]--;
            suspicion_clear (self, m);
            tomb_put (self, m);
            self->view_changes++;
            continue;
        }
        self->order[keep++] = self->order[i];
    }
    self->n_members = keep;
    for (size_t i = keep; i > 1; i--) {
        size_t j = rng_below (self, i);
        uint32_t tmp = self->order[i - 1];
        self->order[i - 1] = self->order[j];
        self->order[j] = tmp;
    }
}

/* ---- the probe overlay -------------------------------------------------------

   With probe_rings = K > 0, a member probes a fixed few members instead of
   every member in turn (Rapid's monitoring overlay, Suresh et al. 2018):
   ring r orders us and the members we think alive or suspect by a hash of
   (r, name), the same order in every view, and we probe, one a probe
   period, our successor on ring 0, then on ring 1, ..., ring K - 1, and
   again.  Each member has one predecessor on each ring, so K observers
   that probe it every K periods: once a period in all, as SWIM's round
   robin, but always by the same few, whose connections then stay open
   (the agent's links, cmd/links.h): an idle agent holds about K links out
   and K in and sets none up, where the round robin over N members needs
   a new connection for nearly every probe once N passes the links held.
   A member that dies, leaves or joins changes one successor on each ring
   (K members probe someone new); a member whose K observers all died is
   probed again once their own observers have declared them dead.  With
   K or fewer other live members the rings could leave some unprobed, so
   we fall back to probing everyone in turn, as with probe_rings = 0. */
static uint64_t ring_key_of (uint32_t ring, uint64_t name_hash)
{
    uint64_t h = name_hash + (uint64_t) ring * 0x9e3779b97f4a7c15ULL;
    return gl_splitmix64 (&h);
}

static uint64_t ring_key (uint32_t ring, const char *name)
{
    return ring_key_of (ring, gl_fnv1a (name, strlen (name)));
}

static bool rings_on (const swim_t *self)
{
    return self->cfg.probe_rings && live_count (self) - 1 > self->cfg.probe_rings;
}

/* Our successor on every ring: on ring r, the live member whose key
   follows ours, going round (of two names with one key, the smaller).
   Found again only after the live members changed: a scan of all members
   for every ring is too much to run every probe period in a simulated
   cluster of a thousand. */
static void rings_find (swim_t *self)
{
    if (self->rings_of == self->live_changes + 1)
        return;
    uint32_t k = self->cfg.probe_rings;
    uint64_t me[RINGS_MAX], best[RINGS_MAX], best_pred[RINGS_MAX];
    for (uint32_t r = 0; r < k; r++) {
        me[r] = ring_key (r, self->me_name);
        best[r] = best_pred[r] = UINT64_MAX;
        self->ring_succ[r] = self->ring_pred[r] = 0;
    }
    for (size_t i = 0; i < self->n_members; i++) {
        ent_t *m = member_at (self, i);
        if (!is_live (m))
            continue;
        const char *name = ent_name (self, m);
        uint64_t h = gl_fnv1a (name, strlen (name));
        for (uint32_t r = 0; r < k; r++) {
            uint64_t key = ring_key_of (r, h), d = key - me[r] - 1, back = me[r] - key - 1;
            if (!self->ring_succ[r] || d < best[r] ||
                (d == best[r] && strcmp (name, name_of (self, self->ring_succ[r])) < 0)) {
                best[r] = d;
                self->ring_succ[r] = ent_id (self, m);
            }
            if (!self->ring_pred[r] || back < best_pred[r] ||
                (back == best_pred[r] && strcmp (name, name_of (self, self->ring_pred[r])) < 0)) {
                best_pred[r] = back;
                self->ring_pred[r] = ent_id (self, m);
            }
        }
    }
    self->rings_of = self->live_changes + 1;
}

static ent_t *ring_successor (swim_t *self, uint32_t ring)
{
    rings_find (self);
    return member_by_id (self, self->ring_succ[ring]);
}

size_t swim_probe_targets (swim_t *self, char (*names)[GL_NAME_MAX + 1], size_t cap)
{
    if (!rings_on (self))
        return 0;
    size_t n = 0;
    for (uint32_t r = 0; r < self->cfg.probe_rings && n < cap; r++) {
        ent_t *m = ring_successor (self, r);
        if (m)
            gl_strlcpy (names[n++], ent_name (self, m), sizeof names[0]);
    }
    return n;
}

/* Lifeguard shortens a suspicion as independent members confirm it, and
   expects indirect_checks of them.  On the rings only the suspect's
   observers probe it, and they are fewer than K when one member precedes
   it on two rings (at 24 members, 9 in 24 have 3 or fewer; at 256, 10),
   so a suspicion could only wait for its longest timeout: glsim found
   detection up to 21-23 s, against 10-15 s with the round robin.  So the
   members the suspect probes, its successors, probe it too when they
   hear of a new suspicion of it, at their next probe period: the
   observers and the successors of a member are nearly always more than
   indirect_checks together.  A successor holds the suspect's own
   connection to it, so this costs no connection while the suspect is
   alive (a false suspicion), and a dead one answers none. */
static void vouch_draw (swim_t *self, const ent_t *m, const char *accuser)
{
    if (!rings_on (self) || gl_streq (accuser, self->me_name) || self->n_vouch == VOUCH_MAX)
        return;
    rings_find (self);
    uint32_t id = ent_id (self, m);
    for (uint32_t r = 0; r < self->cfg.probe_rings; r++)
        if (self->ring_pred[r] == id) {
            self->vouch[self->n_vouch++] = id;
            return;
        }
}

static ent_t *vouch_next (swim_t *self)
{
    while (self->n_vouch) {
        ent_t *m = member_by_id (self, self->vouch[0]);
        memmove (self->vouch, self->vouch + 1, --self->n_vouch * sizeof self->vouch[0]);
        if (m && m->state == SWIM_SUSPECT)
            return m;
    }
    return NULL;
}

static ent_t *next_probe_target (swim_t *self, uint64_t now)
{
    ent_t *suspect = vouch_next (self);
    if (suspect)
        return suspect;
    if (rings_on (self)) {
        /* A round still ends every n_members probes: it reaps the long
           dead and reshuffles the order random picks and push-pull's cut
           draw from. */
        if (++self->probe_pos >= self->n_members) {
            end_of_round (self, now);
            self->probe_pos = 0;
        }
        uint32_t ring = self->ring_next++ % self->cfg.probe_rings;
        return ring_successor (self, ring);
    }
    for (size_t tried = 0; tried <= self->n_members; tried++) {
        if (self->probe_pos >= self->n_members) {
            end_of_round (self, now);
            self->probe_pos = 0;
            if (!self->n_members)
                return NULL;
        }
        ent_t *m = member_at (self, self->probe_pos++);
        if (is_live (m))
            return m;
    }
    return NULL;
}

static void probe_start (swim_t *self, uint64_t now)
{
    uint64_t scale = self->awareness + 1; /* Lifeguard: slow down when unwell */
    self->next_probe_at = now + self->cfg.probe_interval_ms * scale;
    ent_t *m = next_probe_target (self, now);
    if (!m)
        return;
    probe_t *p = &self->probe;
    memset (p, 0, sizeof *p);
    p->active = true;
    gl_strlcpy (p->target, ent_name (self, m), sizeof p->target);
    p->generation = m->generation;
    p->incarnation = m->incarnation;
    p->seq = ++self->next_seq;
    p->ack_deadline = now + self->cfg.probe_timeout_ms * scale;
    self->stats.probes++;
    send_small (self, GL_MSG_PING, m, p->target, ent_addr (self, m), p->seq, p->target, "");
}

/* No ack in time: ask others to probe the target for us. */
static void ask_others (swim_t *self)
{
    probe_t *p = &self->probe;
    p->asked_others = true;
    self->stats.probe_failures++;
    ent_t *target = member_find (self, p->target);
    if (!target)
        return;
    uint32_t picks[PICK_MAX];
    size_t n = pick_members (self, self->cfg.indirect_checks, helper_ok, target, picks);
    for (size_t i = 0; i < n; i++) {
        ent_t *h = member_at (self, picks[i]);
        send_small (self, GL_MSG_PING_REQ, h, ent_name (self, h), ent_addr (self, h), p->seq,
                    p->target, ent_addr (self, target));
    }
    p->expected_nacks = (uint32_t) n;
    self->stats.indirect_probes += n;
}

/* The probe period is over: without an ack, we suspect the target. */
static void probe_finish (swim_t *self, uint64_t now)
{
    probe_t *p = &self->probe;
    if (!p->active)
        return;
    p->active = false;
    if (p->acked)
        return;
    /* Lifeguard: helpers that did not even nack hint that we are the
       slow one, not the target. */
    if (p->nacks < p->expected_nacks)
        awareness_add (self, +1);
    ent_t *m = member_find (self, p->target);
    if (!m || !is_live (m))
        return;
    gl_update_t u;
    set_status_update (&u, GL_UPD_SUSPECT, p->target, p->generation, p->incarnation, self->me_name);
    self->stats.suspicions++;
    apply_suspect (self, &u, now);
}

static void on_ping (swim_t *self, const char *from, const gl_msg_t *msg)
{
    /* A PING for another name reached a new process at an old address. */
    if (self->me.state == SWIM_LEFT || !gl_streq (msg->target, self->me_name))
        return;
    send_to_member (self, GL_MSG_ACK, from, msg->probe_seq, self->me_name);
}

static void on_ack (swim_t *self, const gl_msg_t *msg)
{
    probe_t *p = &self->probe;
    if (p->active && p->seq == msg->probe_seq && gl_streq (p->target, msg->target)) {
        if (!p->acked) {
            p->acked = true;
            self->stats.acks_in++;
            awareness_add (self, -1);
        }
        return;
    }
    for (size_t i = 0; i < self->n_relays; i++) {
        relay_t *r = &self->relays[i];
        if (r->seq == msg->probe_seq && gl_streq (r->target, msg->target)) {
            relay_t done = *r;
            *r = self->relays[--self->n_relays];
            send_to_member (self, GL_MSG_ACK, done.requester, done.requester_seq, done.target);
            return;
        }
    }
    /* a late or stray ack: ignored */
}

static void on_nack (swim_t *self, const gl_msg_t *msg)
{
    probe_t *p = &self->probe;
    if (p->active && !p->acked && p->seq == msg->probe_seq && gl_streq (p->target, msg->target)) {
        p->nacks++;
        self->stats.nacks_in++;
    }
}

/* Probe `target` for `from`.  We nack a little before the requester's own
   deadline (Lifeguard sends it at 80% of the probe timeout) so the nack
   can arrive in time, and still relay a later ack until the period ends. */
static void on_ping_req (swim_t *self, const char *from, const gl_msg_t *msg, uint64_t now)
{
    size_t addr_len = strnlen (msg->target_addr, sizeof msg->target_addr);
    if (self->me.state == SWIM_LEFT || !name_ok (msg->target) ||
        gl_streq (msg->target, self->me_name) || !addr_len || addr_len == sizeof msg->target_addr ||
        !member_find (self, from) || self->n_relays == RELAYS_MAX)
        return;
    relay_t *r = &self->relays[self->n_relays++];
    memset (r, 0, sizeof *r);
    gl_strlcpy (r->requester, from, sizeof r->requester);
    gl_strlcpy (r->target, msg->target, sizeof r->target);
    r->requester_seq = msg->probe_seq;
    r->seq = ++self->next_seq;
    r->nack_at = now + self->cfg.probe_timeout_ms * 4 / 5;
    r->expire_at = now + self->cfg.probe_interval_ms;
    send_small (self, GL_MSG_PING, member_find (self, r->target), r->target, msg->target_addr,
                r->seq, r->target, "");
}

static void run_relays (swim_t *self, uint64_t now)
{
    for (size_t i = 0; i < self->n_relays;) {
        relay_t *r = &self->relays[i];
        if (!r->nacked && now >= r->nack_at) {
            r->nacked = true;
            send_to_member (self, GL_MSG_NACK, r->requester, r->requester_seq, r->target);
        }
        if (now >= r->expire_at)
            *r = self->relays[--self->n_relays];
        else
            i++;
    }
}

static void run_alarms (swim_t *self, uint64_t now)
{
    while (self->alarm_at <= now) {
        uint32_t name = self->alarms[0].name;
        alarm_pop (self);
        /* Alarms are never removed, only outdated: check this one holds. */
        ent_t *m = member_by_id (self, name);
        const suspicion_t *s = m ? suspicion_of (self, m) : NULL;
        if (m && m->state == SWIM_SUSPECT && s && s->deadline_ms <= now) {
            gl_update_t u;
            set_status_update (&u, GL_UPD_DEAD, name_of (self, name), m->generation, m->incarnation,
                               self->me_name);
            self->stats.deaths++;
            apply_dead (self, &u, now);
        }
        swim_pool_name_drop (self->pool, name);
    }
}

/* ---- gossip, push-pull, join ---------------------------------------------------- */

/* A round sends every queued update at least once when it can: to
   gossip_nodes members, and to more (up to GOSSIP_BURST times as many)
   when their messages cannot hold the whole queue.  With a fixed
   gossip_nodes messages the queue can carry max_piggyback * gossip_nodes
   updates a round, and a thousand nodes that refresh their estimates
   every minute, each estimate sent 16 times by every node, ask about as
   much; when refreshes bunch up (nodes started together refresh together
   for their first several minutes), the queue grows to hundreds.  It sends
   the least-sent first, so its whole backlog moves on one send a pass, a
   pass takes seconds, and an update's later sends, the ones that reach
   its last members, wait seconds apiece (glsim, 1,000 nodes: 99.9 % reach
   in 10-20 s, ten times the median).  The burst bounds what a node sends
   when the queue is long for another reason (a thousand members learned
   at once).

   While membership news is queued (a join, a suspicion, a refutation, a
   death), the members are drawn at random from all, as SWIM has it: its
   reach, and so detection times and the refutations that prevent false
   deaths, owe nothing to who spoke with whom lately.  Otherwise (the
   queue holds estimates only: all an idle cluster gossips in the round
   robin; on the rings estimates skip the queue, see "estimates on the
   rings", but for those queued while the rings were off) they are
   drawn first from the gossip_peers members we last sent a PING or an
   ACK (pick_near).  Those messages have just opened a connection to each
   of them (the agent's links, cmd/links.h), so gossip opens none of its
   own.  In the round robin the peers slide through the whole
   membership, about two new ones a probe period, in the probe order's
   random shuffle; on the rings (probe_rings) they are the member's ring
   neighbours for good, its successors and its predecessors, about 2 K
   members: the union of K random rings, an expander, over which an
   estimate reaches every member in about as many rounds as at random
   (glsim figures in bench/README.md).  Counting
   ACKs makes a member the peer of those that probed it lately as well as
   of those it probed: at least a probe period's worth of senders, not
   a Poisson number that is sometimes near 0.  glsim (40 updates, 6
   crashes and restarts a run, 5 % loss unless said): estimates to 8
   peers, one update in 80 reached its last member after 10-50 s at 256
   nodes; 16 peers of PINGs alone, with membership news sent to them too,
   had a false death in each of three runs at 1,000 nodes.  As it is (12
   peers, estimates only), no false death, no update lost, and 99.9 %
   reach at the 99th percentile 0.98-1.29 s at 256 nodes (seeds 1-8;
   random targets 0.87-1.02), 1.15-1.79 s at 1,000 (1.12-1.29), 0.79-0.90
   s at 64 (0.77-0.86); the links a node opens fall from 13.4 to 7.5 a
   second at 256 nodes, where loss makes membership news constant, and
   without loss, as in an idle cluster, from 7.2 to 1.9 at 64 nodes and
   from 11.4 to 2.1 at 256. */
static void gossip (swim_t *self, uint64_t now)
{
    self->next_gossip_at = now + self->cfg.gossip_interval_ms;
    uint32_t queued = swim_queue_size (self->queue, SWIM_CLASSES);
    if (!queued)
        return;
    size_t want = (queued + self->cfg.max_piggyback - 1) / self->cfg.max_piggyback;
    if (want < self->cfg.gossip_nodes)
        want = self->cfg.gossip_nodes;
    if (want > (size_t) GOSSIP_BURST * self->cfg.gossip_nodes)
        want = (size_t) GOSSIP_BURST * self->cfg.gossip_nodes;
    ent_t *to[PICK_MAX];
    size_t n = 0;
    bool news_near = rings_on (self) && live_count (self) - 1 > self->cfg.news_random_max;
    if (swim_queue_size (self->queue, SWIM_CLASS_MEMBERSHIP) && !news_near) {
        uint32_t picks[PICK_MAX];
        n = pick_members (self, want, gossip_ok, &now, picks);
        for (size_t i = 0; i < n; i++)
            to[i] = member_at (self, picks[i]);
    }
    else {
        /* On the rings the peers are fixed and about 2 K: when more
           targets are wanted than there are peers, the rest would be
           random members, a new connection each (glsim, 1,000 nodes
           without loss: 1.26 set-ups a second per node, more than the
           round robin's 0.98).  Their messages carry max_piggyback
           updates each, as many as the queue needs at a thousand
           members refreshing every minute, so the peers take it all.
           Membership news goes the same way once we know more than
           news_random_max others alive (with fewer, each random member
           can hold a link of ours, as SWIM has it): the peers are the ring
           neighbours, the rings a random graph of degree 2 K that
           reaches every member in a few hops, and the accuser of a
           suspect probed it, so the suspect is among its peers and
           hears it first.  Sent to random members, as memberlist
           sends it, a round of news was a new connection for each
           target once the cluster outgrew transport/max_links: at 256
           agents on 2 cores a wave of suspicions set up 13 to 24
           connections a second per agent, which evicted every link
           as soon as it was made, the ring successors' too and what
           they still queued, and the load and the losses made more
           suspicions, for good (bench/README.md, issue 14).  Random
           members still hear news from the push-pull, from a
           refutation (tell_many) and as helpers of indirect probes. */
        if (rings_on (self)) {
            size_t peers = 0;
            for (size_t i = 0; i < self->n_peers; i++) {
                const ent_t *m = &self->ents[self->peers[i]];
                peers += m->kind == ENT_MEMBER && gossip_ok (self, m, &now);
            }
            if (peers >= self->cfg.gossip_nodes && want > peers)
                want = peers;
        }
        n = pick_near (self, want, gossip_ok, &now, to);
    }
    for (size_t i = 0; i < n; i++)
        if (!send_small (self, GL_MSG_GOSSIP, to[i], ent_name (self, to[i]), ent_addr (self, to[i]),
                         0, "", ""))
            break;
}

static uint64_t pushpull_interval (const swim_t *self)
{
    size_t n = live_count (self);
    uint64_t interval = self->cfg.pushpull_interval_ms;
    if (n <= PUSHPULL_SCALE_NODES)
        return interval;
    double mult = ceil (log2 ((double) n) - log2 ((double) PUSHPULL_SCALE_NODES)) + 1.0;
    return interval * (uint64_t) mult;
}

/* Exchange whole states with a live member: one of the gossip_peers (the
   members last sent a PING or an ACK, whose connection is open: the
   exchange sets none up, cmd/links.h) when there are any, else a random
   one.  In the round robin those peers slide through the whole
   membership in the probe order's random shuffle, so the partners of
   successive exchanges are spread over all members as random ones would
   be.  On the rings the peers are the same few members for good, and
   an exchange that repairs what gossip missed must not be confined to
   them: it goes to a random member, one connection set-up every
   pushpull_interval (30 s or more), a few thousandths of a percent of a
   core.  The exchange with a member thought dead (below) stays random. */
static void sync_with_alive (swim_t *self)
{
    ent_t *m = NULL;
    uint32_t pick;
    if (rings_on (self)) {
        if (pick_members (self, 1, alive_ok, NULL, &pick))
            m = member_at (self, pick);
    }
    else if (!pick_near (self, 1, alive_ok, NULL, &m))
        m = NULL;
    if (m) {
        send_sync (self, GL_MSG_SYNC_REQ, ent_name (self, m), ent_addr (self, m));
        self->stats.syncs++;
    }
}

/* Like Serf's reconnect, also try one member we think dead: if it is
   alive after all (a healed partition), the exchange tells both sides and
   each refutes its death. */
static void push_pull (swim_t *self, uint64_t now)
{
    self->next_pushpull_at = now + pushpull_interval (self);
    sync_with_alive (self);
    uint32_t pick;
    if (self->n_state[SWIM_DEAD] && pick_members (self, 1, dead_ok, NULL, &pick)) {
        ent_t *m = member_at (self, pick);
        send_sync (self, GL_MSG_SYNC_REQ, ent_name (self, m), ent_addr (self, m));
        self->stats.syncs++;
    }
}

static void join_send (swim_t *self)
{
    for (size_t i = 0; i < self->n_seeds; i++)
        if (!gl_streq (self->seeds[i], self->me_addr)) {
            send_sync (self, GL_MSG_SYNC_REQ, "", self->seeds[i]);
            self->stats.syncs++;
        }
}

static void free_seeds (swim_t *self)
{
    for (size_t i = 0; i < self->n_seeds; i++)
        free (self->seeds[i]);
    free (self->seeds);
    self->seeds = NULL;
    self->n_seeds = 0;
}

/* ---- the API ------------------------------------------------------------------ */

void swim_config_default (swim_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->probe_interval_ms = 1000;
    config->probe_timeout_ms = 500;
    config->indirect_checks = 3;
    config->suspicion_mult = 4;
    config->suspicion_max_mult = 6;
    config->retransmit_mult = 4;
    config->gossip_interval_ms = 200;
    config->gossip_nodes = 3;
    config->pushpull_interval_ms = 30000;
    config->awareness_max = 8;
    config->dead_reap_ms = 3600000;
    config->join_retry_ms = 1000;
    config->max_piggyback = 16;
    config->gossip_peers = 12;
    config->probe_rings = 4;
    config->news_random_max = 16;
}

/* Zero intervals would spin, and zero multipliers would never spread. */
static bool config_ok (const swim_config_t *c)
{
    return c->probe_rings <= RINGS_MAX && c->probe_interval_ms && c->gossip_interval_ms &&
           c->pushpull_interval_ms && c->join_retry_ms && c->awareness_max && c->suspicion_mult &&
           c->retransmit_mult;
}

swim_t *swim_new_in (swim_pool_t *pool, const swim_config_t *config, const char *name,
                     const char *addr, uint64_t generation, const uint8_t pubkey[GL_PUBKEY_BYTES],
                     const swim_signer_t *signer, uint64_t rng_seed, uint64_t now_ms)
{
    if (!config || !name || !addr || !pubkey || !signer || !signer->sign || !signer->verify ||
        !config_ok (config) || !name_ok (name))
        return NULL;
    size_t addr_len = strnlen (addr, GL_ADDR_MAX + 1);
    if (!addr_len || addr_len > GL_ADDR_MAX)
        return NULL;
    swim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pool = pool;
    if (!pool) {
        self->pool = swim_pool_new ();
        self->own_pool = true;
        if (!self->pool) {
            free (self);
            return NULL;
        }
    }
    self->alarm_at = UINT64_MAX;
    self->owed_due = UINT64_MAX;
    self->cfg = *config;
    self->signer = *signer;
    self->rng = rng_seed;
    self->out.size = sizeof (swim_out_t);
    self->events.size = sizeof (swim_event_t);

    ent_t *me = &self->me;
    gl_strlcpy (self->me_name, name, sizeof self->me_name);
    gl_strlcpy (self->me_addr, addr, sizeof self->me_addr);
    memcpy (self->me_pubkey, pubkey, GL_PUBKEY_BYTES);
    self->me_id = swim_pool_name_ref (self->pool, name);
    me->kind = ENT_MEMBER;
    me->generation = generation;
    me->state = SWIM_ALIVE;
    me->state_since = now_ms;

    self->queue = swim_queue_new (self->pool, queue_dropped, self);
    self->picked = malloc ((config->max_piggyback + 1) * sizeof *self->picked);
    self->peers = calloc (config->gossip_peers + 1, sizeof *self->peers);
    self->ring_succ = calloc (config->probe_rings + 1, sizeof *self->ring_succ);
    self->ring_pred = calloc (config->probe_rings + 1, sizeof *self->ring_pred);
    if (!self->me_id || !self->queue || !self->picked || !self->peers || !self->ring_succ ||
        !self->ring_pred || sign_alive (self, 0, now_ms)) {
        swim_destroy (&self);
        return NULL;
    }
    /* Timers start at random phases, so nodes started together don't
       probe and gossip in lockstep. */
    self->next_probe_at = now_ms + rng_below (self, config->probe_interval_ms);
    self->next_gossip_at = now_ms + rng_below (self, config->gossip_interval_ms);
    self->next_pushpull_at = now_ms + rng_below (self, config->pushpull_interval_ms);
    if (config->probe_rings)
        self->ring_next = (uint32_t) rng_below (self, config->probe_rings);
    return self;
}

swim_t *swim_new (const swim_config_t *config, const char *name, const char *addr,
                  uint64_t generation, const uint8_t pubkey[GL_PUBKEY_BYTES],
                  const swim_signer_t *signer, uint64_t rng_seed, uint64_t now_ms)
{
    return swim_new_in (NULL, config, name, addr, generation, pubkey, signer, rng_seed, now_ms);
}

void swim_destroy (swim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    swim_t *self = *self_p;
    swim_pool_t *pool = self->pool;
    swim_queue_destroy (&self->queue);
    for (uint32_t i = 0; i < self->n_auxs; i++) {
        aux_t *a = &self->auxs[i];
        if (a->susp) {
            for (uint32_t j = 0; j < a->susp->n; j++)
                swim_pool_name_drop (pool, a->susp->from[j]);
            free (a->susp);
        }
        if (a->st_kind)
            swim_pool_name_drop (pool, a->st_from);
    }
    free (self->auxs);
    for (uint32_t id = 1; id < self->cap_ents; id++)
        if (self->ents[id].kind != ENT_NONE) {
            ent_release (self, &self->ents[id]);
            swim_pool_name_drop (pool, id);
        }
    free (self->ents);
    free (self->order);
    ent_release (self, &self->me);
    swim_pool_name_drop (pool, self->me_id);
    for (size_t i = 0; i < self->n_alarms; i++)
        swim_pool_name_drop (pool, self->alarms[i].name);
    free (self->alarms);
    free (self->picked);
    free (self->peers);
    free (self->ring_succ);
    free (self->ring_pred);
    free (self->owed);
    free_seeds (self);
    swim_out_t out;
    while (fifo_pop (&self->out, &out))
        gl_msg_clear (&out.msg);
    free (self->out.items);
    free (self->events.items);
    if (self->own_pool)
        swim_pool_destroy (&self->pool);
    free (self);
    *self_p = NULL;
}

void swim_join (swim_t *self, const char *const *seed_addrs, size_t n_seeds, uint64_t now_ms)
{
    if (self->me.state == SWIM_LEFT)
        return;
    free_seeds (self);
    self->seeds = calloc (n_seeds ? n_seeds : 1, sizeof *self->seeds);
    if (!self->seeds)
        return;
    for (size_t i = 0; i < n_seeds; i++) {
        size_t len = strnlen (seed_addrs[i], GL_ADDR_MAX + 1);
        if (len && len <= GL_ADDR_MAX && (self->seeds[self->n_seeds] = strdup (seed_addrs[i])))
            self->n_seeds++;
    }
    join_send (self);
    self->next_join_at = now_ms + self->cfg.join_retry_ms;
}

/* Ask the cache for the entry an update is about; the number of its
   name, or 0. */
#define PREFETCH_AHEAD 12
static uint32_t prefetch_subject (const swim_t *self, const gl_update_t *u)
{
    uint32_t id = swim_pool_name_find (self->pool, u->kind == GL_UPD_REC ? u->rec.origin : u->node);
    if (id && id < self->cap_ents)
        __builtin_prefetch (&self->ents[id]);
    return id;
}

/* The ALIVE record of an earlier life of ours, when the message carries
   one without also saying that life is dead or gone. */
static const gl_rec_t *past_self_alive (swim_t *self, const gl_msg_t *msg)
{
    const gl_rec_t *old = NULL;
    for (uint32_t i = 0; i < msg->n_updates && !old; i++) {
        const gl_update_t *u = &msg->updates[i];
        if (u->kind == GL_UPD_REC && u->rec.kind == GL_REC_ALIVE &&
            u->rec.generation < self->me.generation && gl_streq (u->rec.origin, self->me_name))
            old = &u->rec;
    }
    for (uint32_t i = 0; i < msg->n_updates && old; i++) {
        const gl_update_t *u = &msg->updates[i];
        if ((u->kind == GL_UPD_DEAD && gl_streq (u->node, self->me_name) &&
             u->generation == old->generation) ||
            (u->kind == GL_UPD_REC && u->rec.kind == GL_REC_LEAVE &&
             gl_streq (u->rec.origin, self->me_name) && u->rec.generation == old->generation))
            return NULL;
    }
    return old;
}

void swim_recv (swim_t *self, const char *from, const gl_msg_t *msg, uint64_t now_ms)
{
    /* A message under our own name comes from an older self, or from a
       misconfigured twin: nothing it says can be taken as news. */
    if (!self || !from || !msg || !name_ok (from) || gl_streq (from, self->me_name) ||
        (msg->n_updates && !msg->updates))
        return;
    uint32_t from_id = swim_pool_name_find (self->pool, from);
    if (from_id && from_id < self->cap_ents)
        __builtin_prefetch (&self->ents[from_id]);
    /* Each update reads its subject's entry, which in a large cluster is
       rarely in the cache: ask for the entries a few updates ahead, so
       that the misses overlap instead of following one another. */
    uint32_t n = msg->n_updates, ids[PREFETCH_AHEAD];
    uint64_t epoch = swim_pool_names_freed (self->pool);
    if (n)
        swim_queue_prefetch (self->queue); /* where news would be filed */
    for (uint32_t i = 0; i < n && i < 2 * PREFETCH_AHEAD; i++) {
        __builtin_prefetch (&msg->updates[i]);
        __builtin_prefetch (&msg->updates[i].rec.origin);
    }
    for (uint32_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
        ids[i] = prefetch_subject (self, &msg->updates[i]);
    if (!member_by_id (self, from_id)) /* member_find (from), its line asked for above */
        self->stats.unknown_sender++;
    self->in_sync = msg->type == GL_MSG_SYNC_REQ || msg->type == GL_MSG_SYNC_RESP;
    for (uint32_t i = 0; i < n; i++) {
        const gl_update_t *u = &msg->updates[i];
        /* The number found ahead still names it unless a name was freed
           since; 0 (not known then) is looked up again. */
        uint32_t id = ids[i % PREFETCH_AHEAD];
        if (id && epoch == swim_pool_names_freed (self->pool)) {
            self->hint_name = u->kind == GL_UPD_REC ? u->rec.origin : u->node;
            self->hint_id = id;
            self->hint_epoch = epoch;
        }
        if (i + PREFETCH_AHEAD < n) {
            if (epoch != swim_pool_names_freed (self->pool)) {
                epoch = swim_pool_names_freed (self->pool);
                for (uint32_t j = i + 1; j < i + PREFETCH_AHEAD; j++)
                    ids[j % PREFETCH_AHEAD] = 0;
            }
            ids[i % PREFETCH_AHEAD] = prefetch_subject (self, &msg->updates[i + PREFETCH_AHEAD]);
        }
        apply_update (self, u, from, now_ms);
        self->hint_name = NULL;
    }
    self->in_sync = false;
    const gl_rec_t *past = past_self_alive (self, msg);
    if (past)
        bury_past_self (self, past, now_ms);
    if (!name_ok (msg->target) && msg->target[0])
        return;
    switch (msg->type) {
        case GL_MSG_PING: on_ping (self, from, msg); break;
        case GL_MSG_ACK: on_ack (self, msg); break;
        case GL_MSG_PING_REQ: on_ping_req (self, from, msg, now_ms); break;
        case GL_MSG_NACK: on_nack (self, msg); break;
        case GL_MSG_SYNC_REQ:
            if (self->me.state != SWIM_LEFT) {
                ent_t *m = member_find (self, from);
                if (m)
                    send_sync (self, GL_MSG_SYNC_RESP, ent_name (self, m), ent_addr (self, m));
            }
            break;
        case GL_MSG_SYNC_RESP: self->synced = true; break;
        default: break; /* GOSSIP: the updates were all */
    }
}

void swim_tick (swim_t *self, uint64_t now_ms)
{
    run_alarms (self, now_ms);
    run_relays (self, now_ms);
    if (self->me.state != SWIM_LEFT) {
        probe_t *p = &self->probe;
        if (p->active && !p->acked && !p->asked_others && now_ms >= p->ack_deadline)
            ask_others (self);
        if (now_ms >= self->next_probe_at) {
            probe_finish (self, now_ms);
            probe_start (self, now_ms);
        }
        if (now_ms >= self->next_pushpull_at)
            push_pull (self, now_ms);
        /* A joiner learns the cluster from the state a member sends back.
           Until one has, it asks again: the seeds while it knows no one,
           else one live member it knows.  Asking only while alone, a node
           whose answers were lost but who had heard from a member or two
           (they write to a newcomer at once) learned the rest member by
           member, and could take no estimate from a node it did not know,
           until its first push-pull (3 minutes at 1,000 nodes; glsim: one
           restarted node kept three updates from 99.9 % reach for 33-58 s).
           Alone again later (everyone else dead to us), it asks the seeds. */
        if (self->n_seeds && now_ms >= self->next_join_at) {
            self->next_join_at = now_ms + self->cfg.join_retry_ms;
            if (live_count (self) == 1)
                join_send (self);
            else if (!self->synced)
                sync_with_alive (self);
        }
    }
    if (now_ms >= self->next_gossip_at)
        gossip (self, now_ms);
    res_flush (self, now_ms);
}

/* A gossip round with nothing queued sends nothing: its time counts only
   when something is queued (an update queued in between, by a message or
   another timer, goes at the next call of swim_tick, no later than its
   round would have).  Idle, the agent then wakes for the probe period,
   not five times as often. */
uint64_t swim_next_deadline (swim_t *self)
{
    uint64_t t = self->alarm_at;
    if (swim_queue_size (self->queue, SWIM_CLASSES))
        t = min_u64 (t, self->next_gossip_at);
    if (self->n_owed)
        t = min_u64 (t, self->owed_due);
    for (size_t i = 0; i < self->n_relays; i++) {
        const relay_t *r = &self->relays[i];
        t = min_u64 (t, r->nacked ? r->expire_at : r->nack_at);
    }
    if (self->me.state != SWIM_LEFT) {
        const probe_t *p = &self->probe;
        t = min_u64 (t, self->next_probe_at);
        if (p->active && !p->acked && !p->asked_others)
            t = min_u64 (t, p->ack_deadline);
        t = min_u64 (t, self->next_pushpull_at);
        if (self->n_seeds)
            t = min_u64 (t, self->next_join_at);
    }
    return t;
}

void swim_set_res (swim_t *self, const gl_res_t *res, uint64_t now_ms)
{
    ent_t *me = &self->me;
    if (res->state > GL_RES_UNAVAILABLE)
        return;
    uint32_t rid = sign_own (self, GL_REC_RES, ent_res_seq (me) + 1, res, now_ms);
    if (!rid)
        return;
    take_res (self, me, rid, now_ms);
    if (rings_on (self))
        res_owe (self, me, NULL, now_ms);
    else
        queue_record (self, me, SWIM_CLASS_RES);
}

/* Tell a few members at once, and let dissemination tell the rest. */
void swim_leave (swim_t *self, uint64_t now_ms)
{
    ent_t *me = &self->me;
    if (me->state == SWIM_LEFT)
        return;
    me->state = SWIM_LEFT;
    me->state_since = now_ms;
    self->view_changes++;
    self->probe.active = false;
    uint32_t rid = sign_own (self, GL_REC_LEAVE, me->incarnation, NULL, now_ms);
    if (!rid)
        return; /* the others will find us dead instead */
    take_record (self, me, rid);
    queue_record (self, me, SWIM_CLASS_MEMBERSHIP);
    tell_many (self, swim_pool_upd (self->pool, rid));
}

bool swim_pop (swim_t *self, swim_out_t *out)
{
    return fifo_pop (&self->out, out);
}

bool swim_pop_event (swim_t *self, swim_event_t *ev)
{
    return fifo_pop (&self->events, ev);
}

const char *swim_event_name (int kind)
{
    switch (kind) {
        case SWIM_EV_JOINED: return "joined";
        case SWIM_EV_ALIVE: return "alive";
        case SWIM_EV_SUSPECT: return "suspect";
        case SWIM_EV_DEAD: return "dead";
        case SWIM_EV_LEFT: return "left";
        case SWIM_EV_REFUTED: return "refuted";
        case SWIM_EV_BAD_RECORD: return "bad-record";
        default: return "unknown";
    }
}

const char *swim_state_name (int state)
{
    switch (state) {
        case SWIM_ALIVE: return "alive";
        case SWIM_SUSPECT: return "suspect";
        case SWIM_DEAD: return "dead";
        case SWIM_LEFT: return "left";
        default: return "unknown";
    }
}

static void view_of (const swim_t *self, const ent_t *m, bool is_self, swim_member_t *out)
{
    memset (out, 0, sizeof *out);
    gl_strlcpy (out->name, ent_name (self, m), sizeof out->name);
    gl_strlcpy (out->addr, ent_addr (self, m), sizeof out->addr);
    out->state = m->state;
    out->is_self = is_self;
    out->generation = m->generation;
    out->incarnation = m->incarnation;
    out->state_since_ms = m->state_since;
    out->has_res = m->has_res;
    if (m->has_res) {
        const gl_rec_t *res = rec_of (self, m->res);
        out->res = res->res;
        out->res_seq = res->seq;
        out->res_origin_ms = res->time_ms;
        out->res_recv_ms = m->res_recv;
    }
}

uint64_t swim_changes (const swim_t *self)
{
    return self->view_changes;
}

size_t swim_count (swim_t *self)
{
    return self->n_members + 1;
}

bool swim_member_at (swim_t *self, size_t i, swim_member_t *out)
{
    if (i > self->n_members)
        return false;
    if (i == 0)
        view_of (self, &self->me, true, out);
    else
        view_of (self, member_at (self, i - 1), false, out);
    return true;
}

bool swim_lookup (swim_t *self, const char *name, swim_member_t *out)
{
    if (gl_streq (name, self->me_name)) {
        view_of (self, &self->me, true, out);
        return true;
    }
    ent_t *m = member_find (self, name);
    if (m)
        view_of (self, m, false, out);
    return m != NULL;
}

bool swim_pubkey (swim_t *self, const char *name, uint8_t out[GL_PUBKEY_BYTES])
{
    if (gl_streq (name, self->me_name)) {
        memcpy (out, self->me_pubkey, GL_PUBKEY_BYTES);
        return true;
    }
    ent_t *m = member_find (self, name);
    if (!m || sodium_is_zero (ent_pubkey (self, m), GL_PUBKEY_BYTES))
        return false;
    memcpy (out, ent_pubkey (self, m), GL_PUBKEY_BYTES);
    return true;
}

size_t swim_count_state (swim_t *self, swim_state_t state)
{
    if ((unsigned) state > SWIM_LEFT)
        return 0;
    return self->n_state[state] + (self->me.state == state);
}

void swim_stats (swim_t *self, swim_stats_t *out)
{
    *out = self->stats;
    out->awareness = self->awareness;
}
