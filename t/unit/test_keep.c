/*  test_keep -- what a job's home keeps to restart it (sched/keep.h):
    images checked as they come and kept only whole, kept only once glx
    has the output before them, stdin kept from the kept image's offset
    and bounded, and the output a restarted job writes again skipped. */
#include "keep.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static uint8_t img[1 << 16];

/* A small whole image (header, PROC, a THREAD, END): its length. */
static size_t make_image (void)
{
    img_enc_t e;
    size_t n = img_put_header (&e, img, sizeof img);
    static img_proc_t p;
    memset (&p, 0, sizeof p);
    p.vpid = 4242;
    p.vppid = 1;
    p.n_threads = 1;
    strcpy (p.cwd, "/tmp");
    n += img_put_proc (&e, &p, img + n, sizeof img - n);
    img_thread_t t = { .tid = 4242, .flags = IMG_T_LEADER, .fs = 0x7f0000001000 };
    t.reg[IMG_R_RSP] = 0x7ffd00001000;
    t.reg[IMG_R_RIP] = 0x401234;
    n += img_put_thread (&e, &t, img + n, sizeof img - n);
    n += img_put_end (&e, img + n, sizeof img - n);
    return n;
}

/* Feed an image in pieces of `piece` bytes; the end's result. */
static int feed (keep_t *k, const uint8_t *bytes, size_t n, size_t piece, const uint64_t at[3],
                 const char **why)
{
    keep_rx_begin (k);
    int bad = 0;
    for (size_t off = 0; off < n; off += piece) {
        size_t m = n - off < piece ? n - off : piece;
        if (keep_rx_add (k, bytes + off, m, why))
            bad = -1;
    }
    int end = keep_rx_end (k, at, 1000, "b", bad ? NULL : why);
    return bad ? -1 : end;
}

static void test_images (void)
{
    keep_t k;
    keep_init (&k);
    size_t n = make_image ();
    const char *why = NULL;
    uint64_t at[3] = { 10, 100, 5 };
    /* whole, fed a byte at a time or at once: it waits for its output */
    CHECK_EQ (feed (&k, img, n, 1, at, &why), 0);
    CHECK (k.next.bytes && k.next.len == n && !k.cur.bytes);
    CHECK (!memcmp (k.next.bytes, img, n));
    uint64_t delivered[3] = { 0, 99, 5 };
    CHECK (!keep_promote (&k, delivered)); /* glx lacks a byte of stdout */
    delivered[1] = 100;
    CHECK (keep_promote (&k, delivered));
    CHECK (k.cur.bytes && !k.next.bytes && k.cur.at[1] == 100 && k.cur.at[0] == 10);
    CHECK (!strcmp (k.cur.node, "b") && k.cur.wall_ms == 1000);

    /* cut: never kept, the one kept stays */
    why = NULL;
    CHECK_EQ (feed (&k, img, n - 1, 4096, at, &why), -1);
    CHECK (why && strstr (why, "cut"));
    CHECK (k.cur.bytes && !k.next.bytes && !k.rx);
    /* corrupt: refused as it comes */
    static uint8_t bad[sizeof img];
    memcpy (bad, img, n);
    bad[n / 2] ^= 1;
    why = NULL;
    CHECK_EQ (feed (&k, bad, n, 7, at, &why), -1);
    CHECK (why != NULL);
    CHECK (k.cur.bytes && !k.next.bytes);
    /* bytes after its end */
    memcpy (bad, img, n);
    bad[n] = 'x';
    why = NULL;
    CHECK_EQ (feed (&k, bad, n + 1, n + 1, at, &why), -1);
    /* not an image at all */
    why = NULL;
    CHECK_EQ (
        feed (&k, (const uint8_t *) "hello, world, this is not an image at all", 40, 40, at, &why),
        -1);
    CHECK (why && strstr (why, "GLIMAGE"));
    /* dropped while arriving (its host gave up) */
    keep_rx_begin (&k);
    CHECK_EQ (keep_rx_add (&k, img, n / 2, &why), 0);
    CHECK (keep_bytes (&k) >= n + n / 2);
    keep_rx_drop (&k);
    CHECK (keep_rx_end (&k, at, 0, "b", &why) == -1);
    CHECK_EQ (keep_bytes (&k), n);
    /* a newer one replaces a waiting one, and then the kept one */
    uint64_t at2[3] = { 20, 200, 5 }, at3[3] = { 30, 300, 6 };
    CHECK_EQ (feed (&k, img, n, n, at2, &why), 0);
    CHECK_EQ (feed (&k, img, n, n, at3, &why), 0);
    CHECK (k.next.at[1] == 300);
    delivered[1] = 250;
    CHECK (!keep_promote (&k, delivered));
    delivered[1] = 300;
    CHECK (!keep_promote (&k, delivered)); /* stderr: 5 of 6 */
    delivered[2] = 6;
    CHECK (keep_promote (&k, delivered) && k.cur.at[1] == 300 && k.cur.at[2] == 6);
    keep_clear (&k);
    CHECK_EQ (keep_bytes (&k), 0);
}

