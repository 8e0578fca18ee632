/*  world.c -- the simulated cluster (see world.h). */
#include "world.h"
#include "watch.h"
#include "gangs.h"
#include "swim_conf.h"
#include "seal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEEDS         3       /* nodes 0..2 are every node's seeds */
#define CLOCK_BASE_MS 1000000 /* local clocks never start at 0 */

/* A message on the wire. */
typedef struct {
    uint32_t from;
    uint8_t plane; /* PLANE_SWIM, ... */
    uint32_t gang; /* PLANE_PING, PLANE_EXIT: the gang */
    gl_msg_t msg;
} flight_t;

/* ---- a cheap signer ----------------------------------------------------------
   A node's "key" is its number; a signature is a keyed 64-bit hash of the
   fields the real signature covers.  It catches every relay that changes a
   record, at a tiny fraction of Ed25519's cost. */

static uint64_t mix (uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

static uint64_t mix_str (uint64_t h, const char *s)
{
    uint64_t word = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        word = (word << 8) | (uint8_t) s[i];
        if ((i & 7) == 7) {
            h = mix (h, word);
            word = 0;
        }
    }
    return mix (h, word ^ i);
}

static uint64_t digest (const gl_rec_t *rec, const uint8_t *key)
{
    uint64_t h, k;
    memcpy (&k, key, sizeof k);
    h = mix (k, rec->kind);
    h = mix_str (h, rec->origin);
    h = mix (h, rec->generation);
    h = mix (h, rec->seq);
    h = mix (h, rec->time_ms);
    h = mix_str (h, rec->addr);
    for (size_t i = 0; i < GL_PUBKEY_BYTES; i += 8) {
        uint64_t part;
        memcpy (&part, rec->pubkey + i, 8);
        h = mix (h, part);
    }
    const gl_res_t *r = &rec->res;
    h = mix (h, r->cores);
    h = mix (h, r->load1_milli);
    h = mix (h, r->load_recent_milli);
    h = mix (h, r->owner_load_milli);
    h = mix (h, r->mem_total_kb);
    h = mix (h, r->mem_avail_kb);
    h = mix (h, r->owner_idle_s);
    h = mix (h, r->guests);
    h = mix (h, r->started);
    return mix (h, r->state);
}

static int fake_sign (void *ctx, gl_rec_t *rec)
{
    const node_t *node = ctx;
    uint64_t h = digest (rec, node->pubkey);
    memset (rec->sig, 0, sizeof rec->sig);
    memcpy (rec->sig, &h, sizeof h);
    return 0;
}

static int fake_verify (void *ctx, const gl_rec_t *rec, const uint8_t pubkey[GL_PUBKEY_BYTES])
{
    (void) ctx;
    uint64_t h = digest (rec, pubkey), sig;
    memcpy (&sig, rec->sig, sizeof sig);
    return h == sig ? 0 : -1;
}

/* ---- clocks ------------------------------------------------------------------- */

uint64_t world_local_ms (const world_t *w, uint32_t i)
{
    const node_t *n = &w->nodes[i];
    uint64_t elapsed = w->now - n->anchor_us;
    if (n->drift == 0)
        return n->anchor_ms + elapsed / 1000;
    return n->anchor_ms + (uint64_t) ((double) elapsed * (1.0 + n->drift) / 1000.0);
}

uint64_t world_paused_us (const world_t *w, uint32_t i)
{
    const node_t *n = &w->nodes[i];
    uint64_t end = n->paused_until < w->now ? n->paused_until : w->now;
    return n->paused_before + (end > n->paused_since ? end - n->paused_since : 0);
}

