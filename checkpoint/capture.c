/*  capture.c -- the shim's side of a checkpoint (capture.h says how it
    goes; ckpt_proto.h is the contract with the host; glunix-image(5)
    the image).

    Everything here runs inside a signal handler, in a process whose
    other threads may hold any of libc's locks, or in the raw fork of
    such a process: only system calls (through libc's wrappers, which
    Syscall User Dispatch lets through), the stack, static memory and
    mmap.  No malloc, no stdio, no opendir.  What may move is judged in
    judge.c, the image written in writer.c; capture_impl.h is what the
    three share. */
#include "capture.h"
#include "capture_impl.h"

#include "aesgcm.h"
#include "ckpt_proto.h"
#include "fd.h"
#include "forkadv.h"
#include "kobj.h"
#include "owners.h"
#include "pidmap.h"
#include "resume.h"
#include "str.h"
#include "tree.h"
#include "unixsock.h"
#include "vclock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

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

ck_t ck = { .tid_off = -1 };
slot_t slots[IMG_MAX_THREADS];
int n_slots;
static atomic_uint parked, gen;
static atomic_int busy;
static atomic_int parking; /* threads are being stopped: a park signal now is for real */
snap_t snap;
uint8_t snap_kdata[KDATA_MAX];
uint8_t snap_udata[IMG_PIPE_MAX];

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

void sb_again (sb_t *b, const char *s)
{
    sb_s (b, s);
    b->again = true;
}

