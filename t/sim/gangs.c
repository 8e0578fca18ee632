/*  gangs.c -- the gang plane in the simulator (see gangs.h). */
#include "gangs.h"
#include "gang.h"
#include "jobs.h"
#include "random.h"
#include "str.h"
#include "watch.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One node of a gang: its process, the home's word about it, and what the
   checks remember of it. */
typedef struct {
    uint32_t node;
    uint32_t procs;      /* the gang's processes running there */
    uint32_t home_procs; /* ... as its home believes */
    uint64_t ping_ms;    /* the host's clock at the home's last ping */
    uint32_t life;       /* the node's epoch that acc belongs to */
    uint64_t acc_term;   /* the highest (term, leader) it accepted */
    char acc_leader[GL_NAME_MAX + 1];
    uint64_t stop_since; /* µs: STOP in every slice since; 0: not */
    bool stop_told;
    bool stale_told; /* it went on leading under another's term: said */
} ghost_t;

#define RUN_RING 4 /* slices whose RUN decisions are counted at once */

typedef struct {
    char name[SCEN_NAME_MAX + 1];
    char id[GL_GPID_MAX + 1];
    uint32_t home, home_life;
    ghost_t *hosts;
    uint32_t n_hosts;
    bool started, home_done;
    /* the home's part (gang_home.c) */
    uint64_t seq, next_send_ms, next_ping_ms;
    bool dirty;
    /* checks and figures */
    uint64_t start_us, change_us;
    uint64_t run_slice[RUN_RING];
    uint32_t run_count[RUN_RING];
    uint64_t first_run_us, last_run_us;
    uint64_t run_told_for; /* the time a gang-run violation was told for */
    uint64_t *terms;       /* terms elected, with their leaders */
    uint32_t *term_leader;
    size_t n_terms, cap_terms;
    uint32_t leader; /* the last elected, UINT32_MAX: none */
    uint64_t leader_lost_us;
    bool leader_restarted; /* ... and its node is back, a new generation */
} sgang_t;

typedef struct {
    gang_t *g;
    uint64_t tick_at, slice_at; /* µs of the pending events, 0: none */
    uint32_t *mine;             /* gangs it hosts or is home of, in this life */
    size_t n_mine, cap_mine;
} gnode_t;

typedef struct {
    uint64_t *v;
    size_t n, cap;
} samples_t;

struct gangs {
    world_t *w;
    gang_config_t cfg;
    uint32_t cores;
    uint64_t seed;
    gnode_t *nodes;
    sgang_t *gangs;
    size_t n_gangs;
    uint64_t detect_us, bound_us;
    uint64_t changed_us; /* the last gang start, end or loss of a host */
    uint64_t part_at;    /* when the current partition began */
    uint64_t heal_at;    /* the last heal */
    /* the matrix check: the disturbance it waits to see settled */
    uint64_t conv_from;
    bool conv_pending, conv_checked;
    uint64_t heal_sampled; /* the heal whose convergence was measured */
    size_t conv_periods;
    /* figures */
    samples_t new_leader, new_leader_restart, first_run, conv, heal_conv;
    uint64_t elections, won, deposed, fenced, refused, placed, freed;
    uint64_t runs_checked;
};

/* ---- small helpers ---------------------------------------------------------------- */

static void sample (samples_t *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        uint64_t *grown = realloc (s->v, cap * sizeof *grown);
        if (!grown)
            return;
        s->v = grown;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

static int order_tl (uint64_t ta, const char *la, uint64_t tb, const char *lb)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp (la, lb);
}

static bool paused (const world_t *w, uint32_t i)
{
    return w->nodes[i].paused_until > w->now;
}

static bool running (const world_t *w, uint32_t i)
{
    return w->nodes[i].up && !paused (w, i);
}

static uint64_t local_ms (gangs_t *gs, uint32_t i)
{
    return world_local_ms (gs->w, i);
}

/* The gang of a cluster-wide id ("n5-1-17": index 16), or NULL. */
static sgang_t *gang_of_id (gangs_t *gs, const char *id)
{
    const char *dash = strrchr (id, '-');
    if (!dash)
        return NULL;
    char *end;
    unsigned long k = strtoul (dash + 1, &end, 10);
    if (*end || k == 0 || k > gs->n_gangs)
        return NULL;
    sgang_t *g = &gs->gangs[k - 1];
    return gl_streq (g->id, id) ? g : NULL;
}

static sgang_t *gang_named (gangs_t *gs, const char *name)
{
    for (size_t i = 0; i < gs->n_gangs; i++)
        if (gl_streq (gs->gangs[i].name, name))
            return &gs->gangs[i];
    return NULL;
}

static ghost_t *host_in (sgang_t *g, uint32_t node)
{
    for (uint32_t k = 0; k < g->n_hosts; k++)
        if (g->hosts[k].node == node)
            return &g->hosts[k];
    return NULL;
}

static void mine_add (gnode_t *n, uint32_t gang)
{
    for (size_t k = 0; k < n->n_mine; k++)
        if (n->mine[k] == gang)
            return;
    if (n->n_mine == n->cap_mine) {
        size_t cap = n->cap_mine ? 2 * n->cap_mine : 4;
        uint32_t *grown = realloc (n->mine, cap * sizeof *grown);
        if (!grown)
            return;
        n->mine = grown;
        n->cap_mine = cap;
    }
    n->mine[n->n_mine++] = gang;
}

