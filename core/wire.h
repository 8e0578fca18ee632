/*  wire.h -- the one wire codec of glunix.

    Every message between agents, and between a client and its local agent,
    is a msgpack structure built and parsed here and nowhere else.  The
    decoder trusts nothing: every type, length and count is checked against
    the bytes actually present, nothing is allocated because a length field
    asks for it, and trailing bytes are an error.

    Layout of a packet on the wire (see seal.h for the cryptography):

        envelope  = [version, cluster_id(bin 8), sender(str), generation,
                     seq, time_ms, nonce(bin 24), ciphertext(bin)]
        plaintext = body, the msgpack encoding of one gl_msg_t

    The header fields (all but the ciphertext) are the AEAD's additional
    data, so they are authenticated without being secret.
*/
#ifndef GL_WIRE_H
#define GL_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define GL_PROTO_VERSION    1
#define GL_NAME_MAX         63         /* node names: [A-Za-z0-9._-], 1..63 */
#define GL_ADDR_MAX         255        /* ZeroMQ endpoints */
#define GL_PKT_MAX          (4u << 20) /* largest packet we accept or send */
#define GL_UPDATES_MAX      65536      /* hard cap on updates in one message */
#define GL_NONCE_BYTES      24
#define GL_CLUSTER_ID_BYTES 8
#define GL_PUBKEY_BYTES     32
#define GL_SIG_BYTES        64

/* ---- resource estimate (sched/ fills it, gossip/ carries it) ------------- */

typedef enum {
    GL_RES_IDLE = 0,        /* owner away, load low: takes guests */
    GL_RES_BUSY = 1,        /* owner active or owner load high */
    GL_RES_UNAVAILABLE = 2, /* out of memory, draining, or not measured */
} gl_res_state_t;

typedef struct {
    uint32_t cores;
    uint32_t load1_milli;       /* 1-minute load average x 1000 */
    uint32_t load_recent_milli; /* runnable tasks over the last sample x 1000 */
    uint32_t owner_load_milli;  /* the part of load_recent not caused by guests */
    uint64_t mem_total_kb;
    uint64_t mem_avail_kb;
    uint32_t owner_idle_s; /* seconds since the owner last typed */
    uint8_t state;         /* gl_res_state_t */
    uint32_t guests;       /* guest jobs running here now (slots taken) */
    uint32_t started;      /* guest jobs started here by this agent, ever:
                                    a home whose job has number <= started
                                    knows this estimate counts it */
} gl_res_t;

/* ---- records a node signs about itself ----------------------------------- */

typedef enum {
    GL_REC_ALIVE = 1, /* "I am alive at addr, incarnation seq, key pubkey" */
    GL_REC_LEAVE = 2, /* "I leave, as of incarnation seq" */
    GL_REC_RES = 3,   /* "my resource estimate, number seq" */
} gl_rec_kind_t;

typedef struct {
    uint8_t kind;                    /* gl_rec_kind_t */
    char origin[GL_NAME_MAX + 1];    /* the node that said it */
    uint64_t generation;             /* the origin's start number */
    uint64_t seq;                    /* ALIVE/LEAVE: incarnation; RES: counter */
    uint64_t time_ms;                /* origin's clock when said */
    char addr[GL_ADDR_MAX + 1];      /* ALIVE: advertised endpoint, else "" */
    uint8_t pubkey[GL_PUBKEY_BYTES]; /* ALIVE: origin's Ed25519 key, else 0 */
    gl_res_t res;                    /* RES: the estimate, else 0 */
    uint8_t sig[GL_SIG_BYTES];       /* Ed25519 over gl_rec_signed_bytes() */
} gl_rec_t;

/* ---- gossip updates, piggybacked on every gossip message ------------------ */

typedef enum {
    GL_UPD_REC = 1,     /* a signed record (alive, leave or resources) */
    GL_UPD_SUSPECT = 2, /* `from` suspects `node` at (generation, incarnation) */
    GL_UPD_DEAD = 3,    /* `from` declares `node` dead at (generation, incarnation) */
} gl_upd_kind_t;

