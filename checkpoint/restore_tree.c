/*  restore_tree.c -- glrestore's restore of a tree image (restore_tree.h
    says what it does; restore.c restores each process). */
#include "restore_tree.h"

#include "ckpt_proto.h"
#include "err.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIPES_MAX 4096

typedef struct {
    uint64_t id, cap;
    const uint8_t *data; /* the first read end's bytes */
    uint32_t len;
    bool rd, wr;
    int r, w; /* made here */
} tpipe_t;

struct rtree {
    img_tree_t table;
    rst_t *p[IMG_MAX_PROCS];
    size_t n;                  /* the PROC records so far */
    size_t live;               /* the processes with records: all but the zombies */
    size_t tix[IMG_MAX_PROCS]; /* PROC k's index in the table */
    tpipe_t pipes[PIPES_MAX];
    size_t n_pipes;
    int *ends[IMG_MAX_PROCS]; /* per process, by FD record: the pipe end it gets */
    struct {
        uint64_t id;
        int fd;
    } socks[PIPES_MAX]; /* the ends of unix socket pairs, made here */
    size_t n_socks;
    struct {
        uint32_t id;
        int fd;
        const img_fd_t *first;
    } files[PIPES_MAX]; /* open files shared by descriptors, opened once here */
    size_t n_files;
};

/* Shared by the tree's processes while they are made: each writes its
   own id, the root builds the table from them. */
typedef struct {
    pidmap_t map;
    int32_t real[IMG_MAX_PROCS];
} shared_t;

rtree_t *rtree_new (const img_rec_t *r, char *err, size_t errlen)
{
    rtree_t *t = calloc (1, sizeof *t);
    const char *why = NULL;
    if (!t) {
        gl_err (err, errlen, "out of memory for the image's tables");
        return NULL;
    }
    if (img_get_tree (r, &t->table, &why)) {
        gl_err (err, errlen, "the image is corrupt: %s", why);
        free (t);
        return NULL;
    }
    for (uint32_t i = 0; i < t->table.n; i++)
        if (!(t->table.p[i].flags & IMG_P_ZOMBIE))
            t->tix[t->live++] = i;
    return t;
}

int rtree_take (rtree_t *t, const img_rec_t *r, char *err, size_t errlen)
{
    if (r->type == IMG_PROC) {
        if (t->n == t->live) /* the decoder counts them too */
            return gl_err (err, errlen, "the image is corrupt: more processes than its TREE");
        t->p[t->n] = rst_new ();
        if (!t->p[t->n])
            return gl_err (err, errlen, "out of memory for the image's tables");
        t->n++;
    }
    if (!t->n)
        return r->type == IMG_END ? 0 : gl_err (err, errlen, "the image is corrupt: no PROC");
    return rst_take (t->p[t->n - 1], r, err, errlen);
}

static tpipe_t *pipe_of (rtree_t *t, uint64_t id)
{
    for (size_t i = 0; i < t->n_pipes; i++)
        if (t->pipes[i].id == id)
            return &t->pipes[i];
    if (t->n_pipes == PIPES_MAX)
        return NULL;
    tpipe_t *p = &t->pipes[t->n_pipes++];
    *p = (tpipe_t){ .id = id, .r = -1, .w = -1 };
    return p;
}

/* Every process checked; the pipes between them gathered and checked:
   both ends in the tree, the bytes of each from its first read end. */
static int check_all (rtree_t *t, char *err, size_t errlen)
{
    if (t->n != t->live)
        return gl_err (err, errlen, "the image is corrupt: fewer processes than its TREE lists");
    char e2[1024];
    for (size_t i = 0; i < t->n; i++) {
        const img_proc_t *pr = rst_proc (t->p[i]);
        if (pr->vpid != t->table.p[t->tix[i]].vpid)
            return gl_err (err, errlen,
                           "the image is corrupt: process %zu is not the one its TREE "
                           "lists there",
                           i);
        if (rst_check (t->p[i], e2, sizeof e2))
            return gl_err (err, errlen, "process %u: %s", pr->vpid, e2);
        for (size_t k = 0; k < rst_n_fds (t->p[i]); k++) {
            const uint8_t *data;
            const img_fd_t *f = rst_fd (t->p[i], k, &data);
            if (f->kind != IMG_F_PIPE)
                continue;
            tpipe_t *p = pipe_of (t, f->fsize);
            if (!p)
                return gl_err (err, errlen, "more than %d pipes", PIPES_MAX);
            bool rd = (f->flags & O_ACCMODE) == O_RDONLY;
            p->rd |= rd;
            p->wr |= !rd;
            if (f->pos > p->cap)
                p->cap = f->pos;
            if (rd && !p->data && f->data_len) {
                p->data = data;
                p->len = f->data_len;
            }
        }
    }
    /* A pipe with only one end in the tree had its other end closed
       everywhere when it was taken (capture.c: pipe_widowed): made
       whole here, its missing end is closed with every descriptor a
       process's image does not name. */
    return 0;
}