/* ---- new, free -------------------------------------------------------------------- */

gangs_t *gangs_new (world_t *w, const gl_conf_t *conf)
{
    gangs_t *gs = calloc (1, sizeof *gs);
    if (!gs)
        return NULL;
    gs->w = w;
    gang_config_default (&gs->cfg);
    gs->cfg.slice_ms = conf->gang_slice_ms ? conf->gang_slice_ms : gs->cfg.slice_ms;
    gs->cores = w->scen->gang_cores ? w->scen->gang_cores : 1;
    rng_t r = rng_stream (w->scen->seed, RNG_GANG_NODE);
    gs->seed = rng_next (&r);
    gs->nodes = calloc (w->n, sizeof *gs->nodes);
    size_t n = 0;
    for (size_t i = 0; i < w->scen->n_evs; i++)
        n += w->scen->evs[i].kind == SE_GANG;
    gs->gangs = calloc (n ? n : 1, sizeof *gs->gangs);
    if (!gs->nodes || !gs->gangs) {
        gangs_free (&gs);
        return NULL;
    }
    for (size_t i = 0; i < w->scen->n_evs; i++) {
        const scen_ev_t *e = &w->scen->evs[i];
        if (e->kind != SE_GANG || gang_named (gs, e->gang))
            continue; /* a name said twice: the first gang has it */
        sgang_t *g = &gs->gangs[gs->n_gangs];
        uint32_t nodes[SCEN_GANG_MAX];
        int k = scen_parse_list (e->list, w->n, nodes, SCEN_GANG_MAX);
        if (k <= 0 || k > SCEN_GANG_MAX || !(g->hosts = calloc ((size_t) k, sizeof *g->hosts)))
            continue;
        gs->n_gangs++;
        gl_strlcpy (g->name, e->gang, sizeof g->name);
        /* named as a home names its gangs: HOME-GENERATION-N */
        snprintf (g->id, sizeof g->id, "n%u-1-%zu", e->a, gs->n_gangs);
        g->home = e->a;
        g->n_hosts = (uint32_t) k;
        for (int j = 0; j < k; j++)
            g->hosts[j].node = nodes[j];
        g->leader = UINT32_MAX;
    }
    const swim_config_t *c = &w->cfg;
    gs->detect_us =
        w->watch->max_suspicion_us + 2 * (uint64_t) c->probe_interval_ms * 1000 + 1000000;
    /* failure detection, a push-pull of gossip to find the other side of
       a healed partition, two of the matrix, the home's word again */
    gs->bound_us = w->scen->gang_bound_us
                       ? w->scen->gang_bound_us
                       : gs->detect_us + (uint64_t) c->pushpull_interval_ms * 1000 +
                             2 * (uint64_t) gs->cfg.sync_ms * 1000 +
                             (uint64_t) JOBS_GANG_RESEND_MS * 1000;
    return gs;
}

void gangs_free (gangs_t **self_p)
{
    gangs_t *gs = *self_p;
    if (!gs)
        return;
    for (uint32_t i = 0; gs->nodes && i < gs->w->n; i++) {
        gang_destroy (&gs->nodes[i].g);
        free (gs->nodes[i].mine);
    }
    for (size_t i = 0; i < gs->n_gangs; i++) {
        free (gs->gangs[i].hosts);
        free (gs->gangs[i].terms);
        free (gs->gangs[i].term_leader);
    }
    free (gs->nodes);
    free (gs->gangs);
    free (gs->new_leader.v);
    free (gs->new_leader_restart.v);
    free (gs->first_run.v);
    free (gs->conv.v);
    free (gs->heal_conv.v);
    free (gs);
    *self_p = NULL;
}

/* ---- the checks: fencing and leaders ----------------------------------------------- */

/* What node i of gang g accepted: its promise now, never lower than
   before in this life. */
static void accept (gangs_t *gs, sgang_t *g, ghost_t *h)
{
    world_t *w = gs->w;
    gang_info_t info;
    gnode_t *n = &gs->nodes[h->node];
    if (h->life != w->nodes[h->node].epoch) { /* a new life remembers nothing */
        h->life = w->nodes[h->node].epoch;
        h->acc_term = 0;
        h->acc_leader[0] = '\0';
        h->stop_since = 0;
        h->stop_told = false;
        h->stale_told = false;
    }
    if (!n->g || !gang_local_find (n->g, g->id, &info))
        return;
    int c = order_tl (info.promised_term, info.promised_leader, h->acc_term, h->acc_leader);
    if (c < 0 && info.promised_term) /* 0: the gang was forgotten, its processes gone */
        watch_violation (w->watch, "gang-fence",
                         "%s's promise for %s went back to term %" PRIu64 " of %s from %" PRIu64
                         " of %s",
                         w->names[h->node], g->name, info.promised_term, info.promised_leader,
                         h->acc_term, h->acc_leader);
    if (c > 0) {
        h->acc_term = info.promised_term;
        gl_strlcpy (h->acc_leader, info.promised_leader, sizeof h->acc_leader);
    }
    /* a leader (or candidate) stands for the term it promised itself: one
       that promised another's higher term and goes on is not fenced */
    bool stale = info.role != GANG_FOLLOWER && !gl_streq (info.promised_leader, w->names[h->node]);
    if (stale && !h->stale_told)
        watch_violation (w->watch, "gang-fence",
                         "%s goes on as %s of %s after accepting term %" PRIu64 " of %s",
                         w->names[h->node], info.role == GANG_LEADER ? "leader" : "candidate",
                         g->name, info.promised_term, info.promised_leader);
    h->stale_told = stale;
}

