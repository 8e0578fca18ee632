/*  image.h -- the checkpoint image: its format, and a sans-I/O decoder.

    An image is one stream (glunix-image(5) is the user's description):

        header   32 bytes: "GLIMAGE\n", version, page size, flags, and a
                 sum of the 24 bytes before it
        records  each: type (u32), payload length (u32), sum (u64) of the
                 type, length and payload, then the payload; in this
                 order: PROC, THREAD..., VMA..., FD..., PAGES..., END
        END      the number of records before it, the chain of their sums
                 and the number of bytes before it: a stream cut at any
                 point, or records dropped, reordered or repeated, is an
                 error, never a process

    All integers are little-endian.  A PAGES record carries up to
    IMG_CHUNK_PAGES pages of one mapping, raw or LZ4-compressed (kept
    raw when compression does not shrink it by an eighth, and not tried
    for a while after a long run that did not: img_put_pages).  A capture
    that fails after the host was told SNAP ends the stream with a FAIL
    record, its reason (and whether it was for an instant), and no END.

    The decoder is handed bytes and gives back whole records, each
    checked (its sum, its place in the order, its length against
    IMG_REC_MAX) before it is returned; the img_get_* functions parse a
    record's payload and check every field a restorer would trust (page
    alignment, ranges, string lengths, counts).  Neither allocates,
    reads a file or a clock: the same code runs in glrestore, in the
    unit test and under the fuzzer (t/fuzz/fuzz_image.c).  The encoders
    write into the caller's buffer, so the capture can use them where
    malloc is forbidden (a fork of a process whose other threads hold
    its locks). */
#ifndef GL_IMAGE_H
#define GL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_MAGIC "GLIMAGE\n"
#define IMG_VERSION \
    3 /* 2: a VMA record carries the mapping's huge-page advice; 3: PROC the kernel's
         layout of the process and its name, THREAD its name */
#define IMG_HDR_SIZE    32
#define IMG_REC_HDR     16
#define IMG_CHUNK_PAGES 256
#define IMG_PAGE        4096u
#define IMG_REC_MAX     (2u << 20) /* a chunk of 1 MiB, raw, fits with room */
#define IMG_PATH_MAX    4096
#define IMG_MAX_THREADS 1024
#define IMG_MAX_VMAS    65536
#define IMG_MAX_FDS     65536
#define IMG_NSIG        64
#define IMG_NRLIMIT     16
#define IMG_USER_TOP    0x800000000000ull /* x86-64 user space, 4-level paging */

typedef enum {
    IMG_HEADER = 0, /* the pseudo-record the decoder returns first */
    IMG_PROC = 1,
    IMG_THREAD = 2,
    IMG_VMA = 3,
    IMG_FD = 4,
    IMG_PAGES = 5,
    IMG_END = 6,
    IMG_FAIL = 7,
    IMG_TREE = 8, /* a tree image: the processes, before the first PROC */
} img_type_t;

/* A tree image: a job of several processes, taken at one instant
   (nothing of the tree ran between the first process stopped and the
   last one's snapshot).  One TREE record right after the header lists
   the processes, parents before their children; the records of each
   process follow (PROC, THREADs, VMAs, FDs, PAGES) in the table's
   order, and one END closes the whole.  A pipe between two processes is
   an IMG_F_PIPE descriptor with the same id in both; the first read end
   of it in the image carries its bytes.  Ids are the ones the programs
   saw (after a restore, the shim's, not the kernel's). */
#define IMG_MAX_PROCS 256
/* A zombie (a child that ended and was not waited for yet) is listed
   with IMG_P_ZOMBIE and its wait status (as wait(2) gives it; the
   core-dumped bit is not kept) in the flags' high 16 bits; it has no
   records of its own and no children, and is never the root. */
enum { IMG_P_ROOT = 1, IMG_P_ZOMBIE = 2 };
#define IMG_P_STATUS(flags) ((flags) >> 16)
typedef struct {
    uint32_t vpid, vppid, vpgid, vsid, flags;
} img_tproc_t;
typedef struct {
    uint32_t n;
    img_tproc_t p[IMG_MAX_PROCS];
} img_tree_t;

