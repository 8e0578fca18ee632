/*  kobj.h -- the kernel's own objects a process holds by descriptor, moved
    with their state: eventfds, timerfds, signalfds and epoll instances.

    Their state lives in the kernel, and /proc/PID/fdinfo shows it whole:
    an eventfd's counter, a timerfd's clock, remaining time, interval and
    unread expirations, a signalfd's signals, an epoll instance's
    registrations (each watched descriptor, its events and its data).
    The capture reads it there, once when it judges the process (may it
    move?) and again while the process is parked (what it was at the
    snapshot: the writer runs while the job goes on); the restorer makes
    each object again with eventfd(2), timerfd_create(2) and
    timerfd_settime(2) (and TFD_IOC_SET_TICKS), signalfd(2) and
    epoll_create1(2), and, once every descriptor is at its number,
    registers each epoll's descriptors again with epoll_ctl(2).

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
   own user's processes.  Where it cannot tell, false. */
bool kobj_same (pid_t pa, int a, pid_t pb, int b);

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

/* An epoll instance's registrations, made at fd f->fd once every
   descriptor of the process is at its number: 0, or -1 with the reason. */
int kobj_register (const img_fd_t *f, char *err, size_t errlen);

#endif
