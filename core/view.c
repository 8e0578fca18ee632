/*  view.c -- the agent's view in shared memory.  See view.h for the
    contract; this file holds its two sides: the agent's writer and the
    readers' mapping and seqlock.  It uses libc alone, so that the
    libraries inside jobs (shim/) can carry it. */
#include "view.h"
#include "err.h"
#include "str.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(offsetof (gl_view_hdr_t, seq) == 128, "seq keeps its place in every version");
_Static_assert(offsetof (gl_view_hdr_t, info) == 192, "info follows the fixed part");
_Static_assert(sizeof (gl_view_hdr_t) <= GL_VIEW_HDR_BYTES, "the header fits its page");
_Static_assert(sizeof (gl_view_node_t) % 8 == 0, "records keep 64-bit alignment");
_Static_assert(sizeof (gl_view_job_t) % 8 == 0, "records keep 64-bit alignment");

struct gl_view {
    const uint8_t *base;
    size_t size;
    const gl_view_hdr_t *hdr;
};

struct gl_view_pub {
    uint8_t *base;
    size_t size;
    gl_view_hdr_t *hdr;
    int fd; /* held open, with a shared flock: the writer is alive */
    char name[GL_VIEW_NAME_MAX];
};

/* ---- the name ------------------------------------------------------------- */

uint64_t gl_view_hash (const char *runtime_dir)
{
    size_t len = strlen (runtime_dir);
    while (len > 1 && runtime_dir[len - 1] == '/')
        len--;
    return gl_fnv1a (runtime_dir, len);
}

void gl_view_name (const char *runtime_dir, char out[GL_VIEW_NAME_MAX])
{
    snprintf (out, GL_VIEW_NAME_MAX, "/glunix-view-%016llx",
              (unsigned long long) gl_view_hash (runtime_dir));
}

/* ---- the reader ------------------------------------------------------------ */

static uint64_t mono_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts); /* the vDSO: no system call */
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The fixed part says how to read the rest: check that it adds up. */
static int check_hdr (const gl_view_hdr_t *h, size_t size, const char *name, char *err,
                      size_t errlen)
{
    if (h->magic != GL_VIEW_MAGIC)
        return gl_err (err, errlen, "%s is not a glunix view (bad magic)", name);
    if (h->compat_version > GL_VIEW_VERSION)
        return gl_err (err, errlen,
                       "%s: view version %u needs a reader of version %u or later; this one "
                       "is %u: update the library (libglunix, libglshim) to the agent's",
                       name, h->version, h->compat_version, GL_VIEW_VERSION);
    uint64_t nodes_end = (uint64_t) h->nodes_off + (uint64_t) h->nodes_max * h->node_size;
    uint64_t jobs_end = (uint64_t) h->jobs_off + (uint64_t) h->jobs_max * h->job_size;
    /* in order: the header and its info, the nodes, the jobs, the end */
    if (h->size != size || h->info_size < 8 || h->node_size < 64 || h->job_size < 96 ||
        offsetof (gl_view_hdr_t, info) + h->info_size > h->nodes_off || nodes_end > h->jobs_off ||
        jobs_end > size)
        return gl_err (err, errlen, "%s: the view's sizes do not add up (%llu bytes)", name,
                       (unsigned long long) size);
    return 0;
}

gl_view_t *gl_view_open (const char *runtime_dir, char *err, size_t errlen)
{
    char name[GL_VIEW_NAME_MAX];
    gl_view_name (runtime_dir, name);
    int fd = shm_open (name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            gl_err (err, errlen, "no agent publishes a view for %s (no %s in /dev/shm)",
                    runtime_dir, name + 1);
        else
            gl_err (err, errlen, "%s: %s", name, strerror (errno));
        return NULL;
    }
    struct stat st;
    if (fstat (fd, &st) || (size_t) st.st_size < GL_VIEW_HDR_BYTES) {
        gl_err (err, errlen, "%s: not a glunix view (%lld bytes)", name, (long long) st.st_size);
        close (fd);
        return NULL;
    }
    size_t size = (size_t) st.st_size;
    void *base = mmap (NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close (fd);
    if (base == MAP_FAILED) {
        gl_err (err, errlen, "%s: cannot map it: %s", name, strerror (errno));
        return NULL;
    }
    const gl_view_hdr_t *h = (const gl_view_hdr_t *) base;
    if (check_hdr (h, size, name, err, errlen)) {
        munmap (base, size);
        return NULL;
    }
    if (h->runtime_hash != gl_view_hash (runtime_dir)) {
        gl_err (err, errlen, "%s belongs to another runtime directory than %s", name, runtime_dir);
        munmap (base, size);
        return NULL;
    }
    gl_view_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        munmap (base, size);
        return NULL;
    }
    self->base = base;
    self->size = size;
    self->hdr = h;
    return self;
}

void gl_view_close (gl_view_t **self_p)
{
    gl_view_t *self = *self_p;
    if (!self)
        return;
    munmap ((void *) self->base, self->size);
    free (self);
    *self_p = NULL;
}

