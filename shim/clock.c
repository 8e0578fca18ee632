/*  clock.c -- the monotonic clocks a restored job sees
    (checkpoint/vclock.h): the offset added where a program reads
    CLOCK_MONOTONIC or CLOCK_BOOTTIME, and taken off where it hands the
    kernel an absolute time on them: clock_nanosleep with TIMER_ABSTIME,
    a condition variable's wait, the clock waits of read-write locks,
    semaphores and joins (and of mutexes: locks.c's wrapper), an
    absolute timerfd or POSIX timer, a futex wait on an absolute
    monotonic time made through syscall(), as Rust's standard library
    makes it.  A wait under way when the process moves goes on to the
    same instant of the program's clock (vclock_wait_begin).  Until a
    move between machines the offset is 0.

    Not seen: a program that reads the clock from the vDSO itself (not
    through libc), or makes such a call with its own syscall instruction
    with the dispatch off, or a POSIX timer made by a raw timer_create; a
    program executed after the move starts on the new machine's clock
    (glunix(7)). */
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#define API __attribute__ ((visibility ("default")))

/* libc's, found when the library starts (a call may come from a
   handler, where dlsym may not) */
static int (*real_nanosleep) (clockid_t, int, const struct timespec *, struct timespec *);
static int (*real_cond_timedwait) (pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static int (*real_cond_clockwait) (pthread_cond_t *, pthread_mutex_t *, clockid_t,
                                   const struct timespec *);
static int (*real_rd_clocklock) (pthread_rwlock_t *, clockid_t, const struct timespec *);
static int (*real_wr_clocklock) (pthread_rwlock_t *, clockid_t, const struct timespec *);
static int (*real_sem_clockwait) (sem_t *, clockid_t, const struct timespec *);
static int (*real_clockjoin) (pthread_t, void **, clockid_t, const struct timespec *);
static int (*real_timerfd_settime) (int, int, const struct itimerspec *, struct itimerspec *);
static int (*real_timer_create) (clockid_t, struct sigevent *, timer_t *);
static int (*real_timer_settime) (timer_t, int, const struct itimerspec *, struct itimerspec *);
static int (*real_timer_delete) (timer_t);
static long (*real_syscall) (long, ...);

#define FIND(var, name) var = (__typeof__ (var)) dlsym (RTLD_NEXT, name)
__attribute__ ((constructor (101))) static void clock_init (void)
{
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
    /* the POSIX timers of glibc 2.3.3 on, which a program built now uses */
    real_timer_create =
        (__typeof__ (real_timer_create)) dlvsym (RTLD_NEXT, "timer_create", "GLIBC_2.3.3");
    real_timer_settime =
        (__typeof__ (real_timer_settime)) dlvsym (RTLD_NEXT, "timer_settime", "GLIBC_2.3.3");
    real_timer_delete =
        (__typeof__ (real_timer_delete)) dlvsym (RTLD_NEXT, "timer_delete", "GLIBC_2.3.3");
    if (!real_timer_create)
        FIND (real_timer_create, "timer_create");
    if (!real_timer_settime)
        FIND (real_timer_settime, "timer_settime");
    if (!real_timer_delete)
        FIND (real_timer_delete, "timer_delete");
    FIND (real_syscall, "syscall");
}

/* an error code (clock_nanosleep's, pthread's), or -1 and errno */
#define NEED(fn)       SHIM_NEED (real_##fn, clock_init, ENOSYS)
#define NEED_ERRNO(fn) SHIM_NEED (real_##fn, clock_init, -1)

API int clock_gettime (clockid_t c, struct timespec *t)
{
    return vclock_gettime (c, t);
}

/* A call that waits until an absolute time t on clock c, with that
   time on this kernel's clock in k while it runs (vclock_wait_begin):
   CALL names the time it hands on as kt. */
#define WAITING(c, t, CALL)                                                \
    do {                                                                   \
        struct timespec k_;                                                \
        int slot_;                                                         \
        const struct timespec *kt = vclock_wait_begin (c, t, &k_, &slot_); \
        int rc_ = CALL;                                                    \
        vclock_wait_end (slot_);                                           \
        return rc_;                                                        \
    } while (0)

API int clock_nanosleep (clockid_t c, int flags, const struct timespec *t, struct timespec *rem)
{
    NEED (nanosleep);
    if (!(flags & TIMER_ABSTIME))
        return real_nanosleep (c, flags, t, rem);
    WAITING (c, t, real_nanosleep (c, flags, kt, rem));
}

/* glibc keeps a condition variable's clock in bit 1 of __wrefs
   (pthread_cond_common.c): set, CLOCK_MONOTONIC. */
API int pthread_cond_timedwait (pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *t)
{
    NEED (cond_timedwait);
    bool mono =
        (atomic_load_explicit ((_Atomic unsigned *) &cv->__data.__wrefs, memory_order_relaxed) >>
         1) &
        1;
    WAITING (mono ? CLOCK_MONOTONIC : CLOCK_REALTIME, t, real_cond_timedwait (cv, m, kt));
}

API int pthread_cond_clockwait (pthread_cond_t *cv, pthread_mutex_t *m, clockid_t c,
                                const struct timespec *t)
{
    NEED (cond_clockwait);
    WAITING (c, t, real_cond_clockwait (cv, m, c, kt));
}

API int pthread_rwlock_clockrdlock (pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
    NEED (rd_clocklock);
    WAITING (c, t, real_rd_clocklock (l, c, kt));
}

API int pthread_rwlock_clockwrlock (pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
    NEED (wr_clocklock);
    WAITING (c, t, real_wr_clocklock (l, c, kt));
}

API int sem_clockwait (sem_t *s, clockid_t c, const struct timespec *t)
{
    NEED_ERRNO (sem_clockwait);
    WAITING (c, t, real_sem_clockwait (s, c, kt));
}

API int pthread_clockjoin_np (pthread_t th, void **ret, clockid_t c, const struct timespec *t)
{
    NEED (clockjoin);
    WAITING (c, t, real_clockjoin (th, ret, c, kt));
}

/* An absolute timerfd on a moved clock: the kernel keeps the time (and
   a checkpoint the time left), so it is translated once. */
API int timerfd_settime (int fd, int flags, const struct itimerspec *v, struct itimerspec *old)
{
    NEED_ERRNO (timerfd_settime);
    struct itimerspec k;
    uint64_t c;
    char path[64], info[512];
    if ((flags & TFD_TIMER_ABSTIME) && v && (v->it_value.tv_sec || v->it_value.tv_nsec) &&
        snprintf (path, sizeof path, "/proc/self/fdinfo/%d", fd) > 0 &&
        gl_read_file (path, info, sizeof info) > 0 && gl_status_field (info, "clockid:", 10, &c)) {
        int slot;
        k.it_interval = v->it_interval;
        if (vclock_wait_begin ((clockid_t) c, &v->it_value, &k.it_value, &slot) != &v->it_value)
            v = &k;
        int rc = real_timerfd_settime (fd, flags, v, old);
        vclock_wait_end (slot);
        return rc;
    }
    return real_timerfd_settime (fd, flags, v, old);
}

/* POSIX timers on a moved clock, by id: an absolute timer_settime needs
   the timer's clock, which only timer_create is told.  A slot is free
   (0), being written (1) or noted (2); the ids move with the process
   (the image carries its timers and this table). */
#define TIMERS_MAX 256
static struct {
    _Atomic int state;
    timer_t id;
    clockid_t clock;
} timers[TIMERS_MAX];

/* The slot of timer id, or -1. */
static int timer_slot (timer_t id)
{
    for (int i = 0; i < TIMERS_MAX; i++)
        if (atomic_load (&timers[i].state) == 2 && timers[i].id == id)
            return i;
    return -1;
}

API int timer_create (clockid_t c, struct sigevent *ev, timer_t *id)
{
    NEED_ERRNO (timer_create);
    int rc = real_timer_create (c, ev, id);
    if (rc != 0)
        return rc;
    int old = timer_slot (*id); /* a parent's, which a fork does not pass on */
    if (old >= 0)
        atomic_store (&timers[old].state, 0);
    for (int i = 0; i < TIMERS_MAX && vclock_moves (c); i++) {
        int free_ = 0;
        if (atomic_compare_exchange_strong (&timers[i].state, &free_, 1)) {
            timers[i].id = *id;
            timers[i].clock = c;
            atomic_store (&timers[i].state, 2);
            break;
        }
    }
    return rc;
}

API int timer_delete (timer_t id)
{
    NEED_ERRNO (timer_delete);
    int i = timer_slot (id);
    if (i >= 0)
        atomic_store (&timers[i].state, 0);
    return real_timer_delete (id);
}

/* Translated once: the kernel keeps the time, and a checkpoint the time
   left. */
API int timer_settime (timer_t id, int flags, const struct itimerspec *v, struct itimerspec *old)
{
    NEED_ERRNO (timer_settime);
    int i = (flags & TIMER_ABSTIME) && v ? timer_slot (id) : -1;
    if (i < 0 || (!v->it_value.tv_sec && !v->it_value.tv_nsec))
        return real_timer_settime (id, flags, v, old);
    struct itimerspec k = { .it_interval = v->it_interval };
    int slot;
    vclock_wait_begin (timers[i].clock, &v->it_value, &k.it_value, &slot);
    int rc = real_timer_settime (id, flags, &k, old);
    vclock_wait_end (slot);
    return rc;
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
    int slot = -1;
    switch (nr) {
        case SYS_clock_gettime: return vclock_gettime ((clockid_t) a, (struct timespec *) b);
        case SYS_clock_nanosleep:
            if (b & TIMER_ABSTIME)
                c = (long) vclock_wait_begin ((clockid_t) a, (const struct timespec *) c, &k,
                                              &slot);
            break;
        case SYS_futex: {
            int cmd = (int) b & FUTEX_CMD_MASK;
            if ((cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAIT_REQUEUE_PI || cmd == 13) &&
                !(b & FUTEX_CLOCK_REALTIME))
                d = (long) vclock_wait_begin (CLOCK_MONOTONIC, (const struct timespec *) d, &k,
                                              &slot);
            break;
        }
        default: break;
    }
    long r = real_syscall (nr, a, b, c, d, e, f);
    vclock_wait_end (slot);
    return r;
}
