/*  test_gang.c -- the matrix (sched/matrix.c) and the gang state machine
    (sched/gang.c): rows and alternate scheduling, merging and tombstones;
    then a small cluster of real gang_t on one clock, every message going
    through the codec: a leader is elected by a majority and places its
    gang, competing gangs take turns and a lone gang never stops, a dead
    leader is replaced, a stale leader's orders are refused, and an ended
    gang leaves the matrix; an expired placement does not come back, and a
    gang whose first member in rank never stands still gets a leader. */
#include "gang.h"
#include "matrix.h"
#include "str.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the matrix alone -------------------------------------------------------------- */

static gl_gang_peer_t P (const char *node, uint32_t procs, uint32_t cores)
{
    gl_gang_peer_t p = { .procs = procs, .cores = cores };
    gl_strlcpy (p.node, node, sizeof p.node);
    return p;
}

static int put (matrix_t *m, const char *gang, uint64_t term, const char *leader, uint64_t version,
                uint32_t row, const gl_gang_peer_t *peers, uint32_t n)
{
    gl_place_t p = { .term = term, .version = version, .row = row, .n_peers = n };
    gl_strlcpy (p.gang, gang, sizeof p.gang);
    gl_strlcpy (p.leader, leader, sizeof p.leader);
    return matrix_merge (m, &p, peers, 1000);
}

static bool runs (matrix_t *m, const char *gang, uint64_t slice)
{
    const bool *adm;
    matrix_slice (m, slice, &adm);
    matrix_rec_t *r = matrix_find (m, gang);
    return r && adm && adm[r - matrix_at (m, 0)];
}

static void test_matrix (void)
{
    matrix_t *m = matrix_new ();
    gl_gang_peer_t ab[] = { P ("b", 1, 1), P ("a", 1, 1) };
    gl_gang_peer_t bc[] = { P ("b", 1, 1), P ("c", 1, 1) };
    gl_gang_peer_t cd[] = { P ("c", 1, 2), P ("d", 1, 2) };
    CHECK (matrix_conflict (ab, 2, bc, 2));
    CHECK (!matrix_conflict (ab, 2, cd, 2));
    gl_gang_peer_t c2[] = { P ("c", 1, 2) };
    CHECK (!matrix_conflict (cd, 2, c2, 1)); /* 1 + 1 processes on 2 slots */
    gl_gang_peer_t c0[] = { P ("c", 1, 0) }; /* slots unknown: one */
    CHECK (matrix_conflict (bc, 2, c0, 1));

    CHECK_EQ (put (m, "g1", 1, "a", 1, 0, ab, 2), 1);
    CHECK_EQ (put (m, "g1", 1, "a", 1, 0, ab, 2), 0);       /* not news */
    CHECK_EQ (put (m, "g1", 1, "a", 0, 3, ab, 2), 0);       /* older */
    CHECK (matrix_find (m, "g1")->peers[0].node[0] == 'a'); /* kept sorted */
    /* a gang alone runs in every slice */
    for (uint64_t k = 0; k < 5; k++)
        CHECK (runs (m, "g1", k));
    /* g2 competes with g1 on b: another row, they take turns */
    CHECK (!matrix_fits (m, "g2", bc, 2, 0, false));
    CHECK (matrix_fits (m, "g2", bc, 2, 1, false));
    CHECK_EQ (put (m, "g2", 1, "c", 1, 1, bc, 2), 1);
    uint32_t rows[4];
    CHECK_EQ (matrix_rows (m, rows, 4), 2);
    int both = 0, g1 = 0, g2 = 0;
    for (uint64_t k = 0; k < 10; k++) {
        bool x = runs (m, "g1", k), y = runs (m, "g2", k);
        both += x && y;
        g1 += x;
        g2 += y;
    }
    CHECK_EQ (both, 0);
    CHECK_EQ (g1, 5);
    CHECK_EQ (g2, 5);
    /* g3 on c, d, put in row 1 beside g2, with which it competes on c
       (g2 says c has one slot): g2, the first id, has the row; g3 runs
       where it fits, filling row 0 beside g1 */
    CHECK_EQ (put (m, "g3", 2, "d", 7, 1, cd, 2), 1);
    int g3 = 0, with_g1 = 0;
    for (uint64_t k = 0; k < 10; k++) {
        g3 += runs (m, "g3", k);
        with_g1 += runs (m, "g3", k) && runs (m, "g1", k);
        CHECK (!(runs (m, "g2", k) && runs (m, "g3", k)));
    }
    CHECK_EQ (g3, 5);
    CHECK_EQ (with_g1, 5);
    /* the same row, two competing gangs: the first id runs, the other not */
    matrix_t *m2 = matrix_new ();
    CHECK_EQ (put (m2, "x2", 1, "a", 1, 0, ab, 2), 1);
    CHECK_EQ (put (m2, "x1", 1, "c", 1, 0, bc, 2), 1);
    CHECK (runs (m2, "x1", 0) && !runs (m2, "x2", 0));
    CHECK (matrix_fits (m2, "x1", bc, 2, 0, true));
    CHECK (!matrix_fits (m2, "x2", ab, 2, 0, true));
    matrix_destroy (&m2);

    /* a higher term wins; the digest follows the live placements */
    uint64_t d1 = matrix_digest (m);
    CHECK_EQ (put (m, "g2", 2, "b", 1, 1, bc, 2), 1);
    CHECK (matrix_digest (m) != d1);
    /* a tombstone ends the gang and outlives a late placement */
    gl_place_t tomb = { .term = UINT64_MAX, .version = 1, .ended = true };
    strcpy (tomb.gang, "g2");
    strcpy (tomb.leader, "c");
    CHECK_EQ (matrix_merge (m, &tomb, NULL, 2000), 1);
    CHECK_EQ (put (m, "g2", 9, "b", 9, 1, bc, 2), 0);
    strcpy (tomb.leader, "d"); /* another member says the end too: no news */
    CHECK_EQ (matrix_merge (m, &tomb, NULL, 2000), 0);
    CHECK (gl_streq (matrix_find (m, "g2")->place.leader, "c"));
    CHECK_EQ (matrix_rows (m, rows, 4), 2); /* rows 0 and 1 (g3) */
    /* expiry: placements not renewed go, tombstones later */
    CHECK_EQ (matrix_expire (m, 1000 + 35000, 35000), 2); /* g1 and g3 (heard at 1000) */
    CHECK_EQ (matrix_count (m), 1);
    CHECK_EQ (matrix_expire (m, 2000 + 70000, 35000), 1);
    CHECK_EQ (matrix_count (m), 0);
    CHECK_EQ (matrix_rows (m, rows, 4), 0);
    const bool *adm;
    CHECK_EQ (matrix_slice (m, 3, &adm), UINT32_MAX);
    matrix_destroy (&m);
    CHECK (m == NULL);
}

