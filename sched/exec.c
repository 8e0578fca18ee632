/*  exec.c -- run one job on this node  (see exec.h for what the job gets)

    exec_start works in three stages:

      1. prepare, in the agent: check the user and list their groups, list
         the paths to try for the program, open the pipes or the pty.
         Everything that allocates or reads a file happens here;
      2. fork the job's keeper (reap.h), which makes itself a subreaper
         and forks the job, and in the job make system calls only until
         execve: the agent may have threads (libzmq's), and after fork
         only async-signal-safe functions are safe to call (the keeper
         makes system calls only, its whole life);
      3. wait for the outcome on a close-on-exec pipe: it reads end of
         file when execve succeeds, or a child_report_t naming the step
         that failed and its errno.

    The child's steps, in order: default signal dispositions (the agent's
    mask still blocks everything, so no handler of the agent can run in the
    child), a new session (a new process group too; with a pty, the slave
    becomes its controlling terminal), stdio onto 0, 1, 2, every other
    descriptor marked close-on-exec, the user, the directory (entered as
    the user, so the user's permissions apply), the umask, an empty signal
    mask, and execve on each candidate path in turn.

    Why a session for pipe jobs too, not just a process group: it detaches
    the job from the agent's controlling terminal, if the agent has one, so
    a job that opens /dev/tty fails at once (as under ssh without -t)
    instead of stopping on SIGTTIN or reading from the agent's terminal. */

#include "exec.h"
#include "err.h"
#include "fd.h"
#include "grow.h"
#include "launcher.h"
#include "reap.h"
#include "rlimits.h"
#include "sig.h"
#include "str.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct exec_t {
    pid_t pid;    /* also the job's session and process group id */
    pid_t keeper; /* its keeper (reap.h), our child; -1: none */
    int keep;     /* our end of the keeper's socket */
    int pidfd;    /* the job's process, should its keeper be killed; -1: none */
    bool pty;
    int fd_in;  /* the caller's ends; with a pty all three are */
    int fd_out; /* the master (fd_err stays -1) */
    int fd_err;
    int fd_in_back; /* a copy of stdin's read end (exec_fd_stdin_back) */
    bool exited;    /* status is known (the job is a zombie) */
    bool lost;      /* its keeper is gone: leave its pid alone */
    exec_status_t status;
    uint64_t remote; /* the launcher's job (launcher.h), or 0: our child */
};

/* Through the launcher (exec_set_launcher): at the end of this file. */
static bool exec_launched (void);
static exec_t *exec_launch (const exec_spec_t *spec, exec_err_t *code, char *err, size_t errlen);
static int exec_launch_signal (uint64_t id, int sig);
static int exec_launch_sigqueue (uint64_t id, int sig, int value);
static bool exec_launch_exited (uint64_t id, exec_status_t *status);
static void exec_launch_free (uint64_t id);

/* What the child needs, all of it ready before fork. */
typedef struct {
    const exec_spec_t *spec;
    char **paths; /* where to try the program, in order */
    size_t n_paths;
    char *const *argv;
    char *const *envp;
    bool switch_user; /* the agent is root: set groups, gid and uid */
    gid_t *groups;
    int n_groups;
    int in, out, err; /* the child's stdio (a pty slave: all three) */
    int report;       /* the write end of the report pipe */
    int max_fd;       /* for the fallback of mark_cloexec */
    struct {          /* the spec's limits, read */
        int resource;
        struct rlimit rl;
    } lim[GL_RLIMITS_MAX];
    size_t n_lim;
} launch_t;

/* The steps of the child that can fail, as the child reports them. */
enum {
    STEP_SESSION,
    STEP_TTY,
    STEP_STDIO,
    STEP_RLIMIT,
    STEP_GROUPS,
    STEP_GID,
    STEP_UID,
    STEP_CWD,
    STEP_EXEC
};

typedef struct {
    int step;
    int err;  /* errno */
    int path; /* STEP_EXEC: index in paths, or -1 */
} child_report_t;

/* ---- small helpers -------------------------------------------------------- */

static void close_fd (int *fd)
{
    if (*fd >= 0)
        close (*fd);
    *fd = -1;
}

static void free_paths (launch_t *l)
{
    for (size_t i = 0; i < l->n_paths; i++)
        free (l->paths[i]);
    free (l->paths);
    l->paths = NULL;
    l->n_paths = 0;
}

/* ---- resource limits ------------------------------------------------------ */

_Static_assert(GL_RLIMITS_MAX == LAUNCH_RLIMITS_MAX && GL_RLIMITS_MAX == GL_JOB_RLIMITS_MAX,
               "a RUN and the launcher take every limit");

