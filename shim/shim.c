/*  shim.c -- libglshim.so, the operating-system library inside every job.

    The host preloads it into every job glx starts (LD_PRELOAD, unless
    glx --no-shim), so it runs in the job's processes at procedure-call
    cost.  What it does, and why (glunix(7) says it for users):

    - It stays with the job.  Each program a process executes gets the
      shim again: LD_PRELOAD passes down the environment by itself, and
      when a program hands its child an environment without it (env -i, a
      build tool's cleaned environment), the exec wrappers here put the
      shim and the job's glunix variables back into the child's copy.
      GLUNIX_SHIM=0 in that environment is the one way to leave it out.
    - glx --spread.  When a process of the job executes a program that
      GLUNIX_SPREAD names, the shim picks a node from the agent's view in
      shared memory (spread.h) and executes glx --relay in the program's
      place: the same process, so its parent waits for the same pid,
      reads the same pipes and signals the same process, while glx runs
      the program there with this working directory, environment and
      umask and ends as it ended.
    - Raw system calls.  sud.c arms Syscall User Dispatch, so that the
      calls handled here reach the shim also when a program issues them
      with its own syscall instruction instead of calling libc.

    The exec wrappers may run in a vfork child (make, gcc's pex) or in
    the SIGSYS handler: they allocate nothing and use only the stack;
    the library prepares everything else when it starts. */
#include "capture.h"
#include "ckpt_proto.h"
#include "forkadv.h"
#include "locate.h"
#include "rng.h"
#include "shim_impl.h"
#include "spread.h"
#include "str.h"
#include "view.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define API __attribute__ ((visibility ("default")))

extern char **environ;
extern char *program_invocation_name;

/* The job's variables the shim puts back into a child's environment that
   lacks them: who the job is, which agent runs it, and what to spread. */
static const char *const job_vars[] = {
    "GLUNIX_GPID",           "GLUNIX_HOME",  "GLUNIX_NODE", "GLUNIX_RUNTIME_DIR",
    "GLUNIX_RANK",           "GLUNIX_SIZE",  "GLUNIX_JOB",  "GLUNIX_SPREAD",
    "GLUNIX_SPREAD_VERBOSE", "GLSHIM_TALLY", "GLSHIM_TOP",
};
#define N_JOB_VARS (sizeof job_vars / sizeof job_vars[0])

/* What a step leaves out: it does not spread further. */
static bool spread_only (size_t v)
{
    return !strcmp (job_vars[v], "GLUNIX_SPREAD") || !strcmp (job_vars[v], "GLUNIX_SPREAD_VERBOSE");
}

static struct {
    bool on;                /* not GLUNIX_SHIM=0 */
    char self[4096];        /* this library's path, as LD_PRELOAD names it */
    char *vars[N_JOB_VARS]; /* "NAME=value" as the job had them, or NULL */
    char pattern[SPREAD_PATTERN_MAX];
    bool verbose;   /* GLUNIX_SPREAD_VERBOSE: count the steps */
    bool top;       /* the job's first process (glx started it) */
    char glx[4096]; /* glx's path; "" when not found */
    char runtime_dir[4096];
    gl_view_t *view;          /* the local agent's view (spread only) */
    spread_addr_t locals[64]; /* this machine's addresses */
    size_t n_locals;
    uint64_t rng;
    char tally[4096]; /* GLSHIM_TALLY: one line per step, its node */
} shim;

/* libc's own functions, found once (or late, for a library whose start
   runs before ours and already executes something). */
typedef int (*execve_fn) (const char *, char *const[], char *const[]);
typedef int (*spawn_fn) (pid_t *, const char *, const posix_spawn_file_actions_t *,
                         const posix_spawnattr_t *, char *const[], char *const[]);
typedef int (*fexecve_fn) (int, char *const[], char *const[]);
static execve_fn real_execve, real_execvpe;
static spawn_fn real_spawn, real_spawnp;
static fexecve_fn real_fexecve;

static void *next (const char *name)
{
    return dlsym (RTLD_NEXT, name);
}

static void resolve (void)
{
    if (!real_execve) {
        real_execve = (execve_fn) next ("execve");
        real_execvpe = (execve_fn) next ("execvpe");
        real_spawn = (spawn_fn) next ("posix_spawn");
        real_spawnp = (spawn_fn) next ("posix_spawnp");
        real_fexecve = (fexecve_fn) next ("fexecve");
    }
}

/* ---- the environment ------------------------------------------------------------ */

