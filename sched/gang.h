/*  gang.h -- gangs, their elected leaders and the matrix: one peer's part
    in coscheduling, as a state machine.

    A gang is the processes of one parallel job (glx -n).  They synchronize
    often, so they run well only when all run at once (Ousterhout, 1982):
    every peer stops and continues its processes of each gang so that, at
    any moment, a gang runs on all of its peers or on none.  There is no
    master.  The design, from the bottom:

    Membership.  The job's home knows where it started each process and
    tells the peers hosting the gang who they are (MEMBERS: each peer and
    its number of processes, versioned; none once the gang has ended).
    Whether a peer is alive is what gossip says (gang_node).

    Election.  The peers hosting a gang choose its leader among themselves:
    each ranks the members by a hash of (gang, node) -- rendezvous hashing,
    so all rank alike without talking -- and the highest-ranked one that is
    alive and hosts processes stands when the gang has no leader it can
    follow; the next in rank stand in turn, an election time apart, once
    the gang has been without a leader for longer than a placement lives
    (the first may look alive yet never stand: its agent restarted before
    gossip found it dead).  It asks every member for a vote for term T (one more than any
    term it has seen); a member grants at most one candidate per term, and
    none while it can still follow a live leader of the gang (so a peer
    with a wrong view cannot depose a working leader).  With a majority of
    the members (itself included), the candidate is leader for T and only
    then acts.  A peer remembers the highest (term, leader) it granted or
    saw (its promise) and refuses orders of a lower one (fencing): it then
    runs the gang uncoordinated and tells the stale leader, which steps
    down.  When the leader's node dies, gossip declares it dead, the next
    member in rank stands, and the home, which also hears of the death,
    sends a membership without it, so a majority is within reach: a new
    leader speaks within the failure-detection time.  Meanwhile a member
    that has lost its gang's leader lets its processes run uncoordinated:
    a gang is never left stopped for want of a leader.

    The matrix.  The leader places its gang in a row of the cluster-wide
    matrix (matrix.h): the lowest row where it competes with no other gang
    for a peer's slots, moving down when a lower row frees up, and out of a
    row where a gang with a smaller id competes with it (two leaders who
    chose one row at once).  It says the placement, signed with its term,
    to the gang's peers at once, and every peer spreads news by gossip:
    a new placement, a change of row or peers, a new leader, an end go to
    `fanout` random peers every gossip_ms, each item a few times over,
    while there is news; every sync_ms a peer exchanges its whole matrix
    with one random peer (push-pull), which joins the two matrices of a
    healed partition.  A leader renews its placement every refresh_ms;
    one nobody renewed for ttl_ms is dropped.  A renewal changes nothing
    else, so it is no news: it goes to the gang's peers alone, and
    push-pull carries it to the rest of the cluster well within ttl_ms.
    So a quiet cluster's gang plane costs each peer a push-pull every
    sync_ms and its gangs' renewals, whatever the cluster's size, where
    gossiping every renewal kept every peer gossiping all the time.  A
    gang that ended is marked so (a tombstone) by any member told so by
    the home; the members' tombstones are one piece of news.  A leader
    elected tells the leader it replaces, which steps down when it hears
    of it (cut off or stopped, as soon as it is back).

    The schedule.  Slice k (wall-clock time / slice_ms, the same moment on
    every peer whose clock is right) runs row k mod R of the R rows in use,
    and the gangs of other rows that fit beside it (matrix.h).  For each
    gang it hosts, gang_decide says run, stop or run uncoordinated; the
    caller stops and continues the processes.  Jobs that are not gangs
    are none of this module's business: they run in every slice.

    Sans-I/O: handed messages, membership and the time, it returns messages
    to send, events and its next deadline; it never reads a clock, touches
    a socket or draws from a global random source, so glpeer and the
    simulator glsim run the same code. */
#ifndef GL_GANG_H
#define GL_GANG_H

#include "matrix.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t slice_ms;        /* 100: a row's turn (sched/gang_slice) */
    uint32_t gossip_ms;       /* 200: news goes out this often */
    uint32_t fanout;          /* 3: to this many random peers */
    uint32_t retransmit_mult; /* 4: each news item goes in mult * ceil(log10(n + 1)) messages, */
    uint32_t retransmit_min;  /* 8: and at least this often */
    uint32_t max_places;      /* 16: placements in one news message */
    uint32_t sync_ms;         /* 5000: push-pull of the whole matrix with one peer */
    uint32_t election_ms;     /* 1000: a candidacy not won by then is tried again */
    uint32_t check_ms;        /* 250: a leader looks whether its gang should move */
    uint32_t refresh_ms;      /* 10000: a leader renews its placement */
    uint32_t ttl_ms;          /* 35000: a placement nobody renewed is dropped */
} gang_config_t;

void gang_config_default (gang_config_t *config);

