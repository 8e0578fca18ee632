/*  swim.h -- membership and failure detection, as a state machine.

    SWIM (Das, Gupta, Motivala 2002) with the refinements of memberlist and
    Lifeguard (Dadgar et al. 2018):
      - one member probed per period: with probe_rings = K, our successor
        on each of K pseudo-random rings over the live members in turn
        (Rapid's monitoring overlay: every member has K observers that
        probe it once a period in all, and always the same few, so their
        connections stay open), or round-robin over a shuffled list of
        all members as SWIM has it when K is 0 or the view holds K or
        fewer other live members; when the direct probe times out, `indirect_checks` others probe it
        for us (PING_REQ) and answer ACK or NACK;
      - suspicion with incarnation numbers: a suspected node refutes by
        signing a new ALIVE record with a higher incarnation;
      - updates piggybacked on every message, least-sent first, each
        retransmitted retransmit_mult * ceil(log10(n + 1)) times, and never
        fewer than in a cluster of a thousand (4 * retransmit_mult); what is
        queued also goes to gossip_nodes members every gossip_interval_ms,
        or to more (up to four times as many) when their messages cannot
        carry the whole queue: drawn at random while membership news is
        queued (on the rings, only while we know at most news_random_max
        others alive), else first from the gossip_peers members we last
        sent a PING or an ACK, whose connections are open; a
        push-pull of the whole state with one member every
        pushpull_interval_ms (one of those peers in the round robin, a
        random one on the rings);
      - on the rings, estimates do not go through that queue: each is
        passed to each ring neighbour once by every member it is new to
        (a flood over the rings, deduplicated by origin and sequence
        number), at once by its origin and the origin's neighbours, then
        on the neighbours' PINGs and ACKs, or in a GOSSIP after K probe
        periods: a member sends about one GOSSIP a second for them,
        whatever the cluster's size (swim.c, "estimates on the rings");
      - Lifeguard: a local health score (0 .. awareness_max - 1) that grows
        on missed acks and refutations and stretches our own probe
        intervals and timeouts; suspicion timeouts that start at
        suspicion_max_mult times the minimum and shrink logarithmically as
        independent suspicions of the same node arrive;
      - generations: a node that restarts comes back with a larger
        generation, which beats any record of its former self.

    Records a node says about itself (ALIVE, LEAVE, RES) are signed by it
    (through swim_signer_t) and relayed unchanged; a record whose signature
    does not verify under the key first seen for that node is refused and
    counted (stats.bad_records).  A node's key may change only when its old
    self is dead or has left (it lost its state directory).

    Sans-I/O: nothing here reads a clock, touches a socket or draws from a
    global random source.  The caller feeds messages (swim_recv) and time
    (swim_tick), and drains messages to send (swim_pop) and events
    (swim_pop_event).  swim_next_deadline tells when to call swim_tick next:
    ask again after every swim_recv, since a message can queue news, and
    gossip rounds count only while something is queued.
    The same code runs in glpeer and in the simulator.                    */
#ifndef GL_SWIM_H
#define GL_SWIM_H

#include "pool.h"
#include "wire.h"

typedef enum {
    SWIM_ALIVE = 0,
    SWIM_SUSPECT = 1,
    SWIM_DEAD = 2,
    SWIM_LEFT = 3,
} swim_state_t;

typedef struct {
    uint32_t probe_interval_ms;    /* 1000 */
    uint32_t probe_timeout_ms;     /* 500 */
    uint32_t indirect_checks;      /* 3 */
    uint32_t suspicion_mult;       /* 4: min timeout = mult * max(1, log10 n) * probe_interval */
    uint32_t suspicion_max_mult;   /* 6: a new suspicion starts at max_mult * min timeout */
    uint32_t retransmit_mult;      /* 4 */
    uint32_t gossip_interval_ms;   /* 200 */
    uint32_t gossip_nodes;         /* 3 */
    uint32_t pushpull_interval_ms; /* 30000 */
    uint32_t awareness_max;        /* 8 */
    uint32_t dead_reap_ms;         /* forget dead and left members after: 3600000 */
    uint32_t join_retry_ms;        /* while alone, ask the seeds again after: 1000 */
    uint32_t max_piggyback;        /* updates piggybacked on one message: 16 */
    uint32_t gossip_peers;         /* gossip of estimates goes first to the
                                      members we last sent a PING or an ACK,
                                      this many (12; 0: at random from all) */
    uint32_t probe_rings;          /* probe the successors on this many rings
                                      (4; 0: every member in turn) */
    uint32_t news_random_max;      /* on the rings, membership news goes to
                                      random members while we know at most
                                      this many others alive, else to the
                                      peers first (16: transport/max_links,
                                      as many as can each hold a link) */
} swim_config_t;

void swim_config_default (swim_config_t *config);

/* Signing is handed in so the simulator can use a cheap stand-in. */
typedef struct {
    void *ctx;
    int (*sign) (void *ctx, gl_rec_t *rec); /* fill rec->sig, 0 or -1 */
    int (*verify) (void *ctx, const gl_rec_t *rec,
                   const uint8_t pubkey[GL_PUBKEY_BYTES]); /* 0 if valid */
} swim_signer_t;

typedef struct swim_t swim_t;

/* rng_seed drives every random choice (probe order, gossip targets). */
swim_t *swim_new (const swim_config_t *config, const char *name, const char *addr,
                  uint64_t generation, const uint8_t pubkey[GL_PUBKEY_BYTES],
                  const swim_signer_t *signer, uint64_t rng_seed, uint64_t now_ms);
void swim_destroy (swim_t **self_p);

