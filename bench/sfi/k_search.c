/* search: Boyer-Moore-Horspool counts of 8 patterns over 2 MiB of text, n passes. */
#include "bench.h"
#define LEN (2u << 20)

static uint32_t horspool (const unsigned char *t, uint32_t n, const unsigned char *p, uint32_t m)
{
    uint32_t skip[256], count = 0;
    for (int i = 0; i < 256; i++)
        skip[i] = m;
    for (uint32_t i = 0; i + 1 < m; i++)
        skip[p[i]] = m - 1 - i;
    uint32_t i = 0;
    while (i + m <= n) {
        unsigned char last = t[i + m - 1];
        if (last == p[m - 1] && memcmp (t + i, p, m - 1) == 0)
            count++;
        i += skip[last];
    }
    return count;
}

EXPORT long RUN (long n)
{
    static const char *const pats[8] = {
        "sandbox module", "verifier",    "gate host call",         "the region",
        "jump to",        "glunix peer", "memory offset register", "stack heap",
    };
    unsigned char *text = malloc (LEN);
    gen_text (text, LEN, 6);
    uint64_t h = 0;
    for (long t = 0; t < n; t++)
        for (int k = 0; k < 8; k++) {
            uint32_t m = 0;
            while (pats[k][m])
                m++;
            uint32_t c = horspool (text + (t & 7), LEN - 8, (const unsigned char *) pats[k], m);
            h = mix64 (h ^ c);
        }
    free (text);
    return fold (h);
}
