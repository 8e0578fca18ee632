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
    order, the job's exit status, and one note. */
#include "jobs.h"
#include "ckpt_proto.h"
#include "image.h"
#include "tap.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICKS        120
#define TICKS_BEFORE 30

/* ---- the job ---------------------------------------------------------------------- */

static volatile sig_atomic_t asked;

static void on_ckpt (int signo, siginfo_t *si, void *uc)
{
    (void) signo, (void) si, (void) uc;
    asked = 1;
}

static int tick;
static int in_open = 1;
static char partial[256];
static size_t partial_len;

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
    snprintf (p.cwd, sizeof p.cwd, "/%d|%d|%.*s", tick, in_open, (int) partial_len, partial);
    n += img_put_proc (&e, &p, buf + n, sizeof buf - n);
    img_thread_t t = { .tid = (uint32_t) getpid (), .flags = IMG_T_LEADER };
    n += img_put_thread (&e, &t, buf + n, sizeof buf - n);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    for (size_t k = 0; k < n;) {
        ssize_t w = write (s, buf + k, n - k);
        if (w <= 0)
            _exit (1);
        k += (size_t) w;
    }
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
        for (ssize_t k = 0; k < n; k++) {
            if (buf[k] == '\n') {
                printf ("in: %.*s\n", (int) partial_len, partial);
                fflush (stdout);
                partial_len = 0;
            }
            else if (partial_len < sizeof partial)
                partial[partial_len++] = buf[k];
        }
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
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    const char *path = getenv (GL_CKPT_SOCK_ENV);
    snprintf (a.sun_path, sizeof a.sun_path, "%s", path ? path : "");
    int s = socket (AF_UNIX, SOCK_STREAM, 0);
    if (connect (s, (struct sockaddr *) &a, sizeof a))
        _exit (3);
    dprintf (s, "GLCKPT 1 pid=%d gpid=%s req=%d\n", (int) getpid (), getenv ("GLUNIX_GPID"),
             GL_CKPT_GO_ON);
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
    struct sigaction sa = { .sa_sigaction = on_ckpt, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigaction (GL_CKPT_SIGNO, &sa, NULL);
    while (tick < TICKS) {
        if (asked) {
            asked = 0;
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
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf && (n = read (fd, buf + len, sizeof buf - len)) > 0)
        len += (size_t) n;
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
    partial_len = strlen (bar + 1);
    memcpy (partial, bar + 1, partial_len);
    close (fd);
    return ticker ();
}

/* ---- three agents, in memory --------------------------------------------------------- */

static const char *const names[3] = { "h", "a", "b" };
static jobs_t *agents[3];
static bool dead[3];

typedef struct msg {
    int from, to;
    uint8_t *bytes;
    size_t len;
    struct msg *next;
} msg_t;
static msg_t *head, *tail;
static int kept;        /* KEPT "taken ..." the home told a host */
static size_t b_wrote;  /* output bytes b sent its home */
static char note[4096]; /* what the home told glx to say */

static int index_of (const char *node)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp (names[i], node))
            return i;
    return -1;
}

static void io_send_node (void *arg, const char *node, const gl_msg_t *m)
{
    if (m->job->type == GL_JOB_CKPT && m->job->code == GL_CKPT_KEPT && m->job->text &&
        !strncmp (m->job->text, "taken ", 6))
        kept++;
    if ((intptr_t) arg == 2 && m->job->type == GL_JOB_DATA && m->job->stream == 1)
        b_wrote += m->job->len;
    int to = index_of (node);
    msg_t *q = calloc (1, sizeof *q);
    if (to < 0 || !q || gl_msg_encode (m, &q->bytes, &q->len)) {
        free (q);
        return;
    }
    q->from = (int) (intptr_t) arg;
    q->to = to;
    if (tail)
        tail->next = q;
    else
        head = q;
    tail = q;
}

/* glx, as the home's local connection 1 */
static char glx_out[1 << 16];
static size_t glx_len;
static uint64_t glx_owed, glx_in_seq, glx_out_seq;
static bool glx_started, glx_exited, glx_seq_ok = true;
static int glx_code = -1, glx_notes;
static char gpid[GL_GPID_MAX + 1];

static int io_send_local (void *arg, uint64_t conn, const gl_msg_t *m)
{
    (void) arg, (void) conn;
    const gl_job_t *j = m->job;
    if (j->type == GL_JOB_STARTED) {
        glx_started = true;
        snprintf (gpid, sizeof gpid, "%s", j->gpid);
    }
    if (j->type == GL_JOB_DATA && j->stream == 1) {
        glx_seq_ok &= j->seq == glx_out_seq++; /* as glx checks them */
        if (j->len && glx_len + j->len <= sizeof glx_out) {
            memcpy (glx_out + glx_len, j->data, j->len);
            glx_len += j->len;
            glx_owed += j->len;
        }
    }
    if (j->type == GL_JOB_NOTE && j->text) {
        glx_notes++;
        snprintf (note, sizeof note, "%s", j->text);
    }
    if (j->type == GL_JOB_EXIT || j->type == GL_JOB_FAILED) {
        glx_exited = true;
        glx_code = j->type == GL_JOB_EXIT ? j->code : 1000 + j->code;
        if (j->text)
            fprintf (stderr, "  glx told: %s\n", j->text);
    }
    return 0;
}

