/*  test_slots.c -- the candidate side of placement: reservations, their
    expiry and start, and every reason an offer is refused. */

#include "slots_fixture.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static void test_reservations (void)
{
    slots_t *s = new_slots (2);
    const char *why = NULL;
    CHECK_EQ (slots_free (s, 0), 2);
    CHECK_EQ (slots_next_deadline (s), UINT64_MAX);
    CHECK (slots_offer (s, "j1", 1, 0, 0, &why));
    CHECK (slots_offer (s, "j2", 1, 0, 1000, &why));
    CHECK_EQ (slots_free (s, 1000), 0);
    CHECK_EQ (slots_next_deadline (s), 5000);
    CHECK (!slots_offer (s, "j3", 1, 0, 2000, &why));
    CHECK (strcmp (why, "no free slot") == 0);

    /* A repeated offer (our answer was lost) takes no second slot. */
    CHECK (slots_offer (s, "j2", 1, 0, 2000, &why));
    CHECK_EQ (slots_free (s, 2000), 0);

    /* j1's reservation lapses: its slot is free, and j1 may not start. */
    CHECK_EQ (slots_free (s, 4999), 0);
    CHECK_EQ (slots_free (s, 5000), 1);
    CHECK_EQ (slots_expire (s, 5000), 1);
    CHECK_EQ (slots_start (s, "j1", 5000), -1);
    CHECK_EQ (slots_next_deadline (s), 7000);
    CHECK (slots_offer (s, "j3", 1, 0, 5000, &why));
    CHECK_EQ (slots_start (s, "j3", 6000), 0);
    CHECK_EQ (slots_start (s, "j2", 6999), 0);

    /* Running slots never expire; they are released. */
    CHECK_EQ (slots_expire (s, 100000), 0);
    CHECK_EQ (slots_free (s, 100000), 0);
    CHECK_EQ (slots_next_deadline (s), UINT64_MAX);
    CHECK (!slots_offer (s, "j3", 1, 0, 100000, &why));
    CHECK (strcmp (why, "already running here") == 0);
    CHECK_EQ (slots_release (s, "j3"), 0);
    CHECK_EQ (slots_release (s, "j3"), -1);
    CHECK_EQ (slots_free (s, 100000), 1);
    CHECK_EQ (slots_release (s, "j2"), 0);
    CHECK_EQ (slots_free (s, 100000), 2);
    slots_destroy (&s);
    CHECK (s == NULL);
}

static void test_refused_offers (void)
{
    slots_config_t config;
    slots_config_default (&config);
    slots_t *s = slots_new (&config, 4);
    const char *why = NULL;
    CHECK (!slots_offer (s, "j", 1, 0, 0, &why));
    CHECK (strcmp (why, "not measured yet") == 0);

    gl_res_t res = {
        .cores = 4, .mem_total_kb = 8 * GIB, .mem_avail_kb = 3 * GIB, .state = GL_RES_BUSY
    };
    slots_set_res (s, &res);
    CHECK (!slots_offer (s, "j", 1, 0, 0, &why));
    CHECK (strcmp (why, "owner active") == 0);
    res.state = GL_RES_UNAVAILABLE;
    slots_set_res (s, &res);
    CHECK (!slots_offer (s, "j", 1, 0, 0, &why));
    CHECK (strcmp (why, "unavailable") == 0);

    res.state = GL_RES_IDLE;
    slots_set_res (s, &res);
    CHECK (!slots_offer (s, "j", 8, 0, 0, &why));
    CHECK (strcmp (why, "wants 8 cores, 4 slots here") == 0);
    CHECK (!slots_offer (s, "j", 1, 4 * GIB, 0, &why));
    CHECK (strcmp (why, "not enough memory (3072 MiB free, 4096 MiB wanted)") == 0);
    CHECK (!slots_offer (s, "", 1, 0, 0, &why));
    CHECK (strcmp (why, "bad job id") == 0);

    /* Reserved memory is taken off the measurement until the job starts. */
    CHECK (slots_offer (s, "big", 3, 2 * GIB, 0, &why));
    CHECK (!slots_offer (s, "j", 1, 2 * GIB, 0, &why));
    CHECK (strncmp (why, "not enough memory (1024 MiB free", 32) == 0);
    CHECK (!slots_offer (s, "j", 2, 0, 0, &why));
    CHECK (strcmp (why, "1 free slot, 2 wanted") == 0);
    CHECK (slots_offer (s, "j", 0, 0, 0, &why)); /* 0 cores count as 1 */
    CHECK_EQ (slots_free (s, 0), 0);
    slots_destroy (&s);

    /* Configured slots override the core count. */
    config.slots = 1;
    s = slots_new (&config, 64);
    slots_set_res (s, &res);
    CHECK (slots_offer (s, "a", 1, 0, 0, &why));
    CHECK (!slots_offer (s, "b", 1, 0, 0, &why));
    slots_destroy (&s);
}

int main (void)
{
    test_reservations ();
    test_refused_offers ();
    return tap_done ("test_slots");
}
