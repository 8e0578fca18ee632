/* An example placement policy: prefer nodes with the most free memory
   per wanted core, keep big jobs off small machines, and keep jobs of the
   user "batch" off nodes whose owner was active in the last hour.

   Build and check it:
       glsfi-cc -O2 -o memory.sfi policy-memory.c
       glsfi-verify memory.sfi
   then name it in cluster.conf:
       sched
           policy = "memory.sfi"
   See glunix-policy(7). */
#include <glsfi.h>
#include <glpolicy.h>

static int same (const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int64_t glunix_policy_score (const struct glpolicy_node *node, const struct glpolicy_job *job)
{
    if (node->version != GLPOLICY_VERSION)
        return node->builtin_milli; /* a newer glpeer: defer to it */
    if (job->cores >= 8 && node->cores < 16)
        return 0; /* "scored 0" in glx -v */
    if (same (job->user, "batch") && node->owner_idle_s < 3600)
        return 0;
    uint64_t per_core = node->mem_avail_kb / (job->cores ? job->cores : 1);
    int64_t score = (int64_t) (per_core / 1024); /* MiB per core */
    return score > 0 ? score : 1;
}