/* Node i says it leads g in `term` (elected, or placing the gang). */
static void acts_as_leader (gangs_t *gs, sgang_t *g, uint32_t i, uint64_t term, const char *what)
{
    world_t *w = gs->w;
    ghost_t *h = host_in (g, i);
    if (h && h->life == w->nodes[i].epoch &&
        order_tl (term, w->names[i], h->acc_term, h->acc_leader) < 0)
        watch_violation (w->watch, "gang-fence",
                         "%s %s %s in term %" PRIu64 " after accepting term %" PRIu64 " of %s",
                         w->names[i], what, g->name, term, h->acc_term, h->acc_leader);
}

static void elected (gangs_t *gs, sgang_t *g, uint32_t i, uint64_t term)
{
    world_t *w = gs->w;
    acts_as_leader (gs, g, i, term, "was elected for");
    for (size_t k = 0; k < g->n_terms; k++)
        if (g->terms[k] == term) {
            if (g->term_leader[k] != i)
                watch_violation (w->watch, "gang-leaders",
                                 "%s and %s were both elected in term %" PRIu64 " of %s",
                                 w->names[g->term_leader[k]], w->names[i], term, g->name);
            return;
        }
    if (g->n_terms == g->cap_terms) {
        size_t cap = g->cap_terms ? 2 * g->cap_terms : 4;
        uint64_t *t = realloc (g->terms, cap * sizeof *t);
        if (t)
            g->terms = t;
        uint32_t *l = realloc (g->term_leader, cap * sizeof *l);
        if (l)
            g->term_leader = l;
        if (!t || !l)
            return;
        g->cap_terms = cap;
    }
    g->terms[g->n_terms] = term;
    g->term_leader[g->n_terms++] = i;
    if (g->leader_lost_us) {
        sample (g->leader_restarted ? &gs->new_leader_restart : &gs->new_leader,
                w->now - g->leader_lost_us);
        g->leader_lost_us = 0;
    }
    g->leader = i;
}

static void on_event (gangs_t *gs, uint32_t i, const gang_event_t *e)
{
    sgang_t *g = gang_of_id (gs, e->gang);
    if (gs->w->trace)
        fprintf (gs->w->trace, "%" PRIu64 ".%06" PRIu64 " %s gang %s %s term=%" PRIu64 "%s%s%s%s\n",
                 gs->w->now / 1000000, gs->w->now % 1000000, gs->w->names[i], g ? g->name : e->gang,
                 gang_event_name (e->kind), e->term, e->leader[0] ? " leader=" : "", e->leader,
                 e->why[0] ? " why=" : "", e->why);
    if (!g)
        return;
    switch (e->kind) {
        case GANG_EV_ELECTED:
            gs->won++;
            elected (gs, g, i, e->term);
            break;
        case GANG_EV_PLACED:
            gs->placed++;
            acts_as_leader (gs, g, i, e->term, "placed");
            break;
        case GANG_EV_DEPOSED:
            gs->deposed++;
            if (strstr (e->why, "is higher"))
                gs->fenced++;
            break;
        case GANG_EV_REFUSED: gs->refused++; break;
        case GANG_EV_FREE: gs->freed++; break;
        default: break;
    }
}

/* ---- driving a node's gang_t ------------------------------------------------------- */

static bool hosts_here (gangs_t *gs, uint32_t i)
{
    gnode_t *n = &gs->nodes[i];
    for (size_t k = 0; k < n->n_mine; k++) {
        ghost_t *h = host_in (&gs->gangs[n->mine[k]], i);
        if (h && h->procs)
            return true;
    }
    return false;
}

static bool duties_here (gangs_t *gs, uint32_t i)
{
    return gs->nodes[i].n_mine > 0;
}

static void arm_slice (gangs_t *gs, uint32_t i)
{
    world_t *w = gs->w;
    gnode_t *n = &gs->nodes[i];
    if (n->slice_at > w->now || !hosts_here (gs, i))
        return;
    uint64_t slice = gs->cfg.slice_ms;
    uint64_t next = (local_ms (gs, i) / slice + 1) * slice;
    n->slice_at = world_global_us (w, i, next);
    if (n->slice_at <= w->now)
        n->slice_at = w->now + 1;
    world_push (w, n->slice_at, EV_SLICE, i, w->nodes[i].epoch);
}

/* After anything was handed to node i's gang_t: send what it wants sent,
   take its events, note what it accepted, and set its timers. */