/* The first simulated µs at which node i's clock reads `ms` or later. */
uint64_t world_global_us (const world_t *w, uint32_t i, uint64_t ms)
{
    const node_t *n = &w->nodes[i];
    if (ms <= n->anchor_ms)
        return n->anchor_us;
    uint64_t d = ms - n->anchor_ms;
    if (d > UINT64_MAX / 4000)
        return UINT64_MAX / 2;
    if (n->drift == 0)
        return n->anchor_us + d * 1000;
    uint64_t t = n->anchor_us + (uint64_t) floor ((double) d * 1000.0 / (1.0 + n->drift));
    while (n->anchor_ms + (uint64_t) ((double) (t - n->anchor_us) * (1.0 + n->drift) / 1000.0) < ms)
        t++;
    return t;
}

/* Change node i's clock from now on, keeping it monotonic: an offset only
   moves it forward (a clock that jumps, as after a stall), the drift
   changes its rate. */
static void set_clock (world_t *w, uint32_t i, uint64_t forward_ms, double drift)
{
    node_t *n = &w->nodes[i];
    n->anchor_ms = world_local_ms (w, i) + forward_ms;
    n->anchor_us = w->now;
    n->drift = drift;
}

/* ---- nodes -------------------------------------------------------------------- */

uint32_t world_node_of_name (const world_t *w, const char *name)
{
    if (name[0] != 'n')
        return UINT32_MAX;
    char *end;
    unsigned long v = strtoul (name + 1, &end, 10);
    return *end || v >= w->n ? UINT32_MAX : (uint32_t) v;
}

static uint32_t node_of_addr (const world_t *w, const char *addr)
{
    if (strncmp (addr, "sim://", 6))
        return UINT32_MAX;
    char *end;
    unsigned long v = strtoul (addr + 6, &end, 10);
    return *end || v >= w->n ? UINT32_MAX : (uint32_t) v;
}

static void push (world_t *w, uint64_t at, uint32_t kind, uint32_t node, uint64_t arg, void *ptr)
{
    ev_t ev = { .at = at, .kind = kind, .node = node, .arg = arg, .ptr = ptr };
    if (evq_push (&w->q, ev)) {
        fprintf (stderr, "glsim: out of memory\n");
        exit (2);
    }
}

void world_push (world_t *w, uint64_t at, uint32_t kind, uint32_t node, uint64_t arg)
{
    push (w, at, kind, node, arg, NULL);
}

/* The wire size of a message: the real codec, plus the envelope. */
static size_t wire_size (world_t *w, const gl_msg_t *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (gl_msg_encode (msg, &buf, &len))
        len = 0;
    free (buf);
    len += w->envelope_bytes;
    return len + conn_frame_bytes (len);
}

/* Count a message sent.  Encoding every message would take half of the
   run (a push-pull of a thousand nodes is 3,000 updates), so unless
   bytes_exact is set, one in SAMPLE_EVERY of each type is encoded and
   the rest are counted at their type's average, which comes within a
   percent or two. */
#define SAMPLE_EVERY 32
static void count_sent (world_t *w, const gl_msg_t *msg)
{
    int t = msg->type & 7;
    w->msgs++;
    w->msgs_by_type[t]++;
    if (w->bytes_exact || w->msgs_by_type[t] % SAMPLE_EVERY == 1) {
        size_t size = wire_size (w, msg);
        w->sampled_msgs[t]++;
        w->sampled_bytes[t] += size;
    }
}

/* A flight from the freelist, else malloc'd. */
static flight_t *flight_new (world_t *w)
{
    flight_t *f = w->spare_flights;
    if (!f)
        return malloc (sizeof *f);
    memcpy (&w->spare_flights, f, sizeof w->spare_flights);
    return f;
}

static void flight_put (world_t *w, flight_t *f)
{
    memcpy (f, &w->spare_flights, sizeof w->spare_flights);
    w->spare_flights = f;
}

