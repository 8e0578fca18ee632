/*  ctl.c -- the local control socket, the agent's side: the listening
    socket and its clients on the agent's loop.  See ctl.h; the clients'
    side is ctl_client.c. */
#include "ctl.h"
#include "ctl_impl.h"
#include "err.h"
#include "grow.h"
#include "fd.h"
#include "str.h"
#include <sys/uio.h>
#include <errno.h>
#include <poll.h>
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

#define CTL_CLIENTS_MAX 256

typedef struct {
    int fd;
    uint64_t id;
    ctl_peer_t peer;
    bool stream;   /* past its "stream" request: frames both ways */
    bool closing;  /* close once `out` is written */
    short watched; /* what the loop watches its fd for */
    uint8_t *in;   /* bytes read and not yet handled */
    size_t in_len, in_cap;
    uint8_t *out; /* bytes to write, from out_off */
    size_t out_len, out_off, out_cap;
} ctl_client_t;

struct ctl_server_t {
    gl_loop_t *loop;
    int fd;
    char path[sizeof ((struct sockaddr_un *) 0)->sun_path];
    ctl_handler_fn *handler;
    void *arg;
    ctl_open_fn *on_open;
    ctl_frame_fn *on_frame;
    ctl_closed_fn *on_closed;
    uint64_t next_id;
    bool serve_all;              /* every local user, not only ours and root */
    const ctl_peer_t *answering; /* the caller, while the handler runs */
    ctl_client_t clients[CTL_CLIENTS_MAX];
    size_t n_clients;
};

static void on_listen (gl_loop_t *loop, int fd, short revents, void *arg);
static void on_client (gl_loop_t *loop, int fd, short revents, void *arg);

ctl_server_t *ctl_server_new (gl_loop_t *loop, const char *path, ctl_handler_fn *handler, void *arg,
                              char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (ctl_addr (path, &sa, err, errlen))
        return NULL;
    ctl_server_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->loop = loop;
    self->handler = handler;
    self->arg = arg;
    self->next_id = 1;
    gl_strlcpy (self->path, path, sizeof self->path);
    self->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* The caller holds the agent's lock, so a socket file left here belongs
       to a dead agent: remove it. */
    unlink (path);
    mode_t old = umask (0177);
    int rc = self->fd < 0 ? -1 : bind (self->fd, (struct sockaddr *) &sa, sizeof sa);
    umask (old);
    if (rc || listen (self->fd, 64) || gl_loop_fd (loop, self->fd, POLLIN, on_listen, self)) {
        gl_err (err, errlen, "%s: %s", path, strerror (errno));
        if (self->fd >= 0)
            close (self->fd);
        free (self);
        return NULL;
    }
    return self;
}

void ctl_server_set_stream (ctl_server_t *self, ctl_open_fn *on_open, ctl_frame_fn *on_frame,
                            ctl_closed_fn *on_closed)
{
    self->on_open = on_open;
    self->on_frame = on_frame;
    self->on_closed = on_closed;
}

/* Watch a client for what it needs now: POLLOUT while it has bytes to
   write; POLLIN while it may send, which a request/response client may
   not once it has its answer; and at least for its hanging up, which
   closes it. */
static void client_watch (ctl_server_t *self, ctl_client_t *c)
{
    bool writing = c->out_len > c->out_off;
    short events =
        (short) ((writing ? POLLOUT : 0) | ((c->stream || !writing) && !c->closing ? POLLIN : 0));
    if (!events)
        events = POLLHUP;
    if (events != c->watched && gl_loop_fd (self->loop, c->fd, events, on_client, self) == 0)
        c->watched = events;
}

static void client_close (ctl_server_t *self, size_t i)
{
    ctl_client_t c = self->clients[i];
    self->clients[i] = self->clients[--self->n_clients];
    gl_loop_fd (self->loop, c.fd, 0, on_client, self);
    close (c.fd);
    free (c.in);
    free (c.out);
    if (c.stream && self->on_closed)
        self->on_closed (self->arg, c.id);
}

void ctl_server_destroy (ctl_server_t **self_p)
{
    ctl_server_t *self = *self_p;
    if (!self)
        return;
    self->on_closed = NULL; /* the owner is going away too */
    while (self->n_clients)
        client_close (self, 0);
    gl_loop_fd (self->loop, self->fd, 0, on_listen, self);
    close (self->fd);
    unlink (self->path);
    free (self);
    *self_p = NULL;
}

