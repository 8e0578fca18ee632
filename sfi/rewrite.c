/*  rewrite.c -- the assembly rewriter of glsfi-cc (see rewrite.h).

    One statement at a time: a label, a directive or an instruction.  An
    instruction is split into prefixes, mnemonic and operands; the table
    `classes` says what its mnemonic does that matters here: no memory
    access despite a memory operand (lea, nop), which registers it writes
    besides its AT&T destination (the last operand), whether it is a
    branch, or why it is refused.  The rewriting itself:

      memory operand         movl %eB,%r14d; D(%r15,%r14,1)        (r14 reused)
                             leal (B,I,S),%r14d; D(%r15,%r14,1)    (r14 reused)
                             leal D(B,I,S),%r14d; (%r15,%r14,1)    (other D)
      write to %rsp          .bundle_lock; OPl ..., %esp; addq %r15,%rsp; .bundle_unlock
      leave                  the same with movl %ebp,%esp, then popq %rbp
      ret                    popq %r11; .bundle_lock; andl $-32,%r11d;
                             addq %r15,%r11; pushq %r11; ret; .bundle_unlock
      jmp *%R                .bundle_lock; andl $-32,%eR; addq %r15,%R; jmp *%R
      call *%R               the same, locked with align_to_end
      jmp/call *MEM          movq MEM,%r11 (sandboxed), then as above with %r11
      call X                 .bundle_lock align_to_end; call X; .bundle_unlock
                             (the call ends a bundle: returns land on a bundle start)
      call __glsfi_host_K    call *(0x10000+8*K)(%r15); .p2align 5
      %ah..%bh next to MEM   xchgb %Xh,%Xl around the same insn on %Xl
      .p2align N (code)      N capped at 5 (the bundle size)

    r14 reuse: while r14 holds low32(B + I*S) for registers B and I, an
    access D(B,I,S) with a small D needs no new setup.  That knowledge is
    dropped at every label (other paths join there), call (the callee
    changes r14), unconditional branch, section switch, any write to B or I
    in any width and any other write to r14. */
#include "rewrite.h"
#include "err.h"
#include "str.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISP_MAX   0x100000L /* SFI_DISP_MAX: |disp| of an allowed form */
#define HOST_TABLE 0x10000L  /* SFI_TABLE_OFF */
#define HOST_SLOTS 512
#define MAXOPS     6
#define OPLEN      256
#define LOOKAHEAD  200 /* statements searched for a flags reader */