size_t shim_env_count (char *const envp[])
{
    size_t n = 0;
    while (envp && envp[n])
        n++;
    return n;
}

static bool has_name (const char *entry, const char *name)
{
    size_t k = strlen (name);
    return !strncmp (entry, name, k) && entry[k] == '=';
}

/* Whether the colon- or space-separated list names this library. */
static bool lists_shim (const char *list)
{
    for (const char *p = list; *p;) {
        size_t k = strcspn (p, ": ");
        const char *base = memrchr (p, '/', k);
        base = base ? base + 1 : p;
        size_t blen = k - (size_t) (base - p);
        if ((k == strlen (shim.self) && !memcmp (p, shim.self, k)) ||
            (blen == strlen ("libglshim.so") && !memcmp (base, "libglshim.so", blen)))
            return true;
        p += k;
        p += strspn (p, ": ");
    }
    return false;
}

/* The body of shim_rearm_env; step: the environment of a step, which
   does not spread further and says it is one (GLSHIM_STEP). */
static char *const *rearm (char *const envp[], char **out, char *buf, const char *step)
{
    if (!shim.on)
        return envp;
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strcmp (envp[i], "GLUNIX_SHIM=0"))
            return envp;
    size_t n = 0, used = 0;
    bool present[N_JOB_VARS] = { false }, preload = false;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i];
        if (has_name (e, "GLSHIM_STEP") || has_name (e, GL_CKPT_STREAMS_ENV) ||
            has_name (e, GL_PIDMAP_ENV))
            continue; /* the job's streams: ours, below */
        bool drop = false;
        for (size_t v = 0; v < N_JOB_VARS; v++)
            if (has_name (e, job_vars[v])) {
                present[v] = true;
                drop = step && spread_only (v);
            }
        if (drop)
            continue;
        if (has_name (e, "LD_PRELOAD") && !preload) {
            preload = true;
            if (!lists_shim (e + 11)) {
                int k = snprintf (buf + used, SHIM_ENV_BUF - used, "%s%s%s", e, e[11] ? ":" : "",
                                  shim.self);
                if (k > 0 && used + (size_t) k < SHIM_ENV_BUF) {
                    out[n++] = buf + used;
                    used += (size_t) k + 1;
                    continue;
                }
            }
        }
        out[n++] = (char *) e;
    }
    if (!preload) {
        int k = snprintf (buf + used, SHIM_ENV_BUF - used, "LD_PRELOAD=%s", shim.self);
        if (k > 0 && used + (size_t) k < SHIM_ENV_BUF) {
            out[n++] = buf + used;
            used += (size_t) k + 1;
        }
    }
    for (size_t v = 0; v < N_JOB_VARS; v++) {
        if (!present[v] && shim.vars[v] && !(step && spread_only (v)))
            out[n++] = shim.vars[v];
    }
    if (ckpt_streams_var () && !step) /* a step is glx's: another job there */
        out[n++] = (char *) ckpt_streams_var ();
    if (ckpt_pids_var () && !step)
        out[n++] = (char *) ckpt_pids_var ();
    if (step) {
        int k = snprintf (buf + used, SHIM_ENV_BUF - used, "GLSHIM_STEP=%s", step);
        if (k > 0 && used + (size_t) k < SHIM_ENV_BUF)
            out[n++] = buf + used;
    }
    out[n] = NULL;
    return out;
}

char *const *shim_rearm_env (char *const envp[], char **out, char *buf)
{
    return rearm (envp, out, buf, NULL);
}

/* ---- exec ------------------------------------------------------------------------- */

/* The checkpoint's signal, blocked while the process executes a
   program: a tree's root may ask this process at any moment
   (checkpoint/tree.h), and the new program's default action for the
   signal, before its shim has started, would be to die.  Blocked, the
   request stays pending across the exec, and the new program's shim
   takes it once its handler is in place (ckpt_init unblocks it).  A
   raw system call: the shim's own sigprocmask keeps the signal out of
   every mask. */
static void ckpt_hold (uint64_t *old)
{
    uint64_t m = 1ull << (GL_CKPT_SIGNO - 1);
    syscall (SYS_rt_sigprocmask, SIG_BLOCK, &m, old, 8);
}

static void ckpt_unhold (const uint64_t *old)
{
    int e = errno;
    syscall (SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, 8);
    errno = e;
}

