/*  test_sfi_loader.c -- the loader and its gates, with real modules.

    The modules are hand-written assembly in t/sfi/mods/, assembled and
    linked here with as, ld and sfi/glsfi.ld (the test is skipped when
    as or ld is not installed; a module that does not assemble or link is
    a failure).  Checked: arguments and results through the gate,
    host calls and calls back from them, every kind of fault ending the
    call and leaving the host running, time budgets (in module code and in
    a host call), many modules at once, verification refusing a module,
    the pointer checks, faults outside modules still reaching the previous
    handler, two threads, and the gate's speed (printed, with a loose
    bound: it is a benchmark, not a test of this machine). */

#include "loader.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SRCDIR
#define SRCDIR "."
#endif
#ifndef BUILDDIR
#define BUILDDIR "."
#endif

static char dir[] = "/tmp/test_sfi_loader-XXXXXX";
static char basic_path[512], bad_path[512];

static long long now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* True when an executable named tool is in a directory of PATH. */
static bool on_path (const char *tool)
{
    const char *path = getenv ("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn (path, ":");
        char file[1024];
        snprintf (file, sizeof file, "%.*s/%s", (int) n, n ? path : ".", tool);
        if (access (file, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/* as + ld, as SCHEME.md links a module; 0 or -1 (their messages are on
   stderr). */
static int build (const char *name, char *out, size_t outlen)
{
    char cmd[2048];
    snprintf (out, outlen, "%s/%s.so", dir, name);
    snprintf (cmd, sizeof cmd,
              "as -o %s/%s.o %s/t/sfi/mods/%s.s && "
              "ld -pie --no-dynamic-linker -z text -z noexecstack -z separate-code "
              "-T %s/sfi/glsfi.ld -o %s %s/%s.o",
              dir, name, SRCDIR, name, SRCDIR, out, dir, name);
    return system (cmd) == 0 ? 0 : -1;
}

static sfi_module_t *load (unsigned budget_ms)
{
    char err[512] = "";
    sfi_limits_t lim = { .heap_size = 1 << 20, .stack_size = 64 << 10, .budget_ms = budget_ms };
    sfi_module_t *m = sfi_module_load (basic_path, &lim, err, sizeof err);
    if (!m)
        fprintf (stderr, "load %s: %s\n", basic_path, err);
    return m;
}

static int call (sfi_module_t *m, const char *fn, uint64_t a0, uint64_t a1, uint64_t *ret)
{
    uint64_t args[2] = { a0, a1 };
    int64_t off = sfi_module_lookup (m, fn);
    if (off < 0) {
        fprintf (stderr, "no function %s\n", fn);
        return 99;
    }
    return sfi_module_call (m, off, args, 2, ret);
}

static uint64_t call_ok (sfi_module_t *m, const char *fn, uint64_t a0, uint64_t a1)
{
    uint64_t ret = 0xdeadbeef;
    int rc = call (m, fn, a0, a1, &ret);
    CHECK_EQ (rc, SFI_OK);
    return ret;
}

/* The same without a check of its own, for loops: the result, or -1. */
static uint64_t call_quiet (sfi_module_t *m, const char *fn, uint64_t a0, uint64_t a1)
{
    uint64_t ret = 0;
    return call (m, fn, a0, a1, &ret) == SFI_OK ? ret : (uint64_t) -1;
}

/* The call fails with code and its description holds want. */
static void call_fails (sfi_module_t *m, const char *fn, uint64_t a0, int code, const char *want)
{
    uint64_t ret = 0;
    int rc = call (m, fn, a0, 0, &ret);
    CHECK_EQ (rc, code);
    const char *why = sfi_module_fault (m);
    if (!strstr (why, want)) {
        fprintf (stderr, "%s(0x%llx): fault '%s' lacks '%s'\n", fn, (unsigned long long) a0, why,
                 want);
        CHECK (0);
    }
    /* the host and the module both go on */
    CHECK_EQ (call_ok (m, "add", 40, 2), 42);
}

/* ---- host functions ------------------------------------------------------ */

static sfi_module_t *expected;
static int host_calls;

static uint64_t host_mix (uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
    (void) c, (void) d, (void) e, (void) f;
    host_calls++;
    CHECK (sfi_current () == expected);
    return a * 1000 + b;
}

/* Calls back into the module that called it. */
static uint64_t host_reenter (uint64_t x, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                              uint64_t f)
{
    (void) b, (void) c, (void) d, (void) e, (void) f;
    sfi_module_t *m = sfi_current ();
    CHECK (m == expected);
    uint64_t r = 0;
    uint64_t args[2] = { x, 100 };
    int rc = sfi_module_call (m, sfi_module_lookup (m, "add"), args, 2, &r);
    CHECK_EQ (rc, SFI_OK);
    CHECK (sfi_current () == m);
    return r;
}

/* Takes 300 ms, longer than the budget of the module calling it. */
static uint64_t host_slow (uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, uint64_t f)
{
    (void) c, (void) d, (void) e, (void) f;
    long long end = now_ns () + 300000000LL;
    while (now_ns () < end) {
        struct timespec ts = { 0, 10000000 };
        nanosleep (&ts, NULL);
    }
    return a + b;
}

/* ---- tests --------------------------------------------------------------- */

static void test_calls (void)
{
    sfi_module_t *m = load (0);
    CHECK (m != NULL);
    if (!m)
        return;
    uint64_t base = sfi_module_base (m);
    CHECK (base != 0 && (base & 0xffffffffULL) == 0);

    srand (7);
    int wrong = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t a = (uint64_t) rand () << 20 ^ (uint64_t) rand (), b = (uint64_t) rand ();
        wrong += call_quiet (m, "add", a, b) != a + b;
        wrong += call_quiet (m, "id", a, 0) != a;
    }
    CHECK_EQ (wrong, 0);
    uint64_t six[6] = { 1, 2, 3, 4, 5, 6 }, r = 0;
    CHECK_EQ (sfi_module_call (m, sfi_module_lookup (m, "sum6"), six, 6, &r), SFI_OK);
    CHECK_EQ (r, 1 + 4 + 9 + 16 + 25 + 36);
    /* arguments not given are 0, not host leftovers */
    CHECK_EQ (sfi_module_call (m, sfi_module_lookup (m, "sum6"), six, 2, &r), SFI_OK);
    CHECK_EQ (r, 5);

    /* a relocated pointer, a counter in .data, the info page */
    CHECK_EQ (call_ok (m, "viaptr", 0, 0), 42);
    CHECK_EQ (call_ok (m, "counter", 0, 0), 1);
    CHECK_EQ (call_ok (m, "counter", 0, 0), 2);
    uint64_t heap_start = call_ok (m, "info", 0, 0), heap_end = call_ok (m, "info", 1, 0);
    uint64_t stack_top = call_ok (m, "info", 2, 0), scratch = call_ok (m, "info", 3, 0);
    CHECK (heap_start > base + SFI_IMAGE_OFF && heap_end - heap_start == 1 << 20);
    CHECK_EQ (stack_top, base + SFI_REGION_SIZE);
    size_t slen = 0;
    char *sp = sfi_module_scratch (m, &slen);
    CHECK_EQ ((uint64_t) (uintptr_t) sp, scratch);
    CHECK_EQ (slen, SFI_SCRATCH_SIZE);
    CHECK_EQ (stack_top - scratch, SFI_SCRATCH_SIZE + (64 << 10));

    /* the host writes the scratch area, the module reads it */
    memcpy (sp, "hi", 3);
    CHECK_EQ (call_ok (m, "peek", scratch - base + 1, 0), 'i');
    /* the module writes its heap, the host reads it */
    CHECK_EQ (call_ok (m, "poke", heap_start - base + 5, 0x5a), 0);
    const uint8_t *h = sfi_module_ptr (m, heap_start, 16);
    CHECK (h && h[5] == 0x5a);
    /* the code as mapped is the code as linked */
    CHECK_EQ (call_ok (m, "peek", sfi_module_lookup (m, "id"), 0), 0x48);

    /* bad calls */
    int64_t add = sfi_module_lookup (m, "add");
    CHECK_EQ (sfi_module_lookup (m, "nosuch"), -1);
    CHECK_EQ (sfi_module_call (m, add + 1, six, 2, &r), SFI_EARG);
    CHECK_EQ (sfi_module_call (m, 0x1000, six, 2, &r), SFI_EARG);
    CHECK_EQ (sfi_module_call (m, 0x21000, six, 2, &r), SFI_EARG);
    CHECK_EQ (sfi_module_call (m, -32, six, 2, &r), SFI_EARG);
    CHECK_EQ (sfi_module_call (m, add, six, 7, &r), SFI_EARG);
    CHECK_EQ (sfi_module_call (m, add, NULL, 2, &r), SFI_EARG);
    CHECK_EQ (sfi_module_call (NULL, add, six, 2, &r), SFI_EARG);

    /* sfi_module_ptr: data areas only, whole ranges only */
    CHECK (sfi_module_ptr (m, heap_start, 1 << 20) != NULL);
    CHECK (sfi_module_ptr (m, heap_end - 8, 8) != NULL);
    CHECK (sfi_module_ptr (m, heap_end - 4, 8) == NULL);
    CHECK (sfi_module_ptr (m, heap_start, (size_t) -1) == NULL);
    CHECK (sfi_module_ptr (m, base + 0x21000, 8) != NULL); /* rodata */
    CHECK (sfi_module_wptr (m, base + 0x21000, 8) == NULL);
    CHECK (sfi_module_wptr (m, base + 0x22000, 8) != NULL);      /* RW segment */
    CHECK (sfi_module_ptr (m, base + SFI_IMAGE_OFF, 8) == NULL); /* code */
    CHECK (sfi_module_ptr (m, base + SFI_TABLE_OFF, 8) == NULL);
    CHECK (sfi_module_ptr (m, base + SFI_INFO_OFF, 8) == NULL);
    CHECK (sfi_module_ptr (m, base + 0x1000, 8) == NULL);
    CHECK (sfi_module_ptr (m, base - 8, 8) == NULL);
    CHECK (sfi_module_ptr (m, base + SFI_REGION_SIZE, 1) == NULL);
    CHECK (sfi_module_ptr (m, 0, 1) == NULL);
    CHECK (sfi_module_ptr (m, (uint64_t) (uintptr_t) &r, 8) == NULL);
    CHECK (sfi_module_ptr (m, stack_top - 8, 8) != NULL);
    CHECK (sfi_module_ptr (m, stack_top - 8, 9) == NULL);
    CHECK (sfi_module_wptr (m, scratch, SFI_SCRATCH_SIZE) != NULL);

    sfi_module_destroy (&m);
    CHECK (m == NULL);
}

static void test_host_calls (void)
{
    sfi_module_t *m = load (0);
    if (!m) {
        CHECK (0);
        return;
    }
    expected = m;
    /* nothing exported: the call traps, the module stays usable */
    call_fails (m, "hostcall", 1, SFI_ETRAP, "empty slot 16");
    CHECK_EQ (sfi_module_export (m, 0, (void *) host_mix), -1);
    CHECK_EQ (sfi_module_export (m, 512, (void *) host_mix), -1);
    CHECK_EQ (sfi_module_export (m, 16, (void *) host_mix), 0);
    CHECK_EQ (sfi_module_export (m, 17, (void *) host_reenter), 0);
    host_calls = 0;
    int wrong = 0;
    for (uint64_t i = 0; i < 1000; i++)
        wrong += call_quiet (m, "hostcall", i, 7) != i * 1000 + 7 + 1;
    CHECK_EQ (wrong, 0);
    CHECK_EQ (host_calls, 1000);
    CHECK (sfi_current () == NULL);
    /* host -> module -> host -> the same module again -> back */
    CHECK_EQ (call_ok (m, "hostcall17", 5, 0), 105);
    CHECK_EQ (call_ok (m, "hostcall17", 6, 0), 106);
    call_fails (m, "unexported", 0, SFI_ETRAP, "empty slot 200");
    CHECK_EQ (sfi_module_export (m, 16, NULL), 0);
    call_fails (m, "hostcall", 1, SFI_ETRAP, "empty slot 16");
    sfi_module_destroy (&m);
}

static void test_faults (void)
{
    sfi_module_t *m = load (0);
    if (!m) {
        CHECK (0);
        return;
    }
    call_fails (m, "poke", 0x1000, SFI_EFAULT, "SIGSEGV at region offset 0x1000 (rip 0x2");
    call_fails (m, "below", 0, SFI_EFAULT, "SIGSEGV at region offset -0x1000");
    call_fails (m, "poke", SFI_IMAGE_OFF, SFI_EFAULT, "region offset 0x20000");     /* code */
    call_fails (m, "poke", SFI_TABLE_OFF + 8, SFI_EFAULT, "region offset 0x10008"); /* table */
    call_fails (m, "poke", SFI_INFO_OFF, SFI_EFAULT, "region offset 0x11800");      /* info */
    call_fails (m, "poke", SFI_ENTRY_OFF, SFI_EFAULT, "region offset 0x12000");     /* stubs */
    call_fails (m, "poke", SFI_EXIT_OFF, SFI_EFAULT, "region offset 0x12020");
    call_fails (m, "poke", 0x21000, SFI_EFAULT, "region offset 0x21000");       /* rodata */
    call_fails (m, "poke", 0x80000000, SFI_EFAULT, "region offset 0x80000000"); /* between */
    call_fails (m, "trap", 0, SFI_ETRAP, "SIGILL at rip 0x2");
    call_fails (m, "brk", 0, SFI_ETRAP, "SIGTRAP at rip 0x2");
    call_fails (m, "divide", 7, SFI_ETRAP, "SIGFPE (integer divide by zero)");
    uint64_t r = 0, args[2] = { 7, 2 };
    CHECK_EQ (sfi_module_call (m, sfi_module_lookup (m, "divide"), args, 2, &r), SFI_OK);
    CHECK_EQ (r, 3);
    call_fails (m, "deep", 0, SFI_EFAULT, "SIGSEGV");
    /* masked jumps: into data (not executable), past the code (int3
       filled), onto the exit stub (a normal return) */
    call_fails (m, "jump", SFI_INFO_OFF, SFI_EFAULT, "(rip 0x11800)");
    call_fails (m, "jump", SFI_EXIT_OFF + 32, SFI_ETRAP, "SIGTRAP");
    call_fails (m, "jump", 0x20000 + 0xfe0, SFI_ETRAP, "SIGTRAP");
    call_fails (m, "jump", 0x40000, SFI_EFAULT, "(rip 0x40000)");
    CHECK_EQ (call_ok (m, "jump", SFI_EXIT_OFF, 0), (uint64_t) -7);
    /* a clean call afterwards reports no fault */
    CHECK_EQ (call_ok (m, "add", 1, 1), 2);
    CHECK_EQ (sfi_module_fault (m)[0], '\0');
    sfi_module_destroy (&m);
}

static void test_budget (void)
{
    sfi_module_t *m = load (100);
    if (!m) {
        CHECK (0);
        return;
    }
    for (int i = 0; i < 3; i++) {
        long long t0 = now_ns ();
        call_fails (m, "spin", 0, SFI_ETIME, "time budget of 100 ms exceeded at rip 0x2");
        long long ms = (now_ns () - t0) / 1000000;
        printf ("spin with a 100 ms budget ended after %lld ms\n", ms);
        /* not before its budget; the upper bound only says "ended", since
           a loaded machine (the suite beside other work) stretches it */
        CHECK (ms >= 100 && ms < 10000);
    }
    /* short calls under a budget are not disturbed */
    int wrong = 0;
    for (int i = 0; i < 200000; i++)
        wrong += call_quiet (m, "add", (uint64_t) i, 1) != (uint64_t) i + 1;
    CHECK_EQ (wrong, 0);
    /* over budget inside a host call: ended when the host function returns */
    sfi_module_export (m, 16, (void *) host_slow);
    long long t0 = now_ns ();
    call_fails (m, "hostcall", 1, SFI_ETIME, "in a host call");
    long long ms = (now_ns () - t0) / 1000000;
    CHECK (ms >= 300 && ms < 10000);
    sfi_module_destroy (&m);

    /* no budget: the same host call completes */
    m = load (0);
    if (!m) {
        CHECK (0);
        return;
    }
    sfi_module_export (m, 16, (void *) host_slow);
    CHECK_EQ (call_ok (m, "hostcall", 2, 3), 6);
    sfi_module_destroy (&m);
}

static void test_many (void)
{
    enum { N = 10 };
    sfi_module_t *m[N];
    for (int i = 0; i < N; i++) {
        m[i] = load (i % 2 ? 1000 : 0);
        CHECK (m[i] != NULL);
        if (!m[i])
            return;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++)
            CHECK (sfi_module_base (m[i]) != sfi_module_base (m[j]));
    for (int i = 0; i < N; i++)
        for (int k = 0; k <= i; k++)
            call_ok (m[i], "counter", 0, 0);
    /* a fault in one leaves the others alone */
    call_fails (m[3], "poke", 0x1000, SFI_EFAULT, "SIGSEGV");
    for (int i = 0; i < N; i++)
        CHECK_EQ (call_ok (m[i], "counter", 0, 0), i + 2);
    for (int i = 0; i < N; i++)
        sfi_module_destroy (&m[i]);
}

static void test_refused (void)
{
    char err[512] = "";
    sfi_module_t *m = sfi_module_load (bad_path, NULL, err, sizeof err);
    CHECK (m == NULL);
    printf ("bad.so refused: %s\n", err);
    CHECK (strstr (err, "offset 0x2") && strstr (err, "syscall"));
    m = sfi_module_load ("/nonexistent/module.so", NULL, err, sizeof err);
    CHECK (m == NULL && err[0]);
    sfi_limits_t huge = { .heap_size = (size_t) 4 << 30 };
    m = sfi_module_load (basic_path, &huge, err, sizeof err);
    CHECK (m == NULL && strstr (err, "do not fit"));
}

/* A fault outside any module still reaches the handler before ours: the
   default here, so the child dies of SIGSEGV (or, under ASan, ASan's
   report ends it). */
static void test_host_fault (void)
{
    sfi_module_t *m = load (0);
    if (!m) {
        CHECK (0);
        return;
    }
    call_ok (m, "add", 1, 2); /* the handlers and this thread are set up */
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        int null = open ("/dev/null", O_WRONLY); /* ASan's report, if any */
        if (null >= 0)
            dup2 (null, 2);
        volatile int *p = (volatile int *) (uintptr_t) (sfi_module_base (m) + 0x1000);
        *p = 1; /* region memory, host code: not the module's fault */
        _exit (0);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    CHECK (!(WIFEXITED (status) && WEXITSTATUS (status) == 0));
#if !defined(__SANITIZE_ADDRESS__)
    CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGSEGV);
#endif
    sfi_module_destroy (&m);
}

static void *thread_spin (void *arg)
{
    sfi_module_t *m = arg;
    uint64_t r;
    return (void *) (intptr_t) call (m, "spin", 0, 0, &r);
}

static void test_threads (void)
{
    sfi_module_t *a = load (150), *b = load (0);
    if (!a || !b) {
        CHECK (0);
        return;
    }
    pthread_t th;
    CHECK_EQ (pthread_create (&th, NULL, thread_spin, a), 0);
    for (int i = 0; i < 100000; i++)
        call_quiet (b, "counter", 0, 0);
    void *rc;
    pthread_join (th, &rc);
    CHECK_EQ ((intptr_t) rc, SFI_ETIME);
    CHECK_EQ (call_ok (b, "counter", 0, 0), 100001);
    /* a belongs to the thread that called it first, even once it is gone;
       b to this one, so another thread is refused */
    uint64_t r = 0;
    CHECK_EQ (call (a, "counter", 0, 0, &r), SFI_EARG);
    CHECK (strstr (sfi_module_fault (a), "belongs to another thread") != NULL);
    CHECK_EQ (pthread_create (&th, NULL, thread_spin, b), 0);
    pthread_join (th, &rc);
    CHECK_EQ ((intptr_t) rc, SFI_EARG);
    CHECK_EQ (call_ok (b, "counter", 0, 0), 100002);
    sfi_module_destroy (&a);
    sfi_module_destroy (&b);
}

static void test_speed (void)
{
    sfi_module_t *m = load (0);
    if (!m) {
        CHECK (0);
        return;
    }
    int64_t id = sfi_module_lookup (m, "id");
    uint64_t arg = 1, r = 0;
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        /* CPU time, not wall time: the machine may be busy */
        struct timespec t0, t1;
        clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t0);
        for (int i = 0; i < 1000000; i++)
            sfi_module_call (m, id, &arg, 1, &r);
        clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t1);
        double ns =
            ((double) (t1.tv_sec - t0.tv_sec) * 1e9 + (double) (t1.tv_nsec - t0.tv_nsec)) / 1e6;
        if (ns < best)
            best = ns;
    }
    CHECK_EQ (r, 1);
    printf ("gate round trip: %.1f ns (best of 5 x 1000000 calls)\n", best);
    CHECK (best < 2000);
    sfi_module_destroy (&m);
}

