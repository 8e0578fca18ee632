/*  sysvipc.c -- System V semaphore sets and message queues a process
    uses (sysvipc.h). */
#include "sysvipc.h"

#include "capture_impl.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#define IDS_MAX 64

/* (kind + 1) << 32 | id, or 0: a free slot.  Lock-free, as a raw call's
   trap may come in any handler, and a fork's child inherits the table. */
static _Atomic uint64_t ids[IDS_MAX];
static atomic_bool overflow; /* more than IDS_MAX at once */

/* Whether the kernel has the set or queue (it may refuse to show it:
   EACCES says it exists). */
static bool exists (uint64_t v)
{
    int id = (int) (uint32_t) v;
    char buf[512]; /* a semid64_ds or msqid64_ds, not read */
    long r = (v >> 32) == SYSVIPC_SEM + 1 ? syscall (SYS_semctl, id, 0, IPC_STAT, buf)
                                          : syscall (SYS_msgctl, id, IPC_STAT, buf);
    return r >= 0 || errno == EACCES;
}

static bool add (uint64_t v)
{
    for (int i = 0; i < IDS_MAX; i++) {
        uint64_t cur = atomic_load (&ids[i]);
        if (cur == v)
            return true;
        if (!cur && (atomic_compare_exchange_strong (&ids[i], &cur, v) || cur == v))
            return true;
    }
    return false;
}

void sysvipc_seen (int kind, long id)
{
    if (id < 0 || id > INT32_MAX)
        return;
    uint64_t v = (uint64_t) (kind + 1) << 32 | (uint32_t) id;
    if (add (v))
        return;
    int e = errno;
    for (int i = 0; i < IDS_MAX; i++) { /* full: forget those removed since */
        uint64_t cur = atomic_load (&ids[i]);
        if (cur && !exists (cur))
            atomic_compare_exchange_strong (&ids[i], &cur, 0);
    }
    if (!add (v))
        atomic_store (&overflow, true);
    errno = e;
}

void sysvipc_ctl (int kind, long id, int cmd)
{
    switch (cmd & 0xff) { /* less IPC_64, which an old caller may add */
        case IPC_INFO:
        case SEM_INFO:
        case MSG_INFO:
        case SEM_STAT:
        case MSG_STAT:
        case SEM_STAT_ANY:
        case MSG_STAT_ANY: return;
        default: sysvipc_seen (kind, id);
    }
}

int sysvipc_judge (char *whyb, size_t cap)
{
    sb_t b = { whyb, 0, cap, false }, *why = &b;
    if (atomic_load (&overflow)) {
        sb_s (why, "it used more than 64 System V semaphore sets and message queues at once "
                   "(this machine's kernel's: their ids would name nothing, or others, elsewhere)");
        return -1;
    }
    int e = errno;
    for (int i = 0; i < IDS_MAX; i++) {
        uint64_t cur = atomic_load (&ids[i]);
        if (!cur)
            continue;
        if (!exists (cur)) {
            atomic_compare_exchange_strong (&ids[i], &cur, 0);
            continue;
        }
        bool sem = (cur >> 32) == SYSVIPC_SEM + 1;
        sb_s (why, sem ? "it uses System V semaphore set " : "it uses System V message queue ");
        sb_u (why, (uint32_t) cur);
        sb_s (why, sem ? " (semget): the set is this machine's kernel's, and its id would name "
                         "nothing, or another set, elsewhere"
                       : " (msgget): the queue is this machine's kernel's, and its id would name "
                         "nothing, or another queue, elsewhere");
        errno = e;
        return -1;
    }
    errno = e;
    return 0;
}
