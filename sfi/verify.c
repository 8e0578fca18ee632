/*  verify.c -- the trusted verifier (see verify.h and sfi/SCHEME.md).

    One pass decodes the code bundle by bundle with Zydis and checks each
    instruction on its own (allowlist, prefixes, registers written, memory
    operands) and with its neighbours in the bundle (the masked indirect
    branch and the rsp pair).  It records which offsets start an
    instruction, which are the protected middle of a sequence, and every
    direct branch; a second pass checks the branch targets.  What the
    rules need to know of an instruction besides its place (its "facts")
    depends on its bytes alone, so safe instructions seen before are not
    decoded again.

    Everything here errs towards "unsafe": an instruction is allowed only
    if its category, its ISA set and its mnemonic are all on the lists
    below, and every operand Zydis reports, visible or hidden, is checked. */
#include "verify.h"
#include "err.h"
#include "str.h"

#include <Zydis/Zydis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -- The allowlist ------------------------------------------------------- */

/* Instruction categories a module may use at all. */
static const ZydisInstructionCategory categories[] = {
    ZYDIS_CATEGORY_BINARY,     ZYDIS_CATEGORY_LOGICAL,   ZYDIS_CATEGORY_DATAXFER,
    ZYDIS_CATEGORY_SHIFT,      ZYDIS_CATEGORY_ROTATE,    ZYDIS_CATEGORY_BITBYTE,
    ZYDIS_CATEGORY_SETCC,      ZYDIS_CATEGORY_CMOV,      ZYDIS_CATEGORY_CONVERT,
    ZYDIS_CATEGORY_FLAGOP,     ZYDIS_CATEGORY_SEMAPHORE, ZYDIS_CATEGORY_MISC,
    ZYDIS_CATEGORY_NOP,        ZYDIS_CATEGORY_WIDENOP,   ZYDIS_CATEGORY_PREFETCH,
    ZYDIS_CATEGORY_COND_BR,    ZYDIS_CATEGORY_UNCOND_BR, ZYDIS_CATEGORY_CALL,
    ZYDIS_CATEGORY_PUSH,       ZYDIS_CATEGORY_POP,       ZYDIS_CATEGORY_BMI1,
    ZYDIS_CATEGORY_BMI2,       ZYDIS_CATEGORY_LZCNT,     ZYDIS_CATEGORY_X87_ALU,
    ZYDIS_CATEGORY_FCMOV,      ZYDIS_CATEGORY_SSE,       ZYDIS_CATEGORY_STTNI,
    ZYDIS_CATEGORY_LOGICAL_FP, ZYDIS_CATEGORY_AVX,       ZYDIS_CATEGORY_AVX2,
    ZYDIS_CATEGORY_BROADCAST,  ZYDIS_CATEGORY_BLEND,     ZYDIS_CATEGORY_VFMA,
};

/* ISA sets a module may use: the baseline x86-64 integer set, x87,
   SSE..SSE4.2, AVX, AVX2, FMA, BMI1/2 and a few single-instruction sets.
   AVX-512, MPX, TSX, SGX, AMX, XSAVE, FSGSBASE, RDRAND, WAITPKG, ENQCMD
   and everything newer are absent, hence rejected. */
static const ZydisISASet isa_sets[] = {
    ZYDIS_ISA_SET_I86,          ZYDIS_ISA_SET_I186,     ZYDIS_ISA_SET_I386,
    ZYDIS_ISA_SET_I486,         ZYDIS_ISA_SET_I486REAL, /* xadd, cmpxchg, bswap; the rest is privileged */
    ZYDIS_ISA_SET_PENTIUMREAL,  ZYDIS_ISA_SET_PPRO,     ZYDIS_ISA_SET_LONGMODE,
    ZYDIS_ISA_SET_CMOV,         ZYDIS_ISA_SET_LAHF,     ZYDIS_ISA_SET_CMPXCHG16B,
    ZYDIS_ISA_SET_PAUSE,        ZYDIS_ISA_SET_FAT_NOP,  ZYDIS_ISA_SET_PREFETCH_NOP,
    ZYDIS_ISA_SET_SSE_PREFETCH, ZYDIS_ISA_SET_X87,      ZYDIS_ISA_SET_FCMOV,
    ZYDIS_ISA_SET_SSE,          ZYDIS_ISA_SET_SSE2,     ZYDIS_ISA_SET_SSE3,
    ZYDIS_ISA_SET_SSE3X87,      ZYDIS_ISA_SET_SSSE3,    ZYDIS_ISA_SET_SSE4,
    ZYDIS_ISA_SET_SSE42,        ZYDIS_ISA_SET_SSEMXCSR, ZYDIS_ISA_SET_POPCNT,
    ZYDIS_ISA_SET_LZCNT,        ZYDIS_ISA_SET_MOVBE,    ZYDIS_ISA_SET_BMI1,
    ZYDIS_ISA_SET_BMI2,         ZYDIS_ISA_SET_AVX,      ZYDIS_ISA_SET_AVX2,
    ZYDIS_ISA_SET_FMA,
};

