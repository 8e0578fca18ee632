/*  jobs_impl.h -- what the files of the job module share.  NOT PUBLIC:
    only sched/jobs.c, home.c, host.c, ps.c, pmi_*.c and gang_*.c include
    it; everything else uses jobs.h, the module's whole interface.

    jobs.c  the table, new/destroy, sending (to a node, to a glx, to
            ourselves through the loopback queue), the dispatch of what
            arrives to the roles, and the timers
    home.c  the home role: a glx's job, from its GPID and placement to its
            exit, relayed both ways, pinged, failed when its node is lost
    host.c  the host role: a job running here, its pipes under flow
            control, its stdin, its exit, and the orphan kill
    ps.c    glpeer ps and glpeer kill: asking every node for its jobs,
            answering, and a kill routed to the job's home, which judges
            whether the asking user may (access.h)
    pmi_home.c  a parallel job's PMI server, at its home: the ranks as a
            group, their requests served (pmi_kvs.h), the job ended when
            a rank aborts it
    pmi_host.c  a rank's PMI connection, at its host: a socketpair as
            its PMI_FD, requests relayed home and answers back
    gang_home.c  a gang at its home: the processes of one glx -n grouped,
            named, and the peers hosting it told who they are
    gang_host.c  a gang's process at its host: its slots, gang.h told,
            stopped and continued at every slice (freeze.h)
    jobs_ckpt.c  checkpoints at the host: the socket the jobs' shims
            reach (checkpoint/ckpt_proto.h), the signal, the lines, the
            image streamed out under credit; a restart's image streamed
            into the restorer; a move's steps at the old and new host
    jobs_recover.c  recovery, at the home: a checkpoint kept every period
            (keep.h), the job restarted from it on another node when its
            host dies, stdin given again, output glx had skipped */
#ifndef GL_JOBS_IMPL_H
#define GL_JOBS_IMPL_H

#include "jobs.h"
#include "access.h"
#include "exec.h"
#include "keep.h"
#include "slots.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct home_gang home_gang_t; /* a gang whose home we are: gang_home.c */
typedef struct list_req list_req_t;   /* a glpeer ps in progress: ps.c */
typedef struct loop_msg loop_msg_t;   /* a message to ourselves: jobs.c */
typedef struct pmi_link pmi_link_t;   /* a rank's PMI connection: pmi_host.c */
typedef struct pmi_group pmi_group_t; /* a parallel job's PMI server: pmi_home.c */
typedef struct ckpt_req ckpt_req_t;   /* a checkpoint asked of a job here: jobs_ckpt.c */

#define PS_PENDING_MAX 8   /* ps -v answers waiting for probes at once */
#define PS_PROBE_MS    500 /* the longest a ps -v answer waits for them */
/* A host's refusal of a checkpoint while another of the job's is still
   being finished there (its last image sent, the host not done with it
   yet under load): the next period's asks again, and glx is not told */
#define CKPT_BUSY_WHY  "a checkpoint, a move or a restart of it is under way"

/* A restart's image straight from a move's old host (host_job_t.img_direct). */
enum { IMG_DIRECT_NONE = 0, IMG_DIRECT_LINE, IMG_DIRECT_TOLD };

/* A move, as the job's old host sees it (host_job_t.move). */
enum {
    MOVE_NONE = 0,
    MOVE_PARKED,   /* stopped at its snapshot; its output before it still flows */
    MOVE_DRAINING, /* killed; what it wrote before the snapshot still flows */
};

