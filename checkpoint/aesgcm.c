/*  aesgcm.c -- AES-256-GCM sealing on AES-NI and PCLMULQDQ (aesgcm.h).

    Two paths, chosen once per key by aesgcm_init (aesgcm_t.wide):

    - 128-bit (any x86-64 with AES-NI, PCLMULQDQ, SSSE3 and SSE4.1):
      counter mode eight blocks at a time (the AES unit pipelines eight
      independent blocks), and GHASH over those eight ciphertext blocks
      with the powers H^8..H^1 and one reduction.
    - 256-bit, where the CPU has VAES, VPCLMULQDQ and AVX2 and the OS
      saves the ymm registers (cpuid leaf 7, XCR0): the same
      instructions on ymm registers do two blocks, or two carry-less
      products, each, so counter mode runs sixteen blocks at a time in
      eight registers.  Zen 3 and Ice Lake on have them; the writer's
      sealing (0.18 s of its CPU per 512 MiB moved, bench/README.md) is
      the work this halves the instructions of.  What is left of a
      message below 256 bytes, and the additional data, take the
      128-bit code.

    GHASH in both is Gueron and Kounavis's (“Intel Carry-Less
    Multiplication Instruction and its Usage for Computing the GCM
    Mode”, 2014): its byte-reflected representation, multiplication and
    reduction, and its aggregated reduction: for k blocks C_1..C_k
    after the hash X,
        X' = (X + C_1) H^k + C_2 H^(k-1) + ... + C_k H^1,
    each product taken by Karatsuba (three carry-less multiplications,
    with the sums of H^i's halves made once per key) and left
    unreduced, their 256-bit sums added, and one reduction modulo
    x^128 + x^7 + x^2 + x + 1 for all k.  On the 256-bit path k is 16:
    register j holds blocks 2j+1 and 2j+2 in its two 128-bit lanes and
    is multiplied, lane by lane, by the pair H^(16-2j), H^(15-2j)
    (aesgcm_t.hw), so eight VPCLMULQDQ triples make all sixteen
    products; the two lanes of the three sums are added into one
    256-bit product before the reduction (the vectorised form Drucker,
    Gueron and Krasnov describe in “Making AES great again: the
    forthcoming vectorized AES instruction”, 2018).  The sixteen blocks
    a round hashes are its own, after its AES rounds: the CPU runs the
    next round's AES rounds, which do not wait on the hash, beside it.
    (Hashing the round before's blocks between this round's AES rounds,
    as hand-scheduled code does, was slower here: 13.0 against 11.1 ms
    for 64 MiB, the carried blocks spilled to the stack.)

    Every function carries the target attribute, so the rest of the
    shim is built for any x86-64. */
#include "aesgcm.h"

#include <cpuid.h>
#include <immintrin.h>

#define T __attribute__ ((target ("aes,pclmul,ssse3,sse4.1")))
#define W __attribute__ ((target ("aes,pclmul,ssse3,sse4.1,avx,avx2,vaes,vpclmulqdq")))

bool aesgcm_usable (void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid (1, &a, &b, &c, &d))
        return false;
    return (c & bit_AES) && (c & bit_PCLMUL) && (c & bit_SSSE3) && (c & bit_SSE4_1);
}

/* VAES, VPCLMULQDQ and AVX2, and the ymm registers' upper halves saved
   by the OS (XCR0 bits 1 and 2, readable where OSXSAVE is set). */
static bool wide_usable (void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
        return false;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6)
        return false;
    if (!__get_cpuid_count (7, 0, &a, &b, &c, &d))
        return false;
    return (b & bit_AVX2) && (c & bit_VAES) && (c & bit_VPCLMULQDQ);
}

