/*  writer.c -- the image's writer: the raw fork of a parked process
    (capture.c makes it) writes the image (glunix-image(5)) to the host's
    socket while the job runs again: the process's registers, threads,
    mappings, descriptors and every page it has, compressed where it
    pays.  Its memory is the job's at the moment of the fork; what the
    fork does not pass on, the coordinator read for it beforehand (snap,
    capture_impl.h).

    A move whose image goes the move's own link (ckpt_proto.h, "A move's
    stream") is sealed here, onto the connection to the new host's
    restorer that the host handed over with the key (imgsealw.h): the
    agent stays off the image's path, and learns only the stream's end
    (END) or why it broke (UNSENT) on the socket.  The key, its schedule
    and every stack frame that handles them stay in the writer's arena,
    which the image leaves out: the writer runs on a stack there.

    Runs in the raw fork: system calls, the stack, static memory and its
    own mmap'd arena; no malloc, no stdio (capture.c says why). */
#include "capture_impl.h"

#include "fd.h"
#include "forkadv.h"
#include "image.h"
#include "imgsealw.h"
#include "str.h"
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the image's writer (in the fork) ---------------------------------------------------------- */

#define OUT_CAP   (4u << 20)
#define MAPS_CAP  (32u << 20)
#define PATHS_CAP (16u << 20)
#define STACK_CAP (256u << 10) /* the writer's own stack, in the arena */

/* A move's sealed stream: image bytes a chunk carries, as the agent's
   chunks did (sched/jobs_ckpt.c); the chunks of one flush of the
   output; how long the restorer may take nothing before the writer
   gives up. */
#define SEAL_CHUNK  (256u << 10)
#define SEAL_MAX    (OUT_CAP / SEAL_CHUNK + 1)
#define NET_IDLE_MS 60000

typedef struct {
    uint64_t start, end, offset, fsize, mtime_sec;
    uint32_t prot, kind, flags, mtime_nsec, path_off;
} cvma_t;

typedef struct {
    int sock;
    int net;          /* a move's own link (the sealed stream goes there), or -1 */
    imgsealw_t *seal; /* its sealer, in the arena */
    uint8_t (*heads)[IS_HEAD], (*tags)[IS_TAG];
    struct iovec *iov; /* 3 * SEAL_MAX: head, bytes, tag of each chunk */
    int net_err;       /* why the link broke: errno, or 0 for taking nothing in time */
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

/* All of iov onto the link, waiting (a while) while it is full. */
static bool net_send (wr_t *w, struct iovec *iov, int cnt)
{
    while (cnt) {
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t) cnt };
        ssize_t k = sendmsg (w->net, &mh, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN) { /* the host made it non-blocking */
            struct pollfd p = { w->net, POLLOUT, 0 };
            int r = poll (&p, 1, NET_IDLE_MS);
            if (r == 0) {
                w->net_err = 0;
                return false;
            }
            continue;
        }
        if (k < 0) {
            w->net_err = errno;
            return false;
        }
        while (cnt && (size_t) k >= iov->iov_len) {
            k -= (ssize_t) iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt) {
            iov->iov_base = (uint8_t *) iov->iov_base + k;
            iov->iov_len -= (size_t) k;
        }
    }
    return true;
}

/* n bytes at p (at most OUT_CAP), sealed where they are into chunks and
   sent; last: the stream's last chunk is among them. */
static bool net_seal (wr_t *w, uint8_t *p, size_t n, bool last)
{
    int k = 0;
    size_t off = 0;
    do {
        size_t len = n - off < SEAL_CHUNK ? n - off : SEAL_CHUNK;
        if (imgsealw_seal (w->seal, p + off, len, last && off + len == n, w->heads[k], w->tags[k]))
            return false;
        w->iov[3 * k] = (struct iovec){ w->heads[k], IS_HEAD };
        w->iov[3 * k + 1] = (struct iovec){ p + off, len };
        w->iov[3 * k + 2] = (struct iovec){ w->tags[k], IS_TAG };
        k++;
        off += len;
    } while (off < n);
    return net_send (w, w->iov, 3 * k);
}

