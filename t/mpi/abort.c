/*  abort.c -- rank RANK (default 1) calls MPI_Abort with CODE (default
    7) once every rank is through MPI_Init (a barrier says so), while the
    others wait for a message from it that never comes: only the launcher
    ending the job ends them. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    int who = argc > 1 ? atoi (argv[1]) : 1, code = argc > 2 ? atoi (argv[2]) : 7;
    MPI_Barrier (MPI_COMM_WORLD);
    if (rank == who) {
        fprintf (stderr, "rank %d aborts with %d\n", rank, code);
        MPI_Abort (MPI_COMM_WORLD, code);
    }
    int never;
    MPI_Recv (&never, 1, MPI_INT, who, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize ();
    return 0;
}
