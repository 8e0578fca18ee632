/*  restore.c -- the restorer's first stage (restore.h says what it
    does, restore_impl.h what it hands the second). */
#include "restore.h"

#include "ckpt_proto.h"
#include "err.h"
#include "fd.h"
#include "image.h"
#include "kobj.h"
#include "unixsock.h"
#include "restore_impl.h"
#include "restore_tree.h"
#include "str.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof ((rp_thread_t *) 0)->name == IMG_NAME_MAX, "a thread's name");
_Static_assert(offsetof (struct prctl_mm_map, start_code) == IMG_MM_START_CODE * 8 &&
                   offsetof (struct prctl_mm_map, env_end) == IMG_MM_ENV_END * 8 &&
                   offsetof (struct prctl_mm_map, brk) == IMG_MM_BRK * 8 &&
                   offsetof (struct prctl_mm_map, start_stack) == IMG_MM_START_STACK * 8,
               "image.h's layout is prctl_mm_map's");

#define HOLE_START 0x200000000000ull /* above ASan's shadow, below where mmap places things */
#define HUGE       (2ull << 20)      /* a transparent huge page (x86-64's PMD) */

typedef struct {
    uint64_t off, len;
} run_t;

typedef struct {
    uint64_t start, end, offset, fsize, mtime_sec;
    uint32_t prot, kind, flags, mtime_nsec;
    char *path;
    uint8_t *stage; /* its pages, staged; NULL: none came */
    uint64_t top;   /* the end of the highest pages staged so far */
    bool shared;    /* stage: another process's too (rst_share), moved to a hole of ours first */
    run_t *runs;    /* of a file mapping: the pages that came */
    size_t n_runs, cap_runs;
} rv_t;

typedef struct {
    img_fd_t f; /* path unused: see path */
    char *path;
    uint8_t *data; /* a pipe's bytes */
    int tmp;       /* opened, high, until placed */
    int other;     /* a pipe's or socket pair's other end, while its ends are placed */
} rf_t;

typedef struct {
    char name[16];
    uint64_t start, end;
} special_t;

struct rst {
    img_proc_t proc;
    bool have_proc;
    img_thread_t *thr;
    size_t n_thr;
    rv_t *vma;
    size_t n_vma;
    rf_t *fd;
    size_t n_fd;
    uint64_t hole;
    uint64_t bytes, pages, records;
    special_t cur[8];
    size_t n_cur;
    /* a process of a tree (restore_tree.h): its pipes' ends made by the
       tree, by the index of its FD records; the tree's id table */
    const int *pipe_ends;
    const pidmap_t *pidmap;
};
typedef struct rst st_t;

static uint64_t now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* ---- where the image has nothing ------------------------------------------------------------- */