static void wr_flush (wr_t *w)
{
    if (!w->dead && w->n &&
        !(w->net >= 0 ? net_seal (w, w->out, w->n, false) : write_all (w->sock, w->out, w->n)))
        w->dead = true;
    w->n = 0;
}

/* The writer's end once its output broke: on a move's link, the host
   hears why (UNSENT); on the socket, the host has gone. */
static void wr_died (wr_t *w) __attribute__ ((noreturn));
static void wr_died (wr_t *w)
{
    if (w->net >= 0) {
        char whyb[160];
        sb_t b = { whyb, 0, sizeof whyb, false };
        int e = w->net_err;
        sb_s (&b, "the image's connection to the new host's restorer ");
        if (!e)
            sb_s (&b, "took nothing for 60 s");
        else if (e == EPIPE || e == ECONNRESET)
            sb_s (&b, "was closed by the restorer");
        else if (e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH)
            sb_s (&b, "broke: the new host cannot be reached");
        else {
            sb_s (&b, "broke (errno ");
            sb_u (&b, (uint64_t) e);
            sb_s (&b, ")");
        }
        say (w->sock, "UNSENT", whyb);
        shutdown (w->sock, SHUT_WR);
    }
    syscall (SYS_exit_group, 1);
    __builtin_unreachable ();
}

/* The end of a move's sealed stream: its last chunk, the connection's
   end, and END for the host. */
static void net_end (wr_t *w)
{
    if (!w->dead && !net_seal (w, w->out + w->n, 0, true))
        w->dead = true;
    if (w->dead)
        wr_died (w);
    shutdown (w->net, SHUT_WR);
    say (w->sock, "END", NULL);
}

/* Room for a record of up to need bytes. */
static uint8_t *wr_room (wr_t *w, size_t need)
{
    if (OUT_CAP - w->n < need)
        wr_flush (w);
    return w->out + w->n;
}

/* The image ends in a FAIL record (flags: IMG_FAIL_AGAIN for a reason
   of an instant, which the move's new host passes on as such). */
static void wr_failed (wr_t *w, const char *why, uint32_t flags)
{
    size_t k =
        img_put_fail (&w->enc, why, flags, wr_room (w, IMG_PATH_MAX + 64), IMG_PATH_MAX + 64);
    w->n += k;
    wr_flush (w);
    if (w->net >= 0) /* the restorer reads the reason, as from the host */
        net_end (w);
    shutdown (w->sock, SHUT_WR);
    syscall (SYS_exit_group, 1);
}

static void wr_fail (wr_t *w, const char *why)
{
    wr_failed (w, why, 0);
}

/* why, as judge_fd or tree_pass left it */
static void wr_fail_sb (wr_t *w, const sb_t *why)
{
    wr_failed (w, why->p, why->again ? IMG_FAIL_AGAIN : 0);
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
    sb_t b = { p, 0, sizeof p, false };
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
    if (gl_ends_with (p->cwd, " (deleted)"))
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
        if ((s->policy & ~IMG_SCHED_RESET_ON_FORK) == 6) /* SCHED_DEADLINE */
            wr_fail (w, "a thread is scheduled SCHED_DEADLINE, whose runtime, deadline and "
                        "period a checkpoint does not carry");
        if (s->policy || s->nice || s->rtprio || s->pdeath || s->persona ||
            (s->caps[0] | s->caps[1] | s->caps[2])) {
            t.flags |= IMG_T_ATTRS;
            t.policy = s->policy;
            t.nice = s->nice;
            t.rtprio = s->rtprio;
            t.pdeath = s->pdeath;
            t.persona = s->persona;
            memcpy (t.caps, s->caps, sizeof t.caps);
        }
        if (s->nnp)
            t.flags |= IMG_T_NNP;
        if ((t.flags & IMG_T_LEADER) && s->nodump)
            t.flags |= IMG_T_NODUMP;
        if ((t.flags & IMG_T_LEADER) && s->subreaper)
            t.flags |= IMG_T_SUBREAPER;
        thread_name (s->tid, t.name);
        w->n += img_put_thread (&w->enc, &t, wr_room (w, 512), 512);
    }
}