/* The spec's limits read into l, before the fork. */
static int prepare_rlimits (launch_t *l, exec_err_t *code, char *err, size_t errlen)
{
    const exec_spec_t *spec = l->spec;
    if (spec->n_rlimits > GL_RLIMITS_MAX) {
        *code = EXEC_ERR_SYSTEM;
        return gl_err (err, errlen, "%zu resource limits: at most %d", spec->n_rlimits,
                       GL_RLIMITS_MAX);
    }
    for (size_t i = 0; i < spec->n_rlimits; i++) {
        const char *why;
        if (gl_rlimit_parse (spec->rlimits[i], &l->lim[i].resource, &l->lim[i].rl, &why) < 0) {
            *code = EXEC_ERR_SYSTEM;
            return gl_err (err, errlen, "resource limit \"%.64s\": %s", spec->rlimits[i], why);
        }
    }
    l->n_lim = spec->n_rlimits;
    return 0;
}

/* In the child: each limit lowered to the hard limit it has from us, so
   that a job may never have more than a process started here. */
static int apply_rlimits (const launch_t *l)
{
    for (size_t i = 0; i < l->n_lim; i++) {
        struct rlimit have, want = l->lim[i].rl;
        if (getrlimit (l->lim[i].resource, &have) < 0)
            return -1;
        if (have.rlim_max != RLIM_INFINITY &&
            (want.rlim_max == RLIM_INFINITY || want.rlim_max > have.rlim_max))
            want.rlim_max = have.rlim_max;
        if (want.rlim_max != RLIM_INFINITY &&
            (want.rlim_cur == RLIM_INFINITY || want.rlim_cur > want.rlim_max))
            want.rlim_cur = want.rlim_max;
        if (setrlimit (l->lim[i].resource, &want) < 0)
            return -1;
    }
    return 0;
}

/* ---- stage 1: prepare ----------------------------------------------------- */

void exec_spec_init (exec_spec_t *spec)
{
    memset (spec, 0, sizeof *spec);
    spec->umask = 022;
    spec->uid = geteuid ();
    spec->gid = getegid ();
    spec->fd3 = -1;
}

/* Anyone may run a job as themselves; only root may run one as someone
   else, root included.  Root takes the user's supplementary groups from
   the user database now, as initgroups(3) would, since reading it is no
   business for a forked child. */
static int prepare_user (launch_t *l, exec_err_t *code, char *err, size_t errlen)
{
    const exec_spec_t *spec = l->spec;
    if (geteuid () != 0) {
        if (spec->uid != geteuid () || spec->gid != getegid ()) {
            *code = EXEC_ERR_USER;
            return gl_err (err, errlen,
                           "cannot run a job as uid %u gid %u: the agent "
                           "runs as uid %u gid %u, and only root may run jobs as another user",
                           (unsigned) spec->uid, (unsigned) spec->gid, (unsigned) geteuid (),
                           (unsigned) getegid ());
        }
        return 0;
    }
    char buf[4096];
    struct passwd pw, *found = NULL;
    int rc = getpwuid_r (spec->uid, &pw, buf, sizeof buf, &found);
    if (!found) {
        *code = EXEC_ERR_USER;
        return gl_err (err, errlen, "cannot run a job as uid %u: %s", (unsigned) spec->uid,
                       rc ? strerror (rc) : "no such user on this node");
    }
    int n = 32;
    for (;;) {
        gid_t *groups = realloc (l->groups, (size_t) n * sizeof *groups);
        if (!groups) {
            *code = EXEC_ERR_SYSTEM;
            return gl_err (err, errlen, "out of memory");
        }
        l->groups = groups;
        int want = n;
        if (getgrouplist (pw.pw_name, spec->gid, l->groups, &want) >= 0) {
            l->n_groups = want;
            break;
        }
        if (want <= n) /* no growth asked for: don't loop forever */
            want = n * 2;
        n = want;
    }
    l->switch_user = true;
    return 0;
}

static int add_path (launch_t *l, const char *dir, size_t dir_len, const char *file)
{
    size_t file_len = strlen (file);
    if (dir_len + 1 + file_len >= PATH_MAX)
        return 0; /* execve would refuse it; so does execvp */
    char **paths = realloc (l->paths, (l->n_paths + 1) * sizeof *paths);
    if (!paths)
        return -1;
    l->paths = paths;
    char *path = malloc (dir_len + 1 + file_len + 1);
    if (!path)
        return -1;
    memcpy (path, dir, dir_len);
    path[dir_len] = '/';
    memcpy (path + dir_len + 1, file, file_len + 1);
    l->paths[l->n_paths++] = path;
    return 0;
}

