/*  unixsock.c -- socket pairs of the job's, judged, read without being
    taken and made again (unixsock.h says why and how). */
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* What sock_diag says of the socket with inode ino: whether it has a
   peer and its peer's inode (0: a socket no descriptor holds, closed or
   not accepted yet), and its name (bound: "" when not); 0, 1 when no
   such socket is open any more, -1 when sock_diag cannot be asked. */
static int diag (uint64_t ino, bool *has_peer, uint64_t *peer, char *name, size_t cap)
{
    int nl = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct {
        struct nlmsghdr h;
        struct unix_diag_req r;
    } q;
    memset (&q, 0, sizeof q);
    q.h.nlmsg_len = sizeof q;
    q.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.h.nlmsg_flags = NLM_F_REQUEST;
    q.r.sdiag_family = AF_UNIX;
    q.r.udiag_states = ~0u;
    q.r.udiag_ino = (uint32_t) ino;
    q.r.udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_NAME;
    q.r.udiag_cookie[0] = q.r.udiag_cookie[1] = ~0u; /* any */
    static uint8_t buf[8192] __attribute__ ((aligned (8)));
    ssize_t n = -1;
    if (send (nl, &q, sizeof q, 0) == (ssize_t) sizeof q)
        do
            n = recv (nl, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);
    close (nl);
    const struct nlmsghdr *h = (const struct nlmsghdr *) buf;
    if (n < (ssize_t) sizeof *h || !NLMSG_OK (h, (size_t) n))
        return -1;
    if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA (h);
        return h->nlmsg_len >= NLMSG_LENGTH (sizeof *e) && e->error == -ENOENT ? 1 : -1;
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        h->nlmsg_len < NLMSG_LENGTH (sizeof (struct unix_diag_msg)))
        return -1;
    const struct unix_diag_msg *m = NLMSG_DATA (h);
    if (m->udiag_ino != (uint32_t) ino)
        return -1;
    *peer = 0;
    *has_peer = false;
    name[0] = '\0';
    int len = (int) (h->nlmsg_len - NLMSG_LENGTH (sizeof *m));
    for (const struct rtattr *a = (const struct rtattr *) (m + 1); RTA_OK (a, len);
         a = RTA_NEXT (a, len)) {
        size_t alen = RTA_PAYLOAD (a);
        if (a->rta_type == UNIX_DIAG_PEER && alen >= 4) {
            *peer = *(const uint32_t *) RTA_DATA (a);
            *has_peer = true;
        }
        else if (a->rta_type == UNIX_DIAG_NAME && alen > 0 && cap > 2) {
            const char *s = RTA_DATA (a);
            size_t k = alen < cap - 2 ? alen : cap - 2;
            memcpy (name, s, k);
            name[k] = '\0';
            if (!s[0]) /* abstract: shown as ss(8) shows it */
                name[0] = '@';
        }
    }
    return 0;
}

static int get_int (int fd, int opt, int *v)
{
    socklen_t len = sizeof *v;
    return getsockopt (fd, SOL_SOCKET, opt, v, &len);
}

