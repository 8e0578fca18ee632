/*  glunix.c -- libglunix, the glunix C API.  See glunix.h.

    The cluster view is core/view.h read under its seqlock; requests go
    over the agent's socket (core/ctl.h), and a process is run elsewhere
    through glx, which speaks the job stream, so there is one client of
    that stream, not two. */
#include "glunix.h"
#include "conf.h"
#include "ctl.h"
#include "err.h"
#include "locate.h"
#include "str.h"
#include "view.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define API __attribute__ ((visibility ("default")))

extern char **environ;

struct glunix {
    char runtime_dir[GL_PATH_MAX];
    gl_view_t *view;
};

/* ---- who am I ---------------------------------------------------------------- */

static void env_copy (char *out, size_t len, const char *name)
{
    const char *v = getenv (name);
    gl_strlcpy (out, v ? v : "", len);
}

API int glunix_self (glunix_self_t *self)
{
    memset (self, 0, sizeof *self);
    self->size = 1;
    env_copy (self->gpid, sizeof self->gpid, "GLUNIX_GPID");
    env_copy (self->home, sizeof self->home, "GLUNIX_HOME");
    env_copy (self->node, sizeof self->node, "GLUNIX_NODE");
    env_copy (self->job, sizeof self->job, "GLUNIX_JOB");
    if (!self->job[0])
        gl_strlcpy (self->job, self->gpid, sizeof self->job);
    const char *rank = getenv ("GLUNIX_RANK"), *size = getenv ("GLUNIX_SIZE");
    uint64_t r, s;
    if (rank && size && gl_parse_u64 (&rank, &r) && !*rank && gl_parse_u64 (&size, &s) && !*size &&
        s >= 1 && r < s && s <= 1u << 20) {
        self->rank = (unsigned) r;
        self->size = (unsigned) s;
    }
    return self->gpid[0] ? 0 : -1;
}

/* ---- the view ------------------------------------------------------------------ */

API glunix_t *glunix_open (const char *runtime_dir, char *err, size_t errlen)
{
    glunix_t *g = calloc (1, sizeof *g);
    if (!g) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    if (runtime_dir && *runtime_dir)
        gl_strlcpy (g->runtime_dir, runtime_dir, sizeof g->runtime_dir);
    else
        gl_default_runtime_dir (g->runtime_dir, sizeof g->runtime_dir);
    if (!(g->view = gl_view_open (g->runtime_dir, err, errlen))) {
        free (g);
        return NULL;
    }
    return g;
}

API void glunix_close (glunix_t *g)
{
    if (!g)
        return;
    gl_view_close (&g->view);
    free (g);
}

/* Ages are in milliseconds of a view published every second: the
   coarse clock (the last tick, a few ms behind) serves, at a fraction of
   the precise one's cost, which would otherwise be most of a query's. */
static uint64_t mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC_COARSE, &ts); /* the vDSO: no system call */
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* A consistent read; a view its agent closed (it stopped, or restarted
   with a new one) is left for the new one, if there is one. */
static int view_read (glunix_t *g, gl_view_info_t *info, gl_view_node_t *nodes, size_t n_max,
                      gl_view_job_t *jobs, size_t j_max, char *err, size_t errlen)
{
    const char *why = NULL;
    if (gl_view_read (g->view, info, nodes, n_max, jobs, j_max, &why))
        return gl_err (err, errlen, "%s: %s", g->runtime_dir, why);
    if (!(info->flags & GL_VIEW_CLOSED))
        return 0;
    gl_view_t *fresh = gl_view_open (g->runtime_dir, err, errlen);
    if (!fresh)
        return -1;
    gl_view_close (&g->view);
    g->view = fresh;
    if (gl_view_read (g->view, info, nodes, n_max, jobs, j_max, &why))
        return gl_err (err, errlen, "%s: %s", g->runtime_dir, why);
    return 0;
}