static void send_out (world_t *w, uint32_t from, swim_out_t *out)
{
    uint32_t to =
        out->to_name[0] ? world_node_of_name (w, out->to_name) : node_of_addr (w, out->to_addr);
    if (w->now >= w->scen->warmup_us)
        count_sent (w, &out->msg);
    /* the agent's link to it: reused, or set up first (a node that is down
       refuses the connection: nothing of ZMTP's goes on the wire) */
    if (to != UINT32_MAX && w->nodes[to].up) {
        conn_how_t how = conns_use (&w->conns, from, to, w->now);
        if (w->now >= w->scen->warmup_us && how == CONN_OPENED) {
            w->links_opened++;
            w->setup_bytes += CONN_SETUP_BYTES;
        }
        else if (w->now >= w->scen->warmup_us && how == CONN_ROUTED)
            w->routed++;
    }
    uint64_t delay;
    flight_t *f;
    if (to == UINT32_MAX || !net_send (&w->net, from, to, &delay) || !(f = flight_new (w))) {
        w->lost++;
        swim_pool_reuse (w->pool, &out->msg);
        return;
    }
    f->from = from;
    f->plane = PLANE_SWIM;
    f->gang = 0;
    f->msg = out->msg;
    push (w, w->now + delay, EV_DELIVER, to, 0, f);
}

void world_send_plane (world_t *w, uint32_t from, uint32_t to, int plane, uint32_t gang,
                       gl_msg_t *msg)
{
    gl_msg_t none = { 0 };
    if (!msg)
        msg = &none;
    bool counted = plane == PLANE_GANG && w->now >= w->scen->warmup_us;
    if (counted) {
        w->gang_msgs++;
        if (w->bytes_exact || w->gang_msgs % SAMPLE_EVERY == 1) {
            w->gang_sampled_msgs++;
            w->gang_sampled_bytes += wire_size (w, msg);
        }
    }
    /* the gang plane's messages go on the agent's links, as gossip's */
    if (to < w->n && w->nodes[to].up && conns_use (&w->conns, from, to, w->now) == CONN_OPENED &&
        counted)
        w->gang_links++;
    uint64_t delay;
    flight_t *f;
    if (to >= w->n ||
        !net_send_on (&w->net, &w->gang_loss_rng, &w->gang_delay_rng, plane == PLANE_GANG, from, to,
                      &delay) ||
        !(f = flight_new (w))) {
        if (plane == PLANE_GANG)
            w->gang_lost++;
        gl_msg_clear (msg);
        return;
    }
    f->from = from;
    f->plane = (uint8_t) plane;
    f->gang = gang;
    f->msg = *msg;
    memset (msg, 0, sizeof *msg);
    push (w, w->now + delay, EV_DELIVER, to, 0, f);
}

static void trace_event (world_t *w, uint32_t i, const swim_event_t *ev)
{
    fprintf (w->trace, "%" PRIu64 ".%06" PRIu64 " %s %s %s gen=%" PRIu64 " inc=%" PRIu64 "%s%s\n",
             w->now / 1000000, w->now % 1000000, w->names[i], swim_event_name (ev->kind), ev->node,
             ev->generation, ev->incarnation, ev->from[0] ? " from=" : "", ev->from);
}

/* After swim_recv or swim_tick: send what it wants sent, take its events,
   and make sure a tick is due by its next deadline. */
static void pump (world_t *w, uint32_t i)
{
    node_t *n = &w->nodes[i];
    swim_out_t out;
    while (swim_pop (n->swim, &out))
        send_out (w, i, &out);
    swim_event_t ev;
    while (swim_pop_event (n->swim, &ev)) {
        if (w->trace)
            trace_event (w, i, &ev);
        watch_event (w->watch, i, &ev);
        if (w->gangs)
            gangs_swim_event (w->gangs, i, &ev);
    }
    uint64_t at = world_global_us (w, i, swim_next_deadline (n->swim));
    if (at <= w->now)
        at = w->now + 1;
    if (n->tick_at <= w->now || at < n->tick_at) {
        n->tick_at = at;
        push (w, at, EV_TICK, i, n->epoch, NULL);
    }
}

