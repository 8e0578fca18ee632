/*  ident.h -- who this node is: its Ed25519 key and its generation.

    A node keeps its signing key in <state_dir>/node.key (mode 0600, made
    at first start) and counts its starts in <state_dir>/generation.  The
    generation of a start is max(previous + 1, seconds since the epoch), so
    it grows even when the state directory is lost: a restarted node is
    never shadowed by the record of its former self.

    Records a node says about itself (wire.h gl_rec_t) are signed here and
    checked by everyone against the key carried in the node's ALIVE record. */
#ifndef GL_IDENT_H
#define GL_IDENT_H

#include "wire.h"

typedef struct gl_ident_t gl_ident_t;

/* Load or create the node's key and bump its generation.  On failure
   returns NULL and writes a message naming the file into err. */
gl_ident_t *gl_ident_open (const char *state_dir, uint64_t now_wall_ms, char *err, size_t errlen);
/* A key held only in memory (tests, the simulator); generation given.
   The key is derived from seed, or random when seed is NULL. */
gl_ident_t *gl_ident_new_ephemeral (uint64_t generation, const uint8_t seed[32]);
void gl_ident_destroy (gl_ident_t **self_p);

uint64_t gl_ident_generation (gl_ident_t *self);
const uint8_t *gl_ident_pubkey (gl_ident_t *self); /* 32 bytes */

/* Sign rec in place (fills rec->sig).  0 or -1. */
int gl_ident_sign (gl_ident_t *self, gl_rec_t *rec);
/* 0 when rec->sig is a valid signature by pubkey, else -1. */
int gl_rec_verify (const gl_rec_t *rec, const uint8_t pubkey[GL_PUBKEY_BYTES]);

/* The same key over other bytes (a job's credential, sched/cred.h): sign
   len bytes into sig, 0 or -1; verify, 0 when sig is pubkey's. */
int gl_ident_sign_bytes (gl_ident_t *self, const uint8_t *msg, size_t len,
                         uint8_t sig[GL_SIG_BYTES]);
int gl_sig_verify (const uint8_t *msg, size_t len, const uint8_t sig[GL_SIG_BYTES],
                   const uint8_t pubkey[GL_PUBKEY_BYTES]);

#endif
