/*  restore.h -- the restorer: an image read from a descriptor becomes
    the calling process (glrestore(8) is its program; ckpt_proto.h the
    contract with the agent that starts it).

    Two stages.  The first (restore.c) is an ordinary program: it reads
    the whole image, checks every sum (a sealed source's records' sums
    stand: restore_src_t) and every field, checks this
    machine against it (the files it maps and opens, with their sizes
    and modification times; the vDSO's layout; the CPU's state
    components; the streams), and stages the pages in anonymous
    mappings placed where the image has nothing.  Only then does it
    touch the process: descriptors, directory, umask, limits, signal
    actions, timers; and it jumps to the second stage (restore_blob.c),
    which moves the new kernel's vDSO where the program's libc knows it,
    unmaps everything of the first stage, moves the staged pages onto
    their addresses (mremap: no copy), maps the files, and clones the
    threads, each of which returns into the shim's handler
    (capture.h).

    The process keeps the pid the host gave it; the shim keeps the old
    one visible to the program.  The kernel's break stays the
    restorer's: glibc's malloc, once the shim pointed it there, grows
    elsewhere (capture.c). */
#ifndef GL_RESTORE_H
#define GL_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where the image's bytes come from, when not plainly from the
   descriptor restore_run is given (which stays the agent's: the settled
   byte and its close go there): a move's sealed stream (glrestore.c).
   Like read(2): bytes, 0 at the image's authenticated end, -1 with *why
   (or errno, *why NULL).  authenticated: every byte it hands out was
   authenticated first (the sealed stream's tags), so the records' own
   sums are not computed again (img_dec_t).  ahead: its bytes cost more
   to read than their pages to make present (a sealed stream's, each
   opened), so a thread makes the next record's pages present while a
   record comes (restore.c); from a file, read from the page cache
   faster than the pages can be made present, the thread only gets in
   the way, as it does where it has no core of its own (glrestore.c's
   ahead_pays: a sealed stream's sender on this machine takes one). */
typedef struct {
    ssize_t (*read) (void *arg, void *buf, size_t n, const char **why);
    void *arg;
    bool authenticated;
    bool ahead;
} restore_src_t;

typedef struct {
    const restore_src_t *src; /* NULL: read the descriptor */
    const char *sock;         /* GLUNIX_CKPT_SOCK to hand the restored shim, or NULL */
    const char *gpid;         /* GLUNIX_GPID, or NULL */
    bool check_only;          /* read and check, touch nothing, return 0 */
    bool verbose;             /* say on stderr what was read and how long it took */
    /* set, when not NULL, as restore_run fails: whether the failure is
       the image's own FAIL record of an instant (IMG_FAIL_AGAIN: the
       capture met a descriptor that came or went, and may be made
       again), which the agent hears as GL_RESTORE_AGAIN */
    bool *again;
} restore_opts_t;

/* Reads the image from fd and becomes it: does not return on success
   (nor with check_only, where it returns 0).  -1 with the reason in err
   when the image or this machine will not do; then nothing of the
   process has changed. */
int restore_run (int fd, const restore_opts_t *o, char *err, size_t errlen);

#endif
