/*  ps.c -- glpeer ps and glpeer kill, the cluster-wide half of the job
    module (see jobs.h).  ps: the agent asks every live member which jobs
    it runs, and passes their answers to glpeer as they come.  kill: the
    agent sends the signal to the job's home (named by its GPID) with the
    asking user (as SO_PEERCRED named them: access.h), and the home, which
    alone knows whose job it is, relays it to the host (home.c) if that
    user may signal it, and answers either way; the asking agent passes
    the answer on.  Not public: the module's interface
    is jobs.h, what its files share jobs_impl.h. */
#include "jobs_impl.h"
#include "str.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A glpeer ps waiting for the answers of every node, or a glpeer kill
   for its job's home's. */
typedef struct list_req {
    uint64_t conn;
    bool kill; /* a glpeer kill waiting for the job's home, not a ps */
    bool ckpt; /* a checkpoint, move or probe: answered by the home or host */
    char image_from[GL_NAME_MAX + 1]; /* the host a checkpoint's image comes from */
    char gpid[GL_GPID_MAX + 1];       /* the kill's job */
    uint64_t id;                      /* the LIST's seq, echoed in replies */
    uint32_t expected, got;
    uint64_t deadline_ms;
    char (*asked)[GL_NAME_MAX + 1]; /* who we asked; "" once they answered */
    struct list_req *next;
} list_req_t;

#define LIST_WAIT_MS 1500
/* A checkpoint or a move waits this long for a word (each IMAGE starts it
   again): the shim's answer, a restore elsewhere, the image's transfer. */
#define CKPT_WAIT_MS 60000

/* Where a ps or a kill waits for the answers: one of lists, or NULL. */
static list_req_t *list_add (jobs_t *self, uint64_t conn, uint64_t now, size_t n)
{
    list_req_t *l = calloc (1, sizeof *l);
    if (l && !(l->asked = calloc (n ? n : 1, sizeof *l->asked))) {
        free (l);
        l = NULL;
    }
    if (!l)
        return NULL;
    l->conn = conn;
    l->id = ++self->next_list_id;
    l->deadline_ms = now + LIST_WAIT_MS;
    l->next = self->lists;
    self->lists = l;
    return l;
}

/* Ask every live member which jobs it runs; replies go to conn as they
   come, and the stream closes when all have answered or time is up. */
void ps_start (jobs_t *self, uint64_t conn, int code, uint64_t now)
{
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    list_req_t *l = list_add (self, conn, now, n);
    if (!l) {
        free (cands);
        self->io.close_local (self->io.arg, conn);
        return;
    }
    gl_job_t ask = { .type = GL_JOB_LIST, .seq = l->id, .code = code == GL_LIST_PROBE ? code : 0 };
    gl_strlcpy (ask.home, self->name, sizeof ask.home);
    for (size_t i = 0; cands && i < n; i++)
        if (cands[i].state == 0) { /* alive (swim_state_t) */
            gl_strlcpy (l->asked[l->expected++], cands[i].name, sizeof l->asked[0]);
            jobs_to_node (self, cands[i].name, &ask);
        }
    free (cands);
    if (!l->expected)
        l->deadline_ms = now;
}

static void ps_remove (jobs_t *self, list_req_t *gone, bool close_it)
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
   GPID USER NODE HOME START(unix s) COMMAND WHY, then for a gang's
   process GANG ROW LEADER TERM STATE as this node sees them ("-" each
   for other jobs), then the job's STATE, MOVABLE (the last probe's
   answer) and KEPT (what its home keeps to restart it, jobs_recover.c;
   "-" each when not known) */
static void ps_send (jobs_t *self, const char *to, uint64_t seq, const char *text, bool last)
{
    gl_job_t reply = {
        .type = GL_JOB_LIST_REPLY, .seq = seq, .text = text[0] ? (char *) text : NULL, .eof = last
    };
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    jobs_to_node (self, to, &reply);
}

/* Our jobs, one line each, in as many replies as they need; the last one
   says so (eof), and only it counts as this node's answer. */
