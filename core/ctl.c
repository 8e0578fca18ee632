/*  ctl.c -- the local control socket.  See ctl.h. */
#include "ctl.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_CLIENTS_MAX 64

typedef struct {
    int      fd;
    uint8_t *in;          /* bytes read so far */
    size_t   in_len, in_cap;
    uint8_t *out;         /* bytes still to write */
    size_t   out_len, out_off;
} ctl_client_t;

struct ctl_server_t {
    int            fd;
    char           path[sizeof ((struct sockaddr_un *) 0)->sun_path];
    ctl_handler_fn *handler;
    void          *arg;
    ctl_client_t   clients[CTL_CLIENTS_MAX];
    size_t         n_clients;
};

static int make_addr (const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
    memset (sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen (path) >= sizeof sa->sun_path) {
        snprintf (err, errlen, "%s: socket path too long (max %zu)", path, sizeof sa->sun_path - 1);
        return -1;
    }
    memcpy (sa->sun_path, path, strlen (path) + 1);
    return 0;
}

ctl_server_t *ctl_server_new (const char *path, ctl_handler_fn *handler, void *arg,
                              char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (make_addr (path, &sa, err, errlen))
        return NULL;
    ctl_server_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->handler = handler;
    self->arg = arg;
    snprintf (self->path, sizeof self->path, "%s", path);
    self->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* The caller holds the agent's lock, so a socket file left here belongs
       to a dead agent: remove it. */
    unlink (path);
    mode_t old = umask (0177);
    int rc = self->fd < 0 ? -1 : bind (self->fd, (struct sockaddr *) &sa, sizeof sa);
    umask (old);
    if (rc || listen (self->fd, 16)) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        if (self->fd >= 0)
            close (self->fd);
        free (self);
        return NULL;
    }
    return self;
}

static void client_close (ctl_server_t *self, size_t i)
{
    ctl_client_t *c = &self->clients[i];
    close (c->fd);
    free (c->in);
    free (c->out);
    self->clients[i] = self->clients[--self->n_clients];
}

void ctl_server_destroy (ctl_server_t **self_p)
{
    ctl_server_t *self = *self_p;
    if (!self)
        return;
    while (self->n_clients)
        client_close (self, 0);
    close (self->fd);
    unlink (self->path);
    free (self);
    *self_p = NULL;
}

size_t ctl_server_fds (ctl_server_t *self, int *fds, short *events, size_t cap)
{
    size_t n = 0;
    if (n < cap) {
        fds[n] = self->fd;
        events[n++] = POLLIN;
    }
    for (size_t i = 0; i < self->n_clients && n < cap; i++) {
        fds[n] = self->clients[i].fd;
        events[n++] = self->clients[i].out ? POLLOUT : POLLIN;
    }
    return n;
}

/* Only our own user (and root) may talk to the agent. */
static bool peer_allowed (int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
        return false;
    return cred.uid == getuid () || cred.uid == 0;
}

