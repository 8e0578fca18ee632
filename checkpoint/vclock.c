/*  vclock.c -- the monotonic clocks a job sees, continued across
    machines (vclock.h). */
#include "vclock.h"

#include "capture.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

bool vclock_moves (clockid_t c)
{
    return c == CLOCK_MONOTONIC || c == CLOCK_MONOTONIC_RAW || c == CLOCK_MONOTONIC_COARSE ||
           c == CLOCK_BOOTTIME || c == CLOCK_BOOTTIME_ALARM;
}

static bool boot_clock (clockid_t c)
{
    return c == CLOCK_BOOTTIME || c == CLOCK_BOOTTIME_ALARM;
}

int64_t vclock_off (clockid_t c)
{
    if (!vclock_moves (c))
        return 0;
    return atomic_load_explicit (boot_clock (c) ? &off_boot : &off_mono, memory_order_relaxed);
}

static struct timespec plus (struct timespec t, int64_t ns)
{
    int64_t v = (int64_t) t.tv_sec * 1000000000 + t.tv_nsec + ns;
    if (v < 0)
        v = 0;
    return (struct timespec){ v / 1000000000, v % 1000000000 };
}

int vclock_gettime (clockid_t c, struct timespec *t)
{
    if (!kernel_gettime)
        vclock_init ();
    if (!kernel_gettime) {
        errno = ENOSYS;
        return -1;
    }
    if (!vclock_moves (c))
        return kernel_gettime (c, t);
    /* a kernel's reading and its own offset: read again if a restore
       came between them */
    for (;;) {
        unsigned before = ckpt_restores ();
        int rc = kernel_gettime (c, t);
        int64_t off = vclock_off (c);
        if (ckpt_restores () != before)
            continue;
        if (rc == 0 && off)
            *t = plus (*t, off);
        return rc;
    }
}

/* The waits under way: k's address, and 1 in its low bit for a
   CLOCK_BOOTTIME one (a timespec is 8-aligned).  Lock-free: a wait may
   be made in any signal handler. */
#define WAITS_MAX 1024
static _Atomic uintptr_t waits[WAITS_MAX];

const struct timespec *vclock_wait_begin (clockid_t c, const struct timespec *abs,
                                          struct timespec *k, int *slot)
{
    *slot = -1;
    if (!abs || !vclock_moves (c))
        return abs;
    static _Thread_local char here; /* where this thread starts looking */
    uintptr_t mine = (uintptr_t) k | (boot_clock (c) ? 1 : 0);
    unsigned h = (unsigned) (((uintptr_t) &here >> 6) % WAITS_MAX);
    for (unsigned n = 0; n < WAITS_MAX && *slot < 0; n++) {
        unsigned i = (h + n) % WAITS_MAX;
        uintptr_t none = 0;
        if (!atomic_load_explicit (&waits[i], memory_order_relaxed) &&
            atomic_compare_exchange_strong (&waits[i], &none, mine))
            *slot = (int) i;
    }
    /* k known first, then computed: a restore in between sets it, and
       this computes it again */
    unsigned before;
    do {
        before = ckpt_restores ();
        *k = plus (*abs, -vclock_off (c));
    } while (ckpt_restores () != before);
    return k;
}

void vclock_wait_end (int slot)
{
    if (slot >= 0)
        atomic_store (&waits[slot], 0);
}

void vclock_pause (void)
{
    pause_mono = kernel_ns (CLOCK_MONOTONIC) + vclock_off (CLOCK_MONOTONIC);
    pause_boot = kernel_ns (CLOCK_BOOTTIME) + vclock_off (CLOCK_BOOTTIME);
    pause_real = kernel_ns (CLOCK_REALTIME);
}

/* The offset computed at a restore, against the one the process had:
   within the reading's jitter of it, or of none, that one (one clock,
   read twice), or else the new one. */
static int64_t settle (int64_t now, int64_t computed)
{
    if (computed - now > -SAME_CLOCK_NS && computed - now < SAME_CLOCK_NS)
        return now;
    return computed > -SAME_CLOCK_NS && computed < SAME_CLOCK_NS ? 0 : computed;
}

void vclock_resume (void)
{
    if (!pause_real || !kernel_gettime)
        return;
    int64_t gone = kernel_ns (CLOCK_REALTIME) - pause_real; /* the move, as both machines see it */
    if (gone < 0)
        gone = 0;
    int64_t om =
        settle (vclock_off (CLOCK_MONOTONIC), pause_mono + gone - kernel_ns (CLOCK_MONOTONIC));
    int64_t ob =
        settle (vclock_off (CLOCK_BOOTTIME), pause_boot + gone - kernel_ns (CLOCK_BOOTTIME));
    /* the waits under way: their times for this kernel's clock */
    int64_t dm = om - vclock_off (CLOCK_MONOTONIC), db = ob - vclock_off (CLOCK_BOOTTIME);
    for (int i = 0; i < WAITS_MAX && (dm || db); i++) {
        uintptr_t w = atomic_load (&waits[i]);
        if (w) {
            struct timespec *k = (struct timespec *) (w & ~(uintptr_t) 1);
            *k = plus (*k, (w & 1) ? -db : -dm);
        }
    }
    atomic_store (&off_mono, om);
    atomic_store (&off_boot, ob);
}