typedef struct {
    uint8_t kind;               /* gl_upd_kind_t */
    char node[GL_NAME_MAX + 1]; /* SUSPECT/DEAD: the subject */
    uint64_t generation;        /* SUSPECT/DEAD */
    uint64_t incarnation;       /* SUSPECT/DEAD */
    char from[GL_NAME_MAX + 1]; /* SUSPECT/DEAD: who says so */
    gl_rec_t rec;               /* REC */
} gl_update_t;

/* ---- the job plane: glx, a job's home and its host ------------------------
   glx hands a job to its local agent, the job's home; the home asks
   candidates to RUN it; the host that takes it answers STARTED and from
   then on the two exchange stdio (DATA, CREDIT), signals, window sizes and
   keepalives until the host sends EXIT.  Every job message but PING,
   LIST and LIST_REPLY names its job by GPID.

   A field equal to zero (0, false, "", a NULL pointer or a zero count)
   is absent: it is not sent, and a decoded job never holds an empty text,
   cwd, data, argv or envv, only NULL.  Per type, the fields it needs and
   those it may carry besides; home, node, rank, size and seq may go with
   any type, and any other field is refused where it does not belong:

     RUN         argv, cwd; may: gpid (glx leaves it to the home), envv,
                 umask, uid, gid, user, pty, rows and cols (together),
                 cores, mem_kb, pin, allow_local, gang (with size),
                 cred_expiry and cred_sig (together: the home's credential),
                 rlimits, closed (not with pty)
     STARTED     gpid, node, pid; may: text (the home's placement notes)
     REFUSED     gpid, text
     FAILED      gpid, code > 0, text
     DATA        gpid, data or eof or both; may: stream
     CREDIT      gpid, credit; may: stream
     SIGNAL      gpid, signo; may: user (glpeer kill: who asks, judged
                 by the job's home)
     WINSIZE     gpid, rows, cols
     EXIT        gpid; may: code 0..255, or signo and core (never a code
                 and a signal; core only with a signal)
     KILL        gpid; may: text
     PING        nothing; may: gpid
     LIST        nothing; may: code (GL_LIST_PROBE: ask each job whether it
                 can move before answering, for glpeer ps -v)
     LIST_REPLY  nothing; may: text, eof, code (> 0: a glpeer kill refused,
                 text says why)
     PMI         gpid, text; may: eof
     PMI_REPLY   gpid, text
     NOTE        gpid, text; may: eof, code 0..255 (only with eof)
     CKPT        gpid, code (gl_ckpt_ask_t); may: user (who asks, judged by
                 the job's home), to (FILE: the asking node the image goes
                 to; MOVE: the node asked for), text; MOVE and FILE:
                 move_key and move_addr together (the image goes
                 straight there, sealed under the key: B's restorer for
                 a move, the asking glpeer checkpoint for a file; from
                 the asker's glpeer to its agent the address is
                 "*:PORT", its agent's own address with that port)
     IMAGE       gpid, data or eof or both; may: text (with eof: the image
                 was cut, why); seq numbers the chunks of one image
     MOVE        gpid, code (gl_move_t); may: to, text, data, eof, credit,
                 stream, signo, move_key (EXPECT, SEND, LISTEN to glx),
                 move_addr (LISTEN, SEND), cause (FAILED only: what
                 failed, as a code, gl_move_cause_t; text says it to
                 people)

   CREDIT's stream 3 is the image: the reader of a checkpoint's IMAGEs
   grants its sender credit as it writes them out, as for stdio.  A RUN
   with restart starts the restorer (checkpoint/ckpt_proto.h) in place of
   its program, the image following from glx (GL_JOB_RESTART_GLX), or
   from the job's old host (GL_JOB_RESTART_MOVE, the job's output then
   held until the home RELEASEs it).  Either way the home, once the new
   host's STARTED is in, sends it MOVE EXPECT with a key drawn for that
   image alone, and the new host answers MOVE LISTEN with where its
   restorer listens: the image goes there straight, sealed under the key
   (checkpoint/imgseal.h), from the old host (the home's CKPT carries key
   and address) or from glx (the home hands glx the LISTEN, key and
   address with it, on glx's own stream); a LISTEN with no address (the
   node has none of its own, or transport/move_direct = no) and the image
   comes in IMAGEs instead.  glx sends no IMAGE before that LISTEN.

   Every owned pointer is malloc'ed memory that gl_job_clear() frees. */

