/*  shim_impl.h -- what the two halves of libglshim.so share: shim.c (the
    library's start, the libc calls it interposes, exec and spreading) and
    sud.c (Syscall User Dispatch: the same calls reached by a raw syscall
    instruction).  Not a public interface: glunix(7) describes the shim
    from the outside.

    Everything here may run in a vfork child or inside the SIGSYS
    handler: it allocates nothing and takes no lock; what needs either
    (the paths, the view's mapping, this machine's addresses) is prepared
    when the library starts. */
#ifndef GL_SHIM_IMPL_H
#define GL_SHIM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The exec the caller asked for: execve(path) or a search of PATH. */
typedef enum { SHIM_EXEC_PATH, SHIM_EXEC_SEARCH } shim_exec_how_t;

/* The job's exec, as the shim does it: the environment re-armed (the
   shim and the job's glunix variables put back when the program dropped
   them) and, for a program that --spread names, glx standing in for it.
   Does not return on success; -errno on failure.  raw: reached through
   a trapped syscall instruction (execve itself is then made through
   libc, whose code the dispatch lets through). */
long shim_exec (shim_exec_how_t how, const char *file, char *const argv[], char *const envp[],
                bool raw);

/* The environment envp re-armed, into out (room for n_env (envp's
   entries) + SHIM_ENV_EXTRA pointers) with the strings it needs in buf
   (SHIM_ENV_BUF bytes).  Returns out, or envp itself when nothing is to
   change (the shim is off, or GLUNIX_SHIM=0 in envp). */
#define SHIM_ENV_EXTRA 16
#define SHIM_ENV_BUF   8192
char *const *shim_rearm_env (char *const envp[], char **out, char *buf);
size_t shim_env_count (char *const envp[]);

/* self.c: path itself, or, when it names the process's own program
   (/proc/self/exe and the like) and the process was restored, where
   the program was when it started: what the link named before glrestore
   stood in for it. */
const char *shim_self_exe (const char *path);

/* sud.c */
/* pids.c: before a vfork or posix_spawn in a restored job, the kernel's
   next ids are made not to be old ids of the job's table. */
void pids_guard (void);
void sud_init (void);               /* arm this thread, install the handler */
void sud_arm_thread (void);         /* arm the calling thread (threads, fork children) */
bool sud_armed (void);              /* the dispatch is on in this process */
const char *sud_unavailable (void); /* why it is off, or NULL */
uint64_t sud_trapped (void);        /* raw system calls that reached the shim */

/* In a wrapper of libc's function *real, found by init (the library's
   constructor, or at the first call when another library's constructor
   calls first): return fail, errno ENOSYS, when libc has none.  fail is
   -1 for a call that reports in errno, ENOSYS for one that returns its
   error (pthread's). */
#define SHIM_NEED(real, init, fail) \
    do {                            \
        if (!(real))                \
            init ();                \
        if (!(real)) {              \
            errno = ENOSYS;         \
            return (fail);          \
        }                           \
    } while (0)

#endif
