/*  clocks.c -- clock offsets from gossip timestamps (see clocks.h). */
#include "clocks.h"
#include "grow.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t offset_us;
    uint64_t rtt_us;
    uint64_t at_ms;
} sample_t;

#define ONEWAY_WINDOW_MS 10000 /* one-way: the best of this window and the last */

typedef struct {
    char node[GL_NAME_MAX + 1];
    sample_t s[CLOCKS_SAMPLES];
    uint32_t n; /* taken, ever; the last min(n, CLOCKS_SAMPLES) are in s */
    /* one-way samples: the largest (sent - arrived) of this window and the last */
    uint64_t ow_start_ms, ow_at_ms; /* 0: none yet */
    int64_t ow_best_us, ow_last_us;
    bool ow_has_last;
    int64_t shown_ms; /* the offset counted in `changes` last, in ms */
} peer_t;

typedef struct {
    char node[GL_NAME_MAX + 1];
    uint32_t seq;
    uint64_t t1_ms;
    bool used;
} pending_t;

struct clocks_t {
    peer_t *peers;
    size_t n, cap;
    uint32_t *index;  /* open addressing by the name's hash: a peer's place + 1; 0 free */
    size_t index_cap; /* a power of two, at least twice n */
    pending_t pending[CLOCKS_PENDING];
    size_t next;      /* the ring's next slot */
    uint64_t changes; /* see clocks_changes */
};

clocks_t *clocks_new (void)
{
    return calloc (1, sizeof (clocks_t));
}

void clocks_destroy (clocks_t **self_p)
{
    clocks_t *self = *self_p;
    if (self) {
        free (self->peers);
        free (self->index);
        free (self);
        *self_p = NULL;
    }
}

void clocks_sent (clocks_t *self, const char *node, uint32_t probe_seq, uint64_t t1_ms)
{
    pending_t *p = &self->pending[self->next];
    self->next = (self->next + 1) % CLOCKS_PENDING;
    gl_strlcpy (p->node, node, sizeof p->node);
    p->seq = probe_seq;
    p->t1_ms = t1_ms;
    p->used = true;
}

static size_t index_home (const clocks_t *self, const char *node)
{
    return (size_t) gl_fnv1a (node, strlen (node)) & (self->index_cap - 1);
}

static void index_build (clocks_t *self)
{
    memset (self->index, 0, self->index_cap * sizeof *self->index);
    for (size_t p = 0; p < self->n; p++) {
        size_t i = index_home (self, self->peers[p].node);
        while (self->index[i])
            i = (i + 1) & (self->index_cap - 1);
        self->index[i] = (uint32_t) p + 1;
    }
}

static peer_t *peer_find (clocks_t *self, const char *node)
{
    if (!self->index_cap)
        return NULL;
    for (size_t i = index_home (self, node); self->index[i]; i = (i + 1) & (self->index_cap - 1))
        if (gl_streq (self->peers[self->index[i] - 1].node, node))
            return &self->peers[self->index[i] - 1];
    return NULL;
}

/* node's entry, made when it has none.  NULL: out of memory. */
static peer_t *peer_get (clocks_t *self, const char *node)
{
    peer_t *peer = peer_find (self, node);
    if (peer)
        return peer;
    if (gl_grow (&self->peers, &self->cap, self->n + 1, sizeof *self->peers))
        return NULL;
    if (2 * (self->n + 1) > self->index_cap) {
        size_t cap = self->index_cap ? 2 * self->index_cap : 32;
        uint32_t *grown = malloc (cap * sizeof *grown);
        if (!grown)
            return NULL;
        free (self->index);
        self->index = grown;
        self->index_cap = cap;
    }
    peer = &self->peers[self->n++];
    memset (peer, 0, sizeof *peer);
    gl_strlcpy (peer->node, node, sizeof peer->node);
    index_build (self); /* a new member: rare beside the packets that look one up */
    return peer;
}

static void estimate (const peer_t *peer, clocks_est_t *out);

/* After a sample: count a change when the offset moved by CLOCKS_STEP_MS
   or more since the last one counted. */
static void noted (clocks_t *self, peer_t *peer)
{
    clocks_est_t e;
    estimate (peer, &e);
    int64_t ms = clocks_ms (e.offset_us);
    if (ms - peer->shown_ms >= CLOCKS_STEP_MS || peer->shown_ms - ms >= CLOCKS_STEP_MS) {
        peer->shown_ms = ms;
        self->changes++;
    }
}