static long do_exec (shim_exec_how_t how, const char *file, char *const argv[], char *const env[])
{
    resolve ();
    uint64_t old;
    ckpt_hold (&old);
    if (how == SHIM_EXEC_SEARCH && real_execvpe)
        real_execvpe (file, argv, env);
    else if (real_execve)
        real_execve (file, argv, env);
    else
        errno = ENOSYS;
    ckpt_unhold (&old);
    return -errno;
}

/* The node for a step of this process: "" to run it here. */
static void pick (char node[64])
{
    node[0] = '\0';
    if (!shim.view)
        return;
    const char *fs;
    const char *tmp = getenv ("TMPDIR");
    bool anywhere =
        spread_fs_shared (".", &fs) == 1 && spread_fs_shared (tmp && *tmp ? tmp : "/tmp", &fs) == 1;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    uint64_t seed = shim.rng ^ (uint64_t) ts.tv_nsec ^ ((uint64_t) getpid () << 32);
    spread_pick (shim.view, anywhere, shim.locals, shim.n_locals, gl_splitmix64 (&seed), node,
                 NULL);
}

/* glx --relay standing in for a step that goes to node, into gargv
   (room for argc + 12). */
static void glx_argv (char **gargv, const char *node, const char *file, char *const argv[])
{
    size_t k = 0;
    gargv[k++] = (char *) "glx";
    gargv[k++] = (char *) "--relay";
    gargv[k++] = (char *) "--else-here";
    gargv[k++] = (char *) "--runtime-dir";
    gargv[k++] = shim.runtime_dir;
    gargv[k++] = (char *) "-w";
    gargv[k++] = (char *) node;
    gargv[k++] = (char *) "--";
    gargv[k++] = (char *) file; /* there it is found, and named, by the path we were given */
    for (size_t i = 1; argv && argv[0] && argv[i]; i++)
        gargv[k++] = argv[i];
    gargv[k] = NULL;
}

static size_t count (char *const argv[])
{
    size_t n = 0;
    while (argv && argv[n])
        n++;
    return n;
}

static bool is_step (const char *file)
{
    return shim.on && shim.pattern[0] && file && spread_match (shim.pattern, file);
}

long shim_exec (shim_exec_how_t how, const char *file, char *const argv[], char *const envp[],
                bool raw)
{
    (void) raw; /* the same path either way: the final execve is libc's */
    file = shim_self_exe (file);
    size_t n_env = shim_env_count (envp);
    char *env2[n_env + SHIM_ENV_EXTRA + 1];
    char buf[SHIM_ENV_BUF];
    if (!is_step (file))
        return do_exec (how, file, argv, rearm (envp, env2, buf, NULL));
    char node[64];
    pick (node);
    if (node[0] && shim.glx[0]) {
        char *gargv[count (argv) + 12];
        glx_argv (gargv, node, file, argv);
        resolve ();
        if (real_execve)
            real_execve (shim.glx, gargv, rearm (envp, env2, buf, file));
        /* glx would not start: the step runs here */
    }
    const char *name = argv && argv[0] ? argv[0] : file;
    return do_exec (how, file, argv, rearm (envp, env2, buf, name));
}

/* ---- the libc boundary: exec and spawn -------------------------------------------------- */

/* madvise: the advice a fork does not follow tells a checkpoint to look
   for it (checkpoint/forkadv.h); glibc's own is this one system call. */
API int madvise (void *addr, size_t len, int advice)
{
    forkadv_seen (advice);
    return (int) syscall (SYS_madvise, addr, len, advice);
}

API int execve (const char *path, char *const argv[], char *const envp[])
{
    errno = (int) -shim_exec (SHIM_EXEC_PATH, path, argv, envp, false);
    return -1;
}

API int execv (const char *path, char *const argv[])
{
    return execve (path, argv, environ);
}

API int execvpe (const char *file, char *const argv[], char *const envp[])
{
    errno = (int) -shim_exec (SHIM_EXEC_SEARCH, file, argv, envp, false);
    return -1;
}

API int execvp (const char *file, char *const argv[])
{
    return execvpe (file, argv, environ);
}

/* execl, execlp, execle: their arguments, counted first, then copied into
   an array on the caller's stack (a variable-length array cannot outlive
   the function that declares it, so each of the three declares its own). */
static size_t count_args (va_list ap)
{
    va_list c;
    va_copy (c, ap);
    size_t n = 1;
    while (va_arg (c, char *))
        n++;
    va_end (c);
    return n;
}

/* argv[0] = arg, then the n arguments at *ap, the last the NULL that ends
   them; *ap is left past it, where execle's envp stands. */
