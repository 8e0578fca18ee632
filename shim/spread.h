/*  spread.h -- glx --spread: which programs a job's processes run on
    other nodes, and on which node.

    The pattern.  PATTERN is one or more shell globs (fnmatch(3), no '/')
    joined by '|': "cc1|cc1plus|as".  A program matches when the last
    component of the path it is executed by matches one of them, so
    "/usr/lib/gcc/x86_64-linux-gnu/12/cc1" is cc1.  glx checks the pattern
    once with spread_pattern_check; the shim matches at every exec.

    Where a step may go.  The step reads and writes files by their paths
    (the source, the object, the compiler's temporary files in $TMPDIR),
    so it may only run where those paths name the same files: on a node
    of this machine (its gossip address is a loopback address or one of
    this machine's), or on any node when the working directory and the
    temporary directory are on a shared file system (NFS, SMB, Ceph,
    Lustre, GPFS, 9p, FUSE ...).  Anything else runs here.  There is no
    way to look at another node's files from here, so the rule is about
    the file systems, and glx(1) says so.

    The choice.  Among the members the local agent's view (core/view.h)
    shows alive and idle, allowed by the rule above, this node included,
    one is drawn at random weighted by its free cores (cores less guest
    jobs): concurrent steps of a make -j,
    each deciding alone from the same view, spread instead of all picking
    the same best node.  The view is read in shared memory: no system
    call, no message to the agent.  The copy is on the stack (the choice
    is made in vfork children and signal handlers), so a step looks at
    the first 64 members the view lists, this node first. */
#ifndef GL_SPREAD_H
#define GL_SPREAD_H

#include "view.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPREAD_PATTERN_MAX 1024

/* 0 when pattern is a valid PATTERN, else -1 with *why. */
int spread_pattern_check (const char *pattern, const char **why);

/* Whether the program at path (its last component) matches pattern. */
bool spread_match (const char *pattern, const char *path);

/* The file system under path is one every node can see: 1 shared, 0
   local, -1 when statfs fails.  fs (may be NULL) names its type. */
int spread_fs_shared (const char *path, const char **fs);

/* Whether the gossip endpoint addr ("tcp://HOST:PORT") is on this
   machine: a loopback address, or one of its interfaces' (locals, n of
   them, as spread_local_addrs found them). */
typedef struct {
    int family;
    uint8_t bytes[16];
} spread_addr_t;
size_t spread_local_addrs (spread_addr_t *out, size_t max);
bool spread_addr_local (const char *addr, const spread_addr_t *locals, size_t n);

/* The node for one step, into node (GL_VIEW_NODE name, 64 bytes): ""
   for this node.  anywhere: the files are shared, any node will do;
   otherwise only nodes on this machine.  draw is a random number. */
typedef struct {
    uint32_t candidates; /* nodes it could have gone to, this one included */
    uint32_t allowed;    /* of them, where the files are the same */
} spread_why_t;
int spread_pick (const gl_view_t *view, bool anywhere, const spread_addr_t *locals, size_t n_locals,
                 uint64_t draw, char node[64], spread_why_t *why);

#endif
