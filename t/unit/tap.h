/*  tap.h -- the smallest test harness that tells you what failed.

    CHECK(cond) records a failure with file and line and goes on;
    tap_done() prints "N passed, N failed" and returns the exit status. */
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

static inline int tap_done (const char *name)
{
    printf ("%s: %d passed, %d failed\n", name, tap_pass_, tap_fail_);
    return tap_fail_ ? 1 : 0;
}
#endif
