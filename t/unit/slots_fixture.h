/*  slots_fixture.h -- the slots of an idle, headless machine, for the
    tests of the candidate side (test_slots) and of placement bursts
    that run through real slots (test_place). */
#ifndef GL_SLOTS_FIXTURE_H
#define GL_SLOTS_FIXTURE_H

#include "slots.h"

#include <stdio.h>
#include <stdlib.h>

#define GIB (1024ull * 1024) /* in KiB */

/* Slots of an idle, headless machine with that many cores. */
static slots_t *new_slots (uint32_t cores)
{
    slots_config_t config;
    slots_config_default (&config);
    slots_t *s = slots_new (&config, cores);
    if (!s) {
        fprintf (stderr, "slots_new failed\n");
        exit (2);
    }
    gl_res_t res = { .cores = cores,
                     .mem_total_kb = 16 * GIB,
                     .mem_avail_kb = 12 * GIB,
                     .owner_idle_s = UINT32_MAX,
                     .state = GL_RES_IDLE };
    slots_set_res (s, &res);
    return s;
}

#endif
