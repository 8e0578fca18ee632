/*  jobs_recover.c -- a job outlives its host: recovery, at the job's home
    (see jobs.h, jobs_set_recovery; the bookkeeping is keep.h's).

    Keeping.  A job run with a period (glx --checkpoint-every, else
    cluster.conf's sched/checkpoint_every) is asked for a checkpoint by
    its home every period, once the last one ended: a CKPT KEEP to its
    host, which takes the snapshot with the job running on (GO) and
    streams the image here under our credit, with where each stream stood
    (jobs_ckpt.c).  The home keeps it in memory, checked as it comes,
    and makes it the one kept once glx has had all the output the job
    wrote before it (keep.h).  A job that cannot move (a TCP socket, no
    shim) is refused with a reason, logged when it changes, and runs on
    unprotected; it is asked again each period (the socket may close).
    Nothing is asked of a job that runs on its home (when that node dies
    its glx dies too), of a parallel job's rank or a gang's process, nor
    while the job moves or restarts.  All the jobs' keeps together hold
    at most sched/checkpoint_memory: an image that would go beyond is
    dropped as it comes (its host still sends it all: it cannot be told
    to stop) and the one kept before stays.  The host learns what is
    kept (CKPT KEPT) for glpeer ps -v.

    Restarting.  When gossip says the host died and an image is kept, the
    home places the job again (its pin no longer holds: that node is
    gone), on another node than the dead one, as a move's restorer (RUN
    with restart MOVE: its output held), then streams the kept image to
    it and releases its output at the numbers glx expects next.  Of what
    the restarted process writes, the first bytes of each stream that glx
    had already are dropped here (keep_skip) and credited to the host
    ourselves; its stdin is given again from the image's offset, from the
    keep, under the new host's credit, and glx's own stdin waits in the
    keep until that has caught up.  glx hears one NOTE when the restored
    process runs, and signals sent meanwhile wait for it.  A restart that
    fails (no node, the restorer refused) ends the job as the host's loss
    always did (glx exits 122), with why.

    A host found dead that was not (a partition) still runs its copy:
    nothing reaches it from the home any more, so it kills the job once
    unpinged for JOBS_ORPHAN_MS, and what it sends is ignored (it is no
    longer the job's node).  Side effects outside its streams (files it
    wrote) happen twice: glunix(7). */
#include "jobs_impl.h"
#include "log.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEP_WAIT_MS   60000             /* a kept checkpoint's word, each IMAGE again */
#define KEEP_STDIN_MAX (4 * JOBS_WINDOW) /* stdin a job's keep holds at most */
#define REC_WAIT_MS    30000             /* a restart waits this long for a node to take it */
#define REC_RUN_MS     120000            /* and this long for the node's restorer, as a move */

void jobs_set_recovery (jobs_t *self, uint64_t every_ms, uint64_t max_bytes)
{
    self->ckpt_every_ms = every_ms;
    self->keep_max = max_bytes > SIZE_MAX ? SIZE_MAX : (size_t) max_bytes;
}

static void rec_place (jobs_t *self, home_job_t *j, uint64_t now);
static void rec_fail (jobs_t *self, home_job_t *j, const char *why);

static uint64_t wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* "12:03:04" of a wall time in ms, UTC */
static void hms (uint64_t ms, char *out, size_t len)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, len, "%H:%M:%S", &tm);
}

static home_job_t *by_gpid (jobs_t *self, const char *gpid)
{
    for (home_job_t *j = self->homes; j; j = j->next)
        if (gl_streq (j->gpid, gpid))
            return j;
    return NULL;
}

/* What the home keeps of j, one line, for its host's glpeer ps -v. */
static void kept_text (jobs_t *self, const home_job_t *j, char *out, size_t len)
{
    const keep_img_t *c = &j->keep->cur;
    if (c->bytes) {
        char when[16];
        hms (c->wall_ms, when, sizeof when);
        snprintf (out, len, "taken %s UTC on %s, %.1f MiB, in %s's memory%s%.120s", when, c->node,
                  (double) c->len / (1 << 20), self->name,
                  j->keep_why[0] ? "; the last failed: " : "", j->keep_why);
    }
    else
        snprintf (out, len, "none: %.160s", j->keep_why[0] ? j->keep_why : "not taken yet");
}