/* Each row's schedule is kept until the table changes, in a cache of 64
   rows: with more rows, slots are shared and the answers must still be
   each slice's own, whatever the order of the slices asked. */
static void test_many_rows (void)
{
    matrix_t *m = matrix_new ();
    gl_gang_peer_t one[] = { P ("a", 1, 1) };
    char gang[16];
    for (uint32_t k = 0; k < 70; k++) { /* all on a's one slot: a row each */
        snprintf (gang, sizeof gang, "r%02u", k);
        CHECK_EQ (put (m, gang, 1, "a", 1, k, one, 1), 1);
    }
    int wrong = 0;
    for (uint64_t s = 0; s < 300; s++) {
        uint64_t slice = (s * 37) % 211; /* out of order */
        const bool *adm;
        uint32_t row = matrix_slice (m, slice, &adm);
        wrong += row != slice % 70;
        for (uint32_t k = 0; adm && k < 70; k++)
            wrong += adm[k] != (k == slice % 70);
    }
    CHECK_EQ (wrong, 0);
    /* a change of the table: the schedules are computed again */
    CHECK_EQ (put (m, "r05", 2, "b", 1, 0, one, 1), 1); /* into row 0, after r00 */
    CHECK (runs (m, "r00", 69) && !runs (m, "r05", 69));
    CHECK (!runs (m, "r05", 75)); /* row 5 is gone: 69 rows, r05 never fits */
    CHECK (runs (m, "r06", 74));
    matrix_destroy (&m);
}

/* A leader's later word that changes neither row nor peers renews its
   placement (2): the record lives on from then, takes the version, keeps
   what it had left to gossip and leaves the schedule alone; any change
   of row or peers is news (1). */
