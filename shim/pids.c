/*  pids.c -- process ids in a restored tree: the libc calls where an id
    crosses between a program and the kernel, translated through the
    tree's table (checkpoint/pidmap.h, kept by capture.c).

    A tree restored on another node has new ids; its programs hold the
    old ones: a shell compares wait()'s result with its job table, a
    parent waits for and signals the workers it started.  Ids a program
    names go in old-to-new (ckpt_real_pid), ids the kernel returns come
    out new-to-old (ckpt_virt_pid).  Without a table (a job never
    restored, or a single process) both are the identity, but for a
    restored single process's own id (capture.c), and each call here
    costs a comparison or two.  getpid, getppid and kill are shim.c's.
    A terminal's foreground group (tcgetpgrp, tcsetpgrp, tcgetsid) is
    translated too: a shell moved with its terminal (glx -t) hands it to
    its jobs' groups by their old ids.

    fork: a child born after the restore may get from the kernel an id
    the table gives another process of the tree (an old id); that child
    ends at once, unseen, and fork is made again, so that no id means
    two processes within the job.  (The program's atfork handlers run
    for that child too.)  A fork restored between its clone and its
    return made its child on the old node: the tree carried that child,
    and its old id is the one the table gives it; it is returned as it
    is, never made again.

    vfork and posix_spawn: their child runs its program at once, and
    cannot be made again.  So before them (pids_guard) the kernel's last
    id handed out is read (/proc/sys/kernel/ns_last_pid), and while an
    old id lies among the next ones, ids are used up by children that
    end at once, unseen (no SIGCHLD, reaped here).  Ids wrap at pid_max
    (32768 by default) within minutes on a busy machine: without this,
    make, which spawns its compilers, took a new compiler's exit for a
    restored one's and linked before that one had written its object,
    or waited for an id the kernel gave no child of its.

    system() is made here whole, and popen's children are met at pclose
    and fclose (below): libc waits for both with its own calls.

    What a program can still notice is in glunix(7): raw system calls
    (the ids are the kernel's), /proc/<pid>, the si_pid of a SIGCHLD,
    clone children whose new id is an old one, and a vfork or
    posix_spawn child given an old id when others on the machine took
    the next 64 ids between the guard and the call. */
#include "capture.h"
#include "ckpt_proto.h"
#include "fd.h"
#include "shim_impl.h"
#include "str.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define API __attribute__ ((visibility ("default")))

typedef pid_t (*fork_fn) (void);
typedef pid_t (*wait4_fn) (pid_t, int *, int, struct rusage *);
typedef int (*waitid_fn) (idtype_t, id_t, siginfo_t *, int);
static fork_fn real_fork;
static wait4_fn real_wait4;
static waitid_fn real_waitid;

/* Found when the library starts: a wait may be called from a SIGCHLD
   handler, where dlsym may not.  Before shim.c's constructor, which
   takes the checkpoint signal (101 runs before the default). */
__attribute__ ((constructor (101))) static void pids_init (void)
{
    real_fork = (fork_fn) dlsym (RTLD_NEXT, "fork");
    real_wait4 = (wait4_fn) dlsym (RTLD_NEXT, "wait4");
    real_waitid = (waitid_fn) dlsym (RTLD_NEXT, "waitid");
}

/* A wait that reaps: a move in the instant the kernel has returned a
   child's id, before it is translated, would hand the program the old
   node's id read through this node's table (a shell's job table never
   sees that child end, or sees another one end).  So it is made in two
   steps.  The first waits without reaping (WNOWAIT); a move during it is
   as during any call (made again on the new node, with the ids in its
   registers translated: capture.c's fix_call), and a move right after it
   only makes it again, since the child, not reaped, moved with the tree.
   The second, with the checkpoint's signal held, reaps that child, which
   cannot block, and translates its id before any move can come.  The
   cost is a system call and two changes of the mask per wait. */
static bool wait_peek (idtype_t type, id_t id, int opt, siginfo_t *si, uint64_t *held)
{
    for (;;) {
        unsigned before = ckpt_restores ();
        id_t real =
            (type == P_PID || type == P_PGID) && id > 0 ? (id_t) ckpt_real_pid ((pid_t) id) : id;
        memset (si, 0, sizeof *si);
        int rc = real_waitid ? real_waitid (type, real, si, opt | WNOWAIT)
                             : (int) syscall (SYS_waitid, type, real, si, opt | WNOWAIT, NULL);
        if (rc < 0)
            return false;
        if (!si->si_pid) /* WNOHANG, and no child has anything to report */
            return true;
        uint64_t m = 1ull << (GL_CKPT_SIGNO - 1);
        syscall (SYS_rt_sigprocmask, SIG_BLOCK, &m, held, 8);
        if (ckpt_restores () == before)
            return true;
        syscall (SYS_rt_sigprocmask, SIG_SETMASK, held, NULL, 8);
    }
}

