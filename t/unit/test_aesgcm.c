/* test_aesgcm: the shim's AES-256-GCM (checkpoint/aesgcm.h), on both
   its paths (the 128-bit one, aesgcm_init_narrow, and the 256-bit one
   where this CPU has VAES and VPCLMULQDQ), and the writer's sealer on
   it (checkpoint/imgsealw.h): the standard's vectors (McGrew and
   Viega's test cases 13, 14 and 16); the same ciphertext and tag as
   libcrypto for every length of data from 0 to 600 bytes and some long
   ones up to 3 MiB, with additional data of 0 to 99 bytes, at any
   alignment, in place or not; each path opening libcrypto's seal (and
   so the other path's) to the byte, and libcrypto opening theirs; a
   byte flipped in the ciphertext, the tag or the additional data fails
   to open, on both paths and with libcrypto; and a stream whose first
   chunk the agent sealed (imgseal.c) and whose others the writer
   sealed opens with imgseal_open on libcrypto (imgseal_new_libcrypto)
   to the byte, where a writer's chunk numbered as the first does not.
   Where the CPU has no 256-bit path its part is skipped, and said. */
#include "aesgcm.h"
#include "imgseal.h"
#include "imgsealw.h"
#include "tap.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void unhex (const char *h, uint8_t *out, size_t *n)
{
    size_t k = 0;
    for (; h[0] && h[1]; h += 2)
        out[k++] = (uint8_t) ((h[0] <= '9' ? h[0] - '0' : h[0] - 'a' + 10) << 4 |
                              (h[1] <= '9' ? h[1] - '0' : h[1] - 'a' + 10));
    if (n)
        *n = k;
}

static void vector (const char *k, const char *iv, const char *a, const char *p, const char *c,
                    const char *t, bool wide)
{
    uint8_t key[32], nonce[12], ad[64], pt[128], ct[128], tag[16], out[128], got[16];
    size_t alen, plen, clen;
    unhex (k, key, NULL);
    unhex (iv, nonce, NULL);
    unhex (a, ad, &alen);
    unhex (p, pt, &plen);
    unhex (c, ct, &clen);
    unhex (t, tag, NULL);
    aesgcm_t g;
    if (wide)
        aesgcm_init (&g, key);
    else
        aesgcm_init_narrow (&g, key);
    aesgcm_seal (&g, nonce, ad, alen, pt, plen, out, got);
    CHECK_EQ (clen, plen);
    CHECK (!memcmp (out, ct, clen));
    CHECK (!memcmp (got, tag, 16));
    CHECK_EQ (aesgcm_open (&g, nonce, ad, alen, ct, clen, out, tag), 0);
    CHECK (!memcmp (out, pt, plen));
}

static void vectors (bool wide)
{
    vector ("0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b", wide);
    vector ("0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000", "", "00000000000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919", wide);
    vector ("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b", wide);
}

/* libcrypto's seal of the same. */
static void reference (const uint8_t *key, const uint8_t *nonce, const uint8_t *ad, size_t alen,
                       const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
    int k;
    CHECK (EVP_EncryptInit_ex (c, EVP_aes_256_gcm (), NULL, key, nonce) == 1);
    CHECK (!alen || EVP_EncryptUpdate (c, NULL, &k, ad, (int) alen) == 1);
    CHECK (!n || EVP_EncryptUpdate (c, out, &k, in, (int) n) == 1);
    CHECK (EVP_EncryptFinal_ex (c, out + n, &k) == 1);
    CHECK (EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1);
    EVP_CIPHER_CTX_free (c);
}

/* libcrypto's open: 0, or -1 when the tag does not match. */
static int ref_open (const uint8_t *key, const uint8_t *nonce, const uint8_t *ad, size_t alen,
                     const uint8_t *in, size_t n, uint8_t *out, const uint8_t *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new ();
    int k;
    CHECK (EVP_DecryptInit_ex (c, EVP_aes_256_gcm (), NULL, key, nonce) == 1);
    CHECK (!alen || EVP_DecryptUpdate (c, NULL, &k, ad, (int) alen) == 1);
    CHECK (!n || EVP_DecryptUpdate (c, out, &k, in, (int) n) == 1);
    CHECK (EVP_CIPHER_CTX_ctrl (c, EVP_CTRL_AEAD_SET_TAG, 16, (void *) tag) == 1);
    int r = EVP_DecryptFinal_ex (c, out + n, &k) == 1 ? 0 : -1;
    EVP_CIPHER_CTX_free (c);
    return r;
}

