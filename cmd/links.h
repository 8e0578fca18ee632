/*  links.h -- the agent's transport: one ZeroMQ socket, the connections
    it makes and those made to it, each used both ways, closed when idle.

    The agent binds a ROUTER socket on its address, and makes its own
    connections, its *links*, from that same socket (zmq_connect, with a
    random routing id of its choosing, ZMQ_CONNECT_ROUTING_ID).  Every
    connection, a link of ours or another agent's link to us, carries
    packets both ways: the ROUTER knows which connection each packet came
    in on, and an answer (an ACK to a PING, a SYNC to a SYNC_REQ, gossip)
    goes back down the same connection, the *route* to that member,
    instead of setting one up the other way.  With a PUSH socket per
    destination and a PULL socket to receive, as before, every probe
    cost two connection set-ups (the prober's and the answer's), each a
    dozen system calls and several thread wake-ups at both ends: at 64
    agents that was most of what an idle agent cost.  One socket for all
    of it, rather than a DEALER per link, spares each set-up a ZeroMQ
    socket's creation and its teardown by the reaper thread, and the
    loop asks one socket for news, not one per link.

    Liveness is SWIM's business (its probes and acks), so a link carries
    no heartbeat of its own, and the agent keeps only what it uses:

      - a packet to a member goes on this agent's own link to it if there
        is one; else, unless it is a job's message, on the route the
        member's own link gives (one this agent heard or used within half
        of link_idle, so well before the member closes that link for being
        idle: see below); else on a new link;
      - at most max_links links (cluster.conf transport/max_links): a new
        one, when that many are open, first closes the least recently
        used; routes are the other agents' links and do not count (every
        agent bounds its own the same way, so an agent holds, on average,
        about as many connections made to it as it made);
      - a link unused either way for link_idle is closed, and a route
        neither heard nor used for link_idle is forgotten;
      - a link to a member declared dead or gone is closed at once, and
        its route forgotten (links_close);
      - a link that carried a job message either way within job_hold is
        held: never closed by the rules above, and not counted in
        max_links.  A job's stream (sched/jobs.h) numbers its messages and
        ends the job when one is missing or out of order, and a new
        connection could overtake what the old one still had queued: so a
        job's messages go only on the sender's own link (never a route,
        which the other end may close), and a live job's link stays up
        for the job's life (its home pings its host every JOBS_PING_MS,
        well within job_hold).

    A route's member closes its link only after link_idle without traffic
    either way on it, and what goes down the route is traffic on it: so
    the route is used only while that is at least half of link_idle away.
    A member may still close it early to make room (max_links): what was
    on the way is then lost, as a datagram would be, and SWIM's indirect
    probes and retransmissions cover it.  A route whose connection has
    gone is known at the next send (ZMQ_ROUTER_MANDATORY), which then
    opens a link.

    Each link, and each route, queues at most send_queue messages
    (ZMQ_SNDHWM of the ROUTER, per connection) while its connection is
    being set up, or while the destination is down or slow.  Further
    gossip is dropped and counted, as datagrams would be: SWIM retries
    what matters.  A job's message is not: its stream ends the job at a
    missing message, and a job's flow control counts bytes (4 MiB of a
    stream unacknowledged at most), which in small pieces are many more
    than send_queue messages.  So a job message that finds the queue
    full waits on its link, in order, and goes as the queue drains
    (tried again every 2 ms), and while any waits, gossip to the same
    member waits behind it: packets are numbered as they are sealed, and
    the seal refuses one that arrives more than its replay window (1024
    packets) behind a later one.  What waits is bounded by 256 MiB over
    all links, past which a job message too is dropped.  A link closed to make room or for being idle
    still sends what it queues for a second (its connection may not be up
    yet: a probe must not be lost to the gossip that followed it); a link
    to a dead member drops it at once; when the agent leaves, every
    connection has the linger links_linger gives.  The ROUTER is
    ZMQ_ROUTER_MANDATORY, so a send to a connection that has gone fails
    at once (and goes on a new link) rather than vanishing.  A routing id
    is chosen by whoever connects: ours are random, so that no other
    agent's (or stranger's) connection can take one first, which libzmq
    would answer by aborting.  Connecting does not wait (ZMQ_IMMEDIATE
    off): the first packet waits in the queue for the connection it
    starts.

    The module also keeps the agent's traffic counters and their rate over
    the last RATE_WINDOW seconds (what `glpeer status` shows).           */