static void gpump (gangs_t *gs, uint32_t i)
{
    world_t *w = gs->w;
    gnode_t *n = &gs->nodes[i];
    if (!n->g)
        return;
    gang_out_t o;
    while (gang_pop (n->g, &o)) {
        uint32_t to = world_node_of_name (w, o.to);
        world_send_plane (w, i, to, PLANE_GANG, 0, &o.msg);
    }
    gang_event_t e;
    while (gang_pop_event (n->g, &e))
        on_event (gs, i, &e);
    for (size_t k = 0; k < n->n_mine; k++) {
        sgang_t *g = &gs->gangs[n->mine[k]];
        ghost_t *h = host_in (g, i);
        if (h)
            accept (gs, g, h);
    }
    uint64_t now_ms = local_ms (gs, i), next = gang_next_deadline (n->g);
    if (duties_here (gs, i) && next > now_ms + 1000)
        next = now_ms + 1000; /* the jobs' timers: pings, orphans, the home's word */
    uint64_t at = world_global_us (w, i, next);
    if (at <= w->now)
        at = w->now + 1;
    if (n->tick_at <= w->now || at < n->tick_at) {
        n->tick_at = at;
        world_push (w, at, EV_GTICK, i, w->nodes[i].epoch);
    }
    arm_slice (gs, i);
}

void gangs_node_start (gangs_t *gs, uint32_t i)
{
    world_t *w = gs->w;
    gnode_t *n = &gs->nodes[i];
    gang_destroy (&n->g);
    n->n_mine = 0;
    n->tick_at = n->slice_at = 0;
    for (size_t k = 0; k < gs->n_gangs; k++) /* a leader's node back at once: a restart */
        if (gs->gangs[k].leader == i && gs->gangs[k].leader_lost_us == w->now)
            gs->gangs[k].leader_restarted = true;
    uint64_t seed = rng_mix (gs->seed ^ ((uint64_t) i << 20) ^ w->nodes[i].generation);
    n->g = gang_new (&gs->cfg, w->names[i], gs->cores, seed);
    if (!n->g) {
        fprintf (stderr, "glsim: cannot make the gang plane of node %u (out of memory?)\n", i);
        exit (2);
    }
    gpump (gs, i);
}

static void changed (gangs_t *gs, sgang_t *g)
{
    g->change_us = gs->w->now;
    gs->changed_us = gs->w->now;
}

void gangs_node_crash (gangs_t *gs, uint32_t i)
{
    world_t *w = gs->w;
    gnode_t *n = &gs->nodes[i];
    for (size_t k = 0; k < n->n_mine; k++) {
        sgang_t *g = &gs->gangs[n->mine[k]];
        ghost_t *h = host_in (g, i);
        if (h && h->procs) { /* its processes die with it */
            h->procs = 0;
            changed (gs, g);
        }
        if (g->home == i && g->home_life == w->nodes[i].epoch && !g->home_done) {
            g->home_done = true; /* so does the home's word: its hosts will be orphans */
            changed (gs, g);
        }
        if (g->leader == i && !g->leader_lost_us) {
            g->leader_lost_us = w->now;
            g->leader_restarted = false;
        }
    }
    gang_destroy (&n->g);
    n->n_mine = 0;
}

/* ---- the home and the host (sched/gang_home.c, host.c) ----------------------------- */

static bool home_here (gangs_t *gs, const sgang_t *g)
{
    return g->started && !g->home_done && gs->w->nodes[g->home].up &&
           g->home_life == gs->w->nodes[g->home].epoch;
}

/* MEMBERS to every node that hosted the gang: who hosts it now. */
static void home_say (gangs_t *gs, sgang_t *g, bool ended)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < g->n_hosts; k++)
        n += !ended && g->hosts[k].home_procs > 0;
    for (uint32_t k = 0; k < g->n_hosts; k++) {
        gl_gang_t *m = calloc (1, sizeof *m);
        gl_gang_peer_t *peers = n ? calloc (n, sizeof *peers) : NULL;
        if (!m || (n && !peers)) {
            free (m);
            free (peers);
            continue;
        }
        m->type = GL_GANG_MEMBERS;
        gl_strlcpy (m->gang, g->id, sizeof m->gang);
        m->seq = g->seq;
        uint32_t j = 0;
        for (uint32_t q = 0; q < g->n_hosts && n; q++)
            if (g->hosts[q].home_procs) {
                gl_strlcpy (peers[j].node, gs->w->names[g->hosts[q].node], sizeof peers[j].node);
                peers[j++].procs = g->hosts[q].home_procs;
            }
        m->peers = peers;
        m->n_peers = n;
        gl_msg_t msg = { .type = GL_MSG_GANG, .gang = m };
        world_send_plane (gs->w, g->home, g->hosts[k].node, PLANE_GANG, 0, &msg);
    }
}

static void home_tick (gangs_t *gs, sgang_t *g)
{
    if (!home_here (gs, g))
        return;
    uint64_t now = local_ms (gs, g->home);
    uint32_t left = 0;
    for (uint32_t k = 0; k < g->n_hosts; k++)
        left += g->hosts[k].home_procs;
    if (!left) {
        g->seq++;
        home_say (gs, g, true);
        g->home_done = true;
        return;
    }
    if (g->dirty || now >= g->next_send_ms) {
        g->seq += g->dirty;
        home_say (gs, g, false);
        g->dirty = false;
        g->next_send_ms = now + JOBS_GANG_RESEND_MS;
    }
    if (now >= g->next_ping_ms) {
        for (uint32_t k = 0; k < g->n_hosts; k++)
            if (g->hosts[k].home_procs)
                world_send_plane (gs->w, g->home, g->hosts[k].node, PLANE_PING,
                                  (uint32_t) (g - gs->gangs), NULL);
        g->next_ping_ms = now + JOBS_PING_MS;
    }
}

