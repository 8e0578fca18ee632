/*  clock.c -- the monotonic clocks a restored job sees
    (checkpoint/vclock.h): the offset added where a program reads
    CLOCK_MONOTONIC or CLOCK_BOOTTIME, and taken off where it hands the
    kernel an absolute time on them (clock_nanosleep with TIMER_ABSTIME,
    the clock waits of condition variables, mutexes (locks.c's wrapper),
    read-write locks,
    semaphores and joins, an absolute timerfd, a futex
    wait on an absolute monotonic time made through syscall(), as Rust's
    standard library does).  Until a restore between machines the
    offset is 0, and each wrapper costs a comparison.

    Not seen: a program that reads the clock from the vDSO itself (not
    through libc), or makes such a call with its own syscall instruction
    with the dispatch off; a POSIX timer set to an absolute time
    (timer_settime with TIMER_ABSTIME); a program executed after the
    move starts on the new machine's clock (glunix(7)). */
#include "fd.h"
#include "shim_impl.h"
#include "vclock.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#define API __attribute__ ((visibility ("default")))

static struct timespec plus (struct timespec t, int64_t ns)
{
    int64_t v = (int64_t) t.tv_sec * 1000000000 + t.tv_nsec + ns;
    if (v < 0)
        v = 0;
    return (struct timespec){ v / 1000000000, v % 1000000000 };
}

/* abs, an absolute time on clock c as the program sees it, for the
   kernel (into *k): the pointer to hand on (shim_impl.h). */
const struct timespec *shim_kernel_time (clockid_t c, const struct timespec *abs,
                                         struct timespec *k)
{
    int64_t off = abs ? vclock_off (c) : 0;
    if (!off)
        return abs;
    *k = plus (*abs, -off);
    return k;
}

/* libc's, found when the library starts (a call may come from a
   handler, where dlsym may not) */
