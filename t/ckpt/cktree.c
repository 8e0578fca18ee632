/*  cktree -- process trees to checkpoint in the tests
    (t/integ/ckpt_tree.sh).

    cktree workers N STEPS   forks N workers, each computing over its own
                             MiB for STEPS steps of 50 ms and exiting with
                             a status its work decides; the parent prints
                             a line per step, then waits for each worker
                             by its pid and prints what it got: the pid
                             asked for, the one returned, the status, and
                             whether kill(pid, 0) reached it; each worker
                             checks that getppid() is the pid its parent
                             had (exit 99 when not)
    cktree zombie            two children that end at once, one exiting
                             7, one killed by SIGUSR1 it raises, not
                             waited for until 3 s later; then waits for
                             each by its pid and prints whether that pid
                             came back and the status
    cktree spawn             starts a child that sleeps 4 s (posix_spawn)
                             and prints "ready <its pid>"; then, each time
                             a file go1, go2 appears in the working
                             directory, starts a child that ends at once,
                             by posix_spawn (go1) or vfork (go2), waits for
                             it and prints whether its pid was the
                             sleeper's and how long the wait took; then
                             waits for the sleeper (integ/ckpt_pids.sh)

    Everything it prints is deterministic, so that an interrupted run can
    be compared byte for byte with an undisturbed one. */
#include <errno.h>
#include <spawn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap (long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep (&t, &t) == -1 && errno == EINTR) {
    }
}

static int worker (int k, int steps, pid_t parent)
{
    size_t n = (1u << 20) / 8;
    uint64_t *m = malloc (n * 8);
    if (!m)
        return 98;
    uint64_t h = 0x9e3779b97f4a7c15ull * (uint64_t) (k + 1);
    for (size_t i = 0; i < n; i++)
        m[i] = h ^ i;
    for (int s = 0; s < steps; s++) {
        for (size_t i = 1; i < n; i++)
            m[i] = (m[i] ^ m[i - 1]) * 0xff51afd7ed558ccdull + (uint64_t) s;
        nap (50);
    }
    if (getppid () != parent)
        return 99;
    return (int) (m[n - 1] % 90);
}

static int workers (int n, int steps)
{
    pid_t me = getpid (), pids[64];
    if (n < 1 || n > 64)
        return 2;
    for (int k = 0; k < n; k++) {
        pids[k] = fork ();
        if (pids[k] < 0)
            return 1;
        if (pids[k] == 0)
            _exit (worker (k, steps, me));
    }
    printf ("ready\n");
    fflush (stdout);
    for (int s = 0; s < steps; s++) {
        printf ("step %d\n", s);
        fflush (stdout);
        nap (50);
    }
    for (int k = 0; k < n; k++) {
        int reached = kill (pids[k], 0) == 0, st = 0;
        pid_t got = waitpid (pids[k], &st, 0);
        printf ("worker %d: waited for its pid, got %s, kill reached it: %s, status %d\n", k,
                got == pids[k] ? "the same" : "another", reached ? "yes" : "no",
                WIFEXITED (st) ? WEXITSTATUS (st) : -WTERMSIG (st));
    }
    printf ("parent: pid %s\n", getpid () == me ? "same" : "changed");
    return 0;
}

static int zombie (void)
{
    pid_t c[2];
    for (int k = 0; k < 2; k++) {
        c[k] = fork ();
        if (c[k] < 0)
            return 1;
        if (c[k] == 0) {
            if (k == 1)
                raise (SIGUSR1);
            _exit (7);
        }
    }
    nap (100);
    printf ("ready\n");
    fflush (stdout);
    nap (3000);
    for (int k = 0; k < 2; k++) {
        int st = 0;
        pid_t got = waitpid (c[k], &st, 0);
        printf ("zombie %d: waited for its pid, got %s, ", k + 1,
                got == c[k] ? "the same"
                : got < 0   ? "none"
                            : "another");
        if (WIFEXITED (st))
            printf ("exited %d\n", WEXITSTATUS (st));
        else
            printf ("killed by signal %d\n", WIFSIGNALED (st) ? WTERMSIG (st) : -1);
    }
    printf ("done\n");
    return 0;
}

extern char **environ;

static long ms_since (const struct timespec *t0)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int spawn (void)
{
    char *sleeper[] = { "sleep", "4", NULL }, *quick[] = { "true", NULL };
    pid_t a;
    if (posix_spawnp (&a, "sleep", NULL, NULL, sleeper, environ))
        return 1;
    printf ("ready %d\n", (int) a);
    fflush (stdout);
    for (int k = 1; k <= 2; k++) {
        char go[16];
        snprintf (go, sizeof go, "go%d", k);
        while (access (go, F_OK))
            nap (1);
        struct timespec t0;
        clock_gettime (CLOCK_MONOTONIC, &t0);
        pid_t p = -1;
        if (k == 1 && posix_spawnp (&p, "true", NULL, NULL, quick, environ))
            return 1;
        if (k == 2 && (p = vfork ()) == 0) {
            execvp ("true", quick);
            _exit (127);
        }
        int st = -1;
        pid_t got = waitpid (p, &st, 0);
        printf ("%s: %s, waited for it %s in %ld ms, status %d\n", k == 1 ? "posix_spawn" : "vfork",
                p == a ? "the sleeper's pid" : "a pid of its own",
                got == p ? "by its pid" : "in vain", ms_since (&t0), st);
        fflush (stdout);
    }
    int st = -1;
    pid_t got = waitpid (a, &st, 0);
    printf ("sleeper: %s, status %d\n", got == a ? "waited for by its pid" : "lost", st);
    return 0;
}

int main (int argc, char **argv)
{
    if (argc == 4 && !strcmp (argv[1], "workers"))
        return workers (atoi (argv[2]), atoi (argv[3]));
    if (argc == 2 && !strcmp (argv[1], "zombie"))
        return zombie ();
    if (argc == 2 && !strcmp (argv[1], "spawn"))
        return spawn ();
    fprintf (stderr, "usage: cktree workers N STEPS | zombie | spawn\n");
    return 2;
}
