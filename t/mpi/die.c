/*  die.c -- rank RANK (default 1) dies once every rank is through
    MPI_Init (a barrier says so), without MPI_Finalize, while the others
    wait for a message from it that never comes: by SIGKILL ("kill", the
    default) or by exit(3) ("exit").  Only the launcher ending the job
    ends the others. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    int who = argc > 1 ? atoi (argv[1]) : 1;
    const char *how = argc > 2 ? argv[2] : "kill";
    MPI_Barrier (MPI_COMM_WORLD);
    if (rank == who) {
        fprintf (stderr, "rank %d dies (%s)\n", rank, how);
        fflush (stderr);
        if (!strcmp (how, "exit"))
            exit (3);
        raise (SIGKILL);
    }
    int never;
    MPI_Recv (&never, 1, MPI_INT, who, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize ();
    return 0;
}
