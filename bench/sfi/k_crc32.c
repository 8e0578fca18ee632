/* crc32: n passes of the bytewise table-driven CRC-32 (IEEE) over 1 MiB. */
#include "bench.h"
#define LEN (1u << 20)

EXPORT long RUN (long n)
{
    uint32_t tab[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        tab[i] = c;
    }
    unsigned char *buf = malloc (LEN);
    rng_t r = { 3 };
    for (uint32_t i = 0; i < LEN; i += 8) {
        uint64_t x = rng_next (&r);
        memcpy (buf + i, &x, 8);
    }
    uint64_t h = 0;
    for (long t = 0; t < n; t++) {
        uint32_t c = 0xffffffffu;
        for (uint32_t i = 0; i < LEN; i++)
            c = tab[(c ^ buf[i]) & 0xff] ^ (c >> 8);
        c ^= 0xffffffffu;
        buf[t % LEN] ^= (unsigned char) c;
        h = mix64 (h ^ c);
    }
    free (buf);
    return fold (h);
}
