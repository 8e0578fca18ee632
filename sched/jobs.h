/*  jobs.h -- the jobs of one agent, in both of their roles.

    home: the agent a glx talks to.  It gives the job its GPID, places it
          (place.h), relays stdio, signals and the exit between glx and
          the host, pings the host every second, and tells glx when the
          host's node is lost.  When glx goes away it kills the job.
    host: the agent that runs the job (exec.h) if it has room (slots).
          It reads the job's output only as far as the home has granted
          credit (flow control), writes what arrives for its stdin, and
          kills a job whose home has stopped pinging.

    The module does its own I/O on the job's pipes (they are local and
    non-blocking) and tells the agent which of them to watch for what
    (io.watch); everything it says to glx or to other agents goes
    through the callbacks in jobs_io_t, so the agent keeps the sockets.
    A job placed on the home's own node talks to itself through a queue,
    never by calling back into itself.

    A parallel job (glx -n) is one job per rank, and also one PMI
    server at its home (pmi_home.c, pmi_kvs.h) that its ranks reach
    through their hosts (pmi_host.c), so that MPI programs find each
    other; the home ends the whole job when a rank aborts it.

    Stream protocol (wire.h gl_job_t): output flows host -> home -> glx
    in DATA messages of at most JOBS_CHUNK bytes; glx grants CREDIT as it
    writes them out, and the host never has more than JOBS_WINDOW bytes
    of a stream unacknowledged.  Input flows the other way under the
    same rule.  A sequence number per stream catches a lost message: the
    job is then ended with an error rather than silently corrupted. */
#ifndef GL_JOBS_H
#define GL_JOBS_H

#include "access.h"
#include "freeze.h"
#include "gang.h"
#include "place.h"
#include "wire.h"

#define JOBS_WINDOW       (4u << 20)   /* bytes in flight per stream */
#define JOBS_CHUNK        (256u << 10) /* bytes per DATA message */
/* Credit goes back in batches of at least this many bytes: one CREDIT per
   chunk would double the messages of a bulk stream.  The sender still has
   three quarters of its window, so a batch never stalls it. */
#define JOBS_CREDIT_BATCH (JOBS_WINDOW / 4)
#define JOBS_PING_MS      1000 /* home -> host keepalive */
#define JOBS_ORPHAN_MS    5000 /* a host kills a job unpinged this long */
#define JOBS_RETRY_MS     250  /* a job waiting for room is placed again */

/* What glx is told when a job cannot run or is lost (gl_job_t.code of a
   FAILED message); glx turns them into its exit codes. */
typedef enum {
    JOBS_ERR_NO_NODE = 1, /* no node can take it */
    JOBS_ERR_NOT_FOUND,   /* program not found on the node */
    JOBS_ERR_DENIED,      /* program there but not runnable */
    JOBS_ERR_START,       /* cwd, user or system error at start */
    JOBS_ERR_NODE_LOST,   /* the node running it died or left */
    JOBS_ERR_STREAM,      /* a message was lost: output incomplete */
    JOBS_ERR_BAD_REQUEST, /* glx asked something malformed */
} jobs_err_t;

/* The status glx exits with when a parallel job broke its PMI contract
   (a rank exited without MPI_Finalize, or left the others waiting in a
   barrier forever) and its home ended it: pmi_kvs.h. */
#define JOBS_STATUS_BROKEN 125

typedef struct {
    void *arg;
    /* send to another agent by name (sealed by the agent) */
    void (*send_node) (void *arg, const char *node, const gl_msg_t *msg);
    /* send to / close the glx connection conn */
    int (*send_local) (void *arg, uint64_t conn, const gl_msg_t *msg);
    void (*close_local) (void *arg, uint64_t conn);
    /* a guest process started or ended here (idle detection) */
    void (*guest) (void *arg, int pid, bool started);
    /* the gossip view as placement candidates (malloc'ed, *n of them) */
    place_cand_t *(*view) (void *arg, size_t *n, uint64_t now_ms);
    /* watch fd, a job's pipe, for events (POLLIN, POLLOUT), and call
       jobs_ready when any of them, POLLERR or POLLHUP happens; events 0
       stops.  Called only when what to watch changes, and always with 0
       before the fd closes. */
    void (*watch) (void *arg, int fd, short events);
    /* Credentials (cred.h), NULL for none: as a home, sign a RUN just
       before it is sent; as a host, check one before anything runs (0,
       or -1 with *why). */
    void (*sign) (void *arg, gl_job_t *run);
    int (*check) (void *arg, const gl_job_t *run, const char **why);
} jobs_io_t;

