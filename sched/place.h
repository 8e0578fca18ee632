/*  place.h -- where should a new job run?  (decentralized placement)

    There is no scheduler node.  Each job has a home (the agent glx handed
    it to), and placement happens in two halves:

    The home side (place_t) reads the gossip view and draws a few nodes to
    ask, "power of d choices": it draws d of the nodes that can take a
    guest, at random, each weighted by its score (free cores, free memory,
    how long its owner has been away), then orders the draw best first.
    The randomness keeps many homes with the same view from all picking
    the same "best" node; the weighting keeps the choice good.  Every node
    passed over gets a short reason ("c: no free core") for glx -v and
    glpeer ps.

    Gossip is seconds old and counts load, not jobs: a node running two
    sleeping guests still looks idle.  Two things keep jobs from piling up
    on such a node:
      - the home keeps a ledger of the cores and memory it promised each
        node in the last ledger_ms, and counts them as taken, so a burst of
        jobs from one home spreads out before gossip catches up;
      - the candidate side (slots_t, slots.h) is the judge: a node accepts
        an offer only if it has room now, by its own count of slots and its
        own latest measurement, and holds the slot as a short reservation
        until the job starts (late binding).  A refusal sends the home on
        to the next node of its draw.

    Both halves are sans-I/O: they are handed the view, the job and the
    time, never read a clock, and draw from their own seeded generator, so
    a seed replays the same choices in glpeer and in the simulator.

    The home's loop:

        place_plan_t plan;
        for (const char *node = place_choose (p, cands, n, &req, now, &plan);
             node; node = place_refused (p, &plan, why, now)) {
            ask node; if it accepts, break; else why = its reason
        }
        if no node accepted: plan.ask[] (with their refusals) go into
        req.exclude and place_choose is called again, or the user is told
        "no node can take it" with plan.passed[] and plan.ask[].         */
#ifndef GL_PLACE_H
#define GL_PLACE_H

#include "wire.h"
#include "swim.h"

#define PLACE_D_MAX      8   /* most nodes one plan asks */
#define PLACE_PASSED_MAX 64  /* most reasons one plan lists */
#define PLACE_WHY_MAX    96  /* a reason, with its NUL */
#define PLACE_LEDGER_MAX 256 /* promises the home remembers */

typedef struct {
    uint32_t d;              /* nodes to draw and ask in turn: 3 (1..PLACE_D_MAX) */
    uint32_t max_res_age_ms; /* trust no estimate older; 0 (the default):
                                trust a member's estimate while it is alive.
                                A node signs a new estimate whenever its
                                sample differs (idle_res_differs), so a
                                live member's latest estimate is current
                                however long ago it was signed: SWIM's
                                liveness dates it, and a dead or suspect
                                member is passed anyway. */
    uint32_t ledger_ms;      /* a promise counts against its node for: 5000 */
} place_config_t;

void place_config_default (place_config_t *config);

/* One member of the view, as placement sees it. */
typedef struct {
    char name[GL_NAME_MAX + 1];
    uint8_t state; /* swim_state_t */
    bool is_self;  /* the home itself */
    bool has_res;  /* an estimate has arrived */
    gl_res_t res;
    uint64_t res_age_ms; /* how long ago it arrived */
} place_cand_t;

/* Fills a candidate from the gossip view at local time now_ms. */
void place_cand_from_member (place_cand_t *cand, const swim_member_t *member, uint64_t now_ms);

/* A node and what placement says of it. */
typedef struct {
    char node[GL_NAME_MAX + 1];
    char why[PLACE_WHY_MAX];
} place_note_t;

/* What the job asks for.  All zero is a valid request: one core, any
   memory, anywhere but the home. */
typedef struct {
    uint32_t cores;              /* cores wanted; 0 counts as 1 */
    uint64_t mem_kb;             /* memory wanted, KiB; 0: no need */
    const char *pin;             /* glx -w: only this node; NULL or "": any.
                                       Pinning the home itself needs no allow_local. */
    bool allow_local;            /* glx --local: the home may run it */
    const place_note_t *exclude; /* nodes that refused this job, with their */
    size_t n_exclude;            /* reasons (earlier plans' ask[] fit as is) */
    const char *user;            /* for a policy: who runs it (may be NULL) */
    const char *command;         /* and what: argv[0] (may be NULL) */
} place_req_t;

/* The outcome of place_choose.  A plain value: nothing to free. */
typedef struct {
    size_t n_ask;                  /* 0: no node can take it */
    place_note_t ask[PLACE_D_MAX]; /* to ask in turn, best first; why
                                               says what made it fit ("2 free
                                               cores"), why a pinned node looks
                                               unfit, or, once it said no,
                                               "refused: <its reason>" */
    size_t next;                   /* ask[next] is being asked; n_ask
                                               when every one has refused */
    size_t n_passed;
    place_note_t passed[PLACE_PASSED_MAX]; /* nodes passed over, view order */
    size_t n_unlisted;                     /* more passed over, not listed */
    uint64_t ticket;                       /* the ledger's promise to ask[next]:
                                               hand it to place_done when the
                                               job ends; 0 for none */
    uint32_t cores;                        /* the request, for promises to the */
    uint64_t mem_kb;                       /* next nodes (place_refused) */
} place_plan_t;

typedef struct place_t place_t;

/* A placement policy, asked about each candidate the built-in rules find
   fit (alive, fresh estimate, owner away, room): it gets the built-in
   score and returns 0 with its own in *score (0 or less: pass this node
   over, saying why in why), or -1 when it cannot answer (it failed and
   is now off), and the built-in score stands. */
typedef int (*place_policy_fn) (void *arg, const place_cand_t *cand, const place_req_t *req,
                                double builtin, double *score, char *why, size_t size);

/* seed drives every random draw.  NULL when memory is short or the config
   is unusable (d outside 1..PLACE_D_MAX). */
place_t *place_new (const place_config_t *config, uint64_t seed);
void place_destroy (place_t **self_p);

/* Ask fn (with arg) about every fit candidate from now on; NULL: none. */
void place_set_policy (place_t *self, place_policy_fn fn, void *arg);

/* Makes a plan for one job from the n candidates of the view, promises
   the job to the first node to ask (in the ledger), and returns that
   node's name (pointing into plan), or NULL when no node can take it. */
const char *place_choose (place_t *self, const place_cand_t *cands, size_t n,
                          const place_req_t *req, uint64_t now_ms, place_plan_t *plan);

/* The node being asked said no, because why (e.g. "no free slot"; NULL
   or "" when it gave none).  Moves the promise on to the next node and
   returns its name, or NULL when every node of the plan has refused.
   The refusing node's promise is kept until it decays: it had less room
   than gossip said, and the ledger is how we remember that meanwhile. */
const char *place_refused (place_t *self, place_plan_t *plan, const char *why, uint64_t now_ms);

/* The job that holds this ticket started as the node's start_no-th
   guest (its STARTED reply says so): once the node's estimate counts that
   many starts, the promise is in its guests and no longer counts apart. */
void place_started (place_t *self, uint64_t ticket, uint32_t start_no);

/* The job that holds this ticket has ended (or failed to start): its
   cores are no longer promised.  Unknown or decayed tickets are ignored. */
void place_done (place_t *self, uint64_t ticket);

/* Cores this home promised to node in the last ledger_ms. */
uint32_t place_promised (place_t *self, const char *node, uint64_t now_ms);

#endif
