/*  tree.c -- a job's process tree checkpointed as one (tree.h says how;
    capture.c does each process's part).

    Runs in the signal handler of the root or of a member, or in the
    root's writer (a raw fork): static memory and system calls only. */
#include "tree.h"
#include "kobj.h"

#include "capture.h"
#include "capture_impl.h"
#include "fd.h"
#include "sig.h"
#include "ckpt_proto.h"
#include "str.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The members' answers, from the root's signal to every member's SNAP:
   one budget for all the steps, under the host's 5 s for the root's
   answer (sched/jobs_ckpt.c CKPT_ANSWER_MS), so that the reason a
   member gives, or names it as the one that did not answer, reaches
   the asker instead of the host's "did not answer in time". */
#define BUDGET_NS 4000000000ull
#define PIPES_MAX 4096 /* pipe ends in the whole tree */
#define SHMS_MAX  1024 /* shared anonymous mappings in the whole tree */

typedef struct {
    uint64_t ino;
    int fd, mode, who; /* who: the process's index in the tree */
} tpipe_t;

typedef struct {
    uint64_t ino, addr, end; /* a shared mapping's object, start and end */
    int who;
} tshm_t;

typedef struct {
    uint64_t ino, peer;
    int fd, who;
} tsock_t;
#define SOCKS_MAX 1024 /* ends of unix socket pairs in the whole tree */

/* A regular file's descriptor: which of them share one open file
   description (one offset), across the tree's processes too, is told
   with kcmp(2) once every process is parked (snap_all). */
typedef struct {
    uint64_t dev, ino, pos; /* pos: its offset, one for all that share it */
    int fd, who;
    uint32_t id; /* its description's, 0: its own */
} tfile_t;
#define TFILES_MAX 4096 /* regular files' descriptors in the whole tree */

typedef struct {
    pid_t real; /* the kernel's id */
    int parent; /* its index; -1: the root */
    int sock;   /* its rendezvous connection, -1 before it connects */
    uint32_t vpid;
    pid_t pgid, sid; /* the kernel's */
    bool zombie;     /* ended, not waited for: noted, never asked */
    uint32_t status; /* a zombie's wait status */
    char name[20];
} member_t;

static struct {
    bool on;     /* a tree's checkpoint is under way in this process (the root) or its writer */
    pid_t owner; /* the root whose descriptors these are (a fork's copy is not) */
    int listen;
    int n; /* processes, [0] the root */
    member_t m[IMG_MAX_PROCS];
    img_tree_t table;
    int n_pipes, n_shm;
    tpipe_t pipes[PIPES_MAX];
    tshm_t shm[SHMS_MAX];
    int n_socks;
    tsock_t socks[SOCKS_MAX];
    int n_files;
    tfile_t files[TFILES_MAX];
    bool too_many;     /* more pipes or mappings than noted */
    uint64_t deadline; /* of the members' answers (BUDGET_NS) */
} tr = { .listen = -1 };

/* This process's descriptors that share an open file description, and
   the description's id, as the root told them (tree_file_share). */
typedef struct {
    int fd;
    uint32_t id;
} share_t;
static share_t own[FILES_MAX];
static int n_own;

/* ---- helpers ----------------------------------------------------------------------------- */

/* The kernel's ids, by raw system calls: libc's getpid, getpgid,
   getsid and sigqueue are the shim's wrappers, which translate through
   a restored tree's table (shim/pids.c), while everything here speaks
   of the processes as /proc lists them. */
static pid_t real_pid (void)
{
    return (pid_t) syscall (SYS_getpid);
}

static pid_t real_pgid (void)
{
    return (pid_t) syscall (SYS_getpgid, 0);
}

static pid_t real_sid (void)
{
    return (pid_t) syscall (SYS_getsid, 0);
}

static int queue_signal (pid_t pid, int value)
{
    return gl_sigqueue_thread (pid, GL_CKPT_SIGNO, value);
}

/* "/proc/<pid><tail>" */
static void pid_path (char *out, size_t cap, pid_t pid, const char *tail)
{
    sb_t b = { out, 0, cap, false };
    out[0] = '\0';
    sb_s (&b, "/proc/");
    sb_u (&b, (uint64_t) pid);
    sb_s (&b, tail);
}

/* One line (without its newline) from fd, read a byte at a time so
   that nothing after it is taken (a member's image follows its lines).
   0 at end of file, on an error, or at the deadline (0: none). */
