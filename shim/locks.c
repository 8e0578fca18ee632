/*  locks.c -- pthread mutexes and rwlocks a thread held across a move:
    the owner each records is the thread's id before the restore, which
    it is given again here before glibc checks it (checkpoint/owners.h
    says why).  Until a thread has been restored, each call costs a
    thread-local load and a comparison more. */
#include "owners.h"

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

typedef int (*mutex_timed_fn) (pthread_mutex_t *, const struct timespec *);
typedef int (*mutex_clock_fn) (pthread_mutex_t *, clockid_t, const struct timespec *);

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

/* The two with a time limit have no such second name: looked up at the
   first call. */
API int pthread_mutex_timedlock (pthread_mutex_t *m, const struct timespec *t)
{
    static mutex_timed_fn found;
    mutex_timed_fn real = __atomic_load_n (&found, __ATOMIC_ACQUIRE);
    if (!real) {
        real = (mutex_timed_fn) dlsym (RTLD_NEXT, "pthread_mutex_timedlock");
        __atomic_store_n (&found, real, __ATOMIC_RELEASE);
    }
    if (!real)
        return ENOSYS;
    claim_mutex (m);
    return real (m, t);
}

API int pthread_mutex_clocklock (pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
    static mutex_clock_fn found;
    mutex_clock_fn real = __atomic_load_n (&found, __ATOMIC_ACQUIRE);
    if (!real) {
        real = (mutex_clock_fn) dlsym (RTLD_NEXT, "pthread_mutex_clocklock");
        __atomic_store_n (&found, real, __ATOMIC_RELEASE);
    }
    if (!real)
        return ENOSYS;
    claim_mutex (m);
    return real (m, c, t);
}
