/* test_image: the checkpoint image's encoders and decoder (checkpoint/image.h). */
#include "image.h"
#include "tap.h"

#include <lz4.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[8 << 20];

/* A small whole image: header, PROC, two THREADs, three VMAs, an FD,
   packed and raw PAGES, END.  Returns its length. */
static size_t put_process (img_enc_t *e_, size_t n, uint32_t vpid, uint32_t vppid);
static int decode (size_t n, size_t piece, const char **why, int *n_pages_packed);

static bool unsummed; /* make as a move's writer does: records' sums left 0 */

static size_t make (void)
{
    img_enc_t e;
    size_t n = img_put_header (&e, buf, sizeof buf);
    e.unsummed = unsummed;
    n = put_process (&e, n, 4242, 1);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    return n;
}

/* One process's records (PROC to PAGES) at buf + n; the new length. */
static size_t put_process (img_enc_t *e_, size_t n, uint32_t vpid, uint32_t vppid)
{
    img_enc_t e = *e_;
    static img_proc_t p;
    memset (&p, 0, sizeof p);
    p.vpid = vpid;
    p.vppid = vppid;
    p.umask = 022;
    p.n_threads = 2;
    p.n_vmas = 3;
    p.n_fds = 1;
    p.rlim[7][0] = 1024;
    p.rlim[7][1] = 4096;
    p.sigact[1][0] = 0x401000;
    strcpy (p.cwd, "/tmp");
    n += img_put_proc (&e, &p, buf + n, sizeof buf - n);
    for (int i = 0; i < 2; i++) {
        img_thread_t t = { .tid = 4242 + (uint32_t) i,
                           .flags = i ? 0 : IMG_T_LEADER,
                           .fs = 0x7f0000001000,
                           .tid_addr = 0x7f00000012d0,
                           .rseq = 0x7f0000001fe0,
                           .rseq_len = 32,
                           .rseq_sig = 0x53053053 };
        t.reg[IMG_R_RSP] = 0x7ffd00001000;
        t.reg[IMG_R_RIP] = 0x401234;
        n += img_put_thread (&e, &t, buf + n, sizeof buf - n);
    }
    static img_vma_t v;
    memset (&v, 0, sizeof v);
    v = (img_vma_t){ .start = 0x400000, .end = 0x402000, .prot = 5, .kind = IMG_V_FILE };
    strcpy (v.path, "/bin/true");
    n += img_put_vma (&e, &v, buf + n, sizeof buf - n);
    v = (img_vma_t){ .start = 0x10000000, .end = 0x10200000, .prot = 3, .kind = IMG_V_ANON };
    n += img_put_vma (&e, &v, buf + n, sizeof buf - n);
    v = (img_vma_t){
        .start = 0x7ffd00000000, .end = 0x7ffd00002000, .prot = 3, .kind = IMG_V_STACK
    };
    n += img_put_vma (&e, &v, buf + n, sizeof buf - n);
    static img_fd_t f;
    memset (&f, 0, sizeof f);
    f = (img_fd_t){ .fd = 1, .kind = IMG_F_STREAM, .stream = 1 };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    static uint8_t pages[IMG_CHUNK_PAGES * IMG_PAGE];
    for (size_t i = 0; i < sizeof pages; i++)
        pages[i] = (uint8_t) (i / 4096); /* packs well */
    static char state[1 << 15];
    n += img_put_pages (&e, 0x10000000, pages, IMG_CHUNK_PAGES, state, buf + n, sizeof buf - n);
    for (size_t i = 0; i < 2 * IMG_PAGE; i++)
        pages[i] = (uint8_t) (rand () >> 7); /* does not */
    n += img_put_pages (&e, 0x10100000, pages, 2, state, buf + n, sizeof buf - n);
    *e_ = e;
    return n;
}

static img_tree_t tree3 = {
    3, { { 100, 1, 100, 100, IMG_P_ROOT }, { 101, 100, 100, 100, 0 }, { 102, 101, 102, 100, 0 } }
};

/* A tree image of tree3's processes, the last `drop` of them left out
   (the TREE record still lists all), or one more than it lists. */
static size_t make_tree (int drop, bool extra)
{
    img_enc_t e;
    size_t n = img_put_header (&e, buf, sizeof buf);
    n += img_put_tree (&e, &tree3, buf + n, sizeof buf - n);
    for (uint32_t i = 0; i + (uint32_t) drop < tree3.n; i++)
        n = put_process (&e, n, tree3.p[i].vpid, tree3.p[i].vppid);
    if (extra)
        n = put_process (&e, n, 103, 100);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    return n;
}

static int tree_why (const img_tree_t *t, const char **why)
{
    static uint8_t tb[IMG_REC_HDR + 8 + sizeof (img_tree_t)];
    static img_tree_t got;
    img_enc_t e = { 0 };
    size_t k = img_put_tree (&e, t, tb, sizeof tb);
    if (!k) {
        *why = "not encoded";
        return -1;
    }
    img_rec_t r = { .type = IMG_TREE,
                    .payload = tb + IMG_REC_HDR,
                    .len = (uint32_t) (k - IMG_REC_HDR) };
    *why = NULL;
    int rc = img_get_tree (&r, &got, why);
    if (rc == 0 && memcmp (&got, t, offsetof (img_tree_t, p) + t->n * sizeof t->p[0]))
        return (*why = "decoded differently", -1);
    return rc;
}

/* Tree images: the TREE record, each process's records in turn, one
   END; the decoder counts the processes and checks the table. */
