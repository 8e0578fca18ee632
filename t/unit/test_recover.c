/*  test_recover -- a job outlives its host, between three jobs_t (home
    h, host a, then b), messages carried in memory, glx played by the
    test: jobs_recover.c and keep.c at the home, jobs_ckpt.c's kept
    checkpoints at the hosts.

    The job is this program ("ticker"), deterministic as recovery wants:
    it prints "tick N" every 10 ms up to TICKS_BEFORE, then echoes its
    input's lines until their end, reading a little at a time, then
    prints the rest of the ticks: its output depends on its input's bytes,
    never on when they come.  In place of the
    shim it speaks checkpoint/ckpt_proto.h's lines and, told GO, goes on
    while a child writes its "image": a real one as the image decoder
    reads it (header, PROC, THREAD, END), its state (the counter and the
    line it was reading) in PROC's working directory.  In place of
    glrestore it reads that image back with the decoder and goes on
    counting.  The home keeps checkpoints every 300 ms; a is then
    destroyed with its process, as a machine dies, gossip's word given to
    h, and glx must see every tick and every line of its input once, in
    order, the job's exit status, and one note that it was restarted. */
#include "jobs_harness.h"
#include "ckpt_proto.h"
#include "fd.h"
#include "image.h"
#include "tap.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TICKS        120
#define TICKS_BEFORE 30

/* ---- the job ---------------------------------------------------------------------- */

static int tick;
static int in_open = 1;

static void write_image (int s)
{
    static uint8_t buf[1 << 14];
    img_enc_t e;
    size_t n = img_put_header (&e, buf, sizeof buf);
    static img_proc_t p;
    memset (&p, 0, sizeof p);
    p.vpid = getpid ();
    p.n_threads = 1;
    p.n_vmas = 1; /* as img_get_proc wants it; the decoder does not count them */
    snprintf (p.cwd, sizeof p.cwd, "/%d|%d|%.*s", tick, in_open, (int) jh_job_partial_len,
              jh_job_partial);
    n += img_put_proc (&e, &p, buf + n, sizeof buf - n);
    img_thread_t t = { .tid = (uint32_t) getpid (), .flags = IMG_T_LEADER };
    n += img_put_thread (&e, &t, buf + n, sizeof buf - n);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    if (gl_write_all (s, buf, n))
        _exit (1);
    shutdown (s, SHUT_WR);
    _exit (0);
}

/* What the job does next: a tick, or while its input is open, what
   of it came within 10 ms. */
static void step (void)
{
    if (tick >= TICKS_BEFORE && in_open) { /* its input, as it comes */
        struct pollfd p = { 0, POLLIN, 0 };
        if (poll (&p, 1, 10) != 1)
            return;
        char buf[2]; /* a little at a time: input stays in the pipe */
        ssize_t n = read (0, buf, sizeof buf);
        if (n <= 0)
            in_open = 0;
        else
            jh_job_echo (buf, (size_t) n);
        usleep (20000); /* slowly: a checkpoint finds some of it unread */
        return;
    }
    printf ("tick %d\n", tick++);
    fflush (stdout);
    usleep (10000);
}

/* Asked: GLCKPT, SNAP, the image from a child; on at GO.  A kept
   checkpoint is asked to go on (GL_CKPT_GO_ON), and the job does, as
   the shim does: it runs a step after the signal (a host that read its
   output meanwhile would miss it in held=), measures what its pipes
   hold, forks the writer and
   runs on, here its next step before its SNAP line is out (output and
   input after the snapshot), and waits a moment so that a host reading
   and writing its streams meanwhile would take them into its counts:
   the home's offsets come from the held= counts and what the host had
   at its signal, so a wrong pairing shows as a tick lost or doubled
   after the restart.  The first time it answers as a shim that cannot
   see its streams, a plain SNAP, and waits for GO. */
static int asked_times;
static void checkpoint (void)
{
    int s = jh_job_hello (GL_CKPT_GO_ON);
    if (s < 0)
        _exit (3);
    if (asked_times++ > 0) {
        if (tick < TICKS) /* it runs on until its threads park */
            step ();
        int held[3] = { 0 };
        for (int k = 0; k < 3; k++)
            if (ioctl (k, FIONREAD, &held[k]))
                _exit (5);
        int go[2];
        if (pipe (go))
            _exit (6);
        pid_t child = fork ();
        if (child == 0) { /* the snapshot; its image after the SNAP line */
            char c;
            close (go[1]);
            if (read (go[0], &c, 1) != 1)
                _exit (1);
            write_image (s);
        }
        close (go[0]);
        if (tick < TICKS) {
            step ();
            usleep (20000);
        }
        dprintf (s, "SNAP 1 held=%d,%d,%d\n", held[0], held[1], held[2]);
        if (write (go[1], "g", 1) != 1)
            _exit (6);
        close (go[1]);
        close (s);
        waitpid (child, NULL, 0);
        return;
    }
    dprintf (s, "SNAP 1\n");
    pid_t child = fork ();
    if (child == 0)
        write_image (s);
    char line[8];
    size_t n = 0;
    while (n < sizeof line && read (s, line + n, 1) == 1 && line[n] != '\n')
        n++;
    if (n != 2 || memcmp (line, "GO", 2))
        _exit (4); /* a kept checkpoint is always GO */
    close (s);
    waitpid (child, NULL, 0);
}

static int ticker (void)
{
    jh_job_catch ();
    while (tick < TICKS) {
        if (jh_job_asked) {
            jh_job_asked = 0;
            checkpoint ();
        }
        if (tick < TICKS)
            step ();
    }
    return 7;
}

