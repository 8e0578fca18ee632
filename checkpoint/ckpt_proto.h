/*  ckpt_proto.h -- the contract between an agent and the shim inside a job
    for checkpoints, and between an agent and the restorer.

    Two sides meet here and nowhere else: the shim (checkpoint/capture,
    linked into libglshim.so) which takes the process it lives in apart,
    and the host agent (sched/, cmd/) which asks for it, carries the
    image and starts the restorer on another node.  Neither includes the
    other's code; both include this.

    A job of several processes answers as one: its first process (the
    one the host started and signals) takes the others with it and
    streams one image of them all (checkpoint/tree.h); nothing here
    changes for the host, and the restorer restores whatever the image
    holds.

    Asking.  The host queues GL_CKPT_SIGNO to one thread of the job's
    process (core/sig.h: its first thread, unless that one blocks the
    signal or has ended), the request (gl_ckpt_req_t) as the signal's
    value: sent to the process as a whole, it could wake a thread waiting
    in epoll_wait that another thread then took it from, and that wait
    would return EINTR with no handler run in it.  The shim's handler
    connects to the unix stream socket that
    GLUNIX_CKPT_SOCK named in the job's environment when it started (the
    host sets it at launch), and speaks first, in lines ending in '\n':

        GLCKPT 1 pid=<pid> gpid=<gpid> req=<n> [seal=1]

    (seal=1, to GL_CKPT_CONTINUE or GL_CKPT_GO_ON: its writer can seal
    the image itself onto a connection of the host's, "A move's stream"
    below, for a move or a checkpoint to a file; the host then answers the
    hello with one line before anything else, and the shim reads it,
    its threads parked, before its snapshot) then exactly one of:

        REFUSE <reason>      it cannot be moved (reason: one line, what
                             and why, e.g. "fd 5: a TCP socket to
                             10.0.0.2:5432"); nothing was stopped; the shim
                             closes.
        AGAIN <reason>       the same, but for an instant of the job's:
                             a process of it ended or started, or a
                             descriptor came or went, while the
                             checkpoint was taken (e.g. "process 7 (cc)
                             ended while the checkpoint was taken: try
                             again").  The verb says it, not the reason,
                             which is for people: the host asks again a
                             little later, a few times, before it takes
                             the reason for the answer (to a probe it is
                             the answer at once).  The host never reads
                             the reason's words to tell the two apart.  A tree's member
                             answers its root (tree.h) with the same two
                             verbs, and the root passes an AGAIN on as
                             AGAIN.
        MOVABLE              answer to GL_CKPT_PROBE: it could be moved
                             now; the shim closes.
        SNAP <ns>            every thread is parked and the snapshot is
                             taken (<ns>: the pause so far).  The host
                             answers one line, GO (resume) or HOLD (stay
                             parked: the host kills the process once the
                             image is safe, or says GO and closes the
                             connection to let it go on when a move
                             failed; the connection's end with no GO
                             after HOLD is a kill: the shim kills its
                             process itself).  Then the
                             image follows on the same socket until end
                             of file; it carries its own trailer and
                             checksum, so a cut stream is an error at
                             restore, never a process.  The image's
                             writer ends it with shutdown(SHUT_WR): a
                             HOLDing process still holds the socket, so
                             its close alone would never end the image.
        SNAP <ns> held=<in>,<out>,<err>
                             answer to GL_CKPT_GO_ON only: the snapshot
                             is taken and the threads already run again,
                             with no answer awaited; the image follows.
                             in: the bytes the job's stdin pipe still
                             held, out and err: the bytes its stdout
                             and stderr pipes held, at the snapshot (0
                             for a stream the job never had).  To a
                             GL_CKPT_GO_ON the shim may also say a plain
                             SNAP <ns> (a stream is not a pipe any of its
                             descriptors reaches, e.g. it closed it, or a
                             terminal): then it waits for GO as above.

    A job its user stops (SIGSTOP, or Ctrl-Z through glx) before its
    shim has answered cannot answer: the host refuses the request at once
    with that reason, rather than at its timeout for the answer.

    While the threads are parked (between SNAP and GO/HOLD) the process
    writes nothing and reads nothing: the host measures its streams then
    (bytes still in the stdout/stderr pipes, bytes of stdin not read yet)
    and knows exactly which output came before the snapshot.

    Going on (GL_CKPT_GO_ON) saves the job that wait: the answer crosses
    the host's event loop, which on a busy machine can take
    milliseconds, while the snapshot itself is the fork's.  The host
    still learns where the streams stood: from its signal until the SNAP
    line it neither reads the job's stdout and stderr nor writes its
    stdin, so what it had read and written by the snapshot is what it
    had at the signal, and the pipes' bytes at the snapshot are the
    shim's held=.  Output = bytes read + held, input = bytes written -
    held: the same counts a parked process gives, without the park.

    Restoring.  The host runs GL_RESTORE_PROG (installed beside glpeer's
    other helpers, found like libglshim.so) as the job's program, with
    the image readable on the descriptor GLUNIX_IMAGE_FD names, the job's
    new streams on 0, 1 and 2, and the job's glunix variables
    (GLUNIX_CKPT_SOCK, GLUNIX_NODE, GLUNIX_GPID, ...) of the new host in
    its environment, which it hands to the restored shim.  Descriptors
    that were the job's streams in the image are attached to the new 0,
    1 and 2.  The restorer becomes the process: same pid as the host
    started, the program's memory and threads, resumed where they were
    parked.  When it cannot, it writes "glrestore: <reason>" on its
    stderr, then one byte on the image's descriptor, GL_RESTORE_CUT when
    the image's stream ended before its last chunk (a move's or glx's
    sender stopped: the sender's side knows why), GL_RESTORE_AGAIN when
    the image ends in the capture's failure for an instant of the job's
    (its writer found a descriptor that came or went after the snapshot:
    a FAIL record flagged IMG_FAIL_AGAIN, image.h; the move may be made
    again), GL_RESTORE_REFUSED for anything else, and exits
    GL_RESTORE_FAILED before it has touched anything of the image's.
    The byte, not the exit status, is what the host goes by: a restored
    job's own exit can never write it (the descriptor is closed before
    the image runs), so a job that itself exits GL_RESTORE_FAILED is not
    taken for a failed restore.  It
    closes the image's descriptor once it can no longer fail: the host
    takes that, the restorer living on, as the restore's success (and
    only then kills a moved job's old process).  A restorer of one
    process writes the byte GL_RESTORE_SETTLED on the descriptor just
    before it closes it, and the host takes that as success at once; a
    tree's members do not (each holds the descriptor: only the last
    close says all got through), and the host then waits a moment after
    that close for a failure's exit.

    A move's stream.  For a move the image need not pass through the
    agents: the new host's agent writes, instead of the image, one line
    on the image's descriptor,

        GLMOVE1 <key> <address>

    (key: the move's 32-byte key in 64 lowercase hex digits, drawn by
    the job's home; address: the node's own IP address, as the cluster
    knows it), and the restorer listens on that address, on a port the
    kernel picks, and answers on the same descriptor:

        PORT <port>

    The old host's agent (for a restart from a file, glx --restart,
    the glx itself, which seals the whole image) connects there and
    sends the first chunk of the sealed stream of imgseal.h under that
    key (empty, number 0); the restorer takes the first connection whose first chunk opens (an
    intruder's is closed unheard) and reads the image from it.  To a
    hello with seal=1 the old host answers

        SEAL <key>           the connection passed with the line
                             (SCM_RIGHTS), the key as in GLMOVE1: the
                             shim's writer seals the image onto it from
                             chunk 1 on (imgsealw.h), its last chunk
                             marked, and shuts it down; then, on the
                             shim's socket, where the image would have
                             been, it says one line, END (its last chunk
                             is out) or UNSENT <reason> (the connection
                             broke, e.g. the restorer died: the move
                             fails), and ends it as it ends an image
        RELAY                no link of its own (a kept checkpoint, or
                             a taker the host could not reach): the
                             image follows SNAP on this socket, as
                             without seal=1, for the agent to carry

    The key never enters memory the job keeps or its image carries (the
    line is read into a page of its own, which the writer unmaps in its
    fork before it reads the mappings, and the shim wipes and unmaps
    once the fork is made).  A shim that did not say seal=1 writes the
    image on its socket and the old host's agent seals it.  Everything
    else is as above: the settled byte and the close go on the agent's
    descriptor, and a stream that is cut, altered or not this move's is
    a failure the restorer reports like any other. */
