/*  jobs_ckpt.c -- checkpoints at the host, the host's side of
    checkpoint/ckpt_proto.h (see jobs.h for the whole).

    Asking.  A CKPT from the job's home (a probe, a checkpoint to a file,
    a move) becomes GL_CKPT_SIGNO queued to one thread of the job's
    process, its value the request (core/sig.h: sent to the process as a
    whole, it could wake a thread waiting in epoll_wait that another
    thread then took it from, and that wait returned EINTR unasked).  Only a process whose shim
    catches that signal is asked (/proc/PID/status, SigCgt): to any other
    the signal's default action would be death.  The shim connects to the
    agent's checkpoint socket; the kernel's word (SO_PEERCRED) must name
    the job's process and user, or the connection is closed unheard.

    Answers.  REFUSE and MOVABLE end it; AGAIN (a refusal for an instant
    of the job's) ends this ask, and the job is asked again a little
    later (CK_AGAIN), save a probe, whose answer it is.  A checkpoint to
    a file, or one its home keeps, is asked to go on (GL_CKPT_GO_ON):
    the shim's SNAP says what the job's pipes held and the job already
    runs on; from a shim that cannot see its streams comes a plain SNAP,
    and the host says GO.  Either way the image follows, in IMAGEs under
    the receiver's credit.  For a move the host counts what the job's
    pipes hold (FIONREAD: the output it wrote before the
    snapshot, for it writes nothing while parked) and says HOLD: the
    process stays parked while its image goes to the new host.  A move
    that fails lets it go by closing the connection; one that succeeds
    kills it and closes the connection only once its exit is reaped.  So
    the connection of a move stays open until then, its image's end being
    the writer's shutdown (ckpt_proto.h).

    Kept checkpoints.  For one its home keeps (jobs_recover.c) the host
    knows where each stream stood at the snapshot: the output bytes it
    read from the pipes plus what they held are what the job wrote
    before it, and the stdin bytes written into its pipe less what the
    pipe held are what it read.  From its signal to SNAP the host reads
    none of the job's output and writes none of its stdin
    (ckpt_holds_streams), so what it read and wrote is what it had at
    the signal, and what the pipes held is the shim's held= (or, after a
    plain SNAP, what they hold now, the job parked until GO).  Exact,
    with no pause added.  The counts go with the image's end; a refusal
    or a failure goes as an image's end with its reason.

    Restarts.  A RUN with restart runs the restorer with one end of a
    socketpair as its fd 3 (GLUNIX_IMAGE_FD=3); IMAGEs go into the other
    end under credit granted to whoever sent them, and the image's end is
    a shutdown of our side.  When the restorer lets go of its end and has
    not said a failure (GL_RESTORE_REFUSED, _CUT or _AGAIN on it) within
    RESTORE_SETTLE_MS (at once when it wrote GL_RESTORE_SETTLED first, as
    a one-process restorer does), the process is the job's again; so too
    when it has read the whole image (nothing left in the socket) and
    lives on RESTORE_READ_MS, for a restorer that keeps the descriptor
    (it refuses an image before that, once read and checked).  A failure
    is the restorer's byte, never its exit status, which a restored job
    may give too.  Until then the job's output waits in its pipes: a
    failed restore's reason, glrestore's line on stderr, goes to the home
    with the failure (a move's MOVE FAILED, glx --restart's FAILED: the
    job could not start), not to glx as the job's output.

    A move's own link.  When the home hands a move's key and the new
    host's address in its CKPT, the old host connects there first (the
    job is signalled once the stream's first chunk is out, so a new host
    that cannot be reached stops nothing) and, from SNAP on, the image
    goes sealed (checkpoint/imgseal.h) on that connection, by the job's
    own writer (below) or, where it cannot seal, read from the shim's
    socket and sealed here: no IMAGE, no ZeroMQ, nothing through the new
    host's agent; TCP's own window is the flow control.  At the new host
    the home's EXPECT makes the agent hand the restorer the key and the
    address to listen on; the restorer says its port, which goes to the
    home (LISTEN), which then asks the old host (ckpt_proto.h, "A move's
    stream").  Failures are a move's like any other: the connection
    refused or broken at the old host is its MOVE FAILED, a stream cut
    or forged the restorer's exit.  A restart from a file (glx
    --restart) takes the same way at its new host, glx being the
    sender: the home's EXPECT comes once the restorer started, and the
    home hands the LISTEN on to glx.

    The job's writer seals.  A shim whose hello says seal=1 (its writer
    can seal: the CPU has the instructions) is handed the connection and
    the key on the spot (SEAL, the descriptor passed with it): its
    writer seals the image from chunk 1 on straight onto the
    connection, and this agent reads none of it, only the writer's END
    (the last chunk is out) or UNSENT with why the connection broke.
    The agent keeps its copy of the connection until then: a move given
    up shuts it down, which stops a writer still at it.  A move that
    goes the agents' way answers such a hello RELAY. */
#include "jobs_impl.h"
#include "ckpt_proto.h"
#include "err.h"
#include "fd.h"
#include "imgseal.h"
#include "log.h"
#include "str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define CKPT_ANSWER_MS    5000 /* the shim's answer, from the signal to SNAP */
#define RESTORE_SETTLE_MS 100  /* a restorer that let go of its image and lives on runs */
#define RESTORE_READ_MS   1000 /* one that read it all and lives on this long, too */

/* signal sent, connected, greeted, parked (a move's image waiting), image
   going, image gone (a move's: the home says DONE or RESUME); refused
   for a moment, to be asked again (CK_AGAIN) */
enum { CK_SIGNALLED = 1, CK_HELLO, CK_ANSWER, CK_PARKED, CK_IMAGE, CK_SENT, CK_AGAIN };

/* A request that reaches a job its user stopped: its answer would never come. */
#define STOPPED_WHY                                                                         \
    "it is stopped (SIGSTOP or SIGTSTP), and a stopped process cannot answer: continue it " \
    "first (fg, or glpeer kill -CONT)"

/* A refusal the shim says as AGAIN (a child ended and its parent has
   not waited for it yet, a descriptor opened or closed meanwhile) is for
   an instant of the job's: the job runs on, and is asked again this
   often, this many times, before the refusal is its answer. */
#define CKPT_AGAIN_MS 150
#define CKPT_TRIES    8

struct ckpt_req {
    uint8_t ask;                 /* gl_ckpt_ask_t */
    int state;                   /* CK_* */
    char asker[GL_NAME_MAX + 1]; /* who hears the answer */
    uint64_t asker_seq;          /* its number for the question */
    char to[GL_NAME_MAX + 1];    /* where the image goes */
    int fd;                      /* the shim's connection, or -1 */
    uint64_t deadline_ms;        /* for the answer, until SNAP; CK_AGAIN: when to ask */
    uint8_t tries;               /* asked again after an AGAIN */
    uint64_t credit;             /* image bytes we may still send */
    uint64_t seq;                /* the next IMAGE's number */
    uint64_t at[3];              /* a kept one's: stdin read, output written */
    host_watch_t w;
    /* a move's image straight to the new host's restorer, sealed */
    int net;         /* the connection, or -1: in IMAGEs */
    bool net_up;     /* connected */
    imgseal_t *seal; /* under the move's key */
    uint8_t *out;    /* one sealed chunk: IS_OVERHEAD + NET_CHUNK */
    size_t out_len;  /* its bytes not sent yet, from out_off */
    size_t out_off;
    bool unsignalled; /* the job is asked only once the connection is made */
    host_watch_t nw;
    uint8_t key[IS_KEY_BYTES]; /* for the shim (SEAL) */
    bool writer_seals;         /* the job's writer seals onto net: we read no image */
    bool writer_done;          /* its END came */
    /* told HOLD: closing the connection without a GO first kills the
       process (ckpt_proto.h), so letting it go on says GO */
    bool held;
};

