/*  capture.c -- the shim's side of a checkpoint (capture.h says how it
    goes; ckpt_proto.h is the contract with the host; glunix-image(5)
    the image).

    Everything here runs inside a signal handler, in a process whose
    other threads may hold any of libc's locks, or in the raw fork of
    such a process: only system calls (through libc's wrappers, which
    Syscall User Dispatch lets through), the stack, static memory and
    mmap.  No malloc, no stdio, no opendir. */
#include "capture.h"
#include "capture_impl.h"

#include "ckpt_proto.h"
#include "fd.h"
#include "image.h"
#include "kobj.h"
#include "pidmap.h"
#include "resume.h"
#include "str.h"
#include "tree.h"
#include "unixsock.h"

#include <dlfcn.h>
#include <linux/magic.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <lz4.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define FILES_MAX  256  /* regular files a checkpoint carries */
#define KOBJS_MAX  256  /* eventfds, timerfds, signalfds, epoll instances (kobj.h) */
#define USOCKS_MAX 256  /* ends of the job's unix socket pairs (unixsock.h) */
#define SHM_MAX    1024 /* shared mappings a process may have */

/* ---- the registers: a setjmp of our own ------------------------------------------------- */

/* Saves the registers a call keeps and returns 0; returns again, with
   the restorer's ckpt_resume_t, in a restored process.  Not glibc's
   setjmp: its pointer mangling and its longjmp are not ours to call
   from the restorer. */
uintptr_t ckpt_save (ckpt_ctx_t *c) __attribute__ ((returns_twice, visibility ("hidden")));
__asm__(".text\n"
        ".globl ckpt_save\n"
        ".hidden ckpt_save\n"
        ".type ckpt_save, @function\n"
        "ckpt_save:\n"
        "    mov %rbx, 0(%rdi)\n"
        "    mov %rbp, 8(%rdi)\n"
        "    mov %r12, 16(%rdi)\n"
        "    mov %r13, 24(%rdi)\n"
        "    mov %r14, 32(%rdi)\n"
        "    mov %r15, 40(%rdi)\n"
        "    lea 8(%rsp), %rax\n"
        "    mov %rax, 48(%rdi)\n"
        "    mov (%rsp), %rax\n"
        "    mov %rax, 56(%rdi)\n"
        "    stmxcsr 64(%rdi)\n"
        "    fnstcw 68(%rdi)\n"
        "    xor %eax, %eax\n"
        "    ret\n"
        ".size ckpt_save, .-ckpt_save\n");

/* ---- state ---------------------------------------------------------------------------------- */

typedef struct {
    int tid;
    int flags; /* IMG_T_* */
    ckpt_ctx_t ctx;
    uint64_t fs, robust, robust_len, pending;
    bool bad_layout; /* glibc's tid word is not where the shim found it */
} slot_t;

static struct {
    bool on;
    char sock[108];
    char gpid[64];
    pid_t vpid, vppid, real_pid;
    bool restored;
    uint64_t stream[3][2]; /* st_dev, st_ino of 0, 1, 2 at the start */
    bool stream_ok[3];
    long tid_off; /* glibc's tid word from the thread pointer; -1 unknown */
    void (*rearm) (void);
    void **curbrk;
    pid_t child; /* the last snapshot's writer, to reap */
    bool pack;   /* compress pages (GLUNIX_CKPT_COMPRESS=0: raw) */
    int (*real_sigaction) (int, const struct sigaction *, struct sigaction *);
} ck = { .tid_off = -1 };

static slot_t slots[IMG_MAX_THREADS];
static int n_slots;
static atomic_uint parked, gen;
static atomic_int busy;
static atomic_int parking; /* threads are being stopped: a park signal now is for real */

/* Read by the coordinator with every thread parked, for the writer:
   what a fork does not pass on, and what must be read before the job
   runs again. */
static struct {
    struct itimerval itimer[3];
    uint64_t shared_pending;
    int n_files;
    struct {
        int fd;
        int64_t pos;
        struct stat st;
    } files[FILES_MAX];
    int sock, pipe_rd; /* left out of the image */
    int n_pipes;       /* pipes that held bytes: a copy of them (tee) in a pipe of ours */
    struct {
        uint64_t ino;
        int rd;
        uint32_t n;
    } pipes[64];
    /* the bytes the job's stdin pipe still holds and its stdout and
       stderr pipes hold, for the host (GL_CKPT_GO_ON); held_ok false
       when a stream is not a pipe any of this process's descriptors
       reaches: then the host measures them itself, the job parked */
    uint64_t held[3];
    bool held_ok;
    bool go_on;  /* asked GL_CKPT_GO_ON and held_ok: no answer awaited */
    int n_kobjs; /* eventfds, timerfds, signalfds, epolls: their state (kobj.h) */
    struct {
        int fd;
        uint64_t pos, fsize;
        uint32_t data_off, data_len;
    } kobjs[KOBJS_MAX];
    uint32_t kdata_len;
    char kobj_why[256]; /* why one could not be read, or "" */
    uint32_t n_timers;  /* POSIX timers (kobj.h) */
    img_ptimer_t timers[IMG_MAX_TIMERS];
    int n_usocks; /* the unix sockets that may move: their state and bytes (unixsock.h) */
    struct {
        int fd;
        uint64_t ino, peer;
        uint32_t us, data_off, data_len;
    } usocks[USOCKS_MAX];
    uint32_t udata_len;
    char usock_why[256]; /* why one could not be read, or "" */
} snap;
static uint8_t snap_kdata[1 << 18];      /* their timers and registrations */
static uint8_t snap_udata[IMG_PIPE_MAX]; /* the bytes queued in the sockets, all of them */

/* ---- small helpers, safe in a handler ----------------------------------------------------- */

static long gettid_ (void)
{
    return syscall (SYS_gettid);
}

uint64_t now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void futex_wait (atomic_uint *w, unsigned v, long ns)
{
    struct timespec ts = { ns / 1000000000, ns % 1000000000 };
    syscall (SYS_futex, w, FUTEX_WAIT_PRIVATE, v, ns ? &ts : NULL, NULL, 0);
}

