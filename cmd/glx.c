/*  glx -- run a program somewhere in the cluster, as if it ran here.

        glx [-t] [-v] [-w NODE[,NODE...]] [--local] [--restart FILE]
            [-n N [--label] [--keep-going] [--no-gang]]
            [--no-shim] [--spread PATTERN] [--runtime-dir DIR] [--] PROG [ARGS...]

    glx hands the job to the local agent (its home) over the agent's
    socket, then pumps: our stdin to the job under the credit the host
    grants, the job's stdout and stderr to ours (granting credit back as we
    write them out, so a slow reader slows the job instead of filling
    memory anywhere), and our signals to the job.  It exits as the job
    did.  See glx(1) for the exit codes of its own failures. */
#include "conf.h"
#include "str.h"
#include "ctl.h"
#include "clock.h"
#include "fd.h"
#include "imgseal.h"
#include "jobs.h"
#include "loop.h"
#include "rlimits.h"
#include "spread.h"
#include "wire.h"

#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/* glx's own exit codes (a job's own code passes through unchanged) */
enum {
    GLX_USAGE = 2,
    GLX_NO_AGENT = 120,           /* no agent to talk to */
    GLX_NO_NODE = 121,            /* no node can take the job */
    GLX_NODE_LOST = 122,          /* the node running it died or left */
    GLX_BROKEN = 123,             /* the agent went away, or output was lost */
    GLX_START = 124,              /* it could not start: directory, user, system */
    GLX_PMI = JOBS_STATUS_BROKEN, /* 125: a parallel job broke its PMI contract */
    GLX_DENIED = 126,             /* program found but not runnable (as in sh) */
    GLX_NOT_FOUND = 127,          /* program not found (as in sh) */
};

static const char *usage_text =
    "usage: glx [OPTIONS] [--] PROG [ARGS...]\n"
    "\n"
    "Run PROG on the best node of the cluster, as if it ran here: stdin,\n"
    "stdout, stderr, signals and the exit status travel.\n"
    "\n"
    "  -t, --tty            give the job a terminal (shells, editors); ours goes raw\n"
    "  -w, --node NODE      run on NODE only; with -n, a list NODE,NODE,...: rank r\n"
    "                       on the r-th (round robin)\n"
    "  -n, --procs N        start N processes spread over the cluster, each with\n"
    "                       GLUNIX_RANK, GLUNIX_SIZE and GLUNIX_JOB; stdin goes to rank 0;\n"
    "                       MPI programs (MPICH) find each other through PMI_FD;\n"
    "                       they form a gang, coscheduled: all run at once or none\n"
    "  --label              prefix each output line with its rank (with -n)\n"
    "  --keep-going         when one process fails, let the others run on (with -n)\n"
    "  --no-gang            with -n: not a gang, each process scheduled on its own\n"
    "  --local              this node may be chosen too\n"
    "  -v, --verbose        say where the job runs and why other nodes were passed over\n"
    "  --runtime-dir DIR    the local agent's runtime directory\n"
    "  --no-shim            do not preload the shim (libglshim.so) into the job\n"
    "  --restart FILE       run the job whose image glpeer checkpoint wrote to FILE,\n"
    "                       from where it was, its streams here\n"
    "  --checkpoint-every DURATION\n"
    "                       keep the job's latest checkpoint, taken this often (5s,\n"
    "                       1m; 0: never), in its home's memory: if its node dies it\n"
    "                       restarts elsewhere from it (default: cluster.conf's\n"
    "                       sched/checkpoint_every)\n"
    "  --spread PATTERN     run the programs the job executes whose names match\n"
    "                       PATTERN ('cc1|as') on the best nodes; needs a shared\n"
    "                       file system, see glx(1)\n"
    "  --relay              exit as the job did, by its signal if one killed it\n"
    "  --else-here          with -w: run PROG here, in glx's place, when NODE\n"
    "                       cannot take it (the shim's --spread steps)\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: the job's own, 128+S if signal S killed it; 120 no agent,\n"
    "121 no node can take it, 122 its node was lost, 123 the agent went away,\n"
    "124 it could not start, 125 an MPI rank broke the job (exited 0 without\n"
    "MPI_Finalize), 126 not runnable, 127 not found.  An MPI job (-n) exits as\n"
    "under mpiexec: with MPI_Abort's code, or the status or signal number of a\n"
    "rank that died before MPI_Finalize.  See glx(1).\n";

/* Signals we pass on to the job. */
static const int forwarded[] = { SIGINT,  SIGTERM, SIGHUP,   SIGQUIT, SIGUSR1,
                                 SIGUSR2, SIGPIPE, SIGWINCH, SIGTSTP, SIGCONT };
#define N_FORWARDED (sizeof forwarded / sizeof forwarded[0])

typedef struct glx_t glx_t;

/* One process of the job (one, unless -n), with its own stream. */
typedef struct {
    glx_t *g;
    int sock; /* its stream to the home; -1 once done */
    uint32_t rank;
    char gpid[GL_GPID_MAX + 1];
    bool started;
    bool done;
    bool exited;        /* it ended by itself (EXIT), not by glx's failure */
    int signo;          /* the signal that killed it, if one did */
    int status;         /* how it ended, once done */
    uint64_t in_credit; /* stdin bytes the host will take */
    uint64_t in_seq;
    bool in_done;
    uint64_t out_seq[3];  /* the next DATA sequence number we expect */
    uint64_t out_owed[3]; /* bytes written out, credit not yet granted */
    uint64_t img_credit;  /* --restart: image bytes the host will take */
    uint64_t img_seq;
    uint64_t img_read; /* FILE's bytes sent */
    bool img_done;
    bool mid_line[3]; /* --label: a line was begun without its prefix due */
    uint8_t *part[3]; /* --label: the line begun, kept until its end comes */
    size_t part_len[3];
} proc_t;

struct glx_t {
    /* the command line */
    bool verbose;
    bool tty;       /* -t: the job has a pseudo-terminal */
    uint8_t closed; /* bit k: we were started without fd k (0..2) */
    bool label;
    bool local;
    bool keep_going;
    bool relay;                    /* --relay: exit as the job did, a signal included */
    bool no_shim;                  /* --no-shim: GLUNIX_SHIM=0 */
    bool else_here;                /* --else-here: run it here when NODE cannot */
    bool no_gang;                  /* --no-gang */
    const char *spread;            /* --spread PATTERN, or NULL */
    const char *restart;           /* --restart FILE: a checkpoint's image, or NULL */
    uint64_t ckpt_every_ms;        /* --checkpoint-every: 0 not said, GL_JOB_CKPT_NEVER off */
    int img_fd;                    /* FILE, open */
    struct stat img_st;            /* FILE as it was when opened */
    const char *pin;               /* -w NODE, or NULL */
    char (*pins)[GL_NAME_MAX + 1]; /* -w NODE,NODE,...: rank r's is pins[r % n_pins] */
    size_t n_pins;
    uint32_t size; /* processes */
    char runtime_dir[GL_PATH_MAX];
    int argc; /* the program and its arguments */
    char **argv;

