/*  capture_impl.h -- what capture.c (one process's checkpoint) and
    tree.c (a tree of them as one) share inside libglshim.so: the few
    handler-safe helpers both need, kept once in capture.c.  Not an
    interface: capture.h and tree.h are. */
#ifndef GL_CAPTURE_IMPL_H
#define GL_CAPTURE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A line being built in a fixed buffer; past its end, cut. */
typedef struct {
    char *p;
    size_t n, cap;
} sb_t;

void sb_s (sb_t *b, const char *s);
void sb_u (sb_t *b, uint64_t v);
void sb_x (sb_t *b, uint64_t v); /* hexadecimal, no 0x */
uint64_t now_ns (void);          /* CLOCK_MONOTONIC */
bool write_all (int fd, const void *p, size_t n);
uint64_t parse_num (const char *s, int base, const char **end);
/* The numbered entries of a /proc directory: how many (max + 1: more
   than max), or -1. */
int list_numbers (const char *dir, int *out, int max, int *dirfd_out);
/* One protocol line: w, then " rest" when rest is not NULL. */
void say (int s, const char *w, const char *rest);

#endif
