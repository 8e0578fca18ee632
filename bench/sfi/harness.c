/*  harness.c -- time `long run(long n)` of one workload, built three ways:

        -DMODE_NATIVE  linked with the native objects of the workload
        -DMODE_SFI     loads a glsfi module (libglsfi.a) and calls it through the gate
        -DMODE_WASM    linked with the wasm2c output of the workload (module name m)

        harness [MODULE] N CALLS

    Calls run(N) once to warm up (it also makes the data the zlib and bzip2
    workloads keep), then CALLS times, and prints
        checksum C
        ns T1 T2 ...
    with each call's CPU time of this thread (CLOCK_THREAD_CPUTIME_ID: a
    preemption by another process on the machine does not count).  Every
    call must return the warm-up call's checksum: exit 1 if not. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(MODE_SFI)
#include "loader.h"
static sfi_module_t *mod;
static int64_t fn;
static long call (long n)
{
    uint64_t a = (uint64_t) n, r = 0;
    int rc = sfi_module_call (mod, fn, &a, 1, &r);
    if (rc != SFI_OK) {
        fprintf (stderr, "harness: run(%ld): error %d: %s\n", n, rc, sfi_module_fault (mod));
        exit (1);
    }
    return (long) r;
}
#elif defined(MODE_WASM)
#include "wasm-rt-impl.h"
#include "m_w2c.h"
static Z_m_instance_t inst;
static long call (long n)
{
    return (long) (int32_t) Z_mZ_run (&inst, (u32) n);
}
#else
long run (long n);
static long (*volatile run_p) (long) = run;
static long call (long n)
{
    return run_p (n);
}
#endif

static uint64_t now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int main (int argc, char **argv)
{
    int a = 1;
#if defined(MODE_SFI)
    if (argc != 4) {
        fprintf (stderr, "usage: %s MODULE N CALLS\n", argv[0]);
        return 2;
    }
    char err[512];
    sfi_limits_t lim = { 256u << 20, 8u << 20, 0 };
    mod = sfi_module_load (argv[a++], &lim, err, sizeof err);
    if (!mod) {
        fprintf (stderr, "harness: %s: %s\n", argv[1], err);
        return 2;
    }
    fn = sfi_module_lookup (mod, "run");
    if (fn < 0) {
        fprintf (stderr, "harness: %s: no function run\n", argv[1]);
        return 2;
    }
#else
    if (argc != 3) {
        fprintf (stderr, "usage: %s N CALLS\n", argv[0]);
        return 2;
    }
#endif
#if defined(MODE_WASM)
    wasm_rt_init ();
    Z_m_init_module ();
    Z_m_instantiate (&inst);
    wasm_rt_trap_t t = wasm_rt_impl_try ();
    if (t) {
        fprintf (stderr, "harness: wasm trap: %s\n", wasm_rt_strerror (t));
        return 1;
    }
    Z_mZ__initialize (&inst);
#endif
    long n = atol (argv[a]), calls = atol (argv[a + 1]);
    long c0 = call (n);
    printf ("checksum %ld\nns", c0);
    for (long i = 0; i < calls; i++) {
        uint64_t t0 = now_ns ();
        long c = call (n);
        uint64_t t1 = now_ns ();
        if (c != c0) {
            printf ("\n");
            fprintf (stderr, "harness: call %ld returned %ld, the first %ld\n", i + 1, c, c0);
            return 1;
        }
        printf (" %" PRIu64, t1 - t0);
    }
    printf ("\n");
    return 0;
}
