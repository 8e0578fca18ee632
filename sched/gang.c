/*  gang.c -- gangs, their elected leaders and the matrix (see gang.h).

    What one peer keeps: the nodes gossip told it of (alive or not, and the
    slots each said it has in its votes), the matrix (matrix.h), and a
    record per gang it hosts or voted about: the home's list of members,
    its own processes, its promise (the highest term and leader it granted
    or saw), and its role in the gang.  Messages go out through a queue
    the caller drains (gang_pop). */
#include "gang.h"
#include "grow.h"
#include "rng.h"
#include "str.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[GL_NAME_MAX + 1];
    bool alive;
    uint32_t cores; /* from its votes; 0: not known */
} gnode_t;

/* A gang this peer hosts, or voted about. */
typedef struct {
    char id[GL_GPID_MAX + 1];
    uint32_t procs; /* our processes of it */
    bool have_members;
    uint64_t members_seq;
    gl_gang_peer_t *members; /* sorted by node */
    uint32_t n_members;
    bool ended, tombstoned;
    /* the promise: we follow nothing lower */
    uint64_t p_term;
    char p_leader[GL_NAME_MAX + 1];
    /* our part */
    int role;      /* gang_role_t */
    uint64_t term; /* the term we stand or lead for */
    uint64_t election_at;
    uint64_t lost_since; /* since when we can follow no leader; 0: we can */
    char (*grants)[GL_NAME_MAX + 1];
    uint32_t n_grants;
    uint64_t version;
    uint64_t next_check, next_refresh;
    bool dirty;        /* the placement must be said again */
    bool placed_once;  /* said at least once in this term */
    uint32_t last_row; /* the row we last said */
    uint64_t touched_ms;
    /* the last decision */
    int decision;
    char why[96];
    bool was_free;
    gl_place_t refused; /* the last order we refused (counted once) */
    uint64_t told_ms;   /* when we last told a stale leader */
} lgang_t;

/* A first-in first-out queue of items of one size (the messages out, the
   events): a ring that doubles when full, so that a burst costs no more
   than its own size and popping never moves the rest. */
typedef struct {
    unsigned char *v;
    size_t n, head, cap;
} ring_t;

struct gang_t {
    gang_config_t cfg;
    char self[GL_NAME_MAX + 1];
    uint32_t cores;
    uint64_t rng;
    uint64_t now;   /* the latest time we were handed */
    gnode_t *nodes; /* sorted by name */
    size_t n_nodes, cap_nodes, n_alive;
    matrix_t *m;
    lgang_t **gangs;
    size_t n_gangs, cap_gangs;
    uint64_t next_gossip, next_sync, next_expire;
    ring_t out; /* of gang_out_t */
    ring_t evs; /* of gang_event_t */
    gang_stats_t st;
};

void gang_config_default (gang_config_t *c)
{
    c->slice_ms = 100;
    c->gossip_ms = 200;
    c->fanout = 3;
    c->retransmit_mult = 4;
    c->retransmit_min = 8;
    c->max_places = 16;
    c->sync_ms = 5000;
    c->election_ms = 1000;
    c->check_ms = 250;
    c->refresh_ms = 10000;
    c->ttl_ms = 35000;
}

/* ---- arrays and rings ---------------------------------------------------------- */

/* The i-th item from the head of q, whose items are size bytes. */
static void *ring_at (ring_t *q, size_t i, size_t size)
{
    return q->v + (q->head + i) % q->cap * size;
}

/* A zeroed slot at the tail of q, or NULL when out of memory (q as it
   was). */
static void *ring_push (ring_t *q, size_t size)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        unsigned char *grown = malloc (cap * size);
        if (!grown)
            return NULL;
        for (size_t i = 0; i < q->n; i++)
            memcpy (grown + i * size, ring_at (q, i, size), size);
        free (q->v);
        q->v = grown;
        q->cap = cap;
        q->head = 0;
    }
    void *slot = ring_at (q, q->n++, size);
    memset (slot, 0, size);
    return slot;
}

/* The head of q into out; false when q is empty. */
static bool ring_pop (ring_t *q, void *out, size_t size)
{
    if (!q->n)
        return false;
    memcpy (out, ring_at (q, 0, size), size);
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return true;
}

/* ---- new, destroy --------------------------------------------------------------- */

gang_t *gang_new (const gang_config_t *config, const char *self_name, uint32_t cores, uint64_t seed)
{
    gang_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    if (!self->cfg.slice_ms)
        self->cfg.slice_ms = 100;
    gl_strlcpy (self->self, self_name, sizeof self->self);
    self->cores = cores ? cores : 1;
    self->rng = seed;
    self->m = matrix_new ();
    if (!self->m) {
        free (self);
        return NULL;
    }
    return self;
}

static void lgang_free (lgang_t *g)
{
    if (g) {
        free (g->members);
        free (g->grants);
        free (g);
    }
}

void gang_destroy (gang_t **self_p)
{
    gang_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_gangs; i++)
        lgang_free (self->gangs[i]);
    free (self->gangs);
    free (self->nodes);
    for (size_t i = 0; i < self->out.n; i++)
        gl_msg_clear (&((gang_out_t *) ring_at (&self->out, i, sizeof (gang_out_t)))->msg);
    free (self->out.v);
    free (self->evs.v);
    matrix_destroy (&self->m);
    free (self);
    *self_p = NULL;
}