static void ps_answer_now (jobs_t *self, const char *from, uint64_t seq)
{
    char text[GL_JOB_TEXT_MAX + 1];
    size_t n = 0;
    text[0] = '\0';
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (h->killed || h->held) /* a move's new process shows once it took over */
            continue;
        char line[1536], gang[400];
        gang_host_fields (self, h, gang, sizeof gang);
        /* a gang's process stops and goes on with its slices: running */
        const char *state = h->move                                       ? "moving"
                            : h->suspended                                ? "suspended"
                            : !h->fz && h->exec && exec_stopped (h->exec) ? "stopped"
                                                                          : "running";
        int k =
            snprintf (line, sizeof line, "%s\t%s\t%s\t%s\t%llu\t%s\t%s%s\t%s\t%s\t%s\n", h->gpid,
                      h->user[0] ? h->user : "-", self->name, h->home,
                      (unsigned long long) h->start_wall_s, h->cmd, h->why[0] ? h->why : "-", gang,
                      state, h->movable[0] ? h->movable : "-", h->kept[0] ? h->kept : "-");
        if (k < 0)
            continue;
        if ((size_t) k >= sizeof line) { /* cut, but still one line */
            k = (int) sizeof line - 1;
            line[k - 1] = '\n';
        }
        if (n + (size_t) k > GL_JOB_TEXT_MAX) {
            ps_send (self, from, seq, text, false);
            n = 0;
        }
        memcpy (text + n, line, (size_t) k + 1);
        n += (size_t) k;
    }
    text[n] = '\0';
    ps_send (self, from, seq, text, true);
}

/* Are probes of our jobs still waiting for their shims? */
static bool probing (jobs_t *self)
{
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (h->ck && ckpt_probing (h))
            return true;
    return false;
}

/* A ps: at once, or, for ps -v, once every job here was asked whether it
   could move (PS_PROBE_MS at most). */
void ps_answer (jobs_t *self, const char *from, const gl_job_t *ask, uint64_t now)
{
    if (ask->code != GL_LIST_PROBE) {
        ps_answer_now (self, from, ask->seq);
        return;
    }
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (!h->killed && !h->held && !h->move && !h->ck) {
            gl_job_t probe;
            jobs_msg_init (&probe, GL_JOB_CKPT, h->gpid, h->home);
            probe.code = GL_CKPT_ASK_PROBE;
            ckpt_start (self, h, &probe, "", now);
        }
    size_t i = 0;
    while (i < PS_PENDING_MAX && self->ps_pending[i].from[0])
        i++;
    if (i == PS_PENDING_MAX || !probing (self)) { /* no room to wait: as it is */
        ps_answer_now (self, from, ask->seq);
        return;
    }
    gl_strlcpy (self->ps_pending[i].from, from, sizeof self->ps_pending[i].from);
    self->ps_pending[i].seq = ask->seq;
    self->ps_pending[i].deadline_ms = now + PS_PROBE_MS;
}

static void kill_failed (jobs_t *self, uint64_t conn, const char *gpid, const char *text)
{
    gl_job_t failed;
    jobs_msg_init (&failed, GL_JOB_FAILED, gpid, self->name);
    failed.code = JOBS_ERR_BAD_REQUEST;
    failed.text = (char *) text;
    jobs_to_local (self, conn, &failed);
}

void ps_reply (jobs_t *self, const char *from, const gl_job_t *reply)
{
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->id == reply->seq) {
            /* only a node we asked, and only until its last reply */
            uint32_t k = 0;
            while (k < l->expected && !gl_streq (l->asked[k], from))
                k++;
            if (k == l->expected && !l->ckpt)
                return;
            if (reply->eof && k < l->expected)
                l->asked[k][0] = '\0';
            gl_job_t fwd = *reply;
            gl_strlcpy (fwd.node, from, sizeof fwd.node);
            if (l->kill && reply->code) /* the home refused it: say why */
                kill_failed (self, l->conn, l->gpid, reply->text ? reply->text : "refused");
            else if (fwd.text)
                jobs_to_local (self, l->conn, &fwd);
            if (reply->eof && ++l->got >= l->expected)
                ps_remove (self, l, true);
            return;
        }
}

/* glpeer kill: a signal for a job this stream did not start.  Its GPID
   names its home (HOME-GENERATION-N), which knows whose job it is and
   where it runs: the signal goes there with the asking user, and the
   home's answer, done or refused, comes back to conn. */
