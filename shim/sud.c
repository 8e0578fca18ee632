/*  sud.c -- Syscall User Dispatch: the system calls the shim handles,
    reached also when a program issues them with its own syscall
    instruction instead of calling libc.

    Linux 5.11's PR_SET_SYSCALL_USER_DISPATCH makes the kernel send the
    calling thread SIGSYS for every system call made from outside one
    range of addresses, while a selector byte in the thread's memory says
    BLOCK.  The range is libc's code: a program that calls libc pays
    nothing (the calls the shim handles are caught at the libc boundary,
    in shim.c, at procedure-call cost), and only a syscall instruction
    elsewhere (the program's own assembly, a static runtime, ld.so
    loading a library) is trapped.  The handler does what the shim does
    for the calls it handles, and makes every other call itself, through
    libc's syscall(), which the range lets through; the result goes into
    the interrupted rax, as the kernel would have put it.

    What must hold, and how:
    - Every thread.  The dispatch is per thread and not inherited: the
      library arms the thread that loads it, pthread_create's threads as
      they start, fork's child in an atfork handler, and the children of
      trapped fork, vfork and clone calls before they run a single
      instruction of the program.  A vfork child made through libc runs
      unarmed until its exec, which goes through the shim's wrapper.
    - exec.  The kernel switches the dispatch off at execve; the new
      program's own copy of the shim arms it again.
    - Signals.  SIGSYS must stay deliverable: the shim keeps it out of
      every mask the program sets (sigprocmask, pthread_sigmask, the
      masks of sigaction, and their raw forms, which it edits in the
      interrupted context, since the handler's own mask is what sigreturn
      restores), installs a program's own SIGSYS handler in its records
      and calls it for every SIGSYS that is not a dispatch, and gives
      raw rt_sigaction calls libc's restorer, so that the rt_sigreturn
      ending a handler comes from inside the range.  Its handler runs
      with SA_NODEFER, so a handler of the program that interrupts it
      and issues a raw call is trapped in turn.
    - fork, vfork, clone.  A trapped fork-like call is made from the
      handler (the child returns through it).  A vfork or a clone that
      shares memory without a stack of its own is made as a fork: the
      child would otherwise return through the handler's frame on its
      parent's stack.  A clone onto a new stack (a thread) is made by
      sud_clone_vm below: the child arms itself, takes the interrupted
      registers and jumps to where the program's syscall would have
      returned.  clone3 answers ENOSYS, which libc and runtimes take as
      "use clone".

    Costs: a trapped call is a signal delivery and a sigreturn,
    microseconds (2 us on the bench machine, as much as a handler that
    does nothing); an untrapped one pays only the kernel's slower entry
    for a thread with the dispatch on, tens of nanoseconds (bench/shim.sh).
    GLUNIX_SHIM_SUD=0 turns the dispatch off for a program. */
#include "capture.h"
#include "ckpt_proto.h"
#include "forkadv.h"
#include "shim_impl.h"
#include "sysvipc.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF          0
#define PR_SYS_DISPATCH_ON           1
#endif
#define SEL_ALLOW         0
#define SEL_BLOCK         1
#define SYS_USER_DISPATCH 2 /* si_code of a dispatch's SIGSYS */

#define API __attribute__ ((visibility ("default")))

/* The kernel's struct sigaction (x86-64). */
typedef struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
} ksigaction_t;

#define KSA_RESTORER 0x04000000ul
#define SIGSYS_BIT   (1ull << (SIGSYS - 1))
#define CKPT_BIT     (1ull << (GL_CKPT_SIGNO - 1))

static struct {
    bool armed;
    const char *why;   /* why not, or NULL */
    uintptr_t lo, len; /* libc's code */
    void *restorer;    /* libc's */
    ksigaction_t prog; /* the program's own SIGSYS action */
    atomic_ullong trapped;
} sud = { .why = "not started" };

static __thread char sel __attribute__ ((tls_model ("initial-exec"))) = SEL_BLOCK;

/* Threads started by a raw clone have no TLS the shim knows: their
   selectors live here, found by thread id. */
#define POOL_MAX 1024
static struct {
    atomic_int tid; /* 0 free, -1 taken, not yet known */
    char sel;
} pool[POOL_MAX];

typedef int (*sigaction_fn) (int, const struct sigaction *, struct sigaction *);
typedef int (*mask_fn) (int, const sigset_t *, sigset_t *);
typedef sighandler_t (*signal_fn) (int, sighandler_t);
typedef int (*create_fn) (pthread_t *, const pthread_attr_t *, void *(*) (void *), void *);
static sigaction_fn real_sigaction;
static mask_fn real_sigprocmask, real_pthread_sigmask;
static signal_fn real_signal;
static create_fn real_create;

