/*  strings.c -- the runtime's string functions at many sizes and
    alignments, overlapping moves, and the builtins glsfi.h maps. */
#include "glsfi.h"

static unsigned long hash (const unsigned char *p, size_t n, unsigned long h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211UL;
    return h;
}

//@ copies 300
GLSFI_EXPORT long copies (long max)
{
    unsigned char *a = malloc (1024), *b = malloc (1024);
    unsigned long h = 14695981039346656037UL;
    for (long n = 0; n <= max; n += (n < 40 ? 1 : 13))
        for (int off = 0; off < 8; off += 3) {
            for (int i = 0; i < 1024; i++) {
                a[i] = (unsigned char) (i * 7 + n);
                b[i] = (unsigned char) (i * 3);
            }
            memcpy (b + off, a + 2 * off, (size_t) n);
            h = hash (b, 1024, h);
            memmove (a + off + 5, a + off, (size_t) n); /* overlapping up */
            h = hash (a, 1024, h);
            memmove (a + off, a + off + 9, (size_t) n); /* overlapping down */
            h = hash (a, 1024, h);
            memset (b + off, (int) n, (size_t) n);
            h = hash (b, 1024, h);
            int c = memcmp (a, b, (size_t) n);
            h += (unsigned long) (c > 0) - (c < 0);
        }
    free (a);
    free (b);
    return (long) h;
}

//@ strs s:hello,sandboxed,world
GLSFI_EXPORT long strs (const char *in)
{
    char buf[256], tmp[64];
    long r = (long) strlen (in);
    strcpy (buf, in);
    strcat (buf, "+suffix");
    r = r * 31 + (long) strlen (buf);
    const char *comma = strchr (buf, ',');
    r = r * 31 + (comma ? comma - buf : -1);
    r = r * 31 + (strrchr (buf, ',') - buf);
    r = r * 31 + (strchr (buf, 'Q') == NULL);
    r = r * 31 + (strcmp (in, "hello") > 0) + 2 * (strcmp ("abc", "abd") < 0);
    r = r * 31 + (strncmp (buf, in, strlen (in)) == 0);
    strncpy (tmp, in, sizeof tmp);
    r = r * 31 + (long) strlen (tmp);
    char *d = strdup (buf);
    r = r * 31 + (d[3] == buf[3]) + (long) (memchr (d, 'w', strlen (d)) != NULL);
    free (d);
    for (size_t i = 0; i < strlen (buf); i++)
        r = r * 3 + buf[i];
    return r;
}

//@ reverse s:The_quick_brown_fox
GLSFI_EXPORT long reverse (char *s)
{
    size_t n = strlen (s);
    for (size_t i = 0; i < n / 2; i++) {
        char t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
    return (long) hash ((const unsigned char *) s, n, 7);
}

//@ lengths 100
GLSFI_EXPORT long lengths (long max)
{
    char *buf = malloc (256);
    long s = 0;
    for (long n = 0; n < max && n < 200; n++)
        for (int off = 0; off < 16; off++) {
            memset (buf, 'x', 256);
            buf[off + n] = 0;
            s += (long) strlen (buf + off) * (off + 1);
        }
    free (buf);
    return s;
}

//@ greet s:world
GLSFI_EXPORT long greet (const char *who)
{
    char line[64] = "hi ";
    strcat (line, who);
    strcat (line, "\n");
    return glsfi_write (1, line, strlen (line)); /* a host call in tail position */
}
