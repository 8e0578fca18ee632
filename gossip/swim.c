/*  swim.c -- membership and failure detection (the protocol is in swim.h).

    What one swim_t keeps:
      - the member table: every other node we know, in probe order, found
        by name through an open-addressed index; and small tombstones of
        the members we forgot, so that their old records can't bring them
        back;
      - the broadcast queue: updates waiting to ride on outgoing messages,
        membership news ahead of estimates, then by how many times each
        was sent already;
      - the current probe, the indirect probes we run for others, and the
        suspicion deadlines (a min-heap);
      - two FIFOs the caller drains: messages to send, and events.

    Knowledge about a node is ordered by (generation, incarnation); the
    rules are in the "knowledge" section, one function per kind of update.
    Nothing here reads a clock, does I/O or touches global state, and every
    random choice comes from the instance's own seeded generator, so the
    same inputs give the same outputs.                                   */
#include "swim.h"

#include <math.h>
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
/* An encoded update is never longer than this (two names, an address, a
   key, a signature, an estimate and their keys), and a push-pull must
   leave room in the packet for the envelope. */
#define UPDATE_BYTES_MAX      1024
#define SYNC_BYTES_MAX        (GL_PKT_MAX - 65536)

/* The broadcast queue holds at most one update per node and class, so a
   newer update about a node replaces the older one still waiting. */
enum { CLASS_MEMBERSHIP = 0, CLASS_RES = 1, CLASSES = 2 };

/* ---- types ---------------------------------------------------------------- */

typedef struct {
    uint64_t start_ms, deadline_ms;
    uint64_t min_ms, max_ms;
    uint32_t k;                             /* independent confirmations expected */
    uint32_t n;                             /* received so far */
    char     from[][GL_NAME_MAX + 1];       /* who confirmed: k slots */
} suspicion_t;

typedef struct bcast bcast_t;

typedef struct {
    char     name[GL_NAME_MAX + 1];         /* first: the name index reads it here */

    /* What every incoming update looks at, together in one cache line:
       in a large cluster the table is far bigger than the caches. */
    uint8_t  state;                         /* swim_state_t */
    uint8_t  intro;                         /* messages left that introduce us to it */
    uint8_t  rec_kind;                      /* of its latest ALIVE or LEAVE record */
    bool     has_res;
    uint64_t generation;
    uint64_t incarnation;                   /* a suspicion can raise it above rec_seq */
    uint64_t rec_seq;
    uint64_t res_generation, res_seq;
    bcast_t *queued[CLASSES];               /* our pending broadcast about it */

    char    *addr;                          /* from its latest ALIVE record (malloc) */
    uint64_t state_since;
    suspicion_t *suspicion;                 /* while SUSPECT */
    uint8_t  pubkey[GL_PUBKEY_BYTES];       /* pinned from its ALIVE record */
    char     accuser[GL_NAME_MAX + 1];      /* SUSPECT, DEAD: who said so first */

    /* The rest of its latest ALIVE or LEAVE record, less the fields kept
       above already (member_record puts it back together): the table
       stays small. */
    uint64_t rec_time;
    uint8_t  rec_sig[GL_SIG_BYTES];

    /* The rest of its latest RES record, likewise. */
    gl_res_t res;
    uint64_t res_time, res_recv;
    uint8_t  res_sig[GL_SIG_BYTES];
} member_t;

/* What we still remember of a member we forgot. */
typedef struct {
    char     name[GL_NAME_MAX + 1];         /* first, as in member_t */
    uint8_t  state;
    uint64_t generation, incarnation;
    uint8_t  pubkey[GL_PUBKEY_BYTES];
} tomb_t;

/* Open addressing with linear probing over an array whose elements start
   with their name.  A slot holds position + 1 in its low half (0 is
   empty) and the upper half of the name's hash in its high half, so a
   probe that meets another name rarely has to read that name. */
typedef struct {
    uint64_t *slots;
    size_t    cap;                          /* a power of two, over twice the entries */
} name_index_t;

struct bcast {
    gl_update_t upd;
    uint32_t transmits;                     /* also the level it is filed under */
    uint8_t  cls;
    bcast_t *prev, *next;
};

/* One class of the broadcast queue: entries by how many times they were
   sent, each level a list. */
typedef struct {
    bcast_t **head, **tail;
    uint32_t  n;
} levels_t;

/* An indirect probe we run for `requester`. */
typedef struct {
    char     requester[GL_NAME_MAX + 1];
    char     target[GL_NAME_MAX + 1];
    uint32_t requester_seq;                 /* echoed in our ACK or NACK */
    uint32_t seq;                           /* of our own PING to the target */
    uint64_t nack_at, expire_at;
    bool     nacked;
} relay_t;

typedef struct {
    bool     active, acked, asked_others;
    char     target[GL_NAME_MAX + 1];
    uint64_t generation, incarnation;       /* the target's, when the probe began */
    uint32_t seq;
    uint64_t ack_deadline;
    uint32_t nacks, expected_nacks;
} probe_t;

typedef struct {
    uint64_t at;
    char     name[GL_NAME_MAX + 1];
} alarm_t;

typedef struct {
    char  *items;
    size_t size, head, count, cap;
} fifo_t;

struct swim_t {
    swim_config_t cfg;
    swim_signer_t signer;
    uint64_t      rng;
    member_t      me;                       /* never in the table below */

    member_t     *members;                  /* everyone else, in probe order */
    size_t        n_members, cap_members;
    name_index_t  index;
    size_t        n_state[4];               /* members per swim_state_t */
    tomb_t       *tombs;
    size_t        n_tombs, cap_tombs;
    name_index_t  tomb_index;

    probe_t       probe;
    size_t        probe_pos;
    uint32_t      next_seq;
    uint64_t      next_probe_at;
    relay_t       relays[RELAYS_MAX];
    size_t        n_relays;
    alarm_t      *alarms;                   /* suspicion deadlines, a min-heap */
    size_t        n_alarms, cap_alarms;
    uint32_t      awareness;

    levels_t      queue[CLASSES];           /* the broadcast queue, by class */
    bcast_t     **picked;                   /* scratch: max_piggyback entries */
    uint64_t      next_gossip_at, next_pushpull_at;

    char        **seeds;
    size_t        n_seeds;
    uint64_t      next_join_at;
    bool          buried_once;              /* bury_past_self ran, at buried_at */
    uint64_t      buried_at;

    fifo_t        out, events;
    swim_stats_t  stats;
};

/* ---- small helpers -------------------------------------------------------- */

static bool streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

/* Copy a string that may be too long or unterminated, cutting it. */
static void set_str (char *dst, size_t size, const char *src)
{
    size_t n = strnlen (src, size - 1);
    memcpy (dst, src, n);
    dst[n] = 0;
}

static char *str_dup (const char *s)
{
    size_t n = strlen (s) + 1;
    char *copy = malloc (n);
    if (copy)
        memcpy (copy, s, n);
    return copy;
}

static bool name_ok (const char *name)
{
    return strnlen (name, GL_NAME_MAX + 1) <= GL_NAME_MAX && gl_name_valid (name);
}

