/* A placement policy that never returns. */
#include <glsfi.h>
#include <glpolicy.h>

int64_t glunix_policy_score (const struct glpolicy_node *node, const struct glpolicy_job *job)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return node->builtin_milli;
}
