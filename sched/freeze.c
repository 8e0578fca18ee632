/*  freeze.c -- stop and continue a job's processes (see freeze.h). */
#include "freeze.h"
#include "err.h"
#include "grow.h"
#include "log.h"
#include "str.h"
#include "fd.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN        512
#define FREEZE_YIELD_US 2000 /* confirming a stop yields the core this long, then sleeps */

typedef enum { WAY_SIGNALS = 0, WAY_V1, WAY_V2 } way_t;

struct freeze_t {
    way_t way;
    char dir[PATH_LEN + 512]; /* this agent's cgroups: .../glunix/TAG */
    char method[400];
    freeze_job_t **pending; /* stopped since the last confirm */
    size_t n_pending, cap_pending;
};

struct freeze_job_t {
    freeze_t *fz;
    way_t way;
    pid_t pid;
    freeze_signal_fn signal; /* or NULL: kill */
    void *signal_arg;
    char dir[PATH_LEN + 768]; /* its cgroup, or "" */
    bool stopped, user_stopped;
};

/* ---- small file helpers ---------------------------------------------------------- */

static int write_file (const char *dir, const char *file, const char *text)
{
    char path[PATH_LEN + 1100];
    snprintf (path, sizeof path, "%s/%s", dir, file);
    int fd = open (path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = gl_write_all (fd, text, strlen (text));
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

static int read_file (const char *path, char *buf, size_t len)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read (fd, buf, len - 1);
    close (fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* The mount point of the cgroup v1 hierarchy with the freezer, or of
   cgroup v2, from /proc/self/mounts. */
static bool find_mount (way_t way, char *out, size_t len)
{
    FILE *f = fopen ("/proc/self/mounts", "re");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets (line, sizeof line, f)) {
        char dev[256], dir[512], type[64], opts[512];
        if (sscanf (line, "%255s %511s %63s %511s", dev, dir, type, opts) != 4)
            continue;
        if (way == WAY_V1 && !strcmp (type, "cgroup")) {
            for (char *o = strtok (opts, ","); o && !found; o = strtok (NULL, ","))
                found = !strcmp (o, "freezer");
        }
        else if (way == WAY_V2 && !strcmp (type, "cgroup2"))
            found = true;
        if (found)
            gl_strlcpy (out, dir, len);
    }
    fclose (f);
    return found;
}

/* Thaw and remove the cgroups of agents that are gone: their jobs would
   otherwise stay frozen for ever. */
static void sweep (way_t way, const char *root)
{
    DIR *d = opendir (root);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d))) {
        const char *dot = strrchr (e->d_name, '.');
        if (e->d_name[0] == '.' || !dot)
            continue;
        long pid = strtol (dot + 1, NULL, 10);
        if (pid <= 0 || kill ((pid_t) pid, 0) == 0 || errno != ESRCH)
            continue;
        char agent[PATH_LEN + 512];
        snprintf (agent, sizeof agent, "%s/%s", root, e->d_name);
        DIR *jobs = opendir (agent);
        struct dirent *j;
        while (jobs && (j = readdir (jobs))) {
            char job[PATH_LEN + 1024];
            if (j->d_type != DT_DIR || j->d_name[0] == '.')
                continue;
            snprintf (job, sizeof job, "%s/%s", agent, j->d_name);
            write_file (job, way == WAY_V1 ? "freezer.state" : "cgroup.freeze",
                        way == WAY_V1 ? "THAWED" : "0");
            rmdir (job); /* fails while its processes live: the next sweep tries again */
        }
        if (jobs)
            closedir (jobs);
        rmdir (agent);
    }
    closedir (d);
}

/* Make this agent's directory under a hierarchy and check that a cgroup
   made there can be frozen. */
static bool try_way (freeze_t *self, way_t way, const char *tag)
{
    char mount[256], root[300];
    if (!find_mount (way, mount, sizeof mount))
        return false;
    snprintf (root, sizeof root, "%s/glunix", mount);
    if (mkdir (root, 0755) && errno != EEXIST)
        return false;
    sweep (way, root);
    snprintf (self->dir, sizeof self->dir, "%s/%s", root, tag);
    if (mkdir (self->dir, 0755) && errno != EEXIST)
        return false;
    char probe[PATH_LEN + 600];
    snprintf (probe, sizeof probe, "%s/%s", self->dir,
              way == WAY_V1 ? "freezer.state" : "cgroup.freeze");
    if (access (probe, W_OK)) {
        rmdir (self->dir);
        return false;
    }
    self->way = way;
    snprintf (self->method, sizeof self->method, "cgroup %s freezer at %s",
              way == WAY_V1 ? "v1" : "v2", mount);
    return true;
}

freeze_t *freeze_new (freeze_want_t want, const char *tag, char *err, size_t errlen)
{
    freeze_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    if (want != FREEZE_SIGNALS && (try_way (self, WAY_V2, tag) || try_way (self, WAY_V1, tag)))
        return self;
    if (want == FREEZE_CGROUP) {
        gl_err (err, errlen,
                "sched/gang_stop: no cgroup freezer can be used here (none mounted, or not "
                "writable by this user); use \"signals\" or \"auto\"");
        free (self);
        return NULL;
    }
    self->way = WAY_SIGNALS;
    self->dir[0] = '\0';
    snprintf (self->method, sizeof self->method, "signals (SIGSTOP and SIGCONT)");
    return self;
}