/* A job whose home we are (home.c; its recovery: jobs_recover.c). */
typedef struct home_job {
    char gpid[GL_GPID_MAX + 1];
    uint64_t conn;              /* the glx; 0 once it went away */
    char node[GL_NAME_MAX + 1]; /* asked, then running, there */
    bool started;
    uint64_t retry_at_ms; /* waiting for room: place again then */
    place_plan_t plan;
    gl_msg_t run; /* the RUN, kept to ask the next node */
    uint64_t next_ping_ms;
    struct home_gang *gang; /* the gang it is a process of, or NULL */
    pmi_group_t *pmi;       /* a rank of a parallel job: its group (pmi_home.c) */
    uint32_t rank;
    /* The streams as the home relays them, so that a move or a restart
       can hand them from one host to the next, all absolute (bytes since
       the job began): output delivered to glx, the credit glx granted
       for it, and received from hosts (skipped bytes too); where the
       current host's process began each stream ([0]: its stdin); the
       next DATA number toward glx and from the host.  Stdin: bytes from
       glx, credit passed to it, given to and taken by the host. */
    uint64_t delivered[3], credited[3], got[3], base[3], out_seq[3], host_seq[3];
    uint64_t in_seq;
    uint64_t in_skip; /* stdin credit from the new host glx already had */
    uint64_t in_fwd, in_cred, in_pushed, in_acked;
    /* A move (HM_*): who asked, the node wanted, the new host and its plan. */
    int move;
    char move_asker[GL_NAME_MAX + 1];
    uint64_t move_seq;
    char move_want[GL_NAME_MAX + 1];
    char move_to[GL_NAME_MAX + 1];
    place_plan_t move_plan;
    uint64_t move_deadline; /* given up then, unless the new process runs */
    uint8_t move_tries;     /* made again after its image failed for an instant */
    uint64_t move_again_ms; /* then (0: not waiting to be made again) */
    /* The new host's word that the image's stream was cut (MOVE FAILED
       with cause GL_MOVE_CAUSE_CUT), its text held for a moment (until
       move_deadline) for the old host's, which says why: a refusal
       after the snapshot ends the stream too. */
    char move_cut_why[256];
    bool move_ck_sent; /* the old host was asked for its snapshot */
    /* The image's own link (checkpoint/imgseal.h): the key drawn for this
       move, and where the new host's restorer listens ("": in IMAGEs);
       the old host is asked once the new one said (move_listening). */
    uint8_t move_key[GL_MOVE_KEY_BYTES];
    char move_addr[GL_MOVE_ADDR_MAX + 1];
    bool move_listening; /* EXPECT sent, its LISTEN not heard yet */
    /* glx --restart: EXPECT sent to the restorer's host (the key in
       move_key), its LISTEN to be handed on to glx */
    bool restart_listening;
    /* held during a move: stdin from the old process, then from glx, and
       signals (delivered to whichever process runs it at the end) */
    uint8_t *left;
    size_t left_len;
    bool left_eof;
    uint8_t *hold;
    size_t hold_len;
    bool hold_eof;
    int sigs[8];
    size_t n_sigs;
    /* Recovery (jobs_recover.c): the checkpoint kept (NULL: none asked),
       how often, when the next is asked, the one under way; a restart
       (RC_*) and its image going out. */
    keep_t *keep;
    uint64_t every_ms;
    uint64_t keep_next_ms, keep_deadline;
    uint64_t keep_asked_wall; /* when the one under way was asked (wall ms) */
    bool keep_asked;
    char keep_why[200]; /* why nothing is kept, "" */
    char keep_said[320];
    int rec;
    char rec_lost[GL_NAME_MAX + 1]; /* the host that died */
    size_t rec_off;                 /* image bytes sent to the new host */
    uint64_t rec_credit, rec_seq;
    uint64_t rec_until, rec_retry_ms; /* no node yet: placed again then, until */
    uint64_t rec_deadline;            /* the new node's restorer runs by then, or it failed */
    bool replay;                      /* stdin from the keep, until the new host has it all */
    struct home_job *next;
} home_job_t;

/* A restart after the host's death, at the home (home_job_t.rec). */
enum {
    RC_NONE = 0,
    RC_STARTING, /* RUN sent to the new host */
    RC_IMAGE,    /* its restorer runs: the kept image goes to it */
};

/* One of a job's fds the agent watches for us (host.c), and for what
   (0: not watched). */
typedef struct {
    int fd;
    short events;
} host_watch_t;

