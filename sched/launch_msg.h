/*  launch_msg.h -- the messages between the agent and its launcher.

    A machine's agent runs unprivileged; the launcher, a small process it
    forks while still root (launcher.h), is all that stays root, and the
    agent asks it for everything that needs root over a socketpair: run a
    job as its user, signal it, let it go.  The launcher answers each RUN
    (STARTED with the job's ends of its stdio, or FAILED with the reason)
    and says when a job ended (EXITED).

    The format is fixed and length-prefixed, the launcher parses it and
    trusts none of it (a compromised agent writes it), so it is as plain
    as can be: big-endian integers, strings as a 4-byte length and that
    many bytes (no NUL among them), every count and length bounded before
    anything is allocated.  One message is one SOCK_SEQPACKET datagram:

      u32 length of what follows | u8 type | u64 id | the type's fields

      RUN      u32 umask | u8 flags (1 pty, 2 fd3 attached, 4 8 16 no
               stdin, stdout, stderr) | u16 rows |
               u16 cols | str user | str file | str cwd | u32 argc |
               argc x str | u32 envc | envc x str | u32 n | n x str:
               the resource limits (exec.h: "NAME=SOFT:HARD", at most 16)
      SIGNAL   u32 signo (1..64)
      SIGQUEUE u32 signo (1..64) | u32 value: to the job's process
               alone, not its group, queued with that value to one of
               its threads that takes it (exec_sigqueue, core/sig.h: a
               checkpoint's request, checkpoint/ckpt_proto.h)
      FREE     nothing: kill what is left of the job and forget it
      STARTED  u32 pid; attached: stdin, stdout, stderr and a copy of the
               read end of stdin's pipe (a pty: its master alone)
      FAILED   u32 code (exec_err_t) | str text
      EXITED   u32 code (0..255) | u32 signal (0..64) | u8 core

    The file descriptors travel beside the bytes (SCM_RIGHTS): fd 3 for
    the job to the launcher, the job's stdio ends back to the agent.  The
    decoder is fuzzed (t/fuzz/fuzz_launch.c). */
#ifndef GL_LAUNCH_MSG_H
#define GL_LAUNCH_MSG_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAUNCH_MSG_MAX     (GL_PKT_MAX + 65536) /* a RUN holds what a job's RUN does */
#define LAUNCH_TEXT_MAX    1024
#define LAUNCH_RLIMITS_MAX 16 /* exec.h's EXEC_RLIMITS_MAX */
#define LAUNCH_FLAG_PTY    1
#define LAUNCH_FLAG_FD3    2
#define LAUNCH_FLAG_NO_IN  4  /* the job starts without stdin, */
#define LAUNCH_FLAG_NO_OUT 8  /* stdout */
#define LAUNCH_FLAG_NO_ERR 16 /* or stderr (exec.h's closed) */
#define LAUNCH_FLAGS_ALL                                                          \
    (LAUNCH_FLAG_PTY | LAUNCH_FLAG_FD3 | LAUNCH_FLAG_NO_IN | LAUNCH_FLAG_NO_OUT | \
     LAUNCH_FLAG_NO_ERR)

typedef enum {
    LAUNCH_RUN = 1,
    LAUNCH_SIGNAL = 2,
    LAUNCH_FREE = 3,
    LAUNCH_STARTED = 4,
    LAUNCH_FAILED = 5,
    LAUNCH_EXITED = 6,
    LAUNCH_SIGQUEUE = 7,
} launch_type_t;

typedef struct {
    uint8_t type; /* launch_type_t */
    uint64_t id;  /* the agent's name for the job, echoed */
    /* RUN */
    uint32_t umask; /* at most 0777 */
    uint8_t flags;  /* LAUNCH_FLAG_* */
    uint16_t rows, cols;
    char user[GL_JOB_USER_MAX + 1];
    char *file; /* owned, not empty */
    char *cwd;  /* owned, absolute */
    uint32_t argc;
    char **argv; /* owned, NULL-terminated; argc >= 1 */
    uint32_t envc;
    char **envv; /* owned, NULL-terminated (may be empty) */
    uint32_t n_rlimits;
    char **rlimits; /* owned, NULL-terminated (may be empty); at most
                           LAUNCH_RLIMITS_MAX */
    /* SIGNAL, SIGQUEUE, EXITED */
    uint32_t signo;
    uint32_t value; /* SIGQUEUE */
    /* STARTED */
    uint32_t pid;
    /* FAILED, EXITED */
    uint32_t code;
    char *text; /* FAILED: owned, not empty */
    bool core;
} launch_msg_t;

/* The bytes of msg, length prefix included (malloc'ed).  0, or -1 when
   msg breaks a rule the decoder enforces or memory runs out. */
int launch_encode (const launch_msg_t *msg, uint8_t **out, size_t *len);

/* Parse exactly len bytes into msg (cleared first).  0, or -1 with a
   constant reason in *why; msg then holds nothing to free. */
int launch_decode (const uint8_t *buf, size_t len, launch_msg_t *msg, const char **why);

void launch_clear (launch_msg_t *msg);

#endif