/* The PATH to search: the spec's, else the job's environment's. */
static const char *search_path (const exec_spec_t *spec)
{
    if (spec->path)
        return spec->path;
    for (char *const *e = spec->envp; e && *e; e++)
        if (strncmp (*e, "PATH=", 5) == 0)
            return *e + 5;
    return EXEC_DEFAULT_PATH;
}

/* The paths to try, as execvp(3) does: the file itself when it names a
   path, else each PATH directory in turn, an empty one meaning the
   working directory. */
static int prepare_program (launch_t *l, exec_err_t *code, char *err, size_t errlen)
{
    const char *file = l->spec->file;
    if (!file || !*file) {
        *code = EXEC_ERR_NOT_FOUND;
        return gl_err (err, errlen, "no program given");
    }
    int rc = 0;
    if (strchr (file, '/')) {
        char *path = strdup (file);
        l->paths = malloc (sizeof *l->paths);
        if (path && l->paths)
            l->paths[l->n_paths++] = path;
        else {
            free (path);
            rc = -1;
        }
    }
    else {
        const char *dir = search_path (l->spec);
        for (;;) {
            size_t len = strcspn (dir, ":");
            rc = len ? add_path (l, dir, len, file) : add_path (l, ".", 1, file);
            if (rc < 0 || dir[len] == '\0')
                break;
            dir += len + 1;
        }
    }
    if (rc < 0) {
        *code = EXEC_ERR_SYSTEM;
        return gl_err (err, errlen, "out of memory");
    }
    return 0;
}

#define EXEC_PIPE_BYTES (1 << 20)

static int open_pipes (exec_t *self, launch_t *l, exec_err_t *code, char *err, size_t errlen)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
    if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (out, O_CLOEXEC) < 0 ||
        pipe2 (errp, O_CLOEXEC) < 0
        /* non-blocking on the caller's ends only: the job expects
           ordinary blocking stdio */
        || gl_set_nonblock (in[1]) < 0 || gl_set_nonblock (out[0]) < 0 ||
        gl_set_nonblock (errp[0]) < 0) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "cannot make pipes for the job's stdio: %s", strerror (errno));
        for (int i = 0; i < 2; i++) {
            close_fd (&in[i]);
            close_fd (&out[i]);
            close_fd (&errp[i]);
        }
        return -1;
    }
    /* Bigger pipes than the 64 KiB default: a bulk writer then fills a
       whole DATA chunk between two reads, so a stream costs a quarter of
       the messages.  Best effort: pipe-max-size may forbid it. */
    (void) fcntl (out[0], F_SETPIPE_SZ, EXEC_PIPE_BYTES);
    (void) fcntl (errp[0], F_SETPIPE_SZ, EXEC_PIPE_BYTES);
    (void) fcntl (in[1], F_SETPIPE_SZ, EXEC_PIPE_BYTES);
    self->fd_in_back = fcntl (in[0], F_DUPFD_CLOEXEC, 3);
    if (self->fd_in_back < 0) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "cannot keep stdin's read end: %s", strerror (errno));
        for (int i = 0; i < 2; i++) {
            close_fd (&in[i]);
            close_fd (&out[i]);
            close_fd (&errp[i]);
        }
        return -1;
    }
    l->in = in[0];
    l->out = out[1];
    l->err = errp[1];
    self->fd_in = in[1];
    self->fd_out = out[0];
    self->fd_err = errp[0];
    return 0;
}

static int open_pty (exec_t *self, launch_t *l, exec_err_t *code, char *err, size_t errlen)
{
    const exec_spec_t *spec = l->spec;
    const char *what = "posix_openpt";
    char name[64];
    int slave = -1;
    int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        goto failed;
    what = "grantpt";
    if (grantpt (master) < 0)
        goto failed;
    what = "unlockpt";
    if (unlockpt (master) < 0)
        goto failed;
    what = "ptsname";
    int rc = ptsname_r (master, name, sizeof name);
    if (rc != 0) {
        errno = rc;
        goto failed;
    }
    what = name;
    slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        goto failed;
    struct winsize ws = { .ws_row = spec->rows ? spec->rows : 24,
                          .ws_col = spec->cols ? spec->cols : 80 };
    what = "TIOCSWINSZ";
    if (ioctl (slave, TIOCSWINSZ, &ws) < 0)
        goto failed;
    /* The terminal belongs to the job's user, as a login's does, so it
       can reopen it by name (ssh, sudo, screen do); grantpt gave it to
       the agent's user. */
    what = "fchown";
    if (l->switch_user && (fchown (slave, spec->uid, (gid_t) -1) < 0 || fchmod (slave, 0620) < 0))
        goto failed;
    what = "O_NONBLOCK";
    if (gl_set_nonblock (master) < 0)
        goto failed;
    l->in = l->out = l->err = slave;
    self->fd_in = self->fd_out = master;
    return 0;

failed:
    *code = EXEC_ERR_SYSTEM;
    gl_err (err, errlen, "cannot make a pseudo-terminal for the job: %s: %s", what,
            strerror (errno));
    close_fd (&slave);
    close_fd (&master);
    return -1;
}

