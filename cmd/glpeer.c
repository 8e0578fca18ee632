/*  glpeer -- the glunix agent and its client commands.

        glpeer keygen [-o FILE]
        glpeer join CLUSTER.CONF [-d] [--name N] [--bind E] [--advertise E]
                    [--seed E]... [--runtime-dir D] [--state-dir D]
                    [--key-file F] [--log-level L]
        glpeer status [--json] [--runtime-dir D]
        glpeer leave [--runtime-dir D]
        glpeer ps [-v] [--json] [--runtime-dir D]
        glpeer kill [-SIGNAL] GPID [--runtime-dir D]
        glpeer checkpoint GPID FILE [--runtime-dir D]
        glpeer migrate GPID [NODE] [--runtime-dir D]
        glpeer top [-b] [-d SECONDS] [-n N] [--runtime-dir D]

    This file only parses the command line and wires the pieces: the agent
    itself is in agent.c.  See glpeer(8). */
#include "agent.h"
#include "top.h"
#include "str.h"
#include "clock.h"
#include "conf.h"
#include "ctl.h"
#include "fd.h"
#include "imgrecv.h"
#include "jobs.h"
#include "log.h"
#include "seal.h"
#include "wire.h"

#include <malloc.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char *usage_text =
    "usage: glpeer COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  keygen [-o FILE]           write a new cluster key (to stdout, or FILE with mode 0600)\n"
    "  join CLUSTER.CONF [-d]     run this machine's agent (foreground, or detached with -d)\n"
    "  status [--json]            the cluster as the local agent sees it\n"
    "  leave                      make the local agent leave the cluster and exit\n"
    "  ps [-v] [--json]           every job running in the cluster (-v: can it move)\n"
    "  kill [-SIGNAL] GPID        signal a job, from any node (default SIGTERM)\n"
    "  checkpoint GPID FILE       write a running job's image to FILE (it runs on)\n"
    "  migrate GPID [NODE]        move a running job to NODE, or the best idle node\n"
    "  top [-b] [-d S] [-n N]     a live view of the cluster and this node's jobs (q quits)\n"
    "\n"
    "Run 'glpeer COMMAND --help' for a command's options; see glpeer(8).\n";

static const char *join_usage =
    "usage: glpeer join CLUSTER.CONF [OPTIONS]\n"
    "\n"
    "Run this machine's agent.  Options override the file's fields:\n"
    "  -d, --detach            run in the background, logging to RUNTIME_DIR/glpeer.log\n"
    "  --name NAME             node/name\n"
    "  --bind ENDPOINT         node/bind, e.g. tcp://*:7946\n"
    "  --advertise ENDPOINT    node/advertise, e.g. tcp://10.0.0.2:7946\n"
    "  --seed ENDPOINT         cluster/seed (repeatable; replaces the file's seeds)\n"
    "  --runtime-dir DIR       node/runtime_dir\n"
    "  --state-dir DIR         node/state_dir\n"
    "  --key-file FILE         cluster/key_file\n"
    "  --log-level LEVEL       log/level: error, warning, info or debug\n"
    "  --set PATH=VALUE        any field, e.g. --set gossip/probe_interval=500ms\n"
    "  -h, --help              this help\n";

static const char *client_usage =
    "usage: glpeer status [--json] [--runtime-dir DIR]\n"
    "       glpeer ps [-v] [--json] [--runtime-dir DIR]\n"
    "       glpeer kill [-SIGNAL] GPID [--runtime-dir DIR]\n"
    "       glpeer checkpoint GPID FILE [--runtime-dir DIR]\n"
    "       glpeer migrate GPID [NODE] [--runtime-dir DIR]\n"
    "       glpeer leave [--runtime-dir DIR]\n"
    "\n"
    "  --json             machine-readable output (see glpeer(8) for its fields)\n"
    "  -v                 ps: also say which nodes each job passed over, and why\n"
    "  --runtime-dir DIR  the local agent's runtime directory (default: $GLUNIX_RUNTIME_DIR,\n"
    "                     else /run/glunix for root, $XDG_RUNTIME_DIR/glunix or\n"
    "                     /tmp/glunix-UID for others)\n"
    "  -h, --help         this help\n";

/* ---- keygen ----------------------------------------------------------------- */