/* A job we run for its home (host.c); ps.c lists them. */
typedef struct host_job {
    char gpid[GL_GPID_MAX + 1];
    char home[GL_NAME_MAX + 1];
    char user[GL_JOB_USER_MAX + 1];
    char cmd[200]; /* argv, joined, cut: for ps */
    char why[512]; /* the home's placement notes: for ps */
    uint64_t start_wall_s;
    exec_t *exec;
    int pid;
    uint64_t credit[3];   /* [1], [2]: output bytes we may still send */
    uint64_t out_read[3]; /* [1], [2]: output bytes read from its pipes */
    uint64_t in_written;  /* stdin bytes written into its pipe */
    char kept[320];       /* what its home keeps of it (GL_CKPT_KEPT), for ps -v */
    uint64_t seq_out[3];  /* next sequence number per output stream */
    uint64_t seq_in;      /* the stdin sequence number we expect */
    bool out_done[3];
    uint8_t *in; /* stdin bytes not yet written to the job */
    size_t in_len, in_off;
    uint64_t in_owed; /* stdin bytes written, credit not yet granted */
    bool in_eof, in_closed;
    bool killed;
    bool pty;
    host_watch_t watch[3]; /* stdin (unless a pty), stdout, stderr */
    pmi_link_t *pmi;       /* a rank of a parallel job: its PMI_FD */
    uint64_t last_ping_ms;
    char gang[GL_GPID_MAX + 1]; /* its gang, or "" */
    freeze_job_t *fz;           /* a gang's process: how it is stopped */
    uint64_t stops;             /* times a slice stopped it */
    uid_t uid;                  /* whom it runs as: its shim must be that user */
    ckpt_req_t *ck;             /* a checkpoint in progress, or NULL */
    char movable[256];          /* the last probe's answer: "" (not asked), "yes", or why not */
    /* A move away from here (MOVE_*): output bytes written before the
       snapshot still in the pipes, counted at the snapshot. */
    int move;
    uint64_t pre[3];
    /* A restart here (RUN restart): the image goes into the restorer
       through img_fd, from the node img_from, under credit. */
    uint8_t restart;
    bool held;               /* a move's new process: no output until RELEASE */
    int released;            /* bit per output stream RELEASEd */
    int img_fd;              /* our end of the restorer's image socket, or -1 */
    uint8_t *img;            /* a ring of JOBS_WINDOW: image bytes not yet written to it */
    size_t img_len, img_off; /* how many wait there, from where */
    uint64_t img_seq, img_owed;
    bool img_eof, img_shut, img_let_go;
    bool img_settled; /* the restorer wrote GL_RESTORE_SETTLED: it can no longer fail */
    char img_failed;  /* it wrote GL_RESTORE_REFUSED, _CUT or _AGAIN: its exit ends it */
    /* a move's image straight from the old host (ckpt_proto.h, "A move's
       stream"): the restorer told where (IMG_DIRECT_LINE), then where it
       listens (IMG_DIRECT_TOLD); the image never passes img_fd */
    uint8_t img_direct;
    uint64_t restored_at; /* the restorer let go of the image: settled then */
    char img_from[GL_NAME_MAX + 1];
    host_watch_t img_watch;
    /* its owner is back (jobs_evict.c): stopped until idle, or to have
       left by evict_at */
    bool suspended;
    bool unmovable; /* a move of it was refused while its owner was back */
    /* its user stopped it (SIGSTOP, or SIGTSTP without a terminal) and
       has not continued it: the owner's leaving does not continue it,
       nor does a move; the user's SIGCONT does not while suspended */
    bool user_stopped;
    int user_signal; /* the last signal its glx sent it (0: none) */
    uint64_t evict_at;
    struct host_job *next;
} host_job_t;

struct jobs_t {
    char name[GL_NAME_MAX + 1];
    uint64_t generation;
    uint64_t counter; /* GPIDs handed out by this home */
    jobs_io_t io;
    place_t *place;
    slots_t *slots;
    access_t *access; /* whom a job runs as, who may signal it (access.h) */
    home_job_t *homes;
    host_job_t *hosts;
    loop_msg_t *loop_head, *loop_tail;
    list_req_t *lists;
    uint64_t next_list_id;
    uint32_t started; /* guest jobs started here, ever */
    /* added to every job's environment (jobs_set_job_env): host.c */
    char runtime_dir[4096];
    char shim[4096]; /* "": none */
    uint32_t cores;  /* this machine's, as the agent counts them */
    /* gangs: NULL until jobs_set_gang */
    gang_t *gang;
    freeze_t *freeze;
    slots_t *gang_slots; /* gang processes count here, not in slots */
    uint32_t gang_depth;
    home_gang_t *home_gangs;
    pmi_group_t *pmi_groups;
    uint64_t pmi_groups_made; /* names their key-value spaces */
    /* checkpoints (jobs_ckpt.c) */
    int ckpt_fd;          /* the socket the shims connect to, or -1 */
    char ckpt_path[4096]; /* its path, for the jobs' environment */
    char restorer[4096];  /* the restorer program; "": none */
    host_watch_t ckpt_watch;
    char addr[GL_MOVE_ADDR_MAX + 1]; /* our IP address, where a moved job's
                                        restorer listens; "": none known */
    jobs_ckpt_stats_t ckpt_stats;    /* what the images cost us (jobs.h) */
    /* the owner's return (jobs_evict.c) */
    jobs_evict_t evict;
    uint32_t evict_grace_ms;
    bool owner_present;
    uint64_t evict_retry_ms;
    /* recovery (jobs_recover.c): cluster.conf's period, the bound on what
       every job's keep holds together */
    uint64_t ckpt_every_ms;
    size_t keep_max;
    /* ps -v answers waiting for their probes (ps.c) */
    struct {
        char from[GL_NAME_MAX + 1]; /* "": free */
        uint64_t seq, deadline_ms;
    } ps_pending[PS_PENDING_MAX];
};

