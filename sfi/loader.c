/*  loader.c -- regions, call gates, faults and time budgets  (see loader.h)

    A region is reserved as one PROT_NONE mapping of 4 GiB plus the two
    guards, placed at a 4 GiB boundary; the pieces a module may use are
    then mapped over it with MAP_FIXED.  Code is copied into a writable
    mapping and turned R X before anything can run it, and is never
    writable again; relocations patch writable segments only.

    The gate itself is in gate.S.  What it shares with this file is the
    per-thread context, struct sfi_thread, in initial-exec TLS (gate.S
    reaches it through %fs, so host calls need no help from the module):
    the innermost gate frame on the host stack, the running module, and an
    abort flag.

    Faults.  A signal raised by module code (its rip is inside the running
    module's region: module code, the exit stub, or a jump into a page
    that is not executable) is handled on a signal stack by rewriting the
    interrupted context: rip = sfi_gate_fault_exit, rsp = the innermost
    frame, rax = the error code.  The kernel's sigreturn then restores the
    signal mask and stack as they were, which siglongjmp would not do for
    free.  Any other signal goes to the handler installed before ours.

    Time.  The calling thread only stores a generation number around each
    outermost call (odd while it runs) and its budget.  A watchdog thread,
    running only while a module with a budget is loaded, samples the
    generations; one that has stayed the same and odd for longer than its
    budget gets a SIGXCPU through pthread_kill, marked with that
    generation.  If the thread is in module code, the handler sends it to
    the fault exit with SFI_ETIME; if it is in host code (a host call),
    the handler sets the abort flag, which the host-call trampoline checks
    when the host function returns.  Until the generation changes, the
    watchdog asks again every tick, so a signal that lands between the two
    (in the gate, say) is not lost. */

#include "loader.h"
#include "err.h"
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define REGION        SFI_REGION_SIZE
#define PAGE          SFI_PAGE
#define HEAP_DEFAULT  (64ULL << 20)
#define STACK_DEFAULT (1ULL << 20)
#define STACK_MIN     (16ULL << 10)
#define ALTSTACK_SIZE (256 << 10)
#define FAULT_MAX     160
#define NAREAS        (SFI_SEGS_MAX + 2)

/* ---- the structures gate.S reads (offsets checked below) ----------------- */

struct sfi_thread {
    uint64_t host_rsp;          /* innermost gate frame; 0 outside calls */
    sfi_module_t *cur;          /* the module running (or in a host call) */
    volatile int abort;         /* SFI_E*: end the call when the host call returns */
    bool ready;                 /* thread_init done */
    _Atomic unsigned budget_ms; /* of the outermost call */
    _Atomic uint64_t gen;       /* odd while an outermost call runs */
    _Atomic uint64_t kill_gen;  /* the watchdog's target */
    pthread_t thread;
    struct sfi_thread *next, *prev; /* on the watchdog's list */
    uint64_t seen_gen;              /* the watchdog's last sample */
    long long seen_ms;              /* when it first saw seen_gen */
    void *altstack;                 /* ours, if we gave the thread one */
    char fault[FAULT_MAX];
};

typedef struct {
    uint64_t lo, hi;
    bool writable;
} area_t; /* offsets */

struct sfi_module {
    uint64_t base;
    uint64_t sp; /* entry sp: stack_top, or below a host call's frame */
    void *fns[SFI_TABLE_SLOTS];
    uint64_t stack_top;        /* base + 4 GiB - 16 */
    uint64_t code_lo, code_hi; /* offsets */
    uint64_t scratch;          /* offset */
    unsigned budget_ms;
    sfi_image_t *img;
    area_t area[NAREAS];
    int nareas;
    sfi_module_t *wd_next, *wd_prev; /* modules with a budget */
    char fault[FAULT_MAX];
    /* The thread the module belongs to: the first that called it.  One
       thread is not just tidiness: the sandboxed return pushes a masked
       address and rets, and module code on a second thread could rewrite
       that stack slot in between.  So other threads are refused, not
       trusted; and since the owner never changes, a call costs a plain
       load and compare, not a locked instruction each time. */
    _Atomic (struct sfi_thread *) owner;
};

