/*  clock.h -- the two clocks glunix reads.

    Protocol code never reads a clock itself: it is handed `now` (see
    ARCHITECTURE.md, sans-I/O).  Only the programs call these. */
#ifndef GL_CLOCK_H
#define GL_CLOCK_H
#include <stdint.h>
#include <time.h>

/* Milliseconds on a clock that never jumps: timers. */
static inline uint64_t gl_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* Milliseconds since the epoch: timestamps that other machines compare. */
static inline uint64_t gl_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}
#endif