static void futex_wake (atomic_uint *w)
{
    syscall (SYS_futex, w, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static uint64_t thread_pointer (void)
{
    uint64_t tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

void sb_s (sb_t *b, const char *s)
{
    while (*s && b->n + 1 < b->cap)
        b->p[b->n++] = *s++;
    b->p[b->n] = '\0';
}

void sb_u (sb_t *b, uint64_t v)
{
    char d[24];
    int k = 0;
    do
        d[k++] = (char) ('0' + v % 10);
    while ((v /= 10) && k < 23);
    while (k && b->n + 1 < b->cap)
        b->p[b->n++] = d[--k];
    b->p[b->n] = '\0';
}

void sb_x (sb_t *b, uint64_t v)
{
    char d[20];
    int k = 0;
    do
        d[k++] = "0123456789abcdef"[v & 15];
    while ((v >>= 4) && k < 19);
    while (k && b->n + 1 < b->cap)
        b->p[b->n++] = d[--k];
    b->p[b->n] = '\0';
}

static void sb_fd (sb_t *b, int fd)
{
    sb_s (b, "fd ");
    sb_u (b, (uint64_t) fd);
    sb_s (b, ": ");
}

/* A path under /proc/self with a number: "/proc/self/<a><n><z>". */
static void proc_path (char *out, size_t cap, const char *a, uint64_t n, const char *z)
{
    sb_t b = { out, 0, cap };
    sb_s (&b, "/proc/self/");
    sb_s (&b, a);
    sb_u (&b, n);
    sb_s (&b, z);
}

bool write_all (int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send (fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t) k;
    }
    return true;
}

uint64_t parse_num (const char *s, int base, const char **end)
{
    uint64_t v = 0;
    for (;; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        if (d >= base)
            break;
        v = v * (uint64_t) base + (uint64_t) d;
    }
    if (end)
        *end = s;
    return v;
}

/* The numbered entries of a /proc directory, by raw getdents64
   (opendir allocates). */
struct dent64 {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

int list_numbers (const char *dir, int *out, int max, int *dirfd_out)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (dirfd_out)
        *dirfd_out = fd;
    int n = 0;
    char buf[4096] __attribute__ ((aligned (8)));
    for (;;) {
        long k = syscall (SYS_getdents64, fd, buf, sizeof buf);
        if (k <= 0)
            break;
        for (long at = 0; at < k;) {
            struct dent64 *d = (struct dent64 *) (buf + at);
            at += d->reclen;
            if (d->name[0] < '0' || d->name[0] > '9')
                continue;
            if (n == max) {
                close (fd);
                return max + 1;
            }
            out[n++] = (int) parse_num (d->name, 10, NULL);
        }
    }
    close (fd);
    return n;
}

/* ---- judging a descriptor ------------------------------------------------------------------ */

typedef struct {
    int fd;
    char *line;
    size_t cap, n, at;
} lr_t;

/* The next line of a file read in pieces (for /proc/net's long tables). */
static bool lr_next (lr_t *r, char *out, size_t cap)
{
    size_t k = 0;
    for (;;) {
        if (r->at == r->n) {
            ssize_t got = read (r->fd, r->line, r->cap);
            if (got <= 0) {
                out[k] = '\0';
                return k > 0;
            }
            r->n = (size_t) got;
            r->at = 0;
        }
        char c = r->line[r->at++];
        if (c == '\n') {
            out[k] = '\0';
            return true;
        }
        if (k + 1 < cap)
            out[k++] = c;
    }
}

/* The n-th blank-separated field of a line. */
static const char *field (const char *s, int n, size_t *len)
{
    for (int i = 0;; i++) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            return NULL;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        if (i == n) {
            *len = (size_t) (e - s);
            return s;
        }
        s = e;
    }
}

static void sb_ip (sb_t *b, const char *hex, size_t len)
{
    const char *end;
    if (len >= 13 && len < 32) { /* IPv4: a u32 in the host's order, then :port */
        uint64_t a = parse_num (hex, 16, &end);
        for (int i = 0; i < 4; i++) {
            sb_u (b, (a >> (8 * i)) & 0xff);
            if (i < 3)
                sb_s (b, ".");
        }
    }
    else {
        sb_s (b, "[");
        for (int w = 0; w < 4; w++) {
            char word[9];
            memcpy (word, hex + 8 * w, 8);
            word[8] = '\0';
            uint64_t v = parse_num (word, 16, NULL);
            /* bytes in memory order: v's little-endian bytes */
            uint8_t by[4] = { (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16),
                              (uint8_t) (v >> 24) };
            sb_x (b, ((uint64_t) by[0] << 8) | by[1]);
            sb_s (b, ":");
            sb_x (b, ((uint64_t) by[2] << 8) | by[3]);
            if (w < 3)
                sb_s (b, ":");
        }
        sb_s (b, "]");
    }
    const char *colon = memchr (hex, ':', len);
    if (colon) {
        sb_s (b, ":");
        sb_u (b, parse_num (colon + 1, 16, NULL));
    }
}

/* Why the socket with this inode cannot move: found in the tables of
   /proc/self/net, as "a TCP socket to 10.0.0.2:5432". */
static void socket_reason (sb_t *b, uint64_t ino)
{
    static const struct {
        const char *file, *name;
        int ino_field;
    } tabs[] = {
        { "/proc/self/net/tcp", "TCP", 9 },   { "/proc/self/net/tcp6", "TCP", 9 },
        { "/proc/self/net/udp", "UDP", 9 },   { "/proc/self/net/udp6", "UDP", 9 },
        { "/proc/self/net/unix", "unix", 6 },
    };
    char rbuf[4096], line[512];
    for (size_t t = 0; t < sizeof tabs / sizeof tabs[0]; t++) {
        int fd = open (tabs[t].file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        lr_t r = { fd, rbuf, sizeof rbuf, 0, 0 };
        lr_next (&r, line, sizeof line); /* the heading */
        while (lr_next (&r, line, sizeof line)) {
            size_t len;
            const char *f = field (line, tabs[t].ino_field, &len);
            if (!f || parse_num (f, 10, NULL) != ino)
                continue;
            close (fd);
            sb_s (b, "a ");
            sb_s (b, tabs[t].name);
            sb_s (b, " socket");
            if (t >= 4) {
                const char *path = field (line, 7, &len);
                if (path) {
                    sb_s (b, " bound to ");
                    char p[256];
                    gl_strlcpy (p, path, len + 1 < sizeof p ? len + 1 : sizeof p);
                    sb_s (b, p);
                }
                return;
            }
            size_t llen, rlen, slen;
            const char *loc = field (line, 1, &llen), *rem = field (line, 2, &rlen),
                       *st = field (line, 3, &slen);
            bool listening = st && t < 2 && !strncmp (st, "0A", 2);
            const char *rc = rem ? memchr (rem, ':', rlen) : NULL;
            bool unconnected = rc && parse_num (rc + 1, 16, NULL) == 0;
            if (listening || (unconnected && loc)) {
                sb_s (b, listening ? " listening on " : " on ");
                sb_ip (b, loc, llen);
            }
            else if (rem) {
                sb_s (b, " to ");
                sb_ip (b, rem, rlen);
            }
            return;
        }
        close (fd);
    }
    sb_s (b, "a socket (not TCP, UDP or unix)");
}

static bool allowed_device (const char *path)
{
    static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                        "/dev/urandom" };
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
        if (!strcmp (path, devs[i]))
            return true;
    return false;
}

static bool ends_with (const char *s, const char *tail)
{
    size_t a = strlen (s), b = strlen (tail);
    return a >= b && !strcmp (s + a - b, tail);
}

/* A deleted file of /dev/shm or a memfd, by its name in /proc: nobody
   can open it again, so it is the job's memory (a POSIX semaphore or
   shared memory that python's multiprocessing unlinked at once). */
static bool deleted_shm (const char *path)
{
    return ends_with (path, " (deleted)") &&
           (!strncmp (path, "/dev/shm/", 9) || !strncmp (path, "/memfd:", 7));
}

/* Whether a deleted file of /dev/shm (by its name in /proc, inode ino)
   has another name there still, into alias: glibc's sem_open makes a
   semaphore as a temporary file, maps it, links it under its name and
   removes the temporary name, so the mapping reads as deleted while any
   process may open the semaphore.  Such memory is shared with whoever
   opens it, not the job's alone.  By raw getdents64 (opendir allocates). */
static bool shm_alias (const char *path, uint64_t ino, char *alias, size_t len)
{
    if (strncmp (path, "/dev/shm/", 9))
        return false; /* a memfd: never named */
    int fd = open ("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool found = false;
    char buf[4096] __attribute__ ((aligned (8)));
    for (long k; !found && (k = syscall (SYS_getdents64, fd, buf, sizeof buf)) > 0;)
        for (long at = 0; at < k && !found;) {
            struct dent64 *d = (struct dent64 *) (buf + at);
            at += d->reclen;
            if (d->ino == ino && d->name[0] != '.') {
                snprintf (alias, len, "/dev/shm/%s", d->name);
                found = true;
            }
        }
    close (fd);
    return found;
}

/* Which shared object: the device and inode of the kernel's file behind
   it, as a descriptor's fstat and a mapping's line of maps name it. */
static uint64_t shm_id (uint64_t major, uint64_t minor, uint64_t ino)
{
    return major << 52 | minor << 32 | (ino & 0xffffffffu);
}

/* Why a descriptor of one of the kernel's anonymous objects (its
   /proc name without "anon_inode:") cannot move: their state lives in
   the kernel and no call sets it back (an inotify's watches, a pidfd's
   process).  Eventfds, timerfds, signalfds and epoll instances move
   (kobj.h). */
static void anon_reason (sb_t *why, const char *name)
{
    static const struct {
        const char *name, *what;
    } kinds[] = {
        { "inotify", "an inotify instance" },
        { "[fanotify]", "a fanotify instance" },
        { "[pidfd]", "a pidfd" },
        { "[io_uring]", "an io_uring" },
        { "[userfaultfd]", "a userfaultfd" },
        { "[perf_event]", "a perf event" },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp (name, kinds[i].name)) {
            sb_s (why, kinds[i].what);
            sb_s (why, " (kernel objects of this kind do not move)");
            return;
        }
    sb_s (why, "an anonymous kernel object (");
    sb_s (why, name);
    sb_s (why, ") that does not move");
}

/* Whether fd is a file or directory of a process's own in procfs
   (/proc/self/status reads as /proc/PID/status): opened again by its
   path after a restore, it would be another process's, or none. */
static bool of_a_process (int fd, const char *path)
{
    struct statfs fs;
    const char *rest = path + 6;
    return !strncmp (path, "/proc/", 6) && *rest >= '0' && *rest <= '9' && !fstatfs (fd, &fs) &&
           fs.f_type == PROC_SUPER_MAGIC;
}

/* Whether fd is a POSIX message queue (mq_open): a regular file to
   fstat, named in /proc by its name in the queues' own file system
   ("/jobs"), so opened again by that path after a restore it would be
   some file of that name, or none.  The kernel names the file system's
   magic only in its source (ipc/mqueue.c). */
#define MQUEUE_SUPER_MAGIC 0x19800202
static bool a_message_queue (int fd)
{
    struct statfs fs;
    return !fstatfs (fd, &fs) && fs.f_type == MQUEUE_SUPER_MAGIC;
}

/* What fd is, into f (path, flags, stream), or -1 with the reason in
   why: the judgement the probe, the checkpoint and the writer share. */
static int judge_fd (int fd, img_fd_t *f, sb_t *why)
{
    char p[64], info[1024];
    memset (f, 0, offsetof (img_fd_t, path));
    f->path[0] = '\0';
    f->data = NULL;
    f->data_len = 0;
    f->fd = (uint32_t) fd;
    proc_path (p, sizeof p, "fd/", (uint64_t) fd, "");
    ssize_t k = readlink (p, f->path, IMG_PATH_MAX - 1);
    struct stat st;
    if (k < 0 || fstat (fd, &st)) {
        sb_fd (why, fd);
        /* closed since the list was read: a process not parked yet (a
           tree's member being judged) goes on */
        sb_s (why, errno == ENOENT || errno == EBADF ? "was closed while the checkpoint was taken: "
                                                       "try again"
                                                     : "cannot be read in /proc");
        return -1;
    }
    f->path[k] = '\0';
    proc_path (p, sizeof p, "fdinfo/", (uint64_t) fd, "");
    if (gl_read_file (p, info, sizeof info) > 0) {
        const char *s = strstr (info, "pos:");
        if (s)
            f->pos = parse_num (s + 4 + strspn (s + 4, " \t"), 10, NULL);
        s = strstr (info, "flags:");
        if (s)
            f->flags = (uint32_t) parse_num (s + 6 + strspn (s + 6, " \t"), 8, NULL);
    }
    /* a lock the process holds through fd (fcntl, lockf, flock): the
       restored process would not hold it, and another could take it
       while the job believes it holds it */
    const char *lock = strstr (info, "\nlock:");
    if (lock) {
        lock += 6 + strspn (lock + 6, " \t");
        lock += strcspn (lock, " \t"); /* its number */
        lock += strspn (lock, " \t");
        sb_fd (why, fd);
        sb_s (why, "a lock on ");
        sb_s (why, f->path);
        sb_s (why, !strncmp (lock, "FLOCK", 5) ? " (flock" : " (fcntl or lockf");
        sb_s (why, "; a lock does not move: another process could take it meanwhile)");
        return -1;
    }
    f->flags &= ~(uint32_t) O_CLOEXEC;
    int fdf = fcntl (fd, F_GETFD);
    f->cloexec = fdf >= 0 && (fdf & FD_CLOEXEC);
    f->fsize = (uint64_t) st.st_size;
    f->mtime_sec = (uint64_t) st.st_mtim.tv_sec;
    f->mtime_nsec = (uint32_t) st.st_mtim.tv_nsec;
    int order[3] = { 0, 1, 2 }; /* its own number first: 1 and 2 may be one pty */
    if (fd <= 2) {
        order[0] = fd;
        order[fd] = 0;
    }
    for (int s = 0; s < 3; s++) {
        int i = order[s];
        if (ck.stream_ok[i] && ck.stream[i][0] == (uint64_t) st.st_dev &&
            ck.stream[i][1] == (uint64_t) st.st_ino) {
            f->kind = IMG_F_STREAM;
            f->stream = (uint32_t) i;
            return 0;
        }
    }
    if ((S_ISREG (st.st_mode) || S_ISDIR (st.st_mode)) && of_a_process (fd, f->path)) {
        sb_fd (why, fd);
        sb_s (why, f->path);
        sb_s (why, " describes a process by its id, which is not the same after a move");
        return -1;
    }
    if (S_ISREG (st.st_mode) && a_message_queue (fd)) {
        sb_fd (why, fd);
        sb_s (why, "the POSIX message queue ");
        sb_s (why, f->path);
        sb_s (why, " (kernel objects of this kind do not move)");
        return -1;
    }
    if (S_ISREG (st.st_mode) && deleted_shm (f->path) && st.st_nlink > 0) {
        sb_fd (why, fd);
        sb_s (why, f->path);
        sb_s (why, " has another name still: memory others may open, not the job's alone");
        return -1;
    }
    if (S_ISREG (st.st_mode) && deleted_shm (f->path) && st.st_size <= (off_t) IMG_PIPE_MAX &&
        (fcntl (fd, F_GET_SEALS) & ~F_SEAL_SEAL) == 0) { /* moves with its bytes */
        f->kind = IMG_F_SHMFD;
        f->mtime_sec = shm_id (major (st.st_dev), minor (st.st_dev), (uint64_t) st.st_ino);
        f->mtime_nsec = 0;
        return 0;
    }
    if (S_ISREG (st.st_mode)) {
        if (f->path[0] != '/' || ends_with (f->path, " (deleted)")) {
            sb_fd (why, fd);
            sb_s (why, !strncmp (f->path, "/memfd:", 7) ? "a memfd (" : "a deleted file (");
            sb_s (why, f->path);
            sb_s (why, ")");
            return -1;
        }
        f->kind = IMG_F_FILE;
        return 0;
    }
    if (S_ISDIR (st.st_mode)) {
        if (f->pos != 0) {
            sb_fd (why, fd);
            sb_s (why, "the directory ");
            sb_s (why, f->path);
            sb_s (why, " is being read (its position does not move)");
            return -1;
        }
        f->kind = IMG_F_DIR;
        return 0;
    }
    if (S_ISCHR (st.st_mode) && allowed_device (f->path)) {
        f->kind = IMG_F_DEV;
        return 0;
    }
    if (S_ISFIFO (st.st_mode) && !strncmp (f->path, "pipe:[", 6) &&
        (f->flags & O_ACCMODE) != O_RDWR) { /* whether its other end is ours: judge() */
        f->kind = IMG_F_PIPE;
        f->fsize = (uint64_t) st.st_ino;
        int cap = fcntl (fd, F_GETPIPE_SZ);
        f->pos = cap > 0 ? (uint64_t) cap : 65536;
        return 0;
    }
    uint32_t kind = kobj_kind (f->path);
    if (kind) { /* its state is read by judge() and at the snapshot (note_process) */
        f->kind = kind;
        f->fsize = (uint64_t) st.st_ino; /* which object: judge() pairs them */
        return 0;
    }
    if (S_ISSOCK (st.st_mode)) { /* a unix socket pair's end, or what it is */
        bool not_unix = false;
        char uwhy[256];
        if (!usock_judge (fd, (uint64_t) st.st_ino, f, &not_unix, uwhy, sizeof uwhy))
            return 0;
        if (!not_unix) {
            sb_s (why, uwhy);
            return -1;
        }
    }
    sb_fd (why, fd);
    if (S_ISSOCK (st.st_mode)) {
        const char *b = strchr (f->path, '[');
        socket_reason (why, b ? parse_num (b + 1, 10, NULL) : 0);
    }
    else if (S_ISFIFO (st.st_mode)) {
        sb_s (why, "the FIFO ");
        sb_s (why, f->path);
    }
    else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode)) {
        sb_s (why, "the device ");
        sb_s (why, f->path);
    }
    else if (!strncmp (f->path, "anon_inode:", 11))
        anon_reason (why, f->path + 11);
    else {
        sb_s (why, "an object of an unknown kind (");
        sb_s (why, f->path);
        sb_s (why, ")");
    }
    return -1;
}

