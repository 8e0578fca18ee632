/*  test_loop.c -- the event loop: fds, a ZeroMQ socket, timers in order,
    signals through its signalfd, and callbacks that remove what the turn
    has yet to call. */
#include "clock.h"
#include "loop.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static gl_loop_t *new_loop (void)
{
    char err[256];
    gl_loop_t *loop = gl_loop_new (err, sizeof err);
    if (!loop) {
        fprintf (stderr, "gl_loop_new: %s\n", err);
        exit (1);
    }
    return loop;
}

/* A timer that ends the run: no test may hang. */
static void stop_timer (gl_loop_t *loop, int id, void *arg)
{
    if (arg)
        *(bool *) arg = true;
    gl_loop_stop (loop);
}

/* ---- fds --------------------------------------------------------------------- */

typedef struct {
    int calls;
    short revents;
    int fd;
    bool stop_after; /* stop the loop at the first call */
} seen_t;

static void on_fd (gl_loop_t *loop, int fd, short revents, void *arg)
{
    seen_t *s = (seen_t *) arg;
    s->calls++;
    s->revents = revents;
    s->fd = fd;
    char buf[64];
    if (revents & POLLIN)
        (void) !read (fd, buf, sizeof buf);
    if (s->stop_after)
        gl_loop_stop (loop);
}

static int turns;
static uint64_t count_turns (gl_loop_t *loop, void *arg)
{
    turns++;
    return UINT64_MAX;
}

