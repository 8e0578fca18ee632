/* test_imgrecv: the taking end of a sealed image stream
   (checkpoint/imgrecv.h), on real sockets on 127.0.0.1: strangers that
   connect first (one saying something that does not open under the
   key, one saying nothing) do not keep the real sender out; the image
   comes whole and in order; a stream cut before its last chunk is said
   cut; a chunk altered, and bytes after the last chunk, are errors. */
#include "imgrecv.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint8_t key[IS_KEY_BYTES];

static uint64_t now_ms (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000 + (uint64_t) t.tv_nsec / 1000000;
}

static int dial (unsigned port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a))
        abort ();
    return fd;
}

/* Seals n bytes of p (the chunk's number goes on in s) and writes them. */
static void send_chunk (int fd, imgseal_t *s, const uint8_t *p, size_t n, bool last, bool flip)
{
    static uint8_t out[3 * 4096 + IS_OVERHEAD]; /* the longest chunk here and its overhead */
    if (n + IS_OVERHEAD > sizeof out)
        abort ();
    size_t len = imgseal_seal (s, p, n, last, out);
    if (!len)
        abort ();
    if (flip)
        out[IS_HEAD + n / 2] ^= 1;
    if (write (fd, out, len) != (ssize_t) len)
        abort ();
}

/* A listener on 127.0.0.1, its sender found among strangers: 0, or -1
   when none was found within 3 s. */
static int find (imgrecv_t *rx)
{
    uint64_t until = now_ms () + 3000;
    char err[128];
    while (now_ms () < until) {
        struct pollfd p[IMGRECV_POLL_MAX];
        size_t n = imgrecv_pollfds (rx, p, now_ms ());
        poll (p, n, 100);
        int found = imgrecv_step (rx, p, n, now_ms (), err, sizeof err);
        if (found)
            return found > 0 ? 0 : -1;
    }
    return -1;
}

static imgrecv_t *listener (void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    char err[128];
    return imgrecv_new ((struct sockaddr *) &a, sizeof a, key, err, sizeof err);
}

/* A listener, a connection to it and a sealer under k whose first
   chunk (empty) is out: the connection. */
static int open_stream (imgrecv_t **rx, imgseal_t **s, const uint8_t *k)
{
    *rx = listener ();
    int fd = dial (imgrecv_port (*rx));
    *s = imgseal_new (k);
    send_chunk (fd, *s, NULL, 0, false, false);
    return fd;
}

/* Reads the stream to its end (or an error): what came in got. */
static ssize_t drain (imgrecv_t *rx, uint8_t *got, size_t cap, const char **why)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = imgrecv_read (rx, got + n, cap - n < 1000 ? cap - n : 1000, why);
        if (k <= 0)
            return k < 0 ? -1 : (ssize_t) n;
        n += (size_t) k;
    }
}

int main (void)
{
    for (int i = 0; i < IS_KEY_BYTES; i++)
        key[i] = (uint8_t) (i * 7 + 1);
    static uint8_t plain[3 * 4096], got[4 * 4096];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t) (i * 31 + (i >> 8));

    /* 1. two strangers first, then the sender: the image whole */
    imgrecv_t *rx = listener ();
    CHECK (rx != NULL);
    CHECK (imgrecv_port (rx) > 0);
    CHECK_EQ (imgrecv_fd (rx), -1);
    int silent = dial (imgrecv_port (rx));
    int liar = dial (imgrecv_port (rx));
    uint8_t junk[IS_OVERHEAD] = { 0 };
    CHECK (write (liar, junk, sizeof junk) == (ssize_t) sizeof junk);
    int fd = dial (imgrecv_port (rx));
    imgseal_t *s = imgseal_new (key);
    send_chunk (fd, s, NULL, 0, false, false); /* chunk 0: empty, the proof */
    send_chunk (fd, s, plain, 4096, false, false);
    send_chunk (fd, s, plain + 4096, 2 * 4096, true, false);
    shutdown (fd, SHUT_WR);
    CHECK_EQ (find (rx), 0);
    CHECK (imgrecv_fd (rx) >= 0);
    const char *why = NULL;
    CHECK_EQ (drain (rx, got, sizeof got, &why), (ssize_t) sizeof plain);
    CHECK (!memcmp (got, plain, sizeof plain));
    CHECK (!imgrecv_cut (rx));
    char one;
    CHECK (read (liar, &one, 1) == 0); /* closed unheard */
    imgrecv_destroy (&rx);
    CHECK (rx == NULL);
    imgseal_destroy (&s);
    close (fd), close (silent), close (liar);

    /* 2. the stream cut before its last chunk */
    fd = open_stream (&rx, &s, key);
    send_chunk (fd, s, plain, 4096, false, false);
    close (fd);
    CHECK_EQ (find (rx), 0);
    CHECK_EQ (drain (rx, got, sizeof got, &why), -1);
    CHECK (imgrecv_cut (rx));
    CHECK (why && strstr (why, "cut"));
    imgrecv_destroy (&rx);
    imgseal_destroy (&s);

    /* 3. a chunk altered on the way */
    fd = open_stream (&rx, &s, key);
    send_chunk (fd, s, plain, 4096, true, true);
    close (fd);
    CHECK_EQ (find (rx), 0);
    why = NULL;
    CHECK_EQ (drain (rx, got, sizeof got, &why), -1);
    CHECK (!imgrecv_cut (rx));
    CHECK (why != NULL);
    imgrecv_destroy (&rx);
    imgseal_destroy (&s);

    /* 4. bytes after the last chunk */
    fd = open_stream (&rx, &s, key);
    send_chunk (fd, s, plain, 100, true, false);
    CHECK (write (fd, "x", 1) == 1);
    close (fd);
    CHECK_EQ (find (rx), 0);
    why = NULL;
    CHECK_EQ (drain (rx, got, sizeof got, &why), -1);
    CHECK (why && strstr (why, "follow"));
    imgrecv_destroy (&rx);
    imgseal_destroy (&s);

    /* 5. only a stranger with another key: no sender found */
    uint8_t other[IS_KEY_BYTES] = { 9 };
    fd = open_stream (&rx, &s, other);
    CHECK_EQ (find (rx), -1);
    CHECK_EQ (imgrecv_fd (rx), -1);
    imgrecv_destroy (&rx);
    imgseal_destroy (&s);
    close (fd);
    return tap_done ("test_imgrecv");
}