/* The home heard that host h's process is gone. */
static void home_lost (gangs_t *gs, sgang_t *g, ghost_t *h)
{
    if (!home_here (gs, g) || !h->home_procs)
        return;
    h->home_procs = 0;
    g->dirty = true;
    changed (gs, g);
    home_tick (gs, g);
}

/* Host h's process of g ends (finished, orphaned, its home lost). */
static void host_end (gangs_t *gs, sgang_t *g, ghost_t *h)
{
    gnode_t *n = &gs->nodes[h->node];
    if (!h->procs)
        return;
    if (n->g)
        gang_procs (n->g, g->id, -(int) h->procs, local_ms (gs, h->node));
    h->procs = 0;
    changed (gs, g);
    world_send_plane (gs->w, h->node, g->home, PLANE_EXIT, (uint32_t) (g - gs->gangs), NULL);
}

static void start_gang (gangs_t *gs, sgang_t *g)
{
    world_t *w = gs->w;
    if (g->started || !running (w, g->home))
        return; /* glx's node is down or stopped: it starts nothing */
    g->started = true;
    g->home_life = w->nodes[g->home].epoch;
    g->start_us = w->now;
    changed (gs, g);
    uint32_t idx = (uint32_t) (g - gs->gangs);
    mine_add (&gs->nodes[g->home], idx);
    uint32_t started = 0;
    for (uint32_t k = 0; k < g->n_hosts; k++) {
        ghost_t *h = &g->hosts[k];
        if (!running (w, h->node))
            continue; /* the RUN would not be answered: placed elsewhere, not here */
        h->procs = h->home_procs = 1;
        h->ping_ms = local_ms (gs, h->node);
        mine_add (&gs->nodes[h->node], idx);
        accept (gs, g, h);
        gang_procs (gs->nodes[h->node].g, g->id, 1, local_ms (gs, h->node));
        gpump (gs, h->node);
        started++;
    }
    g->dirty = true;
    home_tick (gs, g);
    gpump (gs, g->home);
}

void gangs_scen (gangs_t *gs, const scen_ev_t *e)
{
    sgang_t *g = gang_named (gs, e->gang);
    if (!g)
        return; /* a gang the scenario no longer has (the minimizer dropped it) */
    if (e->kind == SE_GANG)
        start_gang (gs, g);
    else if (g->started)
        for (uint32_t k = 0; k < g->n_hosts; k++)
            if (g->hosts[k].procs) /* the process exits; its agent sees it when it runs */
                world_push (gs->w, gs->w->now, EV_GEXIT, g->hosts[k].node,
                            (uint64_t) (g - gs->gangs) << 32 |
                                gs->w->nodes[g->hosts[k].node].epoch);
}

void gangs_swim_event (gangs_t *gs, uint32_t i, const swim_event_t *ev)
{
    gnode_t *n = &gs->nodes[i];
    if (!n->g)
        return;
    bool lost = ev->kind == SWIM_EV_DEAD || ev->kind == SWIM_EV_LEFT;
    if (ev->kind == SWIM_EV_JOINED || ev->kind == SWIM_EV_ALIVE)
        gang_node (n->g, ev->node, true);
    else if (lost)
        gang_node (n->g, ev->node, false);
    else
        return;
    uint32_t who = world_node_of_name (gs->w, ev->node);
    for (size_t k = 0; lost && who != UINT32_MAX && k < n->n_mine; k++) {
        sgang_t *g = &gs->gangs[n->mine[k]];
        ghost_t *h;
        if (g->home == i && (h = host_in (g, who)))
            home_lost (gs, g, h); /* jobs_node_lost at the home */
        if (g->home == who && (h = host_in (g, i)))
            host_end (gs, g, h); /* ... and at a host: its home is gone */
    }
    gpump (gs, i);
}

void gangs_recv (gangs_t *gs, uint32_t to, uint32_t from, int plane, uint32_t gang,
                 const gl_msg_t *msg)
{
    world_t *w = gs->w;
    gnode_t *n = &gs->nodes[to];
    if (!n->g)
        return;
    if (plane == PLANE_GANG) {
        if (msg->type == GL_MSG_GANG && msg->gang)
            gang_recv (n->g, w->names[from], msg->gang, local_ms (gs, to));
    }
    else if (gang < gs->n_gangs) {
        sgang_t *g = &gs->gangs[gang];
        ghost_t *h;
        if (plane == PLANE_PING && (h = host_in (g, to)) && h->procs && g->home == from)
            h->ping_ms = local_ms (gs, to);
        else if (plane == PLANE_EXIT && g->home == to && (h = host_in (g, from)))
            home_lost (gs, g, h);
    }
    gpump (gs, to);
}

/* ---- slices: the checks of what each host decides ----------------------------------- */

/* Since when the leader a host follows is gone for it: crashed, paused,
   or cut off; 0 when it is not. */