/* The first mapping of the image that ends above a. */
static const rv_t *vma_above (const st_t *s, uint64_t a)
{
    size_t lo = 0, hi = s->n_vma;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->vma[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_vma ? &s->vma[lo] : NULL;
}

/* len bytes mapped where the image has nothing and this process has
   nothing either, with a page of room either side; like: 0, or the
   address the bytes will be moved to, which the staging then matches
   modulo 2 MiB, so that huge pages move whole. */
static void *hole_map (st_t *s, size_t len, bool shared, uint64_t like)
{
    if (!s->hole)
        s->hole = HOLE_START;
    for (int tries = 0; tries < 4096; tries++) {
        uint64_t a = s->hole;
        if (like)
            a += (like - a) & (HUGE - 1);
        if (a + len + IMG_PAGE >= IMG_USER_TOP)
            return NULL;
        const rv_t *v = vma_above (s, a);
        if (v && v->start < a + len + IMG_PAGE) {
            s->hole = v->end + IMG_PAGE;
            continue;
        }
        void *p = mmap ((void *) (uintptr_t) a, len, PROT_READ | PROT_WRITE,
                        (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_NORESERVE |
                            MAP_FIXED_NOREPLACE,
                        -1, 0);
        if (p == MAP_FAILED) {
            if (errno != EEXIST)
                return NULL;
            s->hole = a + (1ull << 30);
            continue;
        }
        s->hole = a + ((len + IMG_PAGE - 1) & ~(uint64_t) (IMG_PAGE - 1)) + IMG_PAGE;
        return p;
    }
    return NULL;
}

/* ---- reading -------------------------------------------------------------------------------- */

static rv_t *vma_of (st_t *s, uint64_t addr, uint64_t len)
{
    rv_t *v = (rv_t *) vma_above (s, addr);
    return v && v->start <= addr && addr + len <= v->end ? v : NULL;
}

/* ---- the next pages made present while these come -------------------------------------------- */

/* Making the staging present (MADV_POPULATE_WRITE: allocation, the
   memory cgroup's charge, clearing, page tables) took about 40 % of the
   restorer's CPU on a 512 MiB image, one record at a time between
   reading the records, so the image's stream waited for it (bench/
   README.md, "A restart's staging made present ahead").  A one-process
   image's pages come in address order, a record after the one before,
   so while a record's bytes are read and opened (a sealed stream's:
   restore_src_t.ahead) a thread of ours makes the same length after it
   present, in the same anonymous mapping: a guess, claimed by the next
   record as far as it covers it, and the rest dropped again
   (MADV_DONTNEED), so the restored process has present the pages the
   image brought, no more.  The guess only goes
   above every page staged so far in its mapping, so a drop can never
   take a page that came.  The thread takes its work in order, drops
   too, so we never wait for it but to write where a drop is still to
   be done (an image whose records go back down), and at the end: it is
   gone when the image has been read (the second stage needs one
   thread). */
typedef struct {
    uint8_t *p;
    size_t len;
    bool drop; /* MADV_DONTNEED, else MADV_POPULATE_WRITE */
} ahead_op_t;

#define AHEAD_OPS   16
#define AHEAD_STACK (256u << 10)

typedef struct {
    pthread_t t;
    bool on, quit;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ahead_op_t op[AHEAD_OPS]; /* to do, from head on; op[head] under way */
    size_t head, n;
    uint8_t *guess; /* made present, or to be, and not claimed yet */
    size_t guess_len;
    void *stack;
} ahead_t;

static ahead_t ahead = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *ahead_run (void *arg)
{
    ahead_t *a = arg;
    /* the shim, if preloaded, must not trap these calls either */
    prctl (59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0, 0, 0, 0);
    pthread_mutex_lock (&a->mu);
    for (;;) {
        while (!a->n && !a->quit)
            pthread_cond_wait (&a->cv, &a->mu);
        if (!a->n)
            break;
        ahead_op_t op = a->op[a->head];
        pthread_mutex_unlock (&a->mu);
        madvise (op.p, op.len, op.drop ? MADV_DONTNEED : MADV_POPULATE_WRITE);
        pthread_mutex_lock (&a->mu);
        a->head = (a->head + 1) % AHEAD_OPS;
        a->n--;
        pthread_cond_broadcast (&a->cv);
    }
    pthread_mutex_unlock (&a->mu);
    return NULL;
}

/* The thread, at the first guess: false when it cannot be had (then
   every record makes its own pages present, as without it). */
static bool ahead_start (ahead_t *a)
{
    if (a->on)
        return true;
    a->stack = mmap (NULL, AHEAD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a->stack == MAP_FAILED) {
        a->stack = NULL;
        return false;
    }
    /* its own stack, unmapped at its end (glibc keeps the stacks it
       made for later threads), and no signal for it */
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset (&all);
    bool ok = !pthread_attr_init (&attr);
    if (ok) {
        ok = !pthread_attr_setstack (&attr, a->stack, AHEAD_STACK);
        pthread_sigmask (SIG_SETMASK, &all, &old);
        ok = ok && !pthread_create (&a->t, &attr, ahead_run, a);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        pthread_attr_destroy (&attr);
    }
    if (!ok) {
        munmap (a->stack, AHEAD_STACK);
        a->stack = NULL;
        return false;
    }
    a->on = true;
    return true;
}

/* Work for the thread, in order (waits only while it has AHEAD_OPS). */
static void ahead_push (ahead_t *a, uint8_t *p, size_t len, bool drop)
{
    pthread_mutex_lock (&a->mu);
    while (a->n == AHEAD_OPS)
        pthread_cond_wait (&a->cv, &a->mu);
    a->op[(a->head + a->n) % AHEAD_OPS] = (ahead_op_t){ p, len, drop };
    a->n++;
    pthread_cond_broadcast (&a->cv);
    pthread_mutex_unlock (&a->mu);
}

/* Until no drop still to be done touches [p, p + len). */
static void ahead_clear (ahead_t *a, const uint8_t *p, size_t len)
{
    if (!a->on)
        return;
    pthread_mutex_lock (&a->mu);
    for (bool hit = true; hit;) {
        hit = false;
        for (size_t i = 0; i < a->n && !hit; i++) {
            const ahead_op_t *o = &a->op[(a->head + i) % AHEAD_OPS];
            hit = o->drop && o->p < p + len && p < o->p + o->len;
        }
        if (hit)
            pthread_cond_wait (&a->cv, &a->mu);
    }
    pthread_mutex_unlock (&a->mu);
}

/* A record's pages at [dst, dst + len) are about to be written: how
   many of them, from dst, the guess made present (0: none).  What the
   record leaves of the guess below it, or all of it when the record is
   elsewhere, is dropped; what is left above it stays a guess. */
static size_t ahead_claim (ahead_t *a, uint8_t *dst, size_t len)
{
    if (!a->guess_len)
        return 0;
    uint8_t *end = a->guess + a->guess_len;
    if (dst < a->guess || dst >= end) {
        ahead_push (a, a->guess, a->guess_len, true);
        a->guess_len = 0;
        return 0;
    }
    if (dst > a->guess)
        ahead_push (a, a->guess, (size_t) (dst - a->guess), true);
    size_t k = len < (size_t) (end - dst) ? len : (size_t) (end - dst);
    a->guess = dst + k;
    a->guess_len = (size_t) (end - a->guess);
    return k;
}

/* The image has been read, or its reading failed: nothing guessed is
   left present, and the thread is gone. */
static void ahead_stop (ahead_t *a)
{
    if (!a->on)
        return;
    if (a->guess_len)
        ahead_push (a, a->guess, a->guess_len, true);
    a->guess_len = 0;
    pthread_mutex_lock (&a->mu);
    a->quit = true; /* the thread ends once it has done all it has */
    pthread_cond_broadcast (&a->cv);
    pthread_mutex_unlock (&a->mu);
    pthread_join (a->t, NULL);
    munmap (a->stack, AHEAD_STACK);
    a->stack = NULL;
    a->on = a->quit = false;
}

/* The madvise() advice for huge pages a mapping's flags carry, or 0. */
static int huge_advice (uint32_t flags)
{
    return (flags & IMG_VF_HUGE) ? MADV_HUGEPAGE : (flags & IMG_VF_NOHUGE) ? MADV_NOHUGEPAGE : 0;
}

/* Where pg's pages are staged: the staging mapping of the image's
   mapping that holds them, made at its first pages, and populated for
   these pages at once (one call, not a fault a page), or by the thread
   above while the record before came.  guess: a one-process image read
   straight into its staging (pages_direct) from a source that asks for
   it, whose next pages are guessed. */
static int stage_for (st_t *s, const img_pages_t *pg, bool guess, rv_t **vp, uint8_t **dst,
                      char *err, size_t errlen)
{
    uint64_t len = (uint64_t) pg->n_pages * IMG_PAGE;
    rv_t *v = vma_of (s, pg->addr, len);
    if (!v || v->kind == IMG_V_SPECIAL || v->kind == IMG_V_FILE_RO || v->kind == IMG_V_FILE_SH)
        return gl_err (err, errlen,
                       "the image is corrupt: pages at 0x%llx are in no mapping that carries pages",
                       (unsigned long long) pg->addr);
    if (!v->stage) {
        bool anon = v->kind == IMG_V_ANON || v->kind == IMG_V_STACK;
        v->stage = hole_map (s, v->end - v->start, v->kind == IMG_V_SHANON, anon ? v->start : 0);
        if (!v->stage)
            return gl_err (err, errlen, "no room to stage %llu bytes of the mapping at 0x%llx",
                           (unsigned long long) (v->end - v->start), (unsigned long long) v->start);
        /* the mapping's advice, before its pages come: a mapping
           advised MADV_HUGEPAGE is staged in huge pages, which
           mremap moves whole (the staging matches its address
           modulo 2 MiB), so the restored process has them as the
           checkpointed one had; best effort (the kernel may have
           none to give) */
        if (anon && huge_advice (v->flags))
            madvise (v->stage, v->end - v->start, huge_advice (v->flags));
    }
    *vp = v;
    *dst = v->stage + (pg->addr - v->start);
    size_t have = ahead_claim (&ahead, *dst, len);
    ahead_clear (&ahead, *dst, len);
    /* best effort: a kernel without it (before 5.14) faults them in */
    if (have < len)
        madvise (*dst + have, len - have, MADV_POPULATE_WRITE);
    bool above = pg->addr + len >= v->top;
    if (above)
        v->top = pg->addr + len;
    /* the same length next, where only the image's pages may be
       present: a private anonymous mapping (a shared one's dropped
       pages would stay in its memory), not advised huge pages (a
       guess of a part of one would split it) */
    uint64_t room = v->end - (pg->addr + len);
    if (guess && above && room && !ahead.guess_len &&
        (v->kind == IMG_V_ANON || v->kind == IMG_V_STACK) && !(v->flags & IMG_VF_HUGE) &&
        ahead_start (&ahead)) {
        ahead.guess = *dst + len;
        ahead.guess_len = len < room ? len : room;
        ahead_push (&ahead, ahead.guess, ahead.guess_len, false);
    }
    return 0;
}

/* pg's pages are in their staging: a file mapping remembers which. */
static int staged (st_t *s, rv_t *v, const img_pages_t *pg, char *err, size_t errlen)
{
    uint64_t off = pg->addr - v->start, len = (uint64_t) pg->n_pages * IMG_PAGE;
    if (v->kind == IMG_V_FILE) {
        if (v->n_runs && v->runs[v->n_runs - 1].off + v->runs[v->n_runs - 1].len == off)
            v->runs[v->n_runs - 1].len += len;
        else {
            if (v->n_runs == v->cap_runs) {
                size_t c = v->cap_runs ? v->cap_runs * 2 : 8;
                run_t *n = realloc (v->runs, c * sizeof *n);
                if (!n)
                    return gl_err (err, errlen, "out of memory");
                v->runs = n;
                v->cap_runs = c;
            }
            v->runs[v->n_runs++] = (run_t){ off, len };
        }
    }
    s->pages += pg->n_pages;
    return 0;
}

static int take (st_t *s, const img_rec_t *r, char *err, size_t errlen)
{
    const char *why = NULL;
    switch (r->type) {
        case IMG_HEADER: return 0;
        case IMG_PROC:
            if (img_get_proc (r, &s->proc, &why))
                return gl_err (err, errlen, "the image is corrupt: %s", why);
            s->have_proc = true;
            s->thr = calloc (s->proc.n_threads, sizeof *s->thr);
            s->vma = calloc (s->proc.n_vmas, sizeof *s->vma);
            s->fd = calloc (s->proc.n_fds + 1, sizeof *s->fd);
            if (!s->thr || !s->vma || !s->fd)
                return gl_err (err, errlen, "out of memory for the image's tables");
            return 0;
        case IMG_THREAD: {
            img_thread_t t;
            if (img_get_thread (r, &t, &why))
                return gl_err (err, errlen, "the image is corrupt: %s", why);
            if (s->n_thr == s->proc.n_threads)
                return gl_err (err, errlen, "the image has more threads than its PROC says");
            s->thr[s->n_thr++] = t;
            return 0;
        }
        case IMG_VMA: {
            static img_vma_t v;
            if (img_get_vma (r, &v, &why))
                return gl_err (err, errlen, "the image is corrupt: %s", why);
            if (s->n_vma == s->proc.n_vmas)
                return gl_err (err, errlen, "the image has more mappings than its PROC says");
            if (s->n_vma && v.start < s->vma[s->n_vma - 1].end)
                return gl_err (err, errlen, "the image's mappings overlap or are out of order");
            rv_t *m = &s->vma[s->n_vma++];
            m->start = v.start;
            m->end = v.end;
            m->offset = v.offset;
            m->fsize = v.fsize;
            m->mtime_sec = v.mtime_sec;
            m->mtime_nsec = v.mtime_nsec;
            m->prot = v.prot;
            m->kind = v.kind;
            m->flags = v.flags;
            m->path = strdup (v.path);
            return m->path ? 0 : gl_err (err, errlen, "out of memory");
        }
        case IMG_FD: {
            rf_t *f = &s->fd[s->n_fd];
            if (img_get_fd (r, &f->f, &why))
                return gl_err (err, errlen, "the image is corrupt: %s", why);
            if (s->n_fd == s->proc.n_fds)
                return gl_err (err, errlen, "the image has more descriptors than its PROC says");
            if (s->n_fd && f->f.fd <= s->fd[s->n_fd - 1].f.fd)
                return gl_err (err, errlen, "the image's descriptors are repeated or out of order");
            f->path = strdup (f->f.path);
            f->tmp = f->other = -1;
            if (f->f.data_len) {
                f->data = malloc (f->f.data_len);
                if (!f->data)
                    return gl_err (err, errlen, "out of memory");
                memcpy (f->data, f->f.data, f->f.data_len);
                f->f.data = f->data; /* the record's bytes go with the next read */
            }
            s->n_fd++;
            return f->path ? 0 : gl_err (err, errlen, "out of memory");
        }
        case IMG_PAGES: {
            img_pages_t pg;
            rv_t *v;
            uint8_t *dst;
            if (img_get_pages (r, &pg, &why))
                return gl_err (err, errlen, "the image is corrupt: %s", why);
            if (stage_for (s, &pg, false, &v, &dst, err, errlen))
                return -1;
            if (img_unpack (&pg, dst, &why))
                return gl_err (err, errlen, "the image is corrupt: %s", why);
            return staged (s, v, &pg, err, errlen);
        }
        case IMG_TREE: /* read_image's: sink() */
            return gl_err (err, errlen, "the image is corrupt: a TREE record out of place");
        case IMG_END: return 0;
        case IMG_FAIL: /* sink()'s */ break;
    }
    return gl_err (err, errlen, "the image is corrupt: a record of an unknown type");
}

/* Where read_image puts each record: one process's state, or, once a
   TREE record came, the tree's (restore_tree.h). */
typedef struct {
    st_t *s;
    rtree_t *tree;
    bool again; /* it ended in a FAIL of an instant (IMG_FAIL_AGAIN) */
} sink_t;

static int sink (sink_t *k, const img_rec_t *r, char *err, size_t errlen)
{
    if (r->type == IMG_FAIL) { /* anywhere: a tree's, or one process's */
        static char reason[IMG_PATH_MAX];
        uint32_t flags;
        const char *why = NULL;
        if (img_get_fail (r, reason, &flags, &why))
            return gl_err (err, errlen, "the image is corrupt: %s", why);
        k->again = flags & IMG_FAIL_AGAIN;
        return gl_err (err, errlen, "the checkpoint failed while its image was written: %s",
                       reason);
    }
    if (r->type == IMG_TREE) {
        k->tree = rtree_new (r, err, errlen);
        return k->tree ? 0 : -1;
    }
    return k->tree ? rtree_take (k->tree, r, err, errlen) : take (k->s, r, err, errlen);
}

/* A raw PAGES record whose head (the record's header and the PAGES
   fields, have bytes of it at head, perhaps a part of the pages after
   them) came into the buffer: the pages read straight into their
   staging, then the record checked as a whole (image.h). */
/* The image's next bytes, from the descriptor or the source that stands
   for it: read(2)'s answer, the reason in err on -1. */
static ssize_t src_read (const restore_src_t *src, int fd, void *buf, size_t n, char *err,
                         size_t errlen)
{
    for (;;) {
        const char *why = NULL;
        ssize_t k = src ? src->read (src->arg, buf, n, &why) : read (fd, buf, n);
        if (k < 0 && errno == EINTR && !why)
            continue;
        if (k < 0)
            gl_err (err, errlen, "the image cannot be read: %s", why ? why : strerror (errno));
        return k;
    }
}

static int pages_direct (st_t *s, img_dec_t *d, const restore_src_t *src, int fd,
                         const uint8_t *head, size_t have, const img_pages_t *pg, char *err,
                         size_t errlen)
{
    rv_t *v;
    uint8_t *dst;
    if (stage_for (s, pg, src && src->ahead, &v, &dst, err, errlen))
        return -1;
    size_t got = have - IMG_PAGES_HEAD;
    memcpy (dst, head + IMG_PAGES_HEAD, got);
    while (got < pg->len) {
        ssize_t k = src_read (src, fd, dst + got, pg->len - got, err, errlen);
        if (k < 0)
            return -1;
        if (k == 0)
            return gl_err (err, errlen, "the image is truncated (it ends before its END record)");
        got += (size_t) k;
        s->bytes += (uint64_t) k;
    }
    img_rec_t rec;
    const char *why = NULL;
    if (img_dec_pages_tail (d, head, dst, &rec, &why) < 0)
        return gl_err (err, errlen, "the image is corrupt: %s", why);
    s->records++;
    return staged (s, v, pg, err, errlen);
}

/* How much to read next into the buffer (have bytes in it, from a
   record's start): a one-process image is read no further than the
   record under way, or the next one's head, so that raw pages go
   straight to their staging (pages_direct) rather than through the
   buffer. */
static size_t next_read (const img_dec_t *d, bool direct, const uint8_t *buf, size_t have,
                         size_t room)
{
    size_t want = room;
    if (!direct || img_dec_done (d))
        return want;
    if (d->stage == 0)
        want = have < IMG_HDR_SIZE ? IMG_HDR_SIZE - have : room;
    else if (have < IMG_PAGES_HEAD)
        want = IMG_PAGES_HEAD - have;
    else {
        uint32_t plen;
        memcpy (&plen, buf + 4, 4);
        if (plen <= IMG_REC_MAX && IMG_REC_HDR + (size_t) plen > have)
            want = IMG_REC_HDR + (size_t) plen - have;
    }
    return want < room ? want : room;
}

static int read_image (sink_t *into, const restore_src_t *src, int fd, char *err, size_t errlen)
{
    st_t *s = into->s;
    size_t cap = 2 * (IMG_REC_HDR + IMG_REC_MAX) + IMG_HDR_SIZE, have = 0, at = 0;
    uint8_t *buf = malloc (cap);
    if (!buf)
        return gl_err (err, errlen, "out of memory");
    img_dec_t d;
    img_dec_init (&d);
    d.authenticated = src && src->authenticated;
    int rc = -1;
    for (;;) {
        img_rec_t rec;
        size_t used;
        const char *why = NULL;
        int r = img_dec_next (&d, buf + at, have - at, &rec, &used, &why);
        if (r < 0) {
            gl_err (err, errlen, "the image is corrupt: %s", why);
            break;
        }
        if (r == 1) {
            at += used;
            s->records++;
            if (sink (into, &rec, err, errlen))
                break;
            if (img_dec_done (&d)) {
                char extra;
                ssize_t k = have > at ? 1 : src_read (src, fd, &extra, 1, err, errlen);
                rc = k > 0   ? gl_err (err, errlen, "the image is corrupt: bytes follow its end")
                     : k < 0 ? -1
                             : 0;
                break;
            }
            continue;
        }
        /* a tree's records go to its processes (restore_tree.c): the
           buffer's way */
        bool direct = !into->tree;
        img_pages_t pg;
        if (direct && img_dec_pages_head (&d, buf + at, have - at, &pg) == 1) {
            if (pages_direct (s, &d, src, fd, buf + at, have - at, &pg, err, errlen))
                break;
            at = have;
            continue;
        }
        memmove (buf, buf + at, have - at);
        have -= at;
        at = 0;
        ssize_t k = src_read (src, fd, buf + have, next_read (&d, direct, buf, have, cap - have),
                              err, errlen);
        if (k < 0)
            break;
        if (k == 0) {
            gl_err (err, errlen,
                    have || s->records ? "the image is truncated (it ends before its END record)"
                                       : "the image is empty");
            break;
        }
        have += (size_t) k;
        s->bytes += (uint64_t) k;
    }
    ahead_stop (&ahead);
    free (buf);
    return rc;
}

/* ---- checking this machine against the image ---------------------------------------------------- */

static uint64_t xcr0 (void)
{
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)))
        return 0;
    __asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    return ((uint64_t) d << 32) | a;
}

