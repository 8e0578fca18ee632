/*  glsfi_verify.c -- glsfi-verify: is a sandbox module safe to load?

        glsfi-verify [-q] [--stats] MODULE...

    Parses and verifies each module as the loader would (sfi/elf.c and
    sfi/verify.c, see sfi/SCHEME.md).  Exit 0: all safe; 1: some module is
    unsafe (one line each: `MODULE: offset 0x...: INSN: RULE`); 2: usage,
    I/O or ELF errors, which win over 1.  See glsfi-verify(1). */
#include "elf.h"
#include "verify.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void usage (FILE *fp)
{
    fprintf (fp, "usage: glsfi-verify [-q] [--stats] MODULE...\n"
                 "  -q        print nothing; the exit status tells\n"
                 "  --stats   print code bytes, instructions and verification speed\n"
                 "exit status: 0 all safe, 1 some module unsafe, 2 usage, I/O or ELF error\n");
}

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int main (int argc, char **argv)
{
    int quiet = 0, stats = 0, first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (!strcmp (a, "--")) {
            first++;
            break;
        }
        if (!strcmp (a, "-q"))
            quiet = 1;
        else if (!strcmp (a, "--stats"))
            stats = 1;
        else if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
            usage (stdout);
            return 0;
        }
        else {
            fprintf (stderr, "glsfi-verify: unknown option '%s'\n", a);
            usage (stderr);
            return 2;
        }
    }
    if (first == argc) {
        usage (stderr);
        return 2;
    }
    int status = 0;
    for (int i = first; i < argc; i++) {
        const char *path = argv[i];
        char err[512];
        sfi_image_t *img = sfi_image_load (path, err, sizeof err);
        if (!img) {
            fprintf (stderr, "glsfi-verify: %s: %s\n", path, err);
            status = 2;
            continue;
        }
        sfi_verdict_t v;
        double t0 = now ();
        int unsafe = sfi_verify_image (img, &v);
        double secs = now () - t0;
        uint64_t bytes = img->seg[img->code].memsz;
        if (unsafe) {
            if (!quiet)
                printf ("%s: offset 0x%llx: %s: %s\n", path, (unsigned long long) v.off, v.insn,
                        v.rule);
            if (status == 0)
                status = 1;
        }
        else if (!quiet)
            printf ("%s: ok\n", path);
        if (stats && !quiet)
            printf ("%s: %llu bytes, %llu instructions, %.1f MiB/s%s\n", path,
                    (unsigned long long) bytes, (unsigned long long) v.insns,
                    secs > 0 ? bytes / secs / (1024.0 * 1024.0) : 0.0,
                    unsafe ? " (stopped at the violation)" : "");
        sfi_image_destroy (&img);
    }
    fflush (stdout);
    if (ferror (stdout)) {
        fprintf (stderr, "glsfi-verify: cannot write to standard output\n");
        return 2;
    }
    return status;
}