bool sud_armed (void)
{
    return sud.armed;
}

const char *sud_unavailable (void)
{
    return sud.armed ? NULL : sud.why;
}

uint64_t sud_trapped (void)
{
    return atomic_load (&sud.trapped);
}

static int arm (char *selector)
{
    if (selector)
        *selector = SEL_BLOCK;
    return prctl (PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, sud.lo, sud.len, selector);
}

void sud_arm_thread (void)
{
    if (sud.armed)
        arm (&sel);
}

/* ---- the clone of a thread ------------------------------------------------------------ */

/* The block a new thread reads below its stack: the interrupted
   registers (gregs order), then what it arms itself with. */
enum { BLK_LO = NGREG, BLK_LEN, BLK_SEL, BLK_WORDS };

long sud_clone_vm (long flags, long newsp, long ptid, long ctid, long tls, const uint64_t *blk)
    __attribute__ ((visibility ("hidden")));
/* clone(flags, newsp, ptid, ctid, tls) with r12 = blk.  The parent
   returns the child's id (or -errno).  The child, on its new stack,
   arms the dispatch (prctl, from here: it is not armed yet), loads the
   program's registers from blk and jumps where the program's syscall
   returns, with rax 0. */
__asm__(".text\n"
        ".globl sud_clone_vm\n"
        ".hidden sud_clone_vm\n"
        ".type sud_clone_vm, @function\n"
        "sud_clone_vm:\n"
        "    push %r12\n"
        "    mov %r9, %r12\n"
        "    mov %rcx, %r10\n"
        "    mov $56, %eax\n" /* SYS_clone */
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    pop %r12\n"
        "    ret\n"
        "1:  mov $157, %eax\n" /* SYS_prctl */
        "    mov $59, %edi\n"  /* PR_SET_SYSCALL_USER_DISPATCH */
        "    mov $1, %esi\n"   /* PR_SYS_DISPATCH_ON */
        "    mov 184(%r12), %rdx\n"
        "    mov 192(%r12), %r10\n"
        "    mov 200(%r12), %r8\n"
        "    syscall\n"
        "    mov 128(%r12), %r11\n" /* rip */
        "    mov 0(%r12), %r8\n"
        "    mov 8(%r12), %r9\n"
        "    mov 16(%r12), %r10\n"
        "    mov 40(%r12), %r13\n"
        "    mov 48(%r12), %r14\n"
        "    mov 56(%r12), %r15\n"
        "    mov 64(%r12), %rdi\n"
        "    mov 72(%r12), %rsi\n"
        "    mov 80(%r12), %rbp\n"
        "    mov 88(%r12), %rbx\n"
        "    mov 96(%r12), %rdx\n"
        "    mov 32(%r12), %r12\n"
        "    xor %eax, %eax\n"
        "    jmp *%r11\n"
        ".size sud_clone_vm, .-sud_clone_vm\n");

_Static_assert(BLK_LO * 8 == 184 && BLK_LEN * 8 == 192 && BLK_SEL * 8 == 200,
               "sud_clone_vm reads the block at these offsets");
_Static_assert(REG_RIP == 16 && REG_R12 == 4 && REG_RDX == 12, "the gregs order");

/* The calling thread's selector: a raw thread's from the pool, else its TLS. */
static char *my_selector (void)
{
    int tid = (int) syscall (SYS_gettid);
    for (size_t i = 0; i < POOL_MAX; i++)
        if (atomic_load (&pool[i].tid) == tid)
            return &pool[i].sel;
    return &sel;
}

static long clone_thread (greg_t *g)
{
    unsigned long flags = (unsigned long) g[REG_RDI];
    uintptr_t sp = (uintptr_t) g[REG_RSI];
    int slot = -1;
    for (int i = 0; i < POOL_MAX && slot < 0; i++) {
        int free_ = 0;
        if (atomic_compare_exchange_strong (&pool[i].tid, &free_, -1))
            slot = i;
    }
    uint64_t *blk = (uint64_t *) ((sp - BLK_WORDS * 8 - 128) & ~(uintptr_t) 15);
    for (int i = 0; i < NGREG; i++)
        blk[i] = (uint64_t) g[i];
    blk[BLK_LO] = sud.lo;
    blk[BLK_LEN] = sud.len;
    blk[BLK_SEL] = slot >= 0 ? (uint64_t) (uintptr_t) &pool[slot].sel : 0;
    if (slot >= 0)
        pool[slot].sel = SEL_BLOCK;
    char *mine = my_selector ();
    *mine = SEL_ALLOW; /* sud_clone_vm's own syscall is outside libc */
    long r = sud_clone_vm ((long) flags, (long) sp, g[REG_RDX], g[REG_R10], g[REG_R8], blk);
    *mine = SEL_BLOCK;
    if (slot >= 0)
        atomic_store (&pool[slot].tid, r > 0 ? (int) r : 0);
    return r;
}

