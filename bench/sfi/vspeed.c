/*  vspeed.c -- verifier speed in CPU time (bench/sfi.sh, next to
    glsfi-verify --stats, which times with the wall clock):

        vspeed MODULE RUNS

    Parses MODULE once (sfi_image_load), then runs sfi_verify_image on it
    1 + RUNS times, each timed with CLOCK_THREAD_CPUTIME_ID, and prints
        BYTES INSNS FIRST MIB_PER_S ...
    (code bytes, instructions checked, the speed of the first run, which
    also builds the verifier's tables once per process, then the speed of
    each further run). */
#include "elf.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: vspeed MODULE RUNS\n");
        return 2;
    }
    char err[512];
    sfi_image_t *img = sfi_image_load (argv[1], err, sizeof err);
    if (!img) {
        fprintf (stderr, "vspeed: %s: %s\n", argv[1], err);
        return 2;
    }
    int runs = atoi (argv[2]);
    uint64_t bytes = img->seg[img->code].filesz;
    sfi_verdict_t v;
    double t0 = cpu ();
    int unsafe = sfi_verify_image (img, &v);
    double first = cpu () - t0;
    if (unsafe) {
        fprintf (stderr, "vspeed: %s: unsafe: offset 0x%llx: %s: %s\n", argv[1],
                 (unsigned long long) v.off, v.insn, v.rule);
        return 1;
    }
    printf ("%llu %llu %.1f", (unsigned long long) bytes, (unsigned long long) v.insns,
            bytes / first / (1024.0 * 1024.0));
    for (int i = 0; i < runs; i++) {
        double t0 = cpu ();
        sfi_verify_image (img, &v);
        double t1 = cpu ();
        printf (" %.1f", bytes / (t1 - t0) / (1024.0 * 1024.0));
    }
    printf ("\n");
    sfi_image_destroy (&img);
    return 0;
}
