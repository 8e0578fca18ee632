/*  imgsealw.c -- a move's stream sealed without libcrypto (imgsealw.h). */
#include "imgsealw.h"

void imgsealw_init (imgsealw_t *s, const uint8_t key[IS_KEY_BYTES], uint64_t first)
{
    aesgcm_init (&s->g, key);
    s->n = first;
    s->ended = false;
}

int imgsealw_seal (imgsealw_t *s, uint8_t *p, size_t n, bool last, uint8_t head[IS_HEAD],
                   uint8_t tag[IS_TAG])
{
    if (n > IS_CHUNK_MAX || s->ended)
        return -1;
    uint8_t nonce[12], ad[IS_HEAD + 8];
    imgseal_frame (s->n, (uint32_t) n, last, head, nonce, ad);
    aesgcm_seal (&s->g, nonce, ad, sizeof ad, p, n, p, tag);
    s->n++;
    s->ended = last;
    return 0;
}

void imgsealw_wipe (imgsealw_t *s)
{
    aesgcm_wipe (&s->g);
}
