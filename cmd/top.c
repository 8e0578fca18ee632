/*  top.c -- `glpeer top`: the cluster from the agent's shared-memory view,
    redrawn every few seconds.  The design is in top.h. */
#include "top.h"
#include "clock.h"
#include "conf.h"
#include "fd.h"
#include "loop.h"
#include "str.h"
#include "view.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define TOP_NODES  GL_VIEW_NODES_MAX
#define TOP_JOBS   GL_VIEW_JOBS_MAX

static const char *top_usage =
    "usage: glpeer top [-b] [-d SECONDS] [-n N] [--runtime-dir DIR]\n"
    "\n"
    "A live view of the cluster from the local agent's shared-memory view:\n"
    "every member's state, idle estimate, load, free memory and guests, and\n"
    "the jobs running on this node.  q quits.\n"
    "  -b                 batch mode: plain frames to stdout, no terminal control\n"
    "  -d SECONDS         between refreshes (default 1; 0.1 to 86400, e.g. 0.5)\n"
    "  -n N               stop after N frames\n"
    "  --runtime-dir DIR  the local agent's runtime directory (default as for status)\n"
    "  -h, --help         this help\n";

typedef struct {
    gl_loop_t *loop;
    gl_view_t *view;
    bool batch;
    bool tty_taken; /* raw mode and the alternate screen are on */
    struct termios saved;
    uint64_t interval_ms;
    uint64_t frames_max; /* 0: no limit */
    uint64_t frames;
    int timer;
    int rc;
    char gone[256]; /* why the agent is gone, said after the terminal is back */
    gl_view_info_t info;
    gl_view_node_t *nodes;
    gl_view_job_t *jobs;
    char *frame; /* the lines of one frame, each ending in '\n' */
    size_t frame_len, frame_cap;
} top_t;

/* -d: seconds with up to three decimals, 0.1 to 86400.  The fraction is
   read by hand: strtod would take "1e3", "inf" and the locale's comma. */
static bool parse_seconds (const char *s, uint64_t *ms)
{
    const char *p = s;
    uint64_t whole = 0, frac = 0;
    int digits = 0;
    if (*p != '.' && !gl_parse_u64 (&p, &whole))
        return false;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (++digits > 3)
                return false;
            frac = frac * 10 + (uint64_t) (*p++ - '0');
        }
        if (!digits)
            return false;
        while (digits++ < 3)
            frac *= 10;
    }
    if (*p || whole > 86400)
        return false;
    *ms = whole * 1000 + frac;
    return *ms >= 100 && *ms <= 86400000;
}

static void frame_add (top_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void frame_add (top_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start (ap, fmt);
        size_t room = t->frame_cap - t->frame_len;
        int n = vsnprintf (t->frame + t->frame_len, room, fmt, ap);
        va_end (ap);
        if (n < 0)
            return;
        if ((size_t) n + 1 < room) {
            t->frame_len += (size_t) n;
            return;
        }
        size_t cap = t->frame_cap * 2 + (size_t) n + 2;
        char *bigger = realloc (t->frame, cap);
        if (!bigger)
            return; /* the frame stays as it was: shorter, not wrong */
        t->frame = bigger;
        t->frame_cap = cap;
    }
}

/* Names and commands come from other machines and other users: a byte
   that is not printable ASCII would be a terminal escape in their hands,
   so each becomes '?'. */
