/*  string.c -- memory and string functions of the module runtime.

    String instructions are not allowed in a module, so copies go 16 bytes
    at a time through SSE registers, with overlapping first and last
    pieces instead of byte loops at the ends.  Loads of a piece come before
    its stores: memmove reuses the same code with the direction chosen. */
#include "glsfi.h"

typedef long long v16 __attribute__ ((vector_size (16), aligned (1), may_alias));
typedef uint64_t u64 __attribute__ ((aligned (1), may_alias));
typedef uint32_t u32 __attribute__ ((aligned (1), may_alias));
typedef uint16_t u16 __attribute__ ((aligned (1), may_alias));

#define LOAD16(p)     (*(const v16 *) (p))
#define STORE16(p, v) (*(v16 *) (p) = (v))

/* n < 16: everything is loaded before anything is stored. */
static inline void copy_small (unsigned char *d, const unsigned char *s, size_t n)
{
    if (n >= 8) {
        uint64_t a = *(const u64 *) s, b = *(const u64 *) (s + n - 8);
        *(u64 *) d = a;
        *(u64 *) (d + n - 8) = b;
    }
    else if (n >= 4) {
        uint32_t a = *(const u32 *) s, b = *(const u32 *) (s + n - 4);
        *(u32 *) d = a;
        *(u32 *) (d + n - 4) = b;
    }
    else if (n) {
        unsigned char a = s[0], b = s[n / 2], c = s[n - 1];
        d[0] = a;
        d[n / 2] = b;
        d[n - 1] = c;
    }
}

/* 16 <= n <= 128: everything is loaded before anything is stored, with
   overlapping first and last pieces, no loop. */
static inline void copy_mid (unsigned char *d, const unsigned char *s, size_t n)
{
    if (n <= 32) {
        v16 a = LOAD16 (s), b = LOAD16 (s + n - 16);
        STORE16 (d, a);
        STORE16 (d + n - 16, b);
    }
    else if (n <= 64) {
        v16 a = LOAD16 (s), b = LOAD16 (s + 16);
        v16 c = LOAD16 (s + n - 32), e = LOAD16 (s + n - 16);
        STORE16 (d, a);
        STORE16 (d + 16, b);
        STORE16 (d + n - 32, c);
        STORE16 (d + n - 16, e);
    }
    else {
        v16 a = LOAD16 (s), b = LOAD16 (s + 16), c = LOAD16 (s + 32), e = LOAD16 (s + 48);
        v16 f = LOAD16 (s + n - 64), g = LOAD16 (s + n - 48);
        v16 h = LOAD16 (s + n - 32), i = LOAD16 (s + n - 16);
        STORE16 (d, a);
        STORE16 (d + 16, b);
        STORE16 (d + 32, c);
        STORE16 (d + 48, e);
        STORE16 (d + n - 64, f);
        STORE16 (d + n - 48, g);
        STORE16 (d + n - 32, h);
        STORE16 (d + n - 16, i);
    }
}

/* n > 128, copying upwards; safe for d <= s when they overlap: the last
   64 bytes are loaded first and stored last. */
static inline void copy_up (unsigned char *d, const unsigned char *s, size_t n)
{
    v16 l0 = LOAD16 (s + n - 64), l1 = LOAD16 (s + n - 48);
    v16 l2 = LOAD16 (s + n - 32), l3 = LOAD16 (s + n - 16);
    v16 head = LOAD16 (s);
    unsigned char *dend = d + n, *d0 = d;
    /* aligned stores from the first 16-byte boundary after d on; the
       head is stored last (it may overlap the source) */
    size_t skew = 16 - ((uintptr_t) d & 15);
    s += skew;
    d += skew;
    n -= skew;
    while (n > 64) {
        v16 a = LOAD16 (s), b = LOAD16 (s + 16), c = LOAD16 (s + 32), e = LOAD16 (s + 48);
        STORE16 (d, a);
        STORE16 (d + 16, b);
        STORE16 (d + 32, c);
        STORE16 (d + 48, e);
        s += 64;
        d += 64;
        n -= 64;
    }
    STORE16 (dend - 64, l0);
    STORE16 (dend - 48, l1);
    STORE16 (dend - 32, l2);
    STORE16 (dend - 16, l3);
    STORE16 (d0, head);
}

/* n > 128, copying downwards; safe for d >= s: the first 64 bytes are
   loaded first and stored last. */
static inline void copy_down (unsigned char *d, const unsigned char *s, size_t n)
{
    v16 f0 = LOAD16 (s), f1 = LOAD16 (s + 16), f2 = LOAD16 (s + 32), f3 = LOAD16 (s + 48);
    v16 tail = LOAD16 (s + n - 16);
    unsigned char *d0 = d, *dend = d + n;
    /* aligned stores from the last 16-byte boundary before d + n down;
       the tail is stored last */
    size_t skew = ((uintptr_t) dend & 15) ? ((uintptr_t) dend & 15) : 16;
    n -= skew;
    s += n;
    d += n;
    while (n > 64) {
        v16 a = LOAD16 (s - 16), b = LOAD16 (s - 32), c = LOAD16 (s - 48), e = LOAD16 (s - 64);
        STORE16 (d - 16, a);
        STORE16 (d - 32, b);
        STORE16 (d - 48, c);
        STORE16 (d - 64, e);
        s -= 64;
        d -= 64;
        n -= 64;
    }
    STORE16 (d0, f0);
    STORE16 (d0 + 16, f1);
    STORE16 (d0 + 32, f2);
    STORE16 (d0 + 48, f3);
    STORE16 (dend - 16, tail);
}

