/*  links.c -- the agent's outgoing connections.  See links.h. */
#include "links.h"
#include "log.h"

#include <czmq.h>
#include <dirent.h>
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

typedef struct {
    zsock_t *sock;
    uint64_t last_used_ms;
    uint64_t last_job_ms; /* 0: never carried a job message */
} link_t;

typedef struct {
    uint64_t at_ms, msgs_in, bytes_in, msgs_out, bytes_out;
} sample_t;

struct links_t {
    links_config_t cfg;
    zhashx_t *links; /* endpoint -> link_t */
    uint64_t next_tick_ms;
    links_stats_t st;
    sample_t ring[RATE_WINDOW + 1];
    size_t n_samples, ring_head; /* ring_head: where the next one goes */
};

static void link_free (void **item)
{
    link_t *link = (link_t *) *item;
    if (link) {
        zsock_destroy (&link->sock);
        free (link);
        *item = NULL;
    }
}

links_t *links_new (const links_config_t *config)
{
    links_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    if (!self->cfg.max_links)
        self->cfg.max_links = 1;
    self->links = zhashx_new ();
    if (!self->links) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->links, link_free);
    return self;
}

void links_destroy (links_t **self_p)
{
    links_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->links);
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
        zsock_set_linger (((link_t *) zhashx_lookup (self->links, victim))->sock, CLOSE_LINGER_MS);
        zhashx_delete (self->links, victim);
        self->st.evicted++;
    }
}

static link_t *link_open (links_t *self, const char *endpoint, uint64_t now)
{
    make_room (self, now);
    zsock_t *sock = zsock_new (ZMQ_PUSH);
    if (!sock)
        return NULL;
    zsock_set_sndhwm (sock, (int) self->cfg.send_queue);
    zsock_set_linger (sock, 0);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_immediate (sock, 0);
    zsock_set_reconnect_ivl (sock, 100);
    zsock_set_reconnect_ivl_max (sock, 2000);
    if (zsock_connect (sock, "%s", endpoint)) {
        gl_warning ("cannot connect to %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    link_t *link = calloc (1, sizeof *link);
    if (!link) {
        zsock_destroy (&sock);
        return NULL;
    }
    link->sock = sock;
    zhashx_insert (self->links, endpoint, link);
    self->st.opened++;
    return link;
}

static void free_packet (void *data, void *hint)
{
    (void) hint;
    free (data);
}

int links_send (links_t *self, const char *addr, uint8_t *pkt, size_t len, bool job, uint64_t now)
{
    link_t *link = (link_t *) zhashx_lookup (self->links, addr);
    if (!link)
        link = link_open (self, addr, now);
    zmq_msg_t m;
    if (!link || zmq_msg_init_data (&m, pkt, len, free_packet, NULL)) {
        free (pkt);
        self->st.dropped++;
        return -1;
    }
    link->last_used_ms = now;
    if (job)
        link->last_job_ms = now;
    if (zmq_msg_send (&m, zsock_resolve (link->sock), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&m); /* frees pkt */
        self->st.dropped++;
        return -1;
    }
    self->st.msgs_out++;
    self->st.bytes_out += len;
    return 0;
}

void links_heard (links_t *self, size_t len)
{
    self->st.msgs_in++;
    self->st.bytes_in += len;
}

void links_hold (links_t *self, const char *addr, uint64_t now)
{
    link_t *link = (link_t *) zhashx_lookup (self->links, addr);
    if (link)
        link->last_job_ms = now;
}

void links_close (links_t *self, const char *addr)
{
    if (zhashx_lookup (self->links, addr)) {
        zhashx_delete (self->links, addr);
        self->st.closed++;
    }
}

static void sample (links_t *self, uint64_t now)
{
    sample_t *s = &self->ring[self->ring_head];
    *s = (sample_t){ now, self->st.msgs_in, self->st.bytes_in, self->st.msgs_out,
                     self->st.bytes_out };
    self->ring_head = (self->ring_head + 1) % (RATE_WINDOW + 1);
    if (self->n_samples < RATE_WINDOW + 1)
        self->n_samples++;
}

void links_tick (links_t *self, uint64_t now)
{
    if (now < self->next_tick_ms)
        return;
    self->next_tick_ms = now + 1000;
    sample (self, now);
    zlist_t *stale = NULL;
    for (link_t *l = (link_t *) zhashx_first (self->links); l;
         l = (link_t *) zhashx_next (self->links))
        if (!held (self, l, now) && now - l->last_used_ms >= self->cfg.idle_ms) {
            if (!stale && !(stale = zlist_new ()))
                return;
            zlist_append (stale, (void *) zhashx_cursor (self->links));
        }
    if (!stale)
        return;
    for (char *key = (char *) zlist_first (stale); key; key = (char *) zlist_next (stale)) {
        zsock_set_linger (((link_t *) zhashx_lookup (self->links, key))->sock, CLOSE_LINGER_MS);
        zhashx_delete (self->links, key);
        self->st.expired++;
    }
    zlist_destroy (&stale);
}

void links_linger (links_t *self, uint32_t ms)
{
    for (link_t *l = (link_t *) zhashx_first (self->links); l;
         l = (link_t *) zhashx_next (self->links))
        zsock_set_linger (l->sock, (int) ms);
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
    out->msgs_in_s = out->bytes_in_s = out->msgs_out_s = out->bytes_out_s = 0;
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
    out->window_s = (uint32_t) (secs + 0.5);
}

/* ---- counting this process's TCP connections ---------------------------------- */

static int cmp_ul (const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *) a, y = *(const unsigned long *) b;
    return x < y ? -1 : x > y;
}

/* Established connections in one of /proc/net/tcp{,6} whose inode is ours. */
static int count_established (const char *path, const unsigned long *inodes, size_t n)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    char line[512];
    int count = 0;
    if (!fgets (line, sizeof line, f)) { /* the heading */
        fclose (f);
        return 0;
    }
    while (fgets (line, sizeof line, f)) {
        unsigned st;
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf (line, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &inode) != 2)
            continue;
        if (st == 1 && bsearch (&inode, inodes, n, sizeof *inodes, cmp_ul))
            count++;
    }
    fclose (f);
    return count;
}

int links_tcp_held (void)
{
    DIR *d = opendir ("/proc/self/fd");
    if (!d)
        return -1;
    size_t n = 0, cap = 64;
    unsigned long *inodes = malloc (cap * sizeof *inodes);
    struct dirent *e;
    while (inodes && (e = readdir (d))) {
        char path[320], target[64];
        snprintf (path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink (path, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        unsigned long inode;
        if (sscanf (target, "socket:[%lu]", &inode) != 1)
            continue;
        if (n == cap) {
            unsigned long *more = realloc (inodes, 2 * cap * sizeof *inodes);
            if (!more)
                break;
            inodes = more;
            cap *= 2;
        }
        inodes[n++] = inode;
    }
    closedir (d);
    if (!inodes)
        return -1;
    qsort (inodes, n, sizeof *inodes, cmp_ul);
    int v4 = count_established ("/proc/self/net/tcp", inodes, n);
    int v6 = count_established ("/proc/self/net/tcp6", inodes, n);
    free (inodes);
    if (v4 < 0 && v6 < 0)
        return -1;
    return (v4 > 0 ? v4 : 0) + (v6 > 0 ? v6 : 0);
}