/* entries in argv, and in envv: more than exec(2) takes (each costs it 9
   bytes or more of at most 6 MiB), so any command line that runs here fits */
#define GL_JOB_ARGS_MAX    (1u << 20)
#define GL_GPID_MAX        95           /* GPIDs: [A-Za-z0-9._-], 1..95 */
#define GL_JOB_DATA_MAX    (256u << 10) /* stdio bytes in one DATA */
#define GL_JOB_TEXT_MAX    4096         /* reasons and replies */
#define GL_JOB_PATH_MAX    4096         /* the working directory */
#define GL_JOB_RLIMITS_MAX 16           /* resource limits in a RUN (rlimits.h) */
#define GL_JOB_USER_MAX    32           /* user names */
#define GL_JOB_SIGNO_MAX   64           /* signals are 1..64 */
#define GL_JOB_WIN_MAX     65535        /* rows and cols are 1..65535 */
#define GL_MOVE_KEY_BYTES  32           /* a move's key */
#define GL_MOVE_ADDR_MAX   63           /* "IP:PORT", IPv6 in brackets */
#define GL_JOB_CLOSED_ALL  7            /* RUN closed: bit k for fd k, 0..2 */

typedef enum {
    GL_JOB_RUN = 1,         /* home -> candidate: run this (the spec) */
    GL_JOB_STARTED = 2,     /* host -> home: it runs on `node` as `pid` */
    GL_JOB_REFUSED = 3,     /* candidate -> home: no room now (`text`); ask another */
    GL_JOB_FAILED = 4,      /* host -> home: it could not start (`code`, `text`) */
    GL_JOB_DATA = 5,        /* stdio bytes, either way */
    GL_JOB_CREDIT = 6,      /* flow control: the reader of `stream` takes `credit` more */
    GL_JOB_SIGNAL = 7,      /* home -> host: send `signo` to the job */
    GL_JOB_WINSIZE = 8,     /* home -> host: the terminal is now rows x cols */
    GL_JOB_EXIT = 9,        /* host -> home: it ended (code, or signo and core) */
    GL_JOB_KILL = 10,       /* home -> host: the launcher is gone, kill it */
    GL_JOB_PING = 11,       /* home <-> host keepalive */
    GL_JOB_LIST = 12,       /* glpeer ps: which jobs do you hold? (reserved) */
    GL_JOB_LIST_REPLY = 13, /* glpeer ps: the answer, as `text` (reserved) */
    /* A parallel job's PMI (the process-management interface MPICH speaks),
       served by its home: sched/pmi_kvs.h. */
    GL_JOB_PMI = 14,       /* host -> home: a request of the job's rank, `text`; with
                                  eof, its PMI connection broke: `text` says why */
    GL_JOB_PMI_REPLY = 15, /* home -> host: the answer for the rank, `text` */
    GL_JOB_NOTE = 16,      /* home -> glx: say `text`; with eof, the parallel job
                                  is being ended and glx exits with `code` */
    /* Checkpoints, restarts and moves (sched/jobs.h). */
    GL_JOB_CKPT = 17,  /* asker -> home -> host: probe, checkpoint or move it */
    GL_JOB_IMAGE = 18, /* a checkpoint's image, in order, under credit (stream 3) */
    GL_JOB_MOVE = 19,  /* home <-> old and new host: a move's steps (gl_move_t) */
} gl_job_type_t;

/* What a CKPT asks (its code). */
typedef enum {
    GL_CKPT_ASK_PROBE = 1, /* could it move?  Answered, nothing stops */
    GL_CKPT_ASK_FILE = 2,  /* checkpoint it, it runs on; the image to `to` */
    GL_CKPT_ASK_MOVE = 3,  /* move it (to `to`, or where placement says) */
    GL_CKPT_ASK_KEEP = 4,  /* home -> host: checkpoint it, it runs on; the image
                                  to the home, which keeps it to restart the job
                                  if the host dies (sched/jobs_recover.c) */
    GL_CKPT_KEPT = 5,      /* home -> host: what the home keeps of it now, as
                                  `text`, for glpeer ps -v; nothing is asked */
} gl_ckpt_ask_t;

/* A move's steps (MOVE's code), in the order they happen: the old host
   A, the new host B, the home H. */