/* Tell the host what is kept now, when that changed. */
static void tell_host (jobs_t *self, home_job_t *j)
{
    if (!j->keep || !j->node[0] || j->rec)
        return;
    char text[sizeof j->keep_said];
    kept_text (self, j, text, sizeof text);
    if (gl_streq (text, j->keep_said))
        return;
    gl_strlcpy (j->keep_said, text, sizeof j->keep_said);
    gl_job_t m;
    jobs_msg_init (&m, GL_JOB_CKPT, j->gpid, self->name);
    m.code = GL_CKPT_KEPT;
    m.text = text;
    gl_strlcpy (m.node, j->node, sizeof m.node);
    jobs_to_node (self, j->node, &m);
}

/* Why nothing new is kept: logged when the reason changes, and told the
   user's glx when the user asked for the checkpoints (glx
   --checkpoint-every, not only the cluster's default), for a job they
   believe safe is not; but not that the last one is still being
   finished at the host (CKPT_BUSY_WHY), which says nothing of the job. */
static void keep_failed (jobs_t *self, home_job_t *j, const char *why)
{
    if (!gl_streq (why, j->keep_why)) {
        gl_info ("%s: no checkpoint kept this time: %s", j->gpid, why);
        uint64_t asked = j->run.job->ckpt_every_ms;
        if (asked && asked != GL_JOB_CKPT_NEVER && j->conn && !gl_streq (why, CKPT_BUSY_WHY)) {
            char text[GL_JOB_TEXT_MAX + 1], when[16] = "";
            const keep_img_t *c = &j->keep->cur;
            if (c->bytes) /* an earlier one is still kept: it would restart from that */
                hms (c->wall_ms, when, sizeof when);
            snprintf (text, sizeof text,
                      "--checkpoint-every: no checkpoint of %s kept this time (%s); were its "
                      "node lost, %s%s%s",
                      j->gpid, why, when[0] ? "it would restart from its checkpoint of " : "",
                      when[0] ? when : "the job would be lost with it", when[0] ? " UTC" : "");
            gl_job_t note;
            jobs_msg_init (&note, GL_JOB_NOTE, j->gpid, self->name);
            note.text = text;
            jobs_to_local (self, j->conn, &note);
        }
    }
    gl_strlcpy (j->keep_why, why, sizeof j->keep_why);
}

void rec_begin (jobs_t *self, home_job_t *j, uint64_t now)
{
    const gl_job_t *run = j->run.job;
    uint64_t every = run->ckpt_every_ms ? run->ckpt_every_ms : self->ckpt_every_ms;
    if (every == GL_JOB_CKPT_NEVER || every == 0 || j->keep)
        return;
    if (j->pmi || j->gang || run->pty) {
        gl_info ("%s: not checkpointed for recovery: %s", j->gpid,
                 run->pty ? "it runs on a terminal" : "a process of a parallel job");
        return;
    }
    if (!(j->keep = malloc (sizeof *j->keep)))
        return;
    keep_init (j->keep);
    j->every_ms = every;
    j->keep_next_ms = now + every;
}

void rec_free (home_job_t *j)
{
    if (j->keep)
        keep_clear (j->keep);
    free (j->keep);
    j->keep = NULL;
}

/* Memory every job's keep holds now. */
static size_t kept_bytes (jobs_t *self)
{
    size_t n = 0;
    for (home_job_t *j = self->homes; j; j = j->next)
        if (j->keep)
            n += keep_bytes (j->keep);
    return n;
}

static void keep_ask (jobs_t *self, home_job_t *j, uint64_t now)
{
    if (gl_streq (j->node, self->name)) {
        keep_failed (self, j, "it runs on its home, whose death ends its glx too");
        tell_host (self, j);
        j->keep_next_ms = now + j->every_ms;
        return;
    }
    gl_job_t ck;
    jobs_msg_init (&ck, GL_JOB_CKPT, j->gpid, self->name);
    ck.code = GL_CKPT_ASK_KEEP;
    gl_strlcpy (ck.to, self->name, sizeof ck.to);
    gl_strlcpy (ck.node, j->node, sizeof ck.node);
    jobs_to_node (self, j->node, &ck);
    keep_rx_begin (j->keep);
    j->keep_asked = true;
    j->keep_asked_wall = wall_ms (); /* the snapshot follows within milliseconds */
    j->keep_deadline = now + KEEP_WAIT_MS;
}