/* The end of a unix socket pair that record f names, at a descriptor
   from hi up: the pair made at the first record of either end, with the
   first record of each (which carries its bytes; unixsock.h). */
static int sock_end (rtree_t *t, const img_fd_t *f, int hi, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n_socks; i++)
        if (t->socks[i].id == f->fsize)
            return t->socks[i].fd;
    const img_fd_t *peer = NULL;
    for (size_t i = 0; f->pos && !peer && i < t->n; i++)
        for (size_t k = 0; !peer && k < rst_n_fds (t->p[i]); k++) {
            const uint8_t *data;
            const img_fd_t *g = rst_fd (t->p[i], k, &data);
            if (g->kind == IMG_F_USOCK && g->fsize == f->pos)
                peer = g;
        }
    if ((f->pos && !peer) || (peer && (peer->pos != f->fsize || peer->mtime_sec != f->mtime_sec)))
        return gl_err (err, errlen, "the image is corrupt: a unix socket whose peer is not its");
    if (t->n_socks + 2 > PIPES_MAX)
        return gl_err (err, errlen, "more than %d unix sockets", PIPES_MAX);
    int end[2];
    if (usock_make (f, peer, end, err, errlen))
        return -1;
    for (int e = 0; e < 2 && end[e] >= 0; e++) {
        t->socks[t->n_socks].id = e ? f->pos : f->fsize;
        t->socks[t->n_socks++].fd = fcntl (end[e], F_DUPFD_CLOEXEC, hi);
        close (end[e]);
        if (t->socks[t->n_socks - 1].fd < 0)
            return gl_err (err, errlen, "no descriptor left for the tree's sockets");
    }
    return t->socks[t->n_socks - (end[1] >= 0 ? 2 : 1)].fd;
}

/* An open file that descriptors of the tree share (a child's inherited
   copy, 2>&1: one offset for all), opened once at its first record, at
   a descriptor from hi up; or -1 with the reason. */
static int shared_file (rtree_t *t, const img_fd_t *f, int hi, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n_files; i++) {
        const img_fd_t *g = t->files[i].first;
        if (t->files[i].id != f->stream)
            continue;
        if (strcmp (g->path, f->path) || g->pos != f->pos)
            return gl_err (err, errlen,
                           "the image is corrupt: two descriptors share an open file but not "
                           "its name or offset");
        return t->files[i].fd;
    }
    if (t->n_files == PIPES_MAX)
        return gl_err (err, errlen, "more than %d shared open files", PIPES_MAX);
    int fd = rst_open_file (f, f->path, hi, err, errlen);
    if (fd < 0)
        return -1;
    t->files[t->n_files].id = f->stream;
    t->files[t->n_files].first = f;
    t->files[t->n_files++].fd = fd;
    return fd;
}

/* The pipes, at descriptors from hi up, filled with their bytes; each
   process's table of ends (and of the open files its descriptors share
   with others). */
static int make_pipes (rtree_t *t, int hi, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n_pipes; i++) {
        tpipe_t *p = &t->pipes[i];
        int fd[2];
        if (pipe2 (fd, O_CLOEXEC))
            return gl_err (err, errlen, "no pipe: %s", strerror (errno));
        p->r = fcntl (fd[0], F_DUPFD_CLOEXEC, hi);
        p->w = fcntl (fd[1], F_DUPFD_CLOEXEC, hi);
        close (fd[0]);
        close (fd[1]);
        if (p->r < 0 || p->w < 0)
            return gl_err (err, errlen, "no descriptor left for the tree's pipes");
        if (fcntl (p->w, F_SETPIPE_SZ, (int) p->cap) < 0 && p->len > 65536)
            return gl_err (err, errlen, "a pipe of %llu bytes is not allowed here",
                           (unsigned long long) p->cap);
        for (uint32_t done = 0; done < p->len;) {
            ssize_t k = write (p->w, p->data + done, p->len - done);
            if (k <= 0)
                return gl_err (err, errlen, "a pipe's bytes do not fit back");
            done += (uint32_t) k;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t nf = rst_n_fds (t->p[i]);
        t->ends[i] = calloc (nf + 1, sizeof (int));
        if (!t->ends[i])
            return gl_err (err, errlen, "out of memory");
        for (size_t k = 0; k < nf; k++) {
            const uint8_t *data;
            const img_fd_t *f = rst_fd (t->p[i], k, &data);
            t->ends[i][k] = -1;
            if (f->kind == IMG_F_PIPE) {
                const tpipe_t *p = pipe_of (t, f->fsize);
                t->ends[i][k] = (f->flags & O_ACCMODE) == O_RDONLY ? p->r : p->w;
            }
            if (f->kind == IMG_F_USOCK && (t->ends[i][k] = sock_end (t, f, hi, err, errlen)) < 0)
                return -1;
            if ((f->kind == IMG_F_FILE || f->kind == IMG_F_SHMFD) && f->stream &&
                (t->ends[i][k] = shared_file (t, f, hi, err, errlen)) < 0)
                return -1;
        }
    }
    return 0;
}

