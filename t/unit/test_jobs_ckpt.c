/*  test_jobs_ckpt -- the host's side of checkpoints (sched/jobs_ckpt.c),
    against a scripted peer in the job's place.

    The job is this program again ("peer MODE"), which does what
    checkpoint/ckpt_proto.h asks of a shim and nothing more: it catches
    GL_CKPT_SIGNO, connects to GLUNIX_CKPT_SOCK and answers in the
    protocol's lines, its "image" a known pattern written by a child.  So
    this tests the agent's plumbing (the signal, SO_PEERCRED, the lines,
    GO and HOLD, the image under credit, a move's first steps, ps -v's
    probe), not a checkpoint: that is the shim's, tested with it. */
#include "jobs_harness.h"
#include "ckpt_proto.h"
#include "fd.h"
#include "tap.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMAGE_BYTES (6u << 20) /* more than a window: credit must flow */

static uint8_t pattern (size_t i)
{
    return (uint8_t) (i * 7 + i / 4096);
}

/* ---- the scripted peer (the job) --------------------------------------------------- */

static int peer (const char *mode)
{
    jh_job_catch ();
    printf ("ready\n");
    fflush (stdout);
    for (;;) {
        while (!jh_job_asked)
            pause ();
        jh_job_asked = 0;
        int req = jh_job_req;
        if (!strcmp (mode, "mute")) { /* caught, never answered: its user stops it */
            printf ("caught %d\n", (int) getpid ());
            fflush (stdout);
            continue;
        }
        int s = jh_job_hello (req);
        if (s < 0)
            return 3;
        if (!strcmp (mode, "refuse")) {
            dprintf (s, "REFUSE fd 5: a TCP socket to 10.0.0.2:5432\n");
            close (s);
            continue;
        }
        /* a child that ended a moment ago: AGAIN, twice (again2), in
           words that do not say so; a REFUSE in words that say "try
           again" (textagain), every time; each ask counted on stdout */
        static int asks;
        printf ("asked %d\n", ++asks);
        fflush (stdout);
        if (!strcmp (mode, "again2") && asks <= 2) {
            dprintf (s, "AGAIN process 7 (cc) has ended and was not waited for (a zombie does "
                        "not move until its parent has waited for it)\n");
            close (s);
            continue;
        }
        if (!strcmp (mode, "textagain")) {
            dprintf (s, "REFUSE fd 5: a TCP socket to 10.0.0.2:5432: try again\n");
            close (s);
            continue;
        }
        if (req == GL_CKPT_PROBE) {
            dprintf (s, "MOVABLE\n");
            close (s);
            continue;
        }
        dprintf (s, "SNAP 1234\n");
        pid_t child = fork ();
        if (child == 0) { /* the image's writer, as the shim's fork */
            static uint8_t buf[65536];
            for (size_t off = 0; off < IMAGE_BYTES; off += sizeof buf) {
                for (size_t i = 0; i < sizeof buf; i++)
                    buf[i] = pattern (off + i);
                size_t n = IMAGE_BYTES - off < sizeof buf ? IMAGE_BYTES - off : sizeof buf;
                if (gl_write_all (s, buf, n))
                    _exit (1);
            }
            shutdown (s, SHUT_WR);
            _exit (0);
        }
        char line[16];
        size_t n = 0;
        while (n < sizeof line - 1 && read (s, line + n, 1) == 1 && line[n] != '\n')
            n++;
        line[n] = '\0';
        if (!strcmp (line, "HOLD")) { /* parked until killed or let go (GO) */
            char c;
            bool go = false;
            while (read (s, &c, 1) > 0)
                go |= c == 'G';
            if (!go) /* the end with no GO: killed (ckpt_proto.h) */
                raise (SIGKILL);
            printf ("resumed\n");
            fflush (stdout);
        }
        close (s);
        waitpid (child, NULL, 0);
    }
}

/* ---- the agent around jobs_t (jobs_harness.h) ------------------------------------------ */

/* every message the agent sent, decoded, and where it went */
#define SENT_MAX 256
static struct {
    char to[GL_NAME_MAX + 1];
    gl_msg_t msg;
} sent[SENT_MAX];
static size_t n_sent;

static void io_sent (int from, const char *node, const gl_msg_t *msg)
{
    (void) from;
    uint8_t *buf;
    size_t len;
    if (n_sent == SENT_MAX || gl_msg_encode (msg, &buf, &len))
        return;
    if (gl_msg_decode (buf, len, &sent[n_sent].msg, NULL) == 0) {
        snprintf (sent[n_sent].to, sizeof sent[n_sent].to, "%s", node);
        n_sent++;
    }
    free (buf);
}