/* Whether no process holds the other end of the pipe that fd is an end
   of any more: make gives its jobs a read end whose writer it closed,
   and a pipeline's reader outlives its writer with bytes still in the
   pipe.  Such an end moves alone, and is restored as a pipe whose other
   end is closed: the same bytes, then end of file (or EPIPE). */
static bool pipe_widowed (int fd, int accmode)
{
    struct pollfd p = { .fd = fd, .events = accmode == O_RDONLY ? POLLIN : POLLOUT };
    if (poll (&p, 1, 0) != 1)
        return false;
    return (p.revents & (accmode == O_RDONLY ? POLLHUP : POLLERR)) != 0;
}

/* ---- judging a mapping ------------------------------------------------------------------------ */

/* One line of /proc/self/maps into v, or -1 with the reason; 1: left
   out ([vsyscall]). */
static int judge_vma (const char *line, img_vma_t *v, sb_t *why)
{
    const char *s = line;
    memset (v, 0, offsetof (img_vma_t, path));
    v->path[0] = '\0';
    v->start = parse_num (s, 16, &s);
    v->end = parse_num (s + 1, 16, &s);
    s++;
    char perm[4] = { s[0], s[1], s[2], s[3] };
    v->prot = (perm[0] == 'r' ? PROT_READ : 0) | (perm[1] == 'w' ? PROT_WRITE : 0) |
              (perm[2] == 'x' ? PROT_EXEC : 0);
    bool shared = perm[3] == 's';
    s += 5;
    v->offset = parse_num (s, 16, &s);
    uint64_t major = parse_num (s + 1, 16, &s), minor = parse_num (s + 1, 16, &s);
    uint64_t ino = parse_num (s + (*s == ' '), 10, &s);
    while (*s == ' ')
        s++;
    gl_strlcpy (v->path, s, IMG_PATH_MAX);
    /* shared memory: which object (the device and inode of the kernel's
       file behind it), so that a tree's processes that share it share
       it again after a restore (tree.c, restore_tree.c) */
    uint64_t id = shared ? shm_id (major, minor, ino) : 0;
    if (!v->path[0]) {
        v->kind = shared ? IMG_V_SHANON : IMG_V_ANON;
        v->fsize = id;
        return 0;
    }
    if (!strcmp (v->path, "[vsyscall]"))
        return 1;
    if (!strcmp (v->path, "[vdso]") || !strncmp (v->path, "[vvar", 5)) {
        v->kind = IMG_V_SPECIAL;
        return 0;
    }
    if (!strcmp (v->path, "[heap]") || !strncmp (v->path, "[anon:", 6)) {
        v->kind = IMG_V_ANON;
        v->path[0] = '\0';
        return 0;
    }
    char alias[128];
    if (shared && deleted_shm (v->path) && shm_alias (v->path, ino, alias, sizeof alias)) {
        sb_s (why, "the mapping at 0x");
        sb_x (why, v->start);
        sb_s (why, ": shared memory that ");
        sb_s (why, alias);
        sb_s (why, " names (a POSIX semaphore or shared memory others may open)");
        return -1;
    }
    /* a file of /dev/shm or a memfd, deleted, mapped shared: the job's
       memory like a shared anonymous mapping, and made again as one (or
       as the memfd a descriptor of it is made again as) */
    if (!strncmp (v->path, "[anon_shmem:", 12) || !strcmp (v->path, "/dev/zero (deleted)") ||
        (shared && deleted_shm (v->path))) {
        v->kind = IMG_V_SHANON;
        v->fsize = id;
        v->path[0] = '\0';
        return 0;
    }
    if (!strcmp (v->path, "[stack]")) {
        v->kind = IMG_V_STACK;
        v->path[0] = '\0';
        return 0;
    }
    size_t mark = why->n; /* the reason's start, taken back if none */
    sb_s (why, "the mapping at 0x");
    sb_x (why, v->start);
    sb_s (why, ": ");
    if (v->path[0] != '/') {
        sb_s (why, v->path);
        sb_s (why, " is of a kind that does not move");
        return -1;
    }
    if (!strncmp (v->path, "/SYSV", 5)) {
        sb_s (why, "System V shared memory");
        return -1;
    }
    if (ends_with (v->path, " (deleted)")) {
        sb_s (why, !strncmp (v->path, "/memfd:", 7) ? "a memfd (" : "a deleted file (");
        sb_s (why, v->path);
        sb_s (why, ")");
        return -1;
    }
    struct stat st;
    if (stat (v->path, &st) || !S_ISREG (st.st_mode) || st.st_ino != ino) {
        sb_s (why, S_ISCHR (st.st_mode) ? "the device " : "the file ");
        sb_s (why, v->path);
        sb_s (why, S_ISCHR (st.st_mode) ? " is mapped" : " is not the one mapped any more");
        return -1;
    }
    if (shared && (v->prot & PROT_WRITE)) {
        sb_s (why, "a shared writable mapping of ");
        sb_s (why, v->path);
        sb_s (why, " (memory shared with other processes)");
        return -1;
    }
    why->n = mark;
    why->p[mark] = '\0';
    v->kind = shared ? IMG_V_FILE_RO : IMG_V_FILE;
    v->fsize = (uint64_t) st.st_size;
    v->mtime_sec = (uint64_t) st.st_mtim.tv_sec;
    v->mtime_nsec = (uint32_t) st.st_mtim.tv_nsec;
    return 0;
}

/* ---- judging the process ---------------------------------------------------------------------- */

static int task_list (int *tids, int max)
{
    return list_numbers ("/proc/self/task", tids, max, NULL);
}

/* Judges every descriptor, mapping, thread and child: 0 movable, or -1
   with the first reason.  skip: a descriptor of the checkpoint's own.
   tree: a process of a tree (tree.h), whose children are the tree's and
   whose pipe ends and shared memory are noted for the root to judge. */
static int judge (sb_t *why, int skip, bool tree)
{
    tree_note_reset ();
    static int tids[IMG_MAX_THREADS + 1];
    static img_fd_t f;
    static img_vma_t v;
    static char line[IMG_PATH_MAX + 256];
    int n = task_list (tids, IMG_MAX_THREADS);
    if (n < 0 || n > IMG_MAX_THREADS) {
        sb_s (why, n < 0 ? "/proc/self/task cannot be read" : "more than 1024 threads");
        return -1;
    }
    char p[64], buf[64];
    for (int i = 0; i < n && !tree; i++) {
        proc_path (p, sizeof p, "task/", (uint64_t) tids[i], "/children");
        if (gl_read_file (p, buf, sizeof buf) > 0) {
            /* not a tree (tree.c found no child of the program's): the
               writer of the last checkpoint's image, still at work, or a
               child forked since */
            sb_s (why, "a child process that the checkpoint cannot take now (the writer of "
                       "the last image, or one just forked: ");
            sb_s (why, buf);
            while (why->n && why->p[why->n - 1] == ' ')
                why->p[--why->n] = '\0';
            sb_s (why, "): try again");
            return -1;
        }
    }
    static int fds[IMG_MAX_FDS + 1];
    int dfd = -1;
    int nf = list_numbers ("/proc/self/fd", fds, IMG_MAX_FDS, &dfd);
    if (nf < 0 || nf > IMG_MAX_FDS) {
        sb_s (why, nf < 0 ? "/proc/self/fd cannot be read" : "more than 65536 descriptors");
        return -1;
    }
    int files = 0, n_pipes = 0, n_kobjs = 0, n_socks = 0;
    static struct {
        uint64_t ino;
        int fd, mode;
    } pipes[IMG_MAX_FDS], kobjs[KOBJS_MAX];
    static struct {
        uint64_t ino, peer;
        int fd;
    } socks[USOCKS_MAX];
    for (int i = 0; i < nf; i++) {
        if (fds[i] == skip || fds[i] == dfd)
            continue;
        if (judge_fd (fds[i], &f, why))
            return -1;
        if (f.kind == IMG_F_FILE && ++files > FILES_MAX) {
            sb_s (why, "more than 256 open regular files");
            return -1;
        }
        if (IMG_F_IS_KOBJ (f.kind)) { /* each made again alone: one descriptor each */
            static uint8_t state[sizeof snap_kdata];
            img_fd_t kf;
            char kwhy[256];
            if (kobj_read (fds[i], f.kind, &kf, state, sizeof state, kwhy, sizeof kwhy)) {
                sb_s (why, kwhy);
                return -1;
            }
            for (int k = 0; k < n_kobjs; k++)
                if (kobj_same (0, kobjs[k].fd, 0, fds[i])) {
                    sb_fd (why, fds[i]);
                    sb_s (why, "the same kernel object as fd ");
                    sb_u (why, (uint64_t) kobjs[k].fd);
                    sb_s (why, " (a duplicate), which does not move shared");
                    return -1;
                }
            if (n_kobjs == KOBJS_MAX) {
                sb_s (why, "more than 256 eventfds, timerfds, signalfds and epoll instances");
                return -1;
            }
            kobjs[n_kobjs].ino = f.fsize;
            kobjs[n_kobjs++].fd = fds[i];
            if (tree)
                tree_note_kobj (fds[i]);
        }
        if (f.kind == IMG_F_USOCK && n_socks == USOCKS_MAX) {
            sb_s (why, "more than 256 unix sockets");
            return -1;
        }
        if (f.kind == IMG_F_USOCK && f.pos && tree) /* a peer in another process, maybe */
            tree_note_usock (fds[i], f.fsize, f.pos);
        else if (f.kind == IMG_F_USOCK && f.pos) /* a peer closed (0) moves alone */
        {
            socks[n_socks].ino = f.fsize;
            socks[n_socks].peer = f.pos;
            socks[n_socks++].fd = fds[i];
        }
        if (f.kind == IMG_F_PIPE && pipe_widowed ((int) f.fd, (int) (f.flags & O_ACCMODE)))
            continue; /* nothing to pair it with: it moves alone */
        if (f.kind == IMG_F_PIPE && tree)
            tree_note_pipe ((int) f.fd, f.fsize, (int) (f.flags & O_ACCMODE));
        else if (f.kind == IMG_F_PIPE) {
            pipes[n_pipes].ino = f.fsize;
            pipes[n_pipes].fd = (int) f.fd;
            pipes[n_pipes++].mode = (int) (f.flags & O_ACCMODE);
        }
    }
    for (int i = 0; i < n_pipes; i++) { /* both ends here, or it leads elsewhere */
        int j = 0;
        while (j < n_pipes && !(pipes[j].ino == pipes[i].ino && pipes[j].mode != pipes[i].mode))
            j++;
        if (j == n_pipes) {
            sb_fd (why, pipes[i].fd);
            sb_s (why, "a pipe to another process");
            return -1;
        }
    }
    for (int i = 0; i < n_socks; i++) { /* its peer here, or in another process */
        int j = 0;
        while (j < n_socks && socks[j].ino != socks[i].peer)
            j++;
        if (j == n_socks) {
            sb_fd (why, socks[i].fd);
            sb_s (why, "a unix socket connected to another process");
            return -1;
        }
    }
    int fd = open ("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sb_s (why, "/proc/self/maps cannot be read");
        return -1;
    }
    char rbuf[4096];
    lr_t r = { fd, rbuf, sizeof rbuf, 0, 0 };
    int rc = 0;
    /* shared memory mapped twice over the same part of its object: each
       mapping would be made again as an object of its own */
    static struct {
        uint64_t id, off, end, start;
    } shm[SHM_MAX];
    int n_shm = 0;
    while (rc == 0 && lr_next (&r, line, sizeof line)) {
        rc = judge_vma (line, &v, why) < 0 ? -1 : 0;
        size_t len;
        const char *ino = field (line, 4, &len);
        if (rc == 0 && tree && v.kind == IMG_V_SHANON && ino) /* shared with whom: the root's */
            tree_note_shm (v.fsize, v.start, v.end);
        if (rc || v.kind != IMG_V_SHANON || !v.fsize)
            continue;
        for (int k = 0; k < n_shm; k++)
            if (shm[k].id == v.fsize && shm[k].off < v.offset + (v.end - v.start) &&
                v.offset < shm[k].end) {
                sb_s (why, "the same shared memory mapped twice, at 0x");
                sb_x (why, shm[k].start);
                sb_s (why, " and at 0x");
                sb_x (why, v.start);
                sb_s (why, " (the two would be apart after a move)");
                rc = -1;
            }
        if (rc == 0 && n_shm == SHM_MAX) {
            sb_s (why, "more than 1024 shared mappings");
            rc = -1;
        }
        if (rc == 0) {
            shm[n_shm].id = v.fsize;
            shm[n_shm].off = v.offset;
            shm[n_shm].end = v.offset + (v.end - v.start);
            shm[n_shm++].start = v.start;
        }
    }
    close (fd);
    if (rc)
        return -1;
    static img_ptimer_t timers[IMG_MAX_TIMERS];
    uint32_t n_timers;
    char twhy[256];
    if (kobj_timers (timers, &n_timers, twhy, sizeof twhy)) {
        sb_s (why, twhy);
        return -1;
    }
    return 0;
}

