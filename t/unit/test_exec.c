/*  test_exec.c -- local execution with real programs: stdio through pipes
    and a pty, exit codes and signals, whole process groups killed, the
    errors told apart, and what a job must not inherit from the agent (its
    descriptors, its blocked and ignored signals).  Run as root it also
    runs a job as nobody, and checks that nobody can't run one as root. */

#include "exec.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEADLINE_MS 3000 /* for any one job */

static char *env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "FOO=bar baz", NULL };
static char dir[] = "/tmp/test_exec-XXXXXX";

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

static void buf_add (buf_t *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->data = realloc (b->data, b->cap);
        if (!b->data)
            abort ();
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0'; /* so text can be compared as a string */
}

static void buf_free (buf_t *b)
{
    free (b->data);
    memset (b, 0, sizeof *b);
}

static long long now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static exec_spec_t spec_for (char *const *argv)
{
    exec_spec_t spec;
    exec_spec_init (&spec);
    spec.file = argv[0];
    spec.argv = argv;
    spec.envp = env;
    return spec;
}

static exec_t *start (const exec_spec_t *spec)
{
    char err[256];
    exec_t *job = exec_start (spec, NULL, err, sizeof err);
    if (!job)
        fprintf (stderr, "exec_start %s: %s\n", spec->file, err);
    return job;
}

/* Reads what fd has; false once it has ended (a pty master says EIO). */
static bool drain (int fd, buf_t *b)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read (fd, chunk, sizeof chunk);
        if (n > 0)
            buf_add (b, chunk, (size_t) n);
        else if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        else
            return false;
    }
}

/* The agent's poll loop in small: feeds in (then ends stdin when
   close_in), collects stdout and stderr until both end and the job has
   exited.  Returns 0, or -1 when the job overruns DEADLINE_MS. */
static int run (exec_t *job, const char *in, size_t in_len, bool close_in, buf_t *out, buf_t *err,
                exec_status_t *status)
{
    long long deadline = now_ms () + DEADLINE_MS;
    int fd_in = exec_fd_stdin (job), fd_out = exec_fd_stdout (job), fd_err = exec_fd_stderr (job);
    size_t off = 0;
    bool exited = false;
    if (off == in_len) {
        if (close_in)
            exec_close_stdin (job);
        fd_in = -1;
    }
    while (fd_out >= 0 || fd_err >= 0 || !exited) {
        struct pollfd p[3];
        nfds_t n = 0;
        if (fd_in >= 0)
            p[n++] = (struct pollfd){ .fd = fd_in, .events = POLLOUT };
        if (fd_out >= 0)
            p[n++] = (struct pollfd){ .fd = fd_out, .events = POLLIN };
        if (fd_err >= 0)
            p[n++] = (struct pollfd){ .fd = fd_err, .events = POLLIN };
        poll (p, n, 5);
        for (nfds_t i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            if (p[i].events == POLLOUT) {
                size_t want = in_len - off < 65536 ? in_len - off : 65536;
                ssize_t w = write (fd_in, in + off, want);
                if (w > 0)
                    off += (size_t) w;
                else if (errno != EAGAIN && errno != EINTR)
                    fd_in = -1; /* EPIPE: the job stopped reading */
                if (off == in_len) {
                    if (close_in)
                        exec_close_stdin (job);
                    fd_in = -1;
                }
            }
            else if (p[i].fd == fd_out && !drain (fd_out, out))
                fd_out = -1;
            else if (p[i].fd == fd_err && !drain (fd_err, err))
                fd_err = -1;
        }
        if (!exited)
            exited = exec_poll_exit (job, status);
        if (now_ms () > deadline)
            return -1;
    }
    return 0;
}

/* Runs argv to completion with no input; out and err (may be NULL) get
   its output.  Returns the shell's view of its status, or -1. */
static int run_spec (const exec_spec_t *spec, buf_t *out, buf_t *err)
{
    buf_t o = { 0 }, e = { 0 };
    exec_status_t st;
    exec_t *job = start (spec);
    int rc = -1;
    if (job && run (job, "", 0, true, out ? out : &o, err ? err : &e, &st) == 0)
        rc = exec_status_code (&st);
    exec_destroy (&job);
    buf_free (&o);
    buf_free (&e);
    return rc;
}

static int run_argv (char *const *argv, buf_t *out, buf_t *err)
{
    exec_spec_t spec = spec_for (argv);
    return run_spec (&spec, out, err);
}

static bool wait_exit (exec_t *job, exec_status_t *st)
{
    long long deadline = now_ms () + DEADLINE_MS;
    while (!exec_poll_exit (job, st)) {
        if (now_ms () > deadline)
            return false;
        usleep (1000);
    }
    return true;
}

