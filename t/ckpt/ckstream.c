/*  ckstream -- a move's stream (ckpt_proto.h, "A move's stream";
    checkpoint/imgseal.h) played against glrestore, for the tests: the
    new host's agent (glrestore's descriptor 3, the GLMOVE1 line, its
    PORT answer) and the old host (the image sealed to that port), with
    the ways a stream can go wrong.

    ckstream MODE GLRESTORE IMAGE [ARG...]

    runs GLRESTORE ARG... (e.g. -n) as the agent would, sends IMAGE as
    MODE says, and exits with glrestore's status (its stderr is ours;
    what it wrote on descriptor 3 after its PORT line, its word to the
    agent, ckpt_proto.h, follows as "ckstream: glrestore said X"):

      whole     the image, in chunks of 64 KiB, then an empty last chunk
      intruders first a connection that says nothing (open until
                glrestore ends), one that sends bytes that are no chunk,
                one that sends a whole stream under another key, then
                the image as in whole: the first three are dropped
                unheard, the silent one heard beside the others
      cut       the stream less its last 1000 bytes
      nolast    every chunk but the last
      flip      one bit of the middle chunk flipped
      replay    a chunk sent twice
      extra     bytes after the last chunk
      silent    nobody connects (glrestore waits; for a -t test only)
      failed    in place of the image, its header and a FAIL record, as
                a capture that failed after its snapshot writes them
      failagain the same, the FAIL marked for an instant (IMG_FAIL_AGAIN) */
#include "image.h"
#include "imgseal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIECE (64u << 10)

static void die (const char *what)
{
    fprintf (stderr, "ckstream: %s: %s\n", what, strerror (errno));
    exit (2);
}

static void put (int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write (fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* glrestore hung up: its status says why */
        b += k;
        n -= (size_t) k;
    }
}

/* The image sealed under key: malloc'ed, its length in *len, the
   chunks' offsets in at[] (n_at of them). */
static uint8_t *sealed (const uint8_t *key, const uint8_t *img, size_t size, size_t *len,
                        size_t *at, size_t *n_at)
{
    size_t cap = size + (size / PIECE + 3) * IS_OVERHEAD;
    uint8_t *s = malloc (cap);
    imgseal_t *o = imgseal_new (key);
    if (!s || !o)
        die ("out of memory");
    size_t n = 0, k = 0;
    at[k++] = n;
    n += imgseal_seal (o, NULL, 0, false, s + n); /* the first, empty */
    for (size_t off = 0; off < size; off += PIECE) {
        at[k++] = n;
        n += imgseal_seal (o, img + off, size - off < PIECE ? size - off : PIECE, false, s + n);
    }
    at[k++] = n;
    n += imgseal_seal (o, NULL, 0, true, s + n);
    at[k] = n;
    imgseal_destroy (&o);
    *len = n;
    *n_at = k;
    return s;
}

static int dial (unsigned port)
{
    int c = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (c < 0 || connect (c, (struct sockaddr *) &a, sizeof a))
        die ("connect");
    return c;
}

int main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: ckstream MODE GLRESTORE IMAGE [ARG...]\n");
        return 2;
    }
    const char *mode = argv[1];
    signal (SIGPIPE, SIG_IGN);
    int f = open (argv[3], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f < 0 || fstat (f, &st))
        die (argv[3]);
    size_t size = (size_t) st.st_size;
    uint8_t *img = malloc (size ? size : 1);
    if (!img || read (f, img, size) != (ssize_t) size)
        die ("reading the image");
    bool failagain = !strcmp (mode, "failagain");
    if (failagain || !strcmp (mode, "failed")) {
        static uint8_t failing[IMG_HDR_SIZE + IMG_PATH_MAX + 64];
        img_enc_t e;
        size = img_put_header (&e, failing, sizeof failing);
        size +=
            img_put_fail (&e, "fd 7: a file that was not there when the process was stopped",
                          failagain ? IMG_FAIL_AGAIN : 0, failing + size, sizeof failing - size);
        free (img);
        img = failing;
    }
    uint8_t key[IS_KEY_BYTES], other[IS_KEY_BYTES];
    int r = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (r < 0 || read (r, key, sizeof key) != sizeof key ||
        read (r, other, sizeof other) != sizeof other)
        die ("/dev/urandom");

    int sv[2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        die ("socketpair");
    pid_t pid = fork ();
    if (pid < 0)
        die ("fork");
    if (pid == 0) {
        dup2 (sv[1], 3); /* not close-on-exec */
        setenv ("GLUNIX_IMAGE_FD", "3", 1);
        argv[3] = argv[2];
        execv (argv[2], argv + 3);
        _exit (127);
    }
    close (sv[1]);
    char line[256];
    int n = snprintf (line, sizeof line, "GLMOVE1 ");
    for (int i = 0; i < IS_KEY_BYTES; i++)
        n += snprintf (line + n, sizeof line - (size_t) n, "%02x", key[i]);
    n += snprintf (line + n, sizeof line - (size_t) n, " 127.0.0.1\n");
    put (sv[0], line, (size_t) n);
    size_t got = 0;
    while (got < sizeof line - 1 && read (sv[0], line + got, 1) == 1 && line[got] != '\n')
        got++;
    line[got] = '\0';
    unsigned port = 0;
    int silent = -1;
    if (sscanf (line, "PORT %u", &port) == 1 && strcmp (mode, "silent")) {
        size_t len, at[4096 + 8], k;
        if (size / PIECE + 4 > sizeof at / sizeof *at)
            die ("the image is too large for ckstream");
        uint8_t *s = sealed (key, img, size, &len, at, &k);
        if (!strcmp (mode, "intruders")) {
            silent = dial (port); /* says nothing, open until glrestore ends */
            int c1 = dial (port);
            put (c1, "GET / HTTP/1.0\r\n\r\nxxxxxx", 24);
            size_t olen, oat[4096 + 8], ok;
            uint8_t *os = sealed (other, img, size, &olen, oat, &ok);
            int c2 = dial (port);
            put (c2, os, olen);
            close (c1);
            close (c2);
            free (os);
        }
        int c = dial (port);
        size_t mid = at[k / 2];
        if (!strcmp (mode, "cut"))
            put (c, s, len > 1000 ? len - 1000 : 0);
        else if (!strcmp (mode, "nolast"))
            put (c, s, at[k - 1]);
        else if (!strcmp (mode, "flip")) {
            s[mid + IS_HEAD + 5] ^= 0x10;
            put (c, s, len);
        }
        else if (!strcmp (mode, "replay")) {
            put (c, s, at[2]);
            put (c, s + at[1], len - at[1]); /* chunk 1 again, and on */
        }
        else {
            put (c, s, len);
            if (!strcmp (mode, "extra"))
                put (c, "more", 4);
        }
        close (c);
        free (s);
    }
    if (!failagain && strcmp (mode, "failed"))
        free (img); /* (the sanitizers' build counts what is left) */
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (silent >= 0)
        close (silent);
    char said[16];
    ssize_t k = recv (sv[0], said, sizeof said - 1, MSG_DONTWAIT);
    if (k > 0) {
        said[k] = '\0';
        fprintf (stderr, "ckstream: glrestore said %s\n", said);
    }
    return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}
