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
    checks the invariants; report.h prints it.  When the scenario has
    gangs, gangs.h drives every node's gang_t beside its swim_t and checks
    coscheduling's invariants.                                          */
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
typedef struct gangs gangs_t;

/* What the event queue carries. */
enum {
    EV_START = 1,
    EV_TICK,
    EV_DELIVER,
    EV_SCEN,
    EV_REFRESH,
    EV_SECOND,
    EV_GTICK,
    EV_SLICE,
    EV_GEXIT
};

/* What a message in flight belongs to: gossip, the gang plane's
   GL_MSG_GANG, or the two words of a job's stream the gang plane needs
   (the home's keepalive to a host, a host's word that a process ended). */
enum { PLANE_SWIM = 0, PLANE_GANG, PLANE_PING, PLANE_EXIT };

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
    gangs_t *gangs; /* the gang plane, when the scenario has gangs (gangs.h) */
    FILE *trace;    /* every membership event, when asked */

    /* Traffic, counted from the end of the warmup; bytes are estimated
       from the messages encoded (all, when bytes_exact). */
    bool bytes_exact;
    uint64_t msgs, bytes, lost;
    uint64_t msgs_by_type[8], bytes_by_type[8];
    uint64_t sampled_msgs[8], sampled_bytes[8];
    conns_t conns;         /* the links each node would hold (conns.h) */
    uint64_t links_opened; /* after the warmup */
    uint64_t setup_bytes;  /* their set-up, part of bytes */
    uint64_t routed;       /* packets back down the destination's link, after the warmup */
    double node_seconds;   /* up-time of all nodes after the warmup */
    /* The gang plane's messages (PLANE_GANG), counted as gossip's; their
       network draws come from streams of their own. */
    uint64_t gang_msgs, gang_lost, gang_sampled_msgs, gang_sampled_bytes, gang_links;
    rng_t gang_loss_rng, gang_delay_rng;
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

/* For the gang plane: the first µs at which node i's clock reads ms; an
   event; whether an event of a paused node was put off until it resumes
   (then it comes back); a message of `plane` from one node to another
   (msg, for PLANE_GANG, is taken; `gang` is the sender's word for the
   others), through the network with its own random streams. */
uint64_t world_global_us (const world_t *w, uint32_t i, uint64_t ms);
void world_push (world_t *w, uint64_t at, uint32_t kind, uint32_t node, uint64_t arg);
bool world_held (world_t *w, const ev_t *ev);
void world_send_plane (world_t *w, uint32_t from, uint32_t to, int plane, uint32_t gang,
                       gl_msg_t *msg);
uint32_t world_node_of_name (const world_t *w, const char *name);

#endif
