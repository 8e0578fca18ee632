/*  launcher.h -- privilege separation, in the manner of OpenBSD's daemons.

    A machine's agent (started by root) forks, first thing, a small
    launcher that stays root, and then drops to an unprivileged account
    (node/agent_user): the agent parses packets, runs placement policies
    and talks to every local user's glx, so it is the part an attacker
    reaches, and it holds no privilege.  What needs root is asked of the
    launcher over a socketpair, in the fixed messages of launch_msg.h:

      agent                                    launcher (root)
      exec_start (exec.h) --RUN, fd 3-->       decode, access_account
                                               (its own copy of the rules),
                                               exec_start: setgroups,
                                               setgid, setuid, execve
                          <--STARTED, stdio--  or FAILED with the reason
      exec_signal         --SIGNAL-->          to the job's process group
      exec_sigqueue       --SIGQUEUE-->        to the job's process, with a value
      exec_poll_exit      <--EXITED--          when the job ends
      exec_destroy        --FREE-->            kill what is left, reap

    So a compromised agent can ask only for what the launcher grants: jobs
    of the users cluster.conf allows, never root's unless cluster/root_jobs
    says so, signals only to the jobs it started.  The launcher reads
    nothing else from the agent, keeps no state but its jobs, and when the
    agent goes away kills them, removes the agent's socket and pid file
    (which the unprivileged agent may not), and exits.

    exec.c is the agent's side: exec_set_launcher hands it the socket, and
    the functions below carry its requests. */
#ifndef GL_LAUNCHER_H
#define GL_LAUNCHER_H

#include "access.h"
#include "conf.h"
#include "exec.h"
#include "launch_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Fork the launcher (call as root, before any thread starts).  It
   enforces conf's rules.  Returns the agent's end of the socketpair and
   the launcher's pid, or -1 with a message. */
int launcher_spawn (const gl_conf_t *conf, pid_t *pid, char *err, size_t errlen);

/* Become conf's node/agent_user for good (nobody when that account does
   not exist), after handing it the state directory (the agent rewrites
   its peers file there) and the shared-memory view.  0, or -1 with a
   message; the process has then lost root either way or is to exit. */
int launcher_drop (const gl_conf_t *conf, char *err, size_t errlen);

/* ---- the agent's side, for exec.c --------------------------------------------- */

/* Ask for run (its id set) with fd 3 for the job (-1: none); wait for the
   answer.  0 with *pid and the job's stdio ends in fds (stdin, stdout,
   stderr and stdin's read end, or the pty master alone: *n_fds), or -1
   with *code and a message. */
int launcher_run (int sock, const launch_msg_t *run, int fd3, pid_t *pid, int fds[4], size_t *n_fds,
                  exec_err_t *code, char *err, size_t errlen);

/* SIGNAL or FREE for job id; -1 with errno when the launcher is gone. */
int launcher_tell (int sock, uint8_t type, uint64_t id, int signo);
/* Any request that carries no descriptor (SIGQUEUE). */
int launcher_send (int sock, const launch_msg_t *m);

/* Read what the launcher said since (never blocks).  -1 once it is gone. */
int launcher_drain (int sock);

/* Has job id ended?  True with its status once the launcher said so. */
bool launcher_exited (int sock, uint64_t id, exec_status_t *status);

/* Forget what was kept for job id (after FREE). */
void launcher_forget (uint64_t id);

#endif
