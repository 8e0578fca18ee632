/*  pidmap.h -- process ids across the restore of a process tree.

    A tree of processes restored on another node gets new ids from that
    node's kernel, while every program in it holds the old ones: a shell
    compares wait()'s result with its job table, make waits for the pids
    of its compilers, a parent kills the worker it started.  So the
    restorer builds one table, old id -> new id, in memory the tree's
    processes share (a shared anonymous mapping made before they are
    forked, which every later child inherits), and the shim translates
    through it at the calls where an id crosses between a program and
    the kernel: ids a program names go in by pidmap_real (kill, waitpid,
    setpgid, ...), ids the kernel hands back come out by pidmap_virt
    (getpid, getppid, wait's result, ...).

    Ids outside the table pass unchanged: those of processes born after
    the restore (their ids are new to everyone, so the kernel's are the
    program's), and 0 and -1 (the caller's group, every process).  A
    negative id names a process group and is translated by its absolute
    value.  One ambiguity remains: a process born after the restore may
    get from the kernel an id that is an old id in the table; the shim
    sees it at the fork (pidmap_collides) and forks again, so that no
    id means two processes within the job.

    Plain fields and no pointers: the table is read by processes that
    map it at the same address but are otherwise strangers, and it is
    written once, by the restorer, before any of them runs.  Lookups are
    linear: a table holds at most IMG_MAX_PROCS entries and is read at
    system calls that cost more. */
#ifndef GL_PIDMAP_H
#define GL_PIDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PIDMAP_MAGIC 0x31504d4449504c47ull /* "GLPIDMP1" */
#define PIDMAP_MAX   256                   /* IMG_MAX_PROCS */

typedef struct {
    uint64_t magic;
    uint32_t n, pad;
    struct {
        int32_t virt, real;
    } e[PIDMAP_MAX];
} pidmap_t;

void pidmap_init (pidmap_t *m);

/* One process: the id its programs knew, the one it has now.  -1 with
   *why when either is not a process id, is in the table already (one id
   for two processes, either way), or the table is full. */
int pidmap_add (pidmap_t *m, pid_t virt, pid_t real, const char **why);

/* Whether m is a table pidmap_init made (a pointer handed over from
   another process is checked before it is trusted). */
bool pidmap_valid (const pidmap_t *m);

/* The kernel's id for one a program names (a negative one: a process
   group). */
pid_t pidmap_real (const pidmap_t *m, pid_t virt);

/* The program's id for one the kernel returned. */
pid_t pidmap_virt (const pidmap_t *m, pid_t real);

/* Whether a process born after the restore got an id the table gives to
   another (real is that new process's id). */
bool pidmap_collides (const pidmap_t *m, pid_t real);

/* Whether one of the next `window` ids the kernel hands out after
   `last` (wrapping past `max` to `low`: 300 in the first pid namespace,
   2 in others) is an old id of the table that a new process would then
   share: the id among them furthest from last, or 0.  A process about
   to make a child through vfork or posix_spawn, which cannot be made
   again, uses up ids until this says 0 (shim/pids.c). */
pid_t pidmap_ahead (const pidmap_t *m, pid_t last, pid_t max, pid_t low, unsigned window);

#endif