#ifndef GL_CKPT_PROTO_H
#define GL_CKPT_PROTO_H

#define GL_CKPT_SIGNO       62 /* SIGRTMAX - 2 with glibc; the shim keeps it */
#define GL_CKPT_VERSION     1
#define GL_CKPT_SOCK_ENV    "GLUNIX_CKPT_SOCK"
#define GL_IMAGE_FD_ENV     "GLUNIX_IMAGE_FD"
#define GL_PIDMAP_ENV       "GLUNIX_PIDMAP"       /* the shim's, after a tree's restore */
#define GL_CKPT_STREAMS_ENV "GLUNIX_CKPT_STREAMS" /* the shim's, between a job's processes */
#define GL_RESTORE_PROG     "glrestore"
#define GL_RESTORE_FAILED   120
#define GL_RESTORE_SETTLED  'S'  /* written on the image's descriptor: it can no longer fail */
#define GL_RESTORE_REFUSED  'F'  /* written there before a failure's exit: the restore failed */
#define GL_RESTORE_CUT      'C'  /* the same, the failure being the image's stream cut short */
#define GL_RESTORE_AGAIN    'A'  /* the same, the image ending in a failure of an instant */
#define GL_CKPT_LINE_MAX    4096 /* longest line either side sends */
#define GL_MOVE_LINE        "GLMOVE1 " /* a move's stream: what the agent's line starts with */
/* A restart's stream from glx's FILE: the same line and stream, but the
   bytes are a file's, which the seal does not vouch for: the records' own
   sums are checked as when the restorer reads a file (glrestore(8)). */
#define GL_FILE_LINE        "GLFILE1 "

typedef enum {
    GL_CKPT_PROBE = 1,    /* can it move?  MOVABLE or REFUSE; nothing stops */
    GL_CKPT_CONTINUE = 2, /* checkpoint, then the host says GO or HOLD */
    GL_CKPT_GO_ON = 3,    /* checkpoint and go on at once: SNAP with held= */
} gl_ckpt_req_t;

#endif
