/*  exec.h -- run one job on this node  (local execution)

    The agent starts a job from an exec_spec_t and gets back an exec_t: a
    running process with its stdio as non-blocking file descriptors for the
    agent's poll loop.  The agent does its own read() and write() on them,
    so it decides when to stop reading (a slow peer) and the job then
    blocks on a full pipe: flow control costs nothing here.

    What the job gets:
      - the program, found as execvp(3) would, in the PATH of the spec
        (not the agent's), with the given argv and the full given envp;
      - its working directory, its umask and its user: a job runs as the
        agent's own user, or, when the agent runs as root, as any user the
        spec names (supplementary groups included);
      - a session and process group of its own, led by the job, so a signal
        reaches everything it started (exec_signal) and nothing else;
      - a keeper (reap.h), its parent and the subreaper of all it starts:
        what leaves its group (setsid, a daemon's double fork) comes back
        to the keeper, not init, and exec_destroy ends that too;
      - stdin, stdout and stderr as three pipes, or one pseudo-terminal
        that is its controlling terminal;
      - the resource limits the spec names (those of the user's glx, by
        name: resource numbers differ between architectures), each
        lowered to what the agent's own hard limit allows, so a job gets
        what `ulimit` in the user's shell gave and never more than a
        process started here may have; the others as the agent has them;
      - default signal dispositions, an empty signal mask and no file
        descriptor beyond 0, 1 and 2, whatever the agent holds, but for
        the one the spec may hand it as its fd 3 (a parallel job's
        PMI_FD, the socket its PMI requests go through).

    exec_start returns only once the program is running, or with the reason
    it could not be: the child reports a failed chdir or execve back through
    a close-on-exec pipe, so "not found" is told from "permission denied"
    and from a bad directory before the caller answers its client.

    The job's pid stays reserved until exec_destroy: its keeper reads its
    exit without reaping it (waitid WNOWAIT) and tells it on a socket, so
    its process group can't be reused by a stranger while exec_signal or
    exec_destroy may still aim at it.  The caller's own child is the
    keeper, which ends only once exec_destroy has let it go (or the caller
    is gone); exec_reap reaps it. */
#ifndef GL_EXEC_H
#define GL_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    EXEC_OK = 0,
    EXEC_ERR_NOT_FOUND, /* no such program (in any PATH directory) */
    EXEC_ERR_DENIED,    /* the program is there but may not be run */
    EXEC_ERR_CWD,       /* the working directory can't be entered */
    EXEC_ERR_USER,      /* not allowed, or unable, to run as that user */
    EXEC_ERR_SYSTEM     /* anything else: fork, pipes, pty, execve's
                               other errors ("Exec format error", ...) */
} exec_err_t;

typedef struct {
    const char *file;  /* a path when it holds a '/', else a name to
                               look up in path */
    char *const *argv; /* NULL-terminated; NULL means { file, NULL } */
    char *const *envp; /* the whole environment; NULL means empty */
    const char *path;  /* where to look file up; NULL: the PATH in
                               envp, or EXEC_DEFAULT_PATH without one */
    const char *cwd;   /* NULL: stay in the agent's directory */
    mode_t umask;
    uid_t uid; /* the caller's own, unless the caller is root */
    gid_t gid;
    bool pty;      /* a pseudo-terminal instead of three pipes */
    uint16_t rows; /* its window size; 0 means 24 x 80 */
    uint16_t cols;
    int fd3;              /* the job's fd 3 is a copy of this one; -1 (as
                               exec_spec_init sets it): no fd 3 */
    const char *user;     /* the job's user by name: what a launcher checks
                               (exec_set_launcher), uid and gid being its own */
    char *const *rlimits; /* n_rlimits limits as gl_rlimit_parse reads
                               them (core/rlimits.h); none: the agent's own */
    size_t n_rlimits;
    uint8_t closed; /* bit k: the job starts with fd k (0..2) closed, as
                               the one who asked had it; not with a pty */
} exec_spec_t;

#define EXEC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* A spec with no program yet: the caller's uid and gid, umask 022, pipes,
   24 x 80 should a pty be asked for, no fd 3. */
void exec_spec_init (exec_spec_t *spec);

typedef struct exec_t exec_t;

/* Start the job.  Returns it running, or NULL with *code (may be NULL)
   set and a message in err naming the program, directory or user at
   fault, e.g. "program not found: fortune (PATH /usr/bin:/bin)".  Waits
   for the child's execve, no longer: the time it takes to load a program. */
exec_t *exec_start (const exec_spec_t *spec, exec_err_t *code, char *err, size_t errlen);

