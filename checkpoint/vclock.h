/*  vclock.h -- the monotonic clocks a job sees, continued across machines.

    CLOCK_MONOTONIC and CLOCK_BOOTTIME count from a machine's boot: a
    process moved to a machine up for less time would see them jump back
    by the difference, and wait that long for every deadline it held
    (an event loop's timers, a condition variable's absolute wait); moved
    the other way, see them jump forward and every deadline pass at once.
    So a restored process sees these clocks as they would have gone on
    where it was: its value at the pause, plus the time the move took as
    CLOCK_REALTIME measures it (kept in step between machines).  The
    offset (virtual minus this kernel's) is 0 until a restore, and a
    restore on the same clock (one machine) leaves it as it was.

    shim/clock.c adds it where a program reads these clocks and takes it
    off where it hands the kernel an absolute time on them. */
#ifndef GL_VCLOCK_H
#define GL_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Nanoseconds to add to this kernel's reading of clock c (0 for the
   clocks that are not moved: CLOCK_REALTIME, CPU time). */
int64_t vclock_off (clockid_t c);

/* Whether clock c is one of those moved (CLOCK_MONOTONIC and its raw
   and coarse kinds, CLOCK_BOOTTIME and its alarm). */
bool vclock_moves (clockid_t c);

/* clock_gettime(2) of clock c as the program sees it: this kernel's
   reading plus the offset, read together (no move between them). */
int vclock_gettime (clockid_t c, struct timespec *t);

/* An absolute time abs on clock c as the program sees it, for a call
   that waits with it: *k the same time on this kernel's clock.  While
   the call runs (until vclock_wait_end), k is known: a restore in the
   middle, after which the call is made again with k (the kernel's
   restart, libc's own loop), sets it for the new kernel.  Returns the
   pointer to hand on (abs itself for a clock not moved, or none) and in
   *slot what vclock_wait_end takes. */
const struct timespec *vclock_wait_begin (clockid_t c, const struct timespec *abs,
                                          struct timespec *k, int *slot);
void vclock_wait_end (int slot);

/* In the paused process, before the image's fork: the clocks noted. */
void vclock_pause (void);
/* In a restored process, before its threads go on: the offsets set. */
void vclock_resume (void);

#endif