_Static_assert(offsetof (struct sfi_thread, host_rsp) == 0, "gate.S T_HOST_RSP");
_Static_assert(offsetof (struct sfi_thread, cur) == 8, "gate.S T_CUR");
_Static_assert(offsetof (struct sfi_thread, abort) == 16, "gate.S T_ABORT");
_Static_assert(offsetof (struct sfi_module, sp) == 8, "gate.S M_SP");
_Static_assert(offsetof (struct sfi_module, fns) == 16, "gate.S M_FNS");
_Static_assert(SFI_ENTRY_OFF == 0x12000 && SFI_EXIT_OFF == SFI_ENTRY_OFF + 32 &&
                   SFI_TABLE_SLOTS == 512,
               "gate.S ENTRY_OFF, SLOTS");

/* gate.S reads it as sfi_tls@gottpoff(%rip). */
__attribute__ ((visibility ("hidden"),
                tls_model ("initial-exec"))) __thread struct sfi_thread sfi_tls;

int sfi_gate_call (const uint64_t args[6], uint64_t entry, uint64_t sp, uint64_t base,
                   uint64_t *ret, struct sfi_thread *t) __attribute__ ((visibility ("hidden")));
void sfi_gate_empty (int slot) __attribute__ ((visibility ("hidden")));
extern char sfi_gate_exit[], sfi_gate_fault_exit[],
    sfi_gate_stubs[] __attribute__ ((visibility ("hidden")));
#define STUB_SIZE 16

/* ---- fault descriptions, written from signal handlers -------------------- */

typedef struct {
    char *p;
    size_t left;
} out_t;

static void out_s (out_t *o, const char *s)
{
    while (*s && o->left > 1) {
        *o->p++ = *s++;
        o->left--;
    }
    *o->p = '\0';
}

static void out_hex (out_t *o, uint64_t v)
{
    char buf[19], *p = buf + sizeof buf;
    *--p = '\0';
    do
        *--p = "0123456789abcdef"[v & 15];
    while (v >>= 4);
    out_s (o, "0x");
    out_s (o, p);
}

static void out_dec (out_t *o, uint64_t v)
{
    char buf[21], *p = buf + sizeof buf;
    *--p = '\0';
    do
        *--p = (char) ('0' + v % 10);
    while (v /= 10);
    out_s (o, p);
}

static const char *signal_name (int sig)
{
    switch (sig) {
        case SIGSEGV: return "SIGSEGV";
        case SIGBUS: return "SIGBUS";
        case SIGFPE: return "SIGFPE";
        case SIGILL: return "SIGILL";
        case SIGTRAP: return "SIGTRAP";
        default: return "signal";
    }
}

static void describe_fault (struct sfi_thread *t, int sig, const siginfo_t *si, uint64_t rip)
{
    uint64_t base = t->cur->base;
    out_t o = { t->fault, sizeof t->fault };
    out_s (&o, signal_name (sig));
    if (sig == SIGFPE && si->si_code == FPE_INTDIV)
        out_s (&o, " (integer divide by zero)");
    else if (sig == SIGFPE && si->si_code == FPE_INTOVF)
        out_s (&o, " (integer overflow)");
    if (sig == SIGSEGV || sig == SIGBUS) {
        uint64_t addr = (uint64_t) (uintptr_t) si->si_addr;
        if (si->si_code == SI_KERNEL)
            out_s (&o, " (general protection)");
        else if (addr >= base && addr - base < REGION) {
            out_s (&o, " at region offset ");
            out_hex (&o, addr - base);
        }
        else if (addr < base && base - addr <= SFI_GUARD) {
            out_s (&o, " at region offset -");
            out_hex (&o, base - addr);
        }
        else if (addr - base >= REGION && addr - base - REGION < SFI_GUARD) {
            out_s (&o, " at region offset ");
            out_hex (&o, addr - base);
        }
        else {
            out_s (&o, " at address ");
            out_hex (&o, addr);
        }
        out_s (&o, " (rip ");
        out_hex (&o, rip - base);
        out_s (&o, ")");
    }
    else {
        out_s (&o, " at rip ");
        out_hex (&o, rip - base);
    }
}

static void describe_timeout (struct sfi_thread *t, const char *where, uint64_t rip)
{
    out_t o = { t->fault, sizeof t->fault };
    out_s (&o, "time budget of ");
    out_dec (&o, atomic_load_explicit (&t->budget_ms, memory_order_relaxed));
    out_s (&o, " ms exceeded");
    out_s (&o, where);
    if (rip) {
        out_hex (&o, rip - t->cur->base);
    }
}

