/*  watch.c -- measures and invariants (see watch.h). */
#include "watch.h"
#include "str.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const double watch_levels[LEVELS] = { 0.50, 0.99, 0.999, 1.0 };

/* A tracked update that has not reached everyone after this long never will. */
#define UPDATE_GIVE_UP_US (120 * 1000000ull)

static void *grow (void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? 2 * *cap : 16;
    void *q = realloc (p, c * size);
    if (q)
        *cap = c;
    return q;
}

void watch_violation (watch_t *wt, const char *what, const char *fmt, ...)
{
    if (wt->n_violations < VIOLATIONS_KEPT) {
        violation_t *v = &wt->violations[wt->n_violations];
        v->at_us = wt->w->now;
        gl_strlcpy (v->what, what, sizeof v->what);
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (v->text, sizeof v->text, fmt, ap);
        va_end (ap);
    }
    wt->n_violations++;
}

/* The longest pause the "healthy" invariant allows: 5 s, or less when the
   shortest suspicion cannot outlast 5 s.  A pause is found by a probe at
   best probe_timeout after it begins, and the suspicion then lasts at
   least suspicion_mult * max(1, log10 n) probe intervals: 4 s below 10
   nodes with the default (memberlist's) timing, so there a pause of more
   than 4.5 s can be declared dead whatever the protocol does. */
static uint64_t max_gentle_pause (const world_t *w)
{
    const scen_t *s = w->scen;
    size_t crashes = 0;
    for (size_t i = 0; i < s->n_evs; i++)
        crashes += s->evs[i].kind == SE_CRASH ? s->evs[i].a_end - s->evs[i].a + 1 : 0;
    double n = s->nodes > crashes ? (double) (s->nodes - crashes) : 1;
    double scale = log10 (n) < 1 ? 1 : log10 (n);
    double min_ms =
        w->cfg.suspicion_mult * scale * w->cfg.probe_interval_ms + w->cfg.probe_timeout_ms;
    return min_ms < 5000 ? (uint64_t) (min_ms * 1000) : 5 * 1000000ull;
}

/* Invariant 1 holds only in a gentle world: decide from the scenario.  A
   clock that jumps forward mid-run fires its timers early, as if everyone
   else had paused, so it disarms the check too.  Pauses are judged node
   by node (watch_pause). */
static bool scenario_benign (const scen_t *s)
{
    if (s->loss > 0.01)
        return false;
    for (size_t i = 0; i < s->n_evs; i++) {
        const scen_ev_t *e = &s->evs[i];
        if ((e->kind == SE_LOSS || e->kind == SE_LINKLOSS) && e->value > 0.01)
            return false;
        if (e->kind == SE_PARTITION)
            return false;
        if (e->kind == SE_SKEW && (fabs (e->value) > 0.01 || (e->len_us && e->at_us > 0)))
            return false;
    }
    return true;
}

/* Long enough for a death to be declared and spread, and for push-pull to
   find the other side of a healed partition a couple of times. */
static uint64_t default_settle (const world_t *w)
{
    const swim_config_t *c = &w->cfg;
    double n = w->n > 1 ? w->n : 2;
    double scale = log10 (n) < 1 ? 1 : log10 (n);
    double suspicion = c->suspicion_mult * scale * c->probe_interval_ms * c->suspicion_max_mult;
    double pushpull = c->pushpull_interval_ms;
    if (n > 32)
        pushpull *= ceil (log2 (n) - 5) + 1;
    return (uint64_t) ((suspicion + 2 * pushpull) * 1000) + 30 * 1000000ull;
}