/* ---- stage 2: the child, system calls only -------------------------------- */

static _Noreturn void child_fail (int report, int step, int err, int path)
{
    child_report_t r = { .step = step, .err = err, .path = path };
    /* One write under PIPE_BUF is atomic; if it fails, the parent sees
       end of file and then the exit code 127. */
    ssize_t n = write (report, &r, sizeof r);
    (void) n;
    _exit (127);
}

/* Move fd to low or above, so setting up 0, 1, 2 (and 3) can't
   overwrite it: an agent started with one of them closed gets it back
   from pipe2 or open. */
static int at_least (int fd, int low)
{
    return fd >= low ? fd : fcntl (fd, F_DUPFD_CLOEXEC, low);
}

/* Every descriptor from 3 up closes at execve, whatever the agent opened
   without O_CLOEXEC; the report pipe stays open until then. */
static void mark_cloexec (int max_fd)
{
#ifdef SYS_close_range
    if (syscall (SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    /* Kernels before 5.11: one by one, up to the descriptor limit. */
    for (int fd = 3; fd < max_fd; fd++)
        fcntl (fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void child (const launch_t *l)
{
    const exec_spec_t *spec = l->spec;
    int low = spec->fd3 >= 0 ? 4 : 3; /* what we keep stays clear of what we set up */
    int report = at_least (l->report, low);
    if (report < 0)
        _exit (127);

    /* Every signal back to its default, through the system call: the C
       library refuses to touch its own two (32 and 33), and a parent may
       have left them ignored (GNU make does), which the job would inherit.
       Fails harmlessly for SIGKILL and SIGSTOP. */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } dfl = { SIG_DFL, 0, NULL, 0 };
    for (int sig = 1; sig < NSIG; sig++)
        syscall (SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);

    if (setsid () < 0)
        child_fail (report, STEP_SESSION, errno, -1);
    if (spec->pty && ioctl (l->in, TIOCSCTTY, 0) < 0)
        child_fail (report, STEP_TTY, errno, -1);

    int in = at_least (l->in, low);
    int out = at_least (l->out, low);
    int err = at_least (l->err, low);
    int fd3 = spec->fd3 >= 0 ? at_least (spec->fd3, low) : -1;
    if (in < 0 || out < 0 || err < 0 || (spec->fd3 >= 0 && fd3 < 0) || dup2 (in, 0) < 0 ||
        dup2 (out, 1) < 0 || dup2 (err, 2) < 0 || (fd3 >= 0 && dup2 (fd3, 3) < 0))
        child_fail (report, STEP_STDIO, errno, -1);
    mark_cloexec (l->max_fd);
    if (fd3 >= 0 && fcntl (3, F_SETFD, 0) < 0) /* the one descriptor that stays */
        child_fail (report, STEP_STDIO, errno, -1);
    for (int k = 0; k < 3; k++) /* our ends of the pipes stay: the job sees no stream */
        if (!spec->pty && (spec->closed & (1u << k)))
            close (k);

    if (apply_rlimits (l) < 0)
        child_fail (report, STEP_RLIMIT, errno, -1);
    /* Groups and gid first: changing them takes the root privilege that
       setuid gives up. */
    if (l->switch_user) {
        if (setgroups ((size_t) l->n_groups, l->groups) < 0)
            child_fail (report, STEP_GROUPS, errno, -1);
        if (setgid (spec->gid) < 0)
            child_fail (report, STEP_GID, errno, -1);
        if (setuid (spec->uid) < 0)
            child_fail (report, STEP_UID, errno, -1);
    }
    if (spec->cwd && chdir (spec->cwd) < 0)
        child_fail (report, STEP_CWD, errno, -1);
    umask (spec->umask);

    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);

    /* As execvp: a path that isn't there is skipped, one we may not run
       is remembered and skipped (a later directory may have a program we
       may run), and any other error ends the search. */
    int denied = -1;
    for (size_t i = 0; i < l->n_paths; i++) {
        execve (l->paths[i], l->argv, l->envp);
        switch (errno) {
            case EACCES:
                if (denied < 0)
                    denied = (int) i;
                continue;
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT: continue;
            default: child_fail (report, STEP_EXEC, errno, (int) i);
        }
    }
    if (denied >= 0)
        child_fail (report, STEP_EXEC, EACCES, denied);
    child_fail (report, STEP_EXEC, ENOENT, -1);
}

/* ---- stage 3: the outcome ------------------------------------------------- */

/* The child's report as the kind of failure in *code and a message in
   err; returns -1. */
static int explain (const launch_t *l, const child_report_t *r, exec_err_t *code, char *err,
                    size_t errlen)
{
    const exec_spec_t *spec = l->spec;
    const char *path =
        r->path >= 0 && (size_t) r->path < l->n_paths ? l->paths[r->path] : spec->file;
    static const char *const setup[] = {
        [STEP_SESSION] = "a new session (setsid)",
        [STEP_TTY] = "the terminal as controlling terminal (TIOCSCTTY)",
        [STEP_STDIO] = "stdio (dup2)",
        [STEP_RLIMIT] = "its resource limits (setrlimit)",
    };
    static const char *const user_step[] = {
        [STEP_GROUPS] = "setgroups",
        [STEP_GID] = "setgid",
        [STEP_UID] = "setuid",
    };
    switch (r->step) {
        case STEP_SESSION:
        case STEP_TTY:
        case STEP_STDIO:
        case STEP_RLIMIT:
            *code = EXEC_ERR_SYSTEM;
            return gl_err (err, errlen, "cannot set up %s for %s: %s", setup[r->step], spec->file,
                           strerror (r->err));
        case STEP_GROUPS:
        case STEP_GID:
        case STEP_UID:
            *code = EXEC_ERR_USER;
            return gl_err (err, errlen, "cannot run %s as uid %u gid %u: %s: %s", spec->file,
                           (unsigned) spec->uid, (unsigned) spec->gid, user_step[r->step],
                           strerror (r->err));
        case STEP_CWD:
            *code = EXEC_ERR_CWD;
            return gl_err (err, errlen, "cannot enter working directory %s: %s", spec->cwd,
                           strerror (r->err));
        case STEP_EXEC:
            if (r->err == ENOENT || r->err == ENOTDIR) {
                *code = EXEC_ERR_NOT_FOUND;
                if (strchr (spec->file, '/'))
                    return gl_err (err, errlen, "program not found: %s", spec->file);
                return gl_err (err, errlen, "program not found: %s (PATH %s)", spec->file,
                               search_path (spec));
            }
            if (r->err == EACCES || r->err == EPERM) {
                *code = EXEC_ERR_DENIED;
                return gl_err (err, errlen, "permission denied: %s", path);
            }
            *code = EXEC_ERR_SYSTEM;
            return gl_err (err, errlen, "cannot run %s: %s", path, strerror (r->err));
        default:
            *code = EXEC_ERR_SYSTEM;
            return gl_err (err, errlen, "cannot run %s: the child failed at step %d: %s",
                           spec->file, r->step, strerror (r->err));
    }
}

/* ---- exec_start ----------------------------------------------------------- */

exec_t *exec_start (const exec_spec_t *spec, exec_err_t *code, char *err, size_t errlen)
{
    exec_err_t ignored;
    if (!code)
        code = &ignored;
    *code = EXEC_OK;
    if (errlen)
        err[0] = '\0';
    if (exec_launched ())
        return exec_launch (spec, code, err, errlen);
    exec_reap ();

    static char *const no_env[] = { NULL };
    char *argv_default[] = { (char *) spec->file, NULL };
    launch_t l = {
        .spec = spec,
        .argv = spec->argv ? spec->argv : argv_default,
        .envp = spec->envp ? spec->envp : no_env,
        .in = -1,
        .out = -1,
        .err = -1,
        .report = -1,
    };
    int report_r = -1;
    exec_t *self = calloc (1, sizeof *self);
    if (!self) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->pid = self->keeper = -1;
    self->keep = self->pidfd = -1;
    self->pty = spec->pty;
    self->fd_in = self->fd_out = self->fd_err = self->fd_in_back = -1;

    if (prepare_rlimits (&l, code, err, errlen) < 0 || prepare_user (&l, code, err, errlen) < 0 ||
        prepare_program (&l, code, err, errlen) < 0)
        goto failed;
    if ((spec->pty ? open_pty (self, &l, code, err, errlen)
                   : open_pipes (self, &l, code, err, errlen)) < 0)
        goto failed;
    int report[2];
    if (pipe2 (report, O_CLOEXEC) < 0) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "cannot make a pipe: %s", strerror (errno));
        goto failed;
    }
    report_r = report[0];
    l.report = report[1];
    struct rlimit lim;
    l.max_fd =
        getrlimit (RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < INT_MAX ? (int) lim.rlim_cur : 65536;

    /* The job's keeper (reap.h): it makes itself the subreaper of what
       the job leaves behind, forks the job, and stays until exec_destroy. */
    int keep[2];
    if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, keep) < 0) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "cannot make the job keeper's socket: %s", strerror (errno));
        goto failed;
    }
    self->keep = keep[0];

    /* Block every signal across fork, so that none of the agent's
       handlers runs in the child before it resets them. */
    sigset_t all, old;
    sigfillset (&all);
    sigprocmask (SIG_SETMASK, &all, &old);
    pid_t parent = getpid ();
    self->keeper = fork ();
    int fork_errno = errno;
    if (self->keeper == 0) {
        close (keep[0]);
        reap_become ();
        pid_t job = fork ();
        if (job == 0) {
            close (keep[1]);
            child (&l);
        }
        reap_keep (keep[1], job < 0 ? -errno : job, parent);
    }
    sigprocmask (SIG_SETMASK, &old, NULL);
    close (keep[1]);
    if (self->keeper < 0) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "cannot fork for %s: %s", spec->file, strerror (fork_errno));
        goto failed;
    }
    reap_msg_t said = { 0 };
    if (reap_read (self->keep, true, &said) != 1 || said.what != REAP_STARTED || said.pid <= 0) {
        *code = EXEC_ERR_SYSTEM;
        gl_err (err, errlen, "cannot fork for %s: %s", spec->file,
                said.pid < 0 ? strerror (-said.pid) : "the job's keeper said nothing");
        goto failed;
    }
    self->pid = said.pid;
    gl_set_nonblock (self->keep);
    /* The job's process by a name no later process can take: its keeper
       holds it unreaped until let go, but may be killed (keeper_lost).
       None on a kernel without pidfds (before 5.3). */