static void wait_release (const uint64_t *held)
{
    int e = errno;
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, held, NULL, 8);
    errno = e;
}

static pid_t wait4_ (pid_t pid, int *st, int opt, struct rusage *ru)
{
    if (!ckpt_owns (GL_CKPT_SIGNO)) { /* no checkpoints here: ids are the kernel's */
        if (!real_wait4)              /* before the constructor: another library's */
            return (pid_t) syscall (SYS_wait4, pid, st, opt, ru);
        return real_wait4 (pid, st, opt, ru);
    }
    idtype_t type = pid < -1 ? P_PGID : pid == -1 ? P_ALL : pid == 0 ? P_PGID : P_PID;
    id_t id = pid < -1 ? (id_t) -pid : pid > 0 ? (id_t) pid : 0;
    for (;;) {
        siginfo_t si;
        uint64_t held;
        /* wait4's options are waitid's (WUNTRACED is WSTOPPED), less WEXITED */
        if (!wait_peek (type, id, opt | WEXITED, &si, &held))
            return -1;
        if (!si.si_pid)
            return 0;
        pid_t r = (pid_t) syscall (SYS_wait4, si.si_pid, st, opt | WNOHANG, ru);
        pid_t v = r > 0 ? ckpt_virt_pid (r) : r;
        bool gone = r == 0 || (r < 0 && errno == ECHILD); /* another thread reaped it */
        wait_release (&held);
        if (!gone)
            return v;
    }
}

API pid_t wait4 (pid_t pid, int *st, int opt, struct rusage *ru)
{
    return wait4_ (pid, st, opt, ru);
}

API pid_t waitpid (pid_t pid, int *st, int opt)
{
    return wait4_ (pid, st, opt, NULL);
}

API pid_t wait (int *st)
{
    return wait4_ (-1, st, 0, NULL);
}

API pid_t wait3 (int *st, int opt, struct rusage *ru)
{
    return wait4_ (-1, st, opt, ru);
}

API int waitid (idtype_t type, id_t id, siginfo_t *info, int opt)
{
    if (!ckpt_owns (GL_CKPT_SIGNO) || !info)
        return real_waitid ? real_waitid (type, id, info, opt)
                           : (int) syscall (SYS_waitid, type, id, info, opt, NULL);
    for (;;) {
        siginfo_t si;
        uint64_t held;
        if (!wait_peek (type, id, opt, &si, &held))
            return -1;
        if (!si.si_pid) {
            *info = si;
            return 0;
        }
        int rc = 0;
        if (!(opt & WNOWAIT)) { /* reap what the peek saw */
            pid_t c = si.si_pid;
            memset (&si, 0, sizeof si);
            rc = (int) syscall (SYS_waitid, P_PID, c, &si, opt | WNOHANG, NULL);
        }
        bool gone = (rc == 0 && !si.si_pid) || (rc < 0 && errno == ECHILD);
        if (rc == 0 && si.si_pid > 0)
            si.si_pid = ckpt_virt_pid (si.si_pid);
        wait_release (&held);
        if (!gone) {
            if (rc == 0)
                *info = si;
            return rc;
        }
    }
}

API int killpg (pid_t pg, int sig)
{
    if (pg < 0) {
        errno = EINVAL;
        return -1;
    }
    return (int) syscall (SYS_kill, ckpt_real_pid (-pg), sig);
}

API int sigqueue (pid_t pid, int sig, const union sigval v)
{
    siginfo_t si = { 0 };
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = (pid_t) syscall (SYS_getpid); /* the kernel's: it checks it */
    si.si_uid = getuid ();
    si.si_value = v;
    return (int) syscall (SYS_rt_sigqueueinfo, ckpt_real_pid (pid), sig, &si);
}

API pid_t getpgid (pid_t pid)
{
    return ckpt_virt_pid ((pid_t) syscall (SYS_getpgid, ckpt_real_pid (pid)));
}

API pid_t getpgrp (void)
{
    return ckpt_virt_pid ((pid_t) syscall (SYS_getpgid, 0));
}

API int setpgid (pid_t pid, pid_t pg)
{
    return (int) syscall (SYS_setpgid, ckpt_real_pid (pid), ckpt_real_pid (pg));
}

API pid_t getsid (pid_t pid)
{
    return ckpt_virt_pid ((pid_t) syscall (SYS_getsid, ckpt_real_pid (pid)));
}

