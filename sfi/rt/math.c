/*  math.c -- the few maths functions SSE2 does in one instruction.
    Built with -fno-math-errno: there is no errno to set. */
#include "glsfi.h"

double sqrt (double x)
{
    return __builtin_sqrt (x);
}

float sqrtf (float x)
{
    return __builtin_sqrtf (x);
}

double fabs (double x)
{
    return __builtin_fabs (x);
}