static void publish_res (world_t *w, uint32_t i)
{
    node_t *n = &w->nodes[i];
    /* A plausible estimate that changes with every publication. */
    gl_res_t res = {
        .cores = 8,
        .load1_milli = (uint32_t) (n->res_seq * 37 % 8000),
        .load_recent_milli = (uint32_t) (n->res_seq * 53 % 8000),
        .owner_load_milli = 0,
        .mem_total_kb = 16u << 20,
        .mem_avail_kb = (12u << 20) - n->res_seq % 1000,
        .owner_idle_s = 600,
        .state = GL_RES_IDLE,
    };
    n->res_seq++;
    swim_set_res (n->swim, &res, world_local_ms (w, i));
}

/* The next refresh of node i's estimate, as glpeer's sample() times it:
   after the refresh interval less or more 10 % (drawn anew each time, so
   that nodes started together drift apart), at the first sample of the
   estimate from then on.  Also after a publication of news. */
static void schedule_refresh (world_t *w, uint32_t i)
{
    node_t *n = &w->nodes[i];
    uint64_t jittered = w->refresh_ms / 10 * 9 + rng_below (&n->refresh_rng, w->refresh_ms / 5 + 1);
    uint64_t samples = (jittered + w->sample_ms - 1) / w->sample_ms;
    n->refresh_at = world_global_us (w, i, world_local_ms (w, i) + samples * w->sample_ms);
    if (n->refresh_at <= w->now)
        n->refresh_at = w->now + 1;
    push (w, n->refresh_at, EV_REFRESH, i, n->epoch, NULL);
}

static void node_start (world_t *w, uint32_t i)
{
    node_t *n = &w->nodes[i];
    n->generation++;
    n->epoch++;
    uint64_t seed = w->node_seed ^ ((uint64_t) i << 20) ^ n->generation;
    n->swim = swim_new_in (w->pool, &w->cfg, w->names[i], w->addrs[i], n->generation, n->pubkey,
                           &n->signer, rng_mix (seed), world_local_ms (w, i));
    if (!n->swim) {
        fprintf (stderr, "glsim: cannot make node %u (out of memory?)\n", i);
        exit (2);
    }
    n->up = true;
    n->up_since = w->now;
    conns_started (&w->conns, i, w->now);
    n->paused_until = n->paused_since = n->paused_before = 0;
    n->res_seq = 0;
    n->refresh_rng.state = rng_mix (w->refresh_seed ^ ((uint64_t) i << 20) ^ n->generation);
    const char *seeds[SEEDS];
    size_t n_seeds = 0;
    for (uint32_t s = 0; s < SEEDS && s < w->n; s++)
        if (s != i)
            seeds[n_seeds++] = w->addrs[s];
    uint64_t local = world_local_ms (w, i);
    publish_res (w, i); /* glpeer samples once before joining */
    if (n_seeds)
        swim_join (n->swim, seeds, n_seeds, local);
    n->tick_at = 0;
    if (w->gangs)
        gangs_node_start (w->gangs, i);
    pump (w, i);
    schedule_refresh (w, i);
}

static void count_up_time (world_t *w, uint32_t i)
{
    node_t *n = &w->nodes[i];
    uint64_t from = n->up_since > w->scen->warmup_us ? n->up_since : w->scen->warmup_us;
    if (n->up && w->now > from)
        w->node_seconds += (double) (w->now - from) / 1e6;
}

static void node_crash (world_t *w, uint32_t i)
{
    node_t *n = &w->nodes[i];
    if (!n->up)
        return;
    watch_crash (w->watch, i);
    if (w->gangs)
        gangs_node_crash (w->gangs, i);
    count_up_time (w, i);
    swim_destroy (&n->swim);
    conns_crashed (&w->conns, i);
    n->up = false;
    n->epoch++;
    n->down_since = w->now;
}

/* ---- scenario events ------------------------------------------------------------ */