void ps_kill (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now)
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
    if (!dash || !gl_name_valid (home)) {
        kill_failed (self, conn, job->gpid, "not a GPID (HOME-GENERATION-NUMBER)");
        self->io.close_local (self->io.arg, conn);
        return;
    }
    list_req_t *l = list_add (self, conn, now, 1);
    if (!l) {
        self->io.close_local (self->io.arg, conn); /* out of memory */
        return;
    }
    l->kill = true;
    gl_strlcpy (l->gpid, job->gpid, sizeof l->gpid);
    l->expected = 1;
    gl_strlcpy (l->asked[0], home, sizeof l->asked[0]);
    gl_job_t sig = *job; /* node stays empty: "to the home, to relay" */
    gl_strlcpy (sig.home, home, sizeof sig.home);
    sig.node[0] = '\0';
    sig.seq = l->id;
    jobs_to_node (self, home, &sig);
}

/* At the job's home: a glpeer kill from the agent `from`, for the user
   it names.  Relayed only for the job's own user or root; answered, with
   the reason when refused, so that the asker hears why in one line. */
void ps_kill_at_home (jobs_t *self, const char *from, const gl_job_t *job)
{
    char text[GL_GPID_MAX + 2 * GL_JOB_USER_MAX + GL_NAME_MAX + 160];
    gl_job_t reply = { .type = GL_JOB_LIST_REPLY, .seq = job->seq, .eof = true, .text = text };
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    const char *owner = home_job_user (self, job->gpid);
    if (!owner) {
        snprintf (text, sizeof text, "refused: no running job %s at its home %s", job->gpid,
                  self->name);
        reply.code = 1;
    }
    else if (!access_may_signal (job->user, owner)) {
        snprintf (text, sizeof text,
                  "refused: %s is %s's job; only %s and root may signal it, not %s", job->gpid,
                  owner[0] ? owner : "an unnamed user", owner[0] ? owner : "its user",
                  job->user[0] ? job->user : "an unnamed user");
        reply.code = 1;
    }
    else if (home_relay_signal (self, job))
        snprintf (text, sizeof text,
                  "signal %d for %s held at its home %s until its move or restart is over",
                  job->signo, job->gpid, self->name);
    else
        snprintf (text, sizeof text, "signal %d sent to %s through its home %s", job->signo,
                  job->gpid, self->name);
    if (job->seq) /* an asker that waits for the answer */
        jobs_to_node (self, from, &reply);
}

/* ---- checkpoints: glpeer checkpoint, migrate, ps -v ---------------------------------------- */

/* glpeer checkpoint or migrate: a CKPT for the job's home, as a kill is;
   its answer (a refusal, a move's outcome) or a checkpoint's image comes
   back to conn. */
void ps_ckpt (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now)
{
    /* glpeer checkpoint listens for its image itself and says "*:PORT":
       our address with that port, so the host sends the image there,
       sealed, and not through two agents; with no address of ours
       (transport/move_direct = no) the image comes in IMAGEs as before.
       A local client names no other address. */
    gl_job_t ask = *job;
    if (ask.move_addr[0]) {
        const char *p = ask.move_addr + 2;
        uint64_t port = 0;
        if (ask.code != GL_CKPT_ASK_FILE || strncmp (ask.move_addr, "*:", 2) ||
            !gl_parse_u64 (&p, &port) || *p || !port || port > 65535) {
            kill_failed (self, conn, job->gpid,
                         "a checkpoint's image address must be *:PORT (this node's address)");
            self->io.close_local (self->io.arg, conn);
            return;
        }
        if (!ckpt_own_addr (self, (unsigned) port, ask.move_addr, sizeof ask.move_addr)) {
            ask.move_addr[0] = '\0';
            memset (ask.move_key, 0, sizeof ask.move_key);
        }
    }
    size_t before = 0;
    for (list_req_t *l = self->lists; l; l = l->next)
        before++;
    ps_kill (self, conn, &ask, now); /* routed to the home with the asker's user */
    sodium_memzero (ask.move_key, sizeof ask.move_key);
    size_t after = 0;
    for (list_req_t *l = self->lists; l; l = l->next)
        after++;
    if (after > before) { /* the newest is at the head */
        self->lists->ckpt = true;
        self->lists->deadline_ms = now + CKPT_WAIT_MS;
    }
}

/* At the job's home: its user (or root) may ask; a checkpoint to a file
   or a probe goes to the host, with where to answer; a move the home
   runs itself. */
