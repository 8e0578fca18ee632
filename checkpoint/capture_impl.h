/*  capture_impl.h -- what the capture's files share inside libglshim.so:
    capture.c (one process's checkpoint: the signal, parking, the
    coordinator), judge.c (may it move?), writer.c (the image, written
    in the raw fork) and tree.c (a tree of processes as one): the state
    the coordinator fills for the writer, and the few handler-safe
    helpers, each kept once.  Not an interface: capture.h and tree.h
    are. */
#ifndef GL_CAPTURE_IMPL_H
#define GL_CAPTURE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include "image.h"
#include "resume.h"

#define FILES_MAX  256       /* regular files and directories a checkpoint carries */
#define KOBJS_MAX  256       /* eventfds, timerfds, signalfds, epoll instances (kobj.h) */
#define USOCKS_MAX 256       /* ends of the job's unix socket pairs (unixsock.h) */
#define SHM_MAX    1024      /* shared mappings a process may have */
#define KDATA_MAX  (1 << 18) /* bytes of the kernel objects' state (kobj.h) */

/* ---- the state: capture.c's, the writer reads it in the fork ---- */

typedef struct {
    int tid;
    int flags; /* IMG_T_* */
    ckpt_ctx_t ctx;
    uint64_t fs, robust, robust_len, pending;
    bool bad_layout; /* glibc's tid word is not where the shim found it */
    /* what the kernel keeps per thread: scheduling (the policy as
       sched_getscheduler gives it, nice, real-time priority), and
       no_new_privs */
    uint32_t policy, rtprio;
    int32_t nice;
    bool nnp;
    /* and the parent-death signal, personality and capabilities; the
       process's dumpable and subreaper bits (any thread reads them) */
    uint32_t pdeath, persona;
    uint64_t caps[3];
    bool nodump, subreaper;
} slot_t;

typedef struct {
    bool on;
    char sock[108];
    char gpid[64];
    pid_t vpid, vppid, real_pid;
    bool restored;
    uint64_t stream[3][2]; /* st_dev, st_ino of 0, 1, 2 at the start */
    bool stream_ok[3];
    long tid_off; /* glibc's tid word from the thread pointer; -1 unknown */
    void (*rearm) (void);
    void **curbrk;
    pid_t child; /* the last snapshot's writer, to reap */
    /* the request under way ends the process here once its image is
       safe (a move, or a probe for one), and it is no tree's member
       (asked as the root asks, whatever the host asked): a file mapped
       shared and writable moves, its pages the file's; a checkpoint
       the job goes on after would let it write them past its image */
    bool moving;
    bool pack; /* compress pages (GLUNIX_CKPT_COMPRESS=0: raw) */
    bool seal; /* seal a move's image (GLUNIX_CKPT_SEAL=0: the agent does) */
    int (*real_sigaction) (int, const struct sigaction *, struct sigaction *);
} ck_t;

/* Read by the coordinator with every thread parked, for the writer:
   what a fork does not pass on, and what must be read before the job
   runs again. */
typedef struct {
    struct itimerval itimer[3];
    uint64_t shared_pending;
    bool locked; /* memory locked (VmLck): forkadv_note looks */
    int n_files;
    struct {
        int fd;
        int64_t pos;
        struct stat st;
        /* its open file description: 0 its own, else an id that every
           descriptor sharing it has, in this process or (tree.h) any of
           the tree's: dup(2), 2>&1, or a child's inherited copy, whose
           one offset moves for each of them */
        uint32_t share;
        /* a directory being read (pos not 0): the entry at pos, whose
           name the restorer finds there again (gl_dir_entry_at) */
        char entry[256];
    } files[FILES_MAX];
    char file_why[256]; /* why the sharing could not be told, or "" */
    int sock, pipe_rd;  /* left out of the image */
    int n_pipes;        /* pipes that held bytes: a copy of them (tee) in a pipe of ours */
    struct {
        uint64_t ino;
        int rd;
        uint32_t n;
    } pipes[64];
    /* the bytes the job's stdin pipe still holds and its stdout and
       stderr pipes hold, for the host (GL_CKPT_GO_ON); held_ok false
       when a stream is not a pipe any of this process's descriptors
       reaches: then the host measures them itself, the job parked */
    uint64_t held[3];
    bool held_ok;
    bool go_on;  /* asked GL_CKPT_GO_ON and held_ok: no answer awaited */
    int n_kobjs; /* eventfds, timerfds, signalfds, epolls: their state (kobj.h) */
    struct {
        int fd;
        uint64_t pos, fsize;
        uint32_t data_off, data_len;
    } kobjs[KOBJS_MAX];
    uint32_t kdata_len;
    char kobj_why[256]; /* why one could not be read, or "" */
    uint32_t n_timers;  /* POSIX timers (kobj.h) */
    img_ptimer_t timers[IMG_MAX_TIMERS];
    int n_usocks; /* the unix sockets that may move: their state and bytes (unixsock.h) */
    struct {
        int fd;
        uint64_t ino, peer;
        uint32_t us, data_off, data_len;
    } usocks[USOCKS_MAX];
    uint32_t udata_len;
    char usock_why[256]; /* why one could not be read, or "" */
    /* a move's own link (ckpt_proto.h, "A move's stream"): the
       connection to the new host's restorer the host handed over, or
       -1; and the page of its own that holds the host's SEAL line (the
       move's key), which the writer reads and unmaps in the fork and
       this process wipes and unmaps once the fork is made: the key is
       never in memory the image carries or the job keeps */
    int seal_fd;
    char *seal_page; /* SEAL_PAGE bytes, or NULL */
} snap_t;

