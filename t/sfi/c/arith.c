/*  arith.c -- integer arithmetic: division in every width and sign,
    128-bit division (the runtime's __udivti3 and friends), shifts,
    popcount without -mpopcnt, overflow checks.
    Lines "//@ FUNCTION ARGS" are the calls t/integ/sfi_cc.sh makes. */
#include "glsfi.h"

//@ divs 1000003 -7
//@ divs -99999999999 13
GLSFI_EXPORT long divs (long a, long b)
{
    int ia = (int) a, ib = (int) b;
    unsigned ua = (unsigned) a, ub = (unsigned) b;
    return (a / b) * 1000 + a % b + (ia / ib) + (ia % ib) * 7 + (long) (ua / ub) + (long) (ua % ub);
}

//@ wide 123456789123 987654321
//@ wide -5 3
GLSFI_EXPORT long wide (long a, long b)
{
    __int128 x = (__int128) a * a * a + b;
    unsigned __int128 u = (unsigned __int128) x * 0x123456789abcdefULL + (unsigned long) b;
    unsigned __int128 d = ((unsigned __int128) (unsigned long) b << 64) | 77;
    long r = (long) (x / b) ^ (long) (x % (b | 1));
    r += (long) (u / 1000000007) + (long) (u % 999983);
    r += (long) (u / d) + (long) (u % d);
    r += (long) ((__int128) u / -(__int128) (b | 3));
    return r;
}

//@ bits 0x0123456789abcdef 13
//@ bits -1 63
GLSFI_EXPORT long bits (long a, long n)
{
    unsigned long u = (unsigned long) a;
    long r = __builtin_popcountl (u) + __builtin_parityl (u) * 100;
    r += (long) (u << (n & 63)) ^ (a >> (n & 63)) ^ (long) (u >> (n & 31));
    r += __builtin_clzl (u | 1) * 1000 + __builtin_ctzl (u | (1UL << 40)) * 10000;
    r ^= (long) __builtin_bswap64 (u);
    return r;
}

//@ mulov 4611686018427387904 2
//@ mulov 12345 678
GLSFI_EXPORT long mulov (long a, long b)
{
    long r;
    long flags = __builtin_mul_overflow (a, b, &r) ? 1 : 0;
    flags |= __builtin_add_overflow (a, b, &r) ? 2 : 0;
    return r * 4 + flags;
}

/* Collatz steps summed over 1..n: a tight loop with div-free arithmetic. */
//@ collatz 3000
GLSFI_EXPORT long collatz (long n)
{
    long total = 0;
    for (long i = 1; i <= n; i++)
        for (unsigned long x = (unsigned long) i; x != 1; total++)
            x = x & 1 ? 3 * x + 1 : x / 2;
    return total;
}
