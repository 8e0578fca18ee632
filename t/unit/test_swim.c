/*  test_swim.c -- the SWIM state machine, alone and in a simulated network.

    The first test feeds one swim_t hand-made messages and checks the
    ordering rules one by one.  The others run N swim_t in a tiny
    in-memory network: every message goes to the node at its to_addr after
    a fixed delay, on a fake clock; the network can lose messages (from a
    seeded generator), and nodes can crash, pause (as with SIGSTOP: no
    timers, and what is sent to them is lost) and be partitioned.

    Signatures are faked: sig = pubkey || a keyed digest of the signed
    fields; a "forger" node corrupts its own. */
#include "swim.h"
#include "rng.h"
#include "str.h"
#include "tap.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 20 /* the clusters of most tests */
#define NET_MAX   48 /* the largest network (test_res_rings_rate) */
#define DELAY_MS  5

/* ---- a fake signer ---------------------------------------------------------- */

typedef struct {
    uint8_t key[GL_PUBKEY_BYTES];
    bool forger; /* sign with a broken signature */
} fakekey_t;

static uint64_t fnv (uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *) p)[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t fnv_u64 (uint64_t h, uint64_t v)
{
    return fnv (h, &v, sizeof v);
}

/* Field by field, so struct padding never matters. */
static void digest (const gl_rec_t *rec, const uint8_t *key, uint8_t out[32])
{
    const gl_res_t *r = &rec->res;
    for (int part = 0; part < 4; part++) {
        uint64_t h = fnv_u64 (0xcbf29ce484222325ull, (uint64_t) part);
        h = fnv (h, key, GL_PUBKEY_BYTES);
        h = fnv_u64 (h, rec->kind);
        h = fnv (h, rec->origin, strlen (rec->origin));
        h = fnv_u64 (h, rec->generation);
        h = fnv_u64 (h, rec->seq);
        h = fnv_u64 (h, rec->time_ms);
        h = fnv (h, rec->addr, strlen (rec->addr));
        h = fnv (h, rec->pubkey, GL_PUBKEY_BYTES);
        uint64_t res[] = {
            r->cores,        r->load1_milli,  r->load_recent_milli, r->owner_load_milli,
            r->mem_total_kb, r->mem_avail_kb, r->owner_idle_s,      r->state
        };
        for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
            h = fnv_u64 (h, res[i]);
        memcpy (out + 8 * part, &h, 8);
    }
}

static int fake_sign (void *ctx, gl_rec_t *rec)
{
    const fakekey_t *k = ctx;
    memcpy (rec->sig, k->key, GL_PUBKEY_BYTES);
    digest (rec, k->key, rec->sig + GL_PUBKEY_BYTES);
    if (k->forger)
        rec->sig[40] ^= 0x55;
    return 0;
}

static int fake_verify (void *ctx, const gl_rec_t *rec, const uint8_t pubkey[GL_PUBKEY_BYTES])
{
    (void) ctx;
    uint8_t d[32];
    if (memcmp (rec->sig, pubkey, GL_PUBKEY_BYTES))
        return -1;
    digest (rec, pubkey, d);
    return memcmp (rec->sig + GL_PUBKEY_BYTES, d, sizeof d) ? -1 : 0;
}

static void make_key (fakekey_t *k, uint64_t seed)
{
    memset (k, 0, sizeof *k);
    for (int i = 0; i < GL_PUBKEY_BYTES; i++)
        k->key[i] = (uint8_t) (fnv_u64 (seed, (uint64_t) i) >> 13);
}

/* A record signed with key k (what the node itself, or a forger, says). */
static gl_rec_t make_rec (const fakekey_t *k, uint8_t kind, const char *origin, uint64_t generation,
                          uint64_t seq, const char *addr)
{
    gl_rec_t rec;
    memset (&rec, 0, sizeof rec);
    rec.kind = kind;
    gl_strlcpy (rec.origin, origin, sizeof rec.origin);
    rec.generation = generation;
    rec.seq = seq;
    rec.time_ms = 1000 + seq;
    if (kind == GL_REC_ALIVE) {
        gl_strlcpy (rec.addr, addr, sizeof rec.addr);
        memcpy (rec.pubkey, k->key, GL_PUBKEY_BYTES);
    }
    fake_sign ((void *) k, &rec);
    return rec;
}

static gl_update_t rec_update (gl_rec_t rec)
{
    gl_update_t u;
    memset (&u, 0, sizeof u);
    u.kind = GL_UPD_REC;
    u.rec = rec;
    return u;
}

static gl_update_t status_update (uint8_t kind, const char *node, uint64_t generation,
                                  uint64_t incarnation, const char *from)
{
    gl_update_t u;
    memset (&u, 0, sizeof u);
    u.kind = kind;
    gl_strlcpy (u.node, node, sizeof u.node);
    u.generation = generation;
    u.incarnation = incarnation;
    gl_strlcpy (u.from, from, sizeof u.from);
    return u;
}

/* Hand one update to s in a GOSSIP message from `from`. */
static void tell (swim_t *s, const char *from, gl_update_t u, uint64_t now)
{
    gl_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = GL_MSG_GOSSIP;
    msg.n_updates = 1;
    msg.updates = &u;
    swim_recv (s, from, &msg, now);
}

/* ---- the simulated network ------------------------------------------------------ */

typedef struct {
    char name[16];
    char addr[32];
    fakekey_t key;
    uint64_t generation;
    swim_t *swim; /* NULL: crashed, or not started */
    bool paused;
    int side; /* partitions: only equal sides talk */
} node_t;

typedef struct {
    uint64_t at;
    int to;
    char from[GL_NAME_MAX + 1];
    gl_msg_t msg;
} packet_t;

typedef struct {
    int observer;
    swim_event_t ev;
} logged_t;

typedef struct {
    swim_config_t cfg;
    node_t nodes[NET_MAX];
    int n;
    uint64_t now, seed, rng;
    unsigned loss_permille;
    bool wire;   /* pass every message through the codec */
    packet_t *q; /* in flight; fixed delay keeps it in time order */
    size_t q_head, q_len, q_cap;
    logged_t *log;
    size_t n_log, cap_log;
    uint64_t sent, lost, wire_errors;
    unsigned pings[NET_MAX][NET_MAX];   /* PINGs sent, by sender and target */
    unsigned news[NET_MAX][NET_MAX];    /* GOSSIPs with a SUSPECT or DEAD update */
    uint64_t sent_by[NET_MAX];          /* messages but push-pulls, by sender */
    char watch_origin[GL_NAME_MAX + 1]; /* an estimate to count the sends of */
    uint64_t watch_seq;
    unsigned watch_sent_by[NET_MAX]; /* in messages but push-pulls, by sender */
} net_t;

static uint64_t net_rand (net_t *net)
{
    return gl_splitmix64 (&net->rng);
}

static net_t *net_new (int n, uint64_t seed, unsigned loss_permille)
{
    net_t *net = calloc (1, sizeof *net);
    swim_config_default (&net->cfg);
    net->n = n;
    net->seed = net->rng = seed;
    net->loss_permille = loss_permille;
    for (int i = 0; i < n; i++) {
        node_t *node = &net->nodes[i];
        snprintf (node->name, sizeof node->name, "n%02d", i);
        snprintf (node->addr, sizeof node->addr, "tcp://10.0.0.%d:7946", i + 1);
        make_key (&node->key, seed * 1000 + (uint64_t) i);
    }
    return net;
}

static void net_free (net_t *net)
{
    for (int i = 0; i < net->n; i++)
        swim_destroy (&net->nodes[i].swim);
    for (size_t i = 0; i < net->q_len; i++)
        gl_msg_clear (&net->q[(net->q_head + i) % net->q_cap].msg);
    free (net->q);
    free (net->log);
    free (net);
}

static bool running (const net_t *net, int i)
{
    return net->nodes[i].swim && !net->nodes[i].paused;
}

/* When set, every node started goes into this pool, as in glsim. */
static swim_pool_t *shared_pool;

static void node_start (net_t *net, int i, uint64_t generation)
{
    node_t *node = &net->nodes[i];
    swim_signer_t signer = { &node->key, fake_sign, fake_verify };
    node->generation = generation;
    node->paused = false;
    node->swim =
        swim_new_in (shared_pool, &net->cfg, node->name, node->addr, generation, node->key.key,
                     &signer, fnv_u64 (net->seed, (uint64_t) i * 131 + generation), net->now);
    CHECK (node->swim != NULL);
}

static void node_join (net_t *net, int i, int seed)
{
    const char *addr = net->nodes[seed].addr;
    swim_join (net->nodes[i].swim, &addr, 1, net->now);
}

static void node_crash (net_t *net, int i)
{
    swim_destroy (&net->nodes[i].swim);
}

static int node_at (const net_t *net, const char *addr)
{
    for (int i = 0; i < net->n; i++)
        if (!strcmp (net->nodes[i].addr, addr))
            return i;
    return -1;
}

static void q_push (net_t *net, const packet_t *p)
{
    if (net->q_len == net->q_cap) {
        size_t cap = net->q_cap ? net->q_cap * 2 : 256;
        packet_t *q = malloc (cap * sizeof *q);
        for (size_t i = 0; i < net->q_len; i++)
            q[i] = net->q[(net->q_head + i) % net->q_cap];
        free (net->q);
        net->q = q;
        net->q_cap = cap;
        net->q_head = 0;
    }
    net->q[(net->q_head + net->q_len++) % net->q_cap] = *p;
}

static void route (net_t *net, int from, swim_out_t *out)
{
    int to = node_at (net, out->to_addr);
    net->sent++;
    if (to >= 0 && out->msg.type == GL_MSG_PING)
        net->pings[from][to]++;
    if (to >= 0 && out->msg.type == GL_MSG_GOSSIP) {
        bool news = false;
        for (uint32_t k = 0; k < out->msg.n_updates; k++)
            news |= out->msg.updates[k].kind == GL_UPD_SUSPECT ||
                    out->msg.updates[k].kind == GL_UPD_DEAD;
        net->news[from][to] += news;
    }
    if (out->msg.type != GL_MSG_SYNC_REQ && out->msg.type != GL_MSG_SYNC_RESP) {
        net->sent_by[from]++;
        for (uint32_t k = 0; k < out->msg.n_updates; k++) {
            const gl_update_t *u = &out->msg.updates[k];
            net->watch_sent_by[from] += u->kind == GL_UPD_REC && u->rec.kind == GL_REC_RES &&
                                        u->rec.seq == net->watch_seq &&
                                        !strcmp (u->rec.origin, net->watch_origin);
        }
    }
    bool lost = net->loss_permille && net_rand (net) % 1000 < net->loss_permille;
    if (to < 0 || lost || net->nodes[to].side != net->nodes[from].side) {
        net->lost += lost;
        gl_msg_clear (&out->msg);
        return;
    }
    packet_t p;
    memset (&p, 0, sizeof p);
    p.at = net->now + DELAY_MS;
    p.to = to;
    gl_strlcpy (p.from, net->nodes[from].name, sizeof p.from);
    if (net->wire) {
        uint8_t *buf = NULL;
        size_t len = 0;
        const char *why = NULL;
        int rc = gl_msg_encode (&out->msg, &buf, &len);
        if (rc == 0)
            rc = gl_msg_decode (buf, len, &p.msg, &why);
        free (buf);
        gl_msg_clear (&out->msg);
        if (rc) {
            net->wire_errors++;
            fprintf (stderr, "wire: %s\n", why ? why : "encode failed");
            return;
        }
    }
    else
        p.msg = out->msg;
    q_push (net, &p);
}

static void drain (net_t *net, int i)
{
    swim_out_t out;
    while (swim_pop (net->nodes[i].swim, &out))
        route (net, i, &out);
    swim_event_t ev;
    while (swim_pop_event (net->nodes[i].swim, &ev)) {
        if (net->n_log == net->cap_log) {
            net->cap_log = net->cap_log ? net->cap_log * 2 : 1024;
            net->log = realloc (net->log, net->cap_log * sizeof *net->log);
        }
        net->log[net->n_log++] = (logged_t){ i, ev };
    }
}

/* Run everything due up to `until`, in time order. */
static void net_run (net_t *net, uint64_t until)
{
    uint64_t spins = 0, last = UINT64_MAX;
    for (;;) {
        uint64_t t = UINT64_MAX;
        if (net->q_len)
            t = net->q[net->q_head].at;
        for (int i = 0; i < net->n; i++)
            if (running (net, i)) {
                uint64_t d = swim_next_deadline (net->nodes[i].swim);
                if (d < t)
                    t = d;
            }
        if (t > until)
            break;
        net->now = t > net->now ? t : net->now;
        spins = net->now == last ? spins + 1 : 0;
        last = net->now;
        if (spins > 100000) {
            CHECK (!"the network is stuck at one instant");
            break;
        }
        while (net->q_len && net->q[net->q_head].at <= net->now) {
            packet_t p = net->q[net->q_head];
            net->q_head = (net->q_head + 1) % net->q_cap;
            net->q_len--;
            if (running (net, p.to))
                swim_recv (net->nodes[p.to].swim, p.from, &p.msg, net->now);
            gl_msg_clear (&p.msg);
        }
        for (int i = 0; i < net->n; i++)
            if (running (net, i) && swim_next_deadline (net->nodes[i].swim) <= net->now)
                swim_tick (net->nodes[i].swim, net->now);
        for (int i = 0; i < net->n; i++)
            if (running (net, i))
                drain (net, i);
    }
    net->now = until;
}

/* ---- looking at the views ----------------------------------------------------- */

/* The state observer i has of node j, or -1 when it doesn't know it. */
static int state_at (net_t *net, int i, int j)
{
    swim_member_t m;
    if (!net->nodes[i].swim || !swim_lookup (net->nodes[i].swim, net->nodes[j].name, &m))
        return -1;
    return m.state;
}

static swim_member_t member_at (net_t *net, int i, int j)
{
    swim_member_t m;
    memset (&m, 0, sizeof m);
    swim_lookup (net->nodes[i].swim, net->nodes[j].name, &m);
    return m;
}

/* Every other running node sees node j in `state`. */
static bool all_see (net_t *net, int j, int state)
{
    for (int i = 0; i < net->n; i++)
        if (i != j && running (net, i) && state_at (net, i, j) != state)
            return false;
    return true;
}

/* Every running node sees every running node alive. */
static bool converged (net_t *net)
{
    for (int j = 0; j < net->n; j++)
        if (running (net, j) && !all_see (net, j, SWIM_ALIVE))
            return false;
    return true;
}

static size_t count_events (const net_t *net, int observer, int kind, int node, uint64_t since)
{
    size_t n = 0;
    for (size_t i = 0; i < net->n_log; i++) {
        const logged_t *l = &net->log[i];
        if ((observer < 0 || l->observer == observer) && l->ev.kind == kind &&
            (node < 0 || !strcmp (l->ev.node, net->nodes[node].name)) && l->ev.at_ms >= since)
            n++;
    }
    return n;
}

/* Run in steps until pred holds; the time it first held, or 0. */
static uint64_t run_until (net_t *net, bool (*pred) (net_t *, int), int arg, uint64_t limit)
{
    while (net->now < limit) {
        net_run (net, net->now + 50);
        if (pred (net, arg))
            return net->now;
    }
    return 0;
}

static bool pred_converged (net_t *net, int arg)
{
    (void) arg;
    return converged (net);
}

static bool pred_dead (net_t *net, int j)
{
    return all_see (net, j, SWIM_DEAD);
}

/* Start nodes 0..count-1, 100 ms apart, each joining node 0, and wait
   until they all know each other. */
static void start_nodes (net_t *net, int count)
{
    for (int i = 0; i < count; i++) {
        node_start (net, i, 1);
        if (i)
            node_join (net, i, 0);
        net_run (net, net->now + 100);
    }
    CHECK (run_until (net, pred_converged, 0, net->now + 30000) != 0);
}

static net_t *cluster (int n, uint64_t seed, unsigned loss_permille, bool wire)
{
    net_t *net = net_new (n, seed, loss_permille);
    net->wire = wire;
    start_nodes (net, n);
    return net;
}

/* ---- the rules, one update at a time ------------------------------------------- */

static bool pop_event (swim_t *s, int kind, const char *node)
{
    swim_event_t ev;
    while (swim_pop_event (s, &ev))
        if (ev.kind == kind && !strcmp (ev.node, node))
            return true;
    return false;
}

static int state_of (swim_t *s, const char *name)
{
    swim_member_t m;
    return swim_lookup (s, name, &m) ? m.state : -1;
}

static void drop_output (swim_t *s)
{
    swim_out_t out;
    while (swim_pop (s, &out))
        gl_msg_clear (&out.msg);
}

static void test_rules (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    fakekey_t ka, kb, kc, kx;
    make_key (&ka, 1);
    make_key (&kb, 2);
    make_key (&kc, 3);
    make_key (&kx, 4);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 7, ka.key, &signer, 42, 0);
    CHECK (a != NULL);
    swim_stats_t st;
    const char *B = "tcp://b";

    /* Learning a node from its ALIVE record. */
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 0, B)), 10);
    CHECK (pop_event (a, SWIM_EV_JOINED, "b"));
    CHECK_EQ (state_of (a, "b"), SWIM_ALIVE);
    CHECK_EQ (swim_count (a), 2);

    /* Suspect, then an ALIVE at the same incarnation changes nothing... */
    tell (a, "c", status_update (GL_UPD_SUSPECT, "b", 1, 0, "c"), 20);
    CHECK (pop_event (a, SWIM_EV_SUSPECT, "b"));
    swim_stats (a, &st);
    uint64_t old = st.old_records;
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 0, B)), 30);
    CHECK_EQ (state_of (a, "b"), SWIM_SUSPECT);
    swim_stats (a, &st);
    CHECK_EQ (st.old_records, old + 1);
    /* ...a higher one refutes. */
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 1, B)), 40);
    CHECK (pop_event (a, SWIM_EV_ALIVE, "b"));
    CHECK_EQ (state_of (a, "b"), SWIM_ALIVE);

    /* DEAD below the incarnation is old; at it, it kills. */
    tell (a, "c", status_update (GL_UPD_DEAD, "b", 1, 0, "c"), 50);
    CHECK_EQ (state_of (a, "b"), SWIM_ALIVE);
    tell (a, "c", status_update (GL_UPD_DEAD, "b", 1, 1, "c"), 60);
    CHECK (pop_event (a, SWIM_EV_DEAD, "b"));
    CHECK_EQ (state_of (a, "b"), SWIM_DEAD);

    /* Nothing but a higher ALIVE revives the dead. */
    tell (a, "c", status_update (GL_UPD_SUSPECT, "b", 1, 5, "c"), 70);
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 1, B)), 80);
    CHECK_EQ (state_of (a, "b"), SWIM_DEAD);
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 2, B)), 90);
    CHECK (pop_event (a, SWIM_EV_ALIVE, "b"));
    CHECK_EQ (state_of (a, "b"), SWIM_ALIVE);

    /* LEAVE below the incarnation is old; at it, the node has left, and an
       old ALIVE or a DEAD can't undo that. */
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_LEAVE, "b", 1, 1, "")), 100);
    CHECK_EQ (state_of (a, "b"), SWIM_ALIVE);
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_LEAVE, "b", 1, 2, "")), 110);
    CHECK (pop_event (a, SWIM_EV_LEFT, "b"));
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 2, B)), 120);
    tell (a, "c", status_update (GL_UPD_DEAD, "b", 1, 9, "c"), 130);
    CHECK_EQ (state_of (a, "b"), SWIM_LEFT);

    /* A new generation beats everything, even LEFT... */
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 2, 0, "tcp://b2")), 140);
    CHECK (pop_event (a, SWIM_EV_JOINED, "b"));
    swim_member_t m;
    CHECK (swim_lookup (a, "b", &m));
    CHECK_EQ (m.generation, 2);
    CHECK_EQ (m.state, SWIM_ALIVE);
    CHECK (!strcmp (m.addr, "tcp://b2"));
    /* ...and the old generation is past, while a future one waits for its record. */
    tell (a, "c", status_update (GL_UPD_DEAD, "b", 1, 99, "c"), 150);
    tell (a, "c", status_update (GL_UPD_SUSPECT, "b", 3, 0, "c"), 160);
    CHECK_EQ (state_of (a, "b"), SWIM_ALIVE);

    /* Resources: only newer replaces; unknown nodes and lives are held back. */
    gl_rec_t res2 = make_rec (&kb, GL_REC_RES, "b", 2, 2, "");
    tell (a, "c", rec_update (res2), 170);
    CHECK (swim_lookup (a, "b", &m));
    CHECK (m.has_res);
    CHECK_EQ (m.res_seq, 2);
    CHECK_EQ (m.res_recv_ms, 170);
    swim_stats (a, &st);
    old = st.old_records;
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_RES, "b", 2, 1, "")), 180);
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_RES, "b", 1, 5, "")), 190);
    tell (a, "c", rec_update (make_rec (&kb, GL_REC_RES, "b", 3, 1, "")), 200);
    tell (a, "c", rec_update (make_rec (&kc, GL_REC_RES, "zed", 1, 1, "")), 210);
    CHECK (swim_lookup (a, "b", &m));
    CHECK_EQ (m.res_seq, 2);
    CHECK_EQ (m.res_recv_ms, 170);
    CHECK (!swim_lookup (a, "zed", &m));
    swim_stats (a, &st);
    CHECK_EQ (st.old_records, old + 2);
    CHECK_EQ (st.bad_records, 0);

    /* Forgeries: a bad signature, a new key for a live node, a LEAVE and a
       RES signed by someone else.  Each refused, counted and reported. */
    gl_rec_t forged = make_rec (&kb, GL_REC_ALIVE, "b", 2, 5, "tcp://evil");
    forged.sig[50] ^= 1;
    tell (a, "c", rec_update (forged), 220);
    tell (a, "c", rec_update (make_rec (&kx, GL_REC_ALIVE, "b", 3, 0, "tcp://evil")), 230);
    tell (a, "c", rec_update (make_rec (&kx, GL_REC_LEAVE, "b", 2, 5, "")), 240);
    tell (a, "c", rec_update (make_rec (&kx, GL_REC_RES, "b", 2, 9, "")), 250);
    swim_stats (a, &st);
    CHECK_EQ (st.bad_records, 4);
    size_t bad = 0;
    swim_event_t ev;
    while (swim_pop_event (a, &ev))
        bad += ev.kind == SWIM_EV_BAD_RECORD && !strcmp (ev.node, "b") && !strcmp (ev.from, "c");
    CHECK_EQ (bad, 4);
    CHECK (swim_lookup (a, "b", &m));
    CHECK_EQ (m.state, SWIM_ALIVE);
    CHECK_EQ (m.generation, 2);
    CHECK_EQ (m.res_seq, 2);
    CHECK (!strcmp (m.addr, "tcp://b2"));
    /* Once the old self is dead, a restart may bring a new key. */
    tell (a, "c", status_update (GL_UPD_DEAD, "b", 2, 0, "c"), 260);
    tell (a, "c", rec_update (make_rec (&kx, GL_REC_ALIVE, "b", 3, 0, "tcp://b3")), 270);
    CHECK (pop_event (a, SWIM_EV_JOINED, "b"));
    CHECK (swim_lookup (a, "b", &m));
    CHECK_EQ (m.generation, 3);
    CHECK (!m.has_res); /* the old life's estimate went with it */

    /* Accusations against us: refuted above the accuser's incarnation, once. */
    tell (a, "b", status_update (GL_UPD_SUSPECT, "a", 7, 0, "b"), 300);
    CHECK (pop_event (a, SWIM_EV_REFUTED, "a"));
    CHECK (swim_lookup (a, "a", &m));
    CHECK_EQ (m.incarnation, 1);
    tell (a, "b", status_update (GL_UPD_SUSPECT, "a", 7, 0, "b"), 310);
    tell (a, "b", status_update (GL_UPD_DEAD, "a", 6, 50, "b"), 320); /* an older self */
    CHECK (swim_lookup (a, "a", &m));
    CHECK_EQ (m.incarnation, 1);
    tell (a, "b", status_update (GL_UPD_DEAD, "a", 7, 1, "b"), 330);
    CHECK (pop_event (a, SWIM_EV_REFUTED, "a"));
    CHECK (swim_lookup (a, "a", &m));
    CHECK_EQ (m.incarnation, 2);
    swim_stats (a, &st);
    CHECK_EQ (st.refutations, 2);
    CHECK_EQ (st.awareness, 2);
    /* The refutation is signed and queued: the next GOSSIP carries it. */
    drop_output (a);
    swim_tick (a, 330 + cfg.gossip_interval_ms);
    bool refutation_sent = false;
    swim_out_t out;
    while (swim_pop (a, &out)) {
        for (uint32_t i = 0; i < out.msg.n_updates; i++) {
            const gl_rec_t *r = &out.msg.updates[i].rec;
            if (out.msg.updates[i].kind == GL_UPD_REC && r->kind == GL_REC_ALIVE &&
                !strcmp (r->origin, "a") && r->seq == 2 && fake_verify (NULL, r, ka.key) == 0)
                refutation_sent = true;
        }
        gl_msg_clear (&out.msg);
    }
    CHECK (refutation_sent);

    /* A PING for another name is not ours to answer; one for us is. */
    gl_msg_t ping;
    memset (&ping, 0, sizeof ping);
    ping.type = GL_MSG_PING;
    ping.probe_seq = 77;
    snprintf (ping.target, sizeof ping.target, "someone-else");
    swim_recv (a, "b", &ping, 400);
    CHECK (!swim_pop (a, &out));
    snprintf (ping.target, sizeof ping.target, "a");
    swim_recv (a, "b", &ping, 400);
    CHECK (swim_pop (a, &out));
    CHECK_EQ (out.msg.type, GL_MSG_ACK);
    CHECK_EQ (out.msg.probe_seq, 77);
    CHECK (!strcmp (out.msg.target, "a"));
    CHECK (!strcmp (out.to_name, "b"));
    CHECK (!strcmp (out.to_addr, "tcp://b3"));
    gl_msg_clear (&out.msg);
    drop_output (a);

    /* A stranger's messages still count, and are answered only when they
       tell us where the stranger is. */
    swim_stats (a, &st);
    uint64_t unknown = st.unknown_sender;
    snprintf (ping.target, sizeof ping.target, "a");
    swim_recv (a, "stranger", &ping, 410);
    CHECK (!swim_pop (a, &out));
    gl_update_t intro = rec_update (make_rec (&kc, GL_REC_ALIVE, "stranger", 1, 0, "tcp://s"));
    ping.n_updates = 1;
    ping.updates = &intro;
    swim_recv (a, "stranger", &ping, 420);
    CHECK (swim_pop (a, &out));
    CHECK (!strcmp (out.to_addr, "tcp://s"));
    CHECK_EQ (out.msg.type, GL_MSG_ACK);
    gl_msg_clear (&out.msg);
    swim_stats (a, &st);
    CHECK_EQ (st.unknown_sender, unknown + 2);
    ping.n_updates = 0;
    ping.updates = NULL;

    /* Acks must match our probe's sequence number and target. */
    drop_output (a);
    uint64_t now = 1000;
    gl_msg_t probe;
    memset (&probe, 0, sizeof probe);
    for (int i = 0; i < 100 && probe.type != GL_MSG_PING; i++) {
        now = swim_next_deadline (a) > now ? swim_next_deadline (a) : now;
        swim_tick (a, now);
        while (swim_pop (a, &out)) {
            if (out.msg.type == GL_MSG_PING) {
                probe.type = out.msg.type;
                probe.probe_seq = out.msg.probe_seq;
                memcpy (probe.target, out.msg.target, sizeof probe.target);
            }
            gl_msg_clear (&out.msg);
        }
    }
    CHECK_EQ (probe.type, GL_MSG_PING);
    gl_msg_t ack;
    memset (&ack, 0, sizeof ack);
    ack.type = GL_MSG_ACK;
    gl_strlcpy (ack.target, probe.target, sizeof ack.target);
    ack.probe_seq = probe.probe_seq + 1;
    swim_stats (a, &st);
    uint64_t acks = st.acks_in;
    uint32_t awareness = st.awareness;
    CHECK (awareness > 0);
    swim_recv (a, probe.target, &ack, now + 1);
    ack.probe_seq = probe.probe_seq;
    gl_strlcpy (ack.target, !strcmp (probe.target, "b") ? "stranger" : "b", sizeof ack.target);
    swim_recv (a, probe.target, &ack, now + 1);
    swim_stats (a, &st);
    CHECK_EQ (st.acks_in, acks);
    gl_strlcpy (ack.target, probe.target, sizeof ack.target);
    swim_recv (a, probe.target, &ack, now + 2);
    swim_stats (a, &st);
    CHECK_EQ (st.acks_in, acks + 1);
    CHECK_EQ (st.awareness, awareness - 1); /* Lifeguard: a good probe heals */

    swim_destroy (&a);
    CHECK (a == NULL);
}