#ifndef GL_LINKS_H
#define GL_LINKS_H

#include "loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t max_links;   /* open links at most, held ones aside */
    uint32_t idle_ms;     /* close a link unused this long */
    uint32_t send_queue;  /* messages queued per link or route (ZMQ_SNDHWM) */
    uint32_t recv_queue;  /* messages queued for the agent to read (ZMQ_RCVHWM) */
    uint32_t job_hold_ms; /* a link with job traffic this recent is held */
} links_config_t;

typedef struct links_t links_t;

/* A packet came in (len bytes at pkt), on a link or a route; pkt is NULL
   for a message of several parts, which no agent sends.  The callback
   may send, and close links, the one the packet came on included. */
typedef void (links_packet_fn) (void *arg, const uint8_t *pkt, size_t len, uint64_t now_ms);

/* The transport, reached at bind (a ZeroMQ endpoint), its sockets read
   on loop.  NULL, with a message naming what failed. */
links_t *links_new (const links_config_t *config, gl_loop_t *loop, const char *bind,
                    links_packet_fn *fn, void *arg, char *err, size_t errlen);
void links_destroy (links_t **self_p);

/* Hand the sealed packet pkt (malloc'ed, len bytes) to the member at
   addr: on its link, or its route, or a new link (see above).  The links
   take pkt either way (ZeroMQ frees it once sent).  job: a job message,
   which goes on a link and holds it.  0, or -1 when it was dropped
   (queue full, cannot connect). */
int links_send (links_t *self, const char *addr, uint8_t *pkt, size_t len, bool job,
                uint64_t now_ms);

/* Said from inside the packet callback, once the packet is known to come
   from the member at addr (its seal opened): the connection it came on
   is that member's route, or a link in use.  job: it is a job message,
   which holds this agent's link to addr back. */
void links_from (links_t *self, const char *addr, bool job, uint64_t now_ms);

/* The member at addr is dead or gone: close its link, forget its route. */
void links_close (links_t *self, const char *addr);

/* Close links idle for idle_ms (not held), forget stale routes, and take
   the rate sample; cheap to call on every loop turn (it works once a
   second). */
void links_tick (links_t *self, uint64_t now_ms);

/* Let every open link, and the routes, send what they queue for up to ms
   when they close (the agent is leaving). */
void links_linger (links_t *self, uint32_t ms);

typedef struct {
    uint32_t open;    /* links open now */
    uint32_t held;    /* of which held for a job */
    uint32_t max;     /* max_links */
    uint32_t routes;  /* routes usable now (other agents' links to this one) */
    uint64_t opened;  /* links opened since start */
    uint64_t evicted; /* closed to make room for another */
    uint64_t expired; /* closed idle */
    uint64_t closed;  /* closed because their member is dead or gone */
    uint64_t routed;  /* packets sent back on a route */
    uint64_t dropped; /* packets dropped at sending */
    uint64_t queued;  /* job messages that waited for room in a full queue */
    uint64_t msgs_in, bytes_in, msgs_out, bytes_out;       /* since start */
    double msgs_in_s, bytes_in_s, msgs_out_s, bytes_out_s; /* over the window */
    double opened_s;   /* links opened a second, over the window */
    uint32_t window_s; /* seconds the rates cover (0: none yet) */
} links_stats_t;

void links_stats (const links_t *self, uint64_t now_ms, links_stats_t *out);

/* TCP connections this process holds established, both ways (its fds
   in /proc/self/fd, each asked TCP_INFO); -1 when /proc cannot tell. */
int links_tcp_held (void);

#endif
