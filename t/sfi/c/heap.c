/*  heap.c -- malloc, calloc, realloc, free: many sizes, reuse, growth,
    a binary search tree. */
#include "glsfi.h"

//@ churn 2000
GLSFI_EXPORT long churn (long n)
{
    void *slot[64] = { 0 };
    size_t size[64] = { 0 };
    unsigned long x = 12345;
    long sum = 0;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        int k = (int) (x >> 58);
        if (slot[k]) {
            unsigned char *p = slot[k];
            for (size_t j = 0; j < size[k]; j += 61)
                sum += p[j] ^ (unsigned char) (k + j);
            if (x & (1UL << 20)) {
                size_t ns = (size_t) ((x >> 30) % 5000) + 1;
                p = realloc (p, ns);
                if (ns > size[k])
                    memset (p + size[k], 0, ns - size[k]);
                slot[k] = p;
                size[k] = ns;
                continue;
            }
            free (slot[k]);
            slot[k] = NULL;
            continue;
        }
        size_t s = (size_t) ((x >> 20) % 70000) + 1;
        unsigned char *p = (x & 4) ? calloc (s, 1) : malloc (s);
        if (!p)
            return -1;
        if (((uintptr_t) p & 15) != 0)
            return -2;
        for (size_t j = 0; j < s; j++)
            p[j] = (unsigned char) (k + j);
        slot[k] = p;
        size[k] = s;
    }
    for (int k = 0; k < 64; k++)
        free (slot[k]);
    return sum;
}

struct tree {
    struct tree *l, *r;
    long key;
};

static struct tree *insert (struct tree *t, long key)
{
    if (!t) {
        t = calloc (1, sizeof *t);
        t->key = key;
        return t;
    }
    if (key < t->key)
        t->l = insert (t->l, key);
    else if (key > t->key)
        t->r = insert (t->r, key);
    return t;
}

static long walk (struct tree *t, long depth)
{
    if (!t)
        return 0;
    long s = walk (t->l, depth + 1) + t->key * depth + walk (t->r, depth + 1);
    free (t);
    return s;
}

//@ tree 3000
GLSFI_EXPORT long tree (long n)
{
    struct tree *root = NULL;
    for (long i = 0; i < n; i++)
        root = insert (root, (i * 7919) % 10007);
    return walk (root, 1);
}

//@ big 8
GLSFI_EXPORT long big (long mb)
{
    /* a few megabytes, written and read back */
    size_t n = (size_t) mb << 20;
    unsigned *p = malloc (n);
    if (!p)
        return -1;
    for (size_t i = 0; i < n / 4; i++)
        p[i] = (unsigned) (i * 2654435761u);
    long s = 0;
    for (size_t i = 0; i < n / 4; i += 4099)
        s += p[i];
    free (p);
    return s;
}
