/*  loops.c -- loops over arrays: on the stack, in .bss, on the heap;
    indexed and pointer-walking accesses (the r14 paths of the rewriter). */
#include "glsfi.h"

static int grid[64][64];
static double mat_a[32][32], mat_b[32][32], mat_c[32][32];

//@ prefix 1000
GLSFI_EXPORT long prefix (long n)
{
    long buf[256];
    long s = 0;
    for (long i = 0; i < 256; i++)
        buf[i] = i * i - n;
    for (long i = 1; i < 256; i++)
        buf[i] += buf[i - 1];
    for (long i = 0; i < 256; i += 3)
        s ^= buf[i] + i;
    return s;
}

//@ sieve 100000
GLSFI_EXPORT long sieve (long n)
{
    unsigned char *comp = calloc ((size_t) n + 1, 1);
    long count = 0, last = 0;
    for (long i = 2; i <= n; i++) {
        if (comp[i])
            continue;
        count++;
        last = i;
        for (long j = i * i; j <= n; j += i)
            comp[j] = 1;
    }
    free (comp);
    return count * 1000000 + last;
}

//@ life 50
GLSFI_EXPORT long life (long steps)
{
    static int next[64][64];
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            grid[y][x] = ((x * 7 + y * 13) % 5) == 0 || (x == y);
    for (long s = 0; s < steps; s++) {
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) {
                int n = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if (dx || dy)
                            n += grid[(y + dy) & 63][(x + dx) & 63];
                next[y][x] = n == 3 || (n == 2 && grid[y][x]);
            }
        memcpy (grid, next, sizeof grid);
    }
    long alive = 0;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            alive += grid[y][x] * (x + 64 * y);
    return alive;
}

//@ matmul 3
GLSFI_EXPORT long matmul (long seed)
{
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++) {
            mat_a[i][j] = (double) ((i * 31 + j * 17 + seed) % 23) - 11;
            mat_b[i][j] = (double) ((i * 7 + j * 5 + seed) % 19) / 4;
        }
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++) {
            double s = 0;
            for (int k = 0; k < 32; k++)
                s += mat_a[i][k] * mat_b[k][j];
            mat_c[i][j] = s;
        }
    double t = 0;
    for (int i = 0; i < 32; i++)
        t += mat_c[i][(i * 3) & 31] * (i + 1);
    return (long) (t * 16);
}

//@ walk 5000
GLSFI_EXPORT long walk (long n)
{
    int *a = malloc ((size_t) n * sizeof *a);
    for (long i = 0; i < n; i++)
        a[i] = (int) ((i * 2654435761u) >> 7);
    long s = 0;
    for (int *p = a, *end = a + n; p < end; p++)
        s += *p ^ (s >> 3);
    for (int *p = a + n - 1; p >= a; p -= 7)
        s -= p[0] - (p > a ? p[-1] : 0);
    free (a);
    return s;
}