static void test_fds (void)
{
    gl_loop_t *loop = new_loop ();
    int p[2];
    CHECK (pipe (p) == 0);

    /* readable once something is written */
    seen_t r = { .stop_after = true };
    CHECK_EQ (gl_loop_fd (loop, p[0], POLLIN, on_fd, &r), 0);
    CHECK (write (p[1], "x", 1) == 1);
    bool timed_out = false;
    int t = gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (r.calls, 1);
    CHECK (r.revents == POLLIN && r.fd == p[0]);
    CHECK (!timed_out);

    /* nothing written: not called (the timer ends the run) */
    r.calls = 0;
    r.stop_after = false;
    gl_loop_timer_end (loop, t);
    gl_loop_timer (loop, gl_mono_ms () + 50, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (r.calls, 0);
    CHECK (timed_out);

    /* the same fd, now for POLLOUT only: a pipe with room is writable */
    r.stop_after = true;
    CHECK_EQ (gl_loop_fd (loop, p[1], POLLOUT, on_fd, &r), 0);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (r.calls == 1 && r.fd == p[1] && r.revents == POLLOUT);
    CHECK_EQ (gl_loop_fd (loop, p[1], 0, on_fd, &r), 0);

    /* a stop naming another callback changes nothing */
    seen_t other = { 0 };
    CHECK_EQ (gl_loop_fd (loop, p[0], 0, on_fd, &other), 0);
    CHECK (write (p[1], "y", 1) == 1);
    r.calls = 0;
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (r.calls, 1);

    /* the writer gone: POLLHUP, also when only POLLIN was asked */
    close (p[1]);
    r.calls = 0;
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (r.calls == 1 && (r.revents & POLLHUP));
    CHECK_EQ (gl_loop_fd (loop, p[0], 0, on_fd, &r), 0);
    close (p[0]);

    /* POLLHUP alone: data does not wake it, the peer's hang-up does */
    int sv[2];
    CHECK (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    seen_t hup = { 0 };
    CHECK_EQ (gl_loop_fd (loop, sv[0], POLLHUP, on_fd, &hup), 0);
    CHECK (write (sv[1], "z", 1) == 1);
    t = gl_loop_timer (loop, gl_mono_ms () + 50, stop_timer, NULL);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (hup.calls, 0);
    close (sv[1]);
    hup.stop_after = true;
    timed_out = false;
    t = gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (hup.calls == 1 && hup.revents == POLLHUP && !timed_out);
    gl_loop_timer_end (loop, t);
    CHECK_EQ (gl_loop_fd (loop, sv[0], 0, on_fd, &hup), 0);
    close (sv[0]);

    /* a regular file, which epoll refuses, is always ready (as in poll) */
    char path[] = "/tmp/glloop-XXXXXX";
    int f = mkstemp (path);
    CHECK (f >= 0);
    unlink (path);
    seen_t file = { .stop_after = true };
    CHECK_EQ (gl_loop_fd (loop, f, POLLIN | POLLOUT, on_fd, &file), 0);
    timed_out = false;
    t = gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (file.calls == 1 && file.revents == (POLLIN | POLLOUT) && !timed_out);
    CHECK_EQ (gl_loop_fd (loop, f, POLLOUT, on_fd, &file), 0);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (file.calls == 2 && file.revents == POLLOUT);
    /* watched for hang-ups only, a file never hangs up: the loop sleeps */
    CHECK_EQ (gl_loop_fd (loop, f, POLLHUP, on_fd, &file), 0);
    file.calls = 0;
    gl_loop_timer_end (loop, t);
    gl_loop_timer (loop, gl_mono_ms () + 30, stop_timer, NULL);
    gl_loop_before (loop, count_turns, NULL);
    turns = 0;
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (file.calls, 0);
    CHECK (turns <= 3);
    gl_loop_before (loop, NULL, NULL);
    CHECK_EQ (gl_loop_fd (loop, f, 0, on_fd, &file), 0);
    gl_loop_timer (loop, gl_mono_ms () + 30, stop_timer, NULL);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (file.calls, 0);
    close (f);

    /* bad fds are refused */
    CHECK_EQ (gl_loop_fd (loop, -1, POLLIN, on_fd, &r), -1);
    CHECK_EQ (gl_loop_fd (loop, 1000, POLLIN, on_fd, &r), -1); /* not open */
    gl_loop_destroy (&loop);
    CHECK (loop == NULL);
}

/* ---- removal inside a callback ------------------------------------------------- */

typedef struct {
    int a[2], b[2];
    int a_calls, b_calls, c_calls;
    int reused; /* the fd that took b[0]'s number */
    int reused_writer;
} remove_t;

static void on_c (gl_loop_t *loop, int fd, short revents, void *arg)
{
    ((remove_t *) arg)->c_calls++;
}

static void on_b (gl_loop_t *loop, int fd, short revents, void *arg)
{
    ((remove_t *) arg)->b_calls++;
}

/* a's callback stops watching b, closes it, and gives its number to a
   new pipe that nothing has been written to */
static void on_a_reuse (gl_loop_t *loop, int fd, short revents, void *arg)
{
    remove_t *x = (remove_t *) arg;
    x->a_calls++;
    gl_loop_fd (loop, x->b[0], 0, on_b, x);
    int number = x->b[0];
    close (x->b[0]);
    int q[2];
    if (pipe (q) == 0) {
        if (q[0] != number) { /* put it at b's old number */
            dup2 (q[0], number);
            close (q[0]);
        }
        x->reused = number;
        x->reused_writer = q[1]; /* nothing written: never ready */
        gl_loop_fd (loop, number, POLLIN, on_c, x);
    }
    gl_loop_fd (loop, fd, 0, on_a_reuse, x);
}

/* either callback removes the other one */
static void on_either (gl_loop_t *loop, int fd, short revents, void *arg)
{
    remove_t *x = (remove_t *) arg;
    if (fd == x->a[0])
        x->a_calls++;
    else
        x->b_calls++;
    gl_loop_fd (loop, x->a[0], 0, on_either, x);
    gl_loop_fd (loop, x->b[0], 0, on_either, x);
}

static void test_remove (void)
{
    gl_loop_t *loop = new_loop ();
    remove_t x = { 0 };
    CHECK (pipe (x.a) == 0 && pipe (x.b) == 0);
    CHECK (write (x.a[1], "a", 1) == 1 && write (x.b[1], "b", 1) == 1);

    /* both ready in one turn: the first one called removes the other */
    CHECK_EQ (gl_loop_fd (loop, x.a[0], POLLIN, on_either, &x), 0);
    CHECK_EQ (gl_loop_fd (loop, x.b[0], POLLIN, on_either, &x), 0);
    gl_loop_timer (loop, gl_mono_ms () + 50, stop_timer, NULL);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (x.a_calls + x.b_calls, 1);

    /* a removes and closes b, whose number a new fd takes at once: b's
       event of this turn reaches neither b nor the newcomer */
    x.a_calls = x.b_calls = 0;
    CHECK_EQ (gl_loop_fd (loop, x.a[0], POLLIN, on_a_reuse, &x), 0);
    CHECK_EQ (gl_loop_fd (loop, x.b[0], POLLIN, on_b, &x), 0);
    /* both were ready when added, a first: epoll lists them in that order */
    gl_loop_timer (loop, gl_mono_ms () + 50, stop_timer, NULL);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (x.a_calls, 1);
    CHECK_EQ (x.b_calls, 0);
    CHECK_EQ (x.c_calls, 0);
    gl_loop_fd (loop, x.reused, 0, on_c, &x);
    close (x.reused);
    close (x.reused_writer);
    close (x.a[0]);
    close (x.a[1]);
    close (x.b[1]);
    gl_loop_destroy (&loop);
}

/* ---- a ZeroMQ socket ------------------------------------------------------------- */

typedef struct {
    int got;
    int want;
} sock_seen_t;

/* reads one message per call: the loop must call again for the rest,
   though ZMQ_FD signals them only once */
static void on_sock (gl_loop_t *loop, zsock_t *sock, void *arg)
{
    sock_seen_t *s = (sock_seen_t *) arg;
    char *msg = zstr_recv (sock);
    if (msg)
        s->got++;
    zstr_free (&msg);
    if (s->got == s->want)
        gl_loop_stop (loop);
}

static void test_sock (void)
{
    gl_loop_t *loop = new_loop ();
    zsock_t *out = zsock_new_pair ("@inproc://test-loop");
    zsock_t *in = zsock_new_pair (">inproc://test-loop");
    CHECK (out && in);
    sock_seen_t s = { .want = 3 };
    CHECK_EQ (gl_loop_sock (loop, in, on_sock, &s), 0);
    for (int i = 0; i < 3; i++)
        zstr_send (out, "hello");
    bool timed_out = false;
    int t = gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (s.got, 3);
    CHECK (!timed_out);
    gl_loop_timer_end (loop, t);

    /* one that comes while the loop waits */
    s.want = 4;
    zstr_send (out, "later");
    t = gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (s.got, 4);
    gl_loop_timer_end (loop, t);

    /* one whose arrival the program took in by asking the socket itself
       (as a send may): its signal is gone, and the loop must look */
    gl_loop_timer (loop, gl_mono_ms () + 50, stop_timer, NULL); /* a quiet turn first */
    CHECK_EQ (gl_loop_run (loop), 0);
    s.want = 5;
    zstr_send (out, "taken in");
    zclock_sleep (20);
    zsock_events (in);
    gl_loop_sock_used (loop, in);
    timed_out = false;
    t = gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (s.got, 5);
    CHECK (!timed_out);
    gl_loop_timer_end (loop, t);

    /* ended: no more calls */
    gl_loop_sock_end (loop, in);
    zstr_send (out, "unheard");
    gl_loop_timer (loop, gl_mono_ms () + 50, stop_timer, NULL);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (s.got, 5);
    zsock_destroy (&in);
    zsock_destroy (&out);
    gl_loop_destroy (&loop);
}

/* ---- timers ---------------------------------------------------------------------- */

typedef struct {
    int order[16];
    int n;
    int ids[16];
    gl_loop_t *loop;
} timers_t;

static timers_t tm;

static void on_timer (gl_loop_t *loop, int id, void *arg)
{
    int tag = (int) (intptr_t) arg;
    tm.order[tm.n++] = tag;
    if (tag == 2) /* 2 cancels 5, which is due in the same turn */
        gl_loop_timer_end (loop, tm.ids[5]);
    if (tag == 3) /* 3 sets 7 for now: it runs, but in the next turn */
        tm.ids[7] = gl_loop_timer (loop, gl_mono_ms (), on_timer, (void *) 7);
    if (tag == 7 || tag == 6)
        gl_loop_stop (loop);
}

static void test_timers (void)
{
    gl_loop_t *loop = new_loop ();
    uint64_t now = gl_mono_ms ();
    /* set out of order; 1 and 2 at the same time run in the order set */
    tm.ids[4] = gl_loop_timer (loop, now + 60, on_timer, (void *) 4);
    tm.ids[1] = gl_loop_timer (loop, now + 20, on_timer, (void *) 1);
    tm.ids[2] = gl_loop_timer (loop, now + 20, on_timer, (void *) 2);
    tm.ids[3] = gl_loop_timer (loop, now + 40, on_timer, (void *) 3);
    tm.ids[5] = gl_loop_timer (loop, now + 20, on_timer, (void *) 5);
    tm.ids[6] = gl_loop_timer (loop, now + 5000, on_timer, (void *) 6);
    int cancelled = gl_loop_timer (loop, now + 10, on_timer, (void *) 9);
    gl_loop_timer_end (loop, cancelled);
    gl_loop_timer_end (loop, 0); /* none: fine */
    CHECK (tm.ids[1] > 0 && tm.ids[1] != tm.ids[2]);
    turns = 0;
    gl_loop_before (loop, count_turns, NULL);
    uint64_t t0 = gl_mono_ms ();
    CHECK_EQ (gl_loop_run (loop), 0);
    uint64_t took = gl_mono_ms () - t0;
    /* 1 2 (5 cancelled by 2) 3 then 7 (set by 3 for now) in the next turn;
       4 is still to come when 7 stops the loop */
    CHECK_EQ (tm.n, 4);
    CHECK (tm.order[0] == 1 && tm.order[1] == 2 && tm.order[2] == 3 && tm.order[3] == 7);
    CHECK (took >= 35 && took < 1000);
    int turns_then = turns;
    CHECK (turns_then >= 3); /* before each wait: 20 ms, 40 ms, then 7 */

    /* 4 then runs, and 6 at its time ends it all */
    tm.n = 0;
    gl_loop_timer_end (loop, tm.ids[6]);
    tm.ids[6] = gl_loop_timer (loop, gl_mono_ms () + 30, on_timer, (void *) 6);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (tm.n == 2 && tm.order[0] == 4 && tm.order[1] == 6);
    CHECK (turns > turns_then);
    gl_loop_destroy (&loop);
}

/* The hook's deadline wakes the loop though no timer is set. */
static int hook_calls;
static uint64_t hook_at;
static uint64_t before_deadline (gl_loop_t *loop, void *arg)
{
    if (++hook_calls == 3)
        gl_loop_stop (loop);
    return hook_at = gl_mono_ms () + 20;
}

static void test_before (void)
{
    gl_loop_t *loop = new_loop ();
    gl_loop_before (loop, before_deadline, NULL);
    uint64_t t0 = gl_mono_ms ();
    CHECK_EQ (gl_loop_run (loop), 0);
    uint64_t took = gl_mono_ms () - t0;
    CHECK_EQ (hook_calls, 3);
    CHECK (took >= 40 && took < 1000);
    gl_loop_destroy (&loop);
}

/* ---- signals --------------------------------------------------------------------- */

static int sig_seen[3];

static void on_signal (gl_loop_t *loop, const struct signalfd_siginfo *si, void *arg)
{
    int slot = (int) (intptr_t) arg;
    sig_seen[slot] = (int) si->ssi_signo;
    if (sig_seen[1] && sig_seen[2])
        gl_loop_stop (loop);
}

static void test_signals (void)
{
    gl_loop_t *loop = new_loop ();
    /* SIGCHLD comes ignored: the kernel would then reap children itself
       and send no SIGCHLD at all; the loop takes it back to default */
    signal (SIGCHLD, SIG_IGN);
    CHECK_EQ (gl_loop_signal (loop, SIGUSR1, on_signal, (void *) 1), 0);
    CHECK_EQ (gl_loop_signal (loop, SIGCHLD, on_signal, (void *) 2), 0);
    CHECK_EQ (gl_loop_signal (loop, SIGKILL, on_signal, NULL), -1);
    CHECK_EQ (gl_loop_signal (loop, 0, on_signal, NULL), -1);
    /* sent before the loop runs: nothing is lost while it does not */
    kill (getpid (), SIGUSR1);
    pid_t child = fork ();
    if (child == 0)
        _exit (7);
    bool timed_out = false;
    gl_loop_timer (loop, gl_mono_ms () + 2000, stop_timer, &timed_out);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK_EQ (sig_seen[1], SIGUSR1);
    CHECK_EQ (sig_seen[2], SIGCHLD);
    CHECK (!timed_out);
    int status = 0;
    CHECK (waitpid (child, &status, 0) == child && WIFEXITED (status) && WEXITSTATUS (status) == 7);
    gl_loop_destroy (&loop);
}

/* A stop and SIGCONT interrupt epoll_wait (EINTR): the loop goes on. */
static void test_stopped (void)
{
    gl_loop_t *loop = new_loop ();
    pid_t parent = getpid ();
    pid_t child = fork ();
    if (child == 0) {
        usleep (50 * 1000);
        kill (parent, SIGSTOP);
        usleep (50 * 1000);
        kill (parent, SIGCONT);
        _exit (0);
    }
    bool fired = false;
    uint64_t t0 = gl_mono_ms ();
    gl_loop_timer (loop, t0 + 300, stop_timer, &fired);
    CHECK_EQ (gl_loop_run (loop), 0);
    CHECK (fired);
    CHECK (gl_mono_ms () - t0 >= 300);
    int status;
    CHECK (waitpid (child, &status, 0) == child && WIFEXITED (status));
    gl_loop_destroy (&loop);
}

int main (void)
{
    zsys_handler_set (NULL);
    test_fds ();
    test_remove ();
    test_sock ();
    test_timers ();
    test_before ();
    test_signals ();
    test_stopped ();
    zsys_shutdown ();
    return tap_done ("test_loop");
}
