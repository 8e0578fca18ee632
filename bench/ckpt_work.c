/*  ckpt_work -- the process bench/checkpoint.sh checkpoints, restarts and
    migrates: MIB mebibytes of heap, touched by THREADS threads, then a
    computation over that memory whose output depends on every byte of it,
    so a run that was checkpointed and restored (by glunix, DMTCP, ...)
    can be compared line for line with an undisturbed one.

        ckpt_work [-t THREADS] [-s STEPS] [-c CHUNK_MIB] [-g MS] MIB

    Defaults: 2 threads, 400 steps, 4 MiB per thread per step.  Each
    thread owns an equal slice of one malloc'd block (so it is the heap a
    real program has, not a special mapping), fills it with a pseudo-random
    sequence, then at every step folds the next CHUNK of its slice
    (cyclically) into its accumulator and writes back into it, so memory
    keeps changing under a checkpoint.  After each step the threads meet
    at a barrier and the first prints

        step K/STEPS sum=HEX

    a line every few milliseconds whatever MIB is, so the time from a
    restart to the next line is the restart plus at most one step.  At the
    end it hashes the whole block and prints "checksum HEX".  Every line is
    a function of MIB, THREADS, STEPS and CHUNK only: never of timing or
    of the addresses the memory got.  Output is written with write(2) as
    each line is complete, so none waits in a stdio buffer when the
    process is stopped.

    With -g MS it also says on stderr, as it happens, each step that came
    more than MS milliseconds after the one before, by its own clock:

        ckpt_work: step K at REALTIME_NS, GAP ms after step K-1

    which is how long a checkpoint stopped it, seen from inside (plus at
    most one step's work), whatever delays its output on the way out. */
#define _GNU_SOURCE
#include "core/rng.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MIX         0x9e3779b97f4a7c15ULL

typedef struct {
    uint64_t *base; /* this thread's slice */
    size_t words;   /* its length in 64-bit words */
    size_t pos;     /* where the next step starts, in words */
    uint64_t acc;   /* the fold of everything it has read */
    unsigned id;
} slice_t;

static pthread_barrier_t barrier;
static slice_t slices[MAX_THREADS];
static unsigned nthreads = 2;
static unsigned long steps = 400;
static size_t chunk_words;

static void say (int fd, const char *line)
{
    size_t len = strlen (line), off = 0;
    while (off < len) {
        ssize_t n = write (fd, line + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            exit (1); /* the output is gone: nobody reads the result */
        off += (size_t) n;
    }
}

static void *worker (void *arg)
{
    slice_t *s = arg;
    uint64_t seed = 0x636b7074ULL + s->id; /* distinct, fixed per slice */
    for (size_t i = 0; i < s->words; i++)
        s->base[i] = gl_splitmix64 (&seed);
    pthread_barrier_wait (&barrier); /* touched: main says so */
    pthread_barrier_wait (&barrier);
    for (unsigned long k = 0; k < steps; k++) {
        size_t n = chunk_words < s->words ? chunk_words : s->words;
        uint64_t acc = s->acc;
        for (size_t j = 0; j < n; j++) {
            uint64_t *w = &s->base[s->pos];
            acc = (acc ^ *w) * MIX;
            *w += acc >> 7;
            if (++s->pos == s->words)
                s->pos = 0;
        }
        s->acc = acc;
        /* two barriers: main reads every acc between them, so no thread
           has started the next step while it does */
        pthread_barrier_wait (&barrier);
        pthread_barrier_wait (&barrier);
    }
    return NULL;
}

static void usage (void)
{
    fprintf (stderr, "usage: ckpt_work [-t THREADS] [-s STEPS] [-c CHUNK_MIB] [-g MS] MIB\n");
    exit (2);
}

static unsigned long number (const char *what, const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul (s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max) {
        fprintf (stderr, "ckpt_work: %s: '%s' is not a number from 1 to %lu\n", what, s, max);
        exit (2);
    }
    return v;
}

int main (int argc, char **argv)
{
    unsigned long chunk_mib = 4, gap_ms = 0;
    int c;
    while ((c = getopt (argc, argv, "t:s:c:g:")) != -1) {
        switch (c) {
            case 't': nthreads = (unsigned) number ("threads", optarg, MAX_THREADS); break;
            case 's': steps = number ("steps", optarg, 1000000000UL); break;
            case 'c': chunk_mib = number ("chunk", optarg, 1UL << 20); break;
            case 'g': gap_ms = number ("gap", optarg, 1000000UL); break;
            default: usage ();
        }
    }
    if (optind != argc - 1)
        usage ();
    unsigned long mib = number ("size in MiB", argv[optind], 1UL << 24);
    size_t words = (size_t) mib * (1 << 20) / 8;
    size_t per = words / nthreads;
    if (per == 0) {
        fprintf (stderr, "ckpt_work: %lu MiB cannot be split in %u slices\n", mib, nthreads);
        return 2;
    }
    chunk_words = (size_t) chunk_mib * (1 << 20) / 8;
    uint64_t *block = malloc (words * 8);
    if (!block) {
        fprintf (stderr, "ckpt_work: cannot allocate %lu MiB: %s\n", mib, strerror (errno));
        return 1;
    }
    /* nthreads workers and main meet at every barrier */
    pthread_barrier_init (&barrier, NULL, nthreads + 1);
    pthread_t tid[MAX_THREADS];
    for (unsigned t = 0; t < nthreads; t++) {
        /* the last slice takes the remainder */
        slices[t] = (slice_t){ .base = block + t * per,
                               .words = t + 1 == nthreads ? words - t * per : per,
                               .id = t };
        int e = pthread_create (&tid[t], NULL, worker, &slices[t]);
        if (e) {
            fprintf (stderr, "ckpt_work: pthread_create: %s\n", strerror (e));
            return 1;
        }
    }
    char line[128];
    pthread_barrier_wait (&barrier);
    snprintf (line, sizeof line, "touched %lu MiB with %u threads\n", mib, nthreads);
    say (1, line);
    pthread_barrier_wait (&barrier);
    struct timespec prev, at, wall;
    clock_gettime (CLOCK_MONOTONIC, &prev);
    for (unsigned long k = 1; k <= steps; k++) {
        pthread_barrier_wait (&barrier);
        clock_gettime (CLOCK_MONOTONIC, &at);
        double gap =
            (double) (at.tv_sec - prev.tv_sec) * 1e3 + (double) (at.tv_nsec - prev.tv_nsec) / 1e6;
        prev = at;
        if (gap_ms && k > 1 && gap > (double) gap_ms) {
            clock_gettime (CLOCK_REALTIME, &wall);
            snprintf (line, sizeof line,
                      "ckpt_work: step %lu at %lld%09ld, %.3f ms after step %lu\n", k,
                      (long long) wall.tv_sec, wall.tv_nsec, gap, k - 1);
            say (2, line);
        }
        uint64_t sum = 0;
        for (unsigned t = 0; t < nthreads; t++)
            sum = (sum ^ slices[t].acc) * MIX;
        snprintf (line, sizeof line, "step %lu/%lu sum=%016" PRIx64 "\n", k, steps, sum);
        say (1, line);
        pthread_barrier_wait (&barrier);
    }
    for (unsigned t = 0; t < nthreads; t++)
        pthread_join (tid[t], NULL);
    uint64_t h = 0;
    for (size_t i = 0; i < words; i++)
        h = (h ^ block[i]) * MIX;
    snprintf (line, sizeof line, "checksum %016" PRIx64 "\n", h);
    say (1, line);
    free (block);
    return 0;
}
