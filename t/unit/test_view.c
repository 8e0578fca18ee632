/*  test_view.c -- the shared-memory view: what the writer publishes is what
    readers read, never torn; versions are told apart; a reader that
    scribbles on its mapping faults alone; a stopped writer does not hang
    its readers; a closed view says so. */
#include "tap.h"
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static void fill_node (gl_view_node_t *n, const char *name, uint32_t k)
{
    memset (n, 0, sizeof *n);
    snprintf (n->name, sizeof n->name, "%s", name);
    n->has_res = 1;
    n->cores = k;
    n->guests = k;
    n->load1_milli = k;
    n->mem_avail_kb = k;
    n->clock_ms = -(int64_t) k;
}

static void basics (void)
{
    char err[256] = "";
    gl_view_t *none = gl_view_open (dir, err, sizeof err);
    CHECK (!none);
    CHECK (strstr (err, "no agent publishes a view") != NULL);

    gl_view_pub_t *pub = gl_view_create (dir, 8, 4, false, err, sizeof err);
    CHECK (pub != NULL);
    if (!pub) {
        fprintf (stderr, "%s\n", err);
        return;
    }
    gl_view_t *v = gl_view_open (dir, err, sizeof err);
    CHECK (v != NULL);
    if (!v)
        return;
    gl_view_info_t info;
    gl_view_node_t nodes[8];
    gl_view_job_t jobs[4];
    const char *why = NULL;
    CHECK_EQ (gl_view_read (v, &info, nodes, 8, jobs, 4, &why), 0);
    CHECK_EQ (info.n_nodes, 0);

    gl_view_info_t *w = gl_view_begin (pub);
    snprintf (w->node, sizeof w->node, "a");
    w->n_nodes = 3;
    w->n_jobs = 1;
    w->alive = 3;
    fill_node (gl_view_node (pub, 0), "a", 2);
    fill_node (gl_view_node (pub, 1), "b", 4);
    fill_node (gl_view_node (pub, 2), "c", 8);
    snprintf (gl_view_job (pub, 0)->gpid, 96, "a-1-1");
    gl_view_job (pub, 0)->pid = 42;
    gl_view_end (pub);

    CHECK_EQ (gl_view_read (v, &info, nodes, 8, jobs, 4, &why), 0);
    CHECK_EQ (info.n_nodes, 3);
    CHECK_EQ (info.alive, 3);
    CHECK (!strcmp (info.node, "a"));
    CHECK (!strcmp (nodes[1].name, "b") && nodes[1].cores == 4 && nodes[1].clock_ms == -4);
    CHECK (!strcmp (jobs[0].gpid, "a-1-1") && jobs[0].pid == 42);
    /* asking for fewer than there are copies that many and says how many */
    memset (nodes, 0, sizeof nodes);
    CHECK_EQ (gl_view_read (v, &info, nodes, 1, NULL, 0, &why), 0);
    CHECK (info.n_nodes == 3 && !strcmp (nodes[0].name, "a") && nodes[1].name[0] == 0);

    gl_view_node_t one;
    CHECK_EQ (gl_view_read_node (v, "c", &one, &why), 0);
    CHECK_EQ (one.cores, 8);
    CHECK_EQ (gl_view_read_node (v, "zz", &one, &why), 1);

    /* the object is the agent's user's alone, and read-only for it */
    char name[GL_VIEW_NAME_MAX], path[128];
    gl_view_name (dir, name);
    snprintf (path, sizeof path, "/dev/shm%s", name);
    struct stat st;
    CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0400 && st.st_uid == getuid ());

    /* a reader that scribbles on its mapping dies of SIGSEGV, alone */
    pid_t pid = fork ();
    if (pid == 0) {
        signal (SIGSEGV, SIG_DFL); /* not a sanitizer's report: the fault itself */
        gl_view_t *mine = gl_view_open (dir, err, sizeof err);
        if (!mine)
            _exit (3);
        ((volatile gl_view_hdr_t *) gl_view_hdr (mine))->info.n_nodes = 0;
        ((volatile uint8_t *) gl_view_hdr (mine))[GL_VIEW_HDR_BYTES] = 'x';
        _exit (0);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGSEGV);
    CHECK_EQ (gl_view_read (v, &info, nodes, 8, NULL, 0, &why), 0);
    CHECK (info.n_nodes == 3 && !strcmp (nodes[0].name, "a"));
    /* nor can it make its mapping writable: the object was opened read-only */
    void *again =
        mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, shm_open (name, O_RDONLY, 0), 0);
    CHECK (again == MAP_FAILED);
    CHECK (mprotect ((void *) gl_view_hdr (v), 4096, PROT_READ | PROT_WRITE) != 0);

    /* an agent stopped mid-write: readers give up with a reason, in time */
    gl_view_begin (pub);
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    why = NULL;
    CHECK_EQ (gl_view_read (v, &info, NULL, 0, NULL, 0, &why), -1);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    CHECK (why && strstr (why, "too long"));
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK (ms >= GL_VIEW_WAIT_MS * 0.9 && ms < 10 * GL_VIEW_WAIT_MS);
    gl_view_end (pub);
    CHECK_EQ (gl_view_read (v, &info, NULL, 0, NULL, 0, &why), 0);

    /* the agent stops: the old mapping says closed, and it is gone */
    gl_view_destroy (&pub);
    CHECK_EQ (gl_view_read (v, &info, NULL, 0, NULL, 0, &why), 0);
    CHECK (info.flags & GL_VIEW_CLOSED);
    gl_view_close (&v);
    v = gl_view_open (dir, err, sizeof err);
    CHECK (!v);
}

