/*  fnptr.c -- function pointers: tables of operations, callbacks, indirect
    tail calls, pointers kept in callee-saved registers across calls. */
#include "glsfi.h"

typedef long (*op_t) (long, long);

static long op_add (long a, long b)
{
    return a + b;
}
static long op_sub (long a, long b)
{
    return a - b;
}
static long op_mul (long a, long b)
{
    return a * b;
}
static long op_xor (long a, long b)
{
    return a ^ b;
}
static long op_max (long a, long b)
{
    return a > b ? a : b;
}

static op_t const table[] = { op_add, op_sub, op_mul, op_xor, op_max };
static op_t writable_table[5];

//@ dispatch 1000
GLSFI_EXPORT long dispatch (long n)
{
    long acc = 1;
    for (long i = 0; i < n; i++)
        acc = table[(i * 7 + acc) % 5 < 0 ? 0 : (i * 7 + acc) % 5](acc, i) % 1000003;
    return acc;
}

static __attribute__ ((noinline)) long apply (op_t f, long a, long b)
{
    return f (a, b); /* an indirect tail call */
}

//@ tail 77 5
GLSFI_EXPORT long tail (long a, long b)
{
    long s = 0;
    for (int i = 0; i < 5; i++) {
        writable_table[i] = table[4 - i];
        s = s * 31 + apply (writable_table[i], a + i, b);
    }
    return s;
}

static __attribute__ ((noinline)) long fold (const long *v, int n, op_t f, long init)
{
    for (int i = 0; i < n; i++)
        init = f (init, v[i]); /* f stays in a callee-saved register */
    return init;
}

//@ folds 10
GLSFI_EXPORT long folds (long n)
{
    long v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (i + n) * (i - 3);
    long r = 0;
    for (int k = 0; k < 5; k++)
        r = r * 1009 + fold (v, 16, table[k], k);
    return r;
}

struct obj {
    long value;
    long (*get) (const struct obj *);
};

static long get_double (const struct obj *o)
{
    return o->value * 2;
}
static long get_neg (const struct obj *o)
{
    return -o->value;
}

//@ methods 21
GLSFI_EXPORT long methods (long v)
{
    struct obj *o = malloc (2 * sizeof *o);
    o[0] = (struct obj){ v, get_double };
    o[1] = (struct obj){ v + 1, get_neg };
    long r = o[0].get (&o[0]) * 1000 + o[1].get (&o[1]);
    free (o);
    return r;
}

//@ fnaddr 0
//@ fnaddr 3
GLSFI_EXPORT long fnaddr (long n)
{
    /* a pointer that went through the call mask is still the same pointer */
    op_t f = table[n % 5];
    long r = f (3, 4);
    return r * 10 + (f == table[n % 5]) + 2 * (f == op_add) + 4 * (f == op_max);
}
