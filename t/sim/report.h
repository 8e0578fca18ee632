/*  report.h -- the figures of a run, for people or as JSON.

    The "host" part (wall and CPU time, speed, memory) depends on the
    machine; all
    the rest depends only on the seed and the scenario, so two runs give
    the same bytes there (t/integ/glsim_determinism.sh checks it).      */
#ifndef GLSIM_REPORT_H
#define GLSIM_REPORT_H

#include "world.h"

#include <stdio.h>

typedef struct {
    double wall_s;
    double cpu_s;     /* of the run: user and system time of this process */
    size_t mem_bytes; /* heap in use at the end, all nodes */
    size_t max_rss_kb;
} host_t;

void report_text (FILE *f, const world_t *w, const host_t *host);
void report_json (FILE *f, const world_t *w, const host_t *host);
/* Violations, one line each with the seed and the time. */
void report_violations (FILE *f, const world_t *w);

#endif
