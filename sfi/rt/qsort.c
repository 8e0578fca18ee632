/*  qsort.c -- introsort: quicksort with median-of-three, insertion sort
    for short runs, heapsort where quicksort goes quadratic. */
#include "glsfi.h"

typedef int (*cmp_t) (const void *, const void *);

static void swap (unsigned char *a, unsigned char *b, size_t size)
{
    if (a == b)
        return;
    while (size >= 8) {
        uint64_t x, y;
        memcpy (&x, a, 8);
        memcpy (&y, b, 8);
        memcpy (a, &y, 8);
        memcpy (b, &x, 8);
        a += 8;
        b += 8;
        size -= 8;
    }
    for (; size; size--, a++, b++) {
        unsigned char t = *a;
        *a = *b;
        *b = t;
    }
}

static void insertion (unsigned char *base, size_t n, size_t size, cmp_t cmp)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp (base + (j - 1) * size, base + j * size) > 0; j--)
            swap (base + (j - 1) * size, base + j * size, size);
}

static void sift (unsigned char *base, size_t root, size_t n, size_t size, cmp_t cmp)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp (base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp (base + root * size, base + child * size) >= 0)
            return;
        swap (base + root * size, base + child * size, size);
        root = child;
    }
}

static void heapsort (unsigned char *base, size_t n, size_t size, cmp_t cmp)
{
    for (size_t i = n / 2; i-- > 0;)
        sift (base, i, n, size, cmp);
    for (size_t i = n; i-- > 1;) {
        swap (base, base + i * size, size);
        sift (base, 0, i, size, cmp);
    }
}

static void introsort (unsigned char *base, size_t n, size_t size, cmp_t cmp, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heapsort (base, n, size, cmp);
            return;
        }
        unsigned char *lo = base, *mid = base + (n / 2) * size, *hi = base + (n - 1) * size;
        if (cmp (mid, lo) < 0)
            swap (mid, lo, size);
        if (cmp (hi, mid) < 0) {
            swap (hi, mid, size);
            if (cmp (mid, lo) < 0)
                swap (mid, lo, size);
        }
        /* the pivot goes to the front; Hoare partition of the rest */
        swap (base, mid, size);
        size_t i = 0, j = n;
        for (;;) {
            do
                i++;
            while (i < n && cmp (base + i * size, base) < 0);
            do
                j--;
            while (cmp (base + j * size, base) > 0);
            if (i >= j)
                break;
            swap (base + i * size, base + j * size, size);
        }
        swap (base, base + j * size, size);
        /* recurse into the smaller side, loop on the larger */
        size_t left = j, right = n - j - 1;
        if (left < right) {
            introsort (base, left, size, cmp, depth);
            base += (j + 1) * size;
            n = right;
        }
        else {
            introsort (base + (j + 1) * size, right, size, cmp, depth);
            n = left;
        }
    }
    insertion (base, n, size, cmp);
}

void qsort (void *base, size_t n, size_t size, cmp_t cmp)
{
    if (n < 2 || size == 0)
        return;
    int depth = 0;
    for (size_t k = n; k; k >>= 1)
        depth += 2;
    introsort (base, n, size, cmp, depth);
}
