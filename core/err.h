/*  err.h -- how a glunix function says what went wrong.

    Two conventions, and no others:

    1. int f (..., char *err, size_t errlen): 0, or -1 with a message in
       err (errlen bytes, may be 0) that names what is at fault: the file,
       the field, the node, the job.  For everything that meets the world
       outside the process (files, configuration, sockets, processes),
       where the user needs the details.  Constructors that return NULL
       take err and errlen the same way.  gl_err writes the message.

    2. int f (..., const char **why): 0, or -1 (or false) with *why set to
       a string the callee owns: a constant, or its own buffer that stays
       valid until its next call; the caller never frees it.  For decoders
       and judges on hot paths, which refuse often and must not allocate:
       the wire codec, a slot refusing an offer.  gl_why sets it.

    Either way, the first failure is the one reported: a function stops at
    it.  The sandbox verifier's sfi_verdict_t is its result, not an error. */
#ifndef GL_ERR_H
#define GL_ERR_H

#include <stddef.h>

/* Formats the message into err (when errlen > 0) and returns -1. */
int gl_err (char *err, size_t errlen, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* Sets *why (when why is not NULL) to reason and returns -1. */
static inline int gl_why (const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -1;
}

#endif
