/*  imgseal.h -- the sealed stream a moved job's image travels in, from
    the old host straight to the new host's restorer (glunix-image(5),
    "The move's stream"; ARCHITECTURE.md, "A move"), and a restart's
    from glx --restart's FILE.

    One TCP connection per move carries the image cut into chunks, each
    sealed with AES-256-GCM under a key made for that move alone
    (the job's home draws it and hands it to both ends inside the
    agents' sealed, signed messages; it is never used again).  A chunk:

        u32 len     plaintext bytes that follow, at most IS_CHUNK_MAX
        u32 flags   IS_LAST on the stream's last chunk, nothing else
        len bytes   the ciphertext
        16 bytes    the tag

    both integers little-endian and, with the chunk's number, its
    additional data.  The nonce is the chunk's number (from 0) after the
    constant "GLIM": nothing needs to be remembered, for the key is never
    used for another stream.  So a chunk altered, dropped, repeated,
    reordered or taken from another move fails to open, a stream that
    ends before its IS_LAST chunk is cut, and bytes after it are
    refused.  The first chunk is empty: it proves, before anything else
    is read, that whoever connected holds the move's key, so a listener
    can drop an intruder that connected first and wait for the real
    sender.

    Sans-I/O: the caller reads and writes; these seal, frame and judge.
    The bulk runs on aesgcm.h (the CPU's AES and carry-less multiply
    instructions), or on libcrypto's AES-256-GCM where the CPU lacks
    them; the bytes are the same. */
#ifndef GL_IMGSEAL_H
#define GL_IMGSEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IS_KEY_BYTES 32
#define IS_CHUNK_MAX (1u << 20) /* plaintext bytes in one chunk */
#define IS_HEAD      8          /* len, flags */
#define IS_TAG       16
#define IS_OVERHEAD  (IS_HEAD + IS_TAG)
#define IS_LAST      1u

typedef struct imgseal_t imgseal_t;

/* One end of one stream (a sealer or an opener: never both with one
   key).  NULL when out of memory or, where the CPU needs it, libcrypto
   cannot be had. */
imgseal_t *imgseal_new (const uint8_t key[IS_KEY_BYTES]);

/* The same, always on libcrypto: for t/unit/test_imgseal, which holds
   the two to each other on one machine.  Nothing else calls it. */
imgseal_t *imgseal_new_libcrypto (const uint8_t key[IS_KEY_BYTES]);

void imgseal_destroy (imgseal_t **self_p);

/* The next chunk: n (<= IS_CHUNK_MAX) bytes of in, sealed into out
   (room for n + IS_OVERHEAD).  Returns the chunk's length, or 0 when n
   is too large, the stream has ended (a last chunk was sealed), this
   end opens, or libcrypto failed. */
size_t imgseal_seal (imgseal_t *self, const uint8_t *in, size_t n, bool last, uint8_t *out);

/* A chunk's head: 0 with the plaintext length that follows and whether
   it is the last, or -1 with *why when it cannot be a chunk's. */
int imgseal_head (const uint8_t head[IS_HEAD], uint32_t *len, bool *last, const char **why);

/* Opens the next chunk: its head, then body (len + IS_TAG bytes, as
   imgseal_head said), the plaintext into out (len bytes; out may be
   body).  0, or -1 with *why: forged, altered, out of order, of another
   move, after the last chunk, or after a chunk that failed (an opener
   refuses everything once one chunk failed). */
int imgseal_open (imgseal_t *self, const uint8_t head[IS_HEAD], const uint8_t *body, uint8_t *out,
                  const char **why);

/* Has the last chunk been opened (or sealed)? */
bool imgseal_ended (const imgseal_t *self);

/* Chunk number n's head (len, flags), nonce and additional data: the
   stream's framing, which both sealers (this one and the shim's writer,
   imgsealw.h) and the opener share. */
static inline void imgseal_frame (uint64_t n, uint32_t len, bool last, uint8_t head[IS_HEAD],
                                  uint8_t nonce[12], uint8_t ad[IS_HEAD + 8])
{
    uint32_t flags = last ? IS_LAST : 0;
    for (int i = 0; i < 4; i++) {
        head[i] = (uint8_t) (len >> (8 * i));
        head[4 + i] = (uint8_t) (flags >> (8 * i));
    }
    nonce[0] = 'G', nonce[1] = 'L', nonce[2] = 'I', nonce[3] = 'M';
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = ad[IS_HEAD + i] = (uint8_t) (n >> (8 * i));
    for (int i = 0; i < IS_HEAD; i++)
        ad[i] = head[i];
}

#endif