const char *sb_verb (const sb_t *b)
{
    return b->again ? "AGAIN" : "REFUSE";
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

void sb_fd (sb_t *b, int fd)
{
    sb_s (b, "fd ");
    sb_u (b, (uint64_t) fd);
    sb_s (b, ": ");
}

/* A path under /proc/self with a number: "/proc/self/<a><n><z>". */
void proc_path (char *out, size_t cap, const char *a, uint64_t n, const char *z)
{
    sb_t b = { out, 0, cap, false };
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
    sb_t b = { line, 0, sizeof line - 1, false };
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
    long pol = syscall (SYS_sched_getscheduler, 0);
    struct sched_param sp = { 0 };
    s->policy = pol < 0 ? 0 : (uint32_t) pol;
    s->rtprio = pol > 0 && !syscall (SYS_sched_getparam, 0, &sp) ? (uint32_t) sp.sched_priority : 0;
    long prio = syscall (SYS_getpriority, PRIO_PROCESS, 0); /* 20 - nice: this thread's */
    s->nice = prio > 0 ? (int32_t) (20 - prio) : 0;
    s->nnp = syscall (SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
    int sig = 0;
    s->pdeath = syscall (SYS_prctl, PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 ? (uint32_t) sig : 0;
    long pers = syscall (SYS_personality, 0xffffffffUL);
    s->persona = pers < 0 ? 0 : (uint32_t) pers;
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2] = { 0 };
    s->caps[0] = s->caps[1] = s->caps[2] = 0;
    if (syscall (SYS_capget, &h, d) == 0)
        for (int i = 0; i < 2; i++) {
            s->caps[0] |= (uint64_t) d[i].effective << (32 * i);
            s->caps[1] |= (uint64_t) d[i].permitted << (32 * i);
            s->caps[2] |= (uint64_t) d[i].inheritable << (32 * i);
        }
    s->nodump = syscall (SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
    int reaper = 0;
    s->subreaper = syscall (SYS_prctl, PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0) == 0 && reaper;
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
    owners_former (tid);
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

/* From /proc/self/status, read once in the pause: the signals pending
   for the process as a whole, and whether it has memory locked (which
   forkadv_note then looks for; not known: look). */
static void note_status (void)
{
    static char buf[4096];
    uint64_t lck = 1;
    snap.shared_pending = 0;
    if (gl_read_file ("/proc/self/status", buf, sizeof buf) > 0) {
        gl_status_field (buf, "ShdPnd:", 16, &snap.shared_pending);
        gl_status_field (buf, "VmLck:", 10, &lck);
    }
    snap.locked = lck != 0;
}

/* The directories being read: the entry at each one's position, which
   the restorer must find there again.  The position is a cookie of the
   file system's (a hash of a name on ext4): it names the same point only
   in the same directory, which an entry of another name there tells
   apart from a copy that has the same size and time. */
static void note_dirs (void)
{
    snap.file_why[0] = '\0';
    for (int j = 0; j < snap.n_files; j++) {
        if (!S_ISDIR (snap.files[j].st.st_mode) || snap.files[j].pos <= 0)
            continue;
        char p[64];
        proc_path (p, sizeof p, "fd/", (uint64_t) snap.files[j].fd, "");
        if (gl_dir_entry_at (p, (uint64_t) snap.files[j].pos, snap.files[j].entry,
                             sizeof snap.files[j].entry)) {
            sb_t b = { snap.file_why, 0, sizeof snap.file_why, false };
            sb_fd (&b, snap.files[j].fd);
            sb_s (&b, "a directory being read at a position none of its entries has (seekdir?)");
            return;
        }
    }
}

/* Which of the noted files share an open file description (one offset
   for all: 2>&1 into a file, dup(2)), so that the restorer opens it once
   and gives each the same (restore.c): opened apart, each would write
   over what another wrote since.  A tree's root found them for the whole
   tree (tree.c), across its processes too. */
static void note_shares (bool tree)
{
    uint32_t next = 0;
    for (int j = 0; j < snap.n_files; j++) {
        if (!S_ISREG (snap.files[j].st.st_mode))
            continue;
        if (tree) {
            snap.files[j].share = tree_file_share (snap.files[j].fd);
            continue;
        }
        for (int k = 0; k < j && !snap.files[j].share; k++) {
            if (snap.files[k].st.st_dev != snap.files[j].st.st_dev ||
                snap.files[k].st.st_ino != snap.files[j].st.st_ino)
                continue;
            if (snap.files[k].pos == snap.files[j].pos && /* else two, with two offsets */
                kobj_cmp_own (snap.files[k].fd, snap.files[j].fd) == 0)
                snap.files[j].share =
                    snap.files[k].share ? snap.files[k].share : (snap.files[k].share = ++next);
        }
    }
}

/* Everything of the running process the writer needs that a fork does
   not carry or the job would change once it runs again. */
static void note_process (bool tree)
{
    for (int i = 0; i < 3; i++)
        getitimer (i, &snap.itimer[i]);
    note_status ();
    snap.n_files = 0;
    static int fds[IMG_MAX_FDS + 1];
    int dfd = -1;
    int n = list_numbers ("/proc/self/fd", fds, IMG_MAX_FDS, &dfd);
    for (int i = 0; i < n && snap.n_files < FILES_MAX; i++) {
        struct stat st;
        if (fds[i] == dfd || fstat (fds[i], &st) || !(S_ISREG (st.st_mode) || S_ISDIR (st.st_mode)))
            continue;
        snap.files[snap.n_files].fd = fds[i];
        snap.files[snap.n_files].pos = lseek (fds[i], 0, SEEK_CUR);
        snap.files[snap.n_files].st = st;
        snap.files[snap.n_files].share = 0;
        snap.files[snap.n_files].entry[0] = '\0';
        snap.n_files++;
    }
    note_dirs ();
    note_shares (tree);
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

/* ---- a move's own link ------------------------------------------------------------------ */

/* Forgets the host's SEAL: its page wiped and unmapped, this process's
   copy of the connection closed (the writer's fork keeps its own). */
static void seal_drop (void)
{
    if (snap.seal_page) {
        volatile char *p = snap.seal_page;
        for (int i = 0; i < SEAL_PAGE; i++)
            p[i] = 0;
        munmap (snap.seal_page, SEAL_PAGE);
    }
    snap.seal_page = NULL;
    if (snap.seal_fd >= 0)
        close (snap.seal_fd);
    snap.seal_fd = -1;
}

/* The host's answer to a hello that said seal=1 (ckpt_proto.h): "SEAL
   <key>" with the connection to the new host's restorer attached (then
   snap.seal_fd and snap.seal_page), or "RELAY" (the image on this
   socket, as without seal=1).  The line goes from the socket straight
   into a page of its own: no copy of the key on a stack or in static
   memory, which the image would carry.  Nothing follows it: the host
   says nothing more before SNAP.  0, or -1 with why. */
static int seal_hear (int s, sb_t *why)
{
    snap.seal_fd = -1;
    char *page = mmap (NULL, SEAL_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        sb_s (why, "no memory for the host's answer");
        return -1;
    }
    snap.seal_page = page;
    size_t n = 0;
    while (!memchr (page, '\n', n)) {
        struct pollfd p = { s, POLLIN, 0 };
        int k = n < SEAL_PAGE - 1 ? poll (&p, 1, 10000) : 0;
        if (k < 0 && errno == EINTR)
            continue;
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE (sizeof (int))];
        } cm;
        struct iovec iov = { page + n, SEAL_PAGE - 1 - n };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof cm.b
        };
        ssize_t got = k > 0 ? recvmsg (s, &mh, MSG_CMSG_CLOEXEC) : 0;
        if (got < 0 && errno == EINTR)
            continue;
        for (struct cmsghdr *c = got > 0 ? CMSG_FIRSTHDR (&mh) : NULL; c; c = CMSG_NXTHDR (&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
                c->cmsg_len == CMSG_LEN (sizeof (int))) {
                int fd;
                memcpy (&fd, CMSG_DATA (c), sizeof fd);
                if (snap.seal_fd < 0)
                    snap.seal_fd = fd;
                else
                    close (fd);
            }
        if (got <= 0) {
            seal_drop ();
            sb_s (why, "the host did not say where the image goes");
            return -1;
        }
        n += (size_t) got;
    }
    bool key = n == 5 + 2 * AESGCM_KEY + 1 && !memcmp (page, "SEAL ", 5);
    for (size_t i = 5; key && i < n - 1; i++)
        key = (page[i] >= '0' && page[i] <= '9') || (page[i] >= 'a' && page[i] <= 'f');
    if (key && snap.seal_fd >= 0)
        return 0;
    bool relay = n == 6 && !memcmp (page, "RELAY\n", 6);
    seal_drop ();
    if (relay)
        return 0;
    sb_s (why, "the host's answer to the hello is not SEAL <key> with a connection, nor RELAY");
    return -1;
}

/* Every thread parked, and it cannot be: the tree told, the threads let
   go, the host answered why (verb: REFUSE, or AGAIN for a reason of an
   instant), the request over. */
static void refuse_parked (int s, const char *verb, const char *why)
{
    tree_answer (0);
    tree_close ();
    release_all ();
    say (s, verb, why);
    close (s);
    atomic_store (&busy, 0);
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
    sb_t b = { line, 0, sizeof line, false };
    sb_s (&b, "GLCKPT ");
    sb_u (&b, GL_CKPT_VERSION);
    sb_s (&b, " pid=");
    sb_u (&b, (uint64_t) ck.vpid);
    sb_s (&b, " gpid=");
    sb_s (&b, ck.gpid[0] ? ck.gpid : "0");
    sb_s (&b, " req=");
    sb_u (&b, (uint64_t) req);
    /* a move's image, or a checkpoint's to a file, sealed by our writer
       onto the host's connection (this CPU's instructions asked each
       time: a restored process may run on another) */
    bool sealing =
        !member && (req == GL_CKPT_CONTINUE || req == GL_CKPT_GO_ON) && ck.seal && aesgcm_usable ();
    if (sealing)
        sb_s (&b, " seal=1");
    snap.seal_fd = -1;
    snap.seal_page = NULL;
    say (s, line, NULL);
    static char whyb[GL_CKPT_LINE_MAX - 16];
    sb_t why = { whyb, 0, sizeof whyb, false };
    whyb[0] = '\0';
    if (req != GL_CKPT_PROBE && req != GL_CKPT_CONTINUE && req != GL_CKPT_GO_ON)
        sb_s (&why, "an unknown request");
    else if (ck.tid_off < 0)
        sb_s (&why, "glibc's thread layout is not one the shim knows (its tid was not found)");
    ck.moving = !member && (req == GL_CKPT_CONTINUE || req == GL_CKPT_PROBE);
    bool tree = member || tree_has_children ();
    uint64_t t_tree = now_ns (); /* a tree's members park from here */
    if (!why.n && !judge (&why, s, tree) && tree) {
        if (member)
            tree_member_report (s, ck.vpid);
        /* members hear GO from the root, which says it at once when
           it goes on */
        else {
            int rc = tree_begin (req == GL_CKPT_GO_ON ? GL_CKPT_CONTINUE : req, (uint32_t) ck.vpid,
                                 (uint32_t) ck.vppid, whyb, sizeof whyb);
            why.n = rc ? strlen (whyb) : 0;
            why.again = rc > 0;
        }
    }
    if (why.n || req == GL_CKPT_PROBE) {
        say (s, why.n ? sb_verb (&why) : "MOVABLE", why.n ? whyb : NULL);
        tree_close ();
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    uint64_t t0 = tree && !member ? t_tree : now_ns ();
    if (park_all (&why)) {
        refuse_parked (s, sb_verb (&why), whyb);
        return;
    }
    slot_t *me = slot_of ((int) gettid_ ());
    note_thread (me);
    for (int i = 0; i < n_slots; i++)
        if (slots[i].bad_layout) {
            refuse_parked (s, "REFUSE",
                           "glibc's tid word is not where the shim found it in every thread");
            return;
        }
    /* a tree: every process parked before any snapshot (tree.h) */
    int snapped = 0;
    if (member) {
        tree_member_files (s);
        say (s, "PARKED", NULL);
        if (!tree_member_wait_snap (s)) {
            release_all ();
            close (s);
            atomic_store (&busy, 0);
            return;
        }
    }
    else if (tree && (snapped = tree_snap (whyb, sizeof whyb)) != 0) {
        release_all ();
        say (s, snapped > 0 ? "AGAIN" : "REFUSE", whyb);
        close (s);
        atomic_store (&busy, 0);
        return;
    }
    note_process (tree);
    for (int i = 0; i < n_slots; i++)
        slots[i].pending &= ~snap.shared_pending;
    if (forkadv_note (snap.locked, whyb, sizeof whyb)) {
        refuse_parked (s, "REFUSE", whyb);
        return;
    }
    why = (sb_t){ whyb, 0, sizeof whyb, false };
    if (sealing && seal_hear (s, &why)) {
        refuse_parked (s, sb_verb (&why), whyb);
        return;
    }
    int go[2];
    if (pipe2 (go, O_CLOEXEC)) {
        seal_drop ();
        refuse_parked (s, "REFUSE", "no descriptor left for the snapshot");
        return;
    }
    snap.sock = s;
    snap.pipe_rd = go[0];
    /* going on without the host's answer needs what the job's pipes
       hold now: the host pairs it with what it read and wrote before
       it asked, and then stopped (ckpt_proto.h) */
    snap.go_on = req == GL_CKPT_GO_ON && snap.held_ok;
    vclock_pause (); /* in the image: the clocks as the process saw them */
    uintptr_t r = ckpt_save (&me->ctx);
    if (r != 0) {
        restored ((ckpt_resume_t *) r, me);
        return;
    }
    /* a fork with no exit signal: no SIGCHLD, no atfork handlers; with
       every mapping in it as it is (forkadv.h) */
    forkadv_open ();
    long child = syscall (SYS_clone, 0, 0, NULL, NULL, 0);
    if (child == 0) {
        /* a group of its own: a stop of the job's (Ctrl-Z, glpeer kill
           -STOP) must not stop the image half-way, which its home would
           wait a minute for, taking no other checkpoint meanwhile; at
           the job's end its keeper ends it with the rest (sched/reap.h) */
        syscall (SYS_setpgid, 0, 0);
        close (go[1]);
        writer (s, go[0]);
    }
    forkadv_close ();
    seal_drop (); /* the key and the link are the writer's alone now */
    close (go[0]);
    for (int i = 0; i < snap.n_pipes; i++)
        close (snap.pipes[i].rd);
    if (child < 0) {
        close (go[1]);
        refuse_parked (s, "REFUSE", "the snapshot could not be forked (memory?)");
        return;
    }
    ck.child = (pid_t) child;
    bool on = snap.go_on;
    b = (sb_t){ line, 0, sizeof line, false };
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
        /* the move failed: its image is no one's, and a writer sealing
           onto the move's own link may still be at it */
        syscall (SYS_kill, ck.child, SIGKILL);
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
    vclock_resume (); /* before any thread reads a clock again */
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
    /* glibc's locks that a thread held across the restore, by its old
       id (owners.h): every thread has its new one in its tid word (the
       restorer's clone wrote it) and none runs yet */
    static int old_tids[IMG_MAX_THREADS + 1], new_tids[IMG_MAX_THREADS + 1];
    int n = 0;
    for (int i = 0; i < n_slots && ck.tid_off >= 0; i++)
        if (slots[i].fs) {
            old_tids[n] = slots[i].tid;
            new_tids[n++] = *(int *) (uintptr_t) (slots[i].fs + (uint64_t) ck.tid_off);
        }
    owners_restored (old_tids, new_tids, n);
    owners_former (me->tid);
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
   output events", an event loop that checks epoll_wait's -1 ends).  It is
   made again instead, from the signal frame, where it waited with no
   time limit, until an absolute time, or for a time the kernel wrote
   back as what remains (ppoll, pselect, select through glibc's pselect6,
   a sleep given room for the remainder).  Poll and epoll_wait with a
   limit in milliseconds, which the kernel does not count down, are made
   again with the limit less the time spent in the handler: never over
   before the program's limit, late by at most what it had waited before
   the signal (unknown).  The deadline so given is kept for the thread,
   so that the same call interrupted again waits only for what remains
   of it (checkpoints more often than its limit never starve it); after
   a restore, on another node's clock, it waits its limit afresh.  Which
   call it was: libc's wrappers put "mov $nr, %eax" right before the
   syscall instruction (b8 imm32 0f 05); a call made another way is left
   as it is. */
static __thread __attribute__ ((tls_model ("initial-exec"))) struct {
    const uint8_t *ip;    /* the call last made again with a limit */
    int ms;               /* the limit it was given */
    uint64_t deadline_ns; /* when that limit ends, on this node's clock */
} again_at;

/* The limit, in milliseconds (not negative), that a poll or epoll_wait
   interrupted at ip with limit ms is made again with; t0 when the
   handler began, 0 after a restore. */
static int limit_again (const uint8_t *ip, int ms, uint64_t t0)
{
    uint64_t now = now_ns ();
    uint64_t deadline = t0 ? t0 + (uint64_t) ms * 1000000 : now + (uint64_t) ms * 1000000;
    /* the call we made again, interrupted again: its deadline, which lies
       within its limit of now (one kept from before a restore, on another
       node's clock, need not) */
    if (t0 && again_at.ip == ip && again_at.ms == ms && t0 < again_at.deadline_ns &&
        again_at.deadline_ns <= t0 + (uint64_t) ms * 1000000)
        deadline = again_at.deadline_ns;
    uint64_t left = deadline > now ? deadline - now : 0;
    int rest = (int) ((left + 999999) / 1000000);
    again_at.ip = ip;
    again_at.ms = rest;
    again_at.deadline_ns = deadline;
    return rest;
}

static void unintr (void *uc_, uint64_t t0)
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
        case SYS_poll: /* (fds, n, ms) */
            again = true;
            if ((int) g[REG_RDX] >= 0)
                g[REG_RDX] = limit_again (ip, (int) g[REG_RDX], t0);
            break;
        case SYS_epoll_wait: /* (ep, events, max, ms[, mask]) */
        case SYS_epoll_pwait:
            again = true;
            if ((int) g[REG_R10] >= 0)
                g[REG_R10] = limit_again (ip, (int) g[REG_R10], t0);
            break;
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
    uint64_t t0 = now_ns ();
    unsigned before = atomic_load (&restores);
    if (si->si_code == SI_TKILL && si->si_pid == (pid_t) syscall (SYS_getpid))
        park ();
    else if (si->si_code == SI_QUEUE)
        coordinate (si->si_value.sival_int, si->si_pid);
    bool restored = atomic_load (&restores) != before;
    unintr (uc, restored ? 0 : t0);
    if (restored) /* it was restored meanwhile */
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
    sb_t b = { streams_env, 0, sizeof streams_env, false };
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
    const char *seal = getenv ("GLUNIX_CKPT_SEAL");
    if (sock)
        gl_strlcpy (ck.sock, sock, sizeof ck.sock);
    if (gpid)
        gl_strlcpy (ck.gpid, gpid, sizeof ck.gpid);
    ck.pack = !(pack && !strcmp (pack, "0"));
    ck.seal = !(seal && !strcmp (seal, "0"));
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
    owners_init ();
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
    sb_t b = { pids_env, 0, sizeof pids_env, false };
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
static pid_t restored_as; /* the kernel's id of this process at its last restore */

static void pids_restored (const ckpt_resume_t *info)
{
    pids_before = pids;
    if (pidmap_valid (&info->pidmap))
        pids = info->pidmap;
    else { /* restored alone: a table the image had is another node's */
        memset (&pids, 0, sizeof pids);
        /* its own old id the only entry: its children name it, and it
           leads its process group and session by that id (a shell on a
           terminal, glx -t, sets its jobs' groups and its terminal's
           foreground group by it); those calls translate it too */
        if (ck.vpid != ck.real_pid) {
            pidmap_init (&pids);
            if (pidmap_add (&pids, ck.vpid, ck.real_pid, NULL))
                memset (&pids, 0, sizeof pids);
        }
    }
    pids_var ();
    restored_as = (pid_t) syscall (SYS_getpid);
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

/* A wait4 made again with a translated id returns the child's id on
   this node, which the caller, inside libc, compares with the one it
   holds (system(), pclose(): "!= pid" is a failure, -1).  So fix_call
   makes it again here instead: under the red zone of the interrupted
   stack, a frame of the return address, the id the caller named and
   the one the kernel knows now; the kernel's answer, if it is that
   id, becomes the caller's.  rcx, r11 and the flags are what a
   syscall instruction clobbers anyway.  A move during this wait finds
   the thread at the syscall below, and only the frame's new id and
   rdi change. */
#define WAIT_FRAME (128 + 24)
__asm__(".pushsection .text\n"
        ".globl gl_wait4_again\n"
        ".hidden gl_wait4_again\n"
        ".type gl_wait4_again, @function\n"
        "gl_wait4_again:\n"
        "    syscall\n"
        "    cmp 16(%rsp), %rax\n"
        "    jne 1f\n"
        "    mov 8(%rsp), %rax\n"
        "1:  mov (%rsp), %rcx\n"
        "    lea 152(%rsp), %rsp\n"
        "    jmp *%rcx\n"
        ".size gl_wait4_again, .-gl_wait4_again\n"
        ".popsection\n");
void gl_wait4_again (void);

static void wait4_again (greg_t *g, long now)
{
    uint64_t *f;
    if (g[REG_RIP] == (greg_t) (uintptr_t) gl_wait4_again) { /* moved again meanwhile */
        f = (uint64_t *) (uintptr_t) g[REG_RSP];
        f[2] = (uint64_t) now;
    }
    else {
        g[REG_RSP] -= WAIT_FRAME;
        f = (uint64_t *) (uintptr_t) g[REG_RSP];
        f[0] = (uint64_t) g[REG_RIP] + 2; /* past the syscall instruction */
        f[1] = (uint64_t) g[REG_RDI];
        f[2] = (uint64_t) now;
        g[REG_RIP] = (greg_t) (uintptr_t) gl_wait4_again;
    }
    g[REG_RDI] = now;
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
        case SYS_wait4: {
            long now = repid (g[REG_RDI]);
            if (g[REG_RDI] > 0 && now != g[REG_RDI])
                wait4_again (g, now);
            else
                g[REG_RDI] = now;
            break;
        }
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

unsigned ckpt_restores (void)
{
    return atomic_load (&restores);
}

bool ckpt_restored_since (unsigned before)
{
    return atomic_load (&restores) != before && restored_as == (pid_t) syscall (SYS_getpid);
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