static uint64_t min_u64 (uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static bool bytes_zero (const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static bool res_zero (const gl_res_t *r)
{
    return !r->cores && !r->load1_milli && !r->load_recent_milli && !r->owner_load_milli
        && !r->mem_total_kb && !r->mem_avail_kb && !r->owner_idle_s && !r->state;
}

/* splitmix64: small, fast and good enough to pick members. */
static uint64_t rng_next (swim_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t rng_below (swim_t *self, size_t n)
{
    return n ? (size_t) (rng_next (self) % n) : 0;
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
    if (--f->count == 0)
        f->head = 0;
    return true;
}

static void push_event (swim_t *self, int kind, const char *node, const char *from,
                        uint64_t generation, uint64_t incarnation, uint64_t now)
{
    swim_event_t ev;
    memset (&ev, 0, sizeof ev);
    ev.kind = kind;
    set_str (ev.node, sizeof ev.node, node);
    set_str (ev.from, sizeof ev.from, from ? from : "");
    ev.generation = generation;
    ev.incarnation = incarnation;
    ev.at_ms = now;
    fifo_push (&self->events, &ev);
}

/* ---- the name index ------------------------------------------------------- */

static uint64_t name_hash (const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;             /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h ^ (h >> 32);
}

static const char *name_at (const void *base, size_t stride, uint32_t pos)
{
    return (const char *) base + (size_t) pos * stride;
}

#define SLOT_POS(slot) ((uint32_t) (slot))
#define SLOT_TAG(hash) ((uint64_t) (hash) & 0xffffffff00000000ull)

static bool index_find (const name_index_t *ix, const void *base, size_t stride,
                        const char *name, uint32_t *pos)
{
    if (!ix->cap)
        return false;
    size_t mask = ix->cap - 1;
    uint64_t h = name_hash (name), tag = SLOT_TAG (h);
    for (size_t i = h & mask; ix->slots[i]; i = (i + 1) & mask)
        if (SLOT_TAG (ix->slots[i]) == tag
        &&  streq (name_at (base, stride, SLOT_POS (ix->slots[i]) - 1), name)) {
            *pos = SLOT_POS (ix->slots[i]) - 1;
            return true;
        }
    return false;
}

/* Add an entry that is not there yet (there is always room, see below). */
static void index_add (name_index_t *ix, const char *name, uint32_t pos)
{
    uint64_t h = name_hash (name);
    size_t mask = ix->cap - 1, i = h & mask;
    while (ix->slots[i])
        i = (i + 1) & mask;
    ix->slots[i] = SLOT_TAG (h) | (pos + 1);
}

/* The entry for `name` moved from position `from` to `to`.  Its slot is
   found by value, since the name at `from` is no longer this name. */
static void index_move (name_index_t *ix, const char *name, uint32_t from, uint32_t to)
{
    uint64_t h = name_hash (name);
    size_t mask = ix->cap - 1, i = h & mask;
    while (SLOT_POS (ix->slots[i]) != from + 1)
        i = (i + 1) & mask;
    ix->slots[i] = SLOT_TAG (h) | (to + 1);
}

static void index_fill (name_index_t *ix, const void *base, size_t stride, size_t count)
{
    memset (ix->slots, 0, ix->cap * sizeof *ix->slots);
    for (size_t i = 0; i < count; i++)
        index_add (ix, name_at (base, stride, (uint32_t) i), (uint32_t) i);
}

/* Make room for `want` entries, keeping the table at most half full. */
static int index_reserve (name_index_t *ix, const void *base, size_t stride,
                          size_t count, size_t want)
{
    if (2 * want < ix->cap)
        return 0;
    size_t cap = ix->cap ? ix->cap : 16;
    while (2 * want >= cap)
        cap *= 2;
    uint64_t *slots = realloc (ix->slots, cap * sizeof *slots);
    if (!slots)
        return -1;
    ix->slots = slots;
    ix->cap = cap;
    index_fill (ix, base, stride, count);
    return 0;
}

/* ---- the member table ----------------------------------------------------- */

static member_t *member_find (swim_t *self, const char *name)
{
    uint32_t pos;
    if (index_find (&self->index, self->members, sizeof (member_t), name, &pos))
        return &self->members[pos];
    return NULL;
}

static tomb_t *tomb_find (swim_t *self, const char *name)
{
    uint32_t pos;
    if (index_find (&self->tomb_index, self->tombs, sizeof (tomb_t), name, &pos))
        return &self->tombs[pos];
    return NULL;
}

/* Us and the members we think are alive or suspect. */
static size_t live_count (const swim_t *self)
{
    return 1 + self->n_state[SWIM_ALIVE] + self->n_state[SWIM_SUSPECT];
}

/* A new ALIVE member, put at a random place in the probe order (memberlist
   does the same, so a newcomer is not always probed last).  Pointers into
   the table are stale after this. */
static member_t *member_add (swim_t *self, const char *name)
{
    if (self->n_members == self->cap_members) {
        size_t cap = self->cap_members ? self->cap_members * 2 : 16;
        member_t *members = realloc (self->members, cap * sizeof *members);
        if (!members)
            return NULL;
        self->members = members;
        self->cap_members = cap;
    }
    if (index_reserve (&self->index, self->members, sizeof (member_t),
                       self->n_members, self->n_members + 1))
        return NULL;
    uint32_t last = (uint32_t) self->n_members++;
    uint32_t pos = (uint32_t) rng_below (self, (size_t) last + 1);
    if (pos != last) {
        self->members[last] = self->members[pos];
        index_move (&self->index, self->members[last].name, pos, last);
    }
    member_t *m = &self->members[pos];
    memset (m, 0, sizeof *m);
    set_str (m->name, sizeof m->name, name);
    m->state = SWIM_ALIVE;
    self->n_state[SWIM_ALIVE]++;
    index_add (&self->index, m->name, pos);
    return m;
}

static void set_state (swim_t *self, member_t *m, uint8_t state, uint64_t now)
{
    self->n_state[m->state]--;
    self->n_state[state]++;
    m->state = state;
    m->state_since = now;
}

static int tomb_put (swim_t *self, const member_t *m)
{
    tomb_t *t = tomb_find (self, m->name);
    if (!t) {
        if (self->n_tombs == self->cap_tombs) {
            size_t cap = self->cap_tombs ? self->cap_tombs * 2 : 16;
            tomb_t *tombs = realloc (self->tombs, cap * sizeof *tombs);
            if (!tombs)
                return -1;
            self->tombs = tombs;
            self->cap_tombs = cap;
        }
        if (index_reserve (&self->tomb_index, self->tombs, sizeof (tomb_t),
                           self->n_tombs, self->n_tombs + 1))
            return -1;
        t = &self->tombs[self->n_tombs];
        memset (t, 0, sizeof *t);
        set_str (t->name, sizeof t->name, m->name);
        index_add (&self->tomb_index, t->name, (uint32_t) self->n_tombs++);
    }
    t->state = m->state;
    t->generation = m->generation;
    t->incarnation = m->incarnation;
    memcpy (t->pubkey, m->pubkey, sizeof t->pubkey);
    return 0;
}

/* ---- records ---------------------------------------------------------------- */

/* A member's latest ALIVE or LEAVE record, put back together. */
static void member_record (const member_t *m, gl_rec_t *rec)
{
    memset (rec, 0, sizeof *rec);
    rec->kind = m->rec_kind;
    set_str (rec->origin, sizeof rec->origin, m->name);
    rec->generation = m->generation;
    rec->seq = m->rec_seq;
    rec->time_ms = m->rec_time;
    if (m->rec_kind == GL_REC_ALIVE) {
        set_str (rec->addr, sizeof rec->addr, m->addr ? m->addr : "");
        memcpy (rec->pubkey, m->pubkey, sizeof rec->pubkey);
    }
    memcpy (rec->sig, m->rec_sig, sizeof rec->sig);
}

static void member_res_record (const member_t *m, gl_rec_t *rec)
{
    memset (rec, 0, sizeof *rec);
    rec->kind = GL_REC_RES;
    set_str (rec->origin, sizeof rec->origin, m->name);
    rec->generation = m->res_generation;
    rec->seq = m->res_seq;
    rec->time_ms = m->res_time;
    rec->res = m->res;
    memcpy (rec->sig, m->res_sig, sizeof rec->sig);
}

/* Keep an accepted ALIVE or LEAVE record (its addr and key too). */
static void take_record (member_t *m, const gl_rec_t *rec)
{
    if (rec->kind == GL_REC_ALIVE) {
        if (!m->addr || !streq (m->addr, rec->addr)) {
            char *addr = str_dup (rec->addr);
            if (addr) {                     /* else keep the old one: still a lead */
                free (m->addr);
                m->addr = addr;
            }
        }
        memcpy (m->pubkey, rec->pubkey, sizeof m->pubkey);
    }
    m->rec_kind = rec->kind;
    m->rec_seq = rec->seq;
    m->rec_time = rec->time_ms;
    memcpy (m->rec_sig, rec->sig, sizeof m->rec_sig);
}

static void take_res (member_t *m, const gl_rec_t *rec, uint64_t now)
{
    m->has_res = true;
    m->res = rec->res;
    m->res_generation = rec->generation;
    m->res_seq = rec->seq;
    m->res_time = rec->time_ms;
    m->res_recv = now;
    memcpy (m->res_sig, rec->sig, sizeof m->res_sig);
}

/* Records are rebuilt from their parts when relayed, so a record must
   have exactly the shape its kind allows or its signature would not
   survive the trip. */
static bool record_sane (const gl_rec_t *rec)
{
    if (!name_ok (rec->origin) || !memchr (rec->addr, 0, sizeof rec->addr))
        return false;
    switch (rec->kind) {
        case GL_REC_ALIVE:
            return rec->addr[0] && res_zero (&rec->res);
        case GL_REC_LEAVE:
            return !rec->addr[0] && bytes_zero (rec->pubkey, sizeof rec->pubkey)
                && res_zero (&rec->res);
        case GL_REC_RES:
            return !rec->addr[0] && bytes_zero (rec->pubkey, sizeof rec->pubkey)
                && rec->res.state <= GL_RES_UNAVAILABLE;
        default:
            return false;
    }
}

static bool signed_by (swim_t *self, const gl_rec_t *rec, const uint8_t *pubkey)
{
    return self->signer.verify (self->signer.ctx, rec, pubkey) == 0;
}

/* A record of ours, signed; 0 or -1.  `res` only for GL_REC_RES. */
static int sign_own (swim_t *self, gl_rec_t *rec, uint8_t kind, uint64_t seq,
                     const gl_res_t *res, uint64_t now)
{
    memset (rec, 0, sizeof *rec);
    rec->kind = kind;
    set_str (rec->origin, sizeof rec->origin, self->me.name);
    rec->generation = self->me.generation;
    rec->seq = seq;
    rec->time_ms = now;
    if (kind == GL_REC_ALIVE) {
        set_str (rec->addr, sizeof rec->addr, self->me.addr);
        memcpy (rec->pubkey, self->me.pubkey, sizeof rec->pubkey);
    }
    if (res)
        rec->res = *res;
    return self->signer.sign (self->signer.ctx, rec) ? -1 : 0;
}

/* ---- the broadcast queue ---------------------------------------------------
   Entries are filed by class (membership, then resources), and within a
   class in levels by how many times they were sent, newest first in level
   0.  A message takes the least-sent membership news, then the least-sent
   estimates; after its retransmit limit an entry is forgotten. */

static void set_rec_update (gl_update_t *u, const gl_rec_t *rec)
{
    memset (u, 0, sizeof *u);
    u->kind = GL_UPD_REC;
    u->rec = *rec;
}

static void set_status_update (gl_update_t *u, uint8_t kind, const char *node,
                               uint64_t generation, uint64_t incarnation, const char *from)
{
    memset (u, 0, sizeof *u);
    u->kind = kind;
    set_str (u->node, sizeof u->node, node);
    u->generation = generation;
    u->incarnation = incarnation;
    set_str (u->from, sizeof u->from, from);
}

static uint32_t retransmit_limit (const swim_t *self)
{
    double n = (double) live_count (self);
    return self->cfg.retransmit_mult * (uint32_t) ceil (log10 (n + 1));
}

static int level_link (swim_t *self, bcast_t *e, uint32_t level, bool at_head)
{
    levels_t *q = &self->queue[e->cls];
    if (level >= q->n) {
        uint32_t n = level + 1;
        bcast_t **head = realloc (q->head, n * sizeof *head);
        if (head)
            q->head = head;
        bcast_t **tail = realloc (q->tail, n * sizeof *tail);
        if (tail)
            q->tail = tail;
        if (!head || !tail)
            return -1;
        for (uint32_t i = q->n; i < n; i++)
            q->head[i] = q->tail[i] = NULL;
        q->n = n;
    }
    e->transmits = level;
    if (at_head) {
        e->prev = NULL;
        e->next = q->head[level];
        if (e->next)
            e->next->prev = e;
        else
            q->tail[level] = e;
        q->head[level] = e;
    }
    else {
        e->next = NULL;
        e->prev = q->tail[level];
        if (e->prev)
            e->prev->next = e;
        else
            q->head[level] = e;
        q->tail[level] = e;
    }
    return 0;
}

static void level_unlink (swim_t *self, bcast_t *e)
{
    levels_t *q = &self->queue[e->cls];
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head[e->transmits] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail[e->transmits] = e->prev;
    e->prev = e->next = NULL;
}

static const char *update_subject (const gl_update_t *u)
{
    return u->kind == GL_UPD_REC ? u->rec.origin : u->node;
}

/* Free an entry already unlinked, and clear its owner's pointer to it. */
static void queue_forget (swim_t *self, bcast_t *e)
{
    const char *subject = update_subject (&e->upd);
    member_t *m = streq (subject, self->me.name) ? &self->me : member_find (self, subject);
    if (m && m->queued[e->cls] == e)
        m->queued[e->cls] = NULL;
    free (e);
}

static void queue_put (swim_t *self, member_t *m, int cls, const gl_update_t *u)
{
    bcast_t *e = m->queued[cls];
    if (e)
        level_unlink (self, e);
    else if (!(e = malloc (sizeof *e)))
        return;
    e->upd = *u;
    e->cls = (uint8_t) cls;
    m->queued[cls] = e;
    if (level_link (self, e, 0, true)) {
        m->queued[cls] = NULL;
        free (e);
    }
}

static void queue_drop (swim_t *self, member_t *m, int cls)
{
    if (m->queued[cls]) {
        level_unlink (self, m->queued[cls]);
        free (m->queued[cls]);
        m->queued[cls] = NULL;
    }
}

static bool queue_empty (const swim_t *self)
{
    for (int cls = 0; cls < CLASSES; cls++)
        for (uint32_t i = 0; i < self->queue[cls].n; i++)
            if (self->queue[cls].head[i])
                return false;
    return true;
}

/* Choose up to `max` least-sent entries into self->picked, membership
   news first: memberlist likewise fills a message with its own
   broadcasts before the delegate's (Serf's events).  Resource estimates
   come every minute from every node and can fill every message of a large
   cluster; refutations and deaths must not wait behind them (glsim: a
   thousand nodes whose refreshes ran in step declared healthy nodes dead).
   Nothing is counted as sent until queue_sent. */
static size_t queue_select (swim_t *self, size_t max)
{
    uint32_t limit = retransmit_limit (self);
    size_t n = 0;
    for (int cls = 0; cls < CLASSES && n < max; cls++) {
        levels_t *q = &self->queue[cls];
        for (uint32_t level = 0; level < q->n && n < max; level++) {
            bcast_t *e = q->head[level];
            while (e && n < max) {
                bcast_t *next = e->next;
                if (level >= limit) {       /* the cluster shrank: sent enough */
                    level_unlink (self, e);
                    queue_forget (self, e);
                }
                else
                    self->picked[n++] = e;
                e = next;
            }
        }
    }
    return n;
}

static void queue_sent (swim_t *self, size_t n)
{
    uint32_t limit = retransmit_limit (self);
    for (size_t i = 0; i < n; i++) {
        bcast_t *e = self->picked[i];
        level_unlink (self, e);
        uint32_t level = e->transmits + 1;
        if (level >= limit || level_link (self, e, level, false))
            queue_forget (self, e);
    }
}

/* ---- output ------------------------------------------------------------------ */

/* What we think of m when it is worse than alive, as a SUSPECT or DEAD
   update from whoever said so first; 1 if written, else 0. */
static size_t status_of (swim_t *self, const member_t *m, gl_update_t *u)
{
    if (m->state != SWIM_SUSPECT && m->state != SWIM_DEAD)
        return 0;
    set_status_update (u, m->state == SWIM_SUSPECT ? GL_UPD_SUSPECT : GL_UPD_DEAD, m->name,
                       m->generation, m->incarnation, m->accuser[0] ? m->accuser : self->me.name);
    return 1;
}

/* What a message to `m` should tell it about itself: that we think it is
   suspect or dead (so it can refute at once, as memberlist does when it
   probes a suspect), or, the first few times, who we are. */
static size_t news_for (swim_t *self, member_t *m, gl_update_t *u, bool our_record_sent)
{
    size_t n = status_of (self, m, u);
    if (m->intro) {
        m->intro--;
        if (!our_record_sent) {
            gl_rec_t rec;
            member_record (&self->me, &rec);
            set_rec_update (&u[n++], &rec);
        }
    }
    return n;
}

/* Send a PING, ACK, PING_REQ, NACK or GOSSIP, with as many queued updates
   as fit.  A GOSSIP with nothing to say is not sent; returns whether the
   message went out. */
static bool send_small (swim_t *self, uint8_t type, const char *to_name, const char *to_addr,
                        uint32_t seq, const char *target, const char *target_addr)
{
    size_t n_picked = queue_select (self, self->cfg.max_piggyback);
    if (type == GL_MSG_GOSSIP && !n_picked)
        return false;
    bool our_record_sent = false;
    for (size_t i = 0; i < n_picked; i++) {
        const gl_update_t *u = &self->picked[i]->upd;
        if (u->kind == GL_UPD_REC && u->rec.kind != GL_REC_RES && streq (u->rec.origin, self->me.name))
            our_record_sent = true;
    }
    member_t *to = to_name[0] ? member_find (self, to_name) : NULL;

    swim_out_t out;
    memset (&out, 0, sizeof out);
    set_str (out.to_name, sizeof out.to_name, to_name);
    set_str (out.to_addr, sizeof out.to_addr, to_addr);
    out.msg.type = type;
    out.msg.probe_seq = seq;
    set_str (out.msg.target, sizeof out.msg.target, target);
    set_str (out.msg.target_addr, sizeof out.msg.target_addr, target_addr);

    gl_update_t news[2];
    size_t n_news = to ? news_for (self, to, news, our_record_sent) : 0;
    size_t n = n_picked + n_news;
    if (n) {
        out.msg.updates = malloc (n * sizeof *out.msg.updates);
        if (!out.msg.updates)
            return false;
        for (size_t i = 0; i < n_picked; i++)
            out.msg.updates[i] = self->picked[i]->upd;
        memcpy (out.msg.updates + n_picked, news, n_news * sizeof news[0]);
        out.msg.n_updates = (uint32_t) n;
    }
    if (!fifo_push (&self->out, &out)) {
        free (out.msg.updates);
        return false;
    }
    queue_sent (self, n_picked);
    return true;
}

/* Everything we know about one member, as updates: its latest ALIVE or
   LEAVE record, then what we think of it if worse, then its resources.
   At most three. */
static size_t state_updates (swim_t *self, const member_t *m, gl_update_t *u)
{
    size_t n = 0;
    gl_rec_t rec;
    member_record (m, &rec);
    set_rec_update (&u[n++], &rec);
    n += status_of (self, m, &u[n]);
    if (m->has_res) {
        member_res_record (m, &rec);
        set_rec_update (&u[n++], &rec);
    }
    return n;
}

/* Us and the first `max_members` members, as updates. */
static size_t fill_state (swim_t *self, gl_update_t *u, size_t cap, size_t max_members)
{
    size_t n = state_updates (self, &self->me, u);
    for (size_t i = 0; i < self->n_members && i < max_members && n + 3 <= cap; i++)
        n += state_updates (self, &self->members[i], u + n);
    return n;
}

/* Whether msg, encoded, fits in a packet with room for the envelope.  Only
   states of a couple of thousand members are big enough to need a look. */
static bool fits_packet (const gl_msg_t *msg)
{
    if ((size_t) msg->n_updates * UPDATE_BYTES_MAX <= SYNC_BYTES_MAX)
        return true;
    uint8_t *buf = NULL;
    size_t len = 0;
    bool fits = gl_msg_encode (msg, &buf, &len) == 0 && len <= SYNC_BYTES_MAX;
    free (buf);
    return fits;
}

/* Push-pull: our whole state, us first.  Dead and left members go too, so
   that their fate spreads.  A state too big for one packet is cut to the
   members that fit; the probe order is reshuffled every round, so the
   others go another time. */
static void send_sync (swim_t *self, uint8_t type, const char *to_name, const char *to_addr)
{
    size_t cap = 3 * (self->n_members + 1);
    if (cap > GL_UPDATES_MAX)
        cap = GL_UPDATES_MAX;
    swim_out_t out;
    memset (&out, 0, sizeof out);
    set_str (out.to_name, sizeof out.to_name, to_name);
    set_str (out.to_addr, sizeof out.to_addr, to_addr);
    out.msg.type = type;
    out.msg.updates = malloc (cap * sizeof *out.msg.updates);
    if (!out.msg.updates)
        return;
    size_t members = self->n_members;
    out.msg.n_updates = (uint32_t) fill_state (self, out.msg.updates, cap, members);
    while (members && !fits_packet (&out.msg)) {
        members /= 2;
        out.msg.n_updates = (uint32_t) fill_state (self, out.msg.updates, cap, members);
    }
    if (!fifo_push (&self->out, &out))
        free (out.msg.updates);
}

/* Send to a member by name, when we know where it is. */
static void send_to_member (swim_t *self, uint8_t type, const char *name, uint32_t seq,
                            const char *target)
{
    member_t *m = member_find (self, name);
    if (m && m->addr)
        send_small (self, type, m->name, m->addr, seq, target, "");
}

/* ---- random picks ------------------------------------------------------------ */

typedef bool (*member_ok_fn) (swim_t *self, const member_t *m, const void *arg);

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
        if (!ok (self, &self->members[i], arg))
            continue;
        bool dup = false;
        for (size_t j = 0; j < got && !dup; j++)
            dup = picks[j] == i;
        if (!dup)
            picks[got++] = i;
    }
    return got;
}

static bool is_live (const member_t *m)
{
    return m->state == SWIM_ALIVE || m->state == SWIM_SUSPECT;
}

static bool alive_ok (swim_t *self, const member_t *m, const void *arg)
{
    (void) self;
    (void) arg;
    return m->state == SWIM_ALIVE;
}

static bool live_ok (swim_t *self, const member_t *m, const void *arg)
{
    (void) self;
    (void) arg;
    return is_live (m);
}

static bool dead_ok (swim_t *self, const member_t *m, const void *arg)
{
    (void) self;
    (void) arg;
    return m->state == SWIM_DEAD;
}

/* A helper for an indirect probe: alive, and not the target itself. */
static bool helper_ok (swim_t *self, const member_t *m, const void *target)
{
    (void) self;
    return m->state == SWIM_ALIVE && m != target;
}

/* Gossip goes to live members, and to the recently dead or departed so
   that they can hear it and refute. */
static bool gossip_ok (swim_t *self, const member_t *m, const void *now_p)
{
    uint64_t now = *(const uint64_t *) now_p;
    return is_live (m)
        || now - m->state_since < (uint64_t) GOSSIP_TO_DEAD_PROBES * self->cfg.probe_interval_ms;
}

/* One update straight to member m, outside dissemination. */
static void send_update (swim_t *self, const member_t *m, const gl_update_t *u)
{
    swim_out_t out;
    memset (&out, 0, sizeof out);
    set_str (out.to_name, sizeof out.to_name, m->name);
    set_str (out.to_addr, sizeof out.to_addr, m->addr ? m->addr : "");
    out.msg.type = GL_MSG_GOSSIP;
    out.msg.updates = malloc (sizeof *out.msg.updates);
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
            if (is_live (&self->members[i]))
                picks[n++] = (uint32_t) i;
    }
    else
        n = pick_members (self, fanout, live_ok, NULL, picks);
    for (size_t i = 0; i < n; i++)
        send_update (self, &self->members[picks[i]], u);
}

