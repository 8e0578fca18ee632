/*  allreduce.c -- sums of every rank's numbers, small and large, over
    all ranks and over the ranks that share a node (MPICH's shared-memory
    path, which it takes only for ranks its launcher says share a node).
    Also checks that locality: the ranks MPICH groups as one node are
    exactly those with the same GLUNIX_NODE (or host name, outside
    glunix).  Exits 0 and says "allreduce ok" when all is right. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODE_MAX 256

/* Every element i of rank r's vector is r + i; the sum over n ranks is
   n(n-1)/2 + n*i, exact in a double at these sizes. */
static int sum_ok (MPI_Comm comm, int count)
{
    int rank, n;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (comm, &n);
    double *mine = malloc ((size_t) count * sizeof *mine);
    double *sum = malloc ((size_t) count * sizeof *sum);
    if (!mine || !sum)
        MPI_Abort (MPI_COMM_WORLD, 99);
    int ranks_sum = 0;
    MPI_Allreduce (&rank, &ranks_sum, 1, MPI_INT, MPI_SUM, comm);
    for (int i = 0; i < count; i++)
        mine[i] = rank + i;
    MPI_Allreduce (mine, sum, count, MPI_DOUBLE, MPI_SUM, comm);
    int ok = 1;
    for (int i = 0; i < count && ok; i++)
        ok = sum[i] == (double) ranks_sum + (double) n * i;
    free (mine);
    free (sum);
    return ok;
}

int main (int argc, char **argv)
{
    MPI_Init (&argc, &argv);
    int rank, size;
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (MPI_COMM_WORLD, &size);

    /* which ranks share my node, by name */
    char node[NODE_MAX] = "";
    const char *env = getenv ("GLUNIX_NODE");
    if (env)
        snprintf (node, sizeof node, "%s", env);
    else
        gethostname (node, sizeof node - 1);
    char *all = calloc ((size_t) size, NODE_MAX);
    if (!all)
        MPI_Abort (MPI_COMM_WORLD, 99);
    MPI_Allgather (node, NODE_MAX, MPI_CHAR, all, NODE_MAX, MPI_CHAR, MPI_COMM_WORLD);
    int same = 0;
    for (int r = 0; r < size; r++)
        same += !strcmp (all + (size_t) r * NODE_MAX, node);
    free (all);

    /* which ranks MPICH says share my node */
    MPI_Comm local;
    MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local);
    int local_size;
    MPI_Comm_size (local, &local_size);

    int ok = local_size == same;
    if (!ok)
        fprintf (stderr, "rank %d on %s: %d ranks share the node, MPICH says %d\n", rank, node,
                 same, local_size);
    int counts[] = { 1, 1000, 100000 };
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        ok &= sum_ok (MPI_COMM_WORLD, counts[c]) & sum_ok (local, counts[c]);

    int all_ok = 0, nodes = 0, first = 0;
    MPI_Allreduce (&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    int local_rank;
    MPI_Comm_rank (local, &local_rank);
    first = local_rank == 0;
    MPI_Reduce (&first, &nodes, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf ("allreduce %s: %d ranks on %d nodes\n", all_ok ? "ok" : "WRONG", size, nodes);
    MPI_Comm_free (&local);
    MPI_Finalize ();
    return all_ok ? 0 : 1;
}
