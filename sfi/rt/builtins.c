/*  builtins.c -- the libgcc functions gcc may call from module code.

    libgcc.a is not linked: its code was not compiled for the sandbox (it
    returns with a bare `ret`), so the verifier would refuse it.  These are the
    ones plain C reaches on x86-64: 128-bit division, popcount and parity
    without -mpopcnt, and __builtin_powi.  A call to any other libgcc
    function is a link error naming it. */
#include "glsfi.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

/* (hi:lo) / d with hi < d, so that the quotient fits in 64 bits. */
static inline uint64_t div_128_64 (uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem)
{
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "r"(d));
    *rem = r;
    return q;
}

/* Unsigned 128-bit division by 64-bit steps (Hacker's Delight, 9-5). */
static u128 udivmod (u128 n, u128 d, u128 *rem)
{
    uint64_t nh = (uint64_t) (n >> 64), nl = (uint64_t) n;
    uint64_t dh = (uint64_t) (d >> 64), dl = (uint64_t) d;
    u128 q;
    if (d == 0)
        __builtin_trap ();
    if (dh == 0) {
        uint64_t r;
        if (nh < dl)
            q = div_128_64 (nh, nl, dl, &r);
        else {
            uint64_t qh = nh / dl;
            uint64_t ql = div_128_64 (nh % dl, nl, dl, &r);
            q = (u128) qh << 64 | ql;
        }
        if (rem)
            *rem = r;
        return q;
    }
    if (n < d) {
        if (rem)
            *rem = n;
        return 0;
    }
    int s = __builtin_clzll (dh);
    uint64_t v1 = (uint64_t) ((d << s) >> 64);
    u128 u1 = n >> 1;
    uint64_t r;
    uint64_t q1 = div_128_64 ((uint64_t) (u1 >> 64), (uint64_t) u1, v1, &r);
    uint64_t q0 = (uint64_t) (((u128) q1 << s) >> 63);
    if (q0 != 0)
        q0--;
    if (n - (u128) q0 * d >= d)
        q0++;
    if (rem)
        *rem = n - (u128) q0 * d;
    return q0;
}

u128 __udivti3 (u128 n, u128 d);
u128 __umodti3 (u128 n, u128 d);
u128 __udivmodti4 (u128 n, u128 d, u128 *rem);
s128 __divti3 (s128 n, s128 d);
s128 __modti3 (s128 n, s128 d);
int __popcountdi2 (uint64_t x);
int __popcountsi2 (uint32_t x);
int __paritydi2 (uint64_t x);
int __paritysi2 (uint32_t x);
double __powidf2 (double x, int n);
float __powisf2 (float x, int n);

u128 __udivti3 (u128 n, u128 d)
{
    return udivmod (n, d, NULL);
}

u128 __umodti3 (u128 n, u128 d)
{
    u128 r;
    udivmod (n, d, &r);
    return r;
}

u128 __udivmodti4 (u128 n, u128 d, u128 *rem)
{
    return udivmod (n, d, rem);
}

s128 __divti3 (s128 n, s128 d)
{
    u128 un = n < 0 ? -(u128) n : (u128) n;
    u128 ud = d < 0 ? -(u128) d : (u128) d;
    u128 q = udivmod (un, ud, NULL);
    return (s128) ((n < 0) != (d < 0) ? -q : q);
}

s128 __modti3 (s128 n, s128 d)
{
    u128 un = n < 0 ? -(u128) n : (u128) n;
    u128 ud = d < 0 ? -(u128) d : (u128) d;
    u128 r;
    udivmod (un, ud, &r);
    return (s128) (n < 0 ? -r : r);
}

int __popcountdi2 (uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int) ((x * 0x0101010101010101ull) >> 56);
}

int __popcountsi2 (uint32_t x)
{
    return __popcountdi2 (x);
}

int __paritydi2 (uint64_t x)
{
    return __popcountdi2 (x) & 1;
}

int __paritysi2 (uint32_t x)
{
    return __popcountdi2 (x) & 1;
}

double __powidf2 (double x, int n)
{
    unsigned m = n < 0 ? -(unsigned) n : (unsigned) n;
    double r = 1;
    for (; m; m >>= 1, x *= x)
        if (m & 1)
            r *= x;
    return n < 0 ? 1 / r : r;
}

float __powisf2 (float x, int n)
{
    unsigned m = n < 0 ? -(unsigned) n : (unsigned) n;
    float r = 1;
    for (; m; m >>= 1, x *= x)
        if (m & 1)
            r *= x;
    return n < 0 ? 1 / r : r;
}
