/*  test_place.c -- placement: the home's draw and ledger, and the home
    with the candidates' slots (test_slots.c) placing bursts of jobs over
    a stale view. */

#include "place.h"
#include "slots_fixture.h"
#include "str.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* An idle, alive node whose estimate arrived a second ago. */
static place_cand_t node (const char *name, uint32_t cores, uint32_t load1_milli)
{
    place_cand_t c;
    memset (&c, 0, sizeof c);
    gl_strlcpy (c.name, name, sizeof c.name);
    c.state = SWIM_ALIVE;
    c.has_res = true;
    c.res.cores = cores;
    c.res.load1_milli = load1_milli;
    c.res.mem_total_kb = 16 * GIB;
    c.res.mem_avail_kb = 12 * GIB;
    c.res.owner_idle_s = UINT32_MAX; /* headless: no owner */
    c.res.state = GL_RES_IDLE;
    c.res_age_ms = 1000;
    return c;
}

static place_t *new_place (uint32_t d, uint64_t seed)
{
    place_config_t config;
    place_config_default (&config);
    CHECK_EQ (config.max_res_age_ms, 0); /* estimates dated by liveness */
    config.max_res_age_ms = 90000;       /* the limit, when one is set */
    config.d = d;
    place_t *p = place_new (&config, seed);
    if (!p) {
        fprintf (stderr, "place_new failed\n");
        exit (2);
    }
    return p;
}

/* What the plan says of node: its ask or passed note, or NULL. */
static const char *why_of (const place_plan_t *plan, const char *name)
{
    for (size_t i = 0; i < plan->n_ask; i++)
        if (strcmp (plan->ask[i].node, name) == 0)
            return plan->ask[i].why;
    for (size_t i = 0; i < plan->n_passed; i++)
        if (strcmp (plan->passed[i].node, name) == 0)
            return plan->passed[i].why;
    return NULL;
}

static bool says (const place_plan_t *plan, const char *name, const char *why)
{
    const char *w = why_of (plan, name);
    if (w && strcmp (w, why) == 0)
        return true;
    fprintf (stderr, "# %s: \"%s\", expected \"%s\"\n", name, w ? w : "(absent)", why);
    return false;
}

/* ---- the home and the candidates together ---------------------------------- */

/* One job placed the way glpeer does it: ask the plan's nodes in turn, let
   each node's slots answer, and plan again without the refusers when the
   whole plan said no.  Returns the node's index, or -1. */
static int place_job (place_t *p, const place_cand_t *cands, slots_t **slots, size_t n,
                      const char *job, uint64_t now, int *refusals)
{
    place_note_t refused[16];
    size_t n_refused = 0;
    for (int round = 0; round < 4; round++) {
        place_req_t req = { .cores = 1, .exclude = refused, .n_exclude = n_refused };
        place_plan_t plan;
        const char *why = NULL;
        for (const char *name = place_choose (p, cands, n, &req, now, &plan); name;
             name = place_refused (p, &plan, why, now)) {
            size_t i = 0;
            while (i < n && strcmp (cands[i].name, name) != 0)
                i++;
            if (i == n || !slots[i])
                return -1;
            if (slots_offer (slots[i], job, 1, 0, now, &why)) {
                CHECK_EQ (slots_start (slots[i], job, now + 20), 0);
                return (int) i;
            }
            (*refusals)++;
        }
        if (plan.n_ask == 0)
            return -1;
        for (size_t k = 0; k < plan.n_ask && n_refused < 16; k++)
            refused[n_refused++] = plan.ask[k];
    }
    return -1;
}

/* One home, 8 jobs at once, 4 nodes of 2 slots, gossip that never
   changes: the ledger alone spreads them 2 per node. */