/* ---- suspicion (Lifeguard) -------------------------------------------------- */

static uint64_t suspicion_timeout (const suspicion_t *s)
{
    if (s->k == 0 || s->max_ms <= s->min_ms)
        return s->min_ms;
    double frac = log (s->n + 1.0) / log (s->k + 1.0);
    double t = (double) s->max_ms - (double) (s->max_ms - s->min_ms) * frac;
    return t < (double) s->min_ms ? s->min_ms : (uint64_t) t;
}

static void alarm_push (swim_t *self, uint64_t at, const char *name)
{
    if (self->n_alarms == self->cap_alarms) {
        size_t cap = self->cap_alarms ? self->cap_alarms * 2 : 16;
        alarm_t *alarms = realloc (self->alarms, cap * sizeof *alarms);
        if (!alarms)
            return;
        self->alarms = alarms;
        self->cap_alarms = cap;
    }
    alarm_t *h = self->alarms;
    size_t i = self->n_alarms++;
    while (i > 0 && h[(i - 1) / 2].at > at) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i].at = at;
    set_str (h[i].name, sizeof h[i].name, name);
}

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
}

/* Suspicion timeouts are fixed when the suspicion starts: min grows with
   log10 of the cluster size, max is a multiple of it, and each independent
   confirmation brings the deadline closer to min. */
