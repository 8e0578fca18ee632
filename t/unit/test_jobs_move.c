/*  test_jobs_move -- a move's protocol between three jobs_t (home h, old
    host a, new host b), messages carried in memory, glx played by the
    test: sched/home.c's side of it and jobs_ckpt.c's at both hosts.

    The job is this program ("ticker"): it prints "tick N" every 10 ms and
    echoes its input's lines, reading a little at a time; asked for a
    checkpoint once its input has ended, it prints its last ticks and
    ends without answering.  In place of the
    shim it speaks checkpoint/ckpt_proto.h's lines, its "image" its
    counter and the line it was reading, then a pattern; in place of
    glrestore (run with GLUNIX_IMAGE_FD) it reads that image back,
    checks it and goes on counting (at the node named "q", it ends at
    once with its remaining ticks: a job moved near its end, which ends
    before its new host could see it run).  So this tests the agents' handover
    of a job's streams, not a checkpoint: glx must see every tick and
    every line of its input once, in order, and the job's exit status. */
#include "jobs_harness.h"
#include "ckpt_proto.h"
#include "fd.h"
#include "tap.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TICKS     300
#define PAD_BYTES (1u << 20) /* the image's pattern after its state */

static uint8_t pattern (size_t i)
{
    return (uint8_t) (i * 13 + i / 1000);
}

/* ---- the job ---------------------------------------------------------------------- */

static int tick;

static void write_image (int s)
{
    char head[400];
    int n =
        snprintf (head, sizeof head, "%d|%.*s\n", tick, (int) jh_job_partial_len, jh_job_partial);
    if (gl_write_all (s, head, (size_t) n))
        _exit (1);
    static uint8_t buf[65536];
    for (size_t off = 0; off < PAD_BYTES; off += sizeof buf) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = pattern (off + i);
        if (gl_write_all (s, buf, sizeof buf))
            _exit (1);
    }
    shutdown (s, SHUT_WR);
    _exit (0);
}

/* Asked: GLCKPT, SNAP, the image from a child; parked until let go
   (HOLD) or killed. */
static void checkpoint (void)
{
    int s = jh_job_hello (GL_CKPT_CONTINUE);
    if (s < 0)
        _exit (3);
    dprintf (s, "SNAP 1\n");
    pid_t child = fork ();
    if (child == 0)
        write_image (s);
    char c, said[64];
    size_t n = 0;
    while (read (s, &c, 1) > 0) /* GO, or HOLD and parked until the end */
        if (n < sizeof said - 1)
            said[n++] = c;
    said[n] = '\0';
    if (!strstr (said, "GO")) /* HOLD, then the end with no GO: killed */
        raise (SIGKILL);
    close (s);
    waitpid (child, NULL, 0);
}

static int ticker (void)
{
    jh_job_catch ();
    bool in_open = true;
    while (tick < TICKS) {
        if (jh_job_asked && !in_open) { /* asked as it ends: it ends unanswered */
            while (tick < TICKS)
                printf ("tick %d\n", tick++);
            break;
        }
        if (jh_job_asked) {
            jh_job_asked = 0;
            checkpoint ();
        }
        printf ("tick %d\n", tick++);
        fflush (stdout);
        struct pollfd p = { 0, POLLIN, 0 };
        if (in_open && poll (&p, 1, 10) == 1) {
            char buf[16]; /* a little at a time: input stays in the pipe */
            ssize_t n = read (0, buf, sizeof buf);
            if (n <= 0)
                in_open = false;
            else
                jh_job_echo (buf, (size_t) n);
        }
        else if (!in_open)
            usleep (10000);
    }
    return 7;
}

/* The marker of a restorer that failed once at "r" (below).  The gpid
   is the same in every run, so the marker also names the test's process
   (the parent of the restorer's keeper, sched/reap.h: the agents run in
   it): two runs at once, such as this build's and the sanitizer build's,
   keep apart. */
static void once_path (char *out, size_t cap, pid_t test, const char *gpid)
{
    snprintf (out, cap, "/tmp/test_jobs_move.%d.%s", (int) test, gpid ? gpid : "none");
}

/* A failed restore, as glrestore ends one (ckpt_proto.h): the reason on
   stderr, then the failure's byte on the agent's descriptor. */
