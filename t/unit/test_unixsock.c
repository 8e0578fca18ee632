/* test_unixsock: unix socket pairs judged, read without being taken,
   carried in FD records and made again (checkpoint/unixsock.h), in this
   process: what the capture and the restorer do, without a job. */
#include "image.h"
#include "tap.h"
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static uint8_t bytes[2][IMG_PIPE_MAX];

/* End fd judged and read into f (bytes[k]); 0, or -1 with why. */
static int take (int fd, int k, img_fd_t *f, char *why, size_t whylen)
{
    struct stat st;
    bool not_unix = false;
    memset (f, 0, sizeof *f);
    f->fd = (uint32_t) fd;
    f->flags = 02;
    if (fstat (fd, &st) || usock_judge (fd, (uint64_t) st.st_ino, f, &not_unix, why, whylen))
        return -1;
    uint32_t len = 0;
    if (usock_peek (fd, (uint32_t) f->mtime_sec, bytes[k], sizeof bytes[k], &len, why, whylen))
        return -1;
    f->data = bytes[k];
    f->data_len = len;
    return 0;
}

/* f through an FD record and back, as glrestore reads it. */
static int record (const img_fd_t *f, img_fd_t *got, const char **why)
{
    static uint8_t rb[2][IMG_REC_HDR + sizeof (img_fd_t) + IMG_PIPE_MAX];
    static int which;
    uint8_t *b = rb[which++ & 1];
    img_enc_t e = { 0 };
    size_t k = img_put_fd (&e, f, b, sizeof rb[0]);
    img_rec_t r = { .type = IMG_FD,
                    .payload = b + IMG_REC_HDR,
                    .len = (uint32_t) (k - IMG_REC_HDR) };
    return k ? img_get_fd (&r, got, why) : -1;
}

static ssize_t got (int fd, char *buf, size_t cap)
{
    return recv (fd, buf, cap, MSG_DONTWAIT);
}

/* A stream pair with bytes both ways, one end's reading shut: made again
   with the same bytes, the same end of file, the other bytes left where
   they were. */