#ifdef SYS_pidfd_open
    self->pidfd = (int) syscall (SYS_pidfd_open, self->pid, 0);
#endif

    /* Close our copies of the child's ends, now: the report pipe reads end
       of file only once no process holds its write end, and later the
       job's output ends only when the job closes its own. */
    close_fd (&l.report);
    if (l.err != l.in)
        close_fd (&l.err);
    if (l.out != l.in)
        close_fd (&l.out);
    close_fd (&l.in);

    child_report_t r;
    ssize_t n;
    do
        n = read (report_r, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n != 0) {
        if (n == (ssize_t) sizeof r)
            explain (&l, &r, code, err, errlen);
        else {
            *code = EXEC_ERR_SYSTEM;
            gl_err (err, errlen, "cannot run %s: no word from the child: %s", spec->file,
                    n < 0 ? strerror (errno) : "short report");
        }
        /* The child has exited or is about to (_exit right after its
           report): its keeper, let go below, kills and reaps it. */
        goto failed;
    }
    close_fd (&report_r);
    free_paths (&l);
    free (l.groups);
    return self;

failed:
    close_fd (&report_r);
    close_fd (&l.report);
    if (l.err != l.in)
        close_fd (&l.err);
    if (l.out != l.in)
        close_fd (&l.out);
    close_fd (&l.in);
    free_paths (&l);
    free (l.groups);
    exec_destroy (&self);
    return NULL;
}