static void read_specials (st_t *s)
{
    FILE *f = fopen ("/proc/self/maps", "re");
    char line[512];
    while (f && fgets (line, sizeof line, f)) {
        unsigned long long a, b;
        char name[64] = "";
        if (sscanf (line, "%llx-%llx %*s %*s %*s %*s %63s", &a, &b, name) < 2)
            continue;
        if ((strcmp (name, "[vdso]") && strncmp (name, "[vvar", 5)) || s->n_cur == 8)
            continue;
        special_t *c = &s->cur[s->n_cur++];
        gl_strlcpy (c->name, name, sizeof c->name);
        c->start = a;
        c->end = b;
    }
    if (f)
        fclose (f);
}

static const special_t *cur_special (const st_t *s, const char *name)
{
    for (size_t i = 0; i < s->n_cur; i++)
        if (!strcmp (s->cur[i].name, name))
            return &s->cur[i];
    return NULL;
}

static int same_file (const char *path, uint64_t size, uint64_t sec, uint32_t nsec,
                      const char *what, char *err, size_t errlen)
{
    struct stat st;
    if (stat (path, &st))
        return gl_err (err, errlen, "%s %s: %s here", what, path, strerror (errno));
    if ((uint64_t) st.st_size != size || (uint64_t) st.st_mtim.tv_sec != sec ||
        (uint32_t) st.st_mtim.tv_nsec != nsec)
        return gl_err (err, errlen,
                       "%s %s is not the same here (size %lld, was %llu; or its modification "
                       "time differs)",
                       what, path, (long long) st.st_size, (unsigned long long) size);
    return 0;
}