static void run_scen (world_t *w, const scen_ev_t *ev)
{
    scen_ev_t resolved;
    const scen_ev_t *e = ev;
    if (ev->kind == SE_GANG || ev->kind == SE_GANG_END) {
        if (w->gangs)
            gangs_scen (w->gangs, ev);
        return;
    }
    if (ev->leader) {
        /* the node leading the gang now; nothing when it has none */
        resolved = *ev;
        resolved.a = resolved.a_end = w->gangs ? gangs_leader (w->gangs, ev->gang) : UINT32_MAX;
        if (resolved.a == UINT32_MAX) {
            if (w->trace)
                fprintf (w->trace, "%" PRIu64 ".%06" PRIu64 " %s leader %s: no leader\n",
                         w->now / 1000000, w->now % 1000000, scen_kind_name (ev->kind), ev->gang);
            return;
        }
        e = &resolved;
        if (w->trace)
            fprintf (w->trace, "%" PRIu64 ".%06" PRIu64 " %s leader %s: %s\n", w->now / 1000000,
                     w->now % 1000000, scen_kind_name (ev->kind), ev->gang, w->names[e->a]);
    }
    for (uint32_t i = e->a; i <= e->a_end && i < w->n; i++) {
        node_t *n = &w->nodes[i];
        switch (e->kind) {
            case SE_CRASH: node_crash (w, i); break;
            case SE_RESTART:
                node_crash (w, i);
                n->restarted = true;
                node_start (w, i);
                break;
            case SE_PAUSE:
                if (n->up && n->paused_until < w->now + e->len_us) {
                    if (n->paused_until <= w->now) {
                        n->paused_before += n->paused_until - n->paused_since;
                        n->paused_since = w->now;
                    }
                    n->paused_until = w->now + e->len_us;
                    watch_pause (w->watch, i);
                }
                break;
            case SE_SKEW:
                set_clock (w, i, e->len_us / 1000, e->value);
                if (n->up) {
                    n->tick_at = 0;
                    pump (w, i);
                }
                break;
            case SE_UPDATE:
                if (n->up) {
                    publish_res (w, i);
                    swim_member_t me;
                    swim_lookup (n->swim, w->names[i], &me);
                    watch_update (w->watch, i, me.res_seq);
                    schedule_refresh (w, i);
                    if (n->paused_until <= w->now)
                        pump (w, i);
                }
                break;
            default: break;
        }
        if (e->kind == SE_PARTITION || e->kind == SE_HEAL || e->kind == SE_LOSS ||
            e->kind == SE_LINKLOSS)
            break;
    }
    switch (e->kind) {
        case SE_PARTITION: net_partition (&w->net, e->a, e->a_end); break;
        case SE_HEAL: net_heal (&w->net); break;
        case SE_LOSS: w->net.loss = e->value; break;
        case SE_LINKLOSS: net_link_loss (&w->net, e->a, e->a_end, e->b, e->b_end, e->value); break;
        default: break;
    }
    if (w->gangs && (e->kind == SE_PARTITION || e->kind == SE_HEAL))
        gangs_net_changed (w->gangs, e->kind == SE_HEAL);
    if (e->kind != SE_UPDATE) {
        uint64_t end = e->at_us + (e->kind == SE_PAUSE ? e->len_us : 0);
        if (end > w->last_fault_us)
            w->last_fault_us = end;
    }
}

/* ---- the loop ------------------------------------------------------------------- */

static size_t envelope_overhead (const world_t *w)
{
    uint8_t key[GL_KEY_BYTES] = { 0 }, body[1000] = { 0 };
    gl_seal_t *seal = gl_seal_new (key, "sim", w->names[w->n - 1], 1, 60000);
    uint8_t *pkt = NULL;
    size_t len = 0, overhead = 60; /* a safe guess if sealing fails */
    if (seal && gl_seal_pack (seal, 1800000000000ull, body, sizeof body, &pkt, &len) == 0)
        overhead = len - sizeof body;
    free (pkt);
    gl_seal_destroy (&seal);
    return overhead;
}