static void io_close_local (void *arg, uint64_t conn)
{
    (void) arg, (void) conn;
}

static place_cand_t *io_view (void *arg, size_t *n, uint64_t now)
{
    (void) now;
    place_cand_t *c = calloc (3, sizeof *c);
    for (int i = 0; c && i < 3; i++) {
        snprintf (c[i].name, sizeof c[i].name, "%s", names[i]);
        c[i].is_self = i == (int) (intptr_t) arg;
        c[i].state = dead[i] ? 2 : 0; /* swim_state_t: dead, alive */
        c[i].has_res = true;
        c[i].res = (gl_res_t){ .cores = 4,
                               .mem_total_kb = 1 << 24,
                               .mem_avail_kb = 1 << 24,
                               .owner_idle_s = 3600,
                               .state = GL_RES_IDLE };
    }
    *n = c ? 3 : 0;
    return c;
}

static struct {
    int agent, fd;
    short events;
} watched[64];
static size_t n_watched;

static void io_watch (void *arg, int fd, short events)
{
    for (size_t i = 0; i < n_watched; i++)
        if (watched[i].fd == fd) {
            watched[i].agent = (int) (intptr_t) arg;
            watched[i].events = events;
            return;
        }
    if (events && n_watched < 64) {
        watched[n_watched].agent = (int) (intptr_t) arg;
        watched[n_watched].fd = fd;
        watched[n_watched++].events = events;
    }
}

static uint64_t now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void glx_send (gl_job_t *j)
{
    jobs_local_msg (agents[0], 1, j, now_ms ());
}

/* glx's credit back, a chunk at a time, as it writes */
static void glx_credit (void)
{
    if (glx_owed < 4096)
        return;
    gl_job_t c = { .type = GL_JOB_CREDIT, .stream = 1, .credit = glx_owed };
    glx_owed = 0;
    glx_send (&c);
}

static void glx_line (int i)
{
    char line[32];
    int n = snprintf (line, sizeof line, "line %d\n", i);
    gl_job_t d = { .type = GL_JOB_DATA, .stream = 0, .seq = glx_in_seq++ };
    d.data = (uint8_t *) line;
    d.len = (uint32_t) n;
    glx_send (&d);
}

static void pump (int ms, bool (*until) (void))
{
    uint64_t end = now_ms () + (uint64_t) ms;
    while (now_ms () < end && !(until && until ())) {
        while (head) {
            msg_t *q = head;
            head = q->next;
            if (!head)
                tail = NULL;
            gl_msg_t m;
            if (!dead[q->to] && !dead[q->from] && gl_msg_decode (q->bytes, q->len, &m, NULL) == 0) {
                jobs_node_msg (agents[q->to], names[q->from], m.job, now_ms ());
                gl_msg_clear (&m);
            }
            free (q->bytes);
            free (q);
        }
        struct pollfd p[64];
        int who[64];
        size_t n = 0;
        for (size_t i = 0; i < n_watched; i++)
            if (watched[i].events && !dead[watched[i].agent]) {
                who[n] = watched[i].agent;
                p[n++] = (struct pollfd){ watched[i].fd, watched[i].events, 0 };
            }
        poll (p, n, 5);
        for (size_t i = 0; i < n; i++)
            if (p[i].revents)
                jobs_ready (agents[who[i]], p[i].fd, p[i].revents, now_ms ());
        for (int i = 0; i < 3; i++)
            if (!dead[i])
                jobs_tick (agents[i], now_ms ());
        glx_credit ();
    }
}

static bool started (void)
{
    return glx_started;
}
static bool exited (void)
{
    return glx_exited;
}
static int ticks_seen (void)
{
    int n = 0;
    for (size_t i = 0; i + 5 <= glx_len; i++)
        if (!memcmp (glx_out + i, "tick ", 5))
            n++;
    return n;
}
static bool line_9 (void)
{
    return memmem (glx_out, glx_len, "in: line 9\n", 11) != NULL;
}
static int lines_seen (void)
{
    int n = 0;
    for (size_t i = 0; i + 4 <= glx_len; i++)
        if (!memcmp (glx_out + i, "in: ", 4))
            n++;
    return n;
}
static int lines_then;
static bool a_line_more (void)
{
    return lines_seen () > lines_then;
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
    return glx_notes > 0;
}

