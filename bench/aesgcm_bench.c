/*  aesgcm_bench.c -- one thread's AES-256-GCM, sealing and opening a
    move's worth of memory in place chunk by chunk, as the shim's writer
    seals an image and the restorer opens it: the shim's 128-bit path
    (aesgcm_init_narrow), its 256-bit path (VAES and VPCLMULQDQ on ymm,
    where the CPU has them) and libcrypto's EVP aes-256-gcm (what
    imgseal.c and glrestore use), one key, a nonce and 8 bytes of
    additional data per chunk as imgseal.h's stream has.

    bench/aesgcm_bench [MIB [CHUNK_KIB [ROUNDS]]]   (defaults 512, 1024, 7)

    Each round seals the MIB-byte buffer (touched before the first) and
    opens it again with each of the three in turn, the order rotated
    from round to round; every open is checked (its tags, and the
    buffer back to what it was at the end).  Prints, per cipher and
    direction, the median of the rounds' thread CPU times and the GB/s
    it makes (10^9 bytes), and the ratios to the 128-bit path and to
    libcrypto. */
#include "aesgcm.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms (void)
{
    struct timespec t;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
    return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

static int cmp_d (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double median (double *v, int n)
{
    qsort (v, (size_t) n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void frame (uint64_t c, uint8_t nonce[12], uint8_t ad[8])
{
    memset (nonce, 0, 12);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = ad[i] = (uint8_t) (c >> (56 - 8 * i));
}

enum { NARROW, WIDE, LIBCRYPTO, NCIPHER };
static const char *name[NCIPHER] = { "aesgcm.c 128-bit", "aesgcm.c 256-bit", "libcrypto EVP" };

/* Seals (open false) or opens buf in chunks; -1 when a tag fails. */
static int run (int which, const aesgcm_t *g, EVP_CIPHER_CTX *ctx, uint8_t *buf, size_t len,
                size_t chunk, uint8_t (*tags)[16], bool open)
{
    for (size_t c = 0; c * chunk < len; c++) {
        uint8_t *p = buf + c * chunk, nonce[12], ad[8];
        size_t n = len - c * chunk < chunk ? len - c * chunk : chunk;
        frame (c, nonce, ad);
        int k;
        if (which != LIBCRYPTO) {
            if (!open)
                aesgcm_seal (g, nonce, ad, sizeof ad, p, n, p, tags[c]);
            else if (aesgcm_open (g, nonce, ad, sizeof ad, p, n, p, tags[c]))
                return -1;
        }
        else if (!open) {
            if (EVP_EncryptInit_ex (ctx, NULL, NULL, NULL, nonce) != 1 ||
                EVP_EncryptUpdate (ctx, NULL, &k, ad, sizeof ad) != 1 ||
                EVP_EncryptUpdate (ctx, p, &k, p, (int) n) != 1 ||
                EVP_EncryptFinal_ex (ctx, p + n, &k) != 1 ||
                EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, 16, tags[c]) != 1)
                return -1;
        }
        else if (EVP_DecryptInit_ex (ctx, NULL, NULL, NULL, nonce) != 1 ||
                 EVP_DecryptUpdate (ctx, NULL, &k, ad, sizeof ad) != 1 ||
                 EVP_DecryptUpdate (ctx, p, &k, p, (int) n) != 1 ||
                 EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, 16, tags[c]) != 1 ||
                 EVP_DecryptFinal_ex (ctx, p + n, &k) != 1)
            return -1;
    }
    return 0;
}

int main (int argc, char **argv)
{
    long mib = argc > 1 ? atol (argv[1]) : 512, kib = argc > 2 ? atol (argv[2]) : 1024,
         rounds = argc > 3 ? atol (argv[3]) : 7;
    if (argc > 4 || mib <= 0 || kib <= 0 || rounds <= 0 || rounds > 99 || mib > 65536 ||
        kib > 1 << 20) {
        fprintf (stderr, "usage: aesgcm_bench [MIB [CHUNK_KIB [ROUNDS (1..99)]]]\n");
        return 2;
    }
    if (!aesgcm_usable ()) {
        fprintf (stderr, "aesgcm_bench: this CPU has no AES-NI and PCLMULQDQ\n");
        return 1;
    }
    size_t len = (size_t) mib << 20, chunk = (size_t) kib << 10;
    size_t nchunk = (len + chunk - 1) / chunk;
    uint8_t *buf = malloc (len + 16), *orig = malloc (len);
    uint8_t (*tags)[16] = malloc (nchunk * 16);
    if (!buf || !orig || !tags) {
        fprintf (stderr, "aesgcm_bench: no memory for %ld MiB\n", mib);
        return 1;
    }
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i += 8) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        memcpy (orig + i, &r, len - i < 8 ? len - i : 8);
    }
    memcpy (buf, orig, len);
    uint8_t key[AESGCM_KEY];
    for (int i = 0; i < AESGCM_KEY; i++)
        key[i] = (uint8_t) (i * 37 + 11);
    aesgcm_t g[2];
    aesgcm_init_narrow (&g[NARROW], key);
    aesgcm_init (&g[WIDE], key);
    int ncipher = g[WIDE].wide ? NCIPHER : NCIPHER - 1;
    int order[NCIPHER] = { NARROW, WIDE, LIBCRYPTO };
    if (!g[WIDE].wide) {
        printf ("# this CPU has no 256-bit path (VAES, VPCLMULQDQ, AVX2): not measured\n");
        order[1] = LIBCRYPTO;
    }
    EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new (), *dec = EVP_CIPHER_CTX_new ();
    if (!enc || !dec || EVP_EncryptInit_ex (enc, EVP_aes_256_gcm (), NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex (dec, EVP_aes_256_gcm (), NULL, key, NULL) != 1) {
        fprintf (stderr, "aesgcm_bench: libcrypto has no aes-256-gcm\n");
        return 1;
    }
    static double t[NCIPHER][2][99];
    for (int k = 0; k < rounds; k++)
        for (int o = 0; o < ncipher; o++) {
            int w = order[(o + k) % ncipher];
            for (int open = 0; open < 2; open++) {
                double c0 = cpu_ms ();
                if (run (w, w == LIBCRYPTO ? NULL : &g[w], open ? dec : enc, buf, len, chunk, tags,
                         open)) {
                    fprintf (stderr, "aesgcm_bench: %s: a chunk failed to %s\n", name[w],
                             open ? "open" : "seal");
                    return 1;
                }
                t[w][open][k] = cpu_ms () - c0;
            }
        }
    if (memcmp (buf, orig, len)) {
        fprintf (stderr, "aesgcm_bench: the buffer did not come back\n");
        return 1;
    }
    double med[NCIPHER][2];
    printf ("%ld MiB in %ld KiB chunks, in place, medians of %ld rounds, one thread's CPU time\n",
            mib, kib, rounds);
    printf ("%-18s %10s %8s %10s %8s\n", "", "seal ms", "GB/s", "open ms", "GB/s");
    for (int w = 0; w < NCIPHER; w++) {
        if (w == WIDE && !g[WIDE].wide)
            continue;
        for (int open = 0; open < 2; open++)
            med[w][open] = median (t[w][open], (int) rounds);
        printf ("%-18s %10.1f %8.2f %10.1f %8.2f\n", name[w], med[w][0],
                (double) len / med[w][0] / 1e6, med[w][1], (double) len / med[w][1] / 1e6);
    }
    if (g[WIDE].wide)
        printf ("256-bit / 128-bit time: seal %.2f, open %.2f; 256-bit / libcrypto: seal %.2f, "
                "open %.2f\n",
                med[WIDE][0] / med[NARROW][0], med[WIDE][1] / med[NARROW][1],
                med[WIDE][0] / med[LIBCRYPTO][0], med[WIDE][1] / med[LIBCRYPTO][1]);
    EVP_CIPHER_CTX_free (enc);
    EVP_CIPHER_CTX_free (dec);
    aesgcm_wipe (&g[NARROW]);
    aesgcm_wipe (&g[WIDE]);
    free (buf);
    free (orig);
    free (tags);
    return 0;
}
