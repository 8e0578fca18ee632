/*  glrestore -- the restorer: an image of a checkpointed process becomes
    this process (glrestore(8); the contract with the agent is
    checkpoint/ckpt_proto.h, the work checkpoint/restore.h).

    glrestore [-n] [-v] [IMAGE]

    The image is read from IMAGE, or from the descriptor GLUNIX_IMAGE_FD
    names (as the agent starts it), or from standard input.  On any
    problem with the image or with this machine it says
    "glrestore: <reason>" and exits GL_RESTORE_FAILED (120) before it
    has changed anything of the process. */
#include "ckpt_proto.h"
#include "restore.h"
#include "str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage (FILE *to)
{
    fprintf (to,
             "usage: glrestore [-n] [-v] [IMAGE]\n"
             "  -n  read and check the image and this machine, restore nothing\n"
             "  -v  say what was read and how long staging it took\n"
             "The image comes from IMAGE, else from the descriptor $%s names, else stdin.\n",
             GL_IMAGE_FD_ENV);
}

static int fail (const char *why)
{
    fprintf (stderr, "glrestore: %s\n", why);
    return GL_RESTORE_FAILED;
}

int main (int argc, char **argv)
{
    restore_opts_t o = { .sock = getenv (GL_CKPT_SOCK_ENV), .gpid = getenv ("GLUNIX_GPID") };
    int c;
    while ((c = getopt (argc, argv, "nvh")) != -1) {
        switch (c) {
            case 'n': o.check_only = true; break;
            case 'v': o.verbose = true; break;
            case 'h': usage (stdout); return 0;
            default: usage (stderr); return GL_RESTORE_FAILED;
        }
    }
    if (argc - optind > 1) {
        usage (stderr);
        return GL_RESTORE_FAILED;
    }
    int fd = 0;
    char err[512];
    const char *env = getenv (GL_IMAGE_FD_ENV);
    if (optind < argc) {
        fd = open (argv[optind], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf (err, sizeof err, "%s: %s", argv[optind], strerror (errno));
            return fail (err);
        }
    }
    else if (env) {
        uint64_t v;
        const char *at = env;
        if (!gl_parse_u64 (&at, &v) || *at || v > 1000000 || fcntl ((int) v, F_GETFD) < 0) {
            snprintf (err, sizeof err, "%s=%s is not an open descriptor", GL_IMAGE_FD_ENV, env);
            return fail (err);
        }
        fd = (int) v;
    }
    if (restore_run (fd, &o, err, sizeof err))
        return fail (err);
    if (o.check_only) {
        fprintf (stderr, "glrestore: the image is whole and can be restored here\n");
        return 0;
    }
    return fail ("the restore returned");
}
