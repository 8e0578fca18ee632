/*  glsfi-run -- call one function of a sandbox module, from the shell.

        glsfi-run [--budget MS] [--heap MB] [--stack KB] [-c COUNT] MODULE FUNCTION [ARGS...]

    Loads MODULE (verifying it), calls FUNCTION with up to six integer
    arguments and prints what it returned.  An argument s:TEXT is copied,
    NUL-terminated, into the module's scratch area and passed as a module
    pointer.  Host-call slot 1 is write (fd 1 or 2 only).  With -c, calls
    it COUNT times and prints the time per call: the gate benchmark.

    Exit status: 0 the call returned; 1 the module faulted, trapped or ran
    out of time; 2 usage, file or verification errors. */

#include "fd.h"
#include "loader.h"
#include "str.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 9

static const char *usage_text =
    "usage: glsfi-run [--budget MS] [--heap MB] [--stack KB] [-c COUNT] MODULE FUNCTION [ARGS...]\n"
    "  ARGS are integers (decimal, 0x hex, negative) or s:TEXT, passed as a pointer to a copy\n"
    "  --budget MS   end the call after MS milliseconds (default: no limit)\n"
    "  --heap MB     heap size (default 64)\n"
    "  --stack KB    stack size (default 1024)\n"
    "  -c COUNT      call COUNT times and print the time per call\n";

static int usage (void)
{
    fputs (usage_text, stderr);
    return 2;
}

/* Host call 1: write (fd, buf, len) to standard output or error only. */
static uint64_t host_write (uint64_t fd, uint64_t buf, uint64_t len, uint64_t a3, uint64_t a4,
                            uint64_t a5)
{
    (void) a3, (void) a4, (void) a5;
    if (fd != 1 && fd != 2)
        return (uint64_t) -1;
    const char *p = sfi_module_ptr (sfi_current (), buf, len);
    if (!p)
        return (uint64_t) -1;
    return gl_write_all ((int) fd, p, len) == 0 ? len : (uint64_t) -1;
}

