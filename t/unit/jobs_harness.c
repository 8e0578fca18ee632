/*  jobs_harness -- jobs_t agents wired together in memory (see the header). */
#include "jobs_harness.h"
#include "ckpt_proto.h"
#include "err.h"

#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

jobs_t *jh_agent[JH_MAX];
bool jh_dead[JH_MAX];
jh_glx_t jh_glx = { .seq_ok = true, .code = -1 };
char jh_exe[4096];
char jh_user[GL_JOB_USER_MAX + 1];

static const char *const *names;
static int n_agents;
static void (*sent_hook) (int from, const char *node, const gl_msg_t *m);
static char dir[64];
static char socks[JH_MAX][96];

/* messages on their way, in the order sent */
typedef struct msg {
    int from, to;
    uint8_t *bytes;
    size_t len;
    struct msg *next;
} msg_t;
static msg_t *head, *tail;
/* messages jh_hold kept back, in the order sent */
static msg_t *held_head, *held_tail;
bool (*jh_hold) (int from, const char *node, const gl_msg_t *m);

static void append (msg_t **h, msg_t **t, msg_t *q)
{
    if (*t)
        (*t)->next = q;
    else
        *h = q;
    *t = q;
}

void jh_release (void)
{
    msg_t *q = held_head;
    held_head = held_tail = NULL;
    while (q) {
        msg_t *next = q->next;
        q->next = NULL;
        append (&head, &tail, q);
        q = next;
    }
}

/* the fds the agents want polled */
static struct {
    int agent, fd;
    short events;
} watched[64];
static size_t n_watched;

uint64_t jh_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static int index_of (const char *node)
{
    for (int i = 0; i < n_agents; i++)
        if (!strcmp (names[i], node))
            return i;
    return -1;
}

static void io_send_node (void *arg, const char *node, const gl_msg_t *m)
{
    int from = (int) (intptr_t) arg;
    if (sent_hook)
        sent_hook (from, node, m);
    int to = index_of (node);
    if (to < 0)
        return;
    msg_t *q = calloc (1, sizeof *q);
    if (!q || gl_msg_encode (m, &q->bytes, &q->len)) {
        free (q);
        return;
    }
    q->from = from;
    q->to = to;
    if (jh_hold && jh_hold (from, node, m))
        append (&held_head, &held_tail, q);
    else
        append (&head, &tail, q);
}

static int io_send_local (void *arg, uint64_t conn, const gl_msg_t *m)
{
    (void) arg, (void) conn;
    const gl_job_t *j = m->job;
    if (j->type == GL_JOB_STARTED) {
        jh_glx.started = true;
        snprintf (jh_glx.gpid, sizeof jh_glx.gpid, "%s", j->gpid);
    }
    if (j->type == GL_JOB_DATA && j->stream == 1) {
        jh_glx.seq_ok &= j->seq == jh_glx.out_seq++; /* as glx checks them */
        if (j->len && jh_glx.len + j->len <= sizeof jh_glx.out) {
            memcpy (jh_glx.out + jh_glx.len, j->data, j->len);
            jh_glx.len += j->len;
            jh_glx.owed += j->len;
        }
    }
    if (j->type == GL_JOB_NOTE && j->text) {
        jh_glx.notes++;
        jh_glx.restarts += strstr (j->text, " was restarted on ") != NULL;
        snprintf (jh_glx.note, sizeof jh_glx.note, "%s", j->text);
    }
    if (j->type == GL_JOB_EXIT || j->type == GL_JOB_FAILED) {
        jh_glx.exited = true;
        jh_glx.code = j->type == GL_JOB_EXIT ? j->code : 1000 + j->code;
        if (j->text)
            fprintf (stderr, "  glx told: %s\n", j->text);
    }
    return 0;
}

static void io_close_local (void *arg, uint64_t conn)
{
    (void) arg, (void) conn;
}

static place_cand_t *io_view (void *arg, size_t *n, uint64_t now)
{
    (void) now;
    place_cand_t *c = calloc ((size_t) n_agents, sizeof *c);
    for (int i = 0; c && i < n_agents; i++) {
        snprintf (c[i].name, sizeof c[i].name, "%s", names[i]);
        c[i].is_self = i == (int) (intptr_t) arg;
        c[i].state = jh_dead[i] ? 2 : 0; /* swim_state_t: dead, alive */
        c[i].has_res = true;
        c[i].res = (gl_res_t){ .cores = 4,
                               .mem_total_kb = 1 << 24,
                               .mem_avail_kb = 1 << 24,
                               .owner_idle_s = 3600,
                               .state = GL_RES_IDLE };
    }
    *n = c ? (size_t) n_agents : 0;
    return c;
}

