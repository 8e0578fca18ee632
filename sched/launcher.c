/*  launcher.c -- the root launcher of a machine's agent, and the agent's
    side of talking to it.  See launcher.h. */
#include "launcher.h"
#include "err.h"
#include "fd.h"
#include "grow.h"
#include "str.h"
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FDS_MAX GL_SEND_FDS_MAX

/* ---- messages with descriptors ------------------------------------------------ */

static int send_msg (int sock, const launch_msg_t *m, const int *fds, size_t n_fds)
{
    uint8_t *buf;
    size_t len;
    if (launch_encode (m, &buf, &len)) {
        errno = EINVAL;
        return -1;
    }
    ssize_t n = gl_send_fds (sock, buf, len, fds, n_fds);
    free (buf);
    return n == (ssize_t) len ? 0 : -1;
}

/* One datagram into buf (LAUNCH_MSG_MAX), with up to FDS_MAX descriptors
   (close-on-exec); the bytes, 0 at the end, -1 with errno. */
static ssize_t recv_msg (int sock, uint8_t *buf, int flags, int *fds, size_t *n_fds)
{
    struct iovec iov = { buf, LAUNCH_MSG_MAX };
    union {
        struct cmsghdr h;
        char room[CMSG_SPACE (FDS_MAX * sizeof (int))];
    } c;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.room, .msg_controllen = sizeof c.room
    };
    *n_fds = 0;
    ssize_t n;
    do
        n = recvmsg (sock, &mh, flags | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    for (struct cmsghdr *h = CMSG_FIRSTHDR (&mh); h; h = CMSG_NXTHDR (&mh, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            size_t k = (h->cmsg_len - CMSG_LEN (0)) / sizeof (int);
            int got[FDS_MAX * 2];
            memcpy (got, CMSG_DATA (h), (k < FDS_MAX * 2 ? k : FDS_MAX * 2) * sizeof (int));
            for (size_t i = 0; i < k && i < FDS_MAX * 2; i++) {
                if (*n_fds < FDS_MAX)
                    fds[(*n_fds)++] = got[i];
                else
                    close (got[i]); /* more than any message carries */
            }
        }
    if (mh.msg_flags & MSG_TRUNC) { /* longer than any message: not one */
        for (size_t i = 0; i < *n_fds; i++)
            close (fds[i]);
        *n_fds = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return n;
}

static void close_fds (int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close (fds[i]);
}

/* ---- the launcher ---------------------------------------------------------------- */

typedef struct {
    uint64_t id;
    exec_t *exec;
    bool reported; /* EXITED sent */
} ljob_t;

typedef struct {
    int sock;
    access_t *access;
    char runtime_dir[GL_PATH_MAX];
    ljob_t *jobs;
    size_t n_jobs, cap;
} launcher_t;

static ljob_t *ljob_find (launcher_t *l, uint64_t id)
{
    for (size_t i = 0; i < l->n_jobs; i++)
        if (l->jobs[i].id == id)
            return &l->jobs[i];
    return NULL;
}

static void say_failed (launcher_t *l, uint64_t id, exec_err_t code, const char *text)
{
    launch_msg_t f = { .type = LAUNCH_FAILED, .id = id, .code = (uint32_t) code };
    char cut[LAUNCH_TEXT_MAX + 1];
    gl_strlcpy (cut, text[0] ? text : "failed", sizeof cut);
    f.text = cut;
    send_msg (l->sock, &f, NULL, 0);
}

/* A RUN: the checks here, whatever the agent checked, then the job. */
static void l_run (launcher_t *l, const launch_msg_t *m, int fd3)
{
    char err[512];
    if (ljob_find (l, m->id) || m->id == 0) {
        say_failed (l, m->id, EXEC_ERR_SYSTEM, "launcher: a job id in use");
        return;
    }
    if (!!(m->flags & LAUNCH_FLAG_FD3) != (fd3 >= 0)) {
        say_failed (l, m->id, EXEC_ERR_SYSTEM, "launcher: fd 3 announced but not sent, or not");
        return;
    }
    uid_t uid;
    gid_t gid;
    if (access_account (l->access, m->user, 0, &uid, &gid, err, sizeof err)) {
        say_failed (l, m->id, EXEC_ERR_USER, err);
        return;
    }
    if (gl_grow (&l->jobs, &l->cap, l->n_jobs + 1, sizeof *l->jobs)) {
        say_failed (l, m->id, EXEC_ERR_SYSTEM, "launcher: out of memory");
        return;
    }
    exec_spec_t spec;
    exec_spec_init (&spec);
    spec.file = m->file;
    spec.argv = m->argv;
    spec.envp = m->envv;
    spec.rlimits = m->rlimits;
    spec.n_rlimits = m->n_rlimits;
    spec.cwd = m->cwd;
    spec.umask = (mode_t) m->umask;
    spec.uid = uid;
    spec.gid = gid;
    spec.pty = m->flags & LAUNCH_FLAG_PTY;
    spec.closed = (uint8_t) ((m->flags & LAUNCH_FLAG_NO_IN ? 1 : 0) |
                             (m->flags & LAUNCH_FLAG_NO_OUT ? 2 : 0) |
                             (m->flags & LAUNCH_FLAG_NO_ERR ? 4 : 0));
    spec.rows = m->rows;
    spec.cols = m->cols;
    spec.fd3 = fd3;
    exec_err_t code = EXEC_OK;
    exec_t *e = exec_start (&spec, &code, err, sizeof err);
    if (!e) {
        say_failed (l, m->id, code, err);
        return;
    }
    int fds[4] = { exec_fd_stdin (e), exec_fd_stdout (e), exec_fd_stderr (e),
                   exec_fd_stdin_back (e) };
    size_t n_fds = spec.pty ? 1 : 4;
    launch_msg_t ok = { .type = LAUNCH_STARTED, .id = m->id, .pid = (uint32_t) exec_pid (e) };
    if (send_msg (l->sock, &ok, fds, n_fds)) {
        exec_destroy (&e); /* nobody to serve it */
        return;
    }
    /* the agent holds the job's ends now; ours would keep its stdin open */
    exec_release_fds (e);
    l->jobs[l->n_jobs++] = (ljob_t){ .id = m->id, .exec = e };
}

static void l_request (launcher_t *l, const uint8_t *buf, size_t len, int *fds, size_t n_fds)
{
    launch_msg_t m;
    const char *why = NULL;
    if (launch_decode (buf, len, &m, &why)) {
        fprintf (stderr, "glpeer launcher: refused a request: %s\n", why ? why : "malformed");
        close_fds (fds, n_fds);
        return;
    }
    ljob_t *j = ljob_find (l, m.id);
    switch (m.type) {
        case LAUNCH_RUN:
            if (n_fds > 1)
                say_failed (l, m.id, EXEC_ERR_SYSTEM, "launcher: more than one fd sent");
            else
                l_run (l, &m, n_fds == 1 ? fds[0] : -1);
            break;
        case LAUNCH_SIGNAL:
            /* to its group even once its first process has ended: what it
               started may run on, holding the output open, and its group's
               id is still reserved (the leader is not reaped until FREE) */
            if (j)
                exec_signal (j->exec, (int) m.signo);
            break;
        case LAUNCH_SIGQUEUE: /* the job's own process: its pid is still reserved */
            if (j && !j->reported)
                exec_sigqueue (j->exec, (int) m.signo, (int) m.value);
            break;
        case LAUNCH_FREE:
            if (j) {
                exec_destroy (&j->exec);
                *j = l->jobs[--l->n_jobs];
            }
            break;
        default:
            fprintf (stderr, "glpeer launcher: refused a request: not one the agent sends\n");
            break;
    }
    close_fds (fds, n_fds);
    launch_clear (&m);
}

static void l_exits (launcher_t *l)
{
    for (size_t i = 0; i < l->n_jobs; i++) {
        exec_status_t st;
        ljob_t *j = &l->jobs[i];
        if (j->reported || !exec_poll_exit (j->exec, &st))
            continue;
        launch_msg_t ex = { .type = LAUNCH_EXITED,
                            .id = j->id,
                            .code = (uint32_t) st.code,
                            .signo = (uint32_t) st.signal,
                            .core = st.core };
        if (send_msg (l->sock, &ex, NULL, 0) == 0)
            j->reported = true;
    }
}

static _Noreturn void launcher_main (launcher_t *l)
{
    prctl (PR_SET_NAME, "glpeer-launch", 0, 0, 0);
    signal (SIGPIPE, SIG_IGN);
    /* forked before the agent set SIGCHLD back from an inherited SIG_IGN:
       the keepers' SIGCHLD must wake us, not be dropped */
    signal (SIGCHLD, SIG_DFL);
    sigset_t chld;
    sigemptyset (&chld);
    sigaddset (&chld, SIGCHLD);
    sigprocmask (SIG_BLOCK, &chld, NULL);
    int sfd = signalfd (-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    uint8_t *buf = malloc (LAUNCH_MSG_MAX);
    if (sfd < 0 || !buf)
        _exit (1);
    for (;;) {
        struct pollfd p[2] = { { .fd = l->sock, .events = POLLIN },
                               { .fd = sfd, .events = POLLIN } };
        if (poll (p, 2, 1000) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read (sfd, &si, sizeof si) > 0)
                ;
        }
        l_exits (l);  /* on SIGCHLD, and every second in case one was merged */
        exec_reap (); /* the keepers FREE let go, once done */
        if (!p[0].revents)
            continue;
        int fds[FDS_MAX];
        size_t n_fds;
        ssize_t n = recv_msg (l->sock, buf, MSG_DONTWAIT, fds, &n_fds);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EMSGSIZE))
            break; /* the agent is gone */
        if (n > 0)
            l_request (l, buf, (size_t) n, fds, n_fds);
    }
    /* The agent has gone: its jobs go with it, and so do the files it
       could not remove once unprivileged. */
    for (size_t i = 0; i < l->n_jobs; i++)
        exec_destroy (&l->jobs[i].exec);
    char path[GL_PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/glpeer.sock", l->runtime_dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/glpeer.pid", l->runtime_dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/ckpt.sock", l->runtime_dir);
    unlink (path);
    _exit (0);
}

int launcher_spawn (const gl_conf_t *conf, pid_t *pid, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
        return gl_err (err, errlen, "launcher: socketpair: %s", strerror (errno));
    /* room for the largest message, whatever net.core.wmem_max says */
    int room = 2 * LAUNCH_MSG_MAX;
    for (int i = 0; i < 2; i++) {
        setsockopt (sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room);
        setsockopt (sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room);
    }
    access_t *access = access_new (conf, true);
    if (!access) {
        close (sv[0]);
        close (sv[1]);
        return gl_err (err, errlen, "out of memory");
    }
    *pid = fork ();
    if (*pid < 0) {
        access_destroy (&access);
        close (sv[0]);
        close (sv[1]);
        return gl_err (err, errlen, "launcher: fork: %s", strerror (errno));
    }
    if (*pid == 0) {
        /* Keep stdio (the agent's log) and our socket, nothing else of
           the agent's. */
        int sock = fcntl (sv[1], F_DUPFD_CLOEXEC, 3);
        if (sock != 3) {
            if (dup2 (sock, 3) < 0)
                _exit (1);
            close (sock);
        }
#ifdef SYS_close_range
        if (syscall (SYS_close_range, 4u, ~0u, 0u) != 0)
#endif
            for (int fd = 4; fd < 65536; fd++)
                close (fd);
        launcher_t l = { .sock = 3, .access = access };
        gl_strlcpy (l.runtime_dir, conf->runtime_dir, sizeof l.runtime_dir);
        launcher_main (&l);
    }
    access_destroy (&access);
    close (sv[1]);
    return sv[0];
}

/* ---- dropping privileges ---------------------------------------------------------- */

int launcher_drop (const gl_conf_t *conf, char *err, size_t errlen)
{
    char buf[4096];
    struct passwd pw, *found = NULL;
    const char *user = conf->agent_user;
    getpwnam_r (user, &pw, buf, sizeof buf, &found);
    if (!found && gl_streq (user, "glunix")) {
        user = "nobody"; /* no account of its own on this machine yet */
        getpwnam_r (user, &pw, buf, sizeof buf, &found);
    }
    if (!found)
        return gl_err (err, errlen, "node/agent_user: no account '%s' to run the agent as", user);
    if (pw.pw_uid == 0)
        return gl_err (err, errlen, "node/agent_user: '%s' is root; the agent must not stay root",
                       user);
    /* What the agent goes on writing: its peers file, and the shared
       view, which it removes when it leaves. */
    if (chown (conf->state_dir, pw.pw_uid, pw.pw_gid))
        return gl_err (err, errlen, "%s: cannot hand it to %s: %s", conf->state_dir, user,
                       strerror (errno));
    char view[GL_VIEW_NAME_MAX], shm[GL_VIEW_NAME_MAX + 16];
    gl_view_name (conf->runtime_dir, view);
    snprintf (shm, sizeof shm, "/dev/shm%s", view);
    if (chown (shm, pw.pw_uid, pw.pw_gid) && errno != ENOENT)
        return gl_err (err, errlen, "%s: cannot hand it to %s: %s", shm, user, strerror (errno));
    if (setgroups (1, &pw.pw_gid) || setgid (pw.pw_gid) || setuid (pw.pw_uid))
        return gl_err (err, errlen, "cannot become %s: %s", user, strerror (errno));
    if (setuid (0) == 0 || geteuid () == 0 || getegid () == 0)
        return gl_err (err, errlen, "still root after becoming %s", user);
    return 0;
}

/* ---- the agent's side ------------------------------------------------------------- */

typedef struct {
    uint64_t id;
    exec_status_t status;
} exited_t;

static exited_t *exited;
static size_t n_exited, cap_exited;
static bool launcher_gone;

static void keep_exit (const launch_msg_t *m)
{
    if (gl_grow (&exited, &cap_exited, n_exited + 1, sizeof *exited))
        return; /* seen again as lost: the job reads as exit 255 */
    exited[n_exited++] = (exited_t){
        .id = m->id, .status = { .code = (int) m->code, .signal = (int) m->signo, .core = m->core }
    };
}

/* One message from the launcher: an exit is kept; anything else is
   handed back (a RUN's answer) in *m with its fds. */
static int take (int sock, int flags, launch_msg_t *m, int *fds, size_t *n_fds)
{
    static uint8_t *buf;
    if (!buf && !(buf = malloc (LAUNCH_MSG_MAX)))
        return -1;
    ssize_t n = recv_msg (sock, buf, flags, fds, n_fds);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            launcher_gone = true;
        return -1;
    }
    const char *why = NULL;
    if (launch_decode (buf, (size_t) n, m, &why)) {
        close_fds (fds, *n_fds);
        *n_fds = 0;
        return 1; /* not one: skip it */
    }
    if (m->type == LAUNCH_EXITED) {
        keep_exit (m);
        launch_clear (m);
        close_fds (fds, *n_fds);
        *n_fds = 0;
        return 1;
    }
    return 0;
}

