/*  owners.h -- locks held across a restore: glibc records who holds some
    of its locks by thread id, and a restored thread has a new one.

    A rwlock's writer (pthread_rwlock_unlock tells a writer from a reader
    by __cur_writer == its own id), a recursive or error-checking mutex's
    owner (__owner: relocking counts, unlocking is refused to another)
    hold the id of the thread that locked them.  A thread restored while
    it held one would unlock it as a reader (the lock stays written, and
    the next writer waits for ever: setlocale, which takes glibc's
    __libc_setlocale_lock for writing, caught by a move in the middle) or
    not at all (EPERM).

    So each restored thread keeps the ids it had before (in its own
    thread-local memory, which moves with it), and a lock whose owner is
    one of them is its own: owners_claim gives such a lock the thread's
    id now.  The shim's wrappers of pthread_mutex_lock, _trylock,
    _timedlock, _clocklock, _unlock and pthread_rwlock_unlock (shim/
    locks.c) claim before they call glibc's; glibc's own locks, which
    glibc locks and unlocks without going through those names, are
    claimed at the restore itself (owners_restored), in glibc's and the
    dynamic linker's writable data.

    Not claimed: a lock held across a restore and unlocked inside glibc
    by a name not wrapped (pthread_cond_wait on a recursive or
    error-checking mutex refuses with EPERM), robust and
    priority-inheriting mutexes (the id is in the futex word the kernel
    reads). */
#ifndef GL_OWNERS_H
#define GL_OWNERS_H

#include <stdbool.h>

/* At the library's start: where glibc's and the dynamic linker's
   writable data are (their layout is the same after a restore). */
void owners_init (void);
/* In each restored thread, before it runs the program again: old is
   the id it had. */
void owners_former (int old);
/* Whether this thread was ever restored (the wrappers' fast path: a
   thread-local load). */
extern __thread
    __attribute__ ((tls_model ("initial-exec"), visibility ("hidden"))) int owners_n_former;
static inline bool owners_moved (void)
{
    return owners_n_former != 0;
}
/* *owner is a lock's owner field: one of this thread's former ids (and
   no live thread's of this process now) becomes its id now. */
void owners_claim (int *owner);
/* At a restore, every thread still stopped: glibc's own locks held by
   old[i] are given new[i]. */
void owners_restored (const int *old, const int *now, int n);

#endif