/* Mnemonics inside the allowed categories and sets that are still out,
   with the reason; and the two traps that are in, whatever their class. */
#define SYSTEM  "system instructions are not allowed"
#define FPCTL   "loading floating-point control state is not allowed"
#define SEGLOAD "loading a segment register is not allowed"
#define RET \
    "ret is allowed only as the plain near ret ending andl $-32,%eR; addq %r15,%rR; pushq %rR"
static const struct {
    ZydisMnemonic m;
    const char *why;
} mnemonics[] = {
    { ZYDIS_MNEMONIC_INT3, NULL },
    { ZYDIS_MNEMONIC_UD2, NULL },
    { ZYDIS_MNEMONIC_RET, RET },
    { ZYDIS_MNEMONIC_IRET, "iret is not allowed" },
    { ZYDIS_MNEMONIC_IRETD, "iret is not allowed" },
    { ZYDIS_MNEMONIC_IRETQ, "iret is not allowed" },
    { ZYDIS_MNEMONIC_INT, "software interrupts are not allowed" },
    { ZYDIS_MNEMONIC_INT1, "software interrupts are not allowed" },
    { ZYDIS_MNEMONIC_INTO, "software interrupts are not allowed" },
    { ZYDIS_MNEMONIC_UD0, "only ud2 and int3 may trap" },
    { ZYDIS_MNEMONIC_UD1, "only ud2 and int3 may trap" },
    { ZYDIS_MNEMONIC_ENTER, "enter is not allowed (it writes rsp)" },
    { ZYDIS_MNEMONIC_LEAVE, "leave is not allowed (it writes rsp)" },
    { ZYDIS_MNEMONIC_XLAT, "xlat is not allowed (implicit memory operand)" },
    { ZYDIS_MNEMONIC_PUSHF, "pushf/popf are not allowed" },
    { ZYDIS_MNEMONIC_PUSHFD, "pushf/popf are not allowed" },
    { ZYDIS_MNEMONIC_PUSHFQ, "pushf/popf are not allowed" },
    { ZYDIS_MNEMONIC_POPF, "pushf/popf are not allowed" },
    { ZYDIS_MNEMONIC_POPFD, "pushf/popf are not allowed" },
    { ZYDIS_MNEMONIC_POPFQ, "pushf/popf are not allowed" },
    { ZYDIS_MNEMONIC_STD, "std/cld are not allowed" },
    { ZYDIS_MNEMONIC_CLD, "std/cld are not allowed" },
    { ZYDIS_MNEMONIC_CLI, "cli/sti are not allowed" },
    { ZYDIS_MNEMONIC_STI, "cli/sti are not allowed" },
    { ZYDIS_MNEMONIC_HLT, "hlt is not allowed" },
    { ZYDIS_MNEMONIC_CPUID, "cpuid is not allowed (modules stay deterministic)" },
    { ZYDIS_MNEMONIC_RDTSC, "reading the time stamp counter is not allowed" },
    { ZYDIS_MNEMONIC_RDTSCP, "reading the time stamp counter is not allowed" },
    { ZYDIS_MNEMONIC_RDPMC, "reading performance counters is not allowed" },
    { ZYDIS_MNEMONIC_LDMXCSR, FPCTL },
    { ZYDIS_MNEMONIC_VLDMXCSR, FPCTL },
    { ZYDIS_MNEMONIC_FLDCW, FPCTL },
    { ZYDIS_MNEMONIC_FLDENV, FPCTL },
    { ZYDIS_MNEMONIC_FRSTOR, FPCTL },
    { ZYDIS_MNEMONIC_LDS, SEGLOAD },
    { ZYDIS_MNEMONIC_LES, SEGLOAD },
    { ZYDIS_MNEMONIC_LFS, SEGLOAD },
    { ZYDIS_MNEMONIC_LGS, SEGLOAD },
    { ZYDIS_MNEMONIC_LSS, SEGLOAD },
    { ZYDIS_MNEMONIC_SGDT, SYSTEM },
    { ZYDIS_MNEMONIC_SIDT, SYSTEM },
    { ZYDIS_MNEMONIC_SLDT, SYSTEM },
    { ZYDIS_MNEMONIC_STR, SYSTEM },
    { ZYDIS_MNEMONIC_SMSW, SYSTEM },
    { ZYDIS_MNEMONIC_LAR, SYSTEM },
    { ZYDIS_MNEMONIC_LSL, SYSTEM },
    { ZYDIS_MNEMONIC_VERR, SYSTEM },
    { ZYDIS_MNEMONIC_VERW, SYSTEM },
    { ZYDIS_MNEMONIC_CLFLUSH, "cache flushes are not allowed" },
};

