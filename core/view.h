/*  view.h -- the agent's view in shared memory: the whole contract between
    the one writer (the agent, glpeer) and its readers (libglunix, the
    shim inside every job, glpeer top).

    What is there.  The agent publishes what it knows of the cluster (each
    member's state, resource estimate and clock offset) and its local job
    table (the jobs running on this node) in a POSIX shared-memory object,
    so that a job asks "how idle is the cluster" at the cost of a
    procedure call: no system call, no message, no lock shared with jobs.

    Where.  The object is named by the agent's runtime directory,
    "/glunix-view-" and 16 hex digits of the FNV-1a hash of its path
    (trailing slashes aside), see gl_view_name: a job finds the view of
    the agent that runs it from GLUNIX_RUNTIME_DIR, which the host sets.

    Who.  Only the agent writes.  It creates the object for the users it
    serves: mode 0400 for a user's agent (its user; root reads it too),
    0444 for a machine's agent (root's), which serves every local user.
    Readers open it read-only and map it PROT_READ, so a job that
    scribbles on its mapping takes a SIGSEGV, alone: the agent and the
    other readers never see its writes.  An agent that starts removes a
    view left by one that crashed and makes a fresh one; one that stops
    sets GL_VIEW_CLOSED in the old one before removing it, so that readers
    know to open the new one (a reader of a crashed agent's view sees its
    wall_ms stop moving instead).  Views whose agent was killed stay in
    /dev/shm until the next agent of their user starts, which removes
    every view whose writer's process is gone.

    The layout.  One header page, then the node table, then the job table,
    in that order in every version:

        offset 0    gl_view_hdr_t: the fixed part (magic ... seq), then
                    gl_view_info_t (under the seqlock)
        nodes_off   nodes_max records of node_size bytes (gl_view_node_t)
        jobs_off    jobs_max records of job_size bytes (gl_view_job_t)

    Versions.  The fixed part (magic, version, compat_version, the sizes
    and offsets, seq) keeps its place and meaning in every version.  A
    later version may only add fields at the end of gl_view_info_t,
    gl_view_node_t and gl_view_job_t, and says how long they are
    (info_size, node_size, job_size): a reader steps through the tables by
    the writer's strides and copies what it knows, so an older reader
    reads a newer view as long as compat_version (the oldest reader
    version that still understands it) is at most its own version, and a
    newer reader reads an older view with the fields it lacks zeroed.  A
    change that is not an addition raises compat_version; a reader that is
    too old then refuses the view, saying both numbers.

    The seqlock.  seq is even while the view is stable and odd while the
    agent writes.  The writer: seq += 1 (odd), release fence, write, then
    seq += 1 (even) with release.  A reader: s = seq (acquire); if odd,
    wait; copy what it needs; acquire fence; if seq != s, copy again.  A
    writer holds seq odd for microseconds; a reader that finds it so spins
    a little, then yields the processor between tries (the agent may have
    been preempted mid-write), and gives up with a reason after
    GL_VIEW_WAIT_MS: an agent stopped in the middle of a write (SIGSTOP, a
    crash) must not hang its jobs.  An uncontended read touches only the
    mapping and the registers: no system call, no lock, nothing a job
    could hold to stall the agent.

    When.  The agent publishes when something changes (a member joins,
    is suspected, dies or leaves; a job starts or ends here) and at least
    every GL_VIEW_REFRESH_MS, so that wall_ms and mono_ms stay fresh; the
    node table is rewritten only when a member, its estimate or its clock
    offset changed (times in it are wall-clock instants: a reader computes
    ages from them and wall_ms). */
#ifndef GL_VIEW_H
#define GL_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GL_VIEW_MAGIC      0x3157454956554c47ull /* "GLUVIEW1", little-endian */
#define GL_VIEW_VERSION    1                     /* this layout */
#define GL_VIEW_COMPAT     1                     /* the oldest reader that can read it */
#define GL_VIEW_NAME_MAX   64                    /* "/glunix-view-" and 16 hex digits */
#define GL_VIEW_HDR_BYTES  4096                  /* the header page */
#define GL_VIEW_NODES_MAX  4096                  /* members the agent publishes */
#define GL_VIEW_JOBS_MAX   1024                  /* jobs the agent publishes */
#define GL_VIEW_WAIT_MS    200                   /* a reader gives up on a write this long */
#define GL_VIEW_REFRESH_MS 1000                  /* the agent publishes at least this often */