/* ---- torn reads ---------------------------------------------------------- */

static gl_view_pub_t *racer;
static volatile int racing;

static void *writer (void *arg)
{
    for (uint32_t k = 1; racing; k++) {
        gl_view_info_t *w = gl_view_begin (racer);
        w->n_nodes = 1 + k % 7;
        w->publishes = k;
        for (uint32_t i = 0; i < 8; i++)
            fill_node (gl_view_node (racer, i), "n", k);
        gl_view_end (racer);
        /* an agent publishes now and then, not without pause: a writer
           that never stops starves seqlock readers by design */
        for (int i = 0; i < 2000; i++)
            __builtin_ia32_pause ();
    }
    return NULL;
}

static void torn (void)
{
    char err[256];
    racer = gl_view_create (dir, 8, 0, false, err, sizeof err);
    gl_view_t *v = racer ? gl_view_open (dir, err, sizeof err) : NULL;
    CHECK (v != NULL);
    if (!v)
        return;
    racing = 1;
    pthread_t t;
    pthread_create (&t, NULL, writer, NULL);
    /* read until 300 publications were seen, however long the machine
       takes to schedule the writer: each was a chance to tear a read */
    long bad = 0, reads = 0, seen_change = 0;
    uint64_t last = 0;
    for (; seen_change < 300 && reads < 2000000000L; reads++) {
        gl_view_info_t info;
        gl_view_node_t nodes[8];
        const char *why;
        if (gl_view_read (v, &info, nodes, 8, NULL, 0, &why)) {
            bad++;
            continue;
        }
        uint32_t k = (uint32_t) info.publishes;
        if (k && info.n_nodes != 1 + k % 7)
            bad++;
        for (uint32_t i = 0; k && i < info.n_nodes; i++)
            if (nodes[i].cores != k || nodes[i].guests != k || nodes[i].mem_avail_kb != k ||
                nodes[i].clock_ms != -(int64_t) k)
                bad++;
        seen_change += info.publishes != last;
        last = info.publishes;
    }
    racing = 0;
    pthread_join (t, NULL);
    printf ("# %ld reads, %ld saw a new publication, %ld torn\n", reads, seen_change, bad);
    CHECK_EQ (bad, 0);
    CHECK (seen_change >= 300);
    gl_view_close (&v);
    gl_view_destroy (&racer);
}

/* ---- versions ------------------------------------------------------------ */

