/*  test_launcher.c -- privilege separation: the launcher's request codec
    (every message both ways, and the malformed ones refused with their
    reason), and, as root, a live launcher: a malformed request changes
    nothing, a job of a user the rules refuse is refused with the reason,
    one they allow runs as that user with its stdio handed back, is
    signalled, and its exit reported; the launcher ends with its agent. */
#include "launcher.h"
#include "tap.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void roundtrip (const launch_msg_t *m)
{
    uint8_t *buf;
    size_t len;
    CHECK_EQ (launch_encode (m, &buf, &len), 0);
    launch_msg_t back;
    const char *why = NULL;
    CHECK_EQ (launch_decode (buf, len, &back, &why), 0);
    CHECK_EQ (back.type, m->type);
    CHECK (back.id == m->id);
    uint8_t *again;
    size_t len2;
    CHECK_EQ (launch_encode (&back, &again, &len2), 0);
    CHECK (len2 == len && !memcmp (buf, again, len));
    free (again);
    launch_clear (&back);
    free (buf);
}

/* bytes must be refused, saying want */
static void refused (const uint8_t *bytes, size_t len, const char *want)
{
    launch_msg_t m;
    const char *why = NULL;
    CHECK_EQ (launch_decode (bytes, len, &m, &why), -1);
    CHECK (why && strstr (why, want));
    if (!why || !strstr (why, want))
        fprintf (stderr, "  wanted '%s', got '%s'\n", want, why ? why : "(none)");
}

static char *args[] = { "sh", "-c", "id -un; id -u", NULL },
            *env[] = { "PATH=/bin:/usr/bin", NULL };

