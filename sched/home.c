/*  home.c -- the home role of the job module (see jobs.h): the agent a
    glx talks to.  It names the job (GPID), places it, asks the chosen
    node, relays stdio, signals and the exit between glx and that node,
    pings it, and fails the job when the node is lost.  Not public: the
    module's interface is jobs.h, what its files share jobs_impl.h. */
#include "jobs_impl.h"
#include "log.h"
#include "str.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A move that has not got its new process running by then is given up
   (the old one goes on): a shim or a restorer that never answers. */
#define MOVE_WAIT_MS 120000

/* A move whose snapshot was taken but whose image failed for an instant
   of the job's (a descriptor came or went while it was written: the new
   host's MOVE FAILED with cause GL_MOVE_CAUSE_AGAIN) is made again after
   this long, up to MOVE_TRIES in all; a refusal of an instant before the
   snapshot the old host asks again itself (CK_AGAIN, jobs_ckpt.c). */
#define MOVE_AGAIN_MS    200
#define MOVE_TRIES       3
/* A stream cut, as the new host's restorer saw it, waits this long for
   the old host's reason (a refusal found after the snapshot, say) */
#define MOVE_CUT_WAIT_MS 1000

/* A move, at the home. */
enum {
    HM_NONE = 0,
    HM_STARTING, /* RUN sent to the new host (nothing stopped yet) */
    HM_ASKED,    /* its restorer waits; CKPT sent to the old host */
    HM_SENDING,  /* the old process is parked, its image goes to the new host */
    HM_DONE,     /* the new one runs; the old one's last output comes */
};

/* A move's step, for the log. */
static const char *move_step (int move)
{
    static const char *const steps[] = { "no move", "starting", "asked", "sending", "done" };
    return move >= 0 && move <= HM_DONE ? steps[move] : "?";
}

static void home_free (home_job_t *j)
{
    rec_free (j);
    gl_msg_clear (&j->run);
    free (j->left);
    free (j->hold);
    sodium_memzero (j->move_key, sizeof j->move_key); /* a job that ended mid-move */
    free (j);
}

static home_job_t *home_by_gpid (jobs_t *self, const char *gpid)
{
    for (home_job_t *j = self->homes; j; j = j->next)
        if (gl_streq (j->gpid, gpid))
            return j;
    return NULL;
}

home_job_t *home_by_conn (jobs_t *self, uint64_t conn)
{
    for (home_job_t *j = self->homes; j; j = j->next)
        if (j->conn == conn)
            return j;
    return NULL;
}

void home_remove (jobs_t *self, home_job_t *gone)
{
    for (home_job_t **p = &self->homes; *p; p = &(*p)->next)
        if (*p == gone) {
            *p = gone->next;
            gang_home_left (self, gone->gang, gone->started ? gone->node : NULL);
            place_done (self->place, gone->plan.ticket);
            if (gone->move >= HM_STARTING)
                place_done (self->place, gone->move_plan.ticket);
            if (gone->pmi)
                pmi_home_leave (self, gone->pmi, gone->rank);
            home_free (gone);
            return;
        }
}

/* Tell glx the job could not run (or was lost), and let it go. */
void home_fail (jobs_t *self, home_job_t *j, int code, const char *text)
{
    gl_job_t job;
    jobs_msg_init (&job, GL_JOB_FAILED, j->gpid, self->name);
    gl_strlcpy (job.node, j->node, sizeof job.node);
    job.code = code;
    job.text = (char *) text;
    jobs_to_local (self, j->conn, &job);
    if (j->conn)
        self->io.close_local (self->io.arg, j->conn);
    j->conn = 0;
}

/* Every node that was passed over or refused, as one line for glx. */
void plan_reasons (const place_plan_t *plan, char *out, size_t len)
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
    if (self->io.sign) /* signed afresh for each node asked: it expires */
        self->io.sign (self->io.arg, j->run.job);
    jobs_to_node (self, node, j->run.job);
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
        if (j->pmi) /* its MPI ranks that run wait for it: glx says so */
            pmi_home_waiting (self, j->pmi, j->rank);
        return false;
    }
    no_node (self, j);
    home_remove (self, j);
    return true;
}

place_req_t home_place_req (const home_job_t *j)
{
    const gl_job_t *req = j->run.job;
    return (place_req_t){
        .cores = req->cores,
        .mem_kb = req->mem_kb,
        .pin = req->pin,
        .allow_local = req->allow_local,
        .user = req->user[0] ? req->user : NULL,
        .command = req->argc ? req->argv[0] : NULL,
    };
}

