/*  jobs_harness -- jobs_t agents wired together in memory, for the unit
    tests that drive sched/jobs*.c (test_jobs_ckpt, test_jobs_move,
    test_recover) with real job processes but no network and no glpeer.

    Agent i is named by the test (jh_start).  What an agent sends another
    node is encoded, queued and decoded at the agent of that name when
    the test pumps, as the wire would carry it; a node that is no agent
    here, or a dead one, gets nothing, and the test sees every message
    through its sent hook, before it is carried.  The agents' fds are
    polled in jh_pump; gossip's view lists every agent as an idle
    four-core node, a dead one (jh_kill) as dead.

    glx is played as agent 0's local connection 1: what the agents tell
    it lands in jh_glx, and it grants credit for its output as a real one
    writes it out.

    The job in these tests is the test program itself, run again with an
    argument; jh_job_* are the pieces of checkpoint/ckpt_proto.h's shim
    side that they share (the signal, the hello line, echoing input). */
#ifndef GL_JOBS_HARNESS_H
#define GL_JOBS_HARNESS_H

#include "jobs.h"
#include "tap.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JH_MAX 3 /* agents at the most */

/* glx, as the agents told it */
typedef struct {
    char out[1 << 16]; /* its stdout, as it came */
    size_t len;
    uint64_t owed;    /* output written out, not yet credited back */
    uint64_t in_seq;  /* the next stdin DATA's seq */
    uint64_t out_seq; /* the next stdout DATA's seq it wants */
    bool seq_ok;      /* every stdout DATA came with the seq wanted */
    bool started, exited;
    int code;     /* the exit status; 1000 + code when the job failed */
    int notes;    /* NOTEs told, the last in note */
    int restarts; /* those that said the job was restarted */
    char note[4096];
    char gpid[GL_GPID_MAX + 1];
} jh_glx_t;

extern jobs_t *jh_agent[JH_MAX];
extern bool jh_dead[JH_MAX];
extern jh_glx_t jh_glx;
extern char jh_exe[4096];                 /* this program */
extern char jh_user[GL_JOB_USER_MAX + 1]; /* the user it runs as */

/* n agents (at most JH_MAX) named names[], each with four cores, all
   jobs allowed, listening for its jobs' checkpoints on a socket in a
   new directory under /tmp named for the test, which is also its jobs'
   environment; with restore, every agent but the first restarts a
   moved job with this program (jh_exe), as glrestore, and the first
   has none; after jh_stop, a test may start another cluster (glx's
   record starts again).  sent (or NULL) sees every message an agent sends a node,
   from: the agent's index.  0; 1 with err when this program or its
   user cannot be found (the test is skipped); -1 with err. */
int jh_start (const char *test, const char *const *names, int n, bool restore,
              void (*sent) (int from, const char *node, const gl_msg_t *m), char *err,
              size_t errlen);

/* jh_start from a test's main, SIGPIPE ignored, its outcome a check of
   the test's: true when the agents are up; else the test cannot run
   here (skipped) or they did not start (failed, the reason on stderr),
   and it ends with tap_done. */
static inline bool jh_up (const char *test, const char *const *names, int n, bool restore,
                          void (*sent) (int from, const char *node, const gl_msg_t *m))
{
    static char err[256];
    signal (SIGPIPE, SIG_IGN);
    int up = jh_start (test, names, n, restore, sent, err, sizeof err);
    if (up > 0)
        tap_skip (err);
    else if (up < 0)
        fprintf (stderr, "  %s\n", err);
    CHECK (up >= 0);
    return up == 0;
}

/* Agent i's checkpoint socket. */
const char *jh_sock (int i);

/* Agent i dies with its jobs, as a machine does: destroyed, and neither
   pumped, nor carried to or from, nor alive in the view from then on. */
void jh_kill (int i);

/* The agents destroyed, their sockets and directory removed. */
void jh_stop (void);

uint64_t jh_now (void); /* CLOCK_MONOTONIC in ms, as the agents are told */

/* A message jh_hold (when set) says true for is kept back, not carried,
   until jh_release: a test reorders what two agents send a third. */
extern bool (*jh_hold) (int from, const char *node, const gl_msg_t *m);
void jh_release (void);

/* Carry messages, poll the agents' fds, tick them and let glx credit
   what it wrote, for ms or until until (if any) says true. */
void jh_pump (int ms, bool (*until) (void));

/* glx's side: a message from it to agent 0; a run of this program with
   the argument "ticker" pinned to node pin as jh_user (ckpt_every_ms: kept
   checkpoints, 0 for none), pumped until it started or for 3 s at most
   (whether it started); "line N\n" on its stdin; its stdin's end. */
void jh_glx_send (gl_job_t *j);
bool jh_glx_run (const char *pin, uint32_t ckpt_every_ms);
void jh_glx_line (int i);
void jh_glx_eof (void);
bool jh_glx_started (void);
bool jh_glx_exited (void);
/* How often what glx has so far holds prefix ("tick ", "in: "). */
int jh_glx_count (const char *prefix);
/* Whether glx's stdout is exactly "tick N" lines and "in: line N" lines
   each numbered from 0 in order; how many of each. */
bool jh_glx_in_order (int *ticks, int *lines);

/* The job's side: GL_CKPT_SIGNO caught into jh_job_asked and the
   request's value into jh_job_req; the checkpoint socket reached and
   the hello line sent with req (the connection, or -1); the bytes of
   its input echoed, each complete line as "in: LINE" on stdout, the
   line it is reading in jh_job_partial. */
extern volatile sig_atomic_t jh_job_asked, jh_job_req;
extern char jh_job_partial[256];
extern size_t jh_job_partial_len;
void jh_job_catch (void);
int jh_job_hello (int req);
void jh_job_echo (const char *buf, size_t n);

/* Up to cap bytes from fd until its end (an image handed to a
   restorer): how many. */
size_t jh_read_all (int fd, void *buf, size_t cap);

#endif