int usock_judge (int fd, uint64_t ino, img_fd_t *f, bool *not_unix, char *why, size_t whylen)
{
    int domain = -1, type = -1, listening = 0, peek_off = -1, passcred = 0, sndbuf = 0;
    *not_unix = get_int (fd, SO_DOMAIN, &domain) || domain != AF_UNIX;
    if (*not_unix)
        return -1;
    if (get_int (fd, SO_TYPE, &type) || get_int (fd, SO_ACCEPTCONN, &listening) ||
        get_int (fd, SO_PEEK_OFF, &peek_off) || get_int (fd, SO_PASSCRED, &passcred) ||
        get_int (fd, SO_SNDBUF, &sndbuf)) {
        snprintf (why, whylen, "fd %d: a unix socket whose options cannot be read", fd);
        return -1;
    }
    uint64_t peer = 0, pp;
    bool has_peer, pp_has;
    char name[128], pname[128];
    int rc = diag (ino, &has_peer, &peer, name, sizeof name);
    if (rc) {
        snprintf (why, whylen,
                  "fd %d: a unix socket whose other end cannot be found (sock_diag: %s)", fd,
                  rc < 0 ? "not available" : "no such socket");
        return -1;
    }
    if (listening || name[0]) {
        snprintf (why, whylen, "fd %d: a unix socket %s %s", fd,
                  listening ? "listening on" : "bound to", name[0] ? name : "no name");
        return -1;
    }
    if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
        snprintf (why, whylen, "fd %d: a unix socket of type %d", fd, type);
        return -1;
    }
    if (!has_peer) {
        snprintf (why, whylen, "fd %d: a unix socket connected to nothing", fd);
        return -1;
    }
    struct pollfd p = { fd, POLLRDHUP, 0 };
    if (poll (&p, 1, 0) < 0) {
        snprintf (why, whylen, "fd %d: a unix socket that cannot be polled", fd);
        return -1;
    }
    /* a peer no descriptor holds: closed, which shut this end down
       whole (a stream's or a SEQPACKET's), or a connection a server has
       not accepted yet */
    if (!peer && type != SOCK_DGRAM && !(p.revents & POLLHUP)) {
        snprintf (why, whylen,
                  "fd %d: a unix socket connected to a server's socket not accepted yet "
                  "(outside the job)",
                  fd);
        return -1;
    }
    rc = peer ? diag (peer, &pp_has, &pp, pname, sizeof pname) : 1;
    if (rc < 0) {
        snprintf (why, whylen, "fd %d: a unix socket whose other end cannot be read (sock_diag)",
                  fd);
        return -1;
    }
    if (rc == 0 && pname[0]) {
        snprintf (why, whylen,
                  "fd %d: a unix socket connected to %s (a named socket's server, which does not "
                  "move with the job)",
                  fd, pname);
        return -1;
    }
    if (peek_off >= 0) {
        snprintf (why, whylen,
                  "fd %d: a unix socket read with SO_PEEK_OFF (its offset does not move)", fd);
        return -1;
    }
    f->kind = IMG_F_USOCK;
    f->fsize = ino;
    f->pos = rc == 1 ? 0 : peer; /* 1: its peer was closed */
    f->mtime_sec = (uint64_t) type;
    f->mtime_nsec =
        ((p.revents & POLLRDHUP) ? IMG_US_RDSHUT : 0) | (passcred ? IMG_US_PASSCRED : 0);
    f->stream = sndbuf > 0 ? (uint32_t) sndbuf : 0;
    return 0;
}

static void put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get32 (const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The peek itself, SO_PEEK_OFF set (by the caller) to where it goes on
   and set again before each call: a datagram too large for the room
   left moves the kernel's offset by what was copied only. */
static int peek_all (int fd, uint32_t type, uint8_t *data, size_t cap, uint32_t *len, char *why,
                     size_t whylen)
{
    bool framed = type != SOCK_STREAM;
    size_t at = 0;
    int off = 0;
    for (;;) {
        if (setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off)) {
            snprintf (why, whylen, "fd %d: a unix socket that cannot be read without taking", fd);
            return -1;
        }
        /* no room left: one byte more, to know whether there is more */
        size_t head = framed ? 4 : 0;
        uint8_t spare[4];
        bool full = at + head >= cap;
        struct iovec v = { full ? spare : data + at + head, full ? 1 : cap - at - head };
        struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
        ssize_t k = recvmsg (fd, &m, MSG_PEEK | MSG_DONTWAIT | (framed ? MSG_TRUNC : 0));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k < 0) {
            snprintf (why, whylen, "fd %d: a unix socket whose bytes cannot be read: %s", fd,
                      strerror (errno));
            return -1;
        }
        if (m.msg_flags & MSG_CTRUNC) {
            snprintf (why, whylen,
                      "fd %d: a unix socket with descriptors or credentials queued (SCM_RIGHTS, "
                      "SCM_CREDENTIALS), which do not move",
                      fd);
            return -1;
        }
        if (!full && (size_t) k > cap - at - head) {
            snprintf (why, whylen, "fd %d: a unix socket with more than %zu bytes queued", fd, cap);
            return -1;
        }
        /* 0: a stream's end of file (its peer shut its writing or was
           closed); for records, one of no bytes (the kernel skips it on
           the next peek), or the end of file of a socket shut for
           reading, which cannot be told from it there: taken as the end */
        if (k == 0) {
            struct pollfd p = { fd, POLLRDHUP, 0 };
            if (!framed || (poll (&p, 1, 0) == 1 && (p.revents & POLLRDHUP)))
                break;
        }
        if (full) {
            snprintf (why, whylen, "fd %d: a unix socket with more than %zu bytes queued", fd, cap);
            return -1;
        }
        if (framed)
            put32 (data + at, (uint32_t) k);
        at += head + (size_t) k;
        off += (int) k;
    }
    *len = (uint32_t) at;
    return 0;
}

/* A stream's queued bytes in one peek from its start, which leaves the
   socket as it was: 1 when that got them all (SIOCINQ's count), 0 when
   the long way must be taken (writers' credentials kept apart under
   SO_PASSCRED, descriptors queued), -1 with the reason.  Other
   processes of the job hold the same socket and take their snapshots
   at the same time: a peek offset set here for an instant would be
   theirs too (their judge would take it for the program's, their own
   peek would start past bytes), so the offset is set only when this
   cannot do. */