static void test_renewal (void)
{
    matrix_t *m = matrix_new ();
    gl_gang_peer_t ab[] = { P ("a", 1, 1), P ("b", 1, 1) };
    gl_gang_peer_t ba[] = { P ("b", 1, 1), P ("a", 1, 1) };
    gl_gang_peer_t ab2[] = { P ("a", 1, 2), P ("b", 1, 1) };
    CHECK_EQ (put (m, "g1", 1, "a", 1, 0, ab, 2), 1);
    matrix_find (m, "g1")->sends = 5;
    uint64_t epoch = matrix_epoch (m), digest = matrix_digest (m);
    gl_place_t p = { .term = 1, .version = 2, .row = 0, .n_peers = 2 };
    strcpy (p.gang, "g1");
    strcpy (p.leader, "a");
    CHECK_EQ (matrix_merge (m, &p, ba, 30000), 2); /* any order of peers */
    matrix_rec_t *r = matrix_find (m, "g1");
    CHECK (r->place.version == 2 && r->heard_ms == 30000 && r->sends == 5);
    CHECK (matrix_epoch (m) == epoch && matrix_digest (m) == digest);
    CHECK_EQ (matrix_merge (m, &p, ab, 31000), 0);        /* the same word again */
    CHECK_EQ (matrix_expire (m, 1000 + 35000, 35000), 0); /* renewed at 30000 */
    CHECK_EQ (put (m, "g1", 1, "a", 3, 0, ab2, 2), 1);    /* a's slots changed */
    CHECK_EQ (put (m, "g1", 1, "a", 4, 1, ab2, 2), 1);    /* another row */
    CHECK_EQ (put (m, "g1", 1, "a", 5, 1, ab2, 1), 1);    /* fewer peers */
    CHECK_EQ (put (m, "g1", 2, "b", 1, 1, ab2, 1), 1);    /* another leader */
    matrix_destroy (&m);
}

/* A placement expires at different times on different peers; one that
   has not expired it yet must not hand it back as news (found by glsim:
   the placement of a leader gone lived on for ever, passed around by
   push-pull, and no member stood). */
static void test_expired (void)
{
    matrix_t *m = matrix_new ();
    gl_gang_peer_t ab[] = { P ("a", 1, 1), P ("b", 1, 1) };
    gl_place_t p = { .term = 1, .version = 3, .row = 0, .n_peers = 2 };
    strcpy (p.gang, "g1");
    strcpy (p.leader, "a");
    CHECK_EQ (matrix_merge (m, &p, ab, 1000), 1);
    CHECK_EQ (matrix_expire (m, 1000 + 35000, 35000), 1);
    CHECK_EQ (matrix_count (m), 0);
    CHECK_EQ (matrix_merge (m, &p, ab, 37000), 0); /* handed back: not news */
    CHECK_EQ (matrix_count (m), 0);
    p.version = 2;
    CHECK_EQ (matrix_merge (m, &p, ab, 37000), 0); /* nor anything older */
    p.version = 4;                                 /* its leader's renewal is */
    CHECK_EQ (matrix_merge (m, &p, ab, 37000), 1);
    CHECK_EQ (matrix_count (m), 1);
    /* once every peer has dropped it, the memory goes too */
    CHECK_EQ (matrix_expire (m, 37000 + 35000, 35000), 1);
    CHECK_EQ (matrix_expire (m, 37000 + 2 * 35000, 35000), 0);
    CHECK_EQ (matrix_merge (m, &p, ab, 200000), 1);
    /* so with a tombstone: handed back after it went here, it is not
       news again (gossiped by all, it would come back for ever) */
    gl_place_t tomb = { .term = UINT64_MAX, .version = 1, .ended = true };
    strcpy (tomb.gang, "g1");
    strcpy (tomb.leader, "b");
    CHECK_EQ (matrix_merge (m, &tomb, NULL, 200000), 1);
    CHECK_EQ (matrix_expire (m, 200000 + 70000, 35000), 1);
    CHECK_EQ (matrix_merge (m, &tomb, NULL, 271000), 0);
    strcpy (tomb.leader, "c");
    CHECK_EQ (matrix_merge (m, &tomb, NULL, 271000), 0);
    CHECK_EQ (matrix_merge (m, &p, ab, 271000), 0); /* nor the gang's old placement */
    CHECK_EQ (matrix_count (m), 0);
    matrix_destroy (&m);
}