/* A record shaped against its kind cannot be relayed intact: though
   signed by its origin, it is refused when it is news (a RES with a key or
   an address, a LEAVE with an address, an ALIVE without one); a stale one
   goes no further than any stale record. */
static void test_shapes (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    fakekey_t ka, kb;
    make_key (&ka, 1);
    make_key (&kb, 2);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 42, 0);
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 0, "tcp://b")), 10);
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_RES, "b", 1, 5, "")), 20);
    swim_stats_t st;
    swim_stats (a, &st);
    CHECK_EQ (st.bad_records, 0);

    gl_rec_t res_key = make_rec (&kb, GL_REC_RES, "b", 1, 6, "");
    memcpy (res_key.pubkey, kb.key, GL_PUBKEY_BYTES);
    fake_sign (&kb, &res_key);
    gl_rec_t res_addr = make_rec (&kb, GL_REC_RES, "b", 1, 7, "");
    gl_strlcpy (res_addr.addr, "tcp://b", sizeof res_addr.addr);
    fake_sign (&kb, &res_addr);
    gl_rec_t leave_addr = make_rec (&kb, GL_REC_LEAVE, "b", 1, 3, "");
    gl_strlcpy (leave_addr.addr, "tcp://b", sizeof leave_addr.addr);
    fake_sign (&kb, &leave_addr);
    gl_rec_t alive_bare = make_rec (&kb, GL_REC_ALIVE, "b", 1, 4, "tcp://b");
    alive_bare.addr[0] = 0;
    fake_sign (&kb, &alive_bare);
    gl_rec_t *bad[] = { &res_key, &res_addr, &leave_addr, &alive_bare };
    for (int i = 0; i < 4; i++)
        tell (a, "c", rec_update (*bad[i]), 30 + (uint64_t) i);
    swim_stats (a, &st);
    CHECK_EQ (st.bad_records, 4);
    swim_member_t m;
    CHECK (swim_lookup (a, "b", &m));
    CHECK_EQ (m.state, SWIM_ALIVE);
    CHECK_EQ (m.incarnation, 0);
    CHECK_EQ (m.res_seq, 5);
    CHECK (!strcmp (m.addr, "tcp://b"));

    /* The same shape at a number we know already: old news, nothing else. */
    gl_rec_t stale = make_rec (&kb, GL_REC_RES, "b", 1, 5, "");
    memcpy (stale.pubkey, kb.key, GL_PUBKEY_BYTES);
    fake_sign (&kb, &stale);
    uint64_t old = st.old_records;
    tell (a, "c", rec_update (stale), 40);
    swim_stats (a, &st);
    CHECK_EQ (st.bad_records, 4);
    CHECK_EQ (st.old_records, old + 1);
    swim_destroy (&a);
}