/* The mappings, judged again in the fork (one may have come since the
   probe), less the writer's own arena.  From smaps rather than maps:
   its VmFlags line says which were advised to use huge pages (or not
   to), which the restorer does again (the kernel keeps that advice in
   the mapping, outside memory).  Reading smaps walks the page tables:
   here, in the fork, while the job runs.  A mapping advised
   MADV_DONTFORK or MADV_WIPEONFORK is one the process noted before the
   fork, which had the advice taken off (forkadv.h): it is cut where
   that advice starts and stops, and each part marked. */
static void wr_scan_vmas (wr_t *w)
{
    int fd = open ("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        wr_fail (w, "/proc/self/smaps cannot be read");
    char rbuf[4096];
    static char line[IMG_PATH_MAX + 256];
    lr_t r = { fd, rbuf, sizeof rbuf, 0, 0 };
    char whyb[512];
    int last = -1; /* the first part of the mapping the lines after its own are about */
    while (lr_next (&r, line, sizeof line)) {
        if (!((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))) {
            if (last >= 0 && !strncmp (line, "VmFlags:", 8))
                for (int i = last; i < w->n_vmas; i++)
                    w->vmas[i].flags |= forkadv_vmflags (line) & (IMG_VF_HUGE | IMG_VF_NOHUGE);
            continue;
        }
        last = -1;
        sb_t why = { whyb, 0, sizeof whyb, false };
        int rc = judge_vma (line, w->v, &why);
        if (rc < 0)
            wr_fail (w, whyb);
        if (rc > 0 || (w->v->start < (uint64_t) (uintptr_t) (w->arena + w->arena_len) &&
                       w->v->end > (uint64_t) (uintptr_t) w->arena))
            continue;
        size_t len = strlen (w->v->path) + 1;
        if (PATHS_CAP - w->paths_n < len)
            wr_fail (w, "the paths of the mappings are too long");
        memcpy (w->paths + w->paths_n, w->v->path, len);
        last = w->n_vmas;
        for (uint64_t at = w->v->start, cut; at < w->v->end; at = cut) {
            uint32_t adv = forkadv_flags (at, w->v->end, &cut);
            if (w->n_vmas == IMG_MAX_VMAS)
                wr_fail (w, "more than 65536 mappings");
            cvma_t *c = &w->vmas[w->n_vmas++];
            c->flags = adv;
            c->start = at;
            c->end = cut;
            c->prot = w->v->prot;
            c->kind = w->v->kind;
            c->offset = w->v->offset; /* a file's part: where in the file it starts */
            if (c->kind == IMG_V_FILE || c->kind == IMG_V_FILE_RO || c->kind == IMG_V_FILE_SH)
                c->offset += at - w->v->start;
            c->fsize = w->v->fsize;
            c->mtime_sec = w->v->mtime_sec;
            c->mtime_nsec = w->v->mtime_nsec;
            c->path_off = (uint32_t) w->paths_n;
        }
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
                    w->fds[i] == w->pagemap || w->fds[i] == w->net || tree_owns_fd (w->fds[i]);
        for (int j = 0; j < snap.n_pipes; j++)
            ours |= w->fds[i] == snap.pipes[j].rd;
        if (!ours)
            w->fds[k++] = w->fds[i];
    }
    w->n_fds = k;
}

/* A descriptor that was not there when the job was stopped: the image
   would not be the snapshot's. */
static void wr_fail_new_fd (wr_t *w, int fd, const char *what)
{
    char whyb[160];
    sb_t b = { whyb, 0, sizeof whyb, false };
    sb_fd (&b, fd);
    sb_s (&b, what);
    sb_again (&b, " that was not there when the process was stopped: try again");
    wr_fail_sb (w, &b);
}

/* Where the snapshot noted regular or shared-memory descriptor fd, or
   the writer fails: it was opened after the job was stopped. */
static int snap_file (wr_t *w, int fd)
{
    int j = 0;
    while (j < snap.n_files && snap.files[j].fd != fd)
        j++;
    if (j == snap.n_files)
        wr_fail_new_fd (w, fd, "a file");
    return j;
}

static void wr_fds (wr_t *w)
{
    char whyb[512];
    for (int i = 0; i < w->n_fds; i++) {
        img_fd_t *f = w->fds_scratch;
        sb_t why = { whyb, 0, sizeof whyb, false };
        if (judge_fd (w->fds[i], f, &why))
            wr_fail_sb (w, &why);
        if (f->kind == IMG_F_FILE) { /* as it was while the job was stopped */
            if (snap.file_why[0])
                wr_fail (w, snap.file_why);
            int j = snap_file (w, (int) f->fd);
            f->stream = snap.files[j].share;
            f->pos = (uint64_t) snap.files[j].pos;
            f->fsize = (uint64_t) snap.files[j].st.st_size;
            f->mtime_sec = (uint64_t) snap.files[j].st.st_mtim.tv_sec;
            f->mtime_nsec = (uint32_t) snap.files[j].st.st_mtim.tv_nsec;
        }
        if (f->kind == IMG_F_DIR) { /* as it was while the job was stopped */
            if (snap.file_why[0])
                wr_fail (w, snap.file_why);
            int j = snap_file (w, (int) f->fd);
            f->pos = (uint64_t) (snap.files[j].pos > 0 ? snap.files[j].pos : 0);
            f->fsize = (uint64_t) snap.files[j].st.st_size;
            f->mtime_sec = (uint64_t) snap.files[j].st.st_mtim.tv_sec;
            f->mtime_nsec = (uint32_t) snap.files[j].st.st_mtim.tv_nsec;
            f->data = (const uint8_t *) snap.files[j].entry; /* being read: the entry at pos */
            f->data_len = f->pos ? (uint32_t) strlen (snap.files[j].entry) : 0;
        }
        if (f->kind == IMG_F_SHMFD) { /* its bytes (the job is held during a move) */
            if (snap.file_why[0])
                wr_fail (w, snap.file_why);
            int j = snap_file (w, (int) f->fd);
            f->pos = (uint64_t) snap.files[j].pos;
            f->stream = snap.files[j].share;
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
                wr_fail_new_fd (w, (int) f->fd,
                                j == snap.n_usocks ? "a unix socket" : "another unix socket");
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
                wr_fail_new_fd (w, (int) f->fd,
                                "a kernel object (eventfd, timerfd, signalfd, epoll)");
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
    if (c->kind == IMG_V_SPECIAL || c->kind == IMG_V_FILE_RO || c->kind == IMG_V_FILE_SH ||
        c->prot == 0)
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
                    wr_died (w);
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

/* Runs fn (arg) on the stack that ends at top; fn never returns. */
void wr_on_stack (void *arg, void (*fn) (void *), void *top)
    __attribute__ ((noreturn, visibility ("hidden")));
__asm__(".text\n"
        ".globl wr_on_stack\n"
        ".hidden wr_on_stack\n"
        ".type wr_on_stack, @function\n"
        "wr_on_stack:\n"
        "    mov %rdx, %rsp\n"
        "    call *%rsi\n"
        "    ud2\n"
        ".size wr_on_stack, .-wr_on_stack\n");

static int hexval (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A move's own link: the key from the host's SEAL line (checked by the
   coordinator), then the line's page wiped and gone from this fork
   before the mappings are read. */
static void wr_seal_start (wr_t *w)
{
    if (!snap.seal_page)
        return;
    uint8_t key[IS_KEY_BYTES];
    const char *h = snap.seal_page + 5; /* "SEAL " */
    bool ok = true;
    for (int i = 0; i < IS_KEY_BYTES; i++) {
        int hi = hexval (h[2 * i]), lo = hexval (h[2 * i + 1]);
        ok &= hi >= 0 && lo >= 0;
        key[i] = (uint8_t) (hi << 4 | lo);
    }
    imgsealw_init (w->seal, key, 1); /* chunk 0 was the host's */
    volatile uint8_t *v = key;
    for (int i = 0; i < IS_KEY_BYTES; i++)
        v[i] = 0;
    volatile char *pg = snap.seal_page;
    for (int i = 0; i < SEAL_PAGE; i++)
        pg[i] = 0;
    munmap (snap.seal_page, SEAL_PAGE);
    snap.seal_page = NULL;
    w->net = snap.seal_fd;
    if (!ok) /* cannot be: the coordinator read it */
        syscall (SYS_exit_group, 1);
}

/* The members' records of a tree, after the root's own. */
static bool wr_put (void *arg, const uint8_t *p, size_t n)
{
    wr_t *w = arg;
    if (w->net < 0)
        return write_all (w->sock, p, n);
    memcpy (wr_room (w, n), p, n); /* sealed in place, as the root's */
    w->n += n;
    return !w->dead;
}

/* The writer's life, on its own stack: wait for the parent's SNAP to be
   out, judge again, write the image, exit. */
static void writer_main (void *arg) __attribute__ ((noreturn));
static void writer_main (void *arg)
{
    wr_t *wp = arg, w = *wp;
    int go = snap.pipe_rd;
    wr_seal_start (&w);
    /* SNAP first: the image follows it on the socket */
    char c;
    while (read (go, &c, 1) < 0 && errno == EINTR) {
    }
    w.n += img_put_header (&w.enc, w.out, OUT_CAP);
    /* a move's own link: the chunks' tags vouch for every record, and
       its restorer takes their sums as they stand; summing them cost
       the writer a seventh of its CPU in a move (bench/README.md).  A
       checkpoint to a file (glpeer checkpoint, sealed onto its own
       link too) keeps them: the file is read back later, its sums
       checked. */
    w.enc.unsummed = w.net >= 0 && ck.moving;
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
    int passed = w.dead ? 0 : tree_pass (&w.enc, wr_put, &w, twhy, sizeof twhy);
    if (passed)
        wr_failed (&w, twhy, passed > 0 ? IMG_FAIL_AGAIN : 0);
    w.n += img_put_end (&w.enc, wr_room (&w, 64), 64);
    wr_flush (&w);
    if (w.dead)
        wr_died (&w);
    if (w.net >= 0)
        net_end (&w);
    /* the end of the image: with HOLD the parked process still holds
       the socket, so it is a shutdown (ckpt_proto.h); with GO the
       parent closed its copy, and the end is this process's exit, as
       late as a plain close makes it */
    c = 0;
    while (read (go, &c, 1) < 0 && errno == EINTR) {
    }
    if (c == 'H')
        shutdown (w.sock, SHUT_WR);
    syscall (SYS_exit_group, 0);
    __builtin_unreachable ();
}

/* The fork's life: its arena, then the rest on the arena's stack.
   Never returns. */
void writer (int sock, int go)
{
    wr_t w = { .sock = sock, .net = -1 };
    size_t lz4 = (size_t) LZ4_sizeofState ();
    w.arena_len = OUT_CAP + MAPS_CAP + PATHS_CAP + lz4 + sizeof (cvma_t) * IMG_MAX_VMAS +
                  sizeof (int) * (IMG_MAX_FDS + 1) + sizeof (img_fd_t) + sizeof (img_vma_t) +
                  sizeof (img_proc_t) + IMG_PIPE_MAX + sizeof (imgsealw_t) +
                  SEAL_MAX * (IS_HEAD + IS_TAG + 3 * sizeof (struct iovec)) + STACK_CAP + 8 * 4096;
    w.arena_len = (w.arena_len + 4095) & ~(size_t) 4095;
    w.arena = mmap (NULL, w.arena_len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w.arena == MAP_FAILED)
        syscall (SYS_exit_group, 1);
    uint8_t *a = w.arena;
    uint8_t *stack = a; /* its lowest page a guard */
    mprotect (stack, 4096, PROT_NONE);
    a += STACK_CAP;
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
    a = (uint8_t *) (((uintptr_t) a + 63) & ~(uintptr_t) 63);
    w.seal = (imgsealw_t *) a, a += (sizeof (imgsealw_t) + 63) & ~(size_t) 63;
    w.heads = (uint8_t (*)[IS_HEAD]) a, a += SEAL_MAX * IS_HEAD;
    w.tags = (uint8_t (*)[IS_TAG]) a, a += SEAL_MAX * IS_TAG;
    a = (uint8_t *) (((uintptr_t) a + 63) & ~(uintptr_t) 63);
    w.iov = (struct iovec *) a, a += 3 * SEAL_MAX * sizeof (struct iovec);
    w.pipe_buf = (uint8_t *) (((uintptr_t) a + 63) & ~(uintptr_t) 63);
    w.pagemap = open ("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    snap.pipe_rd = go; /* the host's answer comes on it too */
    wr_on_stack (&w, writer_main, stack + STACK_CAP);
}
