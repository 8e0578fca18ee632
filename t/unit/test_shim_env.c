/*  test_shim_env.c -- the shim's readers of what a job's environment
    hands each program it executes: GLUNIX_PIDMAP (the ids of a restored
    tree) and GLUNIX_CKPT_STREAMS (the job's streams), both decoded by
    checkpoint/capture.c in libglshim.so.  A program of the job can set
    either to anything, so a malformed one must be dropped whole (no
    table; the process's own streams), never half read.

    They are static parts of the shim's start, so they are tested as a
    job meets them: /bin/sh run under this build's libglshim.so with the
    variable set.  sh's $$ is getpid(), which the shim translates through
    the table (the old id when the table maps the process's real one);
    the streams come back in the environment of a program sh executes,
    as the shim's exec wrapper passes them on (the inherited text, or the
    process's own when it did not take it). */
#include "tap.h"

#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char shim[PATH_MAX + 32];

/* Run /bin/sh -c script under the shim with GLUNIX_GPID=t and var set
   to value, "REAL" in it replaced by sh's real pid; its output (first
   line) into out.  0, or -1 when it could not be run. */
static int run (const char *script, const char *var, const char *value, char *out, size_t outlen,
                long *real)
{
    int p[2];
    if (pipe (p))
        return -1;
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char val[512], env_var[600], preload[PATH_MAX + 64];
        const char *at = strstr (value, "REAL");
        if (at)
            snprintf (val, sizeof val, "%.*s%ld%s", (int) (at - value), value, (long) getpid (),
                      at + 4);
        else
            snprintf (val, sizeof val, "%s", value);
        snprintf (env_var, sizeof env_var, "%s=%s", var, val);
        snprintf (preload, sizeof preload, "LD_PRELOAD=%s", shim);
        char *envp[] = { "PATH=/usr/bin:/bin", preload, "GLUNIX_GPID=t", env_var, NULL };
        char *argv[] = { "sh", "-c", (char *) script, NULL };
        dup2 (p[1], 1);
        close (p[0]);
        close (p[1]);
        execve ("/bin/sh", argv, envp);
        _exit (127);
    }
    close (p[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < outlen && (k = read (p[0], out + n, outlen - 1 - n)) > 0)
        n += (size_t) k;
    out[n] = '\0';
    out[strcspn (out, "\n")] = '\0';
    close (p[0]);
    int st;
    waitpid (pid, &st, 0);
    *real = pid;
    return WIFEXITED (st) && WEXITSTATUS (st) == 0 ? 0 : -1;
}

/* The id sh sees for itself under GLUNIX_PIDMAP=value: 4242 when the
   table was taken, its real id when it was dropped. */
static void pidmap (const char *value, bool taken)
{
    char out[64];
    long real = 0;
    CHECK_EQ (run ("echo $$", "GLUNIX_PIDMAP", value, out, sizeof out, &real), 0);
    long want = taken ? 4242 : real;
    CHECK_EQ (atol (out), want);
    if (atol (out) != want)
        fprintf (stderr, "  GLUNIX_PIDMAP=%s: sh is %s, real %ld\n", value, out, real);
}

static void test_pidmap (void)
{
    pidmap ("t/4242:REAL", true);
    pidmap ("t/4243:1,4242:REAL,4244:2", true);
    /* another job's table (glx run from inside a job), or none named */
    pidmap ("u/4242:REAL", false);
    pidmap ("4242:REAL", false);
    pidmap ("/4242:REAL", false);
    /* malformed: dropped whole, not half read */
    static const char *const bad[] = {
        "t/4242:REAL,x",
        "t/4242",
        "t/4242:",
        "t/:REAL",
        "t/4242:REAL;1:2",
        "t/4242;REAL",
        "t/4242:REAL,,5:6",
        "t/-4242:REAL",
        "t/0:REAL",
        "t/4242:REAL,4242:7",
        "t/4242:REAL,4243:REAL",
        "t/5000000:REAL",
        "t/4242:REAL 1:2",
        "t/4242:REALx",
        "t/ 4242:REAL",
        "t/4294971538:REAL",           /* 2^32 + 4242: no wrap to 4242 */
        "t/18446744073709555858:REAL", /* 2^64 + 4242 */
        "t/4242:REAL,",                /* a comma with nothing after it */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        pidmap (bad[i], false);
}

/* GLUNIX_CKPT_STREAMS as a program sh executes gets it: the same text
   when the shim took it, the process's own streams when it did not. */
static void streams (const char *value, bool taken)
{
    char out[256];
    long real;
    CHECK_EQ (run ("env | grep '^GLUNIX_CKPT_STREAMS='", "GLUNIX_CKPT_STREAMS", value, out,
                   sizeof out, &real),
              0);
    const char *got = strchr (out, '=') ? strchr (out, '=') + 1 : "";
    bool same = !strcmp (got, value);
    CHECK (same == taken);
    /* its own: the job's GPID, then three dev:ino of 0, 1 and 2 */
    CHECK (!strncmp (got, "t/", 2));
    if (same != taken)
        fprintf (stderr, "  GLUNIX_CKPT_STREAMS=%s: passed on as %s\n", value, got);
}

static void test_streams (void)
{
    streams ("t/1:2,-,3:4", true);
    streams ("t/-,-,-", true);
    static const char *const bad[] = {
        "u/1:2,-,3:4",  "1:2,-,3:4",
        "t/1:2,-",      "t/1:2,-,3:",
        "t/1:2,-,3:4x", "t/1:2,,3:4",
        "t/a:2,-,3:4",  "t/",
        "t/1:2,-,3:4,", "t/1:2,-,-,-",
        "t/1-2,-,3:4",  "t/:2,-,3:4",
        "t/1:2 -,3:4",  "t/99999999999999999999:2,-,3:4",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        streams (bad[i], false);
}

int main (void)
{
    char self[PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return fprintf (stderr, "test_shim_env: cannot find itself\n"), 1;
    self[n] = '\0';
    /* BUILD/t/unit/test_shim_env: the shim is BUILD/libglshim.so */
    snprintf (shim, sizeof shim, "%s/../../libglshim.so", dirname (self));
    if (access (shim, R_OK))
        return fprintf (stderr, "test_shim_env: no %s: build the tree first\n", shim), 1;
    test_pidmap ();
    test_streams ();
    return tap_done ("test_shim_env");
}