/* A directory being read: the same size and time, and at its position
   (the file system's cookie, which names the same point in the same
   directory only) the entry the checkpoint found there (capture.c:
   note_dirs). */
static int same_dir (const rf_t *f, char *err, size_t errlen)
{
    if (same_file (f->path, f->f.fsize, f->f.mtime_sec, f->f.mtime_nsec, "the directory being read",
                   err, errlen))
        return -1;
    char name[256];
    if (gl_dir_entry_at (f->path, f->f.pos, name, sizeof name) || strlen (name) != f->f.data_len ||
        memcmp (name, f->data, f->f.data_len))
        return gl_err (err, errlen,
                       "fd %u: the directory being read %s is not the same here (its entry at "
                       "the position it was read to is another, or none)",
                       f->f.fd, f->path);
    return 0;
}

/* A regular file the process had open only for writing: what a
   restarted job finds there past the
   checkpoint's size is what its lost copy wrote after the snapshot
   (a log, an output redirected with > or >>), which the restarted job
   writes again.  Such a file may have grown; it is cut back to its size
   at the checkpoint before the process runs (cut_files), so that an
   appending job does not write those bytes twice.  A descriptor that
   reads the file still wants it unchanged (same_file). */
static bool written_only (const rf_t *f)
{
    return f->f.kind == IMG_F_FILE && (f->f.flags & O_ACCMODE) == O_WRONLY;
}

static int grown_file (const char *path, uint64_t size, char *err, size_t errlen)
{
    struct stat st;
    if (stat (path, &st))
        return gl_err (err, errlen, "the open file %s: %s here", path, strerror (errno));
    if (!S_ISREG (st.st_mode) || (uint64_t) st.st_size < size)
        return gl_err (err, errlen,
                       "the open file %s is shorter here (size %lld, was %llu): something else "
                       "cut it",
                       path, (long long) st.st_size, (unsigned long long) size);
    return 0;
}

static int cut_files (st_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_fd; i++) {
        const rf_t *f = &s->fd[i];
        struct stat st;
        if (!written_only (f) || stat (f->path, &st) || (uint64_t) st.st_size <= f->f.fsize)
            continue;
        if (truncate (f->path, (off_t) f->f.fsize))
            return gl_err (err, errlen, "fd %u: %s cannot be cut back to %llu bytes: %s", f->f.fd,
                           f->path, (unsigned long long) f->f.fsize, strerror (errno));
    }
    return 0;
}

/* Whether this kernel lets the vDSO and its data move, as the second
   stage will: each of ours there and back through a hole (glibc here
   finds it where it was), or -1. */