/* Place j (again) with the view as it is now. */
static void home_place (jobs_t *self, home_job_t *j, uint64_t now)
{
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    const gl_job_t *req = j->run.job;
    place_req_t pr = home_place_req (j);
    place_done (self->place, j->plan.ticket);
    gang_home_scale (self, j->gang, req->pin, cands, n);
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
    j->gang = gang_home_join (self, j->run.job);
    j->next = self->homes;
    self->homes = j;
    if (req->size > 1) { /* a rank of a parallel job: one PMI server for them all */
        j->rank = req->rank;
        if (!(j->pmi = pmi_home_join (self, j->run.job, j->gpid, conn, &why))) {
            char text[128];
            snprintf (text, sizeof text, "rank %u: %s", req->rank, why);
            home_fail (self, j, JOBS_ERR_BAD_REQUEST, text);
            home_remove (self, j);
            return;
        }
    }
    home_place (self, j, now);
}

static void append (uint8_t **buf, size_t *len, const uint8_t *data, size_t n)
{
    uint8_t *b = realloc (*buf, *len + n);
    if (!b)
        return;
    memcpy (b + *len, data, n);
    *buf = b;
    *len += n;
}

/* glx's stdin while the old process hands over: bounded by glx's window. */
static void home_hold_stdin (home_job_t *j, const gl_job_t *job)
{
    if (job->len)
        append (&j->hold, &j->hold_len, job->data, job->len);
    if (job->eof)
        j->hold_eof = true;
}

/* From glx: a RUN, or stdio, signals and window sizes for its job. */
void home_local_msg (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now)
{
    if (job->type == GL_JOB_RUN) {
        if (home_by_conn (self, conn)) {
            self->io.close_local (self->io.arg, conn); /* one job per stream */
            return;
        }
        home_run (self, conn, job, now);
        return;
    }
    home_job_t *j = home_by_conn (self, conn);
    if (!j || !j->started)
        return; /* glx speaks only after STARTED */
    if (job->type == GL_JOB_DATA || job->type == GL_JOB_CREDIT || job->type == GL_JOB_SIGNAL ||
        job->type == GL_JOB_WINSIZE || job->type == GL_JOB_IMAGE) {
        if (job->type == GL_JOB_DATA && job->stream == 0) {
            j->in_fwd += job->len;
            if (!rec_stdin (self, j, job))
                return; /* kept, for the restarted process to have in turn */
        }
        /* the latest window size: a move's new terminal ends with it */
        if (job->type == GL_JOB_WINSIZE && j->run.job->pty) {
            j->run.job->rows = job->rows;
            j->run.job->cols = job->cols;
        }
        /* a signal during a move or a restart: for whichever process runs it then */
        if (job->type == GL_JOB_SIGNAL && (j->move || j->rec)) {
            if (j->n_sigs < sizeof j->sigs / sizeof j->sigs[0])
                j->sigs[j->n_sigs++] = job->signo;
            return;
        }
        if (job->type == GL_JOB_DATA && job->stream == 0 && j->move == HM_DONE) {
            home_hold_stdin (j, job); /* for the new host, after the old one's rest */
            return;
        }
        gl_job_t fwd = *job;
        gl_strlcpy (fwd.gpid, j->gpid, sizeof fwd.gpid);
        gl_strlcpy (fwd.home, self->name, sizeof fwd.home);
        gl_strlcpy (fwd.node, j->node, sizeof fwd.node); /* for the host */
        if (job->type == GL_JOB_DATA) {                  /* numbered afresh for each host */
            fwd.seq = j->in_seq++;
            j->in_pushed += job->len;
        }
        if (job->type == GL_JOB_CREDIT && job->stream >= 1 && job->stream <= 2)
            j->credited[job->stream] += job->credit;
        if (j->node[0]) /* none while a restart waits for a node */
            jobs_to_node (self, j->node, &fwd);
        if (job->type == GL_JOB_SIGNAL && j->pmi)
            pmi_home_signalled (self, j->pmi, j->rank, job->signo);
    }
}

/* The glx of conn went away: its job dies with it. */
void home_local_closed (jobs_t *self, uint64_t conn)
{
    home_job_t *j = home_by_conn (self, conn);
    if (!j)
        return;
    j->conn = 0;
    if (j->pmi) { /* its group has no one to tell about it any more */
        pmi_home_leave (self, j->pmi, j->rank);
        j->pmi = NULL;
    }
    if (j->node[0]) {
        gl_job_t kill;
        jobs_msg_init (&kill, GL_JOB_KILL, j->gpid, self->name);
        jobs_to_node (self, j->node, &kill);
    }
    /* A job still being asked for is kept until its node answers, so that
       a late STARTED can be answered with a KILL; a waiting one just goes. */
    if (j->started || j->retry_at_ms)
        home_remove (self, j);
}

/* ---- moves ------------------------------------------------------------------------ */

