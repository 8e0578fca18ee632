/*  recursion.c -- deep and mutual recursion, variable-length arrays
    (writes to %rsp through a register), large frames. */
#include "glsfi.h"

static long ack (long m, long n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack (m - 1, 1);
    return ack (m - 1, ack (m, n - 1));
}

//@ ackermann 2 300
//@ ackermann 3 5
GLSFI_EXPORT long ackermann (long m, long n)
{
    return ack (m, n);
}

static long is_odd (unsigned long n);
static __attribute__ ((noinline)) long is_even (unsigned long n)
{
    return n == 0 ? 1 : is_odd (n - 1);
}
static __attribute__ ((noinline)) long is_odd (unsigned long n)
{
    return n == 0 ? 0 : is_even (n - 1);
}

//@ parity 10001
GLSFI_EXPORT long parity (long n)
{
    return is_even ((unsigned long) n) * 10 + is_odd ((unsigned long) n);
}

static __attribute__ ((noinline)) long depth (long n)
{
    volatile char pad[100];
    pad[n % 100] = (char) n;
    if (n == 0)
        return 0;
    return depth (n - 1) + pad[n % 100];
}

//@ deep 4000
GLSFI_EXPORT long deep (long n)
{
    return depth (n);
}

static __attribute__ ((noinline)) long vla_sum (long n)
{
    long a[n];
    for (long i = 0; i < n; i++)
        a[i] = i * i;
    long s = 0;
    for (long i = n - 1; i >= 0; i--)
        s = s * 3 + a[i] % 7;
    return s;
}

//@ vla 100
//@ vla 1
GLSFI_EXPORT long vla (long n)
{
    long s = 0;
    for (long k = 1; k <= n; k += 9)
        s ^= vla_sum (k);
    return s;
}

static __attribute__ ((noinline)) long big_frame (long seed)
{
    volatile long frame[20000]; /* 160 KB: displacements beyond one page */
    for (long i = 0; i < 20000; i += 97)
        frame[i] = seed + i;
    long s = 0;
    for (long i = 0; i < 20000; i += 97)
        s += frame[i] ^ i;
    return s;
}

//@ bigframe 99
GLSFI_EXPORT long bigframe (long seed)
{
    return big_frame (seed);
}

static long hanoi (int n, int from, int to, int via, long *moves)
{
    if (n == 0)
        return 0;
    long r = hanoi (n - 1, from, via, to, moves);
    (*moves)++;
    r += (long) from * 3 + to;
    return r + hanoi (n - 1, via, to, from, moves);
}

//@ towers 16
GLSFI_EXPORT long towers (long n)
{
    long moves = 0;
    long r = hanoi ((int) n, 0, 2, 1, &moves);
    return r * 100000 + moves;
}
