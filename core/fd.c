/*  fd.c -- file descriptor helpers (see fd.h). */
#include "fd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int gl_write_all (int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write (fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pf = { .fd = fd, .events = POLLOUT };
                if (poll (&pf, 1, -1) < 0 && errno != EINTR)
                    return -1;
                continue;
            }
            return -1;
        }
        b += w;
        n -= (size_t) w;
    }
    return 0;
}

ssize_t gl_read_full (int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read (fd, (uint8_t *) p + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t) k;
    }
    return (ssize_t) got;
}

int gl_set_nonblock (int fd)
{
    int flags = fcntl (fd, F_GETFL);
    return flags < 0 ? -1 : fcntl (fd, F_SETFL, flags | O_NONBLOCK);
}

ssize_t gl_read_file (const char *path, char *buf, size_t cap)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    for (;;) {
        ssize_t k = read (fd, buf + n, cap - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t) k;
        if (n + 1 >= cap)
            break;
    }
    close (fd);
    buf[n] = '\0';
    return (ssize_t) n;
}

bool gl_status_field (const char *status, const char *name, int base, uint64_t *v)
{
    size_t k = strlen (name);
    const char *s = status;
    while (s && strncmp (s, name, k))
        if ((s = strchr (s, '\n')))
            s++;
    if (!s)
        return false;
    s += k;
    s += strspn (s, " \t");
    *v = strtoull (s, NULL, base);
    return true;
}

pid_t gl_parent_of (pid_t pid)
{
    char path[32] = "/proc/", digits[16], buf[1024];
    int n = 0;
    for (unsigned v = (unsigned) pid; n == 0 || v; v /= 10) /* no stdio: a handler's */
        digits[n++] = (char) ('0' + v % 10);
    char *p = path + 6;
    while (n)
        *p++ = digits[--n];
    memcpy (p, "/stat", 6);
    if (gl_read_file (path, buf, sizeof buf) <= 0)
        return 0;
    /* after the name, which may hold anything but ends at the last ')' */
    const char *s = strrchr (buf, ')');
    if (!s || s[1] != ' ' || !s[2] || s[3] != ' ')
        return 0;
    return (pid_t) strtol (s + 4, NULL, 10);
}

int gl_dir_entry_at (const char *path, uint64_t pos, char *name, size_t cap)
{
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct d64 {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
    };
    char buf[4096] __attribute__ ((aligned (8)));
    int rc = -1;
    for (long k; rc && (k = syscall (SYS_getdents64, fd, buf, sizeof buf)) > 0;)
        for (long at = 0; rc && at < k;) {
            const struct d64 *d = (const struct d64 *) (buf + at);
            at += d->reclen;
            if ((uint64_t) d->off != pos)
                continue;
            size_t n = strnlen (d->name, cap - 1);
            memcpy (name, d->name, n);
            name[n] = '\0';
            rc = 0;
        }
    close (fd);
    if (rc)
        errno = ENOENT;
    return rc;
}

bool gl_addr_parse (const char *text, struct sockaddr_storage *sa, socklen_t *len)
{
    char ip[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr (text, ':'), *port = colon ? colon + 1 : NULL;
    size_t n = colon ? (size_t) (colon - text) : 0;
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']')
        text++, n -= 2;
    if (!n || n >= sizeof ip || !port || *port < '1' || *port > '9')
        return false;
    char *end;
    unsigned long p = strtoul (port, &end, 10);
    if (*end || p > 65535)
        return false;
    memcpy (ip, text, n);
    ip[n] = '\0';
    memset (sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *) sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) sa;
    if (inet_pton (AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t) p);
        *len = sizeof *v4;
        return true;
    }
    if (inet_pton (AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t) p);
        *len = sizeof *v6;
        return true;
    }
    return false;
}

ssize_t gl_send_fds (int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
    if (n_fds > GL_SEND_FDS_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = { (void *) buf, len };
    union {
        struct cmsghdr h;
        char room[CMSG_SPACE (GL_SEND_FDS_MAX * sizeof (int))];
    } c;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (n_fds) {
        memset (&c, 0, sizeof c);
        mh.msg_control = c.room;
        mh.msg_controllen = CMSG_SPACE (n_fds * sizeof (int));
        struct cmsghdr *h = CMSG_FIRSTHDR (&mh);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
        memcpy (CMSG_DATA (h), fds, n_fds * sizeof (int));
    }
    ssize_t n;
    do
        n = sendmsg (sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
}
