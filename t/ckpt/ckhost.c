/*  ckhost -- the host's side of checkpoint/ckpt_proto.h, for the tests:
    runs a program with GLUNIX_CKPT_SOCK set, collects its stdout, asks
    for a checkpoint when the output shows a mark, answers, and keeps
    the image.

    ckhost [-r probe|go|goon|hold|letgo|none] [-s whole|cut] [-w MARK] [-i IMAGE] [-o OUT] [-p LIB]
           -- PROGRAM [ARG...]

    -r    the request: probe (MOVABLE or REFUSE), go (checkpoint, then
          resume: the default), goon (checkpoint and go on at once, no
          answer: the shim's SNAP says what the pipes held; ckhost reads
          none of the program's output from the signal to SNAP, as an
          agent keeping the checkpoint does) or hold (checkpoint, stay parked;
          ckhost closes the connection with no GO once the image is saved,
          and the shim kills the program itself, as for a host migrating
          it), letgo (hold, then GO and close once the image is saved, as
          a host whose move failed: the program goes on) or
          none (only run it)
    -s    to a hello that says seal=1, hand the shim a move's own link
          (ckpt_proto.h, "A move's stream"): a loopback TCP connection
          whose first chunk ckhost sealed under a fresh key, and the
          key; the image comes sealed on it, opened here (whole), or
          the connection is closed after its first 64 KiB (cut), as a
          restorer that died; then the writer's END or UNSENT line is
          printed.  The key is printed too (KEY <hex>), for the tests to
          look for in the image.  Without -s, such a hello is answered RELAY.
    -w    ask once the program's stdout holds MARK (default: at once)
    -i    where the image goes (default: nowhere)
    -o    the program's stdout (default: ckhost's own stderr)
    -p    LD_PRELOAD for the program (the shim), not for ckhost itself

    ckhost is its job's subreaper: the members of a tree, orphans once
    their root is killed, are reaped before it ends (their ids free).

    What happened goes to stdout, a line each: START <CLOCK_MONOTONIC ns
    just before the program started>, the shim's GLCKPT line,
    then REFUSE <reason>, AGAIN <reason>, MOVABLE, or SNAP <ns>
    at=<bytes of stdout before the snapshot> (with goon, and
    held=<in>,<out>,<err> when the shim went on) and IMAGE <bytes>;
    then EXIT <status> or SIGNAL <n>.  Exit status 0 when all of that was seen, 1 otherwise. */
#include "ckpt_proto.h"
#include "fd.h"
#include "imgseal.h"
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *out_buf;
static size_t out_n, out_cap;

static void keep (const char *b, size_t n)
{
    if (out_n + n + 1 > out_cap) {
        out_cap = (out_n + n + 1) * 2;
        out_buf = realloc (out_buf, out_cap);
        if (!out_buf)
            exit (1);
    }
    memcpy (out_buf + out_n, b, n);
    out_n += n;
    out_buf[out_n] = '\0';
}

/* Whatever the program has written so far (nonblocking pipe). */
static bool pump (int fd)
{
    char b[65536];
    for (;;) {
        ssize_t k = read (fd, b, sizeof b);
        if (k > 0) {
            keep (b, (size_t) k);
            continue;
        }
        return k == 0; /* true: end of file */
    }
}

static bool read_line (int s, char *line, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t k = read (s, line + n, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    return true;
}

/* A move's own link, as an old host makes it: a loopback connection
   (*rx the receiving end), its first chunk sealed and sent, handed to
   the shim on s with the key.  false when it could not be made. */
static bool hand_link (int s, uint8_t key[IS_KEY_BYTES], int *rx)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int l = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int tx = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l < 0 || tx < 0 || bind (l, (struct sockaddr *) &a, sizeof a) || listen (l, 1) ||
        getsockname (l, (struct sockaddr *) &a, &len) ||
        (connect (tx, (struct sockaddr *) &a, len) && errno != EINPROGRESS) ||
        (*rx = accept4 (l, NULL, NULL, SOCK_CLOEXEC)) < 0 ||
        getrandom (key, IS_KEY_BYTES, 0) != IS_KEY_BYTES)
        return false;
    close (l);
    imgseal_t *h = imgseal_new (key);
    uint8_t hello[IS_OVERHEAD];
    if (!h || imgseal_seal (h, NULL, 0, false, hello) != IS_OVERHEAD ||
        send (tx, hello, sizeof hello, 0) != (ssize_t) sizeof hello)
        return false;
    imgseal_destroy (&h);
    char line[6 + 2 * IS_KEY_BYTES + 1];
    int n = snprintf (line, sizeof line, "SEAL ");
    for (int i = 0; i < IS_KEY_BYTES; i++)
        n += snprintf (line + n, sizeof line - (size_t) n, "%02x", key[i]);
    printf ("KEY %.*s\n", 2 * IS_KEY_BYTES, line + 5); /* for the tests to look for */
    line[n++] = '\n';
    /* a shim that refused may have closed already: its answer says so */
    (void) gl_send_fds (s, line, (size_t) n, &tx, 1);
    close (tx); /* the shim's writer holds it now */
    return true;
}