static void test_burst_one_home (void)
{
    for (uint64_t seed = 1; seed <= 50; seed++) {
        place_cand_t cands[5] = { node ("a", 2, 0), node ("b", 2, 0), node ("c", 2, 0),
                                  node ("d", 2, 0), node ("home", 8, 0) };
        cands[4].is_self = true;
        slots_t *slots[5] = { new_slots (2), new_slots (2), new_slots (2), new_slots (2), NULL };
        place_t *p = new_place (3, seed);
        int per_node[5] = { 0 };
        int refusals = 0;
        char job[32];
        for (int j = 0; j < 8; j++) {
            snprintf (job, sizeof job, "home.%d", j);
            int at = place_job (p, cands, slots, 5, job, 1000 + (uint64_t) j, &refusals);
            CHECK (at >= 0 && at < 4);
            if (at >= 0)
                per_node[at]++;
        }
        for (int i = 0; i < 4; i++) {
            CHECK_EQ (per_node[i], 2);
            CHECK_EQ (slots_free (slots[i], 2000), 0);
            CHECK_EQ (place_promised (p, cands[i].name, 2000), 2);
        }
        CHECK_EQ (refusals, 0);

        /* A ninth: everything is promised, and the home says so. */
        place_plan_t plan;
        place_req_t req = { .cores = 1 };
        CHECK (place_choose (p, cands, 5, &req, 1010, &plan) == NULL);
        CHECK_EQ (plan.n_ask, 0);
        CHECK (says (&plan, "a", "no free core (0 guests, 2 promised)"));
        CHECK (says (&plan, "d", "no free core (0 guests, 2 promised)"));
        CHECK (says (&plan, "home", "local node (use --local)"));

        /* Once the ledger decays, the home trusts gossip again, and the
           nodes' own slots turn the job away. */
        refusals = 0;
        CHECK_EQ (place_job (p, cands, slots, 5, "home.8", 7000, &refusals), -1);
        CHECK (refusals >= 4);

        for (int i = 0; i < 4; i++)
            slots_destroy (&slots[i]);
        place_destroy (&p);
    }
}

/* Two homes with separate ledgers and the same stale view: they collide,
   and the candidates' slots (late binding) still land 2 per node. */
static void test_burst_two_homes (void)
{
    int total_refusals = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        place_cand_t cands[4] = { node ("a", 2, 0), node ("b", 2, 0), node ("c", 2, 0),
                                  node ("d", 2, 0) };
        slots_t *slots[4] = { new_slots (2), new_slots (2), new_slots (2), new_slots (2) };
        place_t *home[2] = { new_place (3, seed), new_place (3, seed * 7919) };
        int per_node[4] = { 0 };
        char job[32];
        for (int j = 0; j < 8; j++) {
            snprintf (job, sizeof job, "home%d.%d", j % 2, j);
            int at =
                place_job (home[j % 2], cands, slots, 4, job, 1000 + (uint64_t) j, &total_refusals);
            CHECK (at >= 0);
            if (at >= 0)
                per_node[at]++;
        }
        for (int i = 0; i < 4; i++)
            CHECK_EQ (per_node[i], 2);
        for (int i = 0; i < 4; i++)
            slots_destroy (&slots[i]);
        place_destroy (&home[0]);
        place_destroy (&home[1]);
    }
    /* Blind to each other, the homes did collide: the slots were needed. */
    CHECK (total_refusals > 0);
}

/* ---- the home side ---------------------------------------------------------- */

