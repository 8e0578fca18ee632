/*  ckpair -- a parent and its child talking through socket pairs, for
    t/integ/migrate_sock.sh to move with bytes in flight.

        ckpair STEPS

    The parent keeps AHEAD requests queued in the child's ends: a
    SEQPACKET record with the step's number and 64 bytes on a stream
    pair, written before the child reads them, so that a checkpoint
    finds bytes waiting in both.  The child answers each with the sum of
    its bytes (8 bytes on the stream).  The parent also sends itself a
    datagram each step on a SOCK_DGRAM pair, non-blocking at its reading
    end, and reads it a step later.  It prints, each step, the answer,
    the datagram and whether its reading end is still non-blocking, and
    naps 50 ms.  At the end it shuts its writing of the stream: the
    child reads the end of file, writes how many requests it served and
    exits 7; the parent prints that and the child's status, and exits 3.
    The same arguments give byte-identical output however often the
    job moved. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AHEAD 4

static void die (const char *what)
{
    fprintf (stderr, "ckpair: %s: %s\n", what, strerror (errno));
    exit (1);
}

static void full (int fd, void *p, size_t n, int rd)
{
    for (size_t at = 0; at < n;) {
        ssize_t k = rd ? read (fd, (char *) p + at, n - at) : write (fd, (char *) p + at, n - at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die (rd ? "read" : "write");
        at += (size_t) k;
    }
}

static void request (int q, int s, long i)
{
    char rec[32], body[64];
    int n = snprintf (rec, sizeof rec, "step %ld", i);
    if (send (q, rec, (size_t) n, 0) != n)
        die ("send a record");
    for (int k = 0; k < 64; k++)
        body[k] = (char) ((i * 31 + k * 7) & 0x7f);
    full (s, body, sizeof body, 0);
}

static int child (int q, int s)
{
    uint64_t served = 0;
    for (;;) {
        char rec[32], body[64];
        ssize_t n = recv (q, rec, sizeof rec, 0);
        if (n == 0)
            break;
        if (n < 0)
            die ("child: recv");
        full (s, body, sizeof body, 1);
        uint64_t sum = (uint64_t) strtol (rec + 5, NULL, 10) << 32;
        for (int k = 0; k < 64; k++)
            sum += (uint64_t) (unsigned char) body[k] * (uint64_t) (k + 1);
        full (s, &sum, sizeof sum, 0);
        served++;
    }
    full (s, &served, sizeof served, 0);
    return 7;
}

int main (int argc, char **argv)
{
    long steps = argc > 1 ? strtol (argv[1], NULL, 10) : 40;
    int s[2], q[2], d[2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) ||
        socketpair (AF_UNIX, SOCK_SEQPACKET, 0, q) || socketpair (AF_UNIX, SOCK_DGRAM, 0, d))
        die ("socketpair");
    pid_t pid = fork ();
    if (pid < 0)
        die ("fork");
    if (pid == 0) {
        close (s[0]);
        close (q[0]);
        close (d[0]);
        close (d[1]);
        _exit (child (q[1], s[1]));
    }
    close (s[1]);
    close (q[1]);
    fcntl (d[1], F_SETFL, O_NONBLOCK);
    for (long i = 0; i < AHEAD && i < steps; i++)
        request (q[0], s[0], i);
    char dgram[32] = "none";
    for (long i = 0; i < steps; i++) {
        uint64_t sum;
        full (s[0], &sum, sizeof sum, 1);
        if (i + AHEAD < steps)
            request (q[0], s[0], i + AHEAD);
        ssize_t n = recv (d[1], dgram, sizeof dgram - 1, 0);
        if (n >= 0)
            dgram[n] = '\0';
        else if (errno != EAGAIN)
            die ("recv a datagram");
        int nb = (fcntl (d[1], F_GETFL) & O_NONBLOCK) != 0;
        printf ("step %ld sum %llx dgram %s nonblock %d\n", i, (unsigned long long) sum,
                n >= 0 ? dgram : "-", nb);
        fflush (stdout);
        char next[32];
        int k = snprintf (next, sizeof next, "d%ld", i);
        if (send (d[0], next, (size_t) k, 0) != k)
            die ("send a datagram");
        struct timespec ts = { 0, 50000000 };
        nanosleep (&ts, NULL);
    }
    shutdown (s[0], SHUT_WR);
    close (q[0]);
    uint64_t served;
    full (s[0], &served, sizeof served, 1);
    int st;
    if (waitpid (pid, &st, 0) != pid)
        die ("waitpid");
    printf ("served %llu child %d\n", (unsigned long long) served,
            WIFEXITED (st) ? WEXITSTATUS (st) : -1);
    return 3;
}
