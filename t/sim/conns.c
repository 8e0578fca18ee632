/*  conns.c -- glsim's model of the agent's links.  See conns.h. */
#include "conns.h"

#include <stdlib.h>
#include <string.h>

int conns_init (conns_t *c, uint32_t n, uint32_t max_links, uint32_t idle_ms)
{
    memset (c, 0, sizeof *c);
    c->n = n;
    c->max = max_links ? max_links : 1;
    c->idle_us = (uint64_t) idle_ms * 1000;
    c->links = calloc ((size_t) n * c->max, sizeof *c->links);
    c->count = calloc (n, sizeof *c->count);
    c->life_us = calloc (n, sizeof *c->life_us);
    return c->links && c->count && c->life_us ? 0 : -1;
}

void conns_free (conns_t *c)
{
    free (c->links);
    free (c->count);
    free (c->life_us);
    memset (c, 0, sizeof *c);
}

void conns_started (conns_t *c, uint32_t to, uint64_t now)
{
    c->life_us[to] = now;
}

void conns_crashed (conns_t *c, uint32_t i)
{
    c->count[i] = 0;
}

/* Drop node i's links idle too long, as the agent's once-a-second sweep
   would have. */
static void expire (conns_t *c, uint32_t i, uint64_t now)
{
    conn_t *l = &c->links[(size_t) i * c->max];
    for (uint32_t k = 0; k < c->count[i];)
        if (now - l[k].last_us >= c->idle_us) {
            l[k] = l[--c->count[i]];
            c->expired++;
        }
        else
            k++;
}

/* to's link to from, if it is a route from can use now: opened since from
   last started (the connection of an earlier life was reset) and used
   within half of link_idle (links.h). */
static conn_t *route_of (conns_t *c, uint32_t from, uint32_t to, uint64_t now)
{
    conn_t *l = &c->links[(size_t) to * c->max];
    for (uint32_t k = 0; k < c->count[to]; k++)
        if (l[k].to == from)
            return l[k].opened_us >= c->life_us[from] && now - l[k].last_us < c->idle_us / 2 ? &l[k]
                                                                                             : NULL;
    return NULL;
}

conn_how_t conns_use (conns_t *c, uint32_t from, uint32_t to, uint64_t now)
{
    expire (c, from, now);
    conn_t *l = &c->links[(size_t) from * c->max];
    uint32_t *n = &c->count[from];
    for (uint32_t k = 0; k < *n; k++)
        if (l[k].to == to) {
            l[k].last_us = now;
            if (l[k].opened_us >= c->life_us[to])
                return CONN_REUSED;
            l[k].opened_us = now; /* reset by the restart: connects again */
            c->opened++;
            return CONN_OPENED;
        }
    conn_t *r = route_of (c, from, to, now);
    if (r) {
        r->last_us = now; /* traffic on it, for its owner too */
        return CONN_ROUTED;
    }
    if (*n == c->max) { /* room: the least recently used goes */
        uint32_t lru = 0;
        for (uint32_t k = 1; k < *n; k++)
            if (l[k].last_us < l[lru].last_us)
                lru = k;
        l[lru] = l[--*n];
        c->evicted++;
    }
    l[(*n)++] = (conn_t){ .to = to, .last_us = now, .opened_us = now };
    c->opened++;
    return CONN_OPENED;
}

uint32_t conns_open (const conns_t *c, uint32_t i, uint64_t now)
{
    const conn_t *l = &c->links[(size_t) i * c->max];
    uint32_t open = 0;
    for (uint32_t k = 0; k < c->count[i]; k++)
        open += now - l[k].last_us < c->idle_us;
    return open;
}