#define SEAL_PAGE 4096

extern ck_t ck;                       /* the capture's settings and the process's ids */
extern slot_t slots[IMG_MAX_THREADS]; /* the threads, parked or not */
extern int n_slots;
extern snap_t snap;
extern uint8_t snap_kdata[KDATA_MAX];    /* the kernel objects' timers and registrations */
extern uint8_t snap_udata[IMG_PIPE_MAX]; /* the bytes queued in the sockets, all of them */

/* ---- helpers, safe in a handler (capture.c) ---- */

/* A line being built in a fixed buffer; past its end, cut.  A reason
   why a checkpoint cannot be taken is one: again marks it as one of an
   instant of the job's (a child ended, a descriptor came or went while
   it was taken), which the host asks again for (AGAIN, ckpt_proto.h)
   rather than taking it for the answer. */
typedef struct {
    char *p;
    size_t n, cap;
    bool again;
} sb_t;

void sb_s (sb_t *b, const char *s);
/* s onto the reason, which is then for an instant (again) */
void sb_again (sb_t *b, const char *s);
/* The verb that says the reason to the host or the tree's root: AGAIN
   or REFUSE. */
const char *sb_verb (const sb_t *b);
void sb_u (sb_t *b, uint64_t v);
void sb_x (sb_t *b, uint64_t v); /* hexadecimal, no 0x */
uint64_t now_ns (void);          /* CLOCK_MONOTONIC */
bool write_all (int fd, const void *p, size_t n);
uint64_t parse_num (const char *s, int base, const char **end);
/* A directory entry as getdents64(2) gives it (opendir allocates). */
struct dent64 {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};
/* The numbered entries of a /proc directory: how many (max + 1: more
   than max), or -1. */
int list_numbers (const char *dir, int *out, int max, int *dirfd_out);
/* One protocol line: w, then " rest" when rest is not NULL. */
void say (int s, const char *w, const char *rest);
/* "fd N: ", before a reason about descriptor fd. */
void sb_fd (sb_t *b, int fd);
/* A path under /proc/self with a number: "/proc/self/<a><n><z>". */
void proc_path (char *out, size_t cap, const char *a, uint64_t n, const char *z);

/* ---- judge.c ---- */

/* A file read a line at a time through a fixed buffer (for /proc/net's
   long tables and /proc/self/maps). */
typedef struct {
    int fd;
    char *line;
    size_t cap, n, at;
} lr_t;
/* The next line, cut to cap - 1 bytes; false at the end. */
bool lr_next (lr_t *r, char *out, size_t cap);
/* The n-th blank-separated field of a line (and its length), or NULL. */
const char *field (const char *s, int n, size_t *len);
/* Descriptor fd as the image would carry it (*f), or -1 with why it
   cannot move. */
int judge_fd (int fd, img_fd_t *f, sb_t *why);
/* A line of /proc/self/maps as the image would carry it (*v), or -1
   with why it cannot move. */
int judge_vma (const char *line, img_vma_t *v, sb_t *why);
/* The process's threads: how many ids went into tids (max + 1: more
   than max), or -1. */
int task_list (int *tids, int max);
/* Judges every descriptor, mapping, thread and child: 0 movable, or -1
   with the first reason.  skip: a descriptor of the checkpoint's own.
   tree: a process of a tree (tree.h), whose children are the tree's and
   whose pipe ends and shared memory are noted for the root to judge. */
int judge (sb_t *why, int skip, bool tree);

/* ---- writer.c ---- */

/* The fork's life: judge again, wait on go for the parent's SNAP to be
   out on sock, write the image to sock, exit.  Never returns. */
void writer (int sock, int go) __attribute__ ((noreturn));

#endif
