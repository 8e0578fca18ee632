/*  malloc.c -- the module heap: [heap_start, heap_end) of struct sfi_info.

    Size classes, four to each power of two (16, 32, ... 128, 160, 192,
    224, 256, 320, ...), each with a free list; new blocks come from the
    top of the heap.  A block never changes class, so at most a quarter of
    a block is slack, and a program that frees and allocates the same
    sizes (the common case) reuses its blocks.  Modules run one call at a
    time, so there is no locking. */
#include "glsfi.h"

#define HEADER   16 /* keeps payloads 16-aligned */
#define NCLASSES 120
#define MAGIC    0x676c7366u /* "glsf" */

typedef struct {
    uint32_t magic;
    uint32_t cls;
    uint64_t pad;
} header_t;

static unsigned char *top, *end;
static void *free_list[NCLASSES];

static size_t class_size (unsigned c)
{
    if (c < 8)
        return (size_t) (c + 1) * 16;
    unsigned p = 7 + (c - 8) / 4, k = (c - 8) % 4 + 1;
    return ((size_t) 1 << p) + (size_t) k * ((size_t) 1 << (p - 2));
}

static unsigned class_of (size_t n)
{
    if (n <= 128)
        return n <= 16 ? 0 : (unsigned) ((n - 1) / 16);
    unsigned p = 63 - (unsigned) __builtin_clzll (n - 1); /* 2^p < n <= 2^(p+1) */
    size_t step = (size_t) 1 << (p - 2);
    unsigned k = (unsigned) ((n - ((size_t) 1 << p) + step - 1) / step);
    return 8 + (p - 7) * 4 + k - 1;
}

void *malloc (size_t n)
{
    if (!end) {
        const struct sfi_info *info = glsfi_info ();
        top = (unsigned char *) ((info->heap_start + 15) & ~(uint64_t) 15);
        end = (unsigned char *) info->heap_end;
    }
    unsigned c = class_of (n ? n : 1);
    if (c >= NCLASSES)
        return NULL;
    header_t *h;
    if (free_list[c]) {
        h = (header_t *) ((unsigned char *) free_list[c] - HEADER);
        free_list[c] = *(void **) free_list[c];
    }
    else {
        size_t need = HEADER + class_size (c);
        if (need > (size_t) (end - top))
            return NULL;
        h = (header_t *) top;
        top += need;
        h->magic = MAGIC;
        h->cls = c;
    }
    return (unsigned char *) h + HEADER;
}

static header_t *header_of (void *p)
{
    header_t *h = (header_t *) ((unsigned char *) p - HEADER);
    if (h->magic != MAGIC || h->cls >= NCLASSES)
        __builtin_trap (); /* not from malloc: stop here, not later */
    return h;
}

void free (void *p)
{
    if (!p)
        return;
    header_t *h = header_of (p);
    *(void **) p = free_list[h->cls];
    free_list[h->cls] = p;
}

void *calloc (size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow (n, size, &total))
        return NULL;
    void *p = malloc (total);
    if (p)
        memset (p, 0, total);
    return p;
}

void *realloc (void *p, size_t n)
{
    if (!p)
        return malloc (n);
    size_t have = class_size (header_of (p)->cls);
    if (n <= have && n > have / 2)
        return p;
    void *q = malloc (n);
    if (!q)
        return NULL;
    memcpy (q, p, n < have ? n : have);
    free (p);
    return q;
}
