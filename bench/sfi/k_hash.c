/* hash: open-addressing table (linear probing) of 2^20 slots of 64-bit
   keys and values: n inserts, then 2n lookups, half of them misses. */
#include "bench.h"
#define SLOTS (1u << 20)

typedef struct {
    uint64_t key, val;
} slot_t;

static uint32_t find (const slot_t *t, uint64_t key)
{
    uint32_t i = (uint32_t) mix64 (key) & (SLOTS - 1);
    while (t[i].key && t[i].key != key)
        i = (i + 1) & (SLOTS - 1);
    return i;
}

EXPORT long RUN (long n)
{
    slot_t *t = malloc (sizeof (slot_t) * SLOTS);
    memset (t, 0, sizeof (slot_t) * SLOTS);
    if (n > SLOTS * 3 / 4)
        n = SLOTS * 3 / 4;
    rng_t r = { 5 };
    for (long i = 0; i < n; i++) {
        uint64_t k = rng_next (&r) | 1;
        uint32_t s = find (t, k);
        t[s].key = k;
        t[s].val += (uint64_t) i;
    }
    uint64_t h = 0;
    rng_t q = { 5 }, miss = { 55 };
    for (long i = 0; i < n; i++) {
        uint32_t s = find (t, rng_next (&q) | 1);
        h = h * 31 + t[s].val;
        s = find (t, rng_next (&miss) | 1);
        h = h * 31 + (t[s].key ? 1 : s);
    }
    free (t);
    return fold (h);
}