/* Where the kernel keeps a process's layout, as /proc/PID/stat shows it
   and prctl(PR_SET_MM_MAP) sets it (unprivileged): the break, what
   /proc/PID/cmdline and environ read, the stack /proc/PID/maps names. */
enum {
    IMG_MM_START_CODE,
    IMG_MM_END_CODE,
    IMG_MM_START_DATA,
    IMG_MM_END_DATA,
    IMG_MM_START_BRK,
    IMG_MM_BRK,
    IMG_MM_START_STACK,
    IMG_MM_ARG_START,
    IMG_MM_ARG_END,
    IMG_MM_ENV_START,
    IMG_MM_ENV_END,
    IMG_NMM
};
#define IMG_NAME_MAX 16 /* a task's name, with its NUL (TASK_COMM_LEN) */

/* A POSIX timer (timer_create(2)) that signals the process, or nobody:
   its id, clock, SIGEV_SIGNAL (0) or SIGEV_NONE (1), signal and value;
   the time to its next expiry (0: disarmed) and its interval. */
#define IMG_MAX_TIMERS 32
typedef struct {
    uint32_t id, clockid, notify, signo;
    uint64_t value;
    uint64_t value_sec, value_nsec, interval_sec, interval_nsec;
} img_ptimer_t;

/* The process as a whole. */
typedef struct {
    uint32_t vpid, vppid; /* the ids the program saw */
    uint32_t umask;
    uint32_t n_threads, n_vmas, n_fds; /* the records that follow */
    uint64_t xcr0;                     /* the CPU's enabled state components */
    uint64_t rlim[IMG_NRLIMIT][2];     /* cur, max */
    uint64_t itimer[3][4];             /* real, virtual, prof: interval s, us; value s, us */
    uint64_t sigact[IMG_NSIG][4];      /* the kernel's: handler, flags, restorer, mask */
    uint64_t mm[IMG_NMM];              /* the kernel's layout; all 0: not known */
    uint32_t n_timers;
    img_ptimer_t timers[IMG_MAX_TIMERS];
    char cwd[IMG_PATH_MAX];
} img_proc_t;

/* A thread, parked inside the shim's handler: the registers a function
   call keeps (the rest is in the kernel's signal frame on its stack). */
enum {
    IMG_T_LEADER = 1,
    IMG_T_COORD = 2,
    /* Still version 3 (a glrestore before them says "unknown flags"):
       the thread's attributes, not all defaults, follow its name; the
       thread set no_new_privs (prctl(2)); the process (on the leader
       only) is not dumpable, is a child subreaper. */
    IMG_T_ATTRS = 4,
    IMG_T_NNP = 8,
    IMG_T_NODUMP = 16,
    IMG_T_SUBREAPER = 32,
};
#define IMG_SCHED_RESET_ON_FORK 0x40000000u
enum {
    IMG_R_RBX,
    IMG_R_RBP,
    IMG_R_R12,
    IMG_R_R13,
    IMG_R_R14,
    IMG_R_R15,
    IMG_R_RSP,
    IMG_R_RIP,
    IMG_NREG
};
typedef struct {
    uint32_t tid, flags;
    uint64_t fs;            /* the thread pointer */
    uint64_t reg[IMG_NREG]; /* as ckpt_save left them */
    uint32_t mxcsr, fpucw;  /* the callee-saved parts of the FPU's state */
    uint64_t tid_addr;      /* glibc's tid word: CLONE_CHILD_CLEARTID, the cached tid */
    uint64_t robust, robust_len;
    uint64_t rseq; /* 0: none registered */
    uint32_t rseq_len, rseq_sig;
    uint64_t pending;        /* signals pending for it (1 << (signo - 1)) */
    char name[IMG_NAME_MAX]; /* as ps -L shows it (the leader's: the process's); "" unknown */
    /* IMG_T_ATTRS: sched_getscheduler(2)'s policy (SCHED_RESET_ON_FORK
       kept), the nice value, the real-time priority; the parent-death
       signal (0 none), the personality(2); the capability sets
       (effective, permitted, inheritable) */
    uint32_t policy;
    int32_t nice;
    uint32_t rtprio, pdeath, persona;
    uint64_t caps[3];
} img_thread_t;