/* Categories named in the rejection message, for a clearer reason. */
static const struct {
    ZydisInstructionCategory c;
    const char *why;
} bad_categories[] = {
    { ZYDIS_CATEGORY_STRINGOP, "string instructions are not allowed" },
    { ZYDIS_CATEGORY_IOSTRINGOP, "port I/O is not allowed" },
    { ZYDIS_CATEGORY_IO, "port I/O is not allowed" },
    { ZYDIS_CATEGORY_SYSCALL, "system calls are not allowed" },
    { ZYDIS_CATEGORY_SYSRET, SYSTEM },
    { ZYDIS_CATEGORY_SYSTEM, SYSTEM },
    { ZYDIS_CATEGORY_SEGOP, "segment register instructions are not allowed" },
    { ZYDIS_CATEGORY_RET, RET },
    { ZYDIS_CATEGORY_INTERRUPT, "software interrupts are not allowed" },
};

#define NCAT   (ZYDIS_CATEGORY_MAX_VALUE + 1)
#define NISA   (ZYDIS_ISA_SET_MAX_VALUE + 1)
#define NMNEM  (ZYDIS_MNEMONIC_MAX_VALUE + 1)
#define NOF(a) (sizeof (a) / sizeof (a)[0])

/* The lists as lookup tables, built once. */
static const char *cat_why[NCAT]; /* NULL: allowed */
static bool isa_ok[NISA];
static const char *mnem_why[NMNEM];
static bool mnem_listed[NMNEM];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_build (void)
{
    for (int c = 0; c < NCAT; c++)
        cat_why[c] = "instruction class not in the allowlist";
    for (size_t i = 0; i < NOF (categories); i++)
        cat_why[categories[i]] = NULL;
    for (size_t i = 0; i < NOF (bad_categories); i++)
        cat_why[bad_categories[i].c] = bad_categories[i].why;
    for (size_t i = 0; i < NOF (isa_sets); i++)
        isa_ok[isa_sets[i]] = true;
    for (size_t i = 0; i < NOF (mnemonics); i++) {
        mnem_listed[mnemonics[i].m] = true;
        mnem_why[mnemonics[i].m] = mnemonics[i].why;
    }
}

/* -- One instruction, on its own ----------------------------------------- */

/* What an instruction is to its neighbours and its position: all that the
   rules need besides its bytes.  Nothing here depends on where it is, so
   the facts of a safe instruction can be reused for the same bytes. */
enum { K_OTHER, K_MASK, K_ADDBASE, K_ESP, K_JUMPREG, K_DIRECT, K_PUSHREG, K_RET };

typedef struct {
    uint8_t len; /* 0: no facts */
    uint8_t kind;
    uint16_t reg; /* K_MASK, K_ADDBASE, K_JUMPREG, K_PUSHREG: the 64-bit register */
    bool rip;     /* has a rip-relative memory operand */
    int64_t disp; /* its displacement, from the end of the instruction */
    int64_t rel;  /* K_DIRECT: target minus the end of the instruction */
} facts_t;

typedef struct {
    ZydisDecodedInstruction in;
    ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
} insn_t;

static ZydisRegister reg64 (ZydisRegister r)
{
    return ZydisRegisterGetLargestEnclosing (ZYDIS_MACHINE_MODE_LONG_64, r);
}