/* jobs.c: sending.  A message to our own name goes through the loopback
   queue, delivered on the next tick. */
void jobs_to_node (jobs_t *self, const char *node, const gl_job_t *job);
void jobs_to_local (jobs_t *self, uint64_t conn, const gl_job_t *job);
/* A short job message about gpid. */
void jobs_msg_init (gl_job_t *job, uint8_t type, const char *gpid, const char *home);
/* A gang message to a node (to ourselves through the loopback queue);
   takes g, which it frees. */
void jobs_gang_to_node (jobs_t *self, const char *node, gl_gang_t *g);
/* The slots a job of this gang ("" none) takes: gang_host.c. */
slots_t *jobs_slots_for (jobs_t *self, const char *gang);

/* home.c (also jobs_leave) */
home_job_t *home_by_conn (jobs_t *self, uint64_t conn);
void home_local_msg (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now);
void home_local_closed (jobs_t *self, uint64_t conn);
void home_from_host (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now);
/* A kill or a checkpoint for our job, to its host; true when a signal
   was held instead, for the process that runs the job once its move or
   restart is over. */
bool home_relay_signal (jobs_t *self, const gl_job_t *job);
/* A move of our job gpid, asked by the agent asker (answered with a
   LIST_REPLY numbered seq when it ends); want: the node, "" any. */
void home_move_start (jobs_t *self, const char *gpid, const char *asker, uint64_t seq,
                      const char *want, uint64_t now);
/* The user of our running job gpid (for ps.c's kill check), or NULL. */
const char *home_job_user (jobs_t *self, const char *gpid);
void home_node_lost (jobs_t *self, const char *node, uint64_t now);
void home_tick (jobs_t *self, uint64_t now);
uint64_t home_next_deadline (jobs_t *self, uint64_t next);
void home_free_all (jobs_t *self);
/* Hand stdout and stderr to j->node, the job's new host: where their
   numbers go on and the credit left in glx's window (a move, a recovery). */
void home_release_streams (jobs_t *self, const home_job_t *j);

/* host.c (also jobs_ready) */
void host_watch_set (jobs_t *self, host_watch_t *w, int fd, short events);
void host_watch (jobs_t *self, host_job_t *h);
host_job_t *host_by_gpid (jobs_t *self, const char *gpid);
void host_send (jobs_t *self, host_job_t *h, gl_job_t *job);
/* Forget h without a word to its home (a move's old or failed new process). */
void host_drop (jobs_t *self, host_job_t *h);
void host_from_home (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now);
void host_node_lost (jobs_t *self, const char *node);
void host_tick (jobs_t *self, uint64_t now);
uint64_t host_next_deadline (jobs_t *self, uint64_t now, uint64_t next);
void host_free_all (jobs_t *self);

/* gang_home.c.  join: a RUN from glx; a gang's process (run->gang, glx's
   name for it, becomes the gang's id) joins its gang, NULL for any other
   job; started: it runs on node; left: home.c forgets it (node: where it
   ran, NULL if it never started); scale: placement candidates as a gang
   process sees them (a core per row, no more of one gang than a node's
   cores unless pinned there); tick: membership said. */
home_gang_t *gang_home_join (jobs_t *self, gl_job_t *run);
void gang_home_started (jobs_t *self, home_gang_t *g, const char *node, uint64_t now);
void gang_home_left (jobs_t *self, home_gang_t *g, const char *node);
void gang_home_scale (jobs_t *self, const home_gang_t *g, const char *pin, place_cand_t *cands,
                      size_t n);