/* ---- keepers let go ------------------------------------------------------- */

/* Keepers that exec_destroy let go and that may still be killing what
   their job left: reaped by exec_reap once they have ended. */
static pid_t *let_go;
static size_t n_let_go, cap_let_go;

void exec_reap (void)
{
    size_t i = 0;
    while (i < n_let_go) {
        pid_t r = waitpid (let_go[i], NULL, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
            i++;
        else /* ended and reaped, or reaped elsewhere */
            let_go[i] = let_go[--n_let_go];
    }
}

static void keeper_let_go (pid_t keeper)
{
    if (waitpid (keeper, NULL, WNOHANG) != 0)
        return; /* ended already */
    if (gl_grow (&let_go, &cap_let_go, n_let_go + 1, sizeof *let_go) == 0)
        let_go[n_let_go++] = keeper;
    else /* no room to remember it: wait for it here */
        while (waitpid (keeper, NULL, 0) < 0 && errno == EINTR)
            ;
}

/* The keeper was killed behind our back (by its user, by the OOM killer):
   the job, orphaned, has gone to init with all it started, beyond a
   keeper's reach, and its status is lost.  Its group and its process end
   here, as exec_destroy would have ended them: the pidfd names the job's
   process and no other, and while that process is there (a zombie
   included) its pid, and so its group's id, can't be anyone else's. */
static void keeper_lost (exec_t *self)
{
    if (self->lost)
        return;
    self->lost = true;
#ifdef SYS_pidfd_send_signal
    if (self->pidfd >= 0 && syscall (SYS_pidfd_send_signal, self->pidfd, 0, NULL, 0) == 0) {
        kill (-self->pid, SIGKILL);
        syscall (SYS_pidfd_send_signal, self->pidfd, SIGKILL, NULL, 0);
    }
#endif
    close_fd (&self->pidfd);
}

/* ---- the running job ------------------------------------------------------ */

void exec_destroy (exec_t **self_p)
{
    exec_t *self = *self_p;
    if (!self)
        return;
    if (self->remote)
        exec_launch_free (self->remote); /* the launcher kills and reaps it */
    else if (self->keeper > 0) {
        /* Its keeper has not reaped the job, so the job's process group
           can't have been reused: let go, the keeper kills whatever is in
           it, reaps the job and says so, then kills every process the job
           left behind, and exits.  SIGKILL can't be caught; we wait for
           the job's process alone, as long as the kernel takes to end it
           (long only for a process stuck in an uninterruptible wait, on a
           dead NFS server say); the keeper is reaped once it has ended
           (exec_reap). */
        shutdown (self->keep, SHUT_WR);
        /* A keeper stopped (SIGSTOP by its user, who may be the job's)
           would never answer: it is our child, unreaped, so its pid is
           still its own. */
        kill (self->keeper, SIGCONT);
        for (;;) {
            reap_msg_t m;
            int rc = reap_read (self->keep, false, &m);
            if (rc < 0)
                keeper_lost (self); /* no word of the job's end */
            if (rc < 0 || (rc == 1 && m.what == REAP_GONE))
                break;
            if (rc == 0) {
                struct pollfd p = { .fd = self->keep, .events = POLLIN };
                poll (&p, 1, -1);
            }
        }
        close_fd (&self->keep);
        keeper_let_go (self->keeper);
    }
    close_fd (&self->keep);
    close_fd (&self->pidfd);
    if (self->fd_out != self->fd_in)
        close_fd (&self->fd_out);
    close_fd (&self->fd_in);
    close_fd (&self->fd_err);
    close_fd (&self->fd_in_back);
    free (self);
    *self_p = NULL;
}

pid_t exec_pid (exec_t *self)
{
    return self->pid;
}

bool exec_stopped (exec_t *self)
{
    char path[64], buf[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) self->pid);
    ssize_t n = gl_read_file (path, buf, sizeof buf);
    const char *e = n > 0 ? strrchr (buf, ')') : NULL; /* the name may hold anything */
    return e && e[1] == ' ' && e[2] == 'T';            /* not 't', a tracer's stop */
}

