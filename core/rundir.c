/*  rundir.c -- where a client finds its agent when told nothing: the
    default runtime directory (conf.h).  On its own, away from the rest of
    conf.c, so that the programs and libraries that need only this (glx,
    libglunix) do not carry the configuration parser and its libraries. */
#include "conf.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void gl_default_runtime_dir (char *out, size_t len)
{
    const char *env = getenv ("GLUNIX_RUNTIME_DIR");
    const char *xdg = getenv ("XDG_RUNTIME_DIR");
    if (env && *env)
        gl_strlcpy (out, env, len);
    else if (getuid () == 0)
        snprintf (out, len, "/run/glunix");
    else if (xdg && *xdg)
        snprintf (out, len, "%s/glunix", xdg);
    else
        snprintf (out, len, "/tmp/glunix-%u", (unsigned) getuid ());
}