/* glrestore's place: the state back from the image (checked by the
   decoder, as glrestore does), then on. */
static int restorer (int fd)
{
    static uint8_t buf[1 << 16];
    size_t len = jh_read_all (fd, buf, sizeof buf);
    img_dec_t d;
    img_dec_init (&d);
    size_t at = 0;
    static img_proc_t p;
    bool have = false;
    const char *why = "cut";
    while (!img_dec_done (&d)) {
        img_rec_t r;
        size_t used;
        if (img_dec_next (&d, buf + at, len - at, &r, &used, &why) != 1) {
            fprintf (stderr, "glrestore: %s\n", why);
            return GL_RESTORE_FAILED;
        }
        at += used;
        if (r.type == IMG_PROC)
            have = img_get_proc (&r, &p, &why) == 0;
    }
    char *bar = strchr (p.cwd, '|');
    if (bar)
        bar = strchr (bar + 1, '|');
    if (!have || !bar) {
        fprintf (stderr, "glrestore: no state in the image\n");
        return GL_RESTORE_FAILED;
    }
    tick = atoi (p.cwd + 1);
    in_open = atoi (strchr (p.cwd, '|') + 1);
    jh_job_partial_len = strlen (bar + 1);
    memcpy (jh_job_partial, bar + 1, jh_job_partial_len);
    close (fd);
    return ticker ();
}

/* ---- three agents, in memory (jobs_harness.h) ----------------------------------------- */

static const char *const names[3] = { "h", "a", "b" };
static int kept;       /* KEPT "taken ..." the home told a host */
static size_t b_wrote; /* output bytes b sent its home */

static void sent (int from, const char *node, const gl_msg_t *m)
{
    (void) node;
    if (m->job->type == GL_JOB_CKPT && m->job->code == GL_CKPT_KEPT && m->job->text &&
        !strncmp (m->job->text, "taken ", 6))
        kept++;
    if (from == 2 && m->job->type == GL_JOB_DATA && m->job->stream == 1)
        b_wrote += m->job->len;
}

static bool line_9 (void)
{
    return memmem (jh_glx.out, jh_glx.len, "in: line 9\n", 11) != NULL;
}
static int lines_then;
static bool a_line_more (void)
{
    return jh_glx_count ("in: ") > lines_then;
}
static int kept_then;
static bool kept_once_more (void)
{
    return kept > kept_then;
}
static bool kept_twice_more (void)
{
    return kept >= kept_then + 2;
}
static bool noted (void)
{
    return jh_glx.restarts > 0;
}

int main (int argc, char **argv)
{
    const char *img = getenv (GL_IMAGE_FD_ENV);
    if (argc == 2 && !strcmp (argv[1], "ticker"))
        return ticker ();
    if (argc == 1 && img)
        return restorer (atoi (img));
    if (!jh_up ("test_recover", names, 3, true, sent))
        return tap_done ("test_recover");

    /* glx runs the ticker on a, its checkpoint kept every 300 ms */
    CHECK (jh_glx_run ("a", 300));
    for (int i = 0; i < 10; i++)
        jh_glx_line (i);
    jh_pump (5000, line_9);
    CHECK (line_9 ());
    kept_then = kept;
    jh_pump (5000, kept_twice_more); /* a checkpoint after it read them kept */
    CHECK (kept >= kept_then + 2);
    /* read slowly (about 1.7 s): the next checkpoint finds some of it
       unread and some of its echo not read by the host yet, and a
       echoes more after it */
    for (int i = 10; i < 30; i++)
        jh_glx_line (i);
    kept_then = kept;
    jh_pump (5000, kept_once_more);
    CHECK (kept > kept_then);
    lines_then = jh_glx_count ("in: ");
    jh_pump (3000, a_line_more); /* output glx has that b writes again */
    CHECK (jh_glx_count ("in: ") > lines_then);

    /* a dies with its job; gossip tells h; more input comes meanwhile */
    int before = jh_glx_count ("tick ");
    size_t had = jh_glx.len;
    jh_kill (1);
    for (int i = 30; i < 35; i++)
        jh_glx_line (i);
    jobs_node_lost (jh_agent[0], "a", jh_now ());
    jobs_node_lost (jh_agent[2], "a", jh_now ());
    jh_pump (5000, noted);
    CHECK (strstr (jh_glx.note, "restarted on b") &&
           strstr (jh_glx.note, "on a (that node was lost)"));
    fprintf (stderr, "  %d ticks before a died; glx told: %s\n", before, jh_glx.note);
    for (int i = 35; i < 40; i++)
        jh_glx_line (i);
    jh_glx_eof ();
    jh_pump (10000, jh_glx_exited);

    /* every tick once, in order, every line of input once, in order, the
       job's own exit status, one restart said, glx's numbering unbroken */
    CHECK (jh_glx.exited);
    CHECK_EQ (jh_glx.code, 7);
    /* (a checkpoint its shim did not answer in time under load is a
       note of its own, not a second restart) */
    CHECK_EQ (jh_glx.restarts, 1);
    CHECK (jh_glx.seq_ok);
    /* b wrote again what glx had (lines 10-19, at least), which it skipped */
    CHECK (b_wrote > jh_glx.len - had);
    fprintf (stderr, "  b wrote %zu bytes, glx got %zu of them\n", b_wrote, jh_glx.len - had);
    int ticks, lines;
    CHECK (jh_glx_in_order (&ticks, &lines));
    CHECK_EQ (ticks, TICKS);
    CHECK_EQ (lines, 40);

    jh_stop ();
    return tap_done ("test_recover");
}
