/*  capture.h -- the checkpoint of the process the shim lives in: its
    side of ckpt_proto.h (the request by signal, the lines on the host's
    socket, the image) and what it does after a restore.

    How (the rest is in capture.c and glunix-image(5)):
    - GL_CKPT_SIGNO is the shim's.  Its handler runs in the thread the
      host queued it to (the first, unless that one blocks it: core/sig.h),
      which then coordinates: it judges the
      process (descriptors, mappings, threads; with children, the whole
      tree, as tree.h says, which the rest of this applies to, process
      by process) and answers
      REFUSE with the reason (AGAIN when the reason is for an instant:
      a child ended, a descriptor came or went meanwhile), or MOVABLE
      to a probe; for a checkpoint it
      sends the same signal to every other thread, which saves the
      registers a call keeps (ckpt_save) and parks on a futex, still
      inside the handler.  The rest of each thread's state (all its
      registers, FPU state, signal mask, alternate stack) is the
      kernel's signal frame on its own stack: memory, in the image.
    - Copy on write.  With every thread parked, the coordinator notes
      what the job's stream pipes hold, forks a child by a raw clone
      with no exit signal (no SIGCHLD, no atfork handler, invisible to
      wait() without __WCLONE), says SNAP, and resumes the threads: at
      once for a request to go on (SNAP then carries the pipes' bytes),
      on GO otherwise; the child writes the image from its copy of
      memory while the job runs.  The
      job is stopped for the parking and the fork only.  The child is
      reaped at the next request (until then it is a zombie only __WALL
      would see).
    - After a restore every thread returns from ckpt_save a second time,
      with the restorer's ckpt_resume_t: the per-thread state the kernel
      keeps outside memory (tid, robust list, rseq, thread pointer) was
      set by the restorer; here the shim re-arms Syscall User Dispatch,
      raises the signals that were pending, points glibc's break
      (__curbrk) at the new kernel's, takes the new host's socket, and
      returns from the handler: rt_sigreturn restores the rest.

    The handler allocates nothing and takes no lock: another thread may
    hold malloc's when the signal arrives. */
#ifndef GL_CAPTURE_H
#define GL_CAPTURE_H

#include <stdbool.h>
#include <sys/types.h>

/* At the shim's start: take GL_CKPT_SIGNO, note the job's streams and
   glibc's thread layout.  rearm: the shim's per-thread Syscall User
   Dispatch arming, called in each restored thread (may be NULL). */
void ckpt_init (void (*rearm) (void));

/* "GLUNIX_CKPT_STREAMS=..." for the environment of a program the
   process executes: which objects are the job's streams (its first
   process's 0, 1, 2, or the restored ones), so that a program whose own
   0, 1 or 2 is a pipe of the job does not take it for a stream.  NULL
   before ckpt_init. */
const char *ckpt_streams_var (void);

/* The signal is the shim's: the program may not change its action or
   block it (the shim's wrappers refuse or drop it). */
bool ckpt_owns (int signo);

/* Process ids as the program saw them before a restore: the pid and
   parent pid it had (the real ones in any other process), and the real
   pid for the one the program names. */
pid_t ckpt_getpid (void);
pid_t ckpt_getppid (void);
pid_t ckpt_real_pid (pid_t pid);

/* A process of a restored tree: the id the program knows for one the
   kernel returned (wait's result, a process group), whether a child
   born since has an id the tree's table gives another (the shim forks
   again), and "GLUNIX_PIDMAP=..." for an executed program's environment
   (NULL when there is no table). */
pid_t ckpt_virt_pid (pid_t real);
bool ckpt_pid_collides (pid_t real);
/* How many restores this process has been through (a fork's child
   counts its parent's), and whether this very process, not the parent
   it was forked from since, was restored after the count was before: a
   call that sees so may have been made on the old node, and what the
   kernel returned then is the old node's. */
unsigned ckpt_restores (void);
bool ckpt_restored_since (unsigned before);
/* Whether ids are translated in this process at all (a restored tree,
   or a restored single process); pidmap_ahead for this process's ids. */
bool ckpt_pids_translated (void);
pid_t ckpt_pid_ahead (pid_t last, pid_t max, pid_t low, unsigned window);
const char *ckpt_pids_var (void);

#endif
