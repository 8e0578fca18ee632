/*  jobs.c -- the jobs of one agent (see jobs.h): the table, sending, the
    dispatch of what arrives to the roles and the timers.  The roles are
    home.c, host.c and ps.c; what they share is jobs_impl.h. */
#include "jobs_impl.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Messages to ourselves (home and host on one node), delivered on tick. */
typedef struct loop_msg {
    uint8_t *bytes;
    size_t len;
    struct loop_msg *next;
} loop_msg_t;

jobs_t *jobs_new (const char *self_name, uint64_t generation, uint32_t cores, const jobs_io_t *io,
                  uint64_t seed)
{
    jobs_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    gl_strlcpy (self->name, self_name, sizeof self->name);
    self->generation = generation;
    self->cores = cores ? cores : 1;
    self->io = *io;
    place_config_t pc;
    place_config_default (&pc);
    slots_config_t sc;
    slots_config_default (&sc);
    self->place = place_new (&pc, seed);
    self->slots = slots_new (&sc, cores ? cores : 1);
    self->access = access_new (NULL, geteuid () == 0);
    self->ckpt_fd = -1;
    self->evict_grace_ms = 2000;
    self->keep_max = (size_t) 1 << 30;
    if (!self->place || !self->slots || !self->access)
        jobs_destroy (&self);
    return self;
}

void jobs_destroy (jobs_t **self_p)
{
    jobs_t *self = *self_p;
    if (!self)
        return;
    host_free_all (self);
    home_free_all (self);
    if (self->ckpt_fd >= 0) {
        host_watch_set (self, &self->ckpt_watch, -1, 0);
        close (self->ckpt_fd);
        unlink (self->ckpt_path);
    }
    while (self->loop_head) {
        loop_msg_t *m = self->loop_head;
        self->loop_head = m->next;
        free (m->bytes);
        free (m);
    }
    ps_free_all (self);
    pmi_home_free_all (self);
    place_destroy (&self->place);
    slots_destroy (&self->slots);
    slots_destroy (&self->gang_slots);
    access_destroy (&self->access);
    free (self);
    *self_p = NULL;
}

void jobs_set_res (jobs_t *self, const gl_res_t *res)
{
    slots_set_res (self->slots, res);
    if (self->gang_slots)
        slots_set_res (self->gang_slots, res);
}

/* ---- sending ----------------------------------------------------------------- */

void jobs_to_node (jobs_t *self, const char *node, const gl_job_t *job)
{
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    if (!gl_streq (node, self->name)) {
        self->io.send_node (self->io.arg, node, &msg);
        return;
    }
    /* To ourselves: through the codec and a queue, exactly as it would
       travel, but never by calling back into the caller's stack. */
    loop_msg_t *m = calloc (1, sizeof *m);
    if (!m || gl_msg_encode (&msg, &m->bytes, &m->len)) {
        free (m);
        return;
    }
    if (self->loop_tail)
        self->loop_tail->next = m;
    else
        self->loop_head = m;
    self->loop_tail = m;
}

void jobs_gang_to_node (jobs_t *self, const char *node, gl_gang_t *g)
{
    gl_msg_t msg = { .type = GL_MSG_GANG, .gang = g };
    if (!gl_streq (node, self->name))
        self->io.send_node (self->io.arg, node, &msg);
    else { /* to our own gang state machine, on the next tick */
        loop_msg_t *m = calloc (1, sizeof *m);
        if (m && gl_msg_encode (&msg, &m->bytes, &m->len) == 0) {
            if (self->loop_tail)
                self->loop_tail->next = m;
            else
                self->loop_head = m;
            self->loop_tail = m;
        }
        else
            free (m);
    }
    gl_msg_clear (&msg);
}

void jobs_to_local (jobs_t *self, uint64_t conn, const gl_job_t *job)
{
    if (!conn)
        return;
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    self->io.send_local (self->io.arg, conn, &msg);
}

/* A short job message about gpid. */
void jobs_msg_init (gl_job_t *job, uint8_t type, const char *gpid, const char *home)
{
    memset (job, 0, sizeof *job);
    job->type = type;
    gl_strlcpy (job->gpid, gpid, sizeof job->gpid);
    gl_strlcpy (job->home, home, sizeof job->home);
}

/* ---- dispatch ---------------------------------------------------------------- */

void jobs_local_msg (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now)
{
    if (job->type == GL_JOB_LIST) {
        ps_start (self, conn, job->code, now);
        return;
    }
    if (job->type == GL_JOB_SIGNAL && !home_by_conn (self, conn)) {
        ps_kill (self, conn, job, now); /* glpeer kill: not a glx's own job */
        return;
    }
    if (job->type == GL_JOB_CKPT && !home_by_conn (self, conn)) {
        ps_ckpt (self, conn, job, now); /* glpeer checkpoint, migrate */
        return;
    }
    if (job->type == GL_JOB_CREDIT && job->stream == 3 && !home_by_conn (self, conn)) {
        ps_credit (self, conn, job); /* glpeer checkpoint wrote some */
        return;
    }
    home_local_msg (self, conn, job, now);
}