void gang_home_tick (jobs_t *self, uint64_t now);
uint64_t gang_home_deadline (jobs_t *self, uint64_t next);
void gang_home_free_all (jobs_t *self);

/* gang_host.c.  started: h runs, of gang ("" none); thaw: before a kill;
   signal: its user sent signo; free: before h is freed; fields: ps's
   "\tGANG\tROW\tLEADER\tTERM\tSTATE" as this peer sees them. */
void gang_host_started (jobs_t *self, host_job_t *h, const char *gang, uint64_t now);
void gang_host_thaw (host_job_t *h);
void gang_host_signal (host_job_t *h, int signo);
void gang_host_free (jobs_t *self, host_job_t *h);
void gang_host_fields (jobs_t *self, const host_job_t *h, char *out, size_t len);

/* pmi_home.c: the group of a parallel job's ranks, each a home job.
   join: its rank gets its GPID (NULL with *why when it cannot be one);
   started: it runs on node; waiting: it waits for a free slot (placed
   again later); signalled: its glx sends it signo (so a death by it is
   no rank's failure); request: a PMI message from its host;
   exited: its EXIT; leave: home.c forgets it (the group goes with its
   last rank). */
pmi_group_t *pmi_home_join (jobs_t *self, const gl_job_t *run, const char *gpid, uint64_t conn,
                            const char **why);
void pmi_home_started (jobs_t *self, pmi_group_t *g, uint32_t rank, const char *node);
void pmi_home_waiting (jobs_t *self, pmi_group_t *g, uint32_t rank);
void pmi_home_signalled (jobs_t *self, pmi_group_t *g, uint32_t rank, int signo);
void pmi_home_request (jobs_t *self, pmi_group_t *g, uint32_t rank, const gl_job_t *req);
void pmi_home_exited (jobs_t *self, pmi_group_t *g, uint32_t rank, const gl_job_t *exit);
void pmi_home_leave (jobs_t *self, pmi_group_t *g, uint32_t rank);
void pmi_home_free_all (jobs_t *self);

/* pmi_host.c: a rank's PMI connection.  open: the socketpair, *job_end
   to hand the job as its fd 3 (closed by the caller once it started);
   watch: after anything that changes h (host_watch calls it); ready: an
   fd event, true when it was the link's; reply: a PMI_REPLY from home;
   close: before h is freed. */
int pmi_host_open (jobs_t *self, host_job_t *h, int *job_end);
void pmi_host_watch (jobs_t *self, host_job_t *h);
bool pmi_host_ready (jobs_t *self, host_job_t *h, int fd, short revents);
void pmi_host_reply (jobs_t *self, host_job_t *h, const gl_job_t *reply);
void pmi_host_close (jobs_t *self, host_job_t *h);

/* jobs_ckpt.c.  start: a CKPT for h from home (asker: who hears the
   answer, seq its number); ready: an fd event, true when it was ours;
   move: a MOVE step for h from its home; image: an IMAGE for h, a
   restart's; credit: stream 3's credit for h's image going out;
   read_pre: the output bytes h's host may read from stream s now (a
   move caps them at what came before the snapshot); tick and deadline:
   answers that do not come, restorers that settle; free: before h goes. */
void ckpt_start (jobs_t *self, host_job_t *h, const gl_job_t *ask, const char *asker, uint64_t now);
bool ckpt_ready (jobs_t *self, int fd, short revents, uint64_t now);
void ckpt_move (jobs_t *self, host_job_t *h, const gl_job_t *step, uint64_t now);
/* A move's EXPECT at the new host (from the home): the restorer is told
   to take the image straight from the old host; LISTEN answers. */
void ckpt_expect (jobs_t *self, const char *from, const gl_job_t *step);
void ckpt_image (jobs_t *self, host_job_t *h, const char *from, const gl_job_t *img);
void ckpt_credit (jobs_t *self, host_job_t *h, const char *from, uint64_t credit);
void ckpt_read (jobs_t *self, host_job_t *h, int stream, size_t n);
void ckpt_watch (jobs_t *self, host_job_t *h);
void ckpt_tick (jobs_t *self, uint64_t now);
/* Its user stopped the job: a request still waiting for its shim's
   answer ends now, refused, rather than at the answer's timeout. */
