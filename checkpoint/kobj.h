/*  kobj.h -- the kernel's own objects a process holds, moved with their
    state: eventfds, timerfds, signalfds, epoll and inotify instances
    (held by descriptor), and POSIX timers (held by id).

    Their state lives in the kernel, and /proc/PID/fdinfo shows it whole:
    an eventfd's counter, a timerfd's clock, remaining time, interval and
    unread expirations, a signalfd's signals, an epoll instance's
    registrations (each watched descriptor, its events and its data), an
    inotify instance's watches (each one's number, mask, and the device
    and inode watched, which must be open at one of the process's
    descriptors: the restorer watches it again through that one).
    The capture reads it there, once when it judges the process (may it
    move?) and again while the process is parked (what it was at the
    snapshot: the writer runs while the job goes on); the restorer makes
    each object again with eventfd(2), timerfd_create(2) and
    timerfd_settime(2) (and TFD_IOC_SET_TICKS), signalfd(2) and
    epoll_create1(2) and inotify_init1(2), and, once every descriptor is
    at its number, registers each epoll's descriptors again with
    epoll_ctl(2) and adds each inotify's watches again with their old
    numbers.

    POSIX timers: /proc/self/timers lists each one's id, clock, signal
    and value, timer_gettime(2) its time; the restorer makes each again
    with its old id (PR_TIMER_CREATE_RESTORE_IDS where the kernel has it,
    Linux 6.16 and later; else the ids a new process gets in turn) and
    arms it once the process's signals are blocked.  A timer that signals
    one thread (SIGEV_THREAD_ID, which glibc's SIGEV_THREAD uses) or
    counts a thread's CPU time is refused: the threads are new.

    Used by capture.c in the shim (no allocation: a handler may run it)
    and by restore.c in glrestore. */
#ifndef GL_KOBJ_H
#define GL_KOBJ_H

#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Which of these /proc/self/fd/N's name (readlink) is: its IMG_F_* kind,
   or 0 for any other. */
uint32_t kobj_kind (const char *link);

/* Whether descriptor a of process pa and b of pb (0: this process) are
   one open file: kcmp(2), which a process may do on itself and on its
   own user's processes.  kobj_cmp: 0 one open file, 1 two, -1 it
   cannot tell (errno); kobj_same: where it cannot tell, false. */
int kobj_cmp (pid_t pa, int a, pid_t pb, int b);
bool kobj_same (pid_t pa, int a, pid_t pb, int b);
/* The same for two descriptors of this process that can seek (regular
   files), its other threads parked: where kcmp(2) cannot tell (a
   seccomp filter that allows it only with CAP_SYS_PTRACE, as
   containers' do), a's offset moved by one and b's read, then a's put
   back.  0 one open file, 1 two. */
int kobj_cmp_own (int a, int b);

/* The state of fd, a kobj_kind of kind, into f (kind, pos, fsize) and,
   for a timerfd or an epoll, into data (cap bytes; f->data and
   f->data_len point there).  An epoll's registrations must each name a
   descriptor the process has open on the same file.  0, or -1 with the
   reason in why (whylen bytes). */
int kobj_read (int fd, uint32_t kind, img_fd_t *f, uint8_t *data, size_t cap, char *why,
               size_t whylen);

/* The object f describes, made again: its descriptor (close-on-exec),
   or -1 with the reason.  Epoll registrations come later. */
int kobj_make (const img_fd_t *f, char *err, size_t errlen);

/* An epoll instance's registrations, or an inotify instance's watches,
   made at fd f->fd once every descriptor of the process is at its
   number: 0, or -1 with the reason. */
int kobj_register (const img_fd_t *f, char *err, size_t errlen);

/* The process's POSIX timers, now, into out (IMG_MAX_TIMERS) and *n:
   0, or -1 with the reason. */
int kobj_timers (img_ptimer_t *out, uint32_t *n, char *why, size_t whylen);

/* The timers of p made again, disarmed, with their ids: 0, or -1 with
   the reason (nothing made then).  Then armed, once nothing else may
   fail and the process's signals are blocked. */
int kobj_timers_make (const img_proc_t *p, char *err, size_t errlen);
void kobj_timers_arm (const img_proc_t *p);

#endif