/* PING s from `from`; the ACK that comes back (the caller clears it). */
static gl_msg_t ping_from (swim_t *s, const char *from, uint64_t now)
{
    gl_msg_t ping;
    memset (&ping, 0, sizeof ping);
    ping.type = GL_MSG_PING;
    ping.probe_seq = 5;
    snprintf (ping.target, sizeof ping.target, "a");
    swim_recv (s, from, &ping, now);
    swim_out_t out;
    memset (&out, 0, sizeof out);
    CHECK (swim_pop (s, &out));
    CHECK_EQ (out.msg.type, GL_MSG_ACK);
    CHECK (!strcmp (out.to_name, from));
    return out.msg;
}

/* Does msg carry an update of this kind (and record kind) about node? */
static bool carries (const gl_msg_t *msg, int kind, int rec_kind, const char *node)
{
    for (uint32_t i = 0; i < msg->n_updates; i++) {
        const gl_update_t *u = &msg->updates[i];
        if (u->kind == kind && kind == GL_UPD_REC && u->rec.kind == rec_kind &&
            !strcmp (u->rec.origin, node))
            return true;
        if (u->kind == kind && kind != GL_UPD_REC && !strcmp (u->node, node))
            return true;
    }
    return false;
}

/* What rides on messages: queued updates until their retransmit limit, our
   ALIVE record on the first messages to a newcomer, and the news that we
   suspect (or buried) the very node we are writing to. */
static void test_piggyback (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    fakekey_t ka, kb, kc;
    make_key (&ka, 1);
    make_key (&kb, 2);
    make_key (&kc, 3);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 9, 0);
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 0, "tcp://b")), 1);

    /* With two nodes each update goes out 16 times, as in a cluster of a
       thousand (4 * max (4, ceil (log10 3))). */
    int with_a = 0, with_b = 0, empty = 0;
    for (int i = 0; i < 32; i++) {
        gl_msg_t ack = ping_from (a, "b", 10 + (uint64_t) i);
        with_a += carries (&ack, GL_UPD_REC, GL_REC_ALIVE, "a");
        with_b += carries (&ack, GL_UPD_REC, GL_REC_ALIVE, "b");
        empty += ack.n_updates == 0;
        gl_msg_clear (&ack);
    }
    CHECK_EQ (with_a, 16);
    CHECK_EQ (with_b, 16);
    CHECK_EQ (empty, 16);

    /* The queue no longer holds our record: only the introduction brings it. */
    tell (a, "b", rec_update (make_rec (&kc, GL_REC_ALIVE, "c", 1, 0, "tcp://c")), 20);
    for (int i = 0; i < 4; i++) {
        gl_msg_t ack = ping_from (a, "c", 30 + (uint64_t) i);
        CHECK_EQ (carries (&ack, GL_UPD_REC, GL_REC_ALIVE, "a"), i < 3);
        gl_msg_clear (&ack);
    }
    /* Once the queue has spent SUSPECT(c), c still hears it from us. */
    tell (a, "b", status_update (GL_UPD_SUSPECT, "c", 1, 0, "b"), 40);
    for (int i = 0; i < 16; i++) {
        gl_msg_t ack = ping_from (a, "b", 50 + (uint64_t) i);
        CHECK (carries (&ack, GL_UPD_SUSPECT, 0, "c"));
        gl_msg_clear (&ack);
    }
    gl_msg_t ack = ping_from (a, "b", 70);
    CHECK_EQ (ack.n_updates, 0);
    gl_msg_clear (&ack);
    ack = ping_from (a, "c", 71);
    CHECK (carries (&ack, GL_UPD_SUSPECT, 0, "c"));
    CHECK_EQ (ack.n_updates, 1);
    gl_msg_clear (&ack);
    /* And so for a death. */
    tell (a, "b", status_update (GL_UPD_DEAD, "c", 1, 0, "b"), 80);
    for (int i = 0; i < 16; i++) {
        ack = ping_from (a, "b", 90 + (uint64_t) i);
        gl_msg_clear (&ack);
    }
    ack = ping_from (a, "c", 110);
    CHECK (carries (&ack, GL_UPD_DEAD, 0, "c"));
    gl_msg_clear (&ack);
    swim_destroy (&a);
}

/* Outputs of one swim_t, collected by tick_at. */
static swim_out_t outs[64];
static int n_outs;

static void clear_outs (void)
{
    for (int i = 0; i < n_outs; i++)
        gl_msg_clear (&outs[i].msg);
    n_outs = 0;
}

static void collect (swim_t *s)
{
    clear_outs ();
    swim_out_t out;
    while (swim_pop (s, &out)) {
        if (n_outs < 64)
            outs[n_outs++] = out;
        else
            gl_msg_clear (&out.msg);
    }
}

static void tick_at (swim_t *s, uint64_t now)
{
    swim_tick (s, now);
    collect (s);
}

static const swim_out_t *find_out (int type, int nth)
{
    for (int i = 0; i < n_outs; i++)
        if (outs[i].msg.type == type && nth-- == 0)
            return &outs[i];
    return NULL;
}

static void send_msg (swim_t *s, const char *from, int type, uint32_t seq, const char *target,
                      const char *target_addr, uint64_t now)
{
    gl_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.type = (uint8_t) type;
    msg.probe_seq = seq;
    gl_strlcpy (msg.target, target, sizeof msg.target);
    gl_strlcpy (msg.target_addr, target_addr, sizeof msg.target_addr);
    swim_recv (s, from, &msg, now);
    collect (s);
}

/* A swim_t "a" that knows b, c, d and e. */
static swim_t *small_world (fakekey_t *keys)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    for (int i = 0; i < 5; i++)
        make_key (&keys[i], 100 + (uint64_t) i);
    swim_signer_t signer = { &keys[0], fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, keys[0].key, &signer, 5, 0);
    const char *names[] = { "a", "b", "c", "d", "e" };
    for (int i = 1; i < 5; i++) {
        char addr[32];
        snprintf (addr, sizeof addr, "tcp://%s", names[i]);
        tell (a, names[i], rec_update (make_rec (&keys[i], GL_REC_ALIVE, names[i], 1, 0, addr)), 1);
    }
    swim_event_t ev;
    while (swim_pop_event (a, &ev))
        ;
    collect (a);
    return a;
}

/* Probe, indirect probe, NACKs and Lifeguard's awareness; and the relay
   side: probing on someone's behalf. */
