/*  kobj.c -- eventfds, timerfds, signalfds, epoll and inotify instances, read from
    /proc/self/fdinfo and made again (kobj.h says why and when). */
#include "kobj.h"
#include "fd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS /* <linux/timerfd.h>'s, whose <asm/fcntl.h> clashes with libc's */
#define TFD_IOC_SET_TICKS _IOW ('T', 0, uint64_t)
#endif

uint32_t kobj_kind (const char *link)
{
    if (strncmp (link, "anon_inode:", 11))
        return 0;
    const char *n = link + 11;
    if (!strcmp (n, "[eventfd]"))
        return IMG_F_EVENTFD;
    if (!strcmp (n, "[timerfd]"))
        return IMG_F_TIMERFD;
    if (!strcmp (n, "[signalfd]"))
        return IMG_F_SIGNALFD;
    if (!strcmp (n, "[eventpoll]"))
        return IMG_F_EPOLL;
    if (!strcmp (n, "inotify"))
        return IMG_F_INOTIFY;
    return 0;
}

int kobj_cmp (pid_t pa, int a, pid_t pb, int b)
{
    pid_t self = (pid_t) syscall (SYS_getpid);
    long rc = syscall (SYS_kcmp, pa ? pa : self, pb ? pb : self, 0 /* KCMP_FILE */, a, b);
    return rc < 0 ? -1 : rc != 0;
}

bool kobj_same (pid_t pa, int a, pid_t pb, int b)
{
    return kobj_cmp (pa, a, pb, b) == 0;
}

int kobj_cmp_own (int a, int b)
{
    int rc = kobj_cmp (0, a, 0, b);
    if (rc >= 0)
        return rc;
    off_t at = lseek (a, 0, SEEK_CUR);
    if (at < 0 || lseek (b, 0, SEEK_CUR) != at) /* one offset, or two apart */
        return 1;
    if (lseek (a, at + 1, SEEK_SET) != at + 1)
        return 1;
    rc = lseek (b, 0, SEEK_CUR) == at + 1 ? 0 : 1;
    lseek (a, at, SEEK_SET);
    return rc;
}

/* The number after "key" in text, in base; false when it is not there. */
static bool field (const char *text, const char *key, int base, uint64_t *out)
{
    const char *s = strstr (text, key);
    if (!s)
        return false;
    s += strlen (key);
    s += strspn (s, " \t(");
    char *end;
    errno = 0;
    unsigned long long v = strtoull (s, &end, base);
    if (end == s || errno)
        return false;
    *out = v;
    return true;
}

static ssize_t read_info (int fd, char *buf, size_t cap)
{
    char p[64];
    snprintf (p, sizeof p, "/proc/self/fdinfo/%d", fd);
    return gl_read_file (p, buf, cap);
}

