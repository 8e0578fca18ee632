/*  log.c -- see log.h. */
#include "log.h"
#include "str.h"
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static char log_ident[96] = "glunix";
static FILE *log_stream;
static gl_log_level_t log_level = GL_LOG_INFO;
static const char *level_names[] = { "error", "warning", "info", "debug" };

void gl_log_init (const char *ident, FILE *stream, gl_log_level_t level)
{
    gl_strlcpy (log_ident, ident, sizeof log_ident);
    log_stream = stream;
    log_level = level;
}

int gl_log_level_parse (const char *text, gl_log_level_t *level)
{
    for (int i = 0; i <= GL_LOG_DEBUG; i++)
        if (strcasecmp (text, level_names[i]) == 0) {
            *level = (gl_log_level_t) i;
            return 0;
        }
    return -1;
}

void gl_log (gl_log_level_t level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    FILE *out = log_stream ? log_stream : stderr;
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    char stamp[32];
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Build the whole line first so concurrent writers never interleave. */
    char line[2048];
    int n = snprintf (line, sizeof line, "%s.%03ldZ %s %s: ", stamp, (long) (tv.tv_usec / 1000),
                      log_ident, level_names[level]);
    va_list ap;
    va_start (ap, fmt);
    if (n > 0 && (size_t) n < sizeof line)
        vsnprintf (line + n, sizeof line - (size_t) n, fmt, ap);
    va_end (ap);
    fprintf (out, "%s\n", line);
    fflush (out);
}
