/*  fuzz_launch.c -- libFuzzer target for the launcher's request codec
    (sched/launch_msg.c), the one parser the root launcher runs on what
    the unprivileged agent writes.

    Whatever the decoder accepts must keep the promises of launch_msg.h
    and encode again to the very same bytes: one encoding per message,
    nothing lost.  Any failure aborts, which libFuzzer reports as a crash.
    Run it with t/fuzz/run.sh --target launch. */
#include "launch_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(cond)                                                       \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf (stderr, "fuzz_launch.c:%d: %s\n", __LINE__, #cond); \
            abort ();                                                    \
        }                                                                \
    } while (0)

static void sane (const launch_msg_t *m)
{
    MUST (m->type >= LAUNCH_RUN && m->type <= LAUNCH_SIGQUEUE);
    if (m->type == LAUNCH_RUN) {
        MUST (m->file && m->file[0] && m->cwd && m->cwd[0] == '/');
        MUST (m->argc >= 1 && m->argv && m->argv[m->argc] == NULL);
        MUST (m->envv && m->envv[m->envc] == NULL);
        MUST (m->umask <= 0777 && !(m->flags & ~LAUNCH_FLAGS_ALL));
        MUST (strlen (m->user) <= GL_JOB_USER_MAX);
    }
    if (m->type == LAUNCH_SIGNAL || m->type == LAUNCH_SIGQUEUE)
        MUST (m->signo >= 1 && m->signo <= GL_JOB_SIGNO_MAX);
    if (m->type == LAUNCH_FAILED)
        MUST (m->text && m->text[0] && strlen (m->text) <= LAUNCH_TEXT_MAX);
    if (m->type == LAUNCH_EXITED)
        MUST (m->code <= 255 && m->signo <= GL_JOB_SIGNO_MAX);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    launch_msg_t m;
    const char *why = NULL;
    if (launch_decode (data, size, &m, &why)) {
        MUST (why != NULL);
        return 0;
    }
    sane (&m);
    uint8_t *out;
    size_t len;
    MUST (launch_encode (&m, &out, &len) == 0);
    MUST (len == size && !memcmp (out, data, size));
    free (out);
    launch_clear (&m);
    return 0;
}