static int (*real_gettime) (clockid_t, struct timespec *);
static int (*real_nanosleep) (clockid_t, int, const struct timespec *, struct timespec *);
static int (*real_cond_timedwait) (pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static int (*real_cond_clockwait) (pthread_cond_t *, pthread_mutex_t *, clockid_t,
                                   const struct timespec *);
static int (*real_rd_clocklock) (pthread_rwlock_t *, clockid_t, const struct timespec *);
static int (*real_wr_clocklock) (pthread_rwlock_t *, clockid_t, const struct timespec *);
static int (*real_sem_clockwait) (sem_t *, clockid_t, const struct timespec *);
static int (*real_clockjoin) (pthread_t, void **, clockid_t, const struct timespec *);
static int (*real_timerfd_settime) (int, int, const struct itimerspec *, struct itimerspec *);
static long (*real_syscall) (long, ...);

#define FIND(var, name) var = (__typeof__ (var)) dlsym (RTLD_NEXT, name)
__attribute__ ((constructor (101))) static void clock_init (void)
{
    FIND (real_gettime, "clock_gettime");
    FIND (real_nanosleep, "clock_nanosleep");
    /* the versions a program built now links against */
    real_cond_timedwait = (__typeof__ (real_cond_timedwait)) dlvsym (
        RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");
    if (!real_cond_timedwait)
        FIND (real_cond_timedwait, "pthread_cond_timedwait");
    FIND (real_cond_clockwait, "pthread_cond_clockwait");
    FIND (real_rd_clocklock, "pthread_rwlock_clockrdlock");
    FIND (real_wr_clocklock, "pthread_rwlock_clockwrlock");
    FIND (real_sem_clockwait, "sem_clockwait");
    FIND (real_clockjoin, "pthread_clockjoin_np");
    FIND (real_timerfd_settime, "timerfd_settime");
    FIND (real_syscall, "syscall");
}

#define NEED(fn)           \
    do {                   \
        if (!real_##fn)    \
            clock_init (); \
        if (!real_##fn)    \
            return ENOSYS; \
    } while (0)

API int clock_gettime (clockid_t c, struct timespec *t)
{
    if (!real_gettime)
        clock_init ();
    int rc = real_gettime (c, t);
    int64_t off = vclock_off (c);
    if (rc == 0 && off)
        *t = plus (*t, off);
    return rc;
}

API int clock_nanosleep (clockid_t c, int flags, const struct timespec *t, struct timespec *rem)
{
    NEED (nanosleep);
    struct timespec k;
    return real_nanosleep (c, flags, (flags & TIMER_ABSTIME) ? shim_kernel_time (c, t, &k) : t,
                           rem);
}

/* glibc keeps a condition variable's clock in bit 1 of __wrefs
   (pthread_cond_common.c): set, CLOCK_MONOTONIC. */
API int pthread_cond_timedwait (pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *t)
{
    NEED (cond_timedwait);
    struct timespec k;
    bool mono =
        (atomic_load_explicit ((_Atomic unsigned *) &cv->__data.__wrefs, memory_order_relaxed) >>
         1) &
        1;
    return real_cond_timedwait (cv, m, mono ? shim_kernel_time (CLOCK_MONOTONIC, t, &k) : t);
}

API int pthread_cond_clockwait (pthread_cond_t *cv, pthread_mutex_t *m, clockid_t c,
                                const struct timespec *t)
{
    NEED (cond_clockwait);
    struct timespec k;
    return real_cond_clockwait (cv, m, c, shim_kernel_time (c, t, &k));
}

API int pthread_rwlock_clockrdlock (pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
    NEED (rd_clocklock);
    struct timespec k;
    return real_rd_clocklock (l, c, shim_kernel_time (c, t, &k));
}

API int pthread_rwlock_clockwrlock (pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
    NEED (wr_clocklock);
    struct timespec k;
    return real_wr_clocklock (l, c, shim_kernel_time (c, t, &k));
}

API int sem_clockwait (sem_t *s, clockid_t c, const struct timespec *t)
{
    NEED (sem_clockwait);
    struct timespec k;
    int rc = real_sem_clockwait (s, c, shim_kernel_time (c, t, &k));
    return rc;
}

API int pthread_clockjoin_np (pthread_t th, void **ret, clockid_t c, const struct timespec *t)
{
    NEED (clockjoin);
    struct timespec k;
    return real_clockjoin (th, ret, c, shim_kernel_time (c, t, &k));
}

/* An absolute setting of a timerfd on a moved clock: its value for the
   kernel (its interval is relative). */
static const struct itimerspec *kernel_timer (clockid_t c, const struct itimerspec *v,
                                              struct itimerspec *k)
{
    if (!v || !vclock_off (c) || (!v->it_value.tv_sec && !v->it_value.tv_nsec))
        return v; /* a zero value disarms */
    k->it_interval = v->it_interval;
    shim_kernel_time (c, &v->it_value, &k->it_value);
    return k;
}

API int timerfd_settime (int fd, int flags, const struct itimerspec *v, struct itimerspec *old)
{
    NEED (timerfd_settime);
    struct itimerspec k;
    if (flags & TFD_TIMER_ABSTIME) {
        char path[64], info[512];
        uint64_t c;
        snprintf (path, sizeof path, "/proc/self/fdinfo/%d", fd);
        if (gl_read_file (path, info, sizeof info) > 0 &&
            gl_status_field (info, "clockid:", 10, &c))
            v = kernel_timer ((clockid_t) c, v, &k);
    }
    return real_timerfd_settime (fd, flags, v, old);
}

/* syscall(): the clock calls and a futex wait on an absolute monotonic
   time (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_LOCK_PI2 without
   FUTEX_CLOCK_REALTIME).  The shim's own calls come here too, and so do
   the raw calls Syscall User Dispatch traps (sud.c makes them through
   syscall()). */
API long syscall (long nr, ...)
{
    va_list ap;
    va_start (ap, nr);
    long a = va_arg (ap, long), b = va_arg (ap, long), c = va_arg (ap, long), d = va_arg (ap, long),
         e = va_arg (ap, long), f = va_arg (ap, long);
    va_end (ap);
    if (!real_syscall)
        clock_init ();
    struct timespec k;
    switch (nr) {
        case SYS_clock_gettime: {
            long rc = real_syscall (nr, a, b);
            int64_t off = vclock_off ((clockid_t) a);
            if (rc == 0 && off && b)
                *(struct timespec *) b = plus (*(struct timespec *) b, off);
            return rc;
        }
        case SYS_clock_nanosleep:
            if (b & TIMER_ABSTIME)
                c = (long) shim_kernel_time ((clockid_t) a, (const struct timespec *) c, &k);
            break;
        case SYS_futex: {
            int cmd = (int) b & FUTEX_CMD_MASK;
            if ((cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAIT_REQUEUE_PI || cmd == 13) &&
                !(b & FUTEX_CLOCK_REALTIME))
                d = (long) shim_kernel_time (CLOCK_MONOTONIC, (const struct timespec *) d, &k);
            break;
        }
        default: break;
    }
    return real_syscall (nr, a, b, c, d, e, f);
}