/* An option's value: decimal digits only, at most max. */
static int parse_number (const char *s, unsigned long long max, unsigned long long *out)
{
    uint64_t v;
    if (!gl_parse_u64 (&s, &v) || *s || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_arg (const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-') {
        long long v = strtoll (s, &end, 0);
        if (errno || end == s || *end)
            return -1;
        *out = (uint64_t) v;
    }
    else {
        unsigned long long v = strtoull (s, &end, 0);
        if (errno || end == s || *end)
            return -1;
        *out = v;
    }
    return 0;
}

/* The thread's CPU time: other load on the machine takes turns with this
   process without inflating the time per call. */
static long long cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static const char *kind (int rc)
{
    switch (rc) {
        case SFI_EFAULT: return "fault";
        case SFI_ETRAP: return "trap";
        case SFI_ETIME: return "timeout";
        default: return "error";
    }
}

int main (int argc, char **argv)
{
    static const struct option longopts[] = { { "budget", required_argument, NULL, 'b' },
                                              { "heap", required_argument, NULL, 'H' },
                                              { "stack", required_argument, NULL, 'S' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    sfi_limits_t lim = { 0 };
    unsigned long long count = 0, v;
    int c;
    while ((c = getopt_long (argc, argv, "+c:h", longopts, NULL)) != -1) {
        switch (c) {
            case 'b':
                if (parse_number (optarg, 86400000ULL, &v) < 0)
                    return fprintf (stderr, "glsfi-run: bad --budget '%s'\n", optarg), 2;
                lim.budget_ms = (unsigned) v;
                break;
            case 'H':
                if (parse_number (optarg, 3072, &v) < 0)
                    return fprintf (stderr, "glsfi-run: bad --heap '%s'\n", optarg), 2;
                lim.heap_size = (size_t) v << 20;
                break;
            case 'S':
                if (parse_number (optarg, 1 << 20, &v) < 0 || v == 0)
                    return fprintf (stderr, "glsfi-run: bad --stack '%s'\n", optarg), 2;
                lim.stack_size = (size_t) v << 10;
                break;
            case 'c':
                if (parse_number (optarg, 1ULL << 40, &count) < 0 || count == 0)
                    return fprintf (stderr, "glsfi-run: bad -c '%s'\n", optarg), 2;
                break;
            case 'h': fputs (usage_text, stdout); return 0;
            default: return usage ();
        }
    }
    if (argc - optind < 2)
        return usage ();
    const char *path = argv[optind], *fname = argv[optind + 1];
    int nargs = argc - optind - 2;
    if (nargs > 6)
        return fprintf (stderr, "glsfi-run: at most 6 arguments\n"), 2;

    char err[512];
    sfi_module_t *m = sfi_module_load (path, &lim, err, sizeof err);
    if (!m)
        return fprintf (stderr, "glsfi-run: %s: %s\n", path, err), 2;
    int64_t fn = sfi_module_lookup (m, fname);
    if (fn < 0) {
        fprintf (stderr, "glsfi-run: %s: no exported function '%s'\n", path, fname);
        sfi_module_destroy (&m);
        return 2;
    }
    sfi_module_export (m, 1, (void *) host_write);

    uint64_t args[6] = { 0 };
    size_t scratch_len, used = 0;
    char *scratch = sfi_module_scratch (m, &scratch_len);
    for (int i = 0; i < nargs; i++) {
        const char *a = argv[optind + 2 + i];
        if (!strncmp (a, "s:", 2)) {
            size_t n = strlen (a + 2) + 1;
            if (n > scratch_len - used) {
                fprintf (stderr,
                         "glsfi-run: string arguments longer than the scratch area (%zu bytes)\n",
                         scratch_len);
                sfi_module_destroy (&m);
                return 2;
            }
            memcpy (scratch + used, a + 2, n);
            args[i] = (uint64_t) (uintptr_t) (scratch + used);
            used += (n + 15) & ~(size_t) 15;
            if (used > scratch_len)
                used = scratch_len;
        }
        else if (parse_arg (a, &args[i]) < 0) {
            fprintf (stderr, "glsfi-run: argument '%s' is neither an integer nor s:TEXT\n", a);
            sfi_module_destroy (&m);
            return 2;
        }
    }

    uint64_t ret = 0;
    int rc = SFI_OK;
    if (!count)
        rc = sfi_module_call (m, fn, args, nargs, &ret);
    else {
        /* Median of BATCHES batches: a stray interrupt spoils one batch,
           not the result. */
        unsigned long long per = count / BATCHES ? count / BATCHES : 1;
        double ns[BATCHES];
        rc = sfi_module_call (m, fn, args, nargs, &ret); /* warm up */
        for (int b = 0; b < BATCHES && rc == SFI_OK; b++) {
            long long t0 = cpu_ns ();
            for (unsigned long long i = 0; i < per && rc == SFI_OK; i++)
                rc = sfi_module_call (m, fn, args, nargs, &ret);
            ns[b] = (double) (cpu_ns () - t0) / (double) per;
        }
        if (rc == SFI_OK) {
            qsort (ns, BATCHES, sizeof ns[0], cmp_double);
            printf ("%" PRIu64 "\n", ret);
            printf ("%.1f ns per call (median of %d batches of %llu calls)\n", ns[BATCHES / 2],
                    BATCHES, per);
            sfi_module_destroy (&m);
            return 0;
        }
    }
    if (rc != SFI_OK) {
        fprintf (stderr, "glsfi-run: %s: %s: %s\n", fname, kind (rc), sfi_module_fault (m));
        sfi_module_destroy (&m);
        return rc == SFI_EARG ? 2 : 1;
    }
    printf ("%" PRIu64 "\n", ret);
    sfi_module_destroy (&m);
    return 0;
}
