/*  test_jobs_move -- a move's protocol between three jobs_t (home h, old
    host a, new host b), messages carried in memory, glx played by the
    test: sched/home.c's side of it and jobs_ckpt.c's at both hosts.

    The job is this program ("ticker"): it prints "tick N" every 10 ms and
    echoes its input's lines, reading a little at a time.  In place of the
    shim it speaks checkpoint/ckpt_proto.h's lines, its "image" its
    counter and the line it was reading, then a pattern; in place of
    glrestore (run with GLUNIX_IMAGE_FD) it reads that image back,
    checks it and goes on counting.  So this tests the agents' handover
    of a job's streams, not a checkpoint: glx must see every tick and
    every line of its input once, in order, and the job's exit status. */
#include "jobs.h"
#include "ckpt_proto.h"
#include "tap.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICKS     150
#define PAD_BYTES (1u << 20) /* the image's pattern after its state */

static uint8_t pattern (size_t i)
{
    return (uint8_t) (i * 13 + i / 1000);
}

/* ---- the job ---------------------------------------------------------------------- */

static volatile sig_atomic_t asked;

static void on_ckpt (int signo, siginfo_t *si, void *uc)
{
    (void) signo, (void) si, (void) uc;
    asked = 1;
}

static int tick;
static char partial[256];
static size_t partial_len;

static void write_image (int s)
{
    char head[400];
    int n = snprintf (head, sizeof head, "%d|%.*s\n", tick, (int) partial_len, partial);
    if (write (s, head, (size_t) n) != n)
        _exit (1);
    static uint8_t buf[65536];
    for (size_t off = 0; off < PAD_BYTES; off += sizeof buf) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = pattern (off + i);
        for (size_t k = 0; k < sizeof buf;) {
            ssize_t w = write (s, buf + k, sizeof buf - k);
            if (w <= 0)
                _exit (1);
            k += (size_t) w;
        }
    }
    shutdown (s, SHUT_WR);
    _exit (0);
}

/* Asked: GLCKPT, SNAP, the image from a child; parked until let go
   (HOLD) or killed. */
static void checkpoint (void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    const char *path = getenv (GL_CKPT_SOCK_ENV);
    snprintf (a.sun_path, sizeof a.sun_path, "%s", path ? path : "");
    int s = socket (AF_UNIX, SOCK_STREAM, 0);
    if (connect (s, (struct sockaddr *) &a, sizeof a))
        _exit (3);
    dprintf (s, "GLCKPT 1 pid=%d gpid=%s req=2\n", (int) getpid (), getenv ("GLUNIX_GPID"));
    dprintf (s, "SNAP 1\n");
    pid_t child = fork ();
    if (child == 0)
        write_image (s);
    char c;
    while (read (s, &c, 1) > 0) /* GO/HOLD, then parked until the end */
        ;
    close (s);
    waitpid (child, NULL, 0);
}

static int ticker (void)
{
    struct sigaction sa = { .sa_sigaction = on_ckpt, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigaction (GL_CKPT_SIGNO, &sa, NULL);
    bool in_open = true;
    while (tick < TICKS) {
        if (asked) {
            asked = 0;
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
            for (ssize_t k = 0; k < n; k++) {
                if (buf[k] == '\n') { /* flushed: its image holds no stdio buffer */
                    printf ("in: %.*s\n", (int) partial_len, partial);
                    fflush (stdout);
                    partial_len = 0;
                }
                else if (partial_len < sizeof partial)
                    partial[partial_len++] = buf[k];
            }
        }
        else if (!in_open)
            usleep (10000);
    }
    return 7;
}

/* glrestore's place: the state back from the image, then on. */
static int restorer (int fd)
{
    static uint8_t buf[PAD_BYTES + 512];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf && (n = read (fd, buf + len, sizeof buf - len)) > 0)
        len += (size_t) n;
    uint8_t *nl = memchr (buf, '\n', len < 400 ? len : 400);
    if (!nl || len != (size_t) (nl + 1 - buf) + PAD_BYTES) {
        fprintf (stderr, "glrestore: a cut image (%zu bytes)\n", len);
        return GL_RESTORE_FAILED;
    }
    for (size_t i = 0; i < PAD_BYTES; i++)
        if (nl[1 + i] != pattern (i)) {
            fprintf (stderr, "glrestore: a damaged image\n");
            return GL_RESTORE_FAILED;
        }
    *nl = '\0';
    char *bar = strchr ((char *) buf, '|');
    tick = atoi ((char *) buf);
    partial_len = strlen (bar + 1);
    memcpy (partial, bar + 1, partial_len);
    close (fd);
    return ticker ();
}

/* ---- three agents, in memory --------------------------------------------------------- */

