/*  ctl_client.c -- the local control socket, the clients' side: connect,
    frames, one request and its answer.  Blocking, with no event loop, so
    that glx and the libraries inside jobs (libglunix) carry only this
    half.  See ctl.h. */
#include "ctl.h"
#include "ctl_impl.h"
#include "err.h"
#include "fd.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- client ---------------------------------------------------------------- */

static int64_t ms_left (const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) (deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Move len bytes in the given direction before the deadline. */
static int io_all (int fd, uint8_t *buf, size_t len, bool writing, const struct timespec *deadline)
{
    size_t done = 0;
    while (done < len) {
        struct pollfd p = { .fd = fd, .events = writing ? POLLOUT : POLLIN };
        int64_t left = ms_left (deadline);
        if (left <= 0)
            return -1;
        if (poll (&p, 1, (int) left) <= 0)
            continue;
        ssize_t n =
            writing ? write (fd, buf + done, len - done) : read (fd, buf + done, len - done);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

/* Why connect failed, said as the cause: nothing listens there, or an
   agent does that this user may not reach (a user's own agent, whose
   directory only its user enters), and then whose it is. */
static void connect_failed (const char *path, int e, char *err, size_t errlen)
{
    if (e != EACCES && e != EPERM) {
        if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
            gl_err (err, errlen, "no agent is running at %s (%s); start one with 'glpeer join'",
                    path, strerror (e));
        else
            gl_err (err, errlen, "cannot reach the agent at %s: %s", path, strerror (e));
        return;
    }
    char dir[sizeof ((struct sockaddr_un *) 0)->sun_path];
    struct stat st;
    snprintf (dir, sizeof dir, "%s", path);
    char *owner_dir = dirname (dir);
    char owner[64] = "another user";
    if (stat (owner_dir, &st) == 0) {
        struct passwd *pw = getpwuid (st.st_uid);
        if (pw)
            snprintf (owner, sizeof owner, "user %s", pw->pw_name);
        else
            snprintf (owner, sizeof owner, "uid %u", (unsigned) st.st_uid);
    }
    gl_err (err, errlen,
            "cannot reach the agent at %s: permission denied: it is the agent of %s and "
            "serves only that user and root; start your own with 'glpeer join', or use the "
            "machine's agent (see glpeer(8), MULTI-USER)",
            path, owner);
}

int ctl_connect (const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (ctl_addr (path, &sa, err, errlen))
        return -1;
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa)) {
        connect_failed (path, errno, err, errlen);
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

/* Read len bytes, waiting for them; -1 at end of file or error. */
static int read_all (int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read (fd, buf + done, len - done);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                poll (&p, 1, -1);
                continue;
            }
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

uint8_t *ctl_frame_read (int fd, size_t *len)
{
    uint8_t hdr[4];
    if (read_all (fd, hdr, 4))
        return NULL;
    uint32_t n = ctl_get_len (hdr);
    uint8_t *body = n <= GL_CTL_FRAME_MAX ? malloc (n ? n : 1) : NULL;
    if (!body || read_all (fd, body, n)) {
        free (body);
        return NULL;
    }
    *len = n;
    return body;
}

int ctl_frame_write (int fd, const uint8_t *frame, size_t len)
{
    uint8_t hdr[4];
    if (len > GL_CTL_FRAME_MAX)
        return -1;
    ctl_put_len (hdr, (uint32_t) len);
    return gl_write_all (fd, hdr, 4) || gl_write_all (fd, frame, len) ? -1 : 0;
}

int ctl_call (const char *path, const gl_ctl_req_t *req, gl_ctl_resp_t *resp, int timeout_ms,
              char *err, size_t errlen)
{
    int fd = ctl_connect (path, err, errlen);
    if (fd < 0)
        return -1;
    gl_set_nonblock (fd);
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }

    uint8_t *body = NULL, hdr[4];
    size_t body_len;
    int rc = -1;
    if (gl_ctl_req_encode (req, &body, &body_len)) {
        gl_err (err, errlen, "cannot encode request");
        goto done;
    }
    ctl_put_len (hdr, (uint32_t) body_len);
    if (io_all (fd, hdr, 4, true, &deadline) || io_all (fd, body, body_len, true, &deadline)) {
        gl_err (err, errlen, "agent at %s did not take the request", path);
        goto done;
    }
    free (body);
    body = NULL;
    if (io_all (fd, hdr, 4, false, &deadline)) {
        gl_err (err, errlen, "agent at %s did not answer in time", path);
        goto done;
    }
    uint32_t len = ctl_get_len (hdr);
    if (len > GL_CTL_FRAME_MAX || !(body = malloc (len ? len : 1)) ||
        io_all (fd, body, len, false, &deadline)) {
        gl_err (err, errlen, "agent at %s sent a bad answer", path);
        goto done;
    }
    const char *why = NULL;
    if (gl_ctl_resp_decode (body, len, resp, &why)) {
        gl_err (err, errlen, "agent at %s sent a malformed answer: %s", path, why ? why : "?");
        goto done;
    }
    rc = 0;
done:
    free (body);
    close (fd);
    return rc;
}
