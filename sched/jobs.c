/*  jobs.c -- the jobs of one agent: home and host roles.  See jobs.h. */
#include "jobs.h"
#include "str.h"
#include "exec.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_POLL_MS 200 /* a host looks for exits on SIGCHLD, and this often */

/* ---- the two kinds of job record ------------------------------------------ */

typedef struct home_job {
    char gpid[GL_GPID_MAX + 1];
    uint64_t conn;              /* the glx; 0 once it went away */
    char node[GL_NAME_MAX + 1]; /* asked, then running, there */
    bool started;
    uint64_t retry_at_ms; /* waiting for room: place again then */
    place_plan_t plan;
    gl_msg_t run; /* the RUN, kept to ask the next node */
    uint64_t next_ping_ms;
    struct home_job *next;
} home_job_t;

typedef struct host_job {
    char gpid[GL_GPID_MAX + 1];
    char home[GL_NAME_MAX + 1];
    char user[GL_JOB_USER_MAX + 1];
    char cmd[200]; /* argv, joined, cut: for ps */
    char why[512]; /* the home's placement notes: for ps */
    uint64_t start_wall_s;
    exec_t *exec;
    int pid;
    uint64_t credit[3];  /* [1], [2]: output bytes we may still send */
    uint64_t seq_out[3]; /* next sequence number per output stream */
    uint64_t seq_in;     /* the stdin sequence number we expect */
    bool out_done[3];
    uint8_t *in; /* stdin bytes not yet written to the job */
    size_t in_len, in_off;
    uint64_t in_owed; /* stdin bytes written, credit not yet granted */
    bool in_eof, in_closed;
    bool killed;
    bool pty;
    uint64_t last_ping_ms;
    struct host_job *next;
} host_job_t;

/* A glpeer ps waiting for the answers of every node. */
typedef struct list_req {
    uint64_t conn;
    uint64_t id; /* the LIST's seq, echoed in replies */
    uint32_t expected, got;
    uint64_t deadline_ms;
    char (*asked)[GL_NAME_MAX + 1]; /* who we asked; "" once they answered */
    struct list_req *next;
} list_req_t;

#define LIST_WAIT_MS 1500

/* Messages to ourselves (home and host on one node), delivered on tick. */
typedef struct loop_msg {
    uint8_t *bytes;
    size_t len;
    struct loop_msg *next;
} loop_msg_t;

struct jobs_t {
    char name[GL_NAME_MAX + 1];
    uint64_t generation;
    uint64_t counter; /* GPIDs handed out by this home */
    jobs_io_t io;
    place_t *place;
    slots_t *slots;
    home_job_t *homes;
    host_job_t *hosts;
    loop_msg_t *loop_head, *loop_tail;
    list_req_t *lists;
    uint64_t next_list_id;
    uint32_t started; /* guest jobs started here, ever */
};

static bool streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

jobs_t *jobs_new (const char *self_name, uint64_t generation, uint32_t cores, const jobs_io_t *io,
                  uint64_t seed)
{
    jobs_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    gl_strlcpy (self->name, self_name, sizeof self->name);
    self->generation = generation;
    self->io = *io;
    place_config_t pc;
    place_config_default (&pc);
    slots_config_t sc;
    slots_config_default (&sc);
    self->place = place_new (&pc, seed);
    self->slots = slots_new (&sc, cores ? cores : 1);
    if (!self->place || !self->slots)
        jobs_destroy (&self);
    return self;
}

static void host_free (jobs_t *self, host_job_t *h)
{
    if (h->exec) {
        if (self->io.guest)
            self->io.guest (self->io.arg, h->pid, false);
        exec_destroy (&h->exec); /* kills what is left of it */
    }
    slots_release (self->slots, h->gpid);
    free (h->in);
    free (h);
}

static void home_free (home_job_t *j)
{
    gl_msg_clear (&j->run);
    free (j);
}

void jobs_destroy (jobs_t **self_p)
{
    jobs_t *self = *self_p;
    if (!self)
        return;
    while (self->hosts) {
        host_job_t *h = self->hosts;
        self->hosts = h->next;
        host_free (self, h);
    }
    while (self->homes) {
        home_job_t *j = self->homes;
        self->homes = j->next;
        home_free (j);
    }
    while (self->loop_head) {
        loop_msg_t *m = self->loop_head;
        self->loop_head = m->next;
        free (m->bytes);
        free (m);
    }
    while (self->lists) {
        list_req_t *l = self->lists;
        self->lists = l->next;
        free (l);
    }
    place_destroy (&self->place);
    slots_destroy (&self->slots);
    free (self);
    *self_p = NULL;
}

void jobs_set_res (jobs_t *self, const gl_res_t *res)
{
    slots_set_res (self->slots, res);
}

/* ---- sending ----------------------------------------------------------------- */