static int index_of (const rtree_t *t, uint32_t vpid)
{
    for (size_t i = 0; i < t->table.n; i++)
        if (t->table.p[i].vpid == vpid)
            return (int) i;
    return -1;
}

/* Process j's session and process group, as the image has them: its
   own, or the one of the tree's process that leads it (made before it),
   or the root's. */
static int set_groups (const rtree_t *t, size_t j, const shared_t *sh, pid_t root_pgid, char *err,
                       size_t errlen)
{
    const img_tproc_t *me = &t->table.p[j], *root = &t->table.p[0];
    if (me->vsid == me->vpid) {
        if (setsid () < 0)
            return gl_err (err, errlen, "process %u: no session of its own: %s", me->vpid,
                           strerror (errno));
        return 0;
    }
    pid_t want = 0;
    if (me->vpgid == me->vpid)
        want = getpid ();
    else if (me->vpgid == root->vpgid)
        want = root_pgid;
    else {
        int k = index_of (t, me->vpgid);
        want = k >= 0 ? sh->real[k] : 0;
    }
    if (want <= 0)
        return gl_err (err, errlen, "process %u: its process group's leader is made after it",
                       me->vpid);
    if (getpgid (0) != want && setpgid (0, want))
        return gl_err (err, errlen, "process %u: it cannot join its process group: %s", me->vpid,
                       strerror (errno));
    return 0;
}

typedef struct {
    rtree_t *t;
    shared_t *sh;
    int fd;
    const restore_opts_t *o;
    int go[2];
    pid_t root_pgid;
} make_t;

/* Process i (the table's) becomes its image, with its own copy of the
   table: the shared page is the restorer's and goes (a fork of the
   restored process must not share it with its parent). */
static int become (make_t *m, size_t j, char *err, size_t errlen)
{
    size_t i = 0;
    while (m->t->tix[i] != j)
        i++;
    static pidmap_t map;
    static int32_t real[IMG_MAX_PROCS];
    map = m->sh->map;
    memcpy (real, m->sh->real, sizeof real);
    munmap (m->sh, sizeof *m->sh);
    int rc = rst_become (m->t->p[i], m->fd, m->o, m->t->ends[i], &map, err, errlen);
    for (size_t k = 0; k < m->t->table.n; k++) /* all or nothing */
        if (real[k] > 0 && real[k] != getpid ())
            kill (real[k], SIGKILL);
    return rc;
}

/* A zombie child j of this process: forked, in its process group, it
   ends at once with its status (a signal's with no core file: the
   core-dumped bit is not kept) and is left unreaped, as it was.  Its
   parent ends with no SIGCHLD pending that the original did not have:
   SIGCHLD is blocked around the fork, the child's end awaited without
   reaping it (WNOWAIT), and the signal it raised discarded. */
