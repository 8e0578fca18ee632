/*  restore_blob.c -- the restorer's second stage (restore_impl.h): runs
    from a copy of itself in a hole of the image's address space, after
    the first stage has read, checked and staged everything, and turns
    the process into the image's.

    It may call nothing outside the section glr_blob (the first stage's
    libc, stack and TLS are unmapped by its second step), so: raw system
    calls inlined, no string constant, no jump table, no stack
    protector (it reads the TLS), no sanitizer (built apart: see
    Makefile.am).  A step that fails now has nothing to go back to: it
    says so on stderr and exits GL_RESTORE_FAILED. */
#include "ckpt_proto.h"
#include "image.h"
#include "restore_impl.h"

#include <asm/prctl.h>
#include <linux/mman.h>
#include <sys/syscall.h>

#define BLOB __attribute__ ((section ("glr_blob"), used, noinline))
#define INL  static inline __attribute__ ((always_inline))

#define CLONE_THREAD_FLAGS \
    0x3d0f00 /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID */
_Static_assert(CLONE_THREAD_FLAGS == (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 | 0x80000 |
                                      0x100000 | 0x200000),
               "glibc's flags for a thread");

INL long sc (long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

long glr_clone (long flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls,
                rp_thread_t *t) __attribute__ ((visibility ("hidden")));
void glr_jump (const ckpt_ctx_t *ctx, uint64_t info)
    __attribute__ ((noreturn, visibility ("hidden")));
void glr_thread (rp_thread_t *t) __attribute__ ((noreturn, visibility ("hidden")));

/* clone(2) for a thread: the child starts glr_thread(t) on its stack in
   the area.  glr_jump: the registers ckpt_save kept, then its return
   with rax = the resume info. */
__asm__(".pushsection glr_blob, \"ax\", @progbits\n"
        ".globl glr_clone\n"
        ".hidden glr_clone\n"
        ".type glr_clone, @function\n"
        "glr_clone:\n"
        "    mov %rcx, %r10\n"
        "    mov $56, %eax\n"
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jnz 1f\n"
        "    mov %r9, %rdi\n"
        "    call glr_thread\n"
        "    ud2\n"
        "1:  ret\n"
        ".size glr_clone, .-glr_clone\n"
        ".globl glr_jump\n"
        ".hidden glr_jump\n"
        ".type glr_jump, @function\n"
        "glr_jump:\n"
        "    mov 0(%rdi), %rbx\n"
        "    mov 8(%rdi), %rbp\n"
        "    mov 16(%rdi), %r12\n"
        "    mov 24(%rdi), %r13\n"
        "    mov 32(%rdi), %r14\n"
        "    mov 40(%rdi), %r15\n"
        "    ldmxcsr 64(%rdi)\n"
        "    fldcw 68(%rdi)\n"
        "    mov 48(%rdi), %rsp\n"
        "    mov %rsi, %rax\n"
        "    jmp *56(%rdi)\n"
        ".size glr_jump, .-glr_jump\n"
        ".popsection\n");

/* img: the image's descriptor while it is open, -1 once it is closed */
BLOB static void die (const rp_plan_t *p, long img)
{
    sc (SYS_write, 2, (long) p->fail_msg, (long) p->fail_len, 0, 0, 0);
    /* the agent goes by this byte, after the line (ckpt_proto.h) */
    if (img >= 0) {
        char failed = GL_RESTORE_REFUSED;
        sc (SYS_write, img, (long) &failed, 1, 0, 0, 0);
    }
    for (;;)
        sc (SYS_exit_group, GL_RESTORE_FAILED, 0, 0, 0, 0, 0);
}

BLOB static void copy (uint64_t dst, uint64_t src, uint64_t n)
{
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/* In the thread itself: what the kernel keeps per thread outside memory. */
BLOB void glr_thread (rp_thread_t *t)
{
    if (t->name[0]) /* best effort: a name is for people */
        sc (SYS_prctl, PR_SET_NAME, (long) t->name, 0, 0, 0, 0);
    if (t->robust)
        sc (SYS_set_robust_list, (long) t->robust, (long) t->robust_len, 0, 0, 0, 0);
    /* what the kernel keeps per thread, best effort where this node
       may refuse it: scheduling (a nice value below the old node's
       default, or a real-time policy, needs a limit or privilege this
       node may not give), the parent-death signal, the personality,
       then the capabilities, last since they may only drop (the
       restorer has its user's); no_new_privs, which never fails */
    if (t->attrs) {
        struct {
            int prio;
        } sp = { (int) t->rtprio };
        sc (SYS_sched_setscheduler, 0, t->policy, (long) &sp, 0, 0, 0);
        sc (SYS_setpriority, 0 /* PRIO_PROCESS */, 0, t->nice, 0, 0, 0);
        sc (SYS_prctl, PR_SET_PDEATHSIG, t->pdeath, 0, 0, 0, 0);
        sc (SYS_personality, t->persona, 0, 0, 0, 0, 0);
        struct {
            uint32_t version;
            int pid;
        } h = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
        sc (SYS_capset, (long) &h, (long) t->caps, 0, 0, 0, 0);
    }
    if (t->nnp)
        sc (SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
    if (t->nodump)
        sc (SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
    if (t->subreaper)
        sc (SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0);
    if (t->rseq) {
        /* the old node's cpu number is wrong here until the kernel
           writes the new one; -2 (registration failed) makes glibc ask
           the kernel, should registration fail */
        *(volatile uint32_t *) (uintptr_t) (t->rseq + 4) = (uint32_t) -2;
        *(volatile uint64_t *) (uintptr_t) (t->rseq + 8) = 0; /* no critical section */
        sc (SYS_rseq, (long) t->rseq, t->rseq_len, 0, t->rseq_sig, 0, 0);
    }
    glr_jump (&t->ctx, t->info);
}

BLOB void glr_stage2 (rp_plan_t *p)
{
    long img = p->image_fd;
    /* the new kernel's vDSO and vvar to where the program's libc knows
       them, through a reserved hole so no two of them ever overlap */
    for (uint64_t i = 0; i < p->n_special; i++) {
        rp_special_t *s = &p->special[i];
        if (sc (SYS_mremap, (long) s->cur, (long) s->len, (long) s->len,
                MREMAP_MAYMOVE | MREMAP_FIXED, (long) s->tmp, 0) != (long) s->tmp)
            die (p, img);
    }
    for (uint64_t i = 0; i < p->n_special; i++) {
        rp_special_t *s = &p->special[i];
        if (sc (SYS_mremap, (long) s->tmp, (long) s->len, (long) s->len,
                MREMAP_MAYMOVE | MREMAP_FIXED, (long) s->old, 0) != (long) s->old)
            die (p, img);
    }
    /* the first stage's memory, all of it */
    uint64_t lo = IMG_PAGE;
    for (uint64_t i = 0; i < p->n_keep; i++) {
        if (p->keep[i].lo > lo)
            sc (SYS_munmap, (long) lo, (long) (p->keep[i].lo - lo), 0, 0, 0, 0);
        if (p->keep[i].hi > lo)
            lo = p->keep[i].hi;
    }
    if (lo < IMG_USER_TOP)
        sc (SYS_munmap, (long) lo, (long) (IMG_USER_TOP - lo), 0, 0, 0, 0);
    /* the image's memory */
    for (uint64_t i = 0; i < p->n_ops; i++) {
        const rp_op_t *o = &p->ops[i];
        long r = 0;
        switch (o->op) {
            case RP_MOVE:
                r = sc (SYS_mremap, (long) o->src, (long) o->len, (long) o->len,
                        MREMAP_MAYMOVE | MREMAP_FIXED, (long) o->dst, 0);
                r = r == (long) o->dst
                        ? sc (SYS_mprotect, (long) o->dst, (long) o->len, o->prot, 0, 0, 0)
                        : -1;
                break;
            case RP_ANON:
            case RP_SHANON:
            case RP_GROW: {
                long fl = (o->op == RP_SHANON ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
                          MAP_NORESERVE |
                          (o->op == RP_GROW ? MAP_GROWSDOWN | MAP_FIXED_NOREPLACE : MAP_FIXED);
                r = sc (SYS_mmap, (long) o->dst, (long) o->len, o->prot, fl, -1, 0);
                r = r == (long) o->dst || o->op == RP_GROW ? 0 : -1;
                if (r == 0 && o->advice) /* best effort, as the staging's */
                    sc (SYS_madvise, (long) o->dst, (long) o->len, o->advice, 0, 0, 0);
                break;
            }
            case RP_FILE: {
                /* O_RDWR (2) for a shared mapping written through, else O_RDONLY */
                long fd = sc (SYS_open, (long) o->path, o->shared && (o->prot & PROT_WRITE) ? 2 : 0,
                              0, 0, 0, 0);
                if (fd < 0) {
                    r = -1;
                    break;
                }
                r = sc (SYS_mmap, (long) o->dst, (long) o->len, o->prot,
                        (o->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, (long) o->offset);
                sc (SYS_close, fd, 0, 0, 0, 0, 0);
                r = r == (long) o->dst ? 0 : -1;
                break;
            }
            case RP_COPY: copy (o->dst, o->src, o->len); break;
            case RP_PROT:
                r = sc (SYS_mprotect, (long) o->dst, (long) o->len, o->prot, 0, 0, 0);
                break;
            case RP_UNMAP: sc (SYS_munmap, (long) o->src, (long) o->len, 0, 0, 0, 0); break;
            case RP_ADVISE: /* a kernel before 4.14 has no MADV_WIPEONFORK: a fork copies it */
                sc (SYS_madvise, (long) o->dst, (long) o->len, o->advice, 0, 0, 0);
                break;
            case RP_LOCK: /* beyond this node's RLIMIT_MEMLOCK: not locked */
                sc (SYS_mlock2, (long) o->dst, (long) o->len, o->advice, 0, 0, 0);
                break;
            default: r = -1;
        }
        if (r < 0)
            die (p, img);
    }
    /* best effort: where it fails (a kernel without it, a data limit
       below the heap), ps shows the restorer's command line and the
       restored shim keeps glibc's heap off the restorer's break */
    if (p->set_mm)
        sc (SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, (long) &p->mm, sizeof p->mm, 0, 0);
    /* nothing can fail any more: the image's descriptor closed tells
       the host, and a byte written on it first tells it at once
       (ckpt_proto.h); where it is not a socket the write fails, harmless */
    if (p->image_fd >= 0) {
        if (p->image_ack) {
            char settled = GL_RESTORE_SETTLED;
            sc (SYS_write, (long) p->image_fd, (long) &settled, 1, 0, 0, 0);
        }
        sc (SYS_close, (long) p->image_fd, 0, 0, 0, 0, 0);
    }
    img = -1;
    /* the threads: every other one cloned as glibc does, then this one
       becomes the leader */
    rp_thread_t *leader = 0;
    for (uint64_t i = 0; i < p->n_threads; i++) {
        rp_thread_t *t = &p->threads[i];
        if (t->leader) {
            leader = t;
            continue;
        }
        if (glr_clone (CLONE_THREAD_FLAGS, t->stack, t->tid_addr, t->tid_addr, t->fs, t) < 0)
            die (p, img);
    }
    if (!leader)
        die (p, img);
    long tid = sc (SYS_set_tid_address, (long) leader->tid_addr, 0, 0, 0, 0, 0);
    *(volatile int *) (uintptr_t) leader->tid_addr = (int) tid;
    sc (SYS_arch_prctl, ARCH_SET_FS, (long) leader->fs, 0, 0, 0, 0);
    glr_thread (leader);
}