static void to_node (jobs_t *self, const char *node, const gl_job_t *job)
{
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    if (!streq (node, self->name)) {
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

static void to_local (jobs_t *self, uint64_t conn, const gl_job_t *job)
{
    if (!conn)
        return;
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    self->io.send_local (self->io.arg, conn, &msg);
}

/* A short job message about gpid. */
static void job_init (gl_job_t *job, uint8_t type, const char *gpid, const char *home)
{
    memset (job, 0, sizeof *job);
    job->type = type;
    gl_strlcpy (job->gpid, gpid, sizeof job->gpid);
    gl_strlcpy (job->home, home, sizeof job->home);
}

/* Tell glx the job could not run (or was lost), and let it go. */
static void home_fail (jobs_t *self, home_job_t *j, int code, const char *text)
{
    gl_job_t job;
    job_init (&job, GL_JOB_FAILED, j->gpid, self->name);
    gl_strlcpy (job.node, j->node, sizeof job.node);
    job.code = code;
    job.text = (char *) text;
    to_local (self, j->conn, &job);
    if (j->conn)
        self->io.close_local (self->io.arg, j->conn);
    j->conn = 0;
}

/* ---- home ------------------------------------------------------------------- */

static home_job_t *home_by_gpid (jobs_t *self, const char *gpid)
{
    for (home_job_t *j = self->homes; j; j = j->next)
        if (streq (j->gpid, gpid))
            return j;
    return NULL;
}

static home_job_t *home_by_conn (jobs_t *self, uint64_t conn)
{
    for (home_job_t *j = self->homes; j; j = j->next)
        if (j->conn == conn)
            return j;
    return NULL;
}

static void home_remove (jobs_t *self, home_job_t *gone)
{
    for (home_job_t **p = &self->homes; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            place_done (self->place, gone->plan.ticket);
            home_free (gone);
            return;
        }
}

/* Every node that was passed over or refused, as one line for glx. */
static void plan_reasons (const place_plan_t *plan, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    /* the nodes asked before the one that took it (or all, when none did) */
    for (size_t i = 0; i < plan->next && i < plan->n_ask && n < len; i++)
        if (plan->ask[i].why[0])
            n += (size_t) snprintf (out + n, len - n, "%s%s: %s", n ? "; " : "", plan->ask[i].node,
                                    plan->ask[i].why);
    for (size_t i = 0; i < plan->n_passed && n < len; i++)
        n += (size_t) snprintf (out + n, len - n, "%s%s: %s", n ? "; " : "", plan->passed[i].node,
                                plan->passed[i].why);
}

static void no_node (jobs_t *self, home_job_t *j)
{
    char notes[2048], text[2100];
    plan_reasons (&j->plan, notes, sizeof notes);
    snprintf (text, sizeof text, "no node can take it%s%s", notes[0] ? ": " : "", notes);
    home_fail (self, j, JOBS_ERR_NO_NODE, text);
}

static void home_ask (jobs_t *self, home_job_t *j, const char *node)
{
    gl_strlcpy (j->node, node, sizeof j->node);
    gl_strlcpy (j->run.job->node, node, sizeof j->run.job->node);
    /* the node keeps why it got the job, so glpeer ps can say it anywhere */
    char notes[GL_JOB_TEXT_MAX + 1];
    plan_reasons (&j->plan, notes, sizeof notes);
    free (j->run.job->text);
    j->run.job->text = notes[0] ? strdup (notes) : NULL;
    to_node (self, node, j->run.job);
}

/* Was some node fit but full?  Then room will come: wait for it. */
static bool plan_full (const place_plan_t *plan)
{
    for (size_t i = 0; i < plan->n_ask; i++)
        if (!strncmp (plan->ask[i].why, "refused:", 8))
            return true;
    for (size_t i = 0; i < plan->n_passed; i++)
        if (!strncmp (plan->passed[i].why, "no free core (", 14) ||
            !strncmp (plan->passed[i].why, "refused:", 8))
            return true;
    return false;
}

/* No node took the job: wait for room, or tell glx it cannot run.
   Returns true when the job was let go (removed). */
static bool home_wait_or_fail (jobs_t *self, home_job_t *j, uint64_t now)
{
    if (j->conn && plan_full (&j->plan)) {
        j->node[0] = '\0';
        j->retry_at_ms = now + JOBS_RETRY_MS;
        return false;
    }
    no_node (self, j);
    home_remove (self, j);
    return true;
}

/* Place j (again) with the view as it is now. */
static void home_place (jobs_t *self, home_job_t *j, uint64_t now)
{
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    const gl_job_t *req = j->run.job;
    place_req_t pr = {
        .cores = req->cores,
        .mem_kb = req->mem_kb,
        .pin = req->pin,
        .allow_local = req->allow_local,
        .user = req->user[0] ? req->user : NULL,
        .command = req->argc ? req->argv[0] : NULL,
    };
    place_done (self->place, j->plan.ticket);
    const char *node = place_choose (self->place, cands, cands ? n : 0, &pr, now, &j->plan);
    free (cands);
    j->retry_at_ms = 0;
    if (node)
        home_ask (self, j, node);
    else
        home_wait_or_fail (self, j, now);
}

static void home_run (jobs_t *self, uint64_t conn, const gl_job_t *req, uint64_t now)
{
    home_job_t *j = calloc (1, sizeof *j);
    uint8_t *bytes = NULL;
    size_t len;
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) req };
    const char *why = NULL;
    /* Keep our own copy of the request, through the codec. */
    if (!j || gl_msg_encode (&msg, &bytes, &len) || gl_msg_decode (bytes, len, &j->run, &why)) {
        free (bytes);
        free (j);
        self->io.close_local (self->io.arg, conn); /* out of memory */
        return;
    }
    free (bytes);
    j->conn = conn;
    snprintf (j->gpid, sizeof j->gpid, "%s-%llu-%llu", self->name,
              (unsigned long long) self->generation, (unsigned long long) ++self->counter);
    gl_strlcpy (j->run.job->gpid, j->gpid, sizeof j->run.job->gpid);
    gl_strlcpy (j->run.job->home, self->name, sizeof j->run.job->home);
    j->next = self->homes;
    self->homes = j;
    home_place (self, j, now);
}