static const char *clean (const char *s, size_t max, char *out, size_t outlen)
{
    size_t i = 0;
    for (; i < max && s[i] && i + 1 < outlen; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
    return out;
}

static const char *kb_str (uint64_t kb, char *out, size_t len)
{
    if (kb >= 10ull << 20)
        snprintf (out, len, "%lluG", (unsigned long long) (kb >> 20));
    else if (kb >= 1ull << 20)
        snprintf (out, len, "%.1fG", (double) kb / (1 << 20));
    else if (kb >= 1024)
        snprintf (out, len, "%lluM", (unsigned long long) (kb >> 10));
    else
        snprintf (out, len, "%lluK", (unsigned long long) kb);
    return out;
}

static const char *secs_str (uint64_t s, char *out, size_t len)
{
    if (s < 120)
        snprintf (out, len, "%llus", (unsigned long long) s);
    else if (s < 7200)
        snprintf (out, len, "%llum", (unsigned long long) (s / 60));
    else if (s < 172800)
        snprintf (out, len, "%lluh", (unsigned long long) (s / 3600));
    else
        snprintf (out, len, "%llud", (unsigned long long) (s / 86400));
    return out;
}

static const char *state_name (uint8_t state)
{
    static const char *names[] = { "alive", "suspect", "dead", "left" };
    return state < 4 ? names[state] : "?";
}

static const char *res_name (uint8_t res)
{
    static const char *names[] = { "idle", "busy", "unavail" };
    return res < 3 ? names[res] : "?";
}

/* One frame, as text: the same lines for the terminal and for -b. */
static void compose (top_t *t)
{
    const gl_view_info_t *in = &t->info;
    char a[128], b[128], c[32], d[32];
    t->frame_len = 0;
    time_t now = time (NULL);
    struct tm tm;
    localtime_r (&now, &tm);
    strftime (c, sizeof c, "%H:%M:%S", &tm);
    frame_add (t, "glpeer top - %s  cluster %s  node %s\n", c,
               clean (in->cluster, sizeof in->cluster, a, sizeof a),
               clean (in->node, sizeof in->node, b, sizeof b));
    uint64_t now_mono = gl_mono_ms ();
    uint64_t age = now_mono > in->mono_ms ? now_mono - in->mono_ms : 0;
    frame_add (t, "members %u alive, %u idle; cores %u, %u free; mem %s free; guests %u\n",
               in->alive, in->idle, in->cores, in->cores_free,
               kb_str (in->mem_avail_kb, d, sizeof d), in->guests);
    frame_add (t, "view: agent pid %d, published %.1f s ago%s\n", gl_view_hdr (t->view)->agent_pid,
               (double) age / 1000, in->flags & GL_VIEW_TRUNCATED ? ", truncated" : "");
    frame_add (t, "\n");
    frame_add (t, "%-16s %-7s %-12s %6s %5s %7s %6s %7s\n", "NODE", "STATE", "IDLE", "LOAD",
               "CORES", "MEMFREE", "GUESTS", "CLOCK");
    uint32_t n = in->n_nodes < TOP_NODES ? in->n_nodes : TOP_NODES;
    for (uint32_t i = 0; i < n; i++) {
        const gl_view_node_t *nd = &t->nodes[i];
        clean (nd->name, sizeof nd->name, a, sizeof a);
        if (nd->is_self)
            gl_strlcpy (a + (strlen (a) > 14 ? 14 : strlen (a)), " *", 3);
        if (!nd->has_res) {
            frame_add (t, "%-16.16s %-7s %-12s\n", a, state_name (nd->state), "-");
            continue;
        }
        char idle[32], away[16], mem[16], clk[24];
        if (nd->res_state == 0)
            snprintf (idle, sizeof idle, "idle %s", secs_str (nd->owner_idle_s, away, sizeof away));
        else
            gl_strlcpy (idle, res_name (nd->res_state), sizeof idle);
        if (nd->is_self)
            gl_strlcpy (clk, "-", sizeof clk);
        else
            snprintf (clk, sizeof clk, "%+lldms", (long long) nd->clock_ms);
        frame_add (t, "%-16.16s %-7s %-12s %6.2f %5u %7s %6u %7s\n", a, state_name (nd->state),
                   idle, nd->load1_milli / 1000.0, nd->cores,
                   kb_str (nd->mem_avail_kb, mem, sizeof mem), nd->guests, clk);
    }
    frame_add (t, "\n");
    frame_add (t, "JOBS ON %s: %u\n", clean (in->node, sizeof in->node, a, sizeof a), in->n_jobs);
    if (!in->n_jobs)
        return;
    frame_add (t, "%-24s %-8s %-10s %7s %5s %s\n", "GPID", "USER", "HOME", "PID", "TIME",
               "COMMAND");
    uint32_t m = in->n_jobs < TOP_JOBS ? in->n_jobs : TOP_JOBS;
    uint64_t now_s = (uint64_t) now;
    for (uint32_t i = 0; i < m; i++) {
        const gl_view_job_t *j = &t->jobs[i];
        char user[48], home[80], cmd[160], gpid[112];
        frame_add (t, "%-24.24s %-8.8s %-10.10s %7d %5s %s\n",
                   clean (j->gpid, sizeof j->gpid, gpid, sizeof gpid),
                   clean (j->user, sizeof j->user, user, sizeof user),
                   clean (j->home, sizeof j->home, home, sizeof home), j->pid,
                   secs_str (now_s > j->start_wall_s ? now_s - j->start_wall_s : 0, c, sizeof c),
                   clean (j->cmd, sizeof j->cmd, cmd, sizeof cmd));
    }
}

static void window_size (int *rows, int *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* The frame on the terminal: each line at its own row, cut to the width,
   the rest of the row erased; rows past the frame erased; a frame taller
   than the window ends with a note of what did not fit. */
static int paint (top_t *t)
{
    int rows, cols;
    window_size (&rows, &cols);
    size_t lines = 0;
    for (size_t i = 0; i < t->frame_len; i++)
        lines += t->frame[i] == '\n';
    size_t cap = (size_t) rows * ((size_t) cols + 16) + 64, len = 0;
    char *out = malloc (cap);
    if (!out)
        return -1;
    const char *p = t->frame;
    for (int r = 1; r <= rows; r++) {
        len += (size_t) snprintf (out + len, cap - len, "\033[%d;1H\033[2K", r);
        if ((size_t) r > lines)
            continue;
        const char *nl = memchr (p, '\n', t->frame_len - (size_t) (p - t->frame));
        size_t n = (size_t) (nl - p);
        if (r == rows && lines > (size_t) rows) {
            char more[64];
            n = (size_t) snprintf (more, sizeof more, "(%zu more lines)",
                                   lines - (size_t) rows + 1);
            memcpy (out + len, more, n < (size_t) cols ? n : (size_t) cols);
            len += n < (size_t) cols ? n : (size_t) cols;
            break;
        }
        if (n > (size_t) cols)
            n = (size_t) cols;
        memcpy (out + len, p, n);
        len += n;
        p = nl + 1;
    }
    len += (size_t) snprintf (out + len, cap - len, "\033[%d;1H", rows);
    int rc = gl_write_all (STDOUT_FILENO, out, len);
    free (out);
    return rc;
}

static const char tty_enter[] = "\033[?1049h\033[?25l\033[2J";
static const char tty_leave[] = "\033[?25h\033[?1049l";

static int tty_take (top_t *t)
{
    struct termios raw = t->saved;
    raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr (STDIN_FILENO, TCSANOW, &raw))
        return -1;
    t->tty_taken = true;
    return gl_write_all (STDOUT_FILENO, tty_enter, sizeof tty_enter - 1);
}

static void tty_give_back (top_t *t)
{
    if (!t->tty_taken)
        return;
    gl_write_all (STDOUT_FILENO, tty_leave, sizeof tty_leave - 1);
    tcsetattr (STDIN_FILENO, TCSANOW, &t->saved);
    t->tty_taken = false;
}

static void finish (top_t *t, int rc)
{
    t->rc = rc;
    gl_loop_stop (t->loop);
}

/* Is the agent still there?  A leaving agent closes its view; a killed
   one leaves it behind, unchanging, and its process is gone. */
static bool agent_gone (top_t *t, bool have_info)
{
    const gl_view_hdr_t *h = gl_view_hdr (t->view);
    if (have_info && (t->info.flags & GL_VIEW_CLOSED)) {
        snprintf (t->gone, sizeof t->gone, "the agent (pid %d) stopped and closed its view",
                  h->agent_pid);
        return true;
    }
    if (kill (h->agent_pid, 0) && errno == ESRCH) {
        snprintf (t->gone, sizeof t->gone, "the agent (pid %d) is gone; its view will not change",
                  h->agent_pid);
        return true;
    }
    return false;
}

static void draw (top_t *t)
{
    const char *why = NULL;
    gl_view_info_t last = t->info;
    bool have = gl_view_read (t->view, &t->info, t->nodes, TOP_NODES, t->jobs, TOP_JOBS, &why) == 0;
    if (agent_gone (t, have)) {
        finish (t, 1);
        return;
    }
    if (!have) { /* a failed read may leave a torn copy: show the last good one */
        t->info = last;
        t->info.n_nodes = t->info.n_jobs = 0;
    }
    compose (t);
    if (why) /* the agent was writing through every try: say so, try again next time */
        frame_add (t, "\n(the view could not be read: %s)\n", why);
    int rc;
    if (t->batch) {
        rc = gl_write_all (STDOUT_FILENO, t->frame, t->frame_len);
        if (!rc && (!t->frames_max || t->frames + 1 < t->frames_max))
            rc = gl_write_all (STDOUT_FILENO, "\n", 1);
    }
    else
        rc = paint (t);
    if (rc) {
        snprintf (t->gone, sizeof t->gone, "cannot write: %s", strerror (errno));
        finish (t, 1);
        return;
    }
    if (t->frames_max && ++t->frames >= t->frames_max)
        finish (t, 0);
}

static void on_tick (gl_loop_t *loop, int id, void *arg)
{
    (void) id;
    top_t *t = arg;
    t->timer = gl_loop_timer (loop, gl_mono_ms () + t->interval_ms, on_tick, t);
    draw (t);
}

static void on_key (gl_loop_t *loop, int fd, short revents, void *arg)
{
    (void) loop;
    (void) revents;
    top_t *t = arg;
    char keys[64];
    ssize_t n = read (fd, keys, sizeof keys);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        snprintf (t->gone, sizeof t->gone, "the terminal went away");
        finish (t, 1);
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if (keys[i] == 'q' || keys[i] == 'Q') {
            finish (t, 0);
            return;
        }
    draw (t); /* any other key: refresh now, as top does */
}

static void on_signal (gl_loop_t *loop, const struct signalfd_siginfo *si, void *arg)
{
    (void) loop;
    top_t *t = arg;
    int signo = (int) si->ssi_signo;
    if (signo == SIGWINCH) {
        draw (t);
        return;
    }
    if (signo == SIGTSTP) {
        /* stop with the terminal as it was; take it again on return */
        tty_give_back (t);
        kill (getpid (), SIGSTOP);
        if (tty_take (t) == 0)
            draw (t);
        return;
    }
    finish (t, 128 + signo);
}

int top_main (int argc, char **argv)
{
    static const struct option opts[] = { { "runtime-dir", required_argument, 0, 'r' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    top_t t = { .interval_ms = 1000, .rc = 0 };
    char runtime_dir[GL_PATH_MAX] = "";
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "+bd:n:h", opts, NULL)) != -1) {
        const char *p = optarg;
        switch (c) {
            case 'b': t.batch = true; break;
            case 'd':
                if (!parse_seconds (optarg, &t.interval_ms)) {
                    fprintf (stderr,
                             "glpeer top: -d '%s': expected seconds from 0.1 to 86400, "
                             "e.g. 1 or 0.5\n",
                             optarg);
                    return EXIT_USAGE;
                }
                break;
            case 'n':
                if (!gl_parse_u64 (&p, &t.frames_max) || *p || !t.frames_max) {
                    fprintf (stderr,
                             "glpeer top: -n '%s': expected a number of frames, 1 or more\n",
                             optarg);
                    return EXIT_USAGE;
                }
                break;
            case 'r': gl_strlcpy (runtime_dir, optarg, sizeof runtime_dir); break;
            case 'h': printf ("%s", top_usage); return 0;
            default: fprintf (stderr, "%s", top_usage); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf (stderr, "glpeer top: unexpected '%s'\n%s", argv[optind], top_usage);
        return EXIT_USAGE;
    }
    if (!t.batch && (!isatty (STDIN_FILENO) || !isatty (STDOUT_FILENO))) {
        fprintf (stderr, "glpeer top: not a terminal; use -b for plain frames to stdout\n");
        return EXIT_USAGE;
    }
    if (!runtime_dir[0])
        gl_default_runtime_dir (runtime_dir, sizeof runtime_dir);

    char err[GL_PATH_MAX + 256];
    if (!(t.view = gl_view_open (runtime_dir, err, sizeof err))) {
        fprintf (stderr, "glpeer top: %s\n", err);
        return 1;
    }
    t.nodes = calloc (TOP_NODES, sizeof *t.nodes);
    t.jobs = calloc (TOP_JOBS, sizeof *t.jobs);
    t.frame_cap = 16384;
    t.frame = malloc (t.frame_cap);
    if (!t.nodes || !t.jobs || !t.frame) {
        fprintf (stderr, "glpeer top: out of memory\n");
        t.rc = 1;
        goto out;
    }
    if (!(t.loop = gl_loop_new (err, sizeof err))) {
        fprintf (stderr, "glpeer top: %s\n", err);
        t.rc = 1;
        goto out;
    }
    /* every signal that would end it, taken by the loop, so that the one
       way out below gives the terminal back */
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (t.batch && (sigs[i] == SIGWINCH || sigs[i] == SIGTSTP))
            continue;
        if (gl_loop_signal (t.loop, sigs[i], on_signal, &t)) {
            fprintf (stderr, "glpeer top: signal %d: %s\n", sigs[i], strerror (errno));
            t.rc = 1;
            goto out;
        }
    }
    if (!t.batch) {
        if (tcgetattr (STDIN_FILENO, &t.saved) || tty_take (&t) ||
            gl_loop_fd (t.loop, STDIN_FILENO, POLLIN, on_key, &t)) {
            tty_give_back (&t);
            fprintf (stderr, "glpeer top: the terminal: %s\n", strerror (errno));
            t.rc = 1;
            goto out;
        }
    }
    on_tick (t.loop, 0, &t);
    if (t.rc == 0 && !(t.frames_max && t.frames >= t.frames_max) && !t.gone[0])
        gl_loop_run (t.loop);
    if (!t.batch)
        gl_loop_fd (t.loop, STDIN_FILENO, 0, on_key, &t);
    tty_give_back (&t);
    if (t.gone[0])
        fprintf (stderr, "glpeer top: %s\n", t.gone);
out:
    gl_loop_destroy (&t.loop);
    gl_view_close (&t.view);
    free (t.nodes);
    free (t.jobs);
    free (t.frame);
    return t.rc;
}
