/* test_imgseal: the sealed stream a moved image travels in
   (checkpoint/imgseal.h): what one end seals the other opens, in order,
   to the byte; a chunk altered anywhere, dropped, repeated, reordered,
   from another move's key, or after the last chunk is refused, and so
   is everything after a refusal; a stream cut before its last chunk is
   not ended.  All of it four times: sealed on aesgcm.h (imgseal_new on
   a CPU with AES-NI) or on libcrypto (imgseal_new_libcrypto, the path
   of a CPU without), opened on either; the two seal the same bytes. */
#include "aesgcm.h"
#include "imgseal.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define N 5

static uint8_t key[IS_KEY_BYTES], other[IS_KEY_BYTES];
static uint8_t plain[N][1000];
static uint8_t chunk[N][1000 + IS_OVERHEAD];
static size_t clen[N];

/* Opens the chunk at p (avail bytes there) with o: 0, or -1 with why
   (also when its head says more than there is, as a reader would wait
   for more). */
static int open_one (imgseal_t *o, const uint8_t *p, size_t avail, uint8_t *out, const char **why)
{
    uint32_t len;
    bool last;
    if (imgseal_head (p, &len, &last, why))
        return -1;
    if (len + IS_OVERHEAD > avail) {
        *why = "short";
        return -1;
    }
    return imgseal_open (o, p, p + IS_HEAD, out, why);
}

/* The two ends' paths: libcrypto's, or imgseal_new's choice. */
static bool seal_lc, open_lc;

static imgseal_t *end (const uint8_t *k, bool lc)
{
    return lc ? imgseal_new_libcrypto (k) : imgseal_new (k);
}

/* A fresh opener fed chunks in the order given (n of them): how many opened. */
static int feed (const uint8_t *k, const int *order, int n)
{
    imgseal_t *o = end (k, open_lc);
    uint8_t out[1000];
    const char *why = NULL;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        if (open_one (o, chunk[order[i]], clen[order[i]], out, &why))
            break;
        ok++;
    }
    imgseal_destroy (&o);
    return ok;
}

