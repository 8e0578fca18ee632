/*  clocks.c -- clock offsets from gossip timestamps (see clocks.h). */
#include "clocks.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t offset_us;
    uint64_t rtt_us;
    uint64_t at_ms;
} sample_t;

typedef struct {
    char node[GL_NAME_MAX + 1];
    sample_t s[CLOCKS_SAMPLES];
    uint32_t n; /* taken, ever; the last min(n, CLOCKS_SAMPLES) are in s */
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
    pending_t pending[CLOCKS_PENDING];
    size_t next; /* the ring's next slot */
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

static peer_t *peer_find (clocks_t *self, const char *node)
{
    for (size_t i = 0; i < self->n; i++)
        if (gl_streq (self->peers[i].node, node))
            return &self->peers[i];
    return NULL;
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
    peer_t *peer = peer_find (self, node);
    if (!peer) {
        if (self->n == self->cap) {
            size_t cap = self->cap ? 2 * self->cap : 16;
            peer_t *grown = realloc (self->peers, cap * sizeof *grown);
            if (!grown)
                return false;
            self->peers = grown;
            self->cap = cap;
        }
        peer = &self->peers[self->n++];
        memset (peer, 0, sizeof *peer);
        gl_strlcpy (peer->node, node, sizeof peer->node);
    }
    sample_t *s = &peer->s[peer->n % CLOCKS_SAMPLES];
    /* in microseconds, so that (t1 + t4) / 2 loses nothing */
    s->offset_us = (int64_t) t3_ms * 1000 - (int64_t) (p->t1_ms + t4_ms) * 500;
    s->rtt_us = (t4_ms - p->t1_ms) * 1000;
    s->at_ms = t4_ms;
    peer->n++;
    return true;
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
}

bool clocks_get (clocks_t *self, const char *node, clocks_est_t *out)
{
    peer_t *peer = peer_find (self, node);
    if (peer)
        estimate (peer, out);
    return peer != NULL;
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
    if (peer)
        *peer = self->peers[--self->n];
}