static uint64_t vanished_since (gangs_t *gs, uint32_t host, const char *leader)
{
    world_t *w = gs->w;
    uint32_t l = world_node_of_name (w, leader);
    if (l == UINT32_MAX || l == host)
        return 0;
    const node_t *n = &w->nodes[l];
    if (!n->up)
        return n->down_since ? n->down_since : 1;
    if (n->paused_until > w->now)
        return n->paused_since ? n->paused_since : 1;
    if (!net_reachable (&w->net, host, l))
        return gs->part_at ? gs->part_at : 1;
    return 0;
}

static void ran (gangs_t *gs, sgang_t *g, uint64_t slice)
{
    uint32_t need = 0;
    for (uint32_t k = 0; k < g->n_hosts; k++)
        need += g->hosts[k].procs > 0;
    size_t r = slice % RUN_RING;
    if (g->run_slice[r] != slice) {
        g->run_slice[r] = slice;
        g->run_count[r] = 0;
    }
    if (++g->run_count[r] < need)
        return;
    if (!g->first_run_us) {
        g->first_run_us = gs->w->now;
        sample (&gs->first_run, gs->w->now - g->start_us);
    }
    g->last_run_us = gs->w->now;
}

static void decide (gangs_t *gs, uint32_t i, sgang_t *g, ghost_t *h, uint64_t slice)
{
    world_t *w = gs->w;
    gnode_t *n = &gs->nodes[i];
    accept (gs, g, h);
    int d = gang_decide (n->g, g->id, slice);
    gang_info_t info;
    if (!gang_local_find (n->g, g->id, &info))
        return;
    if (d != GANG_FREE && order_tl (info.term, info.leader, h->acc_term, h->acc_leader) < 0)
        watch_violation (w->watch, "gang-fence",
                         "%s obeyed term %" PRIu64
                         " of %s for %s (%s) after accepting term %" PRIu64 " of %s",
                         w->names[i], info.term, info.leader, g->name,
                         d == GANG_RUN ? "run" : "stop", h->acc_term, h->acc_leader);
    if (d == GANG_RUN)
        ran (gs, g, slice);
    if (d != GANG_STOP) {
        h->stop_since = 0;
        h->stop_told = false;
        return;
    }
    if (!h->stop_since)
        h->stop_since = w->now;
    uint64_t gone = vanished_since (gs, i, info.leader);
    uint64_t limit = gs->detect_us + (uint64_t) gs->cfg.slice_ms * 1000;
    uint64_t from = gone > h->stop_since ? gone : h->stop_since;
    if (gone && !h->stop_told && w->now > from + limit) {
        h->stop_told = true;
        watch_violation (w->watch, "gang-stopped",
                         "%s has kept %s stopped for %.1f s; its leader %s is gone since %.1f s",
                         w->names[i], g->name, (w->now - h->stop_since) / 1e6, info.leader,
                         gone / 1e6);
    }
}

static void on_slice (gangs_t *gs, uint32_t i)
{
    gnode_t *n = &gs->nodes[i];
    uint64_t slice = gang_slice_of (n->g, local_ms (gs, i));
    for (size_t k = 0; k < n->n_mine; k++) {
        sgang_t *g = &gs->gangs[n->mine[k]];
        ghost_t *h = host_in (g, i);
        if (h && h->procs)
            decide (gs, i, g, h, slice);
    }
    gpump (gs, i);
}

static void on_tick (gangs_t *gs, uint32_t i)
{
    gnode_t *n = &gs->nodes[i];
    uint64_t now = local_ms (gs, i);
    for (size_t k = 0; k < n->n_mine; k++) {
        sgang_t *g = &gs->gangs[n->mine[k]];
        ghost_t *h = host_in (g, i);
        if (g->home == i)
            home_tick (gs, g);
        if (h && h->procs && now > h->ping_ms + JOBS_ORPHAN_MS)
            host_end (gs, g, h); /* an orphan: its home stopped pinging */
    }
    gang_tick (n->g, now);
    gpump (gs, i);
}

void gangs_event (gangs_t *gs, const ev_t *ev)
{
    world_t *w = gs->w;
    uint32_t i = ev->node;
    gnode_t *n = &gs->nodes[i];
    if (!n->g)
        return;
    switch (ev->kind) {
        case EV_GTICK:
            if (ev->arg != w->nodes[i].epoch || ev->at != n->tick_at)
                return;
            if (world_held (w, ev)) {
                n->tick_at = w->nodes[i].paused_until + 1;
                return;
            }
            n->tick_at = 0;
            on_tick (gs, i);
            break;
        case EV_SLICE:
            if (ev->arg != w->nodes[i].epoch || ev->at != n->slice_at)
                return;
            if (world_held (w, ev)) {
                n->slice_at = w->nodes[i].paused_until + 1;
                return;
            }
            n->slice_at = 0;
            on_slice (gs, i);
            break;
        case EV_GEXIT: {
            uint32_t gi = (uint32_t) (ev->arg >> 32);
            if ((uint32_t) ev->arg != w->nodes[i].epoch || gi >= gs->n_gangs || world_held (w, ev))
                return;
            ghost_t *h = host_in (&gs->gangs[gi], i);
            if (h)
                host_end (gs, &gs->gangs[gi], h);
            gpump (gs, i);
            break;
        }
        default: break;
    }
}

void gangs_net_changed (gangs_t *gs, bool healed)
{
    if (healed)
        gs->heal_at = gs->w->now;
    else if (!gs->part_at || gs->heal_at >= gs->part_at)
        gs->part_at = gs->w->now; /* a partition on top of one keeps its start */
}