static void test_codec (void)
{
    launch_msg_t run = { .type = LAUNCH_RUN,
                         .id = 7,
                         .umask = 022,
                         .flags = LAUNCH_FLAG_PTY,
                         .rows = 24,
                         .cols = 80,
                         .user = "ann",
                         .file = "sh",
                         .cwd = "/",
                         .argc = 3,
                         .argv = args,
                         .envc = 1,
                         .envv = env };
    roundtrip (&run);
    launch_msg_t others[] = {
        { .type = LAUNCH_SIGNAL, .id = 1, .signo = 9 },
        { .type = LAUNCH_FREE, .id = 2 },
        { .type = LAUNCH_STARTED, .id = 3, .pid = 99 },
        { .type = LAUNCH_FAILED, .id = 4, .code = 4, .text = "why" },
        { .type = LAUNCH_EXITED, .id = 5, .signo = 15, .core = true },
        { .type = LAUNCH_SIGQUEUE, .id = 6, .signo = 62, .value = 0xfffffffe },
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        roundtrip (&others[i]);
    /* the encoder refuses what the decoder would */
    uint8_t *buf;
    size_t len;
    launch_msg_t bad = run;
    bad.umask = 01000;
    CHECK_EQ (launch_encode (&bad, &buf, &len), -1);
    bad = (launch_msg_t){ .type = LAUNCH_SIGNAL, .signo = 65 };
    CHECK_EQ (launch_encode (&bad, &buf, &len), -1);
    bad = (launch_msg_t){ .type = LAUNCH_SIGQUEUE, .signo = 0, .value = 1 };
    CHECK_EQ (launch_encode (&bad, &buf, &len), -1);

    CHECK_EQ (launch_encode (&run, &buf, &len), 0);
    uint8_t *b = malloc (len + 1);
    memcpy (b, buf, len);
    refused (b, len - 1, "length prefix"); /* cut short */
    refused (b, 3, "length prefix");       /* not even a prefix */
    b[len] = 0;
    b[3]++;
    refused (b, len + 1, "bytes after the message"); /* one too many, prefix agreeing */
    b[3]--;
    b[4] = 99;
    refused (b, len, "unknown type");
    b[4] = LAUNCH_RUN;
    /* the umask: after prefix (4), type (1), id (8) */
    b[13] = 0xff;
    refused (b, len, "umask");
    b[13] = 0;
    b[17] = 0x80; /* flags */
    refused (b, len, "unknown flags");
    b[17] = LAUNCH_FLAG_PTY;
    /* the user's length (at 22) claiming more than the message holds */
    b[22] = 0x7f;
    refused (b, len, "runs past the end");
    b[22] = 0;
    /* a NUL inside the user name "ann" (at 26) */
    b[27] = 0;
    refused (b, len, "NUL in a string");
    free (b);
    free (buf);
    /* no argv; a count the bytes cannot hold */
    launch_msg_t noarg = run;
    noarg.argc = 0;
    CHECK_EQ (launch_encode (&noarg, &buf, &len), -1);
    uint8_t sig[] = { 0, 0, 0, 13, LAUNCH_SIGNAL, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
    refused (sig, sizeof sig, "signal outside 1..64");
}

static ssize_t read_all_fd (int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll (&p, 1, 5000) <= 0)
            return -1;
        ssize_t n = read (fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EAGAIN)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    buf[got] = '\0';
    return (ssize_t) got;
}

static void test_live (void)
{
    struct passwd *nobody = getpwnam ("nobody");
    if (!nobody) {
        tap_skip ("the live launcher: no account 'nobody' to run a job as");
        return;
    }
    gl_conf_t conf;
    gl_conf_defaults (&conf);
    snprintf (conf.uids, sizeof conf.uids, "%u", (unsigned) nobody->pw_uid);
    snprintf (conf.runtime_dir, sizeof conf.runtime_dir, "/nonexistent/glunix-test");
    char err[512];
    pid_t lpid;
    int sock = launcher_spawn (&conf, &lpid, err, sizeof err);
    CHECK (sock >= 0);
    if (sock < 0) {
        fprintf (stderr, "%s\n", err);
        return;
    }
    /* garbage: refused by the launcher, which goes on */
    uint8_t junk[] = { 0, 0, 0, 200, 1, 2, 3 };
    CHECK_EQ (send (sock, junk, sizeof junk, 0), (ssize_t) sizeof junk);
    exec_set_launcher (sock);

    exec_spec_t spec;
    exec_spec_init (&spec);
    spec.file = "sh";
    spec.argv = args;
    spec.envp = env;
    spec.cwd = "/";
    spec.user = "root"; /* cluster/root_jobs = no */
    exec_err_t code;
    CHECK (exec_start (&spec, &code, err, sizeof err) == NULL);
    CHECK_EQ (code, EXEC_ERR_USER);
    CHECK (strstr (err, "runs no jobs of root") != NULL);
    spec.user = "no-such-user-here";
    CHECK (exec_start (&spec, &code, err, sizeof err) == NULL);
    CHECK (strstr (err, "has no account here") != NULL);

    /* a RUN that announces fd 3 without sending it */
    launch_msg_t odd = { .type = LAUNCH_RUN,
                         .id = 1000,
                         .flags = LAUNCH_FLAG_FD3,
                         .user = "nobody",
                         .file = "true",
                         .cwd = "/",
                         .argc = 1,
                         .argv = args,
                         .envv = env };
    pid_t pid;
    int fds[4];
    size_t n_fds;
    CHECK_EQ (launcher_run (sock, &odd, -1, &pid, fds, &n_fds, &code, err, sizeof err), -1);
    CHECK (strstr (err, "fd 3 announced") != NULL);

    /* the agent's uid and gid are ignored: the launcher maps the name */
    spec.user = "nobody";
    spec.uid = 0;
    spec.gid = 0;
    exec_t *e = exec_start (&spec, &code, err, sizeof err);
    CHECK (e != NULL);
    if (!e) {
        fprintf (stderr, "%s\n", err);
        return;
    }
    char out[256], want[256];
    CHECK (read_all_fd (exec_fd_stdout (e), out, sizeof out) > 0);
    snprintf (want, sizeof want, "nobody\n%u\n", (unsigned) nobody->pw_uid);
    CHECK (!strcmp (out, want));
    exec_status_t st;
    for (int i = 0; i < 100 && !exec_poll_exit (e, &st); i++)
        usleep (20000);
    CHECK (exec_poll_exit (e, &st) && st.code == 0 && st.signal == 0);
    exec_destroy (&e);

    /* a signal reaches the job through the launcher */
    char *sleeper[] = { "sleep", "30", NULL };
    spec.argv = sleeper;
    spec.file = "sleep";
    e = exec_start (&spec, &code, err, sizeof err);
    CHECK (e != NULL);
    if (e) {
        CHECK_EQ (exec_signal (e, SIGTERM), 0);
        for (int i = 0; i < 100 && !exec_poll_exit (e, &st); i++)
            usleep (20000);
        CHECK (exec_poll_exit (e, &st) && st.signal == SIGTERM);
        exec_destroy (&e);
    }
    /* the launcher ends with its agent's end of the socket */
    exec_set_launcher (-1);
    close (sock);
    int status = -1;
    CHECK_EQ (waitpid (lpid, &status, 0), lpid);
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
}

int main (void)
{
    signal (SIGPIPE, SIG_IGN);
    test_codec ();
    if (geteuid () == 0)
        test_live ();
    else
        tap_skip ("the live launcher: not root, so it cannot run a job as another user");
    return tap_done ("test_launcher");
}