/* ---- nodes ---------------------------------------------------------------------- */

static gnode_t *node_find (gang_t *self, const char *name)
{
    size_t lo = 0, hi = self->n_nodes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp (self->nodes[mid].name, name);
        if (!c)
            return &self->nodes[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static gnode_t *node_get (gang_t *self, const char *name)
{
    gnode_t *n = node_find (self, name);
    if (n || !gl_name_valid (name))
        return n;
    if (gl_grow (&self->nodes, &self->cap_nodes, self->n_nodes + 1, sizeof *self->nodes))
        return NULL;
    size_t i = 0;
    while (i < self->n_nodes && strcmp (self->nodes[i].name, name) < 0)
        i++;
    memmove (&self->nodes[i + 1], &self->nodes[i], (self->n_nodes - i) * sizeof self->nodes[0]);
    self->n_nodes++;
    memset (&self->nodes[i], 0, sizeof self->nodes[i]);
    gl_strlcpy (self->nodes[i].name, name, sizeof self->nodes[i].name);
    return &self->nodes[i];
}

static bool alive (gang_t *self, const char *name)
{
    if (gl_streq (name, self->self))
        return true;
    gnode_t *n = node_find (self, name);
    return n && n->alive;
}

void gang_node (gang_t *self, const char *node, bool is_alive)
{
    if (gl_streq (node, self->self))
        return;
    gnode_t *n = node_get (self, node);
    if (!n || n->alive == is_alive)
        return;
    n->alive = is_alive;
    self->n_alive += is_alive ? 1 : (size_t) -1;
}

static uint32_t cores_of (gang_t *self, const char *name)
{
    if (gl_streq (name, self->self))
        return self->cores;
    gnode_t *n = node_find (self, name);
    return n ? n->cores : 0;
}

/* ---- queues --------------------------------------------------------------------- */

static void send_gang (gang_t *self, const char *to, gl_gang_t *g)
{
    gang_out_t *o = ring_push (&self->out, sizeof *o);
    if (!o) {
        gl_gang_clear (g);
        free (g);
        return;
    }
    gl_strlcpy (o->to, to, sizeof o->to);
    o->msg.type = GL_MSG_GANG;
    o->msg.gang = g;
    self->st.msgs_out++;
}

bool gang_pop (gang_t *self, gang_out_t *out)
{
    return ring_pop (&self->out, out, sizeof *out);
}

static gang_event_t *event (gang_t *self, int kind, const char *gang, uint64_t term,
                            const char *leader, uint32_t row, const char *why)
{
    gang_event_t *e = ring_push (&self->evs, sizeof *e);
    if (!e)
        return NULL;
    e->kind = kind;
    gl_strlcpy (e->gang, gang, sizeof e->gang);
    e->term = term;
    gl_strlcpy (e->leader, leader ? leader : "", sizeof e->leader);
    e->row = row;
    gl_strlcpy (e->why, why ? why : "", sizeof e->why);
    return e;
}

bool gang_pop_event (gang_t *self, gang_event_t *ev)
{
    return ring_pop (&self->evs, ev, sizeof *ev);
}

const char *gang_event_name (int kind)
{
    switch (kind) {
        case GANG_EV_ELECTED: return "elected";
        case GANG_EV_DEPOSED: return "deposed";
        case GANG_EV_PLACED: return "placed";
        case GANG_EV_REFUSED: return "refused";
        case GANG_EV_FREE: return "uncoordinated";
        case GANG_EV_COORDINATED: return "coordinated";
        default: return "unknown";
    }
}

/* ---- local gangs ---------------------------------------------------------------- */

static lgang_t *local (gang_t *self, const char *id)
{
    for (size_t i = 0; i < self->n_gangs; i++)
        if (gl_streq (self->gangs[i]->id, id))
            return self->gangs[i];
    return NULL;
}

static lgang_t *local_get (gang_t *self, const char *id)
{
    lgang_t *g = local (self, id);
    if (g || !gl_gpid_valid (id))
        return g;
    if (gl_grow (&self->gangs, &self->cap_gangs, self->n_gangs + 1, sizeof *self->gangs))
        return NULL;
    if (!(g = calloc (1, sizeof *g)))
        return NULL;
    gl_strlcpy (g->id, id, sizeof g->id);
    g->decision = GANG_FREE;
    g->was_free = true;
    g->touched_ms = self->now;
    self->gangs[self->n_gangs++] = g;
    return g;
}

static bool in_list (const gl_gang_peer_t *peers, uint32_t n, const char *node)
{
    for (uint32_t i = 0; i < n; i++)
        if (gl_streq (peers[i].node, node))
            return true;
    return false;
}

static bool member (const lgang_t *g, const char *node)
{
    return in_list (g->members, g->n_members, node);
}

/* (term, leader) of a against b. */
static int order_tl (uint64_t ta, const char *la, uint64_t tb, const char *lb)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp (la, lb);
}

static uint32_t quorum (const lgang_t *g)
{
    return g->n_members / 2 + 1;
}

/* The gang's live placement, or NULL. */
static matrix_rec_t *placement (gang_t *self, const lgang_t *g)
{
    matrix_rec_t *r = matrix_find (self->m, g->id);
    return r && !r->place.ended ? r : NULL;
}

/* Can this member follow the gang's placement: a live leader, still a
   member, with a term no lower than our promise, and not ourselves
   unless we lead? */
static bool can_follow (gang_t *self, const lgang_t *g, const matrix_rec_t *r)
{
    if (!r)
        return false;
    if (gl_streq (r->place.leader, self->self))
        return g->role == GANG_LEADER;
    return alive (self, r->place.leader) && member (g, r->place.leader) &&
           order_tl (r->place.term, r->place.leader, g->p_term, g->p_leader) >= 0;
}

/* Our rank among the members alive in our view, by a hash of (gang,
   node), highest first (ties: the first name): 0 stands first. */
static uint32_t rank_of_self (gang_t *self, const lgang_t *g)
{
    uint64_t base = matrix_hash (0x67616e67ull, g->id), mine = matrix_hash (base, self->self);
    uint32_t rank = 0;
    for (uint32_t i = 0; i < g->n_members; i++) {
        const char *node = g->members[i].node;
        if (gl_streq (node, self->self) || !alive (self, node))
            continue;
        uint64_t h = matrix_hash (base, node);
        rank += h > mine || (h == mine && strcmp (node, self->self) < 0);
    }
    return rank;
}

static void promise (lgang_t *g, uint64_t term, const char *leader)
{
    g->p_term = term;
    gl_strlcpy (g->p_leader, leader, sizeof g->p_leader);
}

static void step_down (gang_t *self, lgang_t *g, const char *why)
{
    if (g->role == GANG_FOLLOWER)
        return;
    g->role = GANG_FOLLOWER;
    g->n_grants = 0;
    event (self, GANG_EV_DEPOSED, g->id, g->p_term, g->p_leader, 0, why);
}

/* We heard of a higher (term, leader) for g: promise it, and stop
   standing or leading for anything lower. */
static void adopt (gang_t *self, lgang_t *g, uint64_t term, const char *leader)
{
    if (order_tl (term, leader, g->p_term, g->p_leader) <= 0)
        return;
    promise (g, term, leader);
    if (g->role != GANG_FOLLOWER && !(gl_streq (leader, self->self) && term == g->term)) {
        char why[96];
        snprintf (why, sizeof why, "term %llu of %s is higher", (unsigned long long) term, leader);
        step_down (self, g, why);
    }
}

/* ---- messages ------------------------------------------------------------------- */

static gl_gang_t *new_msg (uint8_t type, const char *gang)
{
    gl_gang_t *m = calloc (1, sizeof *m);
    if (m) {
        m->type = type;
        if (gang)
            gl_strlcpy (m->gang, gang, sizeof m->gang);
    }
    return m;
}

/* The placements of records recs[0..n) as one message of `type`. */
static gl_gang_t *places_msg (uint8_t type, matrix_rec_t *const *recs, size_t n)
{
    gl_gang_t *m = new_msg (type, NULL);
    if (!m)
        return NULL;
    size_t peers = 0;
    for (size_t i = 0; i < n; i++)
        peers += recs[i]->place.n_peers;
    m->places = n ? malloc (n * sizeof *m->places) : NULL;
    m->peers = peers ? malloc (peers * sizeof *m->peers) : NULL;
    if ((n && !m->places) || (peers && !m->peers)) {
        gl_gang_clear (m);
        free (m);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        m->places[i] = recs[i]->place;
        if (recs[i]->place.n_peers) /* a tombstone has none, and no array */
            memcpy (m->peers + k, recs[i]->peers, recs[i]->place.n_peers * sizeof *m->peers);
        k += recs[i]->place.n_peers;
    }
    m->n_places = (uint32_t) n;
    m->n_peers = (uint32_t) peers;
    return m;
}

static gl_gang_t *copy_msg (const gl_gang_t *src)
{
    gl_gang_t *m = new_msg (src->type, NULL);
    if (!m)
        return NULL;
    *m = *src;
    m->peers = src->n_peers ? malloc (src->n_peers * sizeof *m->peers) : NULL;
    m->places = src->n_places ? malloc (src->n_places * sizeof *m->places) : NULL;
    if ((src->n_peers && !m->peers) || (src->n_places && !m->places)) {
        m->n_peers = m->n_places = 0;
        gl_gang_clear (m);
        free (m);
        return NULL;
    }
    if (src->n_peers)
        memcpy (m->peers, src->peers, src->n_peers * sizeof *m->peers);
    if (src->n_places)
        memcpy (m->places, src->places, src->n_places * sizeof *m->places);
    return m;
}

static uint32_t retransmit (gang_t *self)
{
    uint32_t n = (uint32_t) (self->cfg.retransmit_mult * ceil (log10 ((double) self->n_alive + 2)));
    return n > self->cfg.retransmit_min ? n : self->cfg.retransmit_min;
}

/* Up to k distinct random live peers (not us) into picks, drawn in one
   pass over the nodes (reservoir sampling); how many. */
static size_t random_peers (gang_t *self, size_t k, const char **picks)
{
    size_t seen = 0;
    for (size_t i = 0; i < self->n_nodes; i++) {
        if (!self->nodes[i].alive)
            continue;
        if (seen < k)
            picks[seen] = self->nodes[i].name;
        else {
            uint64_t j = gl_splitmix64 (&self->rng) % (seen + 1);
            if (j < k)
                picks[j] = self->nodes[i].name;
        }
        seen++;
    }
    return seen < k ? seen : k;
}

/* A placement that was news: spread it, and let our gangs hear it. */
static void heard (gang_t *self, matrix_rec_t *r)
{
    r->sends = retransmit (self);
    self->st.news++;
    lgang_t *g = local (self, r->place.gang);
    if (!g)
        return;
    g->touched_ms = self->now;
    if (r->place.ended) {
        g->ended = true;
        step_down (self, g, "the gang ended");
        return;
    }
    adopt (self, g, r->place.term, r->place.leader);
}

static void reply_vote (gang_t *self, const char *to, const lgang_t *g, bool granted, uint64_t term,
                        const char *leader);

/* A leader speaking for itself (from) of a gang of ours under a lower
   (term, leader) than we promised: its word is no order of ours, and it
   is told so (once per election time), so that it steps down.  Its
   renewals come to the members straight, while the new leader's, no
   longer gossiped, may never reach it. */
static void fence (gang_t *self, const char *from, const gl_place_t *p)
{
    lgang_t *g = local (self, p->gang);
    if (!g || p->ended || !gl_streq (from, p->leader) || gl_streq (from, self->self) ||
        order_tl (p->term, p->leader, g->p_term, g->p_leader) >= 0)
        return;
    if (g->told_ms && self->now < g->told_ms + self->cfg.election_ms)
        return;
    g->told_ms = self->now ? self->now : 1;
    reply_vote (self, from, g, false, g->p_term, g->p_leader);
}

/* Merge the placements of a PLACE or SYNC message from `from`. */
static void merge_places (gang_t *self, const char *from, const gl_gang_t *msg)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < msg->n_places; i++) {
        const gl_place_t *p = &msg->places[i];
        if (k + p->n_peers > msg->n_peers)
            return;
        fence (self, from, p);
        int news = matrix_merge (self->m, p, msg->peers + k, self->now);
        matrix_rec_t *r = news > 0 ? matrix_find (self->m, p->gang) : NULL;
        if (r && news == 1)
            heard (self, r);
        else if (r && news == 2) { /* a renewal: nothing to spread */
            lgang_t *g = local (self, p->gang);
            if (g)
                g->touched_ms = self->now;
        }
        k += p->n_peers;
    }
}