/* ---- a small cluster ----------------------------------------------------------------- */

#define N 5

typedef struct {
    gang_t *g[N];
    bool up[N];
    bool cut[N][N]; /* messages from i to j are lost */
    uint64_t now;
    uint64_t elected[N];
    uint64_t refused;
    uint64_t sent;                /* gang messages delivered or lost */
    uint64_t places_to[N];        /* PLACE messages to each node */
    uint64_t votes_from_to[N][N]; /* VOTE messages */
} cluster_t;

static const char *name_of (int i)
{
    static const char *names[N] = { "n0", "n1", "n2", "n3", "n4" };
    return names[i];
}

static int index_of (const char *name)
{
    for (int i = 0; i < N; i++)
        if (gl_streq (name, name_of (i)))
            return i;
    return -1;
}

static void cluster_init (cluster_t *c, uint32_t cores)
{
    memset (c, 0, sizeof *c);
    gang_config_t cfg;
    gang_config_default (&cfg);
    c->now = 1000000;
    for (int i = 0; i < N; i++) {
        c->g[i] = gang_new (&cfg, name_of (i), cores, 0x1234 + (uint64_t) i);
        c->up[i] = true;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j)
                gang_node (c->g[i], name_of (j), true);
}

static void cluster_free (cluster_t *c)
{
    for (int i = 0; i < N; i++)
        gang_destroy (&c->g[i]);
}

/* Deliver everything sent, through the codec, until quiet. */
static void pump (cluster_t *c)
{
    for (int round = 0; round < 50; round++) {
        bool any = false;
        for (int i = 0; i < N; i++) {
            if (!c->up[i])
                continue;
            gang_out_t out;
            while (gang_pop (c->g[i], &out)) {
                any = true;
                int j = index_of (out.to);
                uint8_t *buf;
                size_t len;
                CHECK (gl_msg_encode (&out.msg, &buf, &len) == 0);
                c->sent++;
                if (j >= 0 && out.msg.gang->type == GL_GANG_PLACE)
                    c->places_to[j]++;
                if (j >= 0 && out.msg.gang->type == GL_GANG_VOTE)
                    c->votes_from_to[i][j]++;
                gl_msg_clear (&out.msg);
                if (j < 0 || !c->up[j] || c->cut[i][j]) {
                    free (buf);
                    continue;
                }
                gl_msg_t msg;
                const char *why = NULL;
                CHECK (gl_msg_decode (buf, len, &msg, &why) == 0);
                free (buf);
                if (msg.gang)
                    gang_recv (c->g[j], name_of (i), msg.gang, c->now);
                gl_msg_clear (&msg);
            }
            gang_event_t ev;
            while (gang_pop_event (c->g[i], &ev)) {
                if (ev.kind == GANG_EV_ELECTED)
                    c->elected[i] = ev.term;
                if (ev.kind == GANG_EV_REFUSED)
                    c->refused++;
            }
        }
        if (!any)
            return;
    }
}

/* Run the clock for ms, ticking every 50 ms. */
static void run_for (cluster_t *c, uint64_t ms)
{
    for (uint64_t end = c->now + ms; c->now < end; c->now += 50) {
        for (int i = 0; i < N; i++)
            if (c->up[i])
                gang_tick (c->g[i], c->now);
        pump (c);
    }
}

/* The home's word: gang on nodes (one process each), version seq. */
static void members (cluster_t *c, const char *gang, const int *nodes, int n, uint64_t seq,
                     bool start)
{
    for (int k = 0; k < n && start; k++)
        gang_procs (c->g[nodes[k]], gang, 1, c->now);
    gl_gang_t msg = { .type = GL_GANG_MEMBERS, .seq = seq, .n_peers = (uint32_t) n };
    gl_strlcpy (msg.gang, gang, sizeof msg.gang);
    gl_gang_peer_t peers[N];
    for (int k = 0; k < n; k++)
        peers[k] = P (name_of (nodes[k]), 1, 0);
    msg.peers = peers;
    for (int i = 0; i < N; i++)
        if (c->up[i])
            gang_recv (c->g[i], "n4", &msg, c->now);
}

