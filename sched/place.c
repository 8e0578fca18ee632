/*  place.c -- where should a new job run?  (see place.h for the design)

    The home side judges every member of the view, draws d of those that
    fit with weighted sampling without replacement, and remembers what it
    promised in a small fixed ledger.  It allocates nothing after
    place_new, so it cannot fail halfway.  (The candidate side is
    slots.c.) */

#include "place.h"
#include "rng.h"
#include "str.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An owner who left minutes ago is likelier to come back (and evict the
   job) than one gone for hours: a node's score grows from half to full
   over this long of owner absence. */
#define OWNER_GONE_S 3600

/* ---- small helpers -------------------------------------------------------- */

/* Copies a name into a GL_NAME_MAX + 1 buffer, cutting what does not fit. */
static void copy_name (char *dst, const char *src)
{
    gl_strlcpy (dst, src, GL_NAME_MAX + 1);
}

/* "1 free core", "2 free cores", "1.4 free cores": load averages make
   free cores fractional, and a user reads whole numbers best. */
static void say_cores (char *buf, size_t size, double cores, const char *what)
{
    long whole = lround (cores);
    if (fabs (cores - (double) whole) < 0.05)
        snprintf (buf, size, "%ld %s core%s", whole, what, whole == 1 ? "" : "s");
    else
        snprintf (buf, size, "%.1f %s cores", cores, what);
}

static const char *member_state_name (int state)
{
    switch (state) {
        case SWIM_ALIVE: return "alive";
        case SWIM_SUSPECT: return "suspect";
        case SWIM_DEAD: return "dead";
        case SWIM_LEFT: return "left";
        default: return "in an unknown state";
    }
}

/* ---- the home side -------------------------------------------------------- */

/* Cores and memory this home sent to a node recently.  ticket 0: unused. */
typedef struct {
    uint64_t ticket;
    char node[GL_NAME_MAX + 1];
    uint32_t cores;
    uint64_t mem_kb;
    uint64_t at_ms;
    uint32_t start_no; /* the job's number among the node's starts; 0: not yet */
} promise_t;

struct place_t {
    place_config_t config;
    uint64_t rng;
    uint64_t last_ticket;
    promise_t ledger[PLACE_LEDGER_MAX];
    place_policy_fn policy;
    void *policy_arg;
};

/* One node of the draw. */
typedef struct {
    size_t index;            /* into the candidates */
    double weight;           /* its score */
    double key;              /* its draw: the d largest keys win */
    char why[PLACE_WHY_MAX]; /* what made it fit, from the same judging */
} drawn_t;

void place_config_default (place_config_t *config)
{
    config->d = 3;
    config->max_res_age_ms = 0;
    config->ledger_ms = 5000;
}

place_t *place_new (const place_config_t *config, uint64_t seed)
{
    if (config->d < 1 || config->d > PLACE_D_MAX)
        return NULL;
    place_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->rng = seed;
    return self;
}

