/*  fuzz_sfi_escape.c -- libFuzzer target for the soundness of the sandbox:
    whatever the verifier accepts, when run, stays in its region.

    An input is a 4-byte header and machine code.  The code (padded with
    int3 to whole bundles) becomes the code segment of a template module
    image (code at 0x20000, then 64 KiB of RW data whose first words the
    loader relocates into pointers to code bundles and to the data); the
    header picks the entry bundle (bytes 0-1, modulo the bundles) and the
    arguments (byte 2: zeros, all = byte 3, heap pointers, mixed).  When
    sfi_verify_image refuses the image, that is the end of it.  When it
    accepts, the module runs in a forked child, under the real loader and
    gate, and this process single-steps the child with ptrace from the
    module's entry on (the host code before it runs at full speed to an
    int3 that the oracle writes over the entry's first byte and takes out
    again: esc_to_entry).  A run the oracle cannot make or watch as it
    should (the child stops anywhere but at that int3, or ends first) is
    an error of the run, never taken for a verdict on the sandbox.

    The oracle (this process, never the child: the child runs arbitrary
    code inside an ASan process, so nothing the child says is believed).
    Before every instruction the child executes at an address in the region
    window W = [base - 2 MiB, base + 4 GiB + 2 MiB) it reads the bytes at
    rip from the child, decodes them with Zydis and, with the registers
    from PTRACE_GETREGS, checks that
      - every memory operand, explicit or implicit (push, pop, call: the
        slot below or at rsp; pop to an rsp-based operand after the
        increment; bt/bts/btr/btc with a register bit offset: the word the
        offset selects, up to 2^60 bytes away) lies inside W, is not
        fs/gs-relative and is of a kind it can compute (no VSIB/MIB);
      - the instruction is no system call, interrupt, far branch or
        segment-register write;
      - inside the code segment, rip is an instruction start of the
        oracle's own linear decode of the code (not the verifier's), and
        the bytes there are the bytes verified; elsewhere in the region
        only the loader's exit stub and int3 run;
      - the sandbox's register invariants hold: r15 == base, r14 < 2^32,
        rsp in [base, base + 4 GiB] (except on the addq %r15,%rsp that
        completes an esp write).
    After the step it checks that the CPU agrees with the decoder (a
    non-branch went to rip + length; a direct branch went to its target
    or fell through) and that control is still in W or entered trusted
    host code: the gate exit (the module returned: the run ends) or a
    host-call stub, after which it steps through the host and resumes
    checking when control comes back into the region.  A fault in the
    region (guard hit, ud2, int3, division) is the sandbox working: the
    run ends; a page fault at an address outside W is a violation (an
    access the oracle did not foresee).  Runs end after ESC_STEPS steps or
    ESC_SECONDS (the child has an alarm too), so no input can hang.

    Any violation aborts with the offset, the instruction and the address,
    and libFuzzer keeps the input.  Before fuzzing, LLVMFuzzerInitialize
    proves the oracle: built-in unsafe code run without the verifier must
    be flagged, safe code must not (SFI_ESCAPE_SELFTEST=1 prints each case;
    `fuzz_sfi_escape -runs=0` then does nothing else; SFI_ESCAPE_VERBOSE=1
    prints how every run ended; SFI_ESCAPE_TRACE=1 every step).  Exits 77 when
    ptrace is not permitted.  The unit test t/unit/test_sfi_escape.c
    includes this file with SFI_ESCAPE_NO_FUZZER defined.  Run the fuzzer
    with t/fuzz/run.sh. */
#include "elf.h"
#include "loader.h"
#include "verify.h"

#include <Zydis/Zydis.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ESC_HDR       4
#define ESC_CODE_MAX  0x10000 /* code bytes of an input, at most */
#define ESC_DATA_SIZE 0x10000 /* the template's RW segment */
#define ESC_RELOCS    256     /* its first words: pointers */
#define ESC_STEPS     5000    /* single steps per run, host ones included */
#define ESC_SECONDS   2       /* per run, wall clock */
#define ESC_STUB_SIZE 16      /* gate.S STUB_SIZE */
#define ESC_WLO(b)    ((b) -SFI_GUARD)
#define ESC_WHI(b)    ((b) + SFI_REGION_SIZE + SFI_GUARD)

/* gate.S: the trusted host code a module may enter */
extern char sfi_gate_exit[], sfi_gate_stubs[];

enum { ARG_ZERO, ARG_SMALL, ARG_HEAP, ARG_MIXED, ARG_HOSTPTR, ARG_HUGE };
enum {
    ESC_REJECTED,
    ESC_RETURN,
    ESC_FAULT,
    ESC_TRAP,
    ESC_STEPS_OUT,
    ESC_TIME,
    ESC_EXIT,
    ESC_VIOLATION
};
static const char *const esc_end_name[] = { "rejected",     "returned",    "faulted", "trapped",
                                            "out of steps", "out of time", "exited",  "VIOLATION" };

typedef struct {
    const uint8_t *code; /* len bytes, a multiple of 32 */
    size_t len;
    unsigned entry; /* bundle index */
    int argmode;
    uint64_t argval;
    bool unverified; /* self-test: load int3, then patch code in, unverified */
} esc_case_t;

typedef struct {
    int end; /* ESC_* */
    uint64_t steps, module_steps, host_calls;
    char violation[512]; /* empty: none */
    char error[256];     /* the run could not be made (fork, ptrace) */
    bool no_ptrace;
} esc_result_t;

#ifndef SFI_ESCAPE_NO_FUZZER
/* Coverage of the child's execution, which libFuzzer cannot see itself:
   edges between module instructions, mnemonics, how runs end. */
__attribute__ ((used, section ("__libfuzzer_extra_counters"))) static uint8_t esc_cov[1 << 14];
#define COV(i)                                         \
    do {                                               \
        uint8_t *c_ = &esc_cov[(i) & ((1 << 14) - 1)]; \
        if (*c_ < 255)                                 \
            (*c_)++;                                   \
    } while (0)
#else
#define COV(i) ((void) 0)
#endif

/* -- The template image ----------------------------------------------- */

static uint64_t esc_page_up (uint64_t x)
{
    return (x + SFI_PAGE - 1) & ~(SFI_PAGE - 1);
}

