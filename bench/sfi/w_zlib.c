/* zlib workloads, built with Debian's zlib sources (deflate.c, inflate.c, ...):
   -DZ_DEFLATE: n deflates (level 6) of 4 MiB of text;
   otherwise:   n inflates of its deflated form (made by the first call).
   The checksum covers the compressed size and bytes and the output. */
#include "bench.h"
#include "zlib.h"
#define LEN (4u << 20)

static unsigned char *src, *comp, *out;
static uint32_t comp_len;

static uint32_t deflate_buf (unsigned char *dst, uint32_t cap, const unsigned char *s, uint32_t len)
{
    z_stream z;
    memset (&z, 0, sizeof z);
    if (deflateInit (&z, 6) != Z_OK)
        return 0;
    z.next_in = (unsigned char *) s;
    z.avail_in = len;
    z.next_out = dst;
    z.avail_out = cap;
    int rc = deflate (&z, Z_FINISH);
    uint32_t n = (uint32_t) z.total_out;
    deflateEnd (&z);
    return rc == Z_STREAM_END ? n : 0;
}

static uint32_t inflate_buf (unsigned char *dst, uint32_t cap, const unsigned char *s, uint32_t len)
{
    z_stream z;
    memset (&z, 0, sizeof z);
    if (inflateInit (&z) != Z_OK)
        return 0;
    z.next_in = (unsigned char *) s;
    z.avail_in = len;
    z.next_out = dst;
    z.avail_out = cap;
    int rc = inflate (&z, Z_FINISH);
    uint32_t n = (uint32_t) z.total_out;
    inflateEnd (&z);
    return rc == Z_STREAM_END ? n : 0;
}

static void setup (void)
{
    if (src)
        return;
    src = malloc (LEN);
    out = malloc (LEN);
    comp = malloc (LEN + LEN / 8 + 1024);
    gen_text (src, LEN, 7);
    comp_len = deflate_buf (comp, LEN + LEN / 8 + 1024, src, LEN);
}

EXPORT long RUN (long n)
{
    setup ();
    uint64_t h = comp_len;
    for (long t = 0; t < n; t++) {
#ifdef Z_DEFLATE
        uint32_t c = deflate_buf (comp, LEN + LEN / 8 + 1024, src, LEN);
        h = mix64 (h ^ c ^ (uint64_t) adler32 (1, comp, c) << 32);
#else
        memset (out, 0, 4096);
        uint32_t d = inflate_buf (out, LEN, comp, comp_len);
        h = mix64 (h ^ d ^ (uint64_t) crc32 (0, out, d) << 32);
#endif
    }
    return fold (h);
}