/* Alive: the process exists and is no zombie (an orphan's zombie may wait
   long for a reaper in a container). */
static bool alive (pid_t pid)
{
    char path[64], stat[256];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read (fd, stat, sizeof stat - 1);
    close (fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    char *paren = strrchr (stat, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static bool gone_soon (pid_t pid)
{
    for (int i = 0; i < 1000; i++) {
        if (!alive (pid))
            return true;
        usleep (1000);
    }
    return false;
}

/* No child of ours is left within a second, the keepers exec_destroy let
   go reaped by exec_reap (looked at without reaping them here). */
static bool no_child_soon (void)
{
    for (int i = 0; i < 1000; i++) {
        exec_reap ();
        siginfo_t si;
        memset (&si, 0, sizeof si);
        if (waitid (P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD)
            return true;
        usleep (1000);
    }
    return false;
}

/* Reads the job's stdout up to its first newline: the pid it printed. */
static pid_t read_pid (exec_t *job)
{
    buf_t b = { 0 };
    long long deadline = now_ms () + DEADLINE_MS;
    while (!memchr (b.data ? b.data : "", '\n', b.len) && now_ms () < deadline) {
        struct pollfd p = { .fd = exec_fd_stdout (job), .events = POLLIN };
        poll (&p, 1, 10);
        drain (p.fd, &b);
    }
    pid_t pid = b.data ? (pid_t) atoi (b.data) : 0;
    buf_free (&b);
    return pid;
}

/* ---- pipes ---------------------------------------------------------------- */

static void test_stdio (void)
{
    buf_t out = { 0 }, err = { 0 };
    CHECK_EQ (
        run_argv ((char *[]){ "sh", "-c", "echo out; echo err >&2; echo out2", NULL }, &out, &err),
        0);
    CHECK (out.data && strcmp (out.data, "out\nout2\n") == 0);
    CHECK (err.data && strcmp (err.data, "err\n") == 0);
    buf_free (&out);
    buf_free (&err);

    /* A megabyte of every byte value through cat, both ways at once:
       neither side may wait for the other to finish. */
    size_t len = 1 << 20;
    char *data = malloc (len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245 + 12345;
        data[i] = (char) (x >> 16);
    }
    exec_t *job =
        start (&(exec_spec_t){ .file = "cat", .envp = env, .uid = geteuid (), .gid = getegid () });
    CHECK (job != NULL);
    if (job) {
        exec_status_t st = { .code = -1 };
        CHECK_EQ (run (job, data, len, true, &out, &err, &st), 0);
        CHECK_EQ (out.len, len);
        CHECK (out.len == len && memcmp (out.data, data, len) == 0);
        CHECK_EQ (err.len, 0);
        CHECK_EQ (st.code, 0);
        exec_destroy (&job);
        CHECK (job == NULL);
    }
    free (data);
    buf_free (&out);
    buf_free (&err);

    /* End of input reaches the job: cat waits for it, then exits. */
    job =
        start (&(exec_spec_t){ .file = "cat", .envp = env, .uid = geteuid (), .gid = getegid () });
    CHECK (job != NULL);
    if (job) {
        exec_status_t st;
        usleep (20000);
        CHECK (!exec_poll_exit (job, &st));
        CHECK_EQ (exec_close_stdin (job), 0);
        CHECK_EQ (exec_fd_stdin (job), -1);
        CHECK_EQ (exec_close_stdin (job), 0); /* again: nothing to do */
        CHECK (wait_exit (job, &st));
        CHECK_EQ (st.code, 0);
        CHECK_EQ (exec_winsize (job, 10, 10), -1); /* no terminal */
        CHECK_EQ (errno, ENOTTY);
        exec_destroy (&job);
    }

    /* Asked to start without stdin and stdout (glx ... <&- >&-): the job
       has neither, its stderr is still ours, and its output ends at once. */
    job = start (&(exec_spec_t){
        .file = "sh",
        .argv = (char *[]){ "sh", "-c",
                            "for k in 0 1 2; do [ -e /proc/self/fd/$k ] && echo $k >&2; done; "
                            "exit 0",
                            NULL },
        .envp = env,
        .uid = geteuid (),
        .gid = getegid (),
        .closed = 3 });
    CHECK (job != NULL);
    if (job) {
        exec_status_t st = { .code = -1 };
        CHECK_EQ (run (job, NULL, 0, true, &out, &err, &st), 0);
        CHECK_EQ (out.len, 0);
        CHECK (err.data && strcmp (err.data, "2\n") == 0);
        CHECK_EQ (st.code, 0);
        exec_destroy (&job);
    }
    buf_free (&out);
    buf_free (&err);
}

/* A checkpoint's tools: a signal with a value to the job's process
   alone, and stdin written to the job but not read, taken back. */
static void test_checkpoint_tools (void)
{
    exec_t *job = start (&(exec_spec_t){ .file = "sh",
                                         .argv = (char *[]){ "sh", "-c",
                                                             "trap 'echo got; exit 3' USR1; "
                                                             "read line; echo \"$line\"; "
                                                             "while :; do sleep 0.01; done",
                                                             NULL },
                                         .envp = env,
                                         .uid = geteuid (),
                                         .gid = getegid () });
    CHECK (job != NULL);
    if (!job)
        return;
    int back = exec_fd_stdin_back (job);
    CHECK (back >= 0);
    const char *in = "first\nsecond line, never read\n";
    CHECK_EQ (write (exec_fd_stdin (job), in, strlen (in)), (ssize_t) strlen (in));
    char out[64] = "";
    size_t got = 0;
    for (int i = 0; i < 200 && !memchr (out, '\n', got); i++) {
        ssize_t n = read (exec_fd_stdout (job), out + got, sizeof out - 1 - got);
        if (n > 0)
            got += (size_t) n;
        else
            usleep (10000);
    }
    out[got] = '\0';
    CHECK (!strcmp (out, "first\n"));
    /* sh reads its input a byte at a time, so the rest is still in the pipe */
    int avail = 0;
    CHECK_EQ (ioctl (back, FIONREAD, &avail), 0);
    CHECK_EQ (avail, (int) strlen ("second line, never read\n"));
    char rest[64] = "";
    CHECK_EQ (read (back, rest, (size_t) avail), avail);
    CHECK (!strncmp (rest, "second line, never read\n", (size_t) avail));
    CHECK_EQ (exec_sigqueue (job, SIGUSR1, 42), 0);
    exec_status_t st;
    CHECK (wait_exit (job, &st));
    CHECK_EQ (st.code, 3);
    exec_destroy (&job);
}

static void test_status (void)
{
    CHECK_EQ (run_argv ((char *[]){ "true", NULL }, NULL, NULL), 0);
    CHECK_EQ (run_argv ((char *[]){ "false", NULL }, NULL, NULL), 1);
    CHECK_EQ (run_argv ((char *[]){ "sh", "-c", "exit 42", NULL }, NULL, NULL), 42);

    exec_t *job = start (&(exec_spec_t){ .file = "sleep",
                                         .argv = (char *[]){ "sleep", "100", NULL },
                                         .envp = env,
                                         .uid = geteuid (),
                                         .gid = getegid () });
    CHECK (job != NULL);
    if (job) {
        CHECK (exec_pid (job) > 0);
        CHECK_EQ (getpgid (exec_pid (job)), exec_pid (job)); /* leads its group */
        CHECK_EQ (getsid (exec_pid (job)), exec_pid (job));
        exec_status_t st;
        CHECK (!exec_poll_exit (job, &st));
        CHECK_EQ (exec_signal (job, SIGINT), 0);
        CHECK (wait_exit (job, &st));
        CHECK_EQ (st.signal, SIGINT);
        CHECK (!st.core);
        CHECK_EQ (exec_status_code (&st), 130);
        exec_status_t again;
        CHECK (exec_poll_exit (job, &again) && again.signal == SIGINT);
        exec_destroy (&job);
    }
}

/* A job's children go down with it, by exec_signal and by exec_destroy. */
static void test_group (void)
{
    char *argv[] = { "sh", "-c", "sleep 100 & echo $!; wait", NULL };
    exec_spec_t spec = spec_for (argv);

    exec_t *job = start (&spec);
    CHECK (job != NULL);
    if (job) {
        pid_t grandchild = read_pid (job);
        CHECK (grandchild > 0 && alive (grandchild));
        CHECK_EQ (exec_signal (job, SIGTERM), 0);
        exec_status_t st;
        CHECK (wait_exit (job, &st));
        CHECK_EQ (st.signal, SIGTERM);
        CHECK (grandchild > 0 && gone_soon (grandchild));
        exec_destroy (&job);
    }

    job = start (&spec);
    CHECK (job != NULL);
    if (job) {
        pid_t child = exec_pid (job);
        pid_t grandchild = read_pid (job);
        CHECK (grandchild > 0 && alive (grandchild));
        exec_destroy (&job);
        CHECK (!alive (child));
        CHECK (grandchild > 0 && gone_soon (grandchild));
    }
}

/* What left the job's group goes too: a daemon's double fork (a session of
   its own, its parent gone before the job ends), killed by exec_destroy
   once the job has ended, and no zombie of it is left to us or the
   keeper.  While the job runs, an orphan that ends is reaped. */
static void test_leftovers (void)
{
    char *argv[] = { "sh", "-c",
                     "(setsid sh -c 'echo $$; exec sleep 100 >/dev/null' &);"
                     "(setsid sh -c 'exit 3' &); sleep 0.3",
                     NULL };
    exec_spec_t spec = spec_for (argv);
    exec_t *job = start (&spec);
    CHECK (job != NULL);
    if (!job)
        return;
    pid_t daemon = read_pid (job);
    CHECK (daemon > 0 && daemon != exec_pid (job));
    exec_status_t st;
    CHECK (wait_exit (job, &st));
    CHECK_EQ (st.code, 0);
    CHECK (daemon > 0 && alive (daemon)); /* the job's end alone leaves it be */
    exec_destroy (&job);
    CHECK (daemon > 0 && gone_soon (daemon));
    CHECK (no_child_soon ()); /* its keeper ended, reaped */
}

/* The parent of pid (its keeper, for a job's process), from /proc. */
static pid_t parent_of (pid_t pid)
{
    char path[64], stat[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read (fd, stat, sizeof stat - 1);
    close (fd);
    if (n <= 0)
        return 0;
    stat[n] = '\0';
    char *paren = strrchr (stat, ')');
    return paren && paren[1] == ' ' ? (pid_t) atoi (paren + 4) : 0;
}

/* What a job's keeper holds: its socket (3), its signalfd (4) and
   /dev/null as stdio, none of the job's pipes or terminal (their ends would wait for it), no other
   descriptor of ours; it is named glpeer-keep, and stays out of the
   job's session, so a signal to the job's group or a terminal's misses
   it.  With a pty, the job's process, not the keeper, has it as its
   controlling terminal. */
static void test_keeper_holds (void)
{
    for (int pty = 0; pty < 2; pty++) {
        char *argv[] = { "sleep", "100", NULL };
        exec_spec_t spec = spec_for (argv);
        spec.pty = pty;
        exec_t *job = start (&spec);
        CHECK (job != NULL);
        if (!job)
            continue;
        pid_t leader = exec_pid (job), keeper = parent_of (leader);
        CHECK (keeper > 0 && keeper != getpid ());
        char path[64], link[256], want[] = "0 1 2 3 4 ", got[64] = "";
        snprintf (path, sizeof path, "/proc/%d/comm", (int) keeper);
        int fd = open (path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read (fd, link, sizeof link - 1) : -1;
        if (fd >= 0)
            close (fd);
        CHECK (n == 12 && !memcmp (link, "glpeer-keep\n", 12));
        /* its signalfd comes once it has told the job's pid: soon */
        snprintf (path, sizeof path, "/proc/%d/fd/4", (int) keeper);
        for (int i = 0; i < 1000 && readlink (path, link, sizeof link) < 0; i++)
            usleep (1000);
        for (int k = 0; k < 64 && keeper > 0; k++) {
            snprintf (path, sizeof path, "/proc/%d/fd/%d", (int) keeper, k);
            n = readlink (path, link, sizeof link - 1);
            if (n < 0)
                continue;
            link[n] = '\0';
            snprintf (got + strlen (got), sizeof got - strlen (got), "%d ", k);
            if (k < 3)
                CHECK (!strcmp (link, "/dev/null"));
            else if (k == 3)
                CHECK (!strncmp (link, "socket:", 7));
            else
                CHECK (!strcmp (link, "anon_inode:[signalfd]"));
        }
        CHECK (!strcmp (got, want));
        if (strcmp (got, want))
            fprintf (stderr, "  the keeper's fds: %s\n", got);
        CHECK (getsid (leader) == leader && getpgid (leader) == leader);
        CHECK (getsid (keeper) != leader && getpgid (keeper) != leader);
        if (pty) { /* the job's stat's field 7, tty_nr: its terminal */
            snprintf (path, sizeof path, "/proc/%d/stat", (int) leader);
            fd = open (path, O_RDONLY | O_CLOEXEC);
            n = fd >= 0 ? read (fd, link, sizeof link - 1) : -1;
            if (fd >= 0)
                close (fd);
            link[n > 0 ? n : 0] = '\0';
            char *e = strrchr (link, ')');
            int tty = 0;
            CHECK (e && sscanf (e + 2, "%*c %*d %*d %*d %d", &tty) == 1 && tty != 0);
        }
        exec_destroy (&job);
    }
    CHECK (no_child_soon ());
}

/* A caller that ignores SIGCHLD (a SIG_IGN inherited across exec, as the
   launcher had it before the agent undid it): the kernel reaps a child
   that ends while its parent ignores SIGCHLD, so a keeper must undo it
   before it forks the job, or a job that ends at once may be reaped
   behind it and its end never told (a few launches in a thousand on an
   idle machine).  In a child process of ours, the count of jobs whose
   end was not seen. */
static void test_caller_ignores_sigchld (void)
{
    pid_t pid = fork ();
    if (pid == 0) {
        signal (SIGCHLD, SIG_IGN);
        for (int i = 0; i < 600; i++) {
            exec_spec_t spec = spec_for ((char *[]){ "true", NULL });
            exec_t *job = start (&spec);
            exec_status_t st;
            bool ended = job && wait_exit (job, &st) && st.code == 0 && st.signal == 0;
            exec_destroy (&job);
            if (!ended)
                _exit (1); /* at once: each costs a deadline */
        }
        _exit (0);
    }
    int status = -1;
    CHECK (pid > 0 && waitpid (pid, &status, 0) == pid);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        fprintf (stderr, "  a job's end went unseen (status %#x)\n", status);
}

/* A keeper killed behind our back (its user, the OOM killer): the job's
   status is lost, but the job and its group end with it, not live on
   orphaned beyond any reach; no keeper's zombie is left to us. */
static void test_keeper_killed (void)
{
    char *argv[] = { "sh", "-c", "sleep 100 & echo $!; wait", NULL };
    exec_spec_t spec = spec_for (argv);
    exec_t *job = start (&spec);
    CHECK (job != NULL);
    if (!job)
        return;
    pid_t member = read_pid (job), leader = exec_pid (job);
    pid_t keeper = parent_of (leader);
    CHECK (member > 0 && keeper > 0 && keeper != getpid ());
    if (member <= 0 || keeper <= 0 || keeper == getpid ()) {
        exec_destroy (&job);
        return;
    }
    kill (keeper, SIGKILL);
    exec_status_t st;
    CHECK (wait_exit (job, &st));
    CHECK_EQ (st.code, 255); /* lost */
    CHECK (gone_soon (leader));
    CHECK (gone_soon (member));
    exec_destroy (&job);
    CHECK (no_child_soon ());
}

/* A keeper its user stopped (SIGSTOP) does not hold exec_destroy forever. */
static void test_keeper_stopped (void)
{
    char *argv[] = { "sleep", "100", NULL };
    exec_spec_t spec = spec_for (argv);
    exec_t *job = start (&spec);
    CHECK (job != NULL);
    if (!job)
        return;
    pid_t leader = exec_pid (job), keeper = parent_of (leader);
    CHECK (keeper > 0 && keeper != getpid ());
    if (keeper <= 0 || keeper == getpid ()) {
        exec_destroy (&job);
        return;
    }
    kill (keeper, SIGSTOP);
    siginfo_t si;
    memset (&si, 0, sizeof si);
    CHECK (waitid (P_PID, (id_t) keeper, &si, WSTOPPED | WNOWAIT) == 0);
    alarm (10); /* a hang here ends the test, failed */
    exec_destroy (&job);
    alarm (0);
    CHECK (!alive (leader));
    CHECK (no_child_soon ());
}

static void expect_error (exec_spec_t *spec, exec_err_t want, const char *in_message)
{
    exec_err_t code = EXEC_OK;
    char err[256] = "";
    exec_t *job = exec_start (spec, &code, err, sizeof err);
    CHECK (job == NULL);
    CHECK_EQ (code, want);
    CHECK (strstr (err, in_message) != NULL);
    if (!strstr (err, in_message))
        fprintf (stderr, "  message: %s\n", err);
    exec_destroy (&job);
}

static void test_errors (void)
{
    char script[64], true_copy[64];
    snprintf (script, sizeof script, "%s/script", dir);
    snprintf (true_copy, sizeof true_copy, "%s/true", dir);
    int fd = open (script, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* not executable */
    CHECK (fd >= 0 && write (fd, "#!/bin/sh\n", 10) == 10);
    close (fd);
    CHECK (link (script, true_copy) == 0);

    exec_spec_t spec = spec_for ((char *[]){ "glunix-no-such-program", NULL });
    expect_error (&spec, EXEC_ERR_NOT_FOUND,
                  "program not found: glunix-no-such-program (PATH /usr");
    spec.file = "/nonexistent/prog";
    expect_error (&spec, EXEC_ERR_NOT_FOUND, "program not found: /nonexistent/prog");
    spec.file = "";
    expect_error (&spec, EXEC_ERR_NOT_FOUND, "no program");
    spec.file = script;
    expect_error (&spec, EXEC_ERR_DENIED, script);
    spec.file = "true";
    spec.path = dir;
    expect_error (&spec, EXEC_ERR_DENIED, true_copy);
    spec.file = "sh";
    spec.path = NULL;
    spec.cwd = "/nonexistent-dir";
    expect_error (&spec, EXEC_ERR_CWD, "/nonexistent-dir");
    spec.cwd = script;
    expect_error (&spec, EXEC_ERR_CWD, "Not a directory");
    spec.cwd = NULL;
    spec.uid = 12345;
    spec.gid = 12345;
    if (geteuid () == 0)
        expect_error (&spec, EXEC_ERR_USER, "uid 12345: no such user");
    else
        expect_error (&spec, EXEC_ERR_USER, "only root");

    /* A program we may not run is passed over for a later one we may. */
    spec = spec_for ((char *[]){ "true", NULL });
    char path[128];
    snprintf (path, sizeof path, "%s:/usr/bin:/bin", dir);
    spec.path = path;
    CHECK_EQ (run_spec (&spec, NULL, NULL), 0);

    /* Failed starts leave no zombie behind. */
    CHECK (no_child_soon ());
    unlink (true_copy);
    unlink (script);
}

/* What travels, and what must not leak from the agent. */
static void test_inheritance (void)
{
    buf_t out = { 0 };
    exec_spec_t spec = spec_for ((char *[]){ "sh", "-c", "echo $FOO; pwd; umask", NULL });
    spec.cwd = dir;
    spec.umask = 027;
    CHECK_EQ (run_spec (&spec, &out, NULL), 0);
    char want[128];
    snprintf (want, sizeof want, "bar baz\n%s\n0027\n", dir);
    CHECK (out.data && strcmp (out.data, want) == 0);
    buf_free (&out);

    /* Descriptors the agent opened without O_CLOEXEC, as sockets from
       libraries may be, stay out of the job. */
    int leak = open ("/dev/null", O_RDONLY);
    int pair[2] = { -1, -1 };
    CHECK (leak >= 0 && socketpair (AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    CHECK_EQ (run_argv ((char *[]){ "ls", "/proc/self/fd", NULL }, &out, NULL), 0);
    CHECK (out.data && strcmp (out.data, "0\n1\n2\n3\n") == 0); /* 3: ls's own */
    if (out.data && strcmp (out.data, "0\n1\n2\n3\n") != 0)
        fprintf (stderr, "  the job's fds: %s", out.data);
    buf_free (&out);

    /* ...but for the one the spec hands the job as its fd 3 (a parallel
       job's PMI_FD): a copy of it, open across execve, and nothing else. */
    exec_spec_t spec3 =
        spec_for ((char *[]){ "sh", "-c", "echo through 3 >&3; ls /proc/self/fd", NULL });
    CHECK (fcntl (pair[1], F_SETFD, FD_CLOEXEC) == 0);
    spec3.fd3 = pair[1];
    CHECK_EQ (run_spec (&spec3, &out, NULL), 0);
    CHECK (out.data && strcmp (out.data, "0\n1\n2\n3\n4\n") == 0); /* 4: ls's own */
    if (out.data && strcmp (out.data, "0\n1\n2\n3\n4\n") != 0)
        fprintf (stderr, "  the job's fds with an fd 3: %s", out.data);
    buf_free (&out);
    char got[32] = "";
    ssize_t n = read (pair[0], got, sizeof got - 1);
    CHECK (n == 10 && !memcmp (got, "through 3\n", 10));
    close (leak);
    close (pair[0]);
    close (pair[1]);

    /* main() blocked SIGINT and SIGTERM and ignored SIGPIPE, as the agent
       does, and signals 32 and 33; the job starts with none of that. */
    CHECK_EQ (run_argv ((char *[]){ "grep", "Sig", "/proc/self/status", NULL }, &out, NULL), 0);
    CHECK (out.data && strstr (out.data, "SigBlk:\t0000000000000000\n"));
    CHECK (out.data && strstr (out.data, "SigIgn:\t0000000000000000\n"));
    buf_free (&out);
}

/* The spec's resource limits: given to the job, each lowered to the hard
   limit this process has (a root agent could raise it, and must not);
   one that is not NAME=SOFT:HARD stops the job from starting. */
static void test_rlimits (void)
{
    struct rlimit own;
    CHECK (getrlimit (RLIMIT_NOFILE, &own) == 0 && own.rlim_max > 64);
    char nofile[64], above[64];
    snprintf (nofile, sizeof nofile, "NOFILE=50:%llu", (unsigned long long) own.rlim_max - 1);
    snprintf (above, sizeof above, "STACK=unlimited:unlimited");
    struct rlimit stack;
    CHECK (getrlimit (RLIMIT_STACK, &stack) == 0);
    char *lims[] = { nofile, (char *) "CORE=0:0", above };
    buf_t out = { 0 };
    exec_spec_t spec = spec_for ((char *[]){
        "sh", "-c", "echo $(ulimit -Sn) $(ulimit -Hn) $(ulimit -Hc) $(ulimit -Hs)", NULL });
    spec.rlimits = lims;
    spec.n_rlimits = 3;
    CHECK_EQ (run_spec (&spec, &out, NULL), 0);
    char want[128];
    char hs[24] = "unlimited";
    if (stack.rlim_max != RLIM_INFINITY)
        snprintf (hs, sizeof hs, "%llu", (unsigned long long) stack.rlim_max / 1024);
    snprintf (want, sizeof want, "50 %llu 0 %s\n", (unsigned long long) own.rlim_max - 1, hs);
    CHECK (out.data && strcmp (out.data, want) == 0);
    if (!out.data || strcmp (out.data, want))
        fprintf (stderr, "  limits: %s, not %s", out.data ? out.data : "nothing", want);
    buf_free (&out);

    const char *bad[] = { "NOFILE",
                          "NOFILE=1",
                          "FILES=1:2",
                          "NOFILE=2:1",
                          "NOFILE=x:1",
                          "NOFILE=unlimited:5",
                          "NOFILE=99999999999999999999999:1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *one[] = { (char *) bad[i] };
        exec_spec_t b = spec_for ((char *[]){ "true", NULL });
        b.rlimits = one;
        b.n_rlimits = 1;
        expect_error (&b, EXEC_ERR_SYSTEM, "resource limit");
    }
}

/* ---- pty ------------------------------------------------------------------ */

static exec_t *start_pty (char *const *argv, uint16_t rows, uint16_t cols)
{
    exec_spec_t spec = spec_for (argv);
    spec.pty = true;
    spec.rows = rows;
    spec.cols = cols;
    return start (&spec);
}

/* Reads the master until text shows up; true if it did. */
static bool expect_output (exec_t *job, buf_t *out, const char *text)
{
    long long deadline = now_ms () + DEADLINE_MS;
    while (!(out->data && strstr (out->data, text)) && now_ms () < deadline) {
        struct pollfd p = { .fd = exec_fd_stdout (job), .events = POLLIN };
        poll (&p, 1, 10);
        drain (p.fd, out);
    }
    return out->data && strstr (out->data, text);
}

static void test_pty (void)
{
    buf_t out = { 0 }, err = { 0 };
    exec_status_t st;

    exec_t *job = start_pty ((char *[]){ "tty", NULL }, 0, 0);
    CHECK (job != NULL);
    if (job) {
        CHECK_EQ (exec_fd_stdin (job), exec_fd_stdout (job));
        CHECK_EQ (exec_fd_stderr (job), -1);
        CHECK_EQ (run (job, "", 0, false, &out, &err, &st), 0);
        CHECK_EQ (st.code, 0);
        CHECK (out.data && strncmp (out.data, "/dev/pts/", 9) == 0);
        exec_destroy (&job);
    }
    buf_free (&out);

    job = start_pty ((char *[]){ "stty", "size", NULL }, 33, 101);
    CHECK (job != NULL);
    if (job) {
        CHECK_EQ (run (job, "", 0, false, &out, &err, &st), 0);
        CHECK (out.data && strcmp (out.data, "33 101\r\n") == 0);
        exec_destroy (&job);
    }
    buf_free (&out);

    job = start_pty ((char *[]){ "sh", "-c", "stty size; read x; stty size", NULL }, 0, 0);
    CHECK (job != NULL);
    if (job) {
        CHECK (expect_output (job, &out, "24 80\r\n"));
        CHECK_EQ (exec_winsize (job, 50, 132), 0);
        CHECK_EQ (run (job, "\n", 1, false, &out, &err, &st), 0);
        CHECK (out.data && strstr (out.data, "50 132\r\n"));
        exec_destroy (&job);
    }
    buf_free (&out);

    /* An interactive cat: the terminal echoes the line, cat repeats it,
       and the end-of-file character ends it. */
    job = start_pty ((char *[]){ "cat", NULL }, 0, 0);
    CHECK (job != NULL);
    if (job) {
        CHECK_EQ (write (exec_fd_stdin (job), "hello\n", 6), 6);
        CHECK (expect_output (job, &out, "hello\r\nhello\r\n"));
        CHECK (!exec_poll_exit (job, &st));
        CHECK_EQ (exec_close_stdin (job), 0);
        CHECK_EQ (run (job, "", 0, false, &out, &err, &st), 0);
        CHECK_EQ (st.code, 0);
        CHECK_EQ (st.signal, 0);
        exec_destroy (&job);
    }
    buf_free (&out);

    /* The job is the terminal's foreground group: ^C interrupts it. */
    job = start_pty ((char *[]){ "cat", NULL }, 0, 0);
    CHECK (job != NULL);
    if (job) {
        CHECK_EQ (write (exec_fd_stdin (job), "\003", 1), 1);
        CHECK (wait_exit (job, &st));
        CHECK_EQ (st.signal, SIGINT);
        exec_destroy (&job);
    }
}

/* ---- users ---------------------------------------------------------------- */

static void test_users (void)
{
    struct passwd *nobody = getpwnam ("nobody");
    if (!nobody) {
        tap_skip ("no user nobody to run the user tests as");
        return;
    }
    uid_t uid = nobody->pw_uid;
    gid_t gid = nobody->pw_gid;

    if (geteuid () != 0)
        tap_skip ("not root: a job cannot be started as another user");
    else {
        buf_t out = { 0 };
        exec_spec_t spec = spec_for ((char *[]){ "id", "-u", NULL });
        spec.uid = uid;
        spec.gid = gid;
        CHECK_EQ (run_spec (&spec, &out, NULL), 0);
        char want[32];
        snprintf (want, sizeof want, "%u\n", (unsigned) uid);
        CHECK (out.data && strcmp (out.data, want) == 0);
        buf_free (&out);

        /* nobody's terminal is nobody's. */
        spec = spec_for ((char *[]){ "sh", "-c", "stat -c %u $(tty)", NULL });
        spec.uid = uid;
        spec.gid = gid;
        spec.pty = true;
        CHECK_EQ (run_spec (&spec, &out, NULL), 0);
        snprintf (want, sizeof want, "%u\r\n", (unsigned) uid);
        CHECK (out.data && strcmp (out.data, want) == 0);
        buf_free (&out);

        /* nobody's job can't signal its keeper, which is root. */
        spec = spec_for ((char *[]){
            "sh", "-c", "kill -0 $PPID 2>/dev/null && echo reached || echo out of reach", NULL });
        spec.uid = uid;
        spec.gid = gid;
        CHECK_EQ (run_spec (&spec, &out, NULL), 0);
        CHECK (out.data && strcmp (out.data, "out of reach\n") == 0);
        buf_free (&out);

        /* A directory only root may enter is refused to nobody. */
        spec = spec_for ((char *[]){ "true", NULL });
        spec.uid = uid;
        spec.gid = gid;
        chmod (dir, 0700);
        spec.cwd = dir;
        expect_error (&spec, EXEC_ERR_CWD, "Permission denied");
    }

    /* Not root: only our own uid.  As root, become nobody first. */
    pid_t pid = fork ();
    if (pid == 0) {
        if (geteuid () == 0 && (setgroups (0, NULL) < 0 || setgid (gid) < 0 || setuid (uid) < 0))
            _exit (10);
        exec_spec_t spec = spec_for ((char *[]){ "true", NULL });
        exec_err_t code = EXEC_OK;
        char err[256];
        spec.uid = 0;
        spec.gid = 0;
        if (exec_start (&spec, &code, err, sizeof err) != NULL)
            _exit (11);
        if (code != EXEC_ERR_USER || !strstr (err, "only root"))
            _exit (12);
        spec.uid = geteuid ();
        spec.gid = getegid ();
        if (run_spec (&spec, NULL, NULL) != 0)
            _exit (13);
        _exit (0);
    }
    int status = -1;
    CHECK (pid > 0 && waitpid (pid, &status, 0) == pid);
    CHECK (WIFEXITED (status));
    CHECK_EQ (WEXITSTATUS (status), 0);
}

int main (void)
{
    /* Set up as the agent is, so the test sees that jobs don't inherit it. */
    sigset_t sigs;
    sigemptyset (&sigs);
    sigaddset (&sigs, SIGINT);
    sigaddset (&sigs, SIGTERM);
    sigprocmask (SIG_BLOCK, &sigs, NULL);
    signal (SIGPIPE, SIG_IGN);
    /* and as a parent may (GNU make does): the C library's own signals
       ignored, which its sigaction cannot undo */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } ign = { SIG_IGN, 0, NULL, 0 };
    syscall (SYS_rt_sigaction, 32, &ign, NULL, sizeof ign.mask);
    syscall (SYS_rt_sigaction, 33, &ign, NULL, sizeof ign.mask);
    if (!mkdtemp (dir)) {
        perror ("mkdtemp");
        return 2;
    }
    chmod (dir, 0755);

    test_errors ();
    test_rlimits ();
    test_checkpoint_tools ();
    test_stdio ();
    test_status ();
    test_group ();
    test_leftovers ();
    test_keeper_holds ();
    test_caller_ignores_sigchld ();
    test_keeper_killed ();
    test_keeper_stopped ();
    test_inheritance ();
    test_pty ();
    test_users ();

    rmdir (dir);
    return tap_done ("test_exec");
}