void freeze_destroy (freeze_t **self_p)
{
    freeze_t *self = *self_p;
    if (!self)
        return;
    if (self->way != WAY_SIGNALS)
        rmdir (self->dir); /* empty once every job was destroyed */
    free (self->pending);
    free (self);
    *self_p = NULL;
}

const char *freeze_method (const freeze_t *self)
{
    return self->method;
}

freeze_job_t *freeze_job_new (freeze_t *self, const char *name, pid_t pid, freeze_signal_fn fn,
                              void *arg)
{
    freeze_job_t *job = calloc (1, sizeof *job);
    if (!job)
        return NULL;
    job->fz = self;
    job->pid = pid;
    job->signal = fn;
    job->signal_arg = arg;
    job->way = WAY_SIGNALS;
    if (self->way != WAY_SIGNALS) {
        char text[32];
        snprintf (job->dir, sizeof job->dir, "%s/%s", self->dir, name);
        snprintf (text, sizeof text, "%d", (int) pid);
        if ((mkdir (job->dir, 0755) == 0 || errno == EEXIST) &&
            write_file (job->dir, "cgroup.procs", text) == 0)
            job->way = self->way;
        else {
            gl_warning ("job %s: cannot put it in %s (%s): it is stopped with signals", name,
                        job->dir, strerror (errno));
            rmdir (job->dir);
            job->dir[0] = '\0';
        }
    }
    return job;
}

static int set_frozen (freeze_job_t *job, bool frozen)
{
    switch (job->way) {
        case WAY_V1: return write_file (job->dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
        case WAY_V2: return write_file (job->dir, "cgroup.freeze", frozen ? "1" : "0");
        default:
            if (!frozen && job->user_stopped)
                return 0; /* its user stopped it: theirs to continue */
            if (job->signal)
                return job->signal (job->signal_arg, frozen ? SIGSTOP : SIGCONT);
            return kill (-job->pid, frozen ? SIGSTOP : SIGCONT);
    }
}

void freeze_job_destroy (freeze_job_t **job_p)
{
    freeze_job_t *job = *job_p;
    if (!job)
        return;
    if (job->stopped)
        set_frozen (job, false);
    if (job->dir[0])
        rmdir (job->dir); /* EBUSY while processes are left; the sweep gets it then */
    freeze_t *fz = job->fz;
    /* it stands there twice when stopped, continued and stopped again
       before a confirm: the entry swapped in is looked at too */
    for (size_t i = 0; i < fz->n_pending;)
        if (fz->pending[i] == job)
            fz->pending[i] = fz->pending[--fz->n_pending];
        else
            i++;
    free (job);
    *job_p = NULL;
}

int freeze_stop (freeze_job_t *job)
{
    if (job->stopped)
        return 0;
    if (set_frozen (job, true))
        return -1;
    job->stopped = true;
    freeze_t *fz = job->fz;
    if (gl_grow (&fz->pending, &fz->cap_pending, fz->n_pending + 1, sizeof *fz->pending))
        return 0; /* stopped, only not confirmed */
    fz->pending[fz->n_pending++] = job;
    return 0;
}

int freeze_cont (freeze_job_t *job)
{
    if (!job->stopped)
        return 0;
    if (set_frozen (job, false))
        return -1;
    job->stopped = false;
    return 0;
}

bool freeze_stopped (const freeze_job_t *job)
{
    return job->stopped;
}

void freeze_user_stop (freeze_job_t *job, bool stopped)
{
    job->user_stopped = stopped;
}

/* Is the job still now? */
static bool is_still (const freeze_job_t *job)
{
    char path[PATH_LEN + 1100], buf[512];
    switch (job->way) {
        case WAY_V1:
            snprintf (path, sizeof path, "%s/freezer.state", job->dir);
            return read_file (path, buf, sizeof buf) || !strncmp (buf, "FROZEN", 6);
        case WAY_V2:
            snprintf (path, sizeof path, "%s/cgroup.events", job->dir);
            return read_file (path, buf, sizeof buf) || strstr (buf, "frozen 1");
        default: {
            /* the leader's state, the third field of /proc/PID/stat */
            snprintf (path, sizeof path, "/proc/%d/stat", (int) job->pid);
            if (read_file (path, buf, sizeof buf))
                return true; /* gone: still enough */
            const char *paren = strrchr (buf, ')');
            return !paren || paren[1] == '\0' || paren[2] == 'T' || paren[2] == 't' ||
                   paren[2] == 'Z' || paren[2] == 'X';
        }
    }
}

static uint64_t now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

size_t freeze_confirm (freeze_t *self)
{
    uint64_t start = now_us (), end = start + FREEZE_CONFIRM_US;
    while (self->n_pending) {
        for (size_t i = 0; i < self->n_pending;)
            if (!self->pending[i]->stopped || is_still (self->pending[i]))
                self->pending[i] = self->pending[--self->n_pending];
            else
                i++;
        uint64_t now = now_us ();
        if (!self->n_pending || now >= end)
            break;
        /* A process stops only once it runs (to take the signal or enter
           the freezer), and often it waits for this very core: give it
           up.  A short sleep would too, but wakes late where timers are
           coarse (a tick, 4 ms, in some virtual machines): yield for the
           first FREEZE_YIELD_US, then sleep. */
        if (now < start + FREEZE_YIELD_US)
            sched_yield ();
        else {
            struct timespec pause = { 0, 20000 }; /* 20 us */
            nanosleep (&pause, NULL);
        }
    }
    size_t left = self->n_pending;
    self->n_pending = 0;
    return left;
}