/* Our whole matrix, for a push-pull. */
static gl_gang_t *whole (gang_t *self, uint8_t type)
{
    size_t n = matrix_count (self->m);
    if (n > GL_GANG_PLACES_MAX)
        n = GL_GANG_PLACES_MAX;
    matrix_rec_t **recs = malloc ((n ? n : 1) * sizeof *recs);
    if (!recs)
        return NULL;
    for (size_t i = 0; i < n; i++)
        recs[i] = matrix_at (self->m, i);
    gl_gang_t *m = places_msg (type, recs, n);
    free (recs);
    return m;
}

/* ---- leading -------------------------------------------------------------------- */

/* Our placement r of g, straight to the gang's other peers. */
static void tell_members (gang_t *self, const lgang_t *g, matrix_rec_t *r)
{
    uint32_t last = g->n_members; /* the last to send to gets the original */
    for (uint32_t i = 0; i < g->n_members; i++)
        if (!gl_streq (g->members[i].node, self->self))
            last = i;
    gl_gang_t *m = last < g->n_members ? places_msg (GL_GANG_PLACE, &r, 1) : NULL;
    for (uint32_t i = 0; m && i <= last; i++) {
        if (gl_streq (g->members[i].node, self->self))
            continue;
        gl_gang_t *c = i < last ? copy_msg (m) : m;
        if (c)
            send_gang (self, g->members[i].node, c);
    }
}

