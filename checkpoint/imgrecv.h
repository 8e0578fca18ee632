/*  imgrecv.h -- the taking end of a sealed image stream (imgseal.h): a
    listener that takes the first connection whose first chunk opens
    under the stream's key, then the image's bytes from it, opened.

    Whoever listens for an image sent straight to it uses this: a
    move's or a restart's restorer (glrestore), and `glpeer checkpoint
    GPID FILE`, whose image the job's writer (or its host's agent)
    seals onto a connection to it rather than through the agents.  The first chunk is empty and proves the key: a
    stranger that connects first is closed unheard, one that connects
    and says nothing is dropped after IMGRECV_HELLO_MS, and neither
    delays the real sender, heard at the same time.

    Waiting is the caller's loop (it may watch other descriptors too):
    imgrecv_pollfds fills what to poll, imgrecv_step takes what poll
    found.  Once the sender is found, imgrecv_read gives the plaintext
    as read(2) would, chunk after chunk, until the last chunk; a chunk
    forged, altered, out of order or from another stream is an error,
    and a connection that ends before the last chunk is a cut stream
    (imgrecv_cut). */
#ifndef GL_IMGRECV_H
#define GL_IMGRECV_H

#include "imgseal.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define IMGRECV_HELLO_MS 5000 /* a connection's first chunk, at most */
#define IMGRECV_POLL_MAX 17   /* the listener and 16 connections not heard yet */

typedef struct imgrecv_t imgrecv_t;

/* Listens on sa (port 0: one the kernel picks) for the stream sealed
   under key (copied, wiped at the end).  NULL with err. */
imgrecv_t *imgrecv_new (const struct sockaddr *sa, socklen_t len, const uint8_t key[IS_KEY_BYTES],
                        char *err, size_t errlen);

void imgrecv_destroy (imgrecv_t **self_p);

/* The port it listens on. */
unsigned imgrecv_port (const imgrecv_t *self);

/* What to poll for POLLIN while the sender is not found yet (at most
   IMGRECV_POLL_MAX): the listener and each connection not heard yet,
   those silent for IMGRECV_HELLO_MS dropped first.  Returns how many. */
size_t imgrecv_pollfds (imgrecv_t *self, struct pollfd *p, uint64_t now_ms);

/* What poll said of those n: new connections taken, first chunks read.
   1 when the sender is found (its connection now blocking, the
   listener closed), 0 not yet, -1 with err (out of memory). */
int imgrecv_step (imgrecv_t *self, const struct pollfd *p, size_t n, uint64_t now_ms, char *err,
                  size_t errlen);

/* The sender's connection, -1 until it is found. */
int imgrecv_fd (const imgrecv_t *self);

/* The image's next bytes (at most n) into buf, once the sender is found:
   how many, 0 after the last chunk, -1 on an error (*why says it, or
   NULL: errno does). */
ssize_t imgrecv_read (imgrecv_t *self, void *buf, size_t n, const char **why);

/* Did the connection end before the stream's last chunk? */
bool imgrecv_cut (const imgrecv_t *self);

#endif
