/*  ctl.h -- the local control socket between clients and their agent.

    A Unix stream socket <runtime_dir>/glpeer.sock, in a directory only the
    agent's user can enter, and every connection checked with SO_PEERCRED:
    only the agent's own user (or root) is served.  Each frame is a 4-byte
    big-endian length and a gl_ctl_req_t / gl_ctl_resp_t from wire.h.

    The server side never blocks: clients are read and written as the poll
    loop finds them ready, so a stuck client can't stall the agent. */
#ifndef GL_CTL_H
#define GL_CTL_H

#include "wire.h"
#include <stddef.h>

#define GL_CTL_FRAME_MAX (16u << 20)

typedef struct ctl_server_t ctl_server_t;

/* Answer one request; fill resp (resp->text malloc'ed). */
typedef void (ctl_handler_fn) (void *arg, const gl_ctl_req_t *req, gl_ctl_resp_t *resp);

ctl_server_t *ctl_server_new (const char *socket_path, ctl_handler_fn *handler, void *arg,
                              char *err, size_t errlen);
void ctl_server_destroy (ctl_server_t **self_p);

/* The fds to poll and what for (POLLIN/POLLOUT); at most `cap` of them. */
size_t ctl_server_fds (ctl_server_t *self, int *fds, short *events, size_t cap);
/* Call after poll with each fd that had events. */
void ctl_server_ready (ctl_server_t *self, int fd, short revents);

/* Client: send one request and wait for the answer (timeout in ms).
   Returns 0, or -1 with a message in err ("no agent at PATH", ...). */
int ctl_call (const char *socket_path, const gl_ctl_req_t *req, gl_ctl_resp_t *resp,
              int timeout_ms, char *err, size_t errlen);

#endif
