/*  reap.c -- a job's keeper (see reap.h).

    reap_keep runs in a child of a process that may have threads (the
    agent's libzmq), so it makes system calls only: no allocation, no
    stdio, no lock; its buffers are on its stack. */
#include "reap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Calls fn (arg, pid) for every child of this (single-threaded) process,
   read from /proc/thread-self/children, the kernel's own list, zombies
   included.  The count of children, or -1 when the list cannot be read. */
static int each_child (void (*fn) (void *, pid_t), void *arg)
{
    int fd = open ("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096];
    long pid = -1; /* a number may span two reads */
    int n = 0;
    for (;;) {
        ssize_t got = read (fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            close (fd);
            return -1;
        }
        for (ssize_t i = 0; i <= got; i++) {
            if (i < got && buf[i] >= '0' && buf[i] <= '9') {
                pid = (pid < 0 ? 0 : pid * 10) + (buf[i] - '0');
                continue;
            }
            if (i == got && got > 0)
                break; /* the number may go on in the next read */
            if (pid > 0) {
                fn (arg, (pid_t) pid);
                n++;
            }
            pid = -1;
        }
        if (got == 0)
            break;
    }
    close (fd);
    return n;
}

typedef struct {
    pid_t job;
    bool kill;
} sweep_t;

/* A child that is not the job's own process: reaped if it has ended,
   killed first at the end. */
static void sweep_one (void *arg, pid_t pid)
{
    sweep_t *s = (sweep_t *) arg;
    if (pid == s->job)
        return;
    if (s->kill)
        kill (pid, SIGKILL);
    else
        while (waitpid (pid, NULL, WNOHANG) < 0 && errno == EINTR)
            ;
}

static void say (int sock, const reap_msg_t *m)
{
    while (send (sock, m, sizeof *m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* Has the job's process ended?  Its status, leaving it a zombie. */
static bool job_ended (pid_t job, reap_msg_t *m)
{
    siginfo_t si;
    memset (&si, 0, sizeof si);
    if (waitid (P_PID, (id_t) job, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != job)
        return false;
    *m = (reap_msg_t){ .what = REAP_EXITED, .pid = job };
    if (si.si_code == CLD_EXITED)
        m->code = si.si_status;
    else {
        m->signo = si.si_status;
        m->core = si.si_code == CLD_DUMPED;
    }
    return true;
}

void reap_become (void)
{
    prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    /* The caller may ignore SIGCHLD (inherited SIG_IGN): the kernel would
       then reap a child that ends behind our back, the job itself when it
       exits before reap_keep has begun, and its status would be lost. */
    struct sigaction dfl;
    memset (&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction (SIGCHLD, &dfl, NULL);
}

_Noreturn void reap_keep (int sock, pid_t job, pid_t parent)
{
    /* Nothing of the caller's but our socket: a copy of another job's
       pipe or keeper socket held here would keep it from its end. */
    if (sock != 3) {
        if (dup2 (sock, 3) < 0)
            _exit (1);
        sock = 3;
    }
#ifdef SYS_close_range
    if (syscall (SYS_close_range, 4u, ~0u, 0u) != 0)
#endif
        for (int fd = 4; fd < 65536; fd++)
            close (fd);
    /* nor its stdio: a keeper writes nothing, and a pipe the agent was
       started on must not wait for its jobs' keepers to end */
    int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        for (int k = 0; k < 3; k++)
            dup2 (null, k);
        if (null > 3)
            close (null);
    }
    /* ps and pgrep tell it from the agent (its command line is the
       agent's still) */
    prctl (PR_SET_NAME, "glpeer-keep", 0, 0, 0);
    reap_msg_t m = { .what = REAP_STARTED, .pid = job };
    say (sock, &m);
    if (job < 0)
        _exit (1);

    /* Every signal stays blocked, as the caller's fork left them: no
       terminal's or job's signal ends us, SIGCHLD comes by signalfd. */
    sigset_t all;
    sigfillset (&all);
    sigprocmask (SIG_SETMASK, &all, NULL);
    sigset_t chld;
    sigemptyset (&chld);
    sigaddset (&chld, SIGCHLD);
    int sfd = signalfd (-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

    bool told = false;
    sweep_t reap = { .job = job, .kill = false };
    for (;;) {
        if (!told && job_ended (job, &m)) {
            say (sock, &m);
            if (getppid () == parent)
                kill (parent, SIGCHLD);
            told = true;
        }
        each_child (sweep_one, &reap);
        /* without a signalfd, look every second */
        struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
        int n = poll (p, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && p[0].revents) {
            char c;
            ssize_t got = recv (sock, &c, 1, MSG_DONTWAIT);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
                break; /* the caller let the job go, or is gone */
        }
        if (sfd >= 0 && p[1].revents) {
            struct signalfd_siginfo si;
            while (read (sfd, &si, sizeof si) > 0)
                ;
        }
    }

    /* The end: the job's group first (its id is still the job's, which we
       have not reaped), then whatever we hold, and what those leave us as
       they die, until no child is left. */
    kill (-job, SIGKILL);
    kill (job, SIGKILL);
    while (waitpid (job, NULL, 0) < 0 && errno == EINTR)
        ;
    m = (reap_msg_t){ .what = REAP_GONE, .pid = job };
    say (sock, &m); /* the caller waits for this, not for what follows */
    close (sock);
    sweep_t end = { .job = job, .kill = true };
    for (;;) {
        int n = each_child (sweep_one, &end);
        if (n < 0) { /* no list: reap what has ended, leave the rest */
            while (waitpid (-1, NULL, WNOHANG) > 0)
                ;
            break;
        }
        if (n == 0)
            break;
        /* each round reaps one at least: what is killed cannot fork */
        if (waitpid (-1, NULL, 0) < 0 && errno != EINTR)
            break;
    }
    _exit (0);
}

int reap_read (int sock, bool block, reap_msg_t *m)
{
    for (;;) {
        ssize_t n = recv (sock, m, sizeof *m, block ? 0 : MSG_DONTWAIT);
        if (n == (ssize_t) sizeof *m)
            return 1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1; /* gone, or not what a keeper says */
    }
}