/* The checkpoint asked is over, kept or not: the next one a period on. */
static void keep_over (jobs_t *self, home_job_t *j, uint64_t now)
{
    keep_rx_drop (j->keep);
    j->keep_asked = false;
    j->keep_next_ms = now + j->every_ms;
    keep_promote (j->keep, j->delivered);
    tell_host (self, j);
    move_ask_old (self, j); /* a move that waited for it */
}

void rec_tick (jobs_t *self, uint64_t now)
{
    home_job_t *next;
    for (home_job_t *j = self->homes; j; j = next) {
        next = j->next;
        if (j->rec == RC_STARTING && j->rec_retry_ms && now >= j->rec_retry_ms) {
            rec_place (self, j, now); /* may end j */
            continue;
        }
        if (j->rec && j->node[0] && now >= j->rec_deadline) { /* a node that never answers */
            rec_fail (self, j, "the new node's restorer did not run in time");
            continue;
        }
        if (!j->keep)
            continue;
        if (keep_promote (j->keep, j->delivered))
            tell_host (self, j);
        if (j->keep_asked && now >= j->keep_deadline) {
            keep_failed (self, j, "its host did not send the checkpoint in time");
            keep_over (self, j, now);
        }
        if (!j->keep_asked && !j->move && !j->rec && j->started && j->conn &&
            now >= j->keep_next_ms)
            keep_ask (self, j, now);
    }
}

uint64_t rec_next_deadline (jobs_t *self, uint64_t next)
{
    for (home_job_t *j = self->homes; j; j = j->next) {
        if (!j->keep)
            continue;
        uint64_t at = j->keep_asked ? j->keep_deadline : j->keep_next_ms;
        if (at < next)
            next = at;
        if (j->rec_retry_ms && j->rec_retry_ms < next)
            next = j->rec_retry_ms;
        if (j->rec && j->node[0] && j->rec_deadline < next)
            next = j->rec_deadline;
    }
    return next;
}

/* A piece of a kept checkpoint from j's host, under our credit. */
bool rec_image (jobs_t *self, const char *from, const gl_job_t *img, uint64_t now)
{
    home_job_t *j = by_gpid (self, img->gpid);
    if (!j || !j->keep || !gl_streq (from, j->node))
        return false;
    j->keep_deadline = now + KEEP_WAIT_MS;
    const char *why = NULL;
    /* one given up on (late): taken and let go, so that its host is done */
    bool want = j->keep_asked && j->keep->rx_on && !j->keep->rx_bad;
    if (img->len && want) {
        if (kept_bytes (self) + img->len > self->keep_max) {
            char text[160];
            snprintf (text, sizeof text,
                      "the home keeps %.1f MiB already, sched/checkpoint_memory allows %.1f MiB",
                      (double) kept_bytes (self) / (1 << 20), (double) self->keep_max / (1 << 20));
            keep_failed (self, j, text);
            keep_rx_drop (j->keep);
            j->keep->rx_on = j->keep->rx_bad = true; /* the rest is let through */
        }
        else if (keep_rx_add (j->keep, img->data, img->len, &why))
            keep_failed (self, j, why);
    }
    if (img->len) { /* taken: its host may send as much again */
        gl_job_t credit;
        jobs_msg_init (&credit, GL_JOB_CREDIT, j->gpid, self->name);
        credit.stream = 3;
        credit.credit = img->len;
        gl_strlcpy (credit.node, j->node, sizeof credit.node);
        jobs_to_node (self, j->node, &credit);
    }
    if (!img->eof || !j->keep_asked)
        return true;
    if (img->text)
        keep_failed (self, j, img->text);
    else if (!j->keep->rx_bad) {
        uint64_t at[3] = { j->base[0] + img->at_in, j->base[1] + img->at_out,
                           j->base[2] + img->at_err };
        if (keep_rx_end (j->keep, at, j->keep_asked_wall, j->node, &why))
            keep_failed (self, j, why);
        else {
            if (!j->keep->cur.bytes)
                gl_info ("%s: its first checkpoint is kept here (%.1f MiB, taken on %s)", j->gpid,
                         (double) j->keep->next.len / (1 << 20), j->node);
            j->keep_why[0] = '\0';
        }
    }
    keep_over (self, j, now);
    return true;
}

