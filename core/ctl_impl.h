/*  ctl_impl.h -- what the two halves of the control socket share.  NOT
    PUBLIC: only core/ctl.c (the agent's side, on its loop) and
    core/ctl_client.c (the clients' side, blocking, with no loop, which
    libglunix carries into programs) include it; everything else uses
    ctl.h. */
#ifndef GL_CTL_IMPL_H
#define GL_CTL_IMPL_H

#include "err.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static inline int ctl_addr (const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
    memset (sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen (path) >= sizeof sa->sun_path)
        return gl_err (err, errlen, "%s: socket path too long (max %zu)", path,
                       sizeof sa->sun_path - 1);
    memcpy (sa->sun_path, path, strlen (path) + 1);
    return 0;
}

/* A frame's length: 4 bytes, big-endian. */
static inline void ctl_put_len (uint8_t *p, uint32_t n)
{
    p[0] = (uint8_t) (n >> 24);
    p[1] = (uint8_t) (n >> 16);
    p[2] = (uint8_t) (n >> 8);
    p[3] = (uint8_t) n;
}

static inline uint32_t ctl_get_len (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

#endif