static void trees (void)
{
    const char *why = NULL;
    int packed;
    size_t n = make_tree (0, false);
    CHECK_EQ (decode (n, n, &why, &packed), 1 + 1 + 3 * 9 + 1);
    CHECK_EQ (decode (n, 13, &why, &packed), 1 + 1 + 3 * 9 + 1);
    n = make_tree (1, false);
    CHECK (decode (n, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "ends before all its processes"));
    n = make_tree (0, true);
    CHECK (decode (n, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "more than the TREE lists"));

    /* a TREE record after a PROC */
    img_enc_t e;
    n = img_put_header (&e, buf, sizeof buf);
    n = put_process (&e, n, 100, 1);
    n += img_put_tree (&e, &tree3, buf + n, sizeof buf - n);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    CHECK (decode (n, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "TREE record that is not the first"));

    /* the root merges: each member's image, written apart, passes
       record by record (less header and END) into the one image */
    static uint8_t member[1 << 20];
    n = img_put_header (&e, buf, sizeof buf);
    n += img_put_tree (&e, &tree3, buf + n, sizeof buf - n);
    n = put_process (&e, n, 100, 1);
    for (int m = 1; m < 3; m++) {
        img_enc_t me;
        size_t mn = img_put_header (&me, member, sizeof member);
        size_t start = n; /* put_process writes into buf: the member is made past the
                             tree's end, then moved */
        mn = put_process (&me, start, tree3.p[m].vpid, tree3.p[m].vppid) - start;
        memcpy (member + IMG_HDR_SIZE, buf + start, mn);
        mn += IMG_HDR_SIZE;
        mn += img_put_end (&me, member + mn, sizeof member - mn);
        img_dec_t d;
        img_dec_init (&d);
        size_t at = 0;
        img_rec_t r;
        size_t used;
        while (img_dec_next (&d, member + at, mn - at, &r, &used, &why) == 1) {
            if (r.type != IMG_HEADER && r.type != IMG_END) {
                memmove (buf + n, member + at, used);
                img_enc_pass (&e, &r);
                n += used;
            }
            at += used;
            if (img_dec_done (&d))
                break;
        }
        CHECK (img_dec_done (&d));
    }
    n += img_put_end (&e, buf + n, sizeof buf - n);
    CHECK_EQ (decode (n, 4096, &why, &packed), 1 + 1 + 3 * 9 + 1);

    /* the table itself */
    img_tree_t t = tree3;
    CHECK_EQ (tree_why (&t, &why), 0);
    t.p[2].vpid = 101;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "listed twice"));
    t = tree3;
    t.p[1].vppid = 102; /* its parent after it */
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "before its parent"));
    t = tree3;
    t.p[1].flags = IMG_P_ROOT;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "root"));
    t = tree3;
    t.p[2].vpgid = 555;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "process group"));
    t = tree3;
    t.p[1].vsid = 555;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "session"));
    /* a job started in a container: its group and session leaders are
       outside its pid namespace, and the kernel says 0 for both */
    t = tree3;
    for (uint32_t i = 0; i < t.n; i++)
        t.p[i].vpgid = t.p[i].vsid = 0;
    CHECK_EQ (tree_why (&t, &why), 0);
    t.p[1].vpgid = 777; /* neither 0 (the root's) nor in the tree */
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "process group"));
    t = tree3;
    t.p[1].vpgid = 1u << 23;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "out of range"));
    t = tree3;
    t.p[0].vppid = 102;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "root's parent"));
    t = tree3;
    t.n = 1;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "fewer than 2"));
}

/* Decodes buf[0..n) fed in pieces of `piece` bytes: the number of
   records, or -1 with *why. */
/* Zombies (a child ended, not waited for): listed with their status,
   no records of their own; never the root, never a parent. */
static img_tree_t ztree = { 3,
                            { { 100, 1, 100, 100, IMG_P_ROOT },
                              { 101, 100, 100, 100, 0 },
                              { 102, 101, 100, 100, IMG_P_ZOMBIE | 0x0700u << 16 } } };

/* A tree image of t, with the records of its first `procs` processes. */
static size_t make_ztree (const img_tree_t *t, uint32_t procs)
{
    img_enc_t e;
    size_t n = img_put_header (&e, buf, sizeof buf);
    n += img_put_tree (&e, t, buf + n, sizeof buf - n);
    for (uint32_t i = 0; i < procs; i++)
        n = put_process (&e, n, t->p[i].vpid, t->p[i].vppid);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    return n;
}