static void test_probe (void)
{
    fakekey_t keys[5];
    swim_t *a = small_world (keys);
    swim_stats_t st;

    /* the first probe: no ack, so three helpers are asked, and all nack */
    uint64_t now = 0;
    while (!find_out (GL_MSG_PING, 0) && now < 5000)
        tick_at (a, now = swim_next_deadline (a));
    const swim_out_t *ping = find_out (GL_MSG_PING, 0);
    CHECK (ping != NULL);
    char target[GL_NAME_MAX + 1];
    gl_strlcpy (target, ping->msg.target, sizeof target);
    uint32_t seq = ping->msg.probe_seq;
    uint64_t start = now;
    CHECK (!strcmp (ping->to_name, target));
    tick_at (a, start + 499);
    CHECK (!find_out (GL_MSG_PING_REQ, 0));
    tick_at (a, start + 500);
    char helpers[3][GL_NAME_MAX + 1];
    for (int i = 0; i < 3; i++) {
        const swim_out_t *req = find_out (GL_MSG_PING_REQ, i);
        CHECK (req != NULL);
        if (!req)
            break;
        CHECK (strcmp (req->to_name, target) != 0);
        CHECK (!strcmp (req->msg.target, target));
        CHECK_EQ (req->msg.probe_seq, seq);
        CHECK (!strncmp (req->msg.target_addr, "tcp://", 6));
        gl_strlcpy (helpers[i], req->to_name, sizeof helpers[i]);
    }
    for (int i = 0; i < 3; i++)
        send_msg (a, helpers[i], GL_MSG_NACK, seq, target, "", start + 600);
    send_msg (a, helpers[0], GL_MSG_NACK, seq + 7, target, "", start + 600); /* stray */
    tick_at (a, start + 1000);
    CHECK_EQ (state_of (a, target), SWIM_SUSPECT);
    swim_stats (a, &st);
    CHECK_EQ (st.probes, 2); /* and the next one has begun */
    CHECK_EQ (st.probe_failures, 1);
    CHECK_EQ (st.indirect_probes, 3);
    CHECK_EQ (st.nacks_in, 3);
    CHECK_EQ (st.suspicions, 1);
    CHECK_EQ (st.awareness, 0); /* the helpers vouched for us */

    /* the second probe: helpers silent, so we are the suspect one */
    ping = find_out (GL_MSG_PING, 0);
    CHECK (ping != NULL);
    tick_at (a, start + 1500);
    swim_stats (a, &st);
    CHECK_EQ (st.indirect_probes, 5); /* only alive helpers: not the suspect */
    tick_at (a, start + 2000);
    swim_stats (a, &st);
    CHECK_EQ (st.awareness, 1);
    CHECK_EQ (st.suspicions, 2);
    /* awareness 1 doubles our probe interval: the next PING leaves at +4000 */
    tick_at (a, start + 3999);
    CHECK (!find_out (GL_MSG_PING, 0));
    tick_at (a, start + 4000);
    CHECK (find_out (GL_MSG_PING, 0) != NULL);

    /* relaying: b asks us to probe c; c's ack goes back to b as b's */
    now = start + 4100;
    send_msg (a, "b", GL_MSG_PING_REQ, 99, "c", "tcp://c", now);
    const swim_out_t *relay = find_out (GL_MSG_PING, 0);
    CHECK (relay != NULL);
    if (relay) {
        CHECK (!strcmp (relay->to_addr, "tcp://c"));
        CHECK (!strcmp (relay->msg.target, "c"));
        uint32_t relay_seq = relay->msg.probe_seq;
        send_msg (a, "c", GL_MSG_ACK, relay_seq, "c", "", now + 10);
        const swim_out_t *ack = find_out (GL_MSG_ACK, 0);
        CHECK (ack != NULL);
        CHECK (ack && !strcmp (ack->to_name, "b") && ack->msg.probe_seq == 99 &&
               !strcmp (ack->msg.target, "c"));
    }
    /* ...and when d doesn't answer, a NACK before b's probe is over */
    send_msg (a, "b", GL_MSG_PING_REQ, 100, "d", "tcp://d", now + 20);
    tick_at (a, now + 20 + 399);
    CHECK (!find_out (GL_MSG_NACK, 0));
    tick_at (a, now + 20 + 400);
    const swim_out_t *nack = find_out (GL_MSG_NACK, 0);
    CHECK (nack && !strcmp (nack->to_name, "b") && nack->msg.probe_seq == 100 &&
           !strcmp (nack->msg.target, "d"));
    clear_outs ();
    swim_destroy (&a);
}

/* Lifeguard's suspicion timeout with n = 5 (min 4 s, max 24 s, k = 3):
   24 s alone, 14 s with one confirmation, 4 s with three. */
/* A refutation goes straight to every member, and an accusation already
   refuted is answered to whoever still passes it on (regressions:
   t/sim/scenarios/refute-between-pauses.scen, refute-old-news.scen). */
static void test_refutation_reach (void)
{
    fakekey_t keys[5];
    swim_t *a = small_world (keys);
    tell (a, "b", status_update (GL_UPD_SUSPECT, "a", 1, 0, "b"), 10);
    collect (a);
    int direct = 0;
    for (int i = 0; i < n_outs; i++)
        if (outs[i].msg.type == GL_MSG_GOSSIP && outs[i].msg.n_updates == 1 &&
            carries (&outs[i].msg, GL_UPD_REC, GL_REC_ALIVE, "a") &&
            outs[i].msg.updates[0].rec.seq == 1)
            direct++;
    CHECK_EQ (direct, 4); /* b, c, d and e */
    swim_member_t me;
    CHECK (swim_lookup (a, "a", &me) && me.incarnation == 1);

    /* c still says a is dead at incarnation 0: a answers c alone. */
    tell (a, "c", status_update (GL_UPD_DEAD, "a", 1, 0, "d"), 20);
    collect (a);
    CHECK_EQ (n_outs, 1);
    CHECK (n_outs == 1 && !strcmp (outs[0].to_name, "c") &&
           carries (&outs[0].msg, GL_UPD_REC, GL_REC_ALIVE, "a") &&
           outs[0].msg.updates[0].rec.seq == 1);
    CHECK (swim_lookup (a, "a", &me) && me.incarnation == 1); /* no new refutation */
    clear_outs ();
    swim_destroy (&a);
}

/* Membership news rides ahead of resource estimates, however many fresher
   estimates wait: a refutation or a death must not queue behind a
   thousand nodes' minute refreshes (glsim, 1,000 nodes, bench/gossip-sim.sh). */
static void test_membership_first (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    cfg.probe_rings = 0; /* estimates through the queue (on the rings: test_res_rings) */
    fakekey_t ka, kb, keys[20];
    make_key (&ka, 1);
    make_key (&kb, 2);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 9, 0);
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 0, "tcp://b")), 1);
    char names[20][8];
    for (int i = 0; i < 20; i++) {
        char addr[32];
        make_key (&keys[i], 50 + (uint64_t) i);
        snprintf (names[i], sizeof names[i], "n%d", i);
        snprintf (addr, sizeof addr, "tcp://n%d", i);
        tell (a, "b", rec_update (make_rec (&keys[i], GL_REC_ALIVE, names[i], 1, 0, addr)), 2);
    }
    for (int i = 0; i < 40; i++) { /* spend the queue */
        gl_msg_t ack = ping_from (a, "b", 10 + (uint64_t) i);
        gl_msg_clear (&ack);
    }
    tell (a, "b", status_update (GL_UPD_SUSPECT, "n5", 1, 0, "b"), 60);
    gl_msg_t ack = ping_from (a, "b", 61);
    CHECK (carries (&ack, GL_UPD_SUSPECT, 0, "n5")); /* sent once: level 1 */
    gl_msg_clear (&ack);
    for (int i = 0; i < 20; i++) /* 20 fresh estimates, never sent */
        tell (a, "b", rec_update (make_rec (&keys[i], GL_REC_RES, names[i], 1, 1, "")), 62);
    ack = ping_from (a, "b", 63);
    CHECK (carries (&ack, GL_UPD_SUSPECT, 0, "n5"));
    CHECK_EQ (ack.n_updates, cfg.max_piggyback);
    gl_msg_clear (&ack);
    swim_destroy (&a);
}

/* Every message but push-pulls that leaves `a` until `until` (its ticks
   only, nothing answers): how many carried a's estimate number `seq`. */
static int sends_of_res (swim_t *a, uint64_t seq, uint64_t until)
{
    int carried = 0;
    for (uint64_t now = swim_next_deadline (a); now <= until; now = swim_next_deadline (a)) {
        tick_at (a, now);
        for (int i = 0; i < n_outs; i++)
            for (uint32_t k = 0; outs[i].msg.type != GL_MSG_SYNC_REQ && k < outs[i].msg.n_updates;
                 k++) {
                const gl_update_t *u = &outs[i].msg.updates[k];
                carried += u->kind == GL_UPD_REC && u->rec.kind == GL_REC_RES &&
                           !strcmp (u->rec.origin, "a") && u->rec.seq == seq;
            }
        clear_outs ();
    }
    return carried;
}

/* A small cluster sends each update as often as a thousand-node one
   (4 * retransmit_mult = 16 times), not retransmit_mult * log10 (n + 1)
   (4 times with 5 members): a member misses an update only when every
   send misses it, and in a small cluster of 4 or 8 sends a member, at 5 %
   loss, that happens to one update in thirty (glsim, 64 nodes), which
   then waits half a minute or more for a push-pull. */
static void test_retransmit_floor (void)
{
    fakekey_t keys[5];
    swim_t *a = small_world (keys);
    gl_res_t res = { .cores = 4, .mem_total_kb = 1 << 20, .state = GL_RES_IDLE };
    swim_set_res (a, &res, 10);
    swim_member_t me;
    CHECK (swim_lookup (a, "a", &me) && me.has_res);
    CHECK_EQ (sends_of_res (a, me.res_seq, 60000), 16);
    swim_destroy (&a);
}

/* A gossip round sends every queued update at least once when it can:
   to more members than gossip_nodes when their messages cannot hold the
   queue, up to four times as many.  With a fixed three messages of 16 a
   round, a thousand nodes' minute refreshes fill the queue; its backlog
   then moves one level a pass, and the sends that reach an update's last
   members wait seconds apiece (glsim: 99.9 % reach took 10-20 s). */
static void test_gossip_burst (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    fakekey_t ka, kn;
    make_key (&ka, 1);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    for (int round = 0; round < 2; round++) {
        int members = round == 0 ? 100 : 400;
        swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 9, 0);
        for (int i = 0; i < members; i++) {
            char name[16], addr[32];
            snprintf (name, sizeof name, "n%d", i);
            snprintf (addr, sizeof addr, "tcp://n%d", i);
            make_key (&kn, 100 + (uint64_t) i);
            tell (a, "n0", rec_update (make_rec (&kn, GL_REC_ALIVE, name, 1, 0, addr)), 1);
        }
        swim_event_t ev;
        while (swim_pop_event (a, &ev))
            ;
        collect (a);
        clear_outs ();
        /* To the first gossip round, without answering anything. */
        int gossips = 0;
        static bool seen[512];
        memset (seen, 0, sizeof seen);
        for (uint64_t now = swim_next_deadline (a); !gossips && now < 1000;
             now = swim_next_deadline (a)) {
            tick_at (a, now);
            for (int i = 0; i < n_outs; i++) {
                if (outs[i].msg.type != GL_MSG_GOSSIP)
                    continue;
                gossips++;
                for (uint32_t k = 0; k < outs[i].msg.n_updates; k++) {
                    const gl_update_t *u = &outs[i].msg.updates[k];
                    int j;
                    if (u->kind == GL_UPD_REC && sscanf (u->rec.origin, "n%d", &j) == 1 && j >= 0 &&
                        j < members)
                        seen[j] = true;
                }
            }
            clear_outs ();
        }
        int covered = 0;
        for (int i = 0; i < members; i++)
            covered += seen[i];
        if (round == 0) {
            CHECK_EQ (gossips, 7); /* 101 updates queued (and ours), 16 a message */
            CHECK_EQ (covered, members);
        }
        else {
            CHECK_EQ (gossips, 12); /* four times gossip_nodes at most */
            CHECK (covered >= 12 * 16 - 16);
        }
        swim_destroy (&a);
    }
}

/* Gossip of estimates goes to the gossip_peers members last sent a PING
   or an ACK (the agent's links to them are open); membership news goes to
   members drawn at random from all; and with nothing queued, no gossip
   round wakes the node: it ticks for its probes alone. */
typedef struct {
    char recent[64][GL_NAME_MAX + 1]; /* PING and ACK destinations, newest last */
    int n_recent;
    int ticks, gossips, gossips_to_peers;
} peers_run_t;

static bool among_last (const peers_run_t *r, const char *name, int last)
{
    int distinct = 0;
    for (int i = r->n_recent - 1; i >= 0 && distinct < last; i--) {
        if (!strcmp (r->recent[i], name))
            return true;
        bool seen = false; /* a name counts once, where it came last */
        for (int j = i + 1; j < r->n_recent && !seen; j++)
            seen = !strcmp (r->recent[j], r->recent[i]);
        distinct += !seen;
    }
    return false;
}