static const char *const names[1] = { "n" };

static void from_home (gl_job_t *job)
{
    jobs_node_msg (jh_agent[0], "h", job, jh_now ());
}

static void clear_sent (void)
{
    for (size_t i = 0; i < n_sent; i++)
        gl_msg_clear (&sent[i].msg);
    n_sent = 0;
}

/* The first message sent of this type (and code, if code), or NULL;
   sent_to: where it went. */
static const char *sent_to = "";
static const gl_job_t *sent_of (uint8_t type, int code)
{
    for (size_t i = 0; i < n_sent; i++)
        if (sent[i].msg.job->type == type && (!code || sent[i].msg.job->code == code)) {
            sent_to = sent[i].to;
            return sent[i].msg.job;
        }
    return NULL;
}

static void run (const char *gpid, const char *mode)
{
    char *argv[] = { jh_exe, (char *) "peer", (char *) mode };
    char cwd[] = "/";
    gl_job_t r = { .type = GL_JOB_RUN, .argc = 3, .argv = argv, .cwd = cwd };
    snprintf (r.gpid, sizeof r.gpid, "%s", gpid);
    snprintf (r.home, sizeof r.home, "h");
    snprintf (r.user, sizeof r.user, "%s", jh_user);
    r.uid = (uint32_t) geteuid ();
    from_home (&r);
}

static bool started (void)
{
    return sent_of (GL_JOB_STARTED, 0) != NULL;
}

/* The job's stdout so far, as DATA to its home. */
static bool said (const char *what)
{
    for (size_t i = 0; i < n_sent; i++) {
        const gl_job_t *j = sent[i].msg.job;
        if (j->type == GL_JOB_DATA && j->stream == 1 && j->len &&
            memmem (j->data, j->len, what, strlen (what)))
            return true;
    }
    return false;
}

static bool ready (void)
{
    return said ("ready");
}

static bool resumed (void)
{
    return said ("resumed");
}

static bool caught (void)
{
    return said ("caught");
}

/* The mute peer's pid, from its "caught PID" (0: not said yet). */
static pid_t caught_pid (void)
{
    for (size_t i = 0; i < n_sent; i++) {
        const gl_job_t *j = sent[i].msg.job;
        const char *c =
            j->type == GL_JOB_DATA && j->len ? memmem (j->data, j->len, "caught ", 7) : NULL;
        if (c)
            return (pid_t) atoi (c + 7);
    }
    return 0;
}

static bool exited (void)
{
    return sent_of (GL_JOB_EXIT, 0) != NULL;
}

static void grant_output (const char *gpid)
{
    gl_job_t c = { .type = GL_JOB_CREDIT, .stream = 1, .credit = 1 << 20 };
    snprintf (c.gpid, sizeof c.gpid, "%s", gpid);
    from_home (&c);
}

/* A peer job in this mode, started, its output flowing, and ready. */
static void start_job (const char *gpid, const char *mode)
{
    run (gpid, mode);
    jh_pump (3000, started);
    grant_output (gpid);
    jh_pump (3000, ready);
}

/* IMAGEs to `to` so far: bytes, whether in order and as the pattern, the end. */
static size_t image_bytes (const char *to, bool *ok, bool *eof)
{
    size_t total = 0;
    uint64_t seq = 0;
    *ok = true;
    *eof = false;
    for (size_t i = 0; i < n_sent; i++) {
        const gl_job_t *j = sent[i].msg.job;
        if (j->type != GL_JOB_IMAGE || strcmp (sent[i].to, to))
            continue;
        *ok &= j->seq == seq++ && !j->text;
        for (uint32_t k = 0; k < j->len; k++)
            *ok &= j->data[k] == pattern (total + k);
        total += j->len;
        *eof |= j->eof;
    }
    return total;
}

static char *image_to;
static bool image_ended (void)
{
    bool ok, eof;
    image_bytes (image_to, &ok, &eof);
    return eof;
}

static void image_credit (const char *from, const char *gpid, uint64_t n)
{
    gl_job_t c = { .type = GL_JOB_CREDIT, .stream = 3, .credit = n };
    snprintf (c.gpid, sizeof c.gpid, "%s", gpid);
    jobs_node_msg (jh_agent[0], from, &c, jh_now ());
}