bool rec_stdin (jobs_t *self, home_job_t *j, const gl_job_t *data)
{
    if (!j->keep)
        return true;
    const char *why = NULL;
    if (keep_in_add (j->keep, data->data, data->len, data->eof, KEEP_STDIN_MAX, &why)) {
        keep_failed (self, j, why);
        tell_host (self, j);
    }
    if (j->rec == RC_STARTING || j->replay) { /* after what the keep gives again */
        rec_push_stdin (self, j);
        return false;
    }
    return true;
}

/* ---- the restart ------------------------------------------------------------------- */

/* The kept image to the new host, as far as its credit goes. */
static void push_image (jobs_t *self, home_job_t *j)
{
    const keep_img_t *c = &j->keep->cur;
    while (j->rec == RC_IMAGE && j->rec_off <= c->len && j->rec_credit) {
        size_t n = c->len - j->rec_off;
        if (n > JOBS_CHUNK)
            n = JOBS_CHUNK;
        if (n > j->rec_credit)
            n = (size_t) j->rec_credit;
        gl_job_t img;
        jobs_msg_init (&img, GL_JOB_IMAGE, j->gpid, self->name);
        img.seq = j->rec_seq++;
        img.data = n ? c->bytes + j->rec_off : NULL;
        img.len = (uint32_t) n;
        img.eof = !n;
        gl_strlcpy (img.node, j->node, sizeof img.node);
        jobs_to_node (self, j->node, &img);
        j->rec_credit -= n;
        j->rec_off += n ? n : 1; /* past the end once its end went */
    }
}

/* Stdin from the keep to the new host, a window ahead of what it took. */
void rec_push_stdin (jobs_t *self, home_job_t *j)
{
    while (j->replay && j->rec != RC_STARTING) {
        uint64_t end = keep_in_end (j->keep);
        if (j->in_pushed >= end) {
            if (j->keep->in_eof) { /* its end, not sent with the last bytes */
                gl_job_t data;
                jobs_msg_init (&data, GL_JOB_DATA, j->gpid, self->name);
                gl_strlcpy (data.node, j->node, sizeof data.node);
                data.seq = j->in_seq++;
                data.eof = true;
                jobs_to_node (self, j->node, &data);
            }
            j->replay = false; /* glx's stdin goes straight on from here */
            return;
        }
        uint64_t ahead = j->in_pushed - j->in_acked;
        if (ahead >= JOBS_WINDOW)
            return;
        const uint8_t *d = NULL;
        uint64_t room = JOBS_WINDOW - ahead;
        size_t n = keep_in_from (j->keep, j->in_pushed,
                                 room < GL_JOB_DATA_MAX ? room : GL_JOB_DATA_MAX, &d);
        if (!n) { /* cannot happen: a keep that lost it lost its image too */
            j->replay = false;
            return;
        }
        gl_job_t data;
        jobs_msg_init (&data, GL_JOB_DATA, j->gpid, self->name);
        gl_strlcpy (data.node, j->node, sizeof data.node);
        data.seq = j->in_seq++;
        data.data = (uint8_t *) d;
        data.len = (uint32_t) n;
        j->in_pushed += n;
        data.eof = j->keep->in_eof && j->in_pushed == end;
        jobs_to_node (self, j->node, &data);
        if (data.eof) {
            j->replay = false;
            return;
        }
    }
}

static void rec_fail (jobs_t *self, home_job_t *j, const char *why)
{
    char text[GL_JOB_TEXT_MAX + 1];
    snprintf (text, sizeof text, "node %s, which ran the job, was lost, and its restart failed: %s",
              j->rec_lost, why);
    gl_info ("%s: %s", j->gpid, text);
    if (j->node[0] && !gl_streq (j->node, j->rec_lost)) { /* what runs there goes */
        gl_job_t kill;
        jobs_msg_init (&kill, GL_JOB_KILL, j->gpid, self->name);
        jobs_to_node (self, j->node, &kill);
    }
    home_fail (self, j, JOBS_ERR_NODE_LOST, text);
    home_remove (self, j);
}