API pid_t setsid (void)
{
    return ckpt_virt_pid ((pid_t) syscall (SYS_setsid));
}

/* The terminal's foreground group and session (a job on a terminal,
   glx -t: a shell's job control hands the terminal to each job's group
   and back to its own, by the ids it knew before the move). */
API pid_t tcgetpgrp (int fd)
{
    pid_t pg = 0;
    if (syscall (SYS_ioctl, fd, TIOCGPGRP, &pg) < 0)
        return -1;
    return ckpt_virt_pid (pg);
}

API int tcsetpgrp (int fd, pid_t pg)
{
    pid_t real = ckpt_real_pid (pg);
    return (int) syscall (SYS_ioctl, fd, TIOCSPGRP, &real);
}

API pid_t tcgetsid (int fd)
{
    pid_t sid = 0;
    if (syscall (SYS_ioctl, fd, TIOCGSID, &sid) < 0)
        return -1;
    return ckpt_virt_pid (sid);
}

/* A number from a /proc/sys file, lo..hi, or 0. */
static pid_t sys_num (const char *path, uint64_t lo, uint64_t hi)
{
    char b[32];
    const char *p = b;
    uint64_t v;
    if (gl_read_file (path, b, sizeof b) <= 0 || !gl_parse_u64 (&p, &v) || v < lo || v > hi)
        return 0;
    return (pid_t) v;
}

/* The kernel's last id handed out in this namespace (0: unknown). */
static pid_t last_pid (void)
{
    return sys_num ("/proc/sys/kernel/ns_last_pid", 1, 1u << 22);
}

static pid_t pid_max (void)
{
    static pid_t max; /* -1: unknown */
    if (!max) {
        pid_t m = sys_num ("/proc/sys/kernel/pid_max", 301, 1u << 22);
        max = m ? m : -1;
    }
    return max;
}

#define GUARD_WINDOW 64  /* ids ahead checked */
#define GUARD_LOW    300 /* where the kernel's ids wrap to (RESERVED_PIDS) */

void pids_guard (void)
{
    if (!ckpt_pids_translated () || pid_max () < 0)
        return;
    int e = errno;
    uint64_t all = ~0ull, old;
    syscall (SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8); /* the child runs no handler */
    for (int n = 0; n < 4096; n++) {
        pid_t last = last_pid ();
        if (!last || !ckpt_pid_ahead (last, pid_max (), GUARD_LOW, GUARD_WINDOW))
            break;
        /* a copy with no exit signal, which ends at once: one id used */
        long c = syscall (SYS_clone, 0L, 0L, 0L, 0L, 0L);
        if (c == 0)
            syscall (SYS_exit_group, 0);
        if (c < 0)
            break;
        while (syscall (SYS_wait4, c, NULL, __WCLONE, NULL) < 0 && errno == EINTR) {
        }
    }
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
    errno = e;
}

/* vfork: the guard, then libc's vfork, jumped to rather than called: a
   vfork child returns through its caller's frame, and so must find no
   frame of ours there when its parent resumes. */
typedef pid_t (*vfork_fn) (void);
static vfork_fn real_vfork;
__attribute__ ((used, visibility ("hidden"))) void *pids_vfork_prepare (void)
{
    pids_guard ();
    if (!real_vfork)
        real_vfork = (vfork_fn) dlsym (RTLD_NEXT, "vfork");
    return real_vfork ? (void *) real_vfork : (void *) fork;
}
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork, @function\n"
        "vfork:\n"
        "    sub $8, %rsp\n" /* the call below needs a 16-byte aligned stack */
        "    call pids_vfork_prepare\n"
        "    add $8, %rsp\n"
        "    jmp *%rax\n"
        ".size vfork, .-vfork\n");

/* Whether the kernel's process real is a child of this one (running or
   ended, not reaped: it is left as it is). */
static bool kernel_child (pid_t real)
{
    siginfo_t si = { 0 };
    return syscall (SYS_waitid, P_PID, real, &si, WEXITED | WNOHANG | WNOWAIT | __WALL, NULL) == 0;
}

