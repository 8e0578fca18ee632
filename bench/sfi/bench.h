/*  bench.h -- shared by the workloads of bench/sfi.sh.

    Every workload is one file that defines `long RUN (long n)` (RUN is
    `run` unless the build says otherwise: the all-kernels module renames
    each one).  It makes its data itself, deterministically, and returns a
    31-bit checksum, the same whether built natively (gcc), as a glsfi
    module (glsfi-cc) or for wasm32 (clang, where long has 32 bits): so
    the code uses fixed-width types and never hashes a pointer. */
#ifndef BENCH_SFI_H
#define BENCH_SFI_H

#include <glsfi.h>
#include <stdint.h>

#ifndef RUN
#define RUN run
#endif

/* glsfi.h gives a module these builtins back (-ffreestanding takes them
   away); give the native and wasm builds of the same source the same. */
#ifndef __GLSFI__
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#define memcpy  __builtin_memcpy
#define memmove __builtin_memmove
#define memset  __builtin_memset
#define memcmp  __builtin_memcmp
#endif
/* The same for sqrt in every build (glsfi.h leaves it a call). */
#undef sqrt
#define sqrt __builtin_sqrt

#define EXPORT GLSFI_EXPORT

static inline uint64_t mix64 (uint64_t x) /* splitmix64's finalizer */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t s;
} rng_t;

static inline uint64_t rng_next (rng_t *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline long fold (uint64_t h)
{
    h ^= h >> 31;
    h ^= h >> 33;
    return (long) (h & 0x7fffffff);
}

/* Text-like bytes: words from a fixed vocabulary with a skewed choice,
   so that zlib and bzip2 compress it about 3:1 and search finds matches. */
static inline void gen_text (unsigned char *buf, uint32_t len, uint64_t seed)
{
    static const char *const words[] = {
        "the",    "of",   "and",     "sandbox", "module", "region", "verifier",  "bundle",
        "gate",   "host", "call",    "return",  "memory", "offset", "register",  "jump",
        "to",     "in",   "is",      "code",    "page",   "guard",  "stack",     "heap",
        "glunix", "peer", "cluster", "node",    "gossip", "policy", "scheduler", "job",
    };
    rng_t r = { seed };
    uint32_t i = 0;
    while (i < len) {
        uint64_t x = rng_next (&r);
        unsigned w = (unsigned) (x & 31);
        if (x & 0x100)
            w &= 7; /* the first words are more common */
        const char *s = words[w];
        while (*s && i < len)
            buf[i++] = (unsigned char) *s++;
        if (i < len)
            buf[i++] =
                (x & 0x3e00) ? ' ' : ((x & 0x4000) ? '\n' : (unsigned char) ('0' + (x >> 60)));
    }
}

#endif
