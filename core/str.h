/*  str.h -- the few string and number helpers that libc lacks.

    Every module uses these instead of its own copy. */
#ifndef GL_STR_H
#define GL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* True when the two strings are the same. */
static inline bool gl_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}

/* Copies src into dst of size bytes, cutting what does not fit, and
   always ends it with a NUL (when size > 0).  Returns strlen (src): the
   copy was cut when that is size or more (BSD strlcpy). */
size_t gl_strlcpy (char *dst, const char *src, size_t size);

/* Reads the decimal digits at *s into *out and moves *s past them.
   False, with *s unmoved, when there is no digit or the number does not
   fit 64 bits.  What follows the digits is the caller's to check. */
bool gl_parse_u64 (const char **s, uint64_t *out);

/* A duration as cluster.conf and the command lines write it: "1500",
   "1500ms", "2s", "5m", "1h" -> milliseconds.  0, or -1 when it is not
   one (or does not fit 64 bits). */
int gl_parse_duration_ms (const char *text, uint64_t *ms);

/* True when s ends with tail. */
static inline bool gl_ends_with (const char *s, const char *tail)
{
    size_t a = strlen (s), b = strlen (tail);
    return a >= b && strcmp (s + a - b, tail) == 0;
}

/* True when all n bytes at p are zero. */
bool gl_all_zero (const void *p, size_t n);

/* FNV-1a, 64 bits, of n bytes: the hash of names in tables and of a
   runtime directory in its view's name (core/view.h). */
uint64_t gl_fnv1a (const void *p, size_t n);

/* Writes s to f as a JSON string: quoted, with '"', '\' and control
   characters escaped.  Other bytes go as they are (UTF-8 stays UTF-8). */
void gl_json_str (FILE *f, const char *s);

#endif
