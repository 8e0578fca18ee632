/*  test_sfi_escape.c -- the oracle of t/fuzz/fuzz_sfi_escape.c, and a
    small deterministic run of it.

    The oracle single-steps module code in a child with ptrace and checks
    every access and every transfer against the region.  Here it must
    flag each of a set of unsafe sequences that are run without the
    verifier (a store through a host pointer, a jump to the host, a 64-bit
    r14, bts with a huge bit offset, ...), and judge safe verified code
    clean however it ends (return, guard fault, trap, host call, out of
    steps).  Then the verifier must refuse what the fuzzer found, and a few
    hundred seeded mutations of a safe module must run clean whenever the
    verifier accepts them.  Skipped (exit 77) when ptrace is not
    permitted. */
#define SFI_ESCAPE_NO_FUZZER 1
#include "../fuzz/fuzz_sfi_escape.c"
#include "tap.h"

static void test_selftests (void)
{
    for (size_t i = 0; i < ESC_NSELFTESTS; i++) {
        esc_result_t res;
        char msg[700];
        const char *bad = esc_selftest_one (&esc_selftests[i], &res, msg, sizeof msg);
        CHECK (bad == NULL);
        if (bad)
            fprintf (stderr, "    %s\n", bad);
    }
}

/* Code the fuzzer found the verifier accepting, or that breaks the same
   rules: the verifier must refuse it now.  (Run without the verifier, the
   self-tests show what it would do.) */
static void test_holes (void)
{
    static const char *const holes[] = {
        "49 0f ab 3f",       /* btsq %rdi,(%r15): the bit offset reaches 2^60 bytes away */
        "43 0f a3 04 37",    /* btl %eax,(%r15,%r14,1) */
        "48 0f bb 04 24",    /* btcq %rax,(%rsp) */
        "66 41 0f b3 47 08", /* btrw %ax,8(%r15) */
    };
    for (size_t i = 0; i < sizeof holes / sizeof holes[0]; i++) {
        uint8_t code[64];
        esc_result_t res;
        esc_case_t c = {
            code, esc_hex (code, sizeof code, holes[i]), 0, ARG_HUGE, 1ULL << 62, false
        };
        CHECK_EQ (esc_run (&c, &res), 0);
        CHECK_EQ (res.end, ESC_REJECTED);
        if (res.end != ESC_REJECTED)
            fprintf (stderr, "    %s: accepted, and then %s %s\n", holes[i], esc_end_name[res.end],
                     res.violation);
    }
    /* the immediate forms stay in the word: still allowed */
    uint8_t code[64];
    esc_result_t res;
    esc_case_t c = { code, esc_hex (code, sizeof code, "41 0f ba 2f 3f " RET_SEQ), 0, ARG_ZERO, 0,
                     false };
    CHECK_EQ (esc_run (&c, &res), 0); /* btsl $63,(%r15): the null guard */
    CHECK (res.end == ESC_FAULT && !res.violation[0]);
}

/* A module that keeps the rules and does a bit of everything: f(p, n)
   adds 0..n-1 into *p, calls host slot 16, uses its stack frame. */
static const char *const safe_module =
    "31 c0 31 c9 41 89 fe eb 37 ~" /* xorl; xorl; movl %edi,%r14d; jmp 2f */
    "43 01 0c 37 48 ff c1 ~"       /* 1: addl %ecx,(%r15,%r14,1); incq %rcx */
    "48 39 f1 7c db 56 "           /* 2: cmpq %rsi,%rcx; jl 1b; push %rsi */
    "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 "
    "41 ff 97 80 00 01 00 "                 /* call *0x10080(%r15), ending the bundle */
    "5e 83 ec 20 4c 01 fc 48 89 44 24 08 ~" /* pop %rsi; subl $32,%esp; addq %r15,%rsp; movq %rax,8(%rsp) */
    "83 c4 20 4c 01 fc 43 8b 04 37 ~" /* addl $32,%esp; addq %r15,%rsp; movl (%r15,%r14,1),%eax */
    RET_SEQ;

static uint64_t rng_state = 0x243f6a8885a308d3ULL;
static uint64_t rng (void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_mutants (void)
{
    uint8_t base[512], code[512];
    size_t len = esc_hex (base, sizeof base, safe_module);
    esc_result_t res;
    esc_case_t c = { base, len, 0, ARG_MIXED, 7, false };
    CHECK_EQ (esc_run (&c, &res), 0);
    CHECK (res.end == ESC_RETURN && !res.violation[0] && res.host_calls == 1);
    if (res.end != ESC_RETURN || res.violation[0])
        fprintf (stderr, "    safe module: %s %s %s\n", esc_end_name[res.end], res.violation,
                 res.error);

    int ran = 0, rejected = 0, failed = 0;
    for (int i = 0; i < 400; i++) {
        memcpy (code, base, len);
        for (int k = 1 + (int) (rng () % 3); k > 0; k--)
            code[rng () % len] = (uint8_t) rng ();
        c = (esc_case_t){
            code,        len,  (unsigned) (rng () % (len / SFI_BUNDLE)), (int) (rng () % 4),
            rng () % 16, false
        };
        if (esc_run (&c, &res) < 0) {
            if (failed++ < 5)
                fprintf (stderr, "    mutant %d not run: %s\n", i, res.error);
            continue;
        }
        if (res.end == ESC_REJECTED) {
            rejected++;
            continue;
        }
        ran++;
        CHECK (!res.violation[0]);
        if (res.violation[0])
            fprintf (stderr, "    mutant %d: %s\n", i, res.violation);
    }
    printf ("# %d mutants ran clean, %d refused by the verifier, %d not run\n", ran, rejected,
            failed);
    CHECK_EQ (failed, 0);
    CHECK (ran >= 20); /* the test does test something */
}

int main (void)
{
    char why[200];
    if (!esc_ptrace_ok (why, sizeof why)) {
        printf ("skipped: %s\n", why);
        return 77;
    }
    test_selftests ();
    test_holes ();
    test_mutants ();
    return tap_done ("test_sfi_escape");
}
