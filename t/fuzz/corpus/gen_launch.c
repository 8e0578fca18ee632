/*  gen_launch.c -- the seed corpus of fuzz_launch: one valid encoding of
    every launcher message, written as files into the directory given. */
#include "launch_msg.h"

#include <stdio.h>
#include <stdlib.h>

static int write_seed (const char *dir, const char *name, const launch_msg_t *m)
{
    uint8_t *buf;
    size_t len;
    char path[4096];
    if (launch_encode (m, &buf, &len))
        return fprintf (stderr, "gen_launch: cannot encode %s\n", name), -1;
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "wb");
    int rc = f && fwrite (buf, 1, len, f) == len ? 0 : -1;
    if (f && fclose (f))
        rc = -1;
    free (buf);
    return rc;
}

int main (int argc, char **argv)
{
    if (argc != 2)
        return fprintf (stderr, "usage: gen_launch DIR\n"), 2;
    char *args[] = { "sh", "-c", "echo hi", NULL }, *env[] = { "PATH=/bin", "A=b", NULL };
    launch_msg_t run = { .type = LAUNCH_RUN,
                         .id = 1,
                         .umask = 022,
                         .flags = LAUNCH_FLAG_PTY,
                         .rows = 24,
                         .cols = 80,
                         .user = "alice",
                         .file = "sh",
                         .cwd = "/tmp",
                         .argc = 3,
                         .argv = args,
                         .envc = 2,
                         .envv = env };
    launch_msg_t sig = { .type = LAUNCH_SIGNAL, .id = 2, .signo = 15 };
    launch_msg_t fre = { .type = LAUNCH_FREE, .id = 3 };
    launch_msg_t started = { .type = LAUNCH_STARTED, .id = 4, .pid = 4242 };
    launch_msg_t failed = { .type = LAUNCH_FAILED, .id = 5, .code = 4, .text = "no account" };
    launch_msg_t exited = { .type = LAUNCH_EXITED, .id = 6, .signo = 9, .core = true };
    launch_msg_t queued = { .type = LAUNCH_SIGQUEUE, .id = 7, .signo = 62, .value = 2 };
    return write_seed (argv[1], "run", &run) || write_seed (argv[1], "signal", &sig) ||
                   write_seed (argv[1], "free", &fre) ||
                   write_seed (argv[1], "started", &started) ||
                   write_seed (argv[1], "failed", &failed) ||
                   write_seed (argv[1], "exited", &exited) ||
                   write_seed (argv[1], "sigqueue", &queued)
               ? 1
               : 0;
}