static void suspicion_start (swim_t *self, member_t *m, uint64_t now)
{
    size_t n = live_count (self);
    uint32_t k = self->cfg.indirect_checks;
    if (n < (size_t) k + 2)
        k = 0;                  /* too few others to ever confirm it */
    suspicion_t *s = calloc (1, sizeof *s + k * sizeof s->from[0]);
    if (!s)
        return;                 /* it stays suspect until refuted or found dead elsewhere */
    double scale = log10 ((double) n);
    if (scale < 1)
        scale = 1;
    s->min_ms = (uint64_t) (self->cfg.suspicion_mult * scale * self->cfg.probe_interval_ms);
    s->max_ms = s->min_ms * self->cfg.suspicion_max_mult;
    s->k = k;
    s->start_ms = now;
    s->deadline_ms = now + suspicion_timeout (s);
    free (m->suspicion);
    m->suspicion = s;
    alarm_push (self, s->deadline_ms, m->name);
}

/* Another node suspects m too; true when that is news. */
static bool suspicion_confirm (swim_t *self, member_t *m, const char *from)
{
    suspicion_t *s = m->suspicion;
    if (!s || s->n >= s->k || streq (from, m->accuser))
        return false;
    for (uint32_t i = 0; i < s->n; i++)
        if (streq (s->from[i], from))
            return false;
    set_str (s->from[s->n++], sizeof s->from[0], from);
    s->deadline_ms = s->start_ms + suspicion_timeout (s);
    alarm_push (self, s->deadline_ms, m->name);
    return true;
}