static void test_unfit_nodes (void)
{
    place_cand_t cands[12] = {
        node ("a", 4, 0), node ("b", 4, 0), node ("c", 2, 1800), node ("d", 4, 0),
        node ("e", 4, 0), node ("f", 4, 0), node ("g", 4, 0),    node ("h", 4, 0),
        node ("i", 4, 0), node ("j", 4, 0), node ("k", 4, 0),    node ("l", 4, 2500),
    };
    cands[1].res.state = GL_RES_BUSY;
    cands[3].state = SWIM_SUSPECT;
    cands[4].res_age_ms = 95400;
    cands[5].res.mem_avail_kb = 1 * GIB;
    cands[6].is_self = true;
    cands[8].res.state = GL_RES_UNAVAILABLE;
    cands[9].state = SWIM_DEAD;
    cands[10].has_res = false;
    place_note_t refused = { .node = "h", .why = "no free slot" };

    for (uint64_t seed = 1; seed <= 200; seed++) {
        place_t *p = new_place (3, seed);
        place_plan_t plan;
        place_req_t req = { .cores = 1, .mem_kb = 2 * GIB, .exclude = &refused, .n_exclude = 1 };
        const char *name = place_choose (p, cands, 12, &req, 5000, &plan);
        /* l has 1.5 free cores and c, loaded, 0.2: they fit (load only
           weighs), but a has 4 and goes first. */
        CHECK (name && strcmp (name, "a") == 0);
        CHECK_EQ (plan.n_ask, 3);
        CHECK_EQ (plan.n_passed, 9);
        CHECK_EQ (plan.n_unlisted, 0);
        CHECK (says (&plan, "a", "4 free cores"));
        CHECK (says (&plan, "l", "1.5 free cores"));
        CHECK (says (&plan, "b", "owner active"));
        CHECK (says (&plan, "c", "0.2 free cores"));
        CHECK (says (&plan, "d", "suspect"));
        CHECK (says (&plan, "e", "estimate 95 s old"));
        CHECK (says (&plan, "f", "not enough memory"));
        CHECK (says (&plan, "g", "local node (use --local)"));
        CHECK (says (&plan, "h", "refused: no free slot"));
        CHECK (says (&plan, "i", "unavailable"));
        CHECK (says (&plan, "j", "dead"));
        CHECK (says (&plan, "k", "no estimate yet"));
        place_destroy (&p);
    }

    /* More cores than any node has; and one fit node not drawn. */
    place_t *p = new_place (1, 3);
    place_cand_t two[2] = { node ("x", 4, 2600), node ("y", 4, 2600) };
    place_plan_t plan;
    place_req_t req = { .cores = 5 };
    CHECK (place_choose (p, two, 2, &req, 0, &plan) == NULL);
    CHECK (says (&plan, "x", "4 free cores, 5 wanted"));
    req.cores = 1;
    const char *name = place_choose (p, two, 2, &req, 0, &plan);
    CHECK (name != NULL);
    CHECK (says (&plan, name[0] == 'x' ? "y" : "x", "not drawn (1.4 free cores)"));
    place_destroy (&p);
}

static void test_pinned (void)
{
    place_cand_t cands[5] = { node ("a", 4, 0), node ("b", 4, 0), node ("c", 4, 0),
                              node ("d", 4, 0), node ("home", 4, 0) };
    cands[1].res.state = GL_RES_BUSY;
    cands[2].state = SWIM_SUSPECT;
    cands[3].state = SWIM_LEFT;
    cands[4].is_self = true;
    place_t *p = new_place (3, 42);
    place_plan_t plan;

    /* An unfit pinned node is still asked: it knows better than gossip. */
    place_req_t req = { .pin = "b" };
    const char *name = place_choose (p, cands, 5, &req, 0, &plan);
    CHECK (name && strcmp (name, "b") == 0);
    CHECK_EQ (plan.n_ask, 1);
    CHECK_EQ (plan.n_passed, 0);
    CHECK (says (&plan, "b", "owner active"));
    CHECK (place_refused (p, &plan, "owner active", 0) == NULL);
    CHECK (says (&plan, "b", "refused: owner active"));

    req.pin = "c";
    name = place_choose (p, cands, 5, &req, 0, &plan);
    CHECK (name && strcmp (name, "c") == 0);
    CHECK (says (&plan, "c", "suspect"));

    req.pin = "a";
    name = place_choose (p, cands, 5, &req, 0, &plan);
    CHECK (name && strcmp (name, "a") == 0);
    CHECK (says (&plan, "a", "4 free cores"));

    /* Naming the home is permission enough. */
    req.pin = "home";
    name = place_choose (p, cands, 5, &req, 0, &plan);
    CHECK (name && strcmp (name, "home") == 0);

    /* Nobody to answer, or it said no already. */
    req.pin = "d";
    CHECK (place_choose (p, cands, 5, &req, 0, &plan) == NULL);
    CHECK (says (&plan, "d", "left"));
    req.pin = "zz";
    CHECK (place_choose (p, cands, 5, &req, 0, &plan) == NULL);
    CHECK (says (&plan, "zz", "not a member of the cluster"));
    place_note_t refused = { .node = "a", .why = "" };
    req = (place_req_t){ .pin = "a", .exclude = &refused, .n_exclude = 1 };
    CHECK (place_choose (p, cands, 5, &req, 0, &plan) == NULL);
    CHECK (says (&plan, "a", "refused this job"));
    place_destroy (&p);
}