/* ---- glpeer ps and glpeer kill ---------------------------------------------- */

/* Ask every live member which jobs it runs; replies go to conn as they
   come, and the stream closes when all have answered or time is up. */
static void list_start (jobs_t *self, uint64_t conn, uint64_t now)
{
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    list_req_t *l = calloc (1, sizeof *l);
    if (!l) {
        self->io.close_local (self->io.arg, conn);
        return;
    }
    l->conn = conn;
    l->id = ++self->next_list_id;
    l->deadline_ms = now + LIST_WAIT_MS;
    l->next = self->lists;
    self->lists = l;
    gl_job_t ask = { .type = GL_JOB_LIST, .seq = l->id };
    gl_strlcpy (ask.home, self->name, sizeof ask.home);
    l->asked = calloc (n ? n : 1, sizeof *l->asked);
    for (size_t i = 0; cands && l->asked && i < n; i++)
        if (cands[i].state == 0) { /* alive (swim_state_t) */
            gl_strlcpy (l->asked[l->expected++], cands[i].name, sizeof l->asked[0]);
            to_node (self, cands[i].name, &ask);
        }
    free (cands);
    if (!l->expected)
        l->deadline_ms = now;
}

static void list_remove (jobs_t *self, list_req_t *gone, bool close_it)
{
    for (list_req_t **p = &self->lists; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            if (close_it)
                self->io.close_local (self->io.arg, gone->conn);
            free (gone->asked);
            free (gone);
            return;
        }
}

/* A node asks which jobs we run: one line each, fields by tabs:
   GPID USER NODE HOME START(unix s) COMMAND */
static void list_send (jobs_t *self, const char *to, uint64_t seq, const char *text, bool last)
{
    gl_job_t reply = {
        .type = GL_JOB_LIST_REPLY, .seq = seq, .text = text[0] ? (char *) text : NULL, .eof = last
    };
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    to_node (self, to, &reply);
}

/* Our jobs, one line each, in as many replies as they need; the last one
   says so (eof), and only it counts as this node's answer. */
static void list_answer (jobs_t *self, const char *from, const gl_job_t *ask)
{
    char text[GL_JOB_TEXT_MAX + 1];
    size_t n = 0;
    text[0] = '\0';
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (h->killed)
            continue;
        char line[1024];
        int k = snprintf (line, sizeof line, "%s\t%s\t%s\t%s\t%llu\t%s\t%s\n", h->gpid,
                          h->user[0] ? h->user : "-", self->name, h->home,
                          (unsigned long long) h->start_wall_s, h->cmd, h->why[0] ? h->why : "-");
        if (k < 0)
            continue;
        if ((size_t) k >= sizeof line) { /* cut, but still one line */
            k = (int) sizeof line - 1;
            line[k - 1] = '\n';
        }
        if (n + (size_t) k > GL_JOB_TEXT_MAX) {
            list_send (self, from, ask->seq, text, false);
            n = 0;
        }
        memcpy (text + n, line, (size_t) k + 1);
        n += (size_t) k;
    }
    text[n] = '\0';
    list_send (self, from, ask->seq, text, true);
}