/* ---- the host's socket --------------------------------------------------------------------- */

static int host_connect (void)
{
    int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    gl_strlcpy (a.sun_path, ck.sock, sizeof a.sun_path);
    if (connect (s, (struct sockaddr *) &a, sizeof a)) {
        close (s);
        return -1;
    }
    return s;
}

void say (int s, const char *w, const char *rest)
{
    char line[GL_CKPT_LINE_MAX];
    sb_t b = { line, 0, sizeof line - 1 };
    sb_s (&b, w);
    if (rest) {
        sb_s (&b, " ");
        for (const char *c = rest; *c && b.n + 2 < b.cap; c++) /* one line */
            line[b.n++] = *c == '\n' ? ' ' : *c;
    }
    line[b.n++] = '\n';
    write_all (s, line, b.n);
}

/* The host's answer: 'G' (GO), 'H' (HOLD), or 0 when it closed or said
   something else, or did not answer in time (then the job goes on). */
static char hear (int s)
{
    char line[64];
    size_t n = 0;
    for (;;) {
        struct pollfd p = { s, POLLIN, 0 };
        int k = poll (&p, 1, 60000);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        ssize_t got = read (s, line + n, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        if (line[n] == '\n' || ++n == sizeof line - 1)
            break;
    }
    line[n] = '\0';
    return !strcmp (line, "GO") ? 'G' : !strcmp (line, "HOLD") ? 'H' : 0;
}

/* ---- the image's writer (in the fork) ---------------------------------------------------------- */

#define OUT_CAP   (4u << 20)
#define MAPS_CAP  (32u << 20)
#define PATHS_CAP (16u << 20)

typedef struct {
    uint64_t start, end, offset, fsize, mtime_sec;
    uint32_t prot, kind, flags, mtime_nsec, path_off;
} cvma_t;

typedef struct {
    int sock;
    uint8_t *out;
    size_t n;
    void *lz4;
    img_enc_t enc;
    bool dead;
    uint8_t *arena;
    size_t arena_len;
    char *maps, *paths;
    size_t paths_n;
    cvma_t *vmas;
    int n_vmas;
    img_fd_t *fds_scratch;
    int *fds;
    int n_fds;
    img_vma_t *v;
    img_proc_t *proc;
    uint8_t *pipe_buf; /* IMG_PIPE_MAX */
    int pagemap;
} wr_t;

static void wr_flush (wr_t *w)
{
    if (!w->dead && w->n && !write_all (w->sock, w->out, w->n))
        w->dead = true;
    w->n = 0;
}

/* Room for a record of up to need bytes. */
static uint8_t *wr_room (wr_t *w, size_t need)
{
    if (OUT_CAP - w->n < need)
        wr_flush (w);
    return w->out + w->n;
}

static void wr_fail (wr_t *w, const char *why)
{
    size_t k = img_put_fail (&w->enc, why, wr_room (w, IMG_PATH_MAX + 64), IMG_PATH_MAX + 64);
    w->n += k;
    wr_flush (w);
    shutdown (w->sock, SHUT_WR);
    syscall (SYS_exit_group, 1);
}

static uint64_t xcr0 (void)
{
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27))) /* no OSXSAVE */
        return 0;
    __asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    return ((uint64_t) d << 32) | a;
}

/* The kernel's layout of the process (image.h, IMG_MM_*): fields 26-28
   and 45-51 of /proc/self/stat, the fork's, which has the process's
   layout, and its break; all 0 when they cannot be read. */
static void wr_layout (uint64_t *mm)
{
    static const int field[IMG_NMM] = { 26, 27, 45, 46, 47, 0, 28, 48, 49, 50, 51 };
    char buf[2048];
    const char *s =
        gl_read_file ("/proc/self/stat", buf, sizeof buf) > 0 ? strrchr (buf, ')') : NULL;
    if (!s)
        return;
    uint64_t f[52] = { 0 };
    s += 2; /* past ") ", where field 3 begins */
    for (int k = 3; k < 52 && *s; k++) {
        f[k] = parse_num (s, 10, &s); /* 0 for a letter or a negative number: unused */
        s += strcspn (s, " ");
        s += *s == ' ';
    }
    if (!f[51])
        return;
    for (int i = 0; i < IMG_NMM; i++)
        mm[i] = field[i] ? f[field[i]] : (uint64_t) syscall (SYS_brk, 0);
}

/* A thread's name, from the process's /proc (the writer is a fork,
   without the other threads): "" when it cannot be read. */
static void thread_name (pid_t tid, char *out)
{
    char p[80], buf[IMG_NAME_MAX + 2];
    sb_t b = { p, 0, sizeof p };
    sb_s (&b, "/proc/");
    sb_u (&b, (uint64_t) ck.real_pid);
    sb_s (&b, "/task/");
    sb_u (&b, (uint64_t) tid);
    sb_s (&b, "/comm");
    ssize_t n = gl_read_file (p, buf, sizeof buf);
    memset (out, 0, IMG_NAME_MAX);
    if (n > 0 && buf[n - 1] == '\n')
        memcpy (out, buf, (size_t) n - 1 < IMG_NAME_MAX - 1 ? (size_t) n - 1 : IMG_NAME_MAX - 1);
}

static void wr_proc (wr_t *w)
{
    img_proc_t *p = w->proc;
    memset (p, 0, sizeof *p);
    p->vpid = (uint32_t) ck.vpid;
    p->vppid = (uint32_t) ck.vppid;
    mode_t m = umask (0);
    umask (m);
    p->umask = m;
    p->n_threads = (uint32_t) n_slots;
    p->n_vmas = (uint32_t) w->n_vmas;
    p->n_fds = (uint32_t) w->n_fds;
    p->xcr0 = xcr0 ();
    for (int i = 0; i < IMG_NRLIMIT; i++) {
        struct rlimit r;
        if (prlimit (0, (__rlimit_resource_t) i, NULL, &r) == 0) {
            p->rlim[i][0] = r.rlim_cur;
            p->rlim[i][1] = r.rlim_max;
        }
    }
    for (int i = 0; i < 3; i++) {
        const struct itimerval *t = &snap.itimer[i];
        p->itimer[i][0] = (uint64_t) t->it_interval.tv_sec;
        p->itimer[i][1] = (uint64_t) t->it_interval.tv_usec;
        p->itimer[i][2] = (uint64_t) t->it_value.tv_sec;
        p->itimer[i][3] = (uint64_t) t->it_value.tv_usec;
    }
    for (int s = 1; s <= IMG_NSIG; s++) {
        uint64_t k[4] = { 0 };
        if (s != SIGKILL && s != SIGSTOP)
            syscall (SYS_rt_sigaction, s, NULL, k, 8);
        /* the kernel's order: handler, flags, restorer, mask */
        memcpy (p->sigact[s - 1], k, sizeof k);
    }
    wr_layout (p->mm);
    if (snap.kobj_why[0])
        wr_fail (w, snap.kobj_why);
    p->n_timers = snap.n_timers;
    memcpy (p->timers, snap.timers, sizeof snap.timers);
    ssize_t k = readlink ("/proc/self/cwd", p->cwd, sizeof p->cwd - 1);
    if (k <= 0)
        wr_fail (w, "the working directory cannot be read");
    p->cwd[k] = '\0';
    if (ends_with (p->cwd, " (deleted)"))
        wr_fail (w, "the working directory was deleted");
    w->n += img_put_proc (&w->enc, p, wr_room (w, sizeof *p + 64), sizeof *p + 64);
}

static void wr_threads (wr_t *w)
{
    for (int i = 0; i < n_slots; i++) {
        const slot_t *s = &slots[i];
        img_thread_t t = { 0 };
        t.tid = (uint32_t) s->tid;
        t.flags = (uint32_t) s->flags | (s->tid == ck.real_pid ? IMG_T_LEADER : 0);
        t.fs = s->fs;
        memcpy (t.reg, s->ctx.reg, sizeof t.reg);
        t.mxcsr = s->ctx.mxcsr;
        t.fpucw = s->ctx.fpucw;
        t.tid_addr = s->fs + (uint64_t) ck.tid_off;
        t.robust = s->robust;
        t.robust_len = s->robust_len;
        if (__rseq_size > 0) {
            t.rseq = s->fs + (uint64_t) __rseq_offset;
            t.rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
            t.rseq_sig = RSEQ_SIG;
        }
        t.pending = s->pending;
        thread_name (s->tid, t.name);
        w->n += img_put_thread (&w->enc, &t, wr_room (w, 512), 512);
    }
}

/* The advice for huge pages in a VmFlags line of smaps: "hg"
   (MADV_HUGEPAGE) or "nh" (MADV_NOHUGEPAGE), as IMG_VF_*. */
static uint32_t huge_advice (const char *line)
{
    uint32_t f = 0;
    for (const char *t = line + 8; *t; t++)
        if (t[-1] == ' ' && t[0] && t[1] && (t[2] == ' ' || !t[2])) {
            if (t[0] == 'h' && t[1] == 'g')
                f = IMG_VF_HUGE;
            else if (t[0] == 'n' && t[1] == 'h')
                f = IMG_VF_NOHUGE;
        }
    return f;
}

/* The mappings, judged again in the fork (one may have come since the
   probe), less the writer's own arena.  From smaps rather than maps:
   its VmFlags line says which were advised to use huge pages (or not
   to), which the restorer does again (the kernel keeps that advice in
   the mapping, outside memory).  Reading smaps walks the page tables:
   here, in the fork, while the job runs. */
