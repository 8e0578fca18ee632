/*  slots.h -- may this node take a guest job now?  (the candidate side
    of placement; the home side and the design are in place.h)

    A node judges every offer itself, by its own count of slots (one per
    core unless configured) and its own latest measurement, never by
    gossip: its owner may have come back a second ago, which no other
    node knows yet.  An accepted offer holds its slots as a reservation
    for reserve_ms, until the job starts (late binding); a reservation
    that lapses frees them again.  Sans-I/O like place.h: the time is
    handed in, never read. */
#ifndef GL_SLOTS_H
#define GL_SLOTS_H

#include "wire.h"

#define SLOTS_JOB_MAX 127 /* longest job id (a GPID) */

typedef struct {
    uint32_t slots;      /* cores guests may use at once; 0: one per core */
    uint32_t reserve_ms; /* an accepted offer holds its slots for: 5000 */
} slots_config_t;

void slots_config_default (slots_config_t *config);

typedef struct slots_t slots_t;

/* cores: this machine's cores, the default number of slots. */
slots_t *slots_new (const slots_config_t *config, uint32_t cores);
void slots_destroy (slots_t **self_p);

/* This machine's latest own measurement (idle_sample): whether its owner
   is active and how much memory is left.  Until the first one, every
   offer is refused. */
void slots_set_res (slots_t *self, const gl_res_t *res);

/* Does the job fit now?  A job takes one slot per core it wants.  On yes,
   its slots are reserved for reserve_ms, until slots_start.  On no, *why
   (may be NULL) says why, e.g. "owner active", "no free slot", valid
   until the next call.  An offer for a job already reserved here is
   judged again as new (the home may have lost our answer). */
bool slots_offer (slots_t *self, const char *job_id, uint32_t cores, uint64_t mem_kb,
                  uint64_t now_ms, const char **why);

/* The job starts: its reservation becomes a running slot.  Returns 0, or
   -1 when it holds no reservation (never offered, or expired: the slots
   may be someone else's by now, so it must be offered again). */
int slots_start (slots_t *self, const char *job_id, uint64_t now_ms);

/* The job ended or was given up: its slots are free.  0, or -1 if unknown. */
int slots_release (slots_t *self, const char *job_id);

/* Drops reservations that have expired at now_ms; returns how many. */
size_t slots_expire (slots_t *self, uint64_t now_ms);

/* Slots neither running nor validly reserved at now_ms. */
uint32_t slots_free (slots_t *self, uint64_t now_ms);

/* When the next reservation expires (call slots_expire then), or
   UINT64_MAX when none is held. */
uint64_t slots_next_deadline (slots_t *self);

#endif
