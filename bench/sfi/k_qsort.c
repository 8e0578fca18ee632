/* qsort: quicksort of n 32-bit keys with 32-bit payloads through a
   comparator called indirectly (the function pointer is read from a
   volatile, so that no compiler inlines or specializes it away).  The
   same sort code in every build: the C libraries' qsorts differ. */
#include "bench.h"

typedef struct {
    uint32_t key, val;
} item_t;
typedef int (*cmp_fn) (const void *, const void *);

static int cmp_item (const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->val > y->val) - (x->val < y->val);
}

static void swap (item_t *a, item_t *b)
{
    item_t t = *a;
    *a = *b;
    *b = t;
}

static void sort (item_t *a, long n, cmp_fn cmp)
{
    while (n > 16) {
        long m = n / 2;
        if (cmp (&a[m], &a[0]) < 0)
            swap (&a[m], &a[0]);
        if (cmp (&a[n - 1], &a[m]) < 0) {
            swap (&a[n - 1], &a[m]);
            if (cmp (&a[m], &a[0]) < 0)
                swap (&a[m], &a[0]);
        }
        item_t p = a[m];
        long i = 0, j = n - 1;
        for (;;) {
            while (cmp (&a[i], &p) < 0)
                i++;
            while (cmp (&p, &a[j]) < 0)
                j--;
            if (i >= j)
                break;
            swap (&a[i], &a[j]);
            i++;
            j--;
        }
        long left = j + 1; /* [0, left) <= p <= [left, n) */
        if (left < n - left) {
            sort (a, left, cmp);
            a += left;
            n -= left;
        }
        else {
            sort (a + left, n - left, cmp);
            n = left;
        }
    }
    for (long i = 1; i < n; i++)
        for (long k = i; k > 0 && cmp (&a[k], &a[k - 1]) < 0; k--)
            swap (&a[k], &a[k - 1]);
}

static cmp_fn volatile the_cmp = cmp_item;

EXPORT long RUN (long n)
{
    item_t *a = malloc (sizeof (item_t) * (size_t) n);
    rng_t r = { 4 };
    for (long i = 0; i < n; i++) {
        uint64_t x = rng_next (&r);
        a[i].key = (uint32_t) (x >> 40); /* 24 bits: there are equal keys */
        a[i].val = (uint32_t) i;
    }
    sort (a, n, the_cmp);
    uint64_t h = 0;
    for (long i = 0; i < n; i++)
        h = h * 0x100000001b3ULL + (a[i].key ^ (uint64_t) a[i].val << 32);
    for (long i = 1; i < n; i++)
        if (cmp_item (&a[i - 1], &a[i]) > 0)
            h = 0;
    free (a);
    return fold (h);
}