static void take_args (char **argv, size_t n, const char *arg, va_list *ap)
{
    argv[0] = (char *) arg;
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg (*ap, char *);
}

API int execl (const char *path, const char *arg, ...)
{
    va_list ap;
    va_start (ap, arg);
    size_t n = count_args (ap);
    char *argv[n + 1];
    take_args (argv, n, arg, &ap);
    va_end (ap);
    return execve (path, argv, environ);
}

API int execlp (const char *file, const char *arg, ...)
{
    va_list ap;
    va_start (ap, arg);
    size_t n = count_args (ap);
    char *argv[n + 1];
    take_args (argv, n, arg, &ap);
    va_end (ap);
    return execvpe (file, argv, environ);
}

API int execle (const char *path, const char *arg, ...)
{
    va_list ap;
    va_start (ap, arg);
    size_t n = count_args (ap);
    char *argv[n + 1];
    take_args (argv, n, arg, &ap);
    char **envp = va_arg (ap, char **);
    va_end (ap);
    return execve (path, argv, envp);
}

API int fexecve (int fd, char *const argv[], char *const envp[])
{
    /* no name to match: re-armed, never spread */
    char *env2[shim_env_count (envp) + SHIM_ENV_EXTRA + 1];
    char buf[SHIM_ENV_BUF];
    resolve ();
    if (!real_fexecve) {
        errno = ENOSYS;
        return -1;
    }
    uint64_t old;
    ckpt_hold (&old);
    int rc = real_fexecve (fd, argv, rearm (envp, env2, buf, NULL));
    ckpt_unhold (&old);
    return rc;
}

/* posix_spawn: glibc's executes the program inside, past the execve
   above, so the choice is made here, before the child exists. */
static int spawn_armed (bool search, pid_t *pid, const char *file,
                        const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                        char *const argv[], char *const envp[])
{
    resolve ();
    spawn_fn real = search ? real_spawnp : real_spawn;
    if (!real)
        return ENOSYS;
    size_t n_env = shim_env_count (envp);
    char *env2[n_env + SHIM_ENV_EXTRA + 1];
    char buf[SHIM_ENV_BUF];
    if (!is_step (file))
        return real (pid, file, fa, attr, argv, rearm (envp, env2, buf, NULL));
    char node[64];
    pick (node);
    if (node[0] && shim.glx[0]) {
        char *gargv[count (argv) + 12];
        glx_argv (gargv, node, file, argv);
        if (real_spawn (pid, shim.glx, fa, attr, gargv, rearm (envp, env2, buf, file)) == 0)
            return 0;
    }
    const char *name = argv && argv[0] ? argv[0] : file;
    return real (pid, file, fa, attr, argv, rearm (envp, env2, buf, name));
}

/* The checkpoint's signal blocked in the child until its program's shim
   takes it (ckpt_hold): the child's mask is the caller's, or the one
   the attributes set. */
static int spawn (bool search, pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    posix_spawnattr_t held;
    short flags = 0;
    if (attr && !posix_spawnattr_getflags (attr, &flags) && (flags & POSIX_SPAWN_SETSIGMASK)) {
        sigset_t m;
        held = *attr;
        posix_spawnattr_getsigmask (&held, &m);
        sigaddset (&m, GL_CKPT_SIGNO);
        posix_spawnattr_setsigmask (&held, &m);
        attr = &held;
    }
    uint64_t old;
    pids_guard ();
    ckpt_hold (&old);
    int rc = spawn_armed (search, pid, file, fa, attr, argv, envp);
    ckpt_unhold (&old);
    return rc;
}

API int posix_spawn (pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn (false, pid, path, fa, attr, argv, envp);
}

API int posix_spawnp (pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    return spawn (true, pid, file, fa, attr, argv, envp);
}

/* ---- what the shim tells ------------------------------------------------------------------ */

/* For programs and tests that want to know (glunix(7)): whether this
   process runs with the shim, whether raw system calls reach it, and
   how many have. */
API int glshim_active (void)
{
    return shim.on;
}

API int glshim_sud (const char **why)
{
    if (why)
        *why = sud_unavailable ();
    return sud_armed ();
}

API unsigned long long glshim_trapped (void)
{
    return sud_trapped ();
}

/* ---- process ids across a restore ---------------------------------------------------------- */

/* A restored process has another pid; within it the program keeps
   seeing the one it had (glunix(7) says what it can still notice). */
API pid_t getpid (void)
{
    return ckpt_getpid ();
}

API pid_t getppid (void)
{
    return ckpt_getppid ();
}

