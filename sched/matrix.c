/*  matrix.c -- the coscheduling matrix as one peer knows it (see matrix.h).

    A sorted array of records, one per gang id: a cluster runs tens of
    gangs, not thousands, and the schedule walks them all anyway.  The
    schedule of a row is computed once per change of the table and kept.

    A placement that expired is remembered, apart from the table, for
    another ttl: peers expire a placement at different times (each from
    when it last heard news of it), and one that has not yet would hand it
    back in a push-pull as news, fresh for another ttl, and so on: the
    placement of a leader long gone would live for ever, and no member
    would stand while it does.  A leader renews with a higher version, so
    only the very placement that expired is refused.  Tombstones are
    remembered so too: one handed back would be news again, gossiped
    by every peer, and live for ever the same way. */
#include "matrix.h"
#include "grow.h"
#include "rng.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_ROWS 64

typedef struct {
    gl_place_t place;
    uint64_t until_ms;
} gone_t;

struct matrix_t {
    matrix_rec_t *recs;
    size_t n, cap;
    uint64_t epoch;
    /* The schedules of the rows, for cached_epoch: slot k holds row index
       slot_row[k] (n entries from admitted + k * n), up to CACHE_ROWS
       rows.  Slices take the rows in turn, so a cache of one row would be
       computed again at every slice, at the slice's switch. */
    bool *admitted;
    size_t admitted_cap;
    size_t slot_row[CACHE_ROWS];
    bool slot_valid[CACHE_ROWS];
    uint64_t cached_epoch;
    size_t cached_n;
    uint32_t *rows; /* the rows in use, for cached_epoch */
    size_t n_rows;
    /* admit's index of the peers of the gangs admitted so far, by node:
       open addressing, a power of two of slots */
    const gl_gang_peer_t **taken;
    uint64_t *taken_h;
    size_t taken_cap;
    gone_t *gone; /* placements that expired, each remembered until until_ms */
    size_t n_gone, cap_gone;
};

matrix_t *matrix_new (void)
{
    matrix_t *self = calloc (1, sizeof *self);
    if (self)
        self->epoch = 1;
    return self;
}

void matrix_destroy (matrix_t **self_p)
{
    matrix_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++)
        free (self->recs[i].peers);
    free (self->recs);
    free (self->admitted);
    free (self->rows);
    free (self->taken);
    free (self->taken_h);
    free (self->gone);
    free (self);
    *self_p = NULL;
}

int matrix_order (const gl_place_t *a, const gl_place_t *b)
{
    if (a->term != b->term)
        return a->term < b->term ? -1 : 1;
    int c = strcmp (a->leader, b->leader);
    if (c)
        return c;
    if (a->version != b->version)
        return a->version < b->version ? -1 : 1;
    return 0;
}

static int by_node (const void *a, const void *b)
{
    return strcmp (((const gl_gang_peer_t *) a)->node, ((const gl_gang_peer_t *) b)->node);
}