void ckpt_user_stopped (jobs_t *self, host_job_t *h);
uint64_t ckpt_next_deadline (jobs_t *self, uint64_t next);
void ckpt_free (jobs_t *self, host_job_t *h);
bool ckpt_probing (const host_job_t *h); /* h->ck is a probe, unanswered */
/* Our address for an image with port: "IP:PORT" or "[IP6]:PORT" into
   out; false when this node has none (no advertised address, or
   transport/move_direct = no: images come through the agents). */
bool ckpt_own_addr (const jobs_t *self, unsigned port, char *out, size_t size);
/* h's streams wait (no read, no stdin written): a kept checkpoint asked,
   its SNAP not heard yet (jobs_ckpt.c) */
bool ckpt_holds_streams (const host_job_t *h);

/* jobs_recover.c, at the home.  begin: a job starts (its RUN's period or
   ours); tick and deadline: checkpoints asked; image: an IMAGE of a kept
   checkpoint, true when it was one; stdin: glx's bytes (false: hold
   them, a restart is replaying); credit: stdin credit from the host
   (false: swallowed); data: output from the host, trimmed of what glx
   has, false when nothing is left to pass on; lost: the host died, true
   when a restart is under way; from_host: a restart's messages from the
   new host, true when taken; free: before j goes. */
void rec_begin (jobs_t *self, home_job_t *j, uint64_t now);
void rec_tick (jobs_t *self, uint64_t now);
uint64_t rec_next_deadline (jobs_t *self, uint64_t next);
bool rec_image (jobs_t *self, const char *from, const gl_job_t *img, uint64_t now);
bool rec_stdin (jobs_t *self, home_job_t *j, const gl_job_t *data);
bool rec_credit (jobs_t *self, home_job_t *j, const gl_job_t *credit);
bool rec_data (jobs_t *self, home_job_t *j, gl_job_t *data);
bool rec_lost (jobs_t *self, home_job_t *j, uint64_t now);
bool rec_from_host (jobs_t *self, home_job_t *j, const gl_job_t *job, uint64_t now);
void rec_moved (jobs_t *self, home_job_t *j);
void rec_free (home_job_t *j);
/* home.c, for jobs_recover.c */
void home_fail (jobs_t *self, home_job_t *j, int code, const char *text);
void home_remove (jobs_t *self, home_job_t *gone);
void plan_reasons (const place_plan_t *plan, char *out, size_t len);
/* What glx asked of j's node (its pin included): the placement request
   a move or a restart starts from. */
place_req_t home_place_req (const home_job_t *j);
void move_flush_signals (jobs_t *self, home_job_t *j);
void move_fail (jobs_t *self, home_job_t *j, const char *why, int cause, uint64_t now);
/* A move whose new host runs: the old host is asked for its snapshot,
   unless a kept checkpoint is under way (then once it is over). */
void move_ask_old (jobs_t *self, home_job_t *j);
void rec_push_stdin (jobs_t *self, home_job_t *j);

/* jobs_evict.c */
void evict_tick (jobs_t *self, uint64_t now);
uint64_t evict_next_deadline (jobs_t *self, uint64_t now, uint64_t next);

/* ps.c */
void ps_start (jobs_t *self, uint64_t conn, int code, uint64_t now);
void ps_answer (jobs_t *self, const char *from, const gl_job_t *ask, uint64_t now);
void ps_reply (jobs_t *self, const char *from, const gl_job_t *reply);
void ps_kill (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now);
void ps_kill_at_home (jobs_t *self, const char *from, const gl_job_t *job);
void ps_ckpt (jobs_t *self, uint64_t conn, const gl_job_t *job, uint64_t now);
void ps_ckpt_at_home (jobs_t *self, const char *from, const gl_job_t *job, uint64_t now);
void ps_image (jobs_t *self, const char *from, const gl_job_t *img, uint64_t now);
void ps_credit (jobs_t *self, uint64_t conn, const gl_job_t *credit);
void ps_local_closed (jobs_t *self, uint64_t conn);
void ps_tick (jobs_t *self, uint64_t now);
uint64_t ps_next_deadline (jobs_t *self, uint64_t next);
void ps_free_all (jobs_t *self);

#endif