void *memcpy (void *restrict dst, const void *restrict src, size_t n)
{
    if (n < 16)
        copy_small (dst, src, n);
    else if (n <= 128)
        copy_mid (dst, src, n);
    else
        copy_up (dst, src, n);
    return dst;
}

void *memmove (void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n < 16)
        copy_small (d, s, n);
    else if (n <= 128)
        copy_mid (d, s, n);
    else if ((uintptr_t) d - (uintptr_t) s >= n)
        copy_up (d, s, n); /* d below s, or no overlap */
    else
        copy_down (d, s, n);
    return dst;
}

void *memset (void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t w = (unsigned char) c * 0x0101010101010101ull;
    if (n >= 16) {
        v16 v = { (long long) w, (long long) w };
        unsigned char *end = d + n;
        if (n <= 32) {
            STORE16 (d, v);
            STORE16 (end - 16, v);
            return dst;
        }
        if (n <= 64) {
            STORE16 (d, v);
            STORE16 (d + 16, v);
            STORE16 (end - 32, v);
            STORE16 (end - 16, v);
            return dst;
        }
        while (n > 64) {
            STORE16 (d, v);
            STORE16 (d + 16, v);
            STORE16 (d + 32, v);
            STORE16 (d + 48, v);
            d += 64;
            n -= 64;
        }
        STORE16 (end - 64, v);
        STORE16 (end - 48, v);
        STORE16 (end - 32, v);
        STORE16 (end - 16, v);
    }
    else if (n >= 8) {
        *(u64 *) d = w;
        *(u64 *) (d + n - 8) = w;
    }
    else if (n >= 4) {
        *(u32 *) d = (uint32_t) w;
        *(u32 *) (d + n - 4) = (uint32_t) w;
    }
    else if (n) {
        d[0] = (unsigned char) c;
        d[n / 2] = (unsigned char) c;
        d[n - 1] = (unsigned char) c;
    }
    return dst;
}

int memcmp (const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    while (n >= 8) {
        uint64_t x = *(const u64 *) p, y = *(const u64 *) q;
        if (x != y) {
            /* the first differing byte decides: compare big-endian */
            x = __builtin_bswap64 (x);
            y = __builtin_bswap64 (y);
            return x < y ? -1 : 1;
        }
        p += 8;
        q += 8;
        n -= 8;
    }
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

void *memchr (const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (; n; n--, p++)
        if (*p == (unsigned char) c)
            return (void *) p;
    return NULL;
}

#define ONES        0x0101010101010101ull
#define HIGHS       0x8080808080808080ull
#define HAS_ZERO(w) (((w) -ONES) & ~(w) &HIGHS)

/* Aligned 8-byte words never cross a page, so reading the whole word that
   holds the terminator cannot fault. */
size_t strlen (const char *s)
{
    const char *p = s;
    while ((uintptr_t) p & 7) {
        if (!*p)
            return (size_t) (p - s);
        p++;
    }
    const u64 *w = (const u64 *) (const void *) p;
    while (!HAS_ZERO (*w))
        w++;
    p = (const char *) w;
    while (*p)
        p++;
    return (size_t) (p - s);
}

size_t strnlen (const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp (const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *) a, *q = (const unsigned char *) b;
    while (*p && *p == *q)
        p++, q++;
    return (*p > *q) - (*p < *q);
}

int strncmp (const char *a, const char *b, size_t n)
{
    const unsigned char *p = (const unsigned char *) a, *q = (const unsigned char *) b;
    for (; n; n--, p++, q++) {
        if (*p != *q)
            return *p < *q ? -1 : 1;
        if (!*p)
            break;
    }
    return 0;
}

char *strchr (const char *s, int c)
{
    for (;; s++) {
        if (*s == (char) c)
            return (char *) s;
        if (!*s)
            return NULL;
    }
}

char *strrchr (const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char) c)
            last = s;
        if (!*s)
            return (char *) last;
    }
}

char *strcpy (char *restrict dst, const char *restrict src)
{
    memcpy (dst, src, strlen (src) + 1);
    return dst;
}

char *strncpy (char *restrict dst, const char *restrict src, size_t n)
{
    size_t k = strnlen (src, n);
    memcpy (dst, src, k);
    memset (dst + k, 0, n - k);
    return dst;
}

char *strcat (char *restrict dst, const char *restrict src)
{
    strcpy (dst + strlen (dst), src);
    return dst;
}

char *strdup (const char *s)
{
    size_t n = strlen (s) + 1;
    char *d = malloc (n);
    if (d)
        memcpy (d, s, n);
    return d;
}