const gl_view_hdr_t *gl_view_hdr (const gl_view_t *self)
{
    return self->hdr;
}

/* Wait for an even seq.  A writer holds it odd for microseconds; if it
   stays odd, the agent was preempted mid-write (spin a little, then let
   it run), or it is stopped: give up after GL_VIEW_WAIT_MS. */
static int read_begin (const gl_view_hdr_t *h, uint64_t *seq, uint64_t *deadline_ns,
                       const char **why)
{
    for (unsigned spins = 0;; spins++) {
        uint64_t s = __atomic_load_n (&h->seq, __ATOMIC_ACQUIRE);
        if (!(s & 1)) {
            *seq = s;
            return 0;
        }
        if (spins < 64) {
            __builtin_ia32_pause ();
            continue;
        }
        uint64_t now = mono_ns ();
        if (!*deadline_ns)
            *deadline_ns = now + (uint64_t) GL_VIEW_WAIT_MS * 1000000u;
        else if (now > *deadline_ns)
            return gl_why (why, "the agent has been writing its view too long (stopped?)");
        sched_yield ();
    }
}

static bool read_retry (const gl_view_hdr_t *h, uint64_t seq)
{
    __atomic_thread_fence (__ATOMIC_ACQUIRE);
    return __atomic_load_n (&h->seq, __ATOMIC_RELAXED) != seq;
}

/* Copy a record of the writer's stride into ours: what both know, and
   zeros for what the writer's version lacks. */
static void copy_rec (void *to, size_t our_size, const void *from, size_t their_size)
{
    size_t n = our_size < their_size ? our_size : their_size;
    memcpy (to, from, n);
    if (n < our_size)
        memset ((uint8_t *) to + n, 0, our_size - n);
}

int gl_view_read (const gl_view_t *self, gl_view_info_t *info, gl_view_node_t *nodes,
                  size_t nodes_max, gl_view_job_t *jobs, size_t jobs_max, const char **why)
{
    const gl_view_hdr_t *h = self->hdr;
    uint64_t seq, deadline = 0;
    do {
        if (read_begin (h, &seq, &deadline, why))
            return -1;
        copy_rec (info, sizeof *info, &h->info, h->info_size);
        /* counts as read in this pass, bounded by the tables: a torn
           count is caught by the retry, never followed off the map */
        size_t nn = info->n_nodes < h->nodes_max ? info->n_nodes : h->nodes_max;
        size_t nj = info->n_jobs < h->jobs_max ? info->n_jobs : h->jobs_max;
        for (size_t i = 0; i < nn && i < nodes_max; i++)
            copy_rec (&nodes[i], sizeof *nodes,
                      self->base + h->nodes_off + (size_t) i * h->node_size, h->node_size);
        for (size_t i = 0; i < nj && i < jobs_max; i++)
            copy_rec (&jobs[i], sizeof *jobs, self->base + h->jobs_off + (size_t) i * h->job_size,
                      h->job_size);
    } while (read_retry (h, seq));
    return 0;
}

int gl_view_read_node (const gl_view_t *self, const char *name, gl_view_node_t *out,
                       const char **why)
{
    const gl_view_hdr_t *h = self->hdr;
    uint64_t seq, deadline = 0;
    int found;
    do {
        if (read_begin (h, &seq, &deadline, why))
            return -1;
        uint32_t n = __atomic_load_n (&h->info.n_nodes, __ATOMIC_RELAXED);
        if (n > h->nodes_max)
            n = h->nodes_max;
        found = 1;
        for (uint32_t i = 0; i < n && found; i++) {
            const char *rec = (const char *) self->base + h->nodes_off + (size_t) i * h->node_size;
            if (strncmp (rec, name, 64) == 0) {
                copy_rec (out, sizeof *out, rec, h->node_size);
                found = 0;
            }
        }
    } while (read_retry (h, seq));
    return found;
}

/* ---- the writer ------------------------------------------------------------ */

/* Views left by agents that were killed (SIGKILL, a crash) stay in
   /dev/shm until someone removes them: the next agent of the same user
   to start removes those whose writer is gone, and the next agent started
   by root those of any user (a machine's agent hands its view to the
   account it runs as, glpeer(8)).  Gone means both: no process holds the
   view's lock (a living writer holds it for its whole life), and its pid
   names no process.  The pid alone is not enough: /dev/shm is often
   shared by processes in other pid namespaces (containers), where a
   living agent's pid means nothing here. */