/* A host call through a slot nobody exported (called by gate.S). */
void sfi_gate_empty (int slot)
{
    struct sfi_thread *t = &sfi_tls;
    out_t o = { t->fault, sizeof t->fault };
    out_s (&o, "host call through empty slot ");
    out_dec (&o, (uint64_t) slot);
    t->abort = SFI_ETRAP;
}

/* ---- signals ------------------------------------------------------------- */

static _Atomic bool wd_started; /* the watchdog runs: SIGXCPU may be its */

static const int caught[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGXCPU };
#define NCAUGHT (sizeof caught / sizeof caught[0])
static struct sigaction previous[NCAUGHT];

static int caught_index (int sig)
{
    for (size_t i = 0; i < NCAUGHT; i++)
        if (caught[i] == sig)
            return (int) i;
    return -1;
}

/* Not ours: as if we had never been there. */
static void pass_on (int sig, siginfo_t *si, void *uc)
{
    int i = caught_index (sig);
    struct sigaction *old = &previous[i];
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction)
            old->sa_sigaction (sig, si, uc);
        return;
    }
    if (old->sa_handler == SIG_IGN && !(si->si_code > 0 && sig != SIGXCPU))
        return; /* (the kernel does not let a fault be ignored) */
    if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
        /* The default action, taken when this handler returns: a fault
           re-raised from here keeps its signal number in the exit status
           and the core file. */
        struct sigaction dfl;
        memset (&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset (&dfl.sa_mask);
        sigaction (sig, &dfl, NULL);
        raise (sig);
        return;
    }
    old->sa_handler (sig);
}

static bool in_region (const sfi_module_t *m, uint64_t rip)
{
    return rip - (m->base - SFI_GUARD) < REGION + 2 * SFI_GUARD;
}

static void redirect (ucontext_t *uc, struct sfi_thread *t, int code)
{
    greg_t *r = uc->uc_mcontext.gregs;
    r[REG_RIP] = (greg_t) (uintptr_t) sfi_gate_fault_exit;
    r[REG_RSP] = (greg_t) t->host_rsp;
    r[REG_RAX] = (greg_t) code;
    r[REG_EFL] &= ~(greg_t) (0x400 | 0x100 | 0x40000); /* DF, TF, AC */
}

static void on_signal (int sig, siginfo_t *si, void *ucv)
{
    int saved_errno = errno;
    ucontext_t *uc = ucv;
    struct sfi_thread *t = &sfi_tls;
    uint64_t rip = (uint64_t) uc->uc_mcontext.gregs[REG_RIP];
    sfi_module_t *m = t->cur;
    bool in_module = m && t->host_rsp && in_region (m, rip);

    if (sig == SIGXCPU && si->si_code == SI_TKILL && si->si_pid == getpid () && wd_started) {
        /* the watchdog's; late ones (the call has ended) are dropped */
        uint64_t gen = atomic_load_explicit (&t->gen, memory_order_relaxed);
        if ((gen & 1) && atomic_load_explicit (&t->kill_gen, memory_order_relaxed) == gen && m) {
            if (in_module) {
                describe_timeout (t, " at rip ", rip);
                redirect (uc, t, SFI_ETIME);
            }
            else if (!t->abort) {
                describe_timeout (t, " in a host call", 0);
                t->abort = SFI_ETIME;
            }
        }
        errno = saved_errno;
        return;
    }
    if (sig != SIGXCPU && si->si_code > 0 && in_module) {
        describe_fault (t, sig, si, rip);
        redirect (uc, t, sig == SIGSEGV || sig == SIGBUS ? SFI_EFAULT : SFI_ETRAP);
        errno = saved_errno;
        return;
    }
    errno = saved_errno;
    pass_on (sig, si, ucv);
}

/* ---- threads and the watchdog -------------------------------------------- */

static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static int process_error;
static pthread_key_t thread_key;

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static struct sfi_thread *wd_threads;
static sfi_module_t *wd_modules; /* loaded with a budget */
static unsigned wd_tick_ms;

