/*  pidmap.c -- the table of old and new process ids of a restored tree
    (pidmap.h says why and how it is used).  Runs in the shim's wrappers,
    also inside signal handlers: no allocation, no lock. */
#include "pidmap.h"

#include "err.h"

#include <string.h>

#define PID_TOP (1 << 22) /* Linux's PID_MAX_LIMIT */

void pidmap_init (pidmap_t *m)
{
    memset (m, 0, sizeof *m);
    m->magic = PIDMAP_MAGIC;
}

bool pidmap_valid (const pidmap_t *m)
{
    return m && m->magic == PIDMAP_MAGIC && m->n <= PIDMAP_MAX;
}

int pidmap_add (pidmap_t *m, pid_t virt, pid_t real, const char **why)
{
    if (!pidmap_valid (m))
        return gl_why (why, "not a process id table");
    if (virt <= 0 || real <= 0 || virt > PID_TOP || real > PID_TOP)
        return gl_why (why, "a process id out of range");
    for (uint32_t i = 0; i < m->n; i++) {
        if (m->e[i].virt == virt)
            return gl_why (why, "an old process id given twice");
        if (m->e[i].real == real)
            return gl_why (why, "a new process id given twice");
    }
    if (m->n == PIDMAP_MAX)
        return gl_why (why, "more than 256 processes");
    m->e[m->n].virt = virt;
    m->e[m->n].real = real;
    m->n++;
    return 0;
}

pid_t pidmap_real (const pidmap_t *m, pid_t virt)
{
    if (!pidmap_valid (m) || virt == 0 || virt == -1 || virt < -PID_TOP)
        return virt;
    pid_t a = virt < 0 ? -virt : virt;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].virt == a)
            return virt < 0 ? -m->e[i].real : m->e[i].real;
    return virt;
}

pid_t pidmap_virt (const pidmap_t *m, pid_t real)
{
    if (!pidmap_valid (m) || real <= 0)
        return real;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].real == real)
            return m->e[i].virt;
    return real;
}

bool pidmap_collides (const pidmap_t *m, pid_t real)
{
    if (!pidmap_valid (m) || real <= 0)
        return false;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->e[i].virt == real && m->e[i].real != real)
            return true;
    return false;
}

pid_t pidmap_ahead (const pidmap_t *m, pid_t last, pid_t max, pid_t low, unsigned window)
{
    if (!pidmap_valid (m) || max <= low || last < 0)
        return 0;
    pid_t next = last, hit = 0;
    for (unsigned k = 0; k < window; k++) {
        next = next + 1 >= max ? low : next + 1;
        if (pidmap_collides (m, next))
            hit = next;
    }
    return hit;
}
