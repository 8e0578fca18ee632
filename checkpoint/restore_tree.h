/*  restore_tree.h -- glrestore's restore of a tree image (a job of
    several processes, glunix-image(5)): what restore.c, which restores
    one process, and restore_tree.c, which makes the tree, share.

    The records of each process go into a process's state as they do for
    a single process (rst_*); once the whole image is read and every
    process checked, restore_tree.c makes the pipes between them (with
    the bytes that were in them), forks the processes, parents first,
    each in its process group and session, builds the table of old and
    new process ids (pidmap.h) once all exist, and lets each become its
    image with restore.c's two stages (rst_become).  glrestore itself
    becomes the root: the process the agent started and waits for. */
#ifndef GL_RESTORE_TREE_H
#define GL_RESTORE_TREE_H

#include "image.h"
#include "pidmap.h"
#include "restore.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- restore.c: one process of the tree ---- */
typedef struct rst rst_t;

rst_t *rst_new (void);
int rst_take (rst_t *s, const img_rec_t *r, char *err, size_t errlen);
/* Everything of the process checked against this machine. */
int rst_check (rst_t *s, char *err, size_t errlen);
/* Files it had open only for writing cut back to their sizes at the
   checkpoint (restore.c: written_only): once for the whole tree, before
   any of its processes runs. */
int rst_cut_files (rst_t *s, char *err, size_t errlen);
const img_proc_t *rst_proc (const rst_t *s);
size_t rst_n_fds (const rst_t *s);
/* Its i-th FD record (path unset) and, for a pipe's read end, its bytes. */
const img_fd_t *rst_fd (const rst_t *s, size_t i, const uint8_t **data);
/* The memory the n processes share (shared anonymous mappings, among
   them deleted files of /dev/shm and memfds, with the same id, range and
   offset: one object at the checkpoint) made one again: a staging of the first
   process that maps it, with its pages, that every other one moves
   into place too (each its fork's copy of the mapping, which shares
   the object).  Before the fork; 0, or -1 with the reason. */
int rst_share (rst_t *const *p, size_t n, char *err, size_t errlen);
/* Shared memory held by descriptors (deleted files of /dev/shm, memfds)
   made again as memfds, one an object, with its bytes; the mappings of
   it, of every process, staged as mappings of that memfd.  Once, before
   rst_share (and the fork); each descriptor then opens it again. */
int rst_shm_files (rst_t *const *p, size_t n, char *err, size_t errlen);
/* Whether the process's image has nothing in [a, a + len). */
bool rst_free_at (const rst_t *s, uint64_t a, uint64_t len);
/* Regular file f (its FD record; path: its name) opened again as it
   was: its flags (less those that created or cut it) and its offset, at
   a descriptor from hi up, close-on-exec; or -1 with the reason. */
int rst_open_file (const img_fd_t *f, const char *path, int hi, char *err, size_t errlen);
/* Becomes the process; pipe_ends[i]: a descriptor of the pipe end, the
   socket pair's end or the shared open file (restore_tree.c opens it
   once for the tree) its i-th FD record names; pm: the tree's ids, handed to its shim.  Does
   not return, but with -1 and the reason before it changed anything. */
int rst_become (rst_t *s, int fd, const restore_opts_t *o, const int *pipe_ends, const pidmap_t *pm,
                char *err, size_t errlen);

/* ---- restore_tree.c ---- */
typedef struct rtree rtree_t;

/* A tree from its TREE record, then each record after it. */
rtree_t *rtree_new (const img_rec_t *r, char *err, size_t errlen);
int rtree_take (rtree_t *t, const img_rec_t *r, char *err, size_t errlen);
/* The whole image read: checks every process, then makes the tree
   (restore_run's contract: with check_only, 0 once checked; otherwise
   does not return but with -1 and the reason, nothing changed yet). */
int rtree_run (rtree_t *t, int fd, const restore_opts_t *o, char *err, size_t errlen);

#endif
