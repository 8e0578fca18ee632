/*  loop.c -- the event loop.  See loop.h. */
#include "loop.h"
#include "clock.h"
#include "err.h"
#include "grow.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The only czmq the loop calls, and only for a zsock it was given: weak,
   so that a program that watches no zsock (glx) links without czmq and
   does not load its closure of some 28 libraries at every start. */
#pragma weak zsock_fd
#pragma weak zsock_events

/* epoll's bits are poll's on Linux: revents pass through unchanged. */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR &&
                   EPOLLHUP == POLLHUP,
               "epoll and poll event bits differ");

#define EVENTS_MAX 64 /* epoll events taken per wait; the rest come next turn */

typedef struct {
    gl_loop_fd_fn *fn;
    void *arg;
    short events; /* 0: not watched */
    bool always;  /* epoll refused it (a regular file): ready at every turn */
    uint32_t gen; /* the registration an epoll event belongs to */
} watch_t;

typedef struct loop_timer_t {
    int id;
    uint64_t at;
    gl_loop_timer_fn *fn;
    void *arg;
    struct loop_timer_t *next;
} loop_timer_t;

typedef struct {
    zsock_t *sock; /* NULL: ended, freed at the end of the turn */
    gl_loop_sock_fn *fn;
    void *arg;
    bool fired;    /* its ZMQ_FD was readable this turn: ask ZMQ_EVENTS */
    bool readable; /* ZMQ_EVENTS said so before the wait */
    bool check;    /* ask ZMQ_EVENTS before the next wait */
} loop_sock_t;

struct gl_loop_t {
    int ep;
    watch_t *fds; /* by fd number */
    size_t fds_cap;
    uint32_t gen;
    int *always; /* fds watched without epoll */
    size_t n_always, always_cap;
    struct {
        int fd;
        uint32_t gen;
    } * scratch; /* this turn's always-ready fds */
    size_t scratch_cap;

    loop_sock_t **socks;
    size_t n_socks, socks_cap;
    bool socks_dead; /* some were ended: compact the array */

    loop_timer_t *timers; /* by time, then by id */
    loop_timer_t *due;    /* the ones being run this turn */
    int last_id;

    int sigfd;
    sigset_t sigs;
    gl_loop_signal_fn *sig_fn[_NSIG];
    void *sig_arg[_NSIG];

    gl_loop_before_fn *before;
    void *before_arg;
    bool stop;
};

gl_loop_t *gl_loop_new (char *err, size_t errlen)
{
    gl_loop_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->sigfd = -1;
    sigemptyset (&self->sigs);
    self->ep = epoll_create1 (EPOLL_CLOEXEC);
    if (self->ep < 0) {
        gl_err (err, errlen, "epoll_create1: %s", strerror (errno));
        free (self);
        return NULL;
    }
    return self;
}

void gl_loop_destroy (gl_loop_t **self_p)
{
    gl_loop_t *self = *self_p;
    if (!self)
        return;
    for (loop_timer_t *t = self->timers, *next; t; t = next) {
        next = t->next;
        free (t);
    }
    for (loop_timer_t *t = self->due, *next; t; t = next) {
        next = t->next;
        free (t);
    }
    for (size_t i = 0; i < self->n_socks; i++)
        free (self->socks[i]);
    free (self->socks);
    if (self->sigfd >= 0)
        close (self->sigfd);
    close (self->ep);
    free (self->fds);
    free (self->always);
    free (self->scratch);
    free (self);
    *self_p = NULL;
}

/* ---- fds ---------------------------------------------------------------------- */

static void always_remove (gl_loop_t *self, int fd)
{
    for (size_t i = 0; i < self->n_always; i++)
        if (self->always[i] == fd) {
            self->always[i] = self->always[--self->n_always];
            return;
        }
}

static int always_add (gl_loop_t *self, int fd)
{
    if (gl_grow (&self->always, &self->always_cap, self->n_always + 1, sizeof *self->always))
        return -1;
    self->always[self->n_always++] = fd;
    return 0;
}

static int fds_grow (gl_loop_t *self, int fd)
{
    if ((size_t) fd < self->fds_cap)
        return 0;
    size_t cap = self->fds_cap ? self->fds_cap : 64;
    while (cap <= (size_t) fd)
        cap *= 2;
    watch_t *fds = realloc (self->fds, cap * sizeof *fds);
    if (!fds)
        return -1;
    memset (fds + self->fds_cap, 0, (cap - self->fds_cap) * sizeof *fds);
    self->fds = fds;
    self->fds_cap = cap;
    return 0;
}

