/*  publish.c -- asks the launcher's name service (MPI_Publish_name,
    then MPI_Lookup_name), which glunix does not serve: the launcher must
    answer with an error, never leave the program waiting.  With errors
    returned rather than fatal, says "publish refused" and exits 0 when
    both were refused, 1 when either was served. */
#include <mpi.h>
#include <stdio.h>

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler (MPI_COMM_SELF, MPI_ERRORS_RETURN);
    int refused = 1;
    if (rank == 0) {
        char port[MPI_MAX_PORT_NAME] = "glunix-test-port";
        refused &= MPI_Publish_name ("glunix-test", MPI_INFO_NULL, port) != MPI_SUCCESS;
        refused &= MPI_Lookup_name ("glunix-test", MPI_INFO_NULL, port) != MPI_SUCCESS;
        printf ("publish %s\n", refused ? "refused" : "served");
    }
    MPI_Bcast (&refused, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize ();
    return refused ? 0 : 1;
}
