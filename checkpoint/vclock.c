/*  vclock.c -- the monotonic clocks a job sees, continued across
    machines (vclock.h). */
#include "vclock.h"

#include <dlfcn.h>
#include <stdatomic.h>

#define SAME_CLOCK_NS 1000000 /* an offset smaller: one clock, read twice */

static _Atomic int64_t off_mono, off_boot;
/* at the pause, as the process saw them (the image carries these) */
static int64_t pause_mono, pause_boot, pause_real;

/* The kernel's reading, past shim/clock.c's wrapper. */
static int (*kernel_gettime) (clockid_t, struct timespec *);

__attribute__ ((constructor (101))) static void vclock_init (void)
{
    kernel_gettime = (int (*) (clockid_t, struct timespec *)) dlsym (RTLD_NEXT, "clock_gettime");
}

static int64_t kernel_ns (clockid_t c)
{
    struct timespec t = { 0, 0 };
    if (kernel_gettime)
        kernel_gettime (c, &t);
    return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

int64_t vclock_off (clockid_t c)
{
    switch (c) {
        case CLOCK_MONOTONIC:
        case CLOCK_MONOTONIC_RAW:
        case CLOCK_MONOTONIC_COARSE: return atomic_load_explicit (&off_mono, memory_order_relaxed);
        case CLOCK_BOOTTIME:
        case CLOCK_BOOTTIME_ALARM: return atomic_load_explicit (&off_boot, memory_order_relaxed);
        default: return 0;
    }
}

void vclock_pause (void)
{
    pause_mono = kernel_ns (CLOCK_MONOTONIC) + vclock_off (CLOCK_MONOTONIC);
    pause_boot = kernel_ns (CLOCK_BOOTTIME) + vclock_off (CLOCK_BOOTTIME);
    pause_real = kernel_ns (CLOCK_REALTIME);
}

static int64_t settle (int64_t off)
{
    return off > -SAME_CLOCK_NS && off < SAME_CLOCK_NS ? 0 : off;
}

void vclock_resume (void)
{
    if (!pause_real || !kernel_gettime)
        return;
    int64_t gone = kernel_ns (CLOCK_REALTIME) - pause_real; /* the move, as both machines see it */
    if (gone < 0)
        gone = 0;
    int64_t om = pause_mono + gone - kernel_ns (CLOCK_MONOTONIC);
    int64_t ob = pause_boot + gone - kernel_ns (CLOCK_BOOTTIME);
    /* on the same clock the offsets stay as they were: the computed
       ones differ from them by the reading's jitter only */
    if (!settle (om - vclock_off (CLOCK_MONOTONIC)))
        om = vclock_off (CLOCK_MONOTONIC);
    if (!settle (ob - vclock_off (CLOCK_BOOTTIME)))
        ob = vclock_off (CLOCK_BOOTTIME);
    atomic_store (&off_mono, settle (om));
    atomic_store (&off_boot, settle (ob));
}