typedef struct jobs_t jobs_t;

jobs_t *jobs_new (const char *self_name, uint64_t generation, uint32_t cores, const jobs_io_t *io,
                  uint64_t seed);
void jobs_destroy (jobs_t **self_p);

/* Our own latest measurement, for the slots (owner active, memory). */
void jobs_set_res (jobs_t *self, const gl_res_t *res);

/* From glx over the local socket.  A job that finds every fit node full
   waits, placed again every JOBS_RETRY_MS, for as long as its glx does
   (as a batch system queues it); one that no node could ever take fails. */
void jobs_local_msg (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now_ms);
void jobs_local_closed (jobs_t *self, uint64_t conn, uint64_t now_ms);

/* From another agent (the envelope's authenticated sender). */
void jobs_node_msg (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now_ms);

/* This agent is leaving: tell every glx whose home it is, and stop
   (the jobs it hosts die with it, and their homes hear it left). */
void jobs_leave (jobs_t *self, uint64_t now_ms);

/* Gossip says node is dead or has left. */
void jobs_node_lost (jobs_t *self, const char *node, uint64_t now_ms);

/* What happened on a job pipe that io.watch asked for. */
void jobs_ready (jobs_t *self, int fd, short revents, uint64_t now_ms);

/* Timers: pings, orphans, exits, the loopback queue.  Call at the
   deadline, and after any of the calls above. */
void jobs_tick (jobs_t *self, uint64_t now_ms);

/* Guest jobs this node started since the agent began: estimates carry it
   so that homes can tell which of their promises an estimate counts. */
uint32_t jobs_started (const jobs_t *self);

/* What every job this node runs finds in its environment besides
   GLUNIX_GPID, GLUNIX_HOME and GLUNIX_NODE: GLUNIX_RUNTIME_DIR, this
   agent's runtime directory (the job's glx, libglunix and shim talk to
   the agent that runs it), and, unless shim is NULL or the job's
   environment says GLUNIX_SHIM=0 (glx --no-shim), shim preloaded:
   LD_PRELOAD is the job's own list, less any libglshim.so it brought from
   elsewhere, then shim. */
void jobs_set_job_env (jobs_t *self, const char *runtime_dir, const char *shim);

/* ---- checkpoints (checkpoint/ckpt_proto.h) ----
   A job's shim reaches its host at the unix socket at path, which every
   job finds in GLUNIX_CKPT_SOCK; all_users (a machine's agent) opens it
   to every local user, each connection then judged by SO_PEERCRED (the
   job's process and user, and only when asked).  0, or -1 with a message.

   What moves: `glpeer checkpoint` writes a running job's image to a file
   (the job runs on); `glx --restart` runs the restorer, set by
   jobs_set_restorer (none: restarts are refused here), as a new job fed
   the image; `glpeer migrate` moves a job to another node, its glx and
   streams unbroken: the home (home.c) runs the move, the old and new
   hosts (jobs_ckpt.c) do it.  The old process is stopped at its
   snapshot; its output written before then and the stdin it had not read
   are handed over; the new one speaks only once the old one's output is
   all out, and the old one is killed only once the new one runs. */
int jobs_ckpt_listen (jobs_t *self, const char *path, bool all_users, char *err, size_t errlen);
void jobs_set_restorer (jobs_t *self, const char *path);
/* This node's address as the cluster knows it ("tcp://IP:PORT", the
   advertised one): a job moved or restarted (glx --restart) here has its
   image sent straight to its restorer, which listens on that IP
   (checkpoint/imgseal.h).  Not set, or not an IP: those images come
   through the agents. */
void jobs_set_addr (jobs_t *self, const char *endpoint);

/* What checkpoint images cost this agent as their host: the bytes it
   read from the jobs' shims (carried in IMAGEs, or sealed onto a move's
   own link itself), and the moves whose image the job's own writer
   sealed onto that link (checkpoint/ckpt_proto.h), none of whose bytes
   it read.  glpeer status --json, "images". */
typedef struct {
    uint64_t bytes_read;
    uint64_t writer_sealed;
} jobs_ckpt_stats_t;
void jobs_ckpt_stats (const jobs_t *self, jobs_ckpt_stats_t *out);