/* Say a placement of g in `row` on `peers`. */
static void publish (gang_t *self, lgang_t *g, uint32_t row, const gl_gang_peer_t *peers,
                     uint32_t n)
{
    gl_place_t p = { .term = g->term, .version = ++g->version, .row = row, .n_peers = n };
    gl_strlcpy (p.gang, g->id, sizeof p.gang);
    gl_strlcpy (p.leader, self->self, sizeof p.leader);
    int news = matrix_merge (self->m, &p, peers, self->now);
    matrix_rec_t *r = news > 0 ? matrix_find (self->m, g->id) : NULL;
    if (!r)
        return;
    /* News is gossiped to everyone; a renewal is not: the gang's own
       peers hear either from us at once, the rest of the cluster keeps
       it alive by push-pull (sync_ms), well within ttl_ms. */
    if (news == 1)
        r->sends = retransmit (self);
    tell_members (self, g, r);
    if (!g->placed_once || g->last_row != row) {
        self->st.placed++;
        event (self, GANG_EV_PLACED, g->id, g->term, self->self, row, NULL);
    }
    g->placed_once = true;
    g->last_row = row;
}

/* The lowest row where a gang on peers competes with no other gang;
   below `limit` only (UINT32_MAX: any, a new row past the last). */
static uint32_t lowest_fit (gang_t *self, const lgang_t *g, const gl_gang_peer_t *peers, uint32_t n,
                            uint32_t limit)
{
    uint32_t rows[256];
    size_t n_rows = matrix_rows (self->m, rows, 256);
    uint32_t top = n_rows ? rows[n_rows < 256 ? n_rows - 1 : 255] + 1 : 0;
    for (uint32_t r = 0; r <= top && r < limit; r++)
        if (matrix_fits (self->m, g->id, peers, n, r, false))
            return r;
    return limit == UINT32_MAX ? top : UINT32_MAX;
}

