/*  ckcv -- threads taking turns under a mutex and condition variables,
    for t/integ/migrate_real.sh to move while they wait on each other.

        ckcv THREADS STEPS

    THREADS threads pass a turn around a ring: each waits on the
    condition variable until the turn is its own, mixes the turn into
    its accumulator, passes the turn on and wakes the others.  Every
    1000 turns the thread that made the step prints it (the step and the
    accumulators' checksum) and naps 50 ms holding the mutex, so that a
    checkpoint finds threads parked in the kernel's futex waits (mutex
    and condition variable), one in nanosleep, and a watcher in a timed
    wait (pthread_cond_timedwait, 20 ms at a time) that ends the program
    at the last step.  The same arguments give byte-identical output
    however often the process moved; it exits 3, so that a test sees
    the status travel. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 16

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static long n_threads, turns, turn;
static uint64_t acc[MAX_THREADS];

static uint64_t checksum (void)
{
    uint64_t s = 0;
    for (long i = 0; i < n_threads; i++)
        s = s * 31 + acc[i];
    return s;
}

static void *ring (void *arg)
{
    long me = (long) (intptr_t) arg;
    pthread_mutex_lock (&mu);
    for (;;) {
        while (turn % n_threads != me && turn < turns)
            pthread_cond_wait (&turn_cv, &mu);
        if (turn >= turns)
            break;
        acc[me] = acc[me] * 6364136223846793005ull + (uint64_t) turn + 1442695040888963407ull;
        if (++turn % 1000 == 0) {
            printf ("step %ld %016llx\n", turn / 1000, (unsigned long long) checksum ());
            fflush (stdout);
            struct timespec ts = { 0, 50 * 1000 * 1000 };
            while (nanosleep (&ts, &ts))
                ;
        }
        pthread_cond_broadcast (&turn_cv);
        if (turn >= turns)
            pthread_cond_signal (&done_cv);
    }
    pthread_mutex_unlock (&mu);
    pthread_cond_broadcast (&turn_cv);
    return NULL;
}

int main (int argc, char **argv)
{
    if (argc != 3 || (n_threads = atol (argv[1])) < 1 || n_threads > MAX_THREADS ||
        (turns = atol (argv[2]) * 1000) < 1) {
        fprintf (stderr, "usage: ckcv THREADS(1-%d) STEPS\n", MAX_THREADS);
        return 2;
    }
    pthread_t t[MAX_THREADS];
    for (long i = 0; i < n_threads; i++)
        if (pthread_create (&t[i], NULL, ring, (void *) (intptr_t) i)) {
            perror ("ckcv: pthread_create");
            return 1;
        }
    /* the watcher: timed waits until the last turn */
    pthread_mutex_lock (&mu);
    while (turn < turns) {
        struct timespec at;
        clock_gettime (CLOCK_REALTIME, &at);
        at.tv_nsec += 20 * 1000 * 1000;
        if (at.tv_nsec >= 1000000000) {
            at.tv_sec++;
            at.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait (&done_cv, &mu, &at);
    }
    pthread_mutex_unlock (&mu);
    for (long i = 0; i < n_threads; i++)
        pthread_join (t[i], NULL);
    printf ("done %016llx\n", (unsigned long long) checksum ());
    return 3;
}