/* When this machine's owner comes back (its idle state flips to busy),
   its guests leave as policy says (cluster.conf sched/owner_return):
   migrate (their homes move them to idle nodes; whoever is still here
   after grace_ms is stopped until the machine is idle again or another
   node is), suspend (stopped at once, continued once idle), kill, or
   stay.  jobs_owner is told at every sample whether the owner is there
   (the estimate's state is busy). */
typedef enum {
    JOBS_EVICT_MIGRATE = 0,
    JOBS_EVICT_SUSPEND,
    JOBS_EVICT_KILL,
    JOBS_EVICT_STAY,
} jobs_evict_t;
void jobs_set_owner_return (jobs_t *self, jobs_evict_t policy, uint32_t grace_ms);
void jobs_owner (jobs_t *self, bool present, uint64_t now);

/* Recovery (jobs_recover.c): a job's home keeps its latest checkpoint in
   memory, taken every every_ms (cluster.conf sched/checkpoint_every; a
   job's glx --checkpoint-every overrides it; 0: none), and restarts the
   job from it on another node when gossip says its host died: glx goes
   on, told so in one line, and gets no output twice (what the restarted
   job writes again is skipped, as far as glx had it).  All the kept
   images of this home's jobs together hold at most max_bytes. */
void jobs_set_recovery (jobs_t *self, uint64_t every_ms, uint64_t max_bytes);

/* A job running on this node, for the agent's shared-memory view. */
typedef struct {
    char gpid[GL_GPID_MAX + 1];
    char home[GL_NAME_MAX + 1];
    char user[GL_JOB_USER_MAX + 1];
    char cmd[200]; /* argv, joined and cut */
    int pid;
    uint64_t start_wall_s;
} jobs_hosted_t;

/* The jobs running here (not killed), up to max of them into out; returns
   how many there are. */
size_t jobs_hosted (const jobs_t *self, jobs_hosted_t *out, size_t max);

/* The rules on whom jobs run as and who may signal them (access.h), in
   place of the defaults jobs_new starts with; jobs takes access. */
void jobs_set_access (jobs_t *self, access_t *access);

/* ---- gangs (gang.h) ----
   A RUN that names a gang is one process of a gang.  The home groups the
   processes of one glx -n by the name glx gave them, names the gang
   cluster-wide (HOME-GENERATION-N, like a GPID), and tells the peers
   hosting it who they are whenever that changes (and every
   JOBS_GANG_RESEND_MS, in case a word was lost), and that it ended once
   its last process is gone.  It places a gang's process on the nodes'
   cores times `depth` (one process a core in each of `depth` rows), no
   more of one gang on a node than its cores unless pinned there.  The
   host counts gang processes apart, on as many slots, tells gang when
   one starts and ends, and at each slice stops and continues them as
   gang_decide says (jobs_gang_stop, jobs_gang_cont).  Jobs that are not
   gangs are left alone: they run in every slice. */
#define JOBS_GANG_RESEND_MS 5000
#define JOBS_GANG_GATHER_MS 1000 /* the first list waits this long at most for all to start */

void jobs_set_gang (jobs_t *self, gang_t *gang, freeze_t *freeze, uint32_t depth);

typedef struct {
    size_t stopped;     /* gang processes stopped at this switch */
    size_t continued;   /* continued */
    size_t running;     /* running after it */
    size_t held;        /* stopped after it */
    size_t unconfirmed; /* stops not confirmed in time */
} jobs_switch_t;

/* Slice `slice` begins: stop the gang processes whose row's turn it is
   not and wait until they are still (jobs_gang_stop), then continue
   those whose turn it is (jobs_gang_cont, which adds to what stop
   said): never two rows at once.  Two calls, so that the caller can tell
   when the new row began. */
void jobs_gang_stop (jobs_t *self, uint64_t slice, jobs_switch_t *out);
void jobs_gang_cont (jobs_t *self, uint64_t slice, jobs_switch_t *out);

/* Gang processes running or stopped here now. */
size_t jobs_gang_procs (const jobs_t *self);

/* The placement policy this home's placement asks (see place.h). */
void jobs_set_policy (jobs_t *self, place_policy_fn fn, void *arg);
uint64_t jobs_next_deadline (jobs_t *self, uint64_t now_ms);

#endif