/* Stop watching fd, whoever watches it. */
static void fd_forget (gl_loop_t *self, watch_t *w, int fd)
{
    if (w->always)
        always_remove (self, fd);
    else /* fails harmlessly if fd was closed first */
        epoll_ctl (self->ep, EPOLL_CTL_DEL, fd, NULL);
    *w = (watch_t){ .gen = w->gen };
}

int gl_loop_fd (gl_loop_t *self, int fd, short events, gl_loop_fd_fn *fn, void *arg)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    events &= POLLIN | POLLOUT | POLLHUP;
    if (fds_grow (self, fd)) {
        errno = ENOMEM;
        return -1;
    }
    watch_t *w = &self->fds[fd];
    if (!events) {
        if (w->events && w->fn == fn && w->arg == arg)
            fd_forget (self, w, fd);
        return 0;
    }
    if (w->events && w->fn == fn && w->arg == arg) { /* the same watcher: new events */
        if (events == w->events)
            return 0;
        if (!w->always) {
            struct epoll_event ev = { .events = (uint32_t) (events & (POLLIN | POLLOUT)),
                                      .data.u64 = (uint64_t) w->gen << 32 | (uint32_t) fd };
            if (epoll_ctl (self->ep, EPOLL_CTL_MOD, fd, &ev) == 0) {
                w->events = events;
                return 0;
            }
            if (errno != ENOENT)
                return -1;
            /* closed and reused without a stop: register it afresh below */
        }
        else {
            w->events = events;
            return 0;
        }
    }
    /* A new watcher: a new generation, so that what epoll still holds for
       the fd's previous registration this turn is not handed to it. */
    if (w->events)
        fd_forget (self, w, fd);
    w->gen = ++self->gen;
    struct epoll_event ev = { .events = (uint32_t) (events & (POLLIN | POLLOUT)),
                              .data.u64 = (uint64_t) w->gen << 32 | (uint32_t) fd };
    int rc = epoll_ctl (self->ep, EPOLL_CTL_ADD, fd, &ev);
    if (rc && errno == EEXIST) /* a registration a close did not end (a dup lives) */
        rc = epoll_ctl (self->ep, EPOLL_CTL_MOD, fd, &ev);
    bool always = false;
    if (rc && errno == EPERM) { /* a regular file: poll(2) calls it always ready */
        if (always_add (self, fd)) {
            errno = ENOMEM;
            return -1;
        }
        always = true;
        rc = 0;
    }
    if (rc)
        return -1;
    *w = (watch_t){ .fn = fn, .arg = arg, .events = events, .always = always, .gen = w->gen };
    return 0;
}

/* Call fd's watcher if it is still the registration gen and wants any of
   what happened. */
static void fd_dispatch (gl_loop_t *self, int fd, uint32_t gen, uint32_t happened)
{
    if ((size_t) fd >= self->fds_cap)
        return;
    watch_t *w = &self->fds[fd];
    short revents = (short) (happened & (uint32_t) (w->events | POLLERR | POLLHUP));
    if (!w->events || w->gen != gen || !revents)
        return;
    w->fn (self, fd, revents, w->arg);
}

/* ---- ZeroMQ sockets ----------------------------------------------------------- */

/* ZMQ_FD says only that the socket's state may have changed, and only
   once: the socket is asked (ZMQ_EVENTS) when it fires, and again before
   the next wait when its callback ran (it may have left messages unread,
   which get no new signal) or the program used it (gl_loop_sock_used: a
   send may have taken in the news of a message that came meanwhile, and
   its signal with it).  Not every socket before every wait: each asking
   is two system calls (libzmq's getpid and poll of the socket's mailbox),
   and the agent has a socket per link. */
static void sock_fd_ready (gl_loop_t *self, int fd, short revents, void *arg)
{
    ((loop_sock_t *) arg)->fired = true;
}

