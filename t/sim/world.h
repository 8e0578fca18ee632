/*  world.h -- a simulated cluster: N real swim_t on one clock and network.

    Each node is driven exactly as glpeer's agent drives its swim_t: a
    message is handed to swim_recv and the outputs drained at once; the
    node's timer is set at swim_next_deadline and swim_tick runs when it is
    due; the resource estimate is published at start and then as glpeer
    times it: at the first sample after refresh_interval less or more
    10 %.  All nodes share one swim_pool_t, so a record the whole cluster
    knows is kept once.  Time is simulated in microseconds; a node sees its
    own clock in milliseconds, which can run offset and at a drifting rate.

    Faults act on this world: a crashed node stops (its swim_t is freed and
    what is sent to it is lost); a restarted one is a new swim_t with the
    next generation under the same name and address; a paused one holds its
    timers and deliveries until it resumes, as a process under SIGSTOP.

    Everything the run shows goes through watch.h, which measures and
    checks the invariants; report.h prints it.                          */
#ifndef GLSIM_WORLD_H
#define GLSIM_WORLD_H

#include "evq.h"
#include "net.h"
#include "conns.h"
#include "scenario.h"
#include "swim.h"
#include "conf.h"

#include <stdio.h>

typedef struct {
    swim_t *swim; /* NULL while down */
    uint64_t generation;
    bool up;
    uint32_t epoch;                /* bumped on crash and restart: stale timers skip */
    uint64_t paused_until;         /* µs; deliveries and timers wait until then */
    uint64_t paused_since;         /* start of the current pause (overlaps merged) */
    uint64_t paused_before;        /* this life's pauses before paused_since, µs */
    uint64_t unhealthy_until;      /* paused too long: its death is no violation */
    uint64_t tick_at;              /* when our pending tick event fires */
    uint64_t up_since, down_since; /* µs */
    bool restarted;                /* has been restarted at least once */
    uint64_t res_seq;              /* estimates published by this life */
    uint64_t refresh_at;           /* when our pending refresh event fires */
    rng_t refresh_rng;             /* this life's refresh jitter */
    /* The node's clock: anchor_ms at anchor_us, then at rate 1 + drift. */
    uint64_t anchor_us, anchor_ms;
    double drift;
    uint8_t pubkey[GL_PUBKEY_BYTES];
    swim_signer_t signer;
} node_t;

typedef struct watch watch_t;

typedef struct world {
    const scen_t *scen;
    swim_config_t cfg;
    uint32_t refresh_ms; /* estimate refresh (idle/refresh_interval), +-10 % */
    uint32_t sample_ms;  /* estimates are taken this often (idle/sample_interval) */
    uint64_t refresh_seed;
    uint32_t n;
    node_t *nodes;
    swim_pool_t *pool; /* names and records, shared by every node */
    char (*names)[16];
    char (*addrs)[24];
    net_t net;
    evq_t q;
    uint64_t now;       /* µs */
    uint64_t node_seed; /* base of the per-node swim seeds */
    size_t next_scen;
    uint64_t last_fault_us; /* of the last event that disturbs membership */
    size_t envelope_bytes;  /* added to every encoded message */
    watch_t *watch;
    FILE *trace; /* every membership event, when asked */

    /* Traffic, counted from the end of the warmup; bytes are estimated
       from the messages encoded (all, when bytes_exact). */
    bool bytes_exact;
    uint64_t msgs, bytes, lost;
    uint64_t msgs_by_type[8], bytes_by_type[8];
    uint64_t sampled_msgs[8], sampled_bytes[8];
    conns_t conns;         /* the links each node would hold (conns.h) */
    uint64_t links_opened; /* after the warmup */
    uint64_t setup_bytes;  /* their set-up, part of bytes */
    double node_seconds;   /* up-time of all nodes after the warmup */
    uint64_t events_run;
    void *spare_flights; /* flights delivered, for reuse (a list) */
} world_t;

/* The timing of `conf`'s gossip section; 0, or -1 with a message. */
int world_init (world_t *w, const scen_t *scen, const gl_conf_t *conf, FILE *trace,
                bool bytes_exact, char *err, size_t errlen);
void world_free (world_t *w);
/* Run to the scenario's end (0), or stop early after `max_violations`
   violations when that is non-zero (1). */
int world_run (world_t *w, size_t max_violations);

/* The node's own clock now, in ms. */
uint64_t world_local_ms (const world_t *w, uint32_t i);

/* How long node i has been paused in this life until now, in µs. */
uint64_t world_paused_us (const world_t *w, uint32_t i);

#endif
