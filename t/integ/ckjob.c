/*  ckjob -- computations for t/integ/migrate.sh to move while they run.

        ckjob single STEPS MIB     one thread over a heap of MIB MiB
        ckjob threads N STEPS MIB  N threads, each over its part of it
        ckjob filter [STATUS]      stdin to stdout, a line at a time; exits
                                   STATUS (default 0) at stdin's end
        ckjob tcp                  holds a TCP connection (cannot move)

    The computations print one line per step (its number and a checksum
    of the heap so far) and the result at the end; the same arguments
    give byte-identical output, however often the process moved.  Each
    step lasts about 50 ms of sleep besides its work, so that a test can
    move it mid-run.  filter numbers its input lines and sums their bytes.
    Runs as a job, under the shim; needs nothing of glunix's. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void nap (void)
{
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    while (nanosleep (&ts, &ts))
        ;
}

/* A step over words [lo, hi): each word mixes in the step and its own
   last value (no neighbour's: threads own their parts), so the heap's
   whole history is in the sum. */
static uint64_t step_over (uint64_t *heap, size_t lo, size_t hi, uint64_t step)
{
    uint64_t sum = 0;
    for (size_t i = lo; i < hi; i++) {
        uint64_t x = heap[i] ^ (step * 0x9e3779b97f4a7c15ull + i);
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 29;
        heap[i] = x;
        sum += x;
    }
    return sum;
}

typedef struct {
    uint64_t *heap;
    size_t lo, hi;
    uint64_t steps, sum;
    pthread_barrier_t *go, *done;
} part_t;

static void *worker (void *arg)
{
    part_t *p = arg;
    for (uint64_t s = 0; s < p->steps; s++) {
        pthread_barrier_wait (p->go);
        p->sum = step_over (p->heap, p->lo, p->hi, s);
        pthread_barrier_wait (p->done);
    }
    return NULL;
}

static int compute (unsigned threads, uint64_t steps, size_t mib)
{
    size_t words = mib * (1u << 20) / sizeof (uint64_t);
    uint64_t *heap = malloc (words * sizeof *heap);
    if (!heap) {
        fprintf (stderr, "ckjob: no memory for %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < words; i++)
        heap[i] = i * 2654435761u;
    part_t *parts = calloc (threads, sizeof *parts);
    pthread_t *tids = calloc (threads, sizeof *tids);
    pthread_barrier_t go, done;
    pthread_barrier_init (&go, NULL, threads + 1);
    pthread_barrier_init (&done, NULL, threads + 1);
    for (unsigned t = 0; t < threads; t++) {
        parts[t] =
            (part_t){ heap, words * t / threads, words * (t + 1) / threads, steps, 0, &go, &done };
        pthread_create (&tids[t], NULL, worker, &parts[t]);
    }
    uint64_t total = 0;
    for (uint64_t s = 0; s < steps; s++) {
        pthread_barrier_wait (&go);
        pthread_barrier_wait (&done);
        uint64_t sum = 0;
        for (unsigned t = 0; t < threads; t++)
            sum += parts[t].sum;
        total ^= sum + s;
        printf ("step %llu %016llx\n", (unsigned long long) s, (unsigned long long) sum);
        fflush (stdout);
        nap ();
    }
    for (unsigned t = 0; t < threads; t++)
        pthread_join (tids[t], NULL);
    printf ("result %016llx\n", (unsigned long long) total);
    free (parts);
    free (tids);
    free (heap);
    return 0;
}

static int filter (int status)
{
    char line[4096];
    unsigned long long n = 0, bytes = 0;
    while (fgets (line, sizeof line, stdin)) {
        bytes += strlen (line);
        printf ("%llu %s", ++n, line);
        fflush (stdout);
    }
    printf ("lines %llu bytes %llu\n", n, bytes);
    return status;
}

static int tcp (void)
{
    int l = socket (AF_INET, SOCK_STREAM, 0), c = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (l < 0 || c < 0 || bind (l, (struct sockaddr *) &a, sizeof a) || listen (l, 1) ||
        getsockname (l, (struct sockaddr *) &a, &len) || connect (c, (struct sockaddr *) &a, len)) {
        perror ("ckjob tcp");
        return 1;
    }
    int s = accept (l, NULL, NULL);
    close (l);
    printf ("connected\n");
    fflush (stdout);
    for (int i = 0; i < 600 && s >= 0; i++)
        nap ();
    return 0;
}

int main (int argc, char **argv)
{
    if (argc == 4 && !strcmp (argv[1], "single"))
        return compute (1, strtoull (argv[2], NULL, 10), strtoull (argv[3], NULL, 10));
    if (argc == 5 && !strcmp (argv[1], "threads"))
        return compute ((unsigned) strtoul (argv[2], NULL, 10), strtoull (argv[3], NULL, 10),
                        strtoull (argv[4], NULL, 10));
    if ((argc == 2 || argc == 3) && !strcmp (argv[1], "filter"))
        return filter (argc == 3 ? atoi (argv[2]) : 0);
    if (argc == 2 && !strcmp (argv[1], "tcp"))
        return tcp ();
    fprintf (stderr,
             "usage: ckjob single STEPS MIB | threads N STEPS MIB | filter [STATUS] | tcp\n");
    return 2;
}
