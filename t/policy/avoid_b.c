/* A placement policy for the tests: never node b; elsewhere the built-in
   score, and a log line on the first call. */
#include <glsfi.h>
#include <glpolicy.h>

long __glsfi_host_16 (const char *msg, unsigned long len);
static int said;

int64_t glunix_policy_score (const struct glpolicy_node *node, const struct glpolicy_job *job)
{
    if (!said) {
        said = 1;
        static const char hello[] = "avoid_b: first call";
        __glsfi_host_16 (hello, sizeof hello - 1);
    }
    if (node->version != GLPOLICY_VERSION || job->version != GLPOLICY_VERSION)
        return node->builtin_milli;
    if (node->name[0] == 'b' && node->name[1] == '\0')
        return 0;
    return node->builtin_milli;
}