static int read_line (int fd, char *buf, size_t cap, uint64_t deadline)
{
    size_t n = 0;
    for (;;) {
        if (deadline) {
            uint64_t now = now_ns ();
            if (now >= deadline)
                return 0;
            struct pollfd p = { fd, POLLIN, 0 };
            int k = poll (&p, 1, (int) ((deadline - now) / 1000000 + 1));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return 0;
        }
        char c;
        ssize_t got = read (fd, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 1;
}

static bool starts (const char *s, const char *w)
{
    return !strncmp (s, w, strlen (w));
}

/* "process <pid> (<name>): " */
static void sb_member (sb_t *b, const member_t *m)
{
    sb_s (b, "process ");
    sb_u (b, (uint64_t) m->real);
    if (m->name[0]) {
        sb_s (b, " (");
        sb_s (b, m->name);
        sb_s (b, ")");
    }
}

/* ---- what judging a process notes -------------------------------------------------------- */

void tree_note_reset (void)
{
    tr.on = false;
    tr.n_pipes = tr.n_shm = tr.n_socks = tr.n_files = 0;
    tr.too_many = false;
}

static void add_file (int fd, uint64_t dev, uint64_t ino, uint64_t pos, int who)
{
    if (tr.n_files == TFILES_MAX) {
        tr.too_many = true;
        return;
    }
    tr.files[tr.n_files++] = (tfile_t){ dev, ino, pos, fd, who, 0 };
}

/* Each regular file's descriptor of this process: fn (fd, dev, ino, pos). */
static void each_file (void (*fn) (int, uint64_t, uint64_t, uint64_t, void *), void *arg)
{
    static int fds[IMG_MAX_FDS + 1];
    int dfd = -1;
    int n = list_numbers ("/proc/self/fd", fds, IMG_MAX_FDS, &dfd);
    for (int i = 0; i < n && i < IMG_MAX_FDS; i++) {
        struct stat st;
        if (fds[i] != dfd && !fstat (fds[i], &st) && S_ISREG (st.st_mode))
            fn (fds[i], (uint64_t) st.st_dev, (uint64_t) st.st_ino,
                (uint64_t) lseek (fds[i], 0, SEEK_CUR), arg);
    }
}

static void add_pipe (int fd, uint64_t ino, int mode, int who)
{
    if (tr.n_pipes == PIPES_MAX) {
        tr.too_many = true;
        return;
    }
    tr.pipes[tr.n_pipes++] = (tpipe_t){ ino, fd, mode, who };
}

static void add_shm (uint64_t ino, uint64_t addr, uint64_t end, int who)
{
    if (tr.n_shm == SHMS_MAX) {
        tr.too_many = true;
        return;
    }
    tr.shm[tr.n_shm++] = (tshm_t){ ino, addr, end, who };
}

void tree_note_pipe (int fd, uint64_t ino, int accmode)
{
    add_pipe (fd, ino, accmode, 0);
}

static void add_sock (int fd, uint64_t ino, uint64_t peer, int who)
{
    if (tr.n_socks == SOCKS_MAX) {
        tr.too_many = true;
        return;
    }
    tr.socks[tr.n_socks++] = (tsock_t){ ino, peer, fd, who };
}

void tree_note_usock (int fd, uint64_t ino, uint64_t peer)
{
    add_sock (fd, ino, peer, 0);
}

void tree_note_shm (uint64_t id, uint64_t start, uint64_t end)
{
    add_shm (id, start, end, 0);
}

/* Kept with the shared mappings, marked, inode 0 (all such objects have
   the kernel's one anonymous inode: kobj_same tells them apart): either
   shared between two processes does not move. */
#define KOBJ_MARK (1ull << 63)

void tree_note_kobj (int fd)
{
    add_shm (0, KOBJ_MARK | (uint64_t) fd, 0, 0);
}

/* ---- the tree ------------------------------------------------------------------------------ */

/* Whether pid was made with no exit signal (/proc/<pid>/stat's 38th
   field): the shim's own image writers (capture.c's raw fork), which
   are not the program's and end by themselves. */
static bool no_exit_signal (pid_t pid)
{
    char path[64], buf[1024];
    pid_path (path, sizeof path, pid, "/stat");
    if (gl_read_file (path, buf, sizeof buf) <= 0)
        return false;
    const char *s = strrchr (buf, ')');
    for (int field = 2; s && field < 38; field++) /* s: before field + 1 */
        s = strchr (s + 1, ' ');
    return s && parse_num (s + 1, 10, NULL) == 0 && s[1] == '0';
}

/* The children of pid, appended to real[]/parent[] from *n (at most
   IMG_MAX_PROCS in all): 0, or -1 when there are more.  The shim's
   image writers are left out. */
static int children (pid_t pid, int idx, pid_t *real, int *parent, int *n)
{
    static int tids[IMG_MAX_THREADS + 1];
    char dir[64], path[96], buf[4096];
    pid_path (dir, sizeof dir, pid, "/task");
    int k = list_numbers (dir, tids, IMG_MAX_THREADS, NULL);
    for (int t = 0; t < k && t < IMG_MAX_THREADS; t++) {
        sb_t b = { path, 0, sizeof path, false };
        sb_s (&b, dir);
        sb_s (&b, "/");
        sb_u (&b, (uint64_t) tids[t]);
        sb_s (&b, "/children");
        if (gl_read_file (path, buf, sizeof buf) <= 0)
            continue;
        for (const char *s = buf; *s;) {
            if (*s < '0' || *s > '9') {
                s++;
                continue;
            }
            pid_t c = (pid_t) parse_num (s, 10, &s);
            if (no_exit_signal (c))
                continue;
            if (*n == IMG_MAX_PROCS)
                return -1;
            real[*n] = c;
            parent[*n] = idx;
            (*n)++;
        }
    }
    return 0;
}

/* The whole tree under the root, parents first: how many (the root
   included), or -1 when more than IMG_MAX_PROCS. */
static int enumerate (pid_t root, pid_t *real, int *parent)
{
    int n = 1;
    real[0] = root;
    parent[0] = -1;
    for (int i = 0; i < n; i++)
        if (children (real[i], i, real, parent, &n))
            return -1;
    return n;
}

bool tree_has_children (void)
{
    static pid_t real[IMG_MAX_PROCS];
    static int parent[IMG_MAX_PROCS];
    int n = 1;
    real[0] = real_pid ();
    return children (real[0], 0, real, parent, &n) || n > 1;
}

/* Whether a member shares its parent's memory: a vfork child that has
   not executed its program yet.  Its handler would run on its parent's
   stack and in the parent's copy of the shim's state, while the parent
   waits in vfork (and does not answer); it is given SHIM_START_NS to
   execute its program.  kcmp(2) tells, for a process of the same user;
   where it cannot, the member is taken as not sharing. */
static bool shares_parent (const member_t *m)
{
    return m->parent >= 0 && syscall (SYS_kcmp, m->real, tr.m[m->parent].real, KCMP_VM, 0, 0) == 0;
}

/* What /proc says of a member, before it is asked: 0, or -1 and why,
   or 1 when it is gone (ended and waited for).
   A process that has just executed a program catches nothing until its
   shim has started: it is given SHIM_START_NS to get there. */
#define SHIM_START_NS 300000000ull

/* A zombie member, from /proc/<pid>/stat: its ids (the program's, as
   the root translates them) and its wait status (field 52, exit_code,
   readable for a process of the same user; the core-dumped bit is not
   kept).  It has no shim to ask and is restored as a child that ends
   at once (restore_tree.c).  0, or 1 when it was reaped meanwhile. */
static int note_zombie (member_t *m)
{
    char path[64], buf[1024];
    pid_path (path, sizeof path, m->real, "/stat");
    if (gl_read_file (path, buf, sizeof buf) <= 0)
        return 1;
    const char *s = strrchr (buf, ')'); /* the name may hold anything */
    if (!s || s[1] != ' ' || s[2] != 'Z')
        return 1;
    uint64_t f[53] = { 0 };
    int field = 3;
    for (s += 3; field < 52 && (s = strchr (s, ' ')); s++) /* s: before field + 1 */
        f[++field] = parse_num (s + 1, 10, NULL);
    if (field != 52)
        return 1;
    m->pgid = (pid_t) f[5];
    m->sid = (pid_t) f[6];
    m->status = (uint32_t) f[52] & 0xff7f;
    m->vpid = (uint32_t) ckpt_virt_pid (m->real);
    m->zombie = true;
    return 0;
}

static int judge_member (member_t *m, sb_t *why)
{
    char path[64], buf[4096];
    pid_path (path, sizeof path, m->real, "/status");
    uint64_t t0 = now_ns ();
again:
    if (gl_read_file (path, buf, sizeof buf) <= 0)
        return 1; /* it ended and was waited for: the tree is another */
    const char *s = strstr (buf, "Name:");
    if (s) {
        s += 5 + strspn (s + 5, " \t");
        size_t k = strcspn (s, "\n");
        gl_strlcpy (m->name, s, k + 1 < sizeof m->name ? k + 1 : sizeof m->name);
    }
    s = strstr (buf, "State:");
    char state = s ? s[6 + strspn (s + 6, " \t")] : '?';
    s = strstr (buf, "Uid:");
    uint64_t uid = s ? parse_num (s + 4 + strspn (s + 4, " \t"), 10, NULL) : ~0ull;
    s = strstr (buf, "SigCgt:");
    uint64_t cgt = s ? parse_num (s + 7 + strspn (s + 7, " \t"), 16, NULL) : 0;
    if (state == 'X')
        return 1; /* being reaped: the tree is another */
    if (state == 'Z' && uid == (uint64_t) getuid ())
        return note_zombie (m);
    bool vforked = shares_parent (m);
    if ((vforked || !(cgt & (1ull << (GL_CKPT_SIGNO - 1)))) && now_ns () - t0 < SHIM_START_NS &&
        now_ns () < tr.deadline) {
        struct timespec ts = { 0, 5000000 };
        nanosleep (&ts, NULL);
        goto again;
    }
    sb_member (why, m);
    if (state == 'T' || state == 't')
        sb_s (why, " is stopped");
    else if (uid != (uint64_t) getuid ())
        sb_s (why, " runs as another user");
    else if (vforked)
        sb_again (why, " was made by vfork and has not executed its program yet: try again");
    else if (!(cgt & (1ull << (GL_CKPT_SIGNO - 1))))
        sb_s (why, " runs without the shim (GLUNIX_SHIM=0, or a program that does not load it)");
    else {
        why->n = 0;
        why->p[0] = '\0';
        return 0;
    }
    return -1;
}

static void rdv_addr (struct sockaddr_un *a, socklen_t *len, pid_t root, unsigned nonce)
{
    memset (a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    sb_t b = { a->sun_path + 1, 0, sizeof a->sun_path - 1, false }; /* abstract: a NUL first */
    sb_s (&b, "glunix-tree-");
    sb_u (&b, (uint64_t) root);
    sb_s (&b, "-");
    sb_u (&b, nonce);
    *len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + b.n);
}

static int find_real (pid_t real)
{
    for (int i = 0; i < tr.n; i++)
        if (tr.m[i].real == real)
            return i;
    return -1;
}

/* Every member lets go (a member not yet connected finds no rendezvous,
   or a closed one, and goes on); the root's side is closed. */
static void let_go (void)
{
    tree_answer ('G');
    tree_close ();
}

/* A member's lines up to its verdict: 0 (want: "PARKED" or "MOVABLE"),
   or -1 with why. */
static int hear_member (int i, const char *want, uint64_t deadline, sb_t *why)
{
    member_t *m = &tr.m[i];
    char line[GL_CKPT_LINE_MAX];
    for (;;) {
        if (!read_line (m->sock, line, sizeof line, deadline)) {
            sb_member (why, m);
            sb_s (why, " did not answer the checkpoint within 4 s");
            return -1;
        }
        const char *s = line;
        if (starts (line, "GLCKPT "))
            continue;
        if (starts (line, "MEMBER ")) {
            m->vpid = (uint32_t) parse_num (s + 7, 10, &s);
            m->pgid = (pid_t) parse_num (s + 1, 10, &s);
            m->sid = (pid_t) parse_num (s + 1, 10, &s);
        }
        else if (starts (line, "PIPE ")) {
            int fd = (int) parse_num (s + 5, 10, &s);
            uint64_t ino = parse_num (s + 1, 10, &s);
            add_pipe (fd, ino, s[0] == ' ' && s[1] == 'w' ? O_WRONLY : O_RDONLY, i);
        }
        else if (starts (line, "USOCK ")) {
            int fd = (int) parse_num (s + 6, 10, &s);
            uint64_t ino = parse_num (s + 1, 10, &s);
            add_sock (fd, ino, parse_num (s + 1, 10, NULL), i);
        }
        else if (starts (line, "FILE ")) {
            int fd = (int) parse_num (s + 5, 10, &s);
            uint64_t dev = parse_num (s + 1, 10, &s), ino = parse_num (s + 1, 10, &s);
            add_file (fd, dev, ino, parse_num (s + 1, 10, NULL), i);
        }
        else if (starts (line, "SHM ")) {
            uint64_t ino = parse_num (s + 4, 10, &s), addr = parse_num (s + 1, 10, &s);
            add_shm (ino, addr, parse_num (s + 1, 10, NULL), i);
        }
        else if (!strcmp (line, want))
            return 0;
        else {
            sb_member (why, m);
            sb_s (why, ": ");
            if (starts (line, "AGAIN ")) /* for an instant of its own */
                sb_again (why, line + 6);
            else
                sb_s (why,
                      starts (line, "REFUSE ") ? line + 7 : "an answer the shim does not know");
            return -1;
        }
    }
}

/* Whether the tree's processes are the ones listed (tr.m) still. */
static bool same_tree (void)
{
    static pid_t real[IMG_MAX_PROCS];
    static int parent[IMG_MAX_PROCS];
    int n = enumerate (real_pid (), real, parent);
    bool same = n == tr.n;
    for (int i = 0; same && i < n; i++)
        same = find_real (real[i]) >= 0;
    return same;
}

/* Whether nothing holds the other end of the pipe that a member's fd
   is an end of any more.  Each process judged its own pipes as it
   answered (judge.c's pipe_widowed), the root first of all, before the
   tree was listed: a writer that ended since (a pipeline's first stage,
   done) leaves an end that pairs with nothing, and that moves alone.
   The end is opened again through /proc (a reader or a writer more,
   for an instant) and polled: no writer, or no reader, left. */
static bool end_widowed (pid_t real, int fd, int mode)
{
    char path[64];
    pid_path (path, sizeof path, real, "/fd/");
    sb_t b = { path, strlen (path), sizeof path, false };
    sb_u (&b, (uint64_t) fd);
    int f = open (path, (mode == O_RDONLY ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return false;
    struct stat st;
    struct pollfd p = { .fd = f, .events = mode == O_RDONLY ? POLLIN : POLLOUT };
    bool widowed = !fstat (f, &st) && S_ISFIFO (st.st_mode) && poll (&p, 1, 0) == 1 &&
                   (p.revents & (mode == O_RDONLY ? POLLHUP : POLLERR));
    close (f);
    return widowed;
}

/* Whether the root's own unix socket fd has no peer any more: the root
   judged its descriptors before the tree was listed, and a member that
   held the peer may have ended since.  Its image must say the peer is
   closed (restore_tree.c pairs ends by their peers), so the checkpoint
   is taken again rather than passed. */
static bool root_sock_widowed (int fd)
{
    struct stat st;
    img_fd_t f;
    bool not_unix = false;
    char why[256];
    return !fstat (fd, &st) && S_ISSOCK (st.st_mode) &&
           !usock_judge (fd, (uint64_t) st.st_ino, &f, &not_unix, why, sizeof why) && !f.pos;
}

/* The whole tree's pipes and shared memory: 0, or -1 with why. */
static int judge_between (sb_t *why)
{
    if (tr.too_many) {
        sb_s (why, "more than 4096 pipe ends, 4096 open regular files, 1024 unix sockets or 1024 "
                   "shared mappings in the job");
        return -1;
    }
    for (int i = 0; i < tr.n_socks; i++) {
        const tsock_t *k = &tr.socks[i];
        int j = 0;
        while (j < tr.n_socks && tr.socks[j].ino != k->peer)
            j++;
        if (j == tr.n_socks) {
            sb_member (why, &tr.m[k->who]);
            sb_s (why, ": fd ");
            sb_u (why, (uint64_t) k->fd);
            if (k->who == 0 && root_sock_widowed (k->fd))
                sb_again (why, ": a unix socket whose peer ended as the checkpoint began: try "
                               "again");
            else
                sb_s (why, ": a unix socket connected to a process outside the job");
            return -1;
        }
    }
    for (int i = 0; i < tr.n_pipes; i++) {
        const tpipe_t *p = &tr.pipes[i];
        int j = 0;
        while (j < tr.n_pipes && !(tr.pipes[j].ino == p->ino && tr.pipes[j].mode != p->mode))
            j++;
        if (j == tr.n_pipes && !end_widowed (tr.m[p->who].real, p->fd, p->mode)) {
            sb_member (why, &tr.m[p->who]);
            sb_s (why, ": fd ");
            sb_u (why, (uint64_t) p->fd);
            sb_s (why, ": a pipe to a process outside the job");
            return -1;
        }
    }
    for (int i = 0; i < tr.n_shm; i++)
        for (int j = i + 1; j < tr.n_shm; j++)
            /* shared memory moves shared where every process maps it
               whole at one place (a fork's: restore_tree.c makes it
               once), a kernel object does not */
            if (tr.shm[i].ino == tr.shm[j].ino && tr.shm[i].who != tr.shm[j].who &&
                ((!(tr.shm[i].addr & KOBJ_MARK) &&
                  (tr.shm[i].addr != tr.shm[j].addr || tr.shm[i].end != tr.shm[j].end)) ||
                 ((tr.shm[j].addr & KOBJ_MARK) &&
                  kobj_same (tr.m[tr.shm[i].who].real, (int) (tr.shm[i].addr & ~KOBJ_MARK),
                             tr.m[tr.shm[j].who].real, (int) (tr.shm[j].addr & ~KOBJ_MARK))))) {
                sb_s (why, "processes ");
                sb_u (why, (uint64_t) tr.m[tr.shm[i].who].real);
                sb_s (why, " and ");
                sb_u (why, (uint64_t) tr.m[tr.shm[j].who].real);
                if (tr.shm[i].addr & KOBJ_MARK) {
                    sb_s (why, " share an eventfd, a timerfd, a signalfd or an epoll instance "
                               "(fd ");
                    sb_u (why, tr.shm[i].addr & ~KOBJ_MARK);
                    sb_s (why, " of the first), which does not move shared");
                    return -1;
                }
                sb_s (why, " share memory mapped at two places (0x");
                sb_x (why, tr.shm[i].addr);
                sb_s (why, " and 0x");
                sb_x (why, tr.shm[j].addr);
                sb_s (why, "), which does not move");
                return -1;
            }
    return 0;
}

/* The program's id for a process group or session the kernel names:
   the tree's process that leads it, or the root's own (outside). */
static int virt_group (pid_t real, pid_t roots, uint32_t *out)
{
    int i = find_real (real);
    if (i >= 0)
        *out = i ? tr.m[i].vpid : tr.table.p[0].vpid;
    else if (real == roots)
        *out = (uint32_t) real;
    else
        return -1;
    return 0;
}

/* The TREE record's table: 0, or -1 with why. */
static int build_table (uint32_t vpid, uint32_t vppid, sb_t *why)
{
    img_tree_t *t = &tr.table;
    t->n = (uint32_t) tr.n;
    t->p[0] = (img_tproc_t){ .vpid = vpid, .vppid = vppid, .flags = IMG_P_ROOT };
    for (int i = 1; i < tr.n; i++)
        t->p[i] =
            (img_tproc_t){ .vpid = tr.m[i].vpid,
                           .vppid = t->p[tr.m[i].parent].vpid,
                           .flags = tr.m[i].zombie ? IMG_P_ZOMBIE | tr.m[i].status << 16 : 0 };
    pid_t pg = real_pgid (), sid = real_sid ();
    tr.m[0].pgid = pg;
    tr.m[0].sid = sid;
    for (int i = 0; i < tr.n; i++) {
        for (int j = 0; j < i; j++)
            if (t->p[j].vpid == t->p[i].vpid) {
                sb_member (why, &tr.m[i]);
                sb_s (why, " has the id another process of the job had before a restore");
                return -1;
            }
        if (virt_group (tr.m[i].pgid, pg, &t->p[i].vpgid)) {
            sb_member (why, &tr.m[i]);
            sb_s (why, " is in a process group outside the job");
            return -1;
        }
        if (virt_group (tr.m[i].sid, sid, &t->p[i].vsid)) {
            sb_member (why, &tr.m[i]);
            sb_s (why, " is in a session outside the job");
            return -1;
        }
    }
    return 0;
}

/* A member that has not connected yet and has ended (a zombie, or
   gone): a process exits with the signal still pending, unanswered (a
   compiler finishing as make is asked).  Its index, or -1. */
#define SILENT_NS 50000000ull
static int ended_silent (void)
{
    for (int i = 1; i < tr.n; i++) {
        if (tr.m[i].sock >= 0 || tr.m[i].zombie)
            continue;
        char path[64], buf[512];
        pid_path (path, sizeof path, tr.m[i].real, "/stat");
        ssize_t k = gl_read_file (path, buf, sizeof buf);
        const char *e = k > 0 ? strrchr (buf, ')') : NULL; /* the name may hold anything */
        if (!e || e[1] != ' ' || e[2] == 'Z' || e[2] == 'X')
            return i;
    }
    return -1;
}

static int begin (int req, uint32_t vpid, uint32_t vppid, sb_t *why)
{
    static pid_t real[IMG_MAX_PROCS];
    static int parent[IMG_MAX_PROCS];
    int n = 0;
    tr.owner = real_pid ();
    tr.deadline = now_ns () + BUDGET_NS;
    /* a member that ends meanwhile (a zombie reaped, a short command
       done) makes the tree another: it is listed again */
    for (int round = 0, gone = 1; gone; round++) {
        if (round == 8) {
            sb_again (why, "processes of the job keep ending while the checkpoint is taken: try "
                           "again");
            return -1;
        }
        n = enumerate (tr.owner, real, parent);
        if (n < 0) {
            sb_s (why, "more than 256 processes");
            return -1;
        }
        tr.n = n;
        gone = 0;
        for (int i = 0; i < n && !gone; i++) {
            tr.m[i] = (member_t){ .real = real[i], .parent = parent[i], .sock = -1 };
            gone = i ? judge_member (&tr.m[i], why) : 0;
            if (gone < 0)
                return -1;
        }
    }
    if (n == 1) /* its children ended meanwhile: a single process after all */
        return judge_between (why);
    unsigned nonce = (unsigned) ((now_ns () ^ ((uint64_t) real[0] << 20)) & 0xffffff) | 1;
    struct sockaddr_un a;
    socklen_t alen;
    rdv_addr (&a, &alen, real[0], nonce);
    tr.listen = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tr.listen < 0 || bind (tr.listen, (struct sockaddr *) &a, alen) ||
        listen (tr.listen, IMG_MAX_PROCS)) {
        tree_close ();
        sb_s (why, "no rendezvous for the job's processes");
        return -1;
    }
    tr.on = true;
    int value = TREE_REQ_MEMBER | (req & TREE_REQ_KIND) | (int) (nonce << 8);
    int got = 1;
    for (int i = 1; i < n; i++)
        if (tr.m[i].zombie) /* nothing to ask: counted as answered */
            got++;
        else if (queue_signal (tr.m[i].real, value)) {
            let_go ();
            sb_member (why, &tr.m[i]);
            sb_again (why, " ended while the checkpoint was taken: try again");
            return -1;
        }
    uint64_t deadline = tr.deadline;
    while (got < n) {
        uint64_t now = now_ns ();
        struct pollfd p = { tr.listen, POLLIN, 0 };
        uint64_t left = now < deadline ? deadline - now : 0;
        int k =
            left ? poll (&p, 1, (int) ((left < SILENT_NS ? left : SILENT_NS) / 1000000 + 1)) : 0;
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0 && left) { /* a silent member may have ended with the signal pending */
            int i = ended_silent ();
            if (i < 0)
                continue;
            let_go ();
            sb_member (why, &tr.m[i]);
            sb_again (why, " ended while the checkpoint was taken: try again");
            return -1;
        }
        if (k <= 0) {
            int i = 1;
            while (i < n && (tr.m[i].sock >= 0 || tr.m[i].zombie))
                i++;
            let_go ();
            sb_member (why, &tr.m[i < n ? i : 1]);
            sb_s (why, " did not answer the checkpoint within 4 s");
            return -1;
        }
        int c = accept4 (tr.listen, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        struct ucred cr;
        socklen_t cl = sizeof cr;
        int i = getsockopt (c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) ? -1 : find_real (cr.pid);
        if (i <= 0 || tr.m[i].sock >= 0 || tr.m[i].zombie || cr.uid != getuid ()) {
            close (c); /* not one of ours */
            continue;
        }
        tr.m[i].sock = c;
        got++;
    }
    close (tr.listen);
    tr.listen = -1;
    const char *want = (req & TREE_REQ_KIND) == GL_CKPT_PROBE ? "MOVABLE" : "PARKED";
    for (int i = 1; i < n; i++)
        if (!tr.m[i].zombie && hear_member (i, want, deadline, why)) {
            let_go ();
            return -1;
        }
    if (judge_between (why) || build_table (vpid, vppid, why)) {
        /* a process forked or ended since the tree was listed holds, or
           held, the other end of what was judged: a pipe "to a process
           outside the job" was a shell's pipeline being made */
        if (!why->again && !same_tree ()) {
            why->n = 0;
            why->p[0] = '\0';
            sb_again (why, "a process of the job started or ended while the checkpoint was "
                           "taken: try again");
        }
        let_go ();
        return -1;
    }
    return 0;
}

/* -1 with the reason, 1 with a reason of an instant (tree.h) */
static int said (int rc, const sb_t *why)
{
    return rc ? why->again ? 1 : -1 : 0;
}

int tree_begin (int req, uint32_t vpid, uint32_t vppid, char *whyb, size_t cap)
{
    sb_t why = { whyb, 0, cap, false };
    whyb[0] = '\0';
    return said (begin (req, vpid, vppid, &why), &why);
}

static void root_file (int fd, uint64_t dev, uint64_t ino, uint64_t pos, void *arg)
{
    (void) arg;
    add_file (fd, dev, ino, pos, 0);
}

/* Which regular files' descriptors of the tree share an open file
   description, every process parked: ids for the groups, kept for the
   root (own); 0, or -1 with why when kcmp(2) cannot tell. */
static int find_shares (sb_t *why)
{
    int n = 0; /* the members' descriptors, noted before they parked; the root's now */
    while (n < tr.n_files && tr.files[n].who != 0)
        n++;
    tr.n_files = n;
    each_file (root_file, NULL);
    if (tr.too_many) {
        sb_s (why, "more than 4096 open regular files in the job");
        return -1;
    }
    uint32_t next = 0;
    for (int j = 0; j < tr.n_files; j++) {
        tfile_t *b = &tr.files[j];
        for (int k = 0; k < j && !b->id; k++) {
            tfile_t *a = &tr.files[k];
            if (a->dev != b->dev || a->ino != b->ino || a->pos != b->pos) /* else two */
                continue;
            int rc = !a->who && !b->who ? kobj_cmp_own (a->fd, b->fd)
                                        : kobj_cmp (a->who ? tr.m[a->who].real : 0, a->fd,
                                                    b->who ? tr.m[b->who].real : 0, b->fd);
            if (rc < 0) {
                sb_member (why, &tr.m[b->who]);
                sb_s (why, ": fd ");
                sb_u (why, (uint64_t) b->fd);
                sb_s (why, ": whether it shares its offset with fd ");
                sb_u (why, (uint64_t) a->fd);
                sb_s (why, " of process ");
                sb_u (why, (uint64_t) tr.m[a->who].real);
                sb_s (why, " (the same file) cannot be told: kcmp(2) fails here");
                return -1;
            }
            if (rc == 0)
                b->id = a->id ? a->id : (a->id = ++next);
        }
    }
    n_own = 0;
    for (int j = 0; j < tr.n_files; j++)
        if (tr.files[j].who == 0 && tr.files[j].id && n_own < FILES_MAX)
            own[n_own++] = (share_t){ tr.files[j].fd, tr.files[j].id };
    return 0;
}

static int snap_all (sb_t *why)
{
    if (!same_tree ()) {
        let_go ();
        sb_again (why, "a process of the job started or ended while the checkpoint was taken: "
                       "try again");
        return -1;
    }
    if (find_shares (why)) {
        let_go ();
        return -1;
    }
    for (int j = 0; j < tr.n_files; j++) /* each member's ids before its SNAP */
        if (tr.files[j].who && tr.files[j].id) {
            char line[64];
            sb_t b = { line, 0, sizeof line, false };
            sb_u (&b, (uint64_t) tr.files[j].fd);
            sb_s (&b, " ");
            sb_u (&b, tr.files[j].id);
            say (tr.m[tr.files[j].who].sock, "FILE", line);
        }
    for (int i = 1; i < tr.n; i++)
        if (!tr.m[i].zombie)
            say (tr.m[i].sock, "SNAP", NULL);
    uint64_t deadline = tr.deadline;
    char line[GL_CKPT_LINE_MAX];
    for (int i = 1; i < tr.n; i++) {
        if (tr.m[i].zombie)
            continue;
        if (!read_line (tr.m[i].sock, line, sizeof line, deadline) || !starts (line, "SNAP ")) {
            let_go ();
            sb_member (why, &tr.m[i]);
            sb_s (why, ": ");
            if (starts (line, "AGAIN "))
                sb_again (why, line + 6);
            else
                sb_s (why, starts (line, "REFUSE ") ? line + 7 : "its snapshot was not taken");
            return -1;
        }
    }
    return 0;
}

int tree_snap (char *whyb, size_t cap)
{
    sb_t why = { whyb, 0, cap, false };
    whyb[0] = '\0';
    return said (snap_all (&why), &why);
}

void tree_answer (char answer)
{
    if (!tr.on || tr.owner != real_pid ())
        return;
    for (int i = 1; i < tr.n; i++)
        if (tr.m[i].sock >= 0)
            say (tr.m[i].sock, answer == 'H' ? "HOLD" : "GO", NULL);
}

void tree_close (void)
{
    if (tr.owner != real_pid ())
        return;
    for (int i = 1; i < tr.n; i++)
        if (tr.m[i].sock >= 0) {
            close (tr.m[i].sock);
            tr.m[i].sock = -1;
        }
    if (tr.listen >= 0)
        close (tr.listen);
    tr.listen = -1;
    tr.on = false;
    tr.owner = 0;
}

bool tree_owns_fd (int fd)
{
    if (!tr.on)
        return false;
    if (fd == tr.listen)
        return true;
    for (int i = 1; i < tr.n; i++)
        if (tr.m[i].sock == fd)
            return true;
    return false;
}

int tree_size (void)
{
    return tr.on ? tr.n : 1;
}

/* ---- the image ------------------------------------------------------------------------------ */

size_t tree_put_table (img_enc_t *e, uint8_t *out, size_t cap)
{
    return tr.on ? img_put_tree (e, &tr.table, out, cap) : 0;
}

/* One member's image, from its connection, onto out: its records less
   header and END.  0, or -1 with why. */
static int pass_one (int i, img_enc_t *e, bool (*put) (void *, const uint8_t *, size_t), void *arg,
                     uint8_t *buf, size_t cap, sb_t *why)
{
    img_dec_t d;
    img_dec_init (&d);
    size_t have = 0, at = 0;
    for (;;) {
        img_rec_t rec;
        size_t used;
        const char *w = NULL;
        int r = img_dec_next (&d, buf + at, have - at, &rec, &used, &w);
        if (r < 0) {
            sb_member (why, &tr.m[i]);
            sb_s (why, ": its image is corrupt: ");
            sb_s (why, w);
            return -1;
        }
        if (r == 1) {
            if (rec.type == IMG_FAIL) {
                static char reason[IMG_PATH_MAX];
                uint32_t flags;
                sb_member (why, &tr.m[i]);
                sb_s (why, ": ");
                if (img_get_fail (&rec, reason, &flags, &w))
                    sb_s (why, w);
                else if (flags & IMG_FAIL_AGAIN) /* its writer's, for an instant */
                    sb_again (why, reason);
                else
                    sb_s (why, reason);
                return -1;
            }
            if (rec.type == IMG_TREE) {
                sb_member (why, &tr.m[i]);
                sb_s (why, ": its image is of a tree");
                return -1;
            }
            if (rec.type != IMG_HEADER && rec.type != IMG_END) {
                if (!put (arg, buf + at, used)) {
                    sb_s (why, "the image could not be written");
                    return -1;
                }
                img_enc_pass (e, &rec);
            }
            at += used;
            if (img_dec_done (&d))
                return 0;
            continue;
        }
        memmove (buf, buf + at, have - at);
        have -= at;
        at = 0;
        ssize_t k = read (tr.m[i].sock, buf + have, cap - have);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            sb_member (why, &tr.m[i]);
            sb_s (why, ": its image ends before its END record");
            return -1;
        }
        have += (size_t) k;
    }
}

int tree_pass (img_enc_t *e, bool (*put) (void *, const uint8_t *, size_t), void *arg, char *whyb,
               size_t cap)
{
    sb_t why = { whyb, 0, cap, false };
    whyb[0] = '\0';
    if (!tr.on)
        return 0;
    size_t bcap = 2 * (IMG_REC_HDR + IMG_REC_MAX) + IMG_HDR_SIZE;
    uint8_t *buf = mmap (NULL, bcap, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (buf == MAP_FAILED) {
        sb_s (&why, "no memory to pass the job's processes' images");
        return -1;
    }
    int rc = 0;
    for (int i = 1; i < tr.n && rc == 0; i++)
        if (!tr.m[i].zombie) /* a zombie has no records */
            rc = pass_one (i, e, put, arg, buf, bcap, &why);
    munmap (buf, bcap);
    return said (rc, &why);
}

/* ---- a member ------------------------------------------------------------------------------ */

int tree_member_connect (pid_t root, int value)
{
    pid_t p = (pid_t) syscall (SYS_getppid);
    for (int depth = 0; p > 1 && p != root && depth < IMG_MAX_PROCS; depth++)
        p = gl_parent_of (p);
    if (p != root || root <= 1)
        return -1;
    struct sockaddr_un a;
    socklen_t alen;
    rdv_addr (&a, &alen, root, (unsigned) value >> 8);
    int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ucred cr;
    socklen_t cl = sizeof cr;
    if (connect (s, (struct sockaddr *) &a, alen) ||
        getsockopt (s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || cr.pid != root ||
        cr.uid != getuid ()) {
        close (s);
        return -1;
    }
    return s;
}

void tree_member_report (int s, pid_t vpid)
{
    char line[128];
    sb_t b = { line, 0, sizeof line, false };
    sb_s (&b, "MEMBER ");
    sb_u (&b, (uint64_t) vpid);
    sb_s (&b, " ");
    sb_u (&b, (uint64_t) real_pgid ());
    sb_s (&b, " ");
    sb_u (&b, (uint64_t) real_sid ());
    say (s, line, NULL);
    for (int i = 0; i < tr.n_pipes; i++) {
        b = (sb_t){ line, 0, sizeof line, false };
        sb_s (&b, "PIPE ");
        sb_u (&b, (uint64_t) tr.pipes[i].fd);
        sb_s (&b, " ");
        sb_u (&b, tr.pipes[i].ino);
        sb_s (&b, tr.pipes[i].mode == O_WRONLY ? " w" : " r");
        say (s, line, NULL);
    }
    for (int i = 0; i < tr.n_socks; i++) {
        b = (sb_t){ line, 0, sizeof line, false };
        sb_s (&b, "USOCK ");
        sb_u (&b, (uint64_t) tr.socks[i].fd);
        sb_s (&b, " ");
        sb_u (&b, tr.socks[i].ino);
        sb_s (&b, " ");
        sb_u (&b, tr.socks[i].peer);
        say (s, line, NULL);
    }
    for (int i = 0; i < tr.n_shm; i++) {
        b = (sb_t){ line, 0, sizeof line, false };
        sb_s (&b, "SHM ");
        sb_u (&b, tr.shm[i].ino);
        sb_s (&b, " ");
        sb_u (&b, tr.shm[i].addr);
        sb_s (&b, " ");
        sb_u (&b, tr.shm[i].end);
        say (s, line, NULL);
    }
    if (tr.too_many) /* the root judges the whole; this one noted too many to tell */
        say (s, "REFUSE", "more than 4096 pipe ends or 1024 shared mappings");
}

static void member_file (int fd, uint64_t dev, uint64_t ino, uint64_t pos, void *arg)
{
    char line[96];
    sb_t b = { line, 0, sizeof line, false };
    sb_u (&b, (uint64_t) fd);
    sb_s (&b, " ");
    sb_u (&b, dev);
    sb_s (&b, " ");
    sb_u (&b, ino);
    sb_s (&b, " ");
    sb_u (&b, pos);
    say (*(int *) arg, "FILE", line);
}

void tree_member_files (int s)
{
    each_file (member_file, &s);
}

int tree_member_wait_snap (int s)
{
    char line[64];
    n_own = 0;
    for (;;) {
        if (!read_line (s, line, sizeof line, 0))
            return 0;
        if (!starts (line, "FILE "))
            return !strcmp (line, "SNAP");
        const char *p = line + 5;
        int fd = (int) parse_num (p, 10, &p);
        if (n_own < FILES_MAX)
            own[n_own++] = (share_t){ fd, (uint32_t) parse_num (p + 1, 10, NULL) };
    }
}

uint32_t tree_file_share (int fd)
{
    for (int i = 0; i < n_own; i++)
        if (own[i].fd == fd)
            return own[i].id;
    return 0;
}

void tree_member_hold (int s)
{
    char line[64];
    for (;;) {
        if (!read_line (s, line, sizeof line, 0))
            break;
        if (!strcmp (line, "GO"))
            return;
    }
    /* the root is gone without letting go: it was killed once the image
       was safe (a move), and so is this copy of the job */
    syscall (SYS_kill, real_pid (), SIGKILL);
}
