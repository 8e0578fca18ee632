/*  evq.c -- the event queue (see evq.h). */
#include "evq.h"

#include <stdlib.h>

static bool before (const ev_t *a, const ev_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void evq_init (evq_t *q)
{
    q->heap = NULL;
    q->n = q->cap = 0;
    q->next_seq = 0;
}

void evq_free (evq_t *q)
{
    free (q->heap);
    evq_init (q);
}

int evq_push (evq_t *q, ev_t ev)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        ev_t *heap = realloc (q->heap, cap * sizeof *heap);
        if (!heap)
            return -1;
        q->heap = heap;
        q->cap = cap;
    }
    ev.seq = q->next_seq++;
    size_t i = q->n++;
    while (i > 0 && before (&ev, &q->heap[(i - 1) / 2])) {
        q->heap[i] = q->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->heap[i] = ev;
    return 0;
}

bool evq_pop (evq_t *q, ev_t *ev)
{
    if (!q->n)
        return false;
    *ev = q->heap[0];
    ev_t last = q->heap[--q->n];
    size_t i = 0, n = q->n;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before (&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!before (&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (n)
        q->heap[i] = last;
    return true;
}
