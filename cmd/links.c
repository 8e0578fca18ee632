/*  links.c -- the agent's transport.  See links.h. */
#include "links.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "str.h"
#include "wire.h"

#include <czmq.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RATE_WINDOW     10 /* seconds the rates in links_stats cover */
/* A link closed to make room, or for being idle, still sends what it
   queues for this long: a link opened for a probe a moment ago may not be
   connected yet, and its probe must not be lost because gossip wanted
   other links since.  Its connection goes at the latest after this. */
#define CLOSE_LINGER_MS 1000
#define ROUTER_BUDGET   512 /* packets read per loop turn */
#define ROUTE_ID_MAX    255 /* ZeroMQ routing ids are 1 to 255 bytes */
#define LINK_ID_BYTES   8   /* random: hex, the routing id of a link of ours */
/* A job's message that finds its link's queue full waits here, in order,
   and goes as the queue drains (a job's stream ends at a missing
   message, and flow control counts bytes, not messages: a job writing
   small pieces fills send_queue well within its window).  The
   wait is bounded over all links; past it, a job message is dropped
   like any other (its stream then ends the job with the loss named). */
#define PEND_MAX_BYTES  (256u << 20)
#define PEND_RETRY_MS   2

typedef struct pend {
    struct pend *next;
    zmq_msg_t m;
    size_t len;
} pend_t;

/* A connection this agent made from its ROUTER (zmq_connect with
   ZMQ_CONNECT_ROUTING_ID): it is sent to by that routing id. */
typedef struct {
    char id[2 * LINK_ID_BYTES + 1];
    uint64_t last_used_ms;    /* either way */
    uint64_t last_job_ms;     /* 0: never carried a job message */
    pend_t *pend, *pend_tail; /* job messages waiting for room, in order */
} link_t;

/* The connection another agent's link to us is: its routing id here. */
typedef struct {
    uint8_t id[ROUTE_ID_MAX];
    uint8_t id_len;
    uint64_t last_ms; /* heard or used */
} route_t;

typedef struct {
    uint64_t at_ms, msgs_in, bytes_in, msgs_out, bytes_out, opened;
} sample_t;

struct links_t {
    links_config_t cfg;
    gl_loop_t *loop;
    zsock_t *router; /* bound on our address, and connected for our links */
    links_packet_fn *fn;
    void *arg;
    zhashx_t *links;  /* endpoint -> link_t */
    zhashx_t *by_id;  /* a link's routing id -> its endpoint (the key above) */
    zhashx_t *routes; /* endpoint -> route_t */
    /* the packet being handed to fn: which connection it came on */
    uint8_t in_id[ROUTE_ID_MAX];
    size_t in_id_len;
    link_t *in_link; /* when on a link of ours (NULL once it closed) */
    bool in_any;     /* in the callback at all */
    uint64_t next_tick_ms;
    links_stats_t st;
    size_t pend_bytes; /* job messages waiting, over all links */
    int pend_timer;    /* the loop's timer that sends them, or -1 */
    sample_t ring[RATE_WINDOW + 1];
    size_t n_samples, ring_head; /* ring_head: where the next one goes */
};

static void free_item (void **item)
{
    free (*item);
    *item = NULL;
}

static void free_packet (void *data, void *hint)
{
    (void) hint;
    free (data);
}

/* The link whose routing id is id[len], if it is one of ours. */
static link_t *link_of_id (links_t *self, const uint8_t *id, size_t len)
{
    if (len != 2 * LINK_ID_BYTES || id[0] == 0) /* ZeroMQ's own ids start with 0 */
        return NULL;
    char key[2 * LINK_ID_BYTES + 1];
    memcpy (key, id, len);
    key[len] = '\0';
    const char *endpoint = (const char *) zhashx_lookup (self->by_id, key);
    return endpoint ? (link_t *) zhashx_lookup (self->links, endpoint) : NULL;
}

/* Drop the rest of a message of several parts. */
static void drain_parts (void *sock, bool more)
{
    while (more) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        more = zmq_msg_recv (&m, sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more (&m);
        zmq_msg_close (&m);
    }
}

/* Every packet: a routing id (the connection: a link of ours, or another
   agent's link to us), then the packet. */