static uint64_t rng = 88172645463325252ull;
static uint8_t next (void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint8_t) rng;
}

#define BIG (3u << 20) /* the longest message */

/* One case on one path (g): the seal of in against libcrypto's (ref,
   rtag), out of place and in place; the path's open of libcrypto's
   seal; and, when tamper, a byte flipped in the ciphertext, the tag
   and the additional data refused by the path and by libcrypto.  The
   number of things that went wrong. */
static int one (const aesgcm_t *g, const uint8_t *key, const uint8_t *nonce, uint8_t *ad,
                size_t alen, const uint8_t *in, size_t n, uint8_t *out, const uint8_t *ref,
                const uint8_t *rtag, bool tamper)
{
    uint8_t tag[16];
    int bad = 0;
    aesgcm_seal (g, nonce, ad, alen, in, n, out, tag);
    bad += memcmp (out, ref, n) || memcmp (tag, rtag, 16);
    memcpy (out, in, n); /* in place */
    aesgcm_seal (g, nonce, ad, alen, out, n, out, tag);
    bad += memcmp (out, ref, n) || memcmp (tag, rtag, 16);
    /* opened, out of place and in place */
    bad += aesgcm_open (g, nonce, ad, alen, ref, n, out, rtag) != 0 || memcmp (out, in, n);
    memcpy (out, ref, n);
    bad += aesgcm_open (g, nonce, ad, alen, out, n, out, rtag) != 0 || memcmp (out, in, n);
    if (!tamper)
        return bad;
    /* a byte flipped in the ciphertext, the tag, the additional data */
    uint8_t *ct = malloc (n + 1), bt[16];
    memcpy (ct, ref, n);
    memcpy (bt, rtag, 16);
    size_t at = n ? next () % n : 0;
    uint8_t bit = (uint8_t) (1u << (next () % 8));
    for (int w = 0; w < 3; w++) {
        uint8_t *p = w == 0 ? ct + at : w == 1 ? bt + at % 16 : ad + (alen ? at % alen : 0);
        if ((w == 0 && !n) || (w == 2 && !alen))
            continue;
        *p ^= bit;
        out[0] = 1;
        bad += aesgcm_open (g, nonce, ad, alen, ct, n, out, bt) != -1;
        for (size_t i = 0; i < n; i++) /* nothing unauthenticated left */
            bad += out[i] != 0;
        bad += ref_open (key, nonce, ad, alen, ct, n, out, bt) != -1;
        *p ^= bit;
    }
    bad += aesgcm_open (g, nonce, ad, alen, ct, n, out, bt) != 0; /* restored, it opens */
    free (ct);
    return bad;
}