uint32_t gangs_leader (gangs_t *gs, const char *name)
{
    sgang_t *g = gang_named (gs, name);
    uint32_t best = UINT32_MAX;
    uint64_t best_term = 0;
    for (uint32_t k = 0; g && k < g->n_hosts; k++) {
        ghost_t *h = &g->hosts[k];
        gang_info_t info;
        gnode_t *n = &gs->nodes[h->node];
        if (h->procs && n->g && gang_local_find (n->g, g->id, &info) && info.role == GANG_LEADER &&
            (best == UINT32_MAX || info.promised_term > best_term)) {
            best = h->node;
            best_term = info.promised_term;
        }
    }
    return best;
}

/* ---- once a second: does every gang run, is there one matrix ----------------------- */

/* A digest of the schedule node i's matrix gives: the live placements'
   gangs, rows and peers (a leader's renewals change none of it). */
static uint64_t schedule_digest (gangs_t *gs, uint32_t i)
{
    matrix_t *m = gang_matrix (gs->nodes[i].g);
    uint64_t h = 0x7363686564ull;
    for (size_t k = 0; k < matrix_count (m); k++) {
        const matrix_rec_t *r = matrix_at (m, k);
        if (r->place.ended)
            continue;
        h = matrix_hash (h, r->place.gang);
        uint64_t row = r->place.row;
        h = gl_splitmix64 (&(uint64_t){ h ^ row });
        for (uint32_t p = 0; p < r->place.n_peers; p++) {
            h = matrix_hash (h, r->peers[p].node);
            h = gl_splitmix64 (
                &(uint64_t){ h ^ ((uint64_t) r->peers[p].procs << 32 | r->peers[p].cores) });
        }
    }
    return h;
}

static bool one_matrix (gangs_t *gs, char *why, size_t len)
{
    world_t *w = gs->w;
    uint32_t first = UINT32_MAX;
    uint64_t d0 = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        if (!running (w, i) || !gs->nodes[i].g)
            continue;
        uint64_t d = schedule_digest (gs, i);
        if (first == UINT32_MAX) {
            first = i;
            d0 = d;
        }
        else if (d != d0) {
            snprintf (why, len, "%s holds %zu placements, %s %zu, not the same", w->names[first],
                      matrix_count (gang_matrix (gs->nodes[first].g)), w->names[i],
                      matrix_count (gang_matrix (gs->nodes[i].g)));
            return false;
        }
    }
    return true;
}

/* Can gang g run: its home and hosts up, unpaused, all reachable. */
static bool can_run (gangs_t *gs, const sgang_t *g)
{
    world_t *w = gs->w;
    if (!home_here (gs, g) || paused (w, g->home))
        return false;
    uint32_t live = 0;
    for (uint32_t k = 0; k < g->n_hosts; k++) {
        const ghost_t *h = &g->hosts[k];
        if (!h->procs)
            continue;
        if (!running (w, h->node) || !net_reachable (&w->net, h->node, g->home))
            return false;
        live++;
    }
    return live > 0;
}

void gangs_second (gangs_t *gs)
{
    world_t *w = gs->w;
    uint64_t fault = w->last_fault_us;
    for (size_t k = 0; k < gs->n_gangs; k++) {
        sgang_t *g = &gs->gangs[k];
        if (!g->started || !can_run (gs, g))
            continue;
        /* quiet since the last fault, its start or change: then it must
           run within the bound, and go on running */
        uint64_t since = fault > g->start_us ? fault : g->start_us;
        if (g->change_us > since)
            since = g->change_us;
        if (g->last_run_us > since)
            since = g->last_run_us;
        if (w->now < since + gs->bound_us || g->run_told_for == since)
            continue;
        g->run_told_for = since;
        watch_violation (w->watch, "gang-run",
                         "%s (on %u nodes) has not run coordinated in the %.1f s since %.1f s",
                         g->name, g->n_hosts, (w->now - since) / 1e6, since / 1e6);
    }
    /* the matrix: settled after the last disturbance? */
    uint64_t from = fault > gs->changed_us ? fault : gs->changed_us;
    if (!gs->n_gangs || w->now < from)
        return;
    if (from != gs->conv_from) { /* another disturbance: wait for it instead */
        gs->conv_from = from;
        gs->conv_pending = true;
    }
    if (!gs->conv_pending)
        return;
    char why[160];
    if (one_matrix (gs, why, sizeof why)) {
        gs->conv_pending = false;
        gs->conv_checked = true;
        gs->conv_periods++;
        sample (&gs->conv, w->now - gs->conv_from);
        /* the heal was the last fault: how long until one matrix again */
        if (gs->heal_at && gs->heal_at == fault && gs->heal_sampled != gs->heal_at) {
            gs->heal_sampled = gs->heal_at;
            sample (&gs->heal_conv, w->now - gs->heal_at);
        }
    }
    else if (w->now > gs->conv_from + gs->bound_us) {
        gs->conv_pending = false;
        gs->conv_checked = true;
        watch_violation (w->watch, "gang-matrix", "%.1f s after the last disturbance: %s",
                         (w->now - gs->conv_from) / 1e6, why);
    }
}