typedef enum {
    GL_MOVE_SNAPPED = 1,  /* A -> H: stopped at a snapshot, the image waits */
    GL_MOVE_REFUSED = 2,  /* A -> H: it cannot move (text), it runs on */
    GL_MOVE_SEND = 3,     /* H -> A: stream the image to `to` (B) */
    GL_MOVE_RESTORED = 4, /* B -> H: the restored process runs */
    GL_MOVE_FAILED = 5,   /* A or B -> H: the move failed (text) */
    GL_MOVE_DONE = 6,     /* H -> A: kill the old process, send what is left */
    GL_MOVE_STDIN = 7,    /* A -> H: stdin the old process did not read (data,
                                 eof); the first `credit` bytes were acknowledged */
    GL_MOVE_DRAINED = 8,  /* A -> H: all the old process's output was sent */
    GL_MOVE_RELEASE = 9,  /* H -> B: output `stream` may flow from DATA number
                                 `seq` on, with `credit` */
    GL_MOVE_RESUME = 10,  /* H -> A: the move failed, continue the job */
    GL_MOVE_ABORT = 11,   /* H -> B: the move failed, kill the new process */
    GL_MOVE_EVICT = 12,   /* A -> H: A's owner is back: move it away if you can */
    GL_MOVE_EXPECT = 13,  /* H -> B: take the image straight from A (or from
                                 glx: a RUN restart GLX), sealed under
                                 `move_key` (checkpoint/imgseal.h) */
    GL_MOVE_LISTEN = 14,  /* B -> H: the restorer waits for it at `move_addr`
                                 ("" : B cannot, the image comes in IMAGEs);
                                 H -> glx, for glx --restart: send FILE
                                 there, sealed under `move_key` (neither:
                                 send it in IMAGEs) */
} gl_move_t;

/* A MOVE FAILED's cause, where it is known as more than a text: what
   the home acts on (0: only its text says).  An agent that predates
   the field skips it, as it skips any key it does not know. */
typedef enum {
    GL_MOVE_CAUSE_CUT = 1,   /* B -> H: the image's stream ended before its
                                    last chunk (the sender stopped: the old
                                    host's own MOVE FAILED says why) */
    GL_MOVE_CAUSE_AGAIN = 2, /* B -> H: the image ends in the capture's
                                    failure for an instant of the job's (a
                                    descriptor came or went while it was
                                    written): the move may be made again */
} gl_move_cause_t;

/* LIST's code: probe the jobs first. */
#define GL_LIST_PROBE 1

/* RUN's restart. */
#define GL_JOB_RESTART_GLX  1
#define GL_JOB_RESTART_MOVE 2

/* RUN's ckpt_every_ms: 0 is the home's default (cluster.conf
   sched/checkpoint_every); GL_JOB_CKPT_NEVER turns it off for the job;
   anything else is the period, at most GL_JOB_CKPT_EVERY_MAX. */
#define GL_JOB_CKPT_NEVER     UINT64_MAX
#define GL_JOB_CKPT_EVERY_MAX (30ull * 86400 * 1000)