static void ckpt (const char *gpid, int ask, const char *to)
{
    gl_job_t c = { .type = GL_JOB_CKPT, .code = ask };
    snprintf (c.gpid, sizeof c.gpid, "%s", gpid);
    snprintf (c.home, sizeof c.home, "h");
    snprintf (c.node, sizeof c.node, "n");
    snprintf (c.to, sizeof c.to, "%s", to);
    c.seq = 77;
    from_home (&c);
}

static const gl_job_t *moved;
static int want_code;
static bool move_said (void)
{
    return (moved = sent_of (GL_JOB_MOVE, want_code)) != NULL;
}

static const gl_job_t *reply;
static bool replied (void)
{
    return (reply = sent_of (GL_JOB_LIST_REPLY, 0)) != NULL;
}

int main (int argc, char **argv)
{
    if (argc == 3 && !strcmp (argv[1], "peer"))
        return peer (argv[2]);
    if (!jh_up ("test_jobs_ckpt", names, 1, false, io_sent))
        return tap_done ("test_jobs_ckpt");
    const char *path = jh_sock (0);

    /* stopped by its user (SIGSTOP from its glx) while the request waits
       for the shim's answer: refused at once, not at the 5 s timeout */
    start_job ("h-1-9", "mute");
    ckpt ("h-1-9", GL_CKPT_ASK_FILE, "asker");
    jh_pump (2000, caught);
    CHECK (caught ());
    gl_job_t sig = { .type = GL_JOB_SIGNAL, .signo = SIGSTOP };
    snprintf (sig.gpid, sizeof sig.gpid, "h-1-9");
    snprintf (sig.home, sizeof sig.home, "h");
    snprintf (sig.node, sizeof sig.node, "n");
    uint64_t t0 = jh_now ();
    from_home (&sig);
    jh_pump (2000, replied);
    CHECK (reply && reply->code == 1 && reply->text && strstr (reply->text, "it is stopped") &&
           !strcmp (sent_to, "asker"));
    CHECK (jh_now () - t0 < 1000);
    sig.signo = SIGKILL; /* its slot is the next job's */
    from_home (&sig);
    jh_pump (2000, exited);
    CHECK (exited ());
    clear_sent ();
    /* the same, stopped by someone on its node (kill -STOP), which its
       host sees in /proc rather than hears */
    start_job ("h-1-8", "mute");
    ckpt ("h-1-8", GL_CKPT_ASK_FILE, "asker");
    jh_pump (2000, caught);
    pid_t mute = caught_pid ();
    CHECK (mute > 0 && kill (mute, SIGSTOP) == 0);
    t0 = jh_now ();
    jh_pump (3000, replied);
    CHECK (reply && reply->code == 1 && reply->text && strstr (reply->text, "it is stopped"));
    CHECK (jh_now () - t0 < 1500);
    snprintf (sig.gpid, sizeof sig.gpid, "h-1-8");
    from_home (&sig);
    jh_pump (2000, exited);
    CHECK (exited ());
    clear_sent ();

    /* the job finds the socket; the peer says it is ready */
    start_job ("h-1-1", "snap");
    CHECK (started () && ready ());

    /* a stranger on the socket, unasked, is not heard */
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf (a.sun_path, sizeof a.sun_path, "%s", path);
    int s = socket (AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ (connect (s, (struct sockaddr *) &a, sizeof a), 0);
    jh_pump (100, NULL);
    char c;
    CHECK_EQ (read (s, &c, 1), 0);
    close (s);

    /* a checkpoint to a file: GO, and the image to the asker, a window's
       worth, then the rest as the asker grants credit */
    clear_sent ();
    ckpt ("h-1-1", GL_CKPT_ASK_FILE, "asker");
    image_to = "asker";
    jh_pump (1500, image_ended);
    bool ok, eof;
    size_t got = image_bytes ("asker", &ok, &eof);
    CHECK (ok);
    CHECK (!eof);
    CHECK_EQ (got, (size_t) JOBS_WINDOW);
    image_credit ("elsewhere", "h-1-1", IMAGE_BYTES); /* only the asker's counts */
    jh_pump (300, image_ended);
    CHECK_EQ (image_bytes ("asker", &ok, &eof), (size_t) JOBS_WINDOW);
    image_credit ("asker", "h-1-1", IMAGE_BYTES);
    jh_pump (3000, image_ended);
    CHECK_EQ (image_bytes ("asker", &ok, &eof), (size_t) IMAGE_BYTES);
    CHECK (ok && eof);

    /* ps -v: the probe's answer in the job's line */
    clear_sent ();
    gl_job_t list = { .type = GL_JOB_LIST, .code = GL_LIST_PROBE, .seq = 5 };
    jobs_node_msg (jh_agent[0], "x", &list, jh_now ());
    jh_pump (1000, replied);
    CHECK (reply && reply->text && strstr (reply->text, "\trunning\tyes\t-\n"));

    /* a move: HOLD, SNAPPED to the home, the image to the new host on
       SEND, and RESUME lets the parked process go on */
    clear_sent ();
    ckpt ("h-1-1", GL_CKPT_ASK_MOVE, "");
    want_code = GL_MOVE_SNAPPED;
    jh_pump (2000, move_said);
    CHECK (moved && !strcmp (sent_to, "h"));
    gl_job_t step = { .type = GL_JOB_MOVE, .code = GL_MOVE_SEND };
    snprintf (step.gpid, sizeof step.gpid, "h-1-1");
    snprintf (step.to, sizeof step.to, "b");
    from_home (&step);
    image_to = "b";
    for (int i = 0; i < 4 && !image_ended (); i++) {
        image_credit ("b", "h-1-1", 2u << 20);
        jh_pump (500, image_ended);
    }
    CHECK_EQ (image_bytes ("b", &ok, &eof), (size_t) IMAGE_BYTES);
    CHECK (ok && eof);
    CHECK (!resumed ()); /* still parked */
    step.code = GL_MOVE_RESUME;
    step.to[0] = '\0';
    from_home (&step);
    jh_pump (2000, resumed);
    CHECK (resumed ());

    /* a job that refuses: the reason goes home, nothing stops */
    clear_sent ();
    start_job ("h-1-2", "refuse");
    ckpt ("h-1-2", GL_CKPT_ASK_MOVE, "");
    want_code = GL_MOVE_REFUSED;
    jh_pump (2000, move_said);
    CHECK (moved && moved->text && !strcmp (moved->text, "fd 5: a TCP socket to 10.0.0.2:5432"));

    /* a process without the handler is never signalled: refused at once */
    clear_sent ();
    char *sleep_argv[] = { (char *) "sleep", (char *) "30" };
    char cwd[] = "/";
    gl_job_t r = { .type = GL_JOB_RUN, .argc = 2, .argv = sleep_argv, .cwd = cwd };
    snprintf (r.gpid, sizeof r.gpid, "h-1-3");
    snprintf (r.home, sizeof r.home, "h");
    snprintf (r.user, sizeof r.user, "%s", jh_user);
    from_home (&r);
    jh_pump (2000, started);
    clear_sent ();
    ckpt ("h-1-3", GL_CKPT_ASK_FILE, "asker");
    jh_pump (200, replied);
    CHECK (reply && reply->code == 1 && reply->text &&
           strstr (reply->text, "no checkpoint handler") && !strcmp (sent_to, "asker"));
    jh_pump (100, NULL);
    CHECK (!sent_of (GL_JOB_EXIT, 0)); /* and it runs on */

    /* refused for an instant (AGAIN): asked again, and moved the
       third time */
    clear_sent ();
    start_job ("h-1-4", "again2");
    ckpt ("h-1-4", GL_CKPT_ASK_MOVE, "");
    want_code = GL_MOVE_SNAPPED;
    jh_pump (3000, move_said);
    CHECK (moved && moved->code == GL_MOVE_SNAPPED && said ("asked 3"));

    /* refused for good (REFUSE), its words saying "try again": the
       answer at once, asked once (in the slot of the sleep, killed) */
    gl_job_t kill = { .type = GL_JOB_KILL };
    snprintf (kill.gpid, sizeof kill.gpid, "h-1-3");
    snprintf (kill.home, sizeof kill.home, "h");
    from_home (&kill);
    jh_pump (300, NULL);
    clear_sent ();
    start_job ("h-1-5", "textagain");
    ckpt ("h-1-5", GL_CKPT_ASK_MOVE, "");
    want_code = GL_MOVE_REFUSED;
    jh_pump (3000, move_said);
    CHECK (moved && moved->code == GL_MOVE_REFUSED && moved->text &&
           strstr (moved->text, "try again"));
    jh_pump (400, NULL); /* CKPT_AGAIN_MS and more: nobody asks it again */
    CHECK (said ("asked 1") && !said ("asked 2"));

    clear_sent ();
    jh_stop ();
    return tap_done ("test_jobs_ckpt");
}
