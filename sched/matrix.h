/*  matrix.h -- the coscheduling matrix as one peer knows it.

    Ousterhout's matrix (1982): each row is a set of gangs that can run at
    the same time, because no two of them compete for a peer's slots; time
    is cut into slices, and in each slice every peer runs the gangs of one
    row, the rows taking turns.  Here the matrix is a table of placements,
    one per gang, each said by the gang's elected leader (gang.h) and
    spread by gossip: which row the gang is in, which peers it runs on with
    how many processes, and how many slots each of those peers has.

    Every peer keeps the same table (once gossip has spread it) and
    derives the schedule from it alone, so all peers agree on it without
    talking: slice k runs row index k mod R of the R rows in use.  In a
    slice the gangs of that row are admitted first, then the gangs of the
    following rows in turn fill what is left ("alternate scheduling"): a
    gang is admitted when it fits beside every gang admitted before it on
    every peer they share (their processes there together no more than
    the peer's slots).  Within a row, gangs go in the order of their ids:
    when two leaders put competing gangs in one row at once, the first
    runs and the other's leader moves it (gang.c).

    A placement of a gang replaces another when its (term, leader,
    version) is higher: a newer leader, or the same leader's later word.
    A later word that changes neither row nor peers only renews it: that
    is no news (matrix_merge tells the two apart), so that a leader's
    renewals cost no gossip.
    A gang that ended leaves a tombstone so an old placement arriving late
    cannot bring it back; placements nobody renewed for ttl_ms are dropped
    (their leader is gone), tombstones after twice that.  A placement
    that expired, and a tombstone, is remembered for another ttl and
    refused if a peer that has not yet expired it hands it back: without
    that, push-pull would keep a dead leader's placement alive for ever.

    Sans-I/O: handed the time, never reads a clock. */
#ifndef GL_MATRIX_H
#define GL_MATRIX_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One gang's placement.  peers are sorted by node name. */
typedef struct {
    gl_place_t place; /* place.n_peers counts peers */
    gl_gang_peer_t *peers;
    uint64_t heard_ms; /* local time of the last news about it */
    uint32_t sends;    /* times still to gossip it (gang.c's business) */
} matrix_rec_t;

typedef struct matrix_t matrix_t;

matrix_t *matrix_new (void);
void matrix_destroy (matrix_t **self_p);

/* (term, leader, version) of a against b: <0, 0, >0. */
int matrix_order (const gl_place_t *a, const gl_place_t *b);

/* Take a placement and its place->n_peers peers (any order) if it is
   newer than what the table holds about its gang.  1 when it was news
   (the record now holds it, with sends 0); 2 when it only renews the
   record's placement (the same term and leader, a later version, the
   same row and peers: the record takes the version and lives on from
   now_ms, its sends as they were); 0 when it was not newer; -1 when
   memory is short. */
int matrix_merge (matrix_t *self, const gl_place_t *place, const gl_gang_peer_t *peers,
                  uint64_t now_ms);

/* Records, tombstones included, in the order of their gang ids. */
size_t matrix_count (const matrix_t *self);
matrix_rec_t *matrix_at (matrix_t *self, size_t i);
matrix_rec_t *matrix_find (matrix_t *self, const char *gang);

/* Drop placements not renewed for ttl_ms and tombstones twice as old;
   returns how many went. */
size_t matrix_expire (matrix_t *self, uint64_t now_ms, uint64_t ttl_ms);

/* Changes with every record added or dropped and every change of a live
   placement's row or peers: what the schedule is computed from. */
uint64_t matrix_epoch (const matrix_t *self);

/* A 64-bit digest of the live placements (gang, term, leader, row,
   peers; not the version, which renewals change and do not spread at
   once): two peers with the same digest see the same matrix. */
uint64_t matrix_digest (const matrix_t *self);

/* A hash of s, seeded with h: the one string hash of the gang plane
   (digests here, the leader's rendezvous in gang.c). */
uint64_t matrix_hash (uint64_t h, const char *s);

/* ---- the schedule ---- */

/* Do gangs a and b compete for a peer's slots?  A peer whose slots are
   not known yet (0) counts as one slot. */
bool matrix_conflict (const gl_gang_peer_t *a, size_t na, const gl_gang_peer_t *b, size_t nb);

/* The rows in use (of live placements), ascending: up to max of them
   into rows; returns how many there are. */
size_t matrix_rows (matrix_t *self, uint32_t *rows, size_t max);

/* The schedule of slice `slice`: admitted[i] tells whether record i
   (matrix_at order) runs in it; returns the row whose turn it is, or
   UINT32_MAX when no row is in use.  admitted must hold matrix_count
   entries.  The answer is cached per (epoch, row). */
uint32_t matrix_slice (matrix_t *self, uint64_t slice, const bool **admitted);

/* Could a gang on these peers (sorted or not) go into row `row` beside
   every live gang there but `gang` itself?  With `before_only`, only the
   gangs whose ids come before `gang` count (those that win the row). */
bool matrix_fits (matrix_t *self, const char *gang, const gl_gang_peer_t *peers, size_t n,
                  uint32_t row, bool before_only);

#endif
