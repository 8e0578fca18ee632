/*  barrier.c -- a bulk-synchronous loop: COMPUTE_US microseconds of
    work, then MPI_Barrier, ITERATIONS times (default 1000 and 100).
    Rank 0 says when the first barrier was passed (CLOCK_REALTIME, in
    nanoseconds since the epoch: a launcher's start time subtracted gives
    its launch-to-first-barrier time) and how long the loop took.  Exits 0
    and says "barrier ok" when every rank passed every barrier. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Work for us microseconds by the clock, as a compute phase would. */
static void compute (long us)
{
    double end = now_s () + us / 1e6;
    volatile unsigned long x = 1;
    while (now_s () < end)
        for (int i = 0; i < 100; i++)
            x = x * 6364136223846793005ul + 1;
}

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank, size;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (MPI_COMM_WORLD, &size);
    long iterations = argc > 1 ? atol (argv[1]) : 1000;
    long us = argc > 2 ? atol (argv[2]) : 100;
    if (iterations < 1 || us < 0) {
        if (rank == 0)
            fprintf (stderr, "usage: barrier [ITERATIONS [COMPUTE_US]]\n");
        MPI_Finalize ();
        return 2;
    }
    MPI_Barrier (MPI_COMM_WORLD);
    struct timespec first;
    clock_gettime (CLOCK_REALTIME, &first);
    double start = now_s ();
    long passed = 0;
    for (long i = 0; i < iterations; i++) {
        compute (us);
        MPI_Barrier (MPI_COMM_WORLD);
        passed++;
    }
    double loop = now_s () - start;
    long all = 0;
    MPI_Allreduce (&passed, &all, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf ("first barrier at %lld%09ld\n", (long long) first.tv_sec, first.tv_nsec);
        printf ("barrier %s: %d ranks, %ld iterations of %ld us in %.3f s\n",
                all == iterations * size ? "ok" : "WRONG", size, iterations, us, loop);
    }
    MPI_Finalize ();
    return all == iterations * size ? 0 : 1;
}
