/*  random.h -- the simulator's one source of randomness.

    Every random draw comes from a stream derived from the run's seed and a
    fixed purpose number, so a feature that draws more numbers from its own
    stream never shifts the draws of another: adding random pauses does not
    change which messages are lost.  The generator is the protocol's own
    (core/rng.h: splitmix64).                                            */
#ifndef GLSIM_RANDOM_H
#define GLSIM_RANDOM_H

#include "rng.h"

#include <math.h>
#include <stdint.h>

typedef struct {
    uint64_t state;
} rng_t;

/* Purposes: never renumber these, or old seeds stop reproducing runs. */
enum {
    RNG_LOSS = 1,        /* which messages the network drops */
    RNG_DELAY = 2,       /* how long each message takes */
    RNG_NODES = 3,       /* per-node seeds for swim_new, start times */
    RNG_FAULTS = 4,      /* crashes, pauses, updates drawn from flags */
    RNG_SEARCH = 5,      /* scenarios of the search mode */
    RNG_REFRESH = 6,     /* per-node jitter of the estimate refresh, as glpeer's */
    RNG_GANGS = 7,       /* gangs drawn from flags: their nodes, homes, lives */
    RNG_GANG_NODE = 8,   /* per-node seeds for gang_new */
    RNG_GANG_LOSS = 9,   /* which gang-plane messages the network drops */
    RNG_GANG_DELAY = 10, /* how long each takes */
};

/* z scrambled: the number splitmix64 draws when its state steps to z
   (seeds made from seeds). */
static inline uint64_t rng_mix (uint64_t z)
{
    uint64_t state = z - 0x9e3779b97f4a7c15ull;
    return gl_splitmix64 (&state);
}

static inline rng_t rng_stream (uint64_t seed, uint64_t purpose)
{
    rng_t r = { rng_mix (seed ^ rng_mix (purpose * 0x9e3779b97f4a7c15ull)) };
    return r;
}

static inline uint64_t rng_next (rng_t *r)
{
    return gl_splitmix64 (&r->state);
}

/* Uniform in [0, 1). */
static inline double rng_unit (rng_t *r)
{
    return (double) (rng_next (r) >> 11) * 0x1.0p-53;
}

static inline uint64_t rng_below (rng_t *r, uint64_t n)
{
    return n ? rng_next (r) % n : 0;
}

/* Exponential with this mean. */
static inline double rng_exp (rng_t *r, double mean)
{
    return -mean * log (1.0 - rng_unit (r));
}

#endif
