/*  image.c -- the checkpoint image's encoders and its sans-I/O decoder
    (image.h says what the stream is). */
#include "image.h"

#include "err.h"

#include <lz4.h>
#include <string.h>

/* ---- the sum: xxHash64's algorithm, fast enough for a GiB image -------------------------- */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl (uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64 (const uint8_t *p)
{
    uint64_t v;
    memcpy (&v, p, 8); /* x86-64 only: the checkpoint is of x86-64 processes */
    return v;
}

static inline uint32_t rd32 (const uint8_t *p)
{
    uint32_t v;
    memcpy (&v, p, 4);
    return v;
}

static inline uint64_t round1 (uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = rotl (acc, 31);
    return acc * P1;
}

static inline uint64_t merge (uint64_t acc, uint64_t v)
{
    acc ^= round1 (0, v);
    return acc * P1 + P4;
}

_Static_assert(IMG_VERSION == 3, "the decoder's message names the version it reads");

/* The four lanes over every whole 32-byte stripe of [p, end); returns
   where the stripes stopped. */
static const uint8_t *stripes (uint64_t v[4], const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 32) {
        v[0] = round1 (v[0], rd64 (p));
        v[1] = round1 (v[1], rd64 (p + 8));
        v[2] = round1 (v[2], rd64 (p + 16));
        v[3] = round1 (v[3], rd64 (p + 24));
        p += 32;
    }
    return p;
}

static uint64_t lanes (const uint64_t v[4])
{
    uint64_t h = rotl (v[0], 1) + rotl (v[1], 7) + rotl (v[2], 12) + rotl (v[3], 18);
    for (int i = 0; i < 4; i++)
        h = merge (h, v[i]);
    return h;
}

/* The last bytes (fewer than 32) and the avalanche; h already holds the
   total length. */