int watch_init (watch_t *wt, world_t *w)
{
    memset (wt, 0, sizeof *wt);
    wt->w = w;
    wt->max_pause_us = max_gentle_pause (w);
    wt->benign = scenario_benign (w->scen);
    {
        double n = w->n > 1 ? w->n : 2;
        double scale = log10 (n) < 1 ? 1 : log10 (n);
        wt->max_suspicion_us =
            (uint64_t) (w->cfg.suspicion_mult * scale * w->cfg.probe_interval_ms *
                        w->cfg.suspicion_max_mult * 1000);
    }
    wt->settle_us = w->scen->settle_us ? w->scen->settle_us : default_settle (w);
    wt->n_watchers = w->n < WATCHERS ? w->n : WATCHERS;
    wt->seen = calloc ((size_t) wt->n_watchers * w->n, sizeof *wt->seen);
    return wt->seen ? 0 : -1;
}

void watch_free (watch_t *wt)
{
    for (size_t i = 0; i < wt->n_upds; i++) {
        free (wt->upds[i].reached);
        free (wt->upds[i].took);
        free (wt->upds[i].paused0);
    }
    for (size_t i = 0; i < wt->n_crashes; i++)
        free (wt->crashes[i].need);
    free (wt->upds);
    free (wt->crashes);
    free (wt->open);
    free (wt->seen);
}

/* ---- updates ---------------------------------------------------------------------- */

static int cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* The levels, from the times of the nodes reached so far: a node's time
   does not count its pauses, so the order in which nodes were reached is
   not the order of their times. */
static void update_levels (watch_t *wt, upd_track_t *u)
{
    uint64_t *v = malloc ((u->got ? u->got : 1) * sizeof *v);
    if (!v)
        return;
    uint32_t n = 0;
    for (uint32_t i = 0; i < wt->w->n; i++)
        if (u->reached[i] == 1)
            v[n++] = u->took[i];
    qsort (v, n, sizeof *v, cmp_u64);
    for (int l = 0; l < LEVELS; l++) {
        uint32_t k = (uint32_t) ceil (watch_levels[l] * u->need);
        u->at[l] = k == 0 ? 0 : k <= n ? v[k - 1] : UINT64_MAX;
    }
    free (v);
}

/* The update's figures are final. */
static void update_done (watch_t *wt, upd_track_t *u)
{
    if (!u->active)
        return;
    u->active = false;
    update_levels (wt, u);
}

static void update_reach (watch_t *wt, upd_track_t *u, uint32_t node)
{
    if (u->reached[node])
        return;
    u->reached[node] = 1;
    u->took[node] = wt->w->now - u->t0 - (world_paused_us (wt->w, node) - u->paused0[node]);
    if (++u->got >= u->need)
        update_done (wt, u);
}

/* A node that crashes before the update reached it is no longer waited for. */
static void update_gone (watch_t *wt, upd_track_t *u, uint32_t node)
{
    if (!u->active || u->reached[node])
        return;
    u->reached[node] = 2;
    if (u->got >= --u->need)
        update_done (wt, u);
}

void watch_update (watch_t *wt, uint32_t origin, uint64_t seq)
{
    world_t *w = wt->w;
    upd_track_t *upds = grow (wt->upds, &wt->cap_upds, wt->n_upds, sizeof *upds);
    if (!upds)
        return;
    wt->upds = upds;
    upd_track_t *u = &upds[wt->n_upds];
    memset (u, 0, sizeof *u);
    u->reached = calloc (w->n, 1);
    u->took = calloc (w->n, sizeof *u->took);
    u->paused0 = calloc (w->n, sizeof *u->paused0);
    if (!u->reached || !u->took || !u->paused0) {
        free (u->reached);
        free (u->took);
        free (u->paused0);
        return;
    }
    wt->n_upds++;
    u->origin = origin;
    u->seq = seq;
    u->t0 = w->now;
    u->active = true;
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].up) {
            u->need++;
            u->paused0[i] = world_paused_us (w, i);
        }
        else
            u->reached[i] = 2; /* not counted, never waited for */
    for (int l = 0; l < LEVELS; l++)
        u->at[l] = UINT64_MAX;
    update_reach (wt, u, origin);
}