static void test_local_and_exclude (void)
{
    place_cand_t cands[3] = { node ("home", 4, 0), node ("a", 4, 0), node ("b", 2, 0) };
    cands[0].is_self = true;
    cands[1].res.state = GL_RES_BUSY;
    place_t *p = new_place (3, 9);
    place_plan_t plan;

    place_req_t req = { .cores = 1 };
    const char *name = place_choose (p, cands, 3, &req, 0, &plan);
    CHECK (name && strcmp (name, "b") == 0);
    CHECK (says (&plan, "home", "local node (use --local)"));

    req.allow_local = true;
    name = place_choose (p, cands, 3, &req, 0, &plan);
    CHECK (name && strcmp (name, "home") == 0); /* 4 free cores beat 2 */
    CHECK_EQ (plan.n_ask, 2);

    /* b refused; the next plan leaves it out and says why. */
    place_note_t refused[1] = { { .node = "b", .why = "refused: no free slot" } };
    req = (place_req_t){ .cores = 1, .exclude = refused, .n_exclude = 1 };
    CHECK (place_choose (p, cands, 3, &req, 0, &plan) == NULL);
    CHECK (says (&plan, "b", "refused: no free slot"));
    req.allow_local = true;
    name = place_choose (p, cands, 3, &req, 0, &plan);
    CHECK (name && strcmp (name, "home") == 0);
    CHECK_EQ (plan.n_ask, 1);
    place_destroy (&p);
}

/* Asking in turn: each refusal moves the promise on and keeps the old
   one until it decays; place_done gives back a finished job's cores. */
static void test_refusals_and_ledger (void)
{
    place_cand_t cands[3] = { node ("a", 4, 0), node ("b", 3, 0), node ("c", 2, 0) };
    place_t *p = new_place (3, 5);
    place_plan_t plan;
    place_req_t req = { .cores = 1 };

    const char *name = place_choose (p, cands, 3, &req, 100, &plan);
    CHECK (name && strcmp (name, "a") == 0); /* all three drawn, best first */
    CHECK_EQ (plan.n_ask, 3);
    CHECK (strcmp (plan.ask[1].node, "b") == 0 && strcmp (plan.ask[2].node, "c") == 0);
    CHECK_EQ (place_promised (p, "a", 100), 1);
    uint64_t first = plan.ticket;
    CHECK (first != 0);

    name = place_refused (p, &plan, "no free slot", 200);
    CHECK (name && strcmp (name, "b") == 0);
    CHECK (says (&plan, "a", "refused: no free slot"));
    CHECK (plan.ticket != 0 && plan.ticket != first);
    name = place_refused (p, &plan, NULL, 300);
    CHECK (name && strcmp (name, "c") == 0);
    CHECK (says (&plan, "b", "refused: no reason given"));
    CHECK_EQ (plan.next, 2);
    CHECK_EQ (place_promised (p, "a", 300), 1);
    CHECK_EQ (place_promised (p, "b", 300), 1);
    CHECK_EQ (place_promised (p, "c", 300), 1);

    /* c took it and the job ended: its core is free at once. */
    place_done (p, plan.ticket);
    CHECK_EQ (place_promised (p, "c", 400), 0);
    /* The refusals' promises decay with the ledger (5 s). */
    CHECK_EQ (place_promised (p, "a", 5099), 1);
    CHECK_EQ (place_promised (p, "a", 5100), 0);
    CHECK_EQ (place_promised (p, "b", 5200), 0);
    CHECK (place_refused (p, &plan, "no", 500) == NULL);
    CHECK (place_refused (p, &plan, "no", 500) == NULL); /* harmless when done */

    /* Memory promised counts too: 12 GiB free, 5 GiB each. */
    place_cand_t one = node ("m", 64, 0);
    req = (place_req_t){ .cores = 1, .mem_kb = 5 * GIB };
    CHECK (place_choose (p, &one, 1, &req, 10000, &plan) != NULL);
    CHECK (place_choose (p, &one, 1, &req, 10001, &plan) != NULL);
    CHECK (place_choose (p, &one, 1, &req, 10002, &plan) == NULL);
    CHECK (says (&plan, "m", "not enough memory"));
    place_destroy (&p);
}