API int kill (pid_t pid, int sig)
{
    return (int) syscall (SYS_kill, ckpt_real_pid (pid), sig);
}

/* ---- steps and their count -------------------------------------------------------------- */

/* A step counts itself, where it runs, in the job's tally. */
static void tally_step (void)
{
    const char *step = getenv ("GLSHIM_STEP");
    if (!step)
        return;
    bool mine = program_invocation_name && !strcmp (program_invocation_name, step);
    if (!mine)
        return; /* glx, standing in for the step: the step counts itself */
    const char *tally = getenv ("GLSHIM_TALLY");
    const char *node = getenv ("GLUNIX_NODE");
    if (tally && *tally) {
        int fd = open (tally, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
            char line[80];
            int k = snprintf (line, sizeof line, "%.63s\n", node && *node ? node : "?");
            if (write (fd, line, (size_t) k) != k) { /* the count is short by one, no more */
            }
            close (fd);
        }
    }
    unsetenv ("GLSHIM_STEP");
}

/* At the end of the job's first process (glx -v --spread): how many
   steps ran where. */
static void tally_report (void)
{
    if (!shim.tally[0])
        return;
    FILE *f = fopen (shim.tally, "r");
    if (!f)
        return;
    struct {
        char name[64];
        unsigned n;
    } nodes[64];
    size_t n_nodes = 0;
    unsigned total = 0;
    char line[128];
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\n")] = '\0';
        total++;
        size_t i = 0;
        while (i < n_nodes && strcmp (nodes[i].name, line))
            i++;
        if (i == n_nodes && n_nodes < 64) {
            gl_strlcpy (nodes[i].name, line, sizeof nodes[i].name);
            nodes[i].n = 0;
            n_nodes++;
        }
        if (i < n_nodes)
            nodes[i].n++;
    }
    fclose (f);
    unlink (shim.tally);
    /* by name, so that two runs read alike */
    for (size_t i = 1; i < n_nodes; i++)
        for (size_t j = i; j > 0 && strcmp (nodes[j - 1].name, nodes[j].name) > 0; j--) {
            __typeof__ (nodes[0]) t = nodes[j];
            nodes[j] = nodes[j - 1];
            nodes[j - 1] = t;
        }
    char out[4096];
    size_t used = (size_t) snprintf (out, sizeof out, "glx: spread: %u step%s ran", total,
                                     total == 1 ? "" : "s");
    for (size_t i = 0; i < n_nodes && used < sizeof out; i++)
        used += (size_t) snprintf (out + used, sizeof out - used, "%s %s %u", i ? "," : ":",
                                   nodes[i].name, nodes[i].n);
    if (used < sizeof out)
        snprintf (out + used, sizeof out - used, "\n");
    fputs (out, stderr);
}

/* The job's first process says once when nothing can be spread. */
static void spread_warn (void)
{
    const char *fs = NULL, *tmpfs = NULL;
    const char *tmp = getenv ("TMPDIR");
    int cwd_shared = spread_fs_shared (".", &fs);
    int tmp_shared = spread_fs_shared (tmp && *tmp ? tmp : "/tmp", &tmpfs);
    bool anywhere = cwd_shared == 1 && tmp_shared == 1;
    spread_why_t why;
    char node[64];
    if (!shim.view || spread_pick (shim.view, anywhere, shim.locals, shim.n_locals, 0, node, &why))
        return;
    if (why.allowed > 1)
        return;
    char cwd[1024];
    if (!getcwd (cwd, sizeof cwd))
        gl_strlcpy (cwd, ".", sizeof cwd);
    if (why.candidates <= 1)
        fprintf (stderr, "glx: --spread: no other node is alive and idle: the steps run here\n");
    else
        fprintf (stderr,
                 "glx: --spread: the steps run here: %s is on %s, which the %u other nodes "
                 "may not see, and none of them runs on this machine (--spread needs a shared "
                 "file system: glx(1))\n",
                 cwd_shared == 1 ? (tmp && *tmp ? tmp : "/tmp") : cwd,
                 cwd_shared == 1 ? (tmpfs ? tmpfs : "?") : (fs ? fs : "?"), why.candidates - 1);
}

/* ---- start ---------------------------------------------------------------------------- */

static void keep_var (size_t v)
{
    const char *val = getenv (job_vars[v]);
    if (!val)
        return;
    size_t len = strlen (job_vars[v]) + strlen (val) + 2;
    char *s = malloc (len);
    if (s) {
        snprintf (s, len, "%s=%s", job_vars[v], val);
        shim.vars[v] = s;
    }
}

