/*  seal.h -- sealing and opening inter-node packets (libsodium).

    Every packet is encrypted and authenticated with XChaCha20-Poly1305
    under the 32-byte cluster key.  The envelope header (protocol version,
    cluster id, sender, generation, sequence number, timestamp) is the
    AEAD's additional data: a packet made for another cluster name, another
    key or another protocol version fails to open, and so does one with a
    single flipped bit anywhere.

    The opener also refuses packets that are
      - replayed: a (sender, generation, seq) it has accepted before, or
        older than its 1024-wide window, or from an older generation than
        the newest it has seen from that sender;
      - stale: a timestamp farther than `window_ms` from our clock;
    and counts every refusal by reason (gl_seal_drops).

    The cluster id in the clear header is the first 8 bytes of
    BLAKE2b(cluster name): it lets us count "other cluster" apart from
    "forged" without trusting it (the AEAD still checks the full name). */
#ifndef GL_SEAL_H
#define GL_SEAL_H

#include "wire.h"

#define GL_KEY_BYTES 32

typedef enum {
    GL_DROP_MALFORMED = 0, /* envelope or body does not decode */
    GL_DROP_VERSION,       /* another protocol version */
    GL_DROP_CLUSTER,       /* another cluster's id */
    GL_DROP_FORGED,        /* authentication failed: wrong key, altered */
    GL_DROP_REPLAY,        /* seen before, or older than the window */
    GL_DROP_STALE,         /* timestamp outside the clock window */
    GL_DROP_SELF,          /* claims to come from ourselves */
    GL_DROP__COUNT
} gl_drop_t;

typedef struct gl_seal_t gl_seal_t;

/* self: our node name; generation: our start number (ident.h). */
gl_seal_t *gl_seal_new (const uint8_t key[GL_KEY_BYTES], const char *cluster, const char *self,
                        uint64_t generation, uint64_t window_ms);
void gl_seal_destroy (gl_seal_t **self_p);

/* Seal body into a packet (malloc'ed), stamping wall time now_ms and the
   next sequence number.  Returns 0, or -1 when out of memory or when the
   packet would exceed GL_PKT_MAX. */
int gl_seal_pack (gl_seal_t *self, uint64_t now_ms, const uint8_t *body, size_t body_len,
                  uint8_t **pkt, size_t *pkt_len);

/* Open a packet.  Returns 0 with the body (malloc'ed) and the sender's
   name and generation, or -1 with *reason set and the drop counted (then
   *body is NULL and sender is "").  sender, sender_gen, reason may be NULL. */
int gl_seal_open (gl_seal_t *self, uint64_t now_ms, const uint8_t *pkt, size_t pkt_len,
                  uint8_t **body, size_t *body_len, char sender[GL_NAME_MAX + 1],
                  uint64_t *sender_gen, gl_drop_t *reason);

/* Count a drop found after opening (e.g. a body that does not decode). */
void gl_seal_count (gl_seal_t *self, gl_drop_t reason);

uint64_t gl_seal_drops (gl_seal_t *self, gl_drop_t reason);
const char *gl_drop_name (gl_drop_t reason); /* "malformed", "forged", ... */

/* Cluster keys: 64 hex digits.  gl_key_parse accepts surrounding
   whitespace and one trailing newline; returns 0 or -1. */
void gl_key_generate (uint8_t key[GL_KEY_BYTES]);
int gl_key_format (const uint8_t key[GL_KEY_BYTES], char out[2 * GL_KEY_BYTES + 1]);
int gl_key_parse (const char *text, uint8_t key[GL_KEY_BYTES]);

#endif