/* The answer to whoever asked for the move (glpeer migrate, the owner's
   return): done (code 0) or refused with why. */
static void move_reply (jobs_t *self, home_job_t *j, int code, const char *text)
{
    if (!j->move_asker[0])
        return;
    gl_job_t reply = { .type = GL_JOB_LIST_REPLY, .seq = j->move_seq, .eof = true, .code = code };
    reply.text = (char *) text;
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    jobs_to_node (self, j->move_asker, &reply);
    j->move_asker[0] = '\0';
}

static void move_msg (jobs_t *self, home_job_t *j, const char *node, int code)
{
    gl_job_t m;
    jobs_msg_init (&m, GL_JOB_MOVE, j->gpid, self->name);
    m.code = code;
    gl_strlcpy (m.node, node, sizeof m.node);
    jobs_to_node (self, node, &m);
}

/* The signals held during the move, to the process that runs the job. */
void move_flush_signals (jobs_t *self, home_job_t *j)
{
    for (size_t i = 0; i < j->n_sigs; i++) {
        gl_job_t sig;
        jobs_msg_init (&sig, GL_JOB_SIGNAL, j->gpid, self->name);
        sig.signo = j->sigs[i];
        gl_strlcpy (sig.node, j->node, sizeof sig.node);
        jobs_to_node (self, j->node, &sig);
    }
    j->n_sigs = 0;
}

/* The move's key and the restorer's address are for it alone. */
static void move_forget_link (home_job_t *j)
{
    sodium_memzero (j->move_key, sizeof j->move_key);
    j->move_addr[0] = '\0';
    j->move_listening = false;
}

/* The move failed: the job runs on where it was (let go if it was
   asked for its snapshot), and what the new node started goes.  cause:
   the failing node's code (gl_move_cause_t), or 0. */
void move_fail (jobs_t *self, home_job_t *j, const char *why, int cause, uint64_t now)
{
    char text[GL_JOB_TEXT_MAX + 1];
    snprintf (text, sizeof text, "refused: %s stays on %s: %s", j->gpid, j->node, why);
    /* failed after the snapshot for an instant of the job's: once more */
    bool again =
        j->move >= HM_SENDING && cause == GL_MOVE_CAUSE_AGAIN && j->move_tries + 1 < MOVE_TRIES;
    if (again)
        j->move_tries++;
    gl_info ("%s: not moved (it stays on %s): %s%s", j->gpid, j->node, why,
             again ? " (the move is made again)" : "");
    if (j->move >= HM_ASKED)
        move_msg (self, j, j->node, GL_MOVE_RESUME);
    if (j->move >= HM_STARTING) {
        if (j->move_to[0])
            move_msg (self, j, j->move_to, GL_MOVE_ABORT);
        place_done (self->place, j->move_plan.ticket);
    }
    if (again)
        j->move_again_ms = now + MOVE_AGAIN_MS;
    else {
        move_reply (self, j, 1, text);
        j->move_tries = 0;
    }
    j->move = HM_NONE;
    j->move_to[0] = '\0';
    j->move_cut_why[0] = '\0';
    move_forget_link (j);
    move_flush_signals (self, j);
}

static void move_place (jobs_t *self, home_job_t *j, uint64_t now);

/* Move the job, on behalf of asker (its answer number seq); want: the
   node asked for, "" for placement's choice.  The new node is found and
   its restorer started first, so that the old process is stopped only
   once something waits for it.  The answer comes when the move ends. */
void home_move_start (jobs_t *self, const char *gpid, const char *asker, uint64_t seq,
                      const char *want, uint64_t now)
{
    home_job_t *j = home_by_gpid (self, gpid);
    gl_job_t reply = { .type = GL_JOB_LIST_REPLY, .seq = seq, .eof = true, .code = 1 };
    char text[GL_JOB_TEXT_MAX + 1];
    reply.text = text;
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    if (!j || !j->started || !j->conn)
        snprintf (text, sizeof text, "refused: no running job %s at its home %s", gpid, self->name);
    else if (j->move || j->move_again_ms)
        snprintf (text, sizeof text, "refused: %s is moving already", gpid);
    else if (j->rec)
        snprintf (text, sizeof text, "refused: %s is being restarted (its node was lost)", gpid);
    else if (j->restart_listening)
        snprintf (text, sizeof text, "refused: %s is being restarted (its image is on its way)",
                  gpid);
    else if (j->pmi || j->gang)
        snprintf (text, sizeof text, "refused: %s is a process of a parallel job", gpid);
    else if (want[0] && gl_streq (want, j->node))
        snprintf (text, sizeof text, "refused: %s runs on %s already", gpid, want);
    else {
        j->move_deadline = now + MOVE_WAIT_MS;
        j->move_tries = 0;
        gl_strlcpy (j->move_asker, asker, sizeof j->move_asker);
        j->move_seq = seq;
        gl_strlcpy (j->move_want, want, sizeof j->move_want);
        gl_info ("%s: move from %s asked by %s%s%s", gpid, j->node, asker[0] ? asker : "its host",
                 want[0] ? " to " : "", want);
        move_place (self, j, now);
        return;
    }
    if (asker[0])
        jobs_to_node (self, asker, &reply);
}