API int glunix_cluster (glunix_t *g, glunix_cluster_t *out, char *err, size_t errlen)
{
    gl_view_info_t info;
    if (view_read (g, &info, NULL, 0, NULL, 0, err, errlen))
        return -1;
    gl_strlcpy (out->cluster, info.cluster, sizeof out->cluster);
    gl_strlcpy (out->node, info.node, sizeof out->node);
    out->members = info.n_nodes;
    out->alive = info.alive;
    out->idle = info.idle;
    out->cores = info.cores;
    out->cores_free = info.cores_free;
    out->guests = info.guests;
    out->mem_avail_kb = info.mem_avail_kb;
    uint64_t now = mono_ms ();
    out->age_ms = now > info.mono_ms ? now - info.mono_ms : 0;
    return 0;
}

static void node_out (glunix_node_t *o, const gl_view_node_t *n, uint64_t wall_ms)
{
    memset (o, 0, sizeof *o);
    gl_strlcpy (o->name, n->name, sizeof o->name);
    o->state = n->state;
    o->self = n->is_self;
    o->idle = n->has_res ? n->res_state : GLUNIX_UNKNOWN;
    o->cores = n->cores;
    o->guests = n->guests;
    o->load = n->load1_milli / 1000.0;
    o->owner_load = n->owner_load_milli / 1000.0;
    o->owner_idle_s = n->owner_idle_s;
    o->mem_total_kb = n->mem_total_kb;
    o->mem_avail_kb = n->mem_avail_kb;
    o->clock_offset_ms = n->clock_ms;
    o->age_ms = n->has_res && wall_ms > n->res_wall_ms ? wall_ms - n->res_wall_ms : 0;
}

/* The agent's wall clock now: its last publication's, moved on by the
   monotonic clock, so that ages do not jump with ours. */
static uint64_t agent_wall (const gl_view_info_t *info)
{
    uint64_t now = mono_ms ();
    return info->wall_ms + (now > info->mono_ms ? now - info->mono_ms : 0);
}

API int glunix_nodes (glunix_t *g, glunix_node_t *out, size_t max, char *err, size_t errlen)
{
    gl_view_info_t info;
    gl_view_node_t stack[64];
    gl_view_node_t *nodes = max <= 64 ? stack : malloc (max * sizeof *nodes);
    if (!nodes)
        return gl_err (err, errlen, "out of memory");
    int rc = view_read (g, &info, nodes, max, NULL, 0, err, errlen);
    if (rc == 0) {
        uint64_t wall = agent_wall (&info);
        for (size_t i = 0; i < max && i < info.n_nodes; i++)
            node_out (&out[i], &nodes[i], wall);
        rc = (int) info.n_nodes;
    }
    if (nodes != stack)
        free (nodes);
    return rc;
}

API int glunix_node (glunix_t *g, const char *name, glunix_node_t *out, char *err, size_t errlen)
{
    gl_view_info_t info;
    if (view_read (g, &info, NULL, 0, NULL, 0, err, errlen))
        return -1;
    gl_view_node_t n;
    const char *why = NULL;
    int rc = gl_view_read_node (g->view, name, &n, &why);
    if (rc < 0)
        return gl_err (err, errlen, "%s: %s", g->runtime_dir, why);
    if (rc == 0)
        node_out (out, &n, agent_wall (&info));
    return rc;
}

API int glunix_jobs (glunix_t *g, glunix_job_t *out, size_t max, char *err, size_t errlen)
{
    gl_view_info_t info;
    gl_view_job_t *jobs = max ? malloc (max * sizeof *jobs) : NULL;
    if (max && !jobs)
        return gl_err (err, errlen, "out of memory");
    int rc = view_read (g, &info, NULL, 0, jobs, max, err, errlen);
    if (rc == 0) {
        for (size_t i = 0; i < max && i < info.n_jobs; i++) {
            glunix_job_t *o = &out[i];
            memset (o, 0, sizeof *o);
            gl_strlcpy (o->gpid, jobs[i].gpid, sizeof o->gpid);
            gl_strlcpy (o->home, jobs[i].home, sizeof o->home);
            gl_strlcpy (o->user, jobs[i].user, sizeof o->user);
            gl_strlcpy (o->cmd, jobs[i].cmd, sizeof o->cmd);
            o->pid = jobs[i].pid;
            o->start_s = jobs[i].start_wall_s;
        }
        rc = (int) info.n_jobs;
    }
    free (jobs);
    return rc;
}

