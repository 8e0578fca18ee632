/*  cklocks -- threads that hold locks across a move, for
    t/integ/migrate_locks.sh.

        cklocks STEPS

    glibc records who holds some locks by thread id, and a restored
    thread has a new one (checkpoint/owners.h).  Each step:
    - the writer takes a rwlock for writing, a recursive mutex twice (the
      second time with pthread_mutex_clocklock) and an error-checking
      mutex (pthread_mutex_timedlock), adds to the counter, sleeps 20 ms holding
      them all (where a move finds it), then lets them go, checking each
      unlock (a restored thread's used to fail with EPERM);
    - the reader takes the rwlock for reading with a 10 s limit, which
      passes only if the writer really let it go (a restored writer's
      unlock used to count as a reader's, and the rwlock stayed
      written), and prints the counter every 10 steps;
    - the main thread calls setlocale over and over, which holds glibc's
      own rwlock for writing most of the time (a move there used to
      leave it locked: the next setlocale waited for ever).
    The same STEPS give the same output however often the process
    moved; it exits 0, or 1 with what failed. */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t rec, ec;
static pthread_mutex_t step_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t step_cv = PTHREAD_COND_INITIALIZER;
static long steps, written, read_step = -1;
static long counter;
static atomic_int over;

static void check (int rc, const char *what)
{
    if (rc) {
        printf ("FAIL %s: %s\n", what, strerror (rc));
        fflush (stdout);
        exit (1);
    }
}

static void *writer (void *arg)
{
    (void) arg;
    for (long i = 0; i < steps; i++) {
        check (pthread_rwlock_wrlock (&rw), "rwlock wrlock");
        check (pthread_mutex_lock (&rec), "recursive lock");
        struct timespec limit;
        clock_gettime (CLOCK_MONOTONIC, &limit);
        limit.tv_sec += 10;
        check (pthread_mutex_clocklock (&rec, CLOCK_MONOTONIC, &limit), "recursive lock again");
        clock_gettime (CLOCK_REALTIME, &limit);
        limit.tv_sec += 10;
        check (pthread_mutex_timedlock (&ec, &limit), "error-checking lock");
        counter += i * i + 1;
        struct timespec nap = { 0, 20000000 };
        while (nanosleep (&nap, &nap) && errno == EINTR) {
        }
        check (pthread_mutex_unlock (&ec), "error-checking unlock");
        check (pthread_mutex_unlock (&rec), "recursive unlock");
        check (pthread_mutex_unlock (&rec), "recursive unlock again");
        check (pthread_rwlock_unlock (&rw), "rwlock unlock (writer)");
        /* the reader reads each step's counter before the next */
        pthread_mutex_lock (&step_mu);
        written = i;
        pthread_cond_broadcast (&step_cv);
        while (read_step < i)
            pthread_cond_wait (&step_cv, &step_mu);
        pthread_mutex_unlock (&step_mu);
    }
    return NULL;
}

static void *reader (void *arg)
{
    (void) arg;
    for (long i = 0; i < steps; i++) {
        pthread_mutex_lock (&step_mu);
        while (written < i)
            pthread_cond_wait (&step_cv, &step_mu);
        pthread_mutex_unlock (&step_mu);
        struct timespec limit;
        clock_gettime (CLOCK_REALTIME, &limit);
        limit.tv_sec += 10;
        check (pthread_rwlock_timedrdlock (&rw, &limit), "rwlock read lock (left written?)");
        long c = counter;
        check (pthread_rwlock_unlock (&rw), "rwlock unlock (reader)");
        if (i % 10 == 9) {
            printf ("step %ld counter %ld\n", i + 1, c);
            fflush (stdout);
        }
        pthread_mutex_lock (&step_mu);
        read_step = i;
        pthread_cond_broadcast (&step_cv);
        pthread_mutex_unlock (&step_mu);
    }
    atomic_store (&over, 1);
    return NULL;
}

int main (int argc, char **argv)
{
    steps = argc > 1 ? atol (argv[1]) : 200;
    pthread_mutexattr_t a;
    pthread_mutexattr_init (&a);
    pthread_mutexattr_settype (&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init (&rec, &a);
    pthread_mutexattr_settype (&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init (&ec, &a);
    written = -1;
    pthread_t w, r;
    check (pthread_create (&w, NULL, writer, NULL), "pthread_create");
    check (pthread_create (&r, NULL, reader, NULL), "pthread_create");
    long calls = 0;
    while (!atomic_load (&over)) {
        if (!setlocale (LC_ALL, "") || !setlocale (LC_NUMERIC, "C"))
            check (EINVAL, "setlocale");
        calls++;
    }
    pthread_join (w, NULL);
    pthread_join (r, NULL);
    printf ("done: %ld steps, counter %ld, setlocale went on (%s)\n", steps, counter,
            calls > 0 ? "yes" : "no");
    return 0;
}