static int cmd_keygen (int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "-h") || !strcmp (argv[i], "--help")) {
            printf ("usage: glpeer keygen [-o FILE]\n\nWrite a new random cluster key "
                    "(64 hex digits).  With -o the file is created with mode 0600 and "
                    "never overwritten.\n");
            return 0;
        }
        else if (!strcmp (argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else {
            fprintf (stderr, "glpeer keygen: unexpected '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (sodium_init () < 0) {
        fprintf (stderr, "glpeer keygen: libsodium failed to initialise\n");
        return 1;
    }
    uint8_t key[GL_KEY_BYTES];
    char hex[2 * GL_KEY_BYTES + 1];
    gl_key_generate (key);
    gl_key_format (key, hex);
    sodium_memzero (key, sizeof key);
    if (!out) {
        printf ("%s\n", hex);
        return 0;
    }
    int fd = open (out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf (stderr, "glpeer keygen: %s: %s\n", out, strerror (errno));
        return 1;
    }
    hex[2 * GL_KEY_BYTES] = '\n';
    if (gl_write_all (fd, hex, sizeof hex) || close (fd)) {
        fprintf (stderr, "glpeer keygen: %s: %s\n", out, strerror (errno));
        return 1;
    }
    return 0;
}

/* ---- join ----------------------------------------------------------------------- */

/* Fork into the background; the parent waits until the agent says it is
   up (or why it is not), so errors still reach the terminal. */
static int detach (const gl_conf_t *conf, int *ready_fd)
{
    int pipefd[2];
    if (pipe (pipefd))
        return -1;
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        close (pipefd[1]);
        char msg[1024];
        ssize_t n, total = 0;
        while ((n = read (pipefd[0], msg + total, sizeof msg - 1 - (size_t) total)) > 0)
            total += n;
        msg[total] = '\0';
        if (!strcmp (msg, "ok")) {
            printf ("glpeer: %s joined; logs in %s/glpeer.log\n", conf->name, conf->runtime_dir);
            exit (0);
        }
        fprintf (stderr, "glpeer join: %s\n", total ? msg : "the agent died while starting");
        exit (1);
    }
    close (pipefd[0]);
    setsid ();
    /* The log goes next to the socket; the directory may not exist yet. */
    char err[GL_PATH_MAX + 256];
    if (agent_mkdir_private (conf->runtime_dir, err, sizeof err)) {
        dprintf (pipefd[1], "%s", err);
        exit (1);
    }
    char log_path[GL_PATH_MAX + 16];
    snprintf (log_path, sizeof log_path, "%s/glpeer.log", conf->runtime_dir);
    int log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open ("/dev/null", O_RDWR);
    if (log_fd < 0 || null_fd < 0) {
        dprintf (pipefd[1], "%s: %s", log_path, strerror (errno));
        exit (1);
    }
    dup2 (null_fd, 0);
    dup2 (log_fd, 1);
    dup2 (log_fd, 2);
    close (null_fd);
    close (log_fd);
    *ready_fd = pipefd[1];
    return 0;
}

static int cmd_join (int argc, char **argv)
{
    static const struct option opts[] = { { "detach", no_argument, 0, 'd' },
                                          { "name", required_argument, 0, 'n' },
                                          { "bind", required_argument, 0, 'b' },
                                          { "advertise", required_argument, 0, 'a' },
                                          { "seed", required_argument, 0, 's' },
                                          { "runtime-dir", required_argument, 0, 'r' },
                                          { "state-dir", required_argument, 0, 'S' },
                                          { "key-file", required_argument, 0, 'k' },
                                          { "log-level", required_argument, 0, 'l' },
                                          { "set", required_argument, 0, 'x' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    /* Overrides are applied after the file is read, so collect them first. */
    const char *paths[128], *values[128];
    char *owned[128];
    int n_over = 0, n_owned = 0;
    bool do_detach = false;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "dh", opts, NULL)) != -1) {
        const char *path = NULL;
        switch (c) {
            case 'd': do_detach = true; continue;
            case 'h': printf ("%s", join_usage); return 0;
            case 'n': path = "node/name"; break;
            case 'b': path = "node/bind"; break;
            case 'a': path = "node/advertise"; break;
            case 's': path = "cluster/seed"; break;
            case 'r': path = "node/runtime_dir"; break;
            case 'S': path = "node/state_dir"; break;
            case 'k': path = "cluster/key_file"; break;
            case 'l': path = "log/level"; break;
            case 'x': {
                char *eq = strchr (optarg, '=');
                if (!eq) {
                    fprintf (stderr, "glpeer join: --set needs PATH=VALUE, got '%s'\n", optarg);
                    return EXIT_USAGE;
                }
                char *copy = n_owned < 128 ? strdup (optarg) : NULL;
                if (!copy) {
                    fprintf (stderr, "glpeer join: too many --set options\n");
                    return EXIT_USAGE;
                }
                copy[eq - optarg] = '\0';
                owned[n_owned++] = copy;
                paths[n_over] = copy;
                values[n_over++] = copy + (eq - optarg) + 1;
                continue;
            }
            default: fprintf (stderr, "%s", join_usage); return EXIT_USAGE;
        }
        if (n_over == 128) {
            fprintf (stderr, "glpeer join: too many options\n");
            return EXIT_USAGE;
        }
        paths[n_over] = path;
        values[n_over++] = optarg;
    }
    if (optind != argc - 1) {
        fprintf (stderr, "glpeer join: expected one CLUSTER.CONF\n%s", join_usage);
        return EXIT_USAGE;
    }

    gl_conf_t *conf = calloc (1, sizeof *conf);
    char err[1024];
    int rc = 1;
    gl_conf_defaults (conf);
    if (gl_conf_load (conf, argv[optind], err, sizeof err)) {
        fprintf (stderr, "glpeer join: %s\n", err);
        goto done;
    }
    bool seeds_overridden = false;
    for (int i = 0; i < n_over; i++) {
        /* --seed replaces the file's seeds rather than adding to them */
        if (!strcmp (paths[i], "cluster/seed") && !seeds_overridden) {
            conf->n_seeds = 0;
            seeds_overridden = true;
        }
        if (gl_conf_set (conf, paths[i], values[i], err, sizeof err)) {
            fprintf (stderr, "glpeer join: command line: %s\n", err);
            goto done;
        }
    }
    if (gl_conf_finish (conf, err, sizeof err)) {
        fprintf (stderr, "glpeer join: %s\n", err);
        goto done;
    }
    gl_log_level_t level = GL_LOG_INFO;
    gl_log_level_parse (conf->log_level, &level);
    char ident[GL_NAME_MAX + 16];
    snprintf (ident, sizeof ident, "glpeer[%s]", conf->name);
    gl_log_init (ident, stderr, level);
    if (sodium_init () < 0) {
        fprintf (stderr, "glpeer join: libsodium failed to initialise\n");
        goto done;
    }
    int ready_fd = -1;
    if (do_detach && detach (conf, &ready_fd)) {
        fprintf (stderr, "glpeer join: cannot detach: %s\n", strerror (errno));
        goto done;
    }
    rc = agent_run (conf, ready_fd);
done:
    sodium_memzero (conf->key, sizeof conf->key);
    free (conf);
    for (int i = 0; i < n_owned; i++)
        free (owned[i]);
    return rc;
}