static void note_recent (peers_run_t *r, const char *name)
{
    if (r->n_recent == 64) {
        memmove (r->recent[0], r->recent[1], 63 * sizeof r->recent[0]);
        r->n_recent--;
    }
    gl_strlcpy (r->recent[r->n_recent++], name, sizeof r->recent[0]);
}

/* Run a from `from` to `until`: every member answers a's PINGs, and one
   member probes a every second (a answers it). */
static void peers_run (swim_t *a, uint64_t from, uint64_t until, int members, peers_run_t *r)
{
    uint64_t next_in = from;
    int prober = 0;
    for (uint64_t now = from; now < until;) {
        uint64_t due = swim_next_deadline (a);
        if (next_in < due)
            due = next_in;
        if (due >= until)
            break;
        now = due > now ? due : now;
        if (now >= next_in) {
            char name[16];
            snprintf (name, sizeof name, "n%d", prober++ % members);
            send_msg (a, name, GL_MSG_PING, 1, "a", "", now);
            for (int i = 0; i < n_outs; i++)
                if (outs[i].msg.type == GL_MSG_ACK)
                    note_recent (r, outs[i].to_name);
            clear_outs ();
            next_in = now + 1000;
            continue;
        }
        tick_at (a, now);
        r->ticks++;
        swim_out_t acks[64];
        int n_acks = 0;
        for (int i = 0; i < n_outs; i++) {
            const swim_out_t *o = &outs[i];
            if (o->msg.type == GL_MSG_GOSSIP) {
                r->gossips++;
                r->gossips_to_peers += among_last (r, o->to_name, 12);
            }
            if (o->msg.type == GL_MSG_PING) {
                note_recent (r, o->to_name);
                memset (&acks[n_acks], 0, sizeof acks[n_acks]);
                acks[n_acks].msg.type = GL_MSG_ACK;
                acks[n_acks].msg.probe_seq = o->msg.probe_seq;
                gl_strlcpy (acks[n_acks].msg.target, o->msg.target, sizeof acks[0].msg.target);
                n_acks++;
            }
        }
        clear_outs ();
        for (int i = 0; i < n_acks; i++) {
            swim_recv (a, acks[i].msg.target, &acks[i].msg, now);
            collect (a);
            clear_outs ();
        }
    }
}

static void test_gossip_peers (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    cfg.probe_rings = 0; /* estimates through the queue (on the rings: test_res_rings) */
    CHECK_EQ (cfg.gossip_peers, 12);
    fakekey_t ka, kn;
    make_key (&ka, 1);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 5, 0);
    int members = 60;
    for (int i = 0; i < members; i++) {
        char name[16], addr[32];
        snprintf (name, sizeof name, "n%d", i);
        snprintf (addr, sizeof addr, "tcp://n%d", i);
        make_key (&kn, 100 + (uint64_t) i);
        tell (a, "n0", rec_update (make_rec (&kn, GL_REC_ALIVE, name, 1, 0, addr)), 1);
    }
    swim_event_t ev;
    while (swim_pop_event (a, &ev))
        ;
    collect (a);
    clear_outs ();
    peers_run_t r;
    memset (&r, 0, sizeof r);
    /* the joins spread (to random members), then nothing is left to say */
    peers_run (a, 1, 20000, members, &r);
    CHECK (r.gossips > 0);
    CHECK (r.gossips_to_peers < r.gossips);
    /* idle: 10 s of probes, answers, and no gossip round between */
    memset (&r.ticks, 0, sizeof r - offsetof (peers_run_t, ticks));
    peers_run (a, 20000, 30000, members, &r);
    CHECK_EQ (r.gossips, 0);
    CHECK (r.ticks <= 12); /* a probe a second (and a push-pull, maybe) */
    /* an estimate: to peers only, the members a sent a PING or an ACK lately */
    gl_res_t res;
    memset (&res, 0, sizeof res);
    res.cores = 4;
    swim_set_res (a, &res, 30000);
    memset (&r.ticks, 0, sizeof r - offsetof (peers_run_t, ticks));
    peers_run (a, 30000, 34000, members, &r);
    CHECK (r.gossips >= 5);
    CHECK_EQ (r.gossips_to_peers, r.gossips);
    /* membership news: to members at random, most of them not peers */
    make_key (&kn, 100 + (uint64_t) members);
    tell (a, "n1", rec_update (make_rec (&kn, GL_REC_ALIVE, "newcomer", 1, 0, "tcp://new")), 34000);
    while (swim_pop_event (a, &ev))
        ;
    collect (a);
    clear_outs ();
    memset (&r.ticks, 0, sizeof r - offsetof (peers_run_t, ticks));
    peers_run (a, 34000, 36000, members, &r);
    CHECK (r.gossips >= 5);
    CHECK (r.gossips_to_peers < r.gossips);
    swim_destroy (&a);
}

/* A node that joins asks again every join_retry until a member answers
   with its whole state: the seeds while it knows no one, then a live
   member it knows.  A newcomer whose answers were lost but who heard from
   a member or two would otherwise learn a large cluster member by member,
   and take no estimate of a node it does not know, until its first
   push-pull (3 minutes at 1,000 nodes; glsim: a restarted node kept three
   updates from 99.9 % reach for 33-58 s). */
static void test_join_retry (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    fakekey_t ka, kb;
    make_key (&ka, 1);
    make_key (&kb, 2);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 11, 0);
    const char *seeds[] = { "tcp://s" };
    swim_join (a, seeds, 1, 0);
    collect (a);
    const swim_out_t *req = find_out (GL_MSG_SYNC_REQ, 0);
    CHECK (req && !strcmp (req->to_addr, "tcp://s")); /* lost: nobody answers */
    clear_outs ();
    /* b writes to us: we are no longer alone, and still have no state. */
    tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, "b", 1, 0, "tcp://b")), 500);
    collect (a);
    clear_outs ();
    int to_b = 0, to_seed = 0;
    uint64_t now = 0;
    while ((now = swim_next_deadline (a)) <= 1500) {
        tick_at (a, now);
        for (int i = 0; i < n_outs; i++)
            if (outs[i].msg.type == GL_MSG_SYNC_REQ) {
                to_b += !strcmp (outs[i].to_name, "b");
                to_seed += !strcmp (outs[i].to_addr, "tcp://s");
            }
        clear_outs ();
    }
    CHECK_EQ (to_b, 1); /* at 1 s */
    CHECK_EQ (to_seed, 0);
    /* b answers with its state: no more asking. */
    gl_msg_t resp;
    memset (&resp, 0, sizeof resp);
    resp.type = GL_MSG_SYNC_RESP;
    swim_recv (a, "b", &resp, now);
    collect (a);
    clear_outs ();
    int more = 0;
    while ((now = swim_next_deadline (a)) <= 6500) {
        tick_at (a, now);
        for (int i = 0; i < n_outs; i++)
            more += outs[i].msg.type == GL_MSG_SYNC_REQ;
        clear_outs ();
    }
    CHECK (more <= 1); /* a push-pull, if its timer came; not one a second */
    swim_destroy (&a);
}

static void test_suspicion_timeout (void)
{
    fakekey_t keys[5];
    swim_t *a = small_world (keys);
    uint64_t t0 = 10;
    tell (a, "c", status_update (GL_UPD_SUSPECT, "b", 1, 0, "c"), t0);
    tell (a, "b", status_update (GL_UPD_SUSPECT, "c", 1, 0, "b"), t0);
    tell (a, "d", status_update (GL_UPD_SUSPECT, "c", 1, 0, "d"), t0);
    tell (a, "e", status_update (GL_UPD_SUSPECT, "c", 1, 0, "e"), t0); /* only 2 others */
    tell (a, "b", status_update (GL_UPD_SUSPECT, "d", 1, 0, "b"), t0);
    tell (a, "c", status_update (GL_UPD_SUSPECT, "d", 1, 0, "c"), t0 + 1000);
    tell (a, "c", status_update (GL_UPD_SUSPECT, "d", 1, 0, "c"), t0 + 1000); /* same voice */
    uint64_t dead_at[5] = { 0 };
    for (uint64_t t = t0; t < t0 + 30000; t += 1) {
        if (swim_next_deadline (a) > t)
            continue;
        swim_tick (a, t);
        collect (a);
        /* everyone answers our own probes, so they confirm nothing */
        for (int i = 0; i < n_outs; i++)
            if (outs[i].msg.type == GL_MSG_PING) {
                gl_msg_t ack;
                memset (&ack, 0, sizeof ack);
                ack.type = GL_MSG_ACK;
                ack.probe_seq = outs[i].msg.probe_seq;
                memcpy (ack.target, outs[i].msg.target, sizeof ack.target);
                swim_recv (a, ack.target, &ack, t);
            }
        swim_event_t ev;
        while (swim_pop_event (a, &ev))
            if (ev.kind == SWIM_EV_DEAD && !strcmp (ev.from, "a"))
                dead_at[ev.node[0] - 'a'] = ev.at_ms - t0;
    }
    clear_outs ();
    CHECK_EQ (dead_at[2], 8150);  /* two confirmations: 24 - 20 log 3 / log 4 */
    CHECK_EQ (dead_at[3], 14000); /* one, a second later: 24 - 20 log 2 / log 4,
                                                   counted from the first suspicion */
    CHECK_EQ (dead_at[1], 24000); /* none */
    swim_destroy (&a);
}

/* A push-pull of thousands of members is cut to fit in one packet. */
static void test_big_sync (void)
{
    swim_config_t cfg;
    swim_config_default (&cfg);
    fakekey_t ka, kb;
    make_key (&ka, 1);
    make_key (&kb, 2);
    swim_signer_t signer = { &ka, fake_sign, fake_verify };
    swim_t *a = swim_new (&cfg, "a", "tcp://a", 1, ka.key, &signer, 3, 0);
    char addr[GL_ADDR_MAX + 1], name[GL_NAME_MAX + 1], pad[241];
    memset (pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    const int n = 10000; /* about 520 bytes each: over 5 MB */
    for (int i = 0; i < n; i++) {
        snprintf (name, sizeof name, "member-%05d-%.40s", i, pad);
        snprintf (addr, sizeof addr, "tcp://%s", pad);
        tell (a, "b", rec_update (make_rec (&kb, GL_REC_ALIVE, name, 1, 0, addr)), 1);
        tell (a, "b", status_update (GL_UPD_DEAD, name, 1, 0, "b"), 1);
    }
    CHECK_EQ (swim_count (a), n + 1);
    CHECK_EQ (swim_count_state (a, SWIM_DEAD), n);
    drop_output (a);
    snprintf (name, sizeof name, "member-%05d-%.40s", 0, pad);
    gl_msg_t req;
    memset (&req, 0, sizeof req);
    req.type = GL_MSG_SYNC_REQ;
    swim_recv (a, name, &req, 2);
    swim_out_t out;
    CHECK (swim_pop (a, &out));
    CHECK_EQ (out.msg.type, GL_MSG_SYNC_RESP);
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ (gl_msg_encode (&out.msg, &buf, &len), 0);
    CHECK (len <= GL_PKT_MAX - 65536);
    CHECK (out.msg.n_updates > (uint32_t) n); /* over half the members, 2 updates each */
    CHECK (out.msg.n_updates < 2 * (uint32_t) n);
    free (buf);
    gl_msg_clear (&out.msg);
    swim_event_t ev;
    while (swim_pop_event (a, &ev))
        ;
    swim_destroy (&a);
}

/* ---- the network tests ---------------------------------------------------------- */

static void test_two_nodes (void)
{
    net_t *net = net_new (2, 1, 0);
    net->wire = true;
    node_start (net, 0, 1);
    node_start (net, 1, 1);
    node_join (net, 1, 0);
    net_run (net, 3000);
    CHECK (converged (net));
    CHECK_EQ (count_events (net, 0, SWIM_EV_JOINED, 1, 0), 1);
    CHECK_EQ (count_events (net, 1, SWIM_EV_JOINED, 0, 0), 1);
    swim_member_t m = member_at (net, 0, 1);
    CHECK (!strcmp (m.addr, net->nodes[1].addr));
    CHECK_EQ (swim_count (net->nodes[0].swim), 2);
    swim_stats_t st;
    swim_stats (net->nodes[0].swim, &st);
    CHECK (st.probes > 0);
    CHECK (st.acks_in > 0);
    CHECK_EQ (st.probe_failures, 0);
    /* With no third node to confirm it, a suspicion waits only the
       minimum (4 s), not the 24 s kept for unconfirmed suspicions. */
    uint64_t crash = net->now;
    node_crash (net, 1);
    uint64_t at = run_until (net, pred_dead, 1, crash + 30000);
    CHECK (at >= crash + 4000 && at <= crash + 2 * net->cfg.probe_interval_ms + 4000 + 100);
    CHECK_EQ (net->wire_errors, 0);
    net_free (net);
}

static void test_converge (void)
{
    net_t *net = net_new (8, 2, 0);
    net->wire = true;
    for (int i = 0; i < 8; i++) {
        node_start (net, i, 1);
        if (i)
            node_join (net, i, 0);
        net_run (net, net->now + 100);
    }
    uint64_t started = net->now;
    uint64_t at = run_until (net, pred_converged, 0, started + 10000);
    CHECK (at != 0);
    CHECK (at - started <= 3000);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ (swim_count (net->nodes[i].swim), 8);
        CHECK_EQ (swim_count_state (net->nodes[i].swim, SWIM_ALIVE), 8);
    }
    CHECK_EQ (net->wire_errors, 0);
    net_free (net);
}

