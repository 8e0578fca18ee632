/*  slots.c -- may this node take a guest job now?  (see slots.h)

    A fixed array of holds, one per slot at most, allocated by slots_new:
    nothing allocates after it, so no offer can fail halfway. */
#include "slots.h"
#include "str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A job holding slots here: reserved until until_ms, or running. */
typedef struct {
    char job[SLOTS_JOB_MAX + 1];
    uint32_t cores;
    uint64_t mem_kb;
    bool running;
    uint64_t until_ms;
} hold_t;

struct slots_t {
    uint32_t slots;
    uint32_t reserve_ms;
    bool have_res;
    gl_res_t res;
    /* Every job takes at least one slot, so `slots` holds are enough. */
    hold_t *holds;
    size_t n_holds;
    char why[96]; /* the last refusal, which *why points to */
};

void slots_config_default (slots_config_t *config)
{
    config->slots = 0;
    config->reserve_ms = 5000;
}

slots_t *slots_new (const slots_config_t *config, uint32_t cores)
{
    slots_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = config->slots ? config->slots : cores ? cores : 1;
    self->reserve_ms = config->reserve_ms;
    self->holds = calloc (self->slots, sizeof self->holds[0]);
    if (!self->holds) {
        free (self);
        return NULL;
    }
    return self;
}

void slots_destroy (slots_t **self_p)
{
    slots_t *self = *self_p;
    if (self) {
        free (self->holds);
        free (self);
        *self_p = NULL;
    }
}

void slots_set_res (slots_t *self, const gl_res_t *res)
{
    self->res = *res;
    self->have_res = true;
}

static bool expired (const hold_t *h, uint64_t now_ms)
{
    return !h->running && now_ms >= h->until_ms;
}

static void drop (slots_t *self, size_t i)
{
    self->holds[i] = self->holds[--self->n_holds];
}

static hold_t *find (slots_t *self, const char *job_id, size_t *index)
{
    for (size_t i = 0; i < self->n_holds; i++)
        if (strcmp (self->holds[i].job, job_id) == 0) {
            if (index)
                *index = i;
            return &self->holds[i];
        }
    return NULL;
}

size_t slots_expire (slots_t *self, uint64_t now_ms)
{
    size_t dropped = 0;
    for (size_t i = 0; i < self->n_holds;)
        if (expired (&self->holds[i], now_ms)) {
            drop (self, i);
            dropped++;
        }
        else
            i++;
    return dropped;
}

uint32_t slots_free (slots_t *self, uint64_t now_ms)
{
    uint32_t used = 0;
    for (size_t i = 0; i < self->n_holds; i++)
        if (!expired (&self->holds[i], now_ms))
            used += self->holds[i].cores;
    return used < self->slots ? self->slots - used : 0;
}

uint64_t slots_next_deadline (slots_t *self)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < self->n_holds; i++)
        if (!self->holds[i].running && self->holds[i].until_ms < next)
            next = self->holds[i].until_ms;
    return next;
}

static bool refuse (slots_t *self, const char **why, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->why, sizeof self->why, fmt, ap);
    va_end (ap);
    if (why)
        *why = self->why;
    return false;
}

bool slots_offer (slots_t *self, const char *job_id, uint32_t cores, uint64_t mem_kb,
                  uint64_t now_ms, const char **why)
{
    if (why)
        *why = "";
    if (cores == 0)
        cores = 1;
    if (!job_id || !job_id[0] || strlen (job_id) > SLOTS_JOB_MAX)
        return refuse (self, why, "bad job id");

    slots_expire (self, now_ms);
    size_t index;
    hold_t *held = find (self, job_id, &index);
    if (held && held->running)
        return refuse (self, why, "already running here");
    if (held)
        drop (self, index); /* judged again below, as new */

    /* Our own latest measurement, not gossip: the owner may have come
       back a second ago, which no other node knows yet. */
    if (!self->have_res)
        return refuse (self, why, "not measured yet");
    if (self->res.state == GL_RES_BUSY)
        return refuse (self, why, "owner active");
    if (self->res.state != GL_RES_IDLE)
        return refuse (self, why, "unavailable");
    if (cores > self->slots)
        return refuse (self, why, "wants %u cores, %u slot%s here", cores, self->slots,
                       self->slots == 1 ? "" : "s");
    uint32_t free_slots = slots_free (self, now_ms);
    if (free_slots < cores) {
        if (free_slots == 0)
            return refuse (self, why, "no free slot");
        return refuse (self, why, "%u free slot%s, %u wanted", free_slots,
                       free_slots == 1 ? "" : "s", cores);
    }
    /* Running guests' memory shows in the measurement already; reserved
       jobs have not started, so theirs is taken off by hand. */
    uint64_t reserved_kb = 0;
    for (size_t i = 0; i < self->n_holds; i++)
        if (!self->holds[i].running)
            reserved_kb += self->holds[i].mem_kb;
    uint64_t avail_kb =
        self->res.mem_avail_kb > reserved_kb ? self->res.mem_avail_kb - reserved_kb : 0;
    if (avail_kb < mem_kb)
        return refuse (self, why, "not enough memory (%llu MiB free, %llu MiB wanted)",
                       (unsigned long long) (avail_kb / 1024),
                       (unsigned long long) ((mem_kb + 1023) / 1024));

    /* free_slots >= cores >= 1 means fewer than `slots` holds: room. */
    hold_t *h = &self->holds[self->n_holds++];
    memset (h, 0, sizeof *h);
    gl_strlcpy (h->job, job_id, sizeof h->job);
    h->cores = cores;
    h->mem_kb = mem_kb;
    h->until_ms = now_ms + self->reserve_ms;
    return true;
}

int slots_start (slots_t *self, const char *job_id, uint64_t now_ms)
{
    size_t index;
    hold_t *h = find (self, job_id, &index);
    if (!h)
        return -1;
    if (h->running)
        return 0;
    if (expired (h, now_ms)) {
        drop (self, index);
        return -1;
    }
    h->running = true;
    return 0;
}

int slots_release (slots_t *self, const char *job_id)
{
    size_t index;
    if (!find (self, job_id, &index))
        return -1;
    drop (self, index);
    return 0;
}