/* Ask a node other than its own to take it: its restorer waits for the
   image. */
static void move_place (jobs_t *self, home_job_t *j, uint64_t now)
{
    place_note_t here;
    gl_strlcpy (here.node, j->node, sizeof here.node);
    snprintf (here.why, sizeof here.why, "runs it now");
    place_req_t pr = home_place_req (j);
    pr.pin = j->move_want[0] ? j->move_want : NULL;
    pr.allow_local = pr.allow_local || j->move_want[0];
    pr.exclude = &here;
    pr.n_exclude = 1;
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    const char *node = place_choose (self->place, cands, cands ? n : 0, &pr, now, &j->move_plan);
    free (cands);
    j->move = HM_STARTING;
    j->move_ck_sent = false;
    if (!node) {
        char notes[2048], why[2100];
        plan_reasons (&j->move_plan, notes, sizeof notes);
        snprintf (why, sizeof why, "no other node can take it%s%s", notes[0] ? ": " : "", notes);
        move_fail (self, j, why, 0, now);
        return;
    }
    gl_strlcpy (j->move_to, node, sizeof j->move_to);
    gl_info ("%s: move: a restorer asked of %s", j->gpid, node);
    /* the job's own RUN, as the restorer's: the same GPID, user and spec */
    gl_job_t *run = j->run.job;
    run->restart = GL_JOB_RESTART_MOVE;
    gl_strlcpy (run->node, node, sizeof run->node);
    if (self->io.sign)
        self->io.sign (self->io.arg, run);
    jobs_to_node (self, node, run);
    run->restart = 0;
}

/* Hand stdout and stderr to the job's (new) host j->node: the numbers its
   output messages go on from, and the credit glx has not yet used (the
   window less what is still unwritten at glx). */
void home_release_streams (jobs_t *self, const home_job_t *j)
{
    for (uint8_t s = 1; s <= 2; s++) {
        gl_job_t rel;
        jobs_msg_init (&rel, GL_JOB_MOVE, j->gpid, self->name);
        rel.code = GL_MOVE_RELEASE;
        rel.stream = s;
        rel.seq = j->out_seq[s];
        uint64_t out = j->delivered[s] - j->credited[s];
        rel.credit = out < JOBS_WINDOW ? JOBS_WINDOW - out : 0;
        gl_strlcpy (rel.node, j->node, sizeof rel.node);
        jobs_to_node (self, j->node, &rel);
    }
}

/* The old process's output is all out and its unread stdin here: the new
   host takes over the streams where the old one left them. */
static void move_switch (jobs_t *self, home_job_t *j)
{
    char old[GL_NAME_MAX + 1];
    gl_strlcpy (old, j->node, sizeof old);
    gl_strlcpy (j->node, j->move_to, sizeof j->node);
    place_done (self->place, j->move_plan.ticket);
    home_release_streams (self, j);
    if (j->run.job->pty && j->run.job->rows && j->run.job->cols) {
        /* the image's size is the old terminal's at the snapshot; glx's
           window may have changed since (its WINSIZE went to the old host
           or came before the restorer set that one) */
        gl_job_t ws;
        jobs_msg_init (&ws, GL_JOB_WINSIZE, j->gpid, self->name);
        ws.rows = j->run.job->rows;
        ws.cols = j->run.job->cols;
        gl_strlcpy (ws.node, j->node, sizeof ws.node);
        jobs_to_node (self, j->node, &ws);
    }
    /* the new process's streams begin where the old one's ended */
    for (int s = 1; s <= 2; s++) {
        j->base[s] = j->got[s];
        j->host_seq[s] = j->out_seq[s];
    }
    j->base[0] = j->in_fwd - j->left_len - j->hold_len;
    j->in_pushed = j->in_fwd;
    j->in_acked = j->base[0];
    rec_moved (self, j);
    /* stdin: what the old process had not read, then what glx sent since */
    j->in_seq = 0;
    for (int part = 0; part < 2; part++) {
        uint8_t *buf = part ? j->hold : j->left;
        size_t len = part ? j->hold_len : j->left_len;
        bool eof = part ? j->hold_eof : j->left_eof;
        size_t off = 0;
        while (off < len || eof) {
            size_t n = len - off > GL_JOB_DATA_MAX ? GL_JOB_DATA_MAX : len - off;
            gl_job_t data;
            jobs_msg_init (&data, GL_JOB_DATA, j->gpid, self->name);
            gl_strlcpy (data.node, j->node, sizeof data.node);
            data.stream = 0;
            data.seq = j->in_seq++;
            data.data = n ? buf + off : NULL;
            data.len = (uint32_t) n;
            off += n;
            data.eof = eof && off == len;
            jobs_to_node (self, j->node, &data);
            if (data.eof)
                break;
        }
    }
    free (j->left);
    free (j->hold);
    j->left = j->hold = NULL;
    j->left_len = j->hold_len = 0;
    j->move = HM_NONE;
    j->move_to[0] = '\0';
    j->move_cut_why[0] = '\0';
    move_forget_link (j);
    move_flush_signals (self, j);
    char text[GL_JOB_TEXT_MAX + 1];
    snprintf (text, sizeof text, "%s moved from %s to %s", j->gpid, old, j->node);
    gl_info ("%s", text);
    move_reply (self, j, 0, text);
}

