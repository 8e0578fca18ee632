/*  fuzz_image.c -- libFuzzer target for the checkpoint image's decoder
    (checkpoint/image.c), what glrestore runs on an image from another
    node before it trusts a byte of it.

    Whatever the decoder hands out must lie inside the input, and every
    record whose payload the img_get_* functions accept must keep their
    promises and encode again to the very same payload: one encoding per
    record, nothing lost.  Pages that are accepted unpack into exactly
    their size.  Raw pages read apart from their record's head, as
    glrestore reads them (img_dec_pages_head, _tail), are judged exactly
    as the whole record is.  Any failure aborts, which libFuzzer reports
    as a crash.
    Run it with t/fuzz/run.sh --target image. */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(cond)                                                      \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf (stderr, "fuzz_image.c:%d: %s\n", __LINE__, #cond); \
            abort ();                                                   \
        }                                                               \
    } while (0)

static uint8_t again[IMG_REC_HDR + IMG_REC_MAX + 8192];
static uint8_t pages[IMG_CHUNK_PAGES * IMG_PAGE];

/* The record re-encoded has the payload it was decoded from. */
static void same (const img_rec_t *r, size_t k)
{
    MUST (k == IMG_REC_HDR + r->len);
    MUST (!memcmp (again + IMG_REC_HDR, r->payload, r->len));
}

static void check (const img_rec_t *r)
{
    const char *why = NULL;
    img_enc_t e = { 0 };
    switch (r->type) {
        case IMG_PROC: {
            static img_proc_t p;
            if (img_get_proc (r, &p, &why) == 0) {
                MUST (p.n_threads >= 1 && p.n_threads <= IMG_MAX_THREADS && p.cwd[0] == '/');
                same (r, img_put_proc (&e, &p, again, sizeof again));
            }
            break;
        }
        case IMG_TREE: {
            static img_tree_t t;
            if (img_get_tree (r, &t, &why) == 0) {
                MUST (t.n >= 2 && t.n <= IMG_MAX_PROCS && t.p[0].flags == IMG_P_ROOT);
                for (uint32_t i = 1; i < t.n; i++) { /* parents first, ids distinct */
                    uint32_t j = 0;
                    while (j < i && t.p[j].vpid != t.p[i].vppid)
                        j++;
                    MUST (j < i && !(t.p[i].flags & IMG_P_ROOT));
                    for (j = 0; j < i; j++)
                        MUST (t.p[j].vpid != t.p[i].vpid);
                }
                same (r, img_put_tree (&e, &t, again, sizeof again));
            }
            break;
        }
        case IMG_THREAD: {
            img_thread_t t;
            if (img_get_thread (r, &t, &why) == 0) {
                MUST (t.reg[IMG_R_RSP] < IMG_USER_TOP && t.fs < IMG_USER_TOP);
                same (r, img_put_thread (&e, &t, again, sizeof again));
            }
            break;
        }
        case IMG_VMA: {
            static img_vma_t v;
            if (img_get_vma (r, &v, &why) == 0) {
                MUST (v.start < v.end && v.end <= IMG_USER_TOP && !(v.start % IMG_PAGE));
                same (r, img_put_vma (&e, &v, again, sizeof again));
            }
            break;
        }
        case IMG_FD: {
            static img_fd_t f;
            if (img_get_fd (r, &f, &why) == 0) {
                MUST (f.data_len <= IMG_PIPE_MAX);
                MUST (!f.data_len ||
                      (f.data >= r->payload && f.data + f.data_len <= r->payload + r->len));
                same (r, img_put_fd (&e, &f, again, sizeof again));
            }
            break;
        }
        case IMG_PAGES: {
            img_pages_t pg;
            if (img_get_pages (r, &pg, &why) == 0) {
                MUST (pg.n_pages >= 1 && pg.n_pages <= IMG_CHUNK_PAGES);
                MUST (pg.data + pg.len == r->payload + r->len);
                if (img_unpack (&pg, pages, &why) == 0 && pg.codec == IMG_RAW)
                    MUST (!memcmp (pages, pg.data, pg.len));
            }
            break;
        }
        default: break;
    }
    if (why)
        MUST (why[0]);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    img_dec_t d;
    img_dec_init (&d);
    size_t at = 0;
    for (int n = 0; n < 100000; n++) {
        img_rec_t r;
        size_t used = 0;
        const char *why = NULL;
        /* the split way, on a copy of the decoder, from the head alone */
        img_dec_t split = d;
        img_pages_t pg;
        int sk = 0;
        if (size - at >= IMG_PAGES_HEAD &&
            img_dec_pages_head (&split, data + at, IMG_PAGES_HEAD, &pg) == 1) {
            MUST (pg.n_pages >= 1 && pg.n_pages <= IMG_CHUNK_PAGES && !pg.data);
            MUST (pg.len == pg.n_pages * IMG_PAGE && pg.addr % IMG_PAGE == 0);
            img_rec_t sr;
            const char *swhy = NULL;
            sk =
                size - at - IMG_PAGES_HEAD >= pg.len
                    ? img_dec_pages_tail (&split, data + at, data + at + IMG_PAGES_HEAD, &sr, &swhy)
                    : 2; /* its pages are not all there */
            MUST (sk != -1 || (swhy && swhy[0]));
        }
        int k = img_dec_next (&d, data + at, size - at, &r, &used, &why);
        if (sk == 1 || sk == -1) { /* the same verdict, the same decoder after it */
            MUST (k == sk && (k < 0 || !memcmp (&split, &d, sizeof d)));
            MUST (k < 0 || (r.type == IMG_PAGES && used == IMG_PAGES_HEAD + pg.len));
        }
        if (k < 0) {
            MUST (why && why[0]);
            break;
        }
        if (k == 0) {
            MUST (used == 0);
            break;
        }
        MUST (used > 0 && used <= size - at);
        if (r.type != IMG_HEADER)
            MUST (r.payload >= data + at && r.payload + r.len == data + at + used);
        check (&r);
        at += used;
        if (img_dec_done (&d))
            break;
    }
    return 0;
}
