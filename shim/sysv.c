/*  sysv.c -- System V semaphores and message queues: each id a program
    names or is given noted for a checkpoint to refuse
    (checkpoint/sysvipc.h), then libc's own call made.  A raw call is
    noted by sud.c. */
#include "shim_impl.h"
#include "sysvipc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/types.h>

#define API __attribute__ ((visibility ("default")))

/* libc's, found when the library starts (a call may come from a
   handler, where dlsym may not) */
static int (*real_semget) (key_t, int, int);
static int (*real_semop) (int, struct sembuf *, size_t);
static int (*real_semtimedop) (int, struct sembuf *, size_t, const struct timespec *);
static int (*real_semctl) (int, int, int, ...);
static int (*real_msgget) (key_t, int);
static int (*real_msgsnd) (int, const void *, size_t, int);
static ssize_t (*real_msgrcv) (int, void *, size_t, long, int);
static int (*real_msgctl) (int, int, struct msqid_ds *);

__attribute__ ((constructor (101))) static void sysv_init (void)
{
    real_semget = dlsym (RTLD_NEXT, "semget");
    real_semop = dlsym (RTLD_NEXT, "semop");
    real_semtimedop = dlsym (RTLD_NEXT, "semtimedop");
    real_semctl = dlsym (RTLD_NEXT, "semctl");
    real_msgget = dlsym (RTLD_NEXT, "msgget");
    real_msgsnd = dlsym (RTLD_NEXT, "msgsnd");
    real_msgrcv = dlsym (RTLD_NEXT, "msgrcv");
    real_msgctl = dlsym (RTLD_NEXT, "msgctl");
}

#define NEED(fn) SHIM_NEED (real_##fn, sysv_init, -1)

API int semget (key_t key, int n, int flags)
{
    NEED (semget);
    int id = real_semget (key, n, flags);
    sysvipc_seen (SYSVIPC_SEM, id);
    return id;
}

API int semop (int id, struct sembuf *ops, size_t n)
{
    NEED (semop);
    sysvipc_seen (SYSVIPC_SEM, id);
    return real_semop (id, ops, n);
}

API int semtimedop (int id, struct sembuf *ops, size_t n, const struct timespec *t)
{
    NEED (semtimedop);
    sysvipc_seen (SYSVIPC_SEM, id);
    return real_semtimedop (id, ops, n, t);
}

/* The fourth argument (a union semun, a word) is there only for the
   commands that take one, as libc reads it. */
API int semctl (int id, int num, int cmd, ...)
{
    NEED (semctl);
    sysvipc_ctl (SYSVIPC_SEM, id, cmd);
    switch (cmd) {
        case IPC_STAT:
        case IPC_SET:
        case GETALL:
        case SETALL:
        case SETVAL:
        case IPC_INFO:
        case SEM_INFO:
        case SEM_STAT:
        case SEM_STAT_ANY: {
            va_list ap;
            va_start (ap, cmd);
            unsigned long arg = va_arg (ap, unsigned long);
            va_end (ap);
            return real_semctl (id, num, cmd, arg);
        }
        default: return real_semctl (id, num, cmd);
    }
}

API int msgget (key_t key, int flags)
{
    NEED (msgget);
    int id = real_msgget (key, flags);
    sysvipc_seen (SYSVIPC_MSG, id);
    return id;
}

API int msgsnd (int id, const void *msg, size_t n, int flags)
{
    NEED (msgsnd);
    sysvipc_seen (SYSVIPC_MSG, id);
    return real_msgsnd (id, msg, n, flags);
}

API ssize_t msgrcv (int id, void *msg, size_t n, long type, int flags)
{
    NEED (msgrcv);
    sysvipc_seen (SYSVIPC_MSG, id);
    return real_msgrcv (id, msg, n, type, flags);
}

API int msgctl (int id, int cmd, struct msqid_ds *buf)
{
    NEED (msgctl);
    sysvipc_ctl (SYSVIPC_MSG, id, cmd);
    return real_msgctl (id, cmd, buf);
}
