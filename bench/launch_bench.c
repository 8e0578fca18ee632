/*  launch_bench.c -- what privilege separation and job credentials cost a
    job, measured apart from everything else (bench/exec.sh part 4 builds
    and runs it, as root):

      - exec_start of /bin/true as the account nobody, to its exit and
        reaping, forked by this process (a user's own agent, or before
        this mode) against through a root launcher (launcher.h: a request,
        the descriptors back, the exit reported), runs alternating by
        blocks, medians;
      - signing a job's credential at its home and checking it at its
        host (cred.h), means.

        launch_bench [RUNS]     (default 400) */
#include "cred.h"
#include "launcher.h"

#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static int by_value (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* n launches of /bin/true as nobody, times into t */
static int launches (int n, double *t, const struct passwd *pw)
{
    char *argv[] = { "/bin/true", NULL }, *env[] = { "PATH=/bin:/usr/bin", NULL };
    for (int i = 0; i < n; i++) {
        exec_spec_t s;
        exec_spec_init (&s);
        s.file = "/bin/true";
        s.argv = argv;
        s.envp = env;
        s.cwd = "/";
        s.user = pw->pw_name;
        s.uid = pw->pw_uid;
        s.gid = pw->pw_gid;
        char err[256];
        exec_err_t code;
        double a = now_s ();
        exec_t *e = exec_start (&s, &code, err, sizeof err);
        if (!e) {
            fprintf (stderr, "launch_bench: %s\n", err);
            return -1;
        }
        exec_status_t st;
        while (!exec_poll_exit (e, &st))
            usleep (20);
        exec_destroy (&e);
        t[i] = now_s () - a;
    }
    return 0;
}

static double median (double *t, int n)
{
    qsort (t, (size_t) n, sizeof *t, by_value);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

int main (int argc, char **argv)
{
    int runs = argc > 1 ? atoi (argv[1]) : 400;
    struct passwd *pw = getpwnam ("nobody");
    if (runs < 10 || geteuid () != 0 || !pw || sodium_init () < 0) {
        fprintf (stderr, "launch_bench: run as root, with an account 'nobody', RUNS >= 10\n");
        return 1;
    }
    static struct passwd nobody;
    nobody = *pw;
    gl_conf_t conf;
    gl_conf_defaults (&conf);
    snprintf (conf.uids, sizeof conf.uids, "%u", (unsigned) nobody.pw_uid);
    char err[256];
    pid_t lpid;
    int sock = launcher_spawn (&conf, &lpid, err, sizeof err);
    if (sock < 0) {
        fprintf (stderr, "launch_bench: %s\n", err);
        return 1;
    }
    /* blocks of 20, alternating, so that the machine's moods fall on both */
    int block = 20, blocks = runs / block;
    double *local = calloc ((size_t) runs, sizeof *local),
           *via = calloc ((size_t) runs, sizeof *via);
    for (int b = 0; b < blocks; b++) {
        exec_set_launcher (-1);
        if (launches (block, local + b * block, &nobody))
            return 1;
        exec_set_launcher (sock);
        if (launches (block, via + b * block, &nobody))
            return 1;
    }
    int n = blocks * block;
    double ml = median (local, n), mv = median (via, n);

    uint8_t seed[32] = { 1 };
    gl_ident_t *id = gl_ident_new_ephemeral (1, seed);
    gl_job_t job = { .type = GL_JOB_RUN };
    snprintf (job.user, sizeof job.user, "ann");
    snprintf (job.home, sizeof job.home, "a");
    snprintf (job.gpid, sizeof job.gpid, "a-1-1");
    double a = now_s ();
    for (int i = 0; i < 1000; i++)
        cred_sign (id, "lab", &job, 1000);
    double b = now_s ();
    const char *why;
    for (int i = 0; i < 1000; i++)
        cred_check ("lab", &job, gl_ident_pubkey (id), 1000, 60000, &why);
    double c = now_s ();
    printf ("launch of /bin/true as nobody, median of %d: forked here %.0f us, through the "
            "launcher %.0f us (ratio %.3f); credential: sign %.1f us, check %.1f us\n",
            n, ml * 1e6, mv * 1e6, mv / ml, (b - a) * 1e3, (c - b) * 1e3);
    gl_ident_destroy (&id);
    exec_set_launcher (-1);
    close (sock);
    return 0;
}
