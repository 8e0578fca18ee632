/*  glpolicy.h -- the interface between glpeer and a placement policy module.

    A policy is C compiled with glsfi-cc into a sandboxed module (see
    glsfi-cc(1)), named in cluster.conf (sched/policy).  glpeer verifies
    and loads it at start, then, whenever it places a job, calls

        int64_t glunix_policy_score (const struct glpolicy_node *node,
                                     const struct glpolicy_job *job);

    for every node its built-in rules find fit (alive, fresh estimate,
    owner away, room for the job).  The answer is the node's score in
    thousandths: nodes are drawn with odds in proportion to it, and the
    best of the drawn is asked first; 0 or less passes the node over.
    node->builtin_milli is the built-in score, so a policy may adjust it
    rather than start afresh.  Both structures are copies in the module's
    own memory; the policy may keep state in its globals between calls.

    A policy that faults, traps or runs longer than sched/policy_budget is
    switched off with a log line, and the built-in score takes over; the
    agent goes on.  This file is included by both sides: keep it plain C
    with fixed-width fields. */
#ifndef GLPOLICY_H
#define GLPOLICY_H

#include <stdint.h>

#define GLPOLICY_VERSION 1

struct glpolicy_node {
    uint32_t version; /* GLPOLICY_VERSION */
    char name[64];    /* the node's name, NUL-terminated */
    uint32_t is_self; /* 1: the job's home itself (glx --local) */
    uint32_t cores;
    uint32_t guests;           /* glunix jobs running there */
    uint32_t load1_milli;      /* 1-minute load average x 1000 */
    uint32_t owner_load_milli; /* the load not caused by guests x 1000 */
    uint32_t owner_idle_s;     /* seconds since its owner typed (4294967295: none) */
    uint64_t mem_total_kb;
    uint64_t mem_avail_kb;
    uint64_t estimate_age_ms; /* how old the estimate is */
    int64_t builtin_milli;    /* the built-in score x 1000 */
};

struct glpolicy_job {
    uint32_t version;  /* GLPOLICY_VERSION */
    uint32_t cores;    /* cores wanted (at least 1) */
    uint64_t mem_kb;   /* memory wanted; 0: not said */
    char user[64];     /* its user's name; "" when not said */
    char command[128]; /* argv[0], cut */
};

#endif
