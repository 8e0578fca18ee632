/*  grow.h -- the one growable-array helper.

    Tables in this tree (members, gangs, placements, pending freezes,
    outgoing messages) are plain arrays with a count and a capacity,
    grown by doubling so that appending stays amortised constant time.
    Every such table grows through gl_grow, so a failed allocation leaves
    the table as it was in one place instead of a dozen. */
#ifndef GL_GROW_H
#define GL_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* Make the array at *arrayp (items of size bytes, capacity *cap) hold at
   least need items: doubled from its capacity (or from 8) until it does.
   0, or -1 when out of memory (or the size overflows), with *arrayp and
   *cap as they were.  arrayp is the address of the array's pointer. */
static inline int gl_grow (void *arrayp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (size && c > SIZE_MAX / size)
        return -1;
    void **p = arrayp;
    void *grown = realloc (*p, c * size);
    if (!grown)
        return -1;
    *p = grown;
    *cap = c;
    return 0;
}

#endif