static void on_router (gl_loop_t *loop, zsock_t *sock, void *arg)
{
    links_t *self = (links_t *) arg;
    void *s = zsock_resolve (sock);
    uint64_t now = gl_mono_ms ();
    for (int i = 0; i < ROUTER_BUDGET; i++) {
        zmq_msg_t id, m;
        zmq_msg_init (&id);
        if (zmq_msg_recv (&id, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&id);
            return;
        }
        size_t id_len = zmq_msg_size (&id);
        zmq_msg_init (&m);
        if (zmq_msg_more (&id) && zmq_msg_recv (&m, s, ZMQ_DONTWAIT) >= 0) {
            bool more = zmq_msg_more (&m);
            if (id_len >= 1 && id_len <= ROUTE_ID_MAX) {
                size_t len = zmq_msg_size (&m);
                self->in_id_len = id_len;
                memcpy (self->in_id, zmq_msg_data (&id), id_len);
                self->in_link = link_of_id (self, self->in_id, id_len);
                self->in_any = true;
                self->st.msgs_in++;
                self->st.bytes_in += len;
                self->fn (self->arg, more ? NULL : (const uint8_t *) zmq_msg_data (&m),
                          more ? 0 : len, now);
                self->in_any = false;
                self->in_link = NULL;
            }
            drain_parts (s, more);
        }
        zmq_msg_close (&m);
        zmq_msg_close (&id);
    }
}

links_t *links_new (const links_config_t *config, gl_loop_t *loop, const char *bind,
                    links_packet_fn *fn, void *arg, char *err, size_t errlen)
{
    links_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = *config;
    self->pend_timer = -1;
    if (!self->cfg.max_links)
        self->cfg.max_links = 1;
    self->loop = loop;
    self->fn = fn;
    self->arg = arg;
    self->links = zhashx_new ();
    self->by_id = zhashx_new ();
    self->routes = zhashx_new ();
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->links || !self->by_id || !self->routes || !self->router) {
        gl_err (err, errlen, "cannot create the transport's socket");
        links_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->links, free_item);
    zhashx_set_destructor (self->by_id, free_item);
    zhashx_set_destructor (self->routes, free_item);
    zsock_set_rcvhwm (self->router, (int) self->cfg.recv_queue);
    zsock_set_sndhwm (self->router, (int) self->cfg.send_queue);
    zsock_set_maxmsgsize (self->router, GL_PKT_MAX);
    zsock_set_sndtimeo (self->router, 0);
    /* what a link closed to make room or for being idle still sends */
    zsock_set_linger (self->router, CLOSE_LINGER_MS);
    zsock_set_immediate (self->router, 0); /* a link queues before it connects */
    zsock_set_reconnect_ivl (self->router, 100);
    zsock_set_reconnect_ivl_max (self->router, 2000);
    /* a send to a connection that has gone fails (EHOSTUNREACH) instead
       of vanishing: the packet then goes on a link of our own */
    zsock_set_router_mandatory (self->router, 1);
    /* no heartbeat: liveness is SWIM's */
    if (zsock_bind (self->router, "%s", bind) < 0) {
        gl_err (err, errlen, "node/bind: cannot bind %s: %s", bind, zmq_strerror (zmq_errno ()));
        links_destroy (&self);
        return NULL;
    }
    if (gl_loop_sock (loop, self->router, on_router, self)) {
        gl_err (err, errlen, "cannot watch the ZeroMQ socket: %s", strerror (errno));
        zsock_destroy (&self->router);
        links_destroy (&self);
        return NULL;
    }
    return self;
}

static void pend_free (links_t *self, link_t *l);

void links_destroy (links_t **self_p)
{
    links_t *self = *self_p;
    if (!self)
        return;
    if (self->links)
        for (link_t *l = (link_t *) zhashx_first (self->links); l;
             l = (link_t *) zhashx_next (self->links))
            pend_free (self, l);
    if (self->pend_timer >= 0)
        gl_loop_timer_end (self->loop, self->pend_timer);
    zhashx_destroy (&self->links);
    zhashx_destroy (&self->by_id);
    zhashx_destroy (&self->routes);
    if (self->router) {
        gl_loop_sock_end (self->loop, self->router);
        zsock_destroy (&self->router);
    }
    free (self);
    *self_p = NULL;
}

static bool held (const links_t *self, const link_t *l, uint64_t now)
{
    return l->last_job_ms && now - l->last_job_ms < self->cfg.job_hold_ms;
}

/* Links open and not held. */
static size_t count_free (const links_t *self, uint64_t now)
{
    size_t n = 0;
    for (link_t *l = (link_t *) zhashx_first (self->links); l;
         l = (link_t *) zhashx_next (self->links))
        n += !held (self, l, now);
    return n;
}

/* Close the link to endpoint: what it queues still goes for linger_ms. */
/* The messages waiting on l, dropped (its member is gone or we leave). */
static void pend_free (links_t *self, link_t *l)
{
    while (l->pend) {
        pend_t *p = l->pend;
        l->pend = p->next;
        self->pend_bytes -= p->len;
        self->st.dropped++;
        zmq_msg_close (&p->m);
        free (p);
    }
    l->pend_tail = NULL;
}

