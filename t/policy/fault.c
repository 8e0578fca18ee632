/* A placement policy that faults: it writes through a null pointer. */
#include <glsfi.h>
#include <glpolicy.h>

int64_t glunix_policy_score (const struct glpolicy_node *node, const struct glpolicy_job *job)
{
    volatile int *nowhere = (volatile int *) 0;
    *nowhere = 1;
    return node->builtin_milli;
}