static void put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get32 (const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

/* An epoll's lines "tfd: N events: X data: X  pos:P ino:X sdev:X", each
   checked against the descriptor it names. */
static int epoll_regs (int fd, const char *info, img_fd_t *f, uint8_t *data, size_t cap, char *why,
                       size_t whylen)
{
    uint32_t n = 0;
    for (const char *s = strstr (info, "tfd:"); s; s = strstr (s + 4, "tfd:")) {
        uint64_t tfd, events, d, ino;
        if (!field (s, "tfd:", 10, &tfd) || !field (s, "events:", 16, &events) ||
            !field (s, "data:", 16, &d) || !field (s, "ino:", 16, &ino)) {
            snprintf (why, whylen, "fd %d: an epoll instance whose registrations cannot be read",
                      fd);
            return -1;
        }
        struct stat st;
        if (fstat ((int) tfd, &st) || (uint64_t) st.st_ino != ino) {
            snprintf (why, whylen,
                      "fd %d: an epoll instance watches a file no longer open at fd %llu "
                      "(closed or replaced without EPOLL_CTL_DEL)",
                      fd, (unsigned long long) tfd);
            return -1;
        }
        if ((size_t) (n + 1) * IMG_EPOLL_REG > cap) {
            snprintf (why, whylen, "fd %d: an epoll instance with more than %zu registrations", fd,
                      cap / IMG_EPOLL_REG);
            return -1;
        }
        uint8_t *r = data + (size_t) n * IMG_EPOLL_REG;
        put32 (r, (uint32_t) tfd);
        put32 (r + 4, (uint32_t) events);
        put64 (r + 8, d);
        n++;
    }
    f->data = data;
    f->data_len = n * IMG_EPOLL_REG;
    return 0;
}

/* A descriptor of this process open on the file the kernel names by
   its device (the kernel's encoding: major << 20 | minor) and inode:
   the lowest, or -1. */
#define WATCHED_FD_MAX 4096 /* descriptors searched */
static int open_on (uint64_t sdev, uint64_t ino, int self)
{
    for (int d = 0; d < WATCHED_FD_MAX; d++) {
        struct stat st;
        if (d != self && !fstat (d, &st) && (uint64_t) st.st_ino == ino &&
            major (st.st_dev) == (sdev >> 20) && minor (st.st_dev) == (sdev & 0xfffff))
            return d;
    }
    return -1;
}

/* An inotify instance's lines "inotify wd:X ino:X sdev:X mask:X ...",
   each watched file found open at a descriptor of the process, in
   increasing order of wd. */
static int inotify_watches (int fd, const char *info, img_fd_t *f, uint8_t *data, size_t cap,
                            char *why, size_t whylen)
{
    uint32_t n = 0;
    for (const char *s = strstr (info, "inotify wd:"); s; s = strstr (s + 11, "inotify wd:")) {
        uint64_t wd, ino, sdev, mask;
        if (!field (s, "wd:", 16, &wd) || !field (s, "ino:", 16, &ino) ||
            !field (s, "sdev:", 16, &sdev) || !field (s, "mask:", 16, &mask)) {
            snprintf (why, whylen, "fd %d: an inotify instance whose watches cannot be read", fd);
            return -1;
        }
        int on = open_on (sdev, ino, fd);
        if (on < 0) {
            snprintf (
                why, whylen,
                "fd %d: an inotify instance watches a file or directory (inode %llu) that none of the "
                "process's first %d descriptors holds open, by which it would be watched "
                "again",
                fd, (unsigned long long) ino, WATCHED_FD_MAX);
            return -1;
        }
        if ((size_t) (n + 1) * IMG_INOTIFY_REG > cap || n == IMG_INOTIFY_MAX) {
            snprintf (why, whylen, "fd %d: an inotify instance with more than %d watches", fd,
                      IMG_INOTIFY_MAX);
            return -1;
        }
        /* in increasing order of wd, as the image wants them */
        uint32_t at = n;
        while (at > 0 && get32 (data + (at - 1) * IMG_INOTIFY_REG) > wd) {
            memcpy (data + at * IMG_INOTIFY_REG, data + (at - 1) * IMG_INOTIFY_REG,
                    IMG_INOTIFY_REG);
            at--;
        }
        uint8_t *r = data + (size_t) at * IMG_INOTIFY_REG;
        put32 (r, (uint32_t) wd);
        put32 (r + 4, (uint32_t) mask);
        put32 (r + 8, (uint32_t) on);
        n++;
    }
    f->data = data;
    f->data_len = n * IMG_INOTIFY_REG;
    return 0;
}

int kobj_read (int fd, uint32_t kind, img_fd_t *f, uint8_t *data, size_t cap, char *why,
               size_t whylen)
{
    /* an epoll's lines are about 100 bytes each */
    static char info[1 << 18];
    ssize_t n = read_info (fd, info, sizeof info);
    if (n <= 0 || (size_t) n + 1 >= sizeof info) {
        snprintf (why, whylen, "fd %d: its state cannot be read in /proc (or is over %zu bytes)",
                  fd, sizeof info);
        return -1;
    }
    f->kind = kind;
    f->pos = f->fsize = 0;
    f->data = NULL;
    f->data_len = 0;
    uint64_t v[7];
    switch (kind) {
        case IMG_F_EVENTFD:
            if (!field (info, "eventfd-count:", 16, &f->fsize))
                break;
            f->pos = field (info, "eventfd-semaphore:", 10, &v[0]) && v[0] ? 1 : 0;
            return 0;
        case IMG_F_SIGNALFD:
            if (!field (info, "sigmask:", 16, &f->fsize))
                break;
            return 0;
        case IMG_F_TIMERFD: {
            /* "it_value: (s, ns)": the second number after the comma */
            const char *iv = strstr (info, "it_value:"), *ii = strstr (info, "it_interval:");
            if (cap < IMG_TIMERFD_SIZE || !field (info, "clockid:", 10, &v[0]) ||
                !field (info, "ticks:", 10, &v[1]) || !field (info, "settime flags:", 8, &v[2]) ||
                !iv || !ii || !field (iv, "it_value:", 10, &v[3]) || !field (iv, ",", 10, &v[4]) ||
                !field (ii, "it_interval:", 10, &v[5]) || !field (ii, ",", 10, &v[6]))
                break;
            img_timerfd_t t = { (uint32_t) v[0], (uint32_t) v[2], v[1], v[3], v[4], v[5], v[6] };
            img_put_timerfd (&t, data);
            f->data = data;
            f->data_len = IMG_TIMERFD_SIZE;
            return 0;
        }
        case IMG_F_EPOLL: return epoll_regs (fd, info, f, data, cap, why, whylen);
        case IMG_F_INOTIFY: return inotify_watches (fd, info, f, data, cap, why, whylen);
    }
    snprintf (why, whylen, "fd %d: its state in /proc is not as this kernel's was known to be", fd);
    return -1;
}

int kobj_make (const img_fd_t *f, char *err, size_t errlen)
{
    int nb = (f->flags & O_NONBLOCK) ? O_NONBLOCK : 0, fd = -1;
    const char *what = "?";
    switch (f->kind) {
        case IMG_F_EVENTFD:
            what = "eventfd";
            fd = eventfd (0, EFD_CLOEXEC | nb | (f->pos ? EFD_SEMAPHORE : 0));
            /* the counter by a write: eventfd's own takes 32 bits only */
            if (fd >= 0 && f->fsize && write (fd, &f->fsize, 8) != 8) {
                close (fd);
                fd = -1;
            }
            break;
        case IMG_F_SIGNALFD: {
            what = "signalfd";
            sigset_t set;
            sigemptyset (&set);
            for (int s = 1; s <= 64; s++)
                if (f->fsize & (1ull << (s - 1)))
                    sigaddset (&set, s);
            fd = signalfd (-1, &set, SFD_CLOEXEC | nb);
            break;
        }
        case IMG_F_TIMERFD: {
            what = "timerfd";
            img_timerfd_t t;
            img_get_timerfd (f, &t);
            fd = timerfd_create ((int) t.clockid, TFD_CLOEXEC | nb);
            /* the time left, from now: an absolute time on another
               machine's clock would mean nothing.  A periodic timer that
               expired and was not read since shows no time left (the
               kernel moves it on at the read): it goes on an interval
               from now, its expirations counted in the ticks */
            if (!t.value_sec && !t.value_nsec) {
                t.value_sec = t.interval_sec;
                t.value_nsec = t.interval_nsec;
            }
            struct itimerspec its = {
                { (time_t) t.interval_sec, (long) t.interval_nsec },
                { (time_t) t.value_sec, (long) t.value_nsec },
            };
            if (fd >= 0 && (timerfd_settime (fd, 0, &its, NULL) ||
                            (t.ticks && ioctl (fd, TFD_IOC_SET_TICKS, &t.ticks)))) {
                close (fd);
                fd = -1;
            }
            break;
        }
        case IMG_F_EPOLL:
            what = "epoll instance";
            fd = epoll_create1 (EPOLL_CLOEXEC);
            break;
        case IMG_F_INOTIFY: /* its watches come with the epolls' registrations */
            what = "inotify instance";
            fd = inotify_init1 (IN_CLOEXEC | nb);
            break;
    }
    if (fd < 0)
        snprintf (err, errlen, "fd %u: the %s cannot be made again: %s", f->fd, what,
                  strerror (errno));
    return fd;
}

/* An inotify instance's watches, each with its old watch descriptor:
   a new instance hands them out in turn from 1, so a number skipped is
   used up by a watch made and taken away again; the events that makes
   (IN_IGNORED) are read out before the program runs. */
static int inotify_register (const img_fd_t *f, char *err, size_t errlen)
{
    int ifd = (int) f->fd;
    for (uint32_t k = 0; k < f->data_len / IMG_INOTIFY_REG; k++) {
        uint32_t wd, mask, on;
        img_get_inotify_watch (f, k, &wd, &mask, &on);
        char path[64];
        snprintf (path, sizeof path, "/proc/self/fd/%u", on);
        for (int tries = 0;; tries++) {
            int got = inotify_add_watch (ifd, path, mask);
            if (got == (int) wd)
                break;
            if (got >= 0 && got < (int) wd && tries < 1 << 16) {
                inotify_rm_watch (ifd, got);
                continue;
            }
            snprintf (err, errlen,
                      "fd %u: the inotify instance cannot watch the file at fd %u again as "
                      "watch %u: %s",
                      f->fd, on, wd, got < 0 ? strerror (errno) : "its number was taken");
            return -1;
        }
    }
    int fl = fcntl (ifd, F_GETFL);
    if (fl >= 0 && !fcntl (ifd, F_SETFL, fl | O_NONBLOCK)) {
        static char drain[4096];
        while (read (ifd, drain, sizeof drain) > 0) {
        }
        fcntl (ifd, F_SETFL, fl);
    }
    return 0;
}

int kobj_register (const img_fd_t *f, char *err, size_t errlen)
{
    if (f->kind == IMG_F_INOTIFY)
        return inotify_register (f, err, errlen);
    for (uint32_t k = 0; k < f->data_len / IMG_EPOLL_REG; k++) {
        uint32_t tfd, events;
        uint64_t data;
        img_get_epoll_reg (f, k, &tfd, &events, &data);
        struct epoll_event ev = { .events = events, .data.u64 = data };
        if (epoll_ctl ((int) f->fd, EPOLL_CTL_ADD, (int) tfd, &ev)) {
            snprintf (err, errlen, "fd %u: the epoll instance cannot watch fd %u again: %s", f->fd,
                      tfd, strerror (errno));
            return -1;
        }
    }
    return 0;
}

int kobj_timers (img_ptimer_t *out, uint32_t *n, char *why, size_t whylen)
{
    static char info[8192];
    ssize_t k = gl_read_file ("/proc/self/timers", info, sizeof info);
    *n = 0;
    if (k < 0) {
        snprintf (why, whylen, "its POSIX timers cannot be read in /proc");
        return -1;
    }
    if ((size_t) k + 1 >= sizeof info) {
        snprintf (why, whylen, "more than %d POSIX timers", IMG_MAX_TIMERS);
        return -1;
    }
    /* "ID:" at the start of a line ("ClockID:" holds it too) */
    for (const char *s = strncmp (info, "ID:", 3) ? strstr (info, "\nID:") : info; s;
         s = strstr (s + 1, "\nID:")) {
        uint64_t id, signo, value, clock;
        const char *notify = strstr (s, "notify:");
        if (!field (s, "ID:", 10, &id) || !field (s, "signal:", 10, &signo) ||
            !field (s, "/", 16, &value) || !notify || !field (s, "ClockID:", 10, &clock)) {
            snprintf (why, whylen, "its POSIX timers cannot be read in /proc");
            return -1;
        }
        notify += 7 + strspn (notify + 7, " \t");
        bool none = !strncmp (notify, "none/", 5);
        if ((strncmp (notify, "signal/pid.", 11) && strncmp (notify, "none/pid.", 9)) ||
            clock == 3 /* CLOCK_THREAD_CPUTIME_ID */) {
            snprintf (why, whylen,
                      "POSIX timer %llu signals or counts one thread (SIGEV_THREAD, "
                      "SIGEV_THREAD_ID or a thread's CPU clock), whose id does not move",
                      (unsigned long long) id);
            return -1;
        }
        if (*n == IMG_MAX_TIMERS) {
            snprintf (why, whylen, "more than %d POSIX timers", IMG_MAX_TIMERS);
            return -1;
        }
        struct itimerspec its;
        if (syscall (SYS_timer_gettime, (int) id, &its)) {
            snprintf (why, whylen, "POSIX timer %llu cannot be read: %s", (unsigned long long) id,
                      strerror (errno));
            return -1;
        }
        out[(*n)++] = (img_ptimer_t){ (uint32_t) id,
                                      (uint32_t) clock,
                                      none ? 1u : 0u,
                                      (uint32_t) signo,
                                      value,
                                      (uint64_t) its.it_value.tv_sec,
                                      (uint64_t) its.it_value.tv_nsec,
                                      (uint64_t) its.it_interval.tv_sec,
                                      (uint64_t) its.it_interval.tv_nsec };
    }
    /* in increasing order of id, as the image wants them */
    for (uint32_t i = 1; i < *n; i++)
        for (uint32_t j = i; j > 0 && out[j - 1].id > out[j].id; j--) {
            img_ptimer_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return 0;
}

#define PR_TIMER_CREATE_RESTORE_IDS_ 77 /* <linux/prctl.h> of 6.16 */

static long timer_new (const img_ptimer_t *t, int *id)
{
    struct sigevent sev;
    memset (&sev, 0, sizeof sev);
    sev.sigev_notify = t->notify == 1 ? SIGEV_NONE : SIGEV_SIGNAL;
    sev.sigev_signo = (int) t->signo;
    sev.sigev_value.sival_ptr = (void *) (uintptr_t) t->value;
    return syscall (SYS_timer_create, (clockid_t) t->clockid, &sev, id);
}

int kobj_timers_make (const img_proc_t *p, char *err, size_t errlen)
{
    if (!p->n_timers)
        return 0;
    /* the kernel takes the id asked for, in the restore mode */
    if (prctl (PR_TIMER_CREATE_RESTORE_IDS_, 1, 0, 0, 0) == 0) {
        for (uint32_t i = 0; i < p->n_timers; i++) {
            int id = (int) p->timers[i].id;
            if (timer_new (&p->timers[i], &id) || id != (int) p->timers[i].id) {
                snprintf (err, errlen, "POSIX timer %u cannot be made again: %s", p->timers[i].id,
                          strerror (errno));
                return -1;
            }
        }
        prctl (PR_TIMER_CREATE_RESTORE_IDS_, 0, 0, 0, 0);
        return 0;
    }
    /* else a new process gets its ids in turn: timers made (and kept,
       then deleted) until each wanted one comes up */
    int fill[256], n_fill = 0, rc = 0;
    for (uint32_t i = 0; i < p->n_timers && !rc; i++) {
        for (;;) {
            int id = -1;
            if (timer_new (&p->timers[i], &id)) {
                snprintf (err, errlen, "POSIX timer %u cannot be made again: %s", p->timers[i].id,
                          strerror (errno));
                rc = -1;
                break;
            }
            if (id == (int) p->timers[i].id)
                break;
            if (id > (int) p->timers[i].id || n_fill == 256) {
                syscall (SYS_timer_delete, id);
                snprintf (err, errlen,
                          "POSIX timer %u cannot have its id again on this kernel (it gives %d)",
                          p->timers[i].id, id);
                rc = -1;
                break;
            }
            fill[n_fill++] = id;
        }
    }
    for (int i = 0; i < n_fill; i++)
        syscall (SYS_timer_delete, fill[i]);
    return rc;
}

void kobj_timers_arm (const img_proc_t *p)
{
    for (uint32_t i = 0; i < p->n_timers; i++) {
        const img_ptimer_t *t = &p->timers[i];
        struct itimerspec its = { { (time_t) t->interval_sec, (long) t->interval_nsec },
                                  { (time_t) t->value_sec, (long) t->value_nsec } };
        syscall (SYS_timer_settime, (int) t->id, 0, &its, NULL);
    }
}
