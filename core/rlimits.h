/*  rlimits.h -- resource limits as they travel: "NAME=SOFT:HARD".

    glx sends the limits its user's shell set (ulimit) with a job, and the
    host's exec gives them to the job.  They go by name, NAME as in
    prlimit(1) (NOFILE, STACK, CORE, ...), since the resources' numbers
    differ between architectures; each number is decimal or "unlimited". */
#ifndef GL_RLIMITS_H
#define GL_RLIMITS_H

#include <stddef.h>
#include <sys/resource.h>

#define GL_RLIMITS_MAX    16 /* every resource this file names */
#define GL_RLIMIT_STR_MAX 64

/* This process's limits, every one this file knows, into out; how many. */
size_t gl_rlimits_own (char out[GL_RLIMITS_MAX][GL_RLIMIT_STR_MAX]);

/* One limit: 0 with its resource and values, or -1 with why (a static
   string naming what is wrong). */
int gl_rlimit_parse (const char *s, int *resource, struct rlimit *rl, const char **why);

#endif