static const char *leader_seen (cluster_t *c, int i, const char *gang, uint64_t *term)
{
    static gang_info_t info;
    if (!gang_local_find (c->g[i], gang, &info) || !info.placed)
        return NULL;
    if (term)
        *term = info.term;
    return info.leader;
}

static void kill_node (cluster_t *c, int dead)
{
    c->up[dead] = false;
    for (int i = 0; i < N; i++)
        if (i != dead)
            gang_node (c->g[i], name_of (dead), false);
}

static void test_election (void)
{
    cluster_t c;
    cluster_init (&c, 1);
    const int nodes[] = { 0, 1, 2 };
    members (&c, "a-1-1", nodes, 3, 1, true);
    run_for (&c, 1000);
    /* one leader, among the hosts, that all three follow, in row 0 */
    const char *l0 = leader_seen (&c, 0, "a-1-1", NULL);
    CHECK (l0 != NULL);
    int leader = l0 ? index_of (l0) : -1;
    CHECK (leader >= 0 && leader <= 2);
    int leaders = 0;
    for (int i = 0; i < N; i++)
        leaders += c.elected[i] != 0;
    CHECK_EQ (leaders, 1);
    for (int i = 0; i < 3; i++) {
        const char *l = leader_seen (&c, i, "a-1-1", NULL);
        CHECK (l && l0 && gl_streq (l, l0));
    }
    /* every peer, hosting or not, has the same matrix */
    for (int i = 1; i < N; i++)
        CHECK_EQ (matrix_digest (gang_matrix (c.g[i])), matrix_digest (gang_matrix (c.g[0])));
    /* a gang alone never stops */
    for (uint64_t k = 0; k < 20; k++)
        for (int i = 0; i < 3; i++)
            CHECK_EQ (gang_decide (c.g[i], "a-1-1", k), GANG_RUN);

    /* a second gang sharing n1 and n2 on one slot each: another row, turns */
    const int nodes2[] = { 1, 2, 3 };
    members (&c, "a-1-2", nodes2, 3, 1, true);
    run_for (&c, 1500);
    int overlap = 0, runs1 = 0, runs2 = 0, disagree = 0;
    for (uint64_t k = 100; k < 140; k++) {
        int d1 = gang_decide (c.g[1], "a-1-1", k), d2 = gang_decide (c.g[1], "a-1-2", k);
        overlap += d1 == GANG_RUN && d2 == GANG_RUN;
        runs1 += d1 == GANG_RUN;
        runs2 += d2 == GANG_RUN;
        /* the peers agree, slice by slice */
        disagree +=
            gang_decide (c.g[0], "a-1-1", k) != d1 || gang_decide (c.g[3], "a-1-2", k) != d2;
    }
    CHECK_EQ (overlap, 0);
    CHECK_EQ (runs1, 20);
    CHECK_EQ (runs2, 20);
    CHECK_EQ (disagree, 0);

    /* the first gang's leader dies: another of its hosts takes over; the
       home (n4) drops the dead node from the list */
    uint64_t term0 = 0;
    leader_seen (&c, 1, "a-1-1", &term0);
    kill_node (&c, leader);
    int rest[2], k = 0;
    for (int i = 0; i < 3; i++)
        if (i != leader)
            rest[k++] = i;
    /* meanwhile: the survivors run it uncoordinated, never stopped */
    for (uint64_t s = 200; s < 210; s++)
        CHECK_EQ (gang_decide (c.g[rest[0]], "a-1-1", s), GANG_FREE);
    members (&c, "a-1-1", rest, 2, 2, false);
    run_for (&c, 1500);
    uint64_t term1 = 0;
    const char *l1 = leader_seen (&c, rest[0], "a-1-1", &term1);
    CHECK (l1 && index_of (l1) != leader && term1 > term0);
    const char *l2 = leader_seen (&c, rest[1], "a-1-1", NULL);
    CHECK (l1 && l2 && gl_streq (l1, l2));
    CHECK (gang_decide (c.g[rest[0]], "a-1-1", 300) != GANG_FREE);

    /* the gang ends: a tombstone, the row is gone, the other gang runs always */
    members (&c, "a-1-1", rest, 0, 3, false);
    for (int i = 0; i < 2; i++)
        gang_procs (c.g[rest[i]], "a-1-1", -1, c.now);
    run_for (&c, 1000);
    size_t n_rows = 0;
    gang_slice_row (c.g[3], 7, &n_rows);
    CHECK_EQ (n_rows, 1);
    for (uint64_t s = 400; s < 410; s++)
        CHECK_EQ (gang_decide (c.g[3], "a-1-2", s), GANG_RUN);
    cluster_free (&c);
}