static void zombies (void)
{
    const char *why = NULL;
    int packed;
    /* the stream: the zombie has no PROC, a PROC for it is one too many */
    size_t n = make_ztree (&ztree, 2);
    CHECK_EQ (decode (n, n, &why, &packed), 1 + 1 + 2 * 9 + 1);
    CHECK_EQ (decode (n, 13, &why, &packed), 1 + 1 + 2 * 9 + 1);
    n = make_ztree (&ztree, 3);
    CHECK (decode (n, n, &why, &packed) < 0 && why && strstr (why, "more than the TREE lists"));
    n = make_ztree (&ztree, 1);
    CHECK (decode (n, n, &why, &packed) < 0 && why && strstr (why, "ends before all"));
    img_tree_t t = ztree;
    t.p[0].flags |= IMG_P_ZOMBIE;
    t.p[1].flags |= IMG_P_ZOMBIE;
    n = make_ztree (&t, 0);
    CHECK (decode (n, n, &why, &packed) < 0 && why && strstr (why, "zombies only"));

    /* the table: exit codes and ending signals accepted */
    t = ztree;
    CHECK_EQ (tree_why (&t, &why), 0);
    t.p[2].flags = IMG_P_ZOMBIE | 10u << 16; /* SIGUSR1 */
    CHECK_EQ (tree_why (&t, &why), 0);
    t.p[2].flags = IMG_P_ZOMBIE; /* exit 0 */
    CHECK_EQ (tree_why (&t, &why), 0);
    t.p[1].flags = IMG_P_ZOMBIE | 0xff00u << 16; /* two zombies, one exited 255 */
    t.p[2].vppid = 100;
    CHECK_EQ (tree_why (&t, &why), 0);
    /* refused: a zombie root, a zombie with a child, a status on a live
       process, a stop, the core bit, a signal that does not end, an
       unknown flag */
    t = ztree;
    t.p[0].flags |= IMG_P_ZOMBIE;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "root is a zombie"));
    t = ztree;
    t.p[1].flags = IMG_P_ZOMBIE;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "zombie with children"));
    t = ztree;
    t.p[1].flags = 0x0700u << 16;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "no zombie"));
    const uint32_t bad[] = { 0x137f, 0x8b, 17, 19, 65, 0x7f, 0x0701 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = ztree;
        t.p[2].flags = IMG_P_ZOMBIE | bad[i] << 16;
        CHECK (tree_why (&t, &why) < 0 && strstr (why, "neither an exit code nor a signal"));
    }
    t = ztree;
    t.p[2].flags |= 4;
    CHECK (tree_why (&t, &why) < 0 && strstr (why, "root"));
}

/* decode and decode_split read as from a move's sealed stream: the
   records' sums taken as they stand (img_dec_t.authenticated) */
static bool authed;

static int decode (size_t n, size_t piece, const char **why, int *n_pages_packed)
{
    img_dec_t d;
    img_dec_init (&d);
    d.authenticated = authed;
    size_t have = 0, at = 0;
    int recs = 0;
    *n_pages_packed = 0;
    static uint8_t out[IMG_CHUNK_PAGES * IMG_PAGE];
    for (;;) {
        img_rec_t r;
        size_t used;
        int k = img_dec_next (&d, buf + at, have - at, &r, &used, why);
        if (k < 0)
            return -1;
        if (k == 0) {
            if (have == n) {
                *why = "truncated";
                return -1;
            }
            have = have + piece > n ? n : have + piece;
            continue;
        }
        at += used;
        recs++;
        static img_proc_t p;
        img_thread_t t;
        static img_vma_t v;
        static img_fd_t f;
        img_pages_t pg;
        int bad = 0;
        static img_tree_t tr;
        switch (r.type) {
            case IMG_TREE: bad = img_get_tree (&r, &tr, why); break;
            case IMG_PROC: bad = img_get_proc (&r, &p, why); break;
            case IMG_THREAD: bad = img_get_thread (&r, &t, why); break;
            case IMG_VMA: bad = img_get_vma (&r, &v, why); break;
            case IMG_FD: bad = img_get_fd (&r, &f, why); break;
            case IMG_PAGES:
                bad = img_get_pages (&r, &pg, why) || img_unpack (&pg, out, why);
                *n_pages_packed += pg.codec == IMG_LZ4;
                if (!bad && pg.addr == 0x10000000)
                    bad = out[5 * 4096] != 5 ? (*why = "unpacked wrong", -1) : 0;
                break;
            default: break;
        }
        if (bad)
            return -1;
        if (img_dec_done (&d))
            return at == n ? recs : (*why = "left over", -1);
    }
}

/* Raw pages read apart from their record's head, as glrestore reads
   them (img_dec_pages_head, _tail), the image fed piece bytes at a
   time; flip: a byte of the pages flipped on their way.  The records
   decoded, -1 when the image was refused; *split: how many went the
   split way. */
static int decode_split (size_t n, size_t piece, bool flip, int *split)
{
    img_dec_t d;
    img_dec_init (&d);
    d.authenticated = authed;
    size_t have = 0, at = 0;
    int recs = 0;
    *split = 0;
    static uint8_t far[IMG_CHUNK_PAGES * IMG_PAGE];
    for (;;) {
        img_rec_t r;
        size_t used;
        const char *why = NULL;
        int k = img_dec_next (&d, buf + at, have - at, &r, &used, &why);
        if (k < 0)
            return -1;
        if (k == 1) {
            at += used;
            recs++;
            if (img_dec_done (&d))
                return at == n ? recs : -1;
            continue;
        }
        img_pages_t pg;
        if (img_dec_pages_head (&d, buf + at, have - at, &pg) == 1) {
            if (pg.len != pg.n_pages * IMG_PAGE || pg.data || at + IMG_PAGES_HEAD + pg.len > n)
                return -1;
            memcpy (far, buf + at + IMG_PAGES_HEAD, pg.len);
            if (flip)
                far[pg.len / 2] ^= 1;
            if (img_dec_pages_tail (&d, buf + at, far, &r, &why) < 0)
                return -1;
            if (r.type != IMG_PAGES || r.len != pg.len + IMG_PAGES_HEAD - IMG_REC_HDR)
                return -1;
            at += IMG_PAGES_HEAD + pg.len;
            have = at;
            recs++;
            (*split)++;
            continue;
        }
        if (have == n)
            return -1;
        have = have + piece > n ? n : have + piece;
    }
}

/* img_sum2 is img_sum of the two parts joined, wherever they are cut */
static void sums (void)
{
    static uint8_t b[300];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t) (i * 131 + 7);
    int same = 1;
    for (size_t n = 0; n <= sizeof b; n += n < 80 ? 1 : 37)
        for (size_t cut = 0; cut <= n; cut++)
            same &= img_sum2 (b, cut, b + cut, n - cut, 42) == img_sum (b, n, 42);
    CHECK (same);
}

