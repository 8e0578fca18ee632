/*  reap.h -- a job's keeper: the process that outlives everything a job
    started on this node, and ends it all with the job.

    A job's process group ends with the job (exec_destroy kills it), but a
    process that left the group (setsid(1), a daemon's double fork) is out
    of its reach, and once its parent has ended nothing tells it from any
    other process of the user: the kernel hands an orphan to init.  Without
    root there is no cgroup to hold a job, and no mark a process carries
    that it could not change (its environment, its session, its limits are
    all its own to rewrite).  What the kernel does offer every user is
    PR_SET_CHILD_SUBREAPER: an orphan goes to its nearest living ancestor
    that asked for it, instead of init.

    So every job gets a keeper of its own, between the caller of exec_start
    (the agent, or a machine's root launcher) and the job:

      agent/launcher --fork--> keeper (subreaper) --fork--> job --> ...
                         <-- socket: the job's pid, later its status

    Whatever the job starts and leaves behind comes back to its keeper when
    its parent ends, and to no other: a keeper's children are its job's, by
    the kernel's word, whatever the job's processes do to their sessions,
    groups, names or environment.  The keeper reaps them as they end (no
    zombies pile up), keeps the job's own process unreaped (a zombie holds
    the pid, so its group's id is never reused while the agent may aim at
    it), tells the job's end on the socket (and its parent with SIGCHLD, as
    the kernel would have), and when that socket closes (exec_destroy, or
    the agent is gone) kills the job's group, reaps the job's process and
    says so, then kills every process it holds, and the children those
    leave it, until nothing is left; then it exits.  The caller waits for
    the job's process alone, as it would for its own child: a leftover
    stuck in the kernel (a dead NFS server) holds its keeper, never the
    agent's loop.

    The keeper is the caller forked, not a program: it runs with every
    signal blocked (so a job's or a terminal's SIGINT, SIGTERM or SIGHUP
    does not end it; only SIGKILL does), closes every descriptor but its
    socket, and makes system calls only, as a child of a process with
    threads must.  Its name is glpeer-keep (ps -o comm, pgrep -x); its
    command line is still its caller's.  It costs what the caller's
    memory it keeps from copy-on-write: the anonymous memory the agent
    had at the fork at most (about 2 MB; a launcher's, less).  It runs as the caller: a machine's keepers are root (a
    job's user cannot signal them), a user's agent's are that user (who
    could end them as they can end the agent: the caller then ends the
    job's group and process itself, and a stopped keeper is continued by
    exec_destroy; see exec.c's keeper_lost). */
#ifndef GL_REAP_H
#define GL_REAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What a keeper says on its socket (SOCK_SEQPACKET), one message each. */
enum {
    REAP_STARTED = 1, /* pid: the job's, or -errno when its fork failed */
    REAP_EXITED = 2,  /* the job's process ended: code, or signo (and core) */
    REAP_GONE = 3     /* let go: the job's group is killed, its process reaped;
                         what it left is being killed */
};

typedef struct {
    int32_t what;
    int32_t pid;
    int32_t code;
    int32_t signo;
    int32_t core;
} reap_msg_t;

/* In the keeper, forked from the caller, before it forks the job: a
   subreaper (prctl(PR_SET_CHILD_SUBREAPER)), so that no orphan is missed,
   and SIGCHLD at its default, so that no child is reaped by the kernel
   (the caller may ignore SIGCHLD).  System calls only. */
void reap_become (void);

/* In the keeper once it has forked the job (job, or -errno when that fork
   failed): its whole life.  sock is its end of the socket pair; parent is
   the caller, which it wakes with SIGCHLD when the job ends. */
_Noreturn void reap_keep (int sock, pid_t job, pid_t parent);

/* The caller's side: one message from the keeper into *m.  1 with it, 0
   when none is there (block false), -1 once the keeper is gone. */
int reap_read (int sock, bool block, reap_msg_t *m);

#endif
