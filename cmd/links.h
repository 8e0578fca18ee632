/*  links.h -- the agent's outgoing connections: a few, reused, closed when idle.

    Every packet to another agent goes out on a ZeroMQ PUSH socket
    connected to that agent's address (its PULL socket).  A connection per
    member, held for minutes with a heartbeat on each, makes an idle agent
    cost more the larger the cluster: at 64 members it held 127 TCP
    connections and sent 250 packets a second, most of them heartbeats.
    Liveness is SWIM's business (its probes and acks), so a link carries
    no heartbeat of its own, and the agent keeps only the links it uses:

      - at most max_links of them (cluster.conf transport/max_links); a
        send to a destination without a link, when that many are open,
        first closes the least recently used one;
      - a link unused for link_idle is closed;
      - a link to a member declared dead or gone is closed at once
        (links_close);
      - a link that carried a job message either way within job_hold is
        held: never closed by the two rules above, and not counted in
        max_links.  A job's stream (sched/jobs.h) numbers its messages and
        ends the job when one is missing or out of order, and a new
        connection could overtake what the old one still had queued: so
        a live job's link stays up for the job's life (its home pings its
        host every JOBS_PING_MS, well within job_hold).

    Each link queues at most send_queue messages (ZMQ_SNDHWM) while its
    connection is being set up, or while the destination is down or slow;
    further sends to it are dropped and counted, as datagrams would be:
    SWIM retries what matters, and a job's flow control (4 MiB of a
    stream unacknowledged at most) keeps a live job far below it.  A link
    closed to make room or for being idle still sends what it queues for
    a second (its connection may not be up yet: a probe must not be lost
    to the gossip that followed it); a link to a dead member drops it at
    once; when the agent leaves, every link has LEAVE_FLUSH_MS.  Connecting does not wait (ZMQ_IMMEDIATE off):
    the first packet waits in the queue for the connection it starts.

    Incoming connections are the other agents' links to this one: every
    agent closes its own the same way, so an agent holds, on average, as
    many incoming connections as outgoing ones.

    The module also keeps the agent's traffic counters and their rate over
    the last RATE_WINDOW seconds (what `glpeer status` shows).           */
#ifndef GL_LINKS_H
#define GL_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t max_links;   /* open links at most, held ones aside */
    uint32_t idle_ms;     /* close a link unused this long */
    uint32_t send_queue;  /* messages queued per link (ZMQ_SNDHWM) */
    uint32_t job_hold_ms; /* a link with job traffic this recent is held */
} links_config_t;

typedef struct links_t links_t;

links_t *links_new (const links_config_t *config);
void links_destroy (links_t **self_p);

/* Hand the sealed packet pkt (malloc'ed, len bytes) to the link to addr,
   opening one when there is none.  The links take pkt either way (ZeroMQ
   frees it once sent).  job: a job message, which holds the link.
   0, or -1 when it was dropped (queue full, cannot connect). */
int links_send (links_t *self, const char *addr, uint8_t *pkt, size_t len, bool job,
                uint64_t now_ms);

/* A packet of len bytes came in: counted. */
void links_heard (links_t *self, size_t len);

/* A job message came in from the member at addr: hold the link back. */
void links_hold (links_t *self, const char *addr, uint64_t now_ms);

/* The member at addr is dead or gone: close its link, if any. */
void links_close (links_t *self, const char *addr);

/* Close links idle for idle_ms (not held), and take the rate sample;
   cheap to call on every loop turn (it works once a second). */
void links_tick (links_t *self, uint64_t now_ms);

/* Let every open link send what it queues for up to ms when it closes
   (the agent is leaving). */
void links_linger (links_t *self, uint32_t ms);

typedef struct {
    uint32_t open;    /* links open now */
    uint32_t held;    /* of which held for a job */
    uint32_t max;     /* max_links */
    uint64_t opened;  /* links opened since start */
    uint64_t evicted; /* closed to make room for another */
    uint64_t expired; /* closed idle */
    uint64_t closed;  /* closed because their member is dead or gone */
    uint64_t dropped; /* packets dropped at sending */
    uint64_t msgs_in, bytes_in, msgs_out, bytes_out;       /* since start */
    double msgs_in_s, bytes_in_s, msgs_out_s, bytes_out_s; /* over the window */
    uint32_t window_s; /* seconds the rates cover (0: none yet) */
} links_stats_t;

void links_stats (const links_t *self, uint64_t now_ms, links_stats_t *out);

/* TCP connections this process holds established, both ways (from
   /proc/self: its socket fds against /proc/net/tcp and tcp6); -1 when
   /proc cannot tell. */
int links_tcp_held (void);

#endif