typedef struct {
    uint8_t type;               /* gl_job_type_t */
    char gpid[GL_GPID_MAX + 1]; /* the job's cluster-wide id, "a-1795725266-17" */
    char home[GL_NAME_MAX + 1]; /* the node glx asked: "" or a name */
    char node[GL_NAME_MAX + 1]; /* the node that runs it (or refused it) */
    uint32_t rank;              /* parallel jobs: this process, < size */
    uint32_t size;              /* parallel jobs: processes; 0: not parallel */
    uint64_t seq;               /* DATA: per-stream sequence number */
    uint8_t stream;             /* DATA, CREDIT: 0 stdin, 1 stdout, 2 stderr;
                                             CREDIT: 3 the image */
    bool eof;                   /* DATA: the stream ends after these bytes */
    uint8_t *data;              /* DATA: the bytes, owned (malloc) */
    uint32_t len;               /* DATA: at most GL_JOB_DATA_MAX; 0 only with eof */
    uint64_t credit;            /* CREDIT: bytes granted */
    int32_t code;               /* FAILED: an error kind > 0; EXIT: status 0..255;
                                             NOTE: the status glx exits with */
    int32_t signo;              /* SIGNAL: 1..64; EXIT: the signal that ended it */
    bool core;                  /* EXIT: it dumped core (only with signo) */
    uint32_t rows, cols;        /* WINSIZE, RUN: window size, 1..65535 each */
    uint32_t pid;               /* STARTED: its pid on node, 1..INT32_MAX */
    char *text;                 /* REFUSED, FAILED, KILL: why; LIST_REPLY: the
                                             list; PMI, PMI_REPLY: the protocol's
                                             text; NOTE: what glx says; owned,
                                             NUL-free, at most GL_JOB_TEXT_MAX
                                             bytes; NULL when absent */
    /* RUN: the spec */
    uint32_t argc;                  /* >= 1, at most GL_JOB_ARGS_MAX; the whole
                                             RUN must fit in GL_PKT_MAX */
    char **argv;                    /* owned; NUL-free strings; argv[0], the
                                             program, not empty */
    uint32_t envc;                  /* at most GL_JOB_ARGS_MAX */
    char **envv;                    /* owned; the whole environment, "NAME=value",
                                             NAME not empty */
    char *cwd;                      /* owned; absolute, at most GL_JOB_PATH_MAX bytes */
    uint32_t umask;                 /* at most 0777 */
    uint32_t uid, gid;              /* whom it runs as; never (uint32_t) -1 */
    char user[GL_JOB_USER_MAX + 1]; /* uid's name, for ps; "": not said */
    bool pty;                       /* a pseudo-terminal instead of pipes */
    uint32_t cores;                 /* cores it takes; 0 means 1 */
    uint64_t mem_kb;                /* memory it takes; 0: not said */
    char pin[GL_NAME_MAX + 1];      /* run on this node only; "": anywhere */
    bool allow_local;               /* the home itself may run it */
    char gang[GL_GPID_MAX + 1];     /* a gang's process: from glx, the name its
                                             processes share; from the home on, the
                                             gang's cluster-wide id; "": not a gang */
    uint64_t cred_expiry_ms;        /* the home's credential (sched/cred.h): until
                                             when (wall ms) it holds, and */
    uint8_t cred_sig[GL_SIG_BYTES]; /* its signature, by the home's node key */
    uint8_t restart;                /* RUN: 0, or GL_JOB_RESTART_*: the restorer */
    char to[GL_NAME_MAX + 1];       /* CKPT, MOVE: the node an image goes to */
    uint64_t ckpt_every_ms;         /* RUN: keep a checkpoint this often (above) */
    /* IMAGE's last (eof, no text) of a kept checkpoint: the bytes of
       stdout and stderr the job's process had written, and of stdin it
       had read, when the snapshot was taken, counted from that process's
       start on its host */
    uint64_t at_out, at_err, at_in;
    /* A move's own link (checkpoint/imgseal.h): the key the home drew for
       this move alone, and where the new host's restorer listens for the
       image ("IP:PORT"); both travel only inside sealed packets */
    uint8_t move_key[GL_MOVE_KEY_BYTES];
    char move_addr[GL_MOVE_ADDR_MAX + 1];
    /* RUN: glx's resource limits, "NAME=SOFT:HARD" (core/rlimits.h), at
       most GL_JOB_RLIMITS_MAX; the host gives them to the job, each no
       higher than its own hard limit */
    uint32_t n_rlimits;
    char **rlimits; /* owned */
    /* RUN: the standard descriptors glx itself was started without
       (glx ... >&-), bit k for fd k: the job starts without them too, so
       that its writes fail as they would have where glx runs */
    uint8_t closed;
    /* MOVE FAILED: gl_move_cause_t, or 0 */
    uint8_t cause;
} gl_job_t;

