/*  gate.c -- the cost of asking a trivial policy, four ways (bench/sfi.sh):

        gate MODULE BATCHES

      gate     sfi_module_call of policy() in MODULE: host -> module -> host
      plain    a direct call of the same C function compiled natively
               (another translation unit, no LTO: a real call and return)
      syscall  syscall (SYS_getpid): the cheapest kernel round trip
               (glibc cannot cache it)
      socket   a request { op, uid } to a server process over a Unix
               stream socket (socketpair), which answers { result } with
               the same native policy(): the microkernel-style alternative

    For each of BATCHES batches, the four run one after the other (so load
    on the machine hits them alike), each timed with the wall clock
    (CLOCK_MONOTONIC) and in CPU time of this thread
    (CLOCK_THREAD_CPUTIME_ID: what glsfi-run -c reports; for the socket it
    leaves out the server's share), and two lines per way give the ns per
    call of every batch:
        gate.wall 9.8 9.7 ...
        gate.cpu 9.5 9.6 ...
    Every answer is checked against the native policy(). */
#define _GNU_SOURCE
#include "loader.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long policy (long uid);

#define NWAYS 4
static const char *const names[NWAYS] = { "gate", "plain", "syscall", "socket" };
static const long counts[NWAYS] = { 1000000, 1000000, 200000, 5000 };

struct req {
    uint64_t op, uid;
};
struct resp {
    uint64_t result;
};

static double now (clockid_t clk)
{
    struct timespec ts;
    clock_gettime (clk, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int full (ssize_t (*io) (int, void *, size_t), int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t k = io (fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t) k;
    }
    return 0;
}
static ssize_t do_write (int fd, void *p, size_t n)
{
    return write (fd, p, n);
}

static void serve (int fd)
{
    struct req q;
    while (full (read, fd, &q, sizeof q) == 0) {
        struct resp r = { (uint64_t) policy ((long) q.uid) };
        if (full (do_write, fd, &r, sizeof r) < 0)
            break;
    }
    _exit (0);
}

static void bad (const char *way, long i, long got)
{
    fprintf (stderr, "gate: %s: policy(%ld) = %ld, expected %ld\n", way, i, got, policy (i));
    exit (1);
}

int main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: gate MODULE BATCHES\n");
        return 2;
    }
    int batches = atoi (argv[2]);
    char err[512];
    sfi_module_t *m = sfi_module_load (argv[1], NULL, err, sizeof err);
    if (!m) {
        fprintf (stderr, "gate: %s: %s\n", argv[1], err);
        return 2;
    }
    int64_t fn = sfi_module_lookup (m, "policy");
    if (fn < 0) {
        fprintf (stderr, "gate: %s: no function policy\n", argv[1]);
        return 2;
    }
    int sv[2];
    if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror ("gate: socketpair");
        return 2;
    }
    pid_t pid = fork ();
    if (pid < 0) {
        perror ("gate: fork");
        return 2;
    }
    if (pid == 0) {
        close (sv[0]);
        serve (sv[1]);
    }
    close (sv[1]);

    double *ns = calloc ((size_t) NWAYS * (size_t) batches, sizeof *ns);
    double *cpu = calloc ((size_t) NWAYS * (size_t) batches, sizeof *cpu);
    volatile long sink = 0;
    for (int b = -1; b < batches; b++) { /* batch -1 warms up */
        for (int w = 0; w < NWAYS; w++) {
            long n = b < 0 ? counts[w] / 10 : counts[w], acc = 0;
            double t0 = now (CLOCK_MONOTONIC), c0 = now (CLOCK_THREAD_CPUTIME_ID);
            switch (w) {
                case 0:
                    for (long i = 0; i < n; i++) {
                        uint64_t a = (uint64_t) i + 990, r;
                        if (sfi_module_call (m, fn, &a, 1, &r) != SFI_OK) {
                            fprintf (stderr, "gate: call failed: %s\n", sfi_module_fault (m));
                            return 1;
                        }
                        acc += (long) r;
                    }
                    break;
                case 1:
                    for (long i = 0; i < n; i++)
                        acc += policy (i + 990);
                    break;
                case 2:
                    for (long i = 0; i < n; i++)
                        acc += syscall (SYS_getpid);
                    break;
                case 3:
                    for (long i = 0; i < n; i++) {
                        struct req q = { 1, (uint64_t) i + 990 };
                        struct resp r;
                        if (full (do_write, sv[0], &q, sizeof q) < 0 ||
                            full (read, sv[0], &r, sizeof r) < 0) {
                            perror ("gate: socket");
                            return 1;
                        }
                        if ((long) r.result != policy (i + 990))
                            bad ("socket", i + 990, (long) r.result);
                        acc += (long) r.result;
                    }
                    break;
            }
            double t1 = now (CLOCK_MONOTONIC), c1 = now (CLOCK_THREAD_CPUTIME_ID);
            if (w != 2) { /* sum of policy(990 .. 990+n-1) */
                long want = 0;
                for (long i = 0; i < n; i++)
                    want += policy (i + 990);
                if (acc != want)
                    bad (names[w], -1, acc);
            }
            sink += acc;
            if (b >= 0) {
                ns[w * batches + b] = (t1 - t0) / (double) n;
                cpu[w * batches + b] = (c1 - c0) / (double) n;
            }
        }
    }
    close (sv[0]);
    waitpid (pid, NULL, 0);
    for (int w = 0; w < NWAYS; w++) {
        printf ("%s.wall", names[w]);
        for (int b = 0; b < batches; b++)
            printf (" %.2f", ns[w * batches + b]);
        printf ("\n%s.cpu", names[w]);
        for (int b = 0; b < batches; b++)
            printf (" %.2f", cpu[w * batches + b]);
        printf ("\n");
    }
    sfi_module_destroy (&m);
    return 0;
}