API pid_t fork (void)
{
    if (!real_fork) {
        errno = ENOSYS;
        return -1;
    }
    for (int tries = 0;; tries++) {
        unsigned before = ckpt_restores ();
        pid_t p = real_fork ();
        if (p < 0 || tries == 64)
            return p;
        /* moved in the instant the clone had returned (the request
           comes as the parent returns to user space, or in an atfork
           handler): the child was born on the old node and moved with
           the tree, p is the id its program knows, which the table
           gives it; checked against the table it would collide, and a
           second child would run the first one's code again.  A move
           before the clone (its system call made again on this node)
           made the child here: p is the kernel's id of a child of ours,
           and the restored child's own restore is its own, not a
           count its parent's copy handed down. */
        if (p == 0) {
            if (!ckpt_restored_since (before) && ckpt_pid_collides ((pid_t) syscall (SYS_getpid)))
                _exit (0);
            return 0;
        }
        if (ckpt_restored_since (before) && !kernel_child (p))
            return p;
        if (!ckpt_pid_collides (p))
            return p;
        int st;
        while (real_wait4 && real_wait4 (p, &st, __WALL, NULL) < 0 && errno == EINTR) {
        }
    }
}

/* ---- popen's children ------------------------------------------------------------------------- */

/* glibc keeps a popen child's id in the FILE it returns, right after
   the FILE and its table of functions (struct _IO_proc_file), as the
   kernel gave it on the node of the popen; pclose, and fclose of that
   FILE, wait for it with libc's own call.  After a move the child has
   another id: pclose would wait for a process that is not its child
   (ECHILD, and -1 for the program).  So popen notes each FILE and the
   id its program would know, once checked to be a child of this
   process's; pclose and fclose give glibc's record the id the kernel
   knows now before glibc waits.  A FILE whose record is not where glibc 2.36 and
   the versions before it keep it is left as it is. */
#define POPEN_MAX    64
#define PROC_PID_OFF (sizeof (FILE) + sizeof (void *))
static struct {
    FILE *fp;
    pid_t vpid;
} popens[POPEN_MAX];
static atomic_flag popens_busy = ATOMIC_FLAG_INIT;
static atomic_int n_popens; /* noted: fclose looks only when there are any */
typedef FILE *(*popen_fn) (const char *, const char *);
typedef int (*pclose_fn) (FILE *);

static void popens_lock (void)
{
    while (atomic_flag_test_and_set_explicit (&popens_busy, memory_order_acquire))
        sched_yield ();
}

static void popens_unlock (void)
{
    atomic_flag_clear_explicit (&popens_busy, memory_order_release);
}

API FILE *popen (const char *cmd, const char *mode)
{
    static popen_fn real;
    if (!real)
        real = (popen_fn) dlsym (RTLD_NEXT, "popen");
    unsigned before = ckpt_restores ();
    FILE *fp = real ? real (cmd, mode) : NULL;
    if (!fp)
        return fp;
    pid_t pid;
    memcpy (&pid, (char *) fp + PROC_PID_OFF, sizeof pid);
    /* moved since the child was made: the id is the old node's, which
       is the one its program knows */
    bool moved = ckpt_restored_since (before);
    pid_t vpid = moved ? pid : ckpt_virt_pid (pid);
    if (pid <= 0 ||
        gl_parent_of (moved ? ckpt_real_pid (pid) : pid) != (pid_t) syscall (SYS_getpid))
        return fp;
    popens_lock ();
    for (int i = 0; i < POPEN_MAX; i++)
        if (!popens[i].fp) {
            popens[i].fp = fp;
            popens[i].vpid = vpid;
            atomic_fetch_add (&n_popens, 1);
            break;
        }
    popens_unlock ();
    return fp;
}

/* The noted child of a stream popen made (its entry dropped): true
   with *vpid, the id its program knows. */
static bool popen_take (FILE *fp, pid_t *vpid)
{
    if (!fp || !atomic_load_explicit (&n_popens, memory_order_relaxed))
        return false;
    bool found = false;
    popens_lock ();
    for (int i = 0; i < POPEN_MAX && !found; i++)
        if (popens[i].fp == fp) {
            *vpid = popens[i].vpid;
            popens[i].fp = NULL;
            atomic_fetch_sub (&n_popens, 1);
            found = true;
        }
    popens_unlock ();
    return found;
}

/* glibc's pclose or fclose (*real, found once by name).  For a popen
   stream, no move may come between glibc's record of the child's id
   and its wait for it: the stream is let go first (flushed, its pipe
   end replaced by /dev/null, as glibc's close would), the child's end
   awaited without reaping it (a move meanwhile is any wait's,
   wait_peek), and then, with the checkpoint's signal held, the record
   given the id the child has now and glibc's close made, whose wait
   returns at once. */