/* ---- the gang plane: coscheduling ----------------------------------------
   The processes of a parallel job (glx -n) form a gang, run at the same
   time on all its peers (sched/gang.h).  The job's home tells the peers
   hosting a gang who they are (MEMBERS); they elect a leader among
   themselves (VOTE_REQ, VOTE), and the leader places the gang in a row of
   the cluster-wide matrix, a placement every peer learns by gossip
   (PLACE) and repairs by push-pull (SYNC_REQ, SYNC_RESP).

   A placement's peers are not kept in it: the places of one message
   share the message's peers array, place i owning the next n_peers of
   it, in order.  Per type, what it needs and may carry:

     MEMBERS     gang; may: seq (the list's version), peers (none: the
                 gang has ended)
     VOTE_REQ    gang, term, leader (the candidate)
     VOTE        gang, term, leader; may: granted, peers (the voter alone)
     PLACE       places; may: peers (none when every place is a tombstone)
     SYNC_REQ    may: places, peers
     SYNC_RESP   may: places, peers

   Every owned pointer is malloc'ed memory that gl_gang_clear() frees. */

#define GL_GANG_PEERS_MAX  65536 /* peers in one message */
#define GL_GANG_PLACES_MAX 4096  /* placements in one message */

typedef enum {
    GL_GANG_MEMBERS = 1,   /* home -> hosts: the gang's peers now */
    GL_GANG_VOTE_REQ = 2,  /* candidate -> gang peers: make me leader for term */
    GL_GANG_VOTE = 3,      /* peer -> candidate: granted or not, and its slots */
    GL_GANG_PLACE = 4,     /* gossip: placements */
    GL_GANG_SYNC_REQ = 5,  /* push-pull: my whole matrix, send yours */
    GL_GANG_SYNC_RESP = 6, /* push-pull: here is mine */
} gl_gang_type_t;

typedef struct {
    char node[GL_NAME_MAX + 1];
    uint32_t procs; /* the gang's processes there */
    uint32_t cores; /* the node's slots; 0: not known yet */
} gl_gang_peer_t;

/* A gang's place in the matrix, as its leader said it.  Placements of a
   gang are ordered by (term, leader, version): the higher one wins. */
typedef struct {
    char gang[GL_GPID_MAX + 1];
    uint64_t term; /* the leader's term, >= 1 */
    char leader[GL_NAME_MAX + 1];
    uint64_t version; /* within the term: the leader's n-th word */
    uint32_t row;
    bool ended;       /* the gang is gone (a tombstone) */
    uint32_t n_peers; /* its peers: the next n_peers of the message's */
} gl_place_t;

typedef struct {
    uint8_t type;                 /* gl_gang_type_t */
    char gang[GL_GPID_MAX + 1];   /* MEMBERS, VOTE_REQ, VOTE */
    uint64_t term;                /* VOTE_REQ, VOTE: >= 1 */
    char leader[GL_NAME_MAX + 1]; /* VOTE_REQ, VOTE: the candidate */
    uint64_t seq;                 /* MEMBERS: the home's version of the list */
    bool granted;                 /* VOTE */
    uint32_t n_peers;
    gl_gang_peer_t *peers; /* owned; at most GL_GANG_PEERS_MAX */
    uint32_t n_places;
    gl_place_t *places; /* owned; at most GL_GANG_PLACES_MAX */
} gl_gang_t;

/* ---- messages ------------------------------------------------------------- */

typedef enum {
    GL_MSG_PING = 1,      /* direct probe of `target` */
    GL_MSG_ACK = 2,       /* answer to a PING (or relayed for a PING_REQ) */
    GL_MSG_PING_REQ = 3,  /* please probe `target` at `target_addr` for me */
    GL_MSG_NACK = 4,      /* Lifeguard: I relayed your PING_REQ, no answer */
    GL_MSG_SYNC_REQ = 5,  /* push-pull: here is my whole state, send yours */
    GL_MSG_SYNC_RESP = 6, /* push-pull: here is mine */
    GL_MSG_GOSSIP = 7,    /* updates only */
    GL_MSG_JOB = 16,      /* the job plane: `job`, and nothing else */
    GL_MSG_GANG = 17,     /* the gang plane: `gang`, and nothing else */
} gl_msg_type_t;

typedef struct {
    uint8_t type;                      /* gl_msg_type_t */
    uint32_t probe_seq;                /* PING/ACK/PING_REQ/NACK: matches answers */
    char target[GL_NAME_MAX + 1];      /* PING: intended receiver; PING_REQ: to probe;
                                             ACK/NACK: who was probed */
    char target_addr[GL_ADDR_MAX + 1]; /* PING_REQ: where to probe it */
    uint32_t n_updates;
    gl_update_t *updates; /* owned by the message (malloc) */
    gl_job_t *job;        /* JOB: required, owned (malloc);
                                             NULL for every other type */
    gl_gang_t *gang;      /* GANG: required, owned (malloc);
                                             NULL for every other type */
} gl_msg_t;