/* The index of gang's record, or where it would go (*found false). */
static size_t locate (const matrix_t *self, const char *gang, bool *found)
{
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp (self->recs[mid].place.gang, gang);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

matrix_rec_t *matrix_find (matrix_t *self, const char *gang)
{
    bool found;
    size_t i = locate (self, gang, &found);
    return found ? &self->recs[i] : NULL;
}

size_t matrix_count (const matrix_t *self)
{
    return self->n;
}

matrix_rec_t *matrix_at (matrix_t *self, size_t i)
{
    return i < self->n ? &self->recs[i] : NULL;
}

uint64_t matrix_epoch (const matrix_t *self)
{
    return self->epoch;
}

/* Does the new placement (peers sorted by node) change what the schedule
   is computed from? */
static bool shape_differs (const matrix_rec_t *r, const gl_place_t *p, const gl_gang_peer_t *peers)
{
    if (r->place.ended != p->ended || r->place.row != p->row || r->place.n_peers != p->n_peers)
        return true;
    for (uint32_t i = 0; i < p->n_peers; i++)
        if (strcmp (r->peers[i].node, peers[i].node) || r->peers[i].procs != peers[i].procs ||
            r->peers[i].cores != peers[i].cores)
            return true;
    return false;
}

int matrix_merge (matrix_t *self, const gl_place_t *place, const gl_gang_peer_t *peers,
                  uint64_t now_ms)
{
    bool found;
    size_t i = locate (self, place->gang, &found);
    /* an ended gang stays ended: another member's tombstone is none of
       our news (each member told of the end by the home says it) */
    if (found && (matrix_order (place, &self->recs[i].place) <= 0 ||
                  (place->ended && self->recs[i].place.ended)))
        return 0;
    for (size_t k = 0; !found && k < self->n_gone; k++)
        if (gl_streq (self->gone[k].place.gang, place->gang) &&
            (matrix_order (place, &self->gone[k].place) <= 0 ||
             (place->ended && self->gone[k].place.ended)))
            return 0; /* it expired here: not news, whoever still has it */
    gl_gang_peer_t *copy = NULL;
    if (place->n_peers) {
        if (!(copy = malloc (place->n_peers * sizeof *copy)))
            return -1;
        memcpy (copy, peers, place->n_peers * sizeof *copy);
        qsort (copy, place->n_peers, sizeof *copy, by_node);
    }
    if (found && place->term == self->recs[i].place.term &&
        gl_streq (place->leader, self->recs[i].place.leader) &&
        !shape_differs (&self->recs[i], place, copy)) {
        /* the same leader's word again, changing nothing: the placement
           lives on, and is no news to spread (what was left to send of it
           still goes) */
        free (copy);
        self->recs[i].place.version = place->version;
        self->recs[i].heard_ms = now_ms;
        return 2;
    }
    if (!found) {
        if (gl_grow (&self->recs, &self->cap, self->n + 1, sizeof *self->recs)) {
            free (copy);
            return -1;
        }
        memmove (&self->recs[i + 1], &self->recs[i], (self->n - i) * sizeof self->recs[0]);
        self->n++;
        memset (&self->recs[i], 0, sizeof self->recs[i]);
        self->epoch++; /* the indices moved */
    }
    else if (shape_differs (&self->recs[i], place, copy))
        self->epoch++;
    matrix_rec_t *r = &self->recs[i];
    free (r->peers);
    r->place = *place;
    r->peers = copy;
    r->heard_ms = now_ms;
    r->sends = 0;
    return 1;
}

/* Remember that r's placement expired, until until_ms. */
static void forget (matrix_t *self, const matrix_rec_t *r, uint64_t until_ms)
{
    for (size_t k = 0; k < self->n_gone; k++)
        if (gl_streq (self->gone[k].place.gang, r->place.gang)) {
            self->gone[k].place = r->place;
            self->gone[k].until_ms = until_ms;
            return;
        }
    if (gl_grow (&self->gone, &self->cap_gone, self->n_gone + 1, sizeof *self->gone))
        return; /* then it may come back once: it expires again */
    self->gone[self->n_gone++] = (gone_t){ r->place, until_ms };
}

size_t matrix_expire (matrix_t *self, uint64_t now_ms, uint64_t ttl_ms)
{
    size_t gone = 0, k = 0;
    for (size_t i = 0; i < self->n_gone; i++)
        if (now_ms < self->gone[i].until_ms)
            self->gone[k++] = self->gone[i];
    self->n_gone = k;
    k = 0;
    for (size_t i = 0; i < self->n; i++) {
        matrix_rec_t *r = &self->recs[i];
        uint64_t keep = r->place.ended ? 2 * ttl_ms : ttl_ms;
        if (now_ms >= r->heard_ms + keep) {
            forget (self, r, now_ms + ttl_ms);
            self->epoch++; /* the indices move */
            free (r->peers);
            gone++;
            continue;
        }
        self->recs[k++] = *r;
    }
    self->n = k;
    return gone;
}

/* ---- digests -------------------------------------------------------------------- */

static uint64_t mix (uint64_t h, uint64_t v)
{
    uint64_t s = h ^ v;
    return gl_splitmix64 (&s);
}

uint64_t matrix_hash (uint64_t h, const char *s)
{
    /* FNV-1a over the bytes, then mixed in: cheap and good enough for
       telling matrices apart */
    uint64_t f = 0xcbf29ce484222325ull;
    for (; *s; s++)
        f = (f ^ (uint8_t) *s) * 0x100000001b3ull;
    return mix (h, f);
}

uint64_t matrix_digest (const matrix_t *self)
{
    uint64_t h = 0x6d6174726978ull;
    for (size_t i = 0; i < self->n; i++) {
        const matrix_rec_t *r = &self->recs[i];
        if (r->place.ended)
            continue;
        h = matrix_hash (h, r->place.gang);
        h = mix (h, r->place.term);
        h = matrix_hash (h, r->place.leader); /* not the version: renewals differ in it */
        h = mix (h, r->place.row);
        for (uint32_t k = 0; k < r->place.n_peers; k++) {
            h = matrix_hash (h, r->peers[k].node);
            h = mix (h, (uint64_t) r->peers[k].procs << 32 | r->peers[k].cores);
        }
    }
    return h;
}

/* ---- the schedule --------------------------------------------------------------- */

static uint32_t slots_of (const gl_gang_peer_t *p)
{
    return p->cores ? p->cores : 1;
}

bool matrix_conflict (const gl_gang_peer_t *a, size_t na, const gl_gang_peer_t *b, size_t nb)
{
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (gl_streq (a[i].node, b[j].node)) {
                uint32_t slots =
                    slots_of (&a[i]) < slots_of (&b[j]) ? slots_of (&a[i]) : slots_of (&b[j]);
                if ((uint64_t) a[i].procs + b[j].procs > slots)
                    return true;
            }
    return false;
}

static int by_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

size_t matrix_rows (matrix_t *self, uint32_t *rows, size_t max)
{
    /* few gangs: collect, sort, and drop repeats */
    uint32_t *all = malloc ((self->n ? self->n : 1) * sizeof *all);
    if (!all)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++)
        if (!self->recs[i].place.ended)
            all[n++] = self->recs[i].place.row;
    qsort (all, n, sizeof *all, by_u32);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || all[i] != all[i - 1]) {
            if (distinct < max)
                rows[distinct] = all[i];
            distinct++;
        }
    free (all);
    return distinct;
}

