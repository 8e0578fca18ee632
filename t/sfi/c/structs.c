/*  structs.c -- structs by value and by pointer, copies, a linked list,
    pointers in initialized data (relocations), bit-fields. */
#include "glsfi.h"

struct point {
    long x, y;
};
struct big {
    long v[12];
    char name[20];
};
struct node {
    struct node *next;
    int key;
    short tag;
    char c;
};
struct flags {
    unsigned a : 3, b : 7, c : 1, d : 21;
};

static const char *const names[] = { "zero", "one", "two", "three", "four" };
static struct big global_big;

static struct point add_points (struct point p, struct point q)
{
    return (struct point){ p.x + q.x, p.y * q.y };
}

static __attribute__ ((noinline)) struct big make_big (long seed)
{
    struct big b;
    for (int i = 0; i < 12; i++)
        b.v[i] = seed * (i + 1);
    for (int i = 0; i < 19; i++)
        b.name[i] = (char) ('a' + (seed + i) % 26);
    b.name[19] = 0;
    return b;
}

//@ points 7 9
GLSFI_EXPORT long points (long a, long b)
{
    struct point p = { a, b }, acc = { 0, 1 };
    for (int i = 0; i < 10; i++) {
        acc = add_points (acc, p);
        p.x++;
        p.y = (p.y % 5) + 1;
    }
    return acc.x * 1000003 + acc.y;
}

//@ bigcopy 5
GLSFI_EXPORT long bigcopy (long seed)
{
    struct big b = make_big (seed);
    global_big = b;
    struct big c = global_big;
    c.v[3] += 1;
    long s = 0;
    for (int i = 0; i < 12; i++)
        s += c.v[i] * (i + 1) - b.v[i];
    return s * 100 + (long) strlen (c.name) + c.name[4];
}

//@ list 1000
GLSFI_EXPORT long list (long n)
{
    struct node *head = NULL;
    for (long i = 0; i < n; i++) {
        struct node *e = malloc (sizeof *e);
        e->key = (int) (i * 37 % 101);
        e->tag = (short) i;
        e->c = (char) i;
        e->next = head;
        head = e;
    }
    /* reverse it, then sum with position weights */
    struct node *prev = NULL;
    while (head) {
        struct node *nx = head->next;
        head->next = prev;
        prev = head;
        head = nx;
    }
    long s = 0, pos = 0;
    for (struct node *e = prev; e; pos++) {
        s += e->key * pos + e->tag - e->c;
        struct node *nx = e->next;
        free (e);
        e = nx;
    }
    return s;
}

//@ named 3
//@ named 0
GLSFI_EXPORT long named (long i)
{
    const char *s = names[i % 5];
    return (long) strlen (s) * 256 + s[0];
}

//@ bitfields 12345
GLSFI_EXPORT long bitfields (long v)
{
    struct flags f = { 0 };
    f.a = (unsigned) v;
    f.b = (unsigned) (v >> 3);
    f.c = (unsigned) (v >> 10);
    f.d = (unsigned) (v * 977);
    struct flags g = f;
    g.b += 5;
    return (long) f.a + f.b * 10 + f.c * 1000 + (long) f.d * 10000 + g.b;
}
