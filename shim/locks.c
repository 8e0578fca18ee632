/*  locks.c -- pthread mutexes and rwlocks a thread held across a move:
    the owner each records is the thread's id before the restore, which
    it is given again here before glibc checks it (checkpoint/owners.h
    says why).  Until a thread has been restored, each call costs a
    thread-local load and a comparison more. */
#include "owners.h"
#include "shim_impl.h"
#include "vclock.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#define API __attribute__ ((visibility ("default")))

/* glibc's other names for the calls, which it has always exported (the
   version named: they are not the default one to link with); no lookup,
   so that a library's constructor that locks before the shim's is
   served too */
extern int real_mutex_lock (pthread_mutex_t *);
extern int real_mutex_trylock (pthread_mutex_t *);
extern int real_mutex_unlock (pthread_mutex_t *);
extern int real_rwlock_unlock (pthread_rwlock_t *);
__asm__(".symver real_mutex_lock, __pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver real_mutex_trylock, __pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver real_mutex_unlock, __pthread_mutex_unlock@GLIBC_2.2.5");
__asm__(".symver real_rwlock_unlock, __pthread_rwlock_unlock@GLIBC_2.2.5");

static void claim_mutex (pthread_mutex_t *m)
{
    if (owners_moved ())
        owners_claim (&m->__data.__owner);
}

API int pthread_mutex_lock (pthread_mutex_t *m)
{
    claim_mutex (m);
    return real_mutex_lock (m);
}

API int pthread_mutex_trylock (pthread_mutex_t *m)
{
    claim_mutex (m);
    return real_mutex_trylock (m);
}

API int pthread_mutex_unlock (pthread_mutex_t *m)
{
    claim_mutex (m);
    return real_mutex_unlock (m);
}

API int pthread_rwlock_unlock (pthread_rwlock_t *l)
{
    if (owners_moved ())
        owners_claim (&l->__data.__cur_writer);
    return real_rwlock_unlock (l);
}

/* The two with a time limit have no second name of their own (their
   older versions share ours: bound to them, the wrapper would call
   itself): looked up before any constructor of the program's, as
   pids.c's, or at the first call when a library's constructor comes
   first. */
typedef int (*mutex_timed_fn) (pthread_mutex_t *, const struct timespec *);
typedef int (*mutex_clock_fn) (pthread_mutex_t *, clockid_t, const struct timespec *);
static mutex_timed_fn real_mutex_timedlock;
static mutex_clock_fn real_mutex_clocklock;

__attribute__ ((constructor (101))) static void locks_init (void)
{
    real_mutex_timedlock = (mutex_timed_fn) dlsym (RTLD_NEXT, "pthread_mutex_timedlock");
    real_mutex_clocklock = (mutex_clock_fn) dlsym (RTLD_NEXT, "pthread_mutex_clocklock");
}

API int pthread_mutex_timedlock (pthread_mutex_t *m, const struct timespec *t)
{
    SHIM_NEED (real_mutex_timedlock, locks_init, ENOSYS);
    claim_mutex (m);
    return real_mutex_timedlock (m, t);
}

API int pthread_mutex_clocklock (pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
    SHIM_NEED (real_mutex_clocklock, locks_init, ENOSYS);
    claim_mutex (m);
    struct timespec k; /* the time on this kernel's clock (checkpoint/vclock.h) */
    int slot;
    int rc = real_mutex_clocklock (m, c, vclock_wait_begin (c, t, &k, &slot));
    vclock_wait_end (slot);
    return rc;
}