/* Does a gang on peers compete with any admitted so far?  Only the
   admitted gangs' peers on its own nodes are looked at: a walk over
   every pair of gangs would cost, at each slice's switch, time
   quadratic in the gangs. */
static bool competes (const matrix_t *self, const gl_gang_peer_t *peers, uint32_t n)
{
    size_t mask = self->taken_cap - 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h = matrix_hash (0, peers[i].node);
        for (size_t k = h & mask; self->taken[k]; k = (k + 1) & mask) {
            const gl_gang_peer_t *q = self->taken[k];
            if (self->taken_h[k] != h || !gl_streq (q->node, peers[i].node))
                continue;
            uint32_t slots =
                slots_of (&peers[i]) < slots_of (q) ? slots_of (&peers[i]) : slots_of (q);
            if ((uint64_t) peers[i].procs + q->procs > slots)
                return true;
        }
    }
    return false;
}

static void take (matrix_t *self, const gl_gang_peer_t *peers, uint32_t n)
{
    size_t mask = self->taken_cap - 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h = matrix_hash (0, peers[i].node);
        size_t k = h & mask;
        while (self->taken[k])
            k = (k + 1) & mask;
        self->taken[k] = &peers[i];
        self->taken_h[k] = h;
    }
}

/* Admit into adm, in turn, the gangs of the rows from index `cur` on
   (wrapping), each row's in id order, each when it fits beside those
   admitted (no admitted gang competes with it on a peer they share).
   -1 when memory is short. */
