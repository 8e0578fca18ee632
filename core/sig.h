/*  sig.h -- a queued signal to the one thread of a process that takes it.

    A signal sent to a process (kill(2), sigqueue(3)) wakes one of its
    threads that does not block it, and the kernel may wake one that is
    waiting in epoll_wait, poll or a sleep only for another thread to
    take the signal first: the woken one's call then returns EINTR with no
    handler run in it, which the program never asked for (an event loop
    that checks epoll_wait's -1 ends).  A checkpoint's request is sent
    here instead to one thread, the process's first unless that one
    blocks the signal or has ended: only that thread is woken, and it runs
    the handler, which makes an interrupted call again.  Safe in a signal
    handler and in a raw fork (system calls only, no allocation). */
#ifndef GL_SIG_H
#define GL_SIG_H

#include <sys/types.h>

/* sig with value (si_code SI_QUEUE, si_pid and si_uid this process's
   real ones) to a thread of pid that does not block it; to the process
   as a whole when no thread can be told apart (none found in /proc, all
   block it).  0, or -1 with errno as sigqueue(3)'s. */
int gl_sigqueue_thread (pid_t pid, int sig, int value);

#endif