/* One record encoded and decoded again: PROC, THREAD or FD. */
static int rec_why (img_type_t type, const void *in, void *out, const char **why)
{
    static uint8_t rb[IMG_REC_HDR + sizeof (img_proc_t) + 64];
    img_enc_t e = { 0 };
    size_t k = type == IMG_PROC     ? img_put_proc (&e, in, rb, sizeof rb)
               : type == IMG_THREAD ? img_put_thread (&e, in, rb, sizeof rb)
                                    : img_put_fd (&e, in, rb, sizeof rb);
    img_rec_t r = { .type = type,
                    .payload = rb + IMG_REC_HDR,
                    .len = (uint32_t) (k - IMG_REC_HDR) };
    *why = NULL;
    return type == IMG_PROC     ? img_get_proc (&r, out, why)
           : type == IMG_THREAD ? img_get_thread (&r, out, why)
                                : img_get_fd (&r, out, why);
}

/* The kernel's layout of a process and its threads' names travel and
   are checked as prctl(PR_SET_MM_MAP) and PR_SET_NAME would take them. */
static void layout (void)
{
    const char *why;
    static img_proc_t p, got;
    memset (&p, 0, sizeof p);
    p.n_threads = p.n_vmas = 1;
    strcpy (p.cwd, "/");
    CHECK_EQ (rec_why (IMG_PROC, &p, &got, &why), 0); /* all 0: not known */
    const uint64_t mm[IMG_NMM] = { 0x400000,       0x401000,       0x403000,       0x404000,
                                   0x1000000,      0x1021000,      0x7ffd0000f000, 0x7ffd0000f100,
                                   0x7ffd0000f120, 0x7ffd0000f120, 0x7ffd0000ffe0 };
    memcpy (p.mm, mm, sizeof mm);
    CHECK_EQ (rec_why (IMG_PROC, &p, &got, &why), 0);
    CHECK (memcmp (got.mm, mm, sizeof mm) == 0);
    p.mm[IMG_MM_BRK] = p.mm[IMG_MM_START_BRK] - 4096;
    CHECK (rec_why (IMG_PROC, &p, &got, &why) < 0 && strstr (why, "start above its end"));
    memcpy (p.mm, mm, sizeof mm);
    p.mm[IMG_MM_ARG_END] = IMG_USER_TOP;
    CHECK (rec_why (IMG_PROC, &p, &got, &why) < 0 && strstr (why, "outside user space"));
    memcpy (p.mm, mm, sizeof mm);

    /* POSIX timers: travel, and are checked as timer_create takes them */
    p.n_timers = 2;
    p.timers[0] = (img_ptimer_t){ 0, 0, 0, 14, 0, 1, 500, 0, 0 };
    p.timers[1] = (img_ptimer_t){ 3, 1, 1, 0, 0xabc, 0, 0, 2, 0 };
    CHECK_EQ (rec_why (IMG_PROC, &p, &got, &why), 0);
    CHECK (got.n_timers == 2 && memcmp (got.timers, p.timers, 2 * sizeof p.timers[0]) == 0);
    p.timers[1].id = 0;
    CHECK (rec_why (IMG_PROC, &p, &got, &why) < 0 && strstr (why, "repeated or out of order"));
    p.timers[1].id = 3;
    p.timers[1].clockid = 3; /* a thread's CPU clock */
    CHECK (rec_why (IMG_PROC, &p, &got, &why) < 0 && strstr (why, "clock"));
    p.timers[1].clockid = 1;
    p.timers[0].signo = 0;
    CHECK (rec_why (IMG_PROC, &p, &got, &why) < 0 && strstr (why, "signal"));
    p.n_timers = 0;

    img_thread_t t = { .tid = 7, .flags = IMG_T_LEADER, .fs = 0x1000, .tid_addr = 0x1000 }, tg;
    t.reg[IMG_R_RSP] = t.reg[IMG_R_RIP] = 0x1000;
    strcpy (t.name, "python3");
    CHECK_EQ (rec_why (IMG_THREAD, &t, &tg, &why), 0);
    CHECK (strcmp (tg.name, "python3") == 0);
    /* a name of 16 bytes, without its NUL, is cut by the encoder, and
       refused by the decoder when it comes that way */
    memcpy (t.name, "0123456789abcdef", 16);
    CHECK_EQ (rec_why (IMG_THREAD, &t, &tg, &why), 0);
    CHECK (strcmp (tg.name, "0123456789abcde") == 0);
    static uint8_t rb[IMG_REC_HDR + 512];
    img_enc_t e = { 0 };
    size_t k = img_put_thread (&e, &t, rb, sizeof rb);
    memcpy (rb + k - IMG_NAME_MAX, "0123456789abcdef", IMG_NAME_MAX);
    img_rec_t r = { .type = IMG_THREAD,
                    .payload = rb + IMG_REC_HDR,
                    .len = (uint32_t) (k - IMG_REC_HDR) };
    CHECK (img_get_thread (&r, &tg, &why) < 0 && strstr (why, "more than 15 bytes"));
    memcpy (rb + k - IMG_NAME_MAX, "ab\0c", 4);
    CHECK (img_get_thread (&r, &tg, &why) < 0 && strstr (why, "after its name's end"));

    /* what the kernel keeps per thread travels (flag 4), and is checked
       as sched_setscheduler, setpriority, PR_SET_PDEATHSIG and capset
       would take it */
    strcpy (t.name, "worker");
    t.flags = IMG_T_LEADER | IMG_T_ATTRS | IMG_T_NNP | IMG_T_NODUMP | IMG_T_SUBREAPER;
    t.policy = 5 | IMG_SCHED_RESET_ON_FORK; /* SCHED_IDLE */
    t.nice = 7;
    t.pdeath = 15;
    t.persona = 0x0040000; /* ADDR_NO_RANDOMIZE */
    t.caps[0] = 0x1, t.caps[1] = 0x3, t.caps[2] = 0x4;
    CHECK_EQ (rec_why (IMG_THREAD, &t, &tg, &why), 0);
    CHECK (tg.flags == t.flags && tg.policy == t.policy && tg.nice == 7 && tg.rtprio == 0 &&
           tg.pdeath == 15 && tg.persona == t.persona &&
           memcmp (tg.caps, t.caps, sizeof t.caps) == 0);
    t.nice = -21;
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "nice"));
    t.nice = 0;
    t.policy = 1; /* SCHED_FIFO without a priority */
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "real-time priority"));
    t.rtprio = 10;
    CHECK_EQ (rec_why (IMG_THREAD, &t, &tg, &why), 0);
    t.policy = 6; /* SCHED_DEADLINE */
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "policy"));
    t.policy = 0, t.rtprio = 0;
    t.caps[0] = 0x8; /* effective, not permitted */
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "capabilities"));
    t.caps[0] = 0x1;
    t.pdeath = 65;
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "parent-death"));
    t.pdeath = 0;
    t.flags &= ~(uint32_t) IMG_T_LEADER; /* the process's flags on another thread */
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "leader"));
    t.flags = IMG_T_LEADER | 64;
    CHECK (rec_why (IMG_THREAD, &t, &tg, &why) < 0 && strstr (why, "unknown flags"));
}