/* A mapping. */
typedef enum {
    IMG_V_ANON = 1,    /* private anonymous: its pages follow */
    IMG_V_SHANON = 2,  /* shared anonymous, within the process: its pages follow */
    IMG_V_STACK = 3,   /* the main thread's stack: anonymous, grows down */
    IMG_V_FILE = 4,    /* private file mapping: the file, and the pages written since */
    IMG_V_FILE_RO = 5, /* shared file mapping without write access: the file */
    IMG_V_SPECIAL = 6, /* [vdso], [vvar], [vvar_vclock]: the new kernel's, moved here */
    /* Still version 3: a glrestore before it says "an unknown kind of
       mapping".  Only a move's image has one (the process was held and
       is gone): the file itself holds the pages. */
    IMG_V_FILE_SH = 7, /* shared file mapping with write access: the file */
} img_vma_kind_t;
enum {
    IMG_VF_HUGE = 1,   /* advised MADV_HUGEPAGE: restored so, in huge pages where it may */
    IMG_VF_NOHUGE = 2, /* advised MADV_NOHUGEPAGE */
    /* Still version 3: a glrestore before them says "unknown flags". */
    IMG_VF_DONTFORK = 4,   /* advised MADV_DONTFORK: a fork of the restored process leaves it out */
    IMG_VF_WIPEONFORK = 8, /* advised MADV_WIPEONFORK (private anonymous): zero in a fork */
    IMG_VF_LOCKED = 16,    /* locked in memory (mlock(2)) */
    IMG_VF_ONFAULT = 32,   /* with IMG_VF_LOCKED: mlock2(MLOCK_ONFAULT) */
};
typedef struct {
    uint64_t start, end;
    uint32_t prot, kind;
    uint32_t flags;  /* IMG_VF_* */
    uint64_t offset; /* in the file */
    uint64_t fsize;  /* the file's size and mtime at capture */
    uint64_t mtime_sec;
    uint32_t mtime_nsec;
    char path[IMG_PATH_MAX]; /* the file, or the special's name */
} img_vma_t;