/* min and max suspicion timeouts for a cluster of n, as swim.h defines them */
static void suspicion_bounds (const swim_config_t *c, int n, uint64_t *min_ms, uint64_t *max_ms)
{
    double scale = log10 ((double) n);
    if (scale < 1)
        scale = 1;
    *min_ms = (uint64_t) (c->suspicion_mult * scale * c->probe_interval_ms);
    *max_ms = *min_ms * c->suspicion_max_mult;
}

static void test_crash (void)
{
    net_t *net = cluster (8, 3, 0, true);
    uint64_t min_ms, max_ms;
    suspicion_bounds (&net->cfg, 8, &min_ms, &max_ms);
    net_run (net, net->now + 5000);
    uint64_t crash = net->now;
    node_crash (net, 3);
    /* Someone probes it within a round (7 probe intervals), its suspicion
       runs out within max_ms, and the news spreads in well under 2 s. */
    uint64_t limit = crash + 8 * net->cfg.probe_interval_ms + max_ms + 2000;
    uint64_t at = run_until (net, pred_dead, 3, limit + 1);
    CHECK (at != 0 && at <= limit);
    for (int i = 0; i < 8; i++) {
        if (i == 3)
            continue;
        CHECK_EQ (count_events (net, i, SWIM_EV_DEAD, 3, 0), 1);
        swim_member_t m = member_at (net, i, 3);
        CHECK (m.state_since_ms >= crash + min_ms);
    }
    /* the helpers answered for the dead node: NACKs, so no one blamed itself */
    uint64_t indirect = 0, nacks = 0;
    for (int i = 0; i < 8; i++)
        if (i != 3) {
            swim_stats_t st;
            swim_stats (net->nodes[i].swim, &st);
            indirect += st.indirect_probes;
            nacks += st.nacks_in;
            CHECK_EQ (st.awareness, 0);
        }
    CHECK (indirect > 0);
    CHECK_EQ (nacks, indirect);
    /* no one else was harmed */
    net_run (net, net->now + 20000);
    CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, -1, 0), 7);
    for (int i = 0; i < 8; i++)
        if (i != 3)
            CHECK (all_see (net, i, SWIM_ALIVE));
    CHECK_EQ (net->wire_errors, 0);
    net_free (net);
}

/* Paused less than the shortest suspicion timeout: suspected, refuted, alive. */
static void test_pause_short (void)
{
    net_t *net = cluster (8, 4, 0, false);
    uint64_t min_ms, max_ms;
    suspicion_bounds (&net->cfg, 8, &min_ms, &max_ms);
    net_run (net, net->now + 5000);
    uint64_t t0 = net->now;
    net->nodes[5].paused = true;
    net_run (net, t0 + min_ms - 500);
    net->nodes[5].paused = false;
    net_run (net, net->now + 60000);
    CHECK (count_events (net, -1, SWIM_EV_SUSPECT, 5, t0) > 0);
    CHECK (count_events (net, 5, SWIM_EV_REFUTED, 5, t0) > 0);
    CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, -1, t0), 0);
    CHECK (converged (net));
    net_free (net);
}

/* Paused long: declared dead; on waking up it refutes and is alive again. */
static void test_pause_long (void)
{
    net_t *net = cluster (8, 5, 0, false);
    net_run (net, net->now + 5000);
    uint64_t inc_before = member_at (net, 0, 5).incarnation;
    uint64_t t0 = net->now;
    net->nodes[5].paused = true;
    net_run (net, t0 + 60000);
    CHECK (all_see (net, 5, SWIM_DEAD));
    net->nodes[5].paused = false;
    uint64_t woke = net->now;
    uint64_t at = run_until (net, pred_converged, 0, woke + 30000);
    CHECK (at != 0);
    CHECK (at - woke < 5000);
    CHECK (count_events (net, 5, SWIM_EV_REFUTED, 5, woke) > 0);
    for (int i = 0; i < 8; i++)
        if (i != 5)
            CHECK (member_at (net, i, 5).incarnation > inc_before);
    net_free (net);
}

/* After its JOINED event for `generation`, observer i never reports anything
   about node j from an older life. */
static bool never_shadowed (const net_t *net, int j, uint64_t generation)
{
    for (int i = 0; i < net->n; i++) {
        bool joined = false;
        for (size_t e = 0; e < net->n_log; e++) {
            const logged_t *l = &net->log[e];
            if (l->observer != i || strcmp (l->ev.node, net->nodes[j].name))
                continue;
            if (l->ev.kind == SWIM_EV_JOINED && l->ev.generation == generation)
                joined = true;
            else if (joined && l->ev.generation < generation)
                return false;
        }
    }
    return true;
}

static bool pred_generation3 (net_t *net, int j)
{
    for (int i = 0; i < net->n; i++)
        if (i != j && (state_at (net, i, j) != SWIM_ALIVE || member_at (net, i, j).generation != 3))
            return false;
    return true;
}

static void test_restart (void)
{
    net_t *net = cluster (6, 6, 0, true);
    net_run (net, net->now + 3000);
    /* crashed, found dead, restarted: the new life replaces the dead one */
    node_crash (net, 2);
    CHECK (run_until (net, pred_dead, 2, net->now + 60000) != 0);
    uint64_t back = net->now;
    node_start (net, 2, 2);
    node_join (net, 2, 0);
    CHECK (run_until (net, pred_converged, 0, back + 10000) != 0);
    for (int i = 0; i < 6; i++)
        if (i != 2)
            CHECK_EQ (member_at (net, i, 2).generation, 2);
    CHECK_EQ (count_events (net, -1, SWIM_EV_JOINED, 2, back), 5);
    /* crashed and back within a second, before anyone noticed */
    net_run (net, net->now + 5000);
    node_crash (net, 2);
    net_run (net, net->now + 1000);
    node_start (net, 2, 3);
    node_join (net, 2, 4);
    CHECK (run_until (net, pred_generation3, 2, net->now + 10000) != 0);
    net_run (net, net->now + 90000); /* three push-pulls: nothing old comes back */
    CHECK (pred_generation3 (net, 2));
    CHECK (converged (net));
    CHECK (never_shadowed (net, 2, 2));
    CHECK (never_shadowed (net, 2, 3));
    CHECK_EQ (net->wire_errors, 0);
    net_free (net);
}

static bool pred_left (net_t *net, int j)
{
    return all_see (net, j, SWIM_LEFT);
}

static void test_leave (void)
{
    net_t *net = cluster (6, 7, 0, true);
    net_run (net, net->now + 3000);
    uint64_t t0 = net->now;
    swim_leave (net->nodes[4].swim, net->now);
    CHECK_EQ (state_at (net, 4, 4), SWIM_LEFT);
    net_run (net, net->now + 1000); /* the agent flushes, then exits */
    CHECK (pred_left (net, 4));
    node_crash (net, 4);
    net_run (net, net->now + 120000);
    CHECK (pred_left (net, 4));
    for (int i = 0; i < 6; i++) {
        if (i == 4)
            continue;
        CHECK_EQ (count_events (net, i, SWIM_EV_LEFT, 4, t0), 1);
        CHECK_EQ (count_events (net, i, SWIM_EV_DEAD, 4, t0), 0);
        CHECK_EQ (count_events (net, i, SWIM_EV_ALIVE, 4, t0), 0);
        CHECK_EQ (count_events (net, i, SWIM_EV_JOINED, 4, t0), 0);
    }
    /* an old record can't bring it back */
    swim_t *s0 = net->nodes[0].swim;
    swim_member_t m = member_at (net, 0, 4);
    swim_stats_t st;
    swim_stats (s0, &st);
    uint64_t old = st.old_records;
    tell (s0, "n01",
          rec_update (make_rec (&net->nodes[4].key, GL_REC_ALIVE, "n04", 1, m.incarnation,
                                net->nodes[4].addr)),
          net->now);
    tell (s0, "n01", status_update (GL_UPD_DEAD, "n04", 1, m.incarnation + 1, "n01"), net->now);
    CHECK_EQ (state_at (net, 0, 4), SWIM_LEFT);
    swim_stats (s0, &st);
    CHECK_EQ (st.old_records, old + 2);
    CHECK_EQ (net->wire_errors, 0);
    net_free (net);
}

/* Forgotten after dead_reap_ms, but a tombstone keeps old records out. */
static void test_reap (void)
{
    net_t *net = net_new (5, 8, 0);
    net->cfg.dead_reap_ms = 20000;
    start_nodes (net, 5);
    uint64_t inc = member_at (net, 0, 4).incarnation;
    swim_leave (net->nodes[4].swim, net->now);
    net_run (net, net->now + 1000);
    node_crash (net, 4);
    net_run (net, net->now + 40000);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ (state_at (net, i, 4), -1);
        CHECK_EQ (swim_count (net->nodes[i].swim), 4);
    }
    swim_t *s0 = net->nodes[0].swim;
    tell (
        s0, "n01",
        rec_update (make_rec (&net->nodes[4].key, GL_REC_ALIVE, "n04", 1, inc, net->nodes[4].addr)),
        net->now);
    CHECK_EQ (state_at (net, 0, 4), -1);
    /* a new life is welcome */
    node_start (net, 4, 2);
    node_join (net, 4, 1);
    CHECK (run_until (net, pred_converged, 0, net->now + 10000) != 0);
    CHECK_EQ (member_at (net, 0, 4).generation, 2);
    net_free (net);
}

static void test_forgery (void)
{
    net_t *net = net_new (5, 9, 0);
    net->nodes[4].key.forger = true;
    start_nodes (net, 4);
    /* a node whose signatures don't verify is never let in */
    node_start (net, 4, 1);
    node_join (net, 4, 0);
    net_run (net, net->now + 20000);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ (state_at (net, i, 4), -1);
        CHECK_EQ (swim_count (net->nodes[i].swim), 4);
    }
    swim_stats_t st;
    swim_stats (net->nodes[0].swim, &st);
    CHECK (st.bad_records > 0);
    CHECK (count_events (net, 0, SWIM_EV_BAD_RECORD, 4, 0) > 0);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK_EQ (state_at (net, i, j), SWIM_ALIVE);
    net_free (net);
}

static bool pred_res_seq2 (net_t *net, int j)
{
    for (int i = 0; i < net->n; i++)
        if (i != j && running (net, i) && member_at (net, i, j).res_seq != 2)
            return false;
    return true;
}

static void test_res (void)
{
    net_t *net = cluster (6, 10, 0, true);
    uint64_t t0 = net->now;
    for (int i = 0; i < 6; i++) {
        gl_res_t res = { .cores = (uint32_t) i + 1,
                         .mem_total_kb = 1u << 20,
                         .state = GL_RES_IDLE };
        swim_set_res (net->nodes[i].swim, &res, net->now);
    }
    /* Gossip brings it to most at once, push-pull to the rest. */
    net_run (net, net->now + net->cfg.pushpull_interval_ms + 5000);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            swim_member_t m = member_at (net, i, j);
            CHECK (m.has_res);
            CHECK_EQ (m.res_seq, 1);
            CHECK_EQ (m.res.cores, j + 1);
            CHECK_EQ (m.res_origin_ms, t0);
            CHECK (m.res_recv_ms >= t0);
        }
    gl_res_t busy = { .cores = 42, .state = GL_RES_BUSY };
    swim_set_res (net->nodes[1].swim, &busy, net->now);
    CHECK (run_until (net, pred_res_seq2, 1, net->now + net->cfg.pushpull_interval_ms + 5000) != 0);
    for (int i = 0; i < 6; i++) {
        swim_member_t m = member_at (net, i, 1);
        CHECK_EQ (m.res.cores, 42);
        CHECK_EQ (m.res.state, GL_RES_BUSY);
    }
    /* the older estimate, replayed, changes nothing */
    gl_rec_t old_res = make_rec (&net->nodes[1].key, GL_REC_RES, "n01", 1, 1, "");
    old_res.res.cores = 2;
    old_res.res.mem_total_kb = 1u << 20;
    old_res.time_ms = t0;
    fake_sign (&net->nodes[1].key, &old_res);
    swim_stats_t st;
    swim_stats (net->nodes[0].swim, &st);
    tell (net->nodes[0].swim, "n02", rec_update (old_res), net->now);
    swim_stats_t st2;
    swim_stats (net->nodes[0].swim, &st2);
    CHECK_EQ (st2.old_records, st.old_records + 1);
    CHECK_EQ (st2.bad_records, st.bad_records);
    CHECK_EQ (member_at (net, 0, 1).res.cores, 42);
    /* push-pull hands the estimates to a latecomer */
    net_free (net);

    net = net_new (5, 11, 0);
    start_nodes (net, 4);
    for (int i = 0; i < 4; i++) {
        gl_res_t res = { .cores = 7, .state = GL_RES_IDLE };
        swim_set_res (net->nodes[i].swim, &res, net->now);
    }
    net_run (net, net->now + 30000); /* long after the broadcasts are spent */
    node_start (net, 4, 1);
    node_join (net, 4, 2);
    net_run (net, net->now + 2000);
    for (int j = 0; j < 4; j++)
        CHECK_EQ (member_at (net, 4, j).res.cores, 7);
    net_free (net);
}