int64_t clocks_ms (int64_t offset_us)
{
    return offset_us >= 0 ? (offset_us + 500) / 1000 : -((-offset_us + 500) / 1000);
}

bool clocks_acked (clocks_t *self, const char *node, uint32_t probe_seq, uint64_t t3_ms,
                   uint64_t t4_ms)
{
    pending_t *p = NULL;
    for (size_t i = 0; i < CLOCKS_PENDING && !p; i++)
        if (self->pending[i].used && self->pending[i].seq == probe_seq &&
            gl_streq (self->pending[i].node, node))
            p = &self->pending[i];
    if (!p || t4_ms < p->t1_ms)
        return false;
    p->used = false; /* one sample per probe: a repeated ACK says nothing new */
    peer_t *peer = peer_get (self, node);
    if (!peer)
        return false;
    sample_t *s = &peer->s[peer->n % CLOCKS_SAMPLES];
    /* in microseconds, so that (t1 + t4) / 2 loses nothing */
    s->offset_us = (int64_t) t3_ms * 1000 - (int64_t) (p->t1_ms + t4_ms) * 500;
    s->rtt_us = (t4_ms - p->t1_ms) * 1000;
    s->at_ms = t4_ms;
    peer->n++;
    noted (self, peer);
    return true;
}

void clocks_heard (clocks_t *self, const char *node, uint64_t t_sent_ms, uint64_t t_arrived_ms)
{
    peer_t *peer = t_sent_ms ? peer_get (self, node) : NULL;
    if (!peer)
        return;
    int64_t sample = ((int64_t) t_sent_ms - (int64_t) t_arrived_ms) * 1000;
    if (!peer->ow_start_ms || t_arrived_ms - peer->ow_start_ms >= ONEWAY_WINDOW_MS ||
        t_arrived_ms < peer->ow_start_ms) {
        peer->ow_has_last = peer->ow_start_ms != 0;
        peer->ow_last_us = peer->ow_best_us;
        peer->ow_start_ms = t_arrived_ms;
        peer->ow_best_us = sample;
    }
    else if (sample > peer->ow_best_us)
        peer->ow_best_us = sample;
    peer->ow_at_ms = t_arrived_ms;
    noted (self, peer);
}

static void estimate (const peer_t *peer, clocks_est_t *out)
{
    memset (out, 0, sizeof *out);
    gl_strlcpy (out->node, peer->node, sizeof out->node);
    out->samples = peer->n;
    uint32_t kept = peer->n < CLOCKS_SAMPLES ? peer->n : CLOCKS_SAMPLES;
    const sample_t *best = NULL;
    for (uint32_t i = 0; i < kept; i++) {
        const sample_t *s = &peer->s[i];
        /* the shortest round trip; of equals, the latest */
        if (!best || s->rtt_us < best->rtt_us ||
            (s->rtt_us == best->rtt_us && s->at_ms > best->at_ms))
            best = s;
    }
    if (best) {
        out->offset_us = best->offset_us;
        out->rtt_us = best->rtt_us;
        out->at_ms = best->at_ms;
    }
    else if (peer->ow_start_ms) {
        bool last = peer->ow_has_last && peer->ow_last_us > peer->ow_best_us;
        out->offset_us = last ? peer->ow_last_us : peer->ow_best_us;
        out->at_ms = peer->ow_at_ms;
    }
}

bool clocks_get (clocks_t *self, const char *node, clocks_est_t *out)
{
    peer_t *peer = peer_find (self, node);
    if (peer)
        estimate (peer, out);
    return peer != NULL;
}

uint64_t clocks_changes (const clocks_t *self)
{
    return self->changes;
}

size_t clocks_count (const clocks_t *self)
{
    return self->n;
}

bool clocks_at (clocks_t *self, size_t i, clocks_est_t *out)
{
    if (i >= self->n)
        return false;
    estimate (&self->peers[i], out);
    return true;
}

void clocks_forget (clocks_t *self, const char *node)
{
    peer_t *peer = peer_find (self, node);
    if (peer) {
        *peer = self->peers[--self->n];
        index_build (self);
        self->changes++;
    }
}