/* A leader cut off from its followers is deposed on the other side; its
   orders, when they come back, are refused, and it steps down. */
static void test_fencing (void)
{
    cluster_t c;
    cluster_init (&c, 1);
    const int nodes[] = { 0, 1, 2 };
    members (&c, "a-1-9", nodes, 3, 1, true);
    run_for (&c, 1000);
    uint64_t term0 = 0;
    const char *l = leader_seen (&c, 0, "a-1-9", &term0);
    CHECK (l != NULL);
    int leader = l ? index_of (l) : 0;
    /* the others think it dead (a partition), and elect another */
    for (int i = 0; i < N; i++)
        if (i != leader) {
            gang_node (c.g[i], name_of (leader), false);
            c.cut[i][leader] = c.cut[leader][i] = true;
        }
    int rest[2], k = 0;
    for (int i = 0; i < 3; i++)
        if (i != leader)
            rest[k++] = i;
    run_for (&c, 1500);
    uint64_t term1 = 0;
    const char *l1 = leader_seen (&c, rest[0], "a-1-9", &term1);
    CHECK (l1 && index_of (l1) != leader && term1 > term0);
    CHECK (l1 && c.votes_from_to[index_of (l1)][leader] > 0); /* told, though cut off */
    /* the partition heals: the old leader's word (its renewals) is refused
       by those who promised the higher term, and it steps down */
    for (int i = 0; i < N; i++) {
        gang_node (c.g[i], name_of (leader), true);
        c.cut[i][leader] = c.cut[leader][i] = false;
    }
    run_for (&c, 12000);
    for (int i = 0; i < N; i++) {
        uint64_t t = 0;
        const char *li = leader_seen (&c, i, "a-1-9", &t);
        CHECK (li && l1 && gl_streq (li, l1) && t == term1);
        CHECK_EQ (matrix_digest (gang_matrix (c.g[i])), matrix_digest (gang_matrix (c.g[0])));
    }
    gang_info_t info;
    CHECK (gang_local_find (c.g[leader], "a-1-9", &info) && info.role == GANG_FOLLOWER);
    for (int i = 0; i < 3; i++) {
        CHECK (gang_local_find (c.g[i], "a-1-9", &info));
        CHECK (info.promised_term <= info.term); /* nobody follows below its promise */
    }
    cluster_free (&c);
}

/* A member promised a higher term to a candidate that never won: it
   refuses the current leader's orders (running the gang uncoordinated)
   and tells it; the leader steps down and wins a term above the promise. */
static void test_refusal (void)
{
    cluster_t c;
    cluster_init (&c, 1);
    const int nodes[] = { 0, 1, 2 };
    members (&c, "a-2-1", nodes, 3, 1, true);
    run_for (&c, 1000);
    uint64_t term0 = 0;
    const char *l = leader_seen (&c, 0, "a-2-1", &term0);
    CHECK (l != NULL);
    int leader = l ? index_of (l) : 0, p = (leader + 1) % 3;
    /* p, believing the leader dead a moment, votes for n3 in a higher term */
    gang_node (c.g[p], name_of (leader), false);
    gl_gang_t req = { .type = GL_GANG_VOTE_REQ, .term = term0 + 1 };
    strcpy (req.gang, "a-2-1");
    strcpy (req.leader, "n3");
    gang_recv (c.g[p], "n3", &req, c.now);
    gang_node (c.g[p], name_of (leader), true);
    gang_info_t info;
    CHECK (gang_local_find (c.g[p], "a-2-1", &info) && info.promised_term == term0 + 1);
    CHECK_EQ (gang_decide (c.g[p], "a-2-1", 5), GANG_FREE);
    CHECK (c.refused == 0);
    pump (&c);
    CHECK_EQ (c.refused, 1);
    run_for (&c, 2000);
    uint64_t term1 = 0;
    const char *l1 = leader_seen (&c, p, "a-2-1", &term1);
    CHECK (l1 && term1 > term0 + 1);
    CHECK (gang_decide (c.g[p], "a-2-1", 6) == GANG_RUN);
    gang_stats_t st;
    gang_stats (c.g[p], &st);
    CHECK_EQ (st.refused, 1);
    cluster_free (&c);
}