int gl_loop_sock (gl_loop_t *self, zsock_t *sock, gl_loop_sock_fn *fn, void *arg)
{
    if (gl_grow (&self->socks, &self->socks_cap, self->n_socks + 1, sizeof *self->socks)) {
        errno = ENOMEM;
        return -1;
    }
    loop_sock_t *s = calloc (1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return -1;
    }
    *s = (loop_sock_t){ .sock = sock, .fn = fn, .arg = arg, .check = true };
    if (gl_loop_fd (self, zsock_fd (sock), POLLIN, sock_fd_ready, s)) {
        free (s);
        return -1;
    }
    self->socks[self->n_socks++] = s;
    return 0;
}

void gl_loop_sock_end (gl_loop_t *self, zsock_t *sock)
{
    for (size_t i = 0; i < self->n_socks; i++) {
        loop_sock_t *s = self->socks[i];
        if (s->sock == sock) {
            gl_loop_fd (self, zsock_fd (sock), 0, sock_fd_ready, s);
            s->sock = NULL; /* freed once no turn walks the array */
            self->socks_dead = true;
        }
    }
}

void gl_loop_sock_used (gl_loop_t *self, zsock_t *sock)
{
    for (size_t i = 0; i < self->n_socks; i++)
        if (self->socks[i]->sock == sock)
            self->socks[i]->check = true;
}

static bool socks_check (gl_loop_t *self)
{
    bool any = false;
    for (size_t i = 0; i < self->n_socks; i++) {
        loop_sock_t *s = self->socks[i];
        if (s->sock && s->check) {
            s->check = false;
            if (zsock_events (s->sock) & ZMQ_POLLIN)
                any = s->readable = true;
        }
    }
    return any;
}

static void socks_dispatch (gl_loop_t *self)
{
    for (size_t i = 0; i < self->n_socks && !self->stop; i++) {
        loop_sock_t *s = self->socks[i];
        bool call = s->sock && (s->readable || (s->fired && (zsock_events (s->sock) & ZMQ_POLLIN)));
        s->readable = s->fired = false;
        if (call) {
            s->check = true; /* before fn, which may end it (a dead one is skipped) */
            s->fn (self, s->sock, s->arg);
        }
    }
    if (self->socks_dead) {
        size_t k = 0;
        for (size_t i = 0; i < self->n_socks; i++)
            if (self->socks[i]->sock)
                self->socks[k++] = self->socks[i];
            else
                free (self->socks[i]);
        self->n_socks = k;
        self->socks_dead = false;
    }
}

/* ---- timers ------------------------------------------------------------------- */

int gl_loop_timer (gl_loop_t *self, uint64_t at_ms, gl_loop_timer_fn *fn, void *arg)
{
    loop_timer_t *t = malloc (sizeof *t);
    if (!t)
        return -1;
    if (self->last_id == INT_MAX)
        self->last_id = 0;
    *t = (loop_timer_t){ .id = ++self->last_id, .at = at_ms, .fn = fn, .arg = arg };
    loop_timer_t **p = &self->timers;
    while (*p && (*p)->at <= at_ms)
        p = &(*p)->next;
    t->next = *p;
    *p = t;
    return t->id;
}

static bool timer_unlink (loop_timer_t **p, int id)
{
    for (; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            loop_timer_t *t = *p;
            *p = t->next;
            free (t);
            return true;
        }
    return false;
}

void gl_loop_timer_end (gl_loop_t *self, int id)
{
    if (id > 0 && !timer_unlink (&self->timers, id))
        timer_unlink (&self->due, id);
}

/* Run the timers due at now.  Those set by their callbacks wait for the
   next turn, even when due already: a timer that sets itself again for
   now cannot hold the loop. */
static void timers_run (gl_loop_t *self, uint64_t now)
{
    loop_timer_t **tail = &self->timers;
    while (*tail && (*tail)->at <= now)
        tail = &(*tail)->next;
    if (tail == &self->timers)
        return;
    self->due = self->timers;
    self->timers = *tail;
    *tail = NULL;
    while (self->due && !self->stop) {
        loop_timer_t *t = self->due;
        self->due = t->next;
        gl_loop_timer_fn *fn = t->fn;
        void *arg = t->arg;
        int id = t->id;
        free (t);
        fn (self, id, arg);
    }
    /* stopped with some left: they go back, in order, for a later run */
    while (self->due) {
        loop_timer_t *t = self->due;
        self->due = t->next;
        loop_timer_t **p = &self->timers;
        while (*p && (*p)->at <= t->at)
            p = &(*p)->next;
        t->next = *p;
        *p = t;
    }
}