/* Freer nodes are drawn more often, in proportion to their score. */
static void test_weighting (void)
{
    place_cand_t cands[4] = { node ("one", 4, 3000), node ("two", 4, 2000), node ("three", 4, 1000),
                              node ("four", 4, 0) };
    int first1[4] = { 0 }, first2[4] = { 0 };
    const int rounds = 4000;
    for (int s = 0; s < rounds; s++) {
        place_req_t req = { .cores = 1 };
        place_plan_t plan;
        place_t *p = new_place (1, (uint64_t) s);
        const char *name = place_choose (p, cands, 4, &req, 0, &plan);
        for (int i = 0; name && i < 4; i++)
            if (strcmp (name, cands[i].name) == 0)
                first1[i]++;
        place_destroy (&p);

        p = new_place (2, (uint64_t) s);
        name = place_choose (p, cands, 4, &req, 0, &plan);
        for (int i = 0; name && i < 4; i++)
            if (strcmp (name, cands[i].name) == 0)
                first2[i]++;
        place_destroy (&p);
    }
    /* d = 1 is the plain weighted draw: shares 1:2:3:4 of 10. */
    for (int i = 0; i < 4; i++) {
        int expect = rounds * (i + 1) / 10;
        CHECK (abs (first1[i] - expect) < expect / 5);
        if (abs (first1[i] - expect) >= expect / 5)
            fprintf (stderr, "# d=1: node %d drawn %d times, about %d expected\n", i, first1[i],
                     expect);
    }
    /* d = 2: the better of two draws, so the least free never goes first. */
    CHECK_EQ (first2[0], 0);
    CHECK (first2[1] > 0 && first2[1] < first2[2] && first2[2] < first2[3]);

    /* Free memory and a long-gone owner weigh in too. */
    place_cand_t pair[2] = { node ("roomy", 4, 0), node ("tight", 4, 0) };
    pair[1].res.mem_avail_kb = 1 * GIB;
    place_cand_t owners[2] = { node ("gone", 4, 0), node ("just-left", 4, 0) };
    owners[0].res.owner_idle_s = 86400;
    owners[1].res.owner_idle_s = 900;
    int roomy = 0, gone = 0;
    for (int s = 0; s < 1000; s++) {
        place_req_t req = { .cores = 1 };
        place_plan_t plan;
        place_t *p = new_place (1, (uint64_t) s);
        roomy += strcmp (place_choose (p, pair, 2, &req, 0, &plan), "roomy") == 0;
        gone += strcmp (place_choose (p, owners, 2, &req, 0, &plan), "gone") == 0;
        place_destroy (&p);
    }
    CHECK (roomy > 550 && roomy < 700); /* weights 0.875 : 0.53 */
    CHECK (gone > 550 && gone < 700);   /* weights 1 : 0.625 */
}

/* The same seed and inputs give the same plans; another seed, others. */
static void test_determinism (void)
{
    place_cand_t cands[10];
    for (int i = 0; i < 10; i++) {
        char name[8];
        snprintf (name, sizeof name, "n%d", i);
        cands[i] = node (name, 8, (uint32_t) (i * 500));
    }
    place_t *p1 = new_place (3, 1234), *p2 = new_place (3, 1234), *p3 = new_place (3, 4321);
    int same = 0, differ = 0;
    for (int j = 0; j < 30; j++) {
        place_req_t req = { .cores = 1 };
        place_plan_t a, b, c;
        uint64_t now = 1000 + (uint64_t) j * 100;
        place_choose (p1, cands, 10, &req, now, &a);
        place_choose (p2, cands, 10, &req, now, &b);
        place_choose (p3, cands, 10, &req, now, &c);
        same += a.n_ask == b.n_ask && memcmp (a.ask, b.ask, sizeof a.ask) == 0 &&
                memcmp (a.passed, b.passed, sizeof a.passed) == 0;
        differ += memcmp (a.ask, c.ask, sizeof a.ask) != 0;
    }
    CHECK_EQ (same, 30);
    CHECK (differ > 0);
    place_destroy (&p1);
    place_destroy (&p2);
    place_destroy (&p3);

    place_config_t config;
    place_config_default (&config);
    config.d = 0;
    CHECK (place_new (&config, 1) == NULL);
    config.d = PLACE_D_MAX + 1;
    CHECK (place_new (&config, 1) == NULL);
}