static bool upd_in_msg (const upd_track_t *u, const char *origin, const gl_msg_t *msg)
{
    for (uint32_t i = 0; i < msg->n_updates; i++) {
        const gl_update_t *x = &msg->updates[i];
        if (x->kind == GL_UPD_REC && x->rec.kind == GL_REC_RES && x->rec.seq >= u->seq &&
            !strcmp (x->rec.origin, origin))
            return true;
    }
    return false;
}

bool watch_carries (watch_t *wt, uint32_t to, const gl_msg_t *msg)
{
    for (size_t i = 0; i < wt->n_upds; i++) {
        upd_track_t *u = &wt->upds[i];
        if (u->active && !u->reached[to] && upd_in_msg (u, wt->w->names[u->origin], msg))
            return true;
    }
    return false;
}

void watch_delivered (watch_t *wt, uint32_t to, uint32_t from)
{
    world_t *w = wt->w;
    for (size_t i = 0; i < wt->n_upds; i++) {
        upd_track_t *u = &wt->upds[i];
        swim_member_t m;
        if (u->active && !u->reached[to] &&
            swim_lookup (w->nodes[to].swim, w->names[u->origin], &m) && m.has_res &&
            m.res_seq >= u->seq && m.generation == w->nodes[u->origin].generation) {
            update_reach (wt, u, to);
            if (w->trace)
                fprintf (w->trace,
                         "%" PRIu64 ".%06" PRIu64 " %s update %s seq=%" PRIu64
                         " took=%.6f from=%s\n",
                         w->now / 1000000, w->now % 1000000, w->names[to], w->names[u->origin],
                         u->seq, u->took[to] / 1e6, w->names[from]);
        }
    }
}

/* ---- crashes and deaths ------------------------------------------------------------ */

/* A pause (merged with the one it extends) longer than the limit makes
   the node fair game until its longest suspicion could have run out. */
void watch_pause (watch_t *wt, uint32_t node)
{
    node_t *n = &wt->w->nodes[node];
    if (n->paused_until - n->paused_since > wt->max_pause_us)
        n->unhealthy_until = n->paused_until + wt->max_suspicion_us;
}

static void crash_observer_gone (watch_t *wt, crash_track_t *c, uint32_t node)
{
    if (!c->active || !c->need[node])
        return;
    c->need[node] = 0;
    if (--c->left == 0) {
        c->took = wt->w->now - c->t0;
        c->active = false;
    }
}

void watch_crash (watch_t *wt, uint32_t node)
{
    world_t *w = wt->w;
    /* It no longer has to notice anything, and its false deaths end. */
    for (size_t i = 0; i < wt->n_upds; i++)
        update_gone (wt, &wt->upds[i], node);
    for (size_t i = 0; i < wt->n_crashes; i++) {
        crash_track_t *c = &wt->crashes[i];
        if (c->active && c->node == node) { /* crashed again before detected */
            c->active = false;
            c->restarted_first = true;
        }
        crash_observer_gone (wt, c, node);
    }
    for (size_t i = 0; i < wt->n_open;) {
        open_death_t *o = &wt->open[i];
        if (o->observer == node || o->subject == node) {
            uint64_t took = w->now - o->t0;
            wt->false_death_us += took;
            if (took > wt->false_death_max_us)
                wt->false_death_max_us = took;
            *o = wt->open[--wt->n_open];
        }
        else
            i++;
    }
    /* Its next life starts knowing nothing, so it may learn anything. */
    if (node < wt->n_watchers)
        memset (&wt->seen[(size_t) node * w->n], 0, w->n * sizeof *wt->seen);
    if (w->now < w->scen->warmup_us)
        return;
    crash_track_t *crashes = grow (wt->crashes, &wt->cap_crashes, wt->n_crashes, sizeof *crashes);
    if (!crashes)
        return;
    wt->crashes = crashes;
    crash_track_t *c = &crashes[wt->n_crashes];
    memset (c, 0, sizeof *c);
    c->need = calloc (w->n, 1);
    if (!c->need)
        return;
    wt->n_crashes++;
    c->node = node;
    c->generation = w->nodes[node].generation;
    c->t0 = w->now;
    c->took = UINT64_MAX;
    c->active = true;
    for (uint32_t i = 0; i < w->n; i++)
        if (i != node && w->nodes[i].up) {
            c->need[i] = 1;
            c->left++;
        }
    if (!c->left) {
        c->took = 0;
        c->active = false;
    }
}

