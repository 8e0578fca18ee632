/*  tap.h -- the smallest test harness that tells you what failed.

    CHECK(cond) records a failure with file and line and goes on;
    tap_skip(why) says a part of the test cannot run on this machine;
    tap_done() prints "N passed, N failed" and returns the exit status:
    1 when a check failed, else 77 (t/run's "skipped", with the reason as
    the last line) when a part was skipped, else 0.  A test never passes
    with a part of it left out. */
#ifndef GL_TAP_H
#define GL_TAP_H
#include <stdio.h>

static int tap_pass_, tap_fail_;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond)                                                                     \
            tap_pass_++;                                                              \
        else {                                                                        \
            tap_fail_++;                                                              \
            fprintf (stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long a_ = (long long) (a), b_ = (long long) (b);                              \
        if (a_ == b_)                                                                      \
            tap_pass_++;                                                                   \
        else {                                                                             \
            tap_fail_++;                                                                   \
            fprintf (stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, \
                     __LINE__, #a, a_, #b, b_);                                            \
        }                                                                                  \
    } while (0)

static const char *tap_skip_;

static inline void tap_skip (const char *why)
{
    printf ("# cannot run here: %s\n", why);
    if (!tap_skip_)
        tap_skip_ = why;
}

static inline int tap_done (const char *name)
{
    printf ("%s: %d passed, %d failed\n", name, tap_pass_, tap_fail_);
    if (tap_fail_)
        return 1;
    if (tap_skip_) {
        printf ("skipped: %s (the other %d checks passed)\n", tap_skip_, tap_pass_);
        return 77;
    }
    return 0;
}
#endif