int world_init (world_t *w, const scen_t *scen, const gl_conf_t *conf, FILE *trace,
                bool bytes_exact, char *err, size_t errlen)
{
    memset (w, 0, sizeof *w);
    w->bytes_exact = bytes_exact;
    w->scen = scen;
    w->n = scen->nodes;
    w->trace = trace;
    swim_config_from_conf (&w->cfg, conf);
    w->refresh_ms = conf->refresh_interval_ms;
    w->sample_ms = conf->sample_interval_ms ? conf->sample_interval_ms : 1000;
    rng_t rr = rng_stream (scen->seed, RNG_REFRESH);
    w->refresh_seed = rng_next (&rr);
    w->nodes = calloc (w->n, sizeof *w->nodes);
    w->names = calloc (w->n, sizeof *w->names);
    w->addrs = calloc (w->n, sizeof *w->addrs);
    w->watch = calloc (1, sizeof *w->watch);
    w->pool = swim_pool_new ();
    if (!w->nodes || !w->names || !w->addrs || !w->watch || !w->pool ||
        conns_init (&w->conns, w->n, conf->max_links, conf->link_idle_ms) ||
        net_init (&w->net, w->n, scen->seed, scen->loss, scen->delay_min_us, scen->delay_mean_us)) {
        snprintf (err, errlen, "out of memory for %u nodes", w->n);
        return -1;
    }
    evq_init (&w->q);
    rng_t r = rng_stream (scen->seed, RNG_NODES);
    w->node_seed = rng_next (&r);
    for (uint32_t i = 0; i < w->n; i++) {
        node_t *n = &w->nodes[i];
        snprintf (w->names[i], sizeof w->names[i], "n%u", i);
        snprintf (w->addrs[i], sizeof w->addrs[i], "sim://%u", i);
        memcpy (n->pubkey, &i, sizeof i);
        n->pubkey[31] = 0x5a;
        n->signer = (swim_signer_t){ n, fake_sign, fake_verify };
        n->anchor_ms = CLOCK_BASE_MS;
        uint64_t start = i < SEEDS ? 0 : rng_below (&r, scen->start_spread_us + 1);
        push (w, start, EV_START, i, 0, NULL);
    }
    for (size_t i = 0; i < scen->n_evs; i++)
        push (w, scen->evs[i].at_us, EV_SCEN, 0, i, NULL);
    push (w, 1000000, EV_SECOND, 0, 0, NULL);
    w->envelope_bytes = envelope_overhead (w);
    if (watch_init (w->watch, w)) {
        snprintf (err, errlen, "out of memory for %u nodes", w->n);
        return -1;
    }
    w->gang_loss_rng = rng_stream (scen->seed, RNG_GANG_LOSS);
    w->gang_delay_rng = rng_stream (scen->seed, RNG_GANG_DELAY);
    bool has_gangs = false;
    for (size_t i = 0; i < scen->n_evs; i++)
        has_gangs = has_gangs || scen->evs[i].kind == SE_GANG;
    if (has_gangs && !(w->gangs = gangs_new (w, conf))) {
        snprintf (err, errlen, "out of memory for the gangs of %u nodes", w->n);
        return -1;
    }
    return 0;
}

void world_free (world_t *w)
{
    ev_t ev;
    while (evq_pop (&w->q, &ev))
        if (ev.kind == EV_DELIVER) {
            flight_t *f = ev.ptr;
            gl_msg_clear (&f->msg);
            free (f);
        }
    gangs_free (&w->gangs);
    evq_free (&w->q);
    conns_free (&w->conns);
    while (w->spare_flights) {
        flight_t *f = flight_new (w);
        free (f);
    }
    for (uint32_t i = 0; w->nodes && i < w->n; i++)
        swim_destroy (&w->nodes[i].swim);
    /* Every name and record a node held went back with it. */
    if (w->pool && swim_pool_items (w->pool))
        fprintf (stderr, "glsim: %zu items left in the shared pool (a reference leak)\n",
                 swim_pool_items (w->pool));
    swim_pool_destroy (&w->pool);
    if (w->watch)
        watch_free (w->watch);
    free (w->watch);
    net_free (&w->net);
    free (w->nodes);
    free (w->names);
    free (w->addrs);
    memset (w, 0, sizeof *w);
}