static void io_watch (void *arg, int fd, short events)
{
    for (size_t i = 0; i < n_watched; i++)
        if (watched[i].fd == fd) {
            watched[i].agent = (int) (intptr_t) arg;
            watched[i].events = events;
            return;
        }
    if (events && n_watched < 64) {
        watched[n_watched].agent = (int) (intptr_t) arg;
        watched[n_watched].fd = fd;
        watched[n_watched++].events = events;
    }
}

int jh_start (const char *test, const char *const *agent_names, int n, bool restore,
              void (*sent) (int from, const char *node, const gl_msg_t *m), char *err,
              size_t errlen)
{
    if (n < 1 || n > JH_MAX)
        return gl_err (err, errlen, "%d agents: 1 to %d", n, JH_MAX);
    ssize_t len = readlink ("/proc/self/exe", jh_exe, sizeof jh_exe - 1);
    struct passwd *pw = getpwuid (geteuid ());
    if (len <= 0 || !pw) {
        gl_err (err, errlen, "cannot find this program or its user");
        return 1;
    }
    jh_exe[len] = '\0';
    snprintf (jh_user, sizeof jh_user, "%s", pw->pw_name);
    snprintf (dir, sizeof dir, "/tmp/%s.XXXXXX", test);
    if (!mkdtemp (dir))
        return gl_err (err, errlen, "%s: cannot make it", dir);
    names = agent_names;
    n_agents = n;
    sent_hook = sent;
    memset (jh_dead, 0, sizeof jh_dead); /* a test may start a second cluster after jh_stop */
    memset (&jh_glx, 0, sizeof jh_glx);
    jh_glx.seq_ok = true;
    jh_glx.code = -1;
    for (int i = 0; i < n; i++) {
        jobs_io_t io = { .arg = (void *) (intptr_t) i,
                         .send_node = io_send_node,
                         .send_local = io_send_local,
                         .close_local = io_close_local,
                         .view = io_view,
                         .watch = io_watch };
        jh_agent[i] = jobs_new (names[i], 1, 4, &io, (uint64_t) i + 1);
        if (!jh_agent[i])
            return gl_err (err, errlen, "%s: cannot make its agent", names[i]);
        jobs_set_access (jh_agent[i], access_new (NULL, false));
        gl_res_t res = { .cores = 4, .mem_total_kb = 1 << 24, .mem_avail_kb = 1 << 24 };
        jobs_set_res (jh_agent[i], &res);
        snprintf (socks[i], sizeof socks[i], "%s/%s.sock", dir, names[i]);
        if (jobs_ckpt_listen (jh_agent[i], socks[i], false, err, errlen))
            return -1;
        jobs_set_job_env (jh_agent[i], dir, NULL);
        if (restore)
            jobs_set_restorer (jh_agent[i], i == 0 ? "" : jh_exe);
    }
    return 0;
}

const char *jh_sock (int i)
{
    return socks[i];
}

void jh_kill (int i)
{
    jh_dead[i] = true;
    jobs_destroy (&jh_agent[i]);
}

void jh_stop (void)
{
    for (int i = 0; i < n_agents; i++) {
        jobs_destroy (&jh_agent[i]);
        unlink (socks[i]);
    }
    jh_release (); /* what a test held back goes too */
    while (head) {
        msg_t *q = head;
        head = q->next;
        free (q->bytes);
        free (q);
    }
    tail = NULL;
    rmdir (dir);
}

void jh_glx_send (gl_job_t *j)
{
    jobs_local_msg (jh_agent[0], 1, j, jh_now ());
}

/* glx's credit back, a chunk at a time, as it writes */
static void glx_credit (void)
{
    if (jh_glx.owed < 4096 || jh_dead[0])
        return;
    gl_job_t c = { .type = GL_JOB_CREDIT, .stream = 1, .credit = jh_glx.owed };
    jh_glx.owed = 0;
    jh_glx_send (&c);
}