/* glsfi-run's answers and exit codes. */
static void test_run (void)
{
    struct {
        const char *args;
        int status;
        const char *want;
    } cases[] = {
        { "%s add 40 2", 0, "42\n" },
        { "%s add 0x10 -1", 0, "15\n" },
        { "%s peek s:hello", 0, "104\n" },
        { "%s poke 0x1000 1", 1,
          "glsfi-run: poke: fault: SIGSEGV at region offset 0x1000 (rip 0x" },
        { "%s trap", 1, "glsfi-run: trap: trap: SIGILL at rip 0x" },
        { "--budget 50 %s spin", 1, "glsfi-run: spin: timeout: time budget of 50 ms" },
        { "%s nosuch", 2, "no exported function 'nosuch'" },
        { "%s add x", 2, "neither an integer" },
        { "-c 1000 %s id 3", 0, "ns per call" },
    };
    char run[600];
    snprintf (run, sizeof run, "%s/glsfi-run", BUILDDIR);
    if (access (run, X_OK) != 0) { /* built with this test: its absence is a broken build */
        fprintf (stderr, "glsfi-run not built in %s\n", BUILDDIR);
        CHECK (0);
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[1200], cmd[2048], out[4096] = "";
        snprintf (args, sizeof args, cases[i].args, basic_path);
        /* peek reads the first byte of the string: its address is the arg */
        snprintf (cmd, sizeof cmd, "%s %s 2>&1", run, args);
        FILE *f = popen (cmd, "r");
        size_t n = f ? fread (out, 1, sizeof out - 1, f) : 0;
        out[n] = '\0';
        int status = f ? pclose (f) : -1;
        CHECK (WIFEXITED (status));
        CHECK_EQ (WEXITSTATUS (status), cases[i].status);
        if (!strstr (out, cases[i].want)) {
            fprintf (stderr, "glsfi-run %s: got '%s', want '%s'\n", args, out, cases[i].want);
            CHECK (0);
        }
    }
    char cmd[2048], out[4096] = "";
    snprintf (cmd, sizeof cmd, "%s %s escape 2>&1", run, bad_path);
    FILE *f = popen (cmd, "r");
    size_t n = f ? fread (out, 1, sizeof out - 1, f) : 0;
    out[n] = '\0';
    int status = f ? pclose (f) : -1;
    CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 2 && strstr (out, "syscall"));
}