static void spread_init (void)
{
    const char *pattern = getenv ("GLUNIX_SPREAD");
    const char *why;
    if (!pattern || spread_pattern_check (pattern, &why))
        return;
    gl_strlcpy (shim.pattern, pattern, sizeof shim.pattern);
    const char *rd = getenv ("GLUNIX_RUNTIME_DIR");
    gl_strlcpy (shim.runtime_dir, rd ? rd : "", sizeof shim.runtime_dir);
    if (shim_locate ("glx", shim.glx, sizeof shim.glx))
        shim.glx[0] = '\0';
    char err[256];
    if (rd && *rd)
        shim.view = gl_view_open (rd, err, sizeof err);
    shim.n_locals = spread_local_addrs (shim.locals, 64);
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    shim.rng = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t) getpid ();
    shim.verbose = getenv ("GLUNIX_SPREAD_VERBOSE") != NULL;

    /* the job's first process: it owns the tally, and warns */
    const char *top = getenv ("GLSHIM_TOP");
    char pid[32];
    snprintf (pid, sizeof pid, "%d", (int) getpid ());
    if (!top) {
        shim.top = true;
        setenv ("GLSHIM_TOP", pid, 1);
        if (shim.verbose) {
            const char *tmp = getenv ("TMPDIR");
            snprintf (shim.tally, sizeof shim.tally, "%s/glx-spread-%s.XXXXXX",
                      tmp && *tmp ? tmp : "/tmp", pid);
            int fd = mkstemp (shim.tally);
            if (fd >= 0) {
                close (fd);
                setenv ("GLSHIM_TALLY", shim.tally, 1);
            }
            else
                shim.tally[0] = '\0';
        }
        spread_warn ();
    }
    else if (!strcmp (top, pid)) { /* the first process, after an exec */
        shim.top = true;
        const char *t = getenv ("GLSHIM_TALLY");
        gl_strlcpy (shim.tally, t ? t : "", sizeof shim.tally);
    }
    if (shim.top && shim.tally[0])
        atexit (tally_report);
}

/* The process's own environment names the job's streams and its id
   table by the checkpoint code's buffers themselves, not by copies: a
   restore rewrites those buffers in place, and a program that libc
   executes on its own (system(3) and popen(3) spawn /bin/sh through
   glibc's internal posix_spawn, which no wrapper here sees) then
   inherits the streams of the node the process runs on now.  Without
   it, a restored awk's system() gave its sh the old node's streams, and
   that sh's stdout, the job's own pipe, was "a pipe to a process
   outside the job": the job could not move a second time. */
static void environ_live (void)
{
    const char *streams = ckpt_streams_var (), *pids = ckpt_pids_var ();
    if (streams)
        putenv ((char *) streams); /* a static buffer of capture.c's, writable */
    if (pids)
        putenv ((char *) pids);
}

/* Stack below the caller, zeroed (see shim_start). */
__attribute__ ((noinline)) static void stack_zero (void)
{
    char below[16384];
    explicit_bzero (below, sizeof below);
}

__attribute__ ((constructor)) static void shim_start (void)
{
    const char *off = getenv ("GLUNIX_SHIM");
    if (off && !strcmp (off, "0"))
        return;
    /* malloc's first call, from stack that is zero.  glibc 2.36's malloc,
       told to advise huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1,
       which shortens a checkpoint's pause: glunix(7)), reads the kernel's
       transparent_hugepage/enabled into a stack buffer and compares it
       unterminated: the byte after the 23 it read is what the stack held
       there, and unless it is zero malloc takes the mode for unknown and
       never advises.  The first call is often this constructor's
       (keep_var, with the job's variables set), deep in a used stack. */
    stack_zero ();
    void *volatile first = malloc (1); /* volatile: a malloc freed at once is elided */
    free (first);
    Dl_info info;
    if (!dladdr ((void *) shim_start, &info) || !info.dli_fname)
        return;
    gl_strlcpy (shim.self, info.dli_fname, sizeof shim.self);
    shim.on = true;
    resolve ();
    tally_step ();
    spread_init ();
    for (size_t v = 0; v < N_JOB_VARS; v++)
        keep_var (v);
    const char *sud = getenv ("GLUNIX_SHIM_SUD");
    if (!sud || strcmp (sud, "0"))
        sud_init ();
    ckpt_init (sud_arm_thread);
    environ_live ();
}