int exec_fd_stdin (exec_t *self)
{
    return self->fd_in;
}

int exec_fd_stdout (exec_t *self)
{
    return self->fd_out;
}

int exec_fd_stderr (exec_t *self)
{
    return self->fd_err;
}

int exec_fd_stdin_back (exec_t *self)
{
    return self->fd_in_back;
}

int exec_close_stdin (exec_t *self)
{
    if (!self->pty) {
        close_fd (&self->fd_in);
        return 0;
    }
    /* The master reads and sets the terminal's modes as the slave would. */
    struct termios t;
    if (tcgetattr (self->fd_in, &t) < 0)
        return -1;
    unsigned char eof = t.c_cc[VEOF];
    if (eof == _POSIX_VDISABLE)
        eof = 4; /* ^D, the usual */
    ssize_t n = write (self->fd_in, &eof, 1);
    return n == 1 ? 0 : -1;
}

int exec_winsize (exec_t *self, uint16_t rows, uint16_t cols)
{
    if (!self->pty) {
        errno = ENOTTY;
        return -1;
    }
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl (self->fd_in, TIOCSWINSZ, &ws);
}

int exec_signal (exec_t *self, int sig)
{
    if (self->remote)
        return exec_launch_signal (self->remote, sig);
    if (self->lost) {
        errno = ESRCH;
        return -1;
    }
    return kill (-self->pid, sig);
}

int exec_sigqueue (exec_t *self, int sig, int value)
{
    if (self->remote)
        return exec_launch_sigqueue (self->remote, sig, value);
    if (self->lost || self->exited) {
        errno = ESRCH;
        return -1;
    }
    return gl_sigqueue_thread (self->pid, sig, value);
}

bool exec_poll_exit (exec_t *self, exec_status_t *status)
{
    if (!self->exited && self->remote) {
        self->exited = exec_launch_exited (self->remote, &self->status);
        if (!self->exited)
            return false;
    }
    exec_reap ();
    if (!self->exited) {
        /* The keeper says so; the job stays its zombie until exec_destroy,
           which keeps its pid, and so its process group id, from reuse. */
        reap_msg_t m;
        int rc;
        while ((rc = reap_read (self->keep, false, &m)) == 1 && m.what != REAP_EXITED)
            ;
        if (rc == 0)
            return false; /* still running */
        self->exited = true;
        if (rc < 0) {
            /* The keeper was killed behind our back: the status is lost,
               and the job is ended here (keeper_lost); its pid may be
               someone else's soon. */
            keeper_lost (self);
            self->status.code = 255;
        }
        else {
            self->status.code = m.code;
            self->status.signal = m.signo;
            self->status.core = m.core != 0;
        }
    }
    if (status)
        *status = self->status;
    return true;
}

