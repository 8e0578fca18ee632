/*  gang_home.c -- the gang part of the home role (see jobs.h, gangs):
    the processes of one glx -n as a gang, named cluster-wide, and the
    peers hosting it told who they are.  home.c calls in at four points
    (a RUN arrives, a process started, a job leaves, placement); the
    rest is here.  Not public: the module's interface is jobs.h. */
#include "jobs_impl.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One node that hosted the gang: every one hears the news, even once its
   processes are gone (so that it stops following the gang). */
typedef struct {
    char node[GL_NAME_MAX + 1];
    uint32_t procs; /* started there and not gone */
} home_host_t;

struct home_gang {
    char id[GL_GPID_MAX + 1];  /* cluster-wide: HOME-GENERATION-N */
    char key[GL_GPID_MAX + 1]; /* the name glx gave its processes */
    uint32_t jobs;             /* home jobs that are its processes */
    uint32_t joined, size;     /* processes that ever joined, of glx's size */
    uint64_t first_start_ms;   /* when its first process started (0: none yet) */
    uint64_t seq;              /* the version of the list we last said */
    home_host_t *hosts;
    size_t n_hosts;
    bool dirty; /* the list changed: say it now */
    uint64_t next_send_ms;
    struct home_gang *next;
};

home_gang_t *gang_home_join (jobs_t *self, gl_job_t *run)
{
    if (!run->gang[0])
        return NULL;
    home_gang_t *g = self->home_gangs;
    while (g && !gl_streq (g->key, run->gang))
        g = g->next;
    if (!g && (g = calloc (1, sizeof *g))) {
        /* named as a GPID is: unique in the cluster, from the same counter */
        snprintf (g->id, sizeof g->id, "%s-%llu-%llu", self->name,
                  (unsigned long long) self->generation, (unsigned long long) ++self->counter);
        gl_strlcpy (g->key, run->gang, sizeof g->key);
        g->next = self->home_gangs;
        self->home_gangs = g;
    }
    if (!g) {
        run->gang[0] = '\0'; /* out of memory: it runs as any job */
        return NULL;
    }
    g->jobs++;
    g->joined++;
    g->size = run->size;
    gl_strlcpy (run->gang, g->id, sizeof run->gang);
    return g;
}

