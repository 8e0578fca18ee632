/*  host.c -- the host role of the job module (see jobs.h): the agent that
    runs a job for its home, if its slots have room.  It reads the job's
    output only as far as the home granted credit, writes what arrives
    for its stdin, sends its exit after all its output, and kills a job
    whose home stopped pinging.  Not public: the module's interface is
    jobs.h, what its files share jobs_impl.h. */
#include "jobs_impl.h"
#include "ckpt_proto.h"
#include "fd.h"
#include "log.h"
#include "str.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_POLL_MS 200 /* a host looks for exits on SIGCHLD, and this often */

/* The job's pipes the agent watches for us, and for what (jobs_io_t
   watch): stdout and stderr while there is credit to send what they
   hold, stdin while there is something to write to it or its end to
   give; a pty is one fd both ways.  None once the job is killed or
   freed.  host_watch is called after anything that changes those. */
void host_watch_set (jobs_t *self, host_watch_t *w, int fd, short events)
{
    if (fd < 0)
        events = 0;
    if (w->events && (w->fd != fd || !events)) {
        self->io.watch (self->io.arg, w->fd, 0);
        w->events = 0;
    }
    if (events && (w->fd != fd || w->events != events))
        self->io.watch (self->io.arg, fd, events);
    w->fd = fd;
    w->events = events;
}

/* May we read output stream s now?  Credit, during a move only what
   came before the snapshot, and nothing of a restart until the restorer
   has become the job: what it wrote till then is its reason if it
   failed, which goes with the failure, not as the job's output. */
static bool host_may_read (const host_job_t *h, int s)
{
    return !h->out_done[s] && h->credit[s] && (!h->move || h->pre[s]) && !ckpt_holds_streams (h) &&
           !(h->restart && h->img_fd >= 0);
}

void host_watch (jobs_t *self, host_job_t *h)
{
    int in = -1, out = -1, err = -1;
    short ev_in = 0, ev_out = 0, ev_err = 0;
    if (h->exec && (!h->killed || h->move == MOVE_DRAINING)) {
        in = exec_fd_stdin (h->exec);
        out = exec_fd_stdout (h->exec);
        err = exec_fd_stderr (h->exec);
        ev_out = host_may_read (h, 1) ? POLLIN : 0;
        ev_in = (h->in_len > h->in_off || (h->in_eof && !h->in_closed)) && !h->move &&
                        !ckpt_holds_streams (h)
                    ? POLLOUT
                    : 0;
        ev_err = host_may_read (h, 2) ? POLLIN : 0;
        if (in >= 0 && in == out) { /* a pty: one fd both ways */
            ev_out |= ev_in;
            in = -1;
        }
    }
    host_watch_set (self, &h->watch[0], in, ev_in);
    host_watch_set (self, &h->watch[1], out, ev_out);
    host_watch_set (self, &h->watch[2], err, ev_err);
    pmi_host_watch (self, h);
    ckpt_watch (self, h);
}

static void host_kill (host_job_t *h)
{
    gang_host_thaw (h); /* a frozen process takes a SIGKILL only once thawed */
    exec_signal (h->exec, SIGKILL);
    h->killed = true;
}

static void host_free (jobs_t *self, host_job_t *h)
{
    gang_host_free (self, h); /* continued first, then killed below */
    ckpt_free (self, h);
    if (h->exec) {
        h->killed = true; /* no more watching: its fds close below */
        host_watch (self, h);
        if (self->io.guest)
            self->io.guest (self->io.arg, h->pid, false);
        exec_destroy (&h->exec); /* kills what is left of it */
    }
    pmi_host_close (self, h);
    slots_release (jobs_slots_for (self, h->gang), h->gpid);
    free (h->in);
    free (h);
}

host_job_t *host_by_gpid (jobs_t *self, const char *gpid)
{
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (gl_streq (h->gpid, gpid))
            return h;
    return NULL;
}

void host_send (jobs_t *self, host_job_t *h, gl_job_t *job)
{
    gl_strlcpy (job->gpid, h->gpid, sizeof job->gpid);
    gl_strlcpy (job->home, h->home, sizeof job->home);
    gl_strlcpy (job->node, self->name, sizeof job->node);
    jobs_to_node (self, h->home, job);
}

static int err_code (exec_err_t e)
{
    return e == EXEC_ERR_NOT_FOUND ? JOBS_ERR_NOT_FOUND
           : e == EXEC_ERR_DENIED  ? JOBS_ERR_DENIED
                                   : JOBS_ERR_START;
}