/* `andl $-32, %eR` */
static bool is_mask (const insn_t *x, ZydisRegister *r)
{
    const ZydisDecodedOperand *op = x->op;
    if (x->in.mnemonic != ZYDIS_MNEMONIC_AND || x->in.operand_width != 32 ||
        op[0].type != ZYDIS_OPERAND_TYPE_REGISTER || op[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
        ZydisRegisterGetClass (op[0].reg.value) != ZYDIS_REGCLASS_GPR32 ||
        (uint32_t) op[1].imm.value.u != 0xffffffe0u)
        return false;
    *r = reg64 (op[0].reg.value);
    return true;
}

/* `addq %r15, %rR` */
static bool is_addbase (const insn_t *x, ZydisRegister *r)
{
    const ZydisDecodedOperand *op = x->op;
    if (x->in.mnemonic != ZYDIS_MNEMONIC_ADD || x->in.operand_width != 64 ||
        op[0].type != ZYDIS_OPERAND_TYPE_REGISTER || op[1].type != ZYDIS_OPERAND_TYPE_REGISTER ||
        ZydisRegisterGetClass (op[0].reg.value) != ZYDIS_REGCLASS_GPR64 ||
        op[1].reg.value != ZYDIS_REGISTER_R15)
        return false;
    *r = op[0].reg.value;
    return true;
}

static bool is_branch (const ZydisDecodedInstruction *in)
{
    ZydisInstructionCategory c = in->meta.category;
    return c == ZYDIS_CATEGORY_COND_BR || c == ZYDIS_CATEGORY_UNCOND_BR ||
           c == ZYDIS_CATEGORY_CALL || c == ZYDIS_CATEGORY_RET;
}

static bool is_stack_op (ZydisMnemonic m)
{
    return m == ZYDIS_MNEMONIC_PUSH || m == ZYDIS_MNEMONIC_POP || m == ZYDIS_MNEMONIC_CALL ||
           m == ZYDIS_MNEMONIC_RET;
}

/* The plain near `ret` (c3, no immediate); where it may stand is a rule
   about its bundle (K_RET). */
static bool is_plain_ret (const ZydisDecodedInstruction *in)
{
    return in->mnemonic == ZYDIS_MNEMONIC_RET && in->meta.branch_type == ZYDIS_BRANCH_TYPE_NEAR &&
           in->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && in->opcode == 0xc3 &&
           in->operand_count_visible == 0;
}

/* Encoding, prefixes and the allowlist. */
static int check_kind (const insn_t *x, const char **why)
{
    const ZydisDecodedInstruction *in = &x->in;
    ZyanU64 a = in->attributes;
    if (in->encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX ||
        in->encoding == ZYDIS_INSTRUCTION_ENCODING_MVEX)
        return gl_why (why, "EVEX encoding (AVX-512) is not allowed");
    if (in->encoding == ZYDIS_INSTRUCTION_ENCODING_XOP ||
        in->encoding == ZYDIS_INSTRUCTION_ENCODING_3DNOW)
        return gl_why (why, "XOP and 3DNow! encodings are not allowed");
    if (a & ZYDIS_ATTRIB_HAS_NOTRACK)
        return gl_why (why, "notrack prefix is not allowed");
    if (a & ZYDIS_ATTRIB_HAS_BND)
        return gl_why (why, "bnd prefix is not allowed");
    if (a & (ZYDIS_ATTRIB_HAS_XACQUIRE | ZYDIS_ATTRIB_HAS_XRELEASE))
        return gl_why (why, "xacquire/xrelease prefixes are not allowed");
    if (a & (ZYDIS_ATTRIB_HAS_BRANCH_TAKEN | ZYDIS_ATTRIB_HAS_BRANCH_NOT_TAKEN))
        return gl_why (why, "branch hint prefixes are not allowed");
    /* Prefixes that mean nothing today (bnd on a short jmp, rep on an
       add) may mean something tomorrow, as bnd and notrack once did; and
       0x66 on a branch truncates rip to 16 bits on AMD. */
    for (int i = 0; i < in->raw.prefix_count; i++) {
        uint8_t p = in->raw.prefixes[i].value;
        if (is_branch (in) && (p & 0xf0) != 0x40)
            return gl_why (why, "prefixes on branches are not allowed");
        if (in->raw.prefixes[i].type == ZYDIS_PREFIX_TYPE_IGNORED &&
            in->mnemonic != ZYDIS_MNEMONIC_NOP)
            return gl_why (why, "redundant or ignored prefixes are not allowed");
    }
    /* gas pads with `nopw %cs:0(%rax,%rax,1)`: a nop touches no memory,
       so its 0x66 and cs prefixes and its operand mean nothing.  Only the
       nops gas pads with are in: the other "reserved nop" opcodes are
       where new instructions go (endbr64, rdssp and cldemote did). */
    if (in->mnemonic == ZYDIS_MNEMONIC_NOP) {
        bool plain = in->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && in->opcode == 0x90;
        bool wide =
            in->opcode_map == ZYDIS_OPCODE_MAP_0F && in->opcode == 0x1f && in->raw.modrm.reg == 0;
        if (!plain && !wide)
            return gl_why (why, "reserved nop encodings are not allowed (only 0x90 and 0f 1f /0)");
        for (int i = 0; i < in->raw.prefix_count; i++)
            if (in->raw.prefixes[i].value != 0x66 && in->raw.prefixes[i].value != 0x2e)
                return gl_why (why, "nop prefixes other than 0x66 and cs are not allowed");
        return 0;
    }
    if (a & ZYDIS_ATTRIB_HAS_SEGMENT)
        return gl_why (why, "segment override prefixes are not allowed");
    if (in->mnemonic != ZYDIS_MNEMONIC_LEA && in->address_width != 64)
        return gl_why (why, "32-bit address size is not allowed");
    if (a & ZYDIS_ATTRIB_IS_PRIVILEGED)
        return gl_why (why, "privileged instructions are not allowed");
    if (is_plain_ret (in))
        return 0;
    if (mnem_listed[in->mnemonic]) /* out with a reason, or in (int3, ud2) */
        return mnem_why[in->mnemonic] ? gl_why (why, mnem_why[in->mnemonic]) : 0;
    if (cat_why[in->meta.category])
        return gl_why (why, cat_why[in->meta.category]);
    if (!isa_ok[in->meta.isa_set])
        return gl_why (why, "ISA extension not in the allowlist");
    /* The scheme keeps r15 and rsp out of push: base and stack pointer
       are the sandbox's, not data. */
    const ZydisDecodedOperand *op = &x->op[0];
    if (in->mnemonic == ZYDIS_MNEMONIC_PUSH && op->type == ZYDIS_OPERAND_TYPE_REGISTER &&
        (reg64 (op->reg.value) == ZYDIS_REGISTER_R15 ||
         reg64 (op->reg.value) == ZYDIS_REGISTER_RSP))
        return gl_why (why, "push of rsp or r15 is not allowed");
    return 0;
}

/* Registers written, visible or hidden; f->kind says whether this is a
   part of a sequence. */
static int check_writes (const insn_t *x, facts_t *f, const char **why)
{
    const ZydisDecodedInstruction *in = &x->in;
    ZydisRegister r;
    if (is_mask (x, &r))
        *f = (facts_t){ .kind = K_MASK, .reg = (uint16_t) r };
    else if (is_addbase (x, &r))
        *f = (facts_t){ .kind = K_ADDBASE, .reg = (uint16_t) r };
    for (int i = 0; i < in->operand_count; i++) {
        const ZydisDecodedOperand *op = &x->op[i];
        if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
            continue;
        r = op->reg.value;
        bool visible = op->visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN;
        bool written = op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
        if (ZydisRegisterGetClass (r) == ZYDIS_REGCLASS_SEGMENT && (visible || written))
            return gl_why (why, "segment register operands are not allowed");
        if (!written)
            continue;
        if (reg64 (r) == ZYDIS_REGISTER_R15)
            return gl_why (why, "writes reserved register r15");
        if (r == ZYDIS_REGISTER_R14)
            return gl_why (why, "writes r14 with a 64-bit operand (r14 must stay below 2^32)");
        if (reg64 (r) != ZYDIS_REGISTER_RSP || (!visible && is_stack_op (in->mnemonic)))
            continue;
        if (visible && r == ZYDIS_REGISTER_ESP)
            f->kind = K_ESP;
        else if (!(visible && f->kind == K_ADDBASE && f->reg == ZYDIS_REGISTER_RSP))
            return gl_why (
                why,
                "writes rsp (only push, pop, call, or a 32-bit write to esp followed by addq %r15,%rsp may)");
    }
    return 0;
}

/* The host-call form: call *(0x10000 + 8k)(%r15), 1 <= k < 512. */
static bool is_hostcall (const insn_t *x)
{
    const ZydisDecodedOperandMem *m = &x->op[0].mem;
    int64_t d = m->disp.value - (int64_t) SFI_TABLE_OFF;
    return x->in.mnemonic == ZYDIS_MNEMONIC_CALL && m->base == ZYDIS_REGISTER_R15 &&
           m->index == ZYDIS_REGISTER_NONE && d >= 8 && d < 8 * SFI_TABLE_SLOTS && d % 8 == 0;
}

/* Branches: direct ones are checked later, where they land; register
   ones with their bundle; the host call is the only memory one. */
static int check_branch (const insn_t *x, facts_t *f, const char **why)
{
    const ZydisDecodedInstruction *in = &x->in;
    const ZydisDecodedOperand *op = &x->op[0];
    if (!is_branch (in))
        return 0;
    if (in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR || op->type == ZYDIS_OPERAND_TYPE_POINTER)
        return gl_why (why, "far branches are not allowed");
    if (in->mnemonic == ZYDIS_MNEMONIC_RET) {
        f->kind = K_RET; /* only a plain ret gets past check_kind */
        return 0;
    }
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op->imm.is_relative) {
        f->kind = K_DIRECT;
        f->rel = op->imm.value.s;
        return 0;
    }
    if (op->type == ZYDIS_OPERAND_TYPE_MEMORY)
        return is_hostcall (x)
                   ? 0
                   : gl_why (
                         why,
                         "memory-indirect branch (only call *0x10000+8k(%r15) with 1 <= k < 512 may read its target from memory)");
    if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
        return gl_why (why, "branch of an unsupported kind");
    ZydisRegister r = op->reg.value;
    if (r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_R14 || r == ZYDIS_REGISTER_R15)
        return gl_why (why, "indirect branch through rsp, r14 or r15");
    f->kind = K_JUMPREG;
    f->reg = (uint16_t) r;
    return 0;
}