int launcher_drain (int sock)
{
    for (;;) {
        launch_msg_t m;
        int fds[FDS_MAX];
        size_t n_fds = 0;
        int rc = take (sock, MSG_DONTWAIT, &m, fds, &n_fds);
        if (rc < 0)
            return launcher_gone ? -1 : 0;
        if (rc == 0) { /* an answer nobody waits for */
            close_fds (fds, n_fds);
            launch_clear (&m);
        }
    }
}

int launcher_run (int sock, const launch_msg_t *run, int fd3, pid_t *pid, int fds[4], size_t *n_fds,
                  exec_err_t *code, char *err, size_t errlen)
{
    *code = EXEC_ERR_SYSTEM;
    if (launcher_gone)
        return gl_err (err, errlen, "the launcher has gone: this agent cannot start jobs");
    if (send_msg (sock, run, fd3 >= 0 ? &fd3 : NULL, fd3 >= 0 ? 1 : 0))
        return gl_err (err, errlen, "cannot ask the launcher: %s",
                       errno == EINVAL ? "the job does not fit its message" : strerror (errno));
    for (;;) {
        launch_msg_t m;
        *n_fds = 0;
        int rc = take (sock, 0, &m, fds, n_fds);
        if (rc < 0)
            return gl_err (err, errlen, "the launcher has gone: this agent cannot start jobs");
        if (rc > 0)
            continue;
        if (m.id != run->id || (m.type != LAUNCH_STARTED && m.type != LAUNCH_FAILED)) {
            close_fds (fds, *n_fds);
            launch_clear (&m);
            continue;
        }
        if (m.type == LAUNCH_FAILED) {
            *code = m.code <= EXEC_ERR_SYSTEM ? (exec_err_t) m.code : EXEC_ERR_SYSTEM;
            gl_err (err, errlen, "%s", m.text);
            close_fds (fds, *n_fds);
            launch_clear (&m);
            return -1;
        }
        size_t want = run->flags & LAUNCH_FLAG_PTY ? 1 : 4;
        if (*n_fds != want) {
            close_fds (fds, *n_fds);
            launcher_tell (sock, LAUNCH_FREE, run->id, 0);
            return gl_err (err, errlen, "the launcher started the job without its stdio");
        }
        *pid = (pid_t) m.pid;
        *code = EXEC_OK;
        launch_clear (&m);
        return 0;
    }
}

int launcher_tell (int sock, uint8_t type, uint64_t id, int signo)
{
    launch_msg_t m = { .type = type, .id = id, .signo = (uint32_t) signo };
    return send_msg (sock, &m, NULL, 0);
}

int launcher_send (int sock, const launch_msg_t *m)
{
    return send_msg (sock, m, NULL, 0);
}

bool launcher_exited (int sock, uint64_t id, exec_status_t *status)
{
    launcher_drain (sock);
    for (size_t i = 0; i < n_exited; i++)
        if (exited[i].id == id) {
            *status = exited[i].status;
            return true;
        }
    if (launcher_gone) { /* it took the job with it */
        *status = (exec_status_t){ .signal = SIGKILL };
        return true;
    }
    return false;
}

void launcher_forget (uint64_t id)
{
    for (size_t i = 0; i < n_exited; i++)
        if (exited[i].id == id) {
            exited[i] = exited[--n_exited];
            return;
        }
}