/* ---- status, leave --------------------------------------------------------------- */

/* ---- ps, kill: a stream of job messages with the local agent --------------------- */

/* Open a stream with the agent on fd and send it one job message: 0, or
   -1 when the agent does not take them. */
static int stream_send (int fd, const gl_job_t *job)
{
    gl_ctl_req_t req = { .cmd = "stream" };
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    uint8_t *body = NULL;
    size_t len;
    int rc = gl_ctl_req_encode (&req, &body, &len) || ctl_frame_write (fd, body, len);
    free (body);
    body = NULL;
    if (!rc)
        rc = gl_msg_encode (&msg, &body, &len) || ctl_frame_write (fd, body, len);
    free (body);
    return rc ? -1 : 0;
}

/* Send one job message on a fresh stream; hand every answer to fn until the
   agent closes the stream.  Returns 0, or 1 with a message printed. */
static int job_call (const char *runtime_dir, const char *what, const gl_job_t *job,
                     void (*fn) (void *arg, const gl_job_t *reply), void *arg)
{
    char sock[GL_PATH_MAX + 16], err[GL_PATH_MAX + 256];
    snprintf (sock, sizeof sock, "%s/glpeer.sock", runtime_dir);
    int fd = ctl_connect (sock, err, sizeof err);
    if (fd < 0) {
        fprintf (stderr, "glpeer %s: %s\n", what, err);
        return 1;
    }
    if (stream_send (fd, job)) {
        fprintf (stderr, "glpeer %s: the agent at %s does not answer\n", what, sock);
        close (fd);
        return 1;
    }
    int status = 0;
    uint8_t *frame;
    size_t len;
    while ((frame = ctl_frame_read (fd, &len))) {
        gl_msg_t reply;
        if (gl_msg_decode (frame, len, &reply, NULL) == 0) {
            if (reply.type == GL_MSG_JOB && reply.job->type == GL_JOB_FAILED) {
                fprintf (stderr, "glpeer %s: %s\n", what,
                         reply.job->text ? reply.job->text : "failed");
                status = 1;
            }
            else if (reply.type == GL_MSG_JOB)
                fn (arg, reply.job);
            gl_msg_clear (&reply);
        }
        free (frame);
    }
    close (fd);
    return status;
}

typedef struct {
    char **lines;
    size_t n, cap;
} lines_t;

static void collect (void *arg, const gl_job_t *reply)
{
    lines_t *l = (lines_t *) arg;
    if (reply->type != GL_JOB_LIST_REPLY || !reply->text)
        return;
    char *copy = strdup (reply->text), *save = NULL;
    for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 64;
            l->lines = realloc (l->lines, l->cap * sizeof *l->lines);
        }
        l->lines[l->n++] = strdup (line);
    }
    free (copy);
}