/* A file descriptor. */
typedef enum {
    IMG_F_STREAM = 1, /* one of the job's streams: the restorer's 0, 1 or 2 */
    IMG_F_FILE = 2,   /* a regular file: path, flags, offset, checked size and mtime;
                         stream: 0, or its open file description's id, the same in
                         every record (of the process or the tree) sharing it */
    IMG_F_DEV = 3,    /* /dev/null and its kind: opened again by path */
    IMG_F_DIR = 4,    /* a directory, opened again by path; being read (pos, the
                         file system's cookie, not 0): its checked size and mtime,
                         data the name of the entry at pos (1 to 255 bytes) */
    IMG_F_PIPE = 5,   /* an end of a pipe whose both ends are the process's: fsize is
                         the pipe's id, pos its capacity; a read end carries the
                         bytes that were in it */
    /* The kernel's own objects, made again with the state they had
       (version 3); their path is the kernel's name, "anon_inode:...". */
    IMG_F_EVENTFD = 6,  /* fsize: the counter; pos: 1 for EFD_SEMAPHORE */
    IMG_F_TIMERFD = 7,  /* data: img_timerfd_t (IMG_TIMERFD_SIZE bytes) */
    IMG_F_SIGNALFD = 8, /* fsize: the signals it takes (1 << (signo - 1)) */
    IMG_F_EPOLL = 9,    /* data: its registrations, IMG_EPOLL_REG bytes each: the
                           descriptor (u32), the events (u32), the data (u64) */
    /* Still version 3: a glrestore before these says "an unknown kind
       of descriptor".  An end of a unix socket pair whose other end is
       the job's, or was closed (unixsock.h); shared memory held by a
       descriptor (restore.c makes it again as a memfd). */
    IMG_F_USOCK = 10,   /* fsize: the socket's id; pos: its peer's (0: closed);
                         mtime_sec: its type (SOCK_STREAM, _DGRAM, _SEQPACKET);
                         mtime_nsec: IMG_US_*; stream: its SO_SNDBUF (0: unknown);
                         data: the bytes queued for it to read (the first record
                         of a socket carries them), a datagram's or a record's
                         each after its length (u32) */
    IMG_F_SHMFD = 11,   /* a deleted file of /dev/shm or a memfd, or one no name reaches
                         (a temporary file): stream as a FILE's; fsize its size,
                         mtime_sec its object's id (as a shared VMA's), data
                         all its bytes (at most IMG_PIPE_MAX) */
    IMG_F_TTY = 12,     /* the job's terminal (glx -t: its pty's slave): the restorer's
                         stream as for IMG_F_STREAM, which must be a terminal too;
                         data: img_tty_t (IMG_TTY_SIZE bytes), the terminal's state
                         at the snapshot, given to the new one */
    IMG_F_INOTIFY = 13, /* an inotify instance (a kernel object of kobj.h); data:
                           its watches, IMG_INOTIFY_REG bytes each, in increasing
                           order of watch descriptor: the watch descriptor (u32),
                           its mask (u32), and a descriptor of the process open on
                           the watched file (u32), through which it is watched again */
} img_fd_kind_t;
/* A kernel object of kobj.h: made again alone, with its state. */
#define IMG_F_IS_KOBJ(k) (((k) >= IMG_F_EVENTFD && (k) <= IMG_F_EPOLL) || (k) == IMG_F_INOTIFY)
enum {
    IMG_US_RDSHUT = 1,   /* its reading was shut (its peer's writing: shutdown(2)) */
    IMG_US_PASSCRED = 2, /* SO_PASSCRED set (no bytes queued then: refused) */
};
/* A timerfd's state, little-endian in an FD record's data: its clock,
   the flags it was set with, the expirations not read yet, the time to
   its next expiry (0: disarmed) and its interval. */
typedef struct {
    uint32_t clockid, settime_flags;
    uint64_t ticks;
    uint64_t value_sec, value_nsec;
    uint64_t interval_sec, interval_nsec;
} img_timerfd_t;
#define IMG_TIMERFD_SIZE 48
/* The job's terminal, little-endian in an IMG_F_TTY record's data: its
   modes as tcgetattr(3) gives them (the kernel's 19 control characters;
   the speeds as cfgetispeed's B codes), its window size, and IMG_TTY_*
   of the process that held it. */
#define IMG_TTY_NCC      19
typedef struct {
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line, cc[IMG_TTY_NCC];
    uint32_t ispeed, ospeed;
    uint16_t rows, cols, xpixel, ypixel;
    uint32_t flags;
} img_tty_t;
enum {
    IMG_TTY_CTTY = 1, /* it was the process's controlling terminal */
    IMG_TTY_FG = 2,   /* and the process's group its foreground group */
};
#define IMG_TTY_SIZE    56
#define IMG_EPOLL_REG   16
#define IMG_EPOLL_MAX   (IMG_PIPE_MAX / IMG_EPOLL_REG) /* registrations of one epoll */
#define IMG_INOTIFY_REG 12
#define IMG_INOTIFY_MAX 1024 /* watches of one inotify instance */
typedef struct {
    uint32_t fd, kind, stream, flags, cloexec;
    uint64_t pos, fsize, mtime_sec;
    uint32_t mtime_nsec;
    char path[IMG_PATH_MAX];
    const uint8_t *data; /* a pipe's bytes: into the record (decoding), the caller's (encoding) */
    uint32_t data_len;   /* at most IMG_PIPE_MAX */
} img_fd_t;
#define IMG_PIPE_MAX (1u << 20) /* Linux's pipe-max-size by default */

enum { IMG_RAW = 0, IMG_LZ4 = 1 };
typedef struct {
    uint64_t addr;
    uint32_t n_pages, codec;
    const uint8_t *data; /* into the record */
    uint32_t len;
} img_pages_t;