int exec_status_code (const exec_status_t *status)
{
    return status->signal ? 128 + status->signal : status->code;
}

void exec_release_fds (exec_t *self)
{
    if (self->fd_out != self->fd_in)
        close_fd (&self->fd_out);
    close_fd (&self->fd_in);
    close_fd (&self->fd_err);
    close_fd (&self->fd_in_back);
}

/* ---- through the launcher ---------------------------------------------------- */

static int launcher_sock = -1;
static uint64_t launch_ids;

void exec_set_launcher (int sock)
{
    launcher_sock = sock;
}

static bool exec_launched (void)
{
    return launcher_sock >= 0;
}

/* The spec as a RUN for the launcher, which checks the user by name and
   starts the job as root would here; its stdio ends come back. */
static exec_t *exec_launch (const exec_spec_t *spec, exec_err_t *code, char *err, size_t errlen)
{
    exec_t *self = calloc (1, sizeof *self);
    char **argv = NULL, *argv_default[] = { (char *) spec->file, NULL };
    static char *const no_env[] = { NULL };
    *code = EXEC_ERR_SYSTEM;
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->pid = self->keeper = -1;
    self->keep = self->pidfd = -1;
    self->pty = spec->pty;
    self->fd_in = self->fd_out = self->fd_err = self->fd_in_back = -1;
    launch_msg_t run = { .type = LAUNCH_RUN,
                         .id = ++launch_ids,
                         .umask = (uint32_t) spec->umask & 0777,
                         .flags = (uint8_t) ((spec->pty ? LAUNCH_FLAG_PTY : 0) |
                                             (spec->fd3 >= 0 ? LAUNCH_FLAG_FD3 : 0) |
                                             (spec->closed & 1 ? LAUNCH_FLAG_NO_IN : 0) |
                                             (spec->closed & 2 ? LAUNCH_FLAG_NO_OUT : 0) |
                                             (spec->closed & 4 ? LAUNCH_FLAG_NO_ERR : 0)),
                         .rows = spec->rows,
                         .cols = spec->cols,
                         .file = (char *) spec->file,
                         .cwd = (char *) (spec->cwd ? spec->cwd : "/") };
    gl_strlcpy (run.user, spec->user ? spec->user : "", sizeof run.user);
    argv = (char **) (spec->argv ? spec->argv : argv_default);
    run.argv = argv;
    while (argv[run.argc])
        run.argc++;
    run.envv = (char **) (spec->envp ? spec->envp : no_env);
    while (run.envv[run.envc])
        run.envc++;
    run.rlimits = (char **) (spec->n_rlimits ? spec->rlimits : no_env);
    run.n_rlimits = (uint32_t) spec->n_rlimits;
    int fds[4] = { -1, -1, -1, -1 };
    size_t n_fds = 0;
    pid_t pid;
    if (!spec->file || !spec->file[0]) {
        *code = EXEC_ERR_NOT_FOUND;
        gl_err (err, errlen, "no program given");
    }
    else if (launcher_run (launcher_sock, &run, spec->fd3, &pid, fds, &n_fds, code, err, errlen) ==
             0) {
        self->pid = pid;
        self->remote = run.id;
        self->fd_in = fds[0];
        self->fd_out = spec->pty ? fds[0] : fds[1];
        self->fd_err = spec->pty ? -1 : fds[2];
        self->fd_in_back = spec->pty ? -1 : fds[3];
        return self;
    }
    free (self);
    return NULL;
}

static int exec_launch_signal (uint64_t id, int sig)
{
    return launcher_tell (launcher_sock, LAUNCH_SIGNAL, id, sig);
}

static int exec_launch_sigqueue (uint64_t id, int sig, int value)
{
    launch_msg_t m = {
        .type = LAUNCH_SIGQUEUE, .id = id, .signo = (uint32_t) sig, .value = (uint32_t) value
    };
    return launcher_send (launcher_sock, &m);
}

static bool exec_launch_exited (uint64_t id, exec_status_t *status)
{
    return launcher_exited (launcher_sock, id, status);
}

static void exec_launch_free (uint64_t id)
{
    launcher_tell (launcher_sock, LAUNCH_FREE, id, 0);
    launcher_forget (id);
}