/* ---- glx --restart -------------------------------------------------------------- */

/* A key for this move or restart alone, drawn here and sent in EXPECT to
   node, whose restorer then listens for the image sealed under it. */
static void send_expect (jobs_t *self, home_job_t *j, const char *node)
{
    randombytes_buf (j->move_key, sizeof j->move_key);
    gl_job_t ex;
    jobs_msg_init (&ex, GL_JOB_MOVE, j->gpid, self->name);
    ex.code = GL_MOVE_EXPECT;
    memcpy (ex.move_key, j->move_key, sizeof ex.move_key);
    gl_strlcpy (ex.node, node, sizeof ex.node);
    jobs_to_node (self, node, &ex);
    sodium_memzero (ex.move_key, sizeof ex.move_key);
}

/* The restorer of glx --restart FILE started: its image takes a move's
   way (ckpt_proto.h, "A move's stream"), glx being the sender.  A key
   for this restart alone goes to the new host, whose restorer listens;
   its LISTEN is handed on to glx (restart_told).  glx sends nothing of
   the image before, so that where it goes is never in doubt. */
static void restart_expect (jobs_t *self, home_job_t *j)
{
    send_expect (self, j, j->node);
    j->restart_listening = true;
}

/* The new host's LISTEN, to glx: the restorer's address and the key,
   which glx seals FILE under; no address (the node has none, or
   transport/move_direct = no): glx sends FILE in IMAGEs, through the
   agents.  The key is forgotten here. */
static void restart_told (jobs_t *self, home_job_t *j, const char *addr)
{
    gl_job_t m;
    jobs_msg_init (&m, GL_JOB_MOVE, j->gpid, self->name);
    m.code = GL_MOVE_LISTEN;
    gl_strlcpy (m.node, j->node, sizeof m.node);
    if (addr[0]) {
        memcpy (m.move_key, j->move_key, sizeof m.move_key);
        gl_strlcpy (m.move_addr, addr, sizeof m.move_addr);
    }
    jobs_to_local (self, j->conn, &m);
    sodium_memzero (m.move_key, sizeof m.move_key);
    sodium_memzero (j->move_key, sizeof j->move_key);
    j->restart_listening = false;
    gl_info ("%s: restart: its image goes %s%s from glx to %s's restorer", j->gpid,
             addr[0] ? "straight at " : "through the agents", addr, j->node);
}

/* A move's step from the old host, or the LISTEN of a restart's host. */
static void home_move_step (jobs_t *self, home_job_t *j, const gl_job_t *step, uint64_t now)
{
    switch (step->code) {
        case GL_MOVE_REFUSED:
        case GL_MOVE_FAILED:
            if (j->move)
                move_fail (self, j, step->text ? step->text : "the old host gave up", step->cause,
                           now);
            break;
        case GL_MOVE_SNAPPED: /* parked; its image goes to the new host already */
            gl_info ("%s: move: parked on %s (move %s)", j->gpid, j->node, move_step (j->move));
            if (j->move == HM_ASKED)
                j->move = HM_SENDING;
            else if (j->move != HM_DONE) /* a move given up meanwhile: let it go on */
                move_msg (self, j, j->node, GL_MOVE_RESUME);
            break;
        case GL_MOVE_STDIN:
            if (j->move == HM_DONE) {
                if (step->len)
                    append (&j->left, &j->left_len, step->data, step->len);
                j->left_eof |= step->eof;
                j->in_skip += step->credit;
            }
            break;
        case GL_MOVE_DRAINED:
            gl_info ("%s: move: %s's last output is out (move %s)", j->gpid, j->node,
                     move_step (j->move));
            if (j->move == HM_DONE)
                move_switch (self, j);
            break;
        case GL_MOVE_LISTEN: /* glx --restart's restorer: where its image goes */
            if (j->restart_listening)
                restart_told (self, j, step->move_addr);
            break;
        case GL_MOVE_EVICT: /* its host's owner is back: away, if a node can take it */
            if (!j->move)
                home_move_start (self, j->gpid, "", 0, "", now);
            break;
        default: break;
    }
}