typedef struct {
    uint64_t n_records, chain, bytes;
} img_end_t;

/* A whole record, as the decoder hands it out: payload points into the
   bytes the caller passed. */
typedef struct {
    img_type_t type;
    const uint8_t *payload;
    uint32_t len;
    uint32_t page_size; /* IMG_HEADER */
} img_rec_t;

typedef struct {
    int stage; /* 0 header, then the type of the last record, 99 done */
    uint64_t n_records, chain, bytes;
    uint32_t procs, procs_seen; /* a tree image: its processes, the PROCs so far */
    /* The bytes came authenticated (a move's sealed stream, whose tags
       find whatever the records' sums would): each record's sum is
       taken as it stands, not computed again; the header's sum, the
       order, the lengths and END's count, chain and bytes are checked
       all the same (glunix-image(5)).  Set after img_dec_init. */
    bool authenticated;
} img_dec_t;

/* A checksum of n bytes (xxHash64's algorithm), continuing from seed. */
uint64_t img_sum (const void *p, size_t n, uint64_t seed);
/* The same sum of na bytes at a followed by nb bytes at b, as if they
   were one run. */
uint64_t img_sum2 (const void *a, size_t na, const void *b, size_t nb, uint64_t seed);

void img_dec_init (img_dec_t *d);
/* The next record from buf[0..len): 1 with *rec and *used (bytes it
   took), 0 when buf holds no whole record yet (it needs at most
   IMG_REC_HDR + IMG_REC_MAX bytes), -1 with *why when the stream is
   not an image, is corrupt or out of order.  After END, done. */
int img_dec_next (img_dec_t *d, const uint8_t *buf, size_t len, img_rec_t *rec, size_t *used,
                  const char **why);
bool img_dec_done (const img_dec_t *d);

/* A raw PAGES record in two places, so that a restorer need not copy its
   pages: the record's header and the PAGES fields (IMG_PAGES_HEAD bytes,
   at head, where the caller read them), then its pages, which the
   caller reads straight to where they go.  img_dec_pages_head: 1 when
   head (len bytes, where the next record starts; not the whole record)
   begins a raw PAGES record, with pg's fields checked as img_get_pages
   checks them (pg->data NULL, pg->len the pages' bytes), else 0 (some
   other record, packed pages, or not enough bytes: img_dec_next's
   business).  Nothing is accepted yet: the fields are a record's whose
   sum is still unchecked, good only to say where the pages may go.
   img_dec_pages_tail: once all of them are at pages, the checks
   img_dec_next makes (the sum over both parts, the record's place in the
   stream), 1 with rec (its payload: the fields only) or -1 with *why. */
#define IMG_PAGES_HEAD (IMG_REC_HDR + 16)
int img_dec_pages_head (const img_dec_t *d, const uint8_t *head, size_t len, img_pages_t *pg);
int img_dec_pages_tail (img_dec_t *d, const uint8_t *head, const uint8_t *pages, img_rec_t *rec,
                        const char **why);

int img_get_proc (const img_rec_t *r, img_proc_t *p, const char **why);
/* A TREE record: at least 2 processes, the first the root (the only one
   flagged IMG_P_ROOT), distinct non-zero ids, every other's parent
   listed before it; process groups and sessions are the tree's own or
   the root's; a zombie's status an exit code or a terminating signal,
   its parent no zombie. */
int img_get_tree (const img_rec_t *r, img_tree_t *t, const char **why);
int img_get_thread (const img_rec_t *r, img_thread_t *t, const char **why);
int img_get_vma (const img_rec_t *r, img_vma_t *v, const char **why);
int img_get_fd (const img_rec_t *r, img_fd_t *f, const char **why);
/* A timerfd's state from its FD record's data, and into it (out:
   IMG_TIMERFD_SIZE bytes); an epoll's registration k. */
void img_get_timerfd (const img_fd_t *f, img_timerfd_t *t);
void img_put_timerfd (const img_timerfd_t *t, uint8_t *out);
/* The terminal's state from an IMG_F_TTY record's data, and into it
   (out: IMG_TTY_SIZE bytes). */