static int close_stream (FILE *fp, pclose_fn *real, const char *name, int fail)
{
    if (!*real)
        *real = (pclose_fn) dlsym (RTLD_NEXT, name);
    if (!*real) {
        errno = ENOSYS;
        return fail;
    }
    pid_t vpid;
    if (!popen_take (fp, &vpid))
        return (*real) (fp);
    fflush (fp);
    int fd = fileno (fp), null = open ("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0 && null >= 0)
        dup3 (null, fd, O_CLOEXEC);
    if (null >= 0)
        close (null);
    siginfo_t si;
    uint64_t held;
    bool ended;
    while (!(ended = wait_peek (P_PID, (id_t) vpid, WEXITED, &si, &held)) && errno == EINTR) {
    }
    if (!ended) /* reaped elsewhere: glibc says so */
        return (*real) (fp);
    pid_t now = ckpt_real_pid (vpid);
    memcpy ((char *) fp + PROC_PID_OFF, &now, sizeof now);
    int rc = (*real) (fp);
    wait_release (&held);
    return rc;
}

API int pclose (FILE *fp)
{
    static pclose_fn real;
    return close_stream (fp, &real, "pclose", -1);
}

/* fclose of a popen stream waits for its child as pclose does. */
API int fclose (FILE *fp)
{
    static pclose_fn real;
    return close_stream (fp, &real, "fclose", EOF);
}

/* ---- system() ------------------------------------------------------------------------------- */

/* glibc's system spawns its shell and waits for it with its own calls,
   past the wrappers above: a move in the few instructions between the
   two left libc waiting for the old node's id (-1 for the program, the
   shell never reaped).  So system is made here, as POSIX describes it,
   with the shim's posix_spawn (the guard against old ids, and the
   checkpoint's signal held until the shell's shim takes it) and its
   waitpid (a move during the wait is any wait's).  SIGINT and SIGQUIT
   are ignored while any system call of the process runs (counted, as
   threads may run several), SIGCHLD is blocked in the caller, and the
   shell starts with the caller's mask and those two at their default
   unless the caller ignored them. */
static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static int system_users;
static struct sigaction system_int, system_quit;

static void system_enter (void)
{
    struct sigaction ign = { .sa_handler = SIG_IGN };
    sigemptyset (&ign.sa_mask);
    pthread_mutex_lock (&system_lock);
    if (system_users++ == 0) {
        sigaction (SIGINT, &ign, &system_int);
        sigaction (SIGQUIT, &ign, &system_quit);
    }
    pthread_mutex_unlock (&system_lock);
}

static void system_leave (void)
{
    pthread_mutex_lock (&system_lock);
    if (--system_users == 0) {
        sigaction (SIGINT, &system_int, NULL);
        sigaction (SIGQUIT, &system_quit, NULL);
    }
    pthread_mutex_unlock (&system_lock);
}

struct system_run {
    pid_t pid;
    sigset_t mask;
};

/* A thread cancelled in its wait: the shell is killed and reaped, the
   process's signals as before (glibc does the same). */
static void system_cancelled (void *arg)
{
    struct system_run *run = arg;
    int e = errno;
    kill (run->pid, SIGKILL);
    while (waitpid (run->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    system_leave ();
    sigprocmask (SIG_SETMASK, &run->mask, NULL);
    errno = e;
}

static int system_wait (struct system_run *run)
{
    int status = -1;
    pthread_cleanup_push (system_cancelled, run);
    while (waitpid (run->pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    pthread_cleanup_pop (0);
    return status;
}

static int system_run (const char *cmd)
{
    int saved = errno;
    struct system_run run = { .pid = -1 };
    sigset_t chld, reset;
    sigemptyset (&chld);
    sigaddset (&chld, SIGCHLD);
    system_enter ();
    sigprocmask (SIG_BLOCK, &chld, &run.mask);
    sigemptyset (&reset);
    if (system_int.sa_handler != SIG_IGN)
        sigaddset (&reset, SIGINT);
    if (system_quit.sa_handler != SIG_IGN)
        sigaddset (&reset, SIGQUIT);
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    posix_spawnattr_setsigmask (&attr, &run.mask);
    posix_spawnattr_setsigdefault (&attr, &reset);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    char *argv[] = { (char *) "sh", (char *) "-c", (char *) "--", (char *) cmd, NULL };
    int status, rc = posix_spawn (&run.pid, "/bin/sh", NULL, &attr, argv, environ);
    posix_spawnattr_destroy (&attr);
    if (rc == 0)
        status = system_wait (&run);
    else /* POSIX: as if the shell could not be executed */
        status = W_EXITCODE (127, 0);
    system_leave ();
    sigprocmask (SIG_SETMASK, &run.mask, NULL);
    errno = rc ? rc : saved;
    return status;
}

API int system (const char *cmd)
{
    if (!cmd) /* whether there is a shell */
        return system_run ("exit 0") == 0;
    return system_run (cmd);
}