static const char *const names[3] = { "h", "a", "b" };
static jobs_t *agents[3];

typedef struct msg {
    int from, to;
    uint8_t *bytes;
    size_t len;
    struct msg *next;
} msg_t;
static msg_t *head, *tail;

static int index_of (const char *node)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp (names[i], node))
            return i;
    return -1;
}

static char answer_buf[GL_JOB_TEXT_MAX + 1];
static const char *answer;

static void io_send_node (void *arg, const char *node, const gl_msg_t *m)
{
    if (m->job->type == GL_JOB_LIST_REPLY && m->job->text) { /* to the move's asker */
        snprintf (answer_buf, sizeof answer_buf, "%s", m->job->text);
        answer = answer_buf;
    }
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
static uint64_t glx_owed, glx_in_seq;
static bool glx_started, glx_exited;
static int glx_code = -1;
static char gpid[GL_GPID_MAX + 1];

static int io_send_local (void *arg, uint64_t conn, const gl_msg_t *m)
{
    (void) arg, (void) conn;
    const gl_job_t *j = m->job;
    if (j->type == GL_JOB_STARTED) {
        glx_started = true;
        snprintf (gpid, sizeof gpid, "%s", j->gpid);
    }
    if (j->type == GL_JOB_DATA && j->stream == 1 && j->len && glx_len + j->len <= sizeof glx_out) {
        memcpy (glx_out + glx_len, j->data, j->len);
        glx_len += j->len;
        glx_owed += j->len;
    }
    if (j->type == GL_JOB_EXIT) {
        glx_exited = true;
        glx_code = j->code;
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
            if (gl_msg_decode (q->bytes, q->len, &m, NULL) == 0) {
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
            if (watched[i].events) {
                who[n] = watched[i].agent;
                p[n++] = (struct pollfd){ watched[i].fd, watched[i].events, 0 };
            }
        poll (p, n, 5);
        for (size_t i = 0; i < n; i++)
            if (p[i].revents)
                jobs_ready (agents[who[i]], p[i].fd, p[i].revents, now_ms ());
        for (int i = 0; i < 3; i++)
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
static bool some_ticks (void)
{
    return ticks_seen () >= 30;
}

static bool answered (void)
{
    return answer != NULL;
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
        return tap_done ("test_jobs_move");
    }
    exe[n] = '\0';
    snprintf (user, sizeof user, "%s", pw->pw_name);
    char dir[] = "/tmp/test_jobs_move.XXXXXX", path[96], err[256];
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

    /* glx runs the ticker on a */
    char *job_argv[] = { exe, (char *) "ticker" };
    char cwd[] = "/";
    gl_job_t run = { .type = GL_JOB_RUN, .argc = 2, .argv = job_argv, .cwd = cwd };
    snprintf (run.pin, sizeof run.pin, "a");
    snprintf (run.user, sizeof run.user, "%s", user);
    glx_send (&run);
    pump (3000, started);
    CHECK (glx_started);
    for (int i = 0; i < 5; i++)
        glx_line (i);
    pump (3000, some_ticks);

    /* a move to h, which has no restorer: refused, and the job, parked
       meanwhile, goes on at a */
    gl_job_t mv = { .type = GL_JOB_CKPT, .code = GL_CKPT_ASK_MOVE, .seq = 9 };
    snprintf (mv.gpid, sizeof mv.gpid, "%s", gpid);
    snprintf (mv.to, sizeof mv.to, "h");
    snprintf (mv.user, sizeof mv.user, "%s", user);
    jobs_node_msg (agents[0], "b", &mv, now_ms ());
    pump (5000, answered);
    CHECK (answer && strstr (answer, "refused: ") && strstr (answer, "stays on a") &&
           strstr (answer, "no restorer"));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    answer = NULL;
    int before = ticks_seen ();
    pump (500, NULL);
    CHECK (ticks_seen () > before + 5);

    /* someone asks its home to move it to b; more input comes meanwhile */
    snprintf (mv.to, sizeof mv.to, "b");
    jobs_node_msg (agents[0], "b", &mv, now_ms ()); /* asked through b's agent */
    for (int i = 5; i < 40; i++)
        glx_line (i);
    pump (8000, answered);
    CHECK (answer && strstr (answer, "moved from a to b"));
    if (answer)
        fprintf (stderr, "  %s\n", answer);
    gl_job_t eof = { .type = GL_JOB_DATA, .stream = 0, .seq = glx_in_seq++, .eof = true };
    glx_send (&eof);
    pump (10000, exited);

    /* every tick once, in order, every line of input once, in order, and
       the job's own exit status */
    CHECK (glx_exited);
    CHECK_EQ (glx_code, 7);
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
    return tap_done ("test_jobs_move");
}