/* Variables that describe the job's place here, which we set, and those
   that describe a launcher's connection elsewhere (a glx run from an MPI
   rank has them): never passed on. */
static bool launcher_var (const char *var)
{
    static const char *const names[] = { "GLUNIX_GPID=", "GLUNIX_HOME=",     "GLUNIX_NODE=",
                                         "GLUNIX_GANG=", "PMI_FD=",          "PMI_PORT=",
                                         "PMI_ID=",      "PMI_RANK=",        "PMI_SIZE=",
                                         "PMI_SPAWNED=", "MPI_LOCALNRANKS=", "MPI_LOCALRANKID=" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp (var, names[i], strlen (names[i])))
            return true;
    return false;
}

/* LD_PRELOAD for a job: the list it brought (separated by colons or
   spaces, as ld.so reads it), less any libglshim.so (another node's, or
   one a job of ours passed on through glx), then shim.  "LD_PRELOAD=..."
   malloc'ed; "" when nothing is left to preload; NULL when out of memory. */
static char *job_preload (const char *user, const char *shim)
{
    size_t len = strlen ("LD_PRELOAD=") + (user ? strlen (user) : 0) + strlen (shim) + 2;
    char *out = malloc (len);
    if (!out)
        return NULL;
    size_t n = (size_t) snprintf (out, len, "LD_PRELOAD=");
    bool any = false;
    for (const char *p = user ? user : ""; *p;) {
        size_t k = strcspn (p, ": ");
        const char *base = memrchr (p, '/', k);
        base = base ? base + 1 : p;
        size_t blen = k - (size_t) (base - p);
        bool ours = blen == strlen ("libglshim.so") && !memcmp (base, "libglshim.so", blen);
        if (k && !ours) {
            n += (size_t) snprintf (out + n, len - n, "%s%.*s", any ? ":" : "", (int) k, p);
            any = true;
        }
        p += k;
        p += strspn (p, ": ");
    }
    if (shim[0]) {
        snprintf (out + n, len - n, "%s%s", any ? ":" : "", shim);
        any = true;
    }
    if (!any)
        out[0] = '\0';
    return out;
}

void jobs_set_job_env (jobs_t *self, const char *runtime_dir, const char *shim)
{
    gl_strlcpy (self->runtime_dir, runtime_dir ? runtime_dir : "", sizeof self->runtime_dir);
    gl_strlcpy (self->shim, shim ? shim : "", sizeof self->shim);
}

