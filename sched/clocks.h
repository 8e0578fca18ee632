/*  clocks.h -- how far off each peer's clock is, from gossip timestamps.

    Coscheduling switches rows at wall-clock slice boundaries, so every
    peer's clock must agree with the others' to a fraction of a slice.
    glunix does not set clocks (NTP does); it measures them, so that
    glpeer status can say which peer is off, and by how much.

    The measure is NTP's on-wire method applied to gossip's own probes:
    t1, our wall clock when a PING leaves for a peer; t3, the peer's wall
    clock when it sealed its ACK (the envelope's timestamp); t4, ours when
    the ACK arrives.  With the delay the same both ways, the peer's clock
    is ahead of ours by t3 - (t1 + t4) / 2, give or take half the round
    trip t4 - t1.  Of a peer's last CLOCKS_SAMPLES samples, the one with
    the shortest round trip stands (NTP's clock filter): a probe delayed
    by a busy loop or a full queue says little.

    A member this node has not probed yet has no round trip, but every
    packet it sends carries its clock: its timestamp less our clock at
    arrival is the offset less the one-way delay, a lower bound.  The
    largest of those over the last 10 to 20 s stands until a round trip
    gives the real measure (clocks_heard), so that the agent's view
    (core/view.h) has an offset for every member it hears from, at once.

    One table for every member of a cluster of thousands: names are
    found through a hash index, since every packet that arrives asks.

    Sans-I/O: every time is handed in. */
#ifndef GL_CLOCKS_H
#define GL_CLOCKS_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCKS_SAMPLES 8  /* per peer, the last ones kept */
#define CLOCKS_PENDING 64 /* probes in flight remembered */

typedef struct clocks_t clocks_t;

clocks_t *clocks_new (void);
void clocks_destroy (clocks_t **self_p);

/* A PING with probe_seq left for node at our wall time t1_ms. */
void clocks_sent (clocks_t *self, const char *node, uint32_t probe_seq, uint64_t t1_ms);

/* node's ACK of probe_seq, sealed at its wall time t3_ms, arrived at our
   t4_ms.  True when it answered a PING we remember (a sample taken). */
bool clocks_acked (clocks_t *self, const char *node, uint32_t probe_seq, uint64_t t3_ms,
                   uint64_t t4_ms);

/* A packet from node, stamped by its clock at t_sent_ms, arrived at our
   wall time t_arrived_ms: a one-way sample (the lower bound above). */
void clocks_heard (clocks_t *self, const char *node, uint64_t t_sent_ms, uint64_t t_arrived_ms);

typedef struct {
    char node[GL_NAME_MAX + 1];
    int64_t offset_us; /* its clock minus ours */
    uint64_t rtt_us;   /* the round trip of the sample that stands: the error is at most
                          half; 0 with no round trip yet */
    uint64_t at_ms;    /* our wall time of that sample */
    uint32_t samples;  /* round trips taken so far; 0: offset_us is the one-way
                          lower bound of the last 10-20 s */
} clocks_est_t;

bool clocks_get (clocks_t *self, const char *node, clocks_est_t *out);
size_t clocks_count (const clocks_t *self);
bool clocks_at (clocks_t *self, size_t i, clocks_est_t *out);

/* An offset to the nearest ms, as the view shows it. */
int64_t clocks_ms (int64_t offset_us);

/* Counts the changes of what clocks_get reports (a node's offset moved
   by CLOCKS_STEP_MS or more since the last change counted, or a node was
   forgotten), so that the agent rewrites its view only when it changed: a
   change makes it larger.  A smaller move is within the measure's own
   error (timestamps in ms; on one machine's loopback the standing sample
   flips between neighbouring ms from probe to probe). */
#define CLOCKS_STEP_MS 2
uint64_t clocks_changes (const clocks_t *self);

/* Forget a node (it died or left: a new life has another clock). */
void clocks_forget (clocks_t *self, const char *node);

#endif
