/*  bsp_work.h -- the step of work and the clock that bench/bsp.c and
    bench/bsp_mpi.c share, so that the two programs bench/gang.sh sets
    side by side do the very same work per step: each is built alone
    (gcc, mpicc) from its one source, hence a header of static
    functions rather than an object to link. */
#ifndef BSP_WORK_H
#define BSP_WORK_H

#include <stdint.h>
#include <time.h>

static volatile uint64_t sink;

/* The work of one step: a fixed number of loops, so that a rank that was
   stopped meanwhile does no less of it. */
static void work (uint64_t loops)
{
    uint64_t x = sink;
    for (uint64_t i = 0; i < loops; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink = x;
}

static double now_s (clockid_t clock)
{
    struct timespec ts;
    clock_gettime (clock, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#endif