static void list_reply (jobs_t *self, const char *from, const gl_job_t *reply)
{
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->id == reply->seq) {
            /* only a node we asked, and only until its last reply */
            uint32_t k = 0;
            while (k < l->expected && !streq (l->asked[k], from))
                k++;
            if (k == l->expected)
                return;
            if (reply->eof)
                l->asked[k][0] = '\0';
            gl_job_t fwd = *reply;
            gl_strlcpy (fwd.node, from, sizeof fwd.node);
            if (fwd.text)
                to_local (self, l->conn, &fwd);
            if (reply->eof && ++l->got >= l->expected)
                list_remove (self, l, true);
            return;
        }
}

/* glpeer kill: a signal for a job this stream did not start.  Its GPID
   names its home (HOME-GENERATION-N), which knows where it runs. */
static void kill_request (jobs_t *self, uint64_t conn, const gl_job_t *job)
{
    char home[GL_GPID_MAX + 1];
    gl_strlcpy (home, job->gpid, sizeof home);
    char *dash = strrchr (home, '-');
    if (dash) {
        *dash = '\0';
        dash = strrchr (home, '-');
    }
    if (dash)
        *dash = '\0';
    gl_job_t reply;
    job_init (&reply, GL_JOB_FAILED, job->gpid, self->name);
    if (!dash || !gl_name_valid (home)) {
        reply.code = JOBS_ERR_BAD_REQUEST;
        reply.text = (char *) "not a GPID (HOME-GENERATION-NUMBER)";
        to_local (self, conn, &reply);
        self->io.close_local (self->io.arg, conn);
        return;
    }
    gl_job_t sig = *job; /* node stays empty: "to the home, to relay" */
    snprintf (sig.home, sizeof sig.home, "%.63s", home);
    sig.node[0] = '\0';
    to_node (self, home, &sig);
    char text[256];
    snprintf (text, sizeof text, "signal %d sent to %s through its home %s", job->signo, job->gpid,
              home);
    gl_job_t ok = { .type = GL_JOB_LIST_REPLY, .text = text };
    to_local (self, conn, &ok);
    self->io.close_local (self->io.arg, conn);
}

/* A kill request reaches the job's home: pass it to the host. */
static void home_relay_signal (jobs_t *self, const gl_job_t *job)
{
    home_job_t *j = home_by_gpid (self, job->gpid);
    if (!j || !j->started)
        return;
    gl_job_t fwd = *job;
    gl_strlcpy (fwd.home, self->name, sizeof fwd.home);
    gl_strlcpy (fwd.node, j->node, sizeof fwd.node);
    to_node (self, j->node, &fwd);
}

void jobs_local_msg (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now)
{
    if (job->type == GL_JOB_RUN) {
        if (home_by_conn (self, conn)) {
            self->io.close_local (self->io.arg, conn); /* one job per stream */
            return;
        }
        home_run (self, conn, job, now);
        return;
    }
    if (job->type == GL_JOB_LIST) {
        list_start (self, conn, now);
        return;
    }
    home_job_t *j = home_by_conn (self, conn);
    if (!j && job->type == GL_JOB_SIGNAL) {
        kill_request (self, conn, job);
        return;
    }
    if (!j || !j->started)
        return; /* glx speaks only after STARTED */
    if (job->type == GL_JOB_DATA || job->type == GL_JOB_CREDIT || job->type == GL_JOB_SIGNAL ||
        job->type == GL_JOB_WINSIZE) {
        gl_job_t fwd = *job;
        gl_strlcpy (fwd.gpid, j->gpid, sizeof fwd.gpid);
        gl_strlcpy (fwd.home, self->name, sizeof fwd.home);
        snprintf (fwd.node, sizeof fwd.node, "%s", j->node); /* for the host */
        to_node (self, j->node, &fwd);
    }
}

void jobs_local_closed (jobs_t *self, uint64_t conn, uint64_t now)
{
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->conn == conn) {
            list_remove (self, l, false);
            break;
        }
    home_job_t *j = home_by_conn (self, conn);
    if (!j)
        return;
    j->conn = 0;
    if (j->node[0]) {
        gl_job_t kill;
        job_init (&kill, GL_JOB_KILL, j->gpid, self->name);
        to_node (self, j->node, &kill);
    }
    /* A job still being asked for is kept until its node answers, so that
       a late STARTED can be answered with a KILL; a waiting one just goes. */
    if (j->started || j->retry_at_ms)
        home_remove (self, j);
}

