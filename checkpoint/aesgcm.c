/*  aesgcm.c -- AES-256-GCM sealing on AES-NI and PCLMULQDQ (aesgcm.h).

    Counter mode eight blocks at a time (the AES unit pipelines eight
    independent blocks), and GHASH over those eight ciphertext blocks
    with the powers H^8..H^1 and one reduction (Gueron and Kounavis,
    "Intel Carry-Less Multiplication Instruction and its Usage for
    Computing the GCM Mode", 2014: its byte-reflected representation,
    multiplication and reduction).  Every function carries the target
    attribute, so the rest of the shim is built for any x86-64. */
#include "aesgcm.h"

#include <cpuid.h>
#include <immintrin.h>

#define T __attribute__ ((target ("aes,pclmul,ssse3,sse4.1")))

bool aesgcm_usable (void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid (1, &a, &b, &c, &d))
        return false;
    return (c & bit_AES) && (c & bit_PCLMUL) && (c & bit_SSSE3) && (c & bit_SSE4_1);
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
    __m128i h = bswap (encrypt1 (rk, _mm_setzero_si128 ())), p = h;
    _mm_store_si128 ((__m128i *) g->h[0], h);
    for (int i = 1; i < 8; i++) {
        p = gmul (p, h);
        _mm_store_si128 ((__m128i *) g->h[i], p);
    }
    for (int i = 0; i < 15; i++)
        rk[i] = _mm_setzero_si128 ();
    __asm__ volatile("" : : "m"(rk) : "memory");
}

/* One partial block (n < 16 bytes) as a zero-padded block. */
T static __m128i load_part (const uint8_t *p, size_t n)
{
    uint8_t b[16] = { 0 };
    for (size_t i = 0; i < n; i++)
        b[i] = p[i];
    return _mm_loadu_si128 ((const __m128i *) b);
}

T void aesgcm_seal (const aesgcm_t *g, const uint8_t nonce[AESGCM_NONCE], const uint8_t *ad,
                    size_t adlen, const uint8_t *in, size_t n, uint8_t *out,
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

    size_t i = 0;
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
            b[j] = _mm_aesenclast_si128 (b[j], rk[14]);
            b[j] = _mm_xor_si128 (b[j], _mm_loadu_si128 ((const __m128i *) (in + i + 16 * j)));
            _mm_storeu_si128 ((__m128i *) (out + i + 16 * j), b[j]);
            __m128i c = bswap (b[j]);
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
            c = _mm_xor_si128 (s, _mm_loadu_si128 ((const __m128i *) (in + i)));
            _mm_storeu_si128 ((__m128i *) (out + i), c);
        }
        else {
            uint8_t sb[16], cb[16] = { 0 };
            _mm_storeu_si128 ((__m128i *) sb, s);
            for (size_t j = 0; j < k; j++)
                out[i + j] = cb[j] = (uint8_t) (in[i + j] ^ sb[j]);
            c = _mm_loadu_si128 ((const __m128i *) cb);
        }
        x = gmul (_mm_xor_si128 (x, bswap (c)), H[0]);
    }
#undef CTR
    __m128i lens = _mm_set_epi64x ((long long) adlen * 8, (long long) n * 8);
    x = gmul (_mm_xor_si128 (x, lens), H[0]);
    _mm_storeu_si128 ((__m128i *) tag, _mm_xor_si128 (bswap (x), y0));
}

void aesgcm_wipe (aesgcm_t *g)
{
    volatile uint8_t *p = (volatile uint8_t *) g;
    for (size_t i = 0; i < sizeof *g; i++)
        p[i] = 0;
}