static int peek_stream (int fd, uint8_t *data, size_t cap, uint32_t *len, char *why, size_t whylen)
{
    int queued = 0;
    if (ioctl (fd, SIOCINQ, &queued) || queued < 0)
        return 0;
    if ((size_t) queued > cap) {
        snprintf (why, whylen, "fd %d: a unix socket with more than %zu bytes queued", fd, cap);
        return -1;
    }
    ssize_t k = 0;
    struct msghdr m = { 0 };
    if (queued) {
        struct iovec v = { data, (size_t) queued };
        m = (struct msghdr){ .msg_iov = &v, .msg_iovlen = 1 };
        do
            k = recvmsg (fd, &m, MSG_PEEK | MSG_DONTWAIT);
        while (k < 0 && errno == EINTR);
    }
    if (k != queued || (m.msg_flags & MSG_CTRUNC))
        return 0;
    *len = (uint32_t) k;
    return 1;
}

int usock_peek (int fd, uint32_t type, uint8_t *data, size_t cap, uint32_t *len, char *why,
                size_t whylen)
{
    if (cap > IMG_PIPE_MAX)
        cap = IMG_PIPE_MAX;
    int rc = type == SOCK_STREAM ? peek_stream (fd, data, cap, len, why, whylen) : 0;
    if (rc)
        return rc < 0 ? -1 : 0;
    rc = peek_all (fd, type, data, cap, len, why, whylen);
    int none = -1; /* the program's setting: usock_judge refused any other */
    setsockopt (fd, SOL_SOCKET, SO_PEEK_OFF, &none, sizeof none);
    return rc;
}

/* The bytes of record f written into the pair through end w (so that
   they wait in its other end); 0, or -1 with the reason. */
static int refill (int w, const img_fd_t *f, char *err, size_t errlen)
{
    if (!f->data_len)
        return 0;
    int big = (int) (f->data_len < (1u << 29) ? f->data_len : (1u << 29)) + (1 << 16);
    setsockopt (w, SOL_SOCKET, SO_SNDBUF, &big, sizeof big); /* as far as wmem_max lets it */
    bool framed = f->mtime_sec != SOCK_STREAM;
    for (uint32_t at = 0; at < f->data_len;) {
        uint32_t n = f->data_len - at;
        if (framed) {
            n = get32 (f->data + at);
            at += 4;
        }
        ssize_t k = send (w, f->data + at, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 || (framed && (uint32_t) k != n)) {
            snprintf (err, errlen,
                      "fd %u: the %u bytes queued in a unix socket do not fit back here "
                      "(net.core.wmem_max): %s",
                      f->fd, f->data_len, k < 0 ? strerror (errno) : "a datagram cut");
            return -1;
        }
        at += (uint32_t) k;
    }
    return 0;
}

/* SO_SNDBUF as the program had it (the kernel doubles what it is given). */
static void sndbuf_back (int fd, const img_fd_t *f)
{
    int v = (int) (f->stream / 2);
    if (v > 0)
        setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

int usock_make (const img_fd_t *a, const img_fd_t *b, int out[2], char *err, size_t errlen)
{
    int sv[2];
    out[0] = out[1] = -1;
    if (socketpair (AF_UNIX, (int) a->mtime_sec | SOCK_CLOEXEC, 0, sv)) {
        snprintf (err, errlen, "fd %u: no socket pair: %s", a->fd, strerror (errno));
        return -1;
    }
    int one = 1;
    if ((refill (sv[1], a, err, errlen)) || (b && refill (sv[0], b, err, errlen)) ||
        ((a->mtime_nsec & IMG_US_PASSCRED) &&
         setsockopt (sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one)) ||
        (b && (b->mtime_nsec & IMG_US_PASSCRED) &&
         setsockopt (sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one))) {
        if (!err[0])
            snprintf (err, errlen, "fd %u: SO_PASSCRED: %s", a->fd, strerror (errno));
        close (sv[0]);
        close (sv[1]);
        return -1;
    }
    sndbuf_back (sv[0], a);
    if (b)
        sndbuf_back (sv[1], b);
    /* the reading each end had shut: the other end's writing */
    if (a->mtime_nsec & IMG_US_RDSHUT)
        shutdown (sv[1], SHUT_WR);
    if (b && (b->mtime_nsec & IMG_US_RDSHUT))
        shutdown (sv[0], SHUT_WR);
    if (!b) { /* its peer was closed */
        close (sv[1]);
        sv[1] = -1;
    }
    out[0] = sv[0];
    out[1] = sv[1];
    return 0;
}