void jobs_local_closed (jobs_t *self, uint64_t conn, uint64_t now)
{
    ps_local_closed (self, conn);
    home_local_closed (self, conn);
}

void jobs_node_msg (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    switch (job->type) {
        case GL_JOB_SIGNAL:
            if (!job->node[0]) /* glpeer kill, at the job's home */
                ps_kill_at_home (self, from, job);
            else
                host_from_home (self, from, job, now);
            return;
        case GL_JOB_CKPT:
            if (!job->node[0]) /* glpeer checkpoint or migrate, at the job's home */
                ps_ckpt_at_home (self, from, job, now);
            else
                host_from_home (self, from, job, now);
            return;
        case GL_JOB_IMAGE: {
            /* a restart's image for a job here, else one for a glpeer
               checkpoint that waits here */
            host_job_t *h = host_by_gpid (self, job->gpid);
            if (h && h->img_fd >= 0)
                host_from_home (self, from, job, now);
            else if (!rec_image (self, from, job, now)) /* one its home keeps */
                ps_image (self, from, job, now);
            return;
        }
        case GL_JOB_MOVE:
            if (job->code == GL_MOVE_SEND || job->code == GL_MOVE_DONE ||
                job->code == GL_MOVE_RESUME || job->code == GL_MOVE_RELEASE ||
                job->code == GL_MOVE_ABORT)
                host_from_home (self, from, job, now);
            else
                home_from_host (self, from, job, now);
            return;
        case GL_JOB_RUN:
        case GL_JOB_WINSIZE:
        case GL_JOB_KILL:
        case GL_JOB_PING:
        case GL_JOB_PMI_REPLY: host_from_home (self, from, job, now); return;
        case GL_JOB_LIST: ps_answer (self, from, job, now); return;
        case GL_JOB_LIST_REPLY: ps_reply (self, from, job); return;
        case GL_JOB_DATA:
        case GL_JOB_CREDIT:
            /* both ways: stdin and output credit go to the host, the rest home */
            if ((job->type == GL_JOB_DATA && job->stream == 0) ||
                (job->type == GL_JOB_CREDIT && (job->stream == 1 || job->stream == 2)))
                host_from_home (self, from, job, now);
            else if (job->type == GL_JOB_CREDIT && job->stream == 3) {
                /* the image's: to a host sending one, else a home whose glx
                   sends a restart's */
                host_job_t *h = host_by_gpid (self, job->gpid);
                if (h && h->ck)
                    host_from_home (self, from, job, now);
                else
                    home_from_host (self, from, job, now);
            }
            else
                home_from_host (self, from, job, now);
            return;
        default: home_from_host (self, from, job, now); return;
    }
}

void jobs_node_lost (jobs_t *self, const char *node, uint64_t now)
{
    home_node_lost (self, node, now);
    host_node_lost (self, node);
}

/* ---- timers ------------------------------------------------------------------ */

void jobs_tick (jobs_t *self, uint64_t now)
{
    /* our own messages to ourselves */
    while (self->loop_head) {
        loop_msg_t *m = self->loop_head;
        self->loop_head = m->next;
        if (!self->loop_head)
            self->loop_tail = NULL;
        gl_msg_t msg;
        if (gl_msg_decode (m->bytes, m->len, &msg, NULL) == 0) {
            if (msg.type == GL_MSG_JOB && msg.job)
                jobs_node_msg (self, self->name, msg.job, now);
            if (msg.type == GL_MSG_GANG && msg.gang && self->gang)
                gang_recv (self->gang, self->name, msg.gang, now);
            gl_msg_clear (&msg);
        }
        free (m->bytes);
        free (m);
    }
    home_tick (self, now);
    rec_tick (self, now);
    gang_home_tick (self, now);
    ckpt_tick (self, now);
    evict_tick (self, now);
    host_tick (self, now);
    slots_expire (self->slots, now);
    if (self->gang_slots)
        slots_expire (self->gang_slots, now);
    ps_tick (self, now);
}

uint64_t jobs_next_deadline (jobs_t *self, uint64_t now)
{
    if (self->loop_head)
        return now;
    uint64_t next = slots_next_deadline (self->slots);
    if (self->gang_slots) {
        uint64_t g = slots_next_deadline (self->gang_slots);
        next = g < next ? g : next;
    }
    next = gang_home_deadline (self, next);
    next = ps_next_deadline (self, next);
    next = home_next_deadline (self, next);
    next = rec_next_deadline (self, next);
    next = ckpt_next_deadline (self, next);
    next = evict_next_deadline (self, now, next);
    return host_next_deadline (self, now, next);
}

uint32_t jobs_started (const jobs_t *self)
{
    return self->started;
}

void jobs_set_access (jobs_t *self, access_t *access)
{
    access_destroy (&self->access);
    self->access = access;
}

void jobs_set_policy (jobs_t *self, place_policy_fn fn, void *arg)
{
    place_set_policy (self->place, fn, arg);
}