/* Code at 0x20000, RW data after it; NULL when out of memory. */
static sfi_image_t *esc_image (const uint8_t *code, size_t len)
{
    uint64_t data = esc_page_up (SFI_IMAGE_OFF + len);
    sfi_image_t *img = calloc (1, sizeof *img);
    if (!img)
        return NULL;
    img->file_size = len + ESC_DATA_SIZE;
    img->file = calloc (1, img->file_size);
    img->relocs = calloc (ESC_RELOCS, sizeof *img->relocs);
    if (!img->file || !img->relocs) {
        sfi_image_destroy (&img);
        return NULL;
    }
    memcpy (img->file, code, len);
    img->seg[0] = (sfi_seg_t){ SFI_IMAGE_OFF, len, len, 0, PROT_READ | PROT_EXEC };
    img->seg[1] = (sfi_seg_t){ data, ESC_DATA_SIZE, ESC_DATA_SIZE, len, PROT_READ | PROT_WRITE };
    img->nseg = 2;
    img->code = 0;
    img->image_end = data + ESC_DATA_SIZE;
    /* function pointers (every bundle, round robin), then data pointers */
    for (size_t i = 0; i < ESC_RELOCS; i++)
        img->relocs[i] =
            (sfi_reloc_t){ data + 8 * i,
                           i < ESC_RELOCS / 2 ? SFI_IMAGE_OFF + (32 * i) % len : data + 64 * i };
    img->nrelocs = ESC_RELOCS;
    return img;
}

/* -- The child ---------------------------------------------------------- */

static struct {
    uint64_t base, entry;
} esc_child;

/* Host memory the self-test's unsafe code aims at. */
static volatile uint64_t esc_secret[4] = { 0x5ec2e7 };

static uint64_t esc_host_sum (uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                              uint64_t a5)
{
    return a0 + a1 + a2 + a3 + a4 + a5;
}

enum { CHILD_NOTRACE = 70, CHILD_NOLOAD, CHILD_NOPATCH };

/* exit_group, without libc: ASan's _exit interceptor would run a leak
   check (thousands of steps, and LSan ptraces too).  Not declared
   noreturn: before a call to such a function ASan unpoisons the whole
   stack, thousands of steps again. */
static void esc_exit (int code)
{
    __asm__ volatile("syscall" : : "a"(231), "D"(code) : "rcx", "r11", "memory");
}

static void esc_child_main (sfi_image_t *img, const esc_case_t *c) __attribute__ ((noreturn));
static void esc_child_main (sfi_image_t *img, const esc_case_t *c)
{
    alarm (ESC_SECONDS + 1);
    if (ptrace (PTRACE_TRACEME, 0, NULL, NULL) < 0)
        for (;;)
            esc_exit (CHILD_NOTRACE);
    sfi_limits_t lim = { .heap_size = 1 << 20, .stack_size = 256 << 10 };
    char err[256];
    sfi_module_t *m = sfi_module_load_image (&img, &lim, err, sizeof err);
    if (!m)
        for (;;)
            esc_exit (CHILD_NOLOAD);
    uint64_t base = sfi_module_base (m);
    if (c->unverified) {
        char *p = (char *) (uintptr_t) (base + SFI_IMAGE_OFF);
        bool ok = mprotect (p, esc_page_up (c->len), PROT_READ | PROT_WRITE) == 0;
        if (ok)
            memcpy (p, c->code, c->len);
        if (!ok || mprotect (p, esc_page_up (c->len), PROT_READ | PROT_EXEC) < 0)
            for (;;)
                esc_exit (CHILD_NOPATCH);
    }
    sfi_module_export (m, 1, (void *) esc_host_sum);
    sfi_module_export (m, 16, (void *) esc_host_sum);
    const struct sfi_info *info = (const struct sfi_info *) (uintptr_t) (base + SFI_INFO_OFF);
    uint64_t heap = info->heap_start + 64 * (c->argval & 0xff), a[6];
    for (int i = 0; i < 6; i++) {
        switch (c->argmode) {
            case ARG_SMALL: a[i] = c->argval; break;
            case ARG_HEAP: a[i] = heap + 8 * (uint64_t) i; break;
            case ARG_MIXED: a[i] = i ? c->argval : heap; break;
            case ARG_HOSTPTR: a[i] = (uint64_t) (uintptr_t) esc_secret; break;
            case ARG_HUGE: a[i] = c->argval; break;
            default: a[i] = 0; break;
        }
    }
    int64_t fn = (int64_t) (SFI_IMAGE_OFF + SFI_BUNDLE * (uint64_t) c->entry);
    esc_child.base = base;
    esc_child.entry = base + (uint64_t) fn;
    raise (SIGSTOP); /* from here on, the parent watches every step */
    uint64_t ret;
    int rc = sfi_module_call (m, fn, a, 6, &ret);
    for (;;)
        esc_exit (rc == SFI_OK ? 0 : 10 - rc);
}

/* -- The oracle --------------------------------------------------------- */

typedef struct {
    pid_t pid;
    const esc_case_t *c;
    uint64_t base, code, code_end; /* absolute */
    uint8_t *starts;               /* the oracle's own decode: instruction starts */
    ZydisDecoder dec;
    ZydisFormatter fmt;
    esc_result_t *res;
    /* the module instruction being stepped */
    uint64_t rip;
    bool stray; /* rip is outside the verified code and the exit stub */
    ZydisDecodedInstruction in;
    ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
    uint64_t prev_off;
} oracle_t;

static void esc_violation (oracle_t *o, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void esc_violation (oracle_t *o, const char *fmt, ...)
{
    if (o->res->violation[0])
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (o->res->violation, sizeof o->res->violation, fmt, ap);
    va_end (ap);
    o->res->end = ESC_VIOLATION;
}

/* "region offset 0x123" or "region offset -0x10" or "host address 0x7f..." */
static const char *esc_where (const oracle_t *o, uint64_t a, char *buf, size_t len)
{
    if (a - ESC_WLO (o->base) < ESC_WHI (o->base) - ESC_WLO (o->base)) {
        if (a >= o->base)
            snprintf (buf, len, "region offset 0x%" PRIx64, a - o->base);
        else
            snprintf (buf, len, "region offset -0x%" PRIx64, o->base - a);
    }
    else
        snprintf (buf, len, "host address 0x%" PRIx64 ", outside the region", a);
    return buf;
}

static const char *esc_text (oracle_t *o, char *buf, size_t len)
{
    if (!ZYAN_SUCCESS (ZydisFormatterFormatInstruction (
            &o->fmt, &o->in, o->op, o->in.operand_count_visible, buf, len, o->rip, ZYAN_NULL)))
        snprintf (buf, len, "(%s)", ZydisMnemonicGetString (o->in.mnemonic));
    return buf;
}

/* Up to len bytes of the child at a, page by page (a page that cannot be
   read ends the copy). */
static size_t esc_peek (pid_t pid, uint64_t a, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        uint64_t at = a + got;
        size_t n = SFI_PAGE - (at & (SFI_PAGE - 1));
        if (n > len - got)
            n = len - got;
        struct iovec l = { (char *) buf + got, n }, r = { (void *) (uintptr_t) at, n };
        if (process_vm_readv (pid, &l, 1, &r, 1, 0) != (ssize_t) n)
            break;
        got += n;
    }
    return got;
}

