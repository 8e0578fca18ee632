/*  rundir.c -- where a client finds its agent when told nothing: the
    default runtime directory (conf.h): the user's own agent's when one
    runs, else the machine's (root's, which serves every local user).  On its own, away from the rest of
    conf.c, so that the programs and libraries that need only this (glx,
    libglunix) do not carry the configuration parser and its libraries. */
#include "conf.h"
#include "str.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define GL_MACHINE_RUNTIME_DIR "/run/glunix"

static bool has_socket (const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf (path, sizeof path, "%s/glpeer.sock", dir);
    return stat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

void gl_default_runtime_dir (char *out, size_t len)
{
    const char *env = getenv ("GLUNIX_RUNTIME_DIR");
    const char *xdg = getenv ("XDG_RUNTIME_DIR");
    if (env && *env)
        gl_strlcpy (out, env, len);
    else if (getuid () == 0)
        snprintf (out, len, GL_MACHINE_RUNTIME_DIR);
    else {
        if (xdg && *xdg)
            snprintf (out, len, "%s/glunix", xdg);
        else
            snprintf (out, len, "/tmp/glunix-%u", (unsigned) getuid ());
        /* no agent of our own, but the machine's: that one serves us */
        if (!has_socket (out) && has_socket (GL_MACHINE_RUNTIME_DIR))
            snprintf (out, len, GL_MACHINE_RUNTIME_DIR);
    }
}