int ctl_server_serve_all (ctl_server_t *self, char *err, size_t errlen)
{
    /* chmod on the path, not fchmod on the socket: a socket's mode is the
       file's, which only the path reaches */
    if (chmod (self->path, 0666))
        return gl_err (err, errlen, "%s: cannot open it to local users: %s", self->path,
                       strerror (errno));
    self->serve_all = true;
    return 0;
}

const ctl_peer_t *ctl_server_caller (const ctl_server_t *self)
{
    return self->answering;
}

/* Who is connecting, and may they?  Our own user and root always; every
   other local user only when we serve them all. */
static bool peer_allowed (const ctl_server_t *self, int fd, ctl_peer_t *peer)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
        return false;
    *peer = (ctl_peer_t){ .pid = cred.pid, .uid = cred.uid, .gid = cred.gid };
    return self->serve_all || cred.uid == getuid () || cred.uid == 0;
}

static void on_listen (gl_loop_t *loop, int fd, short revents, void *arg)
{
    ctl_server_t *self = (ctl_server_t *) arg;
    int cfd = accept4 (self->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    ctl_peer_t peer;
    if (!peer_allowed (self, cfd, &peer) || self->n_clients == CTL_CLIENTS_MAX) {
        close (cfd);
        return;
    }
    ctl_client_t *c = &self->clients[self->n_clients];
    *c = (ctl_client_t){ .fd = cfd, .id = self->next_id++, .peer = peer };
    client_watch (self, c);
    if (!c->watched) { /* the loop cannot take it: nobody would serve it */
        close (cfd);
        return;
    }
    self->n_clients++;
}

/* Append one frame to a client's output. */
static int client_queue (ctl_client_t *c, const uint8_t *body, size_t len)
{
    if (len > GL_CTL_FRAME_MAX)
        return -1;
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    uint8_t hdr[4];
    ctl_put_len (hdr, (uint32_t) len);
    size_t sent = 0;
    if (c->out_len == 0) {
        /* Nothing queued: write straight from the caller's buffer, so a
           bulk stream is not copied once more into ours.  What the
           socket does not take now is queued below. */
        struct iovec iov[2] = { { hdr, 4 }, { (void *) body, len } };
        ssize_t n = writev (c->fd, iov, 2);
        if (n > 0)
            sent = (size_t) n;
        if (sent == len + 4)
            return 0;
    }
    size_t need = len + 4 - sent;
    if (c->out_cap - c->out_len < need) {
        if (c->out_off) { /* reuse the room already written out */
            memmove (c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (gl_grow (&c->out, &c->out_cap, c->out_len + need, 1))
            return -1;
    }
    if (sent < 4) {
        memcpy (c->out + c->out_len, hdr + sent, 4 - sent);
        c->out_len += 4 - sent;
        sent = 4;
    }
    memcpy (c->out + c->out_len, body + (sent - 4), len - (sent - 4));
    c->out_len += len - (sent - 4);
    return 0;
}

/* A request on a fresh connection: answer it, or turn it into a stream. */
static int client_request (ctl_server_t *self, ctl_client_t *c, const uint8_t *body, size_t len)
{
    gl_ctl_req_t req;
    gl_ctl_resp_t resp = { 0 };
    const char *why = NULL;
    if (gl_ctl_req_decode (body, len, &req, &why)) {
        resp.code = 2;
        resp.text = strdup (why ? why : "malformed request");
    }
    else if (!strcmp (req.cmd, "stream")) {
        why = "this agent takes no streams";
        if (self->on_open && self->on_open (self->arg, c->id, &req, &why) == 0) {
            c->stream = true;
            gl_ctl_req_clear (&req);
            return 0;
        }
        resp.code = 2;
        resp.text = strdup (why);
        gl_ctl_req_clear (&req);
    }
    else {
        self->answering = &c->peer;
        self->handler (self->arg, &req, &resp);
        self->answering = NULL;
        gl_ctl_req_clear (&req);
    }
    if (!resp.text)
        resp.text = strdup ("");
    resp.text_len = resp.text ? strlen (resp.text) : 0;
    uint8_t *out;
    size_t out_len;
    int rc = gl_ctl_resp_encode (&resp, &out, &out_len);
    gl_ctl_resp_clear (&resp);
    if (rc)
        return -1;
    rc = client_queue (c, out, out_len);
    free (out);
    c->closing = true; /* one request per connection */
    /* An answer the socket took at once leaves nothing to wait for:
       close now (-1), rather than when the client hangs up, so that a
       client that never does cannot hold the connection. */
    return rc || c->out_off == c->out_len ? -1 : 0;
}

/* Handle every whole frame read so far.  -1 drops the client. */
static int client_frames (ctl_server_t *self, size_t i)
{
    size_t used = 0;
    int rc = 0;
    uint64_t id = self->clients[i].id;
    while (rc == 0) {
        ctl_client_t *c = &self->clients[i];
        if (c->in_len - used < 4)
            break;
        uint32_t len = ctl_get_len (c->in + used);
        if (len > GL_CTL_FRAME_MAX)
            return -1;
        if (c->in_len - used < 4 + (size_t) len)
            break;
        const uint8_t *body = c->in + used + 4;
        used += 4 + (size_t) len;
        if (c->closing)
            break;
        if (!c->stream)
            rc = client_request (self, c, body, len);
        else
            rc = self->on_frame (self->arg, id, body, len);
        /* the callback may have queued to or closed clients: find ours again */
        if (i >= self->n_clients || self->clients[i].id != id)
            return 0;
    }
    ctl_client_t *c = &self->clients[i];
    memmove (c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    return rc;
}

static int client_read (ctl_server_t *self, size_t i)
{
    ctl_client_t *c = &self->clients[i];
    if (c->in_cap - c->in_len < 65536) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 65536 * 2;
        if (cap > 2 * ((size_t) GL_CTL_FRAME_MAX + 4))
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
    return client_frames (self, i);
}

static int client_write (ctl_client_t *c)
{
    ssize_t n = write (c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    c->out_off += (size_t) n;
    return c->out_off == c->out_len && c->closing ? -1 : 0;
}

static size_t client_find (ctl_server_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->n_clients; i++)
        if (self->clients[i].id == id)
            return i;
    return SIZE_MAX;
}

static void on_client (gl_loop_t *loop, int fd, short revents, void *arg)
{
    ctl_server_t *self = (ctl_server_t *) arg;
    for (size_t i = 0; i < self->n_clients; i++) {
        ctl_client_t *c = &self->clients[i];
        if (c->fd != fd)
            continue;
        uint64_t id = c->id;
        int rc = 0;
        if ((revents & POLLOUT) && c->out_len > c->out_off)
            rc = client_write (c);
        if (rc == 0 && (revents & (POLLIN | POLLERR | POLLHUP)))
            rc = client_read (self, i);
        /* the callbacks may have moved or closed it: find it again */
        size_t j = client_find (self, id);
        if (j == SIZE_MAX)
            return;
        if (rc)
            client_close (self, j);
        else
            client_watch (self, &self->clients[j]);
        return;
    }
}

int ctl_server_send (ctl_server_t *self, uint64_t conn, const uint8_t *frame, size_t len)
{
    size_t i = client_find (self, conn);
    if (i == SIZE_MAX || !self->clients[i].stream || self->clients[i].closing)
        return -1;
    int rc = client_queue (&self->clients[i], frame, len);
    client_watch (self, &self->clients[i]);
    return rc;
}

void ctl_server_close (ctl_server_t *self, uint64_t conn)
{
    size_t i = client_find (self, conn);
    if (i == SIZE_MAX)
        return;
    ctl_client_t *c = &self->clients[i];
    c->closing = true;
    c->stream = false; /* the owner knows: no on_closed for it */
    if (c->out_len == c->out_off)
        client_close (self, i);
    else
        client_watch (self, c);
}

int ctl_server_peer (const ctl_server_t *self, uint64_t conn, ctl_peer_t *peer)
{
    for (size_t i = 0; i < self->n_clients; i++)
        if (self->clients[i].id == conn) {
            *peer = self->clients[i].peer;
            return 0;
        }
    return -1;
}

long ctl_server_pending (ctl_server_t *self, uint64_t conn)
{
    size_t i = client_find (self, conn);
    return i == SIZE_MAX ? -1 : (long) (self->clients[i].out_len - self->clients[i].out_off);
}