static void wr_scan_vmas (wr_t *w)
{
    int fd = open ("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        wr_fail (w, "/proc/self/smaps cannot be read");
    char rbuf[4096];
    static char line[IMG_PATH_MAX + 256];
    lr_t r = { fd, rbuf, sizeof rbuf, 0, 0 };
    char whyb[512];
    cvma_t *last = NULL; /* the mapping the lines after its own are about */
    while (lr_next (&r, line, sizeof line)) {
        if (!((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))) {
            if (last && !strncmp (line, "VmFlags:", 8))
                last->flags = huge_advice (line);
            continue;
        }
        last = NULL;
        sb_t why = { whyb, 0, sizeof whyb };
        int rc = judge_vma (line, w->v, &why);
        if (rc < 0)
            wr_fail (w, whyb);
        if (rc > 0 || (w->v->start < (uint64_t) (uintptr_t) (w->arena + w->arena_len) &&
                       w->v->end > (uint64_t) (uintptr_t) w->arena))
            continue;
        if (w->n_vmas == IMG_MAX_VMAS)
            wr_fail (w, "more than 65536 mappings");
        cvma_t *c = &w->vmas[w->n_vmas++];
        last = c;
        c->flags = 0;
        c->start = w->v->start;
        c->end = w->v->end;
        c->prot = w->v->prot;
        c->kind = w->v->kind;
        c->offset = w->v->offset;
        c->fsize = w->v->fsize;
        c->mtime_sec = w->v->mtime_sec;
        c->mtime_nsec = w->v->mtime_nsec;
        size_t len = strlen (w->v->path) + 1;
        if (PATHS_CAP - w->paths_n < len)
            wr_fail (w, "the paths of the mappings are too long");
        memcpy (w->paths + w->paths_n, w->v->path, len);
        c->path_off = (uint32_t) w->paths_n;
        w->paths_n += len;
    }
    close (fd);
}

static void wr_scan_fds (wr_t *w)
{
    int dfd = -1;
    int n = list_numbers ("/proc/self/fd", w->fds, IMG_MAX_FDS, &dfd);
    if (n < 0 || n > IMG_MAX_FDS)
        wr_fail (w, "the descriptors cannot be listed");
    int k = 0;
    for (int i = 0; i < n; i++) {
        bool ours = w->fds[i] == dfd || w->fds[i] == snap.sock || w->fds[i] == snap.pipe_rd ||
                    w->fds[i] == w->pagemap || tree_owns_fd (w->fds[i]);
        for (int j = 0; j < snap.n_pipes; j++)
            ours |= w->fds[i] == snap.pipes[j].rd;
        if (!ours)
            w->fds[k++] = w->fds[i];
    }
    w->n_fds = k;
}

/* A descriptor that was not there when the job was stopped: the image
   would not be the snapshot's. */
static void wr_fail_new_fd (wr_t *w, int fd)
{
    char whyb[128];
    sb_t b = { whyb, 0, sizeof whyb };
    sb_fd (&b, fd);
    sb_s (&b, "was opened while the checkpoint was taken: try again");
    wr_fail (w, whyb);
}

/* Where the snapshot noted regular or shared-memory descriptor fd, or
   the writer fails: it was opened after the job was stopped. */
static int snap_file (wr_t *w, int fd)
{
    int j = 0;
    while (j < snap.n_files && snap.files[j].fd != fd)
        j++;
    if (j == snap.n_files)
        wr_fail_new_fd (w, fd);
    return j;
}

static void wr_fds (wr_t *w)
{
    char whyb[512];
    for (int i = 0; i < w->n_fds; i++) {
        img_fd_t *f = w->fds_scratch;
        sb_t why = { whyb, 0, sizeof whyb };
        if (judge_fd (w->fds[i], f, &why))
            wr_fail (w, whyb);
        if (f->kind == IMG_F_FILE) { /* as it was while the job was stopped */
            int j = snap_file (w, (int) f->fd);
            f->pos = (uint64_t) snap.files[j].pos;
            f->fsize = (uint64_t) snap.files[j].st.st_size;
            f->mtime_sec = (uint64_t) snap.files[j].st.st_mtim.tv_sec;
            f->mtime_nsec = (uint32_t) snap.files[j].st.st_mtim.tv_nsec;
        }
        if (f->kind == IMG_F_SHMFD) { /* its bytes (the job is held during a move) */
            int j = snap_file (w, (int) f->fd);
            f->pos = (uint64_t) snap.files[j].pos;
            ssize_t k = f->fsize ? pread ((int) f->fd, w->pipe_buf, (size_t) f->fsize, 0) : 0;
            if (k < 0)
                wr_fail (w, "the bytes of shared memory held by a descriptor cannot be read");
            f->fsize = (uint64_t) k;
            f->data = w->pipe_buf;
            f->data_len = (uint32_t) k;
        }
        if (f->kind == IMG_F_USOCK) { /* as it was while the job was stopped */
            if (snap.usock_why[0])
                wr_fail (w, snap.usock_why);
            int j = 0;
            while (j < snap.n_usocks && snap.usocks[j].fd != (int) f->fd)
                j++;
            if (j == snap.n_usocks || snap.usocks[j].ino != f->fsize)
                wr_fail_new_fd (w, (int) f->fd);
            f->pos = snap.usocks[j].peer;
            f->mtime_nsec = snap.usocks[j].us;
            f->data = snap_udata + snap.usocks[j].data_off;
            f->data_len = snap.usocks[j].data_len;
        }
        if (IMG_F_IS_KOBJ (f->kind)) { /* as it was while the job was stopped */
            if (snap.kobj_why[0])
                wr_fail (w, snap.kobj_why);
            int j = 0;
            while (j < snap.n_kobjs && snap.kobjs[j].fd != (int) f->fd)
                j++;
            if (j == snap.n_kobjs)
                wr_fail_new_fd (w, (int) f->fd);
            f->pos = snap.kobjs[j].pos;
            f->fsize = snap.kobjs[j].fsize;
            f->data = snap.kobjs[j].data_len ? snap_kdata + snap.kobjs[j].data_off : NULL;
            f->data_len = snap.kobjs[j].data_len;
        }
        for (int j = 0;
             f->kind == IMG_F_PIPE && (f->flags & O_ACCMODE) == O_RDONLY && j < snap.n_pipes; j++) {
            if (snap.pipes[j].ino != f->fsize || snap.pipes[j].rd < 0)
                continue;
            uint32_t got = 0; /* the first read end carries the bytes */
            while (got < snap.pipes[j].n) {
                ssize_t k = read (snap.pipes[j].rd, w->pipe_buf + got, snap.pipes[j].n - got);
                if (k <= 0)
                    wr_fail (w, "a pipe's bytes could not be copied");
                got += (uint32_t) k;
            }
            close (snap.pipes[j].rd);
            snap.pipes[j].rd = -1;
            f->data = w->pipe_buf;
            f->data_len = got;
        }
        size_t need = sizeof *f + 64 + f->data_len;
        w->n += img_put_fd (&w->enc, f, wr_room (w, need), need);
    }
}

static void wr_vma_records (wr_t *w)
{
    for (int i = 0; i < w->n_vmas; i++) {
        const cvma_t *c = &w->vmas[i];
        img_vma_t *v = w->v;
        v->start = c->start;
        v->end = c->end;
        v->prot = c->prot;
        v->kind = c->kind;
        v->flags = c->kind == IMG_V_SPECIAL ? 0 : c->flags;
        v->offset = c->offset;
        v->fsize = c->fsize;
        v->mtime_sec = c->mtime_sec;
        v->mtime_nsec = c->mtime_nsec;
        gl_strlcpy (v->path, w->paths + c->path_off, IMG_PATH_MAX);
        w->n += img_put_vma (&w->enc, v, wr_room (w, sizeof *v + 64), sizeof *v + 64);
    }
}

#define PM_PRESENT (1ull << 63)
#define PM_SWAP    (1ull << 62)
#define PM_FILE    (1ull << 61)

/* The pages of one mapping that its restore needs: present or swapped
   ones, less those still the file's (they come from the file), less
   anonymous pages of zeros (a new mapping is zeros). */
static void wr_pages_of (wr_t *w, const cvma_t *c)
{
    if (c->kind == IMG_V_SPECIAL || c->kind == IMG_V_FILE_RO || c->prot == 0)
        return;
    if (!(c->prot & PROT_READ)) /* our copy only */
        mprotect ((void *) (uintptr_t) c->start, c->end - c->start, (int) c->prot | PROT_READ);
    bool anon = c->kind != IMG_V_FILE;
    /* shared memory: the pages its object holds (mincore), which this
       fork has no page tables for (a fork copies none of a shared
       mapping's) and the process may never have touched (a child did) */
    bool object = c->kind == IMG_V_SHANON;
    unsigned char in_core[IMG_CHUNK_PAGES];
    uint64_t pm[IMG_CHUNK_PAGES];
    uint64_t run = 0;
    uint32_t n_run = 0;
    for (uint64_t a = c->start; a < c->end;) {
        uint64_t n = (c->end - a) / IMG_PAGE;
        if (n > IMG_CHUNK_PAGES)
            n = IMG_CHUNK_PAGES;
        ssize_t got = pread (w->pagemap, pm, n * 8, (off_t) (a / IMG_PAGE * 8));
        if (got != (ssize_t) (n * 8))
            wr_fail (w, "/proc/self/pagemap cannot be read");
        if (object && mincore ((void *) (uintptr_t) a, n * IMG_PAGE, in_core))
            wr_fail (w, "the pages of shared memory cannot be listed (mincore)");
        for (uint64_t i = 0; i < n; i++, a += IMG_PAGE) {
            uint64_t e = pm[i];
            bool take = (e & PM_SWAP) || ((e & PM_PRESENT) && (anon || !(e & PM_FILE))) ||
                        (object && (in_core[i] & 1));
            if (take && anon && gl_all_zero ((const void *) (uintptr_t) a, IMG_PAGE))
                take = false;
            if (take && n_run && run + (uint64_t) n_run * IMG_PAGE == a &&
                n_run < IMG_CHUNK_PAGES) {
                n_run++;
                continue;
            }
            if (n_run) {
                size_t cap = img_pages_bound (n_run);
                w->n += img_put_pages (&w->enc, run, (const uint8_t *) (uintptr_t) run, n_run,
                                       ck.pack ? w->lz4 : NULL, wr_room (w, cap), cap);
                n_run = 0;
                if (w->dead)
                    syscall (SYS_exit_group, 1);
            }
            if (take) {
                run = a;
                n_run = 1;
            }
        }
    }
    if (n_run) {
        size_t cap = img_pages_bound (n_run);
        w->n += img_put_pages (&w->enc, run, (const uint8_t *) (uintptr_t) run, n_run,
                               ck.pack ? w->lz4 : NULL, wr_room (w, cap), cap);
    }
}

/* The fork's life: judge again, wait for the parent's SNAP to be out,
   write the image, exit.  Never returns. */
static void writer (int sock, int go)
{
    wr_t w = { .sock = sock };
    size_t lz4 = (size_t) LZ4_sizeofState ();
    w.arena_len = OUT_CAP + MAPS_CAP + PATHS_CAP + lz4 + sizeof (cvma_t) * IMG_MAX_VMAS +
                  sizeof (int) * (IMG_MAX_FDS + 1) + sizeof (img_fd_t) + sizeof (img_vma_t) +
                  sizeof (img_proc_t) + IMG_PIPE_MAX + 4 * 4096;
    w.arena_len = (w.arena_len + 4095) & ~(size_t) 4095;
    w.arena = mmap (NULL, w.arena_len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w.arena == MAP_FAILED)
        syscall (SYS_exit_group, 1);
    uint8_t *a = w.arena;
    w.out = a, a += OUT_CAP;
    w.maps = (char *) a, a += MAPS_CAP;
    w.paths = (char *) a, a += PATHS_CAP;
    w.lz4 = a, a += (lz4 + 63) & ~(size_t) 63;
    w.vmas = (cvma_t *) a, a += sizeof (cvma_t) * IMG_MAX_VMAS;
    w.fds = (int *) a, a += sizeof (int) * (IMG_MAX_FDS + 1);
    a = (uint8_t *) (((uintptr_t) a + 63) & ~(uintptr_t) 63);
    w.fds_scratch = (img_fd_t *) a, a += sizeof (img_fd_t);
    w.v = (img_vma_t *) a, a += sizeof (img_vma_t);
    w.proc = (img_proc_t *) a, a += sizeof (img_proc_t);
    w.pipe_buf = (uint8_t *) (((uintptr_t) a + 63) & ~(uintptr_t) 63);
    w.pagemap = open ("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

    /* SNAP first: the image follows it on the socket */
    char c;
    while (read (go, &c, 1) < 0 && errno == EINTR) {
    }
    snap.pipe_rd = go; /* the host's answer comes on it too */
    w.n += img_put_header (&w.enc, w.out, OUT_CAP);
    w.n += tree_put_table (&w.enc, w.out + w.n, OUT_CAP - w.n); /* a tree's: tree.h */
    if (w.pagemap < 0)
        wr_fail (&w, "/proc/self/pagemap cannot be read");
    wr_scan_vmas (&w);
    wr_scan_fds (&w);
    wr_proc (&w);
    wr_threads (&w);
    wr_vma_records (&w);
    wr_fds (&w);
    for (int i = 0; i < w.n_vmas; i++)
        wr_pages_of (&w, &w.vmas[i]);
    /* a tree's root: the other processes' records follow its own */
    wr_flush (&w);
    char twhy[512];
    if (!w.dead && tree_pass (&w.enc, w.sock, twhy, sizeof twhy))
        wr_fail (&w, twhy);
    w.n += img_put_end (&w.enc, wr_room (&w, 64), 64);
    wr_flush (&w);
    /* the end of the image: with HOLD the parked process still holds
       the socket, so it is a shutdown (ckpt_proto.h); with GO the
       parent closed its copy, and the end is this process's exit, as
       late as a plain close makes it */
    c = 0;
    while (read (go, &c, 1) < 0 && errno == EINTR) {
    }
    if (c == 'H')
        shutdown (sock, SHUT_WR);
    syscall (SYS_exit_group, w.dead ? 1 : 0);
    __builtin_unreachable ();
}

/* ---- parking ---------------------------------------------------------------------------------- */

static slot_t *slot_of (int tid)
{
    for (int i = 0; i < n_slots; i++)
        if (slots[i].tid == tid)
            return &slots[i];
    return NULL;
}

static void note_thread (slot_t *s)
{
    s->fs = thread_pointer ();
    long len = 0;
    void *head = NULL;
    syscall (SYS_get_robust_list, 0, &head, &len);
    s->robust = (uint64_t) (uintptr_t) head;
    s->robust_len = (uint64_t) len;
    uint64_t pend = 0;
    syscall (SYS_rt_sigpending, &pend, 8);
    s->pending = pend & ~(1ull << (GL_CKPT_SIGNO - 1)); /* less the shared ones, later */
    s->bad_layout =
        ck.tid_off < 0 || *(int *) (uintptr_t) (s->fs + (uint64_t) ck.tid_off) != s->tid;
}

/* Signals that were pending, raised again in the restored process. */
static void raise_pending (uint64_t set, bool shared)
{
    for (int sig = 1; sig <= 64; sig++)
        if (set & (1ull << (sig - 1)) && sig != GL_CKPT_SIGNO && sig != SIGKILL && sig != SIGSTOP) {
            if (shared)
                syscall (SYS_kill, ck.real_pid, sig);
            else
                syscall (SYS_tgkill, ck.real_pid, gettid_ (), sig);
        }
}

/* The handler's mask, as it was before the restorer's all-blocked one. */
static void handler_mask (void)
{
    uint64_t m = ~0ull & ~(1ull << (SIGSYS - 1)) & ~(1ull << (SIGSEGV - 1)) &
                 ~(1ull << (SIGBUS - 1)) & ~(1ull << (SIGFPE - 1)) & ~(1ull << (SIGILL - 1));
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, &m, NULL, 8);
}

/* A thread the coordinator stopped: save, park, and go on when released
   (or, after a restore, when the coordinator has fixed the process). */
static void park (void)
{
    int tid = (int) gettid_ ();
    slot_t *s = slot_of (tid);
    unsigned g = atomic_load (&gen);
    /* a signal that arrives late (the thread blocked it while the
       checkpoint gave up on it) must not park the thread for good: gen
       is read first, so a release between here and the wait below is
       seen either way */
    if (!s || !atomic_load (&parking))
        return;
    note_thread (s);
    uintptr_t r = ckpt_save (&s->ctx);
    if (r == 0) {
        atomic_fetch_add (&parked, 1);
        futex_wake (&parked);
        while (atomic_load (&gen) == g)
            futex_wait (&gen, g, 0);
        return;
    }
    ckpt_resume_t *info = (ckpt_resume_t *) r;
    handler_mask ();
    __atomic_fetch_add (&info->done, 1, __ATOMIC_SEQ_CST);
    syscall (SYS_futex, &info->done, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
    while (atomic_load (&gen) == g)
        futex_wait (&gen, g, 0);
    s = slot_of (tid); /* the restored slot (same memory) */
    if (s)
        raise_pending (s->pending, false);
    if (ck.rearm)
        ck.rearm ();
}

/* Stops every other thread in park(); -1 with the reason when one does
   not stop within 2 s (it blocks the signal where the shim cannot see,
   or is a zombie leader). */
static int park_all (sb_t *why)
{
    static int tids[IMG_MAX_THREADS + 1];
    int me = (int) gettid_ ();
    n_slots = 0;
    atomic_store (&parked, 0);
    atomic_store (&parking, 1);
    for (int round = 0; round < 8; round++) {
        int n = task_list (tids, IMG_MAX_THREADS);
        if (n < 0 || n > IMG_MAX_THREADS) {
            sb_s (why, "more than 1024 threads");
            return -1;
        }
        int added = 0;
        for (int i = 0; i < n; i++) {
            if (slot_of (tids[i]))
                continue;
            slot_t *s = &slots[n_slots++];
            memset (s, 0, sizeof *s);
            s->tid = tids[i];
            if (tids[i] == me) {
                s->flags = IMG_T_COORD;
                continue;
            }
            added++;
            if (syscall (SYS_tgkill, ck.real_pid, tids[i], GL_CKPT_SIGNO)) {
                added--;
                *s = slots[--n_slots]; /* it ended */
            }
        }
        if (!added)
            return 0;
        uint64_t t0 = now_ns ();
        for (;;) {
            unsigned p = atomic_load (&parked);
            if ((int) p >= n_slots - 1)
                break;
            if (now_ns () - t0 > 2000000000ull) {
                sb_s (why, "a thread did not stop within 2 s (it blocks the signal ");
                sb_u (why, GL_CKPT_SIGNO);
                sb_s (why, ")");
                return -1;
            }
            futex_wait (&parked, p, 10000000);
        }
    }
    sb_s (why, "threads keep being created");
    return -1;
}

static void release_all (void)
{
    atomic_store (&parking, 0);
    atomic_fetch_add (&gen, 1);
    futex_wake (&gen);
}

/* ---- the coordinator --------------------------------------------------------------------------- */

static void reap (void)
{
    if (ck.child > 0 && syscall (SYS_wait4, ck.child, NULL, WNOHANG | __WCLONE, NULL) != 0)
        ck.child = 0;
}

static uint64_t shared_pending (void)
{
    char buf[2048];
    if (gl_read_file ("/proc/self/status", buf, sizeof buf) <= 0)
        return 0;
    const char *s = strstr (buf, "ShdPnd:");
    return s ? parse_num (s + 7 + strspn (s + 7, " \t"), 16, NULL) : 0;
}

/* Everything of the running process the writer needs that a fork does
   not carry or the job would change once it runs again. */
static void note_process (void)
{
    for (int i = 0; i < 3; i++)
        getitimer (i, &snap.itimer[i]);
    snap.shared_pending = shared_pending ();
    snap.n_files = 0;
    static int fds[IMG_MAX_FDS + 1];
    int dfd = -1;
    int n = list_numbers ("/proc/self/fd", fds, IMG_MAX_FDS, &dfd);
    for (int i = 0; i < n && snap.n_files < FILES_MAX; i++) {
        struct stat st;
        if (fds[i] == dfd || fstat (fds[i], &st) || !S_ISREG (st.st_mode))
            continue;
        snap.files[snap.n_files].fd = fds[i];
        snap.files[snap.n_files].pos = lseek (fds[i], 0, SEEK_CUR);
        snap.files[snap.n_files].st = st;
        snap.n_files++;
    }
    /* the job's streams: what their pipes hold now; a file or a memory
       device (/dev/null) holds nothing the host could read, a terminal
       or a socket holds what the shim cannot see */
    bool found[3] = { !ck.stream_ok[0], !ck.stream_ok[1], !ck.stream_ok[2] };
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (fds[i] == dfd || fstat (fds[i], &st))
            continue;
        bool none = S_ISREG (st.st_mode) || (S_ISCHR (st.st_mode) && major (st.st_rdev) == 1);
        for (int k = 0; k < 3; k++) {
            int avail = 0;
            if (found[k] || ck.stream[k][0] != (uint64_t) st.st_dev ||
                ck.stream[k][1] != (uint64_t) st.st_ino ||
                (!none && (!S_ISFIFO (st.st_mode) || ioctl (fds[i], FIONREAD, &avail))))
                continue;
            snap.held[k] = avail > 0 ? (uint64_t) avail : 0;
            found[k] = true;
        }
    }
    snap.held_ok = found[0] && found[1] && found[2];
    for (int k = 0; k < 3; k++)
        if (!ck.stream_ok[k])
            snap.held[k] = 0;
    /* the kernel's objects as they are now: the job changes them once it
       runs again, while the writer is at work */
    snap.kobj_why[0] = '\0';
    if (kobj_timers (snap.timers, &snap.n_timers, snap.kobj_why, sizeof snap.kobj_why))
        snap.n_timers = 0; /* the writer fails with the reason */
    snap.n_kobjs = 0;
    snap.kdata_len = 0;
    for (int i = 0; i < n && snap.n_kobjs < KOBJS_MAX; i++) {
        char p[64], link[64];
        proc_path (p, sizeof p, "fd/", (uint64_t) fds[i], "");
        ssize_t k = fds[i] == dfd ? -1 : readlink (p, link, sizeof link - 1);
        uint32_t kind = k > 0 ? (link[k] = '\0', kobj_kind (link)) : 0;
        if (!kind)
            continue;
        img_fd_t f;
        if (kobj_read (fds[i], kind, &f, snap_kdata + snap.kdata_len,
                       sizeof snap_kdata - snap.kdata_len, snap.kobj_why, sizeof snap.kobj_why))
            break;
        snap.kobjs[snap.n_kobjs].fd = fds[i];
        snap.kobjs[snap.n_kobjs].pos = f.pos;
        snap.kobjs[snap.n_kobjs].fsize = f.fsize;
        snap.kobjs[snap.n_kobjs].data_off = snap.kdata_len;
        snap.kobjs[snap.n_kobjs++].data_len = f.data_len;
        snap.kdata_len += f.data_len;
    }
    /* the unix sockets' state and bytes, read without taking them out;
       the first descriptor of a socket carries its bytes */
    snap.usock_why[0] = '\0';
    snap.n_usocks = 0;
    snap.udata_len = 0;
    for (int i = 0; i < n && snap.n_usocks < USOCKS_MAX; i++) {
        struct stat st;
        img_fd_t f;
        bool not_unix;
        char uwhy[8];
        if (fds[i] == dfd || fstat (fds[i], &st) || !S_ISSOCK (st.st_mode) ||
            usock_judge (fds[i], (uint64_t) st.st_ino, &f, &not_unix, uwhy, sizeof uwhy))
            continue; /* not one that moves: the writer says why */
        bool seen = false;
        for (int j = 0; j < snap.n_usocks; j++)
            seen |= snap.usocks[j].ino == f.fsize;
        uint32_t len = 0;
        if (!seen && !snap.usock_why[0] &&
            usock_peek (fds[i], (uint32_t) f.mtime_sec, snap_udata + snap.udata_len,
                        sizeof snap_udata - snap.udata_len, &len, snap.usock_why,
                        sizeof snap.usock_why))
            len = 0;
        snap.usocks[snap.n_usocks].fd = fds[i];
        snap.usocks[snap.n_usocks].ino = f.fsize;
        snap.usocks[snap.n_usocks].peer = f.pos;
        snap.usocks[snap.n_usocks].us = f.mtime_nsec;
        snap.usocks[snap.n_usocks].data_off = snap.udata_len;
        snap.usocks[snap.n_usocks++].data_len = len;
        snap.udata_len += len;
    }
    /* the bytes in the process's pipes, copied without taking them out */
    snap.n_pipes = 0;
    for (int i = 0; i < n && snap.n_pipes < 64; i++) {
        struct stat st;
        int avail = 0;
        if (fds[i] == dfd || fstat (fds[i], &st) || !S_ISFIFO (st.st_mode) ||
            (fcntl (fds[i], F_GETFL) & O_ACCMODE) != O_RDONLY || ioctl (fds[i], FIONREAD, &avail) ||
            avail <= 0)
            continue;
        bool seen = false;
        for (int j = 0; j < snap.n_pipes; j++)
            seen |= snap.pipes[j].ino == (uint64_t) st.st_ino;
        int t[2];
        if (seen || pipe2 (t, O_CLOEXEC | O_NONBLOCK))
            continue;
        fcntl (t[1], F_SETPIPE_SZ, avail);
        ssize_t k = tee (fds[i], t[1], (size_t) avail, SPLICE_F_NONBLOCK);
        close (t[1]);
        snap.pipes[snap.n_pipes].ino = (uint64_t) st.st_ino;
        snap.pipes[snap.n_pipes].rd = t[0];
        snap.pipes[snap.n_pipes++].n = k > 0 ? (uint32_t) k : 0;
    }
}

static void restored (ckpt_resume_t *info, slot_t *me);
static void streams_var (void);
static void pids_restored (const ckpt_resume_t *info);
static void pids_inherited (void);
static void fix_call (void *uc);
static atomic_uint restores;

/* In a fork of the job's process (not executed again), the ids are its own. */
static void sync_pid (void)
{
    pid_t p = (pid_t) syscall (SYS_getpid);
    if (p != ck.real_pid) {
        ck.real_pid = p;
        ck.restored = false;
        ck.vpid = ckpt_virt_pid (p); /* in a restored tree, as its table has it */
        ck.vppid = ckpt_virt_pid ((pid_t) syscall (SYS_getppid));
        ck.child = 0;
    }
}

static void coordinate (int req, pid_t from)
{
    if (atomic_exchange (&busy, 1))
        return;
    sync_pid ();
    reap ();
    /* a tree's member is asked by the tree's root, and answers it as a
       process answers its host (tree.h) */
    bool member = req & TREE_REQ_MEMBER;
    int s = member ? tree_member_connect (from, req) : ck.sock[0] ? host_connect () : -1;
    if (member)
        req &= TREE_REQ_KIND;
    if (s < 0) {
        atomic_store (&busy, 0);
        return;
    }
    char line[256];
    sb_t b = { line, 0, sizeof line };
    sb_s (&b, "GLCKPT ");
    sb_u (&b, GL_CKPT_VERSION);
    sb_s (&b, " pid=");
    sb_u (&b, (uint64_t) ck.vpid);
    sb_s (&b, " gpid=");
    sb_s (&b, ck.gpid[0] ? ck.gpid : "0");
    sb_s (&b, " req=");
    sb_u (&b, (uint64_t) req);
    say (s, line, NULL);
    static char whyb[GL_CKPT_LINE_MAX - 16];
    sb_t why = { whyb, 0, sizeof whyb };
    whyb[0] = '\0';
    if (req != GL_CKPT_PROBE && req != GL_CKPT_CONTINUE && req != GL_CKPT_GO_ON)
        sb_s (&why, "an unknown request");
    else if (ck.tid_off < 0)
        sb_s (&why, "glibc's thread layout is not one the shim knows (its tid was not found)");
    bool tree = member || tree_has_children ();
    uint64_t t_tree = now_ns (); /* a tree's members park from here */
    if (!why.n && !judge (&why, s, tree) && tree) {
        if (member)
            tree_member_report (s, ck.vpid);
        /* members hear GO from the root, which says it at once when
           it goes on */
        else if (tree_begin (req == GL_CKPT_GO_ON ? GL_CKPT_CONTINUE : req, (uint32_t) ck.vpid,
                             (uint32_t) ck.vppid, whyb, sizeof whyb))
            why.n = strlen (whyb);
    }
    if (why.n || req == GL_CKPT_PROBE) {
        say (s, why.n ? "REFUSE" : "MOVABLE", why.n ? whyb : NULL);
        tree_close ();
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    uint64_t t0 = tree && !member ? t_tree : now_ns ();
    if (park_all (&why)) {
        tree_answer (0);
        tree_close ();
        release_all ();
        say (s, "REFUSE", whyb);
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    slot_t *me = slot_of ((int) gettid_ ());
    note_thread (me);
    for (int i = 0; i < n_slots; i++)
        if (slots[i].bad_layout) {
            tree_answer (0);
            tree_close ();
            release_all ();
            say (s, "REFUSE", "glibc's tid word is not where the shim found it in every thread");
            close (s);
            atomic_store (&busy, 0);
            return;
        }
    /* a tree: every process parked before any snapshot (tree.h) */
    if (member) {
        say (s, "PARKED", NULL);
        if (!tree_member_wait_snap (s)) {
            release_all ();
            close (s);
            atomic_store (&busy, 0);
            return;
        }
    }
    else if (tree && tree_snap (whyb, sizeof whyb)) {
        release_all ();
        say (s, "REFUSE", whyb);
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    note_process ();
    for (int i = 0; i < n_slots; i++)
        slots[i].pending &= ~snap.shared_pending;
    int go[2];
    if (pipe2 (go, O_CLOEXEC)) {
        tree_answer (0);
        tree_close ();
        release_all ();
        say (s, "REFUSE", "no descriptor left for the snapshot");
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    snap.sock = s;
    snap.pipe_rd = go[0];
    /* going on without the host's answer needs what the job's pipes
       hold now: the host pairs it with what it read and wrote before
       it asked, and then stopped (ckpt_proto.h) */
    snap.go_on = req == GL_CKPT_GO_ON && snap.held_ok;
    uintptr_t r = ckpt_save (&me->ctx);
    if (r != 0) {
        restored ((ckpt_resume_t *) r, me);
        return;
    }
    /* a fork with no exit signal: no SIGCHLD, no atfork handlers */
    long child = syscall (SYS_clone, 0, 0, NULL, NULL, 0);
    if (child == 0) {
        close (go[1]);
        writer (s, go[0]);
    }
    close (go[0]);
    for (int i = 0; i < snap.n_pipes; i++)
        close (snap.pipes[i].rd);
    if (child < 0) {
        close (go[1]);
        tree_answer (0);
        tree_close ();
        release_all ();
        say (s, "REFUSE", "the snapshot could not be forked (memory?)");
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    ck.child = (pid_t) child;
    bool on = snap.go_on;
    b = (sb_t){ line, 0, sizeof line };
    sb_s (&b, "SNAP ");
    sb_u (&b, now_ns () - t0);
    if (on) {
        sb_s (&b, " held=");
        for (int k = 0; k < 3; k++) {
            if (k)
                sb_s (&b, ",");
            sb_u (&b, snap.held[k]);
        }
        /* the threads first: waking the host and the writer may take
           this processor before this thread is done */
        release_all ();
        tree_answer ('G');
    }
    say (s, line, NULL);
    (void) !write (go[1], "g", 1);
    char answer = on ? 'G' : hear (s);
    (void) !write (go[1], answer == 'H' ? "H" : "G", 1); /* for the writer's end */
    close (go[1]);
    if (!on)
        tree_answer (answer);
    if (answer == 'H' && member)
        tree_member_hold (s);
    else if (answer == 'H') {
        /* stay parked: the host kills the process once the image is
           safe, or says GO and closes to let it go on (a move that
           failed).  The end of the connection with no GO is a kill too:
           the host's own SIGKILL may come later than its close (through
           its launcher), and the process must not run on beside its
           restored copy, nor when its host is gone.  The image's end is
           the writer's shutdown, not a close: this copy of the socket
           stays open until then. */
        bool let_go = false;
        for (;;) {
            char c;
            ssize_t k = read (s, &c, 1);
            if (k == 1)
                let_go |= c == 'G';
            else if (k == 0 || errno != EINTR)
                break;
        }
        if (!let_go)
            syscall (SYS_kill, syscall (SYS_getpid), SIGKILL);
        tree_answer ('G'); /* still alive: the move failed, the members go on too */
    }
    tree_close ();
    close (s);
    if (!on)
        release_all ();
    atomic_store (&busy, 0);
}

/* The coordinator's return in a restored process: fix what is the
   process's, let the others go, take back the restorer's area. */
static void restored (ckpt_resume_t *info, slot_t *me)
{
    handler_mask ();
    ck.real_pid = (pid_t) syscall (SYS_getpid);
    ck.restored = true;
    ck.child = 0;
    if (info->magic == CKPT_RESUME_MAGIC) {
        if (info->sock[0])
            gl_strlcpy (ck.sock, info->sock, sizeof ck.sock);
        if (info->gpid[0])
            gl_strlcpy (ck.gpid, info->gpid, sizeof ck.gpid);
        for (int k = 0; k < 3; k++) {
            ck.stream_ok[k] = info->stream_ok & (1u << k);
            ck.stream[k][0] = info->stream[k][0];
            ck.stream[k][1] = info->stream[k][1];
        }
        streams_var ();
        pids_restored (info);
    }
    /* glibc's break is the old process's.  The restorer gave the
       kernel the same (prctl PR_SET_MM_MAP): the heap grows and shrinks
       as before.  Where it could not, the kernel's is the restorer's,
       elsewhere, and glibc must neither trim (sbrk(-n) would move the
       kernel's break, not the heap's end) nor grow at a break below its
       heap (malloc aborts: "break adjusted to free malloc space").  So:
       __curbrk is the kernel's break, which is not the top of the heap,
       so nothing is trimmed; and a page just above it keeps the break
       from growing, so malloc takes its memory from mmap, as it does
       when sbrk fails. */
    if (ck.curbrk && (uint64_t) syscall (SYS_brk, 0) != (uint64_t) (uintptr_t) *ck.curbrk) {
        uint64_t k = (uint64_t) syscall (SYS_brk, 0);
        *ck.curbrk = (void *) (uintptr_t) k;
        mmap ((void *) (uintptr_t) ((k + 4095) & ~4095ull), 4096, PROT_NONE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    }
    uint64_t sh = snap.shared_pending;
    __atomic_fetch_add (&info->done, 1, __ATOMIC_SEQ_CST);
    release_all ();
    for (;;) {
        uint32_t d = __atomic_load_n (&info->done, __ATOMIC_SEQ_CST);
        if (d >= info->n_threads)
            break;
        syscall (SYS_futex, &info->done, FUTEX_WAIT, d, NULL, NULL, 0);
    }
    munmap ((void *) (uintptr_t) info->base, info->len);
    raise_pending (sh, true);
    raise_pending (me->pending, false);
    if (ck.rearm)
        ck.rearm ();
    atomic_store (&busy, 0);
}

/* A blocking call that the request interrupted, of the kinds the kernel
   does not make again after a handler even with SA_RESTART (poll,
   select, epoll_wait, pause, sigsuspend, sigwaitinfo, nanosleep): it
   would return EINTR, which the program never asked for and which some
   take for an error (tail -f ends with "error waiting for inotify and
   output events").  It is made again instead, from the signal frame,
   where it waited with no time limit, until an absolute time, or for a
   time the kernel wrote back as what remains (ppoll, pselect, select
   through glibc's pselect6, a sleep given room for the remainder);
   poll and epoll_wait with a limit in milliseconds, which the kernel
   does not count down, still return EINTR.  Which call it was: libc's
   wrappers put "mov $nr, %eax" right before the syscall instruction
   (b8 imm32 0f 05); a call made another way is left as it is. */
static void unintr (void *uc_)
{
    greg_t *g = ((ucontext_t *) uc_)->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *) (uintptr_t) g[REG_RIP];
    if (g[REG_RAX] != -EINTR || ((uintptr_t) ip & 4095) < 7 || ip[-2] != 0x0f || ip[-1] != 0x05 ||
        ip[-7] != 0xb8)
        return;
    int32_t nr;
    memcpy (&nr, ip - 6, 4);
    bool again = false;
    switch (nr) {
        case SYS_poll: again = (int) g[REG_RDX] < 0; break;
        case SYS_epoll_wait:
        case SYS_epoll_pwait: again = (int) g[REG_R10] < 0; break;
        case SYS_epoll_pwait2: again = g[REG_R10] == 0; break;
        case SYS_ppoll: /* no limit, or the remainder the kernel wrote back */
        case SYS_select:
        case SYS_pselect6: again = true; break;
        case SYS_rt_sigtimedwait: again = g[REG_RDX] == 0; break;
        case SYS_pause:
        case SYS_rt_sigsuspend: again = true; break;
        case SYS_nanosleep: /* (req, rem) */
            again = g[REG_RSI] != 0;
            g[REG_RDI] = again ? g[REG_RSI] : g[REG_RDI];
            break;
        case SYS_clock_nanosleep: /* (clock, flags, req, rem) */
            again = (g[REG_RSI] & TIMER_ABSTIME) || g[REG_R10] != 0;
            g[REG_RDX] = again && !(g[REG_RSI] & TIMER_ABSTIME) ? g[REG_R10] : g[REG_RDX];
            break;
    }
    if (again) {
        g[REG_RAX] = nr;
        g[REG_RIP] -= 2;
    }
}

static void on_signal (int signo, siginfo_t *si, void *uc)
{
    (void) signo;
    int saved = errno;
    unsigned before = atomic_load (&restores);
    if (si->si_code == SI_TKILL && si->si_pid == (pid_t) syscall (SYS_getpid))
        park ();
    else if (si->si_code == SI_QUEUE)
        coordinate (si->si_value.sival_int, si->si_pid);
    unintr (uc);
    if (atomic_load (&restores) != before) /* it was restored meanwhile */
        fix_call (uc);
    errno = saved;
}

/* ---- the library's side ------------------------------------------------------------------------ */

/* The offset of glibc's tid word (struct pthread's tid, which
   CLONE_CHILD_CLEARTID clears and pthread_join waits on) from the thread
   pointer: found by its value, checked again in every thread at each
   checkpoint. */
static long find_tid_off (void)
{
    int tid = (int) gettid_ ();
    const uint8_t *tp = (const uint8_t *) (uintptr_t) thread_pointer ();
    for (long off = 16; off < 2048; off += 4) {
        int v;
        memcpy (&v, tp + off, 4);
        if (v == tid)
            return off;
    }
    return -1;
}

/* GLUNIX_CKPT_STREAMS=GPID/dev:ino,dev:ino,dev:ino ("-" for one not
   open): the job's streams as the first process found them, for the
   programs its processes execute, whose own 0, 1 and 2 may be a pipe of
   the job (a filter in a pipeline).  The job's GPID first: a job that
   glx starts from inside this one is another job, with its own streams
   and GPID, and must not take these.  Kept in static memory (a restore changes
   it, in the handler) and put into each executed program's environment
   by the shim's exec wrappers (ckpt_streams_var). */
static char streams_env[160];

static void streams_var (void)
{
    sb_t b = { streams_env, 0, sizeof streams_env };
    sb_s (&b, GL_CKPT_STREAMS_ENV "=");
    sb_s (&b, ck.gpid);
    sb_s (&b, "/");
    for (int i = 0; i < 3; i++) {
        if (i)
            sb_s (&b, ",");
        if (!ck.stream_ok[i]) {
            sb_s (&b, "-");
            continue;
        }
        sb_u (&b, ck.stream[i][0]);
        sb_s (&b, ":");
        sb_u (&b, ck.stream[i][1]);
    }
}

/* A decimal number of the environment, at most max: digits only, no
   overflow (parse_num wraps), *end past it.  false when not so. */
static bool env_num (const char *s, const char **end, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t) (*p - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *end = p;
    *out = v;
    return p != s;
}

/* The job's streams from an inherited GLUNIX_CKPT_STREAMS: false when
   it is absent or malformed (then the process's own 0, 1, 2 are). */
static bool streams_inherited (void)
{
    const char *s = getenv (GL_CKPT_STREAMS_ENV);
    size_t g = strlen (ck.gpid);
    if (!s || strncmp (s, ck.gpid, g) || s[g] != '/')
        return false;
    s += g + 1;
    uint64_t v[3][2];
    bool ok[3];
    for (int i = 0; i < 3; i++) {
        if (i && *s++ != ',')
            return false;
        ok[i] = *s != '-';
        if (!ok[i]) {
            s++;
            continue;
        }
        const char *e;
        if (!env_num (s, &e, UINT64_MAX, &v[i][0]) || *e != ':')
            return false;
        s = e + 1;
        if (!env_num (s, &e, UINT64_MAX, &v[i][1]))
            return false;
        s = e;
    }
    if (*s)
        return false;
    for (int i = 0; i < 3; i++) {
        ck.stream_ok[i] = ok[i];
        ck.stream[i][0] = ok[i] ? v[i][0] : 0;
        ck.stream[i][1] = ok[i] ? v[i][1] : 0;
    }
    return true;
}

const char *ckpt_streams_var (void)
{
    return streams_env[0] ? streams_env : NULL;
}

void ckpt_init (void (*rearm) (void))
{
    const char *sock = getenv (GL_CKPT_SOCK_ENV);
    const char *gpid = getenv ("GLUNIX_GPID");
    const char *pack = getenv ("GLUNIX_CKPT_COMPRESS");
    if (sock)
        gl_strlcpy (ck.sock, sock, sizeof ck.sock);
    if (gpid)
        gl_strlcpy (ck.gpid, gpid, sizeof ck.gpid);
    ck.pack = !(pack && !strcmp (pack, "0"));
    ck.rearm = rearm;
    ck.real_pid = ck.vpid = (pid_t) syscall (SYS_getpid);
    ck.vppid = (pid_t) syscall (SYS_getppid);
    bool inherited = streams_inherited ();
    for (int i = 0; i < 3 && !inherited; i++) {
        struct stat st;
        ck.stream_ok[i] = fstat (i, &st) == 0;
        ck.stream[i][0] = (uint64_t) st.st_dev;
        ck.stream[i][1] = (uint64_t) st.st_ino;
    }
    streams_var ();
    pids_inherited ();
    /* a program executed by a process of a restored tree: the ids its
       image and its tree will carry are the ones the programs know */
    ck.vpid = ckpt_virt_pid (ck.real_pid);
    ck.vppid = ckpt_virt_pid (ck.vppid);
    ck.tid_off = find_tid_off ();
    ck.curbrk = dlsym (RTLD_DEFAULT, "__curbrk");
    ck.real_sigaction = dlsym (RTLD_NEXT, "sigaction");
    if (!ck.real_sigaction)
        return;
    struct sigaction act = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigfillset (&act.sa_mask);
    /* synchronous faults and the dispatch's SIGSYS stay deliverable */
    sigdelset (&act.sa_mask, SIGSYS);
    sigdelset (&act.sa_mask, SIGSEGV);
    sigdelset (&act.sa_mask, SIGBUS);
    sigdelset (&act.sa_mask, SIGFPE);
    sigdelset (&act.sa_mask, SIGILL);
    if (ck.real_sigaction (GL_CKPT_SIGNO, &act, NULL))
        return;
    ck.on = true;
    /* a request that came while the program before this one executed
       us was held (shim.c's ckpt_hold): it is delivered now */
    uint64_t m = 1ull << (GL_CKPT_SIGNO - 1);
    syscall (SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, 8);
}

/* ---- process ids in a restored tree (pidmap.h) ---------------------------------------------- */

/* The tree's table, from the restorer (the process was restored as part
   of a tree) or from GLUNIX_PIDMAP (a program executed since by one of
   the tree's processes, or by a child of one); zeros: none.  The table
   never changes after the restore, so each process keeps its own copy. */
static pidmap_t pids;
static char pids_env[64 + 80 + PIDMAP_MAX * 24];

/* GLUNIX_PIDMAP=GPID/old:new,old:new,... (the GPID as for
   GLUNIX_CKPT_STREAMS: another job does not take it) */
static void pids_var (void)
{
    pids_env[0] = '\0';
    if (!pidmap_valid (&pids))
        return;
    sb_t b = { pids_env, 0, sizeof pids_env };
    sb_s (&b, GL_PIDMAP_ENV "=");
    sb_s (&b, ck.gpid);
    sb_s (&b, "/");
    for (uint32_t i = 0; i < pids.n; i++) {
        if (i)
            sb_s (&b, ",");
        sb_u (&b, (uint64_t) pids.e[i].virt);
        sb_s (&b, ":");
        sb_u (&b, (uint64_t) pids.e[i].real);
    }
}

/* The table the process had before this restore (the one before, or
   none), and how many restores it has been through: a thread that sees
   the count change while it was parked fixes its interrupted call. */
static pidmap_t pids_before;

static void pids_restored (const ckpt_resume_t *info)
{
    pids_before = pids;
    if (pidmap_valid (&info->pidmap))
        pids = info->pidmap;
    else /* restored alone: a table the image had is another node's */
        memset (&pids, 0, sizeof pids);
    pids_var ();
    atomic_fetch_add (&restores, 1);
}

/* A kernel id of before the restore, as this node's kernel knows that
   process now (through the id its program knew); negative: a group. */
static long repid (long r)
{
    if (r == 0 || r == -1 || r < -(1l << 22) || r > (1l << 22))
        return r;
    pid_t a = (pid_t) (r < 0 ? -r : r);
    pid_t v = pidmap_valid (&pids_before) ? pidmap_virt (&pids_before, a) : a;
    pid_t n = pidmap_valid (&pids) ? pidmap_real (&pids, v) : v;
    return r < 0 ? -(long) n : (long) n;
}

/* A thread interrupted in a system call that names a process (a shell
   or make waiting for a child: wait4, waitid; kill, sigqueue), or about
   to make one: the kernel restarts it with the registers in the signal
   frame, which hold the old node's ids.  They are translated there, so
   that the call, made again, names the same process on this node. */
static void fix_call (void *uc_)
{
    ucontext_t *uc = uc_;
    greg_t *g = uc->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *) (uintptr_t) g[REG_RIP];
    if (!ip || ip[0] != 0x0f || ip[1] != 0x05) /* not at a syscall instruction */
        return;
    switch (g[REG_RAX]) {
        case SYS_wait4:
        case SYS_kill:
        case SYS_rt_sigqueueinfo: g[REG_RDI] = repid (g[REG_RDI]); break;
        case SYS_waitid:
            if (g[REG_RDI] == P_PID || g[REG_RDI] == P_PGID)
                g[REG_RSI] = repid (g[REG_RSI]);
            break;
        default: break;
    }
}

static void pids_inherited (void)
{
    const char *s = getenv (GL_PIDMAP_ENV);
    size_t g = strlen (ck.gpid);
    if (!s || strncmp (s, ck.gpid, g) || s[g] != '/')
        return;
    s += g + 1;
    pidmap_init (&pids);
    while (*s) {
        const char *e;
        uint64_t v, r;
        if (!env_num (s, &e, 1u << 22, &v) || *e != ':')
            break;
        s = e + 1;
        if (!env_num (s, &e, 1u << 22, &r) || (*e && *e != ',') || (*e && !e[1]) ||
            pidmap_add (&pids, (pid_t) v, (pid_t) r, NULL))
            break;
        s = *e ? e + 1 : e;
    }
    if (*s) /* malformed: no table rather than half of one */
        memset (&pids, 0, sizeof pids);
    pids_var ();
}

const char *ckpt_pids_var (void)
{
    return pids_env[0] ? pids_env : NULL;
}

pid_t ckpt_virt_pid (pid_t real)
{
    if (pidmap_valid (&pids))
        return pidmap_virt (&pids, real);
    if (ck.restored && real == ck.real_pid)
        return ck.vpid;
    return real;
}

/* A restored single process has no table: its own old id is the only
   one its program holds (ckpt_virt_pid). */
static bool single_virtual (void)
{
    return !pidmap_valid (&pids) && ck.restored && ck.vpid != ck.real_pid;
}

bool ckpt_pid_collides (pid_t real)
{
    if (single_virtual ())
        return real == ck.vpid;
    return pidmap_collides (&pids, real);
}

bool ckpt_pids_translated (void)
{
    return pidmap_valid (&pids) || single_virtual ();
}

pid_t ckpt_pid_ahead (pid_t last, pid_t max, pid_t low, unsigned window)
{
    if (!single_virtual ())
        return pidmap_ahead (&pids, last, max, low, window);
    pidmap_t one;
    pidmap_init (&one);
    one.e[0].virt = ck.vpid;
    one.e[0].real = ck.real_pid;
    one.n = 1;
    return pidmap_ahead (&one, last, max, low, window);
}

bool ckpt_owns (int signo)
{
    return ck.on && signo == GL_CKPT_SIGNO;
}

static bool is_restored_process (void)
{
    return ck.restored && syscall (SYS_getpid) == ck.real_pid;
}

pid_t ckpt_getpid (void)
{
    if (pidmap_valid (&pids))
        return pidmap_virt (&pids, (pid_t) syscall (SYS_getpid));
    return is_restored_process () ? ck.vpid : (pid_t) syscall (SYS_getpid);
}

pid_t ckpt_getppid (void)
{
    if (pidmap_valid (&pids)) {
        pid_t r = (pid_t) syscall (SYS_getppid), v = pidmap_virt (&pids, r);
        /* the tree's root: its parent is outside the job, the id the
           program knew (as for a single process) */
        if (v == r && is_restored_process () && pidmap_real (&pids, ck.vppid) == ck.vppid)
            return ck.vppid;
        return v;
    }
    return is_restored_process () ? ck.vppid : (pid_t) syscall (SYS_getppid);
}

pid_t ckpt_real_pid (pid_t pid)
{
    if (pidmap_valid (&pids))
        return pidmap_real (&pids, pid);
    if (ck.restored && pid == ck.vpid && syscall (SYS_getpid) == ck.real_pid)
        return ck.real_pid;
    return pid;
}
