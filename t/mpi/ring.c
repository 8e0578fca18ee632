/*  ring.c -- a token goes round the ranks LAPS times (default 100), each
    rank adding its rank; rank 0 checks the sum.  Then an allreduce of
    every rank's rank.  Exits 0 and says "ring ok" when both are right. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank, size;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (MPI_COMM_WORLD, &size);
    int laps = argc > 1 ? atoi (argv[1]) : 100;
    long token = 0;
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    for (int lap = 0; lap < laps; lap++) {
        if (rank == 0) { /* one call: alone, it sends to itself */
            long back = 0;
            MPI_Sendrecv (&token, 1, MPI_LONG, next, 0, &back, 1, MPI_LONG, prev, 0, MPI_COMM_WORLD,
                          MPI_STATUS_IGNORE);
            token = back;
        }
        else {
            MPI_Recv (&token, 1, MPI_LONG, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            token += rank;
            MPI_Send (&token, 1, MPI_LONG, next, 0, MPI_COMM_WORLD);
        }
    }
    long want = (long) laps * size * (size - 1) / 2, sum = 0, mine = rank;
    MPI_Allreduce (&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    int ok = sum == (long) size * (size - 1) / 2 && (rank != 0 || token == want);
    int all = 0;
    MPI_Allreduce (&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (rank == 0)
        printf ("ring %s: %d ranks, %d laps, token %ld (want %ld)\n", all ? "ok" : "WRONG", size,
                laps, token, want);
    MPI_Finalize ();
    return all ? 0 : 1;
}