#define NET_CHUNK (256u << 10) /* image bytes a sealed chunk carries at most */

/* ---- the socket ---------------------------------------------------------------- */

int jobs_ckpt_listen (jobs_t *self, const char *path, bool all_users, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof sa.sun_path)
        return gl_err (err, errlen, "%s: too long for a unix socket's path", path);
    gl_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return gl_err (err, errlen, "checkpoint socket: %s", strerror (errno));
    unlink (path); /* the caller holds the agent's lock: a dead agent's */
    mode_t old = umask (0177);
    int rc = bind (fd, (struct sockaddr *) &sa, sizeof sa);
    umask (old);
    /* A machine's agent serves every user's jobs; who may speak is
       checked per connection (SO_PEERCRED against the job). */
    if (rc == 0 && all_users)
        rc = chmod (path, 0666);
    if (rc || listen (fd, 64)) {
        gl_err (err, errlen, "%s: %s", path, strerror (errno));
        close (fd);
        return -1;
    }
    self->ckpt_fd = fd;
    gl_strlcpy (self->ckpt_path, path, sizeof self->ckpt_path);
    host_watch_set (self, &self->ckpt_watch, fd, POLLIN);
    return 0;
}

void jobs_ckpt_stats (const jobs_t *self, jobs_ckpt_stats_t *out)
{
    *out = self->ckpt_stats;
}

void jobs_set_restorer (jobs_t *self, const char *path)
{
    gl_strlcpy (self->restorer, path ? path : "", sizeof self->restorer);
}

void jobs_set_addr (jobs_t *self, const char *endpoint)
{
    self->addr[0] = '\0';
    if (!endpoint || strncmp (endpoint, "tcp://", 6))
        return;
    const char *host = endpoint + 6, *colon = strrchr (host, ':');
    char ip[INET6_ADDRSTRLEN + 2];
    size_t len = colon ? (size_t) (colon - host) : 0;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        host++, len -= 2;
    if (!len || len >= sizeof ip)
        return;
    memcpy (ip, host, len);
    ip[len] = '\0';
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton (AF_INET, ip, &a4) == 1
            ? a4.s_addr == htonl (INADDR_ANY)
            : inet_pton (AF_INET6, ip, &a6) != 1 || IN6_IS_ADDR_UNSPECIFIED (&a6))
        return; /* a wildcard or a name: no address a peer can reach */
    gl_strlcpy (self->addr, ip, sizeof self->addr);
}

/* ---- answers -------------------------------------------------------------------- */

bool ckpt_probing (const host_job_t *h)
{
    return h->ck && h->ck->ask == GL_CKPT_ASK_PROBE;
}

/* A kept checkpoint's streams stand still from the signal to SNAP: what
   was read and written by then is what the shim's held= pairs with. */
bool ckpt_holds_streams (const host_job_t *h)
{
    return h->ck && h->ck->ask == GL_CKPT_ASK_KEEP && h->ck->state <= CK_ANSWER;
}

static void net_close (jobs_t *self, ckpt_req_t *ck)
{
    host_watch_set (self, &ck->nw, -1, 0);
    /* a writer still sealing onto it holds its own copy: the connection
       shut down stops it (the move was given up) */
    if (ck->net >= 0 && ck->writer_seals && !ck->writer_done)
        shutdown (ck->net, SHUT_RDWR);
    if (ck->net >= 0)
        close (ck->net);
    explicit_bzero (ck->key, sizeof ck->key);
    ck->net = -1;
    imgseal_destroy (&ck->seal);
    free (ck->out);
    ck->out = NULL;
    ck->out_len = 0;
}

/* One line to the shim (never SIGPIPE: it may be gone). */
static int say (int fd, const char *line)
{
    size_t len = strlen (line);
    return send (fd, line, len, MSG_NOSIGNAL) == (ssize_t) len ? 0 : -1;
}

/* The shim's connection only: a request refused for an instant keeps
   its link to the new host for when it is asked again. */
static void shim_close (jobs_t *self, ckpt_req_t *ck)
{
    host_watch_set (self, &ck->w, -1, 0);
    if (ck->fd >= 0 && ck->held)
        (void) say (ck->fd, "GO\n"); /* it goes on: a bare close would end it */
    ck->held = false;
    if (ck->fd >= 0)
        close (ck->fd);
    ck->fd = -1;
}

static void req_close (jobs_t *self, ckpt_req_t *ck)
{
    shim_close (self, ck);
    net_close (self, ck);
}

void ckpt_free (jobs_t *self, host_job_t *h)
{
    if (h->ck) {
        req_close (self, h->ck);
        free (h->ck);
        h->ck = NULL;
    }
    host_watch_set (self, &h->img_watch, -1, 0);
    if (h->img_fd >= 0)
        close (h->img_fd);
    h->img_fd = -1;
    free (h->img);
    h->img = NULL;
}

/* The end of a request, told to whoever waits: ok (text NULL) or why
   not.  A probe keeps its answer for glpeer ps -v. */
static void req_end (jobs_t *self, host_job_t *h, const char *why)
{
    ckpt_req_t *ck = h->ck;
    if (!ck)
        return;
    if (ck->state == CK_AGAIN) /* refused a moment ago: nothing parked */
        ck->state = CK_SIGNALLED;
    switch (ck->ask) {
        case GL_CKPT_ASK_PROBE:
            gl_strlcpy (h->movable, why ? why : "yes", sizeof h->movable);
            for (char *c = h->movable; *c; c++)
                if (*c == '\t' || *c == '\n')
                    *c = ' ';
            break;
        case GL_CKPT_ASK_KEEP:
            if (why) { /* its home hears why as the image's end */
                char text[GL_JOB_TEXT_MAX + 1];
                snprintf (text, sizeof text, "%s", why);
                gl_job_t img;
                jobs_msg_init (&img, GL_JOB_IMAGE, h->gpid, h->home);
                img.seq = ck->seq++;
                img.eof = true;
                img.text = text;
                jobs_to_node (self, ck->to, &img);
            }
            break;
        case GL_CKPT_ASK_FILE:
            if (why) {
                char text[GL_JOB_TEXT_MAX + 1];
                snprintf (text, sizeof text, "refused: %s", why);
                if (ck->state == CK_IMAGE) { /* the image was under way: cut it */
                    gl_job_t img;
                    jobs_msg_init (&img, GL_JOB_IMAGE, h->gpid, h->home);
                    img.seq = ck->seq++;
                    img.eof = true;
                    img.text = text;
                    jobs_to_node (self, ck->to, &img);
                }
                else {
                    gl_job_t reply = {
                        .type = GL_JOB_LIST_REPLY, .seq = ck->asker_seq, .eof = true, .code = 1
                    };
                    reply.text = text;
                    gl_strlcpy (reply.node, self->name, sizeof reply.node);
                    jobs_to_node (self, ck->asker, &reply);
                }
            }
            break;
        case GL_CKPT_ASK_MOVE:
            if (why && ck->state < CK_PARKED && h->suspended) {
                /* its owner is back: it stays stopped, and is not asked again */
                exec_signal (h->exec, SIGSTOP);
                h->unmovable = true;
            }
            if (why) {
                gl_job_t m;
                jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
                m.code = ck->state >= CK_PARKED ? GL_MOVE_FAILED : GL_MOVE_REFUSED;
                m.text = (char *) why;
                host_send (self, h, &m);
                if (h->move == MOVE_PARKED) /* it stays: closing lets it go on */
                    h->move = MOVE_NONE;
            }
            break;
    }
    req_close (self, ck);
    free (ck);
    h->ck = NULL;
}