/* The whole run, as one number. */
static uint64_t log_hash (const net_t *net)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < net->n_log; i++) {
        const logged_t *l = &net->log[i];
        h = fnv_u64 (h, (uint64_t) l->observer);
        h = fnv_u64 (h, (uint64_t) l->ev.kind);
        h = fnv (h, l->ev.node, strlen (l->ev.node));
        h = fnv (h, l->ev.from, strlen (l->ev.from));
        h = fnv_u64 (h, l->ev.generation);
        h = fnv_u64 (h, l->ev.incarnation);
        h = fnv_u64 (h, l->ev.at_ms);
    }
    return h;
}

static uint64_t scenario (uint64_t seed, size_t *n_events)
{
    net_t *net = cluster (8, seed, 20, false);
    net_run (net, 20000);
    node_crash (net, 3);
    net->nodes[6].paused = true;
    net_run (net, 23000);
    net->nodes[6].paused = false;
    net_run (net, 60000);
    uint64_t h = log_hash (net);
    *n_events = net->n_log;
    net_free (net);
    return h;
}

static void test_determinism (void)
{
    size_t n1, n2, n3;
    uint64_t h1 = scenario (12, &n1);
    uint64_t h2 = scenario (12, &n2);
    uint64_t h3 = scenario (13, &n3);
    CHECK (n1 > 56); /* at least the joins */
    CHECK_EQ (n1, n2);
    CHECK (h1 == h2);
    CHECK (h1 != h3);
}

/* 5% of messages lost, 16 nodes, 10 minutes: suspicions, but no deaths. */
static void test_loss (void)
{
    net_t *net = cluster (16, 14, 50, false);
    uint64_t t0 = net->now;
    net_run (net, t0 + 600000);
    CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, -1, 0), 0);
    CHECK (converged (net));
    CHECK (net->lost > net->sent / 40);
    uint64_t suspicions = 0, refutations = 0;
    for (int i = 0; i < 16; i++) {
        swim_stats_t st;
        swim_stats (net->nodes[i].swim, &st);
        suspicions += st.suspicions;
        refutations += st.refutations;
    }
    printf ("# loss: %" PRIu64 " messages, %" PRIu64 " lost, %" PRIu64 " suspicions, %" PRIu64
            " refutations\n",
            net->sent, net->lost, suspicions, refutations);
    net_free (net);
}

/* Both halves of a long partition find each other again once it heals. */
static void test_partition (void)
{
    net_t *net = cluster (6, 15, 0, false);
    for (int i = 3; i < 6; i++)
        net->nodes[i].side = 1;
    net_run (net, net->now + 90000);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            if ((i < 3) != (j < 3))
                CHECK_EQ (state_at (net, i, j), SWIM_DEAD);
    for (int i = 3; i < 6; i++)
        net->nodes[i].side = 0;
    uint64_t healed = net->now;
    uint64_t at = run_until (net, pred_converged, 0, healed + 120000);
    CHECK (at != 0);
    net_run (net, net->now + 30000);
    CHECK (converged (net));
    net_free (net);
}

/* Nodes sharing one pool (glsim) behave exactly as nodes with their own:
   the same run, event for event.  The pool holds each name and record
   once, however many nodes know it, and nothing once they are gone. */
static void test_shared_pool (void)
{
    size_t n1, n2;
    uint64_t h1 = scenario (12, &n1);
    shared_pool = swim_pool_new ();
    uint64_t h2 = scenario (12, &n2);
    CHECK_EQ (n1, n2);
    CHECK (h1 == h2);
    CHECK_EQ (swim_pool_items (shared_pool), 0);

    net_t *net = cluster (8, 12, 0, false);
    net_run (net, 20000);
    CHECK (pred_converged (net, 0));
    /* 8 names, 8 ALIVE and 8 RES records (and a few a node still holds
       in its queue or an old estimate): not 8 x 8 copies */
    CHECK (swim_pool_items (shared_pool) <= 8 + 2 * 8 + 8);
    net_free (net);
    CHECK_EQ (swim_pool_items (shared_pool), 0);

    /* reaping (tombstones), restarts, leaving and forgeries, shared */
    test_reap ();
    test_restart ();
    test_leave ();
    test_forgery ();
    test_crash ();
    CHECK_EQ (swim_pool_items (shared_pool), 0);
    swim_pool_destroy (&shared_pool);
}

/* ---- the probe overlay (probe_rings) ------------------------------------------ */

/* Node i's successor on each ring, as node numbers (-1: not a node). */
static size_t ring_targets (net_t *net, int i, int *out)
{
    char names[16][GL_NAME_MAX + 1];
    size_t n = swim_probe_targets (net->nodes[i].swim, names, 16);
    for (size_t r = 0; r < n; r++) {
        out[r] = -1;
        for (int j = 0; j < net->n; j++)
            if (!strcmp (names[r], net->nodes[j].name))
                out[r] = j;
    }
    return n;
}

/* Every running node has its successor on each of the k rings among the
   running nodes, and on each ring the successors form one cycle through
   all of them: every node has k observers, one a ring. */
static bool rings_whole (net_t *net, int k)
{
    int succ[MAX_NODES][16], live = 0, first = -1;
    for (int i = 0; i < net->n; i++) {
        if (!running (net, i))
            continue;
        live++;
        first = first < 0 ? i : first;
        if (ring_targets (net, i, succ[i]) != (size_t) k)
            return false;
        for (int r = 0; r < k; r++)
            if (succ[i][r] < 0 || succ[i][r] == i || !running (net, succ[i][r]))
                return false;
    }
    for (int r = 0; r < k; r++) {
        int at = first, steps = 0;
        do {
            at = succ[at][r];
            steps++;
        } while (at != first && steps <= live);
        if (steps != live)
            return false;
    }
    return true;
}

static void pings_clear (net_t *net)
{
    memset (net->pings, 0, sizeof net->pings);
}

/* Probes go to the ring successors and nowhere else; every member has k
   observers and is probed about once a period in all. */
static void test_rings (void)
{
    net_t *net = net_new (MAX_NODES, 41, 0);
    CHECK_EQ (net->cfg.probe_rings, 4);
    start_nodes (net, MAX_NODES);
    CHECK (rings_whole (net, 4));
    net_run (net, net->now + 5000);
    pings_clear (net);
    net_run (net, net->now + 40000);
    unsigned to_each[MAX_NODES] = { 0 };
    for (int i = 0; i < net->n; i++) {
        int succ[16];
        CHECK_EQ (ring_targets (net, i, succ), 4);
        unsigned total = 0;
        for (int j = 0; j < net->n; j++) {
            bool target = false;
            for (int r = 0; r < 4; r++)
                target |= succ[r] == j;
            CHECK (target ? net->pings[i][j] >= 8 : net->pings[i][j] == 0);
            total += net->pings[i][j];
            to_each[j] += net->pings[i][j];
        }
        CHECK (total >= 39 && total <= 41); /* one a period */
    }
    for (int j = 0; j < net->n; j++)
        CHECK (to_each[j] >= 38 && to_each[j] <= 42);
    net_free (net);
}

/* Knowing more than news_random_max others, a member gossips membership
   news on the rings to its peers, its ring neighbours, and not to random
   members, which in a large cluster would be a connection set-up each
   (issue 14); a crash is still known to all in time.  Knowing fewer, to
   random members, as SWIM has it. */
static void test_news_rings (void)
{
    const int n = 40;
    unsigned most[2] = { 0, 0 };
    for (int round = 0; round < 2; round++) {
        net_t *net = net_new (n, 71, 0);
        net->cfg.news_random_max = round == 0 ? 16 : 64;
        start_nodes (net, n);
        net_run (net, net->now + 5000);
        memset (net->news, 0, sizeof net->news);
        uint64_t min_ms, max_ms;
        suspicion_bounds (&net->cfg, n, &min_ms, &max_ms);
        uint64_t crash = net->now;
        node_crash (net, 7);
        /* its 4 observers probe it within 4 periods; then as test_crash */
        uint64_t limit = crash + 4 * net->cfg.probe_interval_ms + max_ms + 2000;
        uint64_t at = run_until (net, pred_dead, 7, limit + 1);
        CHECK (at != 0 && at <= limit);
        net_run (net, net->now + 2000);
        for (int i = 0; i < n; i++) {
            unsigned to = 0;
            for (int j = 0; j < n; j++)
                to += net->news[i][j] > 0;
            most[round] = to > most[round] ? to : most[round];
        }
        CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, -1, 0), n - 1);
        net_free (net);
    }
    /* the peers: the gossip_peers (12) members last sent a PING or an
       ACK, which shift a little as relays and vouches come and go; at
       random, most of the 39 */
    CHECK (most[0] <= 16);
    CHECK (most[1] >= 24);
    printf ("# news of a crash among %d members: to %u members at most from one, %u at "
            "random\n",
            n, most[0], most[1]);
}

/* A member that dies changes one successor on each ring, its own
   predecessor's, to its own successor; one that joins takes the place. */
static void test_rings_churn (void)
{
    net_t *net = net_new (MAX_NODES, 42, 0);
    start_nodes (net, MAX_NODES - 1);
    int before[MAX_NODES][16], after[16];
    for (int i = 0; i < MAX_NODES - 1; i++)
        CHECK_EQ (ring_targets (net, i, before[i]), 4);

    int last = MAX_NODES - 1;
    node_start (net, last, 1);
    node_join (net, last, 0);
    CHECK (run_until (net, pred_converged, 0, net->now + 30000) != 0);
    CHECK (rings_whole (net, 4));
    int changed[4] = { 0 };
    int newcomer[16];
    CHECK_EQ (ring_targets (net, last, newcomer), 4);
    for (int i = 0; i < MAX_NODES - 1; i++) {
        CHECK_EQ (ring_targets (net, i, after), 4);
        for (int r = 0; r < 4; r++)
            if (after[r] != before[i][r]) {
                changed[r]++;
                CHECK_EQ (after[r], last);
                CHECK_EQ (newcomer[r], before[i][r]);
            }
    }
    for (int r = 0; r < 4; r++)
        CHECK_EQ (changed[r], 1);

    int gone = 7, was[MAX_NODES][16], gone_succ[16];
    for (int i = 0; i < MAX_NODES; i++)
        CHECK_EQ (ring_targets (net, i, was[i]), 4);
    memcpy (gone_succ, was[gone], sizeof gone_succ);
    node_crash (net, gone);
    CHECK (run_until (net, pred_dead, gone, net->now + 120000) != 0);
    CHECK (rings_whole (net, 4));
    memset (changed, 0, sizeof changed);
    for (int i = 0; i < MAX_NODES; i++) {
        if (i == gone)
            continue;
        CHECK_EQ (ring_targets (net, i, after), 4);
        for (int r = 0; r < 4; r++) {
            CHECK_EQ (after[r], was[i][r] == gone ? gone_succ[r] : was[i][r]);
            changed[r] += after[r] != was[i][r];
        }
    }
    for (int r = 0; r < 4; r++)
        CHECK_EQ (changed[r], 1);
    CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, -1, 0), MAX_NODES - 1);
    net_free (net);
}

/* A member whose observers all died is probed again once they are found
   dead, by new observers, and is never thought dead itself. */