int main (void)
{
    if (!aesgcm_usable ()) {
        tap_skip ("this CPU has no AES-NI and PCLMULQDQ (the writer leaves the sealing to its "
                  "agent)");
        return tap_done ("test_aesgcm");
    }
    uint8_t key[32], nonce[12], ad[100], tag[16], rtag[16];
    aesgcm_t g, gn;
    for (int i = 0; i < 32; i++)
        key[i] = next ();
    aesgcm_init (&g, key);
    bool wide = g.wide;
    printf ("# the 256-bit path (VAES, VPCLMULQDQ): %s\n", wide ? "this CPU has it" : "none");
    vectors (false);
    if (wide)
        vectors (true);

    uint8_t *in = malloc (BIG + 64), *out = malloc (BIG + 64), *ref = malloc (BIG + 64);
    CHECK (in && out && ref);
    for (size_t i = 0; i < BIG + 64; i++)
        in[i] = next ();
    size_t lens[] = { 1000,        4096 + 7, 65536,       262144,   262144 + 255,
                      BIG / 3 - 1, BIG / 3,  BIG / 3 + 1, BIG - 17, BIG };
    size_t nshort = 601, ncase = nshort + sizeof lens / sizeof *lens;
    int bad_narrow = 0, bad_wide = 0, skipped = 0;
    for (size_t t = 0; t < ncase; t++) {
        size_t n = t < nshort ? t : lens[t - nshort], alen = next () % 100;
        for (int i = 0; i < 32; i++)
            key[i] = next ();
        for (int i = 0; i < 12; i++)
            nonce[i] = next ();
        for (size_t i = 0; i < alen; i++)
            ad[i] = next ();
        size_t off = next () % 16, oo = next () % 16; /* any alignment */
        reference (key, nonce, ad, alen, in + off, n, ref, rtag);
        /* libcrypto opens its own seal (the open the paths are held to) */
        CHECK_EQ (ref_open (key, nonce, ad, alen, ref, n, out, rtag), 0);
        bool tamper = t < 40 || t % 7 == 0 || t >= nshort;
        aesgcm_init_narrow (&gn, key);
        int b = one (&gn, key, nonce, ad, alen, in + off, n, out + oo, ref, rtag, tamper);
        if (b && bad_narrow++ < 5)
            fprintf (stderr, "128-bit path: %d wrong at %zu bytes, %zu of additional data\n", b, n,
                     alen);
        aesgcm_init (&g, key);
        CHECK_EQ (g.wide, wide);
        if (!wide) {
            skipped++;
            continue;
        }
        b = one (&g, key, nonce, ad, alen, in + off, n, out + oo, ref, rtag, tamper);
        if (b && bad_wide++ < 5)
            fprintf (stderr, "256-bit path: %d wrong at %zu bytes, %zu of additional data\n", b, n,
                     alen);
        /* one path's seal opens with the other */
        aesgcm_seal (&g, nonce, ad, alen, in + off, n, out, tag);
        CHECK_EQ (aesgcm_open (&gn, nonce, ad, alen, out, n, out, tag), 0);
        CHECK (!memcmp (out, in + off, n));
    }
    printf ("# %zu cases (0-%zu bytes and %zu long ones): 128-bit path %d wrong, 256-bit path "
            "%d wrong, %d not run\n",
            ncase, nshort - 1, ncase - nshort, bad_narrow, bad_wide, skipped);
    CHECK_EQ (bad_narrow, 0);
    CHECK_EQ (bad_wide, 0);
    if (skipped)
        tap_skip ("this CPU has no VAES, VPCLMULQDQ and AVX2 (or its OS does not save the ymm "
                  "registers): the 256-bit path's cases were not run");
    aesgcm_wipe (&g);
    uint8_t zero[sizeof g] = { 0 };
    CHECK (!memcmp (&g, zero, sizeof g));
    aesgcm_wipe (&gn);

    /* a stream: the agent's hello, then the writer's chunks from 1 */
    imgseal_t *a = imgseal_new (key), *o = imgseal_new_libcrypto (key);
    uint8_t hello[IS_OVERHEAD];
    CHECK_EQ (imgseal_seal (a, NULL, 0, false, hello), IS_OVERHEAD);
    imgseal_destroy (&a);
    const char *why = NULL;
    CHECK_EQ (imgseal_open (o, hello, hello + IS_HEAD, hello + IS_HEAD, &why), 0);
    imgsealw_t w;
    imgsealw_init (&w, key, 1);
    size_t sizes[] = { 5, IS_CHUNK_MAX, 0, 77 };
    for (int c = 0; c < 4; c++) {
        size_t n = sizes[c];
        bool last = c == 3;
        uint8_t head[IS_HEAD], wtag[IS_TAG];
        memcpy (out, in, n);
        CHECK_EQ (imgsealw_seal (&w, out, n, last, head, wtag), 0);
        uint32_t len;
        bool l;
        CHECK_EQ (imgseal_head (head, &len, &l, &why), 0);
        CHECK_EQ (len, n);
        CHECK_EQ (l, last);
        memcpy (out + n, wtag, IS_TAG);
        CHECK_EQ (imgseal_open (o, head, out, ref, &why), 0);
        CHECK (!memcmp (ref, in, n));
    }
    CHECK (imgseal_ended (o));
    uint8_t head[IS_HEAD], wtag[IS_TAG];
    CHECK_EQ (imgsealw_seal (&w, out, 1, false, head, wtag), -1); /* after the last */
    imgseal_destroy (&o);
    /* numbered from 0, as if the hello were the writer's: it does not open */
    o = imgseal_new_libcrypto (key);
    CHECK_EQ (imgseal_open (o, hello, hello + IS_HEAD, hello + IS_HEAD, &why), 0);
    imgsealw_init (&w, key, 0);
    memcpy (out, in, 5);
    CHECK_EQ (imgsealw_seal (&w, out, 5, false, head, wtag), 0);
    memcpy (out + 5, wtag, IS_TAG);
    CHECK_EQ (imgseal_open (o, head, out, ref, &why), -1);
    imgseal_destroy (&o);
    imgsealw_init (&w, key, 1);
    CHECK_EQ (imgsealw_seal (&w, out, IS_CHUNK_MAX + 1, false, head, wtag), -1); /* too long */
    imgsealw_wipe (&w);
    free (in);
    free (out);
    free (ref);
    return tap_done ("test_aesgcm");
}