    char job_name[GL_GPID_MAX + 1]; /* what the processes of -n share */
    proc_t *procs;
    gl_loop_t *loop;
    uint32_t running;  /* processes not done */
    int status;        /* the first non-zero way a process ended */
    int killed_by;     /* the signal that ended the job (one process) */
    bool ending;       /* the home is ending the parallel job (a NOTE with eof) */
    int sent_signo;    /* the last signal we passed on to the job */
    bool stop_pending; /* a SIGTSTP came before the job started: passed on once it has */
    /* --restart: its image's way, which the home says once the restorer
       waits (a MOVE LISTEN): in IMAGEs through the agents, or straight
       to the restorer on a connection of our own, sealed under the key
       the home drew for this restart (checkpoint/imgseal.h) */
    bool img_told;
    bool img_direct;  /* told the restorer's address: the image goes there */
    int net;          /* that connection, or -1 */
    bool net_up;      /* a byte of it went: the restorer was reached */
    int net_timer;    /* until it is reached (NET_WAIT_MS), or 0 */
    imgseal_t *seal;  /* the sealer, under the key */
    uint8_t *net_out; /* one sealed chunk: IS_OVERHEAD + NET_CHUNK */
    size_t net_off, net_len;
    uint64_t net_sent;                                /* FILE's bytes sealed */
    char net_to[GL_NAME_MAX + GL_MOVE_ADDR_MAX + 16]; /* "NODE's restorer at ADDR" */
};

/* -t puts our terminal in raw mode: every key goes to the job's terminal,
   whose line discipline makes Ctrl-C a SIGINT there.  Always restored. */
static struct termios saved_termios;
static bool termios_saved;

static void terminal_restore (void)
{
    if (termios_saved)
        tcsetattr (STDIN_FILENO, TCSADRAIN, &saved_termios);
    termios_saved = false;
}

static void terminal_raw (void)
{
    if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved_termios))
        return;
    termios_saved = true;
    atexit (terminal_restore);
    struct termios raw = saved_termios;
    cfmakeraw (&raw);
    tcsetattr (STDIN_FILENO, TCSADRAIN, &raw);
}

static void window_size (uint32_t *rows, uint32_t *cols)
{
    struct winsize ws;
    if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
    else {
        *rows = 24;
        *cols = 80;
    }
}

static int send_job (proc_t *p, const gl_job_t *job)
{
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    uint8_t *body;
    size_t len;
    if (gl_msg_encode (&msg, &body, &len))
        return -2; /* the message itself cannot be: too big, or not valid */
    int rc = ctl_frame_write (p->sock, body, len);
    free (body);
    return rc;
}

/* The RUN request: everything the job needs to behave as if run here. */
static int send_run (glx_t *g, proc_t *p)
{
    gl_job_t run = { .type = GL_JOB_RUN }; /* the home gives it its GPID */
    char cwd[GL_JOB_PATH_MAX + 1];
    if (!getcwd (cwd, sizeof cwd)) {
        fprintf (stderr, "glx: cannot read the working directory: %s\n", strerror (errno));
        return -2;
    }
    /* Pass the environment on, less what only makes sense here. */
    size_t n_env = 0;
    for (char **e = environ; *e; e++)
        n_env++;
    char **env = calloc (n_env + 8, sizeof *env);
    if (!env)
        return -1;
    size_t k = 0;
    /* (and less what is no variable: a string without '=' or with an
       empty name, which execve lets a parent hand glx and no shell would
       export; a RUN carries variables only) */
    for (char **e = environ; *e; e++)
        if (strncmp (*e, "_=", 2) && strncmp (*e, "GLUNIX_", 7) && **e != '=' && strchr (*e, '='))
            env[k++] = *e;
    /* the shim's settings (glunix(7)): its own variables pass only so */
    char spread[SPREAD_PATTERN_MAX + 16];
    if (g->no_shim)
        env[k++] = (char *) "GLUNIX_SHIM=0";
    if (g->spread) {
        snprintf (spread, sizeof spread, "GLUNIX_SPREAD=%s", g->spread);
        env[k++] = spread;
        if (g->verbose)
            env[k++] = (char *) "GLUNIX_SPREAD_VERBOSE=1";
    }
    char rank[48], size[48], job[GL_GPID_MAX + 16];
    if (g->size > 1) { /* a parallel job: who am I among how many */
        snprintf (rank, sizeof rank, "GLUNIX_RANK=%u", p->rank);
        snprintf (size, sizeof size, "GLUNIX_SIZE=%u", g->size);
        snprintf (job, sizeof job, "GLUNIX_JOB=%s", g->job_name);
        env[k++] = rank;
        env[k++] = size;
        env[k++] = job;
        run.rank = p->rank;
        run.size = g->size;
        if (!g->no_gang) /* the processes of one glx -n: the home groups them by this name */
            gl_strlcpy (run.gang, g->job_name, sizeof run.gang);
    }
    mode_t mask = umask (0);
    umask (mask);
    struct passwd *pw = getpwuid (getuid ());
    run.argc = (uint32_t) g->argc;
    run.argv = g->argv;
    run.envc = (uint32_t) k;
    run.envv = env;
    run.cwd = cwd;
    run.umask = (uint32_t) mask;
    /* the limits ulimit set here: the host lowers each to its own */
    char lim[GL_RLIMITS_MAX][GL_RLIMIT_STR_MAX], *limv[GL_RLIMITS_MAX];
    run.n_rlimits = (uint32_t) gl_rlimits_own (lim);
    for (uint32_t i = 0; i < run.n_rlimits; i++)
        limv[i] = lim[i];
    run.rlimits = limv;
    run.uid = (uint32_t) getuid ();
    run.gid = (uint32_t) getgid ();
    gl_strlcpy (run.user, pw ? pw->pw_name : "", sizeof run.user);
    gl_strlcpy (run.pin, g->n_pins ? g->pins[p->rank % g->n_pins] : "", sizeof run.pin);
    run.allow_local = g->local;
    if (g->restart)
        run.restart = GL_JOB_RESTART_GLX;
    run.ckpt_every_ms = g->ckpt_every_ms;
    if (g->tty) {
        run.pty = true;
        window_size (&run.rows, &run.cols);
    }
    else if (!g->restart)
        run.closed = g->closed;
    int rc = send_job (p, &run);
    if (rc == -2) { /* nothing the agent could be asked: say what is too big */
        size_t arg_bytes = 0, env_bytes = 0;
        for (int i = 0; i < g->argc; i++)
            arg_bytes += strlen (g->argv[i]) + 1;
        for (size_t i = 0; i < k; i++)
            env_bytes += strlen (env[i]) + 1;
        if ((size_t) g->argc <= GL_JOB_ARGS_MAX && k <= GL_JOB_ARGS_MAX &&
            arg_bytes + env_bytes + 4 * ((size_t) g->argc + k) < GL_PKT_MAX - 65536)
            fprintf (stderr, "glx: cannot make the job's request (%s)\n",
                     g->argv[0][0] ? "a field out of range" : "the program's name is empty");
        else
            fprintf (stderr,
                     "glx: the command line (%d arguments, %zu bytes) and the environment "
                     "(%zu variables, %zu bytes) are more than a job carries (%u strings each, "
                     "%u MiB in all)\n",
                     g->argc, arg_bytes, k, env_bytes, GL_JOB_ARGS_MAX, GL_PKT_MAX >> 20);
    }
    free (env);
    return rc;
}