static int by_text (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* A number another node wrote, as JSON: itself when it is one, else null. */
static void json_u64 (const char *text)
{
    const char *at = text;
    uint64_t v;
    if (gl_parse_u64 (&at, &v) && !*at)
        printf ("%llu", (unsigned long long) v);
    else
        printf ("null");
}

static int cmd_ps (const char *runtime_dir, bool json, bool verbose)
{
    /* -v: each host asks its jobs whether they could move, first */
    gl_job_t ask = { .type = GL_JOB_LIST, .code = verbose ? GL_LIST_PROBE : 0 };
    lines_t l = { 0 };
    int rc = job_call (runtime_dir, "ps", &ask, collect, &l);
    if (rc)
        return rc;
    qsort (l.lines, l.n, sizeof *l.lines, by_text);
    if (!json)
        printf ("%-28s %-10s %-12s %-12s %-8s %-20s %3s %-12s %4s %s\n", "GPID", "USER", "NODE",
                "HOME", "STARTED", "GANG", "ROW", "LEADER", "TERM", "COMMAND");
    else
        printf ("{\"version\":1,\"jobs\":[");
    size_t shown = 0;
    for (size_t i = 0; i < l.n; i++) {
        /* GPID USER NODE HOME START COMMAND WHY, then GANG ROW LEADER TERM
           STATE ("-" each for a job that is not a gang's; none from an
           agent that predates gangs) */
        char *f[15] = { 0 }, *save = NULL;
        char *line = l.lines[i];
        for (int k = 0; k < 15; k++)
            f[k] = strtok_r (k ? NULL : line, "\t", &save);
        if (!f[5])
            continue;
        const char *why = f[6] && strcmp (f[6], "-") ? f[6] : "";
        for (int k = 7; k < 15; k++)
            if (!f[k])
                f[k] = "-";
        /* STATE (running, moving) and MOVABLE (yes, why not, - not asked) */
        const char *state = strcmp (f[12], "-") ? f[12] : "running";
        const char *movable = f[13];
        const char *kept = f[14]; /* the checkpoint its home keeps, "-" none asked */
        bool gang = strcmp (f[7], "-") != 0;
        time_t start = (time_t) strtoll (f[4], NULL, 10);
        if (json) {
            printf ("%s{\"gpid\":", shown++ ? "," : "");
            gl_json_str (stdout, f[0]);
            printf (",\"user\":");
            gl_json_str (stdout, f[1]);
            printf (",\"node\":");
            gl_json_str (stdout, f[2]);
            printf (",\"home\":");
            gl_json_str (stdout, f[3]);
            printf (",\"state\":");
            gl_json_str (stdout, state);
            printf (",\"movable\":");
            if (strcmp (movable, "-"))
                gl_json_str (stdout, movable);
            else
                printf ("null");
            printf (",\"checkpoint\":");
            if (strcmp (kept, "-"))
                gl_json_str (stdout, kept);
            else
                printf ("null");
            printf (",\"start\":%lld,\"command\":", (long long) start);
            gl_json_str (stdout, f[5]);
            printf (",\"placement\":");
            gl_json_str (stdout, why);
            if (gang) {
                printf (",\"gang\":{\"id\":");
                gl_json_str (stdout, f[7]);
                printf (",\"row\":");
                json_u64 (f[8]);
                printf (",\"leader\":");
                if (strcmp (f[9], "-"))
                    gl_json_str (stdout, f[9]);
                else
                    printf ("null");
                printf (",\"term\":");
                json_u64 (f[10]);
                printf (",\"state\":");
                gl_json_str (stdout, f[11]);
                putchar ('}');
            }
            putchar ('}');
        }
        else {
            struct tm tm;
            char when[16];
            localtime_r (&start, &tm);
            strftime (when, sizeof when, "%H:%M:%S", &tm);
            char node[64];
            snprintf (node, sizeof node, "%s%s", f[2], strcmp (state, "moving") ? "" : ">");
            printf ("%-28s %-10s %-12s %-12s %-8s %-20s %3s %-12s %4s %s\n", f[0], f[1], node, f[3],
                    when, f[7], f[8], f[9], f[10], f[5]);
            if (verbose)
                printf ("    passed over: %s\n",
                        why[0] ? why : "none (the first node asked took it)");
            if (verbose && gang)
                printf ("    gang: %s\n", f[11]);
            if (verbose)
                printf ("    state: %s; can move: %s\n", state,
                        strcmp (movable, "-") ? movable : "not asked yet");
            if (verbose && strcmp (kept, "-"))
                printf ("    kept checkpoint: %s\n", kept);
        }
    }
    if (json)
        printf ("]}\n");
    for (size_t i = 0; i < l.n; i++)
        free (l.lines[i]);
    free (l.lines);
    return 0;
}

static void say_reply (void *arg, const gl_job_t *reply)
{
    if (reply->text)
        printf ("%s\n", reply->text);
}

/* A signal as kill(1) names it: any of the C library's names (HUP, PIPE,
   SEGV, ...), with or without SIG, RTMIN, RTMIN+N, RTMAX-N, RTMAX, or a
   number from 1 to 64. */
static int signal_number (const char *name)
{
    if (!strncmp (name, "SIG", 3))
        name += 3;
    for (int s = 1; s < SIGRTMIN; s++) {
        const char *abbrev = sigabbrev_np (s);
        if (abbrev && !strcmp (name, abbrev))
            return s;
    }
    char *end;
    long n;
    if (!strncmp (name, "RTMIN", 5) || !strncmp (name, "RTMAX", 5)) {
        bool min = name[4] == 'N';
        n = 0;
        if (name[5]) {
            if (name[5] != (min ? '+' : '-') || !isdigit ((unsigned char) name[6]))
                return -1;
            n = strtol (name + 6, &end, 10);
            if (*end || n > SIGRTMAX - SIGRTMIN)
                return -1;
        }
        return min ? SIGRTMIN + (int) n : SIGRTMAX - (int) n;
    }
    n = strtol (name, &end, 10);
    return (*name && isdigit ((unsigned char) *name) && !*end && n >= 1 && n <= 64) ? (int) n : -1;
}

static int cmd_kill (const char *runtime_dir, const char *sig, const char *gpid)
{
    int signo = sig ? signal_number (sig) : SIGTERM;
    if (signo < 0) {
        fprintf (stderr, "glpeer kill: '%s' is not a signal (name like TERM, or 1..64)\n", sig);
        return EXIT_USAGE;
    }
    /* HOME-GENERATION-NUMBER: the home's name, then two numbers */
    const char *last = strrchr (gpid, '-');
    const char *mid = last ? memrchr (gpid, '-', (size_t) (last - gpid)) : NULL;
    bool shape = mid && mid > gpid && last[1] && mid + 1 < last &&
                 strspn (last + 1, "0123456789") == strlen (last + 1) &&
                 strspn (mid + 1, "0123456789") == (size_t) (last - mid - 1);
    if (!gl_gpid_valid (gpid) || !shape) {
        fprintf (stderr, "glpeer kill: '%s' is not a GPID (see glpeer ps)\n", gpid);
        return EXIT_USAGE;
    }
    gl_job_t job = { .type = GL_JOB_SIGNAL, .signo = signo };
    gl_strlcpy (job.gpid, gpid, sizeof job.gpid);
    return job_call (runtime_dir, "kill", &job, say_reply, NULL);
}

/* glpeer migrate: the job's home moves it and says where, or why not. */
static int cmd_migrate (const char *runtime_dir, const char *gpid, const char *node)
{
    if (!gl_gpid_valid (gpid)) {
        fprintf (stderr, "glpeer migrate: '%s' is not a GPID (see glpeer ps)\n", gpid);
        return EXIT_USAGE;
    }
    if (node && !gl_name_valid (node)) {
        fprintf (stderr, "glpeer migrate: '%s' is not a node name\n", node);
        return EXIT_USAGE;
    }
    gl_job_t job = { .type = GL_JOB_CKPT, .code = GL_CKPT_ASK_MOVE };
    gl_strlcpy (job.gpid, gpid, sizeof job.gpid);
    if (node)
        gl_strlcpy (job.to, node, sizeof job.to);
    return job_call (runtime_dir, "migrate", &job, say_reply, NULL);
}

#define CKPT_SYNC_STEP (16u << 20) /* bytes of the image written back at a time */
#define CKPT_IDLE_MS   60000       /* the longest wait for the image's next bytes */
#define CKPT_NOTE_MS   2000        /* after a straight image: its host's word on the pause */

/* One glpeer checkpoint: the image comes straight from the job's host,
   sealed, on a connection to us (imgrecv.h), or in IMAGEs on the
   stream through the agents (where our agent has no address for it,
   or the host cannot reach us); either way it goes into FILE, written
   back as it comes. */
typedef struct {
    const char *file, *gpid;
    int out, ctl;
    imgrecv_t *rx;
    uint64_t seq, bytes, owed, synced;
    bool done, credit_ok, ctl_open;
    const char *failed;
    char why[GL_JOB_TEXT_MAX + 64], note[GL_JOB_TEXT_MAX + 1];
} ckpt_run_t;

/* Listen for the image on every address of ours (the agent names its
   own to the host): NULL when we cannot, and it comes through the agents. */
static imgrecv_t *ckpt_listen (const uint8_t key[IS_KEY_BYTES])
{
    char err[128];
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
    imgrecv_t *rx = imgrecv_new ((struct sockaddr *) &v6, sizeof v6, key, err, sizeof err);
    if (!rx) { /* no IPv6 here */
        struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_ANY) };
        rx = imgrecv_new ((struct sockaddr *) &v4, sizeof v4, key, err, sizeof err);
    }
    return rx;
}