static void test_stdin (void)
{
    keep_t k;
    keep_init (&k);
    const char *why = NULL;
    const uint8_t *d;
    CHECK_EQ (keep_in_add (&k, (const uint8_t *) "abcdef", 6, false, 100, &why), 0);
    CHECK_EQ (keep_in_end (&k), 6);
    CHECK_EQ (keep_in_from (&k, 2, 100, &d), 4);
    CHECK (!memcmp (d, "cdef", 4));
    CHECK_EQ (keep_in_from (&k, 2, 3, &d), 3);
    CHECK_EQ (keep_in_from (&k, 6, 100, &d), 0); /* nothing past the end */

    /* an image read 4 bytes of it: once kept, what came before goes */
    size_t n = make_image ();
    uint64_t at[3] = { 4, 0, 0 }, delivered[3] = { 0, 0, 0 };
    CHECK_EQ (feed (&k, img, n, n, at, &why), 0);
    CHECK (keep_promote (&k, delivered));
    CHECK_EQ (k.in_base, 4);
    CHECK_EQ (keep_in_from (&k, 3, 100, &d), 0); /* let go */
    CHECK_EQ (keep_in_from (&k, 4, 100, &d), 2);
    CHECK (!memcmp (d, "ef", 2));
    CHECK_EQ (keep_in_end (&k), 6);

    /* beyond the bound the oldest go, and with them the image needing them */
    CHECK_EQ (keep_in_add (&k, (const uint8_t *) "ghij", 4, false, 8, &why), 0);
    CHECK_EQ (keep_in_end (&k), 10);
    CHECK (k.cur.bytes);
    why = NULL;
    CHECK_EQ (keep_in_add (&k, (const uint8_t *) "k", 1, true, 5, &why), 1);
    CHECK (!k.cur.bytes && why && strstr (why, "stdin"));
    CHECK_EQ (k.in_base, 6);
    CHECK_EQ (keep_in_from (&k, 6, 100, &d), 5);
    CHECK (!memcmp (d, "ghijk", 5) && k.in_eof);
    keep_clear (&k);
}

static void test_skip (void)
{
    /* glx had 100 bytes; the restarted job writes from offset 60 again */
    CHECK_EQ (keep_skip (100, 60, 30), 30); /* all of it: glx had it */
    CHECK_EQ (keep_skip (100, 90, 30), 10); /* the first 10 only */
    CHECK_EQ (keep_skip (100, 100, 30), 0); /* new */
    CHECK_EQ (keep_skip (100, 120, 30), 0);
    CHECK_EQ (keep_skip (0, 0, 5), 0); /* never restarted */
    /* a whole stream in pieces: exactly what glx lacked goes through */
    uint64_t delivered = 1000, got = 400;
    size_t passed = 0;
    for (int i = 0; i < 100; i++) {
        size_t len = 13, skip = keep_skip (delivered, got, len);
        got += len;
        passed += len - skip;
        delivered += len - skip;
    }
    CHECK_EQ (passed, 400 + 1300 - 1000);
    CHECK_EQ (delivered, got);
}

int main (void)
{
    test_images ();
    test_stdin ();
    test_skip ();
    return tap_done ("test_keep");
}
