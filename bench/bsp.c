/*  bsp -- a fine-grained bulk-synchronous parallel program, for
    bench/gang.sh: every rank computes for a fixed amount of work (about
    a millisecond), then waits at a barrier for all the others, thousands
    of times.  The barrier is what MPICH's is on one machine or a LAN: a
    message to every other rank, then busy polling until every other
    rank's message for this step has arrived (MPICH polls rather than
    sleeps while it waits), here over UDP on 127.0.0.1.

        bsp calibrate                 loops of the work per millisecond here
        bsp ITERS LOOPS PORT_BASE     run: rank r listens on PORT_BASE + r

    The rank and the number of ranks come from glx (GLUNIX_RANK,
    GLUNIX_SIZE) or MPICH's mpiexec (PMI_RANK, PMI_SIZE).  Rank 0 prints
    one line: the wall-clock time its first barrier completed (so that
    the caller can tell launch-to-first-barrier) and how long the ITERS
    steps took after it.  No rank runs more than one step ahead of
    another, so a rank that is stopped stops them all: the program runs
    well only when all its ranks run at once. */
#define _GNU_SOURCE
#include "bsp_work.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RANKS 64

enum { HELLO = 0, REPLY, STEP };

/* A message: step, sender's rank, kind. */
typedef struct {
    uint32_t step, rank, kind;
} msg_t;

/* arrived[s % 2]: the other ranks' messages for step s.  No rank is more
   than one step ahead of another, so two counters suffice. */
static long arrived[2];
static uint64_t heard; /* ranks known to be up */

static void send_to (int fd, long base, long r, uint32_t step, uint32_t rank, uint32_t kind)
{
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    to.sin_port = htons ((uint16_t) (base + r));
    msg_t m = { step, rank, kind };
    sendto (fd, &m, sizeof m, 0, (struct sockaddr *) &to, sizeof to);
}

/* Take one message if there is one: never waits. */
static void poll_one (int fd, long base, long rank)
{
    msg_t m;
    if (recv (fd, &m, sizeof m, 0) != (ssize_t) sizeof m || m.rank >= MAX_RANKS)
        return;
    heard |= 1ull << m.rank;
    if (m.kind == HELLO)
        send_to (fd, base, m.rank, 0, (uint32_t) rank, REPLY);
    else if (m.kind == STEP)
        arrived[m.step % 2]++;
}

static long env_num (const char *a, const char *b)
{
    const char *v = getenv (a);
    if (!v)
        v = getenv (b);
    char *end;
    long n = v ? strtol (v, &end, 10) : -1;
    return v && *v && !*end ? n : -1;
}

int main (int argc, char **argv)
{
    if (argc == 2 && !strcmp (argv[1], "calibrate")) {
        /* the best of five 100 ms measures: the least disturbed */
        double best = 0;
        for (int k = 0; k < 5; k++) {
            uint64_t loops = 0;
            double start = now_s (CLOCK_MONOTONIC);
            while (now_s (CLOCK_MONOTONIC) - start < 0.1) {
                work (10000);
                loops += 10000;
            }
            double rate = (double) loops / ((now_s (CLOCK_MONOTONIC) - start) * 1000);
            if (rate > best)
                best = rate;
        }
        printf ("%.0f\n", best);
        return 0;
    }
    if (argc != 4) {
        fprintf (stderr, "usage: bsp calibrate | bsp ITERS LOOPS PORT_BASE\n");
        return 2;
    }
    long iters = strtol (argv[1], NULL, 10), loops = strtol (argv[2], NULL, 10);
    long base = strtol (argv[3], NULL, 10);
    long rank = env_num ("GLUNIX_RANK", "PMI_RANK"), size = env_num ("GLUNIX_SIZE", "PMI_SIZE");
    if (iters < 1 || loops < 0 || base < 1 || base > 65535 - MAX_RANKS) {
        fprintf (stderr, "bsp: bad ITERS, LOOPS or PORT_BASE\n");
        return 2;
    }
    if (rank < 0 || size < 1 || size > MAX_RANKS || rank >= size) {
        fprintf (stderr, "bsp: no rank and size (GLUNIX_RANK/SIZE or PMI_RANK/SIZE)\n");
        return 2;
    }
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    me.sin_port = htons ((uint16_t) (base + rank));
    if (fd < 0 || bind (fd, (struct sockaddr *) &me, sizeof me)) {
        fprintf (stderr, "bsp: rank %ld: cannot bind port %ld: %s\n", rank, base + rank,
                 strerror (errno));
        return 1;
    }
    /* step 0 is the start line: every rank hears from every other (a
       message to a rank not bound yet is lost: hellos go again every
       10 ms, and a hello is answered, so the last one up is heard too) */
    uint64_t all = (size == 64 ? ~0ull : (1ull << size) - 1) & ~(1ull << rank);
    double resend = 0;
    while ((heard & all) != all) {
        if (now_s (CLOCK_MONOTONIC) >= resend) {
            for (long r = 0; r < size; r++)
                if (r != rank && !(heard & (1ull << r)))
                    send_to (fd, base, r, 0, (uint32_t) rank, HELLO);
            resend = now_s (CLOCK_MONOTONIC) + 0.01;
        }
        poll_one (fd, base, rank);
    }
    double first = now_s (CLOCK_REALTIME), start = now_s (CLOCK_MONOTONIC);
    for (long s = 1; s <= iters; s++) {
        work ((uint64_t) loops);
        for (long r = 0; r < size; r++)
            if (r != rank)
                send_to (fd, base, r, (uint32_t) s, (uint32_t) rank, STEP);
        while (arrived[s % 2] < size - 1) /* the barrier: poll, never sleep */
            poll_one (fd, base, rank);
        arrived[s % 2] = 0;
    }
    double took = now_s (CLOCK_MONOTONIC) - start;
    if (rank == 0)
        printf ("first_barrier %.6f steps %ld took %.6f\n", first, iters, took);
    return 0;
}