static void link_drop (links_t *self, const char *endpoint, int linger_ms)
{
    link_t *l = (link_t *) zhashx_lookup (self->links, endpoint);
    if (!l)
        return;
    if (linger_ms != CLOSE_LINGER_MS)
        zsock_set_linger (self->router, linger_ms);
    if (zmq_disconnect (zsock_resolve (self->router), endpoint))
        gl_debug ("disconnecting %s: %s", endpoint, zmq_strerror (zmq_errno ()));
    if (linger_ms != CLOSE_LINGER_MS)
        zsock_set_linger (self->router, CLOSE_LINGER_MS);
    if (self->in_link == l)
        self->in_link = NULL;
    pend_free (self, l);
    zhashx_delete (self->by_id, l->id);
    zhashx_delete (self->links, endpoint);
}

/* Room for one more: close the least recently used link not held. */
static void make_room (links_t *self, uint64_t now)
{
    while (count_free (self, now) >= self->cfg.max_links) {
        const char *victim = NULL;
        uint64_t oldest = UINT64_MAX;
        for (link_t *l = (link_t *) zhashx_first (self->links); l;
             l = (link_t *) zhashx_next (self->links))
            if (!held (self, l, now) && l->last_used_ms < oldest) {
                oldest = l->last_used_ms;
                victim = (const char *) zhashx_cursor (self->links);
            }
        if (!victim)
            return;
        char key[GL_ADDR_MAX + 1];
        gl_strlcpy (key, victim, sizeof key);
        link_drop (self, key, CLOSE_LINGER_MS);
        self->st.evicted++;
    }
}

/* A connection from our ROUTER to endpoint, known there by a random
   routing id: no other agent can pick it for its own connection to us
   (ZeroMQ would abort on a duplicate), and a new one never meets an old
   one's lingering. */