static bool in_window (const oracle_t *o, uint64_t a)
{
    return a - ESC_WLO (o->base) < ESC_WHI (o->base) - ESC_WLO (o->base);
}

/* [a, a + n) inside the window, without wrapping */
static bool range_ok (const oracle_t *o, uint64_t a, uint64_t n)
{
    return in_window (o, a) && n <= ESC_WHI (o->base) - a;
}

static bool is_trusted_entry (uint64_t a)
{
    uint64_t stubs = (uint64_t) (uintptr_t) sfi_gate_stubs;
    if (a == (uint64_t) (uintptr_t) sfi_gate_exit)
        return true;
    return a - stubs < (uint64_t) SFI_TABLE_SLOTS * ESC_STUB_SIZE &&
           (a - stubs) % ESC_STUB_SIZE == 0 && a != stubs;
}

static uint64_t reg_value (const struct user_regs_struct *r, int i)
{
    switch (i) {
        case 0: return r->rax;
        case 1: return r->rcx;
        case 2: return r->rdx;
        case 3: return r->rbx;
        case 4: return r->rsp;
        case 5: return r->rbp;
        case 6: return r->rsi;
        case 7: return r->rdi;
        case 8: return r->r8;
        case 9: return r->r9;
        case 10: return r->r10;
        case 11: return r->r11;
        case 12: return r->r12;
        case 13: return r->r13;
        case 14: return r->r14;
        default: return r->r15;
    }
}

static bool gpr_or_none (ZydisRegister reg)
{
    ZydisRegisterClass k = ZydisRegisterGetClass (reg);
    return reg == ZYDIS_REGISTER_NONE || k == ZYDIS_REGCLASS_GPR64 || k == ZYDIS_REGCLASS_GPR32;
}

static bool is_branch_insn (const ZydisDecodedInstruction *in)
{
    ZydisInstructionCategory k = in->meta.category;
    return k == ZYDIS_CATEGORY_COND_BR || k == ZYDIS_CATEGORY_UNCOND_BR ||
           k == ZYDIS_CATEGORY_CALL || k == ZYDIS_CATEGORY_RET || k == ZYDIS_CATEGORY_SYSCALL ||
           k == ZYDIS_CATEGORY_SYSRET || k == ZYDIS_CATEGORY_INTERRUPT ||
           in->mnemonic == ZYDIS_MNEMONIC_XBEGIN || in->mnemonic == ZYDIS_MNEMONIC_XABORT ||
           in->mnemonic == ZYDIS_MNEMONIC_XEND;
}

/* Everything about the instruction at r->rip before it runs; false after
   a violation. */
