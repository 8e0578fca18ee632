/*  sysvipc.h -- the System V semaphore sets and message queues a process
    uses, for a checkpoint to refuse.

    A set or a queue is this machine's kernel's, named by an id the kernel
    chose: elsewhere the same id names nothing, or another program's set,
    and a restored semop there would fail, wait for ever, or change that
    other program's values.  The kernel tells no process which ones it
    uses (no mapping, no descriptor, nothing in /proc per process), so the
    shim notes each id the program names or is given (semget, semop,
    semtimedop, semctl, msgget, msgsnd, msgrcv, msgctl: shim/sysv.c through
    libc, shim/sud.c for a raw call), and a checkpoint asks the kernel
    whether each still exists: a set removed since is no reason.  (System
    V shared memory is a mapping: judge.c refuses it by its path.) */
#ifndef GL_SYSVIPC_H
#define GL_SYSVIPC_H

#include <stddef.h>

enum { SYSVIPC_SEM, SYSVIPC_MSG };

/* The program named, or was given, id of kind SYSVIPC_*: noted (a
   negative id, an error, is not).  Safe in a signal handler. */
void sysvipc_seen (int kind, long id);

/* semctl or msgctl's cmd on id: noted, but for the commands whose id is
   an index into the kernel's table, or nothing (IPC_INFO, SEM_INFO,
   MSG_INFO, SEM_STAT, MSG_STAT and their _ANY: ipcs(1)). */
void sysvipc_ctl (int kind, long id, int cmd);

/* 0: none of the ids noted names a set or queue that exists now; or -1
   with the first that does in why. */
int sysvipc_judge (char *why, size_t cap);

#endif
