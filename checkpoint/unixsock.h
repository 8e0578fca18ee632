/*  unixsock.h -- AF_UNIX socket pairs whose both ends are the job's,
    moved as pipes between the job's own processes are: asyncio's
    self-pipe (a socketpair in one process), a parent and its child
    talking through socketpair(2), multiprocessing's duplex Pipe.

    Which socket an end is connected to is the kernel's secret but for
    sock_diag (NETLINK_SOCK_DIAG, UNIX_DIAG_PEER), which any process may
    ask about the sockets of its network namespace: the capture pairs
    each end with the one its peer's inode names, in this process or,
    for a tree, in another of the job's (tree.c).  The bytes queued in an
    end are read without being taken, while the job is parked: a stream's
    with MSG_PEEK at once, datagrams and SEQPACKET records one after the
    other under SO_PEEK_OFF (the program's setting put back), each
    framed in the image by its length (u32).  What says who is reading
    (the end whose reading the other end shut with shutdown(2)) rides
    along; the restorer makes the pair with socketpair(2), writes each
    end's bytes through the other (its send buffer raised for that, and
    set back) and shuts down what was shut.  An end whose peer was closed
    is made as a pair whose other end is closed after the refill: the
    same bytes, then end of file.

    Refused, with the reason: a socket bound to a name or listening, one
    connected to a process outside the job, bytes queued with descriptors
    (SCM_RIGHTS) or for a reader that takes credentials (SO_PASSCRED),
    an SO_PEEK_OFF the program set, more than IMG_PIPE_MAX bytes in one
    end.

    Used by capture.c in the shim (no allocation: a handler may run it)
    and by restore.c and restore_tree.c in glrestore. */
#ifndef GL_UNIXSOCK_H
#define GL_UNIXSOCK_H

#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What socket fd (its inode ino) is, into f (kind IMG_F_USOCK, fsize
   the inode, pos its peer's or 0, mtime_sec its type, mtime_nsec
   IMG_US_*, stream its send buffer): 0, or -1 with the reason in why
   when it is a unix socket that cannot move, or no unix socket at all
   (not_unix set then: the caller says what it is). */
int usock_judge (int fd, uint64_t ino, img_fd_t *f, bool *not_unix, char *why, size_t whylen);

/* The bytes queued in fd (of type, as usock_judge read it) now, into
   data (cap bytes, datagrams framed): their length in *len; 0, or -1
   with the reason.  Nothing is taken out of the socket. */
int usock_peek (int fd, uint32_t type, uint8_t *data, size_t cap, uint32_t *len, char *why,
                size_t whylen);

/* The pair of a and b (b: its peer, NULL when it was closed) made
   again: out[0] a's end, out[1] b's (-1 when b is NULL), both
   close-on-exec, each holding the bytes its record carries (a record
   with no bytes: none; the first record of a socket carries them) and
   shut down as it was; 0, or -1 with the reason. */
int usock_make (const img_fd_t *a, const img_fd_t *b, int out[2], char *err, size_t errlen);

#endif