int main (void)
{
    setvbuf (stdout, NULL, _IONBF, 0);
    if (!mkdtemp (dir)) {
        perror ("mkdtemp");
        return 1;
    }
    /* Only a missing tool is a reason to skip: a module of ours that does
       not assemble or link is a bug in t/sfi/mods or sfi/glsfi.ld. */
    const char *missing = !on_path ("as") ? "as" : !on_path ("ld") ? "ld" : NULL;
    bool built = !missing && build ("basic", basic_path, sizeof basic_path) == 0 &&
                 build ("bad", bad_path, sizeof bad_path) == 0;
    if (!built) {
        char cmd[600];
        snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
        if (system (cmd) != 0)
            fprintf (stderr, "could not remove %s\n", dir);
        if (missing) {
            printf ("skipped: no '%s' in PATH to assemble and link the test modules\n", missing);
            return 77;
        }
        fprintf (stderr,
                 "test_sfi_loader: the test modules in %s/t/sfi/mods do not assemble "
                 "and link (the messages above)\n",
                 SRCDIR);
        return 1;
    }
    test_calls ();
    test_host_calls ();
    test_faults ();
    test_budget ();
    test_many ();
    test_refused ();
    test_host_fault ();
    test_threads ();
    test_speed ();
    test_run ();

    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
    return tap_done ("test_sfi_loader");
}