int main (int argc, char **argv)
{
    const char *img = getenv (GL_IMAGE_FD_ENV);
    if (argc == 2 && !strcmp (argv[1], "ticker"))
        return ticker ();
    if (argc == 1 && img)
        return restorer (atoi (img));
    signal (SIGPIPE, SIG_IGN);
    char exe[4096], user[GL_JOB_USER_MAX + 1];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    struct passwd *pw = getpwuid (geteuid ());
    if (n <= 0 || !pw) {
        tap_skip ("cannot find this program or its user");
        return tap_done ("test_recover");
    }
    exe[n] = '\0';
    snprintf (user, sizeof user, "%s", pw->pw_name);
    char dir[] = "/tmp/test_recover.XXXXXX", path[96], err[256];
    if (!mkdtemp (dir))
        return 1;
    for (int i = 0; i < 3; i++) {
        jobs_io_t io = { .arg = (void *) (intptr_t) i,
                         .send_node = io_send_node,
                         .send_local = io_send_local,
                         .close_local = io_close_local,
                         .view = io_view,
                         .watch = io_watch };
        agents[i] = jobs_new (names[i], 1, 4, &io, (uint64_t) i + 1);
        jobs_set_access (agents[i], access_new (NULL, false));
        gl_res_t res = { .cores = 4, .mem_total_kb = 1 << 24, .mem_avail_kb = 1 << 24 };
        jobs_set_res (agents[i], &res);
        snprintf (path, sizeof path, "%s/%s.sock", dir, names[i]);
        CHECK_EQ (jobs_ckpt_listen (agents[i], path, false, err, sizeof err), 0);
        jobs_set_job_env (agents[i], dir, NULL);
        jobs_set_restorer (agents[i], i == 0 ? "" : exe); /* h cannot restart */
    }

    /* glx runs the ticker on a, its checkpoint kept every 300 ms */
    char *job_argv[] = { exe, (char *) "ticker" };
    char cwd[] = "/";
    gl_job_t run = { .type = GL_JOB_RUN, .argc = 2, .argv = job_argv, .cwd = cwd };
    snprintf (run.pin, sizeof run.pin, "a");
    snprintf (run.user, sizeof run.user, "%s", user);
    run.ckpt_every_ms = 300;
    glx_send (&run);
    pump (3000, started);
    CHECK (glx_started);
    for (int i = 0; i < 10; i++)
        glx_line (i);
    pump (5000, line_9);
    CHECK (line_9 ());
    kept_then = kept;
    pump (5000, kept_twice_more); /* a checkpoint after it read them kept */
    CHECK (kept >= kept_then + 2);
    /* read slowly (about 1.7 s): the next checkpoint finds some of it
       unread and some of its echo not read by the host yet, and a
       echoes more after it */
    for (int i = 10; i < 30; i++)
        glx_line (i);
    kept_then = kept;
    pump (5000, kept_once_more);
    CHECK (kept > kept_then);
    lines_then = lines_seen ();
    pump (3000, a_line_more); /* output glx has that b writes again */
    CHECK (lines_seen () > lines_then);

    /* a dies with its job; gossip tells h; more input comes meanwhile */
    int before = ticks_seen ();
    size_t had = glx_len;
    dead[1] = true;
    jobs_destroy (&agents[1]);
    for (int i = 30; i < 35; i++)
        glx_line (i);
    jobs_node_lost (agents[0], "a", now_ms ());
    jobs_node_lost (agents[2], "a", now_ms ());
    pump (5000, noted);
    CHECK (strstr (note, "restarted on b") && strstr (note, "on a (that node was lost)"));
    fprintf (stderr, "  %d ticks before a died; glx told: %s\n", before, note);
    for (int i = 35; i < 40; i++)
        glx_line (i);
    gl_job_t eof = { .type = GL_JOB_DATA, .stream = 0, .seq = glx_in_seq++, .eof = true };
    glx_send (&eof);
    pump (10000, exited);

    /* every tick once, in order, every line of input once, in order, the
       job's own exit status, one note, glx's numbering unbroken */
    CHECK (glx_exited);
    CHECK_EQ (glx_code, 7);
    CHECK_EQ (glx_notes, 1);
    CHECK (glx_seq_ok);
    /* b wrote again what glx had (lines 10-19, at least), which it skipped */
    CHECK (b_wrote > glx_len - had);
    fprintf (stderr, "  b wrote %zu bytes, glx got %zu of them\n", b_wrote, glx_len - had);
    glx_out[glx_len < sizeof glx_out ? glx_len : sizeof glx_out - 1] = '\0';
    int want_tick = 0, want_line = 0;
    bool in_order = true;
    for (char *save = NULL, *l = strtok_r (glx_out, "\n", &save); l;
         l = strtok_r (NULL, "\n", &save)) {
        int v;
        if (sscanf (l, "tick %d", &v) == 1)
            in_order &= v == want_tick++;
        else if (sscanf (l, "in: line %d", &v) == 1)
            in_order &= v == want_line++;
        else
            in_order = false;
    }
    CHECK (in_order);
    CHECK_EQ (want_tick, TICKS);
    CHECK_EQ (want_line, 40);

    for (int i = 0; i < 3; i++) {
        jobs_destroy (&agents[i]);
        snprintf (path, sizeof path, "%s/%s.sock", dir, names[i]);
        unlink (path);
    }
    rmdir (dir);
    return tap_done ("test_recover");
}
