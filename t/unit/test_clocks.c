/*  test_clocks -- clock offsets from probe round trips (sched/clocks.h). */
#include "clocks.h"
#include "tap.h"

#include <stdio.h>

int main (void)
{
    clocks_t *c = clocks_new ();
    CHECK (c != NULL);
    clocks_est_t e;
    CHECK (!clocks_get (c, "b", &e));

    /* b is 500 ms ahead; the probe took 20 ms there and back */
    clocks_sent (c, "b", 1, 1000);
    CHECK (clocks_acked (c, "b", 1, 1510, 1020));
    CHECK (clocks_get (c, "b", &e));
    CHECK_EQ (e.offset_us, 500000);
    CHECK_EQ (e.rtt_us, 20000);
    CHECK_EQ (e.samples, 1);

    /* an ACK answers one probe once, and only the probe of that node */
    CHECK (!clocks_acked (c, "b", 1, 1510, 1020));
    clocks_sent (c, "b", 2, 2000);
    CHECK (!clocks_acked (c, "c", 2, 2500, 2010));
    CHECK (!clocks_acked (c, "b", 3, 2500, 2010));
    /* an ACK that arrives before its PING left says nothing */
    CHECK (!clocks_acked (c, "b", 2, 2500, 1990));

    /* a probe delayed on the way back says little: the shortest round
       trip stands (here 4 ms, offset -3 ms) */
    clocks_sent (c, "b", 4, 3000);
    CHECK (clocks_acked (c, "b", 4, 3600, 3200)); /* 200 ms: offset 500 */
    clocks_sent (c, "b", 5, 4000);
    CHECK (clocks_acked (c, "b", 5, 3999, 4004)); /* 4 ms: offset -3 */
    clocks_sent (c, "b", 6, 5000);
    CHECK (clocks_acked (c, "b", 6, 5400, 5050)); /* 50 ms */
    CHECK (clocks_get (c, "b", &e));
    CHECK_EQ (e.offset_us, -3000);
    CHECK_EQ (e.rtt_us, 4000);
    CHECK_EQ (e.samples, 4);

    /* of the last CLOCKS_SAMPLES only: the 4 ms sample ages out */
    for (uint32_t i = 0; i < CLOCKS_SAMPLES; i++) {
        clocks_sent (c, "b", 100 + i, 10000 + 100 * i);
        CHECK (clocks_acked (c, "b", 100 + i, 10000 + 100 * i + 1010, 10000 + 100 * i + 10));
    }
    CHECK (clocks_get (c, "b", &e));
    CHECK_EQ (e.offset_us, 1005000);
    CHECK_EQ (e.rtt_us, 10000);

    /* half a millisecond is kept: t1 + t4 odd */
    clocks_sent (c, "c", 1, 1000);
    CHECK (clocks_acked (c, "c", 1, 1000, 1001));
    CHECK (clocks_get (c, "c", &e));
    CHECK_EQ (e.offset_us, -500);
    CHECK_EQ (clocks_count (c), 2);

    /* more probes in flight than remembered: the oldest are forgotten */
    for (uint32_t i = 0; i <= CLOCKS_PENDING; i++)
        clocks_sent (c, "d", 1000 + i, 1000);
    CHECK (!clocks_acked (c, "d", 1000, 1000, 1001));
    CHECK (clocks_acked (c, "d", 1000 + CLOCKS_PENDING, 1000, 1001));

    clocks_forget (c, "b");
    CHECK (!clocks_get (c, "b", &e));
    CHECK_EQ (clocks_count (c), 2);

    /* a member not probed yet: its packets give a lower bound, the largest
       of this window and the last (a packet delayed 30 ms says less) */
    clocks_heard (c, "e", 10700, 10040); /* 660 ms: delayed 40 ms */
    clocks_heard (c, "e", 11695, 11000); /* 695 ms: delayed 5 ms */
    CHECK (clocks_get (c, "e", &e));
    CHECK_EQ (e.samples, 0);
    CHECK_EQ (e.rtt_us, 0);
    CHECK_EQ (e.offset_us, 695000);
    clocks_heard (c, "e", 21650, 21000); /* a new window: the last one's best stands */
    CHECK (clocks_get (c, "e", &e));
    CHECK_EQ (e.offset_us, 695000);
    clocks_heard (c, "e", 31690, 31000); /* and the next: 650 ms is the last window's now */
    CHECK (clocks_get (c, "e", &e));
    CHECK_EQ (e.offset_us, 690000);
    clocks_heard (c, "e", 0, 32000); /* no timestamp: nothing */
    CHECK (clocks_get (c, "e", &e) && e.offset_us == 690000);
    /* a round trip, once there is one, stands over the one-way bound */
    clocks_sent (c, "e", 7, 40000);
    CHECK (clocks_acked (c, "e", 7, 40702, 40004));
    CHECK (clocks_get (c, "e", &e));
    CHECK_EQ (e.samples, 1);
    CHECK_EQ (e.offset_us, 700000);
    clocks_heard (c, "e", 41800, 41000); /* one-way says 800: the round trip stays */
    CHECK (clocks_get (c, "e", &e) && e.offset_us == 700000);

    /* the change count moves when an offset moves by 2 ms or more (the
       view shows ms), not with every sample */
    uint64_t ch = clocks_changes (c);
    clocks_sent (c, "e", 8, 50000);
    CHECK (clocks_acked (c, "e", 8, 50702, 50004)); /* the same 700 ms */
    clocks_heard (c, "e", 50900, 50000);
    CHECK_EQ (clocks_changes (c), ch);
    clocks_sent (c, "e", 9, 51000);
    CHECK (clocks_acked (c, "e", 9, 51703, 51002)); /* 702 ms, 2 ms round trip */
    CHECK (clocks_get (c, "e", &e) && clocks_ms (e.offset_us) == 702);
    CHECK_EQ (clocks_changes (c), ch + 1);
    clocks_sent (c, "e", 10, 53000);
    CHECK (clocks_acked (c, "e", 10, 53701, 53000)); /* 701 ms, no round trip: */
    CHECK (clocks_get (c, "e", &e) && clocks_ms (e.offset_us) == 701);
    CHECK_EQ (clocks_changes (c), ch + 1); /* within a ms of the one counted */
    clocks_heard (c, "f", 52300, 52000);   /* a new one, 300 ms off */
    CHECK_EQ (clocks_changes (c), ch + 2);
    clocks_forget (c, "f");
    CHECK_EQ (clocks_changes (c), ch + 3);
    CHECK_EQ (clocks_ms (-1500), -2);
    CHECK_EQ (clocks_ms (-1499), -1);
    CHECK_EQ (clocks_ms (1500), 2);

    /* thousands of members, found by name through the index, and forgotten */
    size_t before = clocks_count (c);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf (name, sizeof name, "n%d", i);
        clocks_heard (c, name, 1000 + (uint64_t) i, 1000);
    }
    CHECK_EQ (clocks_count (c), before + 5000);
    bool all = true;
    for (int i = 0; i < 5000; i += 7) {
        snprintf (name, sizeof name, "n%d", i);
        all = all && clocks_get (c, name, &e) && e.offset_us == (int64_t) i * 1000;
    }
    CHECK (all);
    for (int i = 0; i < 5000; i += 2) {
        snprintf (name, sizeof name, "n%d", i);
        clocks_forget (c, name);
    }
    CHECK_EQ (clocks_count (c), before + 2500);
    all = true;
    for (int i = 0; i < 5000; i++) {
        snprintf (name, sizeof name, "n%d", i);
        bool found = clocks_get (c, name, &e);
        all = all && (i % 2 ? found && e.offset_us == (int64_t) i * 1000 : !found);
    }
    CHECK (all);
    CHECK (clocks_get (c, "e", &e) && clocks_ms (e.offset_us) == 701);
    clocks_destroy (&c);
    CHECK (c == NULL);
    return tap_done ("test_clocks");
}