/* info.flags */
#define GL_VIEW_CLOSED    1u /* the agent stopped: this view will not change again */
#define GL_VIEW_TRUNCATED 2u /* more members or jobs than the tables hold */

/* What changes as a whole, under the seqlock. */
typedef struct {
    uint32_t flags;   /* GL_VIEW_CLOSED, GL_VIEW_TRUNCATED */
    uint32_t n_nodes; /* records in the node table, self first */
    uint32_t n_jobs;  /* records in the job table */
    uint32_t pad0;
    uint64_t publishes;  /* how many times the agent has published */
    uint64_t wall_ms;    /* the agent's clocks at this publication */
    uint64_t mono_ms;    /* (CLOCK_MONOTONIC, comparable on this machine) */
    uint64_t generation; /* this node's generation */
    char cluster[64];    /* the cluster's name */
    char node[64];       /* this node's name */
    /* the cluster at a glance, over the members alive now */
    uint32_t alive;        /* members alive (self included) */
    uint32_t idle;         /* of them, idle by their last estimate */
    uint32_t cores;        /* cores of the alive members */
    uint32_t cores_free;   /* of idle members: cores less guests, summed */
    uint64_t mem_avail_kb; /* of idle members, summed */
    uint32_t guests;       /* guest jobs running on the alive members */
    uint32_t pad1;
} gl_view_info_t;

/* The fixed part: the same place and meaning in every version. */
typedef struct {
    uint64_t magic;          /* GL_VIEW_MAGIC */
    uint32_t version;        /* of the layout that wrote it */
    uint32_t compat_version; /* the oldest reader version that can read it */
    uint64_t size;           /* bytes of the whole object */
    uint32_t info_size;      /* sizeof (gl_view_info_t) of the writer */
    uint32_t node_size;      /* the node table's stride */
    uint32_t job_size;       /* the job table's stride */
    uint32_t nodes_off;      /* where the tables start */
    uint32_t jobs_off;
    uint32_t nodes_max; /* records the tables hold */
    uint32_t jobs_max;
    int32_t agent_pid;     /* the writer */
    uint64_t runtime_hash; /* FNV-1a of the runtime directory it serves */
    uint8_t pad[64];       /* room, and seq on a cache line of its own */
    uint64_t seq;          /* the seqlock (offset 128) */
    uint8_t pad_seq[56];
    gl_view_info_t info; /* offset 192 */
} gl_view_hdr_t;

/* A member of the cluster, as this agent sees it. */
typedef struct {
    char name[64];
    uint8_t state;     /* 0 alive, 1 suspect, 2 dead, 3 left (gossip's view) */
    uint8_t is_self;   /* this node */
    uint8_t has_res;   /* an estimate has arrived; the fields below are 0 until then */
    uint8_t res_state; /* 0 idle, 1 busy, 2 unavailable (the estimate's verdict) */
    uint32_t cores;
    uint32_t load1_milli;       /* 1-minute load average x 1000 */
    uint32_t load_recent_milli; /* runnable tasks, last sample, x 1000 */
    uint32_t owner_load_milli;  /* the part of it not caused by guests */
    uint32_t owner_idle_s;      /* since the owner last typed */
    uint32_t guests;            /* guest jobs running there (slots taken) */
    uint32_t pad0;
    uint64_t mem_total_kb;
    uint64_t mem_avail_kb;
    uint64_t generation;
    uint64_t incarnation;
    uint64_t state_wall_ms; /* our wall clock when its state last changed */
    uint64_t res_wall_ms;   /* our wall clock when its estimate arrived */
    int64_t clock_ms;       /* its wall clock minus ours, as the agent
                               measures it (sched/clocks.h: probe round
                               trips, or until then the one-way bound its
                               packets give); 0 for self and for a member
                               not heard from directly */
    char addr[128];         /* its gossip endpoint ("tcp://10.0.0.7:7946"), cut
                               to "" when longer: the shim tells the members
                               on this machine by it (glunix(7), --spread) */
} gl_view_node_t;