static void on_dead (watch_t *wt, uint32_t observer, const swim_event_t *ev, uint32_t subject)
{
    world_t *w = wt->w;
    for (size_t i = 0; i < wt->n_crashes; i++) {
        crash_track_t *c = &wt->crashes[i];
        if (c->active && c->node == subject && c->generation == ev->generation)
            crash_observer_gone (wt, c, observer);
    }
    const node_t *s = &w->nodes[subject];
    if (ev->kind != SWIM_EV_DEAD || !s->up || s->generation != ev->generation)
        return;
    /* A node that is up was declared dead. */
    if (!net_reachable (&w->net, observer, subject)) {
        wt->partition_deaths++;
        return;
    }
    if (s->unhealthy_until > w->now) {
        wt->pause_deaths++;
        return;
    }
    wt->false_deaths++;
    open_death_t *open = grow (wt->open, &wt->cap_open, wt->n_open, sizeof *open);
    if (open) {
        wt->open = open;
        open[wt->n_open++] = (open_death_t){ observer, subject, ev->generation, w->now };
    }
    if (wt->benign && w->now >= w->scen->warmup_us)
        watch_violation (wt, "healthy",
                         "%s declared %s (generation %" PRIu64 ") dead, "
                         "though it is up and reachable%s",
                         w->names[observer], ev->node, ev->generation,
                         s->paused_until > w->now ? " (paused)" : "");
}

static void on_alive (watch_t *wt, uint32_t observer, uint32_t subject)
{
    for (size_t i = 0; i < wt->n_open;) {
        open_death_t *o = &wt->open[i];
        if (o->observer == observer && o->subject == subject) {
            uint64_t took = wt->w->now - o->t0;
            wt->false_death_us += took;
            if (took > wt->false_death_max_us)
                wt->false_death_max_us = took;
            *o = wt->open[--wt->n_open];
        }
        else
            i++;
    }
}

/* Invariant 4: a watcher's events about one subject never go back in
   (generation, incarnation). */
static void check_monotonic (watch_t *wt, uint32_t observer, uint32_t subject,
                             const swim_event_t *ev)
{
    if (observer >= wt->n_watchers || ev->generation >= (1ull << 31) ||
        ev->incarnation >= (1ull << 32))
        return;
    uint64_t *seen = &wt->seen[(size_t) observer * wt->w->n + subject];
    uint64_t v = ev->generation << 32 | ev->incarnation;
    if (v < *seen)
        watch_violation (wt, "monotonic",
                         "%s took %s about %s at generation %" PRIu64 " incarnation %" PRIu64
                         " after generation %" PRIu64 " incarnation %" PRIu64,
                         wt->w->names[observer], swim_event_name (ev->kind), ev->node,
                         ev->generation, ev->incarnation, *seen >> 32, *seen & 0xffffffffu);
    else
        *seen = v;
}

void watch_event (watch_t *wt, uint32_t observer, const swim_event_t *ev)
{
    world_t *w = wt->w;
    uint32_t subject = UINT32_MAX;
    if (ev->node[0] == 'n') {
        char *end;
        unsigned long v = strtoul (ev->node + 1, &end, 10);
        if (!*end && v < w->n)
            subject = (uint32_t) v;
    }
    if (ev->kind == SWIM_EV_REFUTED)
        wt->refutations++;
    if (subject == UINT32_MAX || subject == observer)
        return;
    if (ev->kind != SWIM_EV_BAD_RECORD)
        check_monotonic (wt, observer, subject, ev);
    switch (ev->kind) {
        case SWIM_EV_DEAD:
        case SWIM_EV_LEFT: on_dead (wt, observer, ev, subject); break;
        case SWIM_EV_ALIVE:
        case SWIM_EV_JOINED: on_alive (wt, observer, subject); break;
        case SWIM_EV_SUSPECT: wt->suspicions++; break;
        case SWIM_EV_BAD_RECORD:
            watch_violation (wt, "bad-record", "%s refused a record of %s from %s",
                             w->names[observer], ev->node, ev->from);
            break;
    }
}

