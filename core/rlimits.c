/*  rlimits.c -- resource limits by name (see rlimits.h). */
#include "rlimits.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int resource;
    const char *name;
} rlimit_names[] = {
    { RLIMIT_AS, "AS" },
    { RLIMIT_CORE, "CORE" },
    { RLIMIT_CPU, "CPU" },
    { RLIMIT_DATA, "DATA" },
    { RLIMIT_FSIZE, "FSIZE" },
    { RLIMIT_LOCKS, "LOCKS" },
    { RLIMIT_MEMLOCK, "MEMLOCK" },
    { RLIMIT_MSGQUEUE, "MSGQUEUE" },
    { RLIMIT_NICE, "NICE" },
    { RLIMIT_NOFILE, "NOFILE" },
    { RLIMIT_NPROC, "NPROC" },
    { RLIMIT_RSS, "RSS" },
    { RLIMIT_RTPRIO, "RTPRIO" },
    { RLIMIT_RTTIME, "RTTIME" },
    { RLIMIT_SIGPENDING, "SIGPENDING" },
    { RLIMIT_STACK, "STACK" },
};
_Static_assert(sizeof rlimit_names / sizeof rlimit_names[0] <= GL_RLIMITS_MAX,
               "GL_RLIMITS_MAX holds every limit");

static void put_rlim (char *out, size_t len, rlim_t v)
{
    if (v == RLIM_INFINITY)
        snprintf (out, len, "unlimited");
    else
        snprintf (out, len, "%llu", (unsigned long long) v);
}

size_t gl_rlimits_own (char out[GL_RLIMITS_MAX][GL_RLIMIT_STR_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++) {
        struct rlimit rl;
        if (getrlimit (rlimit_names[i].resource, &rl) < 0)
            continue;
        char cur[24], max[24];
        put_rlim (cur, sizeof cur, rl.rlim_cur);
        put_rlim (max, sizeof max, rl.rlim_max);
        snprintf (out[n++], GL_RLIMIT_STR_MAX, "%s=%s:%s", rlimit_names[i].name, cur, max);
    }
    return n;
}

static int get_rlim (const char *s, const char *end, rlim_t *v)
{
    if ((size_t) (end - s) == 9 && !strncmp (s, "unlimited", 9)) {
        *v = RLIM_INFINITY;
        return 0;
    }
    if (s == end || end - s > 20)
        return -1;
    unsigned long long n = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9' || n > (ULLONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (unsigned) (*p - '0');
    }
    if ((rlim_t) n == RLIM_INFINITY)
        return -1;
    *v = (rlim_t) n;
    return 0;
}

int gl_rlimit_parse (const char *s, int *resource, struct rlimit *rl, const char **why)
{
    const char *eq = strchr (s, '=');
    const char *colon = eq ? strchr (eq, ':') : NULL;
    if (!eq || !colon) {
        *why = "expected NAME=SOFT:HARD";
        return -1;
    }
    size_t i, n = sizeof rlimit_names / sizeof rlimit_names[0];
    for (i = 0; i < n; i++)
        if (strlen (rlimit_names[i].name) == (size_t) (eq - s) &&
            !strncmp (s, rlimit_names[i].name, (size_t) (eq - s)))
            break;
    if (i == n) {
        *why = "no such resource";
        return -1;
    }
    if (get_rlim (eq + 1, colon, &rl->rlim_cur) < 0 ||
        get_rlim (colon + 1, colon + strlen (colon), &rl->rlim_max) < 0) {
        *why = "a limit is a decimal number or \"unlimited\"";
        return -1;
    }
    if (rl->rlim_max != RLIM_INFINITY &&
        (rl->rlim_cur == RLIM_INFINITY || rl->rlim_cur > rl->rlim_max)) {
        *why = "the soft limit is above the hard one";
        return -1;
    }
    *resource = rlimit_names[i].resource;
    return 0;
}