/* By default an estimate counts while its member is alive, however long
   ago it was signed: a node signs a new one whenever it changes. */
static void test_old_estimate_of_live_member (void)
{
    place_cand_t cands[2] = { node ("a", 4, 0), node ("b", 4, 0) };
    cands[0].res_age_ms = 2 * 3600 * 1000;
    cands[1].state = SWIM_SUSPECT;
    place_config_t config;
    place_config_default (&config);
    place_t *p = place_new (&config, 1);
    place_plan_t plan;
    place_req_t req = { .cores = 1 };
    const char *name = place_choose (p, cands, 2, &req, 5000, &plan);
    CHECK (name && strcmp (name, "a") == 0);
    CHECK (says (&plan, "b", "suspect"));
    place_destroy (&p);
}

static void test_from_member (void)
{
    swim_member_t m;
    memset (&m, 0, sizeof m);
    snprintf (m.name, sizeof m.name, "peer1");
    m.state = SWIM_SUSPECT;
    m.has_res = true;
    m.res.cores = 6;
    m.res_recv_ms = 10000;
    place_cand_t c;
    place_cand_from_member (&c, &m, 13500);
    CHECK (strcmp (c.name, "peer1") == 0);
    CHECK_EQ (c.state, SWIM_SUSPECT);
    CHECK (c.has_res && !c.is_self);
    CHECK_EQ (c.res.cores, 6);
    CHECK_EQ (c.res_age_ms, 3500);
    place_cand_from_member (&c, &m, 9000); /* never negative */
    CHECK_EQ (c.res_age_ms, 0);
}

/* A node's guests come from its estimate; our promise to it counts apart
   only until an estimate counts the job's start. */
static void test_guests_and_starts (void)
{
    place_t *p = new_place (3, 7);
    place_cand_t x = node ("x", 2, 0);
    place_req_t req = { .cores = 1 };
    place_plan_t plan;
    CHECK (place_choose (p, &x, 1, &req, 1000, &plan) != NULL);
    uint64_t ticket = plan.ticket;
    CHECK (ticket != 0);
    CHECK_EQ (place_promised (p, "x", 1000), 1);
    place_started (p, ticket, 5); /* x's fifth guest */

    /* An estimate from before the start: the promise still counts. */
    x.res.guests = 1;
    x.res.started = 4;
    CHECK (place_choose (p, &x, 1, &req, 1100, &plan) == NULL);
    CHECK (says (&plan, "x", "no free core (1 guests, 1 promised)"));
    /* the failed draw promised nothing: only the first promise stands */
    /* One that counts it: only its guests count. */
    x.res.guests = 1;
    x.res.started = 5;
    CHECK (place_choose (p, &x, 1, &req, 1200, &plan) != NULL);
    place_done (p, plan.ticket);
    x.res.guests = 2;
    x.res.started = 6;
    CHECK (place_choose (p, &x, 1, &req, 1300, &plan) == NULL);
    CHECK (says (&plan, "x", "no free core (2 guests, 0 promised)"));
    place_destroy (&p);
}

int main (void)
{
    test_burst_one_home ();
    test_burst_two_homes ();
    test_unfit_nodes ();
    test_pinned ();
    test_local_and_exclude ();
    test_refusals_and_ledger ();
    test_weighting ();
    test_determinism ();
    test_old_estimate_of_live_member ();
    test_from_member ();
    test_guests_and_starts ();
    return tap_done ("test_place");
}