void img_get_tty (const img_fd_t *f, img_tty_t *t);
void img_put_tty (const img_tty_t *t, uint8_t *out);
void img_get_epoll_reg (const img_fd_t *f, uint32_t k, uint32_t *fd, uint32_t *events,
                        uint64_t *data);
void img_get_inotify_watch (const img_fd_t *f, uint32_t k, uint32_t *wd, uint32_t *mask,
                            uint32_t *fd);
/* The k-th descriptor an epoll's registrations or an inotify's watches
   name into *fd; false past the last (or for another kind). */
bool img_watched_fd (const img_fd_t *f, uint32_t k, uint32_t *fd);
/* A FAIL record: its reason into reason (IMG_PATH_MAX bytes), its flags
   (0 when it has none: a writer that predates them). */
int img_get_fail (const img_rec_t *r, char *reason, uint32_t *flags, const char **why);
int img_get_pages (const img_rec_t *r, img_pages_t *pg, const char **why);
/* The pages' bytes into dst (n_pages * IMG_PAGE bytes). */
int img_unpack (const img_pages_t *pg, uint8_t *dst, const char **why);

/* Encoding.  The stream's writer keeps an img_enc_t; each img_put_*
   writes a whole record (header and payload) into out (cap bytes) and
   returns its length, or 0 when cap is too small. */
typedef struct {
    uint64_t n_records, chain, bytes;
    /* img_put_pages' LZ4: pages in a row it did not shrink, and pages
       still to go raw without trying */
    uint64_t lz4_missed, lz4_skip;
    /* the records go only into a move's sealed stream, whose tags vouch
       for every byte and whose reader takes each record's sum as it
       stands (img_dec_t.authenticated): their sums are left 0, not
       computed (glunix-image(5)).  Set after img_put_header. */
    bool unsummed;
} img_enc_t;

size_t img_put_header (img_enc_t *e, uint8_t *out, size_t cap);
size_t img_put_proc (img_enc_t *e, const img_proc_t *p, uint8_t *out, size_t cap);
size_t img_put_tree (img_enc_t *e, const img_tree_t *t, uint8_t *out, size_t cap);
/* A record already sealed (a tree member's, passed on by the root):
   counted in the END's chain as if put here.  rec: its header and
   payload, as img_dec_next handed it out. */
void img_enc_pass (img_enc_t *e, const img_rec_t *rec);
size_t img_put_thread (img_enc_t *e, const img_thread_t *t, uint8_t *out, size_t cap);
size_t img_put_vma (img_enc_t *e, const img_vma_t *v, uint8_t *out, size_t cap);
size_t img_put_fd (img_enc_t *e, const img_fd_t *f, uint8_t *out, size_t cap);
/* pages: n_pages raw pages at src; packed with LZ4 into out when that
   pays (state: LZ4_sizeofState() bytes of scratch; NULL: raw).  After
   IMG_LZ4_MISSES pages in a row that did not shrink (memory of random or
   already compressed data), the next IMG_LZ4_SKIP pages go raw untried;
   then one record is tried again, and a hit starts the count over. */
#define IMG_LZ4_MISSES (8u * IMG_CHUNK_PAGES)
#define IMG_LZ4_SKIP   (16u * IMG_CHUNK_PAGES)
size_t img_put_pages (img_enc_t *e, uint64_t addr, const uint8_t *src, uint32_t n_pages,
                      void *state, uint8_t *out, size_t cap);
size_t img_put_end (img_enc_t *e, uint8_t *out, size_t cap);
/* FAIL: the capture failed after SNAP, because reason; flags
   IMG_FAIL_AGAIN when for an instant of the job's (a descriptor came or
   went while the image was written): asked again, it may well succeed. */
#define IMG_FAIL_AGAIN 1u
size_t img_put_fail (img_enc_t *e, const char *reason, uint32_t flags, uint8_t *out, size_t cap);
/* The room img_put_pages may need for n pages. */
size_t img_pages_bound (uint32_t n_pages);

#endif