/* ---- requests ------------------------------------------------------------------- */

API int glunix_spawn (glunix_t *g, const char *node, char *const argv[], pid_t *pid, char *err,
                      size_t errlen)
{
    if (!argv || !argv[0] || !argv[0][0])
        return gl_err (err, errlen, "no program to run");
    if (node && !gl_name_valid (node))
        return gl_err (err, errlen, "'%s' is not a node name", node);
    char glx[GL_PATH_MAX];
    if (shim_locate ("glx", glx, sizeof glx))
        return gl_err (err, errlen, "cannot find glx (not at %s)", glx);
    size_t n = 0;
    while (argv[n])
        n++;
    char **args = calloc (n + 8, sizeof *args);
    if (!args)
        return gl_err (err, errlen, "out of memory");
    size_t k = 0;
    args[k++] = (char *) "glx";
    args[k++] = (char *) "--relay";
    args[k++] = (char *) "--runtime-dir";
    args[k++] = g->runtime_dir;
    if (node) {
        args[k++] = (char *) "-w";
        args[k++] = (char *) node;
    }
    args[k++] = (char *) "--";
    memcpy (args + k, argv, (n + 1) * sizeof *args);
    int rc = posix_spawn (pid, glx, NULL, NULL, args, environ);
    free (args);
    if (rc)
        return gl_err (err, errlen, "cannot start %s: %s", glx, strerror (rc));
    return 0;
}

API int glunix_run (glunix_t *g, const char *node, char *const argv[], int *status, char *err,
                    size_t errlen)
{
    pid_t pid;
    if (glunix_spawn (g, node, argv, &pid, err, errlen))
        return -1;
    while (waitpid (pid, status, 0) < 0)
        if (errno != EINTR)
            return gl_err (err, errlen, "waiting for glx: %s", strerror (errno));
    return 0;
}

/* One request on the agent's socket, for this process's job. */
static int request (glunix_t *g, const char *cmd, const char *arg, char *err, size_t errlen)
{
    const char *gpid = getenv ("GLUNIX_GPID");
    if (!gpid || !gl_gpid_valid (gpid))
        return gl_err (err, errlen, "%s: this process was not started by glunix (no GLUNIX_GPID)",
                       cmd);
    char sock[GL_PATH_MAX + 16];
    snprintf (sock, sizeof sock, "%s/glpeer.sock", g->runtime_dir);
    gl_ctl_req_t req = { .argc = 1 };
    gl_strlcpy (req.cmd, cmd, sizeof req.cmd);
    req.argv[0] = (char *) gpid;
    if (arg)
        req.argv[req.argc++] = (char *) arg;
    gl_ctl_resp_t resp = { 0 };
    if (ctl_call (sock, &req, &resp, 5000, err, errlen))
        return -1;
    int rc = 0;
    if (resp.code) {
        size_t len = resp.text ? strcspn (resp.text, "\n") : 0;
        gl_err (err, errlen, "%.*s", (int) len, resp.text ? resp.text : cmd);
        errno = resp.code == 3 ? ENOTSUP : EIO;
        rc = -1;
    }
    gl_ctl_resp_clear (&resp);
    return rc;
}

API int glunix_checkpoint (glunix_t *g, char *err, size_t errlen)
{
    return request (g, "checkpoint", NULL, err, errlen);
}

API int glunix_migrate (glunix_t *g, const char *node, char *err, size_t errlen)
{
    if (!node || !gl_name_valid (node))
        return gl_err (err, errlen, "migrate: '%s' is not a node name", node ? node : "");
    return request (g, "migrate", node, err, errlen);
}