/* The leader's duty: the gang's placement says its peers, sits in a row
   where no gang before it competes, as low as one fits, and is renewed. */
static void lead (gang_t *self, lgang_t *g)
{
    if (self->now < g->next_check && !g->dirty && self->now < g->next_refresh)
        return;
    g->next_check = self->now + self->cfg.check_ms;
    gl_gang_peer_t *peers = malloc (g->n_members * sizeof *peers);
    if (!peers)
        return;
    for (uint32_t i = 0; i < g->n_members; i++) {
        peers[i] = g->members[i];
        peers[i].cores = cores_of (self, peers[i].node);
    }
    matrix_rec_t *r = placement (self, g);
    bool ours = r && gl_streq (r->place.leader, self->self) && r->place.term == g->term;
    uint32_t row;
    if (ours && matrix_fits (self->m, g->id, peers, g->n_members, r->place.row, true)) {
        row = r->place.row;
        uint32_t lower = lowest_fit (self, g, peers, g->n_members, row);
        if (lower != UINT32_MAX)
            row = lower;
    }
    else
        row = lowest_fit (self, g, peers, g->n_members, UINT32_MAX);
    bool same = ours && r->place.row == row && r->place.n_peers == g->n_members;
    for (uint32_t i = 0; same && i < g->n_members; i++)
        same = gl_streq (r->peers[i].node, peers[i].node) && r->peers[i].procs == peers[i].procs &&
               r->peers[i].cores == peers[i].cores;
    if (!same || g->dirty || self->now >= g->next_refresh) {
        publish (self, g, row, peers, g->n_members);
        g->next_refresh = self->now + self->cfg.refresh_ms;
    }
    g->dirty = false;
    free (peers);
}

static void win (gang_t *self, lgang_t *g)
{
    /* the leader we replace is told at once: cut off or stopped, it
       hears this first when it is back, and steps down before it says
       anything (our renewals go to the members only, not past it) */
    matrix_rec_t *r = placement (self, g);
    if (r && !gl_streq (r->place.leader, self->self) &&
        order_tl (r->place.term, r->place.leader, g->term, self->self) < 0)
        reply_vote (self, r->place.leader, g, false, g->term, self->self);
    g->role = GANG_LEADER;
    g->version = 0;
    g->placed_once = false;
    g->dirty = true;
    self->st.won++;
    gang_event_t *e = event (self, GANG_EV_ELECTED, g->id, g->term, self->self, 0, NULL);
    if (e)
        e->seq = g->members_seq;
    lead (self, g);
}

static void stand (gang_t *self, lgang_t *g)
{
    matrix_rec_t *r = placement (self, g);
    uint64_t term = g->p_term;
    if (r && r->place.term > term)
        term = r->place.term;
    if (term == UINT64_MAX)
        return;
    g->term = term + 1;
    promise (g, g->term, self->self);
    g->role = GANG_CANDIDATE;
    g->election_at = self->now;
    self->st.elections++;
    free (g->grants);
    g->grants = calloc (g->n_members ? g->n_members : 1, sizeof *g->grants);
    g->n_grants = 0;
    if (g->grants)
        gl_strlcpy (g->grants[g->n_grants++], self->self, sizeof g->grants[0]);
    if (g->n_grants >= quorum (g)) {
        win (self, g);
        return;
    }
    for (uint32_t i = 0; i < g->n_members; i++) {
        if (gl_streq (g->members[i].node, self->self))
            continue;
        gl_gang_t *m = new_msg (GL_GANG_VOTE_REQ, g->id);
        if (!m)
            continue;
        m->term = g->term;
        gl_strlcpy (m->leader, self->self, sizeof m->leader);
        send_gang (self, g->members[i].node, m);
    }
}