/* A view written by hand, as another version of the writer would. */
static void *fake (uint32_t version, uint32_t compat, uint32_t info_size, uint32_t node_size)
{
    char name[GL_VIEW_NAME_MAX];
    gl_view_name (dir, name);
    shm_unlink (name);
    int fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL, 0600);
    size_t size = GL_VIEW_HDR_BYTES + 4 * node_size;
    if (fd < 0 || ftruncate (fd, (off_t) size))
        return NULL;
    uint8_t *base = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close (fd);
    gl_view_hdr_t *h = (gl_view_hdr_t *) base;
    h->magic = GL_VIEW_MAGIC;
    h->version = version;
    h->compat_version = compat;
    h->size = size;
    h->info_size = info_size;
    h->node_size = node_size;
    h->job_size = sizeof (gl_view_job_t);
    h->nodes_off = GL_VIEW_HDR_BYTES;
    h->nodes_max = 4;
    h->jobs_off = (uint32_t) size;
    h->runtime_hash = gl_view_hash (dir);
    h->info.n_nodes = 2;
    h->info.alive = 2;
    for (int i = 0; i < 2; i++) {
        gl_view_node_t *n = (gl_view_node_t *) (base + GL_VIEW_HDR_BYTES + i * node_size);
        size_t mine = node_size < sizeof *n ? node_size : sizeof *n;
        gl_view_node_t full;
        fill_node (&full, i ? "y" : "x", 5 + i);
        memcpy (n, &full, mine);
        memset ((uint8_t *) n + mine, 0xee, node_size - mine); /* fields we do not know */
    }
    return base;
}

static void versions (void)
{
    char err[256] = "";
    char name[GL_VIEW_NAME_MAX];
    gl_view_name (dir, name);
    const char *why;
    gl_view_info_t info;
    gl_view_node_t nodes[4];

    /* a newer writer that a reader of this version may still read: bigger
       records, read by the writer's stride */
    CHECK (fake (GL_VIEW_VERSION + 1, GL_VIEW_VERSION, sizeof (gl_view_info_t) + 32,
                 sizeof (gl_view_node_t) + 24) != NULL);
    gl_view_t *v = gl_view_open (dir, err, sizeof err);
    CHECK (v != NULL);
    if (v) {
        CHECK_EQ (gl_view_read (v, &info, nodes, 4, NULL, 0, &why), 0);
        CHECK (info.n_nodes == 2 && info.alive == 2);
        CHECK (!strcmp (nodes[1].name, "y") && nodes[1].cores == 6 && nodes[1].clock_ms == -6);
        gl_view_close (&v);
    }

    /* an older writer with shorter records: what it lacks reads as zero */
    size_t short_node = offsetof (gl_view_node_t, clock_ms);
    CHECK (fake (GL_VIEW_VERSION, GL_VIEW_COMPAT, sizeof (gl_view_info_t), (uint32_t) short_node));
    v = gl_view_open (dir, err, sizeof err);
    CHECK (v != NULL);
    if (v) {
        CHECK_EQ (gl_view_read (v, &info, nodes, 4, NULL, 0, &why), 0);
        CHECK (nodes[0].cores == 5 && nodes[0].clock_ms == 0);
        gl_view_close (&v);
    }

    /* a writer this reader is too old for: refused, naming both versions */
    CHECK (fake (GL_VIEW_VERSION + 2, GL_VIEW_VERSION + 1, sizeof (gl_view_info_t),
                 sizeof (gl_view_node_t)));
    v = gl_view_open (dir, err, sizeof err);
    CHECK (!v);
    char want[128];
    snprintf (want, sizeof want, "view version %d needs a reader of version %d or later",
              GL_VIEW_VERSION + 2, GL_VIEW_VERSION + 1);
    CHECK (strstr (err, want) != NULL);
    printf ("# %s\n", err);

    /* not a view at all, or one whose sizes lie */
    uint8_t *base =
        fake (GL_VIEW_VERSION, GL_VIEW_COMPAT, sizeof (gl_view_info_t), sizeof (gl_view_node_t));
    ((gl_view_hdr_t *) base)->magic = 0;
    CHECK (!gl_view_open (dir, err, sizeof err) && strstr (err, "not a glunix view"));
    base = fake (GL_VIEW_VERSION, GL_VIEW_COMPAT, sizeof (gl_view_info_t), sizeof (gl_view_node_t));
    ((gl_view_hdr_t *) base)->nodes_max = 1000;
    CHECK (!gl_view_open (dir, err, sizeof err) && strstr (err, "do not add up"));
    /* another runtime directory's view under our name is not ours */
    base = fake (GL_VIEW_VERSION, GL_VIEW_COMPAT, sizeof (gl_view_info_t), sizeof (gl_view_node_t));
    ((gl_view_hdr_t *) base)->runtime_hash ^= 1;
    CHECK (!gl_view_open (dir, err, sizeof err) && strstr (err, "another runtime directory"));
    shm_unlink (name);
}