static void server_accept (ctl_server_t *self)
{
    int fd = accept4 (self->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (!peer_allowed (fd) || self->n_clients == CTL_CLIENTS_MAX) {
        close (fd);
        return;
    }
    self->clients[self->n_clients++] = (ctl_client_t) { .fd = fd };
}

static void frame_put_len (uint8_t *p, uint32_t n)
{
    p[0] = (uint8_t) (n >> 24);
    p[1] = (uint8_t) (n >> 16);
    p[2] = (uint8_t) (n >> 8);
    p[3] = (uint8_t) n;
}

static uint32_t frame_get_len (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* A whole request has arrived: answer it. Returns -1 to drop the client. */
static int client_answer (ctl_server_t *self, ctl_client_t *c, uint32_t len)
{
    gl_ctl_req_t req;
    gl_ctl_resp_t resp = { 0 };
    const char *why = NULL;
    if (gl_ctl_req_decode (c->in + 4, len, &req, &why)) {
        resp.code = 2;
        resp.text = strdup (why ? why : "malformed request");
    }
    else {
        self->handler (self->arg, &req, &resp);
        gl_ctl_req_clear (&req);
    }
    if (!resp.text)
        resp.text = strdup ("");
    resp.text_len = resp.text ? strlen (resp.text) : 0;
    uint8_t *body;
    size_t body_len;
    int rc = gl_ctl_resp_encode (&resp, &body, &body_len);
    gl_ctl_resp_clear (&resp);
    if (rc)
        return -1;
    c->out = malloc (body_len + 4);
    if (!c->out) {
        free (body);
        return -1;
    }
    frame_put_len (c->out, (uint32_t) body_len);
    memcpy (c->out + 4, body, body_len);
    free (body);
    c->out_len = body_len + 4;
    c->out_off = 0;
    return 0;
}

static int client_read (ctl_server_t *self, ctl_client_t *c)
{
    if (c->in_cap - c->in_len < 4096) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
        if (cap > GL_CTL_FRAME_MAX + 4)
            return -1;
        uint8_t *in = realloc (c->in, cap);
        if (!in)
            return -1;
        c->in = in;
        c->in_cap = cap;
    }
    ssize_t n = read (c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n > 0)
        c->in_len += (size_t) n;
    if (c->in_len < 4)
        return 0;
    uint32_t len = frame_get_len (c->in);
    if (len > GL_CTL_FRAME_MAX)
        return -1;
    if (c->in_len < 4 + (size_t) len)
        return 0;
    return client_answer (self, c, len);
}

static int client_write (ctl_client_t *c)
{
    ssize_t n = write (c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    c->out_off += (size_t) n;
    /* One request per connection: once answered, we are done with it. */
    return c->out_off == c->out_len ? -1 : 0;
}

void ctl_server_ready (ctl_server_t *self, int fd, short revents)
{
    if (fd == self->fd) {
        server_accept (self);
        return;
    }
    for (size_t i = 0; i < self->n_clients; i++) {
        ctl_client_t *c = &self->clients[i];
        if (c->fd != fd)
            continue;
        int rc;
        if (c->out)
            rc = (revents & (POLLOUT | POLLERR | POLLHUP)) ? client_write (c) : 0;
        else
            rc = (revents & (POLLIN | POLLERR | POLLHUP)) ? client_read (self, c) : 0;
        if (rc)
            client_close (self, i);
        return;
    }
}

/* ---- client ---------------------------------------------------------------- */

static int64_t ms_left (const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) (deadline->tv_sec - now.tv_sec) * 1000
         + (deadline->tv_nsec - now.tv_nsec) / 1000000;
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
        ssize_t n = writing ? write (fd, buf + done, len - done) : read (fd, buf + done, len - done);
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

int ctl_call (const char *path, const gl_ctl_req_t *req, gl_ctl_resp_t *resp,
              int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (make_addr (path, &sa, err, errlen))
        return -1;
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa)) {
        snprintf (err, errlen, "no agent is running at %s (%s); start one with 'glpeer join'",
                  path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    fcntl (fd, F_SETFL, O_NONBLOCK);
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
        snprintf (err, errlen, "cannot encode request");
        goto done;
    }
    frame_put_len (hdr, (uint32_t) body_len);
    if (io_all (fd, hdr, 4, true, &deadline) || io_all (fd, body, body_len, true, &deadline)) {
        snprintf (err, errlen, "agent at %s did not take the request", path);
        goto done;
    }
    free (body);
    body = NULL;
    if (io_all (fd, hdr, 4, false, &deadline)) {
        snprintf (err, errlen, "agent at %s did not answer in time", path);
        goto done;
    }
    uint32_t len = frame_get_len (hdr);
    if (len > GL_CTL_FRAME_MAX || !(body = malloc (len ? len : 1))
        || io_all (fd, body, len, false, &deadline)) {
        snprintf (err, errlen, "agent at %s sent a bad answer", path);
        goto done;
    }
    const char *why = NULL;
    if (gl_ctl_resp_decode (body, len, resp, &why)) {
        snprintf (err, errlen, "agent at %s sent a malformed answer: %s", path, why ? why : "?");
        goto done;
    }
    rc = 0;
done:
    free (body);
    close (fd);
    return rc;
}
