/*  forkadv.h -- mappings a fork does not copy as they are.

    A checkpoint's image is written by a fork of the paused process
    (capture.c, writer.c), which sees the process's memory as the fork
    copied it.  A mapping advised MADV_DONTFORK is not in a fork at all,
    and one advised MADV_WIPEONFORK is there but zero: node (V8) keeps
    its whole JavaScript heap in mappings of the first kind, some
    libraries keep a random generator's state in the second.  So the
    paused process notes them (VmFlags "dc" and "wf" of
    /proc/self/smaps), takes the advice off for the instant of the
    writer's fork and puts it back at once; the writer marks them in the
    image, and the restorer advises them again (glunix-image(5)).  A
    mapping locked in memory (mlock(2), VmFlags "lo" or "lf") is not
    locked in a fork either: noted the same way, and locked again by
    the restorer.

    Runs in the paused process (forkadv_note, _open, _close) and in the
    writer's fork (forkadv_flags): system calls and static memory only. */
#ifndef GL_FORKADV_H
#define GL_FORKADV_H

#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The flags a fork does not pass on as they are: IMG_VF_* */
#define FORKADV_FLAGS (IMG_VF_DONTFORK | IMG_VF_WIPEONFORK | IMG_VF_LOCKED | IMG_VF_ONFAULT)

/* The advice a VmFlags line of smaps gives, as IMG_VF_* bits: huge
   pages ("hg", "nh"), not copied by a fork ("dc"), wiped in a fork
   ("wf"), locked ("lo", "lf": on fault). */
uint32_t forkadv_vmflags (const char *line);

/* Reading smaps walks the page tables, about 27 ns a page here (14 ms
   for a process of 512 MiB): too long for every pause.  So the shim
   says when the process advised MADV_DONTFORK or MADV_WIPEONFORK
   (madvise through libc, or a raw one Syscall User Dispatch traps), and
   forkadv_note reads smaps only after that, or when the process has
   memory locked (locked: VmLck in /proc/self/status, which the pause
   reads anyway). */
void forkadv_seen (int advice);

/* The process's mappings advised MADV_DONTFORK or MADV_WIPEONFORK, or
   locked, as its smaps says now (none read when neither can be): 0,
   or -1 with why (smaps unreadable, too many). */
int forkadv_note (bool locked, char *why, size_t cap);
/* The advice noted taken off (just before the writer's fork), and put
   back (just after it, in the process). */
void forkadv_open (void);
void forkadv_close (void);
/* In the fork: the advice noted for the range from start (IMG_VF_DONTFORK,
   IMG_VF_WIPEONFORK or 0), and where within [start, end) that stops
   being so (*cut); and IMG_VF_LOCKED, IMG_VF_ONFAULT. */
uint32_t forkadv_flags (uint64_t start, uint64_t end, uint64_t *cut);

#endif