/* ---- the handler ------------------------------------------------------------------------ */

static long sys (long nr, long a, long b, long c, long d, long e, long f)
{
    long r = syscall (nr, a, b, c, d, e, f);
    return r == -1 ? -errno : r;
}

/* A fork-like call: the child arms itself before it returns to the
   program. */
static long fork_like (unsigned long flags, long ptid, long ctid, long tls)
{
    flags &= ~(unsigned long) (CLONE_VM | CLONE_VFORK);
    long r = sys (SYS_clone, (long) flags, 0, ptid, ctid, tls, 0);
    if (r == 0) {
        if (flags & CLONE_SETTLS) /* a TLS the shim does not know */
            arm (NULL);
        else
            arm (&sel);
    }
    return r;
}

static long raw_sigaction (int sig, const ksigaction_t *act, ksigaction_t *old, size_t size)
{
    if (size != 8)
        return -EINVAL;
    if (act && ckpt_owns (sig)) /* the checkpoint's (capture.h) */
        return -EINVAL;
    if (sig == SIGSYS) { /* the program's, kept aside */
        if (old)
            *old = sud.prog;
        if (act)
            sud.prog = *act;
        return 0;
    }
    ksigaction_t copy;
    if (act) {
        copy = *act;
        copy.mask &= ~SIGSYS_BIT;
        if (copy.flags & KSA_RESTORER && sud.restorer)
            copy.restorer = sud.restorer;
    }
    return sys (SYS_rt_sigaction, sig, act ? (long) &copy : 0, (long) old, 8, 0, 0);
}

/* rt_sigprocmask made in the handler would change the handler's mask,
   which sigreturn replaces: the interrupted context's is edited instead. */