/* ---- signals ------------------------------------------------------------------ */

static void signals_ready (gl_loop_t *self, int fd, short revents, void *arg)
{
    struct signalfd_siginfo si;
    while (!self->stop && read (self->sigfd, &si, sizeof si) == (ssize_t) sizeof si)
        if (si.ssi_signo < _NSIG && self->sig_fn[si.ssi_signo])
            self->sig_fn[si.ssi_signo](self, &si, self->sig_arg[si.ssi_signo]);
}

int gl_loop_signal (gl_loop_t *self, int signo, gl_loop_signal_fn *fn, void *arg)
{
    if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP) {
        errno = EINVAL;
        return -1;
    }
    sigset_t one;
    sigemptyset (&one);
    sigaddset (&one, signo);
    struct sigaction old;
    if (sigaction (signo, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
        signal (signo, SIG_DFL);
    int rc = pthread_sigmask (SIG_BLOCK, &one, NULL);
    if (rc) {
        errno = rc;
        return -1;
    }
    sigaddset (&self->sigs, signo);
    int fd = signalfd (self->sigfd, &self->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (self->sigfd < 0) {
        self->sigfd = fd;
        if (gl_loop_fd (self, fd, POLLIN, signals_ready, NULL))
            return -1;
    }
    self->sig_fn[signo] = fn;
    self->sig_arg[signo] = arg;
    return 0;
}

/* ---- the loop ----------------------------------------------------------------- */

void gl_loop_before (gl_loop_t *self, gl_loop_before_fn *fn, void *arg)
{
    self->before = fn;
    self->before_arg = arg;
}

void gl_loop_stop (gl_loop_t *self)
{
    self->stop = true;
}

/* The fds epoll does not watch, as they are now: their callbacks may
   change the list. */
static size_t always_snapshot (gl_loop_t *self)
{
    if (self->scratch_cap < self->n_always) {
        void *scratch = realloc (self->scratch, self->n_always * sizeof *self->scratch);
        if (!scratch)
            return 0; /* they are tried again next turn */
        self->scratch = scratch;
        self->scratch_cap = self->n_always;
    }
    for (size_t i = 0; i < self->n_always; i++) {
        self->scratch[i].fd = self->always[i];
        self->scratch[i].gen = self->fds[self->always[i]].gen;
    }
    return self->n_always;
}

/* An fd without epoll that waits for more than a hang-up: it is ready. */
static bool always_wanted (gl_loop_t *self)
{
    for (size_t i = 0; i < self->n_always; i++)
        if (self->fds[self->always[i]].events & (POLLIN | POLLOUT))
            return true;
    return false;
}

int gl_loop_run (gl_loop_t *self)
{
    self->stop = false;
    struct epoll_event evs[EVENTS_MAX];
    while (!self->stop) {
        uint64_t wake = self->before ? self->before (self, self->before_arg) : UINT64_MAX;
        if (self->stop)
            break;
        if (self->timers && self->timers->at < wake)
            wake = self->timers->at;
        int timeout = -1;
        if (socks_check (self) || always_wanted (self))
            timeout = 0;
        else if (wake != UINT64_MAX) {
            uint64_t now = gl_mono_ms ();
            timeout = wake <= now ? 0 : wake - now > INT_MAX ? INT_MAX : (int) (wake - now);
        }
        int n = epoll_wait (self->ep, evs, EVENTS_MAX, timeout);
        if (n < 0) {
            if (errno != EINTR) /* a stop and SIGCONT interrupt epoll_wait */
                return -1;
            n = 0;
        }
        for (int i = 0; i < n && !self->stop; i++)
            fd_dispatch (self, (int) (uint32_t) evs[i].data.u64, (uint32_t) (evs[i].data.u64 >> 32),
                         evs[i].events);
        size_t n_always = self->n_always ? always_snapshot (self) : 0;
        for (size_t i = 0; i < n_always && !self->stop; i++)
            fd_dispatch (self, self->scratch[i].fd, self->scratch[i].gen, POLLIN | POLLOUT);
        socks_dispatch (self);
        if (!self->stop)
            timers_run (self, gl_mono_ms ());
    }
    return 0;
}