static bool esc_before (oracle_t *o, const struct user_regs_struct *r)
{
    char t[128], w[96];
    uint64_t rip = r->rip, base = o->base, off = rip - base;
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    o->rip = rip;
    o->in.length = 0;
    /* Outside the verified code and the loader's stub page (the exit
       stub, and whatever else the loader puts there: every bundle of it
       is reachable by a masked jump), nothing but int3 may run; a masked
       jump into a data page or a guard faults on the fetch, which is
       fine.  Whether the CPU runs it is known after the step. */
    bool stubs = off - (SFI_EXIT_OFF & ~(SFI_PAGE - 1)) < SFI_PAGE;
    o->stray = !(rip >= o->code && rip < o->code_end) && !stubs;
    if (o->stray)
        return true;
    size_t n = esc_peek (o->pid, rip, bytes, sizeof bytes);
    if (n == 0 || !ZYAN_SUCCESS (ZydisDecoderDecodeFull (&o->dec, bytes, n, &o->in, o->op))) {
        o->in.length = 0; /* the CPU should refuse it too (checked after the step) */
        return true;
    }
    unsigned len = o->in.length;
    o->res->module_steps++;
    COV (o->prev_off * 0x9e3779b1u ^ off);
    COV (8192 + o->in.mnemonic);
    o->prev_off = off;

    /* verified code: at an instruction start of our own decode, and the
       bytes verified (the stub page is the loader's, checked as it runs) */
    if (!stubs) {
        uint64_t i = rip - o->code;
        if (!(o->starts[i / 8] >> (i % 8) & 1)) {
            esc_violation (o,
                           "control reached region offset 0x%" PRIx64
                           ", inside an instruction of the verified code (`%s` decoded there)",
                           off, esc_text (o, t, sizeof t));
            return false;
        }
        if (rip + len > o->code_end || memcmp (bytes, o->c->code + i, len)) {
            esc_violation (
                o, "the code at region offset 0x%" PRIx64 " is not the code that was verified",
                off);
            return false;
        }
    }

    /* the register invariants of the scheme */
    bool rsp_add =
        o->in.mnemonic == ZYDIS_MNEMONIC_ADD && o->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        o->op[0].reg.value == ZYDIS_REGISTER_RSP && o->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        o->op[1].reg.value == ZYDIS_REGISTER_R15;
    if (r->r15 != base)
        esc_violation (
            o, "r15 = 0x%llx is not the base 0x%" PRIx64 " at region offset 0x%" PRIx64 " (`%s`)",
            (unsigned long long) r->r15, base, off, esc_text (o, t, sizeof t));
    else if (r->r14 >> 32)
        esc_violation (o, "r14 = 0x%llx is not below 2^32 at region offset 0x%" PRIx64 " (`%s`)",
                       (unsigned long long) r->r14, off, esc_text (o, t, sizeof t));
    else if (!rsp_add && (r->rsp < base || r->rsp - base > SFI_REGION_SIZE))
        esc_violation (o,
                       "rsp = 0x%llx is outside the region at region offset 0x%" PRIx64 " (`%s`)",
                       (unsigned long long) r->rsp, off, esc_text (o, t, sizeof t));
    if (o->res->violation[0])
        return false;

    /* ways out that touch no memory */
    const ZydisDecodedInstruction *in = &o->in;
    ZydisInstructionCategory cat = in->meta.category;
    if (cat == ZYDIS_CATEGORY_SYSCALL || cat == ZYDIS_CATEGORY_SYSRET ||
        (cat == ZYDIS_CATEGORY_INTERRUPT && in->mnemonic != ZYDIS_MNEMONIC_INT3) ||
        in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR || in->mnemonic == ZYDIS_MNEMONIC_WRFSBASE ||
        in->mnemonic == ZYDIS_MNEMONIC_WRGSBASE) {
        esc_violation (o,
                       "system call, interrupt or far branch at region offset 0x%" PRIx64 ": `%s`",
                       off, esc_text (o, t, sizeof t));
        return false;
    }
    for (int i = 0; i < in->operand_count; i++)
        if (o->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            (o->op[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            ZydisRegisterGetClass (o->op[i].reg.value) == ZYDIS_REGCLASS_SEGMENT) {
            esc_violation (o, "segment register write at region offset 0x%" PRIx64 ": `%s`", off,
                           esc_text (o, t, sizeof t));
            return false;
        }

    /* memory: every operand but those of lea (address only) and nop */
    if (in->mnemonic == ZYDIS_MNEMONIC_NOP)
        return true;
    bool fsgs = false;
    for (int i = 0; i < in->raw.prefix_count; i++)
        fsgs |= in->raw.prefixes[i].value == 0x64 || in->raw.prefixes[i].value == 0x65;
    ZydisRegisterContext ctx;
    memset (&ctx, 0, sizeof ctx);
    for (int i = 0; i < 16; i++) {
        uint64_t v = reg_value (r, i);
        ctx.values[ZydisRegisterEncode (ZYDIS_REGCLASS_GPR64, (ZyanU8) i)] = v;
        ctx.values[ZydisRegisterEncode (ZYDIS_REGCLASS_GPR32, (ZyanU8) i)] = (uint32_t) v;
    }
    for (int i = 0; i < in->operand_count; i++) {
        const ZydisDecodedOperand *op = &o->op[i];
        if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type == ZYDIS_MEMOP_TYPE_AGEN)
            continue;
        const char *what = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE ? "write" : "read";
        if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
            !(gpr_or_none (op->mem.base) || op->mem.base == ZYDIS_REGISTER_RIP) ||
            !gpr_or_none (op->mem.index)) {
            esc_violation (
                o,
                "memory operand the oracle cannot compute (vector index or bound table) at region offset 0x%" PRIx64
                ": `%s`",
                off, esc_text (o, t, sizeof t));
            return false;
        }
        if (fsgs || op->mem.segment == ZYDIS_REGISTER_FS || op->mem.segment == ZYDIS_REGISTER_GS) {
            esc_violation (
                o, "fs/gs-relative %s (host thread memory) at region offset 0x%" PRIx64 ": `%s`",
                what, off, esc_text (o, t, sizeof t));
            return false;
        }
        uint64_t size = op->size / 8 ? op->size / 8 : 1, a;
        if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN &&
            op->mem.base == ZYDIS_REGISTER_RSP && op->mem.index == ZYDIS_REGISTER_NONE)
            /* the stack slot: a push writes below rsp, a pop reads at it */
            a = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE ? r->rsp - size : r->rsp;
        else if (!ZYAN_SUCCESS (ZydisCalcAbsoluteAddressEx (in, op, rip, &ctx, &a))) {
            esc_violation (
                o,
                "cannot compute the address of a memory operand at region offset 0x%" PRIx64
                ": `%s`",
                off, esc_text (o, t, sizeof t));
            return false;
        }
        else {
            /* pop computes an rsp-based destination after the increment */
            if (in->mnemonic == ZYDIS_MNEMONIC_POP && op->mem.base == ZYDIS_REGISTER_RSP)
                a += size;
            /* bt* with a register bit offset reaches the word it selects */
            if ((in->mnemonic == ZYDIS_MNEMONIC_BT || in->mnemonic == ZYDIS_MNEMONIC_BTS ||
                 in->mnemonic == ZYDIS_MNEMONIC_BTR || in->mnemonic == ZYDIS_MNEMONIC_BTC) &&
                i == 0 && o->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
                uint64_t v = ctx.values[ZydisRegisterGetLargestEnclosing (
                    ZYDIS_MACHINE_MODE_LONG_64, o->op[1].reg.value)];
                unsigned bits = (unsigned) op->size;
                int64_t bit = bits == 16 ? (int16_t) v : bits == 32 ? (int32_t) v : (int64_t) v;
                int64_t word =
                    bit >= 0 ? bit / (int64_t) bits : -((-(bit + 1)) / (int64_t) bits) - 1;
                a += (uint64_t) word * size;
            }
        }
        if (!range_ok (o, a, size)) {
            esc_violation (
                o, "ESCAPE: %s of %" PRIu64 " bytes at %s by `%s` at region offset 0x%" PRIx64,
                what, size, esc_where (o, a, w, sizeof w), esc_text (o, t, sizeof t), off);
            return false;
        }
    }
    return true;
}

/* The module instruction stepped; the CPU is at rip now.  False after a
   violation or when the module has returned (*done). */