static long long now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void *watchdog (void *arg)
{
    (void) arg;
    pthread_mutex_lock (&wd_lock);
    for (;;) {
        while (!wd_modules)
            pthread_cond_wait (&wd_cond, &wd_lock);
        long long now = now_ms ();
        for (struct sfi_thread *t = wd_threads; t; t = t->next) {
            uint64_t gen = atomic_load_explicit (&t->gen, memory_order_acquire);
            if (!(gen & 1) || gen != t->seen_gen) {
                t->seen_gen = gen;
                t->seen_ms = now;
                continue;
            }
            /* seen_ms is no earlier than the call's start, so the call
               has run at least this long */
            unsigned budget = atomic_load_explicit (&t->budget_ms, memory_order_relaxed);
            if (budget && now - t->seen_ms >= (long long) budget) {
                atomic_store_explicit (&t->kill_gen, gen, memory_order_relaxed);
                pthread_kill (t->thread, SIGXCPU);
            }
        }
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long) wd_tick_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait (&wd_cond, &wd_lock, &ts);
    }
    return NULL;
}

/* Called with wd_lock held: a tenth of the smallest budget, 1..50 ms. */
static void watchdog_retick (void)
{
    unsigned min = 0;
    for (sfi_module_t *m = wd_modules; m; m = m->wd_next)
        if (!min || m->budget_ms < min)
            min = m->budget_ms;
    wd_tick_ms = min / 10;
    if (wd_tick_ms < 1)
        wd_tick_ms = 1;
    if (wd_tick_ms > 50)
        wd_tick_ms = 50;
}

static int watchdog_add (sfi_module_t *m, char *err, size_t errlen)
{
    pthread_mutex_lock (&wd_lock);
    if (!wd_started) {
        /* all signals blocked: the watchdog must not take the host's
           process-directed signals (glpeer reads its own from a signalfd) */
        sigset_t all, old;
        sigfillset (&all);
        pthread_sigmask (SIG_SETMASK, &all, &old);
        pthread_t th;
        int rc = pthread_create (&th, NULL, watchdog, NULL);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        if (rc) {
            pthread_mutex_unlock (&wd_lock);
            return gl_err (err, errlen, "cannot start the watchdog thread: %s", strerror (rc));
        }
        pthread_detach (th);
        wd_started = true;
    }
    m->wd_next = wd_modules;
    if (wd_modules)
        wd_modules->wd_prev = m;
    wd_modules = m;
    watchdog_retick ();
    pthread_cond_signal (&wd_cond);
    pthread_mutex_unlock (&wd_lock);
    return 0;
}

static void watchdog_remove (sfi_module_t *m)
{
    pthread_mutex_lock (&wd_lock);
    if (m->wd_prev)
        m->wd_prev->wd_next = m->wd_next;
    else
        wd_modules = m->wd_next;
    if (m->wd_next)
        m->wd_next->wd_prev = m->wd_prev;
    watchdog_retick ();
    pthread_mutex_unlock (&wd_lock);
}

