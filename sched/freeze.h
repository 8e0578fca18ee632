/*  freeze.h -- stop and continue a job's processes, for coscheduling.

    Three ways, the first that works here (or the one cluster.conf's
    sched/gang_stop names):
      - the cgroup v2 freezer (cgroup.freeze): each job in a cgroup of its
        own (CGROUP2/glunix/NODE.PID/GPID), frozen and thawed whole,
        children included, without the job seeing a signal;
      - the cgroup v1 freezer (freezer.state), the same way under the
        freezer hierarchy, where the machine has no cgroup v2 mounted;
      - signals: SIGSTOP and SIGCONT to the job's process group.  A job
        stopped by its user (SIGSTOP, SIGTSTP through glx) is then not
        continued by a slice: that stays the user's to do.
    A stop is confirmed (the cgroup reads frozen, the process stopped)
    before freeze_stop returns, within FREEZE_CONFIRM_US: the caller
    continues the next row's gangs only once the last row's are still.

    The cgroups of an agent that died are thawed by the next agent that
    starts on the machine, so no job stays frozen for want of its agent.
    This is I/O (the caller's, in sched/ as exec.c is): not for the
    simulator. */
#ifndef GL_FREEZE_H
#define GL_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FREEZE_CONFIRM_US 20000 /* longest wait for a stop to take */

typedef enum { FREEZE_AUTO = 0, FREEZE_CGROUP, FREEZE_SIGNALS } freeze_want_t;

typedef struct freeze_t freeze_t;
typedef struct freeze_job_t freeze_job_t;

/* tag names this agent's cgroups (unique on the machine: "NODE.PID").
   NULL with a message only when want is FREEZE_CGROUP and no freezer
   can be used; FREEZE_AUTO falls back to signals. */
freeze_t *freeze_new (freeze_want_t want, const char *tag, char *err, size_t errlen);
void freeze_destroy (freeze_t **self_p);

/* "cgroup v1 freezer at /sys/fs/cgroup/freezer", "signals", ... */
const char *freeze_method (const freeze_t *self);

/* How signals reach a job's process group: exec_signal's shape (through
   the root launcher when the agent has dropped root, launcher.h). */
typedef int (*freeze_signal_fn) (void *arg, int signo);

/* The job named `name` runs as process (group) pid, signalled by fn (arg,
   signo) (NULL: kill (-pid, signo)): put it where it can be frozen.
   Never NULL unless memory is short: a job its cgroup refused is stopped
   with signals. */
freeze_job_t *freeze_job_new (freeze_t *self, const char *name, pid_t pid, freeze_signal_fn fn,
                              void *arg);
/* Continue it if stopped, and let its cgroup go (once it is empty). */
void freeze_job_destroy (freeze_job_t **job_p);

int freeze_stop (freeze_job_t *job);
int freeze_cont (freeze_job_t *job);
bool freeze_stopped (const freeze_job_t *job);

/* Wait until every job stopped since the last call is still (or the
   confirmation time is up); returns how many were not confirmed. */
size_t freeze_confirm (freeze_t *self);

/* The user stopped (true) or continued (false) the job with a signal:
   with signals, a slice leaves a job its user stopped alone. */
void freeze_user_stop (freeze_job_t *job, bool stopped);

#endif