/* The envelope as it stands on the wire (ct points into the decoded buffer). */
typedef struct {
    uint32_t version;
    uint8_t cluster_id[GL_CLUSTER_ID_BYTES];
    char sender[GL_NAME_MAX + 1];
    uint64_t generation;
    uint64_t seq;
    uint64_t time_ms;
    uint8_t nonce[GL_NONCE_BYTES];
    const uint8_t *ct;
    size_t ct_len;
} gl_env_t;

/* ---- client <-> local agent control messages ----------------------------- */

#define GL_CTL_ARGS_MAX 64
typedef struct {
    char cmd[32]; /* "status", "leave", ... */
    uint32_t argc;
    char *argv[GL_CTL_ARGS_MAX]; /* owned (malloc) */
} gl_ctl_req_t;

typedef struct {
    int32_t code; /* 0 ok, else an error code */
    char *text;   /* owned (malloc), NUL-terminated */
    size_t text_len;
} gl_ctl_resp_t;

/* ---- functions ------------------------------------------------------------
   Encoders return 0 and a malloc'ed buffer in *out and *len, or -1
   (ENOMEM or a field out of range).  Decoders return 0, or -1 with a
   static reason in *why (may be NULL) when the input is malformed; on
   error nothing needs freeing.  A decoded gl_msg_t is released with
   gl_msg_clear(). */

int gl_msg_encode (const gl_msg_t *msg, uint8_t **out, size_t *len);
int gl_msg_decode (const uint8_t *buf, size_t len, gl_msg_t *msg, const char **why);
void gl_msg_clear (gl_msg_t *msg);
const char *gl_msg_type_name (int type);

/* Free what a job owns (text, data, argv, envv, cwd) and zero it.  A
   message's job is freed, struct and all, by gl_msg_clear(). */
void gl_job_clear (gl_job_t *job);
const char *gl_job_type_name (int type);

/* Free what a gang message owns (peers, places) and zero it.  A message's
   gang is freed, struct and all, by gl_msg_clear(). */
void gl_gang_clear (gl_gang_t *gang);
const char *gl_gang_type_name (int type);

/* Envelope: encode the header part alone (the AEAD's additional data), or
   the whole envelope with its ciphertext; decode points env->ct into buf. */
int gl_env_encode_header (const gl_env_t *env, uint8_t **out, size_t *len);
int gl_env_encode (const gl_env_t *env, uint8_t **out, size_t *len);
/* The same packet with ct_len bytes of room where the ciphertext goes, at
   offset *ct_off, left for the caller to fill: the sealer encrypts in
   place instead of copying. */
int gl_env_encode_room (const gl_env_t *env, size_t ct_len, uint8_t **out, size_t *len,
                        size_t *ct_off);
int gl_env_decode (const uint8_t *buf, size_t len, gl_env_t *env, const char **why);

/* The canonical bytes a record's signature covers: every field but sig,
   prefixed by a domain string so a signature can't be reused elsewhere. */
int gl_rec_signed_bytes (const gl_rec_t *rec, uint8_t **out, size_t *len);

int gl_ctl_req_encode (const gl_ctl_req_t *req, uint8_t **out, size_t *len);
int gl_ctl_req_decode (const uint8_t *buf, size_t len, gl_ctl_req_t *req, const char **why);
void gl_ctl_req_clear (gl_ctl_req_t *req);
int gl_ctl_resp_encode (const gl_ctl_resp_t *resp, uint8_t **out, size_t *len);
int gl_ctl_resp_decode (const uint8_t *buf, size_t len, gl_ctl_resp_t *resp, const char **why);
void gl_ctl_resp_clear (gl_ctl_resp_t *resp);

/* Node names: 1..63 chars of [A-Za-z0-9._-], not starting with '-' or '.'. */
bool gl_name_valid (const char *name);

/* GPIDs: 1..95 chars of [A-Za-z0-9._-], not starting with '-' or '.'. */
bool gl_gpid_valid (const char *gpid);

#endif
