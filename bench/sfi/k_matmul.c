/* matmul: n products of two 128x128 double matrices (i-k-j loop, four k
   at a time).  The
   three matrices share one allocation, 512 bytes apart modulo 4 KiB (so
   that loads of b and stores to c never alias in the low 12 bits of the
   address, whatever the allocator), and the product takes restrict
   pointers, so that every build may vectorize the inner loop. */
#include "bench.h"
#define N 128

static void product (double *restrict c, const double *restrict a, const double *restrict b)
{
    for (int i = 0; i < N * N; i++)
        c[i] = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k += 4) {
            double a0 = a[i * N + k], a1 = a[i * N + k + 1], a2 = a[i * N + k + 2],
                   a3 = a[i * N + k + 3];
            const double *b0 = b + k * N, *b1 = b0 + N, *b2 = b1 + N, *b3 = b2 + N;
            double *ci = c + i * N;
            for (int j = 0; j < N; j++)
                ci[j] = ci[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
        }
}

EXPORT long RUN (long n)
{
    double *m = malloc (sizeof (double) * (3 * N * N + 256));
    double *a = m, *b = a + N * N + 64, *c = b + N * N + 64;
    rng_t r = { 1 };
    for (int i = 0; i < N * N; i++) {
        a[i] = (double) (rng_next (&r) >> 40) / (double) (1 << 24) - 0.5;
        b[i] = (double) (rng_next (&r) >> 40) / (double) (1 << 24) - 0.5;
    }
    uint64_t h = 0;
    for (long t = 0; t < n; t++) {
        product (c, a, b);
        int p = (int) (t % N);
        uint64_t bits;
        memcpy (&bits, &c[p * N + p], 8);
        h = mix64 (h ^ bits);
        a[p * N + (p + 1) % N] = c[p * N + p] * 0.25; /* the next product depends on this one */
    }
    free (m);
    return fold (h);
}
