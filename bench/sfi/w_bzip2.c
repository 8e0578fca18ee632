/* bzip2 workloads, built with Debian's bzip2 sources (libbz2, BZ_NO_STDIO):
   -DBZ_COMPRESS: n compressions (block size 900k) of 2 MiB of text;
   otherwise:     n decompressions of its compressed form (made by the first call). */
#include "bench.h"
#include "bzlib.h"
#define LEN (2u << 20)

/* libbz2 built with BZ_NO_STDIO calls this on an internal error.  Weak:
   the all-workloads module of bench/sfi.sh links both bzip2 wrappers. */
void bz_internal_error (int errcode);
__attribute__ ((weak)) void bz_internal_error (int errcode)
{
    (void) errcode;
    abort ();
}

static char *src, *comp, *out;
static unsigned comp_len;

static void setup (void)
{
    if (src)
        return;
    src = malloc (LEN);
    out = malloc (LEN);
    comp = malloc (LEN + LEN / 8 + 1024);
    gen_text ((unsigned char *) src, LEN, 8);
    comp_len = LEN + LEN / 8 + 1024;
    if (BZ2_bzBuffToBuffCompress (comp, &comp_len, src, LEN, 9, 0, 30) != BZ_OK)
        comp_len = 0;
}

static uint64_t hash_bytes (const char *p, unsigned n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned i = 0; i < n; i += 64)
        h = (h ^ (unsigned char) p[i]) * 0x100000001b3ULL;
    return h;
}

EXPORT long RUN (long n)
{
    setup ();
    uint64_t h = comp_len;
    for (long t = 0; t < n; t++) {
#ifdef BZ_COMPRESS
        unsigned c = LEN + LEN / 8 + 1024;
        int rc = BZ2_bzBuffToBuffCompress (comp, &c, src, LEN, 9, 0, 30);
        h = mix64 (h ^ c ^ (uint64_t) rc << 40 ^ hash_bytes (comp, c));
#else
        unsigned d = LEN;
        int rc = BZ2_bzBuffToBuffDecompress (out, &d, comp, comp_len, 0, 0);
        h = mix64 (h ^ d ^ (uint64_t) rc << 40 ^ hash_bytes (out, d));
#endif
    }
    return fold (h);
}
