/*  test_freeze -- stopping and continuing a job (sched/freeze.h): with
    signals always; with a cgroup freezer where the machine has one this
    user may write (else that part is skipped). */
#include "freeze.h"
#include "tap.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t *counter; /* the child counts here, shared */

/* A job: its own process group, spinning. */
static pid_t spawn (void)
{
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);
        for (;;)
            (*counter)++;
    }
    setpgid (pid, pid);
    return pid;
}

static void pause_ms (long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep (&ts, NULL);
}

static char state_of (pid_t pid)
{
    char path[64], buf[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return '?';
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    char *paren = strrchr (buf, ')');
    return paren && paren[1] ? paren[2] : '?';
}

/* Does the job advance?  Within 5 s: a loaded machine may keep it off
   the processor for a while. */
static bool advances (void)
{
    uint64_t before = *counter;
    for (int i = 0; i < 100 && *counter == before; i++)
        pause_ms (50);
    return *counter != before;
}

/* Is the job still?  It may take a loaded machine a while to stop it
   (freeze_confirm waits FREEZE_CONFIRM_US at most): it becomes still
   within 5 s and stays so for 100 ms. */
static bool still (void)
{
    for (int i = 0; i < 50; i++) {
        uint64_t before = *counter;
        pause_ms (100);
        if (*counter == before)
            return true;
    }
    return false;
}

static void exercise (freeze_t *fz, bool by_signals)
{
    pid_t pid = spawn ();
    freeze_job_t *job = freeze_job_new (fz, "test-1-1", pid, NULL, NULL);
    CHECK (job != NULL);
    CHECK (advances ());
    CHECK_EQ (freeze_stop (job), 0);
    CHECK (freeze_stopped (job));
    freeze_confirm (fz);
    CHECK (still ());
    if (by_signals)
        CHECK_EQ (state_of (pid), 'T');
    CHECK_EQ (freeze_stop (job), 0); /* again: nothing changes */
    CHECK_EQ (freeze_cont (job), 0);
    CHECK (!freeze_stopped (job));
    CHECK (advances ());
    if (by_signals) {
        /* its user stopped it: a slice does not continue it */
        kill (-pid, SIGSTOP);
        freeze_user_stop (job, true);
        CHECK_EQ (freeze_stop (job), 0);
        CHECK_EQ (freeze_cont (job), 0);
        freeze_confirm (fz);
        CHECK (still ());
        freeze_user_stop (job, false);
        kill (-pid, SIGCONT);
        CHECK (advances ());
    }
    /* destroyed while stopped: it goes on, and can be killed */
    CHECK_EQ (freeze_stop (job), 0);
    freeze_confirm (fz);
    CHECK (still ());
    freeze_job_destroy (&job);
    CHECK (job == NULL);
    CHECK (advances ());
    kill (-pid, SIGKILL);
    int st;
    CHECK (waitpid (pid, &st, 0) == pid && WIFSIGNALED (st));
}

/* Stopped, continued and stopped again before a confirm, then destroyed:
   the job stood twice among those to confirm, and destroying it must take
   it out both times (freeze_confirm would read the freed job; the
   sanitizer build reports it). */
static void restop_then_destroy (freeze_t *fz)
{
    pid_t pid = spawn ();
    freeze_job_t *job = freeze_job_new (fz, "test-1-2", pid, NULL, NULL);
    CHECK (job != NULL);
    CHECK_EQ (freeze_stop (job), 0);
    CHECK_EQ (freeze_cont (job), 0);
    CHECK_EQ (freeze_stop (job), 0);
    freeze_job_destroy (&job);
    kill (-pid, SIGKILL); /* first: a failure below must not leave it spinning */
    int st;
    CHECK (waitpid (pid, &st, 0) == pid && WIFSIGNALED (st));
    CHECK_EQ (freeze_confirm (fz), 0);
}

int main (void)
{
    counter =
        mmap (NULL, sizeof *counter, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK (counter != MAP_FAILED);
    char err[256], tag[64];
    snprintf (tag, sizeof tag, "test.%d", (int) getpid ());

    freeze_t *fz = freeze_new (FREEZE_SIGNALS, tag, err, sizeof err);
    CHECK (fz != NULL);
    CHECK (strstr (freeze_method (fz), "signals") != NULL);
    exercise (fz, true);
    restop_then_destroy (fz);
    freeze_destroy (&fz);
    CHECK (fz == NULL);

    fz = freeze_new (FREEZE_CGROUP, tag, err, sizeof err);
    if (!fz) {
        CHECK (strstr (err, "sched/gang_stop") != NULL);
        tap_skip ("no cgroup freezer this user may write");
    }
    else {
        printf ("# %s\n", freeze_method (fz));
        CHECK (strstr (freeze_method (fz), "cgroup") != NULL);
        exercise (fz, false);
        freeze_destroy (&fz);
    }
    return tap_done ("test_freeze");
}
