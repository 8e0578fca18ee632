/*  watch.h -- what a run measures, and the invariants it checks.

    Measures: how long a fresh update (a resource estimate) takes to reach
    50, 99, 99.9 and 100 % of the nodes up when it was made, not counting
    the time a node was paused (it could take nothing then) nor a node
    that crashes before the update reached it; how long a
    crash takes until every live node marks the node dead; false deaths
    (a node that is up and reachable declared dead by another) and how
    long each lasts until the accuser sees it alive again.

    Invariants, each violation kept with its time (the report adds the seed):
      1. "healthy": when loss <= 1 %, no partition and clocks drift <= 1 %,
         no node that is up is declared dead, unless it was paused longer
         than 5 s (overlapping pauses merged) within the longest suspicion
         time; below 18 nodes the pause limit is the shortest suspicion
         plus the probe timeout, as a longer pause can be found dead by
         any SWIM.  Deaths of such nodes are counted apart;
      2. "converge": a settle time after the last fault, every live node
         sees every live node as a member (alive, or suspect: loss makes
         passing suspicions) at its current generation, and no crashed
         node so;
      3. "restart": a restarted node is then alive at its new generation
         everywhere;
      4. "monotonic": what a node reports about a member never goes back to
         an older (generation, incarnation), for the first WATCHERS nodes.*/
#ifndef GLSIM_WATCH_H
#define GLSIM_WATCH_H

#include "world.h"

#define WATCHERS 512
#define LEVELS   4 /* 50, 99, 99.9, 100 % */
extern const double watch_levels[LEVELS];

typedef struct {
    uint32_t origin;
    uint64_t seq, t0;
    uint32_t need, got;
    uint8_t *reached;    /* per node: 0 waited for, 1 reached, 2 not counted */
    uint64_t *took;      /* per node reached: µs after t0, less its time paused */
    uint64_t *paused0;   /* per node: its time paused (world_paused_us) at t0 */
    uint64_t at[LEVELS]; /* of the levels: µs, UINT64_MAX while not reached */
    bool active;
} upd_track_t;

typedef struct {
    uint32_t node;
    uint64_t generation, t0;
    uint8_t *need; /* per node: still has to mark it dead */
    uint32_t left;
    uint64_t took; /* µs, UINT64_MAX while unfinished */
    bool active, restarted_first;
} crash_track_t;

typedef struct {
    uint32_t observer, subject;
    uint64_t generation, t0;
} open_death_t;

typedef struct {
    uint64_t at_us;
    char what[16];
    char text[200];
} violation_t;

#define VIOLATIONS_KEPT 64

struct watch {
    world_t *w;
    bool benign;           /* invariant 1 is armed */
    uint64_t max_pause_us; /* for it: 5 s, less in tiny clusters */
    upd_track_t *upds;
    size_t n_upds, cap_upds;
    crash_track_t *crashes;
    size_t n_crashes, cap_crashes;
    open_death_t *open;
    size_t n_open, cap_open;
    uint64_t false_deaths, partition_deaths, pause_deaths;
    uint64_t max_suspicion_us; /* the longest a suspicion can last */
    uint64_t false_death_us, false_death_max_us;
    uint64_t suspicions, refutations;
    uint32_t n_watchers;
    uint64_t *seen; /* [watcher][subject]: generation << 32 | incarnation */
    violation_t violations[VIOLATIONS_KEPT];
    size_t n_violations;
    bool converge_checked;
    uint64_t converged_at; /* when all saw all alive after the warmup, or 0 */
    bool all_joined;
    uint64_t settle_us;
};

int watch_init (watch_t *wt, world_t *w);
void watch_free (watch_t *wt);

/* Hooks called by world.c. */
void watch_event (watch_t *wt, uint32_t observer, const swim_event_t *ev);
void watch_crash (watch_t *wt, uint32_t node); /* before the node goes down */
void watch_update (watch_t *wt, uint32_t origin, uint64_t seq);
void watch_pause (watch_t *wt, uint32_t node); /* after its pause is set */
/* Before and after a delivery: does msg carry a tracked update, and did
   the receiver take it (from `from`). */
bool watch_carries (watch_t *wt, uint32_t to, const gl_msg_t *msg);
void watch_delivered (watch_t *wt, uint32_t to, uint32_t from);
/* Once a simulated second: close what timed out, note convergence. */
void watch_second (watch_t *wt);
/* At the end: the convergence and restart checks. */
void watch_finish (watch_t *wt);

void watch_violation (watch_t *wt, const char *what, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