T static inline __m128i bswap (__m128i x)
{
    return _mm_shuffle_epi8 (x,
                             _mm_set_epi8 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* ---- the key's schedule ---- */

T static inline __m128i spread (__m128i k)
{
    k = _mm_xor_si128 (k, _mm_slli_si128 (k, 4));
    k = _mm_xor_si128 (k, _mm_slli_si128 (k, 4));
    return _mm_xor_si128 (k, _mm_slli_si128 (k, 4));
}

#define EVEN(prev2, prev1, rcon)   \
    _mm_xor_si128 (spread (prev2), \
                   _mm_shuffle_epi32 (_mm_aeskeygenassist_si128 (prev1, rcon), 0xff))
#define ODD(prev2, prev1) \
    _mm_xor_si128 (spread (prev2), _mm_shuffle_epi32 (_mm_aeskeygenassist_si128 (prev1, 0), 0xaa))

T static __m128i encrypt1 (const __m128i *rk, __m128i x)
{
    x = _mm_xor_si128 (x, rk[0]);
    for (int r = 1; r < 14; r++)
        x = _mm_aesenc_si128 (x, rk[r]);
    return _mm_aesenclast_si128 (x, rk[14]);
}

/* ---- GHASH ---- */

/* The 256-bit carry-less product of a and b, added to lo, mid and hi
   (mid: the two middle products, not yet split). */
T static inline void mul_acc (__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
    *lo = _mm_xor_si128 (*lo, _mm_clmulepi64_si128 (a, b, 0x00));
    *hi = _mm_xor_si128 (*hi, _mm_clmulepi64_si128 (a, b, 0x11));
    *mid = _mm_xor_si128 (
        *mid, _mm_xor_si128 (_mm_clmulepi64_si128 (a, b, 0x01), _mm_clmulepi64_si128 (a, b, 0x10)));
}

/* The accumulated product, shifted left by one (the reflection) and
   reduced modulo x^128 + x^7 + x^2 + x + 1. */
T static inline __m128i reduce (__m128i lo, __m128i mid, __m128i hi)
{
    lo = _mm_xor_si128 (lo, _mm_slli_si128 (mid, 8));
    hi = _mm_xor_si128 (hi, _mm_srli_si128 (mid, 8));
    __m128i c1 = _mm_srli_epi32 (lo, 31), c2 = _mm_srli_epi32 (hi, 31);
    lo = _mm_slli_epi32 (lo, 1);
    hi = _mm_slli_epi32 (hi, 1);
    __m128i top = _mm_srli_si128 (c1, 12);
    c2 = _mm_slli_si128 (c2, 4);
    c1 = _mm_slli_si128 (c1, 4);
    lo = _mm_or_si128 (lo, c1);
    hi = _mm_or_si128 (_mm_or_si128 (hi, c2), top);
    __m128i a = _mm_xor_si128 (_mm_xor_si128 (_mm_slli_epi32 (lo, 31), _mm_slli_epi32 (lo, 30)),
                               _mm_slli_epi32 (lo, 25));
    __m128i b = _mm_srli_si128 (a, 4);
    lo = _mm_xor_si128 (lo, _mm_slli_si128 (a, 12));
    __m128i e = _mm_xor_si128 (_mm_xor_si128 (_mm_srli_epi32 (lo, 1), _mm_srli_epi32 (lo, 2)),
                               _mm_xor_si128 (_mm_srli_epi32 (lo, 7), b));
    return _mm_xor_si128 (hi, _mm_xor_si128 (lo, e));
}

/* The same by Karatsuba: a's and b's halves added (bk: b's, made
   once), three multiplications; reduce_k takes the sums. */
T static inline void mul_acc_k (__m128i a, __m128i b, __m128i bk, __m128i *lo, __m128i *mid,
                                __m128i *hi)
{
    *lo = _mm_xor_si128 (*lo, _mm_clmulepi64_si128 (a, b, 0x00));
    *hi = _mm_xor_si128 (*hi, _mm_clmulepi64_si128 (a, b, 0x11));
    __m128i ak = _mm_xor_si128 (a, _mm_shuffle_epi32 (a, 0x4e));
    *mid = _mm_xor_si128 (*mid, _mm_clmulepi64_si128 (ak, bk, 0x00));
}

T static inline __m128i gmul (__m128i a, __m128i b)
{
    __m128i lo = _mm_setzero_si128 (), mid = lo, hi = lo;
    mul_acc (a, b, &lo, &mid, &hi);
    return reduce (lo, mid, hi);
}

T void aesgcm_init (aesgcm_t *g, const uint8_t key[AESGCM_KEY])
{
    __m128i rk[15];
    rk[0] = _mm_loadu_si128 ((const __m128i *) key);
    rk[1] = _mm_loadu_si128 ((const __m128i *) (key + 16));
    rk[2] = EVEN (rk[0], rk[1], 0x01);
    rk[3] = ODD (rk[1], rk[2]);
    rk[4] = EVEN (rk[2], rk[3], 0x02);
    rk[5] = ODD (rk[3], rk[4]);
    rk[6] = EVEN (rk[4], rk[5], 0x04);
    rk[7] = ODD (rk[5], rk[6]);
    rk[8] = EVEN (rk[6], rk[7], 0x08);
    rk[9] = ODD (rk[7], rk[8]);
    rk[10] = EVEN (rk[8], rk[9], 0x10);
    rk[11] = ODD (rk[9], rk[10]);
    rk[12] = EVEN (rk[10], rk[11], 0x20);
    rk[13] = ODD (rk[11], rk[12]);
    rk[14] = EVEN (rk[12], rk[13], 0x40);
    for (int i = 0; i < 15; i++)
        _mm_store_si128 ((__m128i *) g->rk[i], rk[i]);
    __m128i hp[16]; /* H^(i+1) */
    hp[0] = bswap (encrypt1 (rk, _mm_setzero_si128 ()));
    for (int i = 1; i < 16; i++)
        hp[i] = gmul (hp[i - 1], hp[0]);
    for (int i = 0; i < 8; i++)
        _mm_store_si128 ((__m128i *) g->h[i], hp[i]);
    for (int j = 0; j < 8; j++)
        for (int l = 0; l < 2; l++) {
            __m128i p = hp[15 - 2 * j - l];
            _mm_storeu_si128 ((__m128i *) (g->hw[j] + 16 * l), p);
            _mm_storeu_si128 ((__m128i *) (g->hwk[j] + 16 * l),
                              _mm_xor_si128 (p, _mm_shuffle_epi32 (p, 0x4e)));
        }
    g->wide = wide_usable ();
    for (int i = 0; i < 15; i++)
        rk[i] = _mm_setzero_si128 ();
    for (int i = 0; i < 16; i++)
        hp[i] = _mm_setzero_si128 ();
    __asm__ volatile("" : : "m"(rk), "m"(hp) : "memory");
}

void aesgcm_init_narrow (aesgcm_t *g, const uint8_t key[AESGCM_KEY])
{
    aesgcm_init (g, key);
    g->wide = false;
}

/* One partial block (n < 16 bytes) as a zero-padded block. */
T static __m128i load_part (const uint8_t *p, size_t n)
{
    uint8_t b[16] = { 0 };
    for (size_t i = 0; i < n; i++)
        b[i] = p[i];
    return _mm_loadu_si128 ((const __m128i *) b);
}

/* ---- the 256-bit path ---- */

/* Each 128-bit lane byte-reversed. */
W static inline __m256i bswap2 (__m256i x)
{
    const __m256i m = _mm256_setr_epi8 (15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15,
                                        14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    return _mm256_shuffle_epi8 (x, m);
}

/* Register j's share of the aggregated product: its two blocks c
   (byte-reflected) times the pair of powers hw[j], Karatsuba's three
   products added to lo, mid and hi. */
W static inline void mul_acc2 (const aesgcm_t *g, int j, __m256i c, __m256i *lo, __m256i *mid,
                               __m256i *hi)
{
    __m256i h = _mm256_loadu_si256 ((const __m256i *) g->hw[j]);
    __m256i hk = _mm256_loadu_si256 ((const __m256i *) g->hwk[j]);
    *lo = _mm256_xor_si256 (*lo, _mm256_clmulepi64_epi128 (c, h, 0x00));
    *hi = _mm256_xor_si256 (*hi, _mm256_clmulepi64_epi128 (c, h, 0x11));
    __m256i ck = _mm256_xor_si256 (c, _mm256_shuffle_epi32 (c, 0x4e));
    *mid = _mm256_xor_si256 (*mid, _mm256_clmulepi64_epi128 (ck, hk, 0x00));
}

/* The hash x after sixteen blocks (eight registers, byte-reflected):
   the two lanes' sums added, one reduction. */
W static inline __m128i fold (__m256i lo, __m256i mid, __m256i hi)
{
    __m128i l = _mm_xor_si128 (_mm256_castsi256_si128 (lo), _mm256_extracti128_si256 (lo, 1));
    __m128i m = _mm_xor_si128 (_mm256_castsi256_si128 (mid), _mm256_extracti128_si256 (mid, 1));
    __m128i h = _mm_xor_si128 (_mm256_castsi256_si128 (hi), _mm256_extracti128_si256 (hi, 1));
    return reduce (l, _mm_xor_si128 (m, _mm_xor_si128 (l, h)), h);
}

/* Counter mode and GHASH over the whole 256-byte pieces of in, sixteen
   blocks a round; base is the counter block with its counter zero, ctr
   the next counter, x the hash so far; both carried on.  open: the
   hash is of in, else of out.  The bytes done. */
W static inline __attribute__ ((always_inline)) size_t bulk_wide (const aesgcm_t *g, __m128i base,
                                                                  uint32_t *ctr, __m128i *x,
                                                                  const uint8_t *in, size_t n,
                                                                  uint8_t *out, bool open)
{
    if (n < 256)
        return 0;
    __m256i rk[15];
    for (int r = 0; r < 15; r++)
        rk[r] = _mm256_broadcastsi128_si256 (_mm_load_si128 ((const __m128i *) g->rk[r]));
    /* the counter blocks with their counters in the CPU's order, made
       big-endian by swapping the last four bytes */
    const __m256i order = _mm256_setr_epi8 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 14, 13, 12, 0,
                                            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 14, 13, 12);
    __m256i cb =
        _mm256_add_epi32 (_mm256_broadcastsi128_si256 (_mm_insert_epi32 (base, (int) *ctr, 3)),
                          _mm256_setr_epi32 (0, 0, 0, 0, 0, 0, 0, 1));
    const __m256i two = _mm256_setr_epi32 (0, 0, 0, 2, 0, 0, 0, 2);
    __m128i xx = *x;
    size_t i = 0;
    for (; n - i >= 256; i += 256) {
        __m256i b[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            b[j] = _mm256_xor_si256 (_mm256_shuffle_epi8 (cb, order), rk[0]);
            cb = _mm256_add_epi32 (cb, two);
        }
#pragma GCC unroll 13
        for (int r = 1; r < 14; r++) {
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                b[j] = _mm256_aesenc_epi128 (b[j], rk[r]);
        }
        __m256i lo = _mm256_setzero_si256 (), mid = lo, hi = lo;
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m256i v = _mm256_loadu_si256 ((const __m256i *) (in + i + 32 * j));
            b[j] = _mm256_xor_si256 (_mm256_aesenclast_epi128 (b[j], rk[14]), v);
            _mm256_storeu_si256 ((__m256i *) (out + i + 32 * j), b[j]);
            __m256i c = bswap2 (open ? v : b[j]);
            if (j == 0)
                c = _mm256_xor_si256 (c, _mm256_zextsi128_si256 (xx));
            mul_acc2 (g, j, c, &lo, &mid, &hi);
        }
        xx = fold (lo, mid, hi);
    }
    *x = xx;
    *ctr += (uint32_t) (i / 16);
    for (int r = 0; r < 15; r++)
        rk[r] = _mm256_setzero_si256 ();
    __asm__ volatile("" : : "m"(rk) : "memory");
    return i;
}

/* bulk_wide made twice, the direction a constant in each */
W static size_t seal_wide (const aesgcm_t *g, __m128i base, uint32_t *ctr, __m128i *x,
                           const uint8_t *in, size_t n, uint8_t *out)
{
    return bulk_wide (g, base, ctr, x, in, n, out, false);
}

W static size_t open_wide (const aesgcm_t *g, __m128i base, uint32_t *ctr, __m128i *x,
                           const uint8_t *in, size_t n, uint8_t *out)
{
    return bulk_wide (g, base, ctr, x, in, n, out, true);
}

/* ---- the mode ---- */

/* Counter mode over n bytes of in into out, and the tag of the
   ciphertext (out's when sealing, in's when opening). */
T static void gcm (const aesgcm_t *g, const uint8_t nonce[AESGCM_NONCE], const uint8_t *ad,
                   size_t adlen, const uint8_t *in, size_t n, uint8_t *out, bool open,
                   uint8_t tag[AESGCM_TAG])
{
    const __m128i *rk = (const __m128i *) g->rk;
    __m128i H[8], Hk[8];
    for (int i = 0; i < 8; i++) {
        H[i] = _mm_load_si128 ((const __m128i *) g->h[i]);
        Hk[i] = _mm_xor_si128 (H[i], _mm_shuffle_epi32 (H[i], 0x4e));
    }
    uint8_t nb[16] = { 0 };
    for (int i = 0; i < AESGCM_NONCE; i++)
        nb[i] = nonce[i];
    __m128i base = _mm_loadu_si128 ((const __m128i *) nb);
    uint32_t ctr = 1;
#define CTR(c) _mm_insert_epi32 (base, (int) __builtin_bswap32 (c), 3)
    __m128i y0 = encrypt1 (rk, CTR (ctr++));
    __m128i x = _mm_setzero_si128 (); /* the hash so far, byte-reflected */

    for (size_t i = 0; i < adlen; i += 16) {
        size_t k = adlen - i < 16 ? adlen - i : 16;
        __m128i a = k == 16 ? _mm_loadu_si128 ((const __m128i *) (ad + i)) : load_part (ad + i, k);
        x = gmul (_mm_xor_si128 (x, bswap (a)), H[0]);
    }

    size_t i = !g->wide ? 0
               : open   ? open_wide (g, base, &ctr, &x, in, n, out)
                        : seal_wide (g, base, &ctr, &x, in, n, out);
    for (; n - i >= 128; i += 128) {
        __m128i b[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            b[j] = _mm_xor_si128 (CTR (ctr + (uint32_t) j), rk[0]);
        ctr += 8;
#pragma GCC unroll 13
        for (int r = 1; r < 14; r++)
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                b[j] = _mm_aesenc_si128 (b[j], rk[r]);
        __m128i lo = _mm_setzero_si128 (), mid = lo, hi = lo;
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m128i v = _mm_loadu_si128 ((const __m128i *) (in + i + 16 * j));
            b[j] = _mm_xor_si128 (_mm_aesenclast_si128 (b[j], rk[14]), v);
            _mm_storeu_si128 ((__m128i *) (out + i + 16 * j), b[j]);
            __m128i c = bswap (open ? v : b[j]);
            if (j == 0)
                c = _mm_xor_si128 (c, x);
            mul_acc_k (c, H[7 - j], Hk[7 - j], &lo, &mid, &hi);
        }
        x = reduce (lo, _mm_xor_si128 (mid, _mm_xor_si128 (lo, hi)), hi);
    }
    for (; i < n; i += 16) {
        size_t k = n - i < 16 ? n - i : 16;
        __m128i s = encrypt1 (rk, CTR (ctr++)), c;
        if (k == 16) {
            __m128i v = _mm_loadu_si128 ((const __m128i *) (in + i));
            c = _mm_xor_si128 (s, v);
            _mm_storeu_si128 ((__m128i *) (out + i), c);
            if (open)
                c = v;
        }
        else {
            uint8_t sb[16], cb[16] = { 0 };
            _mm_storeu_si128 ((__m128i *) sb, s);
            for (size_t j = 0; j < k; j++) {
                uint8_t v = in[i + j], o = (uint8_t) (v ^ sb[j]);
                out[i + j] = o;
                cb[j] = open ? v : o;
            }
            c = _mm_loadu_si128 ((const __m128i *) cb);
        }
        x = gmul (_mm_xor_si128 (x, bswap (c)), H[0]);
    }
#undef CTR
    __m128i lens = _mm_set_epi64x ((long long) adlen * 8, (long long) n * 8);
    x = gmul (_mm_xor_si128 (x, lens), H[0]);
    _mm_storeu_si128 ((__m128i *) tag, _mm_xor_si128 (bswap (x), y0));
}

void aesgcm_seal (const aesgcm_t *g, const uint8_t nonce[AESGCM_NONCE], const uint8_t *ad,
                  size_t adlen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[AESGCM_TAG])
{
    gcm (g, nonce, ad, adlen, in, n, out, false, tag);
}

int aesgcm_open (const aesgcm_t *g, const uint8_t nonce[AESGCM_NONCE], const uint8_t *ad,
                 size_t adlen, const uint8_t *in, size_t n, uint8_t *out,
                 const uint8_t tag[AESGCM_TAG])
{
    uint8_t t[AESGCM_TAG], d = 0;
    gcm (g, nonce, ad, adlen, in, n, out, true, t);
    for (int i = 0; i < AESGCM_TAG; i++) /* every byte: constant time */
        d |= (uint8_t) (t[i] ^ tag[i]);
    if (!d)
        return 0;
    volatile uint8_t *p = out;
    for (size_t i = 0; i < n; i++)
        p[i] = 0;
    return -1;
}

void aesgcm_wipe (aesgcm_t *g)
{
    volatile uint8_t *p = (volatile uint8_t *) g;
    for (size_t i = 0; i < sizeof *g; i++)
        p[i] = 0;
}
