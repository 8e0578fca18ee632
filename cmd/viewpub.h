/*  viewpub.h -- the agent's side of the shared-memory view (core/view.h):
    what it knows of the cluster and its local job table, written into the
    view for the jobs, libglunix and glpeer top to read.

    The agent calls viewpub_publish when something changed (a gossip
    event, a job started or ended here) and on a timer every
    GL_VIEW_REFRESH_MS, since estimates arrive without events.  Every
    publication writes the view's clocks (wall_ms, mono_ms: readers date
    it by them) and the job table; the member table only when gossip
    (swim_changes) or the clock offsets (clocks_changes) say that it
    changed, or the wall clock was stepped: copying every member each
    second made an idle agent's cost grow with the cluster.

    It also renders the published view as JSON for the control socket's
    "view" command: the same answer over the socket that libglunix reads
    in shared memory (bench/shim.sh compares the two). */
#ifndef GL_VIEWPUB_H
#define GL_VIEWPUB_H

#include "clocks.h"
#include "conf.h"
#include "jobs.h"
#include "swim.h"

#include <stdint.h>
#include <stdio.h>

typedef struct viewpub viewpub_t;

/* The view of the agent configured by conf.  NULL with a message. */
viewpub_t *viewpub_new (const gl_conf_t *conf, uint64_t generation, char *err, size_t errlen);
/* Marks the view closed and removes it. */
void viewpub_destroy (viewpub_t **self_p);

/* Publish the members and the jobs running here, with each member's clock
   offset as clocks (sched/clocks.h) has it, or none when clocks is NULL.
   now_ms is the agent's monotonic clock, wall_ms its wall clock. */
void viewpub_publish (viewpub_t *self, swim_t *swim, const jobs_t *jobs, clocks_t *clocks,
                      uint64_t now_ms, uint64_t wall_ms);

/* How many publications there were, and how many of them wrote the
   member table. */
uint64_t viewpub_publishes (const viewpub_t *self);
uint64_t viewpub_node_writes (const viewpub_t *self);

/* The published view as one JSON object (its fields are glpeer(8)'s). */
void viewpub_json (viewpub_t *self, FILE *f);

#endif
