/*  ckclock -- a program that holds points in time on CLOCK_MONOTONIC
    and CLOCK_BOOTTIME across moves (t/integ/migrate_clock.sh): each
    step sleeps until an absolute deadline counted from its start
    (clock_nanosleep TIMER_ABSTIME), waits for a deadline on a condition
    variable of CLOCK_MONOTONIC, on a futex through syscall() (as Rust's
    standard library waits), with sem_clockwait, and on an absolute
    timerfd and a POSIX timer, each a short time ahead and each expected
    to time out, not before its time and not much after (a wait a move
    came in the middle of included).  At the end it says whether the
    time it took, as both clocks measure it, is what a clock that went
    on would show (seconds, not a day).
        ckclock STEPS */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define STEP_NS 400000000 /* a step: its deadline from the start */
#define WAIT_NS 60000000  /* each wait: a deadline this far ahead */

static int64_t ns (clockid_t c)
{
    struct timespec t;
    clock_gettime (c, &t);
    return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct timespec at (int64_t v)
{
    return (struct timespec){ v / 1000000000, v % 1000000000 };
}

/* a wait for WAIT_NS from t0 that must have taken that long (a
   deadline taken for a day past ends it at once) and end within 5 s (a
   deadline taken for a day ahead does not, and the job hangs) */
static const char *check (int rc, int want, int64_t t0, const char *what)
{
    int64_t took = ns (CLOCK_MONOTONIC) - t0;
    if (rc != want || took < WAIT_NS - 1000000 || took > 5000000000LL)
        return what;
    return NULL;
}

int main (int argc, char **argv)
{
    int steps = argc > 1 ? atoi (argv[1]) : 30;
    pthread_condattr_t ca;
    pthread_cond_t cv;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
    pthread_cond_init (&cv, &ca);
    sem_t sem;
    sem_init (&sem, 0, 0);
    int tfd = timerfd_create (CLOCK_MONOTONIC, 0);
    uint32_t word = 0;
    struct sigevent none = { .sigev_notify = SIGEV_NONE };
    timer_t ptimer; /* the first one's id is 0 */
    bool have_ptimer = timer_create (CLOCK_MONOTONIC, &none, &ptimer) == 0;
    int64_t m0 = ns (CLOCK_MONOTONIC), b0 = ns (CLOCK_BOOTTIME);
    printf ("ready\n");
    fflush (stdout);
    for (int i = 0; i < steps; i++) {
        struct timespec d = at (m0 + (int64_t) (i + 1) * STEP_NS);
        while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR) {
        }
        const char *bad = ns (CLOCK_MONOTONIC) < m0 + (int64_t) (i + 1) * STEP_NS
                              ? "clock_nanosleep woke before its deadline"
                              : NULL;
        int64_t t = ns (CLOCK_MONOTONIC);
        struct timespec soon = at (t + WAIT_NS);
        pthread_mutex_lock (&mu);
        int rc;
        while ((rc = pthread_cond_timedwait (&cv, &mu, &soon)) == 0) {
        }
        pthread_mutex_unlock (&mu);
        if (!bad)
            bad = check (rc, ETIMEDOUT, t, "a condition variable's wait");
        t = ns (CLOCK_MONOTONIC);
        soon = at (t + WAIT_NS);
        long r;
        while ((r = syscall (SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &soon,
                             NULL, FUTEX_BITSET_MATCH_ANY)) == -1 &&
               errno == EINTR) {
        }
        if (!bad)
            bad = check (r == -1 ? errno : 0, ETIMEDOUT, t, "a futex wait");
        t = ns (CLOCK_MONOTONIC);
        soon = at (t + WAIT_NS);
        while ((rc = sem_clockwait (&sem, CLOCK_MONOTONIC, &soon)) == -1 && errno == EINTR) {
        }
        if (!bad)
            bad = check (rc == -1 ? errno : 0, ETIMEDOUT, t, "sem_clockwait");
        t = ns (CLOCK_MONOTONIC);
        struct itimerspec it = { { 0, 0 }, at (t + WAIT_NS) };
        uint64_t fired = 0;
        if (tfd >= 0 && !timerfd_settime (tfd, TFD_TIMER_ABSTIME, &it, NULL))
            while (read (tfd, &fired, sizeof fired) < 0 && errno == EINTR) {
            }
        if (!bad)
            bad = check (fired == 1 ? 0 : 1, 0, t, "an absolute timerfd");
        /* a POSIX timer set to an absolute time: expired once its value
           reads 0 (polled, for at most 6 s) */
        t = ns (CLOCK_MONOTONIC);
        it.it_value = at (t + WAIT_NS);
        struct itimerspec left = { { 0, 0 }, { 1, 0 } };
        if (have_ptimer && !timer_settime (ptimer, TIMER_ABSTIME, &it, NULL))
            for (int n = 0; n < 6000 && (left.it_value.tv_sec || left.it_value.tv_nsec); n++) {
                struct timespec ms = { 0, 1000000 };
                nanosleep (&ms, NULL);
                timer_gettime (ptimer, &left);
            }
        if (!bad)
            bad = check (left.it_value.tv_sec || left.it_value.tv_nsec, 0, t,
                         "a POSIX timer set to an absolute time");
        printf ("step %d%s%s\n", i, bad ? ": wrong: " : "", bad ? bad : "");
        fflush (stdout);
    }
    double m = (double) (ns (CLOCK_MONOTONIC) - m0) / 1e9,
           b = (double) (ns (CLOCK_BOOTTIME) - b0) / 1e9;
    double least = steps * (STEP_NS / 1e9);
    printf ("CLOCK_MONOTONIC: %s\n", m >= least && m < least + 60 ? "went on" : "jumped");
    printf ("CLOCK_BOOTTIME: %s\n", b >= least && b < least + 60 ? "went on" : "jumped");
    if (m < least || m >= least + 60 || b < least || b >= least + 60)
        fprintf (stderr, "ckclock: %.3f s on CLOCK_MONOTONIC, %.3f s on CLOCK_BOOTTIME\n", m, b);
    return 0;
}
