/*  loop.h -- the event loop of the programs (glpeer's agent, glx).

    A callback per source, as Redis's ae has it: an fd, a ZeroMQ socket, a
    timer or a signal is registered once with its callback, and nothing is
    rebuilt per turn.  One turn:

        the `before` hook: work that follows from any event (draining
          queues, computing a deadline); it says until when the loop may
          sleep
        wait in epoll until an fd is ready, a timer is due or that time
        the callbacks of the ready fds, sockets and signals, then those of
          the timers that are due

    Why not czmq's zloop, which is linked anyway (czmq 4.2.1, Debian 12):
      - zloop hands its whole poll set to zmq_poll at every wake-up.  In a
        pipe ping-pong a wake-up costs the same as here with a few fds
        (~1.3 us), but 18 us with 512 fds registered and 172 us with 4096,
        where epoll stays at 1.3 us.  glx -n 4096 holds 4096 streams, and
        every frame of each is a wake-up;
      - it cannot change what an fd is watched for: the poller is ended
        and added again, a walk of its list, an allocation and a rebuild
        of the whole poll set on the next turn.  Streams do that all the
        time: a pipe out of credit stops being read, a socket that fills
        is watched for POLLOUT until it drains;
      - it has no signals, no hook before the wait (the agent runs its
        protocol machines after every event and sleeps until their next
        deadline), and only relative timers in an unsorted list, walked
        three times a turn, re-armed by an end and an add;
      - a pipe whose writer closed reports POLLHUP, which zloop counts as
        an error: the second one drops the poller, silently, unless it was
        marked tolerant.
    With those added, what would be left of zloop is its zmq_poll call.
    czmq still provides the sockets: a zsock is watched through its ZMQ_FD
    and ZMQ_EVENTS, as zmq_poll does it.

    fds are watched level-triggered, as poll(2) does: a callback need not
    drain its fd.  An fd that epoll refuses (a regular file, /dev/null) is
    always ready, as poll(2) says of them.  Events are poll(2)'s POLLIN,
    POLLOUT, POLLERR and POLLHUP.

    Anything may be registered or removed from inside any callback.  A
    removed fd, socket or timer is never called again, not even for an
    event the current turn already holds; nor is the new watcher of an fd
    number that was stopped, closed and reused within a turn called for
    what the previous file did. */
#ifndef GL_LOOP_H
#define GL_LOOP_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

typedef struct gl_loop_t gl_loop_t;

typedef void (gl_loop_fd_fn) (gl_loop_t *loop, int fd, short revents, void *arg);
typedef void (gl_loop_sock_fn) (gl_loop_t *loop, zsock_t *sock, void *arg);
typedef void (gl_loop_timer_fn) (gl_loop_t *loop, int id, void *arg);
typedef void (gl_loop_signal_fn) (gl_loop_t *loop, const struct signalfd_siginfo *si, void *arg);
/* Returns the gl_mono_ms time by which the loop must wake up at the
   latest (timers aside), UINT64_MAX for no limit. */
typedef uint64_t (gl_loop_before_fn) (gl_loop_t *loop, void *arg);

/* A loop, or NULL with a message. */
gl_loop_t *gl_loop_new (char *err, size_t errlen);
/* Frees the loop.  The signals it took stay blocked: one that comes late
   is not acted on, by the loop or by its default action. */
void gl_loop_destroy (gl_loop_t **self_p);

/* Watch fd for events (POLLIN, POLLOUT) and call fn when any of them, or
   POLLERR or POLLHUP, happens; POLLHUP alone watches for those two only
   (a peer that hangs up).  Called again for a watched fd, it changes
   the events (and the callback).  events 0 stops watching fd; then fn
   and arg must be the ones watching it, so that a late stop for an fd
   number someone else has taken since does nothing.  Stop watching an fd
   before closing it: the loop cannot see a close, and epoll forgets a
   closed fd silently.  0, or -1 with errno set. */
int gl_loop_fd (gl_loop_t *self, int fd, short events, gl_loop_fd_fn *fn, void *arg);

/* Call fn while sock has a message to read (fn need not read them all). */
int gl_loop_sock (gl_loop_t *self, zsock_t *sock, gl_loop_sock_fn *fn, void *arg);
/* The program sent on sock (or asked it anything) outside its callback:
   libzmq may have taken in a message's arrival, and with it the only
   signal of it, so the loop asks the socket before it waits again. */
void gl_loop_sock_used (gl_loop_t *self, zsock_t *sock);
void gl_loop_sock_end (gl_loop_t *self, zsock_t *sock);

/* Call fn once, at gl_mono_ms time at_ms or as soon after as the loop
   turns.  Timers due at the same time run in the order they were set.
   Returns the timer's id (> 0), or -1 when out of memory. */
int gl_loop_timer (gl_loop_t *self, uint64_t at_ms, gl_loop_timer_fn *fn, void *arg);
/* Cancel a timer that has not run; an id that has run or is 0 is fine. */
void gl_loop_timer_end (gl_loop_t *self, int id);

/* Take signo through the loop's signalfd: it is blocked in the calling
   thread (so set signals up before starting other threads, ZeroMQ's I/O
   threads included: a thread that does not block a signal takes it
   instead).  One that came ignored (a shell starts background jobs with
   SIGINT ignored) is given back its default action: POSIX lets an
   ignored signal be discarded even while blocked, and with SIGCHLD
   ignored the kernel reaps children itself and sends no SIGCHLD at all.
   0, or -1 with errno set. */
int gl_loop_signal (gl_loop_t *self, int signo, gl_loop_signal_fn *fn, void *arg);

/* The hook run at the start of every turn (fn NULL: none). */
void gl_loop_before (gl_loop_t *self, gl_loop_before_fn *fn, void *arg);

/* Turn until gl_loop_stop.  0, or -1 with errno set when epoll fails. */
int gl_loop_run (gl_loop_t *self);
/* Make gl_loop_run return, without calling any other callback. */
void gl_loop_stop (gl_loop_t *self);

#endif