/* A job running on this node. */
typedef struct {
    char gpid[96];
    char home[64]; /* the node its glx talks to */
    char user[40];
    int32_t pid; /* its process here */
    uint32_t pad0;
    uint64_t start_wall_s; /* when it started, seconds since the epoch */
    char cmd[128];         /* its argv, joined and cut */
} gl_view_job_t;

/* The shared-memory name of the view of the agent whose runtime
   directory is runtime_dir, into out (GL_VIEW_NAME_MAX bytes). */
void gl_view_name (const char *runtime_dir, char out[GL_VIEW_NAME_MAX]);
uint64_t gl_view_hash (const char *runtime_dir);

/* ---- the reader ------------------------------------------------------------
   Open and close make system calls; reads do not. */

typedef struct gl_view gl_view_t;

/* Map the view of the agent at runtime_dir, read-only.  NULL with a
   message naming the object and the reason: no agent (or an agent that
   publishes none), not allowed, not a view, or a layout this reader
   cannot read ("view version 3 needs a reader of version 2 or later;
   this one is 1"). */
gl_view_t *gl_view_open (const char *runtime_dir, char *err, size_t errlen);
void gl_view_close (gl_view_t **self_p);

/* The mapping itself, for those who read it in place (the header's fixed
   part never changes; anything under the seqlock must be read with the
   protocol above). */
const gl_view_hdr_t *gl_view_hdr (const gl_view_t *self);

/* A consistent copy: the info, and up to nodes_max nodes and jobs_max jobs
   (either array may be NULL with its max 0).  info->n_nodes and n_jobs say
   how many there are, which may be more than was asked.  0, or -1 with
   *why: the agent was writing through every retry (stopped?). */
int gl_view_read (const gl_view_t *self, gl_view_info_t *info, gl_view_node_t *nodes,
                  size_t nodes_max, gl_view_job_t *jobs, size_t jobs_max, const char **why);

/* One member, by name, copied consistently.  0; 1 when there is no such
   member; -1 with *why as above. */
int gl_view_read_node (const gl_view_t *self, const char *name, gl_view_node_t *out,
                       const char **why);

/* ---- the writer: the agent alone ------------------------------------------- */

typedef struct gl_view_pub gl_view_pub_t;

/* Create the view of the agent at runtime_dir (removing one a crashed
   agent left), for nodes_max members and jobs_max jobs, readable by its
   user alone (0400) or, every_user, by every local user (0444).  NULL
   with a message. */
gl_view_pub_t *gl_view_create (const char *runtime_dir, uint32_t nodes_max, uint32_t jobs_max,
                               bool every_user, char *err, size_t errlen);
/* Mark the view closed (readers go and look for a new one) and remove it. */
void gl_view_destroy (gl_view_pub_t **self_p);

/* A publication: begin, fill the info and the tables in place, end.
   Between the two, readers retry.  The info keeps what was there, so a
   writer may change only some of it. */
gl_view_info_t *gl_view_begin (gl_view_pub_t *self);
gl_view_node_t *gl_view_node (gl_view_pub_t *self, uint32_t i); /* i < nodes_max */
gl_view_job_t *gl_view_job (gl_view_pub_t *self, uint32_t i);   /* i < jobs_max */
/* What was last published, for the writer's own reading (nobody else
   writes, so it needs no seqlock). */
const gl_view_info_t *gl_view_pub_info (const gl_view_pub_t *self);
uint32_t gl_view_nodes_max (const gl_view_pub_t *self);
uint32_t gl_view_jobs_max (const gl_view_pub_t *self);
void gl_view_end (gl_view_pub_t *self);

#endif