static void suspicion_clear (member_t *m)
{
    free (m->suspicion);
    m->suspicion = NULL;
}

static void awareness_add (swim_t *self, int delta)
{
    if (delta < 0 && self->awareness > 0)
        self->awareness--;
    else if (delta > 0 && self->awareness + 1 < self->cfg.awareness_max)
        self->awareness++;
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

static void queue_record (swim_t *self, member_t *m, int cls, const gl_rec_t *rec)
{
    gl_update_t u;
    set_rec_update (&u, rec);
    queue_put (self, m, cls, &u);
}

/* A new ALIVE record of ours, at incarnation `inc`, queued to spread. */
static int sign_alive (swim_t *self, uint64_t inc, uint64_t now)
{
    gl_rec_t rec;
    if (sign_own (self, &rec, GL_REC_ALIVE, inc, NULL, now))
        return -1;
    self->me.incarnation = inc;
    take_record (&self->me, &rec);
    queue_record (self, &self->me, CLASS_MEMBERSHIP, &rec);
    return 0;
}

/* Someone suspects us or says we are dead: if it is about this life and
   not already refuted, out-bid it. */
/* Our current ALIVE record, as an update. */
static void my_alive (swim_t *self, gl_update_t *u)
{
    gl_rec_t rec;
    member_record (&self->me, &rec);
    set_rec_update (u, &rec);
}

static void accused (swim_t *self, const gl_update_t *u, const char *sender, uint64_t now)
{
    member_t *me = &self->me;
    if (me->state == SWIM_LEFT || u->generation != me->generation || u->incarnation == UINT64_MAX)
        return;
    /* An accusation we refuted already: whoever handed it to us has not
       heard the refutation.  Dissemination sends it only so many times,
       and a node that missed all of them (often the accuser itself, which
       keeps telling us) would declare us dead when its timer runs out, or
       keep us dead until a push-pull.  Answer it directly (regression:
       t/sim/scenarios/refute-old-news.scen). */
    if (u->incarnation < me->incarnation) {
        member_t *m = member_find (self, sender);
        if (m && is_live (m)) {
            gl_update_t mine;
            my_alive (self, &mine);
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
    my_alive (self, &mine);
    tell_many (self, &mine);
    self->stats.refutations++;
    awareness_add (self, +1);       /* Lifeguard: being suspected hints that we are slow */
    push_event (self, SWIM_EV_REFUTED, me->name, u->from, me->generation, me->incarnation, now);
}

/* An ALIVE record of a node we don't know (or forgot). */
static void learn (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    tomb_t *t = tomb_find (self, rec->origin);
    if (t) {
        if (rec->generation < t->generation
        || (rec->generation == t->generation && rec->seq <= t->incarnation)) {
            old_news (self);
            return;
        }
        if (rec->generation == t->generation && memcmp (rec->pubkey, t->pubkey, GL_PUBKEY_BYTES)) {
            refuse (self, rec, sender, now);    /* one life, one key */
            return;
        }
    }
    if (!signed_by (self, rec, rec->pubkey)) {  /* trust on first use */
        refuse (self, rec, sender, now);
        return;
    }
    char *addr = str_dup (rec->addr);
    member_t *m = addr ? member_add (self, rec->origin) : NULL;
    if (!m) {
        free (addr);
        return;
    }
    m->addr = addr;
    m->generation = rec->generation;
    m->incarnation = rec->seq;
    m->state_since = now;
    m->intro = INTRO_MSGS;
    take_record (m, rec);
    push_event (self, SWIM_EV_JOINED, m->name, sender, m->generation, m->incarnation, now);
    queue_record (self, m, CLASS_MEMBERSHIP, rec);
}

/* A newer generation of m: the node restarted.  It replaces all we knew. */
static void restart (swim_t *self, member_t *m, const gl_rec_t *rec, const char *sender,
                     uint64_t now)
{
    suspicion_clear (m);
    m->generation = rec->generation;
    m->incarnation = rec->seq;
    m->accuser[0] = 0;
    m->intro = INTRO_MSGS;
    take_record (m, rec);
    if (m->has_res && m->res_generation < m->generation) {
        m->has_res = false;
        queue_drop (self, m, CLASS_RES);
    }
    set_state (self, m, SWIM_ALIVE, now);
    push_event (self, SWIM_EV_JOINED, m->name, sender, m->generation, m->incarnation, now);
    queue_record (self, m, CLASS_MEMBERSHIP, rec);
}

static void apply_alive (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    member_t *m = member_find (self, rec->origin);
    if (!m) {
        learn (self, rec, sender, now);
        return;
    }
    bool same_key = memcmp (rec->pubkey, m->pubkey, GL_PUBKEY_BYTES) == 0;
    bool gone = m->state == SWIM_DEAD || m->state == SWIM_LEFT;
    if (rec->generation > m->generation) {
        /* A new key is believed only once the old self is dead or gone
           (it lost its state directory); else it is an impostor. */
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
    if (!same_key || !signed_by (self, rec, m->pubkey)) {
        refuse (self, rec, sender, now);
        return;
    }
    /* A higher incarnation of this life: the node refutes whatever we
       thought, even a death. */
    m->incarnation = rec->seq;
    take_record (m, rec);
    if (m->state != SWIM_ALIVE) {
        suspicion_clear (m);
        m->accuser[0] = 0;
        set_state (self, m, SWIM_ALIVE, now);
        push_event (self, SWIM_EV_ALIVE, m->name, sender, m->generation, m->incarnation, now);
    }
    queue_record (self, m, CLASS_MEMBERSHIP, rec);
}

/* LEAVE and RES records need the node's key: for a node or a generation we
   don't know yet, they are held back (push-pull brings them again). */
static void apply_leave (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    member_t *m = member_find (self, rec->origin);
    if (!m || rec->generation > m->generation)
        return;
    if (rec->generation < m->generation || rec->seq < m->incarnation || m->state == SWIM_LEFT) {
        old_news (self);
        return;
    }
    if (!signed_by (self, rec, m->pubkey)) {
        refuse (self, rec, sender, now);
        return;
    }
    suspicion_clear (m);
    m->incarnation = rec->seq;
    m->accuser[0] = 0;
    take_record (m, rec);
    set_state (self, m, SWIM_LEFT, now);
    push_event (self, SWIM_EV_LEFT, m->name, sender, m->generation, m->incarnation, now);
    queue_record (self, m, CLASS_MEMBERSHIP, rec);
}

static void apply_res (swim_t *self, const gl_rec_t *rec, const char *sender, uint64_t now)
{
    member_t *m = member_find (self, rec->origin);
    if (!m || rec->generation > m->generation)
        return;
    if (rec->generation < m->generation || (m->has_res && rec->seq <= m->res_seq)) {
        old_news (self);
        return;
    }
    if (!signed_by (self, rec, m->pubkey)) {
        refuse (self, rec, sender, now);
        return;
    }
    take_res (m, rec, now);
    queue_record (self, m, CLASS_RES, rec);
}

/* Someone still believes an earlier life of ours is alive: we restarted
   before it was declared dead (perhaps with a new key, after losing our
   state directory, which nobody would accept while the old life lives).
   Declare that life dead, with our current ALIVE record right behind it,
   to every live member; at most once per probe interval. */
static void bury_past_self (swim_t *self, const gl_rec_t *old, uint64_t now)
{
    member_t *me = &self->me;
    if (me->state == SWIM_LEFT
    || (self->buried_once && now < self->buried_at + self->cfg.probe_interval_ms))
        return;
    self->buried_once = true;
    self->buried_at = now;
    gl_update_t u[2];
    gl_rec_t mine;
    set_status_update (&u[0], GL_UPD_DEAD, me->name, old->generation, old->seq, me->name);
    member_record (me, &mine);
    set_rec_update (&u[1], &mine);
    for (size_t i = 0; i < self->n_members; i++) {
        const member_t *m = &self->members[i];
        if (!is_live (m))
            continue;
        swim_out_t out;
        memset (&out, 0, sizeof out);
        set_str (out.to_name, sizeof out.to_name, m->name);
        set_str (out.to_addr, sizeof out.to_addr, m->addr);
        out.msg.type = GL_MSG_GOSSIP;
        out.msg.updates = malloc (sizeof u);
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
    if (!record_sane (rec)) {
        refuse (self, rec, sender, now);
        return;
    }
    if (streq (rec->origin, self->me.name))
        return;                 /* about us: we know better (see past_self_alive) */
    if (rec->kind == GL_REC_ALIVE)
        apply_alive (self, rec, sender, now);
    else if (rec->kind == GL_REC_LEAVE)
        apply_leave (self, rec, sender, now);
    else
        apply_res (self, rec, sender, now);
}

/* SUSPECT and DEAD updates are not signed: anyone may say them, and the
   node itself answers with a signed ALIVE record. */
static bool status_current (swim_t *self, const member_t *m, const gl_update_t *u)
{
    if (!m || u->generation > m->generation)
        return false;           /* a life we haven't seen: wait for its record */
    if (u->generation < m->generation || u->incarnation < m->incarnation
    ||  m->state == SWIM_DEAD || m->state == SWIM_LEFT) {
        old_news (self);
        return false;
    }
    return true;
}

static void apply_suspect (swim_t *self, const gl_update_t *u, uint64_t now)
{
    member_t *m = member_find (self, u->node);
    if (!status_current (self, m, u))
        return;
    if (m->state == SWIM_SUSPECT) {
        if (u->incarnation > m->incarnation)
            m->incarnation = u->incarnation;
        if (suspicion_confirm (self, m, u->from))
            queue_put (self, m, CLASS_MEMBERSHIP, u);  /* a new voice: pass it on */
        return;
    }
    m->incarnation = u->incarnation;
    set_str (m->accuser, sizeof m->accuser, u->from);
    set_state (self, m, SWIM_SUSPECT, now);
    suspicion_start (self, m, now);
    push_event (self, SWIM_EV_SUSPECT, m->name, u->from, m->generation, m->incarnation, now);
    queue_put (self, m, CLASS_MEMBERSHIP, u);
}

static void apply_dead (swim_t *self, const gl_update_t *u, uint64_t now)
{
    member_t *m = member_find (self, u->node);
    if (!status_current (self, m, u))
        return;
    suspicion_clear (m);
    m->incarnation = u->incarnation;
    set_str (m->accuser, sizeof m->accuser, u->from);
    set_state (self, m, SWIM_DEAD, now);
    push_event (self, SWIM_EV_DEAD, m->name, u->from, m->generation, m->incarnation, now);
    queue_put (self, m, CLASS_MEMBERSHIP, u);
}

static void apply_update (swim_t *self, const gl_update_t *u, const char *sender, uint64_t now)
{
    if (u->kind == GL_UPD_REC) {
        apply_record (self, &u->rec, sender, now);
        return;
    }
    if ((u->kind != GL_UPD_SUSPECT && u->kind != GL_UPD_DEAD)
    ||  !name_ok (u->node) || !name_ok (u->from))
        return;
    if (streq (u->node, self->me.name))
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
        member_t *m = &self->members[i];
        bool gone = m->state == SWIM_DEAD || m->state == SWIM_LEFT;
        if (gone && now - m->state_since >= self->cfg.dead_reap_ms && tomb_put (self, m) == 0) {
            queue_drop (self, m, CLASS_MEMBERSHIP);
            queue_drop (self, m, CLASS_RES);
            self->n_state[m->state]--;
            free (m->addr);
            free (m->suspicion);
            continue;
        }
        if (keep != i)
            self->members[keep] = *m;
        keep++;
    }
    self->n_members = keep;
    for (size_t i = keep; i > 1; i--) {
        size_t j = rng_below (self, i);
        member_t tmp = self->members[i - 1];
        self->members[i - 1] = self->members[j];
        self->members[j] = tmp;
    }
    if (self->index.cap)
        index_fill (&self->index, self->members, sizeof (member_t), keep);
}

static member_t *next_probe_target (swim_t *self, uint64_t now)
{
    for (size_t tried = 0; tried <= self->n_members; tried++) {
        if (self->probe_pos >= self->n_members) {
            end_of_round (self, now);
            self->probe_pos = 0;
            if (!self->n_members)
                return NULL;
        }
        member_t *m = &self->members[self->probe_pos++];
        if (is_live (m))
            return m;
    }
    return NULL;
}

static void probe_start (swim_t *self, uint64_t now)
{
    uint64_t scale = self->awareness + 1;       /* Lifeguard: slow down when unwell */
    self->next_probe_at = now + self->cfg.probe_interval_ms * scale;
    member_t *m = next_probe_target (self, now);
    if (!m)
        return;
    probe_t *p = &self->probe;
    memset (p, 0, sizeof *p);
    p->active = true;
    set_str (p->target, sizeof p->target, m->name);
    p->generation = m->generation;
    p->incarnation = m->incarnation;
    p->seq = ++self->next_seq;
    p->ack_deadline = now + self->cfg.probe_timeout_ms * scale;
    self->stats.probes++;
    send_small (self, GL_MSG_PING, m->name, m->addr, p->seq, m->name, "");
}

/* No ack in time: ask others to probe the target for us. */
static void ask_others (swim_t *self)
{
    probe_t *p = &self->probe;
    p->asked_others = true;
    self->stats.probe_failures++;
    member_t *target = member_find (self, p->target);
    if (!target)
        return;
    uint32_t picks[PICK_MAX];
    size_t n = pick_members (self, self->cfg.indirect_checks, helper_ok, target, picks);
    for (size_t i = 0; i < n; i++) {
        member_t *h = &self->members[picks[i]];
        send_small (self, GL_MSG_PING_REQ, h->name, h->addr, p->seq, target->name, target->addr);
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
    member_t *m = member_find (self, p->target);
    if (!m || !is_live (m))
        return;
    gl_update_t u;
    set_status_update (&u, GL_UPD_SUSPECT, p->target, p->generation, p->incarnation, self->me.name);
    self->stats.suspicions++;
    apply_suspect (self, &u, now);
}

static void on_ping (swim_t *self, const char *from, const gl_msg_t *msg)
{
    /* A PING for another name reached a new process at an old address. */
    if (self->me.state == SWIM_LEFT || !streq (msg->target, self->me.name))
        return;
    send_to_member (self, GL_MSG_ACK, from, msg->probe_seq, self->me.name);
}

static void on_ack (swim_t *self, const gl_msg_t *msg)
{
    probe_t *p = &self->probe;
    if (p->active && p->seq == msg->probe_seq && streq (p->target, msg->target)) {
        if (!p->acked) {
            p->acked = true;
            self->stats.acks_in++;
            awareness_add (self, -1);
        }
        return;
    }
    for (size_t i = 0; i < self->n_relays; i++) {
        relay_t *r = &self->relays[i];
        if (r->seq == msg->probe_seq && streq (r->target, msg->target)) {
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
    if (p->active && !p->acked && p->seq == msg->probe_seq && streq (p->target, msg->target)) {
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
    if (self->me.state == SWIM_LEFT || !name_ok (msg->target) || streq (msg->target, self->me.name)
    ||  !addr_len || addr_len == sizeof msg->target_addr || !member_find (self, from)
    ||  self->n_relays == RELAYS_MAX)
        return;
    relay_t *r = &self->relays[self->n_relays++];
    memset (r, 0, sizeof *r);
    set_str (r->requester, sizeof r->requester, from);
    set_str (r->target, sizeof r->target, msg->target);
    r->requester_seq = msg->probe_seq;
    r->seq = ++self->next_seq;
    r->nack_at = now + self->cfg.probe_timeout_ms * 4 / 5;
    r->expire_at = now + self->cfg.probe_interval_ms;
    send_small (self, GL_MSG_PING, r->target, msg->target_addr, r->seq, r->target, "");
}

static void run_relays (swim_t *self, uint64_t now)
{
    for (size_t i = 0; i < self->n_relays; ) {
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
    while (self->n_alarms && self->alarms[0].at <= now) {
        char name[GL_NAME_MAX + 1];
        set_str (name, sizeof name, self->alarms[0].name);
        alarm_pop (self);
        /* Alarms are never removed, only outdated: check this one holds. */
        member_t *m = member_find (self, name);
        if (!m || m->state != SWIM_SUSPECT || !m->suspicion || m->suspicion->deadline_ms > now)
            continue;
        gl_update_t u;
        set_status_update (&u, GL_UPD_DEAD, m->name, m->generation, m->incarnation, self->me.name);
        self->stats.deaths++;
        apply_dead (self, &u, now);
    }
}

/* ---- gossip, push-pull, join ---------------------------------------------------- */

static void gossip (swim_t *self, uint64_t now)
{
    self->next_gossip_at = now + self->cfg.gossip_interval_ms;
    if (queue_empty (self))
        return;
    uint32_t picks[PICK_MAX];
    size_t n = pick_members (self, self->cfg.gossip_nodes, gossip_ok, &now, picks);
    for (size_t i = 0; i < n; i++) {
        member_t *m = &self->members[picks[i]];
        if (!send_small (self, GL_MSG_GOSSIP, m->name, m->addr, 0, "", ""))
            break;
    }
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

/* Exchange whole states with a random live member.  Like Serf's reconnect,
   also try one member we think dead: if it is alive after all (a healed
   partition), the exchange tells both sides and each refutes its death. */
static void push_pull (swim_t *self, uint64_t now)
{
    self->next_pushpull_at = now + pushpull_interval (self);
    uint32_t pick;
    if (pick_members (self, 1, alive_ok, NULL, &pick)) {
        send_sync (self, GL_MSG_SYNC_REQ, self->members[pick].name, self->members[pick].addr);
        self->stats.syncs++;
    }
    if (self->n_state[SWIM_DEAD] && pick_members (self, 1, dead_ok, NULL, &pick)) {
        send_sync (self, GL_MSG_SYNC_REQ, self->members[pick].name, self->members[pick].addr);
        self->stats.syncs++;
    }
}

static void join_send (swim_t *self)
{
    for (size_t i = 0; i < self->n_seeds; i++)
        if (!streq (self->seeds[i], self->me.addr)) {
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
}

/* Zero intervals would spin, and zero multipliers would never spread. */
static bool config_ok (const swim_config_t *c)
{
    return c->probe_interval_ms && c->gossip_interval_ms && c->pushpull_interval_ms
        && c->join_retry_ms && c->awareness_max && c->suspicion_mult && c->retransmit_mult;
}

swim_t *swim_new (const swim_config_t *config, const char *name, const char *addr,
                  uint64_t generation, const uint8_t pubkey[GL_PUBKEY_BYTES],
                  const swim_signer_t *signer, uint64_t rng_seed, uint64_t now_ms)
{
    if (!config || !name || !addr || !pubkey || !signer || !signer->sign || !signer->verify
    ||  !config_ok (config) || !name_ok (name))
        return NULL;
    size_t addr_len = strnlen (addr, GL_ADDR_MAX + 1);
    if (!addr_len || addr_len > GL_ADDR_MAX)
        return NULL;
    swim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    self->signer = *signer;
    self->rng = rng_seed;
    self->out.size = sizeof (swim_out_t);
    self->events.size = sizeof (swim_event_t);

    member_t *me = &self->me;
    set_str (me->name, sizeof me->name, name);
    me->addr = str_dup (addr);
    me->generation = generation;
    memcpy (me->pubkey, pubkey, GL_PUBKEY_BYTES);
    me->state = SWIM_ALIVE;
    me->state_since = now_ms;

    bool queues_ok = true;
    for (int cls = 0; cls < CLASSES; cls++) {
        levels_t *q = &self->queue[cls];
        q->head = calloc (1, sizeof *q->head);
        q->tail = calloc (1, sizeof *q->tail);
        q->n = 1;
        queues_ok = queues_ok && q->head && q->tail;
    }
    self->picked = malloc ((config->max_piggyback + 1) * sizeof *self->picked);
    if (!me->addr || !queues_ok || !self->picked
    ||  sign_alive (self, 0, now_ms)) {
        swim_destroy (&self);
        return NULL;
    }
    /* Timers start at random phases, so nodes started together don't
       probe and gossip in lockstep. */
    self->next_probe_at = now_ms + rng_below (self, config->probe_interval_ms);
    self->next_gossip_at = now_ms + rng_below (self, config->gossip_interval_ms);
    self->next_pushpull_at = now_ms + rng_below (self, config->pushpull_interval_ms);
    return self;
}

void swim_destroy (swim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    swim_t *self = *self_p;
    for (size_t i = 0; i < self->n_members; i++) {
        free (self->members[i].addr);
        free (self->members[i].suspicion);
    }
    free (self->members);
    free (self->index.slots);
    free (self->tombs);
    free (self->tomb_index.slots);
    free (self->me.addr);
    free (self->alarms);
    for (int cls = 0; cls < CLASSES; cls++) {
        levels_t *q = &self->queue[cls];
        for (uint32_t i = 0; i < q->n; i++)
            for (bcast_t *e = q->head[i], *next; e; e = next) {
                next = e->next;
                free (e);
            }
        free (q->head);
        free (q->tail);
    }
    free (self->picked);
    free_seeds (self);
    swim_out_t out;
    while (fifo_pop (&self->out, &out))
        gl_msg_clear (&out.msg);
    free (self->out.items);
    free (self->events.items);
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
        if (len && len <= GL_ADDR_MAX && (self->seeds[self->n_seeds] = str_dup (seed_addrs[i])))
            self->n_seeds++;
    }
    join_send (self);
    self->next_join_at = now_ms + self->cfg.join_retry_ms;
}

/* The ALIVE record of an earlier life of ours, when the message carries
   one without also saying that life is dead or gone. */
static const gl_rec_t *past_self_alive (swim_t *self, const gl_msg_t *msg)
{
    const gl_rec_t *old = NULL;
    for (uint32_t i = 0; i < msg->n_updates && !old; i++) {
        const gl_update_t *u = &msg->updates[i];
        if (u->kind == GL_UPD_REC && u->rec.kind == GL_REC_ALIVE
        &&  streq (u->rec.origin, self->me.name) && u->rec.generation < self->me.generation)
            old = &u->rec;
    }
    for (uint32_t i = 0; i < msg->n_updates && old; i++) {
        const gl_update_t *u = &msg->updates[i];
        if ((u->kind == GL_UPD_DEAD && streq (u->node, self->me.name)
             && u->generation == old->generation)
        ||  (u->kind == GL_UPD_REC && u->rec.kind == GL_REC_LEAVE
             && streq (u->rec.origin, self->me.name) && u->rec.generation == old->generation))
            return NULL;
    }
    return old;
}

void swim_recv (swim_t *self, const char *from, const gl_msg_t *msg, uint64_t now_ms)
{
    /* A message under our own name comes from an older self, or from a
       misconfigured twin: nothing it says can be taken as news. */
    if (!self || !from || !msg || !name_ok (from) || streq (from, self->me.name)
    ||  (msg->n_updates && !msg->updates))
        return;
    if (!member_find (self, from))
        self->stats.unknown_sender++;
    for (uint32_t i = 0; i < msg->n_updates; i++)
        apply_update (self, &msg->updates[i], from, now_ms);
    const gl_rec_t *past = past_self_alive (self, msg);
    if (past)
        bury_past_self (self, past, now_ms);
    if (!name_ok (msg->target) && msg->target[0])
        return;
    switch (msg->type) {
        case GL_MSG_PING:
            on_ping (self, from, msg);
            break;
        case GL_MSG_ACK:
            on_ack (self, msg);
            break;
        case GL_MSG_PING_REQ:
            on_ping_req (self, from, msg, now_ms);
            break;
        case GL_MSG_NACK:
            on_nack (self, msg);
            break;
        case GL_MSG_SYNC_REQ:
            if (self->me.state != SWIM_LEFT) {
                member_t *m = member_find (self, from);
                if (m && m->addr)
                    send_sync (self, GL_MSG_SYNC_RESP, m->name, m->addr);
            }
            break;
        default:
            break;              /* SYNC_RESP, GOSSIP: the updates were all */
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
        if (self->n_seeds && now_ms >= self->next_join_at) {
            self->next_join_at = now_ms + self->cfg.join_retry_ms;
            if (live_count (self) == 1)
                join_send (self);
        }
    }
    if (now_ms >= self->next_gossip_at)
        gossip (self, now_ms);
}

uint64_t swim_next_deadline (swim_t *self)
{
    uint64_t t = self->next_gossip_at;
    if (self->n_alarms)
        t = min_u64 (t, self->alarms[0].at);
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
    member_t *me = &self->me;
    gl_rec_t rec;
    if (res->state > GL_RES_UNAVAILABLE
    ||  sign_own (self, &rec, GL_REC_RES, me->res_seq + 1, res, now_ms))
        return;
    take_res (me, &rec, now_ms);
    queue_record (self, me, CLASS_RES, &rec);
}

/* Tell a few members at once, and let dissemination tell the rest. */
void swim_leave (swim_t *self, uint64_t now_ms)
{
    member_t *me = &self->me;
    if (me->state == SWIM_LEFT)
        return;
    me->state = SWIM_LEFT;
    me->state_since = now_ms;
    self->probe.active = false;
    gl_rec_t rec;
    if (sign_own (self, &rec, GL_REC_LEAVE, me->incarnation, NULL, now_ms))
        return;                 /* the others will find us dead instead */
    take_record (me, &rec);
    queue_record (self, me, CLASS_MEMBERSHIP, &rec);

    gl_update_t u;
    set_rec_update (&u, &rec);
    tell_many (self, &u);
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
        case SWIM_EV_JOINED:     return "joined";
        case SWIM_EV_ALIVE:      return "alive";
        case SWIM_EV_SUSPECT:    return "suspect";
        case SWIM_EV_DEAD:       return "dead";
        case SWIM_EV_LEFT:       return "left";
        case SWIM_EV_REFUTED:    return "refuted";
        case SWIM_EV_BAD_RECORD: return "bad-record";
        default:                 return "unknown";
    }
}

const char *swim_state_name (int state)
{
    switch (state) {
        case SWIM_ALIVE:   return "alive";
        case SWIM_SUSPECT: return "suspect";
        case SWIM_DEAD:    return "dead";
        case SWIM_LEFT:    return "left";
        default:           return "unknown";
    }
}

static void view_of (const member_t *m, bool is_self, swim_member_t *out)
{
    memset (out, 0, sizeof *out);
    set_str (out->name, sizeof out->name, m->name);
    set_str (out->addr, sizeof out->addr, m->addr ? m->addr : "");
    out->state = m->state;
    out->is_self = is_self;
    out->generation = m->generation;
    out->incarnation = m->incarnation;
    out->state_since_ms = m->state_since;
    out->has_res = m->has_res;
    if (m->has_res) {
        out->res = m->res;
        out->res_seq = m->res_seq;
        out->res_origin_ms = m->res_time;
        out->res_recv_ms = m->res_recv;
    }
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
        view_of (&self->me, true, out);
    else
        view_of (&self->members[i - 1], false, out);
    return true;
}

bool swim_lookup (swim_t *self, const char *name, swim_member_t *out)
{
    if (streq (name, self->me.name)) {
        view_of (&self->me, true, out);
        return true;
    }
    member_t *m = member_find (self, name);
    if (m)
        view_of (m, false, out);
    return m != NULL;
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
