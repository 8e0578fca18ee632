/*  conns.h -- the connections the real agent would set up: glsim's model
    of cmd/links.h.

    glpeer sends each packet on its own ZeroMQ link (a DEALER connected to
    the destination's ROUTER) when it has one; else down the destination's
    link to it, the route, when that carried traffic within half of
    link_idle; else on a new link, closing the least recently used when
    max_links are open.  A link unused either way for link_idle is closed
    (transport/ in cluster.conf).  Setting a link up costs its own bytes
    on the wire (the ZMTP greetings and READY commands of both ends), and
    every packet a ZMTP frame header.  So that glsim's bytes per node are
    the real agent's, each node here keeps the same table (which
    destinations, when last used either way) and counts what opening
    links costs.  A link to a node that crashed since it was opened is set
    up again (its TCP connection was reset), and is no route back to it.
    Links held for a job's life do not occur: glsim runs no jobs (its
    gang plane's messages take links as gossip does).                   */
#ifndef GLSIM_CONNS_H
#define GLSIM_CONNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ZMTP 3.0 over TCP, NULL mechanism: a 64-byte greeting and a READY
   command from each end, 43 bytes: its 2-byte frame header, the name
   (6), a Socket-Type property ("DEALER" or "ROUTER": 22) and the
   Identity property these socket types add (empty: 13). */
#define CONN_SETUP_BYTES (2 * (64 + 43))

/* The header ZMTP puts before a message of len bytes. */
static inline size_t conn_frame_bytes (size_t len)
{
    return len < 256 ? 2 : 9;
}

typedef struct {
    uint32_t to;
    uint64_t last_us, opened_us;
} conn_t;

typedef struct {
    uint32_t n, max;
    uint64_t idle_us;
    conn_t *links;     /* max per node */
    uint32_t *count;   /* open per node */
    uint64_t *life_us; /* when each node last started */
    uint64_t opened, evicted, expired;
} conns_t;

/* How a packet went (conns_use). */
typedef enum {
    CONN_REUSED, /* on the sender's own link */
    CONN_ROUTED, /* down the destination's link to the sender */
    CONN_OPENED  /* on a link set up for it */
} conn_how_t;

int conns_init (conns_t *c, uint32_t n, uint32_t max_links, uint32_t idle_ms);
void conns_free (conns_t *c);

/* Node `to` started (again) at now_us: links opened to it before are gone. */
void conns_started (conns_t *c, uint32_t to, uint64_t now_us);
/* Node `i` crashed: its own links are gone. */
void conns_crashed (conns_t *c, uint32_t i);

/* A packet from -> to at now_us: on from's link to `to`, or on to's link
   to from, or on a new link. */
conn_how_t conns_use (conns_t *c, uint32_t from, uint32_t to, uint64_t now_us);

/* Links node i opened and holds at now_us (those idle too long do not
   count); as many of the others' reach it, on average. */
uint32_t conns_open (const conns_t *c, uint32_t i, uint64_t now_us);

#endif
