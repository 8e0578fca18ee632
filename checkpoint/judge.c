/*  judge.c -- may this process move?  Every descriptor, mapping, thread
    and child is judged, and the first reason why not is said, as
    glpeer ps -v shows it ("fd 5: a TCP socket to 10.0.0.2:5432").  The
    coordinator judges before any thread is parked (capture.c), and the
    image's writer judges again in the fork (writer.c), since something
    may have come between the two.

    Runs in a signal handler or in the raw fork, as all of the capture
    (capture.c says what that allows). */
#include "capture_impl.h"

#include "fd.h"
#include "image.h"
#include "kobj.h"
#include "str.h"
#include "sysvipc.h"
#include "tree.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

/* ---- judging a descriptor ------------------------------------------------------------------ */

bool lr_next (lr_t *r, char *out, size_t cap)
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
const char *field (const char *s, int n, size_t *len)
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

/* Is fd, /dev/tty, the job's terminal (glx -t)?  Its session is then
   the one of a stream that is a terminal: both name the process's
   controlling terminal, which the restorer has too, so /dev/tty is
   opened again by its name there. */
static bool job_ctty (int fd)
{
    pid_t a = 0, b = 0;
    if (ioctl (fd, TIOCGSID, &a))
        return false;
    for (int k = 0; k < 3; k++) {
        struct stat st;
        if (ck.stream_ok[k] && !fstat (k, &st) && ck.stream[k][0] == (uint64_t) st.st_dev &&
            ck.stream[k][1] == (uint64_t) st.st_ino && !ioctl (k, TIOCGSID, &b) && a == b)
            return true;
    }
    return false;
}

/* A deleted file of /dev/shm or a memfd, by its name in /proc: nobody
   can open it again, so it is the job's memory (a POSIX semaphore or
   shared memory that python's multiprocessing unlinked at once). */