static void host_run (jobs_t *self, const char *from, const gl_job_t *req, uint64_t now)
{
    gl_job_t reply;
    jobs_msg_init (&reply, GL_JOB_REFUSED, req->gpid, req->home);
    gl_strlcpy (reply.node, self->name, sizeof reply.node);
    if (host_by_gpid (self, req->gpid))
        return; /* a duplicate: it runs already */
    const char *why = NULL;
    if (!gl_streq (from, req->home) || !req->argc || !req->cwd) {
        reply.type = GL_JOB_FAILED;
        reply.code = JOBS_ERR_BAD_REQUEST;
        reply.text = (char *) "malformed request";
        jobs_to_node (self, from, &reply);
        return;
    }
    /* the home's own word for it (cred.h), before anything else */
    if (self->io.check && self->io.check (self->io.arg, req, &why)) {
        char text[GL_NAME_MAX + 120];
        snprintf (text, sizeof text, "%s: refused: %s", self->name, why ? why : "bad credential");
        reply.type = GL_JOB_FAILED;
        reply.code = JOBS_ERR_START;
        reply.text = text;
        jobs_to_node (self, from, &reply);
        return;
    }
    /* whom it runs as: the local account of its user's name, if allowed */
    uid_t run_uid;
    gid_t run_gid;
    char refusal[400];
    if (access_account (self->access, req->user, req->uid, &run_uid, &run_gid, refusal,
                        sizeof refusal)) {
        char text[GL_NAME_MAX + 420];
        snprintf (text, sizeof text, "%s: %s", self->name, refusal);
        reply.type = GL_JOB_FAILED;
        reply.code = JOBS_ERR_START;
        reply.text = text;
        jobs_to_node (self, from, &reply);
        return;
    }
    /* a move's restorer stands on a new pty (glx -t), as the job did on
       the old host's; a restart from a file is given pipes */
    bool no_pty = req->pty && req->restart != GL_JOB_RESTART_MOVE;
    if (req->restart && (req->size > 1 || no_pty || !self->restorer[0])) {
        char text[GL_NAME_MAX + 120];
        snprintf (text, sizeof text, "%s: %s", self->name,
                  !self->restorer[0] ? "cannot restart: no restorer (" GL_RESTORE_PROG ") here"
                  : no_pty           ? "cannot restart a job on a terminal"
                                     : "cannot restart a rank of a parallel job");
        reply.type = GL_JOB_FAILED;
        reply.code = JOBS_ERR_START;
        reply.text = text;
        jobs_to_node (self, from, &reply);
        return;
    }
    slots_t *slots = jobs_slots_for (self, req->gang);
    if (!slots_offer (slots, req->gpid, req->cores, req->mem_kb, now, &why)) {
        char text[256];
        snprintf (text, sizeof text, "%s: %s", self->name, why ? why : "no room");
        reply.text = text;
        jobs_to_node (self, from, &reply);
        return;
    }

    /* argv and the environment, NULL-terminated, with our variables. */
    char **argv = calloc ((size_t) req->argc + 1, sizeof *argv);
    char **envp = calloc ((size_t) req->envc + 16, sizeof *envp); /* ours: 11 at most */
    char gpid_var[GL_GPID_MAX + 16], home_var[GL_NAME_MAX + 16], node_var[GL_NAME_MAX + 16];
    char run_var[sizeof self->runtime_dir + 32], *preload = NULL;
    char rank_var[32], size_var[32];
    char gang_var[GL_GPID_MAX + 16];
    char ckpt_var[sizeof self->ckpt_path + 32];
    snprintf (ckpt_var, sizeof ckpt_var, "%s=%s", GL_CKPT_SOCK_ENV, self->ckpt_path);
    char *restorer_argv[] = { self->restorer, NULL };
    int img[2] = { -1, -1 }; /* a restart: the restorer's image socket */
    snprintf (gang_var, sizeof gang_var, "GLUNIX_GANG=%s", req->gang);
    snprintf (gpid_var, sizeof gpid_var, "GLUNIX_GPID=%s", req->gpid);
    snprintf (home_var, sizeof home_var, "GLUNIX_HOME=%s", req->home);
    snprintf (node_var, sizeof node_var, "GLUNIX_NODE=%s", self->name);
    snprintf (run_var, sizeof run_var, "GLUNIX_RUNTIME_DIR=%s", self->runtime_dir);
    snprintf (rank_var, sizeof rank_var, "PMI_RANK=%u", req->rank);
    snprintf (size_var, sizeof size_var, "PMI_SIZE=%u", req->size);
    host_job_t *h = calloc (1, sizeof *h);
    exec_err_t code = EXEC_ERR_SYSTEM;
    char err[512] = "out of memory";
    int pmi_end = -1; /* a parallel job's rank: its end of the PMI socket */
    if (h && req->size > 1 && pmi_host_open (self, h, &pmi_end) < 0)
        snprintf (err, sizeof err, "cannot make the PMI socket: %s", strerror (errno));
    else if (h && req->restart &&
             (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, img) || gl_set_nonblock (img[0])))
        snprintf (err, sizeof err, "cannot make the image's socket: %s", strerror (errno));
    else if (argv && envp && h) {
        if (img[0] >= 0) {
            /* A window of the image fits in the socket whatever
               net.core.wmem_max says: the restorer reads in large reads
               and we wake once a window, not once per 200 KiB.  Bounded:
               the sender never has more than JOBS_WINDOW in flight. */
            int room = JOBS_WINDOW;
            if (setsockopt (img[0], SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room))
                setsockopt (img[0], SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
        }
        memcpy (argv, req->argv, req->argc * sizeof *argv);
        size_t n = 0;
        const char *user_preload = NULL;
        bool no_shim = false;
        for (uint32_t i = 0; i < req->envc; i++) {
            const char *e = req->envv[i];
            if (launcher_var (e) ||
                (self->runtime_dir[0] && !strncmp (e, "GLUNIX_RUNTIME_DIR=", 19)) ||
                !strncmp (e, GL_CKPT_SOCK_ENV "=", strlen (GL_CKPT_SOCK_ENV) + 1) ||
                !strncmp (e, GL_IMAGE_FD_ENV "=", strlen (GL_IMAGE_FD_ENV) + 1))
                continue;
            if (!strncmp (e, "LD_PRELOAD=", 11)) {
                user_preload = e + 11;
                continue;
            }
            no_shim |= gl_streq (e, "GLUNIX_SHIM=0");
            envp[n++] = req->envv[i];
        }
        envp[n++] = gpid_var;
        envp[n++] = home_var;
        envp[n++] = node_var;
        if (req->gang[0])
            envp[n++] = gang_var;
        if (self->runtime_dir[0])
            envp[n++] = run_var;
        if (self->ckpt_path[0])
            envp[n++] = ckpt_var;
        if (img[1] >= 0)
            envp[n++] = (char *) GL_IMAGE_FD_ENV "=3";
        preload = job_preload (user_preload, no_shim ? "" : self->shim);
        if (preload && preload[0])
            envp[n++] = preload;
        if (pmi_end >= 0) { /* what MPICH's launcher tells a rank */
            envp[n++] = (char *) "PMI_FD=3";
            envp[n++] = rank_var;
            envp[n++] = size_var;
        }
        exec_spec_t spec;
        exec_spec_init (&spec);
        spec.file = req->argv[0];
        spec.argv = argv;
        spec.envp = envp;
        spec.rlimits = req->rlimits;
        spec.n_rlimits = req->n_rlimits;
        spec.cwd = req->cwd;
        spec.umask = (mode_t) req->umask;
        spec.uid = run_uid;
        spec.gid = run_gid;
        spec.user = req->user;
        spec.pty = req->pty;
        spec.closed = req->closed;
        spec.rows = (uint16_t) req->rows;
        spec.cols = (uint16_t) req->cols;
        spec.fd3 = pmi_end;
        if (img[1] >= 0) { /* the restorer, reading the image on its fd 3 */
            spec.file = self->restorer;
            spec.argv = restorer_argv;
            spec.fd3 = img[1];
            spec.closed = 0; /* its streams are what the image's become */
            /* where the job is now is the image's to say (glrestore
               checks it); the directory the job started in may be gone */
            spec.cwd = "/";
        }
        h->exec = exec_start (&spec, &code, err, sizeof err);
    }
    if (pmi_end >= 0)
        close (pmi_end); /* the job has its own copy */
    if (img[1] >= 0)
        close (img[1]);
    if (h)
        h->img_fd = -1;
    if (img[0] >= 0 && (!h || !h->exec))
        close (img[0]);
    free (argv);
    free (envp);
    free (preload);
    if (!h || !h->exec) {
        if (h)
            pmi_host_close (self, h);
        free (h);
        slots_release (slots, req->gpid);
        reply.type = GL_JOB_FAILED;
        reply.code = err_code (code);
        char text[600];
        snprintf (text, sizeof text, "%s: %s", self->name, err);
        reply.text = text;
        jobs_to_node (self, from, &reply);
        return;
    }
    slots_start (slots, req->gpid, now);
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
    h->uid = run_uid;
    h->pty = req->pty;
    h->restart = req->restart;
    h->img_fd = img[0];
    /* a move's new process says nothing until the old one's output is out */
    h->held = req->restart == GL_JOB_RESTART_MOVE;
    h->credit[1] = h->credit[2] = h->held ? 0 : JOBS_WINDOW;
    h->out_done[0] = true;
    h->out_done[2] = exec_fd_stderr (h->exec) < 0;
    h->last_ping_ms = now;
    gang_host_started (self, h, req->gang, now);
    h->next = self->hosts;
    self->hosts = h;
    host_watch (self, h);
    if (self->io.guest)
        self->io.guest (self->io.arg, h->pid, true);
    reply.type = GL_JOB_STARTED; /* glx may now send JOBS_WINDOW of stdin */
    reply.pid = (uint32_t) h->pid;
    reply.seq = ++self->started; /* our estimates will count it */
    jobs_to_node (self, from, &reply);
}

