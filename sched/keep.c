/*  keep.c -- what a job's home keeps so that the job outlives its host
    (see keep.h). */
#include "keep.h"
#include "err.h"
#include "grow.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

void keep_init (keep_t *k)
{
    memset (k, 0, sizeof *k);
}

static void img_free (keep_img_t *m)
{
    free (m->bytes);
    memset (m, 0, sizeof *m);
}

void keep_clear (keep_t *k)
{
    img_free (&k->cur);
    img_free (&k->next);
    free (k->rx);
    free (k->in);
    keep_init (k);
}

size_t keep_bytes (const keep_t *k)
{
    return k->cur.len + k->next.len + k->rx_cap + k->in_cap;
}

void keep_rx_drop (keep_t *k)
{
    free (k->rx);
    k->rx = NULL;
    k->rx_len = k->rx_cap = k->rx_checked = 0;
    k->rx_on = k->rx_bad = false;
}

void keep_rx_begin (keep_t *k)
{
    keep_rx_drop (k);
    img_dec_init (&k->rx_dec);
    k->rx_on = true;
}

/* Room for need bytes of the arriving image, in steps of KEEP_RX_STEP:
   glibc serves blocks this large with mmap and grows them with mremap,
   without copying, so steps cost no copies and waste at most one step,
   where doubling would hold up to twice an image's size against
   sched/checkpoint_memory. */
#define KEEP_RX_STEP ((size_t) 4 << 20)
static int rx_grow (keep_t *k, size_t need)
{
    if (need <= k->rx_cap)
        return 0;
    if (need > SIZE_MAX - KEEP_RX_STEP)
        return -1;
    size_t cap = (need + KEEP_RX_STEP - 1) / KEEP_RX_STEP * KEEP_RX_STEP;
    uint8_t *b = realloc (k->rx, cap);
    if (!b)
        return -1;
    k->rx = b;
    k->rx_cap = cap;
    return 0;
}

int keep_rx_add (keep_t *k, const uint8_t *data, size_t n, const char **why)
{
    if (!k->rx_on || k->rx_bad)
        return gl_why (why, "no image is arriving");
    if (rx_grow (k, k->rx_len + n)) {
        keep_rx_drop (k);
        k->rx_on = k->rx_bad = true;
        return gl_why (why, "out of memory for the image");
    }
    memcpy (k->rx + k->rx_len, data, n);
    k->rx_len += n;
    /* check every whole record as it comes: the end is then known good
       without a second pass over the image */
    for (;;) {
        if (img_dec_done (&k->rx_dec) && k->rx_checked == k->rx_len)
            return 0; /* whole: only its end may come now */
        img_rec_t rec;
        size_t used = 0;
        const char *bad = NULL;
        int rc = img_dec_next (&k->rx_dec, k->rx + k->rx_checked, k->rx_len - k->rx_checked, &rec,
                               &used, &bad);
        if (rc == 1 && rec.type == IMG_FAIL)
            bad = "the capture failed (the image ends in its FAIL record)", rc = -1;
        if (rc < 0) {
            keep_rx_drop (k);
            k->rx_on = k->rx_bad = true;
            return gl_why (why, bad ? bad : "not an image");
        }
        if (rc == 0)
            return 0;
        k->rx_checked += used;
    }
}

int keep_rx_end (keep_t *k, const uint64_t at[3], uint64_t wall_ms, const char *node,
                 const char **why)
{
    if (!k->rx_on || k->rx_bad) {
        keep_rx_drop (k);
        return gl_why (why, "the image was not whole");
    }
    if (!img_dec_done (&k->rx_dec) || k->rx_checked != k->rx_len) {
        keep_rx_drop (k);
        return gl_why (why, "the image was cut before its END record");
    }
    img_free (&k->next);
    uint8_t *b = realloc (k->rx, k->rx_len ? k->rx_len : 1); /* give back the last step's room */
    k->next.bytes = b ? b : k->rx;
    k->next.len = k->rx_len;
    memcpy (k->next.at, at, sizeof k->next.at);
    k->next.wall_ms = wall_ms;
    gl_strlcpy (k->next.node, node, sizeof k->next.node);
    k->rx = NULL;
    k->rx_len = k->rx_cap = k->rx_checked = 0;
    k->rx_on = false;
    return 0;
}

/* Let go of stdin before from (never past what is kept). */
static void in_trim (keep_t *k, uint64_t from)
{
    if (from <= k->in_base)
        return;
    uint64_t drop = from - k->in_base;
    if (drop > k->in_len)
        drop = k->in_len;
    if (drop < k->in_len)
        memmove (k->in, k->in + drop, k->in_len - (size_t) drop);
    k->in_len -= (size_t) drop;
    k->in_base += drop;
}

bool keep_promote (keep_t *k, const uint64_t delivered[3])
{
    if (!k->next.bytes || delivered[1] < k->next.at[1] || delivered[2] < k->next.at[2])
        return false;
    img_free (&k->cur);
    k->cur = k->next;
    memset (&k->next, 0, sizeof k->next);
    in_trim (k, k->cur.at[0]);
    return true;
}

int keep_in_add (keep_t *k, const uint8_t *data, size_t n, bool eof, size_t max, const char **why)
{
    if (n && !gl_grow (&k->in, &k->in_cap, k->in_len + n, 1)) {
        memcpy (k->in + k->in_len, data, n);
        k->in_len += n;
    }
    else if (n) { /* cannot keep it: as if it went over the bound */
        in_trim (k, keep_in_end (k));
        k->in_base += n;
    }
    k->in_eof |= eof;
    if (k->in_len > max)
        in_trim (k, keep_in_end (k) - max);
    int lost = 0;
    if (k->cur.bytes && k->cur.at[0] < k->in_base) {
        img_free (&k->cur);
        lost = gl_why (why, "the job read more stdin since its checkpoint than the home keeps");
    }
    if (k->next.bytes && k->next.at[0] < k->in_base) {
        img_free (&k->next);
        lost = gl_why (why, "the job read more stdin since its checkpoint than the home keeps");
    }
    return lost ? 1 : 0;
}

uint64_t keep_in_end (const keep_t *k)
{
    return k->in_base + k->in_len;
}

size_t keep_in_from (const keep_t *k, uint64_t from, size_t max, const uint8_t **data)
{
    *data = NULL;
    if (from < k->in_base || from >= keep_in_end (k))
        return 0;
    size_t off = (size_t) (from - k->in_base);
    size_t n = k->in_len - off;
    *data = k->in + off;
    return n < max ? n : max;
}

size_t keep_skip (uint64_t delivered, uint64_t got, size_t len)
{
    if (got >= delivered)
        return 0;
    uint64_t owed = delivered - got;
    return owed < len ? (size_t) owed : len;
}