/* A message from the host of one of our jobs. */
static void home_from_host (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    home_job_t *j = home_by_gpid (self, job->gpid);
    if (!j || !streq (from, j->node))
        return; /* not ours, or from a node we did not ask */
    switch (job->type) {
        case GL_JOB_STARTED:
            if (job->seq && job->seq <= UINT32_MAX)
                place_started (self->place, j->plan.ticket, (uint32_t) job->seq);
            if (!j->conn) { /* glx went away while we were placing */
                gl_job_t kill;
                job_init (&kill, GL_JOB_KILL, j->gpid, self->name);
                to_node (self, j->node, &kill);
                home_remove (self, j);
                return;
            }
            j->started = true;
            j->next_ping_ms = now + JOBS_PING_MS;
            /* glx -v says why the other nodes were passed over */
            char notes[2048];
            plan_reasons (&j->plan, notes, sizeof notes);
            gl_job_t fwd = *job;
            fwd.text = notes;
            to_local (self, j->conn, &fwd);
            return;
        case GL_JOB_REFUSED: {
            const char *next = place_refused (self->place, &j->plan, job->text, now);
            if (!j->conn)
                home_remove (self, j);
            else if (next)
                home_ask (self, j, next);
            else
                home_wait_or_fail (self, j, now);
            return;
        }
        case GL_JOB_FAILED:
            to_local (self, j->conn, job);
            if (j->conn)
                self->io.close_local (self->io.arg, j->conn);
            home_remove (self, j);
            return;
        case GL_JOB_DATA:
        case GL_JOB_CREDIT: to_local (self, j->conn, job); return;
        case GL_JOB_EXIT:
            to_local (self, j->conn, job);
            if (j->conn)
                self->io.close_local (self->io.arg, j->conn);
            home_remove (self, j);
            /* a slot came free: jobs waiting for room try again now */
            for (home_job_t *w = self->homes; w; w = w->next)
                if (w->retry_at_ms)
                    w->retry_at_ms = now;
            return;
        default: return;
    }
}

/* ---- host ------------------------------------------------------------------- */

static host_job_t *host_by_gpid (jobs_t *self, const char *gpid)
{
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (streq (h->gpid, gpid))
            return h;
    return NULL;
}

static void host_send (jobs_t *self, host_job_t *h, gl_job_t *job)
{
    gl_strlcpy (job->gpid, h->gpid, sizeof job->gpid);
    gl_strlcpy (job->home, h->home, sizeof job->home);
    gl_strlcpy (job->node, self->name, sizeof job->node);
    to_node (self, h->home, job);
}

static int err_code (exec_err_t e)
{
    return e == EXEC_ERR_NOT_FOUND ? JOBS_ERR_NOT_FOUND
           : e == EXEC_ERR_DENIED  ? JOBS_ERR_DENIED
                                   : JOBS_ERR_START;
}

static void host_run (jobs_t *self, const char *from, const gl_job_t *req, uint64_t now)
{
    gl_job_t reply;
    job_init (&reply, GL_JOB_REFUSED, req->gpid, req->home);
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    if (host_by_gpid (self, req->gpid))
        return; /* a duplicate: it runs already */
    const char *why = NULL;
    if (!streq (from, req->home) || !req->argc || !req->cwd) {
        reply.type = GL_JOB_FAILED;
        reply.code = JOBS_ERR_BAD_REQUEST;
        reply.text = (char *) "malformed request";
        to_node (self, from, &reply);
        return;
    }
    if (!slots_offer (self->slots, req->gpid, req->cores, req->mem_kb, now, &why)) {
        char text[256];
        snprintf (text, sizeof text, "%s: %s", self->name, why ? why : "no room");
        reply.text = text;
        to_node (self, from, &reply);
        return;
    }

    /* argv and the environment, NULL-terminated, with our variables. */
    char **argv = calloc ((size_t) req->argc + 1, sizeof *argv);
    char **envp = calloc ((size_t) req->envc + 4, sizeof *envp);
    char gpid_var[GL_GPID_MAX + 16], home_var[GL_NAME_MAX + 16], node_var[GL_NAME_MAX + 16];
    snprintf (gpid_var, sizeof gpid_var, "GLUNIX_GPID=%s", req->gpid);
    snprintf (home_var, sizeof home_var, "GLUNIX_HOME=%s", req->home);
    snprintf (node_var, sizeof node_var, "GLUNIX_NODE=%s", self->name);
    host_job_t *h = calloc (1, sizeof *h);
    exec_err_t code = EXEC_ERR_SYSTEM;
    char err[512] = "out of memory";
    if (argv && envp && h) {
        memcpy (argv, req->argv, req->argc * sizeof *argv);
        size_t n = 0;
        for (uint32_t i = 0; i < req->envc; i++)
            if (strncmp (req->envv[i], "GLUNIX_GPID=", 12) &&
                strncmp (req->envv[i], "GLUNIX_HOME=", 12) &&
                strncmp (req->envv[i], "GLUNIX_NODE=", 12))
                envp[n++] = req->envv[i];
        envp[n++] = gpid_var;
        envp[n++] = home_var;
        envp[n++] = node_var;
        exec_spec_t spec;
        exec_spec_init (&spec);
        spec.file = req->argv[0];
        spec.argv = argv;
        spec.envp = envp;
        spec.cwd = req->cwd;
        spec.umask = (mode_t) req->umask;
        spec.uid = (uid_t) req->uid;
        spec.gid = (gid_t) req->gid;
        spec.pty = req->pty;
        spec.rows = (uint16_t) req->rows;
        spec.cols = (uint16_t) req->cols;
        h->exec = exec_start (&spec, &code, err, sizeof err);
    }
    free (argv);
    free (envp);
    if (!h || !h->exec) {
        free (h);
        slots_release (self->slots, req->gpid);
        reply.type = GL_JOB_FAILED;
        reply.code = err_code (code);
        char text[600];
        snprintf (text, sizeof text, "%s: %s", self->name, err);
        reply.text = text;
        to_node (self, from, &reply);
        return;
    }
    slots_start (self->slots, req->gpid, now);
    gl_strlcpy (h->gpid, req->gpid, sizeof h->gpid);
    gl_strlcpy (h->home, req->home, sizeof h->home);
    gl_strlcpy (h->user, req->user, sizeof h->user);
    size_t used = 0;
    for (uint32_t i = 0; i < req->argc && used + 1 < sizeof h->cmd; i++)
        used += (size_t) snprintf (h->cmd + used, sizeof h->cmd - used, "%s%s", i ? " " : "",
                                   req->argv[i]);
    gl_strlcpy (h->why, req->text ? req->text : "", sizeof h->why);
    for (char *c = h->why; *c; c++)
        if (*c == '\t' || *c == '\n')
            *c = ' ';
    for (char *c = h->cmd; *c; c++) /* one line per job, fields by tabs */
        if (*c == '\t' || *c == '\n')
            *c = ' ';
    h->start_wall_s = (uint64_t) time (NULL);
    h->pid = exec_pid (h->exec);
    h->pty = req->pty;
    h->credit[1] = h->credit[2] = JOBS_WINDOW;
    h->out_done[0] = true;
    h->out_done[2] = exec_fd_stderr (h->exec) < 0;
    h->last_ping_ms = now;
    h->next = self->hosts;
    self->hosts = h;
    if (self->io.guest)
        self->io.guest (self->io.arg, h->pid, true);
    reply.type = GL_JOB_STARTED; /* glx may now send JOBS_WINDOW of stdin */
    reply.pid = (uint32_t) h->pid;
    reply.seq = ++self->started; /* our estimates will count it */
    to_node (self, from, &reply);
}