/* From now on, start, signal and reap jobs through the root launcher at
   the other end of sock (launcher.h) instead of forking them here: for an
   agent that has dropped its privileges.  The job's stdio ends come back
   to this process, so everything below works the same. */
void exec_set_launcher (int sock);

/* Close this process's copies of the job's stdio ends and forget them:
   the launcher does, once it has handed them to the agent. */
void exec_release_fds (exec_t *self);

/* Kill whatever is left of the job with SIGKILL: its process group, then
   every process that left it and came back to its keeper; close its
   descriptors.  Waits only for the kernel to end the job's process,
   which is quick unless it is stuck in the kernel (an unreachable NFS
   server, say); its keeper goes on killing and reaping what the job left,
   and is reaped by exec_reap once it has ended. */
void exec_destroy (exec_t **self_p);

/* Reap the keepers exec_destroy let go that have ended since (they kill
   what their jobs left behind after the job itself is gone).  Never
   blocks; exec_start and exec_poll_exit call it too.  Call it on
   SIGCHLD, so that no ended keeper stays a zombie while no job runs. */
void exec_reap (void);

pid_t exec_pid (exec_t *self);

/* Is the job's process stopped by SIGSTOP, SIGTSTP, SIGTTIN or SIGTTOU
   (glx's user pressed Ctrl-Z, or the job stopped itself)?  Not by a
   tracer: a tracer's stops come and go (LeakSanitizer stops the world
   through ptrace as the process exits; strace as it attaches).  Read
   from /proc; false once it has ended. */
bool exec_stopped (exec_t *self);

/* The caller's ends, non-blocking and close-on-exec; they belong to the
   exec_t, never close them.  With a pty, stdin and stdout are both the
   master and stderr is -1 (the job's stderr goes to its terminal).
   End of output: read() returns 0 on a pipe once the job and everything
   it started have closed it; a pty master fails with EIO instead once
   every process has closed the terminal, after what they wrote is read.
   exec_fd_stdin is -1 once exec_close_stdin closed a pipe. */
int exec_fd_stdin (exec_t *self);
int exec_fd_stdout (exec_t *self);
int exec_fd_stderr (exec_t *self);

/* A copy of the read end of the job's stdin pipe (-1 with a pty), kept
   so that what was written to the job and not read by it can be taken
   back (a checkpoint carries it to the job's next node).  It shares the
   job's file description, so it stays blocking: read only as much as
   FIONREAD says is there.  It also keeps the pipe open after the job
   closed its stdin: writes then fill it instead of failing. */
int exec_fd_stdin_back (exec_t *self);

/* End the job's input.  Pipes: closes stdin, so the job reads end of file
   (later calls do nothing).  Pty: writes the terminal's end-of-file
   character (VEOF, usually ^D); a program reading lines sees end of file
   when it comes at the start of a line, while after a partial line it
   only ends that line, so a caller that did not last write a newline
   calls this twice.  Returns 0, or -1 with errno (EAGAIN: the terminal's
   input is full, call again when the master is writable). */
int exec_close_stdin (exec_t *self);

/* Set the terminal's window size; the kernel sends SIGWINCH to the job's
   foreground process group when it changes.  Returns 0, or -1 with errno
   (ENOTTY for a job on pipes). */
int exec_winsize (exec_t *self, uint16_t rows, uint16_t cols);

/* Send sig to every process in the job's process group.  Returns 0, or -1
   with errno (ESRCH: nobody left in the group). */
int exec_signal (exec_t *self, int sig);

/* Send sig to the job's process alone (not its group), queued to one of
   its threads that takes it (core/sig.h) with value as its
   si_value.sival_int: a checkpoint's request
   (checkpoint/ckpt_proto.h), or a stop that leaves the job's other
   processes running.  Returns 0, or -1 with errno. */
int exec_sigqueue (exec_t *self, int sig, int value);

typedef struct {
    int code;   /* exit code, when signal is 0 */
    int signal; /* the signal that killed the job, or 0 */
    bool core;  /* and it dumped core */
} exec_status_t;

/* Never blocks.  True once the job has ended, with status filled (status
   may be NULL); it then stays true with the same status.  The keeper wakes
   the caller with SIGCHLD when it ends, as the kernel would for a child.
   Should the keeper have been killed behind our back, the job's status is
   lost: it reads as exit code 255, and its group and process are killed
   here (what left the group went to init with the keeper's end). */
bool exec_poll_exit (exec_t *self, exec_status_t *status);

/* The status as a shell reports it: the exit code, or 128 + the signal. */
int exec_status_code (const exec_status_t *status);

#endif