static bool deleted_shm (const char *path)
{
    return gl_ends_with (path, " (deleted)") &&
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
                sb_t b = { alias, 0, len, false };
                sb_s (&b, "/dev/shm/");
                sb_s (&b, d->name);
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

/* The job's terminal as the descriptor fd sees it, into the record's
   data: its modes, window size, and whether it is the process's
   controlling terminal with the process's group in the foreground (the
   restorer gives the new one all of it).  false: fd is no terminal. */
static bool tty_state (int fd, img_fd_t *f)
{
    static uint8_t data[IMG_TTY_SIZE]; /* one record is encoded at a time */
    struct termios tio;
    struct winsize ws = { 0 };
    if (tcgetattr (fd, &tio))
        return false;
    img_tty_t t = { .iflag = tio.c_iflag,
                    .oflag = tio.c_oflag,
                    .cflag = tio.c_cflag,
                    .lflag = tio.c_lflag,
                    .line = tio.c_line,
                    .ispeed = (uint32_t) cfgetispeed (&tio),
                    .ospeed = (uint32_t) cfgetospeed (&tio) };
    memcpy (t.cc, tio.c_cc, IMG_TTY_NCC);
    if (ioctl (fd, TIOCGWINSZ, &ws) == 0) {
        t.rows = ws.ws_row;
        t.cols = ws.ws_col;
        t.xpixel = ws.ws_xpixel;
        t.ypixel = ws.ws_ypixel;
    }
    pid_t sid = 0, fg = 0;
    /* TIOCGSID answers only on the caller's controlling terminal.  The
       kernel's ids on both sides (the shim's getsid and getpgrp give a
       restored process's old ones), and the job's process's: the writer
       (capture.c) is a fork in a group of its own */
    if (ioctl (fd, TIOCGSID, &sid) == 0 && sid == (pid_t) syscall (SYS_getsid, ck.real_pid)) {
        t.flags |= IMG_TTY_CTTY;
        if (ioctl (fd, TIOCGPGRP, &fg) == 0 && fg == (pid_t) syscall (SYS_getpgid, ck.real_pid))
            t.flags |= IMG_TTY_FG;
    }
    img_put_tty (&t, data);
    f->data = data;
    f->data_len = IMG_TTY_SIZE;
    return true;
}

/* What fd is, into f (path, flags, stream), or -1 with the reason in
   why: the judgement the probe, the checkpoint and the writer share. */
int judge_fd (int fd, img_fd_t *f, sb_t *why)
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
        bool gone = errno == ENOENT || errno == EBADF;
        sb_fd (why, fd);
        /* closed since the list was read: a process not parked yet (a
           tree's member being judged) goes on */
        if (gone)
            sb_again (why, "was closed while the checkpoint was taken: try again");
        else
            sb_s (why, "cannot be read in /proc");
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
        /* for an instant, most often (sqlite holds one for a
           transaction): asked again a few times before it is the answer */
        sb_again (why, "; a lock does not move: another process could take it meanwhile)");
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
            /* a stream that is a terminal is the job's (glx -t): the new
               host's restorer stands on a new one, given this one's state */
            f->kind = S_ISCHR (st.st_mode) && tty_state (fd, f) ? IMG_F_TTY : IMG_F_STREAM;
            f->stream = (uint32_t) i;
            return 0;
        }
    }
    if ((S_ISREG (st.st_mode) || S_ISDIR (st.st_mode)) && of_a_process (fd, f->path)) {
        sb_fd (why, fd);
        sb_s (why, f->path);
        /* most are read and closed at once (glibc's
           pthread_getattr_np reads /proc/self/maps): asked again a few
           times before it is the answer */
        sb_again (why, " describes a process by its id, which is not the same after a move");
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
    /* a deleted file of /dev/shm or a memfd, or any other deleted file
       no name reaches (a temporary file: python's TemporaryFile, a long
       here-document of bash): its bytes move, made again as a memfd */
    bool unnamed = deleted_shm (f->path) ||
                   (f->path[0] == '/' && st.st_nlink == 0 && gl_ends_with (f->path, " (deleted)"));
    int seals = unnamed ? fcntl (fd, F_GET_SEALS) : 0; /* -1: a file that takes none */
    if (S_ISREG (st.st_mode) && unnamed && st.st_size <= (off_t) IMG_PIPE_MAX &&
        (seals < 0 || (seals & ~F_SEAL_SEAL) == 0)) { /* moves with its bytes */
        f->kind = IMG_F_SHMFD;
        f->mtime_sec = shm_id (major (st.st_dev), minor (st.st_dev), (uint64_t) st.st_ino);
        f->mtime_nsec = 0;
        return 0;
    }
    if (S_ISREG (st.st_mode)) {
        if (f->path[0] != '/' || gl_ends_with (f->path, " (deleted)")) {
            sb_fd (why, fd);
            sb_s (why, !strncmp (f->path, "/memfd:", 7) ? "a memfd (" : "a deleted file (");
            sb_s (why, f->path);
            sb_s (why, ")");
            return -1;
        }
        f->kind = IMG_F_FILE;
        return 0;
    }
    if (S_ISDIR (st.st_mode)) { /* being read, its position moves (the snapshot's) */
        f->kind = IMG_F_DIR;
        return 0;
    }
    if (S_ISCHR (st.st_mode) &&
        (allowed_device (f->path) || (!strcmp (f->path, "/dev/tty") && job_ctty (fd)))) {
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
int judge_vma (const char *line, img_vma_t *v, sb_t *why)
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
    if (gl_ends_with (v->path, " (deleted)")) {
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
    if (shared && (v->prot & PROT_WRITE) && !ck.moving) {
        sb_s (why, "a shared writable mapping of ");
        sb_s (why, v->path);
        sb_s (why, " (its pages are the file's, which only a move, of a job's first process, "
                   "keeps as they were: a checkpoint the job goes on after, or of a process it "
                   "started, does not)");
        return -1;
    }
    /* written through, its pages are the file's: on the disk (a network
       file system's server) before the image says the file's size and
       time, and the new node maps the file again (the process is held
       until it is gone: nothing writes them meanwhile) */
    if (shared && (v->prot & PROT_WRITE) &&
        (msync ((void *) (uintptr_t) v->start, v->end - v->start, MS_SYNC) ||
         stat (v->path, &st))) {
        sb_s (why, "a shared writable mapping of ");
        sb_s (why, v->path);
        sb_s (why, " cannot be written back to it (msync)");
        return -1;
    }
    why->n = mark;
    why->p[mark] = '\0';
    v->kind = !shared ? IMG_V_FILE : (v->prot & PROT_WRITE) ? IMG_V_FILE_SH : IMG_V_FILE_RO;
    v->fsize = (uint64_t) st.st_size;
    v->mtime_sec = (uint64_t) st.st_mtim.tv_sec;
    v->mtime_nsec = (uint32_t) st.st_mtim.tv_nsec;
    return 0;
}

/* ---- judging the process ---------------------------------------------------------------------- */

int task_list (int *tids, int max)
{
    return list_numbers ("/proc/self/task", tids, max, NULL);
}

/* A thread under seccomp cannot move: a filter's program can be read
   back only with privilege (PTRACE_SECCOMP_GET_FILTER), and a restored
   thread without it would be out of the sandbox it put itself in. */
static int judge_seccomp (int tid, sb_t *why)
{
    static char st[4096];
    char p[64];
    proc_path (p, sizeof p, "task/", (uint64_t) tid, "/status");
    if (gl_read_file (p, st, sizeof st) <= 0)
        return 0; /* the thread ended meanwhile: the snapshot's list says */
    uint64_t mode;
    if (!gl_status_field (st, "Seccomp:", 10, &mode) || !mode)
        return 0;
    sb_s (why, "thread ");
    sb_u (why, (uint64_t) tid);
    sb_s (why, mode == 1 ? " is in seccomp's strict mode"
                         : " runs under a seccomp filter (the kernel gives a filter back only to "
                           "a privileged reader, and the restored thread would run without it)");
    return -1;
}

/* Judges every descriptor, mapping, thread and child: 0 movable, or -1
   with the first reason.  skip: a descriptor of the checkpoint's own.
   tree: a process of a tree (tree.h), whose children are the tree's and
   whose pipe ends and shared memory are noted for the root to judge. */
int judge (sb_t *why, int skip, bool tree)
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
    for (int i = 0; i < n; i++)
        if (judge_seccomp (tids[i], why))
            return -1;
    char ipc[256];
    if (sysvipc_judge (ipc, sizeof ipc)) {
        sb_s (why, ipc);
        return -1;
    }
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
            sb_again (why, "): try again");
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
        if ((f.kind == IMG_F_FILE || f.kind == IMG_F_DIR) && ++files > FILES_MAX) {
            sb_s (why, "more than 256 open regular files and directories");
            return -1;
        }
        if (IMG_F_IS_KOBJ (f.kind)) { /* each made again alone: one descriptor each */
            static uint8_t state[KDATA_MAX];
            img_fd_t kf;
            char kwhy[256];
            if (kobj_read (fds[i], f.kind, &kf, state, sizeof state, kwhy, sizeof kwhy)) {
                sb_s (why, kwhy);
                return -1;
            }
            /* events queued now would be lost: the program reads them in
               an instant (those that come while it is stopped are lost,
               glunix(7)) */
            int unread = 0;
            if (f.kind == IMG_F_INOTIFY && !ioctl (fds[i], FIONREAD, &unread) && unread > 0) {
                sb_fd (why, fds[i]);
                sb_again (why, "an inotify instance holds events not read yet: try again");
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