/* The image's bytes: into FILE, written back every CKPT_SYNC_STEP, so
   that the fsync at its end waits for the last few MiB, not for all. */
static void ckpt_write (ckpt_run_t *r, const uint8_t *p, size_t n)
{
    if (gl_write_all (r->out, p, n)) {
        snprintf (r->why, sizeof r->why, "%s: %s", r->file, strerror (errno));
        r->failed = r->why;
        return;
    }
    r->bytes += n;
    if (r->bytes - r->synced >= CKPT_SYNC_STEP) {
        sync_file_range (r->out, (off_t) r->synced, (off_t) (r->bytes - r->synced),
                         SYNC_FILE_RANGE_WRITE);
        r->synced = r->bytes;
    }
}

/* One message on the stream from our agent: a refusal or a cut image
   (why), the host's word on the pause, or a piece of the image that
   comes through the agents. */
static void ckpt_msg (ckpt_run_t *r, const gl_job_t *j)
{
    if (j->type == GL_JOB_FAILED || (j->type == GL_JOB_LIST_REPLY && j->code)) {
        snprintf (r->why, sizeof r->why, "%s", j->text ? j->text : "refused");
        r->failed = r->why;
        return;
    }
    if (j->type == GL_JOB_LIST_REPLY && j->text) { /* the host's word: its pause */
        snprintf (r->note, sizeof r->note, "%s", j->text);
        return;
    }
    if (j->type != GL_JOB_IMAGE)
        return;
    if (j->eof && j->text) {
        snprintf (r->why, sizeof r->why, "%s", j->text);
        r->failed = r->why;
        return;
    }
    if (r->rx && imgrecv_fd (r->rx) >= 0) /* it comes straight: nothing else counts */
        return;
    if (j->seq != r->seq++) {
        r->failed = "a piece of the image was lost on the way";
        return;
    }
    imgrecv_destroy (&r->rx); /* it comes this way: no connection will */
    if (j->len)
        ckpt_write (r, j->data, j->len);
    if (r->failed)
        return;
    r->done = j->eof;
    /* Credit in batches of a quarter window, as glx grants it: one
       message back per MiB, not per piece.  The agent closes the stream
       once it sent the end: credit for the last pieces may find it
       closed; only what is read decides the outcome. */
    r->owed += j->len;
    if (r->owed && r->credit_ok && r->owed >= JOBS_CREDIT_BATCH) {
        gl_job_t credit = { .type = GL_JOB_CREDIT, .stream = 3, .credit = r->owed };
        gl_strlcpy (credit.gpid, r->gpid, sizeof credit.gpid);
        gl_msg_t cm = { .type = GL_MSG_JOB, .job = &credit };
        uint8_t *cb = NULL;
        size_t cl;
        if (gl_msg_encode (&cm, &cb, &cl) || ctl_frame_write (r->ctl, cb, cl))
            r->credit_ok = false;
        free (cb);
        r->owed = 0;
    }
}