static home_host_t *host_of (home_gang_t *g, const char *node, bool add)
{
    for (size_t i = 0; i < g->n_hosts; i++)
        if (gl_streq (g->hosts[i].node, node))
            return &g->hosts[i];
    if (!add)
        return NULL;
    home_host_t *grown = realloc (g->hosts, (g->n_hosts + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    g->hosts = grown;
    home_host_t *h = &g->hosts[g->n_hosts++];
    memset (h, 0, sizeof *h);
    gl_strlcpy (h->node, node, sizeof h->node);
    return h;
}

void gang_home_started (jobs_t *self, home_gang_t *g, const char *node, uint64_t now)
{
    (void) self;
    home_host_t *h = g ? host_of (g, node, true) : NULL;
    if (h) {
        h->procs++;
        g->dirty = true;
        if (!g->first_start_ms)
            g->first_start_ms = now ? now : 1;
    }
}

/* May the first list be said?  Once every process glx asked for started
   (or gave up), or JOBS_GANG_GATHER_MS after the first started: a list
   said at each start would have each early peer lead a gang of one, all
   in term 1, until the lists converge. */
static bool all_started (const home_gang_t *g)
{
    if (g->seq || !g->jobs)
        return true;
    uint32_t started = 0;
    for (size_t i = 0; i < g->n_hosts; i++)
        started += g->hosts[i].procs;
    return g->joined >= g->size && started >= g->jobs;
}

static bool gathered (const home_gang_t *g, uint64_t now)
{
    return all_started (g) || now >= g->first_start_ms + JOBS_GANG_GATHER_MS;
}

void gang_home_left (jobs_t *self, home_gang_t *g, const char *node)
{
    (void) self;
    if (!g)
        return;
    home_host_t *h = node && node[0] ? host_of (g, node, false) : NULL;
    if (h && h->procs) {
        h->procs--;
        g->dirty = true;
    }
    if (g->jobs)
        g->jobs--;
    if (!g->jobs)
        g->dirty = true; /* the tick says it ended, and lets it go */
}

void gang_home_scale (jobs_t *self, const home_gang_t *g, const char *pin, place_cand_t *cands,
                      size_t n)
{
    /* A gang's process takes a core in one row of `depth`: a node holds
       depth times its cores of gang processes, but of one gang no more
       than its cores, which run in the gang's one row at once (more
       would share a core within the gang, which no switching helps).
       Placement sees cores less its guests and promises as free: show it
       a node's cores as its guests plus the cores this gang has left
       there, at most depth times its cores.  A node named with glx -w
       may take more of one gang: the user asked for it. */
    uint32_t depth = self->gang_depth ? self->gang_depth : 1;
    for (size_t i = 0; g && cands && i < n; i++) {
        gl_res_t *r = &cands[i].res;
        uint32_t mine = 0;
        for (size_t k = 0; k < g->n_hosts; k++)
            if (gl_streq (g->hosts[k].node, cands[i].name))
                mine = g->hosts[k].procs;
        uint64_t rows = (uint64_t) r->cores * depth;
        uint64_t left = r->guests + (r->cores > mine ? r->cores - mine : 0);
        r->cores = (uint32_t) (left < rows && !(pin && pin[0]) ? left : rows);
    }
}

/* Tell every node that hosted g who hosts it now: each node with its
   number of processes there, none once the gang has ended. */
static void say (jobs_t *self, home_gang_t *g, bool ended)
{
    gl_gang_peer_t *peers = calloc (g->n_hosts ? g->n_hosts : 1, sizeof *peers);
    if (!peers)
        return;
    uint32_t n = 0;
    for (size_t i = 0; i < g->n_hosts && !ended; i++)
        if (g->hosts[i].procs) {
            gl_strlcpy (peers[n].node, g->hosts[i].node, sizeof peers[n].node);
            peers[n++].procs = g->hosts[i].procs;
        }
    for (size_t i = 0; i < g->n_hosts; i++) {
        gl_gang_t *m = calloc (1, sizeof *m);
        gl_gang_peer_t *copy = n ? malloc (n * sizeof *copy) : NULL;
        if (!m || (n && !copy)) {
            free (m);
            free (copy);
            continue;
        }
        m->type = GL_GANG_MEMBERS;
        gl_strlcpy (m->gang, g->id, sizeof m->gang);
        m->seq = g->seq;
        if (n)
            memcpy (copy, peers, n * sizeof *copy);
        m->peers = copy;
        m->n_peers = n;
        jobs_gang_to_node (self, g->hosts[i].node, m);
    }
    free (peers);
}

static void gang_free (home_gang_t *g)
{
    free (g->hosts);
    free (g);
}

/* Say changed lists at once, unchanged ones again now and then (a word
   can be lost), and that a gang ended once its last process is gone. */
void gang_home_tick (jobs_t *self, uint64_t now)
{
    for (home_gang_t **p = &self->home_gangs; *p;) {
        home_gang_t *g = *p;
        if (!g->jobs) {
            g->seq++;
            say (self, g, true);
            *p = g->next;
            gang_free (g);
            continue;
        }
        if (g->n_hosts && (g->dirty || now >= g->next_send_ms) && gathered (g, now)) {
            g->seq += g->dirty;
            say (self, g, false);
            g->dirty = false;
            g->next_send_ms = now + JOBS_GANG_RESEND_MS;
        }
        p = &g->next;
    }
}

uint64_t gang_home_deadline (jobs_t *self, uint64_t next)
{
    for (home_gang_t *g = self->home_gangs; g; g = g->next) {
        if (!g->n_hosts && g->jobs)
            continue; /* none of its processes started yet: nobody to tell */
        uint64_t at = !g->jobs           ? 0
                      : !all_started (g) ? g->first_start_ms + JOBS_GANG_GATHER_MS
                      : g->dirty         ? 0
                                         : g->next_send_ms;
        if (at < next)
            next = at;
    }
    return next;
}

void gang_home_free_all (jobs_t *self)
{
    while (self->home_gangs) {
        home_gang_t *g = self->home_gangs;
        self->home_gangs = g->next;
        gang_free (g);
    }
}
