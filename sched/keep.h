/*  keep.h -- what a job's home keeps so that the job outlives its host.

    A job run with glx --checkpoint-every (or cluster.conf's
    sched/checkpoint_every) is checkpointed by its host every period, the
    job running on, and the image goes to its home, which keeps it in
    memory: the home is another peer than the host whenever recovery
    matters (a job whose home is its host dies with its glx anyway).
    When gossip says the host is dead, the home restarts the job from the
    kept image on another node (jobs_recover.c).  This is the home's
    bookkeeping for that, and nothing else: sans-I/O, no clock, no
    messages, so that t/unit/test_keep can drive every case.

    Images.  An image arrives in pieces (keep_rx_add), each checked as
    it comes by the image's own decoder (checkpoint/image.h: every
    record's sum, their order, the END record's chain): one that is cut,
    corrupt or ends in the capture's FAIL record is never kept.  A whole
    one waits (next) until glx has had all the output the job wrote
    before its snapshot (keep_promote, with what the home delivered so
    far): until then a restart from it would lose what was still in the
    dead host's pipes, which the restarted job does not write again.
    Then it replaces the one kept (cur).  So the home holds at most
    three images of a job for a moment (kept, waiting, arriving) and one
    most of the time; jobs_recover.c bounds them all together.

    Offsets.  Every offset here is absolute: bytes since the job began,
    across every process that ran it (moves, restarts).  An image says
    where stdout and stderr stood (bytes the job had written) and stdin
    (bytes it had read) at its snapshot.

    Stdin.  The home keeps what glx sent from the kept image's stdin
    offset on (keep_in_add), to give it again to a restarted job, which
    reads it again.  At most max bytes: beyond, the oldest go, and a kept
    image that needs them goes too (keep_in_add says why).

    Output.  After a restart from an image taken at offset A of a stream
    of which glx had D bytes, the first D - A bytes the restarted job
    writes are what glx has already: keep_skip says how much of each
    piece to drop.  A deterministic program writes the same bytes again;
    one that does not may show the difference (glx(1)). */
#ifndef GL_KEEP_H
#define GL_KEEP_H

#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *bytes; /* NULL: none */
    size_t len;
    uint64_t at[3];   /* [0] stdin read, [1] stdout, [2] stderr written */
    uint64_t wall_ms; /* when it was taken (wall ms): its host was asked then */
    char node[64];    /* the host that took it */
} keep_img_t;

typedef struct {
    keep_img_t cur;  /* kept: a restart starts from it */
    keep_img_t next; /* whole and checked, waiting for its output (above) */
    /* the image arriving */
    uint8_t *rx;
    size_t rx_len, rx_cap, rx_checked;
    img_dec_t rx_dec;
    bool rx_on, rx_bad;
    /* stdin from glx: bytes [in_base, in_base + in_len), and its end */
    uint8_t *in;
    size_t in_len, in_cap;
    uint64_t in_base;
    bool in_eof;
} keep_t;

void keep_init (keep_t *k);
void keep_clear (keep_t *k);

/* Memory the keep holds now (images, arriving image, stdin). */
size_t keep_bytes (const keep_t *k);

/* An image begins arriving (one arriving before is dropped). */
void keep_rx_begin (keep_t *k);
/* Its next n bytes: 0, or -1 with *why when they are not an image's (the
   rest of it is then ignored; keep_rx_end fails). */
int keep_rx_add (keep_t *k, const uint8_t *data, size_t n, const char **why);
/* Its end, with the offsets its host measured: 0 when it was whole and
   checked (it waits as next, replacing a next that waited), or -1 with
   *why.  Either way nothing is arriving after it. */
int keep_rx_end (keep_t *k, const uint64_t at[3], uint64_t wall_ms, const char *node,
                 const char **why);
/* Drop what is arriving (its host gave up, or over the memory bound). */
void keep_rx_drop (keep_t *k);

/* Has glx had all the output next needs (delivered: per stream, what
   the home passed to glx)?  Then next becomes cur, and stdin before
   cur's offset is let go.  true when it did. */
bool keep_promote (keep_t *k, const uint64_t delivered[3]);

/* Stdin from glx: n bytes, then its end if eof.  Keeps at most max bytes
   (the oldest go first); 1 when that let go of bytes a kept or waiting
   image needs (it is dropped, *why says so), else 0. */
int keep_in_add (keep_t *k, const uint8_t *data, size_t n, bool eof, size_t max, const char **why);
/* Where the stdin kept ends (the bytes glx sent, all told). */
uint64_t keep_in_end (const keep_t *k);
/* The stdin kept from offset from on, at most max bytes: *data, and how
   many; 0 when from is not kept (before in_base, or past the end). */
size_t keep_in_from (const keep_t *k, uint64_t from, size_t max, const uint8_t **data);

/* Of a piece of len bytes of output that a restarted process wrote at
   offset got (what the home had received of that stream before it,
   absolute), how many leading bytes glx has had already (delivered). */
size_t keep_skip (uint64_t delivered, uint64_t got, size_t len);

#endif