/* Ask node to run the restorer for j. */
static void rec_ask (jobs_t *self, home_job_t *j, const char *node, uint64_t now)
{
    gl_strlcpy (j->node, node, sizeof j->node);
    gl_job_t *run = j->run.job;
    run->restart = GL_JOB_RESTART_MOVE; /* its output held until released */
    gl_strlcpy (run->node, node, sizeof run->node);
    if (self->io.sign)
        self->io.sign (self->io.arg, run);
    jobs_to_node (self, node, run);
    run->restart = 0;
    j->rec_deadline = now + REC_RUN_MS;
}

/* Place j's restart: anywhere but the node that died (its pin died with
   it).  No node now (all full, or the others suspected in the same
   storm): placed again every JOBS_RETRY_MS until REC_WAIT_MS is over. */
static void rec_place (jobs_t *self, home_job_t *j, uint64_t now)
{
    place_note_t dead;
    gl_strlcpy (dead.node, j->rec_lost, sizeof dead.node);
    snprintf (dead.why, sizeof dead.why, "was lost");
    place_req_t pr = home_place_req (j);
    pr.pin = NULL;
    pr.exclude = &dead;
    pr.n_exclude = 1;
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    place_done (self->place, j->plan.ticket);
    const char *node = place_choose (self->place, cands, cands ? n : 0, &pr, now, &j->plan);
    free (cands);
    j->rec_retry_ms = 0;
    if (node) {
        char when[16];
        hms (j->keep->cur.wall_ms, when, sizeof when);
        gl_info ("%s: node %s was lost; restarting it on %s from its checkpoint of %s UTC", j->gpid,
                 j->rec_lost, node, when);
        rec_ask (self, j, node, now);
        return;
    }
    j->node[0] = '\0'; /* nothing runs it: nothing to send to */
    if (now < j->rec_until) {
        j->rec_retry_ms = now + JOBS_RETRY_MS;
        return;
    }
    char notes[2048], why[2100];
    plan_reasons (&j->plan, notes, sizeof notes);
    snprintf (why, sizeof why, "no other node can take it%s%s", notes[0] ? ": " : "", notes);
    rec_fail (self, j, why);
}

bool rec_lost (jobs_t *self, home_job_t *j, uint64_t now)
{
    if (!j->keep || !j->keep->cur.bytes || !j->conn)
        return false;
    if (j->move) /* the move dies with the node: the restart takes over */
        move_fail (self, j, "its node was lost", 0, now);
    free (j->left);
    free (j->hold);
    j->left = j->hold = NULL;
    j->left_len = j->hold_len = 0;
    j->left_eof = j->hold_eof = false;
    if (j->keep_asked) { /* the dead host's image will not come */
        keep_rx_drop (j->keep);
        j->keep_asked = false;
    }
    if (!j->rec)
        gl_strlcpy (j->rec_lost, j->node, sizeof j->rec_lost);
    if (j->rec == RC_NONE)
        j->rec_until = now + REC_WAIT_MS;
    j->rec = RC_STARTING;
    j->replay = false;
    rec_place (self, j, now);
    return true;
}

/* The new host runs the restorer: the image, the streams where glx has
   them, stdin again from the image's offset. */
static void rec_started (jobs_t *self, home_job_t *j)
{
    const keep_img_t *c = &j->keep->cur;
    j->rec = RC_IMAGE;
    j->rec_off = 0;
    j->rec_credit = JOBS_WINDOW;
    j->rec_seq = 0;
    for (uint8_t s = 1; s <= 2; s++) {
        j->base[s] = j->got[s] = c->at[s];
        j->host_seq[s] = j->out_seq[s];
    }
    home_release_streams (self, j);
    j->base[0] = j->in_pushed = j->in_acked = c->at[0];
    j->in_seq = 0;
    if (j->in_cred >= c->at[0])
        j->in_skip = j->in_cred - c->at[0]; /* glx had that credit already */
    else { /* the job read what glx was never credited for: it is now */
        gl_job_t credit;
        jobs_msg_init (&credit, GL_JOB_CREDIT, j->gpid, self->name);
        credit.stream = 0;
        credit.credit = c->at[0] - j->in_cred;
        j->in_cred = c->at[0];
        j->in_skip = 0;
        jobs_to_local (self, j->conn, &credit);
    }
    j->replay = true;
    push_image (self, j);
    rec_push_stdin (self, j);
}