/* The request's signal to the job's process: NULL, or why it could not
   be sent. */
static const char *req_signal (host_job_t *h, ckpt_req_t *ck)
{
    /* only a move parks the job for an answer: the rest go on at once */
    int value = ck->ask == GL_CKPT_ASK_PROBE  ? GL_CKPT_PROBE
                : ck->ask == GL_CKPT_ASK_MOVE ? GL_CKPT_CONTINUE
                                              : GL_CKPT_GO_ON;
    if (exec_sigqueue (h->exec, GL_CKPT_SIGNO, value))
        return errno == ESRCH ? "its process has ended" : "cannot signal its process";
    return NULL;
}

/* Is the job's process ready for our signal?  Its shim catches it; to
   anything else it would be a kill. */
static bool shim_listens (int pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return false;
    bool caught = false;
    while (fgets (line, sizeof line, f))
        if (!strncmp (line, "SigCgt:", 7)) {
            unsigned long long mask = strtoull (line + 7, NULL, 16);
            caught = (mask >> (GL_CKPT_SIGNO - 1)) & 1;
            break;
        }
    fclose (f);
    return caught;
}

bool ckpt_own_addr (const jobs_t *self, unsigned port, char *out, size_t size)
{
    if (!self->addr[0])
        return false;
    int n = snprintf (out, size, strchr (self->addr, ':') ? "[%s]:%u" : "%s:%u", self->addr, port);
    return n > 0 && (size_t) n < size;
}

/* ---- an image's own link, at the old host ------------------------------------------------ */

/* Who takes an image sent straight: a move's new host's restorer, or
   the glpeer checkpoint that asked for it in a file. */
static const char *net_peer (const ckpt_req_t *ck)
{
    return ck->ask == GL_CKPT_ASK_MOVE ? "the new host's restorer" : "glpeer checkpoint";
}

/* The connection to the image's taker, begun before the job is asked,
   its first (empty) chunk waiting to go: NULL, or why not. */
static const char *net_start (jobs_t *self, ckpt_req_t *ck, const gl_job_t *ask)
{
    static char why[160];
    struct sockaddr_storage sa;
    socklen_t len;
    if (!gl_addr_parse (ask->move_addr, &sa, &len))
        return "the address for the image is not IP:PORT";
    ck->seal = imgseal_new (ask->move_key);
    memcpy (ck->key, ask->move_key, sizeof ck->key);
    ck->out = malloc (IS_OVERHEAD + NET_CHUNK);
    if (!ck->seal || !ck->out)
        return "out of memory";
    ck->out_off = 0;
    ck->out_len = imgseal_seal (ck->seal, NULL, 0, false, ck->out);
    ck->net = socket (sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!ck->out_len || ck->net < 0 ||
        (connect (ck->net, (struct sockaddr *) &sa, len) && errno != EINPROGRESS)) {
        snprintf (why, sizeof why, "cannot connect to %s at %s: %s", net_peer (ck), ask->move_addr,
                  strerror (errno));
        return why;
    }
    host_watch_set (self, &ck->nw, ck->net, POLLOUT);
    return NULL;
}

/* The image's last chunk is out on its own link (sealed by us, or by
   the job's writer: by says which).  A move's process stays parked
   until the home says DONE or RESUME; a file's request is done, the job
   runs on. */
static void net_sent (jobs_t *self, host_job_t *h, const char *by)
{
    ckpt_req_t *ck = h->ck;
    gl_log (GL_LOG_INFO, "%s of %s%s: its image went straight to %s",
            ck->ask == GL_CKPT_ASK_MOVE ? "move" : "checkpoint", h->gpid, by, ck->to);
    net_close (self, ck);
    if (ck->ask != GL_CKPT_ASK_MOVE) {
        req_end (self, h, NULL);
        return;
    }
    host_watch_set (self, &ck->w, -1, 0);
    ck->state = CK_SENT;
}

/* The image, sealed, to the new host's restorer: what the shim's socket
   holds, as far as the connection takes it now (and at most NET_BURST
   chunks, so that the loop serves the rest meanwhile).  Its end sealed
   and sent, the connection closes and the process stays parked until
   the home says DONE or RESUME. */
#define NET_BURST 16
static void net_pump (jobs_t *self, host_job_t *h)
{
    ckpt_req_t *ck = h->ck;
    static char why[256];
    if (ck->writer_seals) /* the job's writer sends, not us */
        return;
    for (int burst = 0; burst < NET_BURST;) {
        if (ck->out_len) {
            ssize_t n = send (ck->net, ck->out + ck->out_off, ck->out_len, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                host_watch_set (self, &ck->w, -1, 0);
                host_watch_set (self, &ck->nw, ck->net, POLLOUT);
                return;
            }
            if (n < 0 && ck->unsignalled && ck->ask == GL_CKPT_ASK_FILE) {
                /* nothing is stopped yet: the image goes through the agents */
                gl_log (GL_LOG_INFO,
                        "checkpoint of %s: cannot connect to glpeer checkpoint at %s: %s; its "
                        "image goes through the agents",
                        h->gpid, ck->to, strerror (errno));
                net_close (self, ck);
                ck->unsignalled = false;
                const char *fail = req_signal (h, ck);
                if (fail)
                    req_end (self, h, fail);
                return;
            }
            if (n < 0) {
                snprintf (why, sizeof why,
                          ck->unsignalled ? "cannot connect to %s's restorer: %s"
                                          : "the image's connection to %s broke: %s",
                          ck->to, strerror (errno));
                req_end (self, h, why);
                return;
            }
            ck->out_off += (size_t) n;
            ck->out_len -= (size_t) n;
            continue;
        }
        if (ck->state != CK_IMAGE) { /* the first chunk is out; the image is not yet */
            host_watch_set (self, &ck->nw, ck->net, 0);
            const char *fail = NULL;
            if (ck->unsignalled) { /* connected: now the job is asked */
                ck->unsignalled = false;
                fail = req_signal (h, ck);
            }
            if (fail)
                req_end (self, h, fail);
            return;
        }
        if (imgseal_ended (ck->seal)) {
            net_sent (self, h, "");
            return;
        }
        ssize_t n = read (ck->fd, ck->out + IS_HEAD, NET_CHUNK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            host_watch_set (self, &ck->nw, ck->net, 0);
            host_watch_set (self, &ck->w, ck->fd, POLLIN);
            return;
        }
        if (n < 0) {
            req_end (self, h, "the image's connection broke");
            return;
        }
        self->ckpt_stats.bytes_read += (uint64_t) n;
        /* sealed where it was read: the chunk's head goes before it */
        ck->out_off = 0;
        ck->out_len = imgseal_seal (ck->seal, ck->out + IS_HEAD, (size_t) n, n == 0, ck->out);
        if (!ck->out_len) {
            req_end (self, h, "the image could not be sealed");
            return;
        }
        burst++;
    }
    host_watch_set (self, &ck->w, -1, 0);
    host_watch_set (self, &ck->nw, ck->net, POLLOUT);
}