void jh_pump (int ms, bool (*until) (void))
{
    uint64_t end = jh_now () + (uint64_t) ms;
    while (jh_now () < end && !(until && until ())) {
        while (head) {
            msg_t *q = head;
            head = q->next;
            if (!head)
                tail = NULL;
            gl_msg_t m;
            if (!jh_dead[q->to] && !jh_dead[q->from] &&
                gl_msg_decode (q->bytes, q->len, &m, NULL) == 0) {
                jobs_node_msg (jh_agent[q->to], names[q->from], m.job, jh_now ());
                gl_msg_clear (&m);
            }
            free (q->bytes);
            free (q);
        }
        struct pollfd p[64];
        int who[64];
        size_t n = 0;
        for (size_t i = 0; i < n_watched; i++)
            if (watched[i].events && !jh_dead[watched[i].agent]) {
                who[n] = watched[i].agent;
                p[n++] = (struct pollfd){ watched[i].fd, watched[i].events, 0 };
            }
        poll (p, n, 5);
        for (size_t i = 0; i < n; i++)
            if (p[i].revents)
                jobs_ready (jh_agent[who[i]], p[i].fd, p[i].revents, jh_now ());
        for (int i = 0; i < n_agents; i++)
            if (!jh_dead[i])
                jobs_tick (jh_agent[i], jh_now ());
        glx_credit ();
    }
}

bool jh_glx_run (const char *pin, uint32_t ckpt_every_ms)
{
    char *argv[] = { jh_exe, (char *) "ticker" };
    char cwd[] = "/";
    gl_job_t run = { .type = GL_JOB_RUN, .argc = 2, .argv = argv, .cwd = cwd };
    snprintf (run.pin, sizeof run.pin, "%s", pin);
    snprintf (run.user, sizeof run.user, "%s", jh_user);
    run.ckpt_every_ms = ckpt_every_ms;
    jh_glx_send (&run);
    jh_pump (3000, jh_glx_started);
    return jh_glx.started;
}

void jh_glx_line (int i)
{
    char line[32];
    int n = snprintf (line, sizeof line, "line %d\n", i);
    gl_job_t d = { .type = GL_JOB_DATA, .stream = 0, .seq = jh_glx.in_seq++ };
    d.data = (uint8_t *) line;
    d.len = (uint32_t) n;
    jh_glx_send (&d);
}

void jh_glx_eof (void)
{
    gl_job_t eof = { .type = GL_JOB_DATA, .stream = 0, .seq = jh_glx.in_seq++, .eof = true };
    jh_glx_send (&eof);
}

bool jh_glx_started (void)
{
    return jh_glx.started;
}

bool jh_glx_exited (void)
{
    return jh_glx.exited;
}

int jh_glx_count (const char *prefix)
{
    size_t k = strlen (prefix);
    int n = 0;
    for (size_t i = 0; i + k <= jh_glx.len; i++)
        if (!memcmp (jh_glx.out + i, prefix, k))
            n++;
    return n;
}

bool jh_glx_in_order (int *ticks, int *lines)
{
    static char out[sizeof jh_glx.out + 1];
    memcpy (out, jh_glx.out, jh_glx.len);
    out[jh_glx.len] = '\0';
    bool in_order = true;
    *ticks = *lines = 0;
    for (char *save = NULL, *l = strtok_r (out, "\n", &save); l; l = strtok_r (NULL, "\n", &save)) {
        int v;
        if (sscanf (l, "tick %d", &v) == 1)
            in_order &= v == (*ticks)++;
        else if (sscanf (l, "in: line %d", &v) == 1)
            in_order &= v == (*lines)++;
        else
            in_order = false;
    }
    return in_order;
}

volatile sig_atomic_t jh_job_asked, jh_job_req;
char jh_job_partial[256];
size_t jh_job_partial_len;

static void on_ckpt (int signo, siginfo_t *si, void *uc)
{
    (void) signo, (void) uc;
    jh_job_req = si->si_value.sival_int;
    jh_job_asked = 1;
}

void jh_job_catch (void)
{
    struct sigaction sa = { .sa_sigaction = on_ckpt, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigaction (GL_CKPT_SIGNO, &sa, NULL);
}

int jh_job_hello (int req)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    const char *path = getenv (GL_CKPT_SOCK_ENV);
    snprintf (a.sun_path, sizeof a.sun_path, "%s", path ? path : "");
    int s = socket (AF_UNIX, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    if (connect (s, (struct sockaddr *) &a, sizeof a)) {
        close (s);
        return -1;
    }
    dprintf (s, "GLCKPT 1 pid=%d gpid=%s req=%d\n", (int) getpid (), getenv ("GLUNIX_GPID"), req);
    return s;
}

void jh_job_echo (const char *buf, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (buf[k] == '\n') { /* flushed: its image holds no stdio buffer */
            printf ("in: %.*s\n", (int) jh_job_partial_len, jh_job_partial);
            fflush (stdout);
            jh_job_partial_len = 0;
        }
        else if (jh_job_partial_len < sizeof jh_job_partial)
            jh_job_partial[jh_job_partial_len++] = buf[k];
    }
}

size_t jh_read_all (int fd, void *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len < cap && (n = read (fd, (char *) buf + len, cap - len)) > 0)
        len += (size_t) n;
    return len;
}
