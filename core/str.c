/*  str.c -- string and number helpers (see str.h). */
#include "str.h"

#include <string.h>

size_t gl_strlcpy (char *dst, const char *src, size_t size)
{
    size_t len = strlen (src);
    if (size > 0) {
        size_t n = len < size ? len : size - 1;
        memcpy (dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

bool gl_parse_u64 (const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned) (*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    *s = p;
    return true;
}

int gl_parse_duration_ms (const char *text, uint64_t *ms)
{
    uint64_t v;
    const char *unit = text;
    if (!gl_parse_u64 (&unit, &v))
        return -1;
    uint64_t mult;
    if (!*unit || !strcmp (unit, "ms"))
        mult = 1;
    else if (!strcmp (unit, "s"))
        mult = 1000;
    else if (!strcmp (unit, "m"))
        mult = 60000;
    else if (!strcmp (unit, "h"))
        mult = 3600000;
    else
        return -1;
    if (v > UINT64_MAX / mult)
        return -1;
    *ms = v * mult;
    return 0;
}

bool gl_all_zero (const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

void gl_json_str (FILE *f, const char *s)
{
    fputc ('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\')
            fprintf (f, "\\%c", c);
        else if (c < 0x20)
            fprintf (f, "\\u%04x", c);
        else
            fputc (c, f);
    }
    fputc ('"', f);
}

uint64_t gl_fnv1a (const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}