static void thread_exit (void *arg)
{
    struct sfi_thread *t = arg;
    pthread_mutex_lock (&wd_lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        wd_threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock (&wd_lock);
    if (t->altstack) {
        stack_t ss = { .ss_flags = SS_DISABLE };
        sigaltstack (&ss, NULL);
        munmap (t->altstack, ALTSTACK_SIZE);
    }
    t->ready = false;
}

/* fork: the child has one thread, no watchdog, and maybe a lock taken by
   the parent's watchdog.  It starts a watchdog again when it loads a
   module with a budget. */
static void fork_prepare (void)
{
    pthread_mutex_lock (&wd_lock);
}
static void fork_parent (void)
{
    pthread_mutex_unlock (&wd_lock);
}
static void cond_init (void)
{
    pthread_condattr_t ca;
    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
    pthread_cond_init (&wd_cond, &ca);
    pthread_condattr_destroy (&ca);
}

static void fork_child (void)
{
    cond_init (); /* its waiter is gone */
    pthread_mutex_unlock (&wd_lock);
    wd_started = false;
    struct sfi_thread *t = &sfi_tls;
    wd_threads = t->ready ? t : NULL;
    if (t->ready) {
        t->next = t->prev = NULL;
        t->thread = pthread_self ();
    }
}

static void process_init (void)
{
    cond_init ();
    if ((process_error = pthread_key_create (&thread_key, thread_exit)) ||
        (process_error = pthread_atfork (fork_prepare, fork_parent, fork_child)))
        return;
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset (&sa.sa_mask);
    sigaddset (&sa.sa_mask, SIGXCPU); /* no timeout inside a fault */
    for (size_t i = 0; i < NCAUGHT; i++)
        if (sigaction (caught[i], &sa, &previous[i]) < 0) {
            process_error = errno;
            return;
        }
}

/* The first call on a thread: a signal stack, the signals unblocked, a
   place on the watchdog's list. */
static int thread_init (struct sfi_thread *t)
{
    stack_t ss;
    if (sigaltstack (NULL, &ss) < 0)
        return -1;
    if (ss.ss_flags & SS_DISABLE) {
        void *p = mmap (NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        ss = (stack_t){ .ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };
        if (sigaltstack (&ss, NULL) < 0) {
            munmap (p, ALTSTACK_SIZE);
            return -1;
        }
        t->altstack = p;
    }
    sigset_t set;
    sigemptyset (&set);
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaddset (&set, caught[i]);
    pthread_sigmask (SIG_UNBLOCK, &set, NULL);
    t->thread = pthread_self ();
    pthread_setspecific (thread_key, t);
    pthread_mutex_lock (&wd_lock);
    t->prev = NULL;
    t->next = wd_threads;
    if (wd_threads)
        wd_threads->prev = t;
    wd_threads = t;
    pthread_mutex_unlock (&wd_lock);
    t->ready = true;
    return 0;
}

/* ---- regions ------------------------------------------------------------- */

static uint64_t page_up (uint64_t x)
{
    return (x + PAGE - 1) & ~(PAGE - 1);
}
static uint64_t page_down (uint64_t x)
{
    return x & ~(PAGE - 1);
}

/* 4 GiB at a 4 GiB boundary, between two guards, all PROT_NONE. */
static uint64_t region_reserve (void)
{
    size_t len = REGION + REGION + 2 * SFI_GUARD;
    char *p = mmap (NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    uint64_t start = (uint64_t) (uintptr_t) p;
    uint64_t base = (start + SFI_GUARD + REGION - 1) & ~(REGION - 1);
    uint64_t lo = base - SFI_GUARD, hi = base + REGION + SFI_GUARD;
    if (lo > start)
        munmap (p, lo - start);
    if (start + len > hi)
        munmap ((char *) (uintptr_t) hi, start + len - hi);
    return base;
}

static void region_release (uint64_t base)
{
    munmap ((char *) (uintptr_t) (base - SFI_GUARD), REGION + 2 * SFI_GUARD);
}

static int map_rw (uint64_t base, uint64_t off, uint64_t len)
{
    void *want = (void *) (uintptr_t) (base + off);
    void *p =
        mmap (want, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == want ? 0 : -1;
}

static int protect (uint64_t base, uint64_t off, uint64_t len, int prot)
{
    return mprotect ((void *) (uintptr_t) (base + off), len, prot);
}

/* The image: each segment's pages get its bytes, then its protection. */
static int map_image (sfi_module_t *m, char *err, size_t errlen)
{
    const sfi_image_t *img = m->img;
    uint64_t base = m->base;
    for (int i = 0; i < img->nseg; i++) {
        const sfi_seg_t *s = &img->seg[i];
        if (s->memsz == 0)
            continue;
        uint64_t lo = page_down (s->vaddr), hi = page_up (s->vaddr + s->memsz);
        if (lo < SFI_IMAGE_OFF || hi > img->image_end || s->filesz > s->memsz ||
            s->offset > img->file_size || s->filesz > img->file_size - s->offset)
            return gl_err (err, errlen, "segment %d out of bounds", i);
        if (map_rw (base, lo, hi - lo) < 0)
            return gl_err (err, errlen, "mmap: %s", strerror (errno));
        memcpy ((char *) (uintptr_t) (base + s->vaddr), img->file + s->offset, s->filesz);
        if (i == img->code)
            /* A masked jump can reach any bundle of an executable page,
               the verified ones and those after the end of the code:
               these must trap, not run zeros (add %al, (%rax)). */
            memset ((char *) (uintptr_t) (base + s->vaddr + s->filesz), 0xcc,
                    hi - (s->vaddr + s->filesz));
    }
    for (size_t i = 0; i < img->nrelocs; i++) {
        const sfi_reloc_t *r = &img->relocs[i];
        bool ok = false;
        for (int j = 0; j < img->nseg && !ok; j++) {
            const sfi_seg_t *s = &img->seg[j];
            ok = (s->prot & PROT_WRITE) && !(s->prot & PROT_EXEC) && r->off >= s->vaddr &&
                 s->memsz >= 8 && r->off - s->vaddr <= s->memsz - 8;
        }
        if (!ok || r->addend >= REGION)
            return gl_err (err, errlen, "relocation %zu: not inside a writable segment", i);
        uint64_t v = base + r->addend;
        memcpy ((char *) (uintptr_t) (base + r->off), &v, sizeof v);
    }
    for (int i = 0; i < img->nseg; i++) {
        const sfi_seg_t *s = &img->seg[i];
        if (s->memsz == 0)
            continue;
        uint64_t lo = page_down (s->vaddr), hi = page_up (s->vaddr + s->memsz);
        int prot = s->prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
        if ((prot & PROT_WRITE) && (prot & PROT_EXEC))
            return gl_err (err, errlen, "segment %d writable and executable", i);
        if (protect (base, lo, hi - lo, prot) < 0)
            return gl_err (err, errlen, "mprotect: %s", strerror (errno));
        if (i != img->code && m->nareas < NAREAS)
            m->area[m->nareas++] =
                (area_t){ s->vaddr, s->vaddr + s->memsz, (prot & PROT_WRITE) != 0 };
    }
    return 0;
}

/* Table, info and exit pages. */
static int map_trusted (sfi_module_t *m, uint64_t heap, uint64_t heap_size, uint64_t scratch)
{
    uint64_t base = m->base;
    if (map_rw (base, SFI_TABLE_OFF, PAGE) < 0 ||
        map_rw (base, SFI_INFO_OFF & ~(PAGE - 1), PAGE) < 0 ||
        map_rw (base, SFI_ENTRY_OFF, PAGE) < 0)
        return -1;
    uint64_t *table = (uint64_t *) (uintptr_t) (base + SFI_TABLE_OFF);
    table[0] = (uint64_t) (uintptr_t) sfi_gate_exit;
    for (int k = 1; k < SFI_TABLE_SLOTS; k++)
        table[k] = (uint64_t) (uintptr_t) (sfi_gate_stubs + k * STUB_SIZE);

    struct sfi_info info = { base + heap, base + heap + heap_size, base + REGION, base + scratch };
    memcpy ((char *) (uintptr_t) (base + SFI_INFO_OFF), &info, sizeof info);

    /* Every bundle of this page can be reached by a masked jump, so each
       one is safe to enter: the entry stub masks r11 itself (the gate's
       r11 is a bundle start already), the exit stub only leaves, and the
       rest is int3.  The entry's call ends on the bundle's last byte, so
       the address it pushes is the exit stub. */
    uint8_t *exit_page = (uint8_t *) (uintptr_t) (base + SFI_ENTRY_OFF);
    static const uint8_t mask_r11[] = { 0x41, 0x83, 0xe3, 0xe0, /* andl $-32, %r11d */
                                        0x4d, 0x01, 0xfb };     /* addq %r15, %r11 */
    static const uint8_t call_r11[] = { 0x41, 0xff, 0xd3 };     /* call *%r11 */
    static const uint8_t exit_stub[] = {
        0x41, 0xff, 0xa7, 0x00, 0x00, 0x01, 0x00
    }; /* jmp *0x10000(%r15) */
    memset (exit_page, 0xcc, PAGE);
    memcpy (exit_page, mask_r11, sizeof mask_r11);
    memset (exit_page + sizeof mask_r11, 0x90,
            SFI_EXIT_OFF - SFI_ENTRY_OFF - sizeof mask_r11 - sizeof call_r11);
    memcpy (exit_page + (SFI_EXIT_OFF - SFI_ENTRY_OFF) - sizeof call_r11, call_r11,
            sizeof call_r11);
    memcpy (exit_page + (SFI_EXIT_OFF - SFI_ENTRY_OFF), exit_stub, sizeof exit_stub);

    if (protect (base, SFI_TABLE_OFF, PAGE, PROT_READ) < 0 ||
        protect (base, SFI_INFO_OFF & ~(PAGE - 1), PAGE, PROT_READ) < 0 ||
        protect (base, SFI_ENTRY_OFF, PAGE, PROT_READ | PROT_EXEC) < 0)
        return -1;
    return 0;
}

/* Verifies m's image and maps the region; 0, or -1 with the message in
   err (the caller destroys m). */
static int module_map (sfi_module_t *m, const sfi_limits_t *lim, char *err, size_t errlen)
{
    const sfi_image_t *img = m->img;
    pthread_once (&process_once, process_init);
    if (process_error)
        return gl_err (err, errlen, "cannot install signal handlers: %s", strerror (process_error));

    sfi_verdict_t v;
    memset (&v, 0, sizeof v);
    if (sfi_verify_image (img, &v) != 0)
        return gl_err (err, errlen, "offset 0x%llx: %s: %s", (unsigned long long) v.off, v.insn,
                       v.rule);

    sfi_limits_t l = lim ? *lim : (sfi_limits_t){ 0 };
    uint64_t heap_size = page_up (l.heap_size ? l.heap_size : HEAP_DEFAULT);
    uint64_t stack_size = page_up (l.stack_size ? l.stack_size : STACK_DEFAULT);
    if (stack_size < STACK_MIN)
        stack_size = STACK_MIN;
    const sfi_seg_t *code = &img->seg[img->code];
    uint64_t heap = page_up (img->image_end);
    if (img->code < 0 || img->code >= img->nseg || heap < SFI_IMAGE_OFF || heap > REGION ||
        heap_size > REGION || stack_size > REGION ||
        heap_size + stack_size + SFI_SCRATCH_SIZE > REGION - heap)
        return gl_err (err, errlen,
                       "image, heap (%llu bytes) and stack (%llu bytes) do not fit in 4 GiB",
                       (unsigned long long) heap_size, (unsigned long long) stack_size);
    uint64_t scratch = REGION - stack_size - SFI_SCRATCH_SIZE;

    m->base = region_reserve ();
    if (!m->base)
        return gl_err (err, errlen, "cannot reserve a region: %s", strerror (errno));
    m->stack_top = m->base + REGION - 16;
    m->sp = m->stack_top;
    m->code_lo = code->vaddr;
    m->code_hi = code->vaddr + code->memsz;
    m->scratch = scratch;
    m->budget_ms = l.budget_ms;

    if (map_trusted (m, heap, heap_size, scratch) < 0)
        return gl_err (err, errlen, "cannot map the host-call table: %s", strerror (errno));
    if (map_image (m, err, errlen) < 0)
        return -1;
    if (map_rw (m->base, heap, heap_size) < 0 || map_rw (m->base, scratch, REGION - scratch) < 0)
        return gl_err (err, errlen, "cannot map heap and stack: %s", strerror (errno));
    m->area[m->nareas++] = (area_t){ heap, heap + heap_size, true };
    m->area[m->nareas++] = (area_t){ scratch, REGION, true };

    if (m->budget_ms && watchdog_add (m, err, errlen) < 0) {
        m->budget_ms = 0; /* not on the watchdog's list: nothing to remove */
        return -1;
    }
    return 0;
}

sfi_module_t *sfi_module_load_image (sfi_image_t **img_p, const sfi_limits_t *lim, char *err,
                                     size_t errlen)
{
    if (!img_p || !*img_p) {
        gl_err (err, errlen, "no image");
        return NULL;
    }
    sfi_image_t *img = *img_p;
    *img_p = NULL;
    sfi_module_t *m = calloc (1, sizeof *m);
    if (!m) {
        sfi_image_destroy (&img);
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    m->img = img;
    if (module_map (m, lim, err, errlen) < 0)
        sfi_module_destroy (&m);
    return m;
}

sfi_module_t *sfi_module_load (const char *path, const sfi_limits_t *lim, char *err, size_t errlen)
{
    sfi_image_t *img = sfi_image_load (path, err, errlen);
    if (!img)
        return NULL;
    return sfi_module_load_image (&img, lim, err, errlen);
}

void sfi_module_destroy (sfi_module_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sfi_module_t *self = *self_p;
    if (self->budget_ms)
        watchdog_remove (self);
    if (self->base)
        region_release (self->base);
    sfi_image_destroy (&self->img);
    free (self);
    *self_p = NULL;
}

int64_t sfi_module_lookup (sfi_module_t *self, const char *name)
{
    return self && name ? sfi_image_symbol (self->img, name) : -1;
}

int sfi_module_export (sfi_module_t *self, int slot, void *fn)
{
    if (!self || slot < 1 || slot >= SFI_TABLE_SLOTS)
        return -1;
    self->fns[slot] = fn;
    return 0;
}

static void *area_ptr (sfi_module_t *self, uint64_t addr, size_t len, bool write)
{
    if (!self || addr < self->base || addr - self->base >= REGION)
        return NULL;
    uint64_t off = addr - self->base;
    for (int i = 0; i < self->nareas; i++) {
        const area_t *a = &self->area[i];
        if (off >= a->lo && off <= a->hi && len <= a->hi - off && (a->writable || !write))
            return (void *) (uintptr_t) addr;
    }
    return NULL;
}

void *sfi_module_ptr (sfi_module_t *self, uint64_t addr, size_t len)
{
    return area_ptr (self, addr, len, false);
}

void *sfi_module_wptr (sfi_module_t *self, uint64_t addr, size_t len)
{
    return area_ptr (self, addr, len, true);
}

uint64_t sfi_module_base (sfi_module_t *self)
{
    return self ? self->base : 0;
}

void *sfi_module_scratch (sfi_module_t *self, size_t *len)
{
    if (!self)
        return NULL;
    if (len)
        *len = SFI_SCRATCH_SIZE;
    return (void *) (uintptr_t) (self->base + self->scratch);
}

const char *sfi_module_fault (sfi_module_t *self)
{
    return self ? self->fault : "no module";
}

sfi_module_t *sfi_current (void)
{
    return sfi_tls.cur;
}

/* The fast path: a few checks, a few stores, the gate. */
int sfi_module_call (sfi_module_t *self, int64_t fn_off, const uint64_t *args, int nargs,
                     uint64_t *ret)
{
    if (!self || nargs < 0 || nargs > 6 || (nargs && !args) || (fn_off & (SFI_BUNDLE - 1)) ||
        (uint64_t) fn_off < self->code_lo || (uint64_t) fn_off >= self->code_hi)
        return SFI_EARG;
    struct sfi_thread *t = &sfi_tls;
    if (__builtin_expect (!t->ready, 0) && thread_init (t) < 0) {
        snprintf (self->fault, sizeof self->fault, "cannot prepare the thread: %s",
                  strerror (errno));
        return SFI_EARG;
    }
    uint64_t a[6] = { 0 };
    for (int i = 0; i < nargs; i++)
        a[i] = args[i];

    uint64_t sp = self->sp;
    if (sp != self->stack_top && !sfi_module_wptr (self, sp - 64, 64)) {
        /* a call back from a host call, and the module's rsp is not in
           its writable memory: the gate would write there for it */
        snprintf (self->fault, sizeof self->fault,
                  "module stack pointer 0x%llx is not in writable memory",
                  (unsigned long long) (sp - self->base));
        return SFI_EFAULT;
    }
    if (__builtin_expect (atomic_load_explicit (&self->owner, memory_order_acquire) != t, 0)) {
        struct sfi_thread *none = NULL;
        if (!atomic_compare_exchange_strong_explicit (&self->owner, &none, t, memory_order_acq_rel,
                                                      memory_order_acquire)) {
            snprintf (self->fault, sizeof self->fault, "the module belongs to another thread");
            return SFI_EARG;
        }
    }
    sfi_module_t *outer = t->cur;
    t->cur = self;
    uint64_t gen = 0;
    if (!outer) {
        atomic_store_explicit (&t->budget_ms, self->budget_ms, memory_order_relaxed);
        gen = atomic_load_explicit (&t->gen, memory_order_relaxed) + 1;
        atomic_store_explicit (&t->gen, gen, memory_order_release);
    }
    uint64_t r = 0;
    int rc = sfi_gate_call (a, self->base + (uint64_t) fn_off, sp, self->base, &r, t);
    if (!outer) {
        atomic_store_explicit (&t->gen, gen + 1, memory_order_release);
        t->abort = 0;
    }
    t->cur = outer;
    if (__builtin_expect (rc != 0, 0)) {
        memcpy (self->fault, t->fault, sizeof self->fault);
        return rc;
    }
    self->fault[0] = '\0';
    if (ret)
        *ret = r;
    return SFI_OK;
}