static link_t *link_open (links_t *self, const char *endpoint, uint64_t now)
{
    make_room (self, now);
    link_t *link = calloc (1, sizeof *link);
    if (!link)
        return NULL;
    uint8_t raw[LINK_ID_BYTES];
    randombytes_buf (raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++) /* text: never the 0 ZeroMQ's own ids start with */
        snprintf (link->id + 2 * i, 3, "%02x", raw[i]);
    link->last_used_ms = now;
    void *s = zsock_resolve (self->router);
    if (zmq_setsockopt (s, ZMQ_CONNECT_ROUTING_ID, link->id, strlen (link->id)) ||
        zmq_connect (s, endpoint)) {
        gl_warning ("cannot connect to %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        free (link);
        return NULL;
    }
    char *key = strdup (endpoint);
    if (!key || zhashx_insert (self->links, endpoint, link)) {
        zmq_disconnect (s, endpoint);
        free (key);
        free (link);
        return NULL;
    }
    zhashx_insert (self->by_id, link->id, key);
    self->st.opened++;
    return link;
}

/* Send m on the connection with routing id id[len].  0; -1 when its queue
   is full (m is dropped); -2 when the connection has gone (m is still the
   caller's). */
static int conn_send (links_t *self, const void *id, size_t len, zmq_msg_t *m)
{
    void *s = zsock_resolve (self->router);
    gl_loop_sock_used (self->loop, self->router); /* libzmq may take in news: look again */
    if (zmq_send (s, id, len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return zmq_errno () == EHOSTUNREACH ? -2 : -1;
    /* the routing id went, so the peer's pipe had room: this cannot block */
    if (zmq_msg_send (m, s, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

static void count_out (links_t *self, size_t len)
{
    self->st.msgs_out++;
    self->st.bytes_out += len;
}

/* Send what waits on l while its queue takes it: true when none is left. */
static bool pend_flush (links_t *self, link_t *l)
{
    while (l->pend) {
        pend_t *p = l->pend;
        if (conn_send (self, l->id, strlen (l->id), &p->m))
            return false; /* full still (or gone: ZeroMQ reconnects a link of ours) */
        count_out (self, p->len);
        self->pend_bytes -= p->len;
        l->pend = p->next;
        if (!l->pend)
            l->pend_tail = NULL;
        zmq_msg_close (&p->m);
        free (p);
    }
    return true;
}

static void pend_arm (links_t *self);

static void on_pend (gl_loop_t *loop, int id, void *arg)
{
    links_t *self = (links_t *) arg;
    (void) loop, (void) id;
    self->pend_timer = -1;
    bool left = false;
    for (link_t *l = (link_t *) zhashx_first (self->links); l;
         l = (link_t *) zhashx_next (self->links))
        if (l->pend && !pend_flush (self, l))
            left = true;
    if (left)
        pend_arm (self);
}

static void pend_arm (links_t *self)
{
    if (self->pend_timer < 0)
        self->pend_timer = gl_loop_timer (self->loop, gl_mono_ms () + PEND_RETRY_MS, on_pend, self);
}

/* m (len bytes) to wait on l for room; false when the wait is full. */
static bool pend_add (links_t *self, link_t *l, zmq_msg_t *m, size_t len)
{
    pend_t *p;
    if (self->pend_bytes + len > PEND_MAX_BYTES || !(p = calloc (1, sizeof *p)))
        return false;
    zmq_msg_init (&p->m);
    zmq_msg_move (&p->m, m);
    p->len = len;
    if (l->pend_tail)
        l->pend_tail->next = p;
    else
        l->pend = p;
    l->pend_tail = p;
    self->pend_bytes += len;
    self->st.queued++;
    pend_arm (self);
    return true;
}

int links_send (links_t *self, const char *addr, uint8_t *pkt, size_t len, bool job, uint64_t now)
{
    zmq_msg_t m;
    if (zmq_msg_init_data (&m, pkt, len, free_packet, NULL)) {
        free (pkt);
        self->st.dropped++;
        return -1;
    }
    link_t *link = (link_t *) zhashx_lookup (self->links, addr);
    route_t *r = link || job ? NULL : (route_t *) zhashx_lookup (self->routes, addr);
    if (r && now - r->last_ms < self->cfg.idle_ms / 2) {
        int rc = conn_send (self, r->id, r->id_len, &m);
        if (rc == 0) {
            r->last_ms = now;
            self->st.routed++;
            count_out (self, len);
            return 0;
        }
        if (rc == -1) {
            zmq_msg_close (&m); /* frees pkt */
            self->st.dropped++;
            return -1;
        }
        zhashx_delete (self->routes, addr); /* gone: a link of our own */
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!link && !(link = link_open (self, addr, now)))
            break;
        link->last_used_ms = now;
        if (job)
            link->last_job_ms = now;
        /* nothing overtakes a message waiting: packets are numbered as
           they are sealed, and one that arrived more than the seal's
           replay window (1024) behind a later one would be refused */
        int rc = link->pend && !pend_flush (self, link)
                     ? -1
                     : conn_send (self, link->id, strlen (link->id), &m);
        if (rc == 0) {
            count_out (self, len);
            return 0;
        }
        if (rc == -1 && (job || link->pend) && pend_add (self, link, &m, len))
            return 0;
        if (rc == -1)
            break;
        /* our own connection gone (ZeroMQ keeps it while it reconnects,
           so this is not expected): once more on a new one */
        char key[GL_ADDR_MAX + 1];
        gl_strlcpy (key, addr, sizeof key);
        link_drop (self, key, 0);
        link = NULL;
    }
    zmq_msg_close (&m);
    self->st.dropped++;
    return -1;
}

void links_from (links_t *self, const char *addr, bool job, uint64_t now)
{
    if (!self->in_any)
        return;
    if (self->in_link)
        self->in_link->last_used_ms = now;
    else if (addr[0] && self->in_id[0] == 0) { /* ZeroMQ's id of another agent's link */
        route_t *r = (route_t *) zhashx_lookup (self->routes, addr);
        if (!r) {
            if (!(r = calloc (1, sizeof *r)))
                return;
            zhashx_insert (self->routes, addr, r);
        }
        memcpy (r->id, self->in_id, self->in_id_len);
        r->id_len = (uint8_t) self->in_id_len;
        r->last_ms = now;
    }
    if (job && addr[0]) {
        link_t *link = (link_t *) zhashx_lookup (self->links, addr);
        if (link)
            link->last_job_ms = now;
    }
}

void links_close (links_t *self, const char *addr)
{
    zhashx_delete (self->routes, addr);
    if (zhashx_lookup (self->links, addr)) {
        char key[GL_ADDR_MAX + 1];
        gl_strlcpy (key, addr, sizeof key);
        link_drop (self, key, 0);
        self->st.closed++;
    }
}

static void sample (links_t *self, uint64_t now)
{
    sample_t *s = &self->ring[self->ring_head];
    *s = (sample_t){ now,
                     self->st.msgs_in,
                     self->st.bytes_in,
                     self->st.msgs_out,
                     self->st.bytes_out,
                     self->st.opened };
    self->ring_head = (self->ring_head + 1) % (RATE_WINDOW + 1);
    if (self->n_samples < RATE_WINDOW + 1)
        self->n_samples++;
}

/* The keys of the entries of h that stale() says must go; NULL: none. */
static zlist_t *stale_keys (zhashx_t *h, bool (*stale) (const links_t *, const void *, uint64_t),
                            const links_t *self, uint64_t now)
{
    zlist_t *keys = NULL;
    for (void *item = zhashx_first (h); item; item = zhashx_next (h))
        if (stale (self, item, now)) {
            if (!keys && !(keys = zlist_new ()))
                return NULL;
            zlist_autofree (keys);
            zlist_append (keys, (void *) zhashx_cursor (h));
        }
    return keys;
}

static bool link_stale (const links_t *self, const void *item, uint64_t now)
{
    const link_t *l = (const link_t *) item;
    return !held (self, l, now) && now - l->last_used_ms >= self->cfg.idle_ms;
}

static bool route_stale (const links_t *self, const void *item, uint64_t now)
{
    return now - ((const route_t *) item)->last_ms >= self->cfg.idle_ms;
}

void links_tick (links_t *self, uint64_t now)
{
    if (now < self->next_tick_ms)
        return;
    self->next_tick_ms = now + 1000;
    sample (self, now);
    zlist_t *stale = stale_keys (self->links, link_stale, self, now);
    for (char *key = stale ? (char *) zlist_first (stale) : NULL; key;
         key = (char *) zlist_next (stale)) {
        link_drop (self, key, CLOSE_LINGER_MS);
        self->st.expired++;
    }
    zlist_destroy (&stale);
    stale = stale_keys (self->routes, route_stale, self, now);
    for (char *key = stale ? (char *) zlist_first (stale) : NULL; key;
         key = (char *) zlist_next (stale))
        zhashx_delete (self->routes, key);
    zlist_destroy (&stale);
}

void links_linger (links_t *self, uint32_t ms)
{
    zsock_set_linger (self->router, (int) ms);
}

void links_stats (const links_t *self, uint64_t now, links_stats_t *out)
{
    *out = self->st;
    out->max = self->cfg.max_links;
    out->open = (uint32_t) zhashx_size (self->links);
    out->held = 0;
    for (link_t *l = (link_t *) zhashx_first (self->links); l;
         l = (link_t *) zhashx_next (self->links))
        out->held += held (self, l, now);
    out->routes = 0;
    for (route_t *r = (route_t *) zhashx_first (self->routes); r;
         r = (route_t *) zhashx_next (self->routes))
        out->routes += now - r->last_ms < self->cfg.idle_ms / 2;
    out->msgs_in_s = out->bytes_in_s = out->msgs_out_s = out->bytes_out_s = out->opened_s = 0;
    out->window_s = 0;
    if (self->n_samples < 2)
        return;
    /* the newest sample against the oldest the ring still has */
    const sample_t *last = &self->ring[(self->ring_head + RATE_WINDOW) % (RATE_WINDOW + 1)];
    const sample_t *first = &self->ring[self->n_samples <= RATE_WINDOW ? 0 : self->ring_head];
    double secs = (double) (last->at_ms - first->at_ms) / 1000.0;
    if (secs <= 0)
        return;
    out->msgs_in_s = (double) (last->msgs_in - first->msgs_in) / secs;
    out->bytes_in_s = (double) (last->bytes_in - first->bytes_in) / secs;
    out->msgs_out_s = (double) (last->msgs_out - first->msgs_out) / secs;
    out->bytes_out_s = (double) (last->bytes_out - first->bytes_out) / secs;
    out->opened_s = (double) (last->opened - first->opened) / secs;
    out->window_s = (uint32_t) (secs + 0.5);
}

/* ---- counting this process's TCP connections ---------------------------------- */

/* Each fd of ours that is a TCP socket, asked for its state (TCP_INFO):
   the work is this process's fds, not the machine's whole connection
   table (/proc/net/tcp, which at 256 agents on one machine is 16,000
   lines the kernel writes out for every `glpeer status`).  ZeroMQ's I/O
   thread may close an fd meanwhile, and the number be reused: the count
   is of one moment, give or take a connection. */
int links_tcp_held (void)
{
    DIR *d = opendir ("/proc/self/fd");
    if (!d)
        return -1;
    int dfd = dirfd (d), count = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        uint64_t fd;
        const char *p = e->d_name;
        if (!gl_parse_u64 (&p, &fd) || *p || fd > INT_MAX || (int) fd == dfd)
            continue;
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (getsockopt ((int) fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
            ti.tcpi_state == TCP_ESTABLISHED)
            count++;
    }
    closedir (d);
    return count;
}