static bool read_full (int fd, uint8_t *p, size_t n)
{
    return gl_read_full (fd, p, n) == (ssize_t) n;
}

/* The sealed image from rx, opened, into img (or nowhere): its bytes,
   the chunks printed with how it ended; cut: closed after 64 KiB. */
static size_t sealed_image (int rx, const uint8_t key[IS_KEY_BYTES], int img, bool cut)
{
    imgseal_t *o = imgseal_new (key);
    static uint8_t body[IS_CHUNK_MAX + IS_TAG];
    uint8_t head[IS_HEAD];
    size_t bytes = 0, chunks = 0;
    const char *why = "cut before its last chunk";
    if (!read_full (rx, head, IS_HEAD) || !read_full (rx, body, IS_TAG) ||
        imgseal_open (o, head, body, body, &why)) /* the hello, ours */
        why = "the hello does not open";
    else
        while (!imgseal_ended (o) && !(cut && bytes >= (64u << 10))) {
            uint32_t len;
            bool last;
            if (!read_full (rx, head, IS_HEAD) || imgseal_head (head, &len, &last, &why) ||
                !read_full (rx, body, len + IS_TAG) || imgseal_open (o, head, body, body, &why))
                break;
            if (img >= 0 && write (img, body, len) != (ssize_t) len)
                exit (1);
            bytes += len;
            chunks++;
        }
    uint8_t extra;
    if (imgseal_ended (o))
        why = read (rx, &extra, 1) == 0 ? "ended" : "bytes after its last chunk";
    printf ("SEALED %zu chunks, %s\n", chunks, cut && !imgseal_ended (o) ? "cut by ckhost" : why);
    fflush (stdout);
    imgseal_destroy (&o);
    close (rx);
    return bytes;
}