/* Memory operands: disp(%r15,%r14,1), disp(%r15), disp(%rsp), or
   rip-relative (checked against the image later); lea and nop only
   compute. */
static int check_memory (const insn_t *x, facts_t *f, const char **why)
{
    const ZydisDecodedInstruction *in = &x->in;
    if (in->mnemonic == ZYDIS_MNEMONIC_LEA || in->mnemonic == ZYDIS_MNEMONIC_NOP)
        return 0;
    /* bt, bts, btr and btc on memory with the bit offset in a register
       address the bit string, not the operand: the byte at the operand's
       address + offset / 8 (signed: up to 2^60 bytes either way).  An
       immediate offset stays inside the operand. */
    ZydisMnemonic mn = in->mnemonic;
    if ((mn == ZYDIS_MNEMONIC_BT || mn == ZYDIS_MNEMONIC_BTS || mn == ZYDIS_MNEMONIC_BTR ||
         mn == ZYDIS_MNEMONIC_BTC) &&
        x->op[0].type == ZYDIS_OPERAND_TYPE_MEMORY && x->op[1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
        return gl_why (
            why,
            "bt/bts/btr/btc on memory with the bit offset in a register (it reaches beyond the operand)");
    for (int i = 0; i < in->operand_count; i++) {
        const ZydisDecodedOperand *op = &x->op[i];
        if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
            continue;
        const ZydisDecodedOperandMem *m = &op->mem;
        if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) {
            if (is_stack_op (in->mnemonic) && m->base == ZYDIS_REGISTER_RSP)
                continue;
            return gl_why (why, "implicit memory operands are allowed only for push, pop and call");
        }
        if (m->type != ZYDIS_MEMOP_TYPE_MEM)
            return gl_why (why, "memory operand of an unsupported kind");
        int64_t d = m->disp.value;
        if (m->base == ZYDIS_REGISTER_RIP && m->index == ZYDIS_REGISTER_NONE) {
            f->rip = true;
            f->disp = d;
            continue;
        }
        bool form = (m->base == ZYDIS_REGISTER_R15 &&
                     (m->index == ZYDIS_REGISTER_NONE ||
                      (m->index == ZYDIS_REGISTER_R14 && m->scale == 1))) ||
                    (m->base == ZYDIS_REGISTER_RSP && m->index == ZYDIS_REGISTER_NONE);
        if (!form)
            return gl_why (
                why,
                "memory operand must be disp(%r15,%r14,1), disp(%r15), disp(%rsp) or rip-relative");
        if (d <= -SFI_DISP_MAX || d >= SFI_DISP_MAX)
            return gl_why (why, "memory operand displacement not below 1 MiB in magnitude");
    }
    return 0;
}

/* All rules about an instruction on its own: 0 and its facts if it keeps
   them, else -1 with the first rule it breaks in *why. */
static int check_insn (const insn_t *x, facts_t *f, const char **why)
{
    *f = (facts_t){ .kind = K_OTHER };
    int rc = check_kind (x, why);
    if (!rc)
        rc = check_writes (x, f, why);
    if (!rc)
        rc = check_branch (x, f, why);
    if (!rc)
        rc = check_memory (x, f, why);
    if (!rc && f->kind == K_OTHER && x->in.mnemonic == ZYDIS_MNEMONIC_PUSH &&
        x->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        ZydisRegisterGetClass (x->op[0].reg.value) == ZYDIS_REGCLASS_GPR64)
        *f = (facts_t){ .kind = K_PUSHREG, .reg = (uint16_t) x->op[0].reg.value };
    f->len = x->in.length;
    return rc;
}

/* -- The code ------------------------------------------------------------ */

/* Facts of safe instructions by their first bytes.  x86 decoding depends
   on an instruction's bytes alone, so equal bytes mean equal facts; the
   full comparison makes a collision cost a decode, never a wrong answer.
   Compilers repeat themselves, and this makes verification several times
   faster than decoding everything. */
#define MEMO_BITS 12
typedef struct {
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    facts_t f;
} memo_t;

typedef struct {
    const uint8_t *code;
    size_t len;
    uint64_t vaddr, lo, hi;
    ZydisDecoder dec;
    uint8_t *start, *inner; /* bitmaps: instruction starts, sequence middles */
    struct branch {
        size_t off;
        uint64_t target;
    } * br;
    size_t nbr, brcap;
    memo_t *memo;
    char why[160]; /* a formatted rule */
    uint64_t insns;
} ctx_t;

static void bit_set (uint8_t *map, size_t i)
{
    map[i / 8] |= (uint8_t) (1u << (i % 8));
}
static bool bit_get (const uint8_t *map, size_t i)
{
    return map[i / 8] >> (i % 8) & 1;
}

static const char *rule (ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (c->why, sizeof c->why, fmt, ap);
    va_end (ap);
    return c->why;
}

/* Fill *v for the instruction at off (which may not decode). */
static int report (const ctx_t *c, size_t off, const char *why, sfi_verdict_t *v)
{
    v->off = c->vaddr + off;
    gl_strlcpy (v->rule, why, sizeof v->rule);
    v->insns = c->insns;
    ZydisDecodedInstruction in;
    ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
    ZydisFormatter fmt;
    if (ZYAN_SUCCESS (ZydisDecoderDecodeFull (&c->dec, c->code + off, c->len - off, &in, op)) &&
        ZYAN_SUCCESS (ZydisFormatterInit (&fmt, ZYDIS_FORMATTER_STYLE_ATT)) &&
        ZYAN_SUCCESS (ZydisFormatterFormatInstruction (&fmt, &in, op, in.operand_count_visible,
                                                       v->insn, sizeof v->insn, c->vaddr + off,
                                                       ZYAN_NULL))) {
        /* gas writes indirect branches as `jmp *%rax`; so do we. */
        char *sp = strrchr (v->insn, ' ');
        if (is_branch (&in) && op[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE && sp && sp[1] != '*' &&
            strlen (v->insn) + 1 < sizeof v->insn) {
            memmove (sp + 2, sp + 1, strlen (sp + 1) + 1);
            sp[1] = '*';
        }
        return 1;
    }
    /* Not decodable: show the bytes, as .byte would. */
    size_t n = c->len - off < 8 ? c->len - off : 8, used = 0;
    used += (size_t) snprintf (v->insn, sizeof v->insn, ".byte");
    for (size_t i = 0; i < n && used < sizeof v->insn; i++)
        used += (size_t) snprintf (v->insn + used, sizeof v->insn - used, "%s0x%02x",
                                   i ? ", " : " ", c->code[off + i]);
    return 1;
}

/* The facts of the instruction at off, from the memo or the decoder;
   NULL with the rule broken in *why. */
static const facts_t *facts_at (ctx_t *c, size_t off, const char **why)
{
    const uint8_t *p = c->code + off;
    size_t avail = c->len - off;
    uint32_t key = 0;
    memcpy (&key, p, avail < 4 ? avail : 4);
    memo_t *m = &c->memo[(key * 2654435761u) >> (32 - MEMO_BITS)];
    if (m->f.len && m->f.len <= avail && !memcmp (m->bytes, p, m->f.len))
        return &m->f;
    insn_t x;
    facts_t f;
    if (!ZYAN_SUCCESS (ZydisDecoderDecodeFull (&c->dec, p, avail, &x.in, x.op))) {
        gl_why (why, "bytes do not decode to an instruction");
        return NULL;
    }
    if (check_insn (&x, &f, why))
        return NULL;
    memcpy (m->bytes, p, f.len);
    m->f = f;
    return &m->f;
}

static int verify (ctx_t *c, sfi_verdict_t *v)
{
    if (c->vaddr % SFI_BUNDLE || c->len % SFI_BUNDLE)
        return report (c, 0, "code address and length must be multiples of 32", v);
    for (size_t b = 0; b < c->len; b += SFI_BUNDLE) {
        /* the three instructions before this one in the bundle */
        facts_t p1 = { .kind = K_OTHER }, p2 = p1, p3 = p1;
        size_t p1_off = 0, p2_off = 0;
        size_t esp_at = SIZE_MAX; /* a 32-bit esp write waiting for its add */
        for (size_t off = b; off < b + SFI_BUNDLE;) {
            const char *why;
            const facts_t *fp = facts_at (c, off, &why);
            if (!fp)
                return report (c, off, why, v);
            facts_t f = *fp; /* the memo slot may be reused */
            uint64_t end = c->vaddr + off + f.len;
            if (off + f.len > b + SFI_BUNDLE)
                return report (c, off, "instruction crosses a 32-byte bundle boundary", v);
            c->insns++;
            bit_set (c->start, off);
            if (f.rip && (end + (uint64_t) f.disp < c->lo || end + (uint64_t) f.disp >= c->hi))
                return report (c, off,
                               rule (c,
                                     "rip-relative operand targets 0x%" PRIx64
                                     ", outside the image [0x%" PRIx64 ", 0x%" PRIx64 ")",
                                     end + (uint64_t) f.disp, c->lo, c->hi),
                               v);
            if (esp_at != SIZE_MAX && !(f.kind == K_ADDBASE && f.reg == ZYDIS_REGISTER_RSP))
                return report (
                    c, esp_at,
                    "32-bit write to esp not followed by addq %r15,%rsp in the same bundle", v);
            switch (f.kind) {
                case K_ESP: esp_at = off; break;
                case K_ADDBASE:
                    if (f.reg != ZYDIS_REGISTER_RSP)
                        break;
                    if (esp_at == SIZE_MAX)
                        return report (
                            c, off,
                            "addq %r15,%rsp without a 32-bit write to esp just before it in the bundle",
                            v);
                    bit_set (c->inner, off);
                    esp_at = SIZE_MAX;
                    break;
                case K_JUMPREG:
                    if (p1.kind != K_ADDBASE || p1.reg != f.reg || p2.kind != K_MASK ||
                        p2.reg != f.reg)
                        return report (
                            c, off,
                            "indirect branch not preceded in its bundle by andl $-32,%eR; addq %r15,%rR",
                            v);
                    bit_set (c->inner, p1_off);
                    bit_set (c->inner, off);
                    break;
                case K_RET:
                    /* [rsp] is base + a bundle start: pushed just before,
                       and nothing can run in between */
                    if (p1.kind != K_PUSHREG || p2.kind != K_ADDBASE || p3.kind != K_MASK ||
                        p1.reg != p2.reg || p2.reg != p3.reg)
                        return report (
                            c, off,
                            "ret not preceded in its bundle by andl $-32,%eR; addq %r15,%rR; pushq %rR",
                            v);
                    bit_set (c->inner, p2_off);
                    bit_set (c->inner, p1_off);
                    bit_set (c->inner, off);
                    break;
                case K_DIRECT:
                    if (c->nbr == c->brcap) {
                        size_t cap = c->brcap ? 2 * c->brcap : 1024;
                        struct branch *br = realloc (c->br, cap * sizeof *br);
                        if (!br)
                            return report (c, off, "out of memory", v);
                        c->br = br;
                        c->brcap = cap;
                    }
                    c->br[c->nbr++] = (struct branch){ off, end + (uint64_t) f.rel };
                    break;
                default: break;
            }
            p3 = p2;
            p2 = p1;
            p2_off = p1_off;
            p1 = f;
            p1_off = off;
            off += f.len;
        }
        if (esp_at != SIZE_MAX)
            return report (c, esp_at,
                           "32-bit write to esp not followed by addq %r15,%rsp in the same bundle",
                           v);
    }
    for (size_t i = 0; i < c->nbr; i++) {
        uint64_t t = c->br[i].target;
        if (t < c->vaddr || t - c->vaddr >= c->len)
            return report (c, c->br[i].off,
                           rule (c, "branch target 0x%" PRIx64 " is outside the code", t), v);
        if (!bit_get (c->start, t - c->vaddr))
            return report (c, c->br[i].off,
                           rule (c, "branch target 0x%" PRIx64 " is not an instruction start", t),
                           v);
        if (bit_get (c->inner, t - c->vaddr))
            return report (
                c, c->br[i].off,
                rule (c, "branch target 0x%" PRIx64 " is inside a sandboxing sequence", t), v);
    }
    return 0;
}

int sfi_verify_code (const uint8_t *code, size_t len, uint64_t vaddr, uint64_t image_lo,
                     uint64_t image_hi, sfi_verdict_t *v)
{
    sfi_verdict_t scratch;
    if (!v)
        v = &scratch;
    memset (v, 0, sizeof *v);
    v->off = vaddr;
    pthread_once (&tables_once, tables_build);
    ctx_t c = { .code = code, .len = len, .vaddr = vaddr, .lo = image_lo, .hi = image_hi };
    if (!ZYAN_SUCCESS (
            ZydisDecoderInit (&c.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))) {
        gl_strlcpy (v->rule, "decoder does not start", sizeof v->rule);
        return 1;
    }
    c.start = calloc (len / 8 + 1, 1);
    c.inner = calloc (len / 8 + 1, 1);
    /* The memo outlives the call (one per thread): an instruction's facts
       depend on its bytes alone, so what one module taught holds for the
       next, and a small module does not pay for a fresh table. */
    static __thread memo_t *memo;
    if (!memo)
        memo = calloc ((size_t) 1 << MEMO_BITS, sizeof *memo);
    c.memo = memo;
    int rc = 1;
    if (c.start && c.inner && c.memo)
        rc = verify (&c, v);
    else
        gl_strlcpy (v->rule, "out of memory", sizeof v->rule);
    v->insns = c.insns;
    free (c.start);
    free (c.inner);
    free (c.br);
    return rc;
}

int sfi_verify_image (const sfi_image_t *img, sfi_verdict_t *v)
{
    const sfi_seg_t *code = &img->seg[img->code];
    return sfi_verify_code (img->file + code->offset, code->memsz, code->vaddr, img->seg[0].vaddr,
                            img->image_end, v);
}