/* One stream sealed on seal_lc's path and opened on open_lc's. */
static void stream (void)
{
    imgseal_t *s = end (key, seal_lc);
    CHECK (s);
    /* the hello (empty), three chunks of data, the last one (with data) */
    for (int i = 0; i < N; i++) {
        size_t n = i == 0 ? 0 : 100 * (size_t) i + 37;
        for (size_t b = 0; b < n; b++)
            plain[i][b] = (uint8_t) (b * 31 + (size_t) i);
        clen[i] = imgseal_seal (s, plain[i], n, i == N - 1, chunk[i]);
        CHECK_EQ (clen[i], n + IS_OVERHEAD);
    }
    CHECK (imgseal_ended (s));
    uint8_t spare[64];
    CHECK_EQ (imgseal_seal (s, plain[0], 1, false, spare), 0); /* after the last */
    imgseal_destroy (&s);
    /* the other path seals the same bytes */
    s = end (key, !seal_lc);
    for (int i = 0; i < N; i++) {
        uint8_t again[1000 + IS_OVERHEAD];
        size_t n = clen[i] - IS_OVERHEAD;
        CHECK_EQ (imgseal_seal (s, plain[i], n, i == N - 1, again), clen[i]);
        CHECK (!memcmp (again, chunk[i], clen[i]));
    }
    imgseal_destroy (&s);
    s = end (key, seal_lc);
    static uint8_t big[IS_CHUNK_MAX + 1 + IS_OVERHEAD];
    CHECK_EQ (imgseal_seal (s, big, IS_CHUNK_MAX + 1, false, big), 0); /* too long */
    imgseal_destroy (&s);

    /* a sealer does not open */
    s = end (key, seal_lc);
    uint8_t hello[IS_OVERHEAD];
    CHECK_EQ (imgseal_seal (s, NULL, 0, false, hello), IS_OVERHEAD);
    const char *why = NULL;
    CHECK_EQ (imgseal_open (s, chunk[0], chunk[0] + IS_HEAD, spare, &why), -1);
    CHECK (why && strstr (why, "a sealer cannot open"));
    imgseal_destroy (&s);

    /* in order: every chunk opens to its plaintext, in place too */
    imgseal_t *o = end (key, open_lc);
    for (int i = 0; i < N; i++) {
        uint32_t len;
        bool last;
        CHECK_EQ (imgseal_head (chunk[i], &len, &last, &why), 0);
        CHECK_EQ (len, clen[i] - IS_OVERHEAD);
        CHECK_EQ (last, i == N - 1);
        uint8_t copy[1000 + IS_OVERHEAD];
        memcpy (copy, chunk[i], clen[i]);
        CHECK_EQ (imgseal_open (o, copy, copy + IS_HEAD, copy + IS_HEAD, &why), 0);
        CHECK (!memcmp (copy + IS_HEAD, plain[i], len));
        CHECK_EQ (imgseal_ended (o), i == N - 1);
    }
    /* nothing after the last */
    CHECK_EQ (imgseal_open (o, chunk[1], chunk[1] + IS_HEAD, spare, &why), -1);
    CHECK (strstr (why, "follow the stream's last chunk"));
    imgseal_destroy (&o);

    int all[N] = { 0, 1, 2, 3, 4 };
    CHECK_EQ (feed (key, all, N), N);
    CHECK_EQ (feed (other, all, N), 0); /* another move's key: not even the hello */
    int dropped[] = { 0, 2, 3, 4 };
    CHECK_EQ (feed (key, dropped, 4), 1);
    int repeated[] = { 0, 1, 1, 2, 3, 4 };
    CHECK_EQ (feed (key, repeated, 6), 2);
    int swapped[] = { 0, 2, 1, 3, 4 };
    CHECK_EQ (feed (key, swapped, N), 1);
    int no_hello[] = { 1, 2, 3, 4 };
    CHECK_EQ (feed (key, no_hello, 4), 0);
    /* cut before the last chunk: all opens, but the stream has not ended */
    o = end (key, open_lc);
    uint8_t out[1000];
    for (int i = 0; i < N - 1; i++)
        CHECK_EQ (open_one (o, chunk[i], clen[i], out, &why), 0);
    CHECK (!imgseal_ended (o));
    imgseal_destroy (&o);

    /* one flipped bit anywhere in any chunk: refused, and then everything */
    for (int c = 0; c < N; c++)
        for (size_t b = 0; b < clen[c] * 8; b++) {
            chunk[c][b / 8] ^= (uint8_t) (1u << (b % 8));
            int got = feed (key, all, N);
            chunk[c][b / 8] ^= (uint8_t) (1u << (b % 8));
            if (got != c) {
                CHECK_EQ (got, c);
                break;
            }
        }
    /* a head that cannot be a chunk's: refused before any opening */
    uint8_t head[IS_HEAD + IS_TAG] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
    uint32_t len;
    bool last;
    CHECK_EQ (imgseal_head (head, &len, &last, &why), -1);
    CHECK (strstr (why, "longer than"));
    memset (head, 0, sizeof head);
    head[4] = 2;
    CHECK_EQ (imgseal_head (head, &len, &last, &why), -1);
    CHECK (strstr (why, "unknown flags"));
    memset (head, 0, sizeof head); /* an empty chunk with a tag of zeros */
    o = end (key, open_lc);
    CHECK_EQ (open_one (o, chunk[0], clen[0], out, &why), 0);
    CHECK_EQ (open_one (o, head, sizeof head + IS_TAG, out, &why), -1);
    CHECK_EQ (open_one (o, chunk[1], clen[1], out, &why), -1); /* refused once: refused for good */
    CHECK (strstr (why, "refused already"));
    imgseal_destroy (&o);
}

int main (void)
{
    for (int i = 0; i < IS_KEY_BYTES; i++) {
        key[i] = (uint8_t) (i * 7 + 1);
        other[i] = key[i];
    }
    other[31] ^= 1;
    for (int k = 0; k < 4; k++) {
        seal_lc = k & 1, open_lc = k & 2;
        int failed = tap_fail_;
        stream ();
        printf ("# sealed on %s, opened on %s: %s\n", seal_lc ? "libcrypto" : "aesgcm.h",
                open_lc ? "libcrypto" : "aesgcm.h", tap_fail_ == failed ? "ok" : "FAILED");
    }
    if (!aesgcm_usable ())
        tap_skip ("this CPU has no AES-NI and PCLMULQDQ: imgseal_new took libcrypto, and "
                  "aesgcm.h's path was not run");
    return tap_done ("test_imgseal");
}