static int restore_fails (int fd, char byte, const char *why)
{
    fprintf (stderr, "glrestore: %s\n", why);
    fflush (stderr);
    (void) !write (fd, &byte, 1);
    return GL_RESTORE_FAILED;
}

/* The parent of pid, from /proc/<pid>/stat (after the name's last ')'). */
static pid_t parent_of (pid_t pid)
{
    char path[64], buf[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    size_t n = f ? fread (buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose (f);
    buf[n] = '\0';
    const char *e = strrchr (buf, ')');
    return e && e[1] == ' ' && e[2] && e[3] == ' ' ? (pid_t) atoi (e + 4) : 0;
}

/* glrestore's place: the state back from the image, then on. */
static int restorer (int fd)
{
    static uint8_t buf[PAD_BYTES + 512];
    size_t len = jh_read_all (fd, buf, sizeof buf);
    const char *node = getenv ("GLUNIX_NODE");
    char once[128];
    once_path (once, sizeof once, parent_of (getppid ()), getenv ("GLUNIX_GPID"));
    int o = node && !strcmp (node, "r") ? open (once, O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
    if (o >= 0) { /* at r, the first image fails for an instant of the job's */
        close (o);
        /* said by the code alone: the words do not say so */
        return restore_fails (fd, GL_RESTORE_AGAIN,
                              "the checkpoint failed while its image was written: fd 7: a "
                              "file that was not there when the process was stopped");
    }
    /* at t, every image fails for good, in words that say "try again":
       the words are no business of the agents' either */
    if (node && !strcmp (node, "t"))
        return restore_fails (fd, GL_RESTORE_REFUSED,
                              "the checkpoint failed while its image was written: fd 7: "
                              "stale: try again");
    /* at k, the image's stream is cut (its sender stopped), said by the
       code alone: the words are no business of the agents' */
    if (node && !strcmp (node, "k"))
        return restore_fails (fd, GL_RESTORE_CUT, "the image came short of its end");
    uint8_t *nl = memchr (buf, '\n', len < 400 ? len : 400);
    if (!nl || len != (size_t) (nl + 1 - buf) + PAD_BYTES)
        return restore_fails (fd, GL_RESTORE_REFUSED, "a cut image");
    for (size_t i = 0; i < PAD_BYTES; i++)
        if (nl[1 + i] != pattern (i))
            return restore_fails (fd, GL_RESTORE_REFUSED, "a damaged image");
    *nl = '\0';
    char *bar = strchr ((char *) buf, '|');
    tick = atoi ((char *) buf);
    jh_job_partial_len = strlen (bar + 1);
    memcpy (jh_job_partial, bar + 1, jh_job_partial_len);
    close (fd);
    if (node && !strcmp (node, "q")) { /* moved near its end: it ends at once */
        while (tick < TICKS)
            printf ("tick %d\n", tick++);
        return 7;
    }
    return ticker ();
}

/* ---- three agents, in memory (jobs_harness.h) ----------------------------------------- */

static const char *const names[3] = { "h", "a", "b" };
static const char *const names_quick[3] = { "h", "a", "q" };
static const char *const names_again[3] = { "h", "a", "r" };
static const char *const names_cut[3] = { "h", "a", "k" };
static const char *const names_text[3] = { "h", "a", "t" };

/* the move's answer to its asker */
static char answer_buf[GL_JOB_TEXT_MAX + 1];
static const char *answer;

/* b's word that it restored the job, seen as it is sent */
static bool restored_sent;

/* the new host's word that the move failed (k: its stream was cut), how
   many times, and its last cause */
static bool new_host_failed;
static int new_host_fails;
static int new_host_cause;

/* the old host's SNAPPED, held back until the new host's RESTORED is in */
static bool hold_snapped (int from, const char *node, const gl_msg_t *m)
{
    (void) from, (void) node;
    return m->job->type == GL_JOB_MOVE && m->job->code == GL_MOVE_SNAPPED;
}

static bool restored (void)
{
    return restored_sent;
}

static void sent (int from, const char *node, const gl_msg_t *m)
{
    (void) from, (void) node;
    if (m->job->type == GL_JOB_MOVE && m->job->code == GL_MOVE_RESTORED)
        restored_sent = true;
    if (m->job->type == GL_JOB_MOVE && m->job->code == GL_MOVE_FAILED && from == 2) {
        new_host_failed = true;
        new_host_fails++;
        new_host_cause = m->job->cause;
    }
    if (m->job->type == GL_JOB_LIST_REPLY && m->job->text) {
        snprintf (answer_buf, sizeof answer_buf, "%s", m->job->text);
        answer = answer_buf;
    }
}

static bool some_ticks (void)
{
    return jh_glx_count ("tick ") >= 30;
}

static bool answered (void)
{
    return answer != NULL;
}

/* In a cluster of its own (names: the home, a, the node it moves to):
   glx runs the ticker on a, someone asks to move it (answer number seq),
   the move ends moved, and glx gets every tick in order and the job's
   exit status.  At r, the first restorer fails (and must have). */
/* glx ended with the job's own status (7), every tick once and in
   order, and (want_lines >= 0) that many lines of input echoed, in order. */
static void glx_got_it_whole (int want_lines)
{
    CHECK (jh_glx.exited);
    CHECK_EQ (jh_glx.code, 7);
    CHECK (jh_glx.seq_ok);
    int ticks, lines;
    CHECK (jh_glx_in_order (&ticks, &lines));
    CHECK_EQ (ticks, TICKS);
    if (want_lines >= 0)
        CHECK_EQ (lines, want_lines);
}

/* Ask the job's home (a) through asker's agent to move glx's job to `to`. */
static void ask_move (const char *asker, const char *to, uint64_t seq)
{
    gl_job_t mv = { .type = GL_JOB_CKPT, .code = GL_CKPT_ASK_MOVE, .seq = seq };
    snprintf (mv.gpid, sizeof mv.gpid, "%s", jh_glx.gpid);
    snprintf (mv.to, sizeof mv.to, "%s", to);
    snprintf (mv.user, sizeof mv.user, "%s", jh_user);
    jobs_node_msg (jh_agent[0], asker, &mv, jh_now ());
}

/* A case of its own: nodes up, glx's ticker running on a, no answer
   yet; false when the nodes could not be had. */
static bool case_begin (const char *const names_of[3])
{
    if (!jh_up ("test_jobs_move", names_of, 3, true, sent))
        return false;
    CHECK (jh_glx_run ("a", 0));
    jh_pump (3000, some_ticks);
    answer = NULL;
    return true;
}

/* Its end: glx's input ends, the job with it, and glx got it whole. */
static void case_end (void)
{
    jh_glx_eof ();
    jh_pump (10000, jh_glx_exited);
    glx_got_it_whole (-1);
    jh_stop ();
}

static void move_whole (const char *const names_of[3], uint64_t seq)
{
    if (!case_begin (names_of))
        return;
    bool fails_once = !strcmp (names_of[2], "r");
    char once[128], moved[64];
    once_path (once, sizeof once, getpid (), jh_glx.gpid);
    unlink (once);
    new_host_fails = new_host_cause = 0;
    ask_move ("a", names_of[2], seq);
    jh_pump (8000, answered);
    if (fails_once) { /* the first restorer failed, and r said why by its code */
        CHECK (access (once, F_OK) == 0);
        CHECK_EQ (new_host_fails, 1);
        CHECK_EQ (new_host_cause, GL_MOVE_CAUSE_AGAIN);
    }
    unlink (once);
    snprintf (moved, sizeof moved, "moved from a to %s", names_of[2]);
    CHECK (answer && strstr (answer, moved));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    case_end ();
}

static bool new_host_said_failed (void)
{
    return new_host_failed;
}

/* The image's stream is cut at the new host k (its restorer says so by
   its code, GL_RESTORE_CUT, in words that do not say "cut"): the home
   waits a moment for the old host's word, which says why (a refusal
   found after the snapshot ends the stream too), and the asker hears
   that reason, not the restorer's.  The old host's word is played by the
   test, a moment after the home has the new host's. */
static void move_cut (void)
{
    if (!case_begin (names_cut))
        return;
    new_host_failed = false;
    ask_move ("a", "k", 13);
    jh_pump (8000, new_host_said_failed);
    CHECK (new_host_failed);
    jh_pump (100, NULL); /* the home has it; the old host's word comes later */
    CHECK (!answer);
    gl_job_t old = { .type = GL_JOB_MOVE, .code = GL_MOVE_FAILED };
    snprintf (old.gpid, sizeof old.gpid, "%s", jh_glx.gpid);
    snprintf (old.home, sizeof old.home, "h");
    old.text = (char *) "a process of the job's tree cannot move: a TCP socket";
    jobs_node_msg (jh_agent[0], "a", &old, jh_now ());
    jh_pump (3000, answered);
    CHECK (answer && strstr (answer, "refused: ") && strstr (answer, "stays on a") &&
           strstr (answer, "a TCP socket") && !strstr (answer, "came short"));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    case_end ();
}

/* Every restore at t fails for good (GL_RESTORE_REFUSED), its words
   ending "try again": the home answers at once, the move not made
   again (a home that read the words made it three times). */
static void move_text_again (void)
{
    if (!case_begin (names_text))
        return;
    new_host_fails = new_host_cause = 0;
    ask_move ("a", "t", 14);
    jh_pump (8000, answered);
    CHECK (answer && strstr (answer, "refused: ") && strstr (answer, "stays on a") &&
           strstr (answer, "stale: try again"));
    CHECK_EQ (new_host_fails, 1);
    CHECK_EQ (new_host_cause, 0);
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    case_end ();
}

int main (int argc, char **argv)
{
    const char *img = getenv (GL_IMAGE_FD_ENV);
    if (argc == 2 && !strcmp (argv[1], "ticker"))
        return ticker ();
    if (argc == 1 && img)
        return restorer (atoi (img));
    if (!jh_up ("test_jobs_move", names, 3, true, sent))
        return tap_done ("test_jobs_move");

    /* glx runs the ticker on a */
    CHECK (jh_glx_run ("a", 0));
    for (int i = 0; i < 5; i++)
        jh_glx_line (i);
    jh_pump (3000, some_ticks);

    /* a move to h, which has no restorer: refused, and the job, parked
       meanwhile, goes on at a */
    ask_move ("b", "h", 9);
    jh_pump (5000, answered);
    CHECK (answer && strstr (answer, "refused: ") && strstr (answer, "stays on a") &&
           strstr (answer, "no restorer"));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    answer = NULL;
    int before = jh_glx_count ("tick ");
    jh_pump (500, NULL);
    CHECK (jh_glx_count ("tick ") > before + 5);

    /* someone asks its home to move it to b; more input comes meanwhile;
       the old host's SNAPPED reaches the home only after the new host's
       RESTORED (they come by different ways) */
    jh_hold = hold_snapped;
    ask_move ("b", "b", 9); /* asked through b's agent */
    for (int i = 5; i < 40; i++)
        jh_glx_line (i);
    jh_pump (8000, restored);
    CHECK (restored_sent);
    jh_pump (200, NULL);
    jh_hold = NULL;
    jh_release ();
    jh_pump (8000, answered);
    CHECK (answer && strstr (answer, "moved from a to b"));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    jh_glx_eof ();

    /* asked to move back once its input has ended, it ends instead of
       answering (a compiler that exits with the request pending): the
       asker hears so from the home, not nothing */
    jh_pump (300, NULL);
    answer = NULL;
    ask_move ("a", "a", 10);
    jh_pump (8000, answered);
    CHECK (answer && strstr (answer, "refused: ") && strstr (answer, "ended"));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    jh_pump (10000, jh_glx_exited);

    /* every tick once, in order, every line of input once, in order, and
       the job's own exit status */
    glx_got_it_whole (40);

    jh_stop ();

    /* Another cluster: the job moved to q ends as soon as it is restored,
       before q's agent could see it run on after reading its image; the
       move still ends (q says RESTORED), and glx gets the job's output
       and exit status */
    move_whole (names_quick, 11);
    /* A third: the restorer at r fails the first image "for an instant"
       (GL_RESTORE_AGAIN, as glrestore says of an image whose writer found
       a descriptor that came while it wrote, in words that do not say
       so); r's MOVE FAILED says cause AGAIN, the old process goes on, the
       home makes the move again, and it ends as one move, asked once */
    move_whole (names_again, 12);
    /* A fourth: the image's stream cut at k, the old host's reason after */
    move_cut ();
    /* A fifth: a restore at t that fails for good says "try again" in
       its words only: not made again */
    move_text_again ();
    return tap_done ("test_jobs_move");
}