/* -------------------------------------------------------------------------
   Output buffer */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void buf_add (buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc (b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy (b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf (buf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (tmp, sizeof tmp, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    if ((size_t) n >= sizeof tmp) {
        char *big = malloc ((size_t) n + 1);
        if (!big) {
            b->oom = 1;
            return;
        }
        va_start (ap, fmt);
        vsnprintf (big, (size_t) n + 1, fmt, ap);
        va_end (ap);
        buf_add (b, big, (size_t) n);
        free (big);
    }
    else
        buf_add (b, tmp, (size_t) n);
}

/* -------------------------------------------------------------------------
   Registers */

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R11 = 11, R14 = 14, R15 = 15 };
#define BIT(r) (1u << (r))

static const char *const gpr[4][16] = {
    { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
      "r13", "r14", "r15" },
    { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d",
      "r13d", "r14d", "r15d" },
    { "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w",
      "r14w", "r15w" },
    { "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b",
      "r13b", "r14b", "r15b" },
};
static const int width_of_row[4] = { 8, 4, 2, 1 };

/* The general register named (no '%'), 0..15, and its width in bytes; -1
   if the name is not a general register. */
static int gpr_of (const char *name, int *width)
{
    static const char *const high[4] = { "ah", "ch", "dh", "bh" };
    for (int row = 0; row < 4; row++)
        for (int r = 0; r < 16; r++)
            if (strcmp (name, gpr[row][r]) == 0) {
                if (width)
                    *width = width_of_row[row];
                return r;
            }
    for (int r = 0; r < 4; r++)
        if (strcmp (name, high[r]) == 0) {
            if (width)
                *width = 1;
            return r;
        }
    return -1;
}

/* The general register of a register operand ("%rax"), or -1. */
static int reg_operand (const char *op, int *width)
{
    if (op[0] != '%' || strchr (op, ':') || strchr (op, '('))
        return -1;
    return gpr_of (op + 1, width);
}

/* -------------------------------------------------------------------------
   Mnemonic classes */

enum {
    K_PLAIN,    /* explicit operands only; writes its last operand */
    K_READ,     /* reads its operands, writes no explicit register */
    K_BOTH,     /* writes every register operand */
    K_NOACCESS, /* memory operand is not accessed (lea, nop) */
    K_PUSH,
    K_POP,
    K_RET,
    K_LEAVE,
    K_CALL,
    K_JMP,
    K_JCC,
    K_STRING, /* string instruction: refused unless operands say SSE */
    K_BAD     /* refused */
};

typedef struct {
    const char *name;
    int match; /* 0 exact, 1 also with a b/w/l/q suffix, 2 prefix */
    int kind;
    unsigned implicit; /* general registers written implicitly */
    const char *why;   /* for K_BAD */
} op_class_t;

static const op_class_t classes[] = {
    { "ret", 1, K_RET, 0, NULL },
    { "leave", 1, K_LEAVE, BIT (RBP), NULL },
    { "call", 1, K_CALL, 0, NULL },
    { "jmp", 1, K_JMP, 0, NULL },
    { "lea", 1, K_NOACCESS, 0, NULL },
    { "nop", 1, K_NOACCESS, 0, NULL },
    { "push", 1, K_PUSH, 0, NULL },
    { "pop", 1, K_POP, 0, NULL },
    { "cmp", 1, K_READ, 0, NULL },
    { "test", 1, K_READ, 0, NULL },
    { "bt", 1, K_READ, 0, NULL },
    { "ucomiss", 0, K_READ, 0, NULL },
    { "ucomisd", 0, K_READ, 0, NULL },
    { "comiss", 0, K_READ, 0, NULL },
    { "comisd", 0, K_READ, 0, NULL },
    { "vucomiss", 0, K_READ, 0, NULL },
    { "vucomisd", 0, K_READ, 0, NULL },
    { "vcomiss", 0, K_READ, 0, NULL },
    { "vcomisd", 0, K_READ, 0, NULL },
    { "ptest", 0, K_READ, 0, NULL },
    { "vptest", 0, K_READ, 0, NULL },
    { "prefetch", 2, K_READ, 0, NULL },
    { "xchg", 1, K_BOTH, 0, NULL },
    { "xadd", 1, K_BOTH, 0, NULL },
    { "cmpxchg", 1, K_BOTH, BIT (RAX), NULL },
    { "cmpxchg8b", 0, K_READ, BIT (RAX) | BIT (RDX), NULL },
    { "cmpxchg16b", 0, K_READ, BIT (RAX) | BIT (RDX), NULL },
    { "mulx", 1, K_BOTH, 0, NULL },
    { "mul", 1, K_PLAIN, BIT (RAX) | BIT (RDX), NULL },
    { "imul", 1, K_PLAIN, BIT (RAX) | BIT (RDX), NULL },
    { "div", 1, K_PLAIN, BIT (RAX) | BIT (RDX), NULL },
    { "idiv", 1, K_PLAIN, BIT (RAX) | BIT (RDX), NULL },
    { "cltd", 0, K_PLAIN, BIT (RDX), NULL },
    { "cqto", 0, K_PLAIN, BIT (RDX), NULL },
    { "cwtd", 0, K_PLAIN, BIT (RDX), NULL },
    { "cltq", 0, K_PLAIN, BIT (RAX), NULL },
    { "cwtl", 0, K_PLAIN, BIT (RAX), NULL },
    { "cbtw", 0, K_PLAIN, BIT (RAX), NULL },
    { "cdq", 0, K_PLAIN, BIT (RDX), NULL },
    { "cqo", 0, K_PLAIN, BIT (RDX), NULL },
    { "cwd", 0, K_PLAIN, BIT (RDX), NULL },
    { "cdqe", 0, K_PLAIN, BIT (RAX), NULL },
    { "cwde", 0, K_PLAIN, BIT (RAX), NULL },
    { "cbw", 0, K_PLAIN, BIT (RAX), NULL },
    { "lahf", 0, K_PLAIN, BIT (RAX), NULL },
    { "fnstsw", 0, K_PLAIN, BIT (RAX), NULL },
    { "fstsw", 0, K_PLAIN, BIT (RAX), NULL },
    { "loop", 2, K_JCC, BIT (RCX), NULL },
    { "jrcxz", 0, K_JCC, 0, NULL },
    { "jecxz", 0, K_JCC, 0, NULL },
    /* string instructions: movsd and cmpsd are also SSE, told apart by operands */
    { "movs", 1, K_STRING, 0, NULL },
    { "movsd", 0, K_STRING, 0, NULL },
    { "cmps", 1, K_STRING, 0, NULL },
    { "cmpsd", 0, K_STRING, 0, NULL },
    { "stos", 1, K_STRING, 0, NULL },
    { "stosd", 0, K_STRING, 0, NULL },
    { "lods", 1, K_STRING, 0, NULL },
    { "lodsd", 0, K_STRING, 0, NULL },
    { "scas", 1, K_STRING, 0, NULL },
    { "scasd", 0, K_STRING, 0, NULL },
    { "ins", 1, K_STRING, 0, NULL },
    { "insd", 0, K_STRING, 0, NULL },
    { "outs", 1, K_STRING, 0, NULL },
    { "outsd", 0, K_STRING, 0, NULL },
    { "xlat", 1, K_BAD, 0, "xlat reads memory implicitly" },
    { "enter", 1, K_BAD, 0, "enter writes memory implicitly" },
    { "maskmov", 2, K_BAD, 0, "maskmov writes memory at %rdi implicitly" },
    { "vmaskmovdqu", 0, K_BAD, 0, "maskmov writes memory at %rdi implicitly" },
    { "syscall", 0, K_BAD, 0, "system call" },
    { "sysenter", 0, K_BAD, 0, "system call" },
    { "sysexit", 0, K_BAD, 0, "system instruction" },
    { "sysret", 2, K_BAD, 0, "system instruction" },
    { "int", 0, K_BAD, 0, "software interrupt" },
    { "into", 0, K_BAD, 0, "software interrupt" },
    { "int1", 0, K_BAD, 0, "software interrupt" },
    { "iret", 2, K_BAD, 0, "interrupt return" },
    { "lcall", 1, K_BAD, 0, "far call" },
    { "ljmp", 1, K_BAD, 0, "far jump" },
    { "lret", 1, K_BAD, 0, "far return" },
    { "lds", 1, K_BAD, 0, "segment load" },
    { "les", 1, K_BAD, 0, "segment load" },
    { "lfs", 1, K_BAD, 0, "segment load" },
    { "lgs", 1, K_BAD, 0, "segment load" },
    { "lss", 1, K_BAD, 0, "segment load" },
    { "wrfsbase", 0, K_BAD, 0, "segment base access" },
    { "wrgsbase", 0, K_BAD, 0, "segment base access" },
    { "rdfsbase", 0, K_BAD, 0, "segment base access" },
    { "rdgsbase", 0, K_BAD, 0, "segment base access" },
    { "swapgs", 0, K_BAD, 0, "segment base access" },
    { "xsave", 2, K_BAD, 0, "xsave family" },
    { "xrstor", 2, K_BAD, 0, "xsave family" },
    { "fxsave", 2, K_BAD, 0, "fxsave family" },
    { "fxrstor", 2, K_BAD, 0, "fxsave family" },
    { "xgetbv", 0, K_BAD, 0, "system instruction" },
    { "xsetbv", 0, K_BAD, 0, "system instruction" },
    { "ldmxcsr", 0, K_BAD, 0, "control register load" },
    { "vldmxcsr", 0, K_BAD, 0, "control register load" },
    { "fldcw", 0, K_BAD, 0, "control register load" },
    { "fldenv", 0, K_BAD, 0, "control register load" },
    { "frstor", 0, K_BAD, 0, "control register load" },
    { "std", 0, K_BAD, 0, "direction flag" },
    { "cld", 0, K_BAD, 0, "direction flag" },
    { "pushf", 1, K_BAD, 0, "flags register access" },
    { "popf", 1, K_BAD, 0, "flags register access" },
    { "in", 1, K_BAD, 0, "port i/o" },
    { "out", 1, K_BAD, 0, "port i/o" },
    { "hlt", 0, K_BAD, 0, "privileged instruction" },
    { "cpuid", 0, K_BAD, 0, "nondeterministic instruction" },
    { "rdtsc", 0, K_BAD, 0, "nondeterministic instruction" },
    { "rdtscp", 0, K_BAD, 0, "nondeterministic instruction" },
    { "rdpid", 0, K_BAD, 0, "nondeterministic instruction" },
    { "rdpmc", 0, K_BAD, 0, "nondeterministic instruction" },
    { "rdrand", 1, K_BAD, 0, "nondeterministic instruction" },
    { "rdseed", 1, K_BAD, 0, "nondeterministic instruction" },
    { "sgdt", 0, K_BAD, 0, "system instruction" },
    { "sidt", 0, K_BAD, 0, "system instruction" },
    { "sldt", 0, K_BAD, 0, "system instruction" },
    { "str", 0, K_BAD, 0, "system instruction" },
    { "smsw", 0, K_BAD, 0, "system instruction" },
    { "lgdt", 0, K_BAD, 0, "system instruction" },
    { "lidt", 0, K_BAD, 0, "system instruction" },
    { "lldt", 0, K_BAD, 0, "system instruction" },
    { "ltr", 0, K_BAD, 0, "system instruction" },
    { "lmsw", 0, K_BAD, 0, "system instruction" },
    { "invlpg", 0, K_BAD, 0, "system instruction" },
    { "invd", 0, K_BAD, 0, "system instruction" },
    { "wbinvd", 0, K_BAD, 0, "system instruction" },
    { "rdmsr", 0, K_BAD, 0, "system instruction" },
    { "wrmsr", 0, K_BAD, 0, "system instruction" },
    { "clts", 0, K_BAD, 0, "system instruction" },
    { "arpl", 0, K_BAD, 0, "system instruction" },
    { "lar", 1, K_BAD, 0, "system instruction" },
    { "lsl", 1, K_BAD, 0, "system instruction" },
    { "verr", 0, K_BAD, 0, "system instruction" },
    { "verw", 0, K_BAD, 0, "system instruction" },
    { "monitor", 0, K_BAD, 0, "system instruction" },
    { "mwait", 0, K_BAD, 0, "system instruction" },
    { "umonitor", 0, K_BAD, 0, "system instruction" },
    { "umwait", 0, K_BAD, 0, "system instruction" },
    { "tpause", 0, K_BAD, 0, "system instruction" },
    { "enqcmd", 2, K_BAD, 0, "system instruction" },
    { "vmcall", 0, K_BAD, 0, "system instruction" },
    { "vmfunc", 0, K_BAD, 0, "system instruction" },
    { "xbegin", 0, K_BAD, 0, "transactional memory" },
    { "xend", 0, K_BAD, 0, "transactional memory" },
    { "xabort", 0, K_BAD, 0, "transactional memory" },
    { "xtest", 0, K_BAD, 0, "transactional memory" },
    { "bnd", 2, K_BAD, 0, "MPX instruction" },
    { "endbr", 2, K_BAD, 0, "CET instruction" },
    { "encls", 0, K_BAD, 0, "SGX instruction" },
    { "enclu", 0, K_BAD, 0, "SGX instruction" },
    { "ldtilecfg", 0, K_BAD, 0, "AMX instruction" },
    { "sttilecfg", 0, K_BAD, 0, "AMX instruction" },
    { "tileloadd", 2, K_BAD, 0, "AMX instruction" },
    { "tilestored", 0, K_BAD, 0, "AMX instruction" },
};

static const char *const condition_codes[] = { "a",  "ae",  "b",  "be",  "c",  "e",   "g",  "ge",
                                               "l",  "le",  "na", "nae", "nb", "nbe", "nc", "ne",
                                               "ng", "nge", "nl", "nle", "no", "np",  "ns", "nz",
                                               "o",  "p",   "pe", "po",  "s",  "z",   NULL };

static int is_cc (const char *s)
{
    for (int i = 0; condition_codes[i]; i++)
        if (strcmp (s, condition_codes[i]) == 0)
            return 1;
    return 0;
}

static const op_class_t plain = { "", 0, K_PLAIN, 0, NULL };
static const op_class_t jcc = { "", 0, K_JCC, 0, NULL };

static const op_class_t *classify (const char *mn)
{
    size_t n = strlen (mn);
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        const op_class_t *c = &classes[i];
        size_t k = strlen (c->name);
        if (strcmp (mn, c->name) == 0)
            return c;
        if (c->match == 1 && n == k + 1 && strncmp (mn, c->name, k) == 0 && strchr ("bwlq", mn[k]))
            return c;
        if (c->match == 2 && strncmp (mn, c->name, k) == 0)
            return c;
    }
    if (mn[0] == 'j' && is_cc (mn + 1))
        return &jcc;
    return &plain;
}

/* Mnemonic without a b/w/l/q suffix when the rest is `stem`. */
static int is_stem (const char *mn, const char *stem)
{
    size_t k = strlen (stem);
    return strncmp (mn, stem, k) == 0 &&
           (mn[k] == '\0' || (strchr ("bwlq", mn[k]) && mn[k + 1] == '\0'));
}

/* -------------------------------------------------------------------------
   Statements */

enum { S_LABEL, S_DIRECTIVE, S_INSN };

typedef struct {
    int line;
    int kind;
    char *text; /* trimmed, comment removed */
} stmt_t;

typedef struct {
    char pfx[64]; /* prefixes kept in the output ("lock ") */
    int rep;      /* a rep/repe/repne prefix */
    char mn[32];
    int nops;
    char op[MAXOPS][OPLEN];
} insn_t;

typedef struct {
    int seg; /* a segment override */
    char disp[OPLEN / 2];
    char base[16], index[16];
    char scale[8];
} mem_t;

static int is_label_char (int c)
{
    return isalnum (c) || c == '_' || c == '.' || c == '$';
}

/* Length of the label at s ("name:"), 0 if s does not start with one. */
static size_t label_len (const char *s)
{
    size_t i = 0;
    if (s[0] == '"') {
        const char *q = strchr (s + 1, '"');
        if (!q || q[1] != ':')
            return 0;
        return (size_t) (q - s) + 2;
    }
    while (is_label_char ((unsigned char) s[i]))
        i++;
    if (i == 0 || s[i] != ':')
        return 0;
    return i + 1;
}

static char *trim (char *s)
{
    while (isspace ((unsigned char) *s))
        s++;
    size_t n = strlen (s);
    while (n > 0 && isspace ((unsigned char) s[n - 1]))
        s[--n] = '\0';
    return s;
}

static const char *const prefix_words[] = { "lock",   "rep",      "repe",     "repz",   "repne",
                                            "repnz",  "notrack",  "bnd",      "data16", "data32",
                                            "addr16", "addr32",   "rex",      "rex64",  "rex.w",
                                            "rex.W",  "xacquire", "xrelease", "cs",     "ds",
                                            "es",     "fs",       "gs",       "ss",     NULL };

static int is_prefix (const char *w)
{
    if (w[0] == '{')
        return 1; /* {vex}, {disp32}, ... pseudo-prefixes */
    for (int i = 0; prefix_words[i]; i++)
        if (strcmp (w, prefix_words[i]) == 0)
            return 1;
    return 0;
}

/* Splits "prefixes mnemonic operands" into in; -1 with why on error. */
static int insn_parse (const char *text, insn_t *in, const char **why)
{
    memset (in, 0, sizeof *in);
    const char *p = text;
    for (;;) {
        while (isspace ((unsigned char) *p))
            p++;
        const char *w = p;
        while (*p && !isspace ((unsigned char) *p))
            p++;
        size_t n = (size_t) (p - w);
        if (n == 0) {
            *why = "prefix without an instruction";
            return -1;
        }
        if (n >= sizeof in->mn) {
            *why = "mnemonic too long";
            return -1;
        }
        char word[32];
        memcpy (word, w, n);
        word[n] = '\0';
        if (!is_prefix (word)) {
            memcpy (in->mn, word, n + 1);
            break;
        }
        if (strncmp (word, "rep", 3) == 0)
            in->rep = 1;
        else if (strcmp (word, "lock") == 0)
            strcat (in->pfx, "lock ");
        else {
            *why = strchr ("cdefgs", word[0]) && word[1] == 's' && !word[2]
                       ? "segment override prefix"
                       : "prefix that cannot be sandboxed";
            return -1;
        }
    }
    while (isspace ((unsigned char) *p))
        p++;
    /* operands: split at commas outside parentheses */
    while (*p) {
        if (in->nops == MAXOPS) {
            *why = "too many operands";
            return -1;
        }
        const char *start = p;
        int depth = 0;
        while (*p && !(*p == ',' && depth == 0)) {
            if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            p++;
        }
        size_t n = (size_t) (p - start);
        if (n >= OPLEN) {
            *why = "operand too long";
            return -1;
        }
        char *op = in->op[in->nops++];
        memcpy (op, start, n);
        op[n] = '\0';
        memmove (op, trim (op), strlen (trim (op)) + 1);
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Parses a memory operand (a leading '*' is skipped).  1 if op is one. */
static int mem_parse (const char *op, mem_t *m)
{
    memset (m, 0, sizeof *m);
    if (*op == '*')
        op++;
    if (*op == '$' || *op == '\0')
        return 0;
    if (*op == '%') {
        const char *colon = strchr (op, ':');
        if (!colon)
            return 0; /* a register */
        m->seg = 1;
        op = colon + 1;
    }
    size_t n = strlen (op);
    const char *open = NULL;
    if (n > 0 && op[n - 1] == ')') {
        int depth = 0;
        for (const char *q = op + n - 1; q >= op; q--) {
            if (*q == ')')
                depth++;
            else if (*q == '(' && --depth == 0) {
                open = q;
                break;
            }
        }
    }
    const char *inner = open ? open + 1 : NULL;
    while (inner && *inner == ' ')
        inner++;
    if (!inner || (*inner != '%' && *inner != ',')) {
        /* no registers: an absolute address */
        if (n >= sizeof m->disp)
            return 0;
        memcpy (m->disp, op, n + 1);
        return 1;
    }
    size_t dn = (size_t) (open - op);
    if (dn >= sizeof m->disp)
        return 0;
    memcpy (m->disp, op, dn);
    m->disp[dn] = '\0';
    char regs[OPLEN];
    size_t rn = (size_t) (op + n - 1 - inner);
    if (rn >= sizeof regs)
        return 0;
    memcpy (regs, inner, rn);
    regs[rn] = '\0';
    char *field[3] = { regs, NULL, NULL };
    char *c = strchr (regs, ',');
    if (c) {
        *c = '\0';
        field[1] = c + 1;
        c = strchr (field[1], ',');
        if (c) {
            *c = '\0';
            field[2] = c + 1;
        }
    }
    char *dst[3] = { m->base, m->index, m->scale };
    size_t dsz[3] = { sizeof m->base, sizeof m->index, sizeof m->scale };
    for (int i = 0; i < 3; i++) {
        if (!field[i])
            continue;
        char *f = trim (field[i]);
        if (i < 2 && *f == '%')
            f++;
        if (strlen (f) >= dsz[i])
            return 0;
        strcpy (dst[i], f);
    }
    return 1;
}

static void mem_format (const mem_t *m, char *out, size_t size)
{
    if (!m->base[0] && !m->index[0])
        gl_strlcpy (out, m->disp, size);
    else if (!m->index[0])
        snprintf (out, size, "%s(%%%s)", m->disp, m->base);
    else
        snprintf (out, size, "%s(%s%s,%%%s,%s)", m->disp, m->base[0] ? "%" : "", m->base, m->index,
                  m->scale[0] ? m->scale : "1");
}

/* A displacement that is a plain number below DISP_MAX in size. */
static int disp_small (const char *d)
{
    if (!*d)
        return 1;
    char *end;
    long v = strtol (d, &end, 0);
    if (*end || end == d)
        return 0;
    return v > -DISP_MAX && v < DISP_MAX;
}

/* Allowed as is: disp(%rip), small disp(%rsp) without index. */
static int mem_allowed (const mem_t *m)
{
    if (m->seg)
        return 0;
    if (strcmp (m->base, "rip") == 0 && !m->index[0])
        return 1;
    return strcmp (m->base, "rsp") == 0 && !m->index[0] && disp_small (m->disp);
}

/* -------------------------------------------------------------------------
   The rewriter */

typedef struct {
    buf_t out;
    stmt_t *st;
    size_t nst;
    int held;          /* r14 holds low32(kbase + kindex * kscale) */
    int kbase, kindex; /* registers, -1 for none */
    char kscale[8];
    unsigned deps; /* the registers r14's value depends on */
    int exec;      /* the current section holds code */
    int sect_stack[16];
    int nsect;
    int prev_exec;
    char **funcs; /* names given `.type NAME, @function` */
    size_t nfuncs;
    sfi_rewrite_stats_t stats;
} rw_t;

/* Refuses statement s for a reason that names no more than the rule:
   "LINE: why: TEXT" in err, and -1. */
static int refuse (const stmt_t *s, const char *why, char *err, size_t errlen)
{
    return gl_err (err, errlen, "%d: %s: %s", s->line, why, s->text);
}

/* Splits the input into statements: labels, directives, instructions. */
static int split (rw_t *rw, const char *text, size_t len)
{
    size_t cap = 0;
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        const char *eol = nl ? nl : end;
        line++;
        size_t n = (size_t) (eol - p);
        char *buf = malloc (n + 1);
        if (!buf)
            return -1;
        memcpy (buf, p, n);
        buf[n] = '\0';
        p = nl ? nl + 1 : end;
        /* cut the comment ('#' outside a string) and split at ';' */
        int inq = 0;
        for (char *q = buf; *q; q++) {
            if (inq && *q == '\\' && q[1])
                q++;
            else if (*q == '"')
                inq = !inq;
            else if (!inq && *q == '#') {
                *q = '\0';
                break;
            }
            else if (!inq && *q == ';')
                *q = '\n';
        }
        char *save = NULL, *pending = NULL;
        for (char *piece = strtok_r (buf, "\n", &save); piece;
             piece = strtok_r (NULL, "\n", &save)) {
            char *s = trim (piece);
            while (*s) {
                if (rw->nst + 1 >= cap) {
                    cap = cap ? cap * 2 : 1024;
                    stmt_t *st = realloc (rw->st, cap * sizeof *st);
                    if (!st) {
                        free (buf);
                        free (pending);
                        return -1;
                    }
                    rw->st = st;
                }
                stmt_t *st = &rw->st[rw->nst];
                st->line = line;
                size_t ll = label_len (s);
                if (ll) {
                    st->kind = S_LABEL;
                    st->text = strndup (s, ll);
                    s = trim (s + ll);
                }
                else {
                    st->kind = *s == '.' ? S_DIRECTIVE : S_INSN;
                    /* a lone prefix ("lock ;") belongs to the next piece */
                    insn_t in;
                    const char *why;
                    if (st->kind == S_INSN && insn_parse (s, &in, &why) < 0 &&
                        strcmp (why, "prefix without an instruction") == 0) {
                        size_t pl = pending ? strlen (pending) : 0;
                        char *np = realloc (pending, pl + strlen (s) + 2);
                        if (!np) {
                            free (buf);
                            free (pending);
                            return -1;
                        }
                        pending = np;
                        sprintf (pending + pl, "%s ", s);
                        break;
                    }
                    if (pending && st->kind == S_INSN) {
                        st->text = malloc (strlen (pending) + strlen (s) + 1);
                        if (st->text)
                            sprintf (st->text, "%s%s", pending, s);
                        free (pending);
                        pending = NULL;
                    }
                    else
                        st->text = strdup (s);
                    s = s + strlen (s);
                }
                if (!st->text) {
                    free (buf);
                    free (pending);
                    return -1;
                }
                rw->nst++;
            }
        }
        if (pending) {
            /* a prefix at the end of a line: keep it as a statement so
               that it is refused with its line number */
            if (rw->nst + 1 >= cap) {
                cap = cap ? cap * 2 : 1024;
                stmt_t *st = realloc (rw->st, cap * sizeof *st);
                if (!st) {
                    free (buf);
                    free (pending);
                    return -1;
                }
                rw->st = st;
            }
            rw->st[rw->nst].line = line;
            rw->st[rw->nst].kind = S_INSN;
            rw->st[rw->nst].text = pending;
            rw->nst++;
        }
        free (buf);
    }
    return 0;
}

static int is_function (rw_t *rw, const char *label)
{
    size_t n = strlen (label) - 1; /* without the ':' */
    for (size_t i = 0; i < rw->nfuncs; i++)
        if (strlen (rw->funcs[i]) == n && strncmp (rw->funcs[i], label, n) == 0)
            return 1;
    return 0;
}

/* Does `.section`'s argument name a code section? */
static int section_is_exec (const char *args)
{
    const char *comma = strchr (args, ',');
    size_t n = comma ? (size_t) (comma - args) : strlen (args);
    while (n > 0 && isspace ((unsigned char) args[n - 1]))
        n--;
    if (comma) {
        const char *q = strchr (comma, '"');
        if (q) {
            const char *e = strchr (q + 1, '"');
            for (const char *f = q + 1; e && f < e; f++)
                if (*f == 'x')
                    return 1;
            return 0;
        }
    }
    return n >= 5 && strncmp (args, ".text", 5) == 0 && (n == 5 || args[5] == '.');
}

static const char *const data_directives[] = {
    ".byte",    ".short",   ".word",  ".hword", ".value",  ".2byte",  ".int",    ".long",
    ".4byte",   ".quad",    ".8byte", ".octa",  ".ascii",  ".asciz",  ".string", ".zero",
    ".skip",    ".space",   ".fill",  ".float", ".single", ".double", ".inst",   ".incbin",
    ".sleb128", ".uleb128", ".dc",    ".ds",    NULL
};

static int directive (rw_t *rw, const stmt_t *s, char *err, size_t errlen)
{
    char name[64];
    size_t n = strcspn (s->text, " \t");
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy (name, s->text, n);
    name[n] = '\0';
    const char *args = s->text + n;
    while (isspace ((unsigned char) *args))
        args++;

    if (strncmp (name, ".bundle_", 8) == 0)
        return refuse (s, "bundle directives belong to the rewriter", err, errlen);
    if (strncmp (name, ".code", 5) == 0 || strcmp (name, ".arch") == 0)
        return refuse (s, "only 64-bit code can be sandboxed", err, errlen);
    if (strcmp (name, ".text") == 0 || strcmp (name, ".data") == 0 || strcmp (name, ".bss") == 0 ||
        strcmp (name, ".section") == 0 || strcmp (name, ".pushsection") == 0) {
        int x = strcmp (name, ".text") == 0 ||
                ((name[1] == 's' || name[1] == 'p') && section_is_exec (args));
        if (strcmp (name, ".pushsection") == 0) {
            if (rw->nsect == (int) (sizeof rw->sect_stack / sizeof rw->sect_stack[0]))
                return refuse (s, "sections nested too deep", err, errlen);
            rw->sect_stack[rw->nsect++] = rw->exec;
        }
        rw->prev_exec = rw->exec;
        rw->exec = x;
        rw->held = 0;
    }
    else if (strcmp (name, ".popsection") == 0) {
        if (rw->nsect > 0)
            rw->exec = rw->sect_stack[--rw->nsect];
        rw->held = 0;
    }
    else if (strcmp (name, ".previous") == 0) {
        int t = rw->exec;
        rw->exec = rw->prev_exec;
        rw->prev_exec = t;
        rw->held = 0;
    }
    else if (strcmp (name, ".type") == 0 && strstr (args, "function")) {
        char **f = realloc (rw->funcs, (rw->nfuncs + 1) * sizeof *f);
        if (!f)
            return gl_err (err, errlen, "out of memory");
        rw->funcs = f;
        size_t k = strcspn (args, " \t,");
        if (!(f[rw->nfuncs] = strndup (args, k)))
            return gl_err (err, errlen, "out of memory");
        rw->nfuncs++;
    }
    else if (rw->exec && (strcmp (name, ".p2align") == 0 || strcmp (name, ".balign") == 0 ||
                          strcmp (name, ".align") == 0)) {
        /* clang pads past the bundle size with nops that cross bundles:
           code is aligned to 32 at most (bundles and function entries) */
        char *end;
        long a = strtol (args, &end, 0);
        int p2 = name[1] == 'p';
        if (end != args && (p2 ? a > 5 : a > 32)) {
            buf_printf (&rw->out, "\t%s %d%s\n", name, p2 ? 5 : 32, end);
            return 0;
        }
    }
    else if (rw->exec) {
        for (int i = 0; data_directives[i]; i++)
            if (strcmp (name, data_directives[i]) == 0 ||
                (strncmp (name, ".dc.", 4) == 0 && i == 0))
                return refuse (s, "data in a code section cannot be checked", err, errlen);
    }
    buf_printf (&rw->out, "\t%s\n", s->text);
    return 0;
}

/* The registers an instruction writes (a bit per general register). */
static unsigned writes (const insn_t *in, const op_class_t *c)
{
    unsigned w = c->implicit;
    int k = c->kind;
    if (k == K_READ || k == K_PUSH || k == K_JCC || k == K_CALL || k == K_JMP)
        return w;
    for (int i = 0; i < in->nops; i++) {
        if (k != K_BOTH && i != in->nops - 1)
            continue;
        int r = reg_operand (in->op[i], NULL);
        if (r >= 0)
            w |= BIT (r);
    }
    return w;
}

/* Is the flags register read after statement i before it is written?
   Used where the rewriting adds a flags write (addq %r15, %rsp) to an
   instruction that had none (mov, lea, leave). */
static int flags_live_after (rw_t *rw, size_t i)
{
    for (size_t j = i + 1; j < rw->nst && j <= i + LOOKAHEAD; j++) {
        const stmt_t *s = &rw->st[j];
        if (s->kind != S_INSN)
            continue;
        insn_t in;
        const char *why;
        if (insn_parse (s->text, &in, &why) < 0)
            return 0;
        const char *mn = in.mn;
        const op_class_t *c = classify (mn);
        if (c->kind == K_JCC && mn[0] == 'j')
            return 1;
        if ((strncmp (mn, "set", 3) == 0 && is_cc (mn + 3)) || strncmp (mn, "cmov", 4) == 0 ||
            strncmp (mn, "fcmov", 5) == 0 || is_stem (mn, "adc") || is_stem (mn, "sbb") ||
            is_stem (mn, "rcl") || is_stem (mn, "rcr") || strcmp (mn, "lahf") == 0)
            return 1;
        if (c->kind == K_CALL || c->kind == K_JMP || c->kind == K_RET)
            return 0;
        static const char *const writers[] = { "add", "sub",  "and", "or", "xor",
                                               "cmp", "test", "neg", NULL };
        for (int w = 0; writers[w]; w++)
            if (is_stem (mn, writers[w]))
                return 0;
        if (strstr (mn, "comis") || strcmp (mn, "ptest") == 0)
            return 0;
    }
    return 0;
}

static void emit_insn (rw_t *rw, const insn_t *in)
{
    buf_printf (&rw->out, "\t%s%s", in->pfx, in->mn);
    for (int i = 0; i < in->nops; i++)
        buf_printf (&rw->out, "%s%s", i ? ", " : "\t", in->op[i]);
    buf_add (&rw->out, "\n", 1);
}

/* Displacements kept next to a reused r14, so that the 32-bit value in
   r14 is the address minus D.  That value must not wrap: pointers lie at
   offsets 0x20000 .. 4G of the region, so a value up to 64 KiB below an
   object cannot wrap below the region.  Above the object it could wrap
   past 4G near the top of the stack: a frame pointer plus a scaled index
   with a negative D (local arrays at -O0) does.  So negative D only
   without an index, where the base is itself a pointer at most a little
   past its object, and then small. */
#define REUSE_MIN (-256L)
#define REUSE_MAX 0x10000L

static int disp_reusable (const char *d, int indexed)
{
    if (!*d)
        return 1;
    char *end;
    long v = strtol (d, &end, 0);
    return !*end && end != d && v > (indexed ? -1 : REUSE_MIN) && v < REUSE_MAX;
}

/* A 64-bit general register other than %rsp named r (no '%'), or -1. */
static int key_reg (const char *r, int *ok)
{
    if (!*r)
        return -1;
    int w = 0;
    int n = gpr_of (r, &w);
    if (n < 0 || w != 8 || n == RSP)
        *ok = 0;
    return n;
}

/* Moves a memory operand onto %r15 + %r14: emits the r14 setup, unless
   r14 already holds low32(base + index * scale), and rewrites op (a
   leading '*' is kept). */
static void sandbox (rw_t *rw, const mem_t *m, char *op)
{
    const char *star = op[0] == '*' ? "*" : "";
    int ok = 1;
    int b = key_reg (m->base, &ok), x = key_reg (m->index, &ok);
    const char *scale = m->index[0] ? (m->scale[0] ? m->scale : "1") : "";
    if (ok && (b >= 0 || x >= 0) && disp_reusable (m->disp, x >= 0)) {
        if (rw->held && rw->kbase == b && rw->kindex == x && strcmp (rw->kscale, scale) == 0)
            rw->stats.reused++;
        else {
            if (x < 0)
                buf_printf (&rw->out, "\tmovl\t%%%s, %%r14d\n", gpr[1][b]);
            else
                buf_printf (&rw->out, "\tleal\t(%s%s,%%%s,%s), %%r14d\n", b >= 0 ? "%" : "",
                            b >= 0 ? gpr[0][b] : "", gpr[0][x], scale);
            rw->held = 1;
            rw->kbase = b;
            rw->kindex = x;
            gl_strlcpy (rw->kscale, scale, sizeof rw->kscale);
            rw->deps = (b >= 0 ? BIT (b) : 0) | (x >= 0 ? BIT (x) : 0);
        }
        snprintf (op, OPLEN, "%s%s(%%r15,%%r14,1)", star, m->disp);
    }
    else {
        char addr[OPLEN + 32];
        mem_format (m, addr, sizeof addr);
        buf_printf (&rw->out, "\tleal\t%s, %%r14d\n", addr);
        rw->held = 0;
        snprintf (op, OPLEN, "%s(%%r15,%%r14,1)", star);
    }
    rw->stats.sandboxed++;
}

/* The indirect-branch sequence through general register r.  A call ends
   its bundle (align_to_end pads before it), so that its return address is
   the next bundle's start, which the return sequence's mask keeps. */
static void masked (rw_t *rw, int r, const char *branch)
{
    buf_printf (&rw->out,
                "\t.bundle_lock%s\n"
                "\tandl\t$-32, %%%s\n"
                "\taddq\t%%r15, %%%s\n"
                "\t%s\t*%%%s\n"
                "\t.bundle_unlock\n",
                strcmp (branch, "call") == 0 ? " align_to_end" : "", gpr[1][r], gpr[0][r], branch,
                gpr[0][r]);
    rw->stats.branches++;
}

/* The return: the address popped is masked to its bundle and rebased,
   pushed back and returned to with `ret`, so that the return stack
   buffer predicts it (a masked `jmp *%r11` is predicted from the branch
   history only).  One locked bundle: nothing can jump between the push
   and the ret. */
static void emit_return (rw_t *rw)
{
    static const char seq[] = "\tpopq\t%r11\n\t.bundle_lock\n\tandl\t$-32, %r11d\n"
                              "\taddq\t%r15, %r11\n\tpushq\t%r11\n\tret\n\t.bundle_unlock\n";
    buf_add (&rw->out, seq, sizeof seq - 1);
    rw->stats.returns++;
}

static void rebase_rsp (rw_t *rw, const char *esp_write)
{
    buf_printf (&rw->out, "\t.bundle_lock\n\t%s\n\taddq\t%%r15, %%rsp\n\t.bundle_unlock\n",
                esp_write);
}

/* Host-call slot of a branch target: K for __glsfi_host_K (with or
   without @PLT/@GOTPCREL), 0 for any other symbol, -1 if malformed. */
static int host_slot (const char *target)
{
    static const char pre[] = "__glsfi_host_";
    if (strncmp (target, pre, sizeof pre - 1) != 0)
        return 0;
    const char *d = target + sizeof pre - 1;
    int k = 0;
    if (*d < '1' || *d > '9')
        return -1;
    for (; isdigit ((unsigned char) *d); d++) {
        k = k * 10 + (*d - '0');
        if (k >= HOST_SLOTS)
            return -1;
    }
    if (*d && *d != '@')
        return -1;
    return k;
}

/* A direct call or jump to a symbol (with its @PLT or @GOTPCREL dropped). */
static int direct (rw_t *rw, const stmt_t *s, const char *target, int call, char *err,
                   size_t errlen)
{
    char sym[OPLEN];
    gl_strlcpy (sym, target, sizeof sym);
    char *at = strchr (sym, '@');
    if (at && (strcmp (at, "@PLT") == 0 || strcmp (at, "@GOTPCREL") == 0))
        *at = '\0';
    int k = host_slot (sym);
    if (k < 0)
        return gl_err (err, errlen, "%d: host calls are __glsfi_host_1 .. __glsfi_host_%d: %s",
                       s->line, HOST_SLOTS - 1, s->text);
    if (k == 0) {
        if (call)
            buf_printf (&rw->out, "\t.bundle_lock align_to_end\n\tcall\t%s\n\t.bundle_unlock\n",
                        sym);
        else
            buf_printf (&rw->out, "\tjmp\t%s\n", sym);
        return 0;
    }
    rw->stats.host_calls++;
    if (call) {
        /* the gate returns to the next bundle start */
        buf_printf (&rw->out, "\tcall\t*0x%lx(%%r15)\n\t.p2align 5\n", HOST_TABLE + 8L * k);
        return 0;
    }
    /* a tail call: call with the stack aligned as for a call, then return */
    rebase_rsp (rw, "subl\t$8, %esp");
    buf_printf (&rw->out, "\tcall\t*0x%lx(%%r15)\n\t.p2align 5\n", HOST_TABLE + 8L * k);
    rebase_rsp (rw, "addl\t$8, %esp");
    rw->stats.rsp_writes += 2;
    emit_return (rw);
    return 0;
}

static int branch (rw_t *rw, const stmt_t *s, insn_t *in, int call, char *err, size_t errlen)
{
    const char *mn = call ? "call" : "jmp";
    if (in->nops != 1)
        return gl_err (err, errlen, "%d: %s needs one operand: %s", s->line, mn, s->text);
    char *op = in->op[0];
    if (op[0] != '*') {
        if (direct (rw, s, op, call, err, errlen) < 0)
            return -1;
    }
    else {
        int w = 0;
        int r = reg_operand (op + 1, &w);
        mem_t m;
        if (r >= 0) {
            if (w != 8 || r == RSP)
                return gl_err (err, errlen, "%d: indirect %s through this register: %s", s->line,
                               mn, s->text);
            masked (rw, r, mn);
        }
        else if (!mem_parse (op, &m) || m.seg)
            return gl_err (err, errlen, "%d: indirect %s operand cannot be sandboxed: %s", s->line,
                           mn, s->text);
        else {
            size_t n = strlen (m.disp);
            if (strcmp (m.base, "rip") == 0 && n > 9 && strcmp (m.disp + n - 9, "@GOTPCREL") == 0) {
                /* through the GOT: the module is linked statically */
                if (direct (rw, s, m.disp, call, err, errlen) < 0)
                    return -1;
            }
            else {
                char load[OPLEN];
                gl_strlcpy (load, op + 1, sizeof load);
                if (!mem_allowed (&m))
                    sandbox (rw, &m, load);
                buf_printf (&rw->out, "\tmovq\t%s, %%r11\n", load);
                masked (rw, R11, mn);
            }
        }
    }
    rw->held = 0;
    return 0;
}

/* Registers the rewriter owns or that it cannot sandbox, named in op. */
static const char *bad_register (const char *op)
{
    for (const char *p = strchr (op, '%'); p; p = strchr (p + 1, '%')) {
        char name[16];
        size_t n = 0;
        while (n < sizeof name - 1 && isalnum ((unsigned char) p[1 + n]))
            name[n] = p[1 + n], n++;
        name[n] = '\0';
        int r = gpr_of (name, NULL);
        if (r == R14 || r == R15)
            return "%r14 and %r15 are reserved for the sandbox";
        if (n == 2 && name[1] == 's' && strchr ("cdefgs", name[0]))
            return "segment registers cannot be used";
        if (strncmp (name, "zmm", 3) == 0 || (name[0] == 'k' && isdigit ((unsigned char) name[1])))
            return "AVX-512 is not allowed";
        if ((name[0] == 'c' || name[0] == 'd') && name[1] == 'r' &&
            isdigit ((unsigned char) name[2]))
            return "control and debug registers cannot be used";
        if (strncmp (name, "bnd", 3) == 0 || strncmp (name, "tmm", 3) == 0)
            return "MPX and AMX registers cannot be used";
    }
    if (strchr (op, '{'))
        return "AVX-512 is not allowed";
    return NULL;
}

static int instruction (rw_t *rw, size_t idx, char *err, size_t errlen)
{
    const stmt_t *s = &rw->st[idx];
    insn_t in;
    const char *why;
    if (insn_parse (s->text, &in, &why) < 0)
        return refuse (s, why, err, errlen);
    rw->stats.insns++;
    const op_class_t *c = classify (in.mn);
    for (int i = 0; i < in.nops; i++) {
        if ((why = bad_register (in.op[i])))
            return refuse (s, why, err, errlen);
        if (strstr (in.op[i], "__glsfi_host_") && c->kind != K_CALL && c->kind != K_JMP)
            return refuse (s, "host calls can only be called", err, errlen);
    }
    if (in.rep) {
        /* rep ret (dropped), rep nop (pause), rep bsf (tzcnt): no string op */
        if (c->kind != K_RET && strcmp (in.mn, "nop") != 0 && !is_stem (in.mn, "bsf"))
            return refuse (s, "string instructions cannot be sandboxed", err, errlen);
        if (c->kind != K_RET)
            strcat (in.pfx, "rep ");
    }

    switch (c->kind) {
        case K_BAD: return refuse (s, c->why, err, errlen);
        case K_STRING:
            if (!strstr (s->text, "%xmm"))
                return refuse (s, "string instructions cannot be sandboxed", err, errlen);
            break; /* SSE movsd/cmpsd */
        case K_RET:
            if (in.nops)
                return refuse (s, "ret with an operand", err, errlen);
            emit_return (rw);
            rw->held = 0;
            return 0;
        case K_LEAVE:
            if (flags_live_after (rw, idx))
                return refuse (s, "flags are live across leave", err, errlen);
            rebase_rsp (rw, "movl\t%ebp, %esp");
            buf_add (&rw->out, "\tpopq\t%rbp\n", 11);
            rw->stats.rsp_writes++;
            rw->held = 0;
            return 0;
        case K_CALL:
        case K_JMP: return branch (rw, s, &in, c->kind == K_CALL, err, errlen);
        case K_JCC:
            if (in.nops != 1 || in.op[0][0] == '*')
                return refuse (s, "conditional branches must be direct", err, errlen);
            emit_insn (rw, &in);
            if (c->implicit & rw->deps)
                rw->held = 0;
            return 0;
        default: break;
    }

    int mi = -1;
    mem_t m;
    for (int i = 0; i < in.nops; i++) {
        mem_t t;
        if (in.op[i][0] == '*')
            return refuse (s, "indirect operand outside a branch", err, errlen);
        if (mem_parse (in.op[i], &t)) {
            if (mi >= 0)
                return refuse (s, "two memory operands", err, errlen);
            mi = i;
            m = t;
        }
    }
    int high = -1; /* %ah..%bh swapped into %al..%bl around the insn */
    if (mi >= 0 && c->kind != K_NOACCESS) {
        if (m.seg)
            return refuse (s, "segment overrides cannot be sandboxed", err, errlen);
        if (strncmp (m.index, "xmm", 3) == 0 || strncmp (m.index, "ymm", 3) == 0)
            return refuse (s, "gathers and scatters cannot be sandboxed", err, errlen);
        if (!mem_allowed (&m)) {
            /* (%r15,%r14,1) needs a REX prefix, which %ah..%bh cannot
               have: the instruction works on %al..%bl instead, between two
               `xchgb %Xh, %Xl` (no flags written, r14 computed before) */
            for (int i = 0; i < in.nops; i++) {
                static const char *const hn[4] = { "%ah", "%ch", "%dh", "%bh" };
                for (int r = 0; r < 4; r++)
                    if (strcmp (in.op[i], hn[r]) == 0) {
                        for (int k = 0; k < in.nops; k++)
                            if (k != i && strchr (in.op[k], '%') && mi != k)
                                return refuse (s, "high byte register next to a memory operand",
                                               err, errlen);
                        high = r;
                        snprintf (in.op[i], OPLEN, "%%%s", gpr[3][r]);
                    }
            }
            sandbox (rw, &m, in.op[mi]);
        }
    }
    if (high >= 0)
        buf_printf (&rw->out, "\txchgb\t%%%ch, %%%s\n", "acdb"[high], gpr[3][high]);
    if (mi >= 0 && c->kind == K_NOACCESS && m.seg)
        return refuse (s, "segment overrides cannot be used", err, errlen);

    unsigned w = writes (&in, c);
    if (w & BIT (RSP)) {
        static const char *const ok[] = { "add", "sub", "and", "or", "xor", "mov", "lea", NULL };
        const char *stem = NULL;
        for (int i = 0; ok[i]; i++)
            if (is_stem (in.mn, ok[i]))
                stem = ok[i];
        int dw = 0;
        char *dst = in.op[in.nops - 1];
        int dr = reg_operand (dst, &dw);
        if (!stem || c->kind == K_BOTH || in.nops != 2 || dr != RSP || (dw != 8 && dw != 4))
            return refuse (s, "this write to %rsp cannot be sandboxed", err, errlen);
        if ((strcmp (stem, "mov") == 0 || strcmp (stem, "lea") == 0) && flags_live_after (rw, idx))
            return refuse (s, "flags are live across a %rsp write", err, errlen);
        if (dw == 8) {
            /* the low 32 bits of add/sub/and/or/xor/mov/lea depend only on
               the low 32 bits of the sources */
            snprintf (in.mn, sizeof in.mn, "%sl", stem);
            int sw = 0;
            int sr = reg_operand (in.op[0], &sw);
            if (sr >= 0 && sw == 8)
                snprintf (in.op[0], OPLEN, "%%%s", gpr[1][sr]);
            else if (sr >= 0 && sw != 4)
                return refuse (s, "this write to %rsp cannot be sandboxed", err, errlen);
            strcpy (dst, "%esp");
        }
        buf_add (&rw->out, "\t.bundle_lock\n", 14);
        emit_insn (rw, &in);
        buf_add (&rw->out, "\taddq\t%r15, %rsp\n\t.bundle_unlock\n", 33);
        rw->stats.rsp_writes++;
    }
    else
        emit_insn (rw, &in);
    if (high >= 0)
        buf_printf (&rw->out, "\txchgb\t%%%ch, %%%s\n", "acdb"[high], gpr[3][high]);
    if (w & rw->deps)
        rw->held = 0;
    return 0;
}

int sfi_rewrite (const char *text, size_t len, char **out, sfi_rewrite_stats_t *stats, char *err,
                 size_t errlen)
{
    rw_t rw;
    memset (&rw, 0, sizeof rw);
    rw.exec = 1; /* gas starts in .text */
    *out = NULL;
    int rc = 0;
    if (split (&rw, text, len) < 0)
        rc = gl_err (err, errlen, "out of memory");
    buf_add (&rw.out, "\t.bundle_align_mode 5\n", 22);
    for (size_t i = 0; rc == 0 && i < rw.nst; i++) {
        stmt_t *s = &rw.st[i];
        if (s->kind == S_LABEL) {
            /* function entries must survive the mask of indirect calls */
            if (rw.exec && is_function (&rw, s->text))
                buf_add (&rw.out, "\t.p2align 5\n", 12);
            buf_printf (&rw.out, "%s\n", s->text);
            rw.held = 0;
        }
        else if (s->kind == S_DIRECTIVE)
            rc = directive (&rw, s, err, errlen);
        else
            rc = instruction (&rw, i, err, errlen);
    }
    if (rc == 0 && rw.out.oom)
        rc = gl_err (err, errlen, "out of memory");
    for (size_t i = 0; i < rw.nst; i++)
        free (rw.st[i].text);
    free (rw.st);
    for (size_t i = 0; i < rw.nfuncs; i++)
        free (rw.funcs[i]);
    free (rw.funcs);
    if (rc == 0) {
        *out = rw.out.p;
        if (stats)
            *stats = rw.stats;
    }
    else
        free (rw.out.p);
    return rc;
}
