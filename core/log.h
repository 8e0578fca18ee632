/*  log.h -- one line per event, to stderr or a file.

    Lines look like "2026-11-26T19:40:45.123Z glpeer[a] info: joined 3 members".
    The agent logs and goes on; only start-up errors end the program. */
#ifndef GL_LOG_H
#define GL_LOG_H

#include <stdio.h>

typedef enum { GL_LOG_ERROR = 0, GL_LOG_WARNING, GL_LOG_INFO, GL_LOG_DEBUG } gl_log_level_t;

void gl_log_init (const char *ident, FILE *stream, gl_log_level_t level);
int gl_log_level_parse (const char *text, gl_log_level_t *level);
void gl_log (gl_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define gl_error(...)   gl_log (GL_LOG_ERROR, __VA_ARGS__)
#define gl_warning(...) gl_log (GL_LOG_WARNING, __VA_ARGS__)
#define gl_info(...)    gl_log (GL_LOG_INFO, __VA_ARGS__)
#define gl_debug(...)   gl_log (GL_LOG_DEBUG, __VA_ARGS__)

#endif