void move_ask_old (jobs_t *self, home_job_t *j)
{
    if (j->move != HM_ASKED || j->move_ck_sent || j->keep_asked || j->move_listening)
        return;
    j->move_ck_sent = true;
    gl_job_t ck;
    jobs_msg_init (&ck, GL_JOB_CKPT, j->gpid, self->name);
    ck.code = GL_CKPT_ASK_MOVE;
    gl_strlcpy (ck.to, j->move_to, sizeof ck.to);
    if (j->move_addr[0]) { /* straight to the restorer, sealed under the key */
        memcpy (ck.move_key, j->move_key, sizeof ck.move_key);
        gl_strlcpy (ck.move_addr, j->move_addr, sizeof ck.move_addr);
    }
    gl_strlcpy (ck.node, j->node, sizeof ck.node);
    jobs_to_node (self, j->node, &ck);
}

/* From the new host while the move is under way. */
static void home_from_new_host (jobs_t *self, home_job_t *j, const gl_job_t *job, uint64_t now)
{
    switch (job->type) {
        case GL_JOB_STARTED:
            if (j->move == HM_STARTING) { /* now the old host: its image to there */
                if (job->seq && job->seq <= UINT32_MAX)
                    place_started (self->place, j->move_plan.ticket, (uint32_t) job->seq);
                j->move = HM_ASKED;
                /* a key for this move alone: the new host's restorer
                   listens for the image, and the old host is asked once
                   it says where (LISTEN) */
                send_expect (self, j, j->move_to);
                j->move_addr[0] = '\0';
                j->move_listening = true;
                gl_info ("%s: move: %s's restorer waits; asked where it takes the image", j->gpid,
                         j->move_to);
            }
            break;
        case GL_JOB_REFUSED:
        case GL_JOB_FAILED:
            if (j->move == HM_STARTING) {
                j->move_to[0] = '\0'; /* nothing runs there to abort */
                move_fail (self, j, job->text ? job->text : "the new node refused it", 0, now);
            }
            break;
        case GL_JOB_MOVE:
            /* the new host may say so before the old one's SNAPPED is
               here (they come by different ways; the new host is often
               this node): the image came whole, so the old one parked */
            if (job->code == GL_MOVE_RESTORED)
                gl_info ("%s: move: restored on %s (move %s)", j->gpid, j->move_to,
                         move_step (j->move));
            if (job->code == GL_MOVE_LISTEN && j->move == HM_ASKED && j->move_listening) {
                gl_strlcpy (j->move_addr, job->move_addr, sizeof j->move_addr);
                j->move_listening = false;
                gl_info ("%s: move: %s takes the image %s%s; snapshot asked of %s", j->gpid,
                         j->move_to, j->move_addr[0] ? "straight at " : "through the agents",
                         j->move_addr, j->node);
                move_ask_old (self, j);
            }
            else if (job->code == GL_MOVE_RESTORED &&
                     (j->move == HM_SENDING || j->move == HM_ASKED)) {
                j->move = HM_DONE; /* glx's stdin waits here from now on */
                move_msg (self, j, j->node, GL_MOVE_DONE);
            }
            else if (job->code == GL_MOVE_FAILED && j->move >= HM_STARTING && j->move < HM_DONE) {
                j->move_to[0] = '\0'; /* it dropped its process itself */
                if ((j->move == HM_SENDING || (j->move == HM_ASKED && j->move_ck_sent)) &&
                    job->cause == GL_MOVE_CAUSE_CUT && !j->move_cut_why[0]) {
                    /* most likely the old host gave up, and says why: a
                       refusal before its snapshot closes the connection
                       it had made, and its word may come after the
                       restorer's */
                    gl_strlcpy (j->move_cut_why,
                                job->text ? job->text : "the image's stream was cut before its end",
                                sizeof j->move_cut_why);
                    if (now + MOVE_CUT_WAIT_MS < j->move_deadline)
                        j->move_deadline = now + MOVE_CUT_WAIT_MS;
                }
                else
                    move_fail (self, j, job->text ? job->text : "the restore failed", job->cause,
                               now);
            }
            break;
        default: break;
    }
    (void) now;
}