/* Everything a member does for a gang on a tick. */
static void maintain (gang_t *self, lgang_t *g)
{
    if (g->ended) {
        /* the home says it is gone: say so for everyone, once */
        matrix_rec_t *r = matrix_find (self->m, g->id);
        if (!g->tombstoned && (!r || !r->place.ended)) {
            gl_place_t p = { .term = UINT64_MAX, .version = 1, .ended = true };
            gl_strlcpy (p.gang, g->id, sizeof p.gang);
            gl_strlcpy (p.leader, self->self, sizeof p.leader);
            if (matrix_merge (self->m, &p, NULL, self->now) == 1 &&
                (r = matrix_find (self->m, g->id)))
                r->sends = retransmit (self);
        }
        g->tombstoned = true;
        step_down (self, g, "the gang ended");
        return;
    }
    if (!g->have_members)
        return;
    if (!member (g, self->self) || g->procs == 0) {
        step_down (self, g, "no longer hosting it");
        return;
    }
    if (g->role == GANG_LEADER) {
        lead (self, g);
        return;
    }
    if (g->role == GANG_CANDIDATE) {
        if (self->now < g->election_at + self->cfg.election_ms)
            return;
        g->role = GANG_FOLLOWER; /* not won in time: look again */
    }
    if (can_follow (self, g, placement (self, g))) {
        g->lost_since = 0;
        return;
    }
    /* The first in rank stands.  The others stand in turn only when the
       gang has had no leader for longer than a placement lives: the
       first may be alive in our view yet never stand (its agent restarted
       before gossip found it dead, and hosts nothing; the home still
       lists it), and no placement would ever come. */
    if (!g->lost_since)
        g->lost_since = self->now ? self->now : 1;
    uint32_t rank = rank_of_self (self, g);
    if (rank == 0 || self->now >= g->lost_since + self->cfg.ttl_ms +
                                      (uint64_t) (rank - 1) * self->cfg.election_ms)
        stand (self, g);
}

/* ---- receiving ------------------------------------------------------------------ */

static void on_members (gang_t *self, const gl_gang_t *msg)
{
    lgang_t *g = local_get (self, msg->gang);
    if (!g || (g->have_members && msg->seq < g->members_seq))
        return;
    gl_gang_peer_t *list = NULL;
    if (msg->n_peers) {
        if (!(list = malloc (msg->n_peers * sizeof *list)))
            return;
        memcpy (list, msg->peers, msg->n_peers * sizeof *list);
        for (uint32_t i = 1; i < msg->n_peers; i++) /* by node, as placements keep them */
            for (uint32_t j = i; j > 0 && strcmp (list[j - 1].node, list[j].node) > 0; j--) {
                gl_gang_peer_t t = list[j];
                list[j] = list[j - 1];
                list[j - 1] = t;
            }
    }
    /* the home says the list again every few seconds: only a change is
       for the leader to place anew (a renewal would go out each time) */
    bool same = g->have_members && g->n_members == msg->n_peers;
    for (uint32_t i = 0; same && i < msg->n_peers; i++)
        same = gl_streq (g->members[i].node, list[i].node) && g->members[i].procs == list[i].procs;
    free (g->members);
    g->members = list;
    g->n_members = msg->n_peers;
    g->have_members = true;
    g->members_seq = msg->seq;
    g->touched_ms = self->now;
    if (!msg->n_peers)
        g->ended = true;
    if (!same)
        g->dirty = true;
}

static void reply_vote (gang_t *self, const char *to, const lgang_t *g, bool granted, uint64_t term,
                        const char *leader)
{
    gl_gang_t *m = new_msg (GL_GANG_VOTE, g->id);
    if (!m)
        return;
    m->term = term ? term : 1;
    gl_strlcpy (m->leader, leader[0] ? leader : to, sizeof m->leader);
    m->granted = granted;
    m->peers = calloc (1, sizeof *m->peers);
    if (m->peers) {
        m->n_peers = 1;
        gl_strlcpy (m->peers[0].node, self->self, sizeof m->peers[0].node);
        m->peers[0].procs = g->procs;
        m->peers[0].cores = self->cores;
    }
    send_gang (self, to, m);
}

static void on_vote_req (gang_t *self, const char *from, const gl_gang_t *msg)
{
    if (!gl_streq (from, msg->leader) || msg->term == 0 || msg->term == UINT64_MAX)
        return;
    lgang_t *g = local_get (self, msg->gang);
    if (!g)
        return;
    g->touched_ms = self->now;
    bool grant = false;
    if (!g->ended && (msg->term > g->p_term ||
                      (msg->term == g->p_term && gl_streq (msg->leader, g->p_leader)))) {
        /* a member that can follow a live leader does not depose it */
        matrix_rec_t *r = placement (self, g);
        bool sticky = member (g, self->self) && can_follow (self, g, r) &&
                      !gl_streq (r->place.leader, msg->leader);
        grant = !sticky;
    }
    if (grant) {
        adopt (self, g, msg->term, msg->leader);
        self->st.votes_granted++;
        reply_vote (self, from, g, true, msg->term, msg->leader);
    }
    else {
        self->st.votes_refused++;
        reply_vote (self, from, g, false, g->p_term, g->p_leader);
    }
}

static void on_vote (gang_t *self, const char *from, const gl_gang_t *msg)
{
    if (msg->n_peers == 1 && gl_streq (msg->peers[0].node, from)) {
        gnode_t *n = node_get (self, from);
        if (n)
            n->cores = msg->peers[0].cores;
    }
    lgang_t *g = local (self, msg->gang);
    if (!g)
        return;
    if (msg->granted && gl_streq (msg->leader, self->self) && msg->term == g->term) {
        if (g->role == GANG_CANDIDATE && member (g, from) && g->grants) {
            for (uint32_t i = 0; i < g->n_grants; i++)
                if (gl_streq (g->grants[i], from))
                    return;
            if (g->n_grants < g->n_members)
                gl_strlcpy (g->grants[g->n_grants++], from, sizeof g->grants[0]);
            if (g->n_grants >= quorum (g))
                win (self, g);
        }
        else if (g->role == GANG_LEADER)
            g->dirty = true; /* its slots may be news */
        return;
    }
    if (!msg->granted)
        adopt (self, g, msg->term, msg->leader);
}

