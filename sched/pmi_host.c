/*  pmi_host.c -- the host side of a parallel job's PMI (see pmi_kvs.h):
    each rank of a glx -n job gets one end of a socketpair as its PMI_FD;
    the host frames what the rank writes there into requests
    (pmi_wire.h), relays each to the job's home as a PMI message, and
    writes the home's answer back.  It reads a rank's next request only
    once the last one is answered, as MPICH's client waits for every
    answer anyway: a rank has one request on its way at most, so nothing
    queues up.  A stream the framer refuses is closed (the rank's client
    then fails instead of waiting) and its home is told why.  Not
    public: the module's interface is jobs.h, what its files share
    jobs_impl.h. */
#include "jobs_impl.h"
#include "fd.h"
#include "pmi_wire.h"
#include "str.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Answers held for a rank that does not read them: one answer is a
   line, so this is only reached by a home that misbehaves. */
#define PMI_OUT_MAX (64u << 10)

struct pmi_link {
    int fd; /* our end; -1 once closed */
    pmi_reader_t rd;
    bool waiting; /* a request is at the home: the next waits for its answer */
    char *out;    /* the answer being written */
    size_t out_len, out_off;
    host_watch_t watch;
};

int pmi_host_open (jobs_t *self, host_job_t *h, int *job_end)
{
    int sv[2];
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pmi_link_t *l = calloc (1, sizeof *l);
    if (!l || gl_set_nonblock (sv[0]) < 0) { /* the rank's end blocks, as its client expects */
        free (l);
        close (sv[0]);
        close (sv[1]);
        return -1;
    }
    l->fd = sv[0];
    pmi_reader_init (&l->rd);
    h->pmi = l;
    *job_end = sv[1];
    return 0;
}

/* What to watch the rank's end for: its answer while one is unwritten,
   else its next request unless one is at the home; nothing once the job
   is killed. */
void pmi_host_watch (jobs_t *self, host_job_t *h)
{
    pmi_link_t *l = h->pmi;
    if (!l)
        return;
    short events = 0;
    if (l->fd >= 0 && !h->killed)
        events = l->out_len > l->out_off ? POLLOUT : l->waiting ? 0 : POLLIN;
    host_watch_set (self, &l->watch, l->fd, events);
}

static void link_close (jobs_t *self, host_job_t *h)
{
    pmi_link_t *l = h->pmi;
    host_watch_set (self, &l->watch, -1, 0);
    if (l->fd >= 0)
        close (l->fd);
    l->fd = -1;
}

void pmi_host_close (jobs_t *self, host_job_t *h)
{
    if (!h->pmi)
        return;
    link_close (self, h);
    free (h->pmi->out);
    free (h->pmi);
    h->pmi = NULL;
}

/* Tell the home about the rank's PMI: a request, or (eof) why its
   connection was closed. */
static void link_send (jobs_t *self, host_job_t *h, const char *text, size_t len, bool eof)
{
    gl_job_t msg;
    jobs_msg_init (&msg, GL_JOB_PMI, h->gpid, h->home);
    gl_strlcpy (msg.node, self->name, sizeof msg.node);
    char *copy = strndup (text, len);
    if (!copy)
        return;
    msg.text = copy;
    msg.eof = eof;
    jobs_to_node (self, h->home, &msg);
    free (copy);
}

/* Hand the home the next whole request the rank has written, if there is
   one and none is on its way; a stream the framer refuses ends here. */
static void link_next (jobs_t *self, host_job_t *h)
{
    pmi_link_t *l = h->pmi;
    if (l->waiting || l->fd < 0 || l->out_len > l->out_off)
        return;
    const char *req, *why = NULL;
    size_t len;
    int rc = pmi_reader_next (&l->rd, &req, &len, &why);
    if (rc > 0) {
        l->waiting = true;
        link_send (self, h, req, len, false);
    }
    else if (rc < 0) {
        link_send (self, h, why, strlen (why), true);
        link_close (self, h);
    }
}

static void link_read (jobs_t *self, host_job_t *h)
{
    pmi_link_t *l = h->pmi;
    while (l->fd >= 0 && !l->waiting) {
        size_t room;
        char *space = pmi_reader_space (&l->rd, &room);
        if (room == 0) { /* a whole request, or a refusal, is held */
            link_next (self, h);
            return;
        }
        ssize_t n = read (l->fd, space, room);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) { /* the rank closed its end (finalized, or gone) */
            link_close (self, h);
            return;
        }
        pmi_reader_wrote (&l->rd, (size_t) n);
        link_next (self, h);
    }
}

static void link_write (jobs_t *self, host_job_t *h)
{
    pmi_link_t *l = h->pmi;
    while (l->fd >= 0 && l->out_off < l->out_len) {
        ssize_t n = write (l->fd, l->out + l->out_off, l->out_len - l->out_off);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0) { /* the rank is gone: nobody to answer */
            link_close (self, h);
            return;
        }
        l->out_off += (size_t) n;
    }
    l->out_off = l->out_len = 0;
    link_next (self, h); /* a request it wrote before this answer came */
}

void pmi_host_reply (jobs_t *self, host_job_t *h, const gl_job_t *reply)
{
    pmi_link_t *l = h->pmi;
    if (!l || l->fd < 0 || !reply->text)
        return;
    size_t len = strlen (reply->text);
    if (l->out_len + len > PMI_OUT_MAX)
        return;
    char *out = realloc (l->out, l->out_len + len);
    if (!out)
        return;
    memcpy (out + l->out_len, reply->text, len);
    l->out = out;
    l->out_len += len;
    l->waiting = false;
    link_write (self, h);
    pmi_host_watch (self, h);
}

bool pmi_host_ready (jobs_t *self, host_job_t *h, int fd, short revents)
{
    pmi_link_t *l = h->pmi;
    if (!l || l->fd < 0 || fd != l->fd)
        return false;
    if (l->out_len > l->out_off && (revents & (POLLOUT | POLLERR | POLLHUP)))
        link_write (self, h);
    else if (revents & (POLLIN | POLLERR | POLLHUP))
        link_read (self, h);
    return true;
}
