/*  imgrecv.c -- the taking end of a sealed image stream: see imgrecv.h. */
#include "imgrecv.h"
#include "err.h"
#include "fd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PENDING_MAX (IMGRECV_POLL_MAX - 1)

typedef struct {
    int fd;
    uint64_t since;
    size_t got;
    uint8_t chunk[IS_OVERHEAD]; /* the first chunk: empty, so only its head and tag */
} pending_t;

struct imgrecv_t {
    int listener;
    unsigned port;
    uint8_t key[IS_KEY_BYTES];
    pending_t pend[PENDING_MAX];
    int n_pend;
    int fd;          /* the sender's connection, once found */
    imgseal_t *o;    /* its opener */
    uint8_t *buf;    /* a chunk's ciphertext, opened in place when not read whole */
    size_t off, len; /* its plaintext not handed out yet */
    bool cut;
};

imgrecv_t *imgrecv_new (const struct sockaddr *sa, socklen_t len, const uint8_t key[IS_KEY_BYTES],
                        char *err, size_t errlen)
{
    imgrecv_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    self->fd = -1;
    memcpy (self->key, key, IS_KEY_BYTES);
    struct sockaddr_storage at;
    socklen_t at_len = sizeof at;
    self->listener = socket (sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int v6only = 0; /* IPv6's any address takes IPv4 too, whatever net.ipv6.bindv6only says */
    if (self->listener >= 0 && sa->sa_family == AF_INET6)
        setsockopt (self->listener, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (self->listener < 0 || bind (self->listener, sa, len) || listen (self->listener, 8) ||
        getsockname (self->listener, (struct sockaddr *) &at, &at_len)) {
        gl_err (err, errlen, "cannot listen for the image: %s", strerror (errno));
        imgrecv_destroy (&self);
        return NULL;
    }
    self->port = ntohs (at.ss_family == AF_INET ? ((struct sockaddr_in *) &at)->sin_port
                                                : ((struct sockaddr_in6 *) &at)->sin6_port);
    return self;
}

void imgrecv_destroy (imgrecv_t **self_p)
{
    imgrecv_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->n_pend; i++)
        close (self->pend[i].fd);
    if (self->listener >= 0)
        close (self->listener);
    if (self->fd >= 0)
        close (self->fd);
    imgseal_destroy (&self->o);
    explicit_bzero (self->key, sizeof self->key);
    free (self->buf);
    free (self);
    *self_p = NULL;
}

unsigned imgrecv_port (const imgrecv_t *self)
{
    return self->port;
}

int imgrecv_fd (const imgrecv_t *self)
{
    return self->fd;
}

bool imgrecv_cut (const imgrecv_t *self)
{
    return self->cut;
}

static void drop (imgrecv_t *self, int i)
{
    close (self->pend[i].fd);
    self->pend[i] = self->pend[--self->n_pend];
}

size_t imgrecv_pollfds (imgrecv_t *self, struct pollfd *p, uint64_t now_ms)
{
    if (self->fd >= 0)
        return 0;
    for (int i = 0; i < self->n_pend;) /* the silent ones' time is up */
        if (now_ms - self->pend[i].since >= IMGRECV_HELLO_MS)
            drop (self, i);
        else
            i++;
    p[0] = (struct pollfd){ self->listener, POLLIN, 0 };
    for (int i = 0; i < self->n_pend; i++)
        p[i + 1] = (struct pollfd){ self->pend[i].fd, POLLIN, 0 };
    return (size_t) self->n_pend + 1;
}

/* Has p's first chunk come, opening under the key?  1 yes (the opener
   then stays, past chunk 0), 0 not whole yet, -1 not the sender.  An
   opener that failed refuses everything after, so each try has its own. */
static int hello (imgrecv_t *self, pending_t *p, char *err, size_t errlen)
{
    ssize_t k = read (p->fd, p->chunk + p->got, sizeof p->chunk - p->got);
    if (k < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (k <= 0)
        return -1;
    p->got += (size_t) k;
    if (p->got < sizeof p->chunk)
        return 0;
    uint32_t len;
    bool last;
    const char *why;
    imgseal_t *o = imgseal_new (self->key);
    if (!o) {
        gl_err (err, errlen, "out of memory");
        return -2;
    }
    if (imgseal_head (p->chunk, &len, &last, &why) || len || last ||
        imgseal_open (o, p->chunk, p->chunk + IS_HEAD, p->chunk + IS_HEAD, &why)) {
        imgseal_destroy (&o);
        return -1;
    }
    self->o = o;
    return 1;
}

int imgrecv_step (imgrecv_t *self, const struct pollfd *p, size_t n, uint64_t now_ms, char *err,
                  size_t errlen)
{
    if (self->fd >= 0)
        return 1;
    /* p[i + 1] is pend[i] as imgrecv_pollfds left them */
    for (int i = (int) n - 2; i >= 0; i--) {
        if (i >= self->n_pend || !p[i + 1].revents || p[i + 1].fd != self->pend[i].fd)
            continue;
        int h = hello (self, &self->pend[i], err, errlen);
        if (h == -2)
            return -1;
        if (h < 0) { /* not the sender: unheard */
            drop (self, i);
            continue;
        }
        if (h > 0) {
            self->fd = self->pend[i].fd;
            self->pend[i] = self->pend[--self->n_pend];
            fcntl (self->fd, F_SETFL, fcntl (self->fd, F_GETFL) & ~O_NONBLOCK);
            while (self->n_pend)
                drop (self, 0);
            close (self->listener);
            self->listener = -1;
            explicit_bzero (self->key, sizeof self->key);
            self->buf = malloc (IS_CHUNK_MAX + IS_TAG);
            return self->buf ? 1 : gl_err (err, errlen, "out of memory");
        }
    }
    if (n && (p[0].revents & POLLIN)) {
        int c = accept4 (self->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0) {
            if (self->n_pend == PENDING_MAX) { /* full: the oldest goes */
                int oldest = 0;
                for (int i = 1; i < self->n_pend; i++)
                    if (self->pend[i].since < self->pend[oldest].since)
                        oldest = i;
                drop (self, oldest);
            }
            self->pend[self->n_pend++] = (pending_t){ .fd = c, .since = now_ms };
        }
    }
    return 0;
}

#define CUT "the image's stream was cut before its end"

ssize_t imgrecv_read (imgrecv_t *self, void *buf, size_t n, const char **why)
{
    *why = NULL;
    if (self->fd < 0) {
        *why = "no sender yet";
        return -1;
    }
    while (self->len == 0) {
        uint8_t head[IS_HEAD];
        if (imgseal_ended (self->o)) { /* the end, and nothing after it */
            ssize_t k = gl_read_full (self->fd, head, 1);
            if (k > 0)
                *why = "bytes follow the image's stream's last chunk";
            return k > 0 ? -1 : k;
        }
        ssize_t k = gl_read_full (self->fd, head, IS_HEAD);
        uint32_t len;
        bool last;
        if (k != IS_HEAD) {
            *why = k < 0 ? NULL : CUT;
            self->cut = k >= 0;
            return -1;
        }
        if (imgseal_head (head, &len, &last, why))
            return -1;
        k = gl_read_full (self->fd, self->buf, len + IS_TAG);
        if (k != (ssize_t) (len + IS_TAG)) {
            *why = k < 0 ? NULL : CUT;
            self->cut = k >= 0;
            return -1;
        }
        /* a chunk that fits where it is wanted is opened there */
        bool there = len && n >= len;
        if (imgseal_open (self->o, head, self->buf, there ? buf : self->buf, why))
            return -1;
        if (there)
            return (ssize_t) len;
        self->off = 0;
        self->len = len;
    }
    size_t k = self->len < n ? self->len : n;
    memcpy (buf, self->buf + self->off, k);
    self->off += k;
    self->len -= k;
    return (ssize_t) k;
}