static uint64_t sum_finish (uint64_t h, const uint8_t *p, const uint8_t *end)
{
    while (p + 8 <= end) {
        h ^= round1 (0, rd64 (p));
        h = rotl (h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t) rd32 (p) * P1;
        h = rotl (h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t) (*p++) * P5;
        h = rotl (h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t img_sum (const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data, *end = p + n;
    uint64_t h = seed + P5;
    if (n >= 32) {
        uint64_t v[4] = { seed + P1 + P2, seed + P2, seed, seed - P1 };
        p = stripes (v, p, end);
        h = lanes (v);
    }
    return sum_finish (h + (uint64_t) n, p, end);
}

uint64_t img_sum2 (const void *a, size_t na, const void *b, size_t nb, uint64_t seed)
{
    uint8_t t[32];
    if (na + nb < 32) { /* no stripe: the one-piece sum of a copy */
        memcpy (t, a, na);
        if (nb)
            memcpy (t + na, b, nb);
        return img_sum (t, na + nb, seed);
    }
    uint64_t v[4] = { seed + P1 + P2, seed + P2, seed, seed - P1 };
    const uint8_t *p = stripes (v, a, (const uint8_t *) a + na), *q = b, *end = q + nb;
    size_t r = (size_t) ((const uint8_t *) a + na - p); /* a's last bytes: a stripe's start */
    if (r) {
        memcpy (t, p, r);
        if (nb < 32 - r) { /* all that is left is shorter than a stripe */
            memcpy (t + r, b, nb);
            return sum_finish (lanes (v) + (uint64_t) (na + nb), t, t + r + nb);
        }
        memcpy (t + r, b, 32 - r);
        stripes (v, t, t + 32);
        q += 32 - r;
    }
    q = stripes (v, q, end);
    return sum_finish (lanes (v) + (uint64_t) (na + nb), q, end);
}

/* ---- payloads: a cursor over bytes, bounded both ways ---------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool over;
} wcur_t;

static void w_bytes (wcur_t *w, const void *b, size_t k)
{
    if (w->over || w->cap - w->n < k) {
        w->over = true;
        return;
    }
    memcpy (w->p + w->n, b, k);
    w->n += k;
}

static void w32 (wcur_t *w, uint32_t v)
{
    w_bytes (w, &v, 4);
}

static void w64 (wcur_t *w, uint64_t v)
{
    w_bytes (w, &v, 8);
}

static void w_str (wcur_t *w, const char *s)
{
    size_t k = strnlen (s, IMG_PATH_MAX - 1);
    w32 (w, (uint32_t) k);
    w_bytes (w, s, k);
}

typedef struct {
    const uint8_t *p;
    size_t n, at;
    bool short_;
} rcur_t;

static uint32_t r32 (rcur_t *r)
{
    if (r->n - r->at < 4) {
        r->short_ = true;
        return 0;
    }
    uint32_t v = rd32 (r->p + r->at);
    r->at += 4;
    return v;
}

static uint64_t r64 (rcur_t *r)
{
    if (r->n - r->at < 8) {
        r->short_ = true;
        return 0;
    }
    uint64_t v = rd64 (r->p + r->at);
    r->at += 8;
    return v;
}

/* n bytes as they are (zeros when the record is short: finish says so) */
static void r_fixed (rcur_t *r, void *out, size_t n)
{
    if (r->short_ || r->n - r->at < n) {
        r->short_ = true;
        memset (out, 0, n);
        return;
    }
    memcpy (out, r->p + r->at, n);
    r->at += n;
}

/* A string of at most IMG_PATH_MAX - 1 bytes with no NUL in it. */
static int r_str (rcur_t *r, char *out, const char **why)
{
    uint32_t k = r32 (r);
    if (r->short_)
        return gl_why (why, "a record is shorter than its fields");
    if (k >= IMG_PATH_MAX)
        return gl_why (why, "a path is longer than PATH_MAX");
    if (r->n - r->at < k)
        return gl_why (why, "a string runs past its record");
    memcpy (out, r->p + r->at, k);
    out[k] = '\0';
    if (strlen (out) != k)
        return gl_why (why, "a string holds a NUL byte");
    r->at += k;
    return 0;
}

/* ---- records ------------------------------------------------------------------------- */

/* Header and sum around a payload already written at out + IMG_REC_HDR. */
static size_t seal (img_enc_t *e, img_type_t type, uint8_t *out, size_t len)
{
    uint32_t t = (uint32_t) type, l = (uint32_t) len;
    uint64_t sum = e->unsummed ? 0 : img_sum (out + IMG_REC_HDR, len, ((uint64_t) t << 32) | l);
    memcpy (out, &t, 4);
    memcpy (out + 4, &l, 4);
    memcpy (out + 8, &sum, 8);
    e->n_records++;
    e->chain = img_sum (&sum, 8, e->chain);
    e->bytes += IMG_REC_HDR + len;
    return IMG_REC_HDR + len;
}

static wcur_t payload (uint8_t *out, size_t cap)
{
    wcur_t w = { .p = out + IMG_REC_HDR, .cap = cap > IMG_REC_HDR ? cap - IMG_REC_HDR : 0 };
    w.over = cap < IMG_REC_HDR;
    return w;
}

size_t img_put_header (img_enc_t *e, uint8_t *out, size_t cap)
{
    if (cap < IMG_HDR_SIZE)
        return 0;
    memset (e, 0, sizeof *e);
    uint32_t v = IMG_VERSION, ps = IMG_PAGE;
    uint64_t flags = 0;
    memcpy (out, IMG_MAGIC, 8);
    memcpy (out + 8, &v, 4);
    memcpy (out + 12, &ps, 4);
    memcpy (out + 16, &flags, 8);
    uint64_t sum = img_sum (out, 24, 0);
    memcpy (out + 24, &sum, 8);
    e->bytes = IMG_HDR_SIZE;
    e->chain = sum;
    return IMG_HDR_SIZE;
}

size_t img_put_proc (img_enc_t *e, const img_proc_t *p, uint8_t *out, size_t cap)
{
    wcur_t w = payload (out, cap);
    w32 (&w, p->vpid);
    w32 (&w, p->vppid);
    w32 (&w, p->umask);
    w32 (&w, p->n_threads);
    w32 (&w, p->n_vmas);
    w32 (&w, p->n_fds);
    w64 (&w, p->xcr0);
    for (int i = 0; i < IMG_NRLIMIT; i++) {
        w64 (&w, p->rlim[i][0]);
        w64 (&w, p->rlim[i][1]);
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            w64 (&w, p->itimer[i][j]);
    for (int i = 0; i < IMG_NSIG; i++)
        for (int j = 0; j < 4; j++)
            w64 (&w, p->sigact[i][j]);
    for (int i = 0; i < IMG_NMM; i++)
        w64 (&w, p->mm[i]);
    w32 (&w, p->n_timers);
    for (uint32_t i = 0; i < p->n_timers && i < IMG_MAX_TIMERS; i++) {
        const img_ptimer_t *t = &p->timers[i];
        w32 (&w, t->id);
        w32 (&w, t->clockid);
        w32 (&w, t->notify);
        w32 (&w, t->signo);
        w64 (&w, t->value);
        w64 (&w, t->value_sec);
        w64 (&w, t->value_nsec);
        w64 (&w, t->interval_sec);
        w64 (&w, t->interval_nsec);
    }
    w_str (&w, p->cwd);
    return w.over ? 0 : seal (e, IMG_PROC, out, w.n);
}

size_t img_put_tree (img_enc_t *e, const img_tree_t *t, uint8_t *out, size_t cap)
{
    wcur_t w = payload (out, cap);
    w32 (&w, t->n);
    for (uint32_t i = 0; i < t->n && i < IMG_MAX_PROCS; i++) {
        w32 (&w, t->p[i].vpid);
        w32 (&w, t->p[i].vppid);
        w32 (&w, t->p[i].vpgid);
        w32 (&w, t->p[i].vsid);
        w32 (&w, t->p[i].flags);
    }
    return w.over || t->n > IMG_MAX_PROCS ? 0 : seal (e, IMG_TREE, out, w.n);
}

void img_enc_pass (img_enc_t *e, const img_rec_t *rec)
{
    uint64_t sum = rd64 (rec->payload - 8);
    e->n_records++;
    e->chain = img_sum (&sum, 8, e->chain);
    e->bytes += IMG_REC_HDR + rec->len;
}

size_t img_put_thread (img_enc_t *e, const img_thread_t *t, uint8_t *out, size_t cap)
{
    wcur_t w = payload (out, cap);
    w32 (&w, t->tid);
    w32 (&w, t->flags);
    w64 (&w, t->fs);
    for (int i = 0; i < IMG_NREG; i++)
        w64 (&w, t->reg[i]);
    w32 (&w, t->mxcsr);
    w32 (&w, t->fpucw);
    w64 (&w, t->tid_addr);
    w64 (&w, t->robust);
    w64 (&w, t->robust_len);
    w64 (&w, t->rseq);
    w32 (&w, t->rseq_len);
    w32 (&w, t->rseq_sig);
    w64 (&w, t->pending);
    char name[IMG_NAME_MAX] = { 0 }; /* the bytes after its NUL are zeros, as checked */
    memcpy (name, t->name, strnlen (t->name, IMG_NAME_MAX - 1));
    w_bytes (&w, name, sizeof name);
    if (t->flags & IMG_T_ATTRS) {
        w32 (&w, t->policy);
        w32 (&w, (uint32_t) t->nice);
        w32 (&w, t->rtprio);
        w32 (&w, t->pdeath);
        w32 (&w, t->persona);
        for (int i = 0; i < 3; i++)
            w64 (&w, t->caps[i]);
    }
    return w.over ? 0 : seal (e, IMG_THREAD, out, w.n);
}

size_t img_put_vma (img_enc_t *e, const img_vma_t *v, uint8_t *out, size_t cap)
{
    wcur_t w = payload (out, cap);
    w64 (&w, v->start);
    w64 (&w, v->end);
    w32 (&w, v->prot);
    w32 (&w, v->kind);
    w32 (&w, v->flags);
    w64 (&w, v->offset);
    w64 (&w, v->fsize);
    w64 (&w, v->mtime_sec);
    w32 (&w, v->mtime_nsec);
    w_str (&w, v->path);
    return w.over ? 0 : seal (e, IMG_VMA, out, w.n);
}

size_t img_put_fd (img_enc_t *e, const img_fd_t *f, uint8_t *out, size_t cap)
{
    wcur_t w = payload (out, cap);
    w32 (&w, f->fd);
    w32 (&w, f->kind);
    w32 (&w, f->stream);
    w32 (&w, f->flags);
    w32 (&w, f->cloexec);
    w64 (&w, f->pos);
    w64 (&w, f->fsize);
    w64 (&w, f->mtime_sec);
    w32 (&w, f->mtime_nsec);
    w_str (&w, f->path);
    w32 (&w, f->data_len);
    if (f->data_len)
        w_bytes (&w, f->data, f->data_len);
    return w.over ? 0 : seal (e, IMG_FD, out, w.n);
}

size_t img_pages_bound (uint32_t n_pages)
{
    return IMG_REC_HDR + 16 + (size_t) n_pages * IMG_PAGE;
}

size_t img_put_pages (img_enc_t *e, uint64_t addr, const uint8_t *src, uint32_t n_pages,
                      void *state, uint8_t *out, size_t cap)
{
    size_t raw = (size_t) n_pages * IMG_PAGE;
    if (n_pages == 0 || n_pages > IMG_CHUNK_PAGES || cap < img_pages_bound (n_pages))
        return 0;
    wcur_t w = payload (out, cap);
    w64 (&w, addr);
    w32 (&w, n_pages);
    uint32_t codec = IMG_RAW;
    int packed = 0;
    if (state && e->lz4_skip) { /* a long run that did not shrink: this part is raw */
        e->lz4_skip -= e->lz4_skip < n_pages ? e->lz4_skip : n_pages;
        state = NULL;
    }
    if (state) /* worth it only when it saves an eighth: else raw, which restores faster */
        packed =
            LZ4_compress_fast_extState (state, (const char *) src, (char *) out + IMG_REC_HDR + 16,
                                        (int) raw, (int) (raw - raw / 8), 1);
    if (packed > 0) {
        codec = IMG_LZ4;
        e->lz4_missed = 0;
    }
    /* a try costs CPU whether it shrinks or not: 0.03 s per 512 MiB of
       memory that does not (ckpt_work's), a tenth of the writer's work */
    else if (state && (e->lz4_missed += n_pages) >= IMG_LZ4_MISSES)
        e->lz4_skip = IMG_LZ4_SKIP;
    w32 (&w, codec);
    if (codec == IMG_LZ4)
        w.n += (size_t) packed;
    else
        w_bytes (&w, src, raw);
    return w.over ? 0 : seal (e, IMG_PAGES, out, w.n);
}

size_t img_put_end (img_enc_t *e, uint8_t *out, size_t cap)
{
    uint64_t n = e->n_records, chain = e->chain, bytes = e->bytes;
    wcur_t w = payload (out, cap);
    w64 (&w, n);
    w64 (&w, chain);
    w64 (&w, bytes);
    return w.over ? 0 : seal (e, IMG_END, out, w.n);
}

size_t img_put_fail (img_enc_t *e, const char *reason, uint32_t flags, uint8_t *out, size_t cap)
{
    wcur_t w = payload (out, cap);
    w_str (&w, reason);
    if (flags) /* none: the record as before there were flags */
        w32 (&w, flags);
    return w.over ? 0 : seal (e, IMG_FAIL, out, w.n);
}

/* ---- the decoder ------------------------------------------------------------------------ */

void img_dec_init (img_dec_t *d)
{
    memset (d, 0, sizeof *d);
}

bool img_dec_done (const img_dec_t *d)
{
    return d->stage == 99;
}

/* A record whose sum matched, judged by its place in the stream (the
   payload is read only for TREE and END, which always arrive whole). */
static int accept (img_dec_t *d, uint32_t type, uint32_t plen, uint64_t sum, const uint8_t *payload,
                   const char **why)
{
    /* 100: past the header; 101: past a tree image's TREE (before its first PROC) */
    int last = d->stage >= 100 ? 0 : d->stage;
    if (type == IMG_TREE) {
        if (d->stage != 100)
            return gl_why (why, "a TREE record that is not the first");
        uint32_t n = plen >= 4 ? rd32 (payload) : 0;
        if (n < 2 || n > IMG_MAX_PROCS)
            return gl_why (why, "a TREE record of fewer than 2 or more than 256 processes");
        if (plen != 4 + 20 * n)
            return gl_why (why, "the TREE record has the wrong length");
        /* a zombie has no PROC: the PROCs to come are the others */
        d->procs = n;
        for (uint32_t i = 0; i < n; i++)
            if (rd32 (payload + 4 + 20 * i + 16) & IMG_P_ZOMBIE)
                d->procs--;
        if (d->procs == 0)
            return gl_why (why, "a TREE record of zombies only");
    }
    else if (type != IMG_FAIL) {
        bool next_proc = d->procs && d->procs_seen < d->procs && last >= IMG_THREAD;
        if (type == IMG_PROC && last != 0 && !next_proc)
            return gl_why (why, d->procs ? "a PROC record more than the TREE lists, or one "
                                           "before the last process had a thread"
                                         : "a PROC record that is not the first");
        if (type != IMG_PROC && last == 0)
            return gl_why (why, "the first record is not PROC");
        if ((int) type < last && type != IMG_PROC)
            return gl_why (why, "records out of order");
        if (type > IMG_THREAD && last < IMG_THREAD)
            return gl_why (why, "an image without a thread");
        if (type == IMG_END && d->procs_seen != d->procs)
            return gl_why (why, "a tree image ends before all its processes");
        if (type == IMG_PROC && d->procs)
            d->procs_seen++;
    }
    if (type == IMG_TREE)
        d->stage = 101;
    else if (type == IMG_END) {
        if (plen != 24)
            return gl_why (why, "the END record has the wrong length");
        if (rd64 (payload) != d->n_records || rd64 (payload + 8) != d->chain ||
            rd64 (payload + 16) != d->bytes)
            return gl_why (why, "records are missing, repeated or reordered (END does not match)");
        d->stage = 99;
    }
    else if (type != IMG_FAIL)
        d->stage = (int) type;
    d->n_records++;
    d->chain = img_sum (&sum, 8, d->chain);
    d->bytes += IMG_REC_HDR + plen;
    return 0;
}

int img_dec_next (img_dec_t *d, const uint8_t *buf, size_t len, img_rec_t *rec, size_t *used,
                  const char **why)
{
    *used = 0;
    memset (rec, 0, sizeof *rec);
    if (d->stage == 99)
        return gl_why (why, "bytes follow the image's end");
    if (d->stage == 0) {
        if (len < IMG_HDR_SIZE)
            return 0;
        if (memcmp (buf, IMG_MAGIC, 8))
            return gl_why (why, "not a glunix image (no GLIMAGE header)");
        if (rd64 (buf + 24) != img_sum (buf, 24, 0))
            return gl_why (why, "the image's header is corrupt (its sum does not match)");
        if (rd32 (buf + 8) != IMG_VERSION)
            return gl_why (why, "the image is of another version of the format (this build reads "
                                "version 3, glunix-image(5))");
        if (rd32 (buf + 12) != IMG_PAGE)
            return gl_why (why, "the image's page size is not 4096");
        if (rd64 (buf + 16) != 0)
            return gl_why (why, "the image has flags this restorer does not know");
        d->chain = rd64 (buf + 24);
        d->bytes = IMG_HDR_SIZE;
        d->stage = IMG_HEADER + 100; /* past the header, before PROC */
        rec->type = IMG_HEADER;
        rec->page_size = IMG_PAGE;
        *used = IMG_HDR_SIZE;
        return 1;
    }
    if (len < IMG_REC_HDR)
        return 0;
    uint32_t type = rd32 (buf), plen = rd32 (buf + 4);
    uint64_t sum = rd64 (buf + 8);
    if (type < IMG_PROC || type > IMG_TREE)
        return gl_why (why, "a record of an unknown type");
    if (plen > IMG_REC_MAX)
        return gl_why (why, "a record longer than the format allows");
    if (len - IMG_REC_HDR < plen)
        return 0;
    if (!d->authenticated &&
        img_sum (buf + IMG_REC_HDR, plen, ((uint64_t) type << 32) | plen) != sum)
        return gl_why (why, "a record is corrupt (its sum does not match)");
    if (accept (d, type, plen, sum, buf + IMG_REC_HDR, why))
        return -1;
    rec->type = (img_type_t) type;
    rec->payload = buf + IMG_REC_HDR;
    rec->len = plen;
    *used = IMG_REC_HDR + plen;
    return 1;
}

int img_dec_pages_head (const img_dec_t *d, const uint8_t *head, size_t len, img_pages_t *pg)
{
    if (d->stage == 0 || d->stage == 99 || len < IMG_PAGES_HEAD || rd32 (head) != IMG_PAGES)
        return 0;
    uint32_t plen = rd32 (head + 4);
    if (plen > IMG_REC_MAX || len - IMG_REC_HDR >= plen)
        return 0; /* too long (img_dec_next says so), or all there */
    /* img_get_pages reads only the fields, which are there */
    img_rec_t rec = { .type = IMG_PAGES, .payload = head + IMG_REC_HDR, .len = plen };
    const char *why;
    if (img_get_pages (&rec, pg, &why) || pg->codec != IMG_RAW)
        return 0;
    pg->data = NULL;
    return 1;
}

int img_dec_pages_tail (img_dec_t *d, const uint8_t *head, const uint8_t *pages, img_rec_t *rec,
                        const char **why)
{
    memset (rec, 0, sizeof *rec);
    uint32_t plen = rd32 (head + 4);
    uint64_t sum = rd64 (head + 8);
    size_t fields = IMG_PAGES_HEAD - IMG_REC_HDR;
    if (rd32 (head) != IMG_PAGES || plen < fields || plen > IMG_REC_MAX)
        return gl_why (why, "not the head of a PAGES record");
    if (!d->authenticated && img_sum2 (head + IMG_REC_HDR, fields, pages, plen - fields,
                                       ((uint64_t) IMG_PAGES << 32) | plen) != sum)
        return gl_why (why, "a record is corrupt (its sum does not match)");
    if (accept (d, IMG_PAGES, plen, sum, head + IMG_REC_HDR, why))
        return -1;
    rec->type = IMG_PAGES;
    rec->payload = head + IMG_REC_HDR;
    rec->len = plen;
    return 1;
}

/* ---- the payloads, checked ------------------------------------------------------------------ */

static rcur_t reader (const img_rec_t *r)
{
    return (rcur_t){ .p = r->payload, .n = r->len };
}

static int finish (rcur_t *r, const char **why)
{
    if (r->short_)
        return gl_why (why, "a record is shorter than its fields");
    if (r->at != r->n)
        return gl_why (why, "a record is longer than its fields");
    return 0;
}

static bool user_addr (uint64_t a)
{
    return a > 0 && a < IMG_USER_TOP;
}

/* The layout as prctl(PR_SET_MM_MAP) would take it: in user space, its
   pairs in order; or all 0 (not known). */
static int mm_check (const uint64_t *mm, const char **why)
{
    bool any = false;
    for (int i = 0; i < IMG_NMM; i++) {
        if (mm[i] >= IMG_USER_TOP)
            return gl_why (why, "PROC: an address of the process's layout is outside user space");
        any |= mm[i] != 0;
    }
    if (any &&
        (mm[IMG_MM_START_CODE] >= mm[IMG_MM_END_CODE] ||
         mm[IMG_MM_START_DATA] > mm[IMG_MM_END_DATA] || mm[IMG_MM_START_BRK] > mm[IMG_MM_BRK] ||
         mm[IMG_MM_ARG_START] > mm[IMG_MM_ARG_END] || mm[IMG_MM_ENV_START] > mm[IMG_MM_ENV_END]))
        return gl_why (why, "PROC: the process's layout has a start above its end");
    return 0;
}

/* POSIX timers as timer_create(2) and timer_settime(2) take them: a
   clock a process may set one on (CLOCK_REALTIME, _MONOTONIC,
   _PROCESS_CPUTIME_ID, _BOOTTIME, _REALTIME_ALARM, _BOOTTIME_ALARM,
   _TAI), a signal for SIGEV_SIGNAL, distinct ids, in increasing order. */
static int timers_check (const img_proc_t *p, const char **why)
{
    for (uint32_t i = 0; i < p->n_timers; i++) {
        const img_ptimer_t *t = &p->timers[i];
        uint32_t c = t->clockid;
        if (c != 0 && c != 1 && c != 2 && c != 7 && c != 8 && c != 9 && c != 11)
            return gl_why (why, "PROC: a POSIX timer on a clock it cannot be set on");
        if (t->notify > 1 || (t->notify == 0 && (t->signo == 0 || t->signo > IMG_NSIG)))
            return gl_why (why, "PROC: a POSIX timer's notification or signal out of range");
        if (t->id > (uint32_t) INT32_MAX || (i && t->id <= p->timers[i - 1].id))
            return gl_why (why, "PROC: POSIX timer ids out of range, repeated or out of order");
        if (t->value_nsec >= 1000000000u || t->interval_nsec >= 1000000000u ||
            t->value_sec > (uint64_t) INT64_MAX || t->interval_sec > (uint64_t) INT64_MAX)
            return gl_why (why, "PROC: a POSIX timer's times out of range");
    }
    return 0;
}

/* A task's name: up to 15 bytes and a NUL, nothing after it. */
static int name_check (const char *name, const char **why)
{
    size_t k = strnlen (name, IMG_NAME_MAX);
    if (k == IMG_NAME_MAX)
        return gl_why (why, "THREAD: a name of more than 15 bytes");
    while (k < IMG_NAME_MAX)
        if (name[k++])
            return gl_why (why, "THREAD: bytes after its name's end");
    return 0;
}

int img_get_proc (const img_rec_t *rec, img_proc_t *p, const char **why)
{
    rcur_t r = reader (rec);
    if (rec->type != IMG_PROC)
        return gl_why (why, "not a PROC record");
    p->vpid = r32 (&r);
    p->vppid = r32 (&r);
    p->umask = r32 (&r);
    p->n_threads = r32 (&r);
    p->n_vmas = r32 (&r);
    p->n_fds = r32 (&r);
    p->xcr0 = r64 (&r);
    for (int i = 0; i < IMG_NRLIMIT; i++) {
        p->rlim[i][0] = r64 (&r);
        p->rlim[i][1] = r64 (&r);
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            p->itimer[i][j] = r64 (&r);
    for (int i = 0; i < IMG_NSIG; i++)
        for (int j = 0; j < 4; j++)
            p->sigact[i][j] = r64 (&r);
    for (int i = 0; i < IMG_NMM; i++)
        p->mm[i] = r64 (&r);
    p->n_timers = r32 (&r);
    if (p->n_timers > IMG_MAX_TIMERS)
        return gl_why (why, "PROC: more than 32 POSIX timers");
    for (uint32_t i = 0; i < p->n_timers; i++) {
        img_ptimer_t *t = &p->timers[i];
        t->id = r32 (&r);
        t->clockid = r32 (&r);
        t->notify = r32 (&r);
        t->signo = r32 (&r);
        t->value = r64 (&r);
        t->value_sec = r64 (&r);
        t->value_nsec = r64 (&r);
        t->interval_sec = r64 (&r);
        t->interval_nsec = r64 (&r);
    }
    if (r_str (&r, p->cwd, why) || finish (&r, why))
        return -1;
    if (mm_check (p->mm, why) || timers_check (p, why))
        return -1;
    if (p->n_threads == 0 || p->n_threads > IMG_MAX_THREADS)
        return gl_why (why, "PROC: the number of threads is 0 or above 1024");
    if (p->n_vmas == 0 || p->n_vmas > IMG_MAX_VMAS)
        return gl_why (why, "PROC: the number of mappings is 0 or above 65536");
    if (p->n_fds > IMG_MAX_FDS)
        return gl_why (why, "PROC: the number of descriptors is above 65536");
    if (p->umask > 0777)
        return gl_why (why, "PROC: the umask is above 0777");
    if (p->cwd[0] != '/')
        return gl_why (why, "PROC: the working directory is not an absolute path");
    for (int i = 0; i < 3; i++)
        if (p->itimer[i][1] >= 1000000 || p->itimer[i][3] >= 1000000)
            return gl_why (why, "PROC: an interval timer's microseconds are 1000000 or more");
    for (int i = 0; i < IMG_NRLIMIT; i++)
        if (p->rlim[i][0] > p->rlim[i][1])
            return gl_why (why, "PROC: a soft limit is above its hard limit");
    return 0;
}

/* Index of vpid in the first n entries of t, or -1. */
static int tree_find (const img_tree_t *t, uint32_t n, uint32_t vpid)
{
    for (uint32_t i = 0; i < n; i++)
        if (t->p[i].vpid == vpid)
            return (int) i;
    return -1;
}

/* A wait status a zombie can have: an exit code (0-255), or a signal
   whose default action ends the process (the core-dumped bit is not
   kept: restore_tree.c ends the process with RLIMIT_CORE 0). */
static bool zombie_status (uint32_t st)
{
    uint32_t sig = st & 0x7f;
    if (sig == 0)
        return (st & ~0xff00u) == 0;
    if (st & ~0x7fu) /* a stop, or the core bit */
        return false;
    /* SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG,
       SIGWINCH do not end a process by default; past 64, no signal */
    return sig <= 64 && sig != 17 && sig != 18 && sig != 19 && sig != 20 && sig != 21 &&
           sig != 22 && sig != 23 && sig != 28;
}

int img_get_tree (const img_rec_t *rec, img_tree_t *t, const char **why)
{
    rcur_t r = reader (rec);
    if (rec->type != IMG_TREE)
        return gl_why (why, "not a TREE record");
    t->n = r32 (&r);
    if (t->n < 2 || t->n > IMG_MAX_PROCS)
        return gl_why (why, "TREE: fewer than 2 or more than 256 processes");
    for (uint32_t i = 0; i < t->n; i++) {
        t->p[i].vpid = r32 (&r);
        t->p[i].vppid = r32 (&r);
        t->p[i].vpgid = r32 (&r);
        t->p[i].vsid = r32 (&r);
        t->p[i].flags = r32 (&r);
    }
    if (finish (&r, why))
        return -1;
    const img_tproc_t *root = &t->p[0];
    for (uint32_t i = 0; i < t->n; i++) {
        const img_tproc_t *p = &t->p[i];
        /* a group or session id of 0 is the kernel's word for one whose
           leader lives outside the process's pid namespace (a container,
           unshare -p): fine for the root's, which stays outside */
        if (p->vpid == 0 || p->vpid > (1u << 22) || p->vppid > (1u << 22) ||
            p->vpgid > (1u << 22) || p->vsid > (1u << 22))
            return gl_why (why, "TREE: a process id out of range");
        bool zombie = p->flags & IMG_P_ZOMBIE;
        if ((p->flags & 0xffff & ~(uint32_t) (IMG_P_ROOT | IMG_P_ZOMBIE)) ||
            (i == 0) != ((p->flags & IMG_P_ROOT) != 0))
            return gl_why (why, "TREE: the root is not the first process, or not the only one");
        if (zombie && i == 0)
            return gl_why (why, "TREE: the root is a zombie");
        if (!zombie && IMG_P_STATUS (p->flags))
            return gl_why (why, "TREE: a wait status for a process that is no zombie");
        if (zombie && !zombie_status (IMG_P_STATUS (p->flags)))
            return gl_why (why, "TREE: a zombie's status is neither an exit code nor a signal "
                                "that ends a process");
        int parent = i ? tree_find (t, i, p->vppid) : -1;
        if (parent >= 0 && (t->p[parent].flags & IMG_P_ZOMBIE))
            return gl_why (why, "TREE: a zombie with children");
        if (tree_find (t, i, p->vpid) >= 0)
            return gl_why (why, "TREE: a process id listed twice");
        if (i && tree_find (t, i, p->vppid) < 0)
            return gl_why (why, "TREE: a process listed before its parent, or whose parent is "
                                "not in the tree");
        if (i && p->vpgid != root->vpgid && tree_find (t, t->n, p->vpgid) < 0)
            return gl_why (why, "TREE: a process group neither the tree's nor the root's");
        if (i && p->vsid != root->vsid && tree_find (t, t->n, p->vsid) < 0)
            return gl_why (why, "TREE: a session neither the tree's nor the root's");
    }
    if (tree_find (t, t->n, root->vppid) >= 0)
        return gl_why (why, "TREE: the root's parent is in the tree");
    return 0;
}

/* A policy Linux has that an unprivileged process may hold or ask
   for (SCHED_DEADLINE's parameters are not carried), with or without
   SCHED_RESET_ON_FORK; a nice value and a real-time priority in range,
   the latter only with a real-time policy. */
static int sched_check (const img_thread_t *t, const char **why)
{
    uint32_t pol = t->policy & ~(uint32_t) IMG_SCHED_RESET_ON_FORK;
    bool rt = pol == 1 || pol == 2;              /* SCHED_FIFO, SCHED_RR */
    if (pol != 0 && !rt && pol != 3 && pol != 5) /* SCHED_OTHER, _BATCH, _IDLE */
        return gl_why (why, "THREAD: an unknown scheduling policy");
    if (t->nice < -20 || t->nice > 19)
        return gl_why (why, "THREAD: a nice value outside -20..19");
    if (t->rtprio > 99 || (t->rtprio == 0) == rt)
        return gl_why (why,
                       "THREAD: a real-time priority outside 1..99, or one without its policy");
    return 0;
}

int img_get_thread (const img_rec_t *rec, img_thread_t *t, const char **why)
{
    rcur_t r = reader (rec);
    if (rec->type != IMG_THREAD)
        return gl_why (why, "not a THREAD record");
    t->tid = r32 (&r);
    t->flags = r32 (&r);
    t->fs = r64 (&r);
    for (int i = 0; i < IMG_NREG; i++)
        t->reg[i] = r64 (&r);
    t->mxcsr = r32 (&r);
    t->fpucw = r32 (&r);
    t->tid_addr = r64 (&r);
    t->robust = r64 (&r);
    t->robust_len = r64 (&r);
    t->rseq = r64 (&r);
    t->rseq_len = r32 (&r);
    t->rseq_sig = r32 (&r);
    t->pending = r64 (&r);
    r_fixed (&r, t->name, sizeof t->name);
    t->policy = 0, t->nice = 0, t->rtprio = 0, t->pdeath = 0, t->persona = 0;
    memset (t->caps, 0, sizeof t->caps);
    if (t->flags & IMG_T_ATTRS) {
        t->policy = r32 (&r);
        t->nice = (int32_t) r32 (&r);
        t->rtprio = r32 (&r);
        t->pdeath = r32 (&r);
        t->persona = r32 (&r);
        for (int i = 0; i < 3; i++)
            t->caps[i] = r64 (&r);
    }
    if (finish (&r, why) || name_check (t->name, why))
        return -1;
    if (t->tid == 0 || t->tid > (1u << 22))
        return gl_why (why, "THREAD: a thread id out of range");
    if (t->flags & ~(uint32_t) (IMG_T_LEADER | IMG_T_COORD | IMG_T_ATTRS | IMG_T_NNP |
                                IMG_T_NODUMP | IMG_T_SUBREAPER))
        return gl_why (why, "THREAD: unknown flags");
    if ((t->flags & (IMG_T_NODUMP | IMG_T_SUBREAPER)) && !(t->flags & IMG_T_LEADER))
        return gl_why (why, "THREAD: the process's own flags on a thread not its leader");
    if (t->pdeath > 64)
        return gl_why (why, "THREAD: a parent-death signal above 64");
    if (t->caps[0] & ~t->caps[1])
        return gl_why (why, "THREAD: effective capabilities not all permitted");
    if (sched_check (t, why))
        return -1;
    if (!user_addr (t->fs) || !user_addr (t->reg[IMG_R_RSP]) || !user_addr (t->reg[IMG_R_RIP]) ||
        !user_addr (t->tid_addr) || (t->tid_addr & 3))
        return gl_why (why, "THREAD: an address outside user space");
    if (t->rseq &&
        (!user_addr (t->rseq) || (t->rseq & 31) || t->rseq_len < 32 || t->rseq_len > 4096))
        return gl_why (why, "THREAD: an rseq area that cannot be registered");
    if (t->mxcsr & 0xffff0000u)
        return gl_why (why, "THREAD: reserved MXCSR bits set");
    return 0;
}

int img_get_vma (const img_rec_t *rec, img_vma_t *v, const char **why)
{
    rcur_t r = reader (rec);
    if (rec->type != IMG_VMA)
        return gl_why (why, "not a VMA record");
    v->start = r64 (&r);
    v->end = r64 (&r);
    v->prot = r32 (&r);
    v->kind = r32 (&r);
    v->flags = r32 (&r);
    v->offset = r64 (&r);
    v->fsize = r64 (&r);
    v->mtime_sec = r64 (&r);
    v->mtime_nsec = r32 (&r);
    if (r_str (&r, v->path, why) || finish (&r, why))
        return -1;
    if (v->start >= v->end || (v->start | v->end | v->offset) % IMG_PAGE || v->end > IMG_USER_TOP ||
        v->start < IMG_PAGE)
        return gl_why (why, "VMA: a range that is empty, unaligned or outside user space");
    if (v->prot > 7)
        return gl_why (why, "VMA: unknown protection bits");
    if (v->kind < IMG_V_ANON || v->kind > IMG_V_FILE_SH)
        return gl_why (why, "VMA: an unknown kind of mapping");
    if (v->flags > (IMG_VF_HUGE | IMG_VF_NOHUGE | IMG_VF_DONTFORK | IMG_VF_WIPEONFORK |
                    IMG_VF_LOCKED | IMG_VF_ONFAULT) ||
        (v->flags & (IMG_VF_HUGE | IMG_VF_NOHUGE)) == (IMG_VF_HUGE | IMG_VF_NOHUGE) ||
        (v->flags & (IMG_VF_LOCKED | IMG_VF_ONFAULT)) == IMG_VF_ONFAULT)
        return gl_why (why, "VMA: unknown flags, or advice for huge pages both ways");
    if ((v->flags & IMG_VF_WIPEONFORK) && v->kind != IMG_V_ANON && v->kind != IMG_V_STACK)
        return gl_why (why, "VMA: wiped in a fork, but not private anonymous memory");
    if ((v->kind == IMG_V_FILE || v->kind == IMG_V_FILE_RO || v->kind == IMG_V_FILE_SH) &&
        v->path[0] != '/')
        return gl_why (why, "VMA: a file mapping without an absolute path");
    if (v->kind == IMG_V_FILE_RO && (v->prot & 2))
        return gl_why (why, "VMA: a shared file mapping with write access");
    if (v->kind == IMG_V_SPECIAL && v->path[0] != '[')
        return gl_why (why, "VMA: a special mapping without its name");
    if ((v->kind == IMG_V_ANON || v->kind == IMG_V_STACK) && v->fsize)
        return gl_why (why, "VMA: a private anonymous mapping with the id of a shared object");
    if (v->mtime_nsec >= 1000000000u)
        return gl_why (why, "VMA: a modification time's nanoseconds are 1e9 or more");
    return 0;
}

void img_get_timerfd (const img_fd_t *f, img_timerfd_t *t)
{
    const uint8_t *d = f->data;
    t->clockid = rd32 (d);
    t->settime_flags = rd32 (d + 4);
    t->ticks = rd64 (d + 8);
    t->value_sec = rd64 (d + 16);
    t->value_nsec = rd64 (d + 24);
    t->interval_sec = rd64 (d + 32);
    t->interval_nsec = rd64 (d + 40);
}

void img_put_timerfd (const img_timerfd_t *t, uint8_t *out)
{
    wcur_t w = { .p = out, .n = 0, .cap = IMG_TIMERFD_SIZE };
    w32 (&w, t->clockid);
    w32 (&w, t->settime_flags);
    w64 (&w, t->ticks);
    w64 (&w, t->value_sec);
    w64 (&w, t->value_nsec);
    w64 (&w, t->interval_sec);
    w64 (&w, t->interval_nsec);
}

void img_get_tty (const img_fd_t *f, img_tty_t *t)
{
    const uint8_t *d = f->data;
    t->iflag = rd32 (d);
    t->oflag = rd32 (d + 4);
    t->cflag = rd32 (d + 8);
    t->lflag = rd32 (d + 12);
    t->line = d[16];
    memcpy (t->cc, d + 17, IMG_TTY_NCC);
    t->ispeed = rd32 (d + 36);
    t->ospeed = rd32 (d + 40);
    t->rows = (uint16_t) (d[44] | d[45] << 8);
    t->cols = (uint16_t) (d[46] | d[47] << 8);
    t->xpixel = (uint16_t) (d[48] | d[49] << 8);
    t->ypixel = (uint16_t) (d[50] | d[51] << 8);
    t->flags = rd32 (d + 52);
}

void img_put_tty (const img_tty_t *t, uint8_t *out)
{
    wcur_t w = { .p = out, .n = 0, .cap = IMG_TTY_SIZE };
    w32 (&w, t->iflag);
    w32 (&w, t->oflag);
    w32 (&w, t->cflag);
    w32 (&w, t->lflag);
    w_bytes (&w, &t->line, 1);
    w_bytes (&w, t->cc, IMG_TTY_NCC);
    w32 (&w, t->ispeed);
    w32 (&w, t->ospeed);
    uint8_t ws[8] = { (uint8_t) t->rows,   (uint8_t) (t->rows >> 8),
                      (uint8_t) t->cols,   (uint8_t) (t->cols >> 8),
                      (uint8_t) t->xpixel, (uint8_t) (t->xpixel >> 8),
                      (uint8_t) t->ypixel, (uint8_t) (t->ypixel >> 8) };
    w_bytes (&w, ws, sizeof ws);
    w32 (&w, t->flags);
}

void img_get_epoll_reg (const img_fd_t *f, uint32_t k, uint32_t *fd, uint32_t *events,
                        uint64_t *data)
{
    const uint8_t *d = f->data + (size_t) k * IMG_EPOLL_REG;
    *fd = rd32 (d);
    *events = rd32 (d + 4);
    *data = rd64 (d + 8);
}

void img_get_inotify_watch (const img_fd_t *f, uint32_t k, uint32_t *wd, uint32_t *mask,
                            uint32_t *fd)
{
    const uint8_t *d = f->data + (size_t) k * IMG_INOTIFY_REG;
    *wd = rd32 (d);
    *mask = rd32 (d + 4);
    *fd = rd32 (d + 8);
}

bool img_watched_fd (const img_fd_t *f, uint32_t k, uint32_t *fd)
{
    size_t reg = f->kind == IMG_F_EPOLL     ? IMG_EPOLL_REG
                 : f->kind == IMG_F_INOTIFY ? IMG_INOTIFY_REG
                                            : 0;
    if (!reg || k >= f->data_len / reg)
        return false;
    *fd = rd32 (f->data + (size_t) k * reg + (f->kind == IMG_F_EPOLL ? 0 : 8));
    return true;
}

/* The state of an eventfd, a timerfd, a signalfd, an epoll or an inotify
   instance, as the calls that make them again take it. */
static int kernel_object_check (const img_fd_t *f, const char **why)
{
    if (f->kind == IMG_F_EVENTFD && (f->fsize == UINT64_MAX || f->pos > 1))
        return gl_why (why, "FD: an eventfd's counter or mode out of range");
    if (f->kind == IMG_F_TIMERFD) {
        if (f->data_len != IMG_TIMERFD_SIZE)
            return gl_why (why, "FD: a timerfd's state of the wrong size");
        img_timerfd_t t;
        img_get_timerfd (f, &t);
        /* CLOCK_REALTIME, _MONOTONIC, _BOOTTIME, _REALTIME_ALARM, _BOOTTIME_ALARM */
        if ((t.clockid != 0 && t.clockid != 1 && t.clockid != 7 && t.clockid != 8 &&
             t.clockid != 9) ||
            t.settime_flags > 3 || t.value_nsec >= 1000000000u || t.interval_nsec >= 1000000000u ||
            t.value_sec > (uint64_t) INT64_MAX || t.interval_sec > (uint64_t) INT64_MAX)
            return gl_why (why, "FD: a timerfd's clock, flags or times out of range");
    }
    if (f->kind == IMG_F_EPOLL) {
        if (f->data_len % IMG_EPOLL_REG)
            return gl_why (why, "FD: an epoll instance's registrations of the wrong size");
        for (uint32_t k = 0; k < f->data_len / IMG_EPOLL_REG; k++) {
            uint32_t fd, events;
            uint64_t data;
            img_get_epoll_reg (f, k, &fd, &events, &data);
            if (fd >= (1u << 20) || fd == f->fd)
                return gl_why (why, "FD: an epoll instance watches a descriptor out of range, "
                                    "or itself");
        }
    }
    if (f->kind == IMG_F_INOTIFY) {
        if (f->data_len % IMG_INOTIFY_REG || f->data_len / IMG_INOTIFY_REG > IMG_INOTIFY_MAX)
            return gl_why (why, "FD: an inotify instance's watches of the wrong size");
        uint32_t last = 0;
        for (uint32_t k = 0; k < f->data_len / IMG_INOTIFY_REG; k++) {
            uint32_t wd, mask, fd;
            img_get_inotify_watch (f, k, &wd, &mask, &fd);
            if (wd <= last || wd > INT32_MAX || !mask || fd >= (1u << 20) || fd == f->fd)
                return gl_why (why, "FD: an inotify instance's watches out of order, without "
                                    "events, or through a descriptor out of range or itself");
            last = wd;
        }
    }
    return 0;
}

/* A unix socket's end: its type, flags and ids, and its records each
   whole within the bytes. */
static int usock_check (const img_fd_t *f, const char **why)
{
    if (f->kind != IMG_F_USOCK)
        return 0;
    if ((f->mtime_sec != 1 && f->mtime_sec != 2 && f->mtime_sec != 5) ||
        f->mtime_nsec > (IMG_US_RDSHUT | IMG_US_PASSCRED) || f->stream > (uint32_t) INT32_MAX ||
        f->fsize == 0 || f->fsize > UINT32_MAX || f->pos > UINT32_MAX || f->pos == f->fsize ||
        (f->flags & 3) != 2)
        return gl_why (why, "FD: a unix socket's type, flags, ids or direction out of range");
    if ((f->mtime_nsec & IMG_US_PASSCRED) && f->data_len)
        return gl_why (why, "FD: bytes queued in a unix socket that takes credentials");
    for (uint32_t at = 0; f->mtime_sec != 1 && at < f->data_len;) {
        if (f->data_len - at < 4)
            return gl_why (why, "FD: a unix socket's record cut in its length");
        uint32_t n = rd32 (f->data + at);
        if (n > f->data_len - at - 4)
            return gl_why (why, "FD: a unix socket's record runs past its bytes");
        at += 4 + n;
    }
    return 0;
}

int img_get_fd (const img_rec_t *rec, img_fd_t *f, const char **why)
{
    rcur_t r = reader (rec);
    if (rec->type != IMG_FD)
        return gl_why (why, "not an FD record");
    f->fd = r32 (&r);
    f->kind = r32 (&r);
    f->stream = r32 (&r);
    f->flags = r32 (&r);
    f->cloexec = r32 (&r);
    f->pos = r64 (&r);
    f->fsize = r64 (&r);
    f->mtime_sec = r64 (&r);
    f->mtime_nsec = r32 (&r);
    if (r_str (&r, f->path, why))
        return -1;
    f->data_len = r32 (&r);
    if (r.short_)
        return gl_why (why, "a record is shorter than its fields");
    if (f->data_len > IMG_PIPE_MAX || r.n - r.at < f->data_len)
        return gl_why (why, "FD: a pipe's bytes run past the record or the largest pipe");
    f->data = r.p + r.at;
    r.at += f->data_len;
    if (finish (&r, why))
        return -1;
    if (f->fd >= (1u << 20))
        return gl_why (why, "FD: a descriptor number above 2^20");
    if (f->kind < IMG_F_STREAM || f->kind > IMG_F_INOTIFY)
        return gl_why (why, "FD: an unknown kind of descriptor");
    if (f->data_len && f->kind != IMG_F_PIPE && f->kind != IMG_F_TIMERFD &&
        f->kind != IMG_F_EPOLL && f->kind != IMG_F_USOCK && f->kind != IMG_F_SHMFD &&
        f->kind != IMG_F_DIR && f->kind != IMG_F_TTY && f->kind != IMG_F_INOTIFY)
        return gl_why (why, "FD: bytes for a descriptor that is neither a pipe, a socket, "
                            "shared memory, a directory, a terminal, a timerfd, an epoll "
                            "nor an inotify instance");
    if (f->kind == IMG_F_DIR && (!f->pos != !f->data_len || f->data_len > 255 ||
                                 (f->data_len && (memchr (f->data, '/', f->data_len) ||
                                                  memchr (f->data, '\0', f->data_len)))))
        return gl_why (why, "FD: a directory being read without the name of its entry there");
    if (f->kind == IMG_F_SHMFD &&
        (f->data_len != f->fsize || !f->mtime_sec || (f->flags & 3) > 2 || !f->path[0]))
        return gl_why (why, "FD: shared memory's bytes, id, direction or name out of range");
    if (kernel_object_check (f, why) || usock_check (f, why))
        return -1;
    if (f->kind == IMG_F_PIPE &&
        (f->pos < 4096 || f->pos > IMG_PIPE_MAX || f->data_len > f->pos || (f->flags & 3) > 1))
        return gl_why (why, "FD: a pipe's capacity, bytes or direction out of range");
    if ((f->kind == IMG_F_STREAM || f->kind == IMG_F_TTY) && f->stream > 2)
        return gl_why (why, "FD: a stream other than 0, 1 or 2");
    if (f->kind == IMG_F_TTY &&
        (f->data_len != IMG_TTY_SIZE || rd32 (f->data + 52) > 3 || f->data[16] >= 64))
        return gl_why (why, "FD: a terminal's state of the wrong size, or a line discipline or "
                            "flags out of range");
    if ((f->kind == IMG_F_FILE || f->kind == IMG_F_DEV || f->kind == IMG_F_DIR) &&
        f->path[0] != '/')
        return gl_why (why, "FD: a file without an absolute path");
    if (f->cloexec > 1 || f->mtime_nsec >= 1000000000u || f->pos > (uint64_t) INT64_MAX)
        return gl_why (why, "FD: a field out of range");
    return 0;
}

int img_get_fail (const img_rec_t *rec, char *reason, uint32_t *flags, const char **why)
{
    rcur_t r = reader (rec);
    reason[0] = '\0';
    *flags = 0;
    if (rec->type != IMG_FAIL)
        return gl_why (why, "not a FAIL record");
    if (r_str (&r, reason, why))
        return -1;
    if (r.at < r.n)
        *flags = r32 (&r);
    if (finish (&r, why))
        return -1;
    if (*flags & ~IMG_FAIL_AGAIN)
        return gl_why (why, "a FAIL record with flags this reader does not know");
    return 0;
}

int img_get_pages (const img_rec_t *rec, img_pages_t *pg, const char **why)
{
    rcur_t r = reader (rec);
    if (rec->type != IMG_PAGES)
        return gl_why (why, "not a PAGES record");
    pg->addr = r64 (&r);
    pg->n_pages = r32 (&r);
    pg->codec = r32 (&r);
    if (r.short_)
        return gl_why (why, "a record is shorter than its fields");
    pg->data = r.p + r.at;
    pg->len = (uint32_t) (r.n - r.at);
    if (pg->n_pages == 0 || pg->n_pages > IMG_CHUNK_PAGES)
        return gl_why (why, "PAGES: a count of pages of 0 or above 256");
    if (pg->addr % IMG_PAGE || !user_addr (pg->addr) ||
        pg->addr + (uint64_t) pg->n_pages * IMG_PAGE > IMG_USER_TOP)
        return gl_why (why, "PAGES: an address unaligned or outside user space");
    size_t raw = (size_t) pg->n_pages * IMG_PAGE;
    if (pg->codec == IMG_RAW && pg->len != raw)
        return gl_why (why, "PAGES: raw pages of the wrong length");
    if (pg->codec == IMG_LZ4 && (pg->len == 0 || pg->len >= raw))
        return gl_why (why, "PAGES: packed pages no shorter than raw ones");
    if (pg->codec > IMG_LZ4)
        return gl_why (why, "PAGES: an unknown compression");
    return 0;
}

int img_unpack (const img_pages_t *pg, uint8_t *dst, const char **why)
{
    size_t raw = (size_t) pg->n_pages * IMG_PAGE;
    if (pg->codec == IMG_RAW) {
        memcpy (dst, pg->data, raw);
        return 0;
    }
    int k = LZ4_decompress_safe ((const char *) pg->data, (char *) dst, (int) pg->len, (int) raw);
    if (k != (int) raw)
        return gl_why (why, "PAGES: the packed pages do not unpack to their size");
    return 0;
}