/* Write what we hold for the job's stdin; grant the sender as much again. */
static void host_write_stdin (jobs_t *self, host_job_t *h)
{
    int fd = exec_fd_stdin (h->exec);
    while (h->in_off < h->in_len && fd >= 0) {
        ssize_t n = write (fd, h->in + h->in_off, h->in_len - h->in_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            /* the job closed its stdin: what is left cannot go anywhere */
            h->in_off = h->in_len;
            h->in_eof = true;
            break;
        }
        h->in_off += (size_t) n;
        h->in_owed += (uint64_t) n;
        if (h->in_owed >= JOBS_CREDIT_BATCH) {
            gl_job_t credit;
            job_init (&credit, GL_JOB_CREDIT, h->gpid, h->home);
            credit.stream = 0;
            credit.credit = h->in_owed;
            h->in_owed = 0;
            host_send (self, h, &credit);
        }
    }
    if (h->in_off == h->in_len)
        h->in_off = h->in_len = 0;
    if (h->in_eof && !h->in_closed && h->in_len == 0) {
        if (exec_close_stdin (h->exec) == 0 || errno != EAGAIN)
            h->in_closed = true;
    }
}

static void host_stdin (jobs_t *self, host_job_t *h, const gl_job_t *job)
{
    if (job->seq != h->seq_in || h->in_eof) {
        exec_signal (h->exec, SIGKILL); /* a lost message: don't feed it garbage */
        h->killed = true;
        return;
    }
    h->seq_in++;
    if (job->len) {
        if (h->in_len - h->in_off + job->len > JOBS_WINDOW) {
            exec_signal (h->exec, SIGKILL); /* the sender broke the window */
            h->killed = true;
            return;
        }
        if (h->in_off) { /* drop what was written already */
            memmove (h->in, h->in + h->in_off, h->in_len - h->in_off);
            h->in_len -= h->in_off;
            h->in_off = 0;
        }
        uint8_t *in = realloc (h->in, h->in_len + job->len);
        if (!in)
            return;
        h->in = in;
        memcpy (h->in + h->in_len, job->data, job->len);
        h->in_len += job->len;
    }
    if (job->eof)
        h->in_eof = true;
    host_write_stdin (self, h);
}

