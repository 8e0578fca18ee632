/*  rewrite.h -- make gcc's x86-64 assembly keep the rules of sfi/SCHEME.md.

    The rewriter reads GNU AT&T assembly as gcc 12 -S emits it with the
    SCHEME.md flags and writes assembly that, assembled with gas, gives
    code the verifier accepts: memory operands confined to the region,
    %rsp writes followed by a rebase, masked indirect branches and returns,
    host calls through the table.  What it cannot make safe it refuses.

    The rewriter is not trusted: the verifier checks its output.  A bug
    here makes a module fail verification or compute the wrong thing. */
#ifndef GL_SFI_REWRITE_H
#define GL_SFI_REWRITE_H
#include <stddef.h>

typedef struct {
    size_t insns;      /* instructions read */
    size_t sandboxed;  /* memory operands moved onto %r15 + %r14 */
    size_t reused;     /* ... of those, without a new r14 setup */
    size_t rsp_writes; /* %rsp writes turned into %esp + rebase */
    size_t branches;   /* indirect jumps and calls masked */
    size_t returns;    /* ret turned into the masked sequence */
    size_t host_calls; /* calls through the host-call table */
} sfi_rewrite_stats_t;

/* Rewrites len bytes of assembly text into *out (malloc'd, NUL-terminated,
   the caller frees it).  Returns 0, or -1 with "LINE: why: text" in err
   (LINE counts from 1 in the input).  stats may be NULL. */
int sfi_rewrite (const char *text, size_t len, char **out, sfi_rewrite_stats_t *stats, char *err,
                 size_t errlen);

#endif
