/*  glsfi.h -- what a glsfi sandbox module can use (see glsfi-cc(1)).

    A module is freestanding C: no libc, no system calls.  This header
    declares the module runtime (libglsfirt.a, linked by glsfi-cc): memory
    allocation over the region's heap, the usual string functions, qsort,
    a few maths functions, the host-call convention and glsfi_write for
    debugging output through the host.

    Compiled without glsfi-cc (no __GLSFI__), the header maps the same API
    onto the C library, so a module's source also builds natively, as the
    tests do to compare results. */
#ifndef GLSFI_H
#define GLSFI_H

#include <stddef.h>
#include <stdint.h>

/* A function the host may call: a global function of the module.  (Every
   global function is callable; this keeps it from being dropped.) */
#define GLSFI_EXPORT __attribute__ ((used, visibility ("default")))

#ifdef __GLSFI__

/* What the loader tells the module, at base + 0x11800 (read-only). */
struct sfi_info {
    uint64_t heap_start, heap_end; /* the heap, full addresses */
    uint64_t stack_top;
    uint64_t scratch; /* host->module argument area */
};

/* The region's first byte and the loader's sfi_info. */
uintptr_t glsfi_base (void);
const struct sfi_info *glsfi_info (void);

/* Host calls.  Slot K (1..511) of the host-call table is reached by
   calling __glsfi_host_K, declared with the arguments it takes (at most
   six, integers or pointers) and returning long; glsfi-cc turns the call
   into `call *(0x10000 + 8*K)(%r15)`.  Slots 1..15 belong to the runtime:
   1 is write(fd, buf, len) for fd 1 and 2. */
long __glsfi_host_1 (long fd, const void *buf, long len);

static inline long glsfi_write (int fd, const void *buf, size_t len)
{
    return __glsfi_host_1 (fd, buf, (long) len);
}

/* The heap (struct sfi_info), first come first served. */
/* -ffreestanding makes gcc forget what malloc is: the attributes tell it
   that a new block aliases nothing (which loop vectorization needs). */
void free (void *p);
__attribute__ ((malloc, malloc (free, 1), alloc_size (1), warn_unused_result)) void *
malloc (size_t size);
__attribute__ ((malloc, malloc (free, 1), alloc_size (1, 2), warn_unused_result)) void *
calloc (size_t n, size_t size);
__attribute__ ((alloc_size (2), warn_unused_result)) void *realloc (void *p, size_t size);

void *memcpy (void *restrict dst, const void *restrict src, size_t n);
void *memmove (void *dst, const void *src, size_t n);
void *memset (void *dst, int c, size_t n);
int memcmp (const void *a, const void *b, size_t n);
void *memchr (const void *s, int c, size_t n);
size_t strlen (const char *s);
size_t strnlen (const char *s, size_t max);
int strcmp (const char *a, const char *b);
int strncmp (const char *a, const char *b, size_t n);
char *strchr (const char *s, int c);
char *strrchr (const char *s, int c);
char *strcpy (char *restrict dst, const char *restrict src);
char *strncpy (char *restrict dst, const char *restrict src, size_t n);
char *strcat (char *restrict dst, const char *restrict src);
char *strdup (const char *s);

void qsort (void *base, size_t n, size_t size, int (*cmp) (const void *, const void *));
int abs (int x);
long labs (long x);
__attribute__ ((noreturn)) void abort (void);

double sqrt (double x);
float sqrtf (float x);
double fabs (double x);

/* -ffreestanding turns gcc's knowledge of these off; give it back, so
   that small fixed-size copies and compares are inlined. */
#ifndef GLSFI_RUNTIME
#define memcpy  __builtin_memcpy
#define memmove __builtin_memmove
#define memset  __builtin_memset
#define memcmp  __builtin_memcmp
#define strlen  __builtin_strlen
#define strcmp  __builtin_strcmp
#define strchr  __builtin_strchr
#define strcpy  __builtin_strcpy
#define fabs    __builtin_fabs
#endif

#else /* a native build of module source */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline long glsfi_write (int fd, const void *buf, size_t len)
{
    return (long) write (fd, buf, len);
}

#endif
#endif
