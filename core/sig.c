/*  sig.c -- a queued signal to the one thread of a process that takes it
    (sig.h). */
#include "sig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* s + the decimal of v; the end */
static char *put_num (char *s, long v)
{
    char d[24];
    int n = 0;
    do
        d[n++] = (char) ('0' + v % 10);
    while ((v /= 10) > 0);
    while (n)
        *s++ = d[--n];
    *s = '\0';
    return s;
}

/* "/proc/PID/task[/TID/status]" into out (64 bytes), with no snprintf:
   this runs in a signal handler */
static void task_path (char *out, pid_t pid, pid_t tid)
{
    char *e = stpcpy (out, "/proc/");
    e = stpcpy (put_num (e, pid), "/task");
    if (tid)
        stpcpy (put_num (stpcpy (e, "/"), tid), "/status");
}

/* Can thread tid of pid take sig: alive (not a zombie, not dead) and
   not blocking it?  From /proc/PID/task/TID/status, read with system
   calls only. */
static bool takes (pid_t pid, pid_t tid, int sig)
{
    char path[64], buf[2048];
    task_path (path, pid, tid);
    int fd = (int) syscall (SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = syscall (SYS_read, fd, buf, sizeof buf - 1);
    syscall (SYS_close, fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *st = strstr (buf, "\nState:\t");
    const char *blk = strstr (buf, "\nSigBlk:\t");
    if (!st || !blk || st[8] == 'Z' || st[8] == 'X')
        return false;
    uint64_t mask = 0;
    for (const char *p = blk + 9; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
        mask = mask << 4 | (uint64_t) (*p <= '9' ? *p - '0' : *p - 'a' + 10);
    return !(mask & (1ull << (sig - 1)));
}

/* The thread of pid to tell: the first one if it takes sig, or the first
   found that does; 0 when none does or none can be read. */
static pid_t pick (pid_t pid, int sig)
{
    if (takes (pid, pid, sig))
        return pid;
    char path[64];
    task_path (path, pid, 0);
    int fd = (int) syscall (SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    pid_t found = 0;
    long n;
    while (!found && (n = syscall (SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long off = 0; off < n && !found;) {
            struct dirent64 *d = (struct dirent64 *) (buf + off);
            off += d->d_reclen;
            pid_t tid = 0;
            for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
                tid = tid * 10 + (*c - '0');
            if (tid > 0 && tid != pid && takes (pid, tid, sig))
                found = tid;
        }
    syscall (SYS_close, fd);
    return found;
}

int gl_sigqueue_thread (pid_t pid, int sig, int value)
{
    siginfo_t si;
    memset (&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = (pid_t) syscall (SYS_getpid); /* the kernel's, whatever a shim says */
    si.si_uid = (uid_t) syscall (SYS_getuid);
    si.si_value.sival_int = value;
    pid_t tid = pick (pid, sig);
    if (tid > 0) {
        if (syscall (SYS_rt_tgsigqueueinfo, pid, tid, sig, &si) == 0)
            return 0;
        if (errno != ESRCH) /* ESRCH: that thread ended meanwhile */
            return -1;
    }
    return (int) syscall (SYS_rt_sigqueueinfo, pid, sig, &si);
}