void gang_recv (gang_t *self, const char *from, const gl_gang_t *msg, uint64_t now_ms)
{
    self->now = now_ms;
    switch (msg->type) {
        case GL_GANG_MEMBERS: on_members (self, msg); break;
        case GL_GANG_VOTE_REQ: on_vote_req (self, from, msg); break;
        case GL_GANG_VOTE: on_vote (self, from, msg); break;
        case GL_GANG_PLACE: merge_places (self, from, msg); break;
        case GL_GANG_SYNC_REQ: {
            merge_places (self, from, msg);
            gl_gang_t *m = whole (self, GL_GANG_SYNC_RESP);
            if (m)
                send_gang (self, from, m);
            break;
        }
        case GL_GANG_SYNC_RESP: merge_places (self, from, msg); break;
        default: break;
    }
}

void gang_procs (gang_t *self, const char *gang, int delta, uint64_t now_ms)
{
    if (now_ms)
        self->now = now_ms;
    lgang_t *g = local_get (self, gang);
    if (!g)
        return;
    if (delta < 0 && g->procs < (uint32_t) -delta)
        g->procs = 0;
    else
        g->procs += (uint32_t) delta;
    g->touched_ms = now_ms;
    g->dirty = true;
}

/* ---- timers --------------------------------------------------------------------- */

static int by_sends (const void *a, const void *b)
{
    const matrix_rec_t *x = *(matrix_rec_t *const *) a, *y = *(matrix_rec_t *const *) b;
    if (x->sends != y->sends)
        return x->sends < y->sends ? 1 : -1;
    return strcmp (x->place.gang, y->place.gang);
}

/* News to `fanout` random peers: the placements with the most sends left. */
static void gossip (gang_t *self)
{
    size_t n = matrix_count (self->m), k = 0;
    matrix_rec_t **recs = malloc ((n ? n : 1) * sizeof *recs);
    if (!recs)
        return;
    for (size_t i = 0; i < n; i++)
        if (matrix_at (self->m, i)->sends)
            recs[k++] = matrix_at (self->m, i);
    if (k) {
        qsort (recs, k, sizeof *recs, by_sends);
        if (k > self->cfg.max_places)
            k = self->cfg.max_places;
        const char *picks[16];
        size_t fan = self->cfg.fanout < 16 ? self->cfg.fanout : 16;
        size_t got = random_peers (self, fan, picks);
        gl_gang_t *m = got ? places_msg (GL_GANG_PLACE, recs, k) : NULL;
        for (size_t i = 0; m && i < got; i++) {
            gl_gang_t *c = i + 1 < got ? copy_msg (m) : m;
            if (c)
                send_gang (self, picks[i], c);
        }
        /* sends counts messages, as memberlist's retransmit limit does,
           not rounds: fanout times fewer, and still past every peer
           with a margin (each that hears forwards it as many times) */
        uint32_t spent = got ? (uint32_t) got : 1;
        for (size_t i = 0; i < k; i++)
            recs[i]->sends = recs[i]->sends > spent ? recs[i]->sends - spent : 0;
    }
    free (recs);
}

static bool news_pending (gang_t *self)
{
    for (size_t i = 0; i < matrix_count (self->m); i++)
        if (matrix_at (self->m, i)->sends)
            return true;
    return false;
}

void gang_tick (gang_t *self, uint64_t now_ms)
{
    self->now = now_ms;
    for (size_t i = 0; i < self->n_gangs; i++)
        maintain (self, self->gangs[i]);
    /* forget gangs we neither host nor lead, once quiet for a while */
    for (size_t i = 0; i < self->n_gangs;) {
        lgang_t *g = self->gangs[i];
        if (g->procs == 0 && g->role == GANG_FOLLOWER &&
            (g->ended || !g->have_members || !member (g, self->self)) &&
            now_ms >= g->touched_ms + self->cfg.ttl_ms) {
            lgang_free (g);
            self->gangs[i] = self->gangs[--self->n_gangs];
            continue;
        }
        i++;
    }
    if (now_ms >= self->next_gossip) {
        if (news_pending (self))
            gossip (self);
        self->next_gossip = now_ms + self->cfg.gossip_ms;
    }
    if (now_ms >= self->next_sync) {
        const char *pick;
        if (self->next_sync && matrix_count (self->m) && random_peers (self, 1, &pick)) {
            gl_gang_t *m = whole (self, GL_GANG_SYNC_REQ);
            if (m)
                send_gang (self, pick, m);
        }
        self->next_sync = now_ms + self->cfg.sync_ms;
    }
    if (now_ms >= self->next_expire) {
        matrix_expire (self->m, now_ms, self->cfg.ttl_ms);
        self->next_expire = now_ms + 1000;
    }
}

uint64_t gang_next_deadline (gang_t *self)
{
    uint64_t next = self->next_sync;
    if (news_pending (self) && self->next_gossip < next)
        next = self->next_gossip;
    if (matrix_count (self->m) && self->next_expire < next)
        next = self->next_expire;
    if (self->n_gangs) {
        uint64_t check = self->now + self->cfg.check_ms;
        if (check < next)
            next = check;
    }
    return next;
}