typedef struct gang_t gang_t;

/* self: this node's name; cores: its slots (what a gang's processes may
   use at once here); seed drives every random choice. */
gang_t *gang_new (const gang_config_t *config, const char *self, uint32_t cores, uint64_t seed);
void gang_destroy (gang_t **self_p);

/* Gossip's word on a node: alive (or only suspect) or not (dead, left). */
void gang_node (gang_t *self, const char *node, bool alive);

/* A process of gang started here (delta 1) or ended (-1); now_ms 0: at
   the latest time handed in. */
void gang_procs (gang_t *self, const char *gang, int delta, uint64_t now_ms);

/* A gang message from node `from` (the sealed envelope's sender). */
void gang_recv (gang_t *self, const char *from, const gl_gang_t *msg, uint64_t now_ms);

/* Run every timer due at now_ms; then gang_pop, gang_pop_event. */
void gang_tick (gang_t *self, uint64_t now_ms);
uint64_t gang_next_deadline (gang_t *self);

typedef struct {
    char to[GL_NAME_MAX + 1];
    gl_msg_t msg; /* a GL_MSG_GANG message; the caller owns it: gl_msg_clear */
} gang_out_t;

/* Next message to send; false when none. */
bool gang_pop (gang_t *self, gang_out_t *out);

/* ---- the schedule ---- */

typedef enum {
    GANG_RUN = 1, /* its row's turn, or it fills a free place in the current row */
    GANG_STOP,    /* another row's turn */
    GANG_FREE,    /* uncoordinated: no placement yet, leader lost, or a stale order */
} gang_decision_t;

/* The slice a wall-clock time falls in. */
uint64_t gang_slice_of (const gang_t *self, uint64_t wall_ms);
uint32_t gang_slice_ms (const gang_t *self);

/* What this peer's processes of gang do in slice `slice` (GANG_FREE for
   a gang it does not know). */
int gang_decide (gang_t *self, const char *gang, uint64_t slice);

/* The row whose turn slice is (UINT32_MAX: none in use), and how many
   rows are in use. */
uint32_t gang_slice_row (gang_t *self, uint64_t slice, size_t *n_rows);

/* ---- events, for the log and the simulator ---- */

typedef enum {
    GANG_EV_ELECTED = 1, /* we won `term` with a majority of membership `seq` */
    GANG_EV_DEPOSED,     /* we stopped leading or standing: `term`, `leader` are higher */
    GANG_EV_PLACED,      /* as leader, we placed the gang in `row` */
    GANG_EV_REFUSED,     /* an order of `term`, `leader` was refused: we promised higher */
    GANG_EV_FREE,        /* our processes of the gang run uncoordinated: `why` */
    GANG_EV_COORDINATED, /* they follow the matrix again: `term`, `leader`, `row` */
} gang_event_kind_t;

typedef struct {
    int kind;
    char gang[GL_GPID_MAX + 1];
    uint64_t term;
    char leader[GL_NAME_MAX + 1];
    uint32_t row;
    uint64_t seq;
    char why[96];
} gang_event_t;

bool gang_pop_event (gang_t *self, gang_event_t *ev);
const char *gang_event_name (int kind);

/* ---- views, for glpeer status and ps ---- */

typedef enum { GANG_FOLLOWER = 0, GANG_CANDIDATE, GANG_LEADER } gang_role_t;

/* A gang this peer hosts or took part in electing. */
typedef struct {
    char gang[GL_GPID_MAX + 1];
    uint32_t procs;     /* its processes here */
    uint32_t n_members; /* peers hosting it, as its home said */
    bool member;        /* this peer is one of them */
    bool ended;
    int role; /* gang_role_t */
    uint64_t promised_term;
    char promised_leader[GL_NAME_MAX + 1];
    bool placed; /* the matrix holds a live placement */
    uint64_t term;
    char leader[GL_NAME_MAX + 1];
    uint32_t row;
    int decision; /* at the last gang_decide */
    char why[96]; /* ... and why: "row 1", "fills row 0", "leader b lost", ... */
} gang_info_t;

size_t gang_local_count (const gang_t *self);
bool gang_local_at (gang_t *self, size_t i, gang_info_t *out);
bool gang_local_find (gang_t *self, const char *gang, gang_info_t *out);

/* The matrix as this peer knows it. */
matrix_t *gang_matrix (gang_t *self);

typedef struct {
    uint64_t elections;     /* candidacies started */
    uint64_t won;           /* ... won */
    uint64_t votes_granted; /* votes we gave */
    uint64_t votes_refused; /* votes we refused */
    uint64_t refused;       /* orders refused as stale (fencing) */
    uint64_t placed;        /* placements we made as leader */
    uint64_t news;          /* placements that were news to us */
    uint64_t msgs_out;
} gang_stats_t;

void gang_stats (const gang_t *self, gang_stats_t *out);

#endif
