/*  restore_impl.h -- what restore.c (the restorer's first stage, an
    ordinary program) hands restore_blob.c (the second, which runs after
    the first's own memory is gone): the plan.

    The plan and the second stage's code live in one area that the first
    stage maps where the image has nothing (a hole); the code is copied
    there from the section glr_blob, whose functions use no data, no
    libc and no relocation (t/integ/ckpt.sh checks the object file), so
    that it runs wherever it lands.  Addresses in the plan are absolute:
    the area does not move. */
#ifndef GL_RESTORE_IMPL_H
#define GL_RESTORE_IMPL_H

#include "resume.h"

#include <linux/prctl.h>
#include <stdint.h>

#define RP_STACK (64u << 10) /* each thread's, in the area, until it jumps */

enum {
    RP_MOVE = 1, /* a staging mapping onto its place (mremap), then prot */
    RP_ANON,     /* an anonymous mapping without pages */
    RP_SHANON,   /* the same, shared */
    RP_FILE,     /* a file mapping: path, offset, prot (plus write while copies follow) */
    RP_COPY,     /* bytes from a staging mapping (written pages of a file mapping) */
    RP_PROT,     /* the final protection */
    RP_UNMAP,    /* a staging mapping no longer needed */
    RP_GROW,     /* room below the main stack, growing down */
    RP_ADVISE,   /* madvise(): MADV_DONTFORK or MADV_WIPEONFORK, best effort */
    RP_LOCK,     /* mlock2(), flags in advice, best effort */
};

typedef struct {
    uint32_t op, prot, shared;
    uint32_t advice; /* RP_ANON: madvise()'s MADV_HUGEPAGE or MADV_NOHUGEPAGE, or 0; RP_ADVISE's */
    uint64_t src, dst, len, offset, path; /* path: a string in the area */
} rp_op_t;

typedef struct {
    uint64_t cur, old, len, tmp; /* the new kernel's [vdso] or [vvar*], and where it goes */
} rp_special_t;

typedef struct {
    uint64_t lo, hi;
} rp_range_t;

typedef struct {
    ckpt_ctx_t ctx;
    uint64_t fs, tid_addr, robust, robust_len, rseq;
    uint32_t rseq_len, rseq_sig;
    uint64_t stack; /* the top of its stack in the area */
    uint64_t info;  /* the plan's ckpt_resume_t */
    uint32_t leader, pad;
    char name[16];                       /* prctl(PR_SET_NAME), or "" */
    uint32_t attrs, policy, rtprio, nnp; /* attrs: the ones from policy to caps to set */
    int32_t nice;
    uint32_t pdeath, persona, nodump, subreaper, pad2;
    uint32_t caps[2][3]; /* capset(2)'s: effective, permitted, inheritable; low, high */
} rp_thread_t;

typedef struct {
    uint64_t n_special, n_keep, n_ops, n_threads;
    rp_special_t *special;
    rp_range_t *keep; /* sorted: all else below IMG_USER_TOP is unmapped */
    rp_op_t *ops;
    rp_thread_t *threads;
    uint64_t fail_msg, fail_len; /* what to say if a step fails now */
    int64_t image_fd;            /* closed once nothing can fail: the host's sign of success */
    int64_t image_ack;           /* and GL_RESTORE_SETTLED written on it first (one process) */
    int64_t set_mm;              /* mm known: the kernel's layout set to it (best effort) */
    struct prctl_mm_map mm;
    ckpt_resume_t resume;
} rp_plan_t;

/* The second stage's entry, on a stack in the area; never returns. */
void glr_stage2 (rp_plan_t *plan) __attribute__ ((noreturn));

extern const char __start_glr_blob[], __stop_glr_blob[];

#endif