/* A message from the host of one of our jobs. */
void home_from_host (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    if (job->type == GL_JOB_MOVE && job->code == GL_MOVE_EXPECT) {
        ckpt_expect (self, from, job); /* to us as a move's new host, from its home */
        return;
    }
    home_job_t *j = home_by_gpid (self, job->gpid);
    if (j && j->move >= HM_STARTING && gl_streq (from, j->move_to)) {
        home_from_new_host (self, j, job, now);
        return;
    }
    if (!j || !gl_streq (from, j->node))
        return; /* not ours, or from a node we did not ask */
    if (rec_from_host (self, j, job, now))
        return; /* a restart's, at its new host */
    switch (job->type) {
        case GL_JOB_MOVE: home_move_step (self, j, job, now); return;
        case GL_JOB_STARTED:
            if (job->seq && job->seq <= UINT32_MAX)
                place_started (self->place, j->plan.ticket, (uint32_t) job->seq);
            if (!j->conn) { /* glx went away while we were placing */
                gl_job_t kill;
                jobs_msg_init (&kill, GL_JOB_KILL, j->gpid, self->name);
                jobs_to_node (self, j->node, &kill);
                home_remove (self, j);
                return;
            }
            if (!j->started) {
                gang_home_started (self, j->gang, j->node, now);
                rec_begin (self, j, now);
                if (j->run.job->restart == GL_JOB_RESTART_GLX)
                    restart_expect (self, j);
            }
            j->started = true;
            j->next_ping_ms = now + JOBS_PING_MS;
            /* glx -v says why the other nodes were passed over */
            char notes[2048];
            plan_reasons (&j->plan, notes, sizeof notes);
            gl_job_t fwd = *job;
            fwd.text = notes;
            jobs_to_local (self, j->conn, &fwd);
            if (j->pmi)
                pmi_home_started (self, j->pmi, j->rank, j->node);
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
            jobs_to_local (self, j->conn, job);
            if (j->conn)
                self->io.close_local (self->io.arg, j->conn);
            home_remove (self, j);
            return;
        case GL_JOB_DATA: {
            if (job->stream < 1 || job->stream > 2)
                return;
            /* the host numbers its output: one missing is output lost,
               said so, never a silent hole in glx's stream */
            if (job->seq != j->host_seq[job->stream]) {
                char text[GL_JOB_TEXT_MAX + 1];
                snprintf (text, sizeof text,
                          "output of %s was lost on its way from %s (message %llu of its %s "
                          "came, %llu expected)",
                          j->gpid, j->node, (unsigned long long) job->seq,
                          job->stream == 1 ? "stdout" : "stderr",
                          (unsigned long long) j->host_seq[job->stream]);
                gl_error ("%s", text);
                gl_job_t kill;
                jobs_msg_init (&kill, GL_JOB_KILL, j->gpid, self->name);
                jobs_to_node (self, j->node, &kill);
                home_fail (self, j, JOBS_ERR_STREAM, text);
                home_remove (self, j);
                return;
            }
            j->host_seq[job->stream]++;
            gl_job_t out = *job;
            if (!rec_data (self, j, &out))
                return; /* glx had all of it: a restarted process wrote it again */
            j->delivered[job->stream] += out.len;
            out.seq = j->out_seq[job->stream]++;
            jobs_to_local (self, j->conn, &out);
            return;
        }
        case GL_JOB_CREDIT:
            if (!rec_credit (self, j, job))
                return;
            if (job->stream == 0 && j->in_skip) { /* glx had that credit from the old host */
                uint64_t skip = job->credit < j->in_skip ? job->credit : j->in_skip;
                j->in_skip -= skip;
                if (job->credit == skip)
                    return;
                gl_job_t rest = *job;
                rest.credit -= skip;
                if (rest.stream == 0)
                    j->in_cred += rest.credit;
                jobs_to_local (self, j->conn, &rest);
                return;
            }
            if (job->stream == 0)
                j->in_cred += job->credit;
            jobs_to_local (self, j->conn, job);
            return;
        case GL_JOB_PMI:
            if (j->pmi && j->started)
                pmi_home_request (self, j->pmi, j->rank, job);
            return;
        case GL_JOB_EXIT:
            if (j->pmi) /* first: a note it causes goes before its exit */
                pmi_home_exited (self, j->pmi, j->rank, job);
            if ((j->move && j->move < HM_DONE) || j->move_again_ms) { /* it ended before it moved */
                char text[GL_JOB_TEXT_MAX + 1];
                snprintf (text, sizeof text, "refused: %s ended on %s before it moved", j->gpid,
                          j->node);
                if (j->move_to[0]) /* what the new node started for it goes */
                    move_msg (self, j, j->move_to, GL_MOVE_ABORT);
                move_reply (self, j, 1, text); /* home_remove gives its place back */
            }
            jobs_to_local (self, j->conn, job);
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

const char *home_job_user (jobs_t *self, const char *gpid)
{
    home_job_t *j = home_by_gpid (self, gpid);
    return j && j->started ? j->run.job->user : NULL;
}

/* A kill request reaches the job's home: pass it to the host. */
bool home_relay_signal (jobs_t *self, const gl_job_t *job)
{
    home_job_t *j = home_by_gpid (self, job->gpid);
    if (!j || !j->started)
        return false;
    if (job->type == GL_JOB_SIGNAL && (j->move || j->rec)) { /* for the process that runs it then */
        if (j->n_sigs < sizeof j->sigs / sizeof j->sigs[0])
            j->sigs[j->n_sigs++] = job->signo;
        return true;
    }
    gl_job_t fwd = *job;
    gl_strlcpy (fwd.home, self->name, sizeof fwd.home);
    gl_strlcpy (fwd.node, j->node, sizeof fwd.node);
    jobs_to_node (self, j->node, &fwd);
    return false;
}

void jobs_leave (jobs_t *self, uint64_t now)
{
    char text[GL_NAME_MAX + 64];
    snprintf (text, sizeof text, "the home agent %s is leaving the cluster", self->name);
    while (self->homes) {
        home_job_t *j = self->homes;
        if (j->node[0]) {
            gl_job_t kill;
            jobs_msg_init (&kill, GL_JOB_KILL, j->gpid, self->name);
            jobs_to_node (self, j->node, &kill);
        }
        home_fail (self, j, JOBS_ERR_STREAM, text);
        home_remove (self, j);
    }
}

/* Gossip says node is dead or has left: the jobs it ran are lost, the
   jobs it was being asked to take ask the next node of their plan. */
void home_node_lost (jobs_t *self, const char *node, uint64_t now)
{
    home_job_t *jn;
    for (home_job_t *j = self->homes; j; j = jn) {
        jn = j->next;
        if (j->move >= HM_STARTING && j->move < HM_DONE && gl_streq (j->move_to, node)) {
            j->move_to[0] = '\0'; /* the new node is gone: the job stays */
            move_fail (self, j, "the new node was lost", 0, now);
        }
        if (!gl_streq (j->node, node))
            continue;
        if (j->move >= HM_STARTING && j->move_to[0]) /* its new process, held, goes too */
            move_msg (self, j, j->move_to, GL_MOVE_ABORT);
        if (j->started && rec_lost (self, j, now))
            continue; /* restarted from its checkpoint elsewhere */
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
}

/* Jobs waiting for room are placed again; running ones are pinged. */
void home_tick (jobs_t *self, uint64_t now)
{
    for (home_job_t *j = self->homes; j; j = j->next)
        if (j->move && j->move < HM_DONE && now >= j->move_deadline)
            move_fail (self, j,
                       j->move_cut_why[0] ? j->move_cut_why : "the move did not finish in time", 0,
                       now);
    for (home_job_t *j = self->homes; j; j = j->next)
        if (j->move_again_ms && now >= j->move_again_ms) {
            j->move_again_ms = 0;
            if (j->rec || !j->started || !j->conn) { /* its node was lost meanwhile */
                char text[GL_JOB_TEXT_MAX + 1];
                snprintf (text, sizeof text, "refused: %s was not moved (its node was lost)",
                          j->gpid);
                move_reply (self, j, 1, text);
                continue;
            }
            j->move_deadline = now + MOVE_WAIT_MS;
            gl_info ("%s: move from %s made again (try %u of %u)", j->gpid, j->node,
                     j->move_tries + 1, MOVE_TRIES);
            move_place (self, j, now);
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
        if (j->started && j->node[0] && now >= j->next_ping_ms) {
            gl_job_t ping;
            jobs_msg_init (&ping, GL_JOB_PING, j->gpid, self->name);
            jobs_to_node (self, j->node, &ping);
            if (j->move >= HM_STARTING) /* the new host waits for us too */
                jobs_to_node (self, j->move_to, &ping);
            j->next_ping_ms = now + JOBS_PING_MS;
        }
}

/* next, or the first ping or retry due before it. */
uint64_t home_next_deadline (jobs_t *self, uint64_t next)
{
    for (home_job_t *j = self->homes; j; j = j->next) {
        if (j->move && j->move < HM_DONE && j->move_deadline < next)
            next = j->move_deadline;
        if (j->move_again_ms && j->move_again_ms < next)
            next = j->move_again_ms;
        if (j->started && j->next_ping_ms < next)
            next = j->next_ping_ms;
        if (j->retry_at_ms && j->retry_at_ms < next)
            next = j->retry_at_ms;
    }
    return next;
}

void home_free_all (jobs_t *self)
{
    while (self->homes) {
        home_job_t *j = self->homes;
        self->homes = j->next;
        home_free (j);
    }
    gang_home_free_all (self);
}
