/*  glrestore -- the restorer: an image of a checkpointed process becomes
    this process (glrestore(8); the contract with the agent is
    checkpoint/ckpt_proto.h, the work checkpoint/restore.h).

    glrestore [-n] [-v] [IMAGE]

    The image is read from IMAGE, or from the descriptor GLUNIX_IMAGE_FD
    names (as the agent starts it), or from standard input.  On any
    problem with the image or with this machine it says
    "glrestore: <reason>" and exits GL_RESTORE_FAILED (120) before it
    has changed anything of the process; to the agent it says so first
    with a byte on the agent's descriptor (ckpt_proto.h): GL_RESTORE_CUT
    when the image's stream ended before its last chunk, GL_RESTORE_AGAIN
    when the image ends in the capture's failure of an instant (a FAIL
    record flagged IMG_FAIL_AGAIN), else GL_RESTORE_REFUSED.

    A move's image comes straight from the old host instead
    (ckpt_proto.h, "A move's stream"): the agent's descriptor then
    starts with GL_MOVE_LINE, the move's key and the address to listen
    on; we listen there on a port of the kernel's choice, say it back
    on the descriptor, and take the first connection whose first chunk
    opens under the key (checkpoint/imgseal.h): an intruder that
    connected first is dropped unheard.  The agent's descriptor stays
    the agent's: the settled byte and the close go there. */
#include "ckpt_proto.h"
#include "err.h"
#include "fd.h"
#include "imgrecv.h"
#include "imgseal.h"
#include "restore.h"
#include "str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 1 or 0: whether the staging's thread runs (ahead_pays) */
#define GL_RESTORE_AHEAD_ENV "GLUNIX_RESTORE_AHEAD"

#define LISTEN_MS 120000 /* the old host's connection (the home gives up sooner) */

/* ---- the agent's descriptor, its first bytes read already -------------------------------- */

typedef struct {
    int fd;
    uint8_t pre[sizeof GL_MOVE_LINE - 1];
    size_t off, n;
} prefixed_t;

static ssize_t prefixed_read (void *arg, void *buf, size_t n, const char **why)
{
    prefixed_t *p = arg;
    (void) why;
    if (p->off < p->n) {
        size_t k = p->n - p->off < n ? p->n - p->off : n;
        memcpy (buf, p->pre + p->off, k);
        p->off += k;
        return (ssize_t) k;
    }
    return read (p->fd, buf, n);
}

/* ---- a move's sealed stream ----------------------------------------------------------------- */

/* for people; the agent learns it from the byte GL_RESTORE_CUT */
#define CUT "the move's stream was cut before its end (the old host stopped sending)"

static ssize_t sealed_read (void *arg, void *buf, size_t n, const char **why)
{
    ssize_t k = imgrecv_read (arg, buf, n, why);
    if (k < 0 && imgrecv_cut (arg))
        *why = CUT;
    return k;
}

static uint64_t mono_ms (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000 + (uint64_t) t.tv_nsec / 1000000;
}

