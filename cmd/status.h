/*  status.h -- what `glpeer status` prints: a table, or JSON for scripts.

    The agent hands over what it knows in a status_view_t and the
    renderers write to a FILE (the agent's is an open_memstream).  The
    JSON fields are documented in glpeer(8) and read by scripts (t/integ
    reads them with jq): fields may be added, never renamed or dropped. */
#ifndef GL_STATUS_H
#define GL_STATUS_H

#include "clocks.h"
#include "conf.h"
#include "links.h"
#include "gang.h"
#include "policy.h"
#include "seal.h"
#include "swim.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    const gl_conf_t *conf;
    uint64_t generation;                         /* this node's */
    swim_t *swim;                                /* the members */
    gl_seal_t *seal;                             /* its drop counters */
    const policy_t *policy;                      /* NULL: the built-in placement */
    const links_t *links;                        /* the connections and traffic counters */
    uint64_t send_dropped;                       /* packets never handed to a link */
    uint64_t view_publishes, view_member_writes; /* the shared-memory view's */
    const char *res_reason;                      /* this node's idle state and why */
    gang_t *gang;                                /* the matrix and this node's gangs */
    clocks_t *clocks;                            /* the other peers' clock offsets */
    const char *stop_method;
    size_t gang_procs; /* gang processes here */
    uint64_t switches, switch_stops, switch_conts, unconfirmed;
    uint64_t wall_ms; /* now, for the slice */
    /* checkpoint images at this host: bytes read from the jobs' shims,
       moves whose image the job's own writer sealed (jobs_ckpt_stats) */
    uint64_t images_read, images_writer_sealed;
} status_view_t;

void status_text (FILE *f, const status_view_t *v, uint64_t now_ms);
void status_json (FILE *f, const status_view_t *v, uint64_t now_ms);

#endif
