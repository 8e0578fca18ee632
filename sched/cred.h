/*  cred.h -- job credentials: a home's signed word for the jobs it asks.

    Every member holds the cluster key, so the seal alone says only that a
    packet came from some member: any of them could send a RUN under
    another node's name.  So the home signs each RUN it sends with its own
    node key (core/ident.h, Ed25519): the user, the home, the GPID and an
    expiry.  A host runs nothing before it has checked that signature
    against the key it pinned for the home (the one in the home's signed
    ALIVE record, gossip/swim.h swim_pubkey), and that the credential has
    not expired: a member cannot start a job in another node's name, nor
    replay an old RUN once its minute is up.

    The signed bytes, in this order, each string with a 1-byte length:
    "glunix-cred-1", the cluster, the user, the home, the GPID, and the
    expiry as 8 bytes big-endian (wall-clock milliseconds). */
#ifndef GL_CRED_H
#define GL_CRED_H

#include "ident.h"
#include "wire.h"

#include <stdint.h>

#define CRED_TTL_MS 60000 /* a credential holds this long after signing */

/* Sign run (its user, home and gpid set) for now + CRED_TTL_MS: fills
   run->cred_expiry_ms and run->cred_sig.  0 or -1. */
int cred_sign (gl_ident_t *ident, const char *cluster, gl_job_t *run, uint64_t now_wall_ms);

/* Check run's credential against the home's pinned key, at now give or
   take window_ms of clock difference.  0, or -1 with *why. */
int cred_check (const char *cluster, const gl_job_t *run, const uint8_t pubkey[GL_PUBKEY_BYTES],
                uint64_t now_wall_ms, uint64_t window_ms, const char **why);

#endif