/* An event for a paused node waits for it to resume.  Messages come back
   first, in the order they arrived, then timers a microsecond later: a
   glpeer stopped in its poll reads its backlog (up to 512 packets) before
   its loop runs swim_tick again. */
bool world_held (world_t *w, const ev_t *ev)
{
    node_t *n = &w->nodes[ev->node];
    if (n->paused_until <= w->now)
        return false;
    uint64_t at = n->paused_until + (ev->kind == EV_DELIVER ? 0 : 1);
    push (w, at, ev->kind, ev->node, ev->arg, ev->ptr);
    return true;
}

static void deliver (world_t *w, const ev_t *ev)
{
    flight_t *f = ev->ptr;
    node_t *n = &w->nodes[ev->node];
    if (f->plane != PLANE_SWIM) {
        if (n->up && world_held (w, ev))
            return;
        if (n->up && w->gangs)
            gangs_recv (w->gangs, ev->node, f->from, f->plane, f->gang, &f->msg);
        gl_msg_clear (&f->msg);
        flight_put (w, f);
        return;
    }
    if (n->up && !world_held (w, ev)) {
        bool tracked = watch_carries (w->watch, ev->node, &f->msg);
        swim_recv (n->swim, w->names[f->from], &f->msg, world_local_ms (w, ev->node));
        if (tracked)
            watch_delivered (w->watch, ev->node, f->from);
        pump (w, ev->node);
    }
    else if (n->up)
        return; /* held: the same flight comes back later */
    swim_pool_reuse (w->pool, &f->msg);
    flight_put (w, f);
}

int world_run (world_t *w, size_t max_violations)
{
    ev_t ev;
    while (evq_pop (&w->q, &ev)) {
        if (ev.at > w->scen->duration_us) {
            evq_push (&w->q, ev); /* world_free frees what it carries */
            break;
        }
        w->now = ev.at;
        w->events_run++;
        node_t *n = &w->nodes[ev.node];
        switch (ev.kind) {
            case EV_START: node_start (w, ev.node); break;
            case EV_DELIVER: deliver (w, &ev); break;
            case EV_TICK:
                if (!n->up || ev.arg != n->epoch || ev.at != n->tick_at)
                    break;
                if (world_held (w, &ev)) {
                    n->tick_at = n->paused_until + 1;
                    break;
                }
                n->tick_at = 0;
                swim_tick (n->swim, world_local_ms (w, ev.node));
                pump (w, ev.node);
                break;
            case EV_REFRESH:
                if (!n->up || ev.arg != n->epoch || ev.at != n->refresh_at)
                    break;
                if (world_held (w, &ev)) {
                    n->refresh_at = n->paused_until + 1;
                    break;
                }
                publish_res (w, ev.node);
                pump (w, ev.node);
                schedule_refresh (w, ev.node);
                break;
            case EV_SCEN: run_scen (w, &w->scen->evs[ev.arg]); break;
            case EV_GTICK:
            case EV_SLICE:
            case EV_GEXIT:
                if (w->gangs && n->up)
                    gangs_event (w->gangs, &ev);
                break;
            case EV_SECOND:
                watch_second (w->watch);
                if (w->gangs)
                    gangs_second (w->gangs);
                push (w, w->now + 1000000, EV_SECOND, 0, 0, NULL);
                break;
        }
        if (max_violations && w->watch->n_violations >= max_violations)
            return 1;
    }
    w->now = w->scen->duration_us;
    for (uint32_t i = 0; i < w->n; i++)
        count_up_time (w, i);
    for (int t = 0; t < 8; t++) {
        if (w->sampled_msgs[t])
            w->bytes_by_type[t] =
                (uint64_t) ((double) w->sampled_bytes[t] / w->sampled_msgs[t] * w->msgs_by_type[t] +
                            0.5);
        w->bytes += w->bytes_by_type[t];
    }
    w->bytes += w->setup_bytes;
    watch_finish (w->watch);
    if (w->gangs)
        gangs_finish (w->gangs);
    return 0;
}
