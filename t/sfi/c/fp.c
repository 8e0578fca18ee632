/*  fp.c -- floating point with SSE: doubles and floats, conversions,
    sqrt from the runtime, a numerical integration, Newton's method.
    Results are returned scaled and truncated, or as raw bits. */
#include "glsfi.h"

static double bits_to_double (long b)
{
    double d;
    memcpy (&d, &b, sizeof d);
    return d;
}

static long double_bits (double d)
{
    long b;
    memcpy (&b, &d, sizeof b);
    return b;
}

//@ integrate 100000
GLSFI_EXPORT long integrate (long steps)
{
    /* 4 / (1 + x^2) over [0, 1] is pi */
    double h = 1.0 / (double) steps, s = 0;
    for (long i = 0; i < steps; i++) {
        double x = (i + 0.5) * h;
        s += 4.0 / (1.0 + x * x);
    }
    return double_bits (s * h);
}

//@ roots 50
GLSFI_EXPORT long roots (long n)
{
    double s = 0;
    for (long i = 1; i <= n; i++) {
        double x = (double) i;
        double g = x; /* Newton for sqrt, against sqrt() */
        for (int k = 0; k < 30; k++)
            g = 0.5 * (g + x / g);
        s += g - sqrt (x) + sqrt (x) / (double) i;
        s += (double) sqrtf ((float) i) * 1e-3;
    }
    return (long) (s * 1e9);
}

//@ floats 1000
GLSFI_EXPORT long floats (long n)
{
    float f = 1.0f;
    double d = 1.0;
    long r = 0;
    for (long i = 1; i <= n; i++) {
        f = f * 1.0001f + 1.0f / (float) i;
        d = d * 0.9999 + (double) f / 3.0;
        r += (long) d ^ (long) (f * 8.0f);
        r += (int) (-d) % 7;
        r += (unsigned) (d * 1000.0) % 13;
    }
    return r + double_bits ((double) f) % 100000 + (long) (fabs (-d) * 100);
}

//@ dot 64 3
GLSFI_EXPORT long dot (long n, long seed)
{
    double *a = malloc ((size_t) n * sizeof *a), *b = malloc ((size_t) n * sizeof *b);
    for (long i = 0; i < n; i++) {
        a[i] = (double) ((i * seed) % 11) / 7.0;
        b[i] = bits_to_double (double_bits (1.0 + (double) i / 64.0));
    }
    double s = 0;
    for (long i = 0; i < n; i++)
        s += a[i] * b[i];
    free (a);
    free (b);
    return double_bits (s);
}

//@ convert -123456789
GLSFI_EXPORT long convert (long v)
{
    double d = (double) v;
    float f = (float) v;
    unsigned long u = (unsigned long) (d < 0 ? -d : d) * 3;
    double du = (double) (u | (1UL << 63));
    return (long) (d / 7) + (long) f + (long) (u % 1000) + (long) (du / 1e10);
}