/* The first member in rank is alive and listed by the home but hosts no
   process (its agent restarted before gossip found it dead): it never
   stands.  The next in rank must, once the gang has had no leader for
   longer than a placement lives (found by glsim: such a gang ran
   uncoordinated for ever). */
static void test_silent_first (void)
{
    cluster_t c;
    cluster_init (&c, 1);
    const int nodes[] = { 0, 1, 2 };
    members (&c, "a-3-1", nodes, 3, 1, true);
    run_for (&c, 1000);
    const char *l = leader_seen (&c, 0, "a-3-1", NULL);
    CHECK (l != NULL);
    int first = l ? index_of (l) : 0; /* all hosting: the first in rank won */
    cluster_free (&c);

    cluster_init (&c, 1);
    int others[2], k = 0;
    for (int i = 0; i < 3; i++)
        if (i != first)
            others[k++] = i;
    members (&c, "a-3-1", nodes, 3, 1, false);
    for (int i = 0; i < 2; i++)
        gang_procs (c.g[others[i]], "a-3-1", 1, c.now);
    run_for (&c, 5000);
    for (int i = 0; i < N; i++)
        CHECK_EQ (c.elected[i], 0);
    CHECK_EQ (gang_decide (c.g[others[0]], "a-3-1", 1), GANG_FREE); /* never stopped */
    gang_config_t cfg;
    gang_config_default (&cfg);
    run_for (&c, cfg.ttl_ms + 2 * cfg.election_ms);
    int leaders = 0;
    for (int i = 0; i < N; i++)
        leaders += c.elected[i] != 0;
    CHECK_EQ (leaders, 1);
    CHECK_EQ (c.elected[first], 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ (gang_decide (c.g[others[i]], "a-3-1", 2), GANG_RUN);
    cluster_free (&c);
}

/* Once placed, a gang costs next to nothing: its leader's renewals
   change nothing, so they are no news; they go to the gang's peers
   alone, and the other nodes keep the placement alive by push-pull. */
static void test_quiet (void)
{
    cluster_t c;
    cluster_init (&c, 1);
    gang_config_t cfg;
    gang_config_default (&cfg);
    int nodes[] = { 0, 1, 2 };
    members (&c, "a-1-7", nodes, 3, 1, true);
    run_for (&c, 20000);
    const char *l = leader_seen (&c, 0, "a-1-7", NULL);
    CHECK (l != NULL);
    int leader = l ? index_of (l) : 0;
    uint64_t v0 = matrix_find (gang_matrix (c.g[leader]), "a-1-7")->place.version;
    uint64_t epoch3 = matrix_epoch (gang_matrix (c.g[3]));
    c.sent = 0;
    memset (c.places_to, 0, sizeof c.places_to);
    uint64_t ms = 3 * (uint64_t) cfg.ttl_ms;
    run_for (&c, ms);
    /* under a message a second per node, push-pull included (it was
       fanout / gossip_ms, 15 a second, on every node) */
    CHECK (c.sent < N * ms / 1000);
    CHECK_EQ (c.places_to[3] + c.places_to[4], 0); /* no gossip to the others */
    for (int k = 0; k < 3; k++)                    /* the members hear each renewal */
        if (k != leader)
            CHECK (c.places_to[k] >= ms / cfg.refresh_ms - 1);
    uint64_t v1 = matrix_find (gang_matrix (c.g[leader]), "a-1-7")->place.version;
    CHECK (v1 >= v0 + ms / cfg.refresh_ms - 1);
    for (int i = 0; i < N; i++) { /* alive everywhere, renewed by push-pull */
        matrix_rec_t *r = matrix_find (gang_matrix (c.g[i]), "a-1-7");
        CHECK (r && !r->place.ended && r->place.version > v0);
    }
    CHECK (matrix_epoch (gang_matrix (c.g[3])) == epoch3); /* the schedule left alone */
    cluster_free (&c);
}

int main (void)
{
    test_matrix ();
    test_many_rows ();
    test_renewal ();
    test_expired ();
    test_election ();
    test_fencing ();
    test_refusal ();
    test_silent_first ();
    test_quiet ();
    return tap_done ("test_gang");
}