/* The next message from our agent, if one comes within ms: false when
   none did, or the stream ended (ctl_open false then). */
static bool ckpt_hear (ckpt_run_t *r, int ms)
{
    struct pollfd p = { r->ctl, POLLIN, 0 };
    if (!r->ctl_open || poll (&p, 1, ms) <= 0)
        return false;
    size_t len;
    uint8_t *frame = ctl_frame_read (r->ctl, &len);
    if (!frame) {
        r->ctl_open = false;
        return false;
    }
    gl_msg_t m;
    if (gl_msg_decode (frame, len, &m, NULL) == 0) {
        if (m.type == GL_MSG_JOB)
            ckpt_msg (r, m.job);
        gl_msg_clear (&m);
    }
    free (frame);
    return true;
}

/* The image on its own connection, to its last chunk; a failure there
   may have its reason on the stream (the host's word), else it is the
   connection's. */
static void ckpt_straight (ckpt_run_t *r)
{
    static uint8_t buf[IS_CHUNK_MAX];
    struct timeval idle = { .tv_sec = CKPT_IDLE_MS / 1000 };
    setsockopt (imgrecv_fd (r->rx), SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    while (!r->failed) {
        const char *why;
        ssize_t k = imgrecv_read (r->rx, buf, sizeof buf, &why);
        if (k == 0) {
            r->done = true;
            break;
        }
        if (k > 0) {
            ckpt_write (r, buf, (size_t) k);
            continue;
        }
        uint64_t until = gl_mono_ms () + CKPT_NOTE_MS;
        while (!r->failed && r->ctl_open && gl_mono_ms () < until)
            ckpt_hear (r, (int) (until - gl_mono_ms ()));
        if (!r->failed) {
            snprintf (r->why, sizeof r->why, "the image's connection from the job's host: %s",
                      why                                       ? why
                      : errno == EAGAIN || errno == EWOULDBLOCK ? "no byte came for a minute"
                                                                : strerror (errno));
            r->failed = r->why;
        }
    }
    /* its host said the pause as it sent the first bytes: a word late at most */
    uint64_t until = gl_mono_ms () + CKPT_NOTE_MS;
    while (r->done && !r->failed && !r->note[0] && r->ctl_open && gl_mono_ms () < until)
        ckpt_hear (r, (int) (until - gl_mono_ms ()));
}

/* glpeer checkpoint: the image to FILE (a new file, removed again when
   the image is cut). */
static int cmd_checkpoint (const char *runtime_dir, const char *gpid, const char *file)
{
    if (!gl_gpid_valid (gpid)) {
        fprintf (stderr, "glpeer checkpoint: '%s' is not a GPID (see glpeer ps)\n", gpid);
        return EXIT_USAGE;
    }
    ckpt_run_t r = { .file = file, .gpid = gpid, .credit_ok = true, .ctl_open = true };
    r.out = open (file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (r.out < 0) {
        fprintf (stderr, "glpeer checkpoint: %s: %s\n", file, strerror (errno));
        return 1;
    }
    char sock[GL_PATH_MAX + 16], err[GL_PATH_MAX + 256];
    snprintf (sock, sizeof sock, "%s/glpeer.sock", runtime_dir);
    r.ctl = ctl_connect (sock, err, sizeof err);
    if (r.ctl < 0) {
        fprintf (stderr, "glpeer checkpoint: %s\n", err);
        close (r.out);
        unlink (file);
        return 1;
    }
    signal (SIGPIPE, SIG_IGN); /* a write to a closed stream is an error, not a death */
    gl_job_t ask = { .type = GL_JOB_CKPT, .code = GL_CKPT_ASK_FILE };
    gl_strlcpy (ask.gpid, gpid, sizeof ask.gpid);
    /* a key for this image alone: our agent passes it on to the host
       inside the agents' sealed messages, with its own address */
    randombytes_buf (ask.move_key, sizeof ask.move_key);
    if ((r.rx = ckpt_listen (ask.move_key)))
        snprintf (ask.move_addr, sizeof ask.move_addr, "*:%u", imgrecv_port (r.rx));
    else
        sodium_memzero (ask.move_key, sizeof ask.move_key);
    if (stream_send (r.ctl, &ask))
        r.failed = "the agent does not answer";
    sodium_memzero (ask.move_key, sizeof ask.move_key);
    /* the image's connection, or IMAGEs on the stream, or why not */
    while (!r.failed && !r.done && r.ctl_open) {
        struct pollfd p[IMGRECV_POLL_MAX + 1];
        size_t n = r.rx ? imgrecv_pollfds (r.rx, p + 1, gl_mono_ms ()) : 0;
        p[0] = (struct pollfd){ r.ctl, POLLIN, 0 };
        if (poll (p, n + 1, 1000) < 0 && errno != EINTR) {
            snprintf (r.why, sizeof r.why, "poll: %s", strerror (errno));
            r.failed = r.why;
            break;
        }
        if (p[0].revents)
            ckpt_hear (&r, 0);
        if (r.failed || !r.rx)
            continue;
        char serr[128];
        int found = imgrecv_step (r.rx, p + 1, n, gl_mono_ms (), serr, sizeof serr);
        if (found < 0) {
            snprintf (r.why, sizeof r.why, "%s", serr);
            r.failed = r.why;
        }
        else if (found > 0)
            ckpt_straight (&r);
    }
    imgrecv_destroy (&r.rx);
    close (r.ctl);
    if (!r.failed && !r.done)
        r.failed = "the agent closed the stream before the image's end";
    if (!r.failed && fsync (r.out)) {
        snprintf (r.why, sizeof r.why, "%s: %s", file, strerror (errno));
        r.failed = r.why;
    }
    if (close (r.out) && !r.failed) {
        snprintf (r.why, sizeof r.why, "%s: %s", file, strerror (errno));
        r.failed = r.why;
    }
    if (r.failed) {
        unlink (file);
        fprintf (stderr, "glpeer checkpoint: %s\n", r.failed);
        return 1;
    }
    printf ("%s: %llu bytes, the image of %s%s%s\n", file, (unsigned long long) r.bytes, gpid,
            r.note[0] ? "; " : "", r.note);
    return 0;
}

static int cmd_client (int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, 0, 'j' },
                                          { "runtime-dir", required_argument, 0, 'r' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    char runtime_dir[GL_PATH_MAX] = "";
    bool json = false, verbose = false;
    int c;
    if (!strcmp (argv[0], "kill")) {
        /* "-KILL" is a signal here, not options: read the words by hand */
        const char *sig = NULL, *gpid = NULL;
        for (int i = 1; i < argc; i++) {
            if (!strcmp (argv[i], "-h") || !strcmp (argv[i], "--help")) {
                printf ("%s", client_usage);
                return 0;
            }
            if (!strcmp (argv[i], "--runtime-dir") && i + 1 < argc)
                gl_strlcpy (runtime_dir, argv[++i], sizeof runtime_dir);
            else if (argv[i][0] == '-' && !sig && !gpid)
                sig = argv[i] + 1;
            else if (!gpid)
                gpid = argv[i];
            else {
                fprintf (stderr, "glpeer kill: unexpected '%s'\n%s", argv[i], client_usage);
                return EXIT_USAGE;
            }
        }
        if (!gpid) {
            fprintf (stderr, "glpeer kill: expected [-SIGNAL] GPID\n%s", client_usage);
            return EXIT_USAGE;
        }
        if (!runtime_dir[0])
            gl_default_runtime_dir (runtime_dir, sizeof runtime_dir);
        return cmd_kill (runtime_dir, sig, gpid);
    }
    if (!strcmp (argv[0], "checkpoint") || !strcmp (argv[0], "migrate")) {
        bool ck = !strcmp (argv[0], "checkpoint");
        const char *words[2] = { NULL, NULL };
        int n = 0;
        for (int i = 1; i < argc; i++) {
            if (!strcmp (argv[i], "-h") || !strcmp (argv[i], "--help")) {
                printf ("%s", client_usage);
                return 0;
            }
            if (!strcmp (argv[i], "--runtime-dir") && i + 1 < argc)
                gl_strlcpy (runtime_dir, argv[++i], sizeof runtime_dir);
            else if (n < 2 && argv[i][0] != '-')
                words[n++] = argv[i];
            else {
                fprintf (stderr, "glpeer %s: unexpected '%s'\n%s", argv[0], argv[i], client_usage);
                return EXIT_USAGE;
            }
        }
        if (n < (ck ? 2 : 1)) {
            fprintf (stderr, "glpeer %s: expected %s\n%s", argv[0],
                     ck ? "GPID FILE" : "GPID [NODE]", client_usage);
            return EXIT_USAGE;
        }
        if (!runtime_dir[0])
            gl_default_runtime_dir (runtime_dir, sizeof runtime_dir);
        return ck ? cmd_checkpoint (runtime_dir, words[0], words[1])
                  : cmd_migrate (runtime_dir, words[0], words[1]);
    }
    optind = 1;
    while ((c = getopt_long (argc, argv, "+hv", opts, NULL)) != -1) {
        switch (c) {
            case 'j': json = true; break;
            case 'v': verbose = true; break;
            case 'r': gl_strlcpy (runtime_dir, optarg, sizeof runtime_dir); break;
            case 'h': printf ("%s", client_usage); return 0;
            default: fprintf (stderr, "%s", client_usage); return EXIT_USAGE;
        }
    }
    if (!runtime_dir[0])
        gl_default_runtime_dir (runtime_dir, sizeof runtime_dir);
    if (optind != argc) {
        fprintf (stderr, "glpeer %s: unexpected '%s'\n%s", argv[0], argv[optind], client_usage);
        return EXIT_USAGE;
    }
    if (!strcmp (argv[0], "ps"))
        return cmd_ps (runtime_dir, json, verbose);
    if (verbose) {
        fprintf (stderr, "glpeer %s: -v is for ps\n", argv[0]);
        return EXIT_USAGE;
    }
    if (json && strcmp (argv[0], "status")) {
        fprintf (stderr, "glpeer %s: --json is for status\n", argv[0]);
        return EXIT_USAGE;
    }
    if (!runtime_dir[0])
        gl_default_runtime_dir (runtime_dir, sizeof runtime_dir);
    char sock[GL_PATH_MAX + 16];
    snprintf (sock, sizeof sock, "%s/glpeer.sock", runtime_dir);

    gl_ctl_req_t req = { 0 };
    gl_strlcpy (req.cmd, argv[0], sizeof req.cmd);
    char json_arg[] = "json";
    if (json) {
        req.argv[0] = json_arg;
        req.argc = 1;
    }
    gl_ctl_resp_t resp = { 0 };
    char err[GL_PATH_MAX + 256];
    if (ctl_call (sock, &req, &resp, 5000, err, sizeof err)) {
        fprintf (stderr, "glpeer %s: %s\n", argv[0], err);
        return 1;
    }
    fwrite (resp.text, 1, resp.text_len, resp.code ? stderr : stdout);
    int rc = resp.code ? 1 : 0;
    gl_ctl_resp_clear (&resp);
    return rc;
}

int main (int argc, char **argv)
{
    /* Stream chunks are 256 KiB, above glibc's default mmap threshold:
       each one would cost an mmap, a page fault per page and a munmap.
       A fixed threshold above the largest frame keeps them on the heap. */
    mallopt (M_MMAP_THRESHOLD, 8 << 20);
    mallopt (M_TRIM_THRESHOLD, 32 << 20);
    if (argc < 2) {
        fprintf (stderr, "%s", usage_text);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp (cmd, "-h") || !strcmp (cmd, "--help") || !strcmp (cmd, "help")) {
        printf ("%s", usage_text);
        return 0;
    }
    if (!strcmp (cmd, "keygen"))
        return cmd_keygen (argc - 1, argv + 1);
    if (!strcmp (cmd, "join"))
        return cmd_join (argc - 1, argv + 1);
    if (!strcmp (cmd, "top"))
        return top_main (argc - 1, argv + 1);
    if (!strcmp (cmd, "status") || !strcmp (cmd, "leave") || !strcmp (cmd, "ps") ||
        !strcmp (cmd, "kill") || !strcmp (cmd, "checkpoint") || !strcmp (cmd, "migrate"))
        return cmd_client (argc - 1, argv + 1);
    fprintf (stderr, "glpeer: unknown command '%s'\n%s", cmd, usage_text);
    return EXIT_USAGE;
}
