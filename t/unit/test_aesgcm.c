/* test_aesgcm: the shim's AES-256-GCM (checkpoint/aesgcm.h) and the
   writer's sealer on it (checkpoint/imgsealw.h): the standard's vectors
   (McGrew and Viega's test cases 13, 14 and 16), the same ciphertext and
   tag as libcrypto for every length of data from 0 to 300 bytes and
   some long ones, with additional data of 0 to 40 bytes, in place or
   not; and a stream whose first chunk the agent sealed (imgseal.c) and
   whose others the writer sealed opens with imgseal_open to the byte,
   where a writer's chunk numbered as the first does not. */
#include "aesgcm.h"
#include "imgseal.h"
#include "imgsealw.h"
#include "tap.h"

#include <openssl/evp.h>
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
                    const char *t)
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
    aesgcm_init (&g, key);
    aesgcm_seal (&g, nonce, ad, alen, pt, plen, out, got);
    CHECK_EQ (clen, plen);
    CHECK (!memcmp (out, ct, clen));
    CHECK (!memcmp (got, tag, 16));
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

static uint64_t rng = 88172645463325252ull;
static uint8_t next (void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint8_t) rng;
}

#define BIG (1u << 20)

int main (void)
{
    if (!aesgcm_usable ()) {
        tap_skip ("this CPU has no AES-NI and PCLMULQDQ (the writer leaves the sealing to its "
                  "agent)");
        return tap_done ("test_aesgcm");
    }
    vector ("0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b");
    vector ("0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000", "", "00000000000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919");
    vector ("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b");

    uint8_t *in = malloc (BIG + 64), *out = malloc (BIG + 64), *ref = malloc (BIG + 64);
    CHECK (in && out && ref);
    for (size_t i = 0; i < BIG + 64; i++)
        in[i] = next ();
    uint8_t key[32], nonce[12], ad[40], tag[16], rtag[16];
    aesgcm_t g;
    size_t lens[] = { 301, 1000, 4096 + 7, 65536, 262144, BIG - 1, BIG };
    int bad = 0;
    for (size_t t = 0; t < 301 + sizeof lens / sizeof *lens; t++) {
        size_t n = t < 301 ? t : lens[t - 301], alen = next () % 41;
        for (int i = 0; i < 32; i++)
            key[i] = next ();
        for (int i = 0; i < 12; i++)
            nonce[i] = next ();
        for (size_t i = 0; i < alen; i++)
            ad[i] = next ();
        size_t off = next () % 16; /* any alignment */
        aesgcm_init (&g, key);
        reference (key, nonce, ad, alen, in + off, n, ref, rtag);
        aesgcm_seal (&g, nonce, ad, alen, in + off, n, out, tag);
        if (memcmp (out, ref, n) || memcmp (tag, rtag, 16))
            bad++;
        memcpy (out + off, in + off, n); /* in place */
        aesgcm_seal (&g, nonce, ad, alen, out + off, n, out + off, tag);
        if (memcmp (out + off, ref, n) || memcmp (tag, rtag, 16))
            bad++;
    }
    CHECK_EQ (bad, 0);
    aesgcm_wipe (&g);
    uint8_t zero[sizeof g] = { 0 };
    CHECK (!memcmp (&g, zero, sizeof g));

    /* a stream: the agent's hello, then the writer's chunks from 1 */
    imgseal_t *a = imgseal_new (key), *o = imgseal_new (key);
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
    o = imgseal_new (key);
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