/* The restored process runs: glx is told, the signals held go to it. */
static void rec_restored (jobs_t *self, home_job_t *j, uint64_t now)
{
    j->rec = RC_NONE;
    j->keep_next_ms = now + j->every_ms;
    char when[16], text[GL_JOB_TEXT_MAX + 1];
    hms (j->keep->cur.wall_ms, when, sizeof when);
    snprintf (text, sizeof text,
              "the job was restarted on %s from a checkpoint taken at %s UTC on %s "
              "(that node was lost)",
              j->node, when, j->keep->cur.node);
    gl_info ("%s: %s", j->gpid, text);
    gl_job_t note;
    jobs_msg_init (&note, GL_JOB_NOTE, j->gpid, self->name);
    note.text = text;
    jobs_to_local (self, j->conn, &note);
    move_flush_signals (self, j);
    j->keep_said[0] = '\0';
    tell_host (self, j);
    rec_push_stdin (self, j);
}

bool rec_from_host (jobs_t *self, home_job_t *j, const gl_job_t *job, uint64_t now)
{
    if (!j->rec)
        return false;
    switch (job->type) {
        case GL_JOB_STARTED:
            if (j->rec != RC_STARTING)
                return true;
            if (job->seq && job->seq <= UINT32_MAX)
                place_started (self->place, j->plan.ticket, (uint32_t) job->seq);
            rec_started (self, j);
            return true;
        case GL_JOB_REFUSED: {
            if (j->rec != RC_STARTING)
                return true;
            const char *next = place_refused (self->place, &j->plan, job->text, now);
            if (next)
                rec_ask (self, j, next, now);
            else
                rec_place (self, j, now); /* the view may have room by now, or soon */
            return true;
        }
        case GL_JOB_FAILED:
            rec_fail (self, j, job->text ? job->text : "it failed to start");
            return true;
        case GL_JOB_CREDIT:
            if (job->stream != 3)
                return false;
            j->rec_credit += job->credit;
            push_image (self, j);
            return true;
        case GL_JOB_MOVE:
            if (job->code == GL_MOVE_FAILED) {
                rec_fail (self, j, job->text ? job->text : "the restorer failed");
                return true;
            }
            if (job->code == GL_MOVE_RESTORED && j->rec == RC_IMAGE)
                rec_restored (self, j, now);
            return true;
        case GL_JOB_EXIT:
            /* restored and already ended (before its restorer settled, its
               host says nothing else): glx hears of the restart first */
            if (j->rec == RC_IMAGE)
                rec_restored (self, j, now);
            return false;
        default: return false;
    }
}

bool rec_credit (jobs_t *self, home_job_t *j, const gl_job_t *credit)
{
    if (credit->stream == 0) {
        j->in_acked += credit->credit;
        if (j->replay)
            rec_push_stdin (self, j);
    }
    return true;
}

bool rec_data (jobs_t *self, home_job_t *j, gl_job_t *data)
{
    int s = data->stream;
    size_t skip = keep_skip (j->delivered[s], j->got[s], data->len);
    j->got[s] += data->len;
    if (!skip)
        return true;
    /* glx had these: the host may send as much again without it */
    gl_job_t credit;
    jobs_msg_init (&credit, GL_JOB_CREDIT, j->gpid, self->name);
    credit.stream = (uint8_t) s;
    credit.credit = skip;
    gl_strlcpy (credit.node, j->node, sizeof credit.node);
    jobs_to_node (self, j->node, &credit);
    data->data += skip;
    data->len -= (uint32_t) skip;
    if (!data->len)
        data->data = NULL;
    return data->len || data->eof;
}

void rec_moved (jobs_t *self, home_job_t *j)
{
    if (j->keep) {
        j->keep_said[0] = '\0';
        tell_host (self, j);
    }
}