/* Read what stdin has, as far as credit allows. */
static int pump_stdin (proc_t *p)
{
    static uint8_t buf[JOBS_CHUNK];
    size_t want = p->in_credit < sizeof buf ? (size_t) p->in_credit : sizeof buf;
    ssize_t n = read (STDIN_FILENO, buf, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    gl_job_t data = { .type = GL_JOB_DATA, .stream = 0, .seq = p->in_seq++ };
    gl_strlcpy (data.gpid, p->gpid, sizeof data.gpid);
    if (n <= 0) {
        data.eof = true;
        p->in_done = true;
    }
    else {
        data.data = buf;
        data.len = (uint32_t) n;
        p->in_credit -= (uint64_t) n;
    }
    return send_job (p, &data);
}

/* --label: a line is written whole, so that lines of ranks writing at
   once do not mix ("0: 12" with "1: 34" as "0: 11: 34"), as mpiexec -l
   keeps them.  What a chunk ends with, a line not ended yet, waits in
   part until its end comes, or until it is this long: then it goes out
   unended and the rest follows without a prefix.  (Small: every one of
   up to 4096 ranks may have a line begun on each stream.) */
#define LABEL_PART_MAX (4u << 10)

static int label_prefix (proc_t *p, int fd)
{
    char prefix[32];
    int plen = snprintf (prefix, sizeof prefix, "%u: ", p->rank);
    return p->mid_line[fd] ? 0 : gl_write_all (fd, prefix, (size_t) plen);
}

/* The line begun, out as it is (too long, or its process ended). */
static int label_flush (proc_t *p, int fd)
{
    if (!p->part_len[fd])
        return 0;
    if (label_prefix (p, fd) || gl_write_all (fd, p->part[fd], p->part_len[fd]))
        return -1;
    p->mid_line[fd] = true;
    p->part_len[fd] = 0;
    return 0;
}

/* Output of one process; with --label each line starts "RANK: ". */
static int write_output (glx_t *g, proc_t *p, int fd, const uint8_t *data, size_t len)
{
    if (!g->label)
        return gl_write_all (fd, data, len);
    while (len) {
        const uint8_t *nl = memchr (data, '\n', len);
        if (!nl) {
            if (!p->part[fd] && !(p->part[fd] = malloc (LABEL_PART_MAX)))
                return gl_write_all (fd, data, len); /* no room to keep it: as it comes */
            if (p->part_len[fd] + len <= LABEL_PART_MAX) {
                memcpy (p->part[fd] + p->part_len[fd], data, len);
                p->part_len[fd] += len;
                return 0;
            }
            if (label_flush (p, fd) || label_prefix (p, fd) || gl_write_all (fd, data, len))
                return -1;
            p->mid_line[fd] = true;
            return 0;
        }
        size_t n = (size_t) (nl - data) + 1;
        if (label_prefix (p, fd) ||
            (p->part_len[fd] && gl_write_all (fd, p->part[fd], p->part_len[fd])) ||
            gl_write_all (fd, data, n))
            return -1;
        p->part_len[fd] = 0;
        p->mid_line[fd] = false;
        data += n;
        len -= n;
    }
    return 0;
}

/* A line from the home, on stderr: its bytes, but no control character
   (a rank's own words may be in it). */
static void say (const char *text)
{
    if (!text)
        return;
    fputs ("glx: ", stderr);
    for (const char *c = text; *c; c++)
        fputc ((unsigned char) *c < 0x20 || *c == 0x7f ? '?' : *c, stderr);
    fputc ('\n', stderr);
}

static void proc_end (proc_t *p, int status);

/* At FILE's end, read bytes of it read: did it change meanwhile
   (another checkpoint written over it, cut, appended to)?  Then the
   restart is given up, before the restorer could take a mix of two
   images for one: -1 (it did not), or glx's exit status.  FILE is left
   as it is, and our stream's end kills the waiting restorer. */
static int image_given_up (glx_t *g, uint64_t read)
{
    struct stat now;
    const char *why = NULL;
    if (fstat (g->img_fd, &now))
        why = "it cannot be looked at any more";
    else if (now.st_size != g->img_st.st_size || (uint64_t) now.st_size != read)
        why = "its size changed";
    else if (now.st_mtim.tv_sec != g->img_st.st_mtim.tv_sec ||
             now.st_mtim.tv_nsec != g->img_st.st_mtim.tv_nsec)
        why = "it was written to";
    if (!why)
        return -1;
    fprintf (stderr, "glx: %s changed while it was read (%s): the restart is given up\n",
             g->restart, why);
    return GLX_START;
}

#define NET_CHUNK   (256u << 10) /* FILE's bytes in one sealed chunk */
#define NET_WAIT_MS 10000        /* for the connection (a firewall that drops it) */
#define NET_BURST   16           /* chunks a turn of the loop, so that it serves the rest */

static void on_net (gl_loop_t *loop, int fd, short revents, void *arg);

static void net_close (glx_t *g)
{
    gl_loop_timer_end (g->loop, g->net_timer);
    g->net_timer = 0;
    if (g->net >= 0) {
        gl_loop_fd (g->loop, g->net, 0, on_net, &g->procs[0]); /* a restart is one process */
        close (g->net);
    }
    g->net = -1;
    imgseal_destroy (&g->seal);
    free (g->net_out);
    g->net_out = NULL;
    g->net_len = 0;
}

/* FILE, sealed, to the restorer, as far as the connection takes it now.
   -1 to go on, or glx's exit status.  The stream cut (FILE unreadable or
   changed, the connection broken once made), the restorer refuses the
   image and its host says why (the job could not start: GLX_START), as
   of a cut image in IMAGEs. */
static int net_pump (glx_t *g)
{
    for (int burst = 0; burst < NET_BURST;) {
        if (g->net_len) {
            ssize_t n = send (g->net, g->net_out + g->net_off, g->net_len, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -1; /* TCP's window: on when it has room */
            if (n < 0 && !g->net_up) {
                fprintf (stderr, "glx: cannot reach %s: %s\n", g->net_to, strerror (errno));
                net_close (g);
                return GLX_START; /* our stream's end kills the waiting restorer */
            }
            if (n < 0) { /* the restorer is gone, or going: its host says why */
                if (g->verbose)
                    fprintf (stderr, "glx: the image's connection to %s broke: %s\n", g->net_to,
                             strerror (errno));
                net_close (g);
                return -1;
            }
            if (!g->net_up) {
                gl_loop_timer_end (g->loop, g->net_timer);
                g->net_timer = 0;
            }
            g->net_up = true;
            g->net_off += (size_t) n;
            g->net_len -= (size_t) n;
            continue;
        }
        if (imgseal_ended (g->seal)) { /* all of it went */
            net_close (g);
            return -1;
        }
        ssize_t n = read (g->img_fd, g->net_out + IS_HEAD, NET_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf (stderr, "glx: %s: %s\n", g->restart, strerror (errno));
            net_close (g); /* before its last chunk: the restorer refuses a cut image */
            return -1;
        }
        int end = n == 0 ? image_given_up (g, g->net_sent) : -1;
        if (end >= 0) {
            net_close (g);
            return end;
        }
        g->net_sent += (uint64_t) n;
        /* sealed where it was read: the chunk's head goes before it */
        g->net_off = 0;
        g->net_len = imgseal_seal (g->seal, g->net_out + IS_HEAD, (size_t) n, n == 0, g->net_out);
        if (!g->net_len) {
            fprintf (stderr, "glx: the image could not be sealed\n");
            net_close (g);
            return GLX_START;
        }
        burst++;
    }
    return -1;
}

/* --restart through the agents: FILE in IMAGEs, as far as the host's
   credit goes.  -1 to go on, or glx's exit status. */
static int pump_image (glx_t *g, proc_t *p)
{
    static uint8_t buf[JOBS_CHUNK];
    while (!p->img_done && p->img_credit) {
        size_t want = p->img_credit < sizeof buf ? (size_t) p->img_credit : sizeof buf;
        ssize_t n = read (g->img_fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf (stderr, "glx: %s: %s\n", g->restart, strerror (errno));
            n = 0; /* the image ends here: the restorer refuses a cut one */
        }
        else if (n == 0) {
            int end = image_given_up (g, p->img_read);
            if (end >= 0)
                return end;
        }
        gl_job_t img = { .type = GL_JOB_IMAGE, .seq = p->img_seq++ };
        gl_strlcpy (img.gpid, p->gpid, sizeof img.gpid);
        if (n == 0) {
            img.eof = true;
            p->img_done = true;
        }
        else {
            img.data = buf;
            img.len = (uint32_t) n;
            p->img_credit -= (uint64_t) n;
            p->img_read += (uint64_t) n;
        }
        if (send_job (p, &img)) {
            /* the home ended the job and hung up (its restorer refused
               the image halfway): its exit and what it said are still
               to be read; an agent gone is told by the connection's end */
            p->img_done = true;
            return -1;
        }
    }
    return -1;
}

static void proc_finished (glx_t *g, proc_t *p, int end);

static void on_net (gl_loop_t *loop, int fd, short revents, void *arg)
{
    proc_t *p = (proc_t *) arg;
    int end = net_pump (p->g);
    if (end >= 0)
        proc_finished (p->g, p, end);
}

/* No connection to the restorer in time: the restart ends (the
   restorer would wait for it as long again). */
static void net_late (gl_loop_t *loop, int id, void *arg)
{
    proc_t *p = (proc_t *) arg;
    p->g->net_timer = 0;
    if (p->g->net_up || p->done)
        return;
    fprintf (stderr, "glx: cannot reach %s: no answer in %d s\n", p->g->net_to, NET_WAIT_MS / 1000);
    net_close (p->g);
    proc_finished (p->g, p, GLX_START);
}

/* The home's LISTEN with the restorer's address and the key: connect
   there and send FILE, its empty first chunk ahead to prove the key.
   -1 to go on, or glx's exit status.  The key is forgotten here. */
static int net_start (glx_t *g, proc_t *p, const gl_job_t *job)
{
    uint8_t *key = (uint8_t *) job->move_key; /* ours to wipe: the message ends here */
    g->img_direct = true;
    struct sockaddr_storage sa;
    socklen_t len;
    snprintf (g->net_to, sizeof g->net_to, "%s's restorer at %s",
              job->node[0] ? job->node : "its node", job->move_addr);
    int rc = -1;
    if (!gl_addr_parse (job->move_addr, &sa, &len)) {
        fprintf (stderr, "glx: the agent named no address for the restorer ('%s')\n",
                 job->move_addr);
        rc = GLX_BROKEN;
    }
    else if (!(g->seal = imgseal_new (key)) || !(g->net_out = malloc (IS_OVERHEAD + NET_CHUNK)) ||
             !(g->net_len = imgseal_seal (g->seal, NULL, 0, false, g->net_out))) {
        fprintf (stderr, "glx: cannot seal the image (out of memory, or neither AES-NI nor "
                         "libcrypto here)\n");
        rc = GLX_START;
    }
    else if ((g->net = socket (sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
             (connect (g->net, (struct sockaddr *) &sa, len) && errno != EINPROGRESS) ||
             gl_loop_fd (g->loop, g->net, POLLOUT, on_net, p)) {
        fprintf (stderr, "glx: cannot reach %s: %s\n", g->net_to, strerror (errno));
        rc = GLX_START;
    }
    explicit_bzero (key, GL_MOVE_KEY_BYTES);
    if (rc >= 0) {
        net_close (g);
        return rc;
    }
    g->net_off = 0;
    g->net_timer = gl_loop_timer (g->loop, gl_mono_ms () + NET_WAIT_MS, net_late, p);
    if (g->net_timer < 0)
        g->net_timer = 0; /* no memory for it: the restorer's own wait ends it */
    if (g->verbose)
        fprintf (stderr, "glx: the image goes straight to %s\n", g->net_to);
    return -1;
}

static void pass_on (glx_t *g, int signo);

/* A message from the home about process p.  Returns -1 to go on, or how
   the process ended (its exit status). */
static int on_message (glx_t *g, proc_t *p, const gl_job_t *job)
{
    switch (job->type) {
        case GL_JOB_STARTED:
            p->started = true;
            p->in_credit = JOBS_WINDOW;
            p->img_credit = g->restart ? JOBS_WINDOW : 0;
            if (g->tty)
                terminal_raw ();
            gl_strlcpy (p->gpid, job->gpid, sizeof p->gpid);
            if (g->verbose) {
                char who[32] = "";
                if (g->size > 1)
                    snprintf (who, sizeof who, "rank %u: ", p->rank);
                fprintf (stderr, "glx: %sjob %s runs on %s as pid %u%s%s\n", who, job->gpid,
                         job->node, job->pid, job->text && job->text[0] ? "; passed over: " : "",
                         job->text ? job->text : "");
            }
            if (g->stop_pending) { /* Ctrl-Z came as it started */
                g->stop_pending = false;
                pass_on (g, SIGTSTP);
            }
            return -1; /* a restart's image waits for the home's word on its way */
        case GL_JOB_MOVE:
            if (job->code != GL_MOVE_LISTEN || !g->restart || g->img_told)
                return -1;
            g->img_told = true;
            if (!job->move_addr[0]) /* through the agents */
                return pump_image (g, p);
            return net_start (g, p, job);
        case GL_JOB_FAILED: {
            terminal_restore ();
            int code = job->code == JOBS_ERR_NO_NODE     ? GLX_NO_NODE
                       : job->code == JOBS_ERR_NOT_FOUND ? GLX_NOT_FOUND
                       : job->code == JOBS_ERR_DENIED    ? GLX_DENIED
                       : job->code == JOBS_ERR_NODE_LOST ? GLX_NODE_LOST
                       : job->code == JOBS_ERR_STREAM    ? GLX_BROKEN
                                                         : GLX_START;
            if (g->else_here && (code == GLX_NO_NODE || code == GLX_NODE_LOST))
                ; /* it runs here instead, as if asked here */
            else if (g->size > 1)
                fprintf (stderr, "glx: rank %u: %s\n", p->rank, job->text ? job->text : "failed");
            else
                fprintf (stderr, "glx: %s\n", job->text ? job->text : "the job failed");
            return code;
        }
        case GL_JOB_DATA: {
            if (job->stream != 1 && job->stream != 2)
                return -1;
            if (job->seq != p->out_seq[job->stream]++) {
                fprintf (stderr, "glx: output of job %s was lost on the way\n", p->gpid);
                return GLX_BROKEN;
            }
            if ((job->len && write_output (g, p, job->stream, job->data, job->len)) ||
                (job->eof && label_flush (p, job->stream))) {
                /* nobody reads us any more (glx ... | head): end as a local
               program would, by SIGPIPE; closing the stream kills the job */
                terminal_restore ();
                return 128 + SIGPIPE;
            }
            p->out_owed[job->stream] += job->len;
            if (p->out_owed[job->stream] >= JOBS_CREDIT_BATCH) {
                gl_job_t credit = { .type = GL_JOB_CREDIT,
                                    .stream = job->stream,
                                    .credit = p->out_owed[job->stream] };
                p->out_owed[job->stream] = 0;
                gl_strlcpy (credit.gpid, p->gpid, sizeof credit.gpid);
                send_job (p, &credit);
            }
            return -1;
        }
        case GL_JOB_CREDIT:
            if (job->stream == 0)
                p->in_credit += job->credit;
            if (job->stream == 3 && g->restart && g->img_told && !g->img_direct) {
                p->img_credit += job->credit;
                return pump_image (g, p);
            }
            return -1;
        case GL_JOB_NOTE:
            /* the home ends the parallel job: every rank's stream says so,
               once is enough; ranks not running yet never will */
            if (job->eof && g->ending)
                return -1;
            say (job->text);
            if (job->eof) {
                if (g->status == 0)
                    g->status = job->code;
                g->ending = true;
                for (uint32_t o = 0; o < g->size; o++)
                    if (!g->procs[o].started && !g->procs[o].done)
                        proc_end (&g->procs[o], 0);
            }
            return -1;
        case GL_JOB_EXIT:
            terminal_restore ();
            if (job->signo && g->size == 1)
                g->killed_by = job->signo;
            p->exited = true;
            p->signo = job->signo;
            if (job->signo) {
                if (g->verbose)
                    fprintf (stderr, "glx: job %s killed by signal %d%s\n", p->gpid, job->signo,
                             job->core ? " (core dumped)" : "");
                return 128 + job->signo;
            }
            return job->code;
        default: return -1;
    }
}

/* ---- the connection and the request ------------------------------------------ */

/* Open a stream to the home and ask it to run process p.  0, or glx's
   exit status. */
static int proc_start (glx_t *g, proc_t *p, const char *path)
{
    char err[GL_PATH_MAX + 256];
    p->sock = ctl_connect (path, err, sizeof err);
    if (p->sock < 0) {
        if (!g->else_here) /* else it runs here, without a word */
            fprintf (stderr, "glx: %s\n", err);
        return GLX_NO_AGENT;
    }
    gl_ctl_req_t req = { .cmd = "stream" };
    uint8_t *body;
    size_t len;
    int rc = gl_ctl_req_encode (&req, &body, &len);
    if (rc == 0) {
        rc = ctl_frame_write (p->sock, body, len);
        free (body);
    }
    if (rc == 0 && (rc = send_run (g, p)) == -2)
        return GLX_START; /* said why already */
    if (rc) {
        fprintf (stderr, "glx: the agent at %s does not take the job\n", path);
        return GLX_NO_AGENT;
    }
    return 0;
}

static void on_proc (gl_loop_t *loop, int fd, short revents, void *arg);

/* Every process of the job, each on its own stream.  0, or glx's exit
   status (closing the streams already open kills their jobs). */
static int procs_start (glx_t *g)
{
    char path[GL_PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/glpeer.sock", g->runtime_dir);
    char host[64] = "";
    gethostname (host, sizeof host - 1);
    host[strcspn (host, ".")] = '\0';
    snprintf (g->job_name, sizeof g->job_name, "%s-%d", host[0] ? host : "glx", (int) getpid ());
    if (!gl_gpid_valid (g->job_name)) /* a host name glunix's ids cannot hold */
        snprintf (g->job_name, sizeof g->job_name, "glx-%d", (int) getpid ());

    g->procs = calloc (g->size, sizeof *g->procs);
    if (!g->procs) {
        fprintf (stderr, "glx: out of memory\n");
        return GLX_START;
    }
    for (uint32_t r = 0; r < g->size; r++) {
        proc_t *p = &g->procs[r];
        p->g = g;
        p->rank = r;
        p->sock = -1;
    }
    for (uint32_t r = 0; r < g->size; r++) {
        proc_t *p = &g->procs[r];
        int rc = proc_start (g, p, path);
        if (rc)
            return rc;
        if (gl_loop_fd (g->loop, p->sock, POLLIN, on_proc, p)) {
            fprintf (stderr, "glx: cannot watch the stream: %s\n", strerror (errno));
            return GLX_START;
        }
        g->running++;
    }
    return 0;
}

/* ---- exit status ------------------------------------------------------------------ */

static void proc_end (proc_t *p, int status)
{
    for (int fd = 1; fd <= 2; fd++) { /* its last line, unended */
        label_flush (p, fd);
        free (p->part[fd]);
        p->part[fd] = NULL;
        p->part_len[fd] = 0;
    }
    if (p->g->net >= 0) /* a restart's image still going: the restorer dies with our stream */
        net_close (p->g);
    if (p->sock >= 0) {
        gl_loop_fd (p->g->loop, p->sock, 0, on_proc, p);
        close (p->sock); /* the home kills what still runs */
    }
    p->sock = -1;
    p->done = true;
    p->status = status;
    p->g->running--;
}

/* Process p ended with status end.  glx exits with the first non-zero
   status; unless --keep-going, the first failure ends the others, and
   glx says which rank it was, as mpiexec does. */
static void proc_finished (glx_t *g, proc_t *p, int end)
{
    proc_end (p, end);
    if (end != 0 && g->status == 0 && !g->ending) { /* the home's status stands */
        g->status = end;
        if (g->keep_going)
            ;
        else if (g->running > 0) {
            /* a signal we passed on reached every rank: no news */
            bool sent = p->signo && p->signo == g->sent_signo;
            char how[96];
            if (p->signo)
                snprintf (how, sizeof how, "was killed by signal %d (%s)", p->signo,
                          strsignal (p->signo));
            else if (p->exited)
                snprintf (how, sizeof how, "exited with status %d", end);
            else
                snprintf (how, sizeof how, "failed (status %d)", end);
            if (!sent)
                fprintf (stderr, "glx: rank %u %s; killing the other %u rank%s\n", p->rank, how,
                         g->running, g->running == 1 ? "" : "s");
            for (uint32_t o = 0; o < g->size; o++)
                if (!g->procs[o].done)
                    proc_end (&g->procs[o], 0);
        }
    }
    if (!g->running)
        gl_loop_stop (g->loop);
}

/* ---- the stream loop -------------------------------------------------------------- */

/* A frame from the home about process p. */
static void on_proc (gl_loop_t *loop, int fd, short revents, void *arg)
{
    proc_t *p = (proc_t *) arg;
    glx_t *g = p->g;
    size_t len;
    uint8_t *frame = ctl_frame_read (p->sock, &len);
    int end = -1;
    if (!frame) {
        fprintf (stderr, "glx: the agent closed the connection%s%s\n", p->gpid[0] ? "; job " : "",
                 p->gpid);
        end = GLX_BROKEN;
    }
    else {
        gl_msg_t msg;
        const char *why = NULL;
        if (gl_msg_decode (frame, len, &msg, &why) || msg.type != GL_MSG_JOB) {
            fprintf (stderr, "glx: the agent sent a bad message: %s\n", why ? why : "?");
            end = GLX_BROKEN;
        }
        else {
            bool was_started = p->started;
            bool secret = msg.job->type == GL_JOB_MOVE; /* a restart's key, maybe */
            end = on_message (g, p, msg.job);
            gl_msg_clear (&msg);
            if (secret)
                explicit_bzero (frame, len);
            /* ranks other than 0 read no stdin: they see its end at once */
            if (!was_started && p->started && p->rank > 0) {
                gl_job_t eof = { .type = GL_JOB_DATA, .stream = 0, .eof = true };
                gl_strlcpy (eof.gpid, p->gpid, sizeof eof.gpid);
                send_job (p, &eof);
                p->in_done = true;
            }
        }
        free (frame);
    }
    if (end >= 0)
        proc_finished (g, p, end);
}

/* Our stdin, for rank 0.  A failed send means the agent hung up: what it
   said before (the output, the exit) is still to be read. */
static void on_stdin (gl_loop_t *loop, int fd, short revents, void *arg)
{
    proc_t *reader = (proc_t *) arg;
    if (pump_stdin (reader))
        reader->in_done = true;
}

/* Before each wait: stdin is read only while rank 0 runs, wants it and
   has credit for it. */
static uint64_t before_wait (gl_loop_t *loop, void *arg)
{
    glx_t *g = (glx_t *) arg;
    proc_t *reader = &g->procs[0];
    bool read_stdin = reader->started && !reader->done && !reader->in_done && reader->in_credit > 0;
    gl_loop_fd (loop, STDIN_FILENO, read_stdin ? POLLIN : 0, on_stdin, reader);
    return UINT64_MAX;
}

/* ---- signals ---------------------------------------------------------------------- */

/* signo to every process of the job that runs */
static void pass_on (glx_t *g, int signo)
{
    for (uint32_t r = 0; r < g->size; r++) {
        proc_t *p = &g->procs[r];
        if (!p->started || p->done)
            continue;
        gl_job_t sig = { .type = GL_JOB_SIGNAL, .signo = signo };
        if (g->tty && signo == SIGWINCH) {
            /* a terminal job learns its new size from its terminal */
            sig.type = GL_JOB_WINSIZE;
            sig.signo = 0;
            window_size (&sig.rows, &sig.cols);
        }
        gl_strlcpy (sig.gpid, p->gpid, sizeof sig.gpid);
        send_job (p, &sig);
    }
    if (signo != SIGWINCH)
        g->sent_signo = signo;
    /* Stopped (Ctrl-Z in the shell that runs us): the job is stopped over
       there; stop here too, so the shell sees it, until SIGCONT (fg, bg)
       wakes us and we pass that on. */
    if (signo == SIGTSTP && !g->tty) {
        terminal_restore ();
        raise (SIGSTOP);
    }
}

static void on_signal (gl_loop_t *loop, const struct signalfd_siginfo *si, void *arg)
{
    glx_t *g = (glx_t *) arg;
    int signo = (int) si->ssi_signo;
    /* the kernel's own SIGPIPE, for a write of ours to a pipe nobody
       reads, names us as its sender: that write's EPIPE is the answer
       (write_output); one sent to us (kill -PIPE) goes on to the job */
    if (signo == SIGPIPE && si->ssi_pid == (uint32_t) getpid ())
        return;
    bool any_started = false;
    for (uint32_t r = 0; r < g->size; r++)
        any_started |= g->procs[r].started && !g->procs[r].done;
    if (!any_started) {
        /* nothing runs yet: give up; a job that starts later is killed by
           its home when our stream closes.  A stop waits for the start
           (the job may run already, its STARTED on its way to us), a
           continue cancels it. */
        if (signo == SIGTSTP || signo == SIGCONT)
            g->stop_pending = signo == SIGTSTP;
        else if (signo != SIGWINCH) {
            g->status = 128 + signo;
            gl_loop_stop (loop);
        }
        return;
    }
    pass_on (g, signo);
}

/* Signals arrive through the loop's signalfd, so none is lost between
   waits, and go on to the job. */
static int signals_setup (glx_t *g)
{
    for (size_t i = 0; i < N_FORWARDED; i++)
        if (gl_loop_signal (g->loop, forwarded[i], on_signal, g)) {
            fprintf (stderr, "glx: cannot take signal %d: %s\n", forwarded[i], strerror (errno));
            return GLX_START;
        }
    return 0;
}

/* --relay: glx stands for the job in a local process tree (libglunix's
   glunix_spawn, the shim's spread steps), so its parent must see the
   job's end as it was: a job killed by a signal kills glx by the same
   signal.  Not its core: the job dumped that where it ran. */
static void die_as (int signo)
{
    struct rlimit none = { 0, 0 };
    setrlimit (RLIMIT_CORE, &none);
    signal (signo, SIG_DFL);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, signo);
    sigprocmask (SIG_UNBLOCK, &set, NULL); /* the loop kept it blocked */
    raise (signo);
}

/* --else-here: the node could not take the program, so this process
   becomes it, as if glx had never stood in (the shim's --spread steps
   fall back so).  Returns only when it cannot be executed. */
static void else_here (glx_t *g)
{
    /* what the program would have had: the signals we took, back */
    sigset_t all;
    sigemptyset (&all);
    for (size_t i = 0; i < N_FORWARDED; i++)
        sigaddset (&all, forwarded[i]);
    sigprocmask (SIG_UNBLOCK, &all, NULL);
    signal (SIGPIPE, SIG_DFL);
    execvp (g->argv[0], g->argv);
    int e = errno;
    fprintf (stderr, "glx: %s: %s\n", g->argv[0], strerror (e));
    g->status = e == ENOENT ? GLX_NOT_FOUND : GLX_DENIED;
}

/* ---- options ---------------------------------------------------------------------- */

/* -w NODE or NODE,NODE,...: the nodes, each checked; how many (0: said
   what is wrong). */
static size_t parse_pins (glx_t *g, const char *list)
{
    size_t n = 1;
    for (const char *c = list; *c; c++)
        n += *c == ',';
    if (!(g->pins = calloc (n, sizeof *g->pins))) {
        fprintf (stderr, "glx: out of memory\n");
        return 0;
    }
    const char *at = list;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn (at, ",");
        if (len > GL_NAME_MAX) {
            fprintf (stderr, "glx: '%.*s' is not a node name\n", (int) len, at);
            return 0;
        }
        memcpy (g->pins[i], at, len);
        g->pins[i][len] = '\0';
        if (!gl_name_valid (g->pins[i])) {
            fprintf (stderr, "glx: '%s' is not a node name\n", g->pins[i]);
            return 0;
        }
        at += len + 1;
    }
    return n;
}

/* Fills g from the command line.  -1 to go on, or glx's exit status. */
static int parse_options (glx_t *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "tty", no_argument, 0, 't' },
        { "node", required_argument, 0, 'w' },
        { "procs", required_argument, 0, 'n' },
        { "label", no_argument, 0, 'L' },
        { "keep-going", no_argument, 0, 'k' },
        { "local", no_argument, 0, 'l' },
        { "verbose", no_argument, 0, 'v' },
        { "runtime-dir", required_argument, 0, 'r' },
        { "relay", no_argument, 0, 'R' },
        { "no-shim", no_argument, 0, 'S' },
        { "spread", required_argument, 0, 's' },
        { "else-here", no_argument, 0, 'E' },
        { "no-gang", no_argument, 0, 'G' },
        { "restart", required_argument, 0, 'C' },
        { "help", no_argument, 0, 'h' },
        { "checkpoint-every", required_argument, 0, 'K' },
        { 0, 0, 0, 0 },
    };
    int c;
    bool n_given = false;
    while ((c = getopt_long (argc, argv, "+tw:n:vh", opts, NULL)) != -1) {
        switch (c) {
            case 't': g->tty = true; break;
            case 'w': g->pin = optarg; break;
            case 'n': {
                char *end;
                long n = strtol (optarg, &end, 10);
                if (*end || n < 1 || n > 4096) {
                    fprintf (stderr,
                             "glx: -n wants a number of processes from 1 to 4096, not '%s'\n",
                             optarg);
                    return GLX_USAGE;
                }
                g->size = (uint32_t) n;
                n_given = true;
                break;
            }
            case 'L': g->label = true; break;
            case 'k': g->keep_going = true; break;
            case 'G': g->no_gang = true; break;
            case 'l': g->local = true; break;
            case 'v': g->verbose = true; break;
            case 'R': g->relay = true; break;
            case 'S': g->no_shim = true; break;
            case 'E': g->else_here = true; break;
            case 'C': g->restart = optarg; break;
            case 'K': {
                uint64_t ms = 0;
                if (gl_parse_duration_ms (optarg, &ms) || ms > GL_JOB_CKPT_EVERY_MAX ||
                    (ms && ms < 100)) {
                    fprintf (stderr,
                             "glx: --checkpoint-every wants a duration from 100ms to 30 days, or "
                             "0 for never (5s, 2m), not '%s'\n",
                             optarg);
                    return GLX_USAGE;
                }
                g->ckpt_every_ms = ms ? ms : GL_JOB_CKPT_NEVER;
                break;
            }
            case 's': {
                const char *why = NULL;
                if (spread_pattern_check (optarg, &why)) {
                    fprintf (stderr, "glx: --spread '%s': %s\n", optarg, why);
                    return GLX_USAGE;
                }
                g->spread = optarg;
                break;
            }
            case 'r': gl_strlcpy (g->runtime_dir, optarg, sizeof g->runtime_dir); break;
            case 'h': printf ("%s", usage_text); return 0;
            default: fprintf (stderr, "%s", usage_text); return GLX_USAGE;
        }
    }
    /* options of a parallel job's, which would be taken and do nothing */
    if (!n_given && (g->label || g->keep_going || g->no_gang)) {
        fprintf (stderr, "glx: %s goes with -n (a parallel job's processes)\n",
                 g->label        ? "--label"
                 : g->keep_going ? "--keep-going"
                                 : "--no-gang");
        return GLX_USAGE;
    }
    if (g->ckpt_every_ms && g->ckpt_every_ms != GL_JOB_CKPT_NEVER && (g->size > 1 || g->tty)) {
        fprintf (stderr, "glx: --checkpoint-every goes with neither -n nor -t (such jobs cannot "
                         "be restarted)\n");
        return GLX_USAGE;
    }
    if (g->restart) {
        /* the image is the program: the restorer resumes it */
        if (optind < argc) {
            fprintf (stderr, "glx: --restart FILE takes no program: '%s'\n", argv[optind]);
            return GLX_USAGE;
        }
        if (g->size > 1 || g->tty || g->spread || g->no_shim) {
            fprintf (stderr, "glx: --restart goes with none of -n, -t, --spread, --no-shim\n");
            return GLX_USAGE;
        }
        g->img_fd = open (g->restart, O_RDONLY | O_CLOEXEC);
        if (g->img_fd < 0 || fstat (g->img_fd, &g->img_st)) {
            fprintf (stderr, "glx: --restart %s: %s\n", g->restart, strerror (errno));
            return GLX_USAGE;
        }
        if (!S_ISREG (g->img_st.st_mode)) {
            fprintf (stderr,
                     "glx: --restart %s: not a regular file (an image glpeer checkpoint "
                     "wrote)\n",
                     g->restart);
            return GLX_USAGE;
        }
        static char *restart_argv[3];
        restart_argv[0] = (char *) "glrestore";
        restart_argv[1] = (char *) g->restart; /* for ps: what it resumes */
        argv = restart_argv;
        argc = 2;
        optind = 0;
    }
    if (optind >= argc) {
        fprintf (stderr, "glx: no program given\n%s", usage_text);
        return GLX_USAGE;
    }
    if (g->pin && (g->n_pins = parse_pins (g, g->pin)) == 0)
        return GLX_USAGE;
    if (g->n_pins > 1 && g->size < 2) {
        fprintf (stderr, "glx: -w with a list of nodes is for -n\n");
        return GLX_USAGE;
    }
    if (g->spread && g->no_shim) {
        fprintf (stderr, "glx: --spread is the shim's work: it does not go with --no-shim\n");
        return GLX_USAGE;
    }
    if (g->else_here && !g->pin) {
        fprintf (stderr, "glx: --else-here goes with -w NODE\n");
        return GLX_USAGE;
    }
    if (g->tty && g->size > 1) {
        fprintf (stderr, "glx: -t gives one process a terminal: it does not go with -n\n");
        return GLX_USAGE;
    }
    if (!g->runtime_dir[0])
        gl_default_runtime_dir (g->runtime_dir, sizeof g->runtime_dir);
    g->argc = argc - optind;
    g->argv = argv + optind;
    return -1;
}

int main (int argc, char **argv)
{
    /* Stream chunks are 256 KiB, above glibc's default mmap threshold:
       each one would cost an mmap, a page fault per page and a munmap.
       A fixed threshold above the largest frame keeps them on the heap. */
    mallopt (M_MMAP_THRESHOLD, 8 << 20);
    mallopt (M_TRIM_THRESHOLD, 32 << 20);
    /* Started with stdin, stdout or stderr closed (glx ... <&-), the
       stream to the agent would take that number and be read as our stdin
       or written as the job's output.  Hold them with /dev/null read-only,
       and start the job without them (a RUN's closed): its own reads and
       writes fail as they would have here, with its own message and
       status, instead of glx ending by SIGPIPE at its first output. */
    uint8_t closed = 0;
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl (fd, F_GETFD) < 0) {
            closed |= (uint8_t) (1u << fd);
            if (open ("/dev/null", O_RDONLY) != fd) {
                fprintf (stderr, "glx: cannot open /dev/null\n");
                return GLX_START;
            }
        }
    glx_t g = { .size = 1, .net = -1, .closed = closed };
    int rc = parse_options (&g, argc, argv);
    if (rc >= 0)
        return rc;
    char err[256];
    if (!(g.loop = gl_loop_new (err, sizeof err))) {
        fprintf (stderr, "glx: %s\n", err);
        return GLX_START;
    }
    if ((rc = signals_setup (&g)) || (rc = procs_start (&g))) {
        if (g.else_here && rc == GLX_NO_AGENT)
            else_here (&g);
        gl_loop_destroy (&g.loop);
        free (g.procs);
        free (g.pins);
        return rc;
    }
    gl_loop_before (g.loop, before_wait, &g);
    if (gl_loop_run (g.loop)) {
        fprintf (stderr, "glx: %s\n", strerror (errno));
        if (!g.status)
            g.status = GLX_BROKEN;
    }
    terminal_restore ();
    gl_loop_destroy (&g.loop);
    if (g.else_here && !g.procs[0].started &&
        (g.status == GLX_NO_AGENT || g.status == GLX_NO_NODE || g.status == GLX_NODE_LOST))
        else_here (&g);
    free (g.procs);
    free (g.pins);
    if (g.relay && g.killed_by)
        die_as (g.killed_by);
    return g.status;
}