/* The kernel's objects (eventfd, timerfd, signalfd, epoll, inotify): their state
   travels and is checked as the calls that make them again take it. */
static void kernel_objects (void)
{
    const char *why;
    img_fd_t f, got;
    f = (img_fd_t){ .fd = 3, .kind = IMG_F_EVENTFD, .fsize = 7, .pos = 1 };
    strcpy (f.path, "anon_inode:[eventfd]");
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    CHECK (got.kind == IMG_F_EVENTFD && got.fsize == 7 && got.pos == 1);
    f.pos = 2;
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "eventfd"));

    uint8_t tb[IMG_TIMERFD_SIZE];
    img_timerfd_t t = { 1, 0, 3, 0, 20000000, 0, 20000000 }, tg;
    img_put_timerfd (&t, tb);
    f = (img_fd_t){ .fd = 4, .kind = IMG_F_TIMERFD, .data = tb, .data_len = sizeof tb };
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    img_get_timerfd (&got, &tg);
    CHECK (memcmp (&tg, &t, sizeof t) == 0);
    t.clockid = 5; /* CLOCK_THREAD_CPUTIME_ID: no timerfd takes it */
    img_put_timerfd (&t, tb);
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "timerfd"));
    f.data_len = 40;
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "wrong size"));

    f = (img_fd_t){ .fd = 5, .kind = IMG_F_SIGNALFD, .fsize = 1u << 9, .data = tb, .data_len = 8 };
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "neither a pipe"));

    uint8_t regs[2 * IMG_EPOLL_REG] = { 3, 0, 0, 0, 1, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0, 0,
                                        4, 0, 0, 0, 1, 0, 0, 0, 0x71, 0, 0, 0, 0, 0, 0, 0 };
    f = (img_fd_t){ .fd = 6, .kind = IMG_F_EPOLL, .data = regs, .data_len = sizeof regs };
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    uint32_t fd, events;
    uint64_t data;
    img_get_epoll_reg (&got, 1, &fd, &events, &data);
    CHECK (fd == 4 && events == 1 && data == 0x71);
    CHECK (img_watched_fd (&got, 1, &fd) && fd == 4 && !img_watched_fd (&got, 2, &fd));
    regs[16] = 6; /* watching itself */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "itself"));
    f.data_len = 20;
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "wrong size"));

    /* an inotify instance: its watches in increasing order, each through
       another descriptor */
    uint8_t w[2 * IMG_INOTIFY_REG] = { 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0,
                                       4, 0, 0, 0, 6, 0, 0, 0, 5, 0, 0, 0 };
    f = (img_fd_t){ .fd = 7, .kind = IMG_F_INOTIFY, .data = w, .data_len = sizeof w };
    strcpy (f.path, "anon_inode:inotify");
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    uint32_t wd, mask, on;
    img_get_inotify_watch (&got, 1, &wd, &mask, &on);
    CHECK (got.kind == IMG_F_INOTIFY && wd == 4 && mask == 6 && on == 5);
    CHECK (img_watched_fd (&got, 0, &on) && on == 3 && !img_watched_fd (&got, 2, &on));
    w[12] = 1; /* two watches numbered 1 */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "out of order"));
    w[12] = 4;
    w[20] = 7; /* through itself */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "itself"));
    w[20] = 5;
    w[16] = 0; /* no events */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "without events"));
    f.data_len = 13;
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "wrong size"));
}

/* An end of a unix socket pair: its ids, type and shutdown travel, and
   its datagrams or records each whole within its bytes. */