void place_destroy (place_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void place_cand_from_member (place_cand_t *cand, const swim_member_t *member, uint64_t now_ms)
{
    memset (cand, 0, sizeof *cand);
    copy_name (cand->name, member->name);
    cand->state = member->state;
    cand->is_self = member->is_self;
    cand->has_res = member->has_res;
    cand->res = member->res;
    /* Our own clock on both ends: the origin's clock may be off by seconds. */
    cand->res_age_ms = now_ms > member->res_recv_ms ? now_ms - member->res_recv_ms : 0;
}

/* Uniform in (0, 1]: never 0, whose logarithm the draw takes. */
static double rng_unit (place_t *self)
{
    return (double) ((gl_splitmix64 (&self->rng) >> 11) + 1) * 0x1p-53;
}

static bool decayed (const place_t *self, const promise_t *p, uint64_t now_ms)
{
    return p->ticket == 0 || now_ms >= p->at_ms + self->config.ledger_ms;
}

/* Writes a promise into a free or decayed entry, or over the oldest one
   when the ledger is full (it is the next to decay anyway). */
static uint64_t promise (place_t *self, const char *node, uint32_t cores, uint64_t mem_kb,
                         uint64_t now_ms)
{
    promise_t *slot = &self->ledger[0];
    for (size_t i = 0; i < PLACE_LEDGER_MAX; i++) {
        promise_t *p = &self->ledger[i];
        if (decayed (self, p, now_ms)) {
            slot = p;
            break;
        }
        if (p->at_ms < slot->at_ms)
            slot = p;
    }
    slot->ticket = ++self->last_ticket;
    copy_name (slot->node, node);
    slot->cores = cores;
    slot->mem_kb = mem_kb;
    slot->at_ms = now_ms;
    slot->start_no = 0;
    return slot->ticket;
}

/* What this home promised to node and its estimate does not show yet.
   A promise is in the estimate once the node's count of started guests
   reaches the job's start number; until its node says that number (the
   STARTED reply), or when the node restarted and counts afresh, it counts
   until it decays.  res NULL: every promise counts. */
static void promised_unseen (place_t *self, const char *node, uint64_t now_ms, const gl_res_t *res,
                             uint32_t *cores, uint64_t *mem_kb)
{
    *cores = 0;
    *mem_kb = 0;
    for (size_t i = 0; i < PLACE_LEDGER_MAX; i++) {
        const promise_t *p = &self->ledger[i];
        if (decayed (self, p, now_ms) || strcmp (p->node, node) != 0)
            continue;
        if (res && p->start_no && res->started >= p->start_no)
            continue;
        *cores += p->cores;
        *mem_kb += p->mem_kb;
    }
}

static void promised (place_t *self, const char *node, uint64_t now_ms, uint32_t *cores,
                      uint64_t *mem_kb)
{
    promised_unseen (self, node, now_ms, NULL, cores, mem_kb);
}

uint32_t place_promised (place_t *self, const char *node, uint64_t now_ms)
{
    uint32_t cores;
    uint64_t mem_kb;
    promised (self, node, now_ms, &cores, &mem_kb);
    return cores;
}

void place_started (place_t *self, uint64_t ticket, uint32_t start_no)
{
    for (size_t i = 0; ticket && i < PLACE_LEDGER_MAX; i++)
        if (self->ledger[i].ticket == ticket)
            self->ledger[i].start_no = start_no;
}

void place_done (place_t *self, uint64_t ticket)
{
    for (size_t i = 0; ticket && i < PLACE_LEDGER_MAX; i++)
        if (self->ledger[i].ticket == ticket)
            self->ledger[i].ticket = 0;
}

/* The refusal this job already had from node, or NULL. */
static const place_note_t *excluded (const place_req_t *req, const char *node)
{
    for (size_t i = 0; i < req->n_exclude; i++)
        if (strcmp (req->exclude[i].node, node) == 0)
            return &req->exclude[i];
    return NULL;
}

static void say_refused (char *buf, size_t size, const place_note_t *refusal)
{
    /* An earlier plan's ask[] already reads "refused: ..." */
    if (strncmp (refusal->why, "refused", 7) == 0)
        gl_strlcpy (buf, refusal->why, size);
    else if (refusal->why[0]) /* its reason, cut to fit a note */
        snprintf (buf, size, "refused: %.*s", (int) (PLACE_WHY_MAX - sizeof "refused: "),
                  refusal->why);
    else
        gl_strlcpy (buf, "refused this job", size);
}

/* Can the candidate take the job?  Returns its score, above 0, with what
   made it fit in why; or 0 with the reason it can't.  Pure: the same
   view, request, ledger and time give the same answer. */
static double judge (place_t *self, const place_cand_t *c, const place_req_t *req, bool allow_local,
                     uint64_t now_ms, char *why, size_t size)
{
    const gl_res_t *r = &c->res;
    uint32_t want = req->cores ? req->cores : 1;

    if (c->is_self && !allow_local) {
        snprintf (why, size, "local node (use --local)");
        return 0;
    }
    if (c->state != SWIM_ALIVE) {
        gl_strlcpy (why, member_state_name (c->state), size);
        return 0;
    }
    if (!c->has_res) {
        snprintf (why, size, "no estimate yet");
        return 0;
    }
    if (self->config.max_res_age_ms && c->res_age_ms > self->config.max_res_age_ms) {
        snprintf (why, size, "estimate %llu s old", (unsigned long long) (c->res_age_ms / 1000));
        return 0;
    }
    if (r->state == GL_RES_BUSY) {
        snprintf (why, size, "owner active");
        return 0;
    }
    if (r->state != GL_RES_IDLE) {
        snprintf (why, size, "unavailable");
        return 0;
    }

    uint32_t promised_cores;
    uint64_t promised_kb;
    promised_unseen (self, c->name, now_ms, r, &promised_cores, &promised_kb);
    /* its running guests (from its estimate) and our recent promises */
    uint32_t taken = promised_cores + r->guests;

    uint64_t avail_kb = r->mem_avail_kb > promised_kb ? r->mem_avail_kb - promised_kb : 0;
    if (avail_kb < req->mem_kb) {
        snprintf (why, size, "not enough memory");
        return 0;
    }
    /* Only what we promised rules a node out: its load only makes it less
       attractive.  Load is not a count of free slots (the guests it runs
       load it too, and peers sharing one machine all see its whole load);
       the owner's share of it already decides idle or busy, and the
       candidate's own slots have the last word. */
    if ((double) r->cores - taken + 0.5 < want) {
        if (taken >= r->cores)
            snprintf (why, size, "no free core (%u guests, %u promised)", r->guests,
                      promised_cores);
        else
            snprintf (why, size, "%u free cores, %u wanted", r->cores - taken, want);
        return 0;
    }
    /* load counts its guests already: whichever says less is free rules */
    double free_cores = fmin ((double) r->cores - r->load1_milli / 1000.0 - promised_cores,
                              (double) r->cores - taken);
    if (free_cores < 0)
        free_cores = 0;

    /* Memory left after the job, as a share of the machine, weighs in by
       up to half; so does how long the owner has been away. */
    double mem_share =
        r->mem_total_kb ? (double) (avail_kb - req->mem_kb) / (double) r->mem_total_kb : 0;
    double mem_factor = 0.5 + 0.5 * fmin (mem_share, 1.0);
    double away_s = r->owner_idle_s >= OWNER_GONE_S ? OWNER_GONE_S : r->owner_idle_s;
    double idle_factor = 0.5 + 0.5 * away_s / OWNER_GONE_S;

    say_cores (why, size, free_cores, "free");
    double score = fmax (free_cores, 0.25) * mem_factor * idle_factor;
    double own;
    char policy_why[PLACE_WHY_MAX];
    policy_why[0] = '\0';
    if (self->policy &&
        self->policy (self->policy_arg, c, req, score, &own, policy_why, sizeof policy_why) == 0) {
        if (own <= 0) {
            snprintf (why, size, "policy: %s", policy_why[0] ? policy_why : "not this node");
            return 0;
        }
        snprintf (why, size, "policy score %.2f", own);
        return own;
    }
    return score;
}

void place_set_policy (place_t *self, place_policy_fn fn, void *arg)
{
    self->policy = fn;
    self->policy_arg = arg;
}

static void pass (place_plan_t *plan, const char *node, const char *why)
{
    if (plan->n_passed == PLACE_PASSED_MAX) {
        plan->n_unlisted++;
        return;
    }
    place_note_t *note = &plan->passed[plan->n_passed++];
    copy_name (note->node, node);
    gl_strlcpy (note->why, why, sizeof note->why);
}

static void add_ask (place_plan_t *plan, const char *node, const char *why)
{
    place_note_t *note = &plan->ask[plan->n_ask++];
    copy_name (note->node, node);
    gl_strlcpy (note->why, why, sizeof note->why);
}

/* Promises the job to the node about to be asked; returns its name. */
static const char *ask_next (place_t *self, place_plan_t *plan, uint64_t now_ms)
{
    plan->ticket = 0;
    if (plan->next >= plan->n_ask)
        return NULL;
    const char *node = plan->ask[plan->next].node;
    plan->ticket = promise (self, node, plan->cores, plan->mem_kb, now_ms);
    return node;
}

/* glx -w: the pinned node is asked even when it looks unfit, since it
   knows its state better than our gossip does.  Only a node that cannot
   answer (dead, left, unknown) or has already refused is not asked. */
static const char *choose_pinned (place_t *self, const place_cand_t *cands, size_t n,
                                  const place_req_t *req, uint64_t now_ms, place_plan_t *plan)
{
    const place_cand_t *c = NULL;
    for (size_t i = 0; i < n && !c; i++)
        if (strcmp (cands[i].name, req->pin) == 0)
            c = &cands[i];

    char why[PLACE_WHY_MAX];
    const place_note_t *refusal = excluded (req, req->pin);
    if (!c)
        pass (plan, req->pin, "not a member of the cluster");
    else if (refusal) {
        say_refused (why, sizeof why, refusal);
        pass (plan, c->name, why);
    }
    else if (c->state == SWIM_DEAD || c->state == SWIM_LEFT)
        pass (plan, c->name, member_state_name (c->state));
    else {
        judge (self, c, req, true, now_ms, why, sizeof why);
        add_ask (plan, c->name, why);
    }
    return ask_next (self, plan, now_ms);
}

const char *place_choose (place_t *self, const place_cand_t *cands, size_t n,
                          const place_req_t *req, uint64_t now_ms, place_plan_t *plan)
{
    memset (plan, 0, sizeof *plan);
    plan->cores = req->cores ? req->cores : 1;
    plan->mem_kb = req->mem_kb;
    if (req->pin && req->pin[0])
        return choose_pinned (self, cands, n, req, now_ms, plan);

    /* Draw d of the fitting nodes, each with odds in proportion to its
       score and none twice: give each a key u^(1/w) for u uniform in (0,1]
       and keep the d largest (Efraimidis and Spirakis' one-pass weighted
       sampling; we compare log(u)/w, which orders the same).  One pass,
       no allocation, however large the view. */
    drawn_t draw[PLACE_D_MAX];
    size_t n_draw = 0;
    char why[PLACE_WHY_MAX];
    for (size_t i = 0; i < n; i++) {
        if (excluded (req, cands[i].name))
            continue;
        double w = judge (self, &cands[i], req, req->allow_local, now_ms, why, sizeof why);
        if (w <= 0)
            continue;
        double key = log (rng_unit (self)) / w;
        size_t at = n_draw; /* keep draw[] sorted by key, largest first */
        while (at > 0 && draw[at - 1].key < key)
            at--;
        if (at >= self->config.d)
            continue;
        if (n_draw < self->config.d)
            n_draw++;
        memmove (&draw[at + 1], &draw[at], (n_draw - 1 - at) * sizeof draw[0]);
        draw[at] = (drawn_t){ .index = i, .weight = w, .key = key };
        gl_strlcpy (draw[at].why, why, sizeof draw[at].why);
    }

    /* Ask the best of the draw first.  Insertion sort: d is tiny, and it
       is stable, so ties keep the order of the draw. */
    for (size_t i = 1; i < n_draw; i++) {
        drawn_t x = draw[i];
        size_t j = i;
        for (; j > 0 && draw[j - 1].weight < x.weight; j--)
            draw[j] = draw[j - 1];
        draw[j] = x;
    }
    for (size_t i = 0; i < n_draw; i++)
        add_ask (plan, cands[draw[i].index].name, draw[i].why);

    /* Then say why each other node was passed over, in the view's order. */
    for (size_t i = 0; i < n; i++) {
        bool asked = false;
        for (size_t k = 0; k < n_draw && !asked; k++)
            asked = draw[k].index == i;
        if (asked)
            continue;
        if (plan->n_passed == PLACE_PASSED_MAX) {
            plan->n_unlisted++; /* not listed: not judged again either */
            continue;
        }
        const place_note_t *refusal = excluded (req, cands[i].name);
        if (refusal)
            say_refused (why, sizeof why, refusal);
        else {
            char fit[PLACE_WHY_MAX - 16];
            if (judge (self, &cands[i], req, req->allow_local, now_ms, fit, sizeof fit) > 0)
                snprintf (why, sizeof why, "not drawn (%s)", fit);
            else
                gl_strlcpy (why, fit, sizeof why);
        }
        pass (plan, cands[i].name, why);
    }
    return ask_next (self, plan, now_ms);
}

const char *place_refused (place_t *self, place_plan_t *plan, const char *why, uint64_t now_ms)
{
    if (plan->next >= plan->n_ask)
        return NULL;
    place_note_t *note = &plan->ask[plan->next++];
    snprintf (note->why, sizeof note->why, "refused: %s", why && why[0] ? why : "no reason given");
    return ask_next (self, plan, now_ms);
}