static int admit (matrix_t *self, const uint32_t *rows, size_t n_rows, size_t cur, bool *adm)
{
    size_t peers = 0;
    for (size_t i = 0; i < self->n; i++)
        peers += self->recs[i].place.n_peers;
    size_t cap = 16;
    while (cap < 2 * peers)
        cap *= 2;
    if (self->taken_cap < cap) {
        const gl_gang_peer_t **t = realloc (self->taken, cap * sizeof *t);
        if (t)
            self->taken = t;
        uint64_t *th = realloc (self->taken_h, cap * sizeof *th);
        if (th)
            self->taken_h = th;
        if (!t || !th)
            return -1;
        self->taken_cap = cap;
    }
    memset (self->taken, 0, self->taken_cap * sizeof *self->taken);
    memset (adm, 0, self->n * sizeof *adm);
    for (size_t d = 0; d < n_rows; d++) {
        uint32_t row = rows[(cur + d) % n_rows];
        for (size_t i = 0; i < self->n; i++) {
            const matrix_rec_t *r = &self->recs[i];
            if (r->place.ended || r->place.row != row)
                continue;
            adm[i] = !competes (self, r->peers, r->place.n_peers);
            if (adm[i])
                take (self, r->peers, r->place.n_peers);
        }
    }
    return 0;
}

uint32_t matrix_slice (matrix_t *self, uint64_t slice, const bool **admitted)
{
    /* room for every slot's schedule; a change of the table empties them */
    size_t need = (self->n ? self->n : 1) * CACHE_ROWS;
    if (self->admitted_cap < need) {
        bool *grown = realloc (self->admitted, need * sizeof *grown);
        if (!grown) {
            *admitted = NULL;
            return UINT32_MAX;
        }
        self->admitted = grown;
        self->admitted_cap = need;
        self->cached_n = SIZE_MAX;
    }
    if (self->cached_epoch != self->epoch || self->cached_n != self->n) {
        size_t n_rows = matrix_rows (self, NULL, 0);
        uint32_t *rows = n_rows ? malloc (n_rows * sizeof *rows) : NULL;
        if (n_rows && !rows) {
            *admitted = NULL;
            return UINT32_MAX;
        }
        matrix_rows (self, rows, n_rows);
        free (self->rows);
        self->rows = rows;
        self->n_rows = n_rows;
        memset (self->slot_valid, 0, sizeof self->slot_valid);
        self->cached_epoch = self->epoch;
        self->cached_n = self->n;
    }
    *admitted = self->admitted;
    const uint32_t *rows = self->rows;
    size_t n_rows = self->n_rows;
    if (n_rows == 0) {
        memset (self->admitted, 0, (self->n ? self->n : 1) * sizeof *self->admitted);
        return UINT32_MAX;
    }
    size_t cur = (size_t) (slice % n_rows), slot = cur % CACHE_ROWS;
    uint32_t row = rows[cur];
    bool *adm = self->admitted + slot * self->n;
    if (!self->slot_valid[slot] || self->slot_row[slot] != cur) {
        if (admit (self, rows, n_rows, cur, adm)) {
            *admitted = NULL;
            return UINT32_MAX;
        }
        self->slot_valid[slot] = true;
        self->slot_row[slot] = cur;
    }
    *admitted = adm;
    return row;
}

bool matrix_fits (matrix_t *self, const char *gang, const gl_gang_peer_t *peers, size_t n,
                  uint32_t row, bool before_only)
{
    for (size_t i = 0; i < self->n; i++) {
        const matrix_rec_t *r = &self->recs[i];
        if (r->place.ended || r->place.row != row || gl_streq (r->place.gang, gang))
            continue;
        if (before_only && strcmp (r->place.gang, gang) > 0)
            continue;
        if (matrix_conflict (peers, n, r->peers, r->place.n_peers))
            return false;
    }
    return true;
}