/* ---- once a second, and at the end ---------------------------------------------------- */

/* Whether every live node sees every live node alive at its current
   generation and no node that is down alive; the first failure in `why`. */
static bool all_agree (watch_t *wt, char *why, size_t len, bool *restart_fault)
{
    world_t *w = wt->w;
    *restart_fault = false;
    for (uint32_t j = 0; j < w->n; j++) {
        if (!w->nodes[j].up)
            continue;
        for (uint32_t x = 0; x < w->n; x++) {
            if (x == j)
                continue;
            const node_t *s = &w->nodes[x];
            swim_member_t m;
            bool known = swim_lookup (w->nodes[j].swim, w->names[x], &m);
            bool live = known && (m.state == SWIM_ALIVE || m.state == SWIM_SUSPECT);
            if (s->up && (!live || m.generation != s->generation)) {
                snprintf (why, len,
                          "%s sees %s %s at generation %" PRIu64 " (it is alive at %" PRIu64 ")",
                          w->names[j], w->names[x], known ? swim_state_name (m.state) : "unknown",
                          known ? m.generation : 0, s->generation);
                *restart_fault = s->restarted;
                return false;
            }
            if (!s->up && known && m.generation == s->generation &&
                (m.state == SWIM_ALIVE || m.state == SWIM_SUSPECT) &&
                w->now - s->down_since >= wt->settle_us) {
                snprintf (why, len, "%s still sees %s %s, down since %.1f s", w->names[j],
                          w->names[x], swim_state_name (m.state), s->down_since / 1e6);
                return false;
            }
        }
    }
    return true;
}

void watch_second (watch_t *wt)
{
    world_t *w = wt->w;
    for (size_t i = 0; i < wt->n_upds; i++) {
        upd_track_t *u = &wt->upds[i];
        if (u->active && w->now - u->t0 > UPDATE_GIVE_UP_US)
            update_done (wt, u);
    }
    /* Note when the cluster first became whole; cheap (one swim_count per
       node) until it is. */
    if (!wt->all_joined) {
        uint32_t up = 0;
        for (uint32_t i = 0; i < w->n; i++)
            up += w->nodes[i].up;
        bool whole = true;
        for (uint32_t i = 0; i < w->n && whole; i++)
            if (w->nodes[i].up && swim_count_state (w->nodes[i].swim, SWIM_ALIVE) +
                                          swim_count_state (w->nodes[i].swim, SWIM_SUSPECT) !=
                                      up)
                whole = false;
        if (whole) {
            wt->all_joined = true;
            wt->converged_at = w->now;
        }
    }
}

void watch_finish (watch_t *wt)
{
    world_t *w = wt->w;
    for (size_t i = 0; i < wt->n_upds; i++)
        update_done (wt, &wt->upds[i]);
    /* Still-open false deaths count until the end. */
    for (size_t i = 0; i < wt->n_open; i++) {
        uint64_t took = w->now - wt->open[i].t0;
        wt->false_death_us += took;
        if (took > wt->false_death_max_us)
            wt->false_death_max_us = took;
    }
    if (w->now < w->last_fault_us + wt->settle_us ||
        w->now < w->scen->start_spread_us + wt->settle_us)
        return;
    wt->converge_checked = true;
    char why[200];
    bool restart_fault;
    if (!all_agree (wt, why, sizeof why, &restart_fault))
        watch_violation (wt, restart_fault ? "restart" : "converge",
                         "%.1f s after the last fault: %s", (w->now - w->last_fault_us) / 1e6, why);
}