/* Write what we hold for the job's stdin; grant the sender as much again. */
static void host_write_stdin (jobs_t *self, host_job_t *h)
{
    if (ckpt_holds_streams (h)) /* held in ours meanwhile */
        return;
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
        h->in_written += (uint64_t) n;
        if (h->in_owed >= JOBS_CREDIT_BATCH) {
            gl_job_t credit;
            jobs_msg_init (&credit, GL_JOB_CREDIT, h->gpid, h->home);
            credit.stream = 0;
            credit.credit = h->in_owed;
            h->in_owed = 0;
            host_send (self, h, &credit);
        }
    }
    if (h->in_off == h->in_len)
        h->in_off = h->in_len = 0;
    if (h->in_eof && !h->in_closed && h->in_len == 0) {
        host_watch_set (self, &h->watch[0], -1, 0); /* closed below, if a pipe */
        if (exec_close_stdin (h->exec) == 0 || errno != EAGAIN)
            h->in_closed = true;
    }
}

static void host_stdin (jobs_t *self, host_job_t *h, const gl_job_t *job)
{
    if (job->seq != h->seq_in || h->in_eof) {
        host_kill (h); /* a lost message: don't feed it garbage */
        return;
    }
    h->seq_in++;
    /* a restarted job first gets what its old process had not read, which
       glx had already been told was taken: up to a pipe more */
    uint64_t window = h->restart ? 2 * JOBS_WINDOW : JOBS_WINDOW;
    if (job->len) {
        if (h->in_len - h->in_off + job->len > window) {
            host_kill (h); /* the sender broke the window */
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

void host_from_home (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now)
{
    if (job->type == GL_JOB_RUN) {
        host_run (self, from, job, now);
        return;
    }
    host_job_t *h = host_by_gpid (self, job->gpid);
    if (!h)
        return;
    /* an image comes from whoever has it (glx through the home, or the old
       host), and its credit from whoever takes it (the asker, the new host) */
    if (job->type == GL_JOB_IMAGE) {
        ckpt_image (self, h, from, job);
        host_watch (self, h);
        return;
    }
    if (job->type == GL_JOB_CREDIT && job->stream == 3) {
        ckpt_credit (self, h, from, job->credit);
        host_watch (self, h);
        return;
    }
    if (!gl_streq (from, h->home))
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
        case GL_JOB_SIGNAL: {
            /* A job without a terminal leads a session of its own, so the kernel
           treats it as an orphaned process group and drops SIGTSTP: stop it
           with SIGSTOP instead, which nothing can drop. */
            int signo = job->signo == SIGTSTP && !h->pty ? SIGSTOP : job->signo;
            if (signo == SIGSTOP) {
                h->user_stopped = true;
                ckpt_user_stopped (self, h);
            }
            if (signo == SIGCONT)
                h->user_stopped = false;
            h->user_signal = signo;
            if (!(signo == SIGCONT && h->suspended)) /* its owner is still back */
                exec_signal (h->exec, signo);
            gang_host_signal (h, job->signo);
            break;
        }
        case GL_JOB_WINSIZE:
            exec_winsize (h->exec, (uint16_t) job->rows, (uint16_t) job->cols);
            break;
        case GL_JOB_KILL: host_kill (h); break;
        case GL_JOB_PMI_REPLY: pmi_host_reply (self, h, job); break;
        case GL_JOB_CKPT:
            if (job->code == GL_CKPT_KEPT) { /* only news, for ps -v */
                gl_strlcpy (h->kept, job->text ? job->text : "", sizeof h->kept);
                for (char *c = h->kept; *c; c++)
                    if (*c == '\t' || *c == '\n')
                        *c = ' ';
                break;
            }
            /* the asker: where a refusal goes; the home for a move */
            ckpt_start (self, h, job, job->code == GL_CKPT_ASK_MOVE ? h->home : job->to, now);
            break;
        case GL_JOB_MOVE:
            ckpt_move (self, h, job, now);
            if (!host_by_gpid (self, job->gpid))
                return; /* dropped */
            break;
        default: break;
    }
    host_watch (self, h); /* credit, stdin or a kill may change it */
}

/* Read what the job wrote, as far as credit allows. */
static void host_read (jobs_t *self, host_job_t *h, int stream)
{
    int fd = stream == 1 ? exec_fd_stdout (h->exec) : exec_fd_stderr (h->exec);
    static uint8_t buf[JOBS_CHUNK];
    while (host_may_read (h, stream)) {
        size_t want = h->credit[stream] < sizeof buf ? (size_t) h->credit[stream] : sizeof buf;
        if (h->move && h->pre[stream] < want)
            want = (size_t) h->pre[stream];
        ssize_t n = read (fd, buf, want);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (h->move && n <= 0)
            return; /* not its end: the job goes on elsewhere */
        gl_job_t data;
        jobs_msg_init (&data, GL_JOB_DATA, h->gpid, h->home);
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
            h->out_read[stream] += (uint64_t) n;
        }
        host_send (self, h, &data);
        if (h->move) {
            ckpt_read (self, h, stream, (size_t) n); /* may drop h */
            return;
        }
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

void host_drop (jobs_t *self, host_job_t *h)
{
    host_remove (self, h);
}

/* Exits, and jobs whose home went silent. */
void host_tick (jobs_t *self, uint64_t now)
{
    host_job_t *next;
    for (host_job_t *h = self->hosts; h; h = next) {
        next = h->next;
        if (!h->killed && now - h->last_ping_ms > JOBS_ORPHAN_MS) {
            gl_info ("%s: killed: its home %s has not pinged it for %llu ms", h->gpid, h->home,
                     (unsigned long long) (now - h->last_ping_ms));
            host_kill (h);
            host_watch (self, h);
        }
        /* a move's old or unconfirmed new process, or a restorer that
           has not become the job yet (ckpt_tick judges its end): not
           the job's end, unless it was killed (its home or glx went away) */
        if (!h->killed && (h->move || h->held || (h->restart && h->img_fd >= 0)))
            continue;
        exec_status_t st;
        if (!exec_poll_exit (h->exec, &st))
            continue;
        /* All output first, then the exit: nothing may overtake it.  A
           killed job's output is not waited for: nobody reads it. */
        if (!h->killed && !(h->out_done[1] && h->out_done[2]))
            continue;
        gl_job_t ex;
        jobs_msg_init (&ex, GL_JOB_EXIT, h->gpid, h->home);
        ex.code = st.code;
        ex.signo = st.signal;
        ex.core = st.core;
        host_send (self, h, &ex);
        host_remove (self, h);
    }
}

/* Gossip says node is dead or has left: kill the jobs it is home of. */
void host_node_lost (jobs_t *self, const char *node)
{
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (gl_streq (h->home, node) && !h->killed) {
            gl_info ("%s: killed: its home %s is dead or gone", h->gpid, node);
            host_kill (h); /* its home is gone: no one to serve */
            host_watch (self, h);
        }
}

/* next, or sooner while we run jobs: exits are found by looking, often
   enough to feel instant. */
uint64_t host_next_deadline (jobs_t *self, uint64_t now, uint64_t next)
{
    if (self->hosts && now + EXIT_POLL_MS < next)
        next = now + EXIT_POLL_MS;
    return next;
}

void host_free_all (jobs_t *self)
{
    while (self->hosts) {
        host_job_t *h = self->hosts;
        self->hosts = h->next;
        host_free (self, h);
    }
}

void jobs_ready (jobs_t *self, int fd, short revents, uint64_t now)
{
    if (ckpt_ready (self, fd, revents, now))
        return;
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (h->killed)
            continue;
        bool mine = false;
        if (h->move && (fd == exec_fd_stdout (h->exec) || fd == exec_fd_stderr (h->exec))) {
            /* a move's old process: the last read may hand it over and drop it */
            char gpid[GL_GPID_MAX + 1];
            gl_strlcpy (gpid, h->gpid, sizeof gpid);
            host_read (self, h, fd == exec_fd_stdout (h->exec) ? 1 : 2);
            if ((h = host_by_gpid (self, gpid)))
                host_watch (self, h);
            return;
        }
        if (fd == exec_fd_stdout (h->exec) && (revents & (POLLIN | POLLHUP | POLLERR))) {
            host_read (self, h, 1);
            mine = true;
        }
        if (fd == exec_fd_stderr (h->exec) && (revents & (POLLIN | POLLHUP | POLLERR))) {
            host_read (self, h, 2);
            mine = true;
        }
        if (fd == exec_fd_stdin (h->exec) && (revents & (POLLOUT | POLLERR | POLLHUP))) {
            host_write_stdin (self, h);
            mine = true;
        }
        if (h->pmi && pmi_host_ready (self, h, fd, revents))
            mine = true;
        if (mine)
            host_watch (self, h);
    }
}

size_t jobs_hosted (const jobs_t *self, jobs_hosted_t *out, size_t max)
{
    size_t n = 0;
    for (const host_job_t *h = self->hosts; h; h = h->next) {
        if (h->killed || h->held)
            continue;
        if (n < max) {
            jobs_hosted_t *o = &out[n];
            gl_strlcpy (o->gpid, h->gpid, sizeof o->gpid);
            gl_strlcpy (o->home, h->home, sizeof o->home);
            gl_strlcpy (o->user, h->user, sizeof o->user);
            gl_strlcpy (o->cmd, h->cmd, sizeof o->cmd);
            o->pid = h->pid;
            o->start_wall_s = h->start_wall_s;
        }
        n++;
    }
    return n;
}