static void test_rings_orphan (void)
{
    net_t *net = net_new (MAX_NODES, 43, 0);
    start_nodes (net, MAX_NODES);
    int x = 5, observers = 0;
    bool observes[MAX_NODES] = { false };
    for (int i = 0; i < net->n; i++) {
        int succ[16];
        CHECK_EQ (ring_targets (net, i, succ), 4);
        for (int r = 0; r < 4; r++)
            if (succ[r] == x && !observes[i]) {
                observes[i] = true;
                observers++;
            }
    }
    CHECK (observers >= 1 && observers <= 4);
    for (int i = 0; i < net->n; i++)
        if (observes[i])
            node_crash (net, i);
    pings_clear (net);
    net_run (net, net->now + 3000);
    unsigned probed = 0;
    for (int i = 0; i < net->n; i++)
        probed += net->pings[i][x];
    CHECK_EQ (probed, 0); /* no one left that probes it... */
    for (int i = 0; i < net->n; i++)
        if (observes[i])
            CHECK (run_until (net, pred_dead, i, net->now + 120000) != 0);
    CHECK (rings_whole (net, 4)); /* ... until the rings re-form */
    pings_clear (net);
    net_run (net, net->now + 20000);
    probed = 0;
    for (int i = 0; i < net->n; i++)
        probed += net->pings[i][x];
    CHECK (probed >= 15);
    CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, x, 0), 0);
    CHECK (all_see (net, x, SWIM_ALIVE));
    net_free (net);
}

/* With probe_rings or fewer others, every member is probed in turn; so
   with probe_rings 0 at any size. */
static void test_rings_small (void)
{
    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? 5 : 8;
        net_t *net = net_new (n, 44, 0);
        if (round == 1)
            net->cfg.probe_rings = 0;
        start_nodes (net, n);
        pings_clear (net);
        net_run (net, net->now + 20000);
        for (int i = 0; i < n; i++) {
            int succ[16];
            CHECK_EQ (ring_targets (net, i, succ), 0);
            for (int j = 0; j < n; j++)
                if (j != i)
                    CHECK (net->pings[i][j] >= 2);
        }
        net_free (net);
    }
    /* one more member, and the rings take over */
    net_t *net = net_new (6, 45, 0);
    start_nodes (net, 6);
    CHECK (rings_whole (net, 4));
    net_free (net);
}

/* A member that precedes another on two rings leaves it fewer than K
   observers to confirm its suspicion; the members a new suspect probes
   (its successors) probe it too, so its suspicion still gets its
   confirmations and ends near the shortest timeout, not near the
   longest. */
static void test_rings_vouch (void)
{
    net_t *net = net_new (MAX_NODES, 46, 0);
    start_nodes (net, MAX_NODES);
    int x = -1;
    for (int j = 0; j < net->n && x < 0; j++) {
        int observers = 0;
        for (int i = 0; i < net->n; i++) {
            int succ[16];
            CHECK_EQ (ring_targets (net, i, succ), 4);
            bool observes = false;
            for (int r = 0; r < 4; r++)
                observes |= succ[r] == j;
            observers += observes;
        }
        if (observers == 2)
            x = j;
    }
    CHECK (x >= 0); /* names n00..n19 have one: n06 */
    if (x < 0) {
        net_free (net);
        return;
    }
    uint64_t min_ms, max_ms;
    suspicion_bounds (&net->cfg, MAX_NODES, &min_ms, &max_ms);
    net_run (net, net->now + 3000);
    uint64_t crash = net->now;
    node_crash (net, x);
    /* probed within 4 periods, suspected at the end of one, confirmed
       within a few more; with its two observers alone, one confirmation
       leaves about 18 s */
    uint64_t at = run_until (net, pred_dead, x, crash + 60000);
    CHECK (at != 0 && at - crash <= 5 * net->cfg.probe_interval_ms + min_ms + 4000);
    CHECK_EQ (count_events (net, -1, SWIM_EV_DEAD, -1, 0), MAX_NODES - 1);
    net_free (net);
}

/* ---- estimates on the rings ------------------------------------------------------ */

static bool pred_watch_reached (net_t *net, int j)
{
    for (int i = 0; i < net->n; i++)
        if (i != j && running (net, i) && member_at (net, i, j).res_seq != net->watch_seq)
            return false;
    return true;
}

/* One fresh estimate in a quiet cluster of 20: how long until every
   member holds it (0: not in 20 s), each node's sends of it counted in
   net->watch_sent_by over the next 40 s (push-pulls aside). */
static uint64_t one_estimate (net_t *net, int origin)
{
    net_run (net, net->now + 10000);
    memset (net->watch_sent_by, 0, sizeof net->watch_sent_by);
    gl_strlcpy (net->watch_origin, net->nodes[origin].name, sizeof net->watch_origin);
    net->watch_seq = 1;
    gl_res_t res = { .cores = 8, .mem_total_kb = 1u << 20, .state = GL_RES_IDLE };
    uint64_t t0 = net->now;
    swim_set_res (net->nodes[origin].swim, &res, net->now);
    uint64_t at = run_until (net, pred_watch_reached, origin, t0 + 20000);
    net_run (net, t0 + 40000);
    return at ? at - t0 : 0;
}

/* On the rings each node passes an estimate new to it to each of its
   ring neighbours once, not to 16 members as the queue would: a node's
   sends of one estimate are bounded by its neighbours (2 K), whatever the
   cluster's size, where the queue's are 4 * retransmit_mult at every
   node (the round robin keeps that).  Its own new estimate goes to its
   neighbours at once, and they pass it on at once: in a cluster of 20,
   two hops reach nearly everyone, and the rest within K probe periods
   (res_hold). */
static void test_res_rings (void)
{
    net_t *net = cluster (MAX_NODES, 61, 0, true);
    CHECK_EQ (net->cfg.probe_rings, 4);
    uint64_t took = one_estimate (net, 3);
    CHECK (took > 0 && took <= 4000);
    unsigned total = 0;
    for (int i = 0; i < net->n; i++) {
        CHECK (net->watch_sent_by[i] <= 2 * net->cfg.probe_rings);
        total += net->watch_sent_by[i];
    }
    CHECK (total >= (unsigned) net->n - 1); /* everyone heard it from someone */
    CHECK (net->watch_sent_by[3] >= 1);
    printf ("# rings: reached all in %" PRIu64 " ms, %u sends\n", took, total);
    net_free (net);

    net = net_new (MAX_NODES, 61, 0);
    net->cfg.probe_rings = 0;
    start_nodes (net, MAX_NODES);
    took = one_estimate (net, 3);
    CHECK (took > 0 && took <= 3000);
    for (int i = 0; i < net->n; i++)
        CHECK_EQ (net->watch_sent_by[i], 4 * net->cfg.retransmit_mult);
    net_free (net);
}

/* A node that already holds an estimate passes it on to nobody, and a
   neighbour that sent it to us is owed it no more. */
static void test_res_rings_dedupe (void)
{
    net_t *net = cluster (MAX_NODES, 62, 0, true);
    CHECK (one_estimate (net, 5) > 0);
    /* the same estimate again, from a member: nobody sends it any more */
    swim_member_t m = member_at (net, 0, 5);
    CHECK_EQ (m.res_seq, 1);
    memset (net->watch_sent_by, 0, sizeof net->watch_sent_by);
    gl_rec_t again = make_rec (&net->nodes[5].key, GL_REC_RES, "n05", 1, 1, "");
    again.res = m.res;
    again.time_ms = m.res_origin_ms;
    fake_sign (&net->nodes[5].key, &again);
    for (int i = 0; i < net->n; i++)
        if (i != 5)
            tell (net->nodes[i].swim, i == 6 ? "n07" : "n06", rec_update (again), net->now);
    net_run (net, net->now + 20000);
    for (int i = 0; i < net->n; i++)
        CHECK_EQ (net->watch_sent_by[i], 0);
    net_free (net);
}

/* Messages a node sends a second (push-pulls aside), in a cluster of n
   where every node refreshes its estimate every minute (less or more
   10 %), as glpeer does, measured over two minutes after one to settle. */
static double idle_rate (int n, uint32_t rings, uint64_t seed)
{
    net_t *net = net_new (n, seed, 0);
    net->cfg.probe_rings = rings;
    start_nodes (net, n);
    uint64_t next[NET_MAX], start = net->now, seq[NET_MAX] = { 0 };
    for (int i = 0; i < n; i++)
        next[i] = start + net_rand (net) % 60000;
    uint64_t sent0 = 0, t_measure = start + 60000, t_end = start + 180000;
    bool measuring = false;
    while (net->now < t_end) {
        if (!measuring && net->now >= t_measure) {
            measuring = true;
            for (int i = 0; i < n; i++)
                sent0 += net->sent_by[i];
        }
        for (int i = 0; i < n; i++)
            if (net->now >= next[i]) {
                gl_res_t res = { .cores = 8,
                                 .mem_total_kb = 1u << 20,
                                 .load1_milli = (uint32_t) ++seq[i],
                                 .state = GL_RES_IDLE };
                swim_set_res (net->nodes[i].swim, &res, net->now);
                next[i] = net->now + 54000 + net_rand (net) % 12000;
            }
        net_run (net, net->now + 250);
    }
    uint64_t sent = 0;
    for (int i = 0; i < n; i++)
        sent += net->sent_by[i];
    net_free (net);
    return (double) (sent - sent0) / n / 120.0;
}

/* What a node sends in an idle cluster does not grow with the cluster on
   the rings: 12 or 48 members, the probes' two messages a second (a PING
   and an ACK) and about one GOSSIP (its own estimate to its neighbours,
   and theirs on to its other neighbours, once a minute each).  The same measure on
   the round robin, where every estimate is sent 16 times by every node,
   grows with N: it is the measure that catches estimates re-sent O(N)
   times. */
static void test_res_rings_rate (void)
{
    double small = idle_rate (12, 4, 63), big = idle_rate (NET_MAX, 4, 64);
    double rr_small = idle_rate (12, 0, 63), rr_big = idle_rate (NET_MAX, 0, 64);
    printf ("# messages a node sends a second, 12 / %d members: rings %.2f / %.2f, round robin "
            "%.2f / %.2f\n",
            NET_MAX, small, big, rr_small, rr_big);
    CHECK (small < 3.3 && big < 3.3);
    CHECK (big < small * 1.15);
    CHECK (rr_big > rr_small * 1.3);
}

/* ---- the change count ---------------------------------------------------------- */

typedef struct {
    size_t n;
    swim_member_t m[16];
} snap_t;

static int by_name (const void *a, const void *b)
{
    return strcmp (((const swim_member_t *) a)->name, ((const swim_member_t *) b)->name);
}

static void snap (swim_t *s, snap_t *out)
{
    memset (out, 0, sizeof *out);
    for (size_t i = 0; out->n < 16 && swim_member_at (s, i, &out->m[out->n]); i++)
        out->n++;
    qsort (out->m, out->n, sizeof out->m[0], by_name);
}

/* swim_changes moves whenever what swim_member_at reports changes (the
   view's copy is rewritten only then), and stays put while nothing does. */
static void test_changes (void)
{
    net_t *net = cluster (6, 11, 0, true);
    swim_t *a = net->nodes[0].swim;
    snap_t last, now;
    snap (a, &last);
    uint64_t seen = swim_changes (a);
    uint64_t steps = 0, same = 0, moved = 0;
    gl_res_t res = { .cores = 4, .mem_total_kb = 1000, .mem_avail_kb = 500 };
    for (int t = 0; t < 120; t++) {
        if (t == 20)
            swim_set_res (net->nodes[2].swim, &res, net->now);
        if (t == 40)
            swim_set_res (a, &res, net->now);
        if (t == 60)
            node_crash (net, 3);
        net_run (net, net->now + 500);
        snap (a, &now);
        uint64_t c = swim_changes (a);
        steps++;
        if (c == seen) {
            same++;
            CHECK (now.n == last.n && !memcmp (now.m, last.m, sizeof now.m));
        }
        else
            moved++;
        seen = c;
        last = now;
    }
    /* quiet most of the time (push-pulls and probes change nothing), and
       it moved for the estimates and the death */
    CHECK (same > steps * 3 / 4);
    CHECK (moved >= 4);
    swim_member_t m;
    CHECK (swim_lookup (a, net->nodes[3].name, &m) && m.state == SWIM_DEAD);
    CHECK (swim_lookup (a, net->nodes[2].name, &m) && m.has_res && m.res.cores == 4);
    net_free (net);
}

int main (void)
{
    test_rules ();
    test_shapes ();
    test_piggyback ();
    test_probe ();
    test_suspicion_timeout ();
    test_refutation_reach ();
    test_membership_first ();
    test_retransmit_floor ();
    test_gossip_burst ();
    test_gossip_peers ();
    test_join_retry ();
    test_big_sync ();
    test_two_nodes ();
    test_converge ();
    test_crash ();
    test_pause_short ();
    test_pause_long ();
    test_restart ();
    test_leave ();
    test_reap ();
    test_forgery ();
    test_res ();
    test_determinism ();
    test_loss ();
    test_partition ();
    test_shared_pool ();
    test_rings ();
    test_rings_churn ();
    test_rings_orphan ();
    test_rings_small ();
    test_rings_vouch ();
    test_news_rings ();
    test_res_rings ();
    test_res_rings_dedupe ();
    test_res_rings_rate ();
    test_changes ();
    return tap_done ("test_swim");
}
