/*  test_sig -- a queued signal to one thread (core/sig.h).

    A child process waits in epoll_wait in its first thread while a
    second thread makes system calls without end; the parent sends it
    signals with gl_sigqueue_thread.  Each must be taken by the first
    thread, whose epoll_wait then returns EINTR only after its own
    handler ran: a signal sent to the process as a whole may wake the
    first thread and be taken by the second, and the first's epoll_wait
    return EINTR with no handler run in it (which is what a checkpoint's
    request did to a program's event loop).  Then the first thread blocks
    the signal: the second takes it.  Then the value and the sender. */
#include "sig.h"
#include "tap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIG   (SIGRTMIN + 3)
#define SENDS 300

static atomic_int in_main, in_other, last_value, last_pid;
static pid_t main_tid;
static atomic_bool stop;

static void on_sig (int signo, siginfo_t *si, void *uc)
{
    (void) signo;
    (void) uc;
    if ((pid_t) syscall (SYS_gettid) == main_tid)
        atomic_fetch_add (&in_main, 1);
    else
        atomic_fetch_add (&in_other, 1);
    atomic_store (&last_value, si->si_value.sival_int);
    atomic_store (&last_pid, si->si_pid);
}

static void *spin (void *arg)
{
    (void) arg;
    while (!atomic_load (&stop))
        syscall (SYS_getppid);
    return NULL;
}

/* The child: what it saw, as "main other spurious value pid" on fd out. */
static int child (int out, int ready, int block_in_main)
{
    main_tid = (pid_t) syscall (SYS_gettid);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    /* SA_NODEFER: inside its handler the first thread does not block
       the signal, or a send then would find it blocking and pick the
       other (a preempted handler on a loaded machine: 298 of 300) */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction (SIG, &sa, NULL);
    pthread_t t;
    pthread_create (&t, NULL, spin, NULL);
    if (block_in_main) {
        sigset_t s;
        sigemptyset (&s);
        sigaddset (&s, SIG);
        pthread_sigmask (SIG_BLOCK, &s, NULL);
    }
    int p[2];
    if (pipe (p))
        return 1;
    int ep = epoll_create1 (0);
    struct epoll_event e = { .events = EPOLLIN }, got;
    epoll_ctl (ep, EPOLL_CTL_ADD, p[0], &e);
    (void) !write (ready, "r", 1);
    int spurious = 0;
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    while (atomic_load (&in_main) + atomic_load (&in_other) < SENDS) {
        int before = atomic_load (&in_main);
        int n = epoll_wait (ep, &got, 1, 200);
        if (n < 0 && errno == EINTR && atomic_load (&in_main) == before)
            spurious++;
        clock_gettime (CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 20)
            break;
    }
    atomic_store (&stop, true);
    pthread_join (t, NULL);
    dprintf (out, "%d %d %d %d %d\n", atomic_load (&in_main), atomic_load (&in_other), spurious,
             atomic_load (&last_value), atomic_load (&last_pid));
    return 0;
}

/* A child in this mode, signalled SENDS times; what it saw. */
static void run (int block_in_main, int *main_n, int *other_n, int *spurious, int *value, int *from)
{
    int res[2], rdy[2];
    *main_n = *other_n = *spurious = *value = *from = -1;
    if (pipe (res) || pipe (rdy))
        return;
    pid_t c = fork ();
    if (c == 0) {
        close (res[0]);
        close (rdy[0]);
        _exit (child (res[1], rdy[1], block_in_main));
    }
    close (res[1]);
    close (rdy[1]);
    char r;
    if (read (rdy[0], &r, 1) == 1)
        for (int i = 0; i < SENDS; i++) {
            CHECK_EQ (gl_sigqueue_thread (c, SIG, 1000 + i), 0);
            struct timespec d = { 0, 300000 };
            nanosleep (&d, NULL);
        }
    char buf[128] = "";
    ssize_t n = read (res[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    sscanf (buf, "%d %d %d %d %d", main_n, other_n, spurious, value, from);
    waitpid (c, NULL, 0);
    close (res[0]);
    close (rdy[0]);
}

int main (void)
{
    int m, o, s, v, f;
    run (0, &m, &o, &s, &v, &f);
    CHECK_EQ (m, SENDS); /* every one taken by the first thread */
    CHECK_EQ (o, 0);
    CHECK_EQ (s, 0); /* and no EINTR without its handler */
    CHECK_EQ (v, 1000 + SENDS - 1);
    CHECK_EQ (f, getpid ());

    run (1, &m, &o, &s, &v, &f); /* the first thread blocks it: the other takes it */
    CHECK_EQ (m, 0);
    CHECK_EQ (o, SENDS);

    errno = 0; /* no such process */
    CHECK (gl_sigqueue_thread (999999999, SIG, 1) == -1 && errno == ESRCH);
    return tap_done ("test_sig");
}
