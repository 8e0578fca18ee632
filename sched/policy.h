/*  policy.h -- glpeer's placement policy: a sandboxed module (sfi/) that
    scores candidate nodes, wired into placement (sched/place.h).

    The module is verified and loaded once, at start; a module that does
    not verify, or lacks glunix_policy_score, is refused with the reason.
    Each call runs under a time budget; a call that faults, traps or runs
    over switches the policy off for good (a log line says why), and the
    built-in score takes over: the agent never goes down with its policy.
    The interface a module implements is sched/glpolicy.h. */
#ifndef GL_POLICY_H
#define GL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "place.h"

typedef struct policy policy_t;

/* NULL with the reason in err. */
policy_t *policy_new (const char *path, unsigned budget_ms, char *err, size_t errlen);
void policy_destroy (policy_t **self_p);

/* A place_policy_fn: arg is the policy_t. */
int policy_score (void *arg, const place_cand_t *cand, const place_req_t *req, double builtin,
                  double *score, char *why, size_t size);

/* Still on?  And the calls made, for status. */
bool policy_active (const policy_t *self);
unsigned long long policy_calls (const policy_t *self);

#endif