static int hexval (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The rest of the agent's line (after GL_MOVE_LINE): the key in hex, a
   space, the address to listen on. */
static int parse_move (int ctl, uint8_t key[IS_KEY_BYTES], struct sockaddr_storage *sa,
                       socklen_t *sa_len, char *err, size_t errlen)
{
    char line[256];
    size_t n = 0;
    for (;;) {
        if (n == sizeof line - 1)
            return gl_err (err, errlen, "the agent's move line is too long");
        ssize_t k = read (ctl, line + n, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return gl_err (err, errlen, "the agent's move line ends early");
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    if (n < 2 * IS_KEY_BYTES + 2 || line[2 * IS_KEY_BYTES] != ' ')
        return gl_err (err, errlen, "the agent's move line is malformed");
    for (int i = 0; i < IS_KEY_BYTES; i++) {
        int hi = hexval (line[2 * i]), lo = hexval (line[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return gl_err (err, errlen, "the agent's move key is not hex");
        key[i] = (uint8_t) (hi << 4 | lo);
    }
    const char *addr = line + 2 * IS_KEY_BYTES + 1;
    memset (sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *) sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) sa;
    if (inet_pton (AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        *sa_len = sizeof *v4;
    }
    else if (inet_pton (AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        *sa_len = sizeof *v6;
    }
    else
        return gl_err (err, errlen, "the address to take the move's image on is not one: %.64s",
                       addr);
    return 0;
}

/* Listen where the agent says, tell it the port, take the old host's
   connection (imgrecv.h: the first whose first chunk opens under the
   key): 0 with *rx ready, or -1. */
static int direct_open (int ctl, imgrecv_t **rx, char *err, size_t errlen)
{
    uint8_t key[IS_KEY_BYTES];
    struct sockaddr_storage sa;
    socklen_t sa_len = 0;
    if (parse_move (ctl, key, &sa, &sa_len, err, errlen))
        return -1;
    *rx = imgrecv_new ((struct sockaddr *) &sa, sa_len, key, err, errlen);
    explicit_bzero (key, sizeof key);
    if (!*rx)
        return -1;
    char said[32];
    int k = snprintf (said, sizeof said, "PORT %u\n", imgrecv_port (*rx));
    if (gl_write_all (ctl, said, (size_t) k))
        return gl_err (err, errlen, "the agent hung up");
    uint64_t until = mono_ms () + LISTEN_MS;
    for (;;) {
        uint64_t now = mono_ms ();
        if (now >= until)
            return gl_err (err, errlen, "no move's image came within %d s", LISTEN_MS / 1000);
        struct pollfd p[IMGRECV_POLL_MAX];
        size_t n = imgrecv_pollfds (*rx, p, now);
        if (poll (p, n, 100) <= 0)
            continue;
        int found = imgrecv_step (*rx, p, n, mono_ms (), err, errlen);
        if (found)
            return found > 0 ? 0 : -1;
    }
}

/* Is the stream's sender on this machine (its address one of ours)?
   Then it takes one of our cores for its sealing while we read. */
static bool sender_here (int fd)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername (fd, (struct sockaddr *) &peer, &len))
        return false;
    if (peer.ss_family == AF_INET &&
        (ntohl (((struct sockaddr_in *) &peer)->sin_addr.s_addr) >> 24) == 127)
        return true;
    if (peer.ss_family == AF_INET6 &&
        IN6_IS_ADDR_LOOPBACK (&((struct sockaddr_in6 *) &peer)->sin6_addr))
        return true;
    struct ifaddrs *all;
    bool here = false;
    if (getifaddrs (&all))
        return false;
    for (struct ifaddrs *i = all; i && !here; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != peer.ss_family)
            continue;
        if (peer.ss_family == AF_INET)
            here = ((struct sockaddr_in *) i->ifa_addr)->sin_addr.s_addr ==
                   ((struct sockaddr_in *) &peer)->sin_addr.s_addr;
        else
            here = !memcmp (&((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr,
                            &((struct sockaddr_in6 *) &peer)->sin6_addr, sizeof (struct in6_addr));
    }
    freeifaddrs (all);
    return here;
}

/* Does a thread that makes the staging present ahead of the stream
   (restore_src_t.ahead) have a core of its own?  It needs one besides
   ours and, when the sender is on this machine, besides the sender's:
   where it has none it only takes turns with the reader and the sender,
   and costs more CPU than it saves (the pages it clears on one core are
   written on another), so the stream comes slower (bench/README.md,
   "The staging's thread where it has a core").  GLUNIX_RESTORE_AHEAD
   (glrestore(8)) says it instead: 1 always (the tests hold the thread's
   work to the image on any machine), 0 never. */
static bool ahead_pays (int fd)
{
    const char *say = getenv (GL_RESTORE_AHEAD_ENV);
    if (say && (!strcmp (say, "0") || !strcmp (say, "1")))
        return *say == '1';
    cpu_set_t set;
    int cores = sched_getaffinity (0, sizeof set, &set) ? 1 : CPU_COUNT (&set);
    return cores >= (sender_here (fd) ? 3 : 2);
}

static void usage (FILE *to)
{
    fprintf (to,
             "usage: glrestore [-n] [-v] [IMAGE]\n"
             "  -n  read and check the image and this machine, restore nothing\n"
             "  -v  say what was read and how long staging it took\n"
             "The image comes from IMAGE, else from the descriptor $%s names, else stdin.\n",
             GL_IMAGE_FD_ENV);
}

/* The agent's descriptor (GLUNIX_IMAGE_FD), or -1 when no agent started us. */
static int agent_fd = -1;
static imgrecv_t *sealed; /* a move's stream, once heard */
static bool again;        /* the image ends in the capture's failure of an instant */

/* The reason on stderr for people, then the failure's byte for the
   agent, which goes by it and not by the exit status (a restored job
   may exit with the same status): written only now, after the line, so
   the line is in the pipe when the agent reads the byte. */
static int fail (const char *why)
{
    fprintf (stderr, "glrestore: %s\n", why);
    fflush (stderr);
    if (agent_fd >= 0) {
        char c = sealed && imgrecv_cut (sealed) ? GL_RESTORE_CUT
                 : again                        ? GL_RESTORE_AGAIN
                                                : GL_RESTORE_REFUSED;
        (void) !write (agent_fd, &c, 1); /* not a socket (by hand): nobody to tell */
    }
    return GL_RESTORE_FAILED;
}

int main (int argc, char **argv)
{
    restore_opts_t o = { .sock = getenv (GL_CKPT_SOCK_ENV),
                         .gpid = getenv ("GLUNIX_GPID"),
                         .again = &again };
    int c;
    while ((c = getopt (argc, argv, "nvh")) != -1) {
        switch (c) {
            case 'n': o.check_only = true; break;
            case 'v': o.verbose = true; break;
            case 'h': usage (stdout); return 0;
            default: usage (stderr); return GL_RESTORE_FAILED;
        }
    }
    if (argc - optind > 1) {
        usage (stderr);
        return GL_RESTORE_FAILED;
    }
    int fd = 0;
    char err[512];
    const char *env = getenv (GL_IMAGE_FD_ENV);
    if (optind < argc) {
        fd = open (argv[optind], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf (err, sizeof err, "%s: %s", argv[optind], strerror (errno));
            return fail (err);
        }
    }
    else if (env) {
        uint64_t v;
        const char *at = env;
        if (!gl_parse_u64 (&at, &v) || *at || v > 1000000 || fcntl ((int) v, F_GETFD) < 0) {
            snprintf (err, sizeof err, "%s=%s is not an open descriptor", GL_IMAGE_FD_ENV, env);
            return fail (err);
        }
        fd = (int) v;
        if (optind == argc)
            agent_fd = fd;
    }
    /* from the agent: a move's line, or the image itself */
    static prefixed_t pre;
    restore_src_t src;
    if (env && optind == argc) {
        ssize_t k = gl_read_full (fd, pre.pre, sizeof pre.pre);
        if (k < 0) {
            snprintf (err, sizeof err, "the image cannot be read: %s", strerror (errno));
            return fail (err);
        }
        pre.fd = fd;
        pre.n = (size_t) k;
        bool move = pre.n == sizeof pre.pre && !memcmp (pre.pre, GL_MOVE_LINE, pre.n);
        bool file = pre.n == sizeof pre.pre && !memcmp (pre.pre, GL_FILE_LINE, pre.n);
        if (move || file) {
            if (direct_open (fd, &sealed, err, sizeof err))
                return fail (err);
            /* a move's bytes come from the writer's memory: the seal
               vouches for them; a file's may have rotted on its disk */
            src = (restore_src_t){ sealed_read, sealed, .authenticated = move,
                                   .ahead = ahead_pays (imgrecv_fd (sealed)) };
        }
        else
            src = (restore_src_t){ prefixed_read, &pre, .authenticated = false };
        o.src = &src;
    }
    if (restore_run (fd, &o, err, sizeof err))
        return fail (err);
    if (o.check_only) {
        fprintf (stderr, "glrestore: the image is whole and can be restored here\n");
        return 0;
    }
    return fail ("the restore returned");
}