/* A user's agent's view is its user's alone; a machine's agent's, every
   local user's: the users each serves. */
static void modes (void)
{
    char err[256], name[GL_VIEW_NAME_MAX], path[GL_VIEW_NAME_MAX + 16];
    gl_view_name (dir, name);
    snprintf (path, sizeof path, "/dev/shm%s", name);
    mode_t old = umask (077);
    for (int every = 0; every <= 1; every++) {
        gl_view_pub_t *pub = gl_view_create (dir, 1, 1, every, err, sizeof err);
        CHECK (pub != NULL);
        struct stat st;
        if (stat (path, &st))
            tap_skip ("no /dev/shm to look at the view's mode");
        else
            CHECK_EQ (st.st_mode & 0777, every ? 0444u : 0400u);
        gl_view_destroy (&pub);
    }
    umask (old);
}

/* The sweep at a writer's start removes the views of killed agents, and
   only theirs: a view whose pid names no process here but whose lock is
   held belongs to a living agent in another pid namespace (a container
   sharing /dev/shm) and stays. */
static void sweep (void)
{
    char name[GL_VIEW_NAME_MAX], other[96], err[256];
    pid_t dead = fork ();
    if (dead == 0)
        _exit (0);
    waitpid (dead, NULL, 0);
    uint8_t *base =
        fake (GL_VIEW_VERSION, GL_VIEW_COMPAT, sizeof (gl_view_info_t), sizeof (gl_view_node_t));
    CHECK (base != NULL);
    if (!base)
        return;
    ((gl_view_hdr_t *) base)->agent_pid = dead;
    gl_view_name (dir, name);
    int held = shm_open (name, O_RDONLY, 0);
    CHECK (held >= 0 && flock (held, LOCK_SH) == 0);
    snprintf (other, sizeof other, "%s-other", dir);
    gl_view_pub_t *pub = gl_view_create (other, 1, 1, false, err, sizeof err);
    CHECK (pub != NULL);
    gl_view_destroy (&pub);
    int fd = shm_open (name, O_RDONLY, 0);
    CHECK (fd >= 0); /* locked: kept */
    if (fd >= 0)
        close (fd);
    close (held); /* the writer is gone now */
    pub = gl_view_create (other, 1, 1, false, err, sizeof err);
    CHECK (pub != NULL);
    gl_view_destroy (&pub);
    CHECK (shm_open (name, O_RDONLY, 0) < 0 && errno == ENOENT); /* swept */
    munmap (base, ((gl_view_hdr_t *) base)->size);
    shm_unlink (name);
}

int main (void)
{
    snprintf (dir, sizeof dir, "/tmp/test-view-%d/", (int) getpid ());
    char a[GL_VIEW_NAME_MAX], b[GL_VIEW_NAME_MAX];
    gl_view_name (dir, a);
    gl_view_name ("/tmp/test-view-x", b);
    CHECK (strncmp (a, "/glunix-view-", 13) == 0 && strlen (a) == 13 + 16 && strcmp (a, b));
    CHECK_EQ (gl_view_hash ("/run/x/"), gl_view_hash ("/run/x"));
    basics ();
    torn ();
    versions ();
    modes ();
    sweep ();
    return tap_done ("test_view");
}