static void host_from_home (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    if (job->type == GL_JOB_RUN) {
        host_run (self, from, job, now);
        return;
    }
    host_job_t *h = host_by_gpid (self, job->gpid);
    if (!h || !streq (from, h->home))
        return;
    h->last_ping_ms = now; /* any word from home says it still cares */
    switch (job->type) {
        case GL_JOB_DATA:
            if (job->stream == 0)
                host_stdin (self, h, job);
            break;
        case GL_JOB_CREDIT:
            if (job->stream == 1 || job->stream == 2)
                h->credit[job->stream] += job->credit;
            break;
        case GL_JOB_SIGNAL:
            /* A job without a terminal leads a session of its own, so the kernel
           treats it as an orphaned process group and drops SIGTSTP: stop it
           with SIGSTOP instead, which nothing can drop. */
            exec_signal (h->exec, job->signo == SIGTSTP && !h->pty ? SIGSTOP : job->signo);
            break;
        case GL_JOB_WINSIZE:
            exec_winsize (h->exec, (uint16_t) job->rows, (uint16_t) job->cols);
            break;
        case GL_JOB_KILL:
            exec_signal (h->exec, SIGKILL);
            h->killed = true;
            break;
        default: break;
    }
}

/* Read what the job wrote, as far as credit allows. */
static void host_read (jobs_t *self, host_job_t *h, int stream)
{
    int fd = stream == 1 ? exec_fd_stdout (h->exec) : exec_fd_stderr (h->exec);
    static uint8_t buf[JOBS_CHUNK];
    while (!h->out_done[stream] && h->credit[stream] > 0) {
        size_t want = h->credit[stream] < sizeof buf ? (size_t) h->credit[stream] : sizeof buf;
        ssize_t n = read (fd, buf, want);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        gl_job_t data;
        job_init (&data, GL_JOB_DATA, h->gpid, h->home);
        data.stream = (uint8_t) stream;
        data.seq = h->seq_out[stream]++;
        if (n <= 0) { /* end of output (EIO: a pty whose job is gone) */
            h->out_done[stream] = true;
            data.eof = true;
        }
        else {
            data.data = buf;
            data.len = (uint32_t) n;
            h->credit[stream] -= (uint64_t) n;
        }
        host_send (self, h, &data);
    }
}

static void host_remove (jobs_t *self, host_job_t *gone)
{
    for (host_job_t **p = &self->hosts; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            host_free (self, gone);
            return;
        }
}

/* Exits, and jobs whose home went silent. */
static void host_tick (jobs_t *self, uint64_t now)
{
    host_job_t *next;
    for (host_job_t *h = self->hosts; h; h = next) {
        next = h->next;
        if (!h->killed && now - h->last_ping_ms > JOBS_ORPHAN_MS) {
            exec_signal (h->exec, SIGKILL);
            h->killed = true;
        }
        exec_status_t st;
        if (!exec_poll_exit (h->exec, &st))
            continue;
        /* All output first, then the exit: nothing may overtake it.  A
           killed job's output is not waited for: nobody reads it. */
        if (!h->killed && !(h->out_done[1] && h->out_done[2]))
            continue;
        gl_job_t ex;
        job_init (&ex, GL_JOB_EXIT, h->gpid, h->home);
        ex.code = st.code;
        ex.signo = st.signal;
        ex.core = st.core;
        host_send (self, h, &ex);
        host_remove (self, h);
    }
}

/* ---- common ------------------------------------------------------------------ */

void jobs_node_msg (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    switch (job->type) {
        case GL_JOB_SIGNAL:
            if (!job->node[0]) /* glpeer kill, at the job's home */
                home_relay_signal (self, job);
            else
                host_from_home (self, from, job, now);
            return;
        case GL_JOB_RUN:
        case GL_JOB_WINSIZE:
        case GL_JOB_KILL:
        case GL_JOB_PING: host_from_home (self, from, job, now); return;
        case GL_JOB_LIST: list_answer (self, from, job); return;
        case GL_JOB_LIST_REPLY: list_reply (self, from, job); return;
        case GL_JOB_DATA:
        case GL_JOB_CREDIT:
            /* both ways: stdin and output credit go to the host, the rest home */
            if ((job->type == GL_JOB_DATA && job->stream == 0) ||
                (job->type == GL_JOB_CREDIT && job->stream != 0))
                host_from_home (self, from, job, now);
            else
                home_from_host (self, from, job, now);
            return;
        default: home_from_host (self, from, job, now); return;
    }
}

void jobs_leave (jobs_t *self, uint64_t now)
{
    char text[GL_NAME_MAX + 64];
    snprintf (text, sizeof text, "the home agent %s is leaving the cluster", self->name);
    while (self->homes) {
        home_job_t *j = self->homes;
        if (j->node[0]) {
            gl_job_t kill;
            job_init (&kill, GL_JOB_KILL, j->gpid, self->name);
            to_node (self, j->node, &kill);
        }
        home_fail (self, j, JOBS_ERR_STREAM, text);
        home_remove (self, j);
    }
}