void ps_ckpt_at_home (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    char text[GL_GPID_MAX + 2 * GL_JOB_USER_MAX + GL_NAME_MAX + 160];
    gl_job_t reply = {
        .type = GL_JOB_LIST_REPLY, .seq = job->seq, .eof = true, .text = text, .code = 1
    };
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    const char *owner = home_job_user (self, job->gpid);
    if (!owner)
        snprintf (text, sizeof text, "refused: no running job %s at its home %s", job->gpid,
                  self->name);
    else if (!access_may_signal (job->user, owner))
        snprintf (text, sizeof text,
                  "refused: %s is %s's job; only %s and root may checkpoint or move it, not %s",
                  job->gpid, owner[0] ? owner : "an unnamed user", owner[0] ? owner : "its user",
                  job->user[0] ? job->user : "an unnamed user");
    else if (job->code == GL_CKPT_ASK_MOVE) {
        home_move_start (self, job->gpid, from, job->seq, job->to, now);
        return;
    }
    else {
        gl_job_t fwd = *job;
        gl_strlcpy (fwd.to, from, sizeof fwd.to); /* the image and the answer go there */
        fwd.user[0] = '\0';
        home_relay_signal (self, &fwd);
        return;
    }
    jobs_to_node (self, from, &reply);
}

static list_req_t *ckpt_by_gpid (jobs_t *self, const char *gpid)
{
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->ckpt && gl_streq (l->gpid, gpid))
            return l;
    return NULL;
}

/* An image for a glpeer checkpoint waiting here: to its stream, in order
   (the stream checks the numbers); its end closes it. */
void ps_image (jobs_t *self, const char *from, const gl_job_t *img, uint64_t now)
{
    list_req_t *l = ckpt_by_gpid (self, img->gpid);
    if (!l || (l->image_from[0] && !gl_streq (l->image_from, from)))
        return;
    gl_strlcpy (l->image_from, from, sizeof l->image_from);
    l->deadline_ms = now + CKPT_WAIT_MS;
    jobs_to_local (self, l->conn, img);
    if (img->eof)
        ps_remove (self, l, true);
}

/* glpeer checkpoint wrote some of the image: its sender may send more. */
void ps_credit (jobs_t *self, uint64_t conn, const gl_job_t *credit)
{
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->conn == conn && l->ckpt && l->image_from[0] && credit->stream == 3) {
            gl_job_t fwd;
            jobs_msg_init (&fwd, GL_JOB_CREDIT, l->gpid, self->name);
            fwd.stream = 3;
            fwd.credit = credit->credit;
            jobs_to_node (self, l->image_from, &fwd);
            return;
        }
}

/* The glpeer ps of conn went away: stop collecting for it. */
void ps_local_closed (jobs_t *self, uint64_t conn)
{
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->conn == conn) {
            ps_remove (self, l, false);
            break;
        }
}

void ps_tick (jobs_t *self, uint64_t now)
{
    bool still = probing (self);
    for (size_t i = 0; i < PS_PENDING_MAX; i++)
        if (self->ps_pending[i].from[0] && (!still || now >= self->ps_pending[i].deadline_ms)) {
            ps_answer_now (self, self->ps_pending[i].from, self->ps_pending[i].seq);
            self->ps_pending[i].from[0] = '\0';
        }
    list_req_t *ln;
    for (list_req_t *l = self->lists; l; l = ln) {
        ln = l->next;
        if (now >= l->deadline_ms && l->kill) {
            char text[GL_NAME_MAX + 64];
            snprintf (text, sizeof text, "the job's home %s did not answer", l->asked[0]);
            kill_failed (self, l->conn, l->gpid, text);
        }
        if (now >= l->deadline_ms)
            ps_remove (self, l, true); /* whoever did not answer is left out */
    }
}

uint64_t ps_next_deadline (jobs_t *self, uint64_t next)
{
    for (size_t i = 0; i < PS_PENDING_MAX; i++)
        if (self->ps_pending[i].from[0] && self->ps_pending[i].deadline_ms < next)
            next = self->ps_pending[i].deadline_ms;
    for (list_req_t *l = self->lists; l; l = l->next)
        if (l->deadline_ms < next)
            next = l->deadline_ms;
    return next;
}

void ps_free_all (jobs_t *self)
{
    while (self->lists) {
        list_req_t *l = self->lists;
        self->lists = l->next;
        free (l->asked);
        free (l);
    }
}
