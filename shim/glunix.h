/*  glunix.h -- the glunix C API (libglunix): for a program to know who it
    is in the cluster, to see the cluster, and to ask its agent for things.

        cc prog.c $(pkg-config --cflags --libs glunix)

    Who am I comes from the environment the agent gave the process when it
    started it (GLUNIX_GPID, GLUNIX_HOME, GLUNIX_NODE; GLUNIX_RANK,
    GLUNIX_SIZE and GLUNIX_JOB for the processes of glx -n): no agent is
    asked.  The cluster view is read from the local agent's view in shared
    memory, which it alone writes: a query is a copy under a seqlock, tens
    of nanoseconds, with no system call and no message.  Requests (run a
    process elsewhere, checkpoint, migrate) go to the agent over its
    socket, where it checks who asks.

    Errors: a function that can fail returns -1 (or NULL) and writes a
    message naming what is wrong into err, errlen bytes (err may be NULL
    with errlen 0).  A handle may be used by one thread at a time; open one
    per thread that needs one.  See glunix(3). */
#ifndef GLUNIX_H
#define GLUNIX_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLUNIX_API_VERSION 1

/* ---- who am I ---------------------------------------------------------------- */

typedef struct {
    char gpid[96]; /* the job's global process id; "" when glunix did not start it */
    char job[96];  /* the parallel job's name (glx -n); else the gpid */
    unsigned rank; /* this process among the job's (glx -n): 0..size-1 */
    unsigned size; /* processes in the job: 1 unless glx -n */
    char home[64]; /* the node whose glx started the job */
    char node[64]; /* the node it runs on */
} glunix_self_t;

/* Fills self.  0, or -1 when this process was not started by glunix (self
   then says rank 0 of 1, and the rest is empty). */
int glunix_self (glunix_self_t *self);

/* ---- the cluster view ----------------------------------------------------------- */

typedef struct glunix glunix_t;

/* Map the view of the agent whose runtime directory is runtime_dir (NULL:
   $GLUNIX_RUNTIME_DIR, which a job's agent sets, else the user's default,
   as glx finds it).  NULL with a message: no agent runs there, or its view
   is of a version this library cannot read. */
glunix_t *glunix_open (const char *runtime_dir, char *err, size_t errlen);
void glunix_close (glunix_t *g);

enum { GLUNIX_ALIVE = 0, GLUNIX_SUSPECT = 1, GLUNIX_DEAD = 2, GLUNIX_LEFT = 3 };
enum { GLUNIX_IDLE = 0, GLUNIX_BUSY = 1, GLUNIX_UNAVAILABLE = 2, GLUNIX_UNKNOWN = 3 };

/* The cluster at a glance, over the members alive now. */
typedef struct {
    char cluster[64];
    char node[64];                   /* the node whose agent this is */
    unsigned members;                /* known to the agent, in any state */
    unsigned alive;                  /* alive, this node included */
    unsigned idle;                   /* alive and idle by their last estimate */
    unsigned cores;                  /* of the alive members */
    unsigned cores_free;             /* of the idle members, less their guest jobs */
    unsigned guests;                 /* guest jobs running on the alive members */
    unsigned long long mem_avail_kb; /* free memory of the idle members */
    unsigned long long age_ms;       /* since the agent last published */
} glunix_cluster_t;

/* One member, as the local agent sees it. */
typedef struct {
    char name[64];
    int state; /* GLUNIX_ALIVE, _SUSPECT, _DEAD, _LEFT */
    int idle;  /* GLUNIX_IDLE, _BUSY, _UNAVAILABLE; _UNKNOWN: no estimate yet */
    int self;  /* 1 for the node this agent runs on */
    unsigned cores;
    unsigned guests;       /* guest jobs running there */
    double load;           /* 1-minute load average */
    double owner_load;     /* the part of the recent load not caused by guests */
    unsigned owner_idle_s; /* since its owner last typed */
    unsigned long long mem_total_kb;
    unsigned long long mem_avail_kb;
    long long clock_offset_ms; /* its wall clock minus ours, as its packets tell */
    unsigned long long age_ms; /* of its estimate */
} glunix_node_t;

/* A job running on the agent's node. */
typedef struct {
    char gpid[96];
    char home[64];
    char user[40];
    pid_t pid;
    unsigned long long start_s; /* seconds since the epoch */
    char cmd[128];
} glunix_job_t;

/* 0, or -1 with a message (the agent stopped, or stalls mid-write). */
int glunix_cluster (glunix_t *g, glunix_cluster_t *out, char *err, size_t errlen);
/* Up to max members into out, this node first; returns how many there are
   (possibly more than max), or -1 with a message. */
int glunix_nodes (glunix_t *g, glunix_node_t *out, size_t max, char *err, size_t errlen);
/* One member by name: 0, 1 if the agent knows no such member, -1. */
int glunix_node (glunix_t *g, const char *name, glunix_node_t *out, char *err, size_t errlen);
/* Up to max of the jobs running on the agent's node; how many there are, or -1. */
int glunix_jobs (glunix_t *g, glunix_job_t *out, size_t max, char *err, size_t errlen);

/* ---- requests to the agent ----------------------------------------------------------- */

/* Start argv (argv[0] found in PATH as execvp does) on node (NULL: the node
   the agent's placement picks), through glx: with this process's
   environment, working directory and umask, its stdin, stdout and stderr
   the caller's.  *pid is a local process that stands for it: signal it to
   signal the program, and wait for it (waitpid) to learn how the program
   ended, a signal included.  glx's own failures are exit codes 120-127,
   as glx(1) lists them.  0, or -1 with a message. */
int glunix_spawn (glunix_t *g, const char *node, char *const argv[], pid_t *pid, char *err,
                  size_t errlen);
/* glunix_spawn, then wait: *status as waitpid(2) fills it. */
int glunix_run (glunix_t *g, const char *node, char *const argv[], int *status, char *err,
                size_t errlen);

/* Ask the agent to checkpoint this process's job, or to move it to node.
   The agent does not serve these from inside a job yet (glpeer checkpoint
   and glpeer migrate do it from outside): -1 with errno ENOTSUP and the
   agent's answer, "not supported", passed on as it is. */
int glunix_checkpoint (glunix_t *g, char *err, size_t errlen);
int glunix_migrate (glunix_t *g, const char *node, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
