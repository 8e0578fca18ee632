/*  bsp_mpi -- bench/bsp.c's program with MPI: every rank does a fixed
    amount of work (about a millisecond), then MPI_Barrier, thousands of
    times; MPICH polls while it waits in the barrier.  For bench/gang.sh,
    built with Debian's MPICH (mpicc).

        bsp_mpi ITERS LOOPS     LOOPS: of bsp's work (bsp calibrate)

    Rank 0 prints one line as bsp does: the wall-clock time the first
    barrier (just after MPI_Init) completed, how long the ITERS steps took
    after it, and how many ranks there were (started without a process
    manager, each rank is a job of one: MPI's singleton start). */
#include "bsp_work.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank, size;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (MPI_COMM_WORLD, &size);
    long iters = argc == 3 ? strtol (argv[1], NULL, 10) : 0;
    long loops = argc == 3 ? strtol (argv[2], NULL, 10) : -1;
    if (iters < 1 || loops < 0) {
        if (rank == 0)
            fprintf (stderr, "usage: bsp_mpi ITERS LOOPS\n");
        MPI_Abort (MPI_COMM_WORLD, 2);
    }
    MPI_Barrier (MPI_COMM_WORLD);
    double first = now_s (CLOCK_REALTIME), start = now_s (CLOCK_MONOTONIC);
    for (long s = 0; s < iters; s++) {
        work ((uint64_t) loops);
        MPI_Barrier (MPI_COMM_WORLD);
    }
    double took = now_s (CLOCK_MONOTONIC) - start;
    if (rank == 0)
        printf ("first_barrier %.6f steps %ld took %.6f ranks %d\n", first, iters, took, size);
    MPI_Finalize ();
    return 0;
}
