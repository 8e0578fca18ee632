/*  test_ctl.c -- the local control socket: requests and answers, bad
    frames, clients that stall, and users who may not talk to the agent. */
#include "ctl.h"
#include "str.h"
#include "tap.h"
#include <arpa/inet.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/glctl-XXXXXX";
static char path[100];
static int handled;

/* Echo the command and its arguments back; "fail" answers code 3. */
static void handler (void *arg, const gl_ctl_req_t *req, gl_ctl_resp_t *resp)
{
    handled++;
    char text[512];
    int n = snprintf (text, sizeof text, "%s", req->cmd);
    for (uint32_t i = 0; i < req->argc && n < (int) sizeof text; i++)
        n += snprintf (text + n, sizeof text - (size_t) n, " %s", req->argv[i]);
    resp->code = strcmp (req->cmd, "fail") ? 0 : 3;
    resp->text = strdup (text);
}

/* Serve until the child exits; return its exit status. */
static int serve_until_exit (ctl_server_t *server, pid_t child)
{
    for (;;) {
        int status;
        if (waitpid (child, &status, WNOHANG) == child)
            return WIFEXITED (status) ? WEXITSTATUS (status) : 99;
        int fds[64];
        short evs[64];
        size_t n = ctl_server_fds (server, fds, evs, 64);
        struct pollfd p[64];
        for (size_t i = 0; i < n; i++)
            p[i] = (struct pollfd){ .fd = fds[i], .events = evs[i] };
        if (poll (p, n, 50) > 0)
            for (size_t i = 0; i < n; i++)
                if (p[i].revents)
                    ctl_server_ready (server, p[i].fd, p[i].revents);
    }
}

static int raw_connect (void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    gl_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa))
        return -1;
    return fd;
}

/* Child: the ordinary calls.  Exit status = number of failures. */
static int child_calls (void)
{
    int bad = 0;
    char err[512];
    gl_ctl_req_t req = { .cmd = "status" };
    char a0[] = "json", a1[] = "x y";
    req.argv[0] = a0;
    req.argv[1] = a1;
    req.argc = 2;
    gl_ctl_resp_t resp = { 0 };
    if (ctl_call (path, &req, &resp, 2000, err, sizeof err) || resp.code != 0 ||
        strcmp (resp.text, "status json x y"))
        bad++;
    gl_ctl_resp_clear (&resp);

    gl_ctl_req_t fail = { .cmd = "fail" };
    if (ctl_call (path, &fail, &resp, 2000, err, sizeof err) || resp.code != 3)
        bad++;
    gl_ctl_resp_clear (&resp);

    /* garbage: a frame that is no request is answered with an error code */
    int fd = raw_connect ();
    uint8_t frame[8] = { 0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1 };
    if (fd < 0 || write (fd, frame, sizeof frame) != sizeof frame)
        bad++;
    uint8_t hdr[4];
    if (fd >= 0 && read (fd, hdr, 4) != 4)
        bad++;
    close (fd);

    /* a frame claiming 4 GiB: the agent hangs up rather than wait for it */
    fd = raw_connect ();
    uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
    if (fd < 0 || write (fd, huge, 4) != 4)
        bad++;
    char c;
    if (fd >= 0 && read (fd, &c, 1) != 0)
        bad++;
    close (fd);

    /* a client that connects and says nothing does not stop the others */
    int idle = raw_connect ();
    if (idle < 0 || ctl_call (path, &req, &resp, 2000, err, sizeof err))
        bad++;
    gl_ctl_resp_clear (&resp);
    close (idle);
    return bad;
}

/* Child, as another user: refused without an answer. */
static int child_stranger (void)
{
    struct passwd *pw = getpwnam ("nobody");
    if (!pw || setgid (pw->pw_gid) || setuid (pw->pw_uid))
        return 0; /* cannot become someone else: nothing to test */
    char err[512];
    gl_ctl_req_t req = { .cmd = "status" };
    gl_ctl_resp_t resp = { 0 };
    /* The directory is ours alone, so a stranger can't even reach the
       socket; open it up to test the SO_PEERCRED check behind it. */
    int rc = ctl_call (path, &req, &resp, 1000, err, sizeof err);
    gl_ctl_resp_clear (&resp);
    return rc == 0 ? 1 : 0;
}

int main (void)
{
    signal (SIGPIPE, SIG_IGN);
    if (!mkdtemp (dir))
        return 1;
    snprintf (path, sizeof path, "%s/glpeer.sock", dir);
    char err[512];
    ctl_server_t *server = ctl_server_new (path, handler, NULL, err, sizeof err);
    CHECK (server != NULL);
    if (!server)
        return tap_done ("test_ctl");

    pid_t child = fork ();
    if (child == 0)
        _exit (child_calls ());
    CHECK_EQ (serve_until_exit (server, child), 0);
    CHECK (handled >= 3);

    if (getuid () == 0) {
        int before = handled;
        chmod (dir, 0755);
        chmod (path, 0777);
        child = fork ();
        if (child == 0)
            _exit (child_stranger ());
        CHECK_EQ (serve_until_exit (server, child), 0);
        CHECK_EQ (handled, before);
    }

    /* no agent: a clear message */
    gl_ctl_req_t req = { .cmd = "status" };
    gl_ctl_resp_t resp = { 0 };
    ctl_server_destroy (&server);
    CHECK_EQ (ctl_call (path, &req, &resp, 500, err, sizeof err), -1);
    CHECK (strstr (err, "no agent is running") != NULL);
    rmdir (dir);
    return tap_done ("test_ctl");
}
