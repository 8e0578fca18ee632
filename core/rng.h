/*  rng.h -- the one pseudo-random generator of the protocol modules.

    splitmix64 (Steele, Lea and Flood, 2014): small, fast, and good enough
    to pick members, draw nodes and jitter timers.  Protocol code draws
    only from its own seeded state, never from a global one, so a seed
    replays the same choices in glpeer and in the simulator. */
#ifndef GL_RNG_H
#define GL_RNG_H

#include <stdint.h>

/* The next number of the sequence that *state holds. */
static inline uint64_t gl_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
