/*  resume.h -- what the restorer hands the restored shim, and the
    registers the shim saves: the one place capture.c (inside the job)
    and restore_blob.c (the restorer's second stage) meet in memory.

    Every thread of a checkpointed process is parked inside the shim's
    handler, where ckpt_save (capture.c) returned 0.  The restorer makes
    it return a second time, with the address of a ckpt_resume_t in its
    own area instead: the shim reads it, counts itself in `done`, and
    the thread that coordinated the checkpoint unmaps the area once all
    have.  Plain fields, no pointers into either side's libc. */
#ifndef GL_RESUME_H
#define GL_RESUME_H

#include "pidmap.h"

#include <stdint.h>

#define CKPT_RESUME_MAGIC 0x31454d5345524c47ull /* "GLRESME1" */

/* The registers a function call keeps (ckpt_save's order). */
typedef struct {
    uint64_t reg[8]; /* rbx, rbp, r12, r13, r14, r15, rsp (after the call), rip (its return) */
    uint32_t mxcsr, fpucw;
} ckpt_ctx_t;

typedef struct {
    uint64_t magic;
    uint64_t base, len; /* the restorer's area: the shim unmaps it */
    uint32_t n_threads;
    uint32_t done;         /* threads out of the restorer's code (futex word) */
    uint64_t stream[3][2]; /* st_dev, st_ino of the job's streams here (the restorer's 0, 1, 2) */
    uint32_t stream_ok;    /* bit k: stream k is open */
    uint32_t pad;
    char sock[108];  /* GLUNIX_CKPT_SOCK where the process was restored, or "" */
    char gpid[64];   /* GLUNIX_GPID there, or "" */
    pidmap_t pidmap; /* a process of a tree: the tree's old and new ids; else zeros */
} ckpt_resume_t;

#endif
