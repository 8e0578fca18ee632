/*  locate.h -- where the libraries inside jobs find glunix's programs.

    A build tree holds the programs and the libraries side by side (make
    puts glx, glpeer, libglunix.so.1 and libglshim.so in one directory);
    an installed glunix keeps its programs in BINDIR.  So a library looks
    beside itself first, then in BINDIR: tests run the build tree, users
    the installed one, and neither needs telling. */
#ifndef GL_LOCATE_H
#define GL_LOCATE_H

#include <stddef.h>

/* The path of program prog into out (len bytes).  0, or -1 when it is
   nowhere (out then holds the BINDIR path that was tried). */
int shim_locate (const char *prog, char *out, size_t len);

#endif
