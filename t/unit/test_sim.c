/*  test_sim.c -- the simulator's own parts: the event queue, the network
    model, scenario files and the random streams.  The simulator as a whole
    is tested by t/integ/glsim_*.sh. */
#include "evq.h"
#include "net.h"
#include "random.h"
#include "scenario.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static void test_evq (void)
{
    evq_t q;
    evq_init (&q);
    rng_t r = rng_stream (1, 99);
    for (uint32_t i = 0; i < 5000; i++)
        evq_push (&q, (ev_t){ .at = rng_below (&r, 100), .node = i });
    ev_t ev, prev = { 0 };
    size_t n = 0;
    bool ordered = true;
    while (evq_pop (&q, &ev)) {
        /* By time, and at equal times in the order pushed. */
        if (n && (ev.at < prev.at || (ev.at == prev.at && ev.node < prev.node)))
            ordered = false;
        prev = ev;
        n++;
    }
    CHECK (ordered);
    CHECK_EQ (n, 5000);
    CHECK (!evq_pop (&q, &ev));
    evq_free (&q);
}

static void test_streams (void)
{
    /* Streams of one seed differ from each other and repeat exactly. */
    rng_t a = rng_stream (7, RNG_LOSS), b = rng_stream (7, RNG_DELAY), c = rng_stream (7, RNG_LOSS);
    uint64_t x = rng_next (&a), y = rng_next (&b), z = rng_next (&c);
    CHECK (x != y);
    CHECK (x == z);
    double sum = 0;
    for (int i = 0; i < 10000; i++)
        sum += rng_exp (&a, 2.0);
    CHECK (sum / 10000 > 1.9 && sum / 10000 < 2.1);
}

static void test_net (void)
{
    net_t a, b;
    CHECK_EQ (net_init (&a, 10, 5, 0.1, 200, 1000), 0);
    CHECK_EQ (net_init (&b, 10, 5, 0.1, 200, 1000), 0);
    size_t lost = 0;
    bool same = true;
    for (int i = 0; i < 20000; i++) {
        uint64_t da, db;
        bool ka = net_send (&a, 1, 2, &da), kb = net_send (&b, 1, 2, &db);
        same = same && ka == kb && da == db && da >= 200;
        lost += !ka;
    }
    CHECK (same);
    CHECK (lost > 1700 && lost < 2300);
    uint64_t d;
    net_partition (&a, 0, 3);
    CHECK (!net_reachable (&a, 2, 5));
    CHECK (net_reachable (&a, 1, 3));
    CHECK (net_reachable (&a, 6, 9));
    net_heal (&a);
    CHECK (net_reachable (&a, 2, 5));
    /* One-way loss. */
    a.loss = 0;
    net_link_loss (&a, 0, 0, 1, 1, 1.0);
    CHECK (!net_send (&a, 0, 1, &d));
    CHECK (net_send (&a, 1, 0, &d));
    CHECK (net_loss_between (&a, 0, 1) == 1.0);
    net_free (&a);
    net_free (&b);
}

static void test_scenario (void)
{
    scen_t s, t;
    char err[256];
    scen_init (&s);
    const char *lines[] = {
        "nodes 40",
        "seed 9",
        "duration 10m",
        "loss 0.02  # comment",
        "delay 100us 2ms",
        "at 30s crash 17",
        "at 1.5s partition 0-9",
        "at 90s heal",
        "at 40s restart 17",
        "at 50s pause 3 5s",
        "at 0 skew 4 250ms 0.001",
        "at 10s linkloss 0-9 10-19 0.5",
        "at 70s update 12",
        "at 2m loss 0.01",
        "",
        "# only a comment",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        CHECK_EQ (scen_line (&s, lines[i], err, sizeof err), 0);
    CHECK_EQ (s.nodes, 40);
    CHECK_EQ (s.duration_us, 600000000ull);
    CHECK_EQ (s.n_evs, 9);
    CHECK_EQ (s.evs[1].at_us, 1500000);
    CHECK_EQ (s.evs[1].a_end, 9);
    /* Bad lines name what is wrong. */
    CHECK (scen_line (&s, "at 5s crash 40", err, sizeof err) && strstr (err, "out of range"));
    CHECK (scen_line (&s, "at 5x crash 1", err, sizeof err) && strstr (err, "not a time"));
    CHECK (scen_line (&s, "loss 2", err, sizeof err) && strstr (err, "rate"));
    CHECK (scen_line (&s, "at 1s explode 3", err, sizeof err) && strstr (err, "not an event"));
    CHECK (scen_line (&s, "at 1s partition 9-3", err, sizeof err));

    /* Written and read back, a scenario is the same. */
    scen_expand (&s);
    FILE *f = tmpfile ();
    scen_write (&s, f);
    rewind (f);
    scen_init (&t);
    char line[512];
    bool ok = true;
    while (fgets (line, sizeof line, f))
        ok = ok && scen_line (&t, line, err, sizeof err) == 0;
    fclose (f);
    CHECK (ok);
    CHECK_EQ (t.n_evs, s.n_evs);
    CHECK (t.loss == s.loss && t.delay_min_us == s.delay_min_us && t.seed == s.seed);
    CHECK (t.n_evs == s.n_evs && memcmp (t.evs, s.evs, s.n_evs * sizeof *s.evs) == 0);
    /* Sorted by time, stable. */
    bool sorted = true;
    for (size_t i = 1; i < s.n_evs; i++)
        sorted = sorted && s.evs[i - 1].at_us <= s.evs[i].at_us;
    CHECK (sorted);
    scen_free (&s);
    scen_free (&t);

    /* Drawn faults: as many as asked, after the warmup, the same for a seed. */
    scen_init (&s);
    s.nodes = 100;
    s.crashes = 10;
    s.restart_after_us = 60000000;
    s.pauses = 7;
    s.updates = 5;
    scen_expand (&s);
    scen_copy (&t, &s);
    size_t crashes = 0, restarts = 0;
    bool after = true;
    for (size_t i = 0; i < s.n_evs; i++) {
        crashes += s.evs[i].kind == SE_CRASH;
        restarts += s.evs[i].kind == SE_RESTART;
        after = after && s.evs[i].at_us >= s.warmup_us &&
                s.evs[i].a >= (s.evs[i].kind == SE_CRASH ? 3 : 0);
    }
    CHECK_EQ (crashes, 10);
    CHECK (restarts <= 10);
    CHECK (after);
    CHECK_EQ (s.n_evs, 10 + restarts + 7 + 5);
    scen_free (&s);
    scen_init (&s);
    s.nodes = 100;
    s.crashes = 10;
    s.restart_after_us = 60000000;
    s.pauses = 7;
    s.updates = 5;
    scen_expand (&s);
    CHECK (s.n_evs == t.n_evs && memcmp (s.evs, t.evs, s.n_evs * sizeof *s.evs) == 0);
    scen_free (&s);
    scen_free (&t);
}

int main (void)
{
    test_evq ();
    test_streams ();
    test_net ();
    test_scenario ();
    return tap_done ("test_sim");
}