static void stream (void)
{
    int sv[2];
    CHECK_EQ (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ (write (sv[0], "to one ", 7), 7);
    CHECK_EQ (write (sv[0], "twice", 5), 5);
    CHECK_EQ (write (sv[1], "to zero", 7), 7);
    CHECK_EQ (shutdown (sv[0], SHUT_WR), 0);
    img_fd_t a, b, ra, rb;
    char why[256];
    const char *w = NULL;
    CHECK_EQ (take (sv[0], 0, &a, why, sizeof why), 0);
    CHECK_EQ (take (sv[1], 1, &b, why, sizeof why), 0);
    CHECK (a.kind == IMG_F_USOCK && a.mtime_sec == SOCK_STREAM && a.pos == b.fsize &&
           b.pos == a.fsize);
    CHECK (a.data_len == 7 && memcmp (a.data, "to zero", 7) == 0);
    CHECK (b.data_len == 12 && memcmp (b.data, "to one twice", 12) == 0);
    CHECK (b.mtime_nsec & IMG_US_RDSHUT);
    CHECK (!(a.mtime_nsec & IMG_US_RDSHUT));
    /* nothing was taken: the old pair still holds it all */
    char buf[64];
    CHECK_EQ (got (sv[1], buf, sizeof buf), 12);
    CHECK_EQ (record (&a, &ra, &w), 0);
    CHECK_EQ (record (&b, &rb, &w), 0);
    int out[2];
    char err[256] = "";
    CHECK_EQ (usock_make (&ra, &rb, out, err, sizeof err), 0);
    CHECK_EQ (got (out[1], buf, sizeof buf), 12);
    CHECK (memcmp (buf, "to one twice", 12) == 0);
    CHECK_EQ (got (out[1], buf, sizeof buf), 0); /* its reading shut: end of file */
    CHECK_EQ (got (out[0], buf, sizeof buf), 7);
    CHECK (memcmp (buf, "to zero", 7) == 0);
    CHECK (got (out[0], buf, sizeof buf) < 0 && errno == EAGAIN); /* still open */
    CHECK (fcntl (out[0], F_GETFD) & FD_CLOEXEC);
    close (out[0]);
    close (out[1]);
    close (sv[0]);
    close (sv[1]);
}

/* Datagrams and records: each whole, one of no bytes too; a socket whose
   peer was closed is made whole and its peer closed. */
static void records (void)
{
    for (int type = SOCK_DGRAM; type <= SOCK_SEQPACKET; type += SOCK_SEQPACKET - SOCK_DGRAM) {
        int sv[2];
        CHECK_EQ (socketpair (AF_UNIX, type, 0, sv), 0);
        CHECK_EQ (send (sv[0], "ab", 2, 0), 2);
        CHECK_EQ (send (sv[0], "", 0, 0), 0);
        CHECK_EQ (send (sv[0], "cde", 3, 0), 3);
        img_fd_t a, ra;
        char why[256], err[256] = "";
        const char *w;
        CHECK_EQ (take (sv[1], 0, &a, why, sizeof why), 0);
        CHECK_EQ (a.data_len, 4 + 2 + 4 + 0 + 4 + 3);
        CHECK_EQ (record (&a, &ra, &w), 0);
        /* the peer gone: the end moves alone */
        close (sv[0]);
        img_fd_t alone;
        CHECK_EQ (take (sv[1], 1, &alone, why, sizeof why), 0);
        CHECK_EQ (alone.pos, 0);
        int out[2];
        CHECK_EQ (usock_make (&ra, NULL, out, err, sizeof err), 0);
        CHECK_EQ (out[1], -1);
        char buf[16];
        CHECK_EQ (got (out[0], buf, sizeof buf), 2);
        CHECK_EQ (got (out[0], buf, sizeof buf), 0);
        CHECK_EQ (got (out[0], buf, sizeof buf), 3);
        CHECK (memcmp (buf, "cde", 3) == 0);
        close (out[0]);
        close (sv[1]);
    }
}

/* What cannot move, refused with the reason. */
static void refused (void)
{
    int sv[2], pv[2];
    img_fd_t f;
    char why[256];
    /* a descriptor queued in it */
    CHECK_EQ (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ (pipe (pv), 0);
    char c = 'x';
    char cbuf[CMSG_SPACE (sizeof (int))];
    memset (cbuf, 0, sizeof cbuf);
    struct iovec v = { &c, 1 };
    struct msghdr m = {
        .msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
    };
    struct cmsghdr *cm = CMSG_FIRSTHDR (&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN (sizeof (int));
    memcpy (CMSG_DATA (cm), &pv[0], sizeof (int));
    CHECK_EQ (sendmsg (sv[0], &m, 0), 1);
    CHECK (take (sv[1], 0, &f, why, sizeof why) < 0 && strstr (why, "SCM_RIGHTS"));
    char buf[4];
    CHECK_EQ (recv (sv[1], buf, sizeof buf, MSG_DONTWAIT), 1); /* still there, once */
    close (sv[0]);
    close (sv[1]);
    close (pv[0]);
    close (pv[1]);

    /* SO_PEEK_OFF set by the program */
    CHECK_EQ (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int off = 0;
    CHECK_EQ (setsockopt (sv[0], SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off), 0);
    CHECK (take (sv[0], 0, &f, why, sizeof why) < 0 && strstr (why, "SO_PEEK_OFF"));
    close (sv[0]);
    close (sv[1]);

    /* two processes of a job peek the same stream at once (each takes
       its snapshot): neither sees the other's peek as the program's
       SO_PEEK_OFF, and each reads every byte queued */
    CHECK_EQ (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ (write (sv[0], "queued bytes", 12), 12);
    CHECK_EQ (write (sv[0], " and more", 9), 9);
    pid_t other = fork ();
    if (other == 0) {
        static uint8_t mine[64];
        uint32_t n = 0;
        char w[256];
        for (int i = 0; i < 20000; i++)
            if (usock_peek (sv[1], SOCK_STREAM, mine, sizeof mine, &n, w, sizeof w) || n != 21)
                _exit (1);
        _exit (0);
    }
    int bad_judge = 0, bad_peek = 0;
    for (int i = 0; i < 20000; i++) {
        struct stat s1;
        bool nu;
        uint32_t n = 0;
        if (fstat (sv[1], &s1) ||
            usock_judge (sv[1], (uint64_t) s1.st_ino, &f, &nu, why, sizeof why))
            bad_judge++;
        if (usock_peek (sv[1], SOCK_STREAM, bytes[0], sizeof bytes[0], &n, why, sizeof why) ||
            n != 21 || memcmp (bytes[0], "queued bytes and more", 21))
            bad_peek++;
    }
    int wst;
    CHECK_EQ (waitpid (other, &wst, 0), other);
    CHECK (WIFEXITED (wst) && WEXITSTATUS (wst) == 0);
    CHECK_EQ (bad_judge, 0);
    CHECK_EQ (bad_peek, 0);
    close (sv[0]);
    close (sv[1]);

    /* more than the room given */
    CHECK_EQ (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static char big[100000];
    CHECK_EQ (write (sv[0], big, sizeof big), (ssize_t) sizeof big);
    uint32_t len;
    struct stat st;
    bool not_unix;
    CHECK_EQ (fstat (sv[1], &st), 0);
    CHECK_EQ (usock_judge (sv[1], (uint64_t) st.st_ino, &f, &not_unix, why, sizeof why), 0);
    CHECK (usock_peek (sv[1], SOCK_STREAM, bytes[0], 4096, &len, why, sizeof why) < 0 &&
           strstr (why, "more than 4096 bytes"));
    CHECK_EQ (usock_peek (sv[1], SOCK_STREAM, bytes[0], sizeof bytes[0], &len, why, sizeof why), 0);
    CHECK_EQ (len, sizeof big);
    close (sv[0]);
    close (sv[1]);

    /* bound and listening (an abstract name), and not a unix socket */
    int l = socket (AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    memcpy (a.sun_path + 1, "glunix-test-unixsock", 20);
    CHECK_EQ (bind (l, (struct sockaddr *) &a, sizeof (sa_family_t) + 21), 0);
    CHECK_EQ (listen (l, 1), 0);
    CHECK (take (l, 0, &f, why, sizeof why) < 0 && strstr (why, "listening on @glunix-test"));
    int cl = socket (AF_UNIX, SOCK_STREAM, 0);
    CHECK_EQ (connect (cl, (struct sockaddr *) &a, sizeof (sa_family_t) + 21), 0);
    CHECK (take (cl, 0, &f, why, sizeof why) < 0 && strstr (why, "not accepted yet"));
    int ac = accept (l, NULL, NULL);
    CHECK (ac >= 0);
    CHECK (take (cl, 0, &f, why, sizeof why) < 0 &&
           strstr (why, "connected to @glunix-test-unixsock (a named socket's server"));
    CHECK (take (ac, 0, &f, why, sizeof why) < 0 && strstr (why, "bound to @glunix-test"));
    close (ac);
    close (cl);
    close (l);
    int bare = socket (AF_UNIX, SOCK_DGRAM, 0);
    CHECK (take (bare, 0, &f, why, sizeof why) < 0 && strstr (why, "connected to nothing"));
    close (bare);
    int in = socket (AF_INET, SOCK_STREAM, 0);
    CHECK_EQ (fstat (in, &st), 0);
    CHECK (usock_judge (in, (uint64_t) st.st_ino, &f, &not_unix, why, sizeof why) < 0 && not_unix);
    close (in);
}

int main (void)
{
    int probe = socket (AF_NETLINK, SOCK_DGRAM, 16 /* NETLINK_SOCK_DIAG */);
    if (probe < 0) {
        tap_skip ("no sock_diag here: unix sockets do not move on this machine");
        return tap_done ("test_unixsock");
    }
    close (probe);
    stream ();
    records ();
    refused ();
    return tap_done ("test_unixsock");
}
