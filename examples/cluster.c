/* An example program on the glunix C API (glunix(3)): who am I, the
   cluster as the local agent sees it, and a program run elsewhere.

   Build it against an installed glunix:
       cc -o cluster cluster.c $(pkg-config --cflags --libs glunix)
   Run it:
       ./cluster                     who am I, the cluster, its nodes, the jobs here
       ./cluster run NODE PROG ...   run PROG on NODE ("-": wherever placement
                                     says), and exit as it did
       ./cluster checkpoint          ask to be checkpointed
   and as a job: glx ./cluster */
#include <glunix.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *state_name[] = { "alive", "suspect", "dead", "left" };
static const char *idle_name[] = { "idle", "busy", "unavailable", "-" };

int main (int argc, char **argv)
{
    char err[512];
    glunix_t *g = glunix_open (NULL, err, sizeof err);
    if (!g) {
        fprintf (stderr, "cluster: %s\n", err);
        return 1;
    }
    if (argc >= 4 && !strcmp (argv[1], "run")) {
        int status;
        const char *node = strcmp (argv[2], "-") ? argv[2] : NULL;
        if (glunix_run (g, node, argv + 3, &status, err, sizeof err)) {
            fprintf (stderr, "cluster: %s\n", err);
            return 1;
        }
        glunix_close (g);
        return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
    }
    if (argc == 2 && !strcmp (argv[1], "checkpoint")) {
        int rc = glunix_checkpoint (g, err, sizeof err);
        printf ("checkpoint: %s\n", rc ? err : "done");
        glunix_close (g);
        return rc ? 1 : 0;
    }
    if (argc != 1) {
        fprintf (stderr, "usage: cluster [run NODE|- PROG [ARGS...] | checkpoint]\n");
        return 2;
    }

    glunix_self_t me;
    if (glunix_self (&me) == 0)
        printf ("I am %s, rank %u of %u, on %s, started from %s\n", me.gpid, me.rank, me.size,
                me.node, me.home);
    else
        printf ("I was not started by glunix\n");

    glunix_cluster_t c;
    if (glunix_cluster (g, &c, err, sizeof err)) {
        fprintf (stderr, "cluster: %s\n", err);
        return 1;
    }
    printf ("cluster %s seen from %s: %u members, %u alive, %u idle, %u of %u cores free, "
            "%llu MB free (view %llu ms old)\n",
            c.cluster, c.node, c.members, c.alive, c.idle, c.cores_free, c.cores,
            c.mem_avail_kb / 1024, c.age_ms);
    glunix_node_t nodes[64];
    int n = glunix_nodes (g, nodes, 64, err, sizeof err);
    for (int i = 0; i < n && i < 64; i++)
        printf ("  %-16s %-8s %-12s cores %u guests %u load %.2f free %llu MB clock %+lld ms\n",
                nodes[i].name, state_name[nodes[i].state & 3], idle_name[nodes[i].idle & 3],
                nodes[i].cores, nodes[i].guests, nodes[i].load, nodes[i].mem_avail_kb / 1024,
                nodes[i].clock_offset_ms);
    glunix_job_t jobs[16];
    int j = glunix_jobs (g, jobs, 16, err, sizeof err);
    for (int i = 0; i < j && i < 16; i++)
        printf ("  job %s (pid %d) from %s: %s\n", jobs[i].gpid, (int) jobs[i].pid, jobs[i].home,
                jobs[i].cmd);
    glunix_close (g);
    return n < 0 || j < 0;
}