/* ---- sharing one process among many nodes (the simulator) ----

   A pool (pool.h) holds what is the same in every node's view: node
   names, and the signed records themselves, each kept once and counted
   by reference.  What a node keeps per member is then only its own view:
   state, incarnation, timers, references (64 bytes).  swim_new makes a
   pool of its own; the simulator makes one for the whole cluster and
   puts every node in it with swim_new_in, so a thousand nodes' views of
   one record cost one copy.  The swim_t of one pool must run on one
   thread; destroy the pool after the last of them. */
swim_t *swim_new_in (swim_pool_t *pool, const swim_config_t *config, const char *name,
                     const char *addr, uint64_t generation, const uint8_t pubkey[GL_PUBKEY_BYTES],
                     const swim_signer_t *signer, uint64_t rng_seed, uint64_t now_ms);

/* Ask these addresses for their state.  Until a member has answered one
   of our push-pulls with its state, ask again every join_retry_ms: these
   addresses while we know no other live member, else one live member we
   know.  Later, whenever we know no other live member, these addresses
   again. */
void swim_join (swim_t *self, const char *const *seed_addrs, size_t n_seeds, uint64_t now_ms);

/* A message from `from` (the sealed envelope's authenticated sender). */
void swim_recv (swim_t *self, const char *from, const gl_msg_t *msg, uint64_t now_ms);

/* Run every timer due at now_ms. */
void swim_tick (swim_t *self, uint64_t now_ms);
uint64_t swim_next_deadline (swim_t *self);

/* Sign and spread this node's resource estimate. */
void swim_set_res (swim_t *self, const gl_res_t *res, uint64_t now_ms);

/* Sign a LEAVE record and send it at once to every live member, or to
   3 * gossip_nodes of them in a larger cluster (plus normal dissemination).
   After this the node stops probing and answering. */
void swim_leave (swim_t *self, uint64_t now_ms);

/* ---- output ---- */

typedef struct {
    char to_name[GL_NAME_MAX + 1]; /* "" when sent to a seed address */
    char to_addr[GL_ADDR_MAX + 1];
    gl_msg_t msg; /* the caller owns it: gl_msg_clear */
} swim_out_t;

/* Next message to send; false when none. */
bool swim_pop (swim_t *self, swim_out_t *out);

typedef enum {
    SWIM_EV_JOINED = 1, /* a node we did not know, or a new generation of one */
    SWIM_EV_ALIVE,      /* a suspect (or dead) node is alive again */
    SWIM_EV_SUSPECT,
    SWIM_EV_DEAD,
    SWIM_EV_LEFT,
    SWIM_EV_REFUTED,    /* we were suspected and refuted it */
    SWIM_EV_BAD_RECORD, /* a record with a bad signature or key was refused */
} swim_event_kind_t;

typedef struct {
    int kind; /* swim_event_kind_t */
    char node[GL_NAME_MAX + 1];
    char from[GL_NAME_MAX + 1]; /* who reported it, when known */
    uint64_t generation;
    uint64_t incarnation;
    uint64_t at_ms;
} swim_event_t;

bool swim_pop_event (swim_t *self, swim_event_t *ev);
const char *swim_event_name (int kind);
const char *swim_state_name (int state); /* "alive", "suspect", "dead", "left" */

/* ---- the view ---- */

typedef struct {
    char name[GL_NAME_MAX + 1];
    char addr[GL_ADDR_MAX + 1];
    uint8_t state; /* swim_state_t */
    bool is_self;
    uint64_t generation;
    uint64_t incarnation;
    uint64_t state_since_ms; /* local time of the last state change */
    bool has_res;
    gl_res_t res;
    uint64_t res_seq;
    uint64_t res_origin_ms; /* the origin's clock when it measured */
    uint64_t res_recv_ms;   /* our clock when we first got it */
} swim_member_t;

size_t swim_count (swim_t *self); /* includes self */
/* Counts the changes of what swim_member_at reports (a member added or
   forgotten, its state, incarnation, generation, address or estimate), so
   that a reader of the whole view can tell it is the same as last time
   without reading it: a change makes it larger.  The order of the members
   may change without it. */
uint64_t swim_changes (const swim_t *self);
bool swim_member_at (swim_t *self, size_t i, swim_member_t *out);
bool swim_lookup (swim_t *self, const char *name, swim_member_t *out);
/* The key pinned for name (its first ALIVE's, kept until it is dead or
   has left; ours for our own name): false when none is known. */
bool swim_pubkey (swim_t *self, const char *name, uint8_t out[GL_PUBKEY_BYTES]);
size_t swim_count_state (swim_t *self, swim_state_t state);
/* The members we probe in turn: our successor on ring r at names[r], for
   the first min (probe_rings, cap) rings (one member may follow us on
   several).  0 when every live member is probed in turn instead
   (probe_rings is 0, or we know probe_rings or fewer other live members). */
size_t swim_probe_targets (swim_t *self, char (*names)[GL_NAME_MAX + 1], size_t cap);

typedef struct {
    uint64_t probes;          /* direct probes sent */
    uint64_t probe_failures;  /* direct probes without ack in time */
    uint64_t indirect_probes; /* PING_REQ sent */
    uint64_t acks_in;
    uint64_t nacks_in;
    uint64_t suspicions;     /* suspicions we raised */
    uint64_t deaths;         /* deaths we declared */
    uint64_t refutations;    /* times we refuted a suspicion of us */
    uint64_t syncs;          /* push-pulls we started */
    uint64_t bad_records;    /* records refused (signature, key) */
    uint64_t old_records;    /* records ignored as older than known */
    uint64_t unknown_sender; /* messages from nodes we do not know yet */
    uint32_t awareness;      /* Lifeguard health score, 0 = healthy */
} swim_stats_t;

void swim_stats (swim_t *self, swim_stats_t *out);

#endif