/* ---- the schedule --------------------------------------------------------------- */

uint64_t gang_slice_of (const gang_t *self, uint64_t wall_ms)
{
    return wall_ms / self->cfg.slice_ms;
}

uint32_t gang_slice_ms (const gang_t *self)
{
    return self->cfg.slice_ms;
}

uint32_t gang_slice_row (gang_t *self, uint64_t slice, size_t *n_rows)
{
    const bool *admitted;
    if (n_rows)
        *n_rows = matrix_rows (self->m, NULL, 0);
    return matrix_slice (self->m, slice, &admitted);
}

static int decided (gang_t *self, lgang_t *g, int decision, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int decided (gang_t *self, lgang_t *g, int decision, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (g->why, sizeof g->why, fmt, ap);
    va_end (ap);
    g->decision = decision;
    bool is_free = decision == GANG_FREE;
    if (is_free != g->was_free && g->procs) {
        matrix_rec_t *r = placement (self, g);
        if (is_free)
            event (self, GANG_EV_FREE, g->id, 0, NULL, 0, g->why);
        else if (r)
            event (self, GANG_EV_COORDINATED, g->id, r->place.term, r->place.leader, r->place.row,
                   NULL);
    }
    g->was_free = is_free;
    return decision;
}

int gang_decide (gang_t *self, const char *gang, uint64_t slice)
{
    lgang_t *g = local (self, gang);
    if (!g)
        return GANG_FREE;
    if (!g->procs)
        return decided (self, g, GANG_FREE, "no processes here");
    if (g->ended)
        return decided (self, g, GANG_FREE, "ended");
    matrix_rec_t *r = placement (self, g);
    if (!r)
        return decided (self, g, GANG_FREE, "no placement yet");
    if (!in_list (r->peers, r->place.n_peers, self->self))
        return decided (self, g, GANG_FREE, "not in its placement yet");
    if (order_tl (r->place.term, r->place.leader, g->p_term, g->p_leader) < 0) {
        /* fencing: an order of a lower term than we promised is not obeyed;
           the stale leader is told, once per election time */
        if (matrix_order (&r->place, &g->refused)) {
            g->refused = r->place;
            self->st.refused++;
            event (self, GANG_EV_REFUSED, g->id, r->place.term, r->place.leader, r->place.row,
                   NULL);
        }
        if (!gl_streq (r->place.leader, self->self) &&
            (!g->told_ms || self->now >= g->told_ms + self->cfg.election_ms)) {
            g->told_ms = self->now ? self->now : 1;
            reply_vote (self, r->place.leader, g, false, g->p_term, g->p_leader);
        }
        return decided (self, g, GANG_FREE, "refused term %llu of %s: promised %llu of %s",
                        (unsigned long long) r->place.term, r->place.leader,
                        (unsigned long long) g->p_term, g->p_leader);
    }
    if (!alive (self, r->place.leader))
        return decided (self, g, GANG_FREE, "leader %s lost", r->place.leader);
    const bool *admitted;
    uint32_t row = matrix_slice (self->m, slice, &admitted);
    size_t idx = (size_t) (r - matrix_at (self->m, 0));
    if (!admitted || row == UINT32_MAX)
        return decided (self, g, GANG_FREE, "no rows");
    if (!admitted[idx])
        return decided (self, g, GANG_STOP, "row %u's turn", row);
    if (row == r->place.row)
        return decided (self, g, GANG_RUN, "row %u", row);
    return decided (self, g, GANG_RUN, "fills row %u", row);
}

/* ---- views ---------------------------------------------------------------------- */

size_t gang_local_count (const gang_t *self)
{
    return self->n_gangs;
}

static void info_of (gang_t *self, const lgang_t *g, gang_info_t *out)
{
    memset (out, 0, sizeof *out);
    gl_strlcpy (out->gang, g->id, sizeof out->gang);
    out->procs = g->procs;
    out->n_members = g->n_members;
    out->member = member (g, self->self);
    out->ended = g->ended;
    out->role = g->role;
    out->promised_term = g->p_term;
    gl_strlcpy (out->promised_leader, g->p_leader, sizeof out->promised_leader);
    const matrix_rec_t *r = placement (self, g);
    if (r) {
        out->placed = true;
        out->term = r->place.term;
        gl_strlcpy (out->leader, r->place.leader, sizeof out->leader);
        out->row = r->place.row;
    }
    out->decision = g->decision;
    gl_strlcpy (out->why, g->why, sizeof out->why);
}

bool gang_local_at (gang_t *self, size_t i, gang_info_t *out)
{
    if (i >= self->n_gangs)
        return false;
    info_of (self, self->gangs[i], out);
    return true;
}

bool gang_local_find (gang_t *self, const char *gang, gang_info_t *out)
{
    lgang_t *g = local (self, gang);
    if (g)
        info_of (self, g, out);
    return g != NULL;
}

matrix_t *gang_matrix (gang_t *self)
{
    return self->m;
}

void gang_stats (const gang_t *self, gang_stats_t *out)
{
    *out = self->st;
}