static void unix_sockets (void)
{
    const char *why;
    img_fd_t f, got;
    f = (img_fd_t){ .fd = 3,
                    .kind = IMG_F_USOCK,
                    .flags = 04002,
                    .fsize = 900,
                    .pos = 901,
                    .mtime_sec = 1,
                    .mtime_nsec = IMG_US_RDSHUT,
                    .stream = 212992,
                    .data = (const uint8_t *) "queued",
                    .data_len = 6 };
    strcpy (f.path, "socket:[900]");
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    CHECK (got.kind == IMG_F_USOCK && got.fsize == 900 && got.pos == 901 && got.mtime_sec == 1 &&
           got.mtime_nsec == IMG_US_RDSHUT && got.stream == 212992 && got.flags == 04002 &&
           got.data_len == 6 && memcmp (got.data, "queued", 6) == 0);
    f.pos = 0; /* its peer closed */
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    f.pos = 900; /* its own peer */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "unix socket"));
    f.pos = 901;
    f.mtime_sec = 3; /* SOCK_RAW */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "type"));
    f.mtime_sec = 1;
    f.mtime_nsec = 4;
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "unix socket"));
    f.mtime_nsec = IMG_US_PASSCRED; /* credentials would have to go with the bytes */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "credentials"));
    f.mtime_nsec = 0;
    f.flags = 0; /* read-only: no socket is */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "direction"));
    f.flags = 02;
    f.fsize = 1ull << 32; /* inodes of sockets are 32 bits */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "ids"));
    f.fsize = 900;

    /* datagrams: each after its length; one of no bytes is one too */
    static const uint8_t dg[] = { 2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0, 3, 0, 0, 0, 'c', 'd', 'e' };
    f.mtime_sec = 2;
    f.data = dg;
    f.data_len = sizeof dg;
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    f.data_len = sizeof dg - 1; /* the last one cut */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "runs past"));
    f.data_len = 12; /* cut in a length */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "cut in its length"));
    f.mtime_sec = 5; /* SEQPACKET: the same framing */
    f.data_len = sizeof dg;
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    f.mtime_sec = 1; /* a stream's bytes are not framed: any length */
    f.data_len = 13;
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
}

/* Shared memory held by a descriptor: its id and all its bytes. */
static void shm_files (void)
{
    const char *why;
    img_fd_t f, got;
    f = (img_fd_t){ .fd = 5,
                    .kind = IMG_F_SHMFD,
                    .flags = 0100002,
                    .pos = 100,
                    .fsize = 4,
                    .mtime_sec = 0x1b00000000ull | 44195,
                    .data = (const uint8_t *) "\1\2\3\4",
                    .data_len = 4 };
    strcpy (f.path, "/dev/shm/pym-1-x (deleted)");
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    CHECK (got.kind == IMG_F_SHMFD && got.mtime_sec == f.mtime_sec && got.pos == 100 &&
           got.data_len == 4 && memcmp (got.data, "\1\2\3\4", 4) == 0);
    f.fsize = 8; /* bytes missing */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "shared memory"));
    f.fsize = 4;
    f.mtime_sec = 0; /* no id */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "shared memory"));
    f.mtime_sec = 1;
    f.path[0] = '\0'; /* no name */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "shared memory"));
}

/* The job's terminal: a stream with the terminal's state, which comes
   back field for field; a state of the wrong size, flags or a line
   discipline out of range, or a stream other than 0..2 is refused. */
static void tty_files (void)
{
    const char *why;
    img_fd_t f, got;
    img_tty_t t = { .iflag = 0x500,
                    .oflag = 5,
                    .cflag = 0xbf,
                    .lflag = 0x8a31,
                    .line = 0,
                    .ispeed = 15,
                    .ospeed = 15,
                    .rows = 33,
                    .cols = 77,
                    .xpixel = 640,
                    .ypixel = 480,
                    .flags = IMG_TTY_CTTY | IMG_TTY_FG };
    for (int i = 0; i < IMG_TTY_NCC; i++)
        t.cc[i] = (uint8_t) (i + 1);
    uint8_t data[IMG_TTY_SIZE + 1];
    img_put_tty (&t, data);
    f = (img_fd_t){ .fd = 255,
                    .kind = IMG_F_TTY,
                    .stream = 2,
                    .flags = 02,
                    .data = data,
                    .data_len = IMG_TTY_SIZE };
    strcpy (f.path, "/dev/pts/7");
    CHECK_EQ (rec_why (IMG_FD, &f, &got, &why), 0);
    img_tty_t back;
    CHECK (got.kind == IMG_F_TTY && got.stream == 2 && got.data_len == IMG_TTY_SIZE);
    img_get_tty (&got, &back);
    CHECK (back.iflag == t.iflag && back.oflag == t.oflag && back.cflag == t.cflag &&
           back.lflag == t.lflag && back.line == t.line && !memcmp (back.cc, t.cc, IMG_TTY_NCC) &&
           back.ispeed == 15 && back.ospeed == 15 && back.rows == 33 && back.cols == 77 &&
           back.xpixel == 640 && back.ypixel == 480 && back.flags == 3);
    f.data_len = IMG_TTY_SIZE + 1; /* a state of another size */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "terminal"));
    f.data_len = 0; /* none */
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "terminal"));
    f.data_len = IMG_TTY_SIZE;
    t.flags = 4; /* flags unknown */
    img_put_tty (&t, data);
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "terminal"));
    t.flags = 0;
    t.line = 200; /* no such line discipline */
    img_put_tty (&t, data);
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "terminal"));
    t.line = 0;
    img_put_tty (&t, data);
    f.stream = 3;
    CHECK (rec_why (IMG_FD, &f, &got, &why) < 0 && strstr (why, "stream"));
}

/* LZ4 is given up on a long run of pages that do not shrink (IMG_LZ4_SKIP
   pages go raw untried), tried again after it, and a hit starts the count
   of misses over. */
