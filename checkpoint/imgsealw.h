/*  imgsealw.h -- the sealer of a move's stream (imgseal.h) that the
    shim's image writer runs in its raw fork (writer.c): the same chunks,
    nonces and additional data as imgseal_seal, sealed in place on
    aesgcm.h rather than libcrypto (aesgcm.h says why), with no
    allocation: its state lives in the writer's arena.

    The old host's agent connects to the new host's restorer and sends
    the stream's first chunk (number 0, empty) itself; it then hands the
    connection and the key to the job's shim, whose writer seals the
    image from chunk 1 on (ckpt_proto.h, "A move's stream"). */
#ifndef GL_IMGSEALW_H
#define GL_IMGSEALW_H

#include "aesgcm.h"
#include "imgseal.h"

typedef struct {
    aesgcm_t g;
    uint64_t n; /* the next chunk's number */
    bool ended;
} imgsealw_t;

/* Keyed for a stream whose next chunk is number first. */
void imgsealw_init (imgsealw_t *s, const uint8_t key[IS_KEY_BYTES], uint64_t first);

/* The next chunk: n (<= IS_CHUNK_MAX) bytes at p sealed where they are,
   its head into head and its tag into tag (the chunk on the wire: head,
   p, tag).  0, or -1 when n is too large or the stream has ended. */
int imgsealw_seal (imgsealw_t *s, uint8_t *p, size_t n, bool last, uint8_t head[IS_HEAD],
                   uint8_t tag[IS_TAG]);

/* Zeros the key's schedule. */
void imgsealw_wipe (imgsealw_t *s);

#endif
