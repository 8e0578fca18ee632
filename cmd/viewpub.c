/*  viewpub.c -- the agent writes its view into shared memory.  See
    viewpub.h and, for the layout and the protocol, core/view.h. */
#include "viewpub.h"
#include "clocks.h"
#include "err.h"
#include "idle.h"
#include "str.h"
#include "view.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The node table carries times as wall clock (state_wall_ms, res_wall_ms),
   computed from the monotonic ones at each rewrite: a wall clock stepped
   by this much or more since (NTP, the owner) rewrites it. */
#define VIEW_STEP_MS 1000

struct viewpub {
    gl_view_pub_t *view;
    char cluster[64];
    char node[64];
    uint64_t generation;
    jobs_hosted_t *hosted; /* room for GL_VIEW_JOBS_MAX */
    /* what the node table was written from, last time */
    bool written;
    uint64_t swim_changes, clocks_changes;
    int64_t wall_less_mono;
    bool nodes_truncated;
    uint64_t node_writes; /* times the node table was written */
};

viewpub_t *viewpub_new (const gl_conf_t *conf, uint64_t generation, char *err, size_t errlen)
{
    viewpub_t *self = calloc (1, sizeof *self);
    if (self)
        self->hosted = calloc (GL_VIEW_JOBS_MAX, sizeof *self->hosted);
    if (!self || !self->hosted) {
        if (self)
            free (self->hosted);
        free (self);
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->view = gl_view_create (conf->runtime_dir, GL_VIEW_NODES_MAX, GL_VIEW_JOBS_MAX,
                                 geteuid () == 0 /* a machine's agent serves every local user */,
                                 err, errlen);
    if (!self->view) {
        free (self->hosted);
        free (self);
        return NULL;
    }
    gl_strlcpy (self->cluster, conf->cluster, sizeof self->cluster);
    gl_strlcpy (self->node, conf->name, sizeof self->node);
    self->generation = generation;
    return self;
}

void viewpub_destroy (viewpub_t **self_p)
{
    viewpub_t *self = *self_p;
    if (!self)
        return;
    gl_view_destroy (&self->view);
    free (self->hosted);
    free (self);
    *self_p = NULL;
}

static void node_fill (clocks_t *clocks, gl_view_node_t *n, const swim_member_t *m, uint64_t now,
                       uint64_t wall)
{
    memset (n, 0, sizeof *n);
    gl_strlcpy (n->name, m->name, sizeof n->name);
    if (strlen (m->addr) < sizeof n->addr)
        gl_strlcpy (n->addr, m->addr, sizeof n->addr);
    n->state = m->state;
    n->is_self = m->is_self;
    n->generation = m->generation;
    n->incarnation = m->incarnation;
    n->state_wall_ms = wall - (now - m->state_since_ms);
    clocks_est_t e;
    if (!m->is_self && clocks && clocks_get (clocks, m->name, &e))
        n->clock_ms = clocks_ms (e.offset_us);
    if (!m->has_res)
        return;
    n->has_res = 1;
    n->res_state = m->res.state;
    n->cores = m->res.cores;
    n->load1_milli = m->res.load1_milli;
    n->load_recent_milli = m->res.load_recent_milli;
    n->owner_load_milli = m->res.owner_load_milli;
    n->owner_idle_s = m->res.owner_idle_s;
    n->guests = m->res.guests;
    n->mem_total_kb = m->res.mem_total_kb;
    n->mem_avail_kb = m->res.mem_avail_kb;
    n->res_wall_ms = wall - (now - m->res_recv_ms);
}

static void count (gl_view_info_t *info, const gl_view_node_t *n)
{
    if (n->state != SWIM_ALIVE)
        return;
    info->alive++;
    info->cores += n->cores;
    info->guests += n->guests;
    if (n->has_res && n->res_state == GL_RES_IDLE) {
        info->idle++;
        info->cores_free += n->cores > n->guests ? n->cores - n->guests : 0;
        info->mem_avail_kb += n->mem_avail_kb;
    }
}

/* The members, self first, then the others as gossip lists them, and
   the totals over them. */
static void write_nodes (viewpub_t *self, gl_view_info_t *info, swim_t *swim, clocks_t *clocks,
                         uint64_t now_ms, uint64_t wall_ms)
{
    uint32_t nodes_max = gl_view_nodes_max (self->view);
    info->alive = info->idle = info->cores = info->cores_free = info->guests = 0;
    info->mem_avail_kb = 0;
    self->nodes_truncated = false;
    uint32_t k = 0;
    swim_member_t m;
    for (size_t i = 0; swim_member_at (swim, i, &m); i++)
        if (m.is_self) {
            node_fill (clocks, gl_view_node (self->view, k++), &m, now_ms, wall_ms);
            break;
        }
    for (size_t i = 0; swim_member_at (swim, i, &m); i++) {
        if (m.is_self)
            continue;
        if (k == nodes_max) {
            self->nodes_truncated = true;
            break;
        }
        node_fill (clocks, gl_view_node (self->view, k++), &m, now_ms, wall_ms);
    }
    for (uint32_t i = 0; i < k; i++)
        count (info, gl_view_node (self->view, i));
    info->n_nodes = k;
    self->node_writes++;
}

void viewpub_publish (viewpub_t *self, swim_t *swim, const jobs_t *jobs, clocks_t *clocks,
                      uint64_t now_ms, uint64_t wall_ms)
{
    size_t n_jobs = jobs ? jobs_hosted (jobs, self->hosted, GL_VIEW_JOBS_MAX) : 0;
    /* The node table is rewritten only when what it shows changed: copying
       every member each second made an idle agent's cost grow with the
       cluster.  Readers date the publication by wall_ms and mono_ms, which
       move at every publication, and every node's times are wall-clock
       instants that stay true while the clock is not stepped. */
    int64_t wall_less_mono = (int64_t) (wall_ms - now_ms);
    uint64_t members = swim_changes (swim);
    uint64_t offsets = clocks ? clocks_changes (clocks) : 0;
    int64_t step = wall_less_mono - self->wall_less_mono;
    bool nodes = !self->written || members != self->swim_changes ||
                 offsets != self->clocks_changes || step >= VIEW_STEP_MS || step <= -VIEW_STEP_MS;
    gl_view_info_t *info = gl_view_begin (self->view);
    info->publishes++;
    info->wall_ms = wall_ms;
    info->mono_ms = now_ms;
    info->generation = self->generation;
    gl_strlcpy (info->cluster, self->cluster, sizeof info->cluster);
    gl_strlcpy (info->node, self->node, sizeof info->node);
    if (nodes) {
        write_nodes (self, info, swim, clocks, now_ms, wall_ms);
        self->written = true;
        self->swim_changes = members;
        self->clocks_changes = offsets;
        self->wall_less_mono = wall_less_mono;
    }
    info->flags = self->nodes_truncated ? GL_VIEW_TRUNCATED : 0;
    if (n_jobs > gl_view_jobs_max (self->view)) {
        info->flags |= GL_VIEW_TRUNCATED;
        n_jobs = gl_view_jobs_max (self->view);
    }
    for (size_t i = 0; i < n_jobs; i++) {
        gl_view_job_t *j = gl_view_job (self->view, (uint32_t) i);
        const jobs_hosted_t *h = &self->hosted[i];
        memset (j, 0, sizeof *j);
        gl_strlcpy (j->gpid, h->gpid, sizeof j->gpid);
        gl_strlcpy (j->home, h->home, sizeof j->home);
        gl_strlcpy (j->user, h->user, sizeof j->user);
        gl_strlcpy (j->cmd, h->cmd, sizeof j->cmd);
        j->pid = h->pid;
        j->start_wall_s = h->start_wall_s;
    }
    info->n_jobs = (uint32_t) n_jobs;
    gl_view_end (self->view);
}

uint64_t viewpub_node_writes (const viewpub_t *self)
{
    return self->node_writes;
}

uint64_t viewpub_publishes (const viewpub_t *self)
{
    return gl_view_pub_info (self->view)->publishes;
}

/* The writer reads its own view without the seqlock: nobody else writes. */
void viewpub_json (viewpub_t *self, FILE *f)
{
    gl_view_info_t copy = *gl_view_pub_info (self->view);
    fprintf (f, "{\"version\":%d,\"cluster\":", GL_VIEW_VERSION);
    gl_json_str (f, copy.cluster);
    fprintf (f, ",\"node\":");
    gl_json_str (f, copy.node);
    fprintf (f,
             ",\"publishes\":%llu,\"wall_ms\":%llu,\"alive\":%u,\"idle\":%u,\"cores\":%u,"
             "\"cores_free\":%u,\"mem_avail_kb\":%llu,\"guests\":%u,\"nodes\":[",
             (unsigned long long) copy.publishes, (unsigned long long) copy.wall_ms, copy.alive,
             copy.idle, copy.cores, copy.cores_free, (unsigned long long) copy.mem_avail_kb,
             copy.guests);
    for (uint32_t i = 0; i < copy.n_nodes; i++) {
        const gl_view_node_t *n = gl_view_node (self->view, i);
        fprintf (f, "%s{\"name\":", i ? "," : "");
        gl_json_str (f, n->name);
        fprintf (f,
                 ",\"state\":\"%s\",\"self\":%s,\"resources\":\"%s\",\"cores\":%u,"
                 "\"load1\":%.3f,\"mem_avail_kb\":%llu,\"owner_idle_s\":%u,\"guests\":%u,"
                 "\"clock_ms\":%lld}",
                 swim_state_name (n->state), n->is_self ? "true" : "false",
                 n->has_res ? idle_state_name (n->res_state) : "unknown", n->cores,
                 n->load1_milli / 1000.0, (unsigned long long) n->mem_avail_kb, n->owner_idle_s,
                 n->guests, (long long) n->clock_ms);
    }
    fprintf (f, "],\"jobs\":[");
    for (uint32_t i = 0; i < copy.n_jobs; i++) {
        const gl_view_job_t *j = gl_view_job (self->view, i);
        fprintf (f, "%s{\"gpid\":", i ? "," : "");
        gl_json_str (f, j->gpid);
        fprintf (f, ",\"home\":");
        gl_json_str (f, j->home);
        fprintf (f, ",\"pid\":%d,\"cmd\":", j->pid);
        gl_json_str (f, j->cmd);
        fprintf (f, "}");
    }
    fprintf (f, "]}\n");
}