static void lz4_skip (void)
{
    static uint8_t rnd[IMG_CHUNK_PAGES * IMG_PAGE], flat[IMG_CHUNK_PAGES * IMG_PAGE];
    static uint8_t out[IMG_REC_HDR + 16 + IMG_CHUNK_PAGES * IMG_PAGE], hdr[IMG_HDR_SIZE];
    static char state[1 << 15];
    CHECK ((size_t) LZ4_sizeofState () <= sizeof state);
    for (size_t i = 0; i < sizeof rnd; i++) {
        rnd[i] = (uint8_t) (rand () >> 7);
        flat[i] = (uint8_t) (i / 4096);
    }
    img_enc_t e;
    img_put_header (&e, hdr, sizeof hdr);
    int lz4 = 0, raw = 0;
#define PUT(src)                                                                              \
    do {                                                                                      \
        uint32_t codec;                                                                       \
        CHECK (img_put_pages (&e, 0x10000000, src, IMG_CHUNK_PAGES, state, out, sizeof out)); \
        memcpy (&codec, out + IMG_REC_HDR + 12, 4);                                           \
        lz4 += codec == IMG_LZ4;                                                              \
        raw += codec == IMG_RAW;                                                              \
    } while (0)
    for (uint32_t i = 0; i < IMG_LZ4_MISSES / IMG_CHUNK_PAGES; i++)
        PUT (rnd);
    CHECK_EQ (raw, IMG_LZ4_MISSES / IMG_CHUNK_PAGES);
    lz4 = raw = 0;
    for (uint32_t i = 0; i < IMG_LZ4_SKIP / IMG_CHUNK_PAGES; i++)
        PUT (flat); /* would shrink, but is not tried */
    CHECK_EQ (lz4, 0);
    lz4 = raw = 0;
    PUT (flat); /* tried again */
    CHECK_EQ (lz4, 1);
    for (uint32_t i = 0; i + 1 < IMG_LZ4_MISSES / IMG_CHUNK_PAGES; i++)
        PUT (rnd);
    PUT (flat); /* fewer misses than the limit since the hit */
    CHECK_EQ (lz4, 2);
#undef PUT
}

/* A FAIL record after the header: its reason and flags read back (flags
   0 when the writer set none: the record as it was before flags); a
   flag no reader knows is refused. */
static int fail_back (uint32_t flags, char *reason, uint32_t *got, const char **why)
{
    static uint8_t fb[IMG_PATH_MAX + 256];
    img_enc_t e;
    size_t n = img_put_header (&e, fb, sizeof fb);
    n += img_put_fail (&e, "fd 7: a file that came meanwhile", flags, fb + n, sizeof fb - n);
    img_dec_t d;
    img_dec_init (&d);
    size_t at = 0, used;
    img_rec_t r;
    for (int k = 0; k < 2; k++) {
        if (img_dec_next (&d, fb + at, n - at, &r, &used, why) != 1)
            return -1;
        at += used;
    }
    return r.type == IMG_FAIL && at == n ? img_get_fail (&r, reason, got, why) : -1;
}

static void fails (void)
{
    static char reason[IMG_PATH_MAX];
    uint32_t flags = 9;
    const char *why = NULL;
    CHECK_EQ (fail_back (0, reason, &flags, &why), 0);
    CHECK (!strcmp (reason, "fd 7: a file that came meanwhile") && flags == 0);
    CHECK_EQ (fail_back (IMG_FAIL_AGAIN, reason, &flags, &why), 0);
    CHECK (!strcmp (reason, "fd 7: a file that came meanwhile") && flags == IMG_FAIL_AGAIN);
    CHECK_EQ (fail_back (IMG_FAIL_AGAIN << 1, reason, &flags, &why), -1);
    CHECK (why && strstr (why, "flags"));
}