int main (int argc, char **argv)
{
    const char *req = "go", *mark = NULL, *image = NULL, *out = NULL, *preload = NULL;
    const char *seal = NULL;
    int c;
    while ((c = getopt (argc, argv, "+r:s:w:i:o:p:")) != -1) {
        switch (c) {
            case 'r': req = optarg; break;
            case 's': seal = optarg; break;
            case 'w': mark = optarg; break;
            case 'i': image = optarg; break;
            case 'o': out = optarg; break;
            case 'p': preload = optarg; break;
            default: return 2;
        }
    }
    if (optind >= argc) {
        fprintf (
            stderr,
            "usage: ckhost [-r probe|go|goon|hold|letgo|none] [-s whole|cut] [-w MARK] [-i IMAGE] "
            "[-o OUT] [-p LIB] -- PROG...\n");
        return 2;
    }
    bool goon = !strcmp (req, "goon");
    int r = !strcmp (req, "probe") ? GL_CKPT_PROBE : goon ? GL_CKPT_GO_ON : GL_CKPT_CONTINUE;
    bool letgo = !strcmp (req, "letgo");
    bool hold = !strcmp (req, "hold") || letgo, none = !strcmp (req, "none");
    prctl (PR_SET_CHILD_SUBREAPER, 1); /* a tree's orphans are ours to reap, as init's */
    char dir[] = "/tmp/ckhost.XXXXXX";
    if (!mkdtemp (dir))
        return 1;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf (a.sun_path, sizeof a.sun_path, "%s/ckpt.sock", dir);
    int ls = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || bind (ls, (struct sockaddr *) &a, sizeof a) || listen (ls, 4))
        return 1;
    setenv (GL_CKPT_SOCK_ENV, a.sun_path, 1);
    int p[2];
    if (pipe2 (p, O_CLOEXEC))
        return 1;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    printf ("START %lld\n", (long long) ts.tv_sec * 1000000000ll + ts.tv_nsec);
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (p[1], 1);
        int null = open ("/dev/null", O_RDONLY);
        dup2 (null, 0);
        close_range (3, ~0u, 0); /* as a host starts a job: nothing of its own */
        if (preload)
            setenv ("LD_PRELOAD", preload, 1);
        execvp (argv[optind], argv + optind);
        _exit (127);
    }
    close (p[1]);
    fcntl (p[0], F_SETFL, O_NONBLOCK);
    bool asked = none, eof = false, ok = none;
    time_t start = time (NULL);
    while (!eof && time (NULL) - start < 300) {
        if (!asked && (!mark || (out_buf && strstr (out_buf, mark)))) {
            if (gl_sigqueue_thread (pid, GL_CKPT_SIGNO, r)) {
                perror ("ckhost: sigqueue");
                break;
            }
            asked = true;
            struct pollfd pl = { ls, POLLIN, 0 };
            if (poll (&pl, 1, 10000) != 1) {
                printf ("NO ANSWER\n");
                break;
            }
            int s = accept4 (ls, NULL, NULL, SOCK_CLOEXEC);
            char line[GL_CKPT_LINE_MAX];
            if (s < 0 || !read_line (s, line, sizeof line) || strncmp (line, "GLCKPT 1 ", 9)) {
                printf ("BAD GREETING\n");
                break;
            }
            printf ("%s\n", line);
            int rx = -1;
            uint8_t key[IS_KEY_BYTES];
            if (strstr (line, " seal=1")) {
                if (seal && !hand_link (s, key, &rx)) {
                    printf ("NO LINK\n");
                    break;
                }
                if (!seal) /* it may have refused and closed already: no SIGPIPE */
                    (void) send (s, "RELAY\n", 6, MSG_NOSIGNAL);
            }
            if (!read_line (s, line, sizeof line)) {
                printf ("NO ANSWER\n");
                break;
            }
            if (strncmp (line, "SNAP ", 5)) {
                printf ("%s\n", line);
                fflush (stdout);
                ok = !strcmp (line, "MOVABLE") || !strncmp (line, "REFUSE ", 7) ||
                     !strncmp (line, "AGAIN ", 6);
                close (s);
                continue;
            }
            /* it went on: nothing read since the signal, so what came
               before the snapshot is what we had and what the pipe held */
            char *held = strstr (line, " held=");
            unsigned long long h_in, h_out, h_err;
            if (held && sscanf (held, " held=%llu,%llu,%llu", &h_in, &h_out, &h_err) == 3) {
                *held = '\0';
                printf ("%s at=%llu held=%s\n", line, (unsigned long long) out_n + h_out, held + 6);
                fflush (stdout);
            }
            else { /* every thread is parked: what is in the pipe came before */
                pump (p[0]);
                printf ("%s at=%zu\n", line, out_n);
                fflush (stdout);
                if (write (s, hold ? "HOLD\n" : "GO\n", hold ? 5 : 3) < 0)
                    break;
            }
            int img = image ? open (image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
            size_t bytes = 0;
            if (rx >= 0) { /* sealed on the link; the socket says how it ended */
                bytes = sealed_image (rx, key, img, !strcmp (seal, "cut"));
                explicit_bzero (key, sizeof key);
                if (read_line (s, line, sizeof line))
                    printf ("%s\n", line);
            }
            for (;;) {
                char b[1 << 16];
                ssize_t k = read (s, b, sizeof b);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0)
                    break;
                bytes += (size_t) k;
                if (img >= 0 && write (img, b, (size_t) k) != k)
                    return 1;
                if (!hold)
                    pump (p[0]);
            }
            if (img >= 0)
                close (img);
            /* let go: GO, then the end (a failed move); held: the end
               with no GO, which the parked process takes for its kill
               (the agent's SIGKILL may come later, through its
               launcher): here no SIGKILL at all, so that the shim's own
               is what ends it, and its tree's members with it */
            if (letgo && write (s, "GO\n", 3) < 0)
                return 1;
            close (s);
            printf ("IMAGE %zu\n", bytes);
            fflush (stdout);
            ok = bytes > 0;
            continue;
        }
        struct pollfd pl = { p[0], POLLIN, 0 };
        poll (&pl, 1, 100);
        eof = pump (p[0]);
    }
    int st;
    waitpid (pid, &st, 0);
    /* the tree's members, orphans once their root is killed, end soon
       after it (tree.h): reaped, so that their ids are free again */
    for (int i = 0; i < 200 && waitpid (-1, NULL, WNOHANG) >= 0; i++)
        poll (NULL, 0, 10);
    pump (p[0]);
    if (WIFEXITED (st))
        printf ("EXIT %d\n", WEXITSTATUS (st));
    else
        printf ("SIGNAL %d\n", WTERMSIG (st));
    FILE *f = out ? fopen (out, "w") : stderr;
    if (f && out_n)
        fwrite (out_buf, 1, out_n, f);
    if (f && out)
        fclose (f);
    unlink (a.sun_path);
    rmdir (dir);
    return ok ? 0 : 1;
}