/* The answer to a hello that says seal=1 (ckpt_proto.h): the move's
   own link and its key for the job's writer (SEAL, the descriptor
   passed with it), when this is a move with its link made; else RELAY.
   A send that fails is a shim that hung up: its answer, or its end,
   comes next. */
static void seal_answer (jobs_t *self, ckpt_req_t *ck)
{
    ck->writer_seals = false;
    if ((ck->ask != GL_CKPT_ASK_MOVE && ck->ask != GL_CKPT_ASK_FILE) || ck->net < 0 ||
        ck->unsignalled || ck->out_len) {
        (void) say (ck->fd, "RELAY\n");
        return;
    }
    char line[sizeof "SEAL " + 2 * IS_KEY_BYTES + 1];
    int n = snprintf (line, sizeof line, "SEAL ");
    for (int i = 0; i < IS_KEY_BYTES; i++)
        n += snprintf (line + n, sizeof line - (size_t) n, "%02x", ck->key[i]);
    line[n++] = '\n';
    (void) gl_send_fds (ck->fd, line, (size_t) n, &ck->net, 1);
    explicit_bzero (line, sizeof line);
    ck->writer_seals = true;
    host_watch_set (self, &ck->nw, -1, 0);
}

/* Does the hello's text (after "GLCKPT 1 ") hold the word w? */
static bool hello_says (const char *text, const char *w)
{
    size_t n = strlen (w);
    for (const char *p = text; (p = strstr (p, w)); p += n)
        if ((p == text || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}

void ckpt_start (jobs_t *self, host_job_t *h, const gl_job_t *ask, const char *asker, uint64_t now)
{
    const char *why = NULL;
    if (h->ck || h->move || h->held || h->img_fd >= 0)
        why = CKPT_BUSY_WHY;
    else if (h->killed)
        why = "it is ending";
    else if (!shim_listens (h->pid))
        why = "its process has no checkpoint handler (no shim in it: glx --no-shim, a static "
              "program, or it has not started yet)";
    else if (h->user_stopped || (!h->suspended && exec_stopped (h->exec)))
        /* a stopped process takes no signal: the request would time out */
        why = STOPPED_WHY;
    /* a move takes a job on a terminal (glx -t) along: the new host's
       restorer stands on a new pty, given the old one's state (IMG_F_TTY) */
    else if (h->pty && ask->code == GL_CKPT_ASK_FILE)
        /* glx --restart gives a job pipes, never a terminal: the program
           would find isatty() false, its line discipline gone */
        why = "it runs on a terminal (glx -t), which a restart cannot give back";
    else if (h->suspended && ask->code == GL_CKPT_ASK_KEEP)
        why = "it is stopped (its host's owner is back): its last checkpoint stays";
    else if (h->suspended && ask->code == GL_CKPT_ASK_MOVE)
        exec_signal (h->exec, SIGCONT); /* stopped for its owner: it must answer */
    ckpt_req_t *ck = calloc (1, sizeof *ck);
    if (!ck)
        return;
    ckpt_req_t *busy = h->ck; /* answered apart: the one under way goes on */
    ck->ask = (uint8_t) ask->code;
    ck->fd = -1;
    ck->net = -1;
    ck->state = CK_SIGNALLED;
    gl_strlcpy (ck->asker, asker, sizeof ck->asker);
    ck->asker_seq = ask->seq;
    /* a move's image goes to the new host, if the home named it already */
    gl_strlcpy (ck->to, ask->to[0] || ck->ask == GL_CKPT_ASK_MOVE ? ask->to : asker, sizeof ck->to);
    ck->deadline_ms = now + CKPT_ANSWER_MS;
    h->ck = ck;
    /* an image's own link is made first: a new host that cannot be
       reached stops nothing (its first chunk out, the job is asked:
       net_pump); a glpeer checkpoint that cannot be reached takes the
       image through the agents instead */
    if (!why && ask->move_addr[0] && (ck->ask == GL_CKPT_ASK_MOVE || ck->ask == GL_CKPT_ASK_FILE)) {
        const char *no = net_start (self, ck, ask);
        if (!no)
            ck->unsignalled = true;
        else if (ck->ask == GL_CKPT_ASK_MOVE)
            why = no;
        else {
            gl_log (GL_LOG_INFO, "checkpoint of %s: %s; its image goes through the agents", h->gpid,
                    no);
            net_close (self, ck);
        }
    }
    if (!why && !ck->unsignalled)
        why = req_signal (h, ck);
    if (why)
        req_end (self, h, why);
    if (busy)
        h->ck = busy;
}

/* ---- the shim's connection ------------------------------------------------------- */

static void accept_one (jobs_t *self)
{
    int fd = accept4 (self->ckpt_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        for (host_job_t *h = self->hosts; h; h = h->next)
            if (h->pid == cred.pid && h->uid == cred.uid && h->ck && h->ck->state == CK_SIGNALLED) {
                h->ck->fd = fd;
                h->ck->state = CK_HELLO;
                host_watch_set (self, &h->ck->w, fd, POLLIN);
                return;
            }
    close (fd); /* not a job we asked: unheard */
}

/* One line from the shim, never a byte of the image after it: peek, then
   take exactly the line.  1 with the line (its '\n' gone), 0 when not
   all of it is there yet, -1 when the connection broke or the line is
   too long. */
static int take_line (int fd, char *line, size_t size)
{
    ssize_t n = recv (fd, line, size - 1, MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (n < 0)
        return 0;
    char *nl = memchr (line, '\n', (size_t) n);
    if (!nl)
        return (size_t) n == size - 1 ? -1 : 0;
    size_t want = (size_t) (nl - line) + 1;
    if (recv (fd, line, want, 0) != (ssize_t) want)
        return -1;
    line[want - 1] = '\0';
    return 1;
}

/* How many bytes fd's pipe holds now. */
static uint64_t pipe_holds (int fd)
{
    int n = 0;
    return fd >= 0 && ioctl (fd, FIONREAD, &n) == 0 && n > 0 ? (uint64_t) n : 0;
}

/* "held=IN,OUT,ERR" after SNAP's pause: the job went on (GL_CKPT_GO_ON)
   and these are what its pipes held at the snapshot.  false when the
   text is not exactly that. */
static bool parse_held (const char *s, uint64_t held[3])
{
    if (strncmp (s, "held=", 5))
        return false;
    s += 5;
    for (int k = 0; k < 3; k++) {
        if (k && *s++ != ',')
            return false;
        if (!gl_parse_u64 (&s, &held[k]))
            return false;
    }
    return *s == '\0';
}

/* SNAP: the process is parked (or, with held=, already going on).  A
   move stops it for good first.  The pause the shim measured (ns, the
   job's threads parked until the snapshot) goes to the log and, for a
   checkpoint to a file, to its asker, which prints it. */
static void snapped (jobs_t *self, host_job_t *h, const char *pause)
{
    ckpt_req_t *ck = h->ck;
    uint64_t ns = 0, held[3] = { 0 };
    bool on = false;
    if (!gl_parse_u64 (&pause, &ns) || (*pause && *pause != ' '))
        ns = 0; /* not a number: the image still comes, its pause unknown */
    else if (*pause == ' ' && !(on = parse_held (pause + 1, held))) {
        req_end (self, h, "the shim's SNAP line is malformed (not SNAP NS [held=IN,OUT,ERR])");
        return;
    }
    if (on && ck->ask == GL_CKPT_ASK_MOVE) { /* asked to wait for HOLD: cannot be held now */
        req_end (self, h, "the shim went on after its snapshot when asked to wait");
        return;
    }
    static const char *what[] = { [GL_CKPT_ASK_FILE] = "checkpoint",
                                  [GL_CKPT_ASK_MOVE] = "move",
                                  [GL_CKPT_ASK_KEEP] = "kept checkpoint" };
    /* a kept checkpoint comes every period: in the log only when asked */
    gl_log (ck->ask == GL_CKPT_ASK_KEEP ? GL_LOG_DEBUG : GL_LOG_INFO,
            "%s of %s: SNAP %llu ns (the shim paused it %.3f ms), its image to %s",
            ck->ask < sizeof what / sizeof *what && what[ck->ask] ? what[ck->ask] : "snapshot",
            h->gpid, (unsigned long long) ns, (double) ns / 1e6, ck->to[0] ? ck->to : "(later)");
    if (ck->ask == GL_CKPT_ASK_FILE) {
        char text[96];
        snprintf (text, sizeof text, "snapshot taken: the job paused %.3f ms", (double) ns / 1e6);
        gl_job_t note = { .type = GL_JOB_LIST_REPLY, .seq = ck->asker_seq, .text = text };
        gl_strlcpy (note.node, self->name, sizeof note.node);
        jobs_to_node (self, ck->asker, &note);
    }
    if (ck->ask == GL_CKPT_ASK_PROBE) {
        req_end (self, h, "the shim took a snapshot when asked a probe");
        return;
    }
    if (ck->ask == GL_CKPT_ASK_KEEP && on) {
        /* nothing read or written since the signal: those counts and
           what the pipes held at the snapshot are exact */
        ck->at[0] = h->in_written > held[0] ? h->in_written - held[0] : 0;
        ck->at[1] = h->out_read[1] + held[1];
        ck->at[2] = h->out_read[2] + held[2];
    }
    else if (ck->ask == GL_CKPT_ASK_KEEP) {
        /* parked: what it wrote and read so far is exact now */
        int back = exec_fd_stdin_back (h->exec);
        uint64_t unread = pipe_holds (back >= 0 ? back : exec_fd_stdin (h->exec));
        ck->at[0] = h->in_written > unread ? h->in_written - unread : 0;
        ck->at[1] = h->out_read[1] + pipe_holds (exec_fd_stdout (h->exec));
        ck->at[2] = h->out_read[2] + pipe_holds (exec_fd_stderr (h->exec));
    }
    if (ck->ask == GL_CKPT_ASK_MOVE) {
        /* parked: it writes nothing more, so all the pipes hold now came
           before the snapshot */
        h->pre[1] = pipe_holds (exec_fd_stdout (h->exec));
        h->pre[2] = pipe_holds (exec_fd_stderr (h->exec));
        h->move = MOVE_PARKED;
    }
    if (!on && say (ck->fd, ck->ask == GL_CKPT_ASK_MOVE ? "HOLD\n" : "GO\n")) {
        req_end (self, h, "the shim hung up after its snapshot");
        return;
    }
    ck->held = !on && ck->ask == GL_CKPT_ASK_MOVE;
    if (ck->ask == GL_CKPT_ASK_MOVE) {
        gl_job_t m;
        jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
        m.code = GL_MOVE_SNAPPED;
        host_send (self, h, &m);
        if (!ck->to[0]) { /* the image waits in the socket for SEND */
            ck->state = CK_PARKED;
            host_watch_set (self, &ck->w, -1, 0);
            return;
        }
    }
    ck->state = CK_IMAGE;
    ck->credit = JOBS_WINDOW;
    host_watch_set (self, &ck->w, ck->fd, POLLIN);
}

/* The job's writer sealed the image onto the move's own link: its END
   (the last chunk is out) or UNSENT (why the link broke) on the shim's
   socket; the socket's end before either is a writer that died. */
static void writer_end (jobs_t *self, host_job_t *h)
{
    ckpt_req_t *ck = h->ck;
    char line[GL_CKPT_LINE_MAX + 1], why[GL_CKPT_LINE_MAX + 64];
    int rc = take_line (ck->fd, line, sizeof line);
    if (rc == 0)
        return;
    if (rc > 0 && !strcmp (line, "END")) {
        self->ckpt_stats.writer_sealed++;
        ck->writer_done = true;
        net_sent (self, h, " (sealed by the job's writer)");
        return;
    }
    if (rc > 0 && !strncmp (line, "UNSENT ", 7))
        snprintf (why, sizeof why, "%s", line + 7);
    else if (rc > 0)
        snprintf (why, sizeof why, "the job's image writer said something unknown: %.60s", line);
    else
        snprintf (why, sizeof why,
                  "the job's image writer ended before the image's last chunk was out");
    req_end (self, h, why);
}

/* The image, to ck->to, as far as credit goes. */
static void image_out (jobs_t *self, host_job_t *h)
{
    ckpt_req_t *ck = h->ck;
    static uint8_t buf[JOBS_CHUNK];
    if (ck && ck->net >= 0 && ck->writer_seals) {
        writer_end (self, h);
        return;
    }
    if (ck && ck->net >= 0) {
        net_pump (self, h);
        return;
    }
    while (ck && ck->state == CK_IMAGE && ck->credit) {
        size_t want = ck->credit < sizeof buf ? (size_t) ck->credit : sizeof buf;
        ssize_t n = read (ck->fd, buf, want);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n < 0) {
            req_end (self, h, "the image's connection broke");
            return;
        }
        gl_job_t img;
        jobs_msg_init (&img, GL_JOB_IMAGE, h->gpid, h->home);
        img.seq = ck->seq++;
        if (n == 0) {
            img.eof = true;
            if (ck->ask == GL_CKPT_ASK_KEEP) {
                img.at_in = ck->at[0];
                img.at_out = ck->at[1];
                img.at_err = ck->at[2];
            }
        }
        else {
            img.data = buf;
            img.len = (uint32_t) n;
            ck->credit -= (uint64_t) n;
            self->ckpt_stats.bytes_read += (uint64_t) n;
        }
        jobs_to_node (self, ck->to, &img);
        if (n == 0) { /* the whole image went */
            if (ck->ask == GL_CKPT_ASK_MOVE) {
                /* the process stays parked on the open connection until
                   the home says DONE (killed) or RESUME (let go) */
                host_watch_set (self, &ck->w, -1, 0);
                ck->state = CK_SENT;
                return;
            }
            req_end (self, h, NULL);
            return;
        }
    }
    if (ck && ck->state == CK_IMAGE)
        host_watch_set (self, &ck->w, ck->fd, ck->credit ? POLLIN : 0);
}

static void shim_says (jobs_t *self, host_job_t *h, uint64_t now)
{
    ckpt_req_t *ck = h->ck;
    char line[GL_CKPT_LINE_MAX + 1];
    for (;;) {
        int rc = take_line (ck->fd, line, sizeof line);
        if (rc == 0)
            return;
        if (rc < 0) {
            req_end (self, h, "the shim hung up before it answered");
            return;
        }
        if (ck->state == CK_HELLO) {
            if (strncmp (line, "GLCKPT 1 ", 9)) {
                char why[128];
                snprintf (why, sizeof why, "the shim speaks another protocol: %.60s", line);
                req_end (self, h, why);
                return;
            }
            ck->state = CK_ANSWER;
            /* its writer can seal a move's image itself */
            if (hello_says (line + 9, "seal=1"))
                seal_answer (self, ck);
            continue;
        }
        bool again = !strncmp (line, "AGAIN ", 6);
        if (again || !strncmp (line, "REFUSE ", 7)) {
            const char *why = line + (again ? 6 : 7);
            if (again && ck->ask != GL_CKPT_ASK_PROBE && ck->tries < CKPT_TRIES) {
                shim_close (self, ck);
                ck->state = CK_AGAIN;
                ck->deadline_ms = now + CKPT_AGAIN_MS;
                ck->tries++;
                return;
            }
            req_end (self, h, why[0] ? why : "refused");
            return;
        }
        if (!strcmp (line, "MOVABLE")) {
            req_end (self, h, ck->ask == GL_CKPT_ASK_PROBE ? NULL : "the shim only probed");
            return;
        }
        if (!strncmp (line, "SNAP ", 5)) {
            snapped (self, h, line + 5);
            return;
        }
        char why[128];
        snprintf (why, sizeof why, "the shim said something unknown: %.60s", line);
        req_end (self, h, why);
        return;
    }
}

/* ---- a restart's image, into the restorer ------------------------------------------ */

static void image_grant (jobs_t *self, host_job_t *h, bool all)
{
    if (!h->img_owed || (!all && h->img_owed < JOBS_CREDIT_BATCH) || !h->img_from[0])
        return;
    gl_job_t credit;
    jobs_msg_init (&credit, GL_JOB_CREDIT, h->gpid, h->home);
    credit.stream = 3;
    credit.credit = h->img_owed;
    gl_strlcpy (credit.node, self->name, sizeof credit.node);
    h->img_owed = 0;
    jobs_to_node (self, h->img_from, &credit);
}

/* The bytes waiting for the restorer are a ring of JOBS_WINDOW bytes
   (img: at img_off, img_len of them), allocated once: the sender never
   has more than a window in flight, so they always fit, and neither an
   arriving chunk nor a partial write moves what waits. */
static void image_write (jobs_t *self, host_job_t *h)
{
    while (h->img_fd >= 0 && h->img_len) {
        size_t first = JOBS_WINDOW - h->img_off;
        struct iovec iov[2] = {
            { h->img + h->img_off, first < h->img_len ? first : h->img_len },
            { h->img, first < h->img_len ? h->img_len - first : 0 },
        };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1 };
        ssize_t n = sendmsg (h->img_fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            h->img_len = 0; /* the restorer is gone: its exit says why */
            break;
        }
        h->img_off = (h->img_off + (size_t) n) % JOBS_WINDOW;
        h->img_len -= (size_t) n;
        h->img_owed += (uint64_t) n;
    }
    if (!h->img_len)
        h->img_off = 0;
    image_grant (self, h, false);
    if (h->img_fd >= 0 && h->img_eof && !h->img_shut && !h->img_len) {
        shutdown (h->img_fd, SHUT_WR); /* the image's end */
        h->img_shut = true;
        image_grant (self, h, true);
    }
}

void ckpt_image (jobs_t *self, host_job_t *h, const char *from, const gl_job_t *img)
{
    if (h->img_fd < 0 || h->img_eof || h->img_direct)
        return;
    if (!h->img_from[0])
        gl_strlcpy (h->img_from, from, sizeof h->img_from);
    if (!gl_streq (from, h->img_from) || img->seq != h->img_seq ||
        h->img_len + img->len > JOBS_WINDOW || (!h->img && !(h->img = malloc (JOBS_WINDOW)))) {
        exec_signal (h->exec, SIGKILL); /* a lost or unasked-for chunk: no half image */
        h->img_eof = true;
        return;
    }
    h->img_seq++;
    const uint8_t *d = img->data;
    size_t left = img->len;
    if (left && !h->img_len) { /* nothing waits: straight to the restorer */
        ssize_t n = send (h->img_fd, d, left, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            n = (ssize_t) left; /* the restorer is gone: its exit says why */
        if (n > 0) {
            d += n;
            left -= (size_t) n;
            h->img_owed += (uint64_t) n;
        }
    }
    while (left) { /* the rest waits in the ring */
        size_t at = (h->img_off + h->img_len) % JOBS_WINDOW;
        size_t k = JOBS_WINDOW - at < left ? JOBS_WINDOW - at : left;
        memcpy (h->img + at, d, k);
        h->img_len += k;
        d += k;
        left -= k;
    }
    if (img->eof)
        h->img_eof = true;
    image_write (self, h);
}

void ckpt_credit (jobs_t *self, host_job_t *h, const char *from, uint64_t credit)
{
    ckpt_req_t *ck = h->ck;
    if (!ck || ck->state != CK_IMAGE || !gl_streq (from, ck->to))
        return;
    ck->credit += credit;
    image_out (self, h);
}

/* ---- a move's own link, at the new host -------------------------------------------------- */

static void say_listen (jobs_t *self, host_job_t *h, const char *addr)
{
    gl_job_t m;
    jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
    m.code = GL_MOVE_LISTEN;
    gl_strlcpy (m.move_addr, addr, sizeof m.move_addr);
    host_send (self, h, &m);
}

void ckpt_expect (jobs_t *self, const char *from, const gl_job_t *step)
{
    host_job_t *h = host_by_gpid (self, step->gpid);
    /* a move's restorer, or glx --restart's: its image from glx's FILE */
    if (!h || !gl_streq (from, h->home) || !h->restart || h->img_fd < 0 || h->img_direct ||
        h->img_from[0] || h->img_eof)
        return;
    char line[sizeof GL_MOVE_LINE + 2 * GL_MOVE_KEY_BYTES + GL_MOVE_ADDR_MAX + 4];
    int n = 0;
    if (self->addr[0] && !gl_all_zero (step->move_key, sizeof step->move_key)) {
        n = snprintf (line, sizeof line, "%s",
                      h->restart == GL_JOB_RESTART_GLX ? GL_FILE_LINE : GL_MOVE_LINE);
        for (int i = 0; i < GL_MOVE_KEY_BYTES; i++)
            n += snprintf (line + n, sizeof line - (size_t) n, "%02x", step->move_key[i]);
        n += snprintf (line + n, sizeof line - (size_t) n, " %s\n", self->addr);
    }
    /* the socket is empty: the line fits whole */
    if (!n || send (h->img_fd, line, (size_t) n, MSG_NOSIGNAL) != n) {
        say_listen (self, h, ""); /* in IMAGEs, then */
        return;
    }
    explicit_bzero (line, sizeof line);
    h->img_direct = IMG_DIRECT_LINE;
    host_watch (self, h);
}

/* A byte the restorer wrote on the image's descriptor: its last word. */
static void restorer_says (host_job_t *h, char c)
{
    if (c == GL_RESTORE_SETTLED)
        h->img_settled = true;
    else if (c == GL_RESTORE_REFUSED || c == GL_RESTORE_CUT || c == GL_RESTORE_AGAIN)
        h->img_failed = c;
}

/* The restorer's PORT line: where it listens goes to the home.  From
   here on the image's descriptor only says the restore settled, or that
   it failed; a failure may come instead of the line. */
static void direct_told (jobs_t *self, host_job_t *h)
{
    char line[64];
    char c;
    int rc;
    if (recv (h->img_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
        (c == GL_RESTORE_REFUSED || c == GL_RESTORE_CUT)) {
        (void) !recv (h->img_fd, &c, 1, MSG_DONTWAIT); /* taken: it was there */
        restorer_says (h, c);
        rc = -1;
    }
    else
        rc = take_line (h->img_fd, line, sizeof line);
    if (rc == 0)
        return;
    const char *p = line + 5;
    uint64_t port = 0;
    if (rc > 0 && !strncmp (line, "PORT ", 5) && gl_parse_u64 (&p, &port) && !*p && port &&
        port <= 65535) {
        char addr[GL_MOVE_ADDR_MAX + 1];
        if (ckpt_own_addr (self, (unsigned) port, addr, sizeof addr))
            say_listen (self, h, addr);
    }
    /* else it failed (its byte and its stderr say why) or spoke
       nonsense: no image can come, and the restorer's exit or the
       home's deadline ends it */
    h->img_direct = IMG_DIRECT_TOLD;
    h->img_eof = true;
    if (!h->img_shut) {
        shutdown (h->img_fd, SHUT_WR);
        h->img_shut = true;
    }
}

void ckpt_watch (jobs_t *self, host_job_t *h)
{
    short ev = 0;
    if (h->img_fd >= 0 && !h->killed && h->img_direct == IMG_DIRECT_LINE)
        ev = POLLIN; /* its PORT */
    else if (h->img_fd >= 0 && !h->killed) {
        if (h->img_len || (h->img_eof && !h->img_shut))
            ev = POLLOUT;
        else if (h->img_shut && !h->img_let_go)
            ev = POLLIN; /* the restorer letting go of it: end of file or a hang-up */
    }
    host_watch_set (self, &h->img_watch, h->img_fd, ev);
}

/* ---- a move's steps ------------------------------------------------------------------ */

/* After DONE: once what came before the snapshot is sent, hand home the
   stdin the process did not read, say DRAINED, and forget the job. */
static void drained (jobs_t *self, host_job_t *h)
{
    if (h->move != MOVE_DRAINING || h->pre[1] || h->pre[2])
        return;
    if (h->in_owed) { /* written into the pipe: glx may send as much again */
        gl_job_t credit;
        jobs_msg_init (&credit, GL_JOB_CREDIT, h->gpid, h->home);
        credit.credit = h->in_owed;
        h->in_owed = 0;
        host_send (self, h, &credit);
    }
    int back = exec_fd_stdin_back (h->exec);
    uint64_t in_pipe = pipe_holds (back);
    size_t total = (size_t) in_pipe + (h->in_len - h->in_off);
    uint8_t *left = malloc (total ? total : 1);
    if (left && in_pipe && read (back, left, (size_t) in_pipe) != (ssize_t) in_pipe)
        in_pipe = 0; /* cannot happen with the job dead: nothing else reads it */
    /* h->in is NULL when nothing waits */
    if (left && h->in_len > h->in_off)
        memcpy (left + in_pipe, h->in + h->in_off, h->in_len - h->in_off);
    total = left ? (size_t) in_pipe + (h->in_len - h->in_off) : 0;
    uint64_t acked = in_pipe; /* what was in the pipe was acknowledged to glx */
    size_t off = 0;
    do {
        size_t n = total - off > GL_JOB_DATA_MAX ? GL_JOB_DATA_MAX : total - off;
        gl_job_t m;
        jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
        m.code = GL_MOVE_STDIN;
        m.data = n ? left + off : NULL;
        m.len = (uint32_t) n;
        m.credit = acked < n ? acked : n;
        acked -= m.credit;
        off += n;
        m.eof = off == total && h->in_eof;
        if (n || m.eof)
            host_send (self, h, &m);
    } while (off < total);
    free (left);
    gl_job_t m;
    jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
    m.code = GL_MOVE_DRAINED;
    host_send (self, h, &m);
    host_drop (self, h);
}

void ckpt_read (jobs_t *self, host_job_t *h, int stream, size_t n)
{
    if (!h->move)
        return;
    h->pre[stream] -= n < h->pre[stream] ? n : h->pre[stream];
    drained (self, h);
}

void ckpt_move (jobs_t *self, host_job_t *h, const gl_job_t *step, uint64_t now)
{
    ckpt_req_t *ck = h->ck;
    switch (step->code) {
        case GL_MOVE_SEND: /* old host: the image to the new one */
            if (ck && ck->state == CK_PARKED && step->to[0]) {
                gl_strlcpy (ck->to, step->to, sizeof ck->to);
                gl_info ("%s: move: its image goes to %s", h->gpid, ck->to);
                ck->state = CK_IMAGE;
                ck->credit = JOBS_WINDOW;
                image_out (self, h);
            }
            break;
        case GL_MOVE_RESUME: /* old host: the move failed, it runs on here */
            gl_info ("%s: the move was given up: it goes on here", h->gpid);
            if (h->move == MOVE_PARKED) {
                h->move = MOVE_NONE;
                h->pre[1] = h->pre[2] = 0;
            }
            if (ck) { /* closing the connection lets the parked process go */
                req_close (self, ck);
                free (ck);
                h->ck = NULL;
            }
            if (h->suspended) /* stopped for its owner: so it stays */
                exec_signal (h->exec, SIGSTOP);
            break;
        case GL_MOVE_DONE: /* old host: it runs elsewhere now */
            if (h->move != MOVE_PARKED)
                break;
            gl_info ("%s: move: it runs elsewhere; its process here is killed", h->gpid);
            /* Never let it go.  Through the launcher our kill can land
               after the connection closes (the job is freed once its
               output is drained), so the connection closes with no GO:
               a parked shim that reads its end with no GO kills the
               process itself (ckpt_proto.h).  A shim that went on
               instead ran beside the new copy for ~100 ms (a log it
               appended to had lines twice). */
            exec_signal (h->exec, SIGKILL);
            if (ck) {
                host_watch_set (self, &ck->w, -1, 0);
                ck->held = false;
            }
            h->move = MOVE_DRAINING;
            drained (self, h); /* at once when the pipes held nothing */
            return;
        case GL_MOVE_RELEASE: /* new host: its output may flow */
            if (!h->held || step->stream < 1 || step->stream > 2)
                break;
            h->credit[step->stream] = step->credit;
            h->seq_out[step->stream] = step->seq;
            h->released |= 1 << step->stream;
            if (h->released == 6 || (h->released == 2 && h->out_done[2]))
                h->held = false;
            break;
        case GL_MOVE_ABORT: /* new host: the move failed */
            gl_info ("%s: the move was given up: its restorer here is dropped", h->gpid);
            host_drop (self, h);
            return;
        default: break;
    }
    (void) now;
}

/* ---- events and time ------------------------------------------------------------------- */

bool ckpt_ready (jobs_t *self, int fd, short revents, uint64_t now)
{
    if (fd < 0)
        return false;
    if (fd == self->ckpt_fd) {
        accept_one (self);
        return true;
    }
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (h->ck && h->ck->net == fd) {
            net_pump (self, h);
            host_watch (self, h);
            return true;
        }
        if (h->img_fd == fd && h->img_direct == IMG_DIRECT_LINE) {
            direct_told (self, h);
            host_watch (self, h);
            return true;
        }
        if (h->ck && h->ck->fd == fd) {
            if (h->ck->state == CK_HELLO || h->ck->state == CK_ANSWER)
                shim_says (self, h, now);
            else if (h->ck->state == CK_IMAGE)
                image_out (self, h);
            host_watch (self, h);
            return true;
        }
        if (h->img_fd == fd) {
            if (!h->img_shut)
                image_write (self, h);
            else {
                char c;
                ssize_t n = recv (h->img_fd, &c, 1, MSG_DONTWAIT);
                /* the restorer says it can no longer fail (no wait), or
                   that it failed (its exit follows) */
                if (n == 1)
                    restorer_says (h, c);
                uint64_t at = h->img_settled ? now : now + RESTORE_SETTLE_MS;
                if ((n >= 0 || errno != EAGAIN || (revents & (POLLHUP | POLLERR))) &&
                    !h->img_failed && (!h->restored_at || at < h->restored_at))
                    h->restored_at = at;
                h->img_let_go = true;
            }
            host_watch (self, h);
            return true;
        }
    }
    return false;
}

/* Why the restorer failed: the line it wrote on its stderr (held, not
   read yet, on a move's new host). */
static void restore_why (host_job_t *h, char *out, size_t len)
{
    snprintf (out, len, "the restorer failed on this node");
    int fd = exec_fd_stderr (h->exec);
    if (fd < 0) /* a pty (a move of glx -t): its stderr is the terminal */
        fd = exec_fd_stdout (h->exec);
    uint64_t n = pipe_holds (fd);
    char buf[1024];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    ssize_t got = n ? read (fd, buf, (size_t) n) : 0;
    if (got > 0) {
        buf[got] = '\0';
        buf[strcspn (buf, "\r\n")] = '\0'; /* a terminal ends its lines with CR LF */
        gl_strlcpy (out, buf, len);
    }
}

/* What the restorer wrote on the image's descriptor and nobody read yet
   (its exit was seen first): the last settled or failure byte counts.
   A PORT line still there holds neither letter. */
static void restorer_drain (host_job_t *h)
{
    char buf[256];
    ssize_t n;
    while ((n = recv (h->img_fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        for (ssize_t i = 0; i < n; i++)
            restorer_says (h, buf[i]);
}

/* The restore failed (why: glrestore's reason, or how it died; byte:
   its failure's, GL_RESTORE_*, or 0): a move fails, its cause said as a
   code where the byte tells it: a cut (the home then waits a moment for
   the old host's reason), or the capture's failure of an instant (the
   home makes the move again); glx --restart's job could not start here,
   which is not its exit (a restored job may exit with the restorer's
   status). */
static void restore_failed (jobs_t *self, host_job_t *h, const char *why, char byte)
{
    gl_job_t m;
    char text[GL_NAME_MAX + 600];
    if (h->restart == GL_JOB_RESTART_MOVE) {
        jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
        m.code = GL_MOVE_FAILED;
        m.cause = byte == GL_RESTORE_CUT     ? GL_MOVE_CAUSE_CUT
                  : byte == GL_RESTORE_AGAIN ? GL_MOVE_CAUSE_AGAIN
                                             : 0;
        m.text = (char *) why;
    }
    else {
        jobs_msg_init (&m, GL_JOB_FAILED, h->gpid, h->home);
        gl_strlcpy (m.node, self->name, sizeof m.node);
        m.code = JOBS_ERR_START;
        snprintf (text, sizeof text, "%s: cannot restart: %s", self->name, why);
        m.text = text;
    }
    host_send (self, h, &m);
    host_drop (self, h);
}

void ckpt_tick (jobs_t *self, uint64_t now)
{
    host_job_t *next;
    for (host_job_t *h = self->hosts; h; h = next) {
        next = h->next;
        ckpt_req_t *ck = h->ck;
        if (ck && ck->state == CK_AGAIN && now >= ck->deadline_ms) { /* ask again */
            ck->state = CK_SIGNALLED;
            ck->deadline_ms = now + CKPT_ANSWER_MS;
            const char *why = req_signal (h, ck);
            if (why)
                req_end (self, h, why);
            continue;
        }
        /* stopped meanwhile by someone on this node (kill -STOP): its
           answer would not come before the timeout (not a gang's
           member, whose slices stop it, nor a guest its owner's return
           stopped) */
        if (ck && ck->state <= CK_ANSWER && !h->suspended && !h->gang[0] &&
            exec_stopped (h->exec)) {
            req_end (self, h, STOPPED_WHY);
            host_watch (self, h);
            continue;
        }
        if (ck && ck->state <= CK_ANSWER && now >= ck->deadline_ms) {
            char why[GL_NAME_MAX + 64];
            snprintf (why, sizeof why, "%s's restorer could not be reached in time", ck->to);
            req_end (self, h, ck->unsignalled ? why : "the job's shim did not answer in time");
            host_watch (self, h); /* its streams flow again */
            continue;
        }
        /* a restart: did the restorer become the job? */
        if (h->img_fd < 0)
            continue;
        exec_status_t st;
        bool ended = exec_poll_exit (h->exec, &st);
        if (!ended && !h->img_shut)
            continue;
        if (ended) /* its last word, written before its exit, is there now */
            restorer_drain (h);
        int queued = 1;
        if (!h->restored_at && h->img_shut && !h->img_direct && !h->img_failed &&
            ioctl (h->img_fd, SIOCOUTQ, &queued) == 0 && queued == 0)
            h->restored_at = now + RESTORE_READ_MS; /* all read: it checks it meanwhile */
        /* a restorer killed before it said it can no longer fail (by
           the settled byte, or by letting go and living on a moment)
           has not become the job: its death closed the descriptor, which
           must not be taken for the close of a restore that got through */
        bool killed =
            ended && st.signal && !h->img_settled && !(h->restored_at && now >= h->restored_at);
        /* glx --restart interrupted by its user (Ctrl-C): the job ends
           by that signal, as it would have a moment later */
        if (killed && h->restart != GL_JOB_RESTART_MOVE && st.signal == h->user_signal)
            killed = false;
        if (ended && (h->img_failed || killed)) {
            char why[512];
            if (killed)
                snprintf (why, sizeof why,
                          "the restorer was killed by signal %d before the image was restored",
                          st.signal);
            else
                restore_why (h, why, sizeof why);
            restore_failed (self, h, why, killed ? 0 : h->img_failed);
            continue;
        }
        if (ended || (h->restored_at && now >= h->restored_at)) {
            host_watch_set (self, &h->img_watch, -1, 0);
            close (h->img_fd);
            h->img_fd = -1;
            host_watch (self, h); /* its output, held while it was restored, flows */
            /* restored, whether it still runs or has ended already (a
               job moved near its end): its exit waits, held, for the
               switch; without the word the move never ended */
            if (h->restart == GL_JOB_RESTART_MOVE) {
                gl_info ("%s: move: restored here%s", h->gpid,
                         ended ? " (it has ended already)" : "");
                gl_job_t m;
                jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
                m.code = GL_MOVE_RESTORED;
                host_send (self, h, &m);
            }
        }
    }
}

void ckpt_user_stopped (jobs_t *self, host_job_t *h)
{
    ckpt_req_t *ck = h->ck;
    if (!ck || !(ck->state <= CK_ANSWER || ck->state == CK_AGAIN))
        return;
    req_end (self, h, STOPPED_WHY); /* its answer would not come before the timeout */
    host_watch (self, h);
}

uint64_t ckpt_next_deadline (jobs_t *self, uint64_t next)
{
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (h->ck && (h->ck->state <= CK_ANSWER || h->ck->state == CK_AGAIN) &&
            h->ck->deadline_ms < next)
            next = h->ck->deadline_ms;
        if (h->img_fd >= 0 && h->restored_at && h->restored_at < next)
            next = h->restored_at;
    }
    return next;
}