int main (void)
{
    fails ();
    size_t n = make ();
    const char *why = NULL;
    int packed;
    CHECK_EQ (decode (n, n, &why, &packed),
              11); /* header, proc, 2 threads, 3 vmas, fd, 2 pages, end */
    CHECK_EQ (packed, 1);
    CHECK_EQ (decode (n, 7, &why, &packed), 11); /* fed a few bytes at a time */

    /* raw pages read straight to where they go: the same records; a
       flipped byte among them is caught by the record's sum; packed
       pages and whole records go img_dec_next's way */
    sums ();
    int split;
    CHECK_EQ (decode_split (n, 40, false, &split), 11);
    CHECK_EQ (split, 1); /* the 2 raw pages; the packed chunk is not split */
    CHECK_EQ (decode_split (n, 40, true, &split), -1);
    CHECK_EQ (decode_split (n, n, false, &split), 11);
    CHECK_EQ (split, 0); /* all there at once: no need */
    lz4_skip ();

    /* every single flipped byte is caught, wherever it is */
    int caught = 0, tried = 0;
    for (size_t i = 0; i < n; i += 97) {
        buf[i] ^= 0x20;
        tried++;
        caught += decode (n, n, &why, &packed) < 0;
        buf[i] ^= 0x20;
    }
    CHECK_EQ (caught, tried);

    /* cut anywhere: an error, never a whole image */
    int cut_ok = 1;
    for (size_t cut = 0; cut < n; cut += n / 50 + 1)
        if (decode (cut, cut + 1, &why, &packed) >= 0)
            cut_ok = 0;
    CHECK (cut_ok);

    /* a record dropped: END no longer matches */
    size_t hdr = IMG_HDR_SIZE;
    uint32_t plen;
    memcpy (&plen, buf + hdr + 4, 4); /* PROC */
    size_t t1 = hdr + IMG_REC_HDR + plen, t1len;
    memcpy (&plen, buf + t1 + 4, 4);
    t1len = IMG_REC_HDR + plen;
    static uint8_t copy[8 << 20];
    memcpy (copy, buf, n);
    memmove (buf + t1, buf + t1 + t1len, n - t1 - t1len);
    CHECK (decode (n - t1len, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "END"));
    memcpy (buf, copy, n);

    /* authenticated bytes (a sealed stream): a record's sum is not
       computed again, so a flipped byte of pages, which the stream's tag
       would have refused, goes through here; the header's sum, END's
       count and chain, and a cut are still caught */
    authed = true;
    CHECK_EQ (decode_split (n, 40, true, &split), 11);
    CHECK_EQ (decode (n, 7, &why, &packed), 11);
    memmove (buf + t1, buf + t1 + t1len, n - t1 - t1len);
    CHECK (decode (n - t1len, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "END"));
    memcpy (buf, copy, n);
    buf[20] ^= 1; /* the header's flags */
    CHECK (decode (n, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "header is corrupt"));
    buf[20] ^= 1;
    CHECK (decode (n - 1, n, &why, &packed) < 0);
    authed = false;

    /* out of order: a THREAD record moved after the VMAs */
    CHECK (decode (n, n, &why, &packed) == 11);

    /* fields a restorer trusts are checked */
    img_rec_t r = { .type = IMG_VMA };
    uint8_t vb[256];
    img_enc_t e = { 0 };
    img_vma_t v = { .start = 0x1001, .end = 0x3000, .prot = 3, .kind = IMG_V_ANON };
    size_t k = img_put_vma (&e, &v, vb, sizeof vb);
    r.payload = vb + IMG_REC_HDR;
    r.len = (uint32_t) (k - IMG_REC_HDR);
    static img_vma_t got;
    CHECK (img_get_vma (&r, &got, &why) < 0);
    v.start = 0x1000;
    v.kind = 42;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0);
    v.kind = IMG_V_ANON;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) == 0);
    CHECK_EQ (got.end, 0x3000);
    CHECK_EQ (got.flags, 0);
    /* the huge-page advice travels; unknown flags, or both, do not */
    v.flags = IMG_VF_HUGE;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) == 0);
    CHECK_EQ (got.flags, IMG_VF_HUGE);
    v.flags = IMG_VF_HUGE | IMG_VF_NOHUGE;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0);
    v.flags = 64;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0);
    v.flags = IMG_VF_ONFAULT; /* on fault, but not locked */
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0);
    v.flags = IMG_VF_LOCKED | IMG_VF_ONFAULT;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) == 0);
    CHECK_EQ (got.flags, IMG_VF_LOCKED | IMG_VF_ONFAULT);
    /* so does the advice a fork follows (forkadv.h); wiped in a fork
       only private anonymous memory */
    v.flags = IMG_VF_NOHUGE | IMG_VF_DONTFORK | IMG_VF_WIPEONFORK;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) == 0);
    CHECK_EQ (got.flags, IMG_VF_NOHUGE | IMG_VF_DONTFORK | IMG_VF_WIPEONFORK);
    v.kind = IMG_V_FILE_RO;
    v.prot = 1;
    v.flags = IMG_VF_DONTFORK;
    strcpy (v.path, "/lib/x");
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) == 0);
    v.flags = IMG_VF_WIPEONFORK;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0);
    v.kind = IMG_V_ANON;
    v.prot = 3;
    v.flags = 0;
    v.path[0] = '\0';

    /* shared memory's object travels (its id in the size); a private
       mapping has none */
    v = (img_vma_t){ .start = 0x1000, .end = 0x3000, .prot = 3, .kind = IMG_V_SHANON };
    v.fsize = 0x1b00000000ull | 44195;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) == 0);
    CHECK (got.kind == IMG_V_SHANON && got.fsize == (0x1b00000000ull | 44195));
    v.kind = IMG_V_ANON;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0 && strstr (why, "shared object"));
    v.kind = IMG_V_STACK;
    k = img_put_vma (&e, &v, vb, sizeof vb);
    r.len = (uint32_t) (k - IMG_REC_HDR);
    CHECK (img_get_vma (&r, &got, &why) < 0 && strstr (why, "shared object"));

    /* an image of version 1 (before the advice) is refused, saying so */
    n = make ();
    uint32_t v1 = 1;
    memcpy (buf + 8, &v1, 4);
    uint64_t sum = img_sum (buf, 24, 0);
    memcpy (buf + 24, &sum, 8);
    why = NULL;
    CHECK (decode (n, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "another version") && strstr (why, "version 3"));

    /* the sum is xxHash64: its published value for the empty input */
    CHECK (img_sum ("", 0, 0) == 0xEF46DB3751D8E999ull);
    CHECK (img_sum ("abc", 3, 0) == 0x44BC2CF5AD770999ull);
    /* a move's writer leaves every record's sum 0 (img_enc_t.unsummed):
       read as a sealed stream's bytes it is the same image, END's chain
       of those sums included, whole or split; read as a file's, its
       first record is refused */
    unsummed = true;
    n = make ();
    uint64_t sum0;
    memcpy (&sum0, buf + IMG_HDR_SIZE + 8, 8);
    CHECK (sum0 == 0);
    authed = true;
    CHECK_EQ (decode (n, 7, &why, &packed), 11);
    CHECK_EQ (decode_split (n, 40, false, &split), 11);
    CHECK_EQ (split, 1);
    authed = false;
    why = NULL;
    CHECK (decode (n, n, &why, &packed) < 0);
    CHECK (why && strstr (why, "sum does not match"));
    unsummed = false;

    trees ();
    zombies ();
    layout ();
    kernel_objects ();
    unix_sockets ();
    shm_files ();
    tty_files ();
    return tap_done ("test_image");
}