static int make_zombie (make_t *m, size_t j, char *err, size_t errlen)
{
    const img_tproc_t *z = &m->t->table.p[j];
    uint32_t st = IMG_P_STATUS (z->flags);
    sigset_t chld, old;
    sigemptyset (&chld);
    sigaddset (&chld, SIGCHLD);
    struct sigaction dfl = { .sa_handler = SIG_DFL }, was;
    sigprocmask (SIG_BLOCK, &chld, &old);
    sigaction (SIGCHLD, &dfl, &was); /* ignored, the kernel would reap it */
    pid_t c = fork ();
    if (c < 0)
        return gl_err (err, errlen, "process %u cannot be made: %s", z->vpid, strerror (errno));
    if (c == 0) {
        prctl (59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0, 0, 0, 0);
        if (set_groups (m->t, j, m->sh, m->root_pgid, err, errlen)) {
            fprintf (stderr, "glrestore: %s\n", err);
            _exit (GL_RESTORE_FAILED);
        }
        if (st & 0x7f) {
            struct rlimit none = { 0, 0 };
            setrlimit (RLIMIT_CORE, &none);
            signal ((int) (st & 0x7f), SIG_DFL);
            sigset_t all;
            sigfillset (&all);
            sigprocmask (SIG_UNBLOCK, &all, NULL);
            syscall (SYS_kill, syscall (SYS_getpid), (int) (st & 0x7f));
        }
        _exit ((int) (st >> 8) & 0xff);
    }
    m->sh->real[j] = c;
    siginfo_t si;
    memset (&si, 0, sizeof si);
    while (waitid (P_PID, (id_t) c, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    int code = si.si_code == CLD_EXITED ? si.si_status << 8 : si.si_status;
    if (si.si_pid != c ||
        (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED) ||
        (uint32_t) code != st)
        return gl_err (err, errlen, "process %u (a zombie) could not be made with its status",
                       z->vpid);
    struct timespec zero = { 0, 0 };
    while (sigtimedwait (&chld, NULL, &zero) == SIGCHLD) {
    }
    sigaction (SIGCHLD, &was, NULL);
    sigprocmask (SIG_SETMASK, &old, NULL);
    return 0;
}

/* Forks the children of process i (this one), each of which makes its
   own before it says it is ready.  0 in process i once they are all
   ready; -1 with the reason in a process that failed (which ends). */
static int make_children (make_t *m, size_t i, char *err, size_t errlen)
{
    rtree_t *t = m->t;
    for (size_t j = 1; j < t->table.n; j++) {
        if (t->table.p[j].vppid != t->table.p[i].vpid)
            continue;
        if (t->table.p[j].flags & IMG_P_ZOMBIE) {
            if (make_zombie (m, j, err, errlen))
                return -1;
            continue;
        }
        int ready[2];
        if (pipe2 (ready, O_CLOEXEC))
            return gl_err (err, errlen, "no pipe: %s", strerror (errno));
        pid_t c = fork ();
        if (c < 0)
            return gl_err (err, errlen, "process %u cannot be made: %s", t->table.p[j].vpid,
                           strerror (errno));
        if (c == 0) {
            /* the shim, preloaded into glrestore, arms a fork's child:
               the second stage's system calls are made outside libc */
            prctl (59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0, 0, 0, 0);
            close (ready[0]);
            close (m->go[1]);
            m->sh->real[j] = getpid ();
            if (set_groups (t, j, m->sh, m->root_pgid, err, errlen) ||
                make_children (m, j, err, errlen))
                return -1;
            char b = 'r';
            if (write (ready[1], &b, 1) != 1)
                return gl_err (err, errlen, "process %u: its parent is gone", t->table.p[j].vpid);
            close (ready[1]);
            /* every process made and the table built, or the root gave up */
            if (read (m->go[0], &b, 1) != 1)
                _exit (GL_RESTORE_FAILED);
            close (m->go[0]);
            return become (m, j, err, errlen);
        }
        close (ready[1]);
        char b;
        ssize_t k;
        while ((k = read (ready[0], &b, 1)) < 0 && errno == EINTR) {
        }
        close (ready[0]);
        if (k != 1)
            return gl_err (err, errlen, "process %u could not be made (see above)",
                           t->table.p[j].vpid);
    }
    return 0;
}

int rtree_run (rtree_t *t, int fd, const restore_opts_t *o, char *err, size_t errlen)
{
    if (check_all (t, err, errlen))
        return -1;
    if (o->check_only)
        return 0;
    for (size_t i = 0; i < t->n; i++)
        if (rst_cut_files (t->p[i], err, errlen))
            return -1;
    if (rst_shm_files (t->p, t->n, err, errlen) || rst_share (t->p, t->n, err, errlen))
        return -1;
    int hi = 3;
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; k < rst_n_fds (t->p[i]); k++) {
            const uint8_t *data;
            int f = (int) rst_fd (t->p[i], k, &data)->fd;
            if (f >= hi)
                hi = f + 1;
        }
    if (fd >= hi)
        hi = fd + 1;
    if (make_pipes (t, hi + 8, err, errlen))
        return -1;
    make_t m = { .t = t, .fd = fd, .o = o, .root_pgid = getpgid (0) };
    m.sh = mmap (NULL, sizeof *m.sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m.sh == MAP_FAILED)
        return gl_err (err, errlen, "no memory for the tree's process ids");
    if (pipe2 (m.go, O_CLOEXEC))
        return gl_err (err, errlen, "no pipe: %s", strerror (errno));
    m.sh->real[0] = getpid ();
    if (make_children (&m, 0, err, errlen))
        return -1; /* in the root, the children see the end of go and end */
    /* every process exists: the ids, old to new, then all go on */
    const char *why = NULL;
    pidmap_init (&m.sh->map);
    for (size_t i = 0; i < t->table.n; i++)
        if (pidmap_add (&m.sh->map, (pid_t) t->table.p[i].vpid, m.sh->real[i], &why))
            return gl_err (err, errlen, "the tree's process ids: %s", why);
    close (m.go[0]);
    char go[IMG_MAX_PROCS];
    memset (go, 'g', sizeof go);
    if (write (m.go[1], go, t->live - 1) != (ssize_t) (t->live - 1))
        return gl_err (err, errlen, "the tree's processes could not be let go");
    close (m.go[1]);
    return become (&m, 0, err, errlen);
}
