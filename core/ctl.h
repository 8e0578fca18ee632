/*  ctl.h -- the local control socket between clients and their agent.

    A Unix stream socket <runtime_dir>/glpeer.sock, and every connection
    identified with SO_PEERCRED when it is accepted.  A user's own agent
    (the default) lives in a directory only its user can enter and serves
    only that user and root; a machine's agent (ctl_server_serve_all, the
    agent started by root) opens the socket to every local user and tells
    its owner who each connection is (ctl_server_peer, ctl_server_caller),
    so that what a user may do is decided by who the kernel says they are,
    never by what the client claims.  Each frame is a 4-byte big-endian
    length and a gl_ctl_req_t / gl_ctl_resp_t from wire.h.

    The server side never blocks: it registers its socket and its clients
    with the owner's loop (loop.h), and reads and writes each client as
    the loop finds it ready, so a stuck client can't stall the agent. */
#ifndef GL_CTL_H
#define GL_CTL_H

#include "loop.h"
#include "wire.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GL_CTL_FRAME_MAX (16u << 20)

typedef struct ctl_server_t ctl_server_t;

/* Who is at the other end of a connection: the kernel's word, read with
   SO_PEERCRED when it was accepted. */
typedef struct {
    pid_t pid;
    uid_t uid;
    gid_t gid;
} ctl_peer_t;

/* Answer one request; fill resp (resp->text malloc'ed). */
typedef void (ctl_handler_fn) (void *arg, const gl_ctl_req_t *req, gl_ctl_resp_t *resp);

/* Listen at socket_path, served by loop.  NULL with a message in err. */
ctl_server_t *ctl_server_new (gl_loop_t *loop, const char *socket_path, ctl_handler_fn *handler,
                              void *arg, char *err, size_t errlen);

/* Serve every local user, not only our own user and root: the socket
   becomes mode 0666 (its directory must let them in too).  0, or -1 with
   a message. */
int ctl_server_serve_all (ctl_server_t *self, char *err, size_t errlen);

/* Who sent the request the handler is answering; NULL outside it. */
const ctl_peer_t *ctl_server_caller (const ctl_server_t *self);

/* Who holds stream conn: 0, or -1 if it is gone. */
int ctl_server_peer (const ctl_server_t *self, uint64_t conn, ctl_peer_t *peer);

/* Streams: a client whose request is "stream" keeps its connection, and
   frames then flow both ways until either side closes (glx uses this for
   a job's stdio).  on_open may refuse (return -1 and set *why); on_frame
   returning -1 drops the client; on_closed is called once for a stream
   that the client ended or that failed, never for one the owner closed
   with ctl_server_close (so it never runs inside the owner's own call).
   Connection ids are never reused. */
typedef int (ctl_open_fn) (void *arg, uint64_t conn, const gl_ctl_req_t *req, const char **why);
typedef int (ctl_frame_fn) (void *arg, uint64_t conn, const uint8_t *frame, size_t len);
typedef void (ctl_closed_fn) (void *arg, uint64_t conn);
void ctl_server_set_stream (ctl_server_t *self, ctl_open_fn *on_open, ctl_frame_fn *on_frame,
                            ctl_closed_fn *on_closed);
/* Queue a frame to a stream; -1 if it is gone.  The caller bounds what it
   queues (flow control), so the queue has no limit of its own. */
int ctl_server_send (ctl_server_t *self, uint64_t conn, const uint8_t *frame, size_t len);
/* Close a stream once what is queued has been written. */
void ctl_server_close (ctl_server_t *self, uint64_t conn);
/* Bytes queued to a stream but not yet written (-1 if it is gone). */
long ctl_server_pending (ctl_server_t *self, uint64_t conn);
void ctl_server_destroy (ctl_server_t **self_p);

/* Frames on a connected stream socket, for clients: 4-byte big-endian
   length then the bytes.  ctl_frame_read returns the frame (malloc'ed) or
   NULL at end or error; ctl_frame_write returns 0 or -1.  Blocking. */
uint8_t *ctl_frame_read (int fd, size_t *len);
int ctl_frame_write (int fd, const uint8_t *frame, size_t len);
/* Connect to an agent's socket: the fd, or -1 with a message that names
   the cause: no agent there, or one this user may not reach (whose). */
int ctl_connect (const char *socket_path, char *err, size_t errlen);

/* Client: send one request and wait for the answer (timeout in ms).
   Returns 0, or -1 with a message in err ("no agent at PATH", ...). */
int ctl_call (const char *socket_path, const gl_ctl_req_t *req, gl_ctl_resp_t *resp, int timeout_ms,
              char *err, size_t errlen);

#endif
