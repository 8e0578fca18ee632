/*  evq.h -- the simulator's event queue: a binary min-heap on (time, seq).

    The sequence number breaks ties in insertion order, so two events due
    at the same microsecond always run in the same order: a run never
    depends on how the heap happens to be laid out.                     */
#ifndef GLSIM_EVQ_H
#define GLSIM_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t at; /* simulated µs */
    uint64_t seq;
    uint32_t kind; /* the caller's */
    uint32_t node;
    uint64_t arg; /* the caller's: an epoch, an index */
    void *ptr;    /* the caller's: a message in flight */
} ev_t;

typedef struct {
    ev_t *heap;
    size_t n, cap;
    uint64_t next_seq;
} evq_t;

void evq_init (evq_t *q);
void evq_free (evq_t *q);         /* the caller frees what ptr points to first */
int evq_push (evq_t *q, ev_t ev); /* sets ev.seq; 0, or -1 when out of memory */
bool evq_pop (evq_t *q, ev_t *ev);

#endif
