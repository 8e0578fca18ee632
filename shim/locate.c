/*  locate.c -- where the libraries inside jobs find glunix's programs.
    See locate.h. */
#include "locate.h"
#include "str.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef GL_BINDIR
#define GL_BINDIR "/usr/local/bin"
#endif

int shim_locate (const char *prog, char *out, size_t len)
{
    Dl_info info;
    if (dladdr ((void *) shim_locate, &info) && info.dli_fname && strchr (info.dli_fname, '/')) {
        const char *slash = strrchr (info.dli_fname, '/');
        int n =
            snprintf (out, len, "%.*s/%s", (int) (slash - info.dli_fname), info.dli_fname, prog);
        if (n > 0 && (size_t) n < len && access (out, X_OK) == 0)
            return 0;
    }
    snprintf (out, len, "%s/%s", GL_BINDIR, prog);
    return access (out, X_OK) == 0 ? 0 : -1;
}