static bool esc_after (oracle_t *o, uint64_t rip, bool *done)
{
    char t[128], w[96];
    const ZydisDecodedInstruction *in = &o->in;
    uint64_t from = o->rip, next = from + in->length;
    if (o->stray) {
        /* int3 traps, a fetch from a page that is not executable faults:
           neither gets here */
        esc_violation (o, "code outside the verified code ran at %s (now at %s)",
                       esc_where (o, from, w, sizeof w), esc_where (o, rip, t, sizeof t));
        return false;
    }
    if (!in_window (o, rip)) {
        if (rip == (uint64_t) (uintptr_t) sfi_gate_exit) {
            *done = true;
            return true;
        }
        if (is_trusted_entry (rip)) {
            o->res->host_calls++;
            return true;
        }
        if (in->length)
            esc_violation (
                o, "ESCAPE: control left the region for %s after `%s` at region offset 0x%" PRIx64,
                esc_where (o, rip, w, sizeof w), esc_text (o, t, sizeof t), from - o->base);
        else
            esc_violation (o,
                           "ESCAPE: control left the region for %s from region offset 0x%" PRIx64
                           " (bytes the decoder does not know)",
                           esc_where (o, rip, w, sizeof w), from - o->base);
        return false;
    }
    if (!in->length) {
        esc_violation (o,
                       "bytes at region offset 0x%" PRIx64
                       " ran although the decoder refuses them (or could not read them)",
                       from - o->base);
        return false;
    }
    if (!is_branch_insn (in)) {
        bool rep = (in->attributes &
                    (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) &&
                   (in->meta.category == ZYDIS_CATEGORY_STRINGOP ||
                    in->meta.category == ZYDIS_CATEGORY_IOSTRINGOP);
        if (rip != next && !(rep && rip == from)) {
            esc_violation (o,
                           "the CPU went to region offset 0x%" PRIx64
                           " after `%s` at region offset 0x%" PRIx64
                           " (the decoder says %u bytes long)",
                           rip - o->base, esc_text (o, t, sizeof t), from - o->base, in->length);
            return false;
        }
    }
    else if (o->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && o->op[0].imm.is_relative) {
        uint64_t target = next + (uint64_t) o->op[0].imm.value.s;
        if (rip != next && rip != target) {
            esc_violation (o,
                           "the CPU went to region offset 0x%" PRIx64
                           " after `%s` at region offset 0x%" PRIx64 " (the decoder says 0x%" PRIx64
                           " or 0x%" PRIx64 ")",
                           rip - o->base, esc_text (o, t, sizeof t), from - o->base, next - o->base,
                           target - o->base);
            return false;
        }
    }
    return true;
}

/* The oracle's own view of the code: a linear decode from the start. */
static uint8_t *esc_starts (const uint8_t *code, size_t len)
{
    uint8_t *s = calloc (len / 8 + 1, 1);
    ZydisDecoder dec;
    if (!s ||
        !ZYAN_SUCCESS (ZydisDecoderInit (&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)))
        return s;
    ZydisDecodedInstruction in;
    for (size_t off = 0; off < len;) {
        if (ZYAN_SUCCESS (ZydisDecoderDecodeInstruction (&dec, NULL, code + off, len - off, &in))) {
            s[off / 8] |= (uint8_t) (1u << (off % 8));
            off += in.length;
        }
        else
            off++;
    }
    return s;
}

static long long esc_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static pid_t esc_wait (pid_t pid, int *st)
{
    pid_t r;
    do
        r = waitpid (pid, st, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Let the stopped child run at full speed through host code (the gate,
   the thread's first-call set-up) to the module's entry, and stop it
   there with the entry's first instruction not yet run.

   A software breakpoint: int3 written over the entry's first byte, which
   is put back when the child traps on it.  (A hardware breakpoint in the
   debug registers is not used: some virtual machines accept DR0/DR7
   through PTRACE_POKEUSER and then never fire it, so the module ran
   unwatched.)  The stop is checked, never assumed: it must be the int3's
   SIGTRAP with rip just past the entry.

   0: stopped at the entry, *r holds the registers.  1: the run ended
   before it got there in a way that is no error (out of time).  -1: the
   run could not be made (res->error says why; *st says whether the child
   is gone). */
static int esc_to_entry (pid_t pid, int *st, struct user_regs_struct *r, esc_result_t *res)
{
    uint64_t entry = esc_child.entry, word = entry & ~(uint64_t) 7;
    unsigned shift = (unsigned) (entry - word) * 8;
    errno = 0;
    long orig = ptrace (PTRACE_PEEKTEXT, pid, (void *) (uintptr_t) word, NULL);
    if (errno) {
        snprintf (res->error, sizeof res->error, "PTRACE_PEEKTEXT at the entry: %s",
                  strerror (errno));
        return -1;
    }
    long trap = (long) (((uint64_t) orig & ~(0xffULL << shift)) | 0xccULL << shift);
    if (ptrace (PTRACE_POKETEXT, pid, (void *) (uintptr_t) word, (void *) trap) < 0) {
        snprintf (res->error, sizeof res->error, "PTRACE_POKETEXT at the entry: %s",
                  strerror (errno));
        return -1;
    }
    if (ptrace (PTRACE_CONT, pid, NULL, NULL) < 0 || esc_wait (pid, st) < 0) {
        snprintf (res->error, sizeof res->error, "PTRACE_CONT: %s", strerror (errno));
        return -1;
    }
    if (WIFEXITED (*st) || WIFSIGNALED (*st)) {
        snprintf (res->error, sizeof res->error,
                  "the child ended (status 0x%x) before it reached the module's entry", *st);
        return -1;
    }
    if (WSTOPSIG (*st) == SIGALRM) {
        res->end = ESC_TIME;
        return 1;
    }
    if (ptrace (PTRACE_GETREGS, pid, NULL, r) < 0) {
        snprintf (res->error, sizeof res->error, "PTRACE_GETREGS: %s", strerror (errno));
        return -1;
    }
    if (WSTOPSIG (*st) != SIGTRAP || r->rip != entry + 1) {
        snprintf (res->error, sizeof res->error,
                  "host code stopped with signal %d at 0x%llx on the way to the module's "
                  "entry 0x%" PRIx64,
                  WSTOPSIG (*st), (unsigned long long) r->rip, entry);
        return -1;
    }
    r->rip = entry;
    if (ptrace (PTRACE_POKETEXT, pid, (void *) (uintptr_t) word, (void *) orig) < 0 ||
        ptrace (PTRACE_SETREGS, pid, NULL, r) < 0) {
        snprintf (res->error, sizeof res->error, "taking the breakpoint out: %s", strerror (errno));
        return -1;
    }
    /* Read back what the child will run: the entry's own bytes, at rip. */
    errno = 0;
    long now = ptrace (PTRACE_PEEKTEXT, pid, (void *) (uintptr_t) word, NULL);
    struct user_regs_struct back;
    if (errno || now != orig || ptrace (PTRACE_GETREGS, pid, NULL, &back) < 0 ||
        back.rip != entry) {
        snprintf (res->error, sizeof res->error,
                  "the child is not at the module's entry with its code restored");
        return -1;
    }
    return 0;
}

/* Verify (unless c->unverified) and run one case under the oracle.  0
   with *res filled; -1 when the run could not be made (res->error). */
static int esc_run (const esc_case_t *c, esc_result_t *res)
{
    memset (res, 0, sizeof *res);
    if (!c->len || c->len % SFI_BUNDLE || c->len > ESC_CODE_MAX ||
        c->entry >= c->len / SFI_BUNDLE) {
        snprintf (res->error, sizeof res->error, "bad case");
        return -1;
    }
    uint8_t *int3 = NULL;
    if (c->unverified && !(int3 = malloc (c->len))) {
        snprintf (res->error, sizeof res->error, "out of memory");
        return -1;
    }
    if (int3)
        memset (int3, 0xcc, c->len);
    sfi_image_t *img = esc_image (int3 ? int3 : c->code, c->len);
    free (int3);
    if (!img) {
        snprintf (res->error, sizeof res->error, "out of memory");
        return -1;
    }
    sfi_verdict_t v;
    if (sfi_verify_image (img, &v) != 0) {
        sfi_image_destroy (&img);
        res->end = ESC_REJECTED;
        if (c->unverified)
            snprintf (res->error, sizeof res->error, "int3 template refused: %s", v.rule);
        return c->unverified ? -1 : 0;
    }

    oracle_t o = { .c = c, .res = res, .prev_off = 0 };
    o.starts = esc_starts (c->code, c->len);
    if (!o.starts ||
        !ZYAN_SUCCESS (
            ZydisDecoderInit (&o.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)) ||
        !ZYAN_SUCCESS (ZydisFormatterInit (&o.fmt, ZYDIS_FORMATTER_STYLE_ATT))) {
        free (o.starts);
        sfi_image_destroy (&img);
        snprintf (res->error, sizeof res->error, "oracle does not start");
        return -1;
    }
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0)
        esc_child_main (img, c);
    sfi_image_destroy (&img);
    if (pid < 0) {
        free (o.starts);
        snprintf (res->error, sizeof res->error, "fork: %s", strerror (errno));
        return -1;
    }
    o.pid = pid;
    int st, rc = 0;
    if (esc_wait (pid, &st) < 0 || !WIFSTOPPED (st) || WSTOPSIG (st) != SIGSTOP) {
        if (WIFEXITED (st) && WEXITSTATUS (st) == CHILD_NOTRACE) {
            res->no_ptrace = true;
            snprintf (res->error, sizeof res->error,
                      "ptrace (PTRACE_TRACEME) is not permitted here");
        }
        else if (WIFEXITED (st))
            snprintf (res->error, sizeof res->error,
                      "the child could not load the module (exit %d)", WEXITSTATUS (st));
        else
            snprintf (res->error, sizeof res->error, "the child did not stop (status 0x%x)", st);
        rc = -1;
        goto out;
    }
    ptrace (PTRACE_SETOPTIONS, pid, NULL, (void *) (uintptr_t) PTRACE_O_EXITKILL);
    struct iovec l = { &esc_child, sizeof esc_child }, rv = { &esc_child, sizeof esc_child };
    if (process_vm_readv (pid, &l, 1, &rv, 1, 0) != (ssize_t) sizeof esc_child) {
        res->no_ptrace = errno == EPERM || errno == ENOSYS;
        snprintf (res->error, sizeof res->error, "process_vm_readv: %s", strerror (errno));
        rc = -1;
        goto out;
    }
    o.base = esc_child.base;
    o.code = o.base + SFI_IMAGE_OFF;
    o.code_end = o.code + c->len;

    long long deadline = esc_now_ms () + ESC_SECONDS * 1000LL;
    struct user_regs_struct r;
    int run = esc_to_entry (pid, &st, &r, res);
    if (run != 0) {
        if (run < 0)
            rc = -1;
        if (WIFEXITED (st) || WIFSIGNALED (st))
            pid = 0;
        goto out;
    }
    static int trace = -1;
    if (trace < 0)
        trace = getenv ("SFI_ESCAPE_TRACE") != NULL;
    for (;;) {
        if (res->steps >= ESC_STEPS) {
            res->end = ESC_STEPS_OUT;
            break;
        }
        if ((res->steps & 255) == 255 && esc_now_ms () > deadline) {
            res->end = ESC_TIME;
            break;
        }
        bool mod = in_window (&o, r.rip);
        if (trace)
            fprintf (stderr, "%s 0x%llx\n", mod ? "module" : "host",
                     (unsigned long long) (mod ? r.rip - o.base : r.rip));
        if (mod && !esc_before (&o, &r))
            break;
        if (ptrace (PTRACE_SINGLESTEP, pid, NULL, NULL) < 0 || esc_wait (pid, &st) < 0) {
            snprintf (res->error, sizeof res->error, "PTRACE_SINGLESTEP: %s", strerror (errno));
            rc = -1;
            break;
        }
        res->steps++;
        if (WIFEXITED (st) || WIFSIGNALED (st)) {
            res->end = ESC_EXIT;
            pid = 0;
            break;
        }
        int sig = WSTOPSIG (st);
        siginfo_t si;
        memset (&si, 0, sizeof si);
        if (sig != SIGTRAP || mod)
            ptrace (PTRACE_GETSIGINFO, pid, NULL, &si);
        if (trace && (sig != SIGTRAP || (mod && si.si_code != TRAP_TRACE)))
            fprintf (stderr, "  signal %d, code %d\n", sig, si.si_code);
        if (sig == SIGTRAP && (!mod || si.si_code == TRAP_TRACE)) {
            if (ptrace (PTRACE_GETREGS, pid, NULL, &r) < 0) {
                snprintf (res->error, sizeof res->error, "PTRACE_GETREGS: %s", strerror (errno));
                rc = -1;
                break;
            }
            bool done = false;
            if (mod && !esc_after (&o, r.rip, &done))
                break;
            if (done) {
                res->end = ESC_RETURN;
                break;
            }
            continue;
        }
        if (sig == SIGALRM) {
            res->end = ESC_TIME;
            break;
        }
        char w[96];
        if (!mod) {
            ptrace (PTRACE_GETREGS, pid, NULL, &r);
            esc_violation (
                &o,
                "host code got signal %d (code %d, address 0x%llx) at rip 0x%llx while running the module",
                sig, si.si_code, (unsigned long long) (uintptr_t) si.si_addr,
                (unsigned long long) r.rip);
            break;
        }
        /* a fault or trap in module code: the sandbox at work */
        bool paging =
            (sig == SIGSEGV && (si.si_code == SEGV_MAPERR || si.si_code == SEGV_ACCERR)) ||
            (sig == SIGBUS &&
             (si.si_code == BUS_ADRALN || si.si_code == BUS_ADRERR || si.si_code == BUS_OBJERR));
        if (paging &&
            !in_window (&o, (uint64_t) (uintptr_t) si.si_addr)) { /* (a #GP has no address) */
            char t[128];
            esc_violation (&o,
                           "ESCAPE: page fault at %s by `%s` at region offset 0x%" PRIx64
                           " (an access the oracle did not foresee)",
                           esc_where (&o, (uint64_t) (uintptr_t) si.si_addr, w, sizeof w),
                           o.in.length ? esc_text (&o, t, sizeof t) : "?", o.rip - o.base);
            break;
        }
        res->end = sig == SIGSEGV || sig == SIGBUS ? ESC_FAULT : ESC_TRAP;
        COV (12288 + sig);
        break;
    }
    COV (12352 + res->end);
    for (uint64_t s = res->module_steps, k = 0; s; s >>= 1, k++)
        COV (12368 + k);
out:
    if (pid > 0) {
        kill (pid, SIGKILL);
        esc_wait (pid, &st);
    }
    free (o.starts);
    return rc;
}

/* -- The self-test: the oracle must see what the verifier would stop ----- */

typedef struct {
    const char *name;
    const char *hex; /* assembled by gas; "|" pads with int3 to a bundle, "~" with nops */
    int argmode;
    uint64_t argval;
    bool unverified;  /* run without the verifier */
    const char *want; /* words of the violation; NULL: none */
    int end;          /* or how a clean run ends (-1: any way) */
} esc_selftest_t;

#define RET_SEQ "41 5b 41 83 c3 1f 41 83 e3 e0 4d 01 fb 41 ff e3" /* the masked return */
/* 25 nops: a 7-byte call after them ends its bundle, so the return address
   is the next bundle start, whether the gate rounds it up or down */
#define NOP25   "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 "
static const esc_selftest_t esc_selftests[] = {
    /* unsafe, run without the verifier: each must be flagged */
    { "store through a host pointer", "48 89 07 " RET_SEQ, ARG_HOSTPTR, 0,
      true, /* movq %rax,(%rdi) */
      "ESCAPE: write of 8 bytes at host address", 0 },
    { "load through a host pointer", "48 8b 07 " RET_SEQ, ARG_HOSTPTR, 0,
      true, /* movq (%rdi),%rax */
      "ESCAPE: read of 8 bytes at host address", 0 },
    { "jump to host code", "ff e7", ARG_HOSTPTR, 0, true, /* jmp *%rdi */
      "ESCAPE: control left the region for host address", 0 },
    { "return to the host's address", "48 89 3c 24 c3", ARG_HOSTPTR, 0,
      true, /* movq %rdi,(%rsp); ret */
      "ESCAPE: control left the region", 0 },
    { "64-bit r14", "49 89 fe 43 8b 04 37 " RET_SEQ, ARG_HOSTPTR, 0,
      true, /* movq %rdi,%r14; movl (%r15,%r14,1),%eax */
      "r14 = 0x", 0 },
    { "stack moved to the host", "48 89 fc 50", ARG_HOSTPTR, 0,
      true, /* movq %rdi,%rsp; pushq %rax */
      "rsp = 0x", 0 },
    { "r15 overwritten", "49 89 ff 41 8b 07", ARG_HOSTPTR, 0,
      true, /* movq %rdi,%r15; movl (%r15),%eax */
      "r15 = 0x", 0 },
    { "bit offset far beyond", "49 0f ab 3f " RET_SEQ, ARG_HUGE, 1ULL << 62,
      true, /* btsq %rdi,(%r15) */
      "ESCAPE: write of 8 bytes at host address", 0 },
    { "negative bit offset", "41 0f a3 3f " RET_SEQ, ARG_HUGE, 0x80000000u,
      true, /* btl %edi,(%r15): 2^31 -> -256 MiB */
      "ESCAPE: read of 4 bytes at host address", 0 },
    { "fs-relative load", "64 48 8b 04 25 00 00 00 00 " RET_SEQ, ARG_ZERO, 0,
      true, /* movq %fs:0,%rax */
      "fs/gs-relative read", 0 },
    { "system call", "b8 27 00 00 00 0f 05", ARG_ZERO, 0, true, /* movl $39,%eax; syscall */
      "system call", 0 },
    { "jump into an instruction", "eb 01 b8 90 90 90 90 " RET_SEQ, ARG_ZERO, 0,
      true, /* jmp .+3: into the immediate */
      "inside an instruction", 0 },
    { "far below the region", "41 8b 87 00 00 c0 ff", ARG_ZERO, 0,
      true, /* movl -0x400000(%r15),%eax */
      "ESCAPE: read of 4 bytes at host address", 0 },
    /* safe, verified: clean, however they end */
    { "return", RET_SEQ, ARG_ZERO, 0, false, NULL, ESC_RETURN },
    { "memory and stack", "50 41 89 fe 43 89 04 37 43 8b 44 37 08 48 89 44 24 f8 58 ~ " RET_SEQ,
      ARG_HEAP, 3, false, NULL, ESC_RETURN }, /* push; movl %edi,%r14d; stores, loads; pop */
    { "rsp pair", "83 ec 40 4c 01 fc 48 89 04 24 83 c4 40 4c 01 fc ~ " RET_SEQ, ARG_ZERO, 0, false,
      NULL, ESC_RETURN },
    { "into a data page", "b8 00 00 02 00 05 00 10 00 00 83 e0 e0 4c 01 f8 ff e0", ARG_ZERO, 0,
      false, NULL, ESC_FAULT },
    { "guard hit", "41 c7 87 00 f0 ff ff 01 00 00 00", ARG_ZERO, 0, false, NULL, ESC_FAULT },
    { "host call", NOP25 "41 ff 97 80 00 01 00 " RET_SEQ, ARG_SMALL, 5, false, NULL, ESC_RETURN },
    { "empty host slot", NOP25 "41 ff 97 18 00 01 00 " RET_SEQ, ARG_ZERO, 0, false, NULL,
      ESC_EXIT },
    { "int3", "cc", ARG_ZERO, 0, false, NULL, ESC_TRAP },
    { "misaligned movaps", "0f 29 44 24 35", ARG_ZERO, 0, false, NULL,
      ESC_FAULT }, /* #GP: no fault address */
    { "spin", "eb fe", ARG_ZERO, 0, false, NULL, ESC_STEPS_OUT },
    { "to the loader's stubs", "b8 00 20 01 00 83 e0 e0 4c 01 f8 ff e0", ARG_ZERO, 0, false, NULL,
      -1 },
    { "masked jump", "b8 40 00 02 00 83 e0 e0 4c 01 f8 ff e0 | 0f 0b | " RET_SEQ, ARG_ZERO, 0,
      false, NULL, ESC_RETURN },
};
#define ESC_NSELFTESTS (sizeof esc_selftests / sizeof esc_selftests[0])

/* hex to bytes, "|" pads with int3, "~" with nops; the length, padded
   to a bundle */
static size_t esc_hex (uint8_t *buf, size_t cap, const char *hex)
{
    size_t at = 0;
    for (const char *p = hex; *p && at < cap;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (*p == '|' || *p == '~') {
            while (at % SFI_BUNDLE && at < cap)
                buf[at++] = *p == '|' ? 0xcc : 0x90;
            p++;
            continue;
        }
        char *end;
        buf[at++] = (uint8_t) strtoul (p, &end, 16);
        p = end;
    }
    while (at % SFI_BUNDLE && at < cap)
        buf[at++] = 0xcc;
    return at;
}

/* One self-test case; NULL when the oracle judged it as it should, else
   what went wrong (in buf). */
static const char *esc_selftest_one (const esc_selftest_t *t, esc_result_t *res, char *buf,
                                     size_t len)
{
    uint8_t code[256];
    memset (code, 0xcc, sizeof code);
    esc_case_t c = { code,         esc_hex (code, sizeof code, t->hex), 0, t->argmode, t->argval,
                     t->unverified };
    if (esc_run (&c, res) < 0) {
        snprintf (buf, len, "%s: cannot run: %s", t->name, res->error);
        return buf;
    }
    if (t->want && !strstr (res->violation, t->want))
        snprintf (buf, len, "%s: the oracle missed it: want '%s', got %s '%s'", t->name, t->want,
                  esc_end_name[res->end], res->violation);
    else if (!t->want && (res->violation[0] || (t->end >= 0 && res->end != t->end)))
        snprintf (buf, len, "%s: want a clean run that %s, got %s '%s'", t->name,
                  t->end < 0 ? "ends" : esc_end_name[t->end], esc_end_name[res->end],
                  res->violation);
    else
        return NULL;
    return buf;
}

/* Can this process trace a child? */
static bool esc_ptrace_ok (char *why, size_t len)
{
    static const esc_selftest_t probe = { "probe", RET_SEQ, ARG_ZERO, 0, false, NULL, ESC_RETURN };
    esc_result_t res;
    uint8_t code[32];
    esc_case_t c = { code, esc_hex (code, sizeof code, probe.hex), 0, ARG_ZERO, 0, false };
    if (esc_run (&c, &res) < 0 && res.no_ptrace) {
        snprintf (why, len, "%.180s", res.error);
        return false;
    }
    return true;
}

#ifndef SFI_ESCAPE_NO_FUZZER

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static struct {
    uint64_t inputs, ran, steps, module_steps, ends[ESC_VIOLATION + 1];
} esc_stats;

static void esc_print_stats (void)
{
    fprintf (stderr,
             "fuzz_sfi_escape: %" PRIu64 " inputs, %" PRIu64 " verified and run (%" PRIu64
             " steps, %" PRIu64 " in module code): %" PRIu64 " returned, %" PRIu64
             " faulted, %" PRIu64 " trapped, %" PRIu64 " out of steps, %" PRIu64
             " out of time, %" PRIu64 " exited\n",
             esc_stats.inputs, esc_stats.ran, esc_stats.steps, esc_stats.module_steps,
             esc_stats.ends[ESC_RETURN], esc_stats.ends[ESC_FAULT], esc_stats.ends[ESC_TRAP],
             esc_stats.ends[ESC_STEPS_OUT], esc_stats.ends[ESC_TIME], esc_stats.ends[ESC_EXIT]);
}

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    char why[200];
    if (!esc_ptrace_ok (why, sizeof why)) {
        fprintf (stderr, "fuzz_sfi_escape: skipped: %s\n", why);
        exit (77);
    }
    bool verbose = getenv ("SFI_ESCAPE_SELFTEST") != NULL;
    int failed = 0;
    for (size_t i = 0; i < ESC_NSELFTESTS; i++) {
        esc_result_t res;
        char msg[700];
        const char *bad = esc_selftest_one (&esc_selftests[i], &res, msg, sizeof msg);
        if (bad) {
            fprintf (stderr, "fuzz_sfi_escape: self-test FAILED: %s\n", bad);
            failed++;
        }
        else if (verbose)
            fprintf (stderr, "fuzz_sfi_escape: self-test ok: %-30s %s%s%s (%" PRIu64 " steps)\n",
                     esc_selftests[i].name, esc_end_name[res.end], res.violation[0] ? ": " : "",
                     res.violation, res.steps);
    }
    if (failed) {
        fprintf (stderr, "fuzz_sfi_escape: the oracle is broken (%d of %zu self-tests failed)\n",
                 failed, ESC_NSELFTESTS);
        abort ();
    }
    fprintf (stderr, "fuzz_sfi_escape: oracle self-test passed (%zu cases)\n", ESC_NSELFTESTS);
    /* the self-tests touched the counters; start clean */
    memset (esc_cov, 0, sizeof esc_cov);
    atexit (esc_print_stats);
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static uint8_t code[ESC_CODE_MAX];
    static unsigned errors;
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv ("SFI_ESCAPE_VERBOSE") != NULL;
    if (size <= ESC_HDR || size - ESC_HDR > ESC_CODE_MAX)
        return 0;
    size_t len = ((size - ESC_HDR) + SFI_BUNDLE - 1) & ~(size_t) (SFI_BUNDLE - 1);
    memset (code + (size - ESC_HDR), 0xcc, len - (size - ESC_HDR));
    memcpy (code, data + ESC_HDR, size - ESC_HDR);
    esc_case_t c = {
        code,        len,     (unsigned) (data[0] | data[1] << 8) % (unsigned) (len / SFI_BUNDLE),
        data[2] & 3, data[3], false
    };
    esc_result_t res;
    if (esc_run (&c, &res) < 0) {
        if (errors++ < 10)
            fprintf (stderr, "fuzz_sfi_escape: run not made: %s\n", res.error);
        return 0;
    }
    esc_stats.inputs++;
    if (res.end != ESC_REJECTED) {
        esc_stats.ran++;
        esc_stats.steps += res.steps;
        esc_stats.module_steps += res.module_steps;
        esc_stats.ends[res.end]++;
    }
    if (verbose)
        fprintf (stderr,
                 "fuzz_sfi_escape: %zu code bytes, entry bundle %u, arguments %d/%d: %s, %" PRIu64
                 " steps (%" PRIu64 " in the module, %" PRIu64 " host calls)\n",
                 len, c.entry, c.argmode, (int) c.argval, esc_end_name[res.end], res.steps,
                 res.module_steps, res.host_calls);
    if (res.violation[0]) {
        fprintf (stderr,
                 "fuzz_sfi_escape: the verifier accepted this code, and when run: %s\n"
                 "    (entry bundle %u, argument mode %d/%d, %" PRIu64 " steps, %" PRIu64
                 " in the module)\n",
                 res.violation, c.entry, c.argmode, (int) c.argval, res.steps, res.module_steps);
        abort ();
    }
    return 0;
}

#endif