static long raw_sigprocmask (ucontext_t *uc, int how, const uint64_t *set, uint64_t *old,
                             size_t size)
{
    if (size != 8)
        return -EINVAL;
    uint64_t cur;
    memcpy (&cur, &uc->uc_sigmask, 8);
    if (old)
        *old = cur;
    if (!set)
        return 0;
    uint64_t next;
    switch (how) {
        case SIG_BLOCK: next = cur | *set; break;
        case SIG_UNBLOCK: next = cur & ~*set; break;
        case SIG_SETMASK: next = *set; break;
        default: return -EINVAL;
    }
    next &= ~(SIGSYS_BIT | (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
    if (ckpt_owns (GL_CKPT_SIGNO))
        next &= ~CKPT_BIT;
    memcpy (&uc->uc_sigmask, &next, 8);
    return 0;
}

/* A SIGSYS that is not ours: the program's handler, or its default. */
static void pass_on (int signo, siginfo_t *si, void *ctx)
{
    void *h = sud.prog.handler;
    if (h == SIG_IGN)
        return;
    if (h == SIG_DFL) {
        ksigaction_t dfl = { .handler = SIG_DFL };
        syscall (SYS_rt_sigaction, SIGSYS, &dfl, NULL, 8);
        raise (SIGSYS);
        return;
    }
    if (sud.prog.flags & SA_SIGINFO)
        ((void (*) (int, siginfo_t *, void *)) h) (signo, si, ctx);
    else
        ((void (*) (int)) h) (signo);
}

static void on_sigsys (int signo, siginfo_t *si, void *ctx)
{
    if (si->si_code != SYS_USER_DISPATCH) {
        pass_on (signo, si, ctx);
        return;
    }
    int saved = errno;
    ucontext_t *uc = (ucontext_t *) ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    long nr = g[REG_RAX], a = g[REG_RDI], b = g[REG_RSI], c = g[REG_RDX], d = g[REG_R10],
         e = g[REG_R8], f = g[REG_R9], r;
    atomic_fetch_add (&sud.trapped, 1);
    switch (nr) {
        case SYS_execve:
            r = shim_exec (SHIM_EXEC_PATH, (const char *) a, (char *const *) b, (char *const *) c,
                           true);
            break;
        case SYS_execveat: {
            char *const *envp = (char *const *) d;
            char *env2[shim_env_count (envp) + SHIM_ENV_EXTRA + 1];
            char buf[SHIM_ENV_BUF];
            const char *path = (const char *) b;
            if ((a == AT_FDCWD || (path && path[0] == '/')) && !e)
                r = shim_exec (SHIM_EXEC_PATH, path, (char *const *) c, envp, true);
            else
                r = sys (nr, a, b, c, (long) shim_rearm_env (envp, env2, buf), e, f);
            break;
        }
        case SYS_rt_sigaction:
            r = raw_sigaction ((int) a, (const ksigaction_t *) b, (ksigaction_t *) c, (size_t) d);
            break;
        case SYS_rt_sigprocmask:
            r = raw_sigprocmask (uc, (int) a, (const uint64_t *) b, (uint64_t *) c, (size_t) d);
            break;
        case SYS_fork:
        case SYS_vfork: r = fork_like (SIGCHLD, 0, 0, 0); break;
        case SYS_clone:
            if (b) /* a stack of its own */
                r = clone_thread (g);
            else
                r = fork_like ((unsigned long) a, c, d, e);
            break;
        case SYS_clone3: r = -ENOSYS; break;
        case SYS_madvise:
            forkadv_seen ((int) c);
            r = sys (nr, a, b, c, d, e, f);
            break;
        case SYS_semget:
        case SYS_msgget:
            r = sys (nr, a, b, c, d, e, f);
            sysvipc_seen (nr == SYS_semget ? SYSVIPC_SEM : SYSVIPC_MSG, r);
            break;
        case SYS_semop:
        case SYS_semtimedop:
            sysvipc_seen (SYSVIPC_SEM, a);
            r = sys (nr, a, b, c, d, e, f);
            break;
        case SYS_msgsnd:
        case SYS_msgrcv:
            sysvipc_seen (SYSVIPC_MSG, a);
            r = sys (nr, a, b, c, d, e, f);
            break;
        case SYS_semctl:
        case SYS_msgctl:
            sysvipc_ctl (nr == SYS_semctl ? SYSVIPC_SEM : SYSVIPC_MSG, a,
                         (int) (nr == SYS_semctl ? c : b));
            r = sys (nr, a, b, c, d, e, f);
            break;
        default: r = sys (nr, a, b, c, d, e, f);
    }
    g[REG_RAX] = r;
    errno = saved;
}

/* ---- the libc boundary: what keeps SIGSYS ours -------------------------------------------- */

API int sigaction (int signo, const struct sigaction *act, struct sigaction *old)
{
    if (!real_sigaction)
        real_sigaction = (sigaction_fn) dlsym (RTLD_NEXT, "sigaction");
    if (act && ckpt_owns (signo)) { /* the checkpoint's (capture.h) */
        errno = EINVAL;
        return -1;
    }
    if (!sud.armed)
        return real_sigaction (signo, act, old);
    if (signo == SIGSYS) {
        /* through the raw form, which keeps it in the records */
        ksigaction_t k = { 0 }, o = { 0 };
        if (act) {
            k.handler =
                act->sa_flags & SA_SIGINFO ? (void *) act->sa_sigaction : (void *) act->sa_handler;
            k.flags = (unsigned long) act->sa_flags;
            memcpy (&k.mask, &act->sa_mask, 8);
        }
        raw_sigaction (SIGSYS, act ? &k : NULL, &o, 8);
        if (old) {
            memset (old, 0, sizeof *old);
            old->sa_handler = (sighandler_t) o.handler;
            old->sa_flags = (int) o.flags;
            memcpy (&old->sa_mask, &o.mask, 8);
        }
        return 0;
    }
    if (act && sigismember (&act->sa_mask, SIGSYS)) {
        struct sigaction copy = *act;
        sigdelset (&copy.sa_mask, SIGSYS);
        return real_sigaction (signo, &copy, old);
    }
    return real_sigaction (signo, act, old);
}

API sighandler_t signal (int signo, sighandler_t handler)
{
    if (!real_signal)
        real_signal = (signal_fn) dlsym (RTLD_NEXT, "signal");
    if (ckpt_owns (signo)) {
        errno = EINVAL;
        return SIG_ERR;
    }
    if (!sud.armed || signo != SIGSYS)
        return real_signal (signo, handler);
    struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;
    sigemptyset (&act.sa_mask);
    sigaction (SIGSYS, &act, &old);
    return old.sa_handler;
}

/* SIGSYS, and the checkpoint's signal, stay deliverable. */
static int mask (mask_fn real, int how, const sigset_t *set, sigset_t *old)
{
    bool sys = sud.armed && set && sigismember (set, SIGSYS);
    bool ckpt = set && ckpt_owns (GL_CKPT_SIGNO) && sigismember (set, GL_CKPT_SIGNO);
    if (how != SIG_UNBLOCK && (sys || ckpt)) {
        sigset_t copy = *set;
        if (sys)
            sigdelset (&copy, SIGSYS);
        if (ckpt)
            sigdelset (&copy, GL_CKPT_SIGNO);
        return real (how, &copy, old);
    }
    return real (how, set, old);
}

API int sigprocmask (int how, const sigset_t *set, sigset_t *old)
{
    if (!real_sigprocmask)
        real_sigprocmask = (mask_fn) dlsym (RTLD_NEXT, "sigprocmask");
    return mask (real_sigprocmask, how, set, old);
}

API int pthread_sigmask (int how, const sigset_t *set, sigset_t *old)
{
    if (!real_pthread_sigmask)
        real_pthread_sigmask = (mask_fn) dlsym (RTLD_NEXT, "pthread_sigmask");
    return mask (real_pthread_sigmask, how, set, old);
}

typedef struct {
    void *(*fn) (void *);
    void *arg;
} start_t;

static void *thread_start (void *p)
{
    start_t s = *(start_t *) p;
    free (p);
    sud_arm_thread ();
    return s.fn (s.arg);
}

API int pthread_create (pthread_t *t, const pthread_attr_t *attr, void *(*fn) (void *), void *arg)
{
    if (!real_create)
        real_create = (create_fn) dlsym (RTLD_NEXT, "pthread_create");
    start_t *s = sud.armed ? malloc (sizeof *s) : NULL;
    if (!s)
        return real_create (t, attr, fn, arg);
    s->fn = fn;
    s->arg = arg;
    int rc = real_create (t, attr, thread_start, s);
    if (rc)
        free (s);
    return rc;
}

/* ---- start -------------------------------------------------------------------------------- */

static int find_libc (struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t probe = (uintptr_t) arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (probe >= lo && probe < lo + ph->p_memsz) {
            sud.lo = lo;
            sud.len = ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

void sud_init (void)
{
    real_sigaction = (sigaction_fn) dlsym (RTLD_NEXT, "sigaction");
    real_sigprocmask = (mask_fn) dlsym (RTLD_NEXT, "sigprocmask");
    real_pthread_sigmask = (mask_fn) dlsym (RTLD_NEXT, "pthread_sigmask");
    real_signal = (signal_fn) dlsym (RTLD_NEXT, "signal");
    real_create = (create_fn) dlsym (RTLD_NEXT, "pthread_create");
    void *libc_syscall = dlsym (RTLD_NEXT, "syscall");
    if (!real_sigaction || !libc_syscall ||
        !dl_iterate_phdr (find_libc, (void *) (uintptr_t) libc_syscall)) {
        sud.why = "libc's code was not found";
        return;
    }
    /* ask first, with the dispatch off: a kernel without it says EINVAL */
    if (prctl (PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0)) {
        sud.why = errno == EINVAL ? "the kernel has no Syscall User Dispatch (Linux 5.11 or later)"
                                  : "the kernel refuses Syscall User Dispatch";
        return;
    }
    /* the program's SIGSYS action so far, kept; ours installed by libc,
       whose restorer is then known */
    syscall (SYS_rt_sigaction, SIGSYS, NULL, &sud.prog, 8);
    struct sigaction act = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_NODEFER };
    sigemptyset (&act.sa_mask);
    ksigaction_t k;
    if (real_sigaction (SIGSYS, &act, NULL) || syscall (SYS_rt_sigaction, SIGSYS, NULL, &k, 8)) {
        sud.why = "SIGSYS could not be taken";
        return;
    }
    sud.restorer = k.restorer;
    sigset_t sys;
    sigemptyset (&sys);
    sigaddset (&sys, SIGSYS);
    pthread_sigmask (SIG_UNBLOCK, &sys, NULL);
    if (arm (&sel)) {
        sud.why = "the kernel refuses Syscall User Dispatch";
        return;
    }
    sud.armed = true;
    sud.why = NULL;
    pthread_atfork (NULL, NULL, sud_arm_thread);
}