void gangs_finish (gangs_t *gs)
{
    for (size_t k = 0; k < gs->n_gangs; k++)
        gs->runs_checked += gs->gangs[k].first_run_us > 0;
}

/* ---- the report --------------------------------------------------------------------- */

static int cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    size_t n;
    double median, max;
} fig_t;

static fig_t fig (const samples_t *s)
{
    fig_t f = { s->n, 0, 0 };
    if (!s->n)
        return f;
    uint64_t *v = malloc (s->n * sizeof *v);
    if (!v)
        return f;
    memcpy (v, s->v, s->n * sizeof *v);
    qsort (v, s->n, sizeof *v, cmp_u64);
    f.median = v[(s->n - 1) / 2] / 1e6;
    f.max = v[s->n - 1] / 1e6;
    free (v);
    return f;
}

static size_t started (const gangs_t *gs)
{
    size_t n = 0;
    for (size_t k = 0; k < gs->n_gangs; k++)
        n += gs->gangs[k].started;
    return n;
}

void gangs_report_text (FILE *f, const gangs_t *gs)
{
    const world_t *w = gs->w;
    fig_t nl = fig (&gs->new_leader), nr = fig (&gs->new_leader_restart), fr = fig (&gs->first_run),
          cv = fig (&gs->conv), hc = fig (&gs->heal_conv);
    fprintf (f,
             "\ngangs: %zu started of %zu, slice %u ms, %u slot%s a node; bound %.0f s, "
             "failure detection %.1f s\n",
             started (gs), gs->n_gangs, gs->cfg.slice_ms, gs->cores, gs->cores == 1 ? "" : "s",
             gs->bound_us / 1e6, gs->detect_us / 1e6);
    fprintf (f,
             "  elected %" PRIu64 ", placed %" PRIu64 ", deposed %" PRIu64
             " (fenced by a higher term %" PRIu64 "), orders refused %" PRIu64
             ", uncoordinated %" PRIu64 "\n",
             gs->won, gs->placed, gs->deposed, gs->fenced, gs->refused, gs->freed);
    fprintf (f, "  first coordinated slice after start (%zu):  median %.2f s   max %.2f s\n", fr.n,
             fr.median, fr.max);
    fprintf (f, "  new leader after its leader's node crashed (%zu):  median %.2f s   max %.2f s\n",
             nl.n, nl.median, nl.max);
    fprintf (f, "  ... restarted (%zu):  median %.2f s   max %.2f s\n", nr.n, nr.median, nr.max);
    fprintf (f, "  one matrix after a disturbance (%zu):  median %.1f s   max %.1f s\n", cv.n,
             cv.median, cv.max);
    fprintf (f, "  one matrix after a heal (%zu):  median %.1f s   max %.1f s\n", hc.n, hc.median,
             hc.max);
    double ns = w->node_seconds > 0 ? w->node_seconds : 1;
    double bytes = w->gang_sampled_msgs
                       ? (double) w->gang_sampled_bytes / w->gang_sampled_msgs * w->gang_msgs
                       : 0;
    fprintf (f,
             "  traffic per node: %.2f msgs/s, %.3f KB/s, %.3f links opened/s (lost %" PRIu64 ")\n",
             w->gang_msgs / ns, bytes / ns / 1000, w->gang_links / ns, w->gang_lost);
}

void gangs_report_json (FILE *f, const gangs_t *gs)
{
    const world_t *w = gs->w;
    fig_t nl = fig (&gs->new_leader), nr = fig (&gs->new_leader_restart), fr = fig (&gs->first_run),
          cv = fig (&gs->conv), hc = fig (&gs->heal_conv);
    double ns = w->node_seconds > 0 ? w->node_seconds : 1;
    fprintf (f,
             "\"gangs\":{\"started\":%zu,\"count\":%zu,\"slice_ms\":%u,\"bound_s\":%.3f,"
             "\"elected\":%" PRIu64 ",\"placed\":%" PRIu64 ",\"deposed\":%" PRIu64
             ",\"fenced\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"uncoordinated\":%" PRIu64 ",",
             started (gs), gs->n_gangs, gs->cfg.slice_ms, gs->bound_us / 1e6, gs->won, gs->placed,
             gs->deposed, gs->fenced, gs->refused, gs->freed);
    fprintf (f,
             "\"first_run\":{\"n\":%zu,\"median_s\":%.3f,\"max_s\":%.3f},"
             "\"new_leader\":{\"n\":%zu,\"median_s\":%.3f,\"max_s\":%.3f},"
             "\"new_leader_restart\":{\"n\":%zu,\"median_s\":%.3f,\"max_s\":%.3f},"
             "\"matrix\":{\"n\":%zu,\"median_s\":%.3f,\"max_s\":%.3f,\"checked\":%s},"
             "\"heal\":{\"n\":%zu,\"median_s\":%.3f,\"max_s\":%.3f},",
             fr.n, fr.median, fr.max, nl.n, nl.median, nl.max, nr.n, nr.median, nr.max, cv.n,
             cv.median, cv.max, gs->conv_checked ? "true" : "false", hc.n, hc.median, hc.max);
    fprintf (f, "\"msgs_per_node_s\":%.3f,\"lost\":%" PRIu64 "},", w->gang_msgs / ns, w->gang_lost);
}