void jobs_node_lost (jobs_t *self, const char *node, uint64_t now)
{
    home_job_t *jn;
    for (home_job_t *j = self->homes; j; j = jn) {
        jn = j->next;
        if (!streq (j->node, node))
            continue;
        if (j->started) {
            char text[GL_NAME_MAX + 64];
            snprintf (text, sizeof text, "node %s, which ran the job, was lost", node);
            home_fail (self, j, JOBS_ERR_NODE_LOST, text);
            home_remove (self, j);
        }
        else if (j->retry_at_ms == 0) { /* being asked: ask the next one */
            const char *next = place_refused (self->place, &j->plan, "lost", now);
            if (next && j->conn)
                home_ask (self, j, next);
            else
                home_wait_or_fail (self, j, now);
        }
    }
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (streq (h->home, node) && !h->killed) {
            exec_signal (h->exec, SIGKILL); /* its home is gone: no one to serve */
            h->killed = true;
        }
}

size_t jobs_fds (jobs_t *self, int *fds, short *events, size_t cap)
{
    size_t n = 0;
    for (host_job_t *h = self->hosts; h && n + 3 <= cap; h = h->next) {
        if (h->killed)
            continue;
        int in = exec_fd_stdin (h->exec), out = exec_fd_stdout (h->exec);
        int err = exec_fd_stderr (h->exec);
        short ev_out = (!h->out_done[1] && h->credit[1]) ? POLLIN : 0;
        short ev_in =
            (in >= 0 && (h->in_len > h->in_off || (h->in_eof && !h->in_closed))) ? POLLOUT : 0;
        if (in >= 0 && in == out) { /* a pty: one fd both ways */
            if (ev_in | ev_out) {
                fds[n] = out;
                events[n++] = (short) (ev_in | ev_out);
            }
        }
        else {
            if (ev_out) {
                fds[n] = out;
                events[n++] = ev_out;
            }
            if (ev_in) {
                fds[n] = in;
                events[n++] = ev_in;
            }
        }
        if (err >= 0 && !h->out_done[2] && h->credit[2]) {
            fds[n] = err;
            events[n++] = POLLIN;
        }
    }
    return n;
}

void jobs_ready (jobs_t *self, int fd, short revents, uint64_t now)
{
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (h->killed)
            continue;
        if (fd == exec_fd_stdout (h->exec) && (revents & (POLLIN | POLLHUP | POLLERR)))
            host_read (self, h, 1);
        if (fd == exec_fd_stderr (h->exec) && (revents & (POLLIN | POLLHUP | POLLERR)))
            host_read (self, h, 2);
        if (fd == exec_fd_stdin (h->exec) && (revents & (POLLOUT | POLLERR | POLLHUP)))
            host_write_stdin (self, h);
    }
}

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
            gl_msg_clear (&msg);
        }
        free (m->bytes);
        free (m);
    }
    home_job_t *jn;
    for (home_job_t *j = self->homes; j; j = jn) {
        jn = j->next;
        if (j->retry_at_ms && now >= j->retry_at_ms) {
            if (j->conn)
                home_place (self, j, now); /* may remove j */
            else
                home_remove (self, j);
        }
    }
    for (home_job_t *j = self->homes; j; j = j->next)
        if (j->started && now >= j->next_ping_ms) {
            gl_job_t ping;
            job_init (&ping, GL_JOB_PING, j->gpid, self->name);
            to_node (self, j->node, &ping);
            j->next_ping_ms = now + JOBS_PING_MS;
        }
    host_tick (self, now);
    slots_expire (self->slots, now);
    list_req_t *ln;
    for (list_req_t *l = self->lists; l; l = ln) {
        ln = l->next;
        if (now >= l->deadline_ms)
            list_remove (self, l, true); /* whoever did not answer is left out */
    }
}

uint64_t jobs_next_deadline (jobs_t *self, uint64_t now)
{
    if (self->loop_head)
        return now;
    uint64_t next = slots_next_deadline (self->slots);
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->deadline_ms < next)
            next = l->deadline_ms;
    for (home_job_t *j = self->homes; j; j = j->next) {
        if (j->started && j->next_ping_ms < next)
            next = j->next_ping_ms;
        if (j->retry_at_ms && j->retry_at_ms < next)
            next = j->retry_at_ms;
    }
    /* exits are found by looking, often enough to feel instant */
    if (self->hosts && now + EXIT_POLL_MS < next)
        next = now + EXIT_POLL_MS;
    return next;
}

uint32_t jobs_started (const jobs_t *self)
{
    return self->started;
}

void jobs_set_policy (jobs_t *self, place_policy_fn fn, void *arg)
{
    place_set_policy (self->place, fn, arg);
}