static int vdso_moves (st_t *s)
{
    for (size_t i = 0; i < s->n_cur; i++) {
        special_t *c = &s->cur[i];
        size_t len = c->end - c->start;
        void *hole = hole_map (s, len, false, 0);
        if (!hole)
            return -1;
        void *moved =
            mremap ((void *) (uintptr_t) c->start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
        if (moved == MAP_FAILED) {
            munmap (hole, len);
            return -1;
        }
        if (mremap (moved, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
                    (void *) (uintptr_t) c->start) == MAP_FAILED)
            abort (); /* the vDSO is gone from where this process's libc calls it */
    }
    return 0;
}

static int check (st_t *s, char *err, size_t errlen)
{
    img_proc_t *p = &s->proc;
    if (s->n_thr != p->n_threads || s->n_vma != p->n_vmas || s->n_fd != p->n_fds)
        return gl_err (err, errlen, "the image is corrupt: fewer records than its PROC says");
    size_t leaders = 0;
    for (size_t i = 0; i < s->n_thr; i++) {
        const img_thread_t *t = &s->thr[i];
        leaders += !!(t->flags & IMG_T_LEADER);
        const rv_t *sv = vma_of (s, t->reg[IMG_R_RSP] - 8, 8);
        const rv_t *iv = vma_of (s, t->reg[IMG_R_RIP], 1);
        const rv_t *tv = vma_of (s, t->tid_addr, 4);
        if (!sv || !(sv->prot & PROT_WRITE) || !iv || !(iv->prot & PROT_EXEC) || !tv ||
            !(tv->prot & PROT_WRITE))
            return gl_err (err, errlen,
                           "the image is corrupt: thread %u's stack, code or tid word is in no "
                           "fit mapping",
                           t->tid);
    }
    if (leaders != 1)
        return gl_err (err, errlen, "the image is corrupt: %zu threads lead the process", leaders);
    uint64_t here = xcr0 ();
    if (p->xcr0 & ~here)
        return gl_err (err, errlen,
                       "this CPU lacks state components the image's threads use (XCR0 0x%llx "
                       "here, 0x%llx there)",
                       (unsigned long long) here, (unsigned long long) p->xcr0);
    read_specials (s);
    size_t n_special = 0;
    const rv_t *first = NULL;
    const special_t *first_cur = NULL;
    for (size_t i = 0; i < s->n_vma; i++) {
        const rv_t *v = &s->vma[i];
        if (v->kind == IMG_V_SPECIAL) {
            const special_t *c = cur_special (s, v->path);
            if (!c || c->end - c->start != v->end - v->start)
                return gl_err (err, errlen,
                               "this kernel's %s is not the image's (%s): the vDSO cannot be "
                               "moved into place",
                               v->path, c ? "another size" : "none here");
            if (first &&
                (int64_t) (v->start - first->start) != (int64_t) (c->start - first_cur->start))
                return gl_err (err, errlen, "this kernel lays out the vDSO and its data otherwise");
            if (!first) {
                first = v;
                first_cur = c;
            }
            n_special++;
        }
        else if (v->kind == IMG_V_FILE || v->kind == IMG_V_FILE_RO || v->kind == IMG_V_FILE_SH) {
            if (same_file (v->path, v->fsize, v->mtime_sec, v->mtime_nsec, "the mapped file", err,
                           errlen))
                return -1;
        }
    }
    if (n_special != s->n_cur)
        return gl_err (err, errlen, "this kernel maps %zu vDSO areas, the image %zu", s->n_cur,
                       n_special);
    if (vdso_moves (s))
        return gl_err (err, errlen,
                       "this kernel does not let a process move its vDSO (mremap of %s): "
                       "nothing can be restored here",
                       s->n_cur ? s->cur[0].name : "[vdso]");
    for (size_t i = 0; i < s->n_fd; i++) {
        const rf_t *f = &s->fd[i];
        if (f->f.kind == IMG_F_STREAM || f->f.kind == IMG_F_TTY) {
            if (fcntl ((int) f->f.stream, F_GETFD) < 0)
                return gl_err (err, errlen, "fd %u is the job's stream %u, which is not open here",
                               f->f.fd, f->f.stream);
            if (f->f.kind == IMG_F_TTY && !isatty ((int) f->f.stream))
                return gl_err (err, errlen,
                               "fd %u is the job's terminal (glx -t), and the stream %u given "
                               "here is no terminal",
                               f->f.fd, f->f.stream);
        }
        else if (written_only (f) && grown_file (f->path, f->f.fsize, err, errlen))
            return -1;
        else if (f->f.kind == IMG_F_FILE && !written_only (f) &&
                 same_file (f->path, f->f.fsize, f->f.mtime_sec, f->f.mtime_nsec, "the open file",
                            err, errlen))
            return -1;
        else if (f->f.kind == IMG_F_DIR && f->f.pos && same_dir (f, err, errlen))
            return -1;
    }
    int cwd = open (p->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0)
        return gl_err (err, errlen, "the working directory %s: %s here", p->cwd, strerror (errno));
    close (cwd);
    return 0;
}

/* An end of one of the process's pipes: the pipe made at the first of
   its ends, with its capacity and the bytes that were in it. */
static int open_pipe (st_t *s, size_t i, int hi, char *err, size_t errlen)
{
    rf_t *f = &s->fd[i];
    bool rd = (f->f.flags & O_ACCMODE) == O_RDONLY;
    for (size_t j = 0; j < i; j++) {
        const rf_t *g = &s->fd[j];
        if (g->f.kind == IMG_F_PIPE && g->f.fsize == f->f.fsize) {
            int end = ((g->f.flags & O_ACCMODE) == O_RDONLY) == rd ? g->tmp : g->other;
            f->tmp = fcntl (end, F_DUPFD_CLOEXEC, hi);
            f->other = -1;
            return f->tmp < 0 ? gl_err (err, errlen, "no descriptor left") : 0;
        }
    }
    int p[2];
    if (pipe2 (p, O_CLOEXEC))
        return gl_err (err, errlen, "fd %u: no pipe: %s", f->f.fd, strerror (errno));
    int r = fcntl (p[0], F_DUPFD_CLOEXEC, hi), w = fcntl (p[1], F_DUPFD_CLOEXEC, hi);
    close (p[0]);
    close (p[1]);
    if (r < 0 || w < 0)
        return gl_err (err, errlen, "no descriptor left");
    if (fcntl (w, F_SETPIPE_SZ, (int) f->f.pos) < 0 && f->f.data_len > 65536)
        return gl_err (err, errlen, "fd %u: a pipe of %llu bytes is not allowed here", f->f.fd,
                       (unsigned long long) f->f.pos);
    size_t done = 0;
    while (done < f->f.data_len) {
        ssize_t k = write (w, f->data + done, f->f.data_len - done);
        if (k <= 0)
            return gl_err (err, errlen, "fd %u: the pipe's bytes do not fit back", f->f.fd);
        done += (size_t) k;
    }
    f->tmp = rd ? r : w;
    f->other = rd ? w : r;
    return 0;
}

/* An end of a unix socket pair (unixsock.h): another descriptor of a
   socket made already, the other end of a pair made already, or the
   pair made here with its peer's record (the first of that socket),
   which carries the bytes queued for that end. */
static int open_usock (st_t *s, size_t i, int hi, char *err, size_t errlen)
{
    rf_t *f = &s->fd[i];
    f->other = -1;
    for (size_t j = 0; j < i; j++) {
        const rf_t *g = &s->fd[j];
        if (g->f.kind != IMG_F_USOCK || (g->f.fsize != f->f.fsize && g->f.pos != f->f.fsize))
            continue;
        int end = g->f.fsize == f->f.fsize ? g->tmp : g->other;
        if (end < 0)
            return gl_err (err, errlen,
                           "the image is corrupt: fd %u, a unix socket, has two "
                           "peers",
                           f->f.fd);
        f->tmp = fcntl (end, F_DUPFD_CLOEXEC, hi);
        return f->tmp < 0 ? gl_err (err, errlen, "no descriptor left") : 0;
    }
    const img_fd_t *peer = NULL;
    for (size_t j = i + 1; f->f.pos && !peer && j < s->n_fd; j++)
        if (s->fd[j].f.kind == IMG_F_USOCK && s->fd[j].f.fsize == f->f.pos)
            peer = &s->fd[j].f;
    if (f->f.pos && !peer)
        return gl_err (err, errlen, "the image is corrupt: fd %u, a unix socket, has no peer",
                       f->f.fd);
    if (peer && (peer->mtime_sec != f->f.mtime_sec || peer->pos != f->f.fsize))
        return gl_err (err, errlen,
                       "the image is corrupt: fd %u, a unix socket whose peer is not "
                       "its",
                       f->f.fd);
    int end[2];
    if (usock_make (&f->f, peer, end, err, errlen))
        return -1;
    f->tmp = fcntl (end[0], F_DUPFD_CLOEXEC, hi);
    f->other = end[1] < 0 ? -1 : fcntl (end[1], F_DUPFD_CLOEXEC, hi);
    close (end[0]);
    if (end[1] >= 0)
        close (end[1]);
    if (f->tmp < 0 || (end[1] >= 0 && f->other < 0))
        return gl_err (err, errlen, "no descriptor left");
    return 0;
}

/* Every file the process had open, opened here at numbers above all of
   the image's (hi and up), so that placing them cannot fail. */
/* Whether the image has descriptor fd. */
static bool has_fd (const st_t *s, uint32_t fd)
{
    for (size_t i = 0; i < s->n_fd; i++)
        if (s->fd[i].f.fd == fd)
            return true;
    return false;
}

static int shmfd_of (uint64_t id); /* the memfd of shared memory (rst_shm_files) */

int rst_open_file (const img_fd_t *f, const char *path, int hi, char *err, size_t errlen)
{
    int flags = (int) f->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
    if ((flags & O_TMPFILE) == O_TMPFILE)
        flags &= ~O_TMPFILE;
    char memfd[64];
    if (f->kind == IMG_F_SHMFD) { /* its memfd (rst_shm_files): the link in /proc is followed */
        snprintf (memfd, sizeof memfd, "/proc/self/fd/%d", shmfd_of (f->mtime_sec));
        path = memfd;
        flags &= ~O_NOFOLLOW;
    }
    int fd = open (path, flags | O_CLOEXEC);
    if (fd < 0)
        return gl_err (err, errlen, "fd %u: %s: %s", f->fd, path, strerror (errno));
    int at = fcntl (fd, F_DUPFD_CLOEXEC, hi);
    close (fd);
    if (at < 0)
        return gl_err (err, errlen, "fd %u: no descriptor left: %s", f->fd, strerror (errno));
    if ((f->kind == IMG_F_FILE || f->kind == IMG_F_SHMFD || (f->kind == IMG_F_DIR && f->pos)) &&
        lseek (at, (off_t) f->pos, SEEK_SET) != (off_t) f->pos) {
        close (at);
        return gl_err (err, errlen, "fd %u: %s cannot be positioned at %llu", f->fd, path,
                       (unsigned long long) f->pos);
    }
    return at;
}

static int open_files (st_t *s, int hi, char *err, size_t errlen)
{
    /* an epoll or an inotify instance watches through descriptors the image has */
    for (size_t i = 0; i < s->n_fd; i++) {
        uint32_t on;
        for (uint32_t k = 0; img_watched_fd (&s->fd[i].f, k, &on); k++)
            if (!has_fd (s, on))
                return gl_err (err, errlen,
                               "the image is corrupt: fd %u, an %s instance, watches through fd "
                               "%u, which it does not have",
                               s->fd[i].f.fd, s->fd[i].f.kind == IMG_F_EPOLL ? "epoll" : "inotify",
                               on);
    }
    for (size_t i = 0; i < s->n_fd; i++) {
        rf_t *f = &s->fd[i];
        if (f->f.kind == IMG_F_STREAM || f->f.kind == IMG_F_TTY)
            continue;
        if (IMG_F_IS_KOBJ (f->f.kind)) {
            int fd = kobj_make (&f->f, err, errlen);
            if (fd < 0)
                return -1;
            f->tmp = fcntl (fd, F_DUPFD_CLOEXEC, hi);
            close (fd);
            if (f->tmp < 0)
                return gl_err (err, errlen, "fd %u: no descriptor left", f->f.fd);
            continue;
        }
        if ((f->f.kind == IMG_F_PIPE || f->f.kind == IMG_F_USOCK ||
             ((f->f.kind == IMG_F_FILE || f->f.kind == IMG_F_SHMFD) && f->f.stream)) &&
            s->pipe_ends) { /* the tree's pipe, socket pair or shared open file */
            f->tmp = fcntl (s->pipe_ends[i], F_DUPFD_CLOEXEC, hi);
            if (f->tmp < 0)
                return gl_err (err, errlen, "fd %u: no descriptor left", f->f.fd);
            continue;
        }
        if (f->f.kind == IMG_F_PIPE) {
            if (open_pipe (s, i, hi, err, errlen))
                return -1;
            continue;
        }
        if (f->f.kind == IMG_F_USOCK) {
            if (open_usock (s, i, hi, err, errlen))
                return -1;
            continue;
        }
        if ((f->f.kind == IMG_F_FILE || f->f.kind == IMG_F_SHMFD) &&
            f->f.stream) { /* one open file for its descriptors */
            const rf_t *g = NULL;
            for (size_t j = 0; j < i && !g; j++)
                if (s->fd[j].f.kind == f->f.kind && s->fd[j].f.stream == f->f.stream)
                    g = &s->fd[j];
            if (g && (strcmp (g->path, f->path) || g->f.pos != f->f.pos))
                return gl_err (err, errlen,
                               "the image is corrupt: fd %u and fd %u share an open file but "
                               "not its name or offset",
                               g->f.fd, f->f.fd);
            if (g) {
                f->tmp = fcntl (g->tmp, F_DUPFD_CLOEXEC, hi);
                if (f->tmp < 0)
                    return gl_err (err, errlen, "fd %u: no descriptor left", f->f.fd);
                continue;
            }
        }
        f->tmp = rst_open_file (&f->f, f->path, hi, err, errlen);
        if (f->tmp < 0)
            return -1;
    }
    return 0;
}

/* ---- the plan --------------------------------------------------------------------------------- */

static int cmp_range (const void *a, const void *b)
{
    const rp_range_t *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static const char fail_msg[] = "glrestore: the image's memory could not be put in place\n";

static rp_plan_t *build (st_t *s, const restore_opts_t *o, char *err, size_t errlen)
{
    /* memory shared with the tree's other processes (rst_share): staged
       where another process's image may have something, moved to a hole
       of this one's first (the same object still) */
    for (size_t i = 0; i < s->n_vma; i++) {
        rv_t *v = &s->vma[i];
        if (!v->shared)
            continue;
        size_t len = v->end - v->start;
        void *h = hole_map (s, len, false, 0);
        if (!h || mremap (v->stage, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, h) != h) {
            gl_err (err, errlen, "no room for the shared memory at 0x%llx",
                    (unsigned long long) v->start);
            return NULL;
        }
        v->stage = h;
    }
    size_t code = (size_t) (__stop_glr_blob - __start_glr_blob);
    size_t code_len = (code + IMG_PAGE - 1) & ~(size_t) (IMG_PAGE - 1);
    size_t n_ops = 0, n_keep = 2 + s->n_cur, paths = sizeof fail_msg;
    for (size_t i = 0; i < s->n_vma; i++) {
        const rv_t *v = &s->vma[i];
        n_ops += 6 + v->n_runs;
        n_keep += v->stage != NULL;
        if (v->kind == IMG_V_FILE || v->kind == IMG_V_FILE_RO || v->kind == IMG_V_FILE_SH)
            paths += strlen (v->path) + 1;
    }
    size_t data = sizeof (rp_plan_t) + s->n_cur * sizeof (rp_special_t) +
                  n_keep * sizeof (rp_range_t) + n_ops * sizeof (rp_op_t) +
                  s->n_thr * sizeof (rp_thread_t) + paths + 64;
    size_t data_len = (data + IMG_PAGE - 1) & ~(size_t) (IMG_PAGE - 1);
    size_t len = code_len + data_len + s->n_thr * RP_STACK + IMG_PAGE;
    size_t tmp_len = 0;
    for (size_t i = 0; i < s->n_cur; i++)
        tmp_len += s->cur[i].end - s->cur[i].start;
    uint8_t *area = hole_map (s, len, false, 0);
    uint8_t *tmp = hole_map (s, tmp_len, false, 0);
    if (!area || !tmp) {
        gl_err (err, errlen, "no room for the restorer's second stage");
        return NULL;
    }
    memcpy (area, __start_glr_blob, code);
    uint8_t *d = area + code_len;
    rp_plan_t *p = (rp_plan_t *) d;
    d += sizeof *p;
    p->special = (rp_special_t *) d, d += s->n_cur * sizeof (rp_special_t);
    p->keep = (rp_range_t *) d, d += n_keep * sizeof (rp_range_t);
    p->ops = (rp_op_t *) d, d += n_ops * sizeof (rp_op_t);
    p->threads = (rp_thread_t *) d, d += s->n_thr * sizeof (rp_thread_t);
    char *str = (char *) d;
    memcpy (str, fail_msg, sizeof fail_msg);
    p->fail_msg = (uint64_t) (uintptr_t) str;
    p->fail_len = sizeof fail_msg - 1;
    str += sizeof fail_msg;

    p->keep[p->n_keep++] = (rp_range_t){ (uintptr_t) area, (uintptr_t) area + len };
    uint64_t t = (uintptr_t) tmp;
    for (size_t i = 0; i < s->n_vma; i++) {
        const rv_t *v = &s->vma[i];
        if (v->kind != IMG_V_SPECIAL)
            continue;
        const special_t *c = cur_special (s, v->path);
        p->special[p->n_special++] = (rp_special_t){ c->start, v->start, v->end - v->start, t };
        t += v->end - v->start;
        p->keep[p->n_keep++] = (rp_range_t){ v->start, v->end };
    }
    for (size_t i = 0; i < s->n_vma; i++) {
        const rv_t *v = &s->vma[i];
        uint64_t vlen = v->end - v->start;
        rp_op_t *op;
#define OP(...) (op = &p->ops[p->n_ops++], *op = (rp_op_t){ __VA_ARGS__ })
        if (v->kind == IMG_V_SPECIAL)
            continue;
        if (v->stage)
            p->keep[p->n_keep++] =
                (rp_range_t){ (uintptr_t) v->stage, (uintptr_t) v->stage + vlen };
        uint64_t path = 0;
        bool file = v->kind == IMG_V_FILE || v->kind == IMG_V_FILE_RO || v->kind == IMG_V_FILE_SH;
        if (file) {
            size_t k = strlen (v->path) + 1;
            memcpy (str, v->path, k);
            path = (uintptr_t) str;
            str += k;
        }
        if (file) {
            OP (.op = RP_FILE, .prot = v->prot | (v->stage ? PROT_WRITE : 0),
                .shared = v->kind != IMG_V_FILE, .dst = v->start, .len = vlen, .offset = v->offset,
                .path = path);
            for (size_t r = 0; r < v->n_runs; r++)
                OP (.op = RP_COPY, .src = (uintptr_t) v->stage + v->runs[r].off,
                    .dst = v->start + v->runs[r].off, .len = v->runs[r].len);
            if (v->stage) {
                OP (.op = RP_PROT, .prot = v->prot, .dst = v->start, .len = vlen);
                OP (.op = RP_UNMAP, .src = (uintptr_t) v->stage, .len = vlen);
            }
        }
        else if (v->stage)
            OP (.op = RP_MOVE, .prot = v->prot, .src = (uintptr_t) v->stage, .dst = v->start,
                .len = vlen);
        else
            OP (.op = v->kind == IMG_V_SHANON ? RP_SHANON : RP_ANON, .prot = v->prot,
                .dst = v->start, .len = vlen,
                .advice = v->kind == IMG_V_SHANON ? 0 : huge_advice (v->flags));
        /* what a fork of the restored process leaves out or wipes */
        if (v->flags & IMG_VF_DONTFORK)
            OP (.op = RP_ADVISE, .dst = v->start, .len = vlen, .advice = MADV_DONTFORK);
        if (v->flags & IMG_VF_WIPEONFORK)
            OP (.op = RP_ADVISE, .dst = v->start, .len = vlen, .advice = MADV_WIPEONFORK);
        if (v->flags & IMG_VF_LOCKED) /* within RLIMIT_MEMLOCK, set by now */
            OP (.op = RP_LOCK, .dst = v->start, .len = vlen,
                .advice = (v->flags & IMG_VF_ONFAULT) ? MLOCK_ONFAULT : 0);
        if (v->kind == IMG_V_STACK) {
            /* room to grow: up to the stack limit (8 MiB at most), below
               the stack and a guard gap above whatever lies under it */
            uint64_t want = s->proc.rlim[RLIMIT_STACK][0];
            if (want > (8u << 20))
                want = 8u << 20;
            uint64_t floor = i ? s->vma[i - 1].end + (1u << 20) : (1u << 20);
            uint64_t lo = v->end > want ? v->end - want : 0;
            if (lo < floor)
                lo = floor;
            lo &= ~(uint64_t) (IMG_PAGE - 1);
            if (lo + IMG_PAGE < v->start)
                OP (.op = RP_GROW, .prot = PROT_READ | PROT_WRITE, .dst = lo, .len = v->start - lo);
        }
#undef OP
    }
    qsort (p->keep, p->n_keep, sizeof *p->keep, cmp_range);
    uint8_t *stacks = area + code_len + data_len;
    for (size_t i = 0; i < s->n_thr; i++) {
        const img_thread_t *it = &s->thr[i];
        rp_thread_t *rt = &p->threads[p->n_threads++];
        memcpy (rt->ctx.reg, it->reg, sizeof rt->ctx.reg);
        rt->ctx.mxcsr = it->mxcsr;
        rt->ctx.fpucw = it->fpucw;
        rt->fs = it->fs;
        rt->tid_addr = it->tid_addr;
        rt->robust = it->robust;
        rt->robust_len = it->robust_len;
        rt->rseq = it->rseq;
        rt->rseq_len = it->rseq_len;
        rt->rseq_sig = it->rseq_sig;
        rt->stack = (uintptr_t) stacks + (i + 1) * RP_STACK;
        rt->info = (uintptr_t) &p->resume;
        rt->leader = !!(it->flags & IMG_T_LEADER);
        memcpy (rt->name, it->name, sizeof rt->name);
        rt->attrs = !!(it->flags & IMG_T_ATTRS);
        rt->policy = it->policy;
        rt->rtprio = it->rtprio;
        rt->nice = it->nice;
        rt->pdeath = it->pdeath;
        rt->persona = it->persona;
        for (int k = 0; k < 3; k++) {
            rt->caps[0][k] = (uint32_t) it->caps[k];
            rt->caps[1][k] = (uint32_t) (it->caps[k] >> 32);
        }
        rt->nnp = !!(it->flags & IMG_T_NNP);
        rt->nodump = !!(it->flags & IMG_T_NODUMP);
        rt->subreaper = !!(it->flags & IMG_T_SUBREAPER);
    }
    /* the kernel's layout, the break, the arguments and environment that
       /proc/PID/cmdline and ps show, the stack /proc/PID/maps names:
       the program's, in the same order as prctl_mm_map's first fields */
    p->set_mm = !gl_all_zero (s->proc.mm, sizeof s->proc.mm);
    memcpy (&p->mm, s->proc.mm, sizeof s->proc.mm);
    p->mm.auxv = 0;
    p->mm.auxv_size = 0;
    p->mm.exe_fd = (uint32_t) -1; /* the restorer's: only a privileged process changes it */
    p->resume.magic = CKPT_RESUME_MAGIC;
    p->resume.base = (uintptr_t) area;
    p->resume.len = len;
    p->resume.n_threads = (uint32_t) s->n_thr;
    for (int k = 0; k < 3; k++) { /* the streams the restored shim will know as the job's */
        struct stat st;
        if (fstat (k, &st) == 0) {
            p->resume.stream[k][0] = (uint64_t) st.st_dev;
            p->resume.stream[k][1] = (uint64_t) st.st_ino;
            p->resume.stream_ok |= 1u << k;
        }
    }
    if (o->sock)
        gl_strlcpy (p->resume.sock, o->sock, sizeof p->resume.sock);
    if (o->gpid)
        gl_strlcpy (p->resume.gpid, o->gpid, sizeof p->resume.gpid);
    if (s->pidmap)
        p->resume.pidmap = *s->pidmap;
    if (mprotect (area, code_len, PROT_READ | PROT_EXEC)) {
        gl_err (err, errlen, "the second stage cannot be made executable: %s", strerror (errno));
        return NULL;
    }
    return p;
}

/* ---- touching the process ------------------------------------------------------------------------ */

static void place_fds (st_t *s, int streams[3], int keep)
{
    for (size_t i = 0; i < s->n_fd; i++) {
        rf_t *f = &s->fd[i];
        int fd = (int) f->f.fd;
        bool stream = f->f.kind == IMG_F_STREAM || f->f.kind == IMG_F_TTY;
        int src = stream ? streams[f->f.stream] : f->tmp;
        dup3 (src, fd, f->f.cloexec ? O_CLOEXEC : 0);
        if (stream || f->f.kind == IMG_F_PIPE || f->f.kind == IMG_F_USOCK ||
            IMG_F_IS_KOBJ (f->f.kind)) /* the program's own flags */
            fcntl (fd, F_SETFL, (int) f->f.flags & (O_APPEND | O_NONBLOCK | O_ASYNC));
    }
    /* everything else: the restorer's own and what its starter left open */
    unsigned next = 0;
    for (size_t i = 0; i < s->n_fd; i++) {
        unsigned fd = s->fd[i].f.fd;
        if (fd > next)
            close_range (next, fd - 1, 0);
        next = fd + 1;
    }
    /* and the rest, but the image's descriptor (above all of the image's) */
    if (keep >= 0 && (unsigned) keep >= next) {
        if ((unsigned) keep > next)
            close_range (next, (unsigned) keep - 1, 0);
        next = (unsigned) keep + 1;
    }
    close_range (next, ~0u, 0);
}

/* The job's terminal (glx -t): the new one, the restorer's stream
   (a pty the new host made, its controlling terminal), takes the old
   one's modes and window size, and the process's group is its
   foreground group again if it was.  Called with every signal blocked:
   a member of a tree in a background group is then let change the
   terminal (no SIGTTOU), as its shell would.  Which input the old one
   held unread is not here: it stayed in the old pty (glunix(7)). */
static void set_tty (st_t *s, const int streams[3])
{
    for (size_t i = 0; i < s->n_fd; i++) {
        const img_fd_t *f = &s->fd[i].f;
        if (f->kind != IMG_F_TTY)
            continue;
        int fd = streams[f->stream];
        img_tty_t t;
        img_get_tty (f, &t);
        struct termios tio;
        if (tcgetattr (fd, &tio) == 0) {
            tio.c_iflag = t.iflag;
            tio.c_oflag = t.oflag;
            tio.c_cflag = t.cflag;
            tio.c_lflag = t.lflag;
            tio.c_line = t.line;
            memcpy (tio.c_cc, t.cc, IMG_TTY_NCC);
            cfsetispeed (&tio, (speed_t) t.ispeed);
            cfsetospeed (&tio, (speed_t) t.ospeed);
            tcsetattr (fd, TCSANOW, &tio);
        }
        if (t.rows || t.cols) {
            struct winsize ws = {
                .ws_row = t.rows, .ws_col = t.cols, .ws_xpixel = t.xpixel, .ws_ypixel = t.ypixel
            };
            ioctl (fd, TIOCSWINSZ, &ws);
        }
        /* the kernel's ids: the shim, preloaded here too, would give
           old ones */
        pid_t sid = 0, pg = (pid_t) syscall (SYS_getpgid, 0);
        if ((t.flags & IMG_TTY_FG) && ioctl (fd, TIOCGSID, &sid) == 0 &&
            sid == (pid_t) syscall (SYS_getsid, 0))
            ioctl (fd, TIOCSPGRP, &pg);
        return; /* one terminal: the first record says it all */
    }
}

static void set_process (st_t *s)
{
    const img_proc_t *p = &s->proc;
    if (chdir (p->cwd)) { /* checked: it was there a moment ago */
    }
    umask ((mode_t) p->umask);
    for (int i = 0; i < IMG_NRLIMIT; i++) {
        struct rlimit cur, want;
        if (getrlimit ((__rlimit_resource_t) i, &cur))
            continue;
        /* never above this node's hard limit, which only root may raise */
        want.rlim_max = p->rlim[i][1] < cur.rlim_max ? p->rlim[i][1] : cur.rlim_max;
        want.rlim_cur = p->rlim[i][0] < want.rlim_max ? p->rlim[i][0] : want.rlim_max;
        setrlimit ((__rlimit_resource_t) i, &want);
    }
    for (int sig = 1; sig <= IMG_NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall (SYS_rt_sigaction, sig, p->sigact[sig - 1], NULL, 8);
    for (int i = 0; i < 3; i++) {
        struct itimerval t = {
            { (time_t) p->itimer[i][0], (suseconds_t) p->itimer[i][1] },
            { (time_t) p->itimer[i][2], (suseconds_t) p->itimer[i][3] },
        };
        setitimer (i, &t, NULL);
    }
}

static int become (st_t *s, int fd, const restore_opts_t *o, uint64_t t0, char *err, size_t errlen);

int restore_run (int fd, const restore_opts_t *o, char *err, size_t errlen)
{
    uint64_t t0 = now_ns ();
    /* the shim, if the host preloaded it here too, must not trap the
       second stage's system calls (they are made outside libc) */
    prctl (59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0, 0, 0, 0);
    static st_t s;
    memset (&s, 0, sizeof s);
    sink_t k = { &s, NULL, false };
    if (read_image (&k, o->src, fd, err, errlen)) {
        if (o->again)
            *o->again = k.again;
        return -1;
    }
    if (k.tree) /* a tree image: restore_tree.c */
        return rtree_run (k.tree, fd, o, err, errlen);
    if (check (&s, err, errlen))
        return -1;
    size_t huge = 0;
    for (size_t i = 0; i < s.n_vma; i++)
        huge += (s.vma[i].flags & IMG_VF_HUGE) != 0;
    if (o->verbose)
        fprintf (stderr,
                 "glrestore: %llu bytes read: %llu pages of %zu mappings (%zu advised to use "
                 "huge pages) and %zu threads, in %.1f ms\n",
                 (unsigned long long) s.bytes, (unsigned long long) s.pages, s.n_vma, huge, s.n_thr,
                 (double) (now_ns () - t0) / 1e6);
    if (o->check_only)
        return 0;
    if (cut_files (&s, err, errlen))
        return -1;
    return become (&s, fd, o, t0, err, errlen);
}

/* The process checked, this one becomes it: does not return, but with
   -1 and the reason when a step before the first change fails. */
static int become (st_t *s, int fd, const restore_opts_t *o, uint64_t t0, char *err, size_t errlen)
{
    if (rst_shm_files (&s, 1, err, errlen)) /* a tree's root made them for all */
        return -1;
    int hi = 3;
    for (size_t i = 0; i < s->n_fd; i++)
        if ((int) s->fd[i].f.fd >= hi)
            hi = (int) s->fd[i].f.fd + 1;
    if (open_files (s, hi, err, errlen))
        return -1;
    int streams[3] = { -1, -1, -1 };
    for (int i = 0; i < 3; i++)
        streams[i] = fcntl (i, F_DUPFD_CLOEXEC, hi);
    rp_plan_t *p = build (s, o, err, errlen);
    if (!p)
        return -1;
    /* the image's descriptor, kept open above the image's own until the
       second stage can no longer fail */
    p->image_fd = fd >= 0 ? fcntl (fd, F_DUPFD_CLOEXEC, hi + 3) : -1;
    /* a tree's members each hold the descriptor: only its last close
       says they all got through, so they write no byte */
    p->image_ack = s->pidmap == NULL;
    if (o->verbose)
        fprintf (stderr, "glrestore: staged in %.1f ms\n", (double) (now_ns () - t0) / 1e6);

    /* its POSIX timers, with their ids, disarmed until its signals are
       blocked: the last step that may fail */
    if (kobj_timers_make (&s->proc, err, errlen))
        return -1;
    /* from here on the process changes: all signals blocked until each
       thread's rt_sigreturn restores its own mask */
    uint64_t all = ~0ull;
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
    kobj_timers_arm (&s->proc);
    set_tty (s, streams);
    place_fds (s, streams, (int) p->image_fd);
    /* each epoll's registrations, now that every descriptor is at its
       number (the kernel keys them by file and number) */
    for (size_t i = 0; i < s->n_fd; i++)
        if ((s->fd[i].f.kind == IMG_F_EPOLL || s->fd[i].f.kind == IMG_F_INOTIFY) &&
            kobj_register (&s->fd[i].f, err, errlen)) {
            fprintf (stderr, "glrestore: %s\n", err);
            char failed = GL_RESTORE_REFUSED; /* to the agent (ckpt_proto.h) */
            if (p->image_fd >= 0)
                (void) !write ((int) p->image_fd, &failed, 1);
            _exit (GL_RESTORE_FAILED); /* nothing of the image has run */
        }
    set_process (s);
    /* the restorer's rseq area is about to go: the kernel must not
       write into it, and the image's threads register their own */
    if (__rseq_size > 0) {
        uint64_t tp;
        __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
        syscall (SYS_rseq, (void *) (uintptr_t) (tp + (uint64_t) __rseq_offset),
                 __rseq_size < 32 ? 32 : __rseq_size, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG);
    }
    uint64_t top = p->threads[0].stack; /* any thread's stack: the leader's in the area */
    for (size_t i = 0; i < p->n_threads; i++)
        if (p->threads[i].leader)
            top = p->threads[i].stack;
    rp_plan_t *plan = (rp_plan_t *) p;
    void (*entry) (rp_plan_t *) = (void (*) (rp_plan_t *)) (
        (uintptr_t) p->resume.base + (uintptr_t) ((const char *) glr_stage2 - __start_glr_blob));
    __asm__ volatile("mov %0, %%rsp\n"
                     "call *%1\n"
                     "ud2\n"
                     :
                     : "r"(top), "r"(entry), "D"(plan)
                     : "memory");
    __builtin_unreachable ();
}

/* ---- a process of a tree (restore_tree.h) ------------------------------------------------------ */

rst_t *rst_new (void)
{
    return calloc (1, sizeof (rst_t));
}

int rst_take (rst_t *s, const img_rec_t *r, char *err, size_t errlen)
{
    return take (s, r, err, errlen);
}

int rst_check (rst_t *s, char *err, size_t errlen)
{
    return check (s, err, errlen);
}

int rst_cut_files (rst_t *s, char *err, size_t errlen)
{
    return cut_files (s, err, errlen);
}

const img_proc_t *rst_proc (const rst_t *s)
{
    return &s->proc;
}

size_t rst_n_fds (const rst_t *s)
{
    return s->n_fd;
}

const img_fd_t *rst_fd (const rst_t *s, size_t i, const uint8_t **data)
{
    *data = s->fd[i].data;
    return &s->fd[i].f;
}

/* The memfds made for shared memory held by descriptors, by its id:
   made once, in a tree by its root before the fork (its children have
   them too); each descriptor of it is opened again through /proc. */
#define SHMFDS_MAX 256
static struct {
    uint64_t id;
    int fd;
} shmfds[SHMFDS_MAX];
static size_t n_shmfds;
static bool shmfds_made;

static int shmfd_of (uint64_t id)
{
    for (size_t i = 0; i < n_shmfds; i++)
        if (shmfds[i].id == id)
            return shmfds[i].fd;
    return -1;
}

int rst_shm_files (rst_t *const *p, size_t n, char *err, size_t errlen)
{
    if (shmfds_made)
        return 0;
    shmfds_made = true;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p[i]->n_fd; k++) {
            const rf_t *f = &p[i]->fd[k];
            if (f->f.kind != IMG_F_SHMFD || shmfd_of (f->f.mtime_sec) >= 0)
                continue;
            if (n_shmfds == SHMFDS_MAX)
                return gl_err (err, errlen, "more than %d objects of shared memory", SHMFDS_MAX);
            /* its name as memfd_create(2) takes it: what follows the
               directory, without " (deleted)" */
            char name[250];
            const char *b = !strncmp (f->path, "/memfd:", 7) ? f->path + 7 : strrchr (f->path, '/');
            b = b ? b + (*b == '/') : f->path;
            gl_strlcpy (name, b, sizeof name);
            char *d = strstr (name, " (deleted)");
            if (d)
                *d = '\0';
            int fd = memfd_create (name, MFD_CLOEXEC);
            if (fd < 0 || ftruncate (fd, (off_t) f->f.fsize) ||
                pwrite (fd, f->data, f->f.data_len, 0) != (ssize_t) f->f.data_len)
                return gl_err (err, errlen, "fd %u: shared memory (%s) cannot be made again: %s",
                               f->f.fd, f->path, strerror (errno));
            shmfds[n_shmfds].id = f->f.mtime_sec;
            shmfds[n_shmfds++].fd = fd;
        }
    /* its mappings: of the memfd, so that the descriptor and the memory
       are one object again */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p[i]->n_vma; k++) {
            rv_t *v = &p[i]->vma[k];
            int fd = v->kind == IMG_V_SHANON && v->fsize ? shmfd_of (v->fsize) : -1;
            if (fd < 0)
                continue;
            size_t len = v->end - v->start;
            void *h = hole_map (p[i], len, false, 0);
            if (!h || mmap (h, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
                            (off_t) v->offset) != h)
                return gl_err (err, errlen, "no room for the shared memory at 0x%llx",
                               (unsigned long long) v->start);
            if (v->stage) /* its pages are the file's bytes, which the memfd has */
                munmap (v->stage, len);
            v->stage = h;
            v->shared = true;
        }
    return 0;
}

int rst_share (rst_t *const *p, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < p[i]->n_vma; k++) {
            rv_t *v = &p[i]->vma[k];
            if (v->kind != IMG_V_SHANON || !v->fsize || v->shared)
                continue;
            for (size_t j = i; j < n; j++)
                for (size_t m = j == i ? k + 1 : 0; m < p[j]->n_vma; m++) {
                    rv_t *w = &p[j]->vma[m];
                    /* the same part of the object at the same place (the
                       capture refused a tree that maps it otherwise; parts
                       of it, as a split mapping, are apart in each) */
                    if (w->kind != IMG_V_SHANON || w->fsize != v->fsize || w->start != v->start ||
                        w->end != v->end || w->offset != v->offset || w->shared)
                        continue;
                    if (!v->stage) { /* no pages: zeros, but one object all the same */
                        v->stage = hole_map (p[i], v->end - v->start, true, 0);
                        if (!v->stage)
                            return gl_err (err, errlen, "no room to stage shared memory");
                    }
                    if (w->stage)
                        munmap (w->stage, w->end - w->start);
                    w->stage = v->stage;
                    v->shared = w->shared = true;
                }
        }
    return 0;
}

bool rst_free_at (const rst_t *s, uint64_t a, uint64_t len)
{
    const rv_t *v = vma_above (s, a);
    return !v || v->start >= a + len;
}

int rst_become (rst_t *s, int fd, const restore_opts_t *o, const int *pipe_ends, const pidmap_t *pm,
                char *err, size_t errlen)
{
    s->pipe_ends = pipe_ends;
    s->pidmap = pm;
    return become (s, fd, o, now_ns (), err, errlen);
}