static void sweep (void)
{
    DIR *d = opendir ("/dev/shm");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d))) {
        if (strncmp (e->d_name, "glunix-view-", 12))
            continue;
        char name[GL_VIEW_NAME_MAX + 2];
        snprintf (name, sizeof name, "/%.*s", GL_VIEW_NAME_MAX - 1, e->d_name);
        int fd = shm_open (name, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
            continue;
        struct stat st;
        gl_view_hdr_t h;
        bool gone = fstat (fd, &st) == 0 && (st.st_uid == geteuid () || geteuid () == 0) &&
                    pread (fd, &h, sizeof h, 0) == (ssize_t) sizeof h && h.magic == GL_VIEW_MAGIC &&
                    h.agent_pid > 0 && kill (h.agent_pid, 0) != 0 && errno == ESRCH &&
                    flock (fd, LOCK_EX | LOCK_NB) == 0;
        close (fd);
        if (gone)
            shm_unlink (name);
    }
    closedir (d);
}

gl_view_pub_t *gl_view_create (const char *runtime_dir, uint32_t nodes_max, uint32_t jobs_max,
                               bool every_user, char *err, size_t errlen)
{
    gl_view_pub_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    gl_view_name (runtime_dir, self->name);
    size_t nodes_bytes = (size_t) nodes_max * sizeof (gl_view_node_t);
    size_t jobs_bytes = (size_t) jobs_max * sizeof (gl_view_job_t);
    self->size = GL_VIEW_HDR_BYTES + nodes_bytes + jobs_bytes;
    /* A view left by an agent that crashed: ours replaces it (one agent
       per runtime directory: the caller holds its lock). */
    shm_unlink (self->name);
    sweep ();
    mode_t mode = every_user ? 0444 : 0400;
    int fd = shm_open (self->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        gl_err (err, errlen, "cannot create the view %s: %s", self->name, strerror (errno));
        free (self);
        return NULL;
    }
    if (fchmod (fd, mode)) { /* exactly, whatever the umask */
        gl_err (err, errlen, "cannot set the mode of the view %s: %s", self->name,
                strerror (errno));
        close (fd);
        shm_unlink (self->name);
        free (self);
        return NULL;
    }
    if (ftruncate (fd, (off_t) self->size)) {
        gl_err (err, errlen, "cannot size the view %s: %s", self->name, strerror (errno));
        close (fd);
        shm_unlink (self->name);
        free (self);
        return NULL;
    }
    void *base = mmap (NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED || flock (fd, LOCK_SH | LOCK_NB)) {
        gl_err (err, errlen, "cannot %s the view %s: %s", base == MAP_FAILED ? "map" : "lock",
                self->name, strerror (errno));
        if (base != MAP_FAILED)
            munmap (base, self->size);
        close (fd);
        shm_unlink (self->name);
        free (self);
        return NULL;
    }
    self->fd = fd;
    self->base = base;
    gl_view_hdr_t *h = self->hdr = (gl_view_hdr_t *) base;
    h->version = GL_VIEW_VERSION;
    h->compat_version = GL_VIEW_COMPAT;
    h->size = self->size;
    h->info_size = sizeof (gl_view_info_t);
    h->node_size = sizeof (gl_view_node_t);
    h->job_size = sizeof (gl_view_job_t);
    h->nodes_off = GL_VIEW_HDR_BYTES;
    h->jobs_off = (uint32_t) (GL_VIEW_HDR_BYTES + nodes_bytes);
    h->nodes_max = nodes_max;
    h->jobs_max = jobs_max;
    h->agent_pid = (int32_t) getpid ();
    h->runtime_hash = gl_view_hash (runtime_dir);
    /* the magic last: a reader that sees it sees the rest */
    __atomic_store_n (&h->magic, GL_VIEW_MAGIC, __ATOMIC_RELEASE);
    return self;
}

void gl_view_destroy (gl_view_pub_t **self_p)
{
    gl_view_pub_t *self = *self_p;
    if (!self)
        return;
    gl_view_info_t *info = gl_view_begin (self);
    info->flags |= GL_VIEW_CLOSED;
    gl_view_end (self);
    shm_unlink (self->name);
    munmap (self->base, self->size);
    close (self->fd);
    free (self);
    *self_p = NULL;
}

gl_view_info_t *gl_view_begin (gl_view_pub_t *self)
{
    gl_view_hdr_t *h = self->hdr;
    __atomic_store_n (&h->seq, h->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence (__ATOMIC_RELEASE);
    return &h->info;
}

gl_view_node_t *gl_view_node (gl_view_pub_t *self, uint32_t i)
{
    return (gl_view_node_t *) (self->base + self->hdr->nodes_off) + i;
}

gl_view_job_t *gl_view_job (gl_view_pub_t *self, uint32_t i)
{
    return (gl_view_job_t *) (self->base + self->hdr->jobs_off) + i;
}

const gl_view_info_t *gl_view_pub_info (const gl_view_pub_t *self)
{
    return &self->hdr->info;
}

uint32_t gl_view_nodes_max (const gl_view_pub_t *self)
{
    return self->hdr->nodes_max;
}

uint32_t gl_view_jobs_max (const gl_view_pub_t *self)
{
    return self->hdr->jobs_max;
}

void gl_view_end (gl_view_pub_t *self)
{
    gl_view_hdr_t *h = self->hdr;
    __atomic_store_n (&h->seq, h->seq + 1, __ATOMIC_RELEASE);
}
