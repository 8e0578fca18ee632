/*  sort.c -- qsort from the runtime, calling back into module code. */
#include "glsfi.h"

static int cmp_long (const void *a, const void *b)
{
    long x = *(const long *) a, y = *(const long *) b;
    return (x > y) - (x < y);
}

struct rec {
    int key;
    char name[12];
    double weight;
};

static int cmp_rec (const void *a, const void *b)
{
    const struct rec *p = a, *q = b;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    int c = strcmp (p->name, q->name);
    if (c)
        return c;
    return (p->weight > q->weight) - (p->weight < q->weight);
}

//@ sortints 10000 7
//@ sortints 5 1
GLSFI_EXPORT long sortints (long n, long seed)
{
    long *a = malloc ((size_t) n * sizeof *a);
    unsigned long x = (unsigned long) seed;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        a[i] = (long) (x >> 40) % 1000 - 500;
    }
    qsort (a, (size_t) n, sizeof *a, cmp_long);
    long h = 0;
    for (long i = 0; i < n; i++) {
        if (i && a[i - 1] > a[i])
            return -1;
        h = h * 31 + a[i];
    }
    free (a);
    return h;
}

//@ sortrecs 2000
GLSFI_EXPORT long sortrecs (long n)
{
    struct rec *r = malloc ((size_t) n * sizeof *r);
    for (long i = 0; i < n; i++) {
        r[i].key = (int) ((i * 7919) % 53);
        for (int j = 0; j < 11; j++)
            r[i].name[j] = (char) ('a' + (i * (j + 3)) % 26);
        r[i].name[11] = 0;
        r[i].weight = (double) (i % 17) / 3;
    }
    qsort (r, (size_t) n, sizeof *r, cmp_rec);
    long h = 0;
    for (long i = 0; i < n; i++) {
        if (i && cmp_rec (&r[i - 1], &r[i]) > 0)
            return -1;
        h = h * 131 + r[i].key + r[i].name[0] + (long) (r[i].weight * 3);
    }
    free (r);
    return h;
}

//@ sorted 3000
GLSFI_EXPORT long sorted (long n)
{
    /* already sorted and reversed inputs: the quadratic cases of a naive quicksort */
    long *a = malloc ((size_t) n * sizeof *a);
    for (long i = 0; i < n; i++)
        a[i] = n - i;
    qsort (a, (size_t) n, sizeof *a, cmp_long);
    qsort (a, (size_t) n, sizeof *a, cmp_long);
    long ok = 1;
    for (long i = 0; i < n; i++)
        ok &= a[i] == i + 1;
    free (a);
    return ok * n;
}
