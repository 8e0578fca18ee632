/*  tree.h -- a job of several processes (a shell and its children, make
    and its compilers) checkpointed as one: the capture's side, inside
    libglshim.so, beside capture.c's checkpoint of one process.

    Nothing changes for the agent: it signals the job's first process
    (the root) and reads one image, as for a single process
    (ckpt_proto.h).  The root's shim does the rest:
    - It finds the root's descendants (/proc/PID/task/TID/children, down
      the whole tree, parents first) and judges what it can see from
      outside: each must run the shim (it catches GL_CKPT_SIGNO), as the
      same user, and not be stopped.  A zombie (a child that ended and
      was not waited for) is only noted, from /proc/PID/stat: its ids
      and its wait status go into the TREE record (IMG_P_ZOMBIE); it is
      not signalled nor counted among the members that answer, has no
      records, and is restored as a child that ends at once with that
      status (restore_tree.c).  Reaped meanwhile, the tree is another,
      which tree_snap's check finds.
    - It opens a rendezvous for this checkpoint, an abstract unix socket
      named by its pid and a fresh nonce, and sends each descendant the
      same signal with a member's request (TREE_REQ_MEMBER, the host's
      request and the nonce in the value).  A member connects only when
      the sender is its ancestor, and keeps the connection only when the
      socket's owner (SO_PEERCRED) is that sender; the root accepts only
      its descendants.
    - Each member judges itself as capture.c judges a process, but with
      its pipe ends and shared anonymous mappings reported (PIPE, SHM
      lines) instead of judged: the root sees the whole tree, so a pipe
      is movable when both its ends are in the tree, and memory shared
      between two processes is refused.  Then it parks its threads, says
      a FILE line for each regular file it holds open, and PARKED (or
      REFUSE, or MOVABLE for a probe).
    - Once all are parked, the root finds which of those descriptors
      share one open file description (kcmp(2)), and so one offset: a
      shell's redirection its children inherit, 2>&1.  Each group gets
      an id, which the root's FILE lines give each member before its
      SNAP and the image's FD records carry, so that the restorer opens
      the file once for all of them.
    - The cut is consistent: the root parks its own threads only once
      every member is parked, checks that no process came or went, and
      only then tells each member SNAP: each notes what the kernel keeps
      (pipes' bytes by tee, file offsets, timers) and forks its writer,
      as capture.c does for one process.  Between the first member's
      park and the last snapshot no process of the tree runs.
    - The host's GO or HOLD goes to every member.  After HOLD a member
      stays parked until the root lets it go (the host's failed move) or
      the root's connection ends without that (the root was killed: the
      move succeeded), when it kills itself.
    - One image (glunix-image(5)): the root's writer writes the TREE
      record, its own records, then each member's, read from the
      member's connection, checked record by record and passed on (their
      sums stand; the END's chain counts them), then one END.

    Everything runs in the signal handler or the writer's fork: no
    malloc, no lock, static memory and system calls only. */
#ifndef GL_TREE_H
#define GL_TREE_H

#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A member's request in the signal's value: this bit, the host's
   request (gl_ckpt_req_t) in the low bits, the nonce from bit 8. */
#define TREE_REQ_MEMBER 0x40
#define TREE_REQ_KIND   0x3f

/* Judging a process of a tree (capture.c's judge): its pipe ends and
   shared anonymous mappings are noted here, not judged there. */
void tree_note_reset (void);
void tree_note_pipe (int fd, uint64_t ino, int accmode);
void tree_note_shm (uint64_t id, uint64_t start, uint64_t end);
void tree_note_kobj (int fd); /* an eventfd, timerfd, signalfd, epoll */
void tree_note_usock (int fd, uint64_t ino, uint64_t peer); /* a unix socket pair's end */

/* ---- the root ---- */

/* Whether this process has children: a tree's root. */
bool tree_has_children (void);

/* Judges the descendants, opens the rendezvous, asks each member and
   reads its answer (for a checkpoint: parked).  0: every member is
   movable, the pipes and memory between them too (probe: the members
   are done; checkpoint: they are parked); -1 with the reason in why,
   every member let go, or 1 the same when the reason is one of an
   instant (a member ended meanwhile: the host asks again, AGAIN in
   ckpt_proto.h).  vpid, vppid: the root's ids as its program sees
   them. */
int tree_begin (int req, uint32_t vpid, uint32_t vppid, char *why, size_t cap);

/* With the root's own threads parked: no process came or went, then
   every member snapshots itself.  -1 with the reason, members let go
   (1: a reason of an instant, as tree_begin). */
int tree_snap (char *why, size_t cap);

/* The host's answer to every member: 'G' go on, 'H' stay parked, 0 let
   go (the checkpoint was abandoned). */
void tree_answer (char answer);

/* After HOLD, when the host let the root go on (a failed move): the
   members go on too.  Then, and after GO, the root's connections close. */
void tree_close (void);

/* Whether fd is one of the tree's (left out of the root's image). */
bool tree_owns_fd (int fd);

/* In the root's writer: the TREE record (0 bytes when this is no
   tree's checkpoint); then, after the root's own records, every
   member's records through put (false: the image could not be
   written; arg its own), counted in e.  -1 with why when a member's
   image is missing or broken (its FAIL's reason, or the decoder's); 1
   when that FAIL was for an instant (IMG_FAIL_AGAIN). */
size_t tree_put_table (img_enc_t *e, uint8_t *out, size_t cap);
int tree_pass (img_enc_t *e, bool (*put) (void *arg, const uint8_t *p, size_t n), void *arg,
               char *why, size_t cap);

/* The processes of the checkpoint taken (1: a single process). */
int tree_size (void);

/* ---- a member ---- */

/* The rendezvous the root named (its pid, the signal's value): the
   connection, or -1 when the sender is not an ancestor or the socket's
   owner not the sender. */
int tree_member_connect (pid_t root, int value);

/* MEMBER (ids) and the PIPE and SHM lines noted while judging. */
void tree_member_report (int s, pid_t vpid);

/* Parked, before PARKED: a FILE line (fd, device, inode, offset) for each of
   its regular files' descriptors, so that the root finds which of the
   tree's share one open file description (kcmp(2)). */
void tree_member_files (int s);

/* After PARKED: 1 when the root says SNAP, 0 when it lets go.  The
   root's FILE lines before it give the ids of the descriptions that
   are shared (tree_file_share). */
int tree_member_wait_snap (int s);

/* In the root after tree_snap, in a member after its SNAP: the id of
   fd's open file description when other descriptors of the tree share
   it (the same id in each), else 0. */
uint32_t tree_file_share (int fd);

/* After HOLD: returns when the root lets the member go on; kills the
   process when the root's connection ends first. */
void tree_member_hold (int s);

#endif
