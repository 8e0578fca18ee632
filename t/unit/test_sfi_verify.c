/*  test_sfi_verify.c -- the module parser and the verifier, rule by rule.

    Code is written as hex bytes (assembled by gas, the source in the
    comment), placed at 0x20000 and padded with int3 to whole bundles;
    the image for rip-relative operands is [0x20000, 0x40000).  Every
    negative case checks the offset and the words of the rule reported. */
#include "elf.h"
#include "verify.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define CODE     0x20000
#define IMAGE_HI 0x40000

/* Append hex bytes ("83 e0 e0"); "|" pads with int3 to the next bundle. */
static size_t put (uint8_t *buf, size_t at, const char *hex)
{
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (*p == '|') {
            while (at % 32)
                buf[at++] = 0xcc;
            p++;
            continue;
        }
        char *end;
        buf[at++] = (uint8_t) strtoul (p, &end, 16);
        p = end;
    }
    return at;
}

static int check (const char *hex, sfi_verdict_t *v)
{
    uint8_t buf[1024];
    size_t n = put (buf, 0, hex);
    n = put (buf, n, "|");
    return sfi_verify_code (buf, n, CODE, CODE, IMAGE_HI, v);
}

#define SAFE(hex)                                                                          \
    do {                                                                                   \
        sfi_verdict_t v_;                                                                  \
        int r_ = check (hex, &v_);                                                         \
        CHECK (r_ == 0);                                                                   \
        if (r_)                                                                            \
            fprintf (stderr, "    %s: 0x%llx: %s: %s\n", hex, (unsigned long long) v_.off, \
                     v_.insn, v_.rule);                                                    \
    } while (0)

#define UNSAFE(hex, at, words)                                                    \
    do {                                                                          \
        sfi_verdict_t v_;                                                         \
        int r_ = check (hex, &v_);                                                \
        CHECK (r_ == 1);                                                          \
        CHECK_EQ (v_.off, CODE + (at));                                           \
        CHECK (strstr (v_.rule, words) != NULL);                                  \
        if (r_ != 1 || v_.off != CODE + (at) || !strstr (v_.rule, words))         \
            fprintf (stderr, "    %s: got 0x%llx: %s: %s; want +%d: %s\n", hex,   \
                     (unsigned long long) v_.off, v_.insn, v_.rule, (at), words); \
    } while (0)

/* The sandboxing sequences of SCHEME.md, and ordinary code. */
static void test_safe (void)
{
    SAFE ("");                              /* nothing to run */
    SAFE ("83 e0 e0 4c 01 f8 ff e0");       /* andl $-32,%eax; addq %r15,%rax; jmp *%rax */
    SAFE ("41 83 e3 e0 4d 01 fb 41 ff d3"); /* ... call *%r11 */
    /* the return: popq %r11; addl $31,%r11d; andl $-32,%r11d; addq %r15,%r11; jmp *%r11 */
    SAFE ("41 5b 41 83 c3 1f 41 83 e3 e0 4d 01 fb 41 ff e3");
    /* the return: popq %r11; andl $-32,%r11d; addq %r15,%r11; pushq %r11; ret */
    SAFE ("41 5b 41 83 e3 e0 4d 01 fb 41 53 c3");
    SAFE ("83 e0 e0 4c 01 f8 50 c3");             /* ... through rax */
    SAFE ("eb 00 41 83 e3 e0 4d 01 fb 41 53 c3"); /* a direct jump to its andl */
    SAFE ("83 ec 10 4c 01 fc");                   /* subl $16,%esp; addq %r15,%rsp */
    SAFE ("89 ec 4c 01 fc 5d");                   /* movl %ebp,%esp; addq %r15,%rsp; popq %rbp */
    SAFE ("8d 65 f8 4c 01 fc");                   /* leal -8(%rbp),%esp; addq %r15,%rsp */
    SAFE ("0f 4c e0 4c 01 fc");                   /* cmovl %eax,%esp; addq %r15,%rsp */
    SAFE ("43 8b 44 37 08");                      /* movl 8(%r15,%r14,1),%eax */
    SAFE ("41 8b 87 ff ff 0f 00");                /* movl 0xfffff(%r15),%eax */
    SAFE ("48 89 44 24 f8");                      /* movq %rax,-8(%rsp) */
    SAFE ("8b 05 40 00 00 00");                   /* movl 0x40(%rip),%eax */
    SAFE ("41 ff 97 08 00 01 00");                /* call *0x10008(%r15): slot 1 */
    SAFE ("41 ff 97 f8 0f 01 00");                /* call *0x10ff8(%r15): slot 511 */
    SAFE ("41 89 c6 44 8d 74 98 08");             /* movl %eax,%r14d; leal 8(%rax,%rbx,4),%r14d */
    SAFE ("66 41 89 c6 41 88 c6");                /* movw %ax,%r14w; movb %al,%r14b */
    SAFE ("c5 f4 58 d0 c4 81 7e 6f 5c 37 20");    /* vaddps; vmovdqu 0x20(%r15,%r14,1),%ymm3 */
    SAFE ("f0 43 0f b1 0c 37 48 f7 e1");          /* lock cmpxchgl %ecx,(%r15,%r14,1); mulq %rcx */
    SAFE ("2e 66 0f 1f 04 00 cc 0f 0b");          /* nopw %cs:0(%rax,%rax,1); int3; ud2 */
    SAFE ("41 56 41 5b");                         /* push %r14 (a read); pop %r11 */
    SAFE ("50 58 41 5b 43 ff 74 37 08"); /* push %rax; pop %rax; pop %r11; push 8(%r15,%r14,1) */
    /* direct branches: backwards to a bundle start, forwards to an andl */
    SAFE ("b8 01 00 00 00 eb f9 e8 14 00 00 00 | 83 e0 e0 4c 01 f8 ff e0");
    SAFE ("e9 1b 00 00 00 | 83 e0 e0 4c 01 f8 ff e0");
    /* a whole bundle of one instruction kind, then the next */
    SAFE (
        "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90");
}

static void test_bundles (void)
{
    sfi_verdict_t v;
    uint8_t buf[64];
    memset (buf, 0xcc, sizeof buf);
    CHECK_EQ (sfi_verify_code (buf, 33, CODE, CODE, IMAGE_HI, &v), 1);
    CHECK (strstr (v.rule, "multiples of 32"));
    CHECK_EQ (sfi_verify_code (buf, 32, CODE + 16, CODE, IMAGE_HI, &v), 1);
    CHECK_EQ (sfi_verify_code (buf, 64, CODE, CODE, IMAGE_HI, &v), 0);
    CHECK_EQ (v.insns, 64);
    /* 30 nops, then a 5-byte mov across the boundary */
    UNSAFE (
        "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 b8 01 00 00 00",
        30, "crosses a 32-byte bundle");
    UNSAFE ("06", 0, "do not decode"); /* push %es: not in 64-bit mode */
    /* a two-byte opcode cut off by the end of the code */
    UNSAFE (
        "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 0f",
        31, "do not decode");
    CHECK_EQ (check ("0f ff", &v), 1); /* ud0 without its ModRM: text shows bytes */
    CHECK (strstr (v.insn, "0x0f") || strstr (v.insn, "ud0"));
}

static void test_registers (void)
{
    UNSAFE ("41 89 c7", 0, "writes reserved register r15");    /* movl %eax,%r15d */
    UNSAFE ("66 41 89 c7", 0, "writes reserved register r15"); /* movw %ax,%r15w */
    UNSAFE ("90 41 5f", 1, "writes reserved register r15");    /* pop %r15 */
    UNSAFE ("4c 8d 74 98 08", 0, "r14 with a 64-bit operand"); /* leaq 8(%rax,%rbx,4),%r14 */
    UNSAFE ("49 96", 0, "r14 with a 64-bit operand");          /* xchg %r14,%rax */
    UNSAFE ("4d 0f c1 37", 0, "r14 with a 64-bit operand");    /* xadd %r14,(%r15) */
    UNSAFE ("41 5e", 0, "r14 with a 64-bit operand");          /* pop %r14 */
    UNSAFE ("66 49 0f 7e c6", 0, "r14 with a 64-bit operand"); /* movq %xmm0,%r14 */
    UNSAFE ("48 83 ec 08", 0, "writes rsp");                   /* sub $8,%rsp */
    UNSAFE ("66 89 c4 4c 01 fc", 0, "writes rsp");             /* mov %ax,%sp; addq %r15,%rsp */
    UNSAFE ("5c", 0, "writes rsp");                            /* pop %rsp */
    UNSAFE ("c9", 0, "leave is not allowed");
    UNSAFE ("4c 01 fc", 0, "addq %r15,%rsp without"); /* the add alone */
    UNSAFE ("89 ec 90 4c 01 fc", 0, "not followed by addq %r15,%rsp");
    /* the esp write ends a bundle; its add starts the next */
    UNSAFE (
        "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 89 ec 4c 01 fc",
        30, "not followed by addq %r15,%rsp in the same bundle");
    UNSAFE ("41 57", 0, "push of rsp or r15");
    UNSAFE ("54", 0, "push of rsp or r15");
    UNSAFE ("8e d8", 0, "segment register"); /* movl %eax,%ds */
}

static void test_memory (void)
{
    UNSAFE ("8b 00", 0, "memory operand must be");                /* movl (%rax),%eax */
    UNSAFE ("43 8b 44 77 08", 0, "memory operand must be");       /* 8(%r15,%r14,2) */
    UNSAFE ("43 8b 44 3e 08", 0, "memory operand must be");       /* 8(%r14,%r15,1) */
    UNSAFE ("8b 44 04 08", 0, "memory operand must be");          /* 8(%rsp,%rax,1) */
    UNSAFE ("8b 04 25 34 12 00 00", 0, "memory operand must be"); /* absolute 0x1234 */
    UNSAFE ("41 8b 87 00 00 f0 ff", 0, "not below 1 MiB");        /* -0x100000(%r15) */
    UNSAFE ("8b 84 24 00 00 10 00", 0, "not below 1 MiB");        /* 0x100000(%rsp) */
    UNSAFE ("8b 05 00 00 04 00", 0, "outside the image");         /* 0x40000(%rip) */
    UNSAFE ("8b 05 f0 ff fe ff", 0, "outside the image");         /* below the image */
    UNSAFE ("64 41 8b 47 08", 0, "segment override");             /* %fs:8(%r15) */
    UNSAFE ("65 41 8b 47 08", 0, "segment override");             /* %gs: */
    UNSAFE ("67 43 8b 44 37 08", 0, "32-bit address size");       /* 8(%r15d,%r14d,1) */
    UNSAFE ("f3 aa", 0, "string instructions");                   /* rep stosb */
    UNSAFE ("48 a5", 0, "string instructions");                   /* movsq */
    UNSAFE ("d7", 0, "xlat");
    UNSAFE ("66 0f f7 c1", 0, "implicit memory operands"); /* maskmovdqu */
    /* bt* with a register bit offset: the operand's address + offset / 8 */
    UNSAFE ("49 0f ab 07", 0, "bit offset in a register");       /* btsq %rax,(%r15) */
    UNSAFE ("43 0f a3 04 37", 0, "bit offset in a register");    /* btl %eax,(%r15,%r14,1) */
    UNSAFE ("48 0f bb 04 24", 0, "bit offset in a register");    /* btcq %rax,(%rsp) */
    UNSAFE ("66 41 0f b3 47 08", 0, "bit offset in a register"); /* btrw %ax,8(%r15) */
    SAFE (
        "41 0f ba 2f 05 48 0f ab c1 49 0f a3 c6"); /* btsl $5,(%r15); btsq %rax,%rcx; btq %rax,%r14 */
    SAFE ("48 0f ba 24 24 3f");                    /* btq $63,(%rsp) */
}

static void test_control (void)
{
    /* direct branches */
    UNSAFE ("e9 fb 00 00 00", 0, "outside the code");               /* jmp .+0x100 */
    UNSAFE ("eb 01 b8 01 00 00 00", 0, "not an instruction start"); /* into the mov's immediate */
    UNSAFE ("eb 03 83 e0 e0 4c 01 f8 ff e0", 0, "inside a sandboxing sequence"); /* to the addq */
    UNSAFE ("eb 06 83 e0 e0 4c 01 f8 ff e0", 0, "inside a sandboxing sequence"); /* to the jmp */
    UNSAFE ("eb 02 89 ec 4c 01 fc", 0, "inside a sandboxing sequence"); /* to the rsp add */
    UNSAFE ("e8 00 00 00 00 | c3", 32, "ret not preceded in its bundle");
    /* ret: only the plain one, only at the end of its sequence, in one bundle */
    UNSAFE ("c3", 0, "ret not preceded in its bundle");
    UNSAFE ("41 53 c3", 2, "ret not preceded in its bundle");          /* push of an unmasked r11 */
    UNSAFE ("4d 01 fb 41 53 c3", 5, "ret not preceded in its bundle"); /* rebased, not masked */
    UNSAFE ("41 83 e3 e0 4d 01 fb 50 c3", 8,
            "ret not preceded in its bundle"); /* pushes rax, masked r11 */
    UNSAFE ("83 e0 e0 4d 01 fb 41 53 c3", 8,
            "ret not preceded in its bundle"); /* masks eax, pushes r11 */
    UNSAFE ("41 83 e3 e0 4d 01 fb 90 41 53 c3", 10,
            "ret not preceded in its bundle"); /* not adjacent */
    UNSAFE ("41 83 e3 e0 4d 01 fb 41 53 90 c3", 10, "ret not preceded in its bundle");
    UNSAFE (
        "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 41 83 e3 e0 4d 01 fb 41 53 c3",
        34, "ret not preceded in its bundle"); /* push and ret in the next bundle */
    UNSAFE ("eb 07 41 83 e3 e0 4d 01 fb 41 53 c3", 0,
            "inside a sandboxing sequence"); /* to the push */
    UNSAFE ("eb 09 41 83 e3 e0 4d 01 fb 41 53 c3", 0,
            "inside a sandboxing sequence"); /* to the ret */
    UNSAFE ("eb 04 41 83 e3 e0 4d 01 fb 41 53 c3", 0,
            "inside a sandboxing sequence");                                  /* to the addq */
    UNSAFE ("41 83 e3 e0 4d 01 fb 41 53 c2 08 00", 9, "ret is allowed only"); /* ret $8 */
    UNSAFE ("41 83 e3 e0 4d 01 fb 41 53 cb", 9, "ret is allowed only");       /* lret */
    UNSAFE ("41 83 e3 e0 4d 01 fb 41 53 66 c3", 9, "prefixes on branches");   /* retw */
    /* indirect branches */
    UNSAFE ("ff e0", 0, "not preceded in its bundle");                      /* jmp *%rax */
    UNSAFE ("83 e0 f0 4c 01 f8 ff e0", 6, "not preceded in its bundle");    /* andl $-16 */
    UNSAFE ("83 e0 e0 4c 01 f9 ff e1", 6, "not preceded in its bundle");    /* mask eax, jump rcx */
    UNSAFE ("83 e0 e0 90 4c 01 f8 ff e0", 7, "not preceded in its bundle"); /* not adjacent */
    /* split across a bundle boundary: the add and jmp begin the next bundle */
    UNSAFE (
        "90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 83 e0 e0 4c 01 f8 ff e0",
        35, "not preceded in its bundle");
    UNSAFE ("41 ff e6", 0, "through rsp, r14 or r15");         /* jmp *%r14 */
    UNSAFE ("41 83 e7 e0", 0, "writes reserved register r15"); /* andl $-32,%r15d */
    UNSAFE ("3e ff e0", 0, "notrack");
    UNSAFE ("f2 eb 00", 0, "prefixes on branches");               /* bnd jmp */
    UNSAFE ("66 eb 00", 0, "prefixes on branches");               /* data16 jmp: 16-bit IP on AMD */
    UNSAFE ("2e 74 00", 0, "branch hint");                        /* cs jz */
    UNSAFE ("41 ff 2f", 0, "far branches");                       /* ljmp *(%r15) */
    UNSAFE ("41 ff 67 08", 0, "memory-indirect branch");          /* jmp *8(%r15) */
    UNSAFE ("ff 15 00 00 00 00", 0, "memory-indirect branch");    /* call *0(%rip) */
    UNSAFE ("41 ff 97 00 00 01 00", 0, "memory-indirect branch"); /* slot 0: the gate exit */
    UNSAFE ("41 ff 97 00 10 01 00", 0, "memory-indirect branch"); /* slot 512 */
    UNSAFE ("41 ff 97 04 00 01 00", 0, "memory-indirect branch"); /* not a slot */
    UNSAFE ("43 ff 94 37 08 00 01 00", 0, "memory-indirect branch"); /* indexed */
    UNSAFE ("f3 c3", 0, "prefixes on branches");                     /* rep ret */
    /* the same bytes elsewhere: what depends on the place is checked there */
    UNSAFE ("8b 05 f0 ff 01 00 | 8b 05 f0 ff 01 00", 32, "outside the image");
    UNSAFE ("eb 1e | eb 1e", 32, "outside the code");
    UNSAFE ("83 e0 e0 4c 01 f8 ff e0 | ff e0", 32, "not preceded in its bundle");
    UNSAFE ("83 ec 10 4c 01 fc | 4c 01 fc", 32, "addq %r15,%rsp without");
    /* same first four bytes, different instructions: 0xfff00(%r15), 0x100000(%r15) */
    UNSAFE ("41 8b 87 00 ff 0f 00 41 8b 87 00 00 10 00", 7, "not below 1 MiB");
}

static void test_allowlist (void)
{
    UNSAFE ("0f 05", 0, "system calls");
    UNSAFE ("0f 34", 0, "system calls"); /* sysenter */
    UNSAFE ("cd 80", 0, "software interrupts");
    UNSAFE ("0f a2", 0, "cpuid");
    UNSAFE ("0f 31", 0, "time stamp counter");
    UNSAFE ("0f c7 f0", 0, "not in the allowlist");       /* rdrand */
    UNSAFE ("62 f1 74 48 58 d0", 0, "EVEX");              /* vaddps %zmm0,%zmm1,%zmm2 */
    UNSAFE ("41 0f ae 27", 0, "not in the allowlist");    /* xsave (%r15) */
    UNSAFE ("f3 48 0f ae d0", 0, "not in the allowlist"); /* wrfsbase %rax */
    UNSAFE ("fd", 0, "std/cld");
    UNSAFE ("9c", 0, "pushf/popf");
    UNSAFE ("e4 01", 0, "port I/O");
    UNSAFE ("41 0f b4 07", 0, "segment register");             /* lfs */
    UNSAFE ("41 0f ae 17", 0, "floating-point control state"); /* ldmxcsr */
    UNSAFE ("41 d9 2f", 0, "floating-point control state");    /* fldcw */
    UNSAFE ("c7 f8 fa ff ff ff", 0, "not in the allowlist");   /* xbegin */
    UNSAFE ("66 0f 38 dc c8", 0, "not in the allowlist");      /* aesenc */
    UNSAFE ("f4", 0, "privileged");                            /* hlt */
    UNSAFE ("f3 48 01 c3", 0, "ignored prefixes");             /* rep add */
    UNSAFE ("0f 19 c0", 0, "reserved nop");                    /* nop %eax: a hint-nop opcode */
    UNSAFE ("0f 1e c8", 0, "reserved nop");                    /* rdssp's opcode without f3 */
    UNSAFE ("64 0f 1f 00", 0, "nop prefixes");                 /* nopl %fs:(%rax) */
    SAFE ("66 66 2e 0f 1f 84 00 00 00 00 00 0f 1f 44 00 00 66 90 90"); /* gas's padding */
}

/* -- Module files -------------------------------------------------------- */

static void w16 (uint8_t *p, uint16_t x)
{
    p[0] = (uint8_t) x;
    p[1] = (uint8_t) (x >> 8);
}
static void w32 (uint8_t *p, uint32_t x)
{
    w16 (p, (uint16_t) x);
    w16 (p + 2, (uint16_t) (x >> 16));
}
static void w64 (uint8_t *p, uint64_t x)
{
    w32 (p, (uint32_t) x);
    w32 (p + 4, (uint32_t) (x >> 32));
}

static void phdr (uint8_t *f, int i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
                  uint64_t filesz, uint64_t memsz)
{
    uint8_t *p = f + 64 + 56 * i;
    w32 (p, type);
    w32 (p + 4, flags);
    w64 (p + 8, off);
    w64 (p + 16, vaddr);
    w64 (p + 24, vaddr);
    w64 (p + 32, filesz);
    w64 (p + 40, memsz);
    w64 (p + 48, 0x1000);
}

static void sym (uint8_t *f, int i, uint32_t name, uint8_t info, uint16_t shndx, uint64_t value)
{
    uint8_t *p = f + 0x3100 + 24 * i;
    w32 (p, name);
    p[4] = info;
    w16 (p + 6, shndx);
    w64 (p + 8, value);
}

#define FILE_SIZE 0x3400

/* A small well-formed module: code (R X) at 0x20000, a relocation table
   (R) at 0x21000, data and bss (RW) at 0x22000 with .dynamic at its
   start, and a .symtab with f and g exported. */
static void build (uint8_t *f)
{
    memset (f, 0, FILE_SIZE);
    memcpy (f, "\177ELF\2\1\1", 7);
    w16 (f + 16, 3);
    w16 (f + 18, 62);
    w32 (f + 20, 1);
    w64 (f + 32, 64);
    w64 (f + 40, 0x3300);
    w16 (f + 52, 64);
    w16 (f + 54, 56);
    w16 (f + 56, 4);
    w16 (f + 58, 64);
    w16 (f + 60, 3);
    phdr (f, 0, 1, 5, 0x1000, 0x20000, 0x40, 0x40);
    phdr (f, 1, 1, 4, 0x2000, 0x21000, 0x100, 0x100);
    phdr (f, 2, 1, 6, 0x3000, 0x22000, 0x400, 0x2000);
    phdr (f, 3, 2, 6, 0x3000, 0x22000, 0x40, 0x40);
    /* f: the return sequence; g at 0x20020: int3 */
    memset (f + 0x1000, 0xcc, 0x40);
    put (f + 0x1000, 0, "41 5b 41 83 c3 1f 41 83 e3 e0 4d 01 fb 41 ff e3");
    w64 (f + 0x2000, 0x22080);
    w64 (f + 0x2008, 8);
    w64 (f + 0x2010, 0x20000);
    w64 (f + 0x3000, 7);
    w64 (f + 0x3008, 0x21000); /* DT_RELA */
    w64 (f + 0x3010, 8);
    w64 (f + 0x3018, 24); /* DT_RELASZ */
    w64 (f + 0x3020, 9);
    w64 (f + 0x3028, 24);            /* DT_RELAENT */
    sym (f, 1, 1, 0x12, 1, 0x20000); /* f: GLOBAL FUNC */
    sym (f, 2, 3, 0x02, 1, 0x20020); /* h: LOCAL */
    sym (f, 3, 5, 0x12, 1, 0x20004); /* k: not aligned */
    sym (f, 4, 7, 0x12, 1, 0x20020); /* g */
    memcpy (f + 0x3200, "\0f\0h\0k\0g", 9);
    uint8_t *sh = f + 0x3300;
    w32 (sh + 64 + 4, 2);
    w64 (sh + 64 + 24, 0x3100);
    w64 (sh + 64 + 32, 5 * 24);
    w32 (sh + 64 + 40, 2);
    w64 (sh + 64 + 56, 24);
    w32 (sh + 128 + 4, 3);
    w64 (sh + 128 + 24, 0x3200);
    w64 (sh + 128 + 32, 9);
}

/* Parse f after build() and one change; expect an error containing words. */
static void bad (uint8_t *f, size_t len, const char *words, int line)
{
    char err[256] = "";
    sfi_image_t *img = sfi_image_parse (f, len, err, sizeof err);
    CHECK (img == NULL);
    CHECK (strstr (err, words) != NULL);
    if (img || !strstr (err, words))
        fprintf (stderr, "    line %d: got '%s', want '%s'\n", line, err, words);
    sfi_image_destroy (&img);
}
#define BAD(words) bad (f, FILE_SIZE, words, __LINE__)

static void test_elf (void)
{
    static uint8_t f[FILE_SIZE];
    char err[256] = "";
    build (f);
    sfi_image_t *img = sfi_image_parse (f, FILE_SIZE, err, sizeof err);
    CHECK (img != NULL);
    if (!img) {
        fprintf (stderr, "    good module refused: %s\n", err);
        return;
    }
    CHECK_EQ (img->nseg, 3);
    CHECK_EQ (img->code, 0);
    CHECK_EQ (img->seg[2].memsz, 0x2000);
    CHECK (img->seg[0].prot == 5 && img->seg[1].prot == 1 && img->seg[2].prot == 3);
    CHECK_EQ (img->image_end, 0x24000);
    CHECK_EQ (img->nrelocs, 1);
    CHECK (img->nrelocs == 1 && img->relocs[0].off == 0x22080 && img->relocs[0].addend == 0x20000);
    CHECK_EQ (img->nsyms, 2);
    CHECK_EQ (sfi_image_symbol (img, "f"), 0x20000);
    CHECK_EQ (sfi_image_symbol (img, "g"), 0x20020);
    CHECK_EQ (sfi_image_symbol (img, "h"), -1);
    CHECK_EQ (sfi_image_symbol (img, "k"), -1);
    sfi_verdict_t v;
    CHECK_EQ (sfi_verify_image (img, &v), 0);
    sfi_image_destroy (&img);
    CHECK (img == NULL);

    /* unsafe code in a well-formed file: the verdict names the vaddr */
    put (f + 0x1000, 0x20, "0f 05");
    img = sfi_image_parse (f, FILE_SIZE, err, sizeof err);
    CHECK (img && sfi_verify_image (img, &v) == 1 && v.off == 0x20020 &&
           strstr (v.rule, "system calls"));
    sfi_image_destroy (&img);

    build (f);
    f[0] = 'X';
    BAD ("not an ELF file");
    build (f);
    f[4] = 1;
    BAD ("64-bit");
    build (f);
    w16 (f + 18, 3);
    BAD ("not an x86-64 file");
    build (f);
    w16 (f + 16, 2);
    BAD ("ET_DYN");
    build (f);
    w16 (f + 56, 0xffff);
    BAD ("program header table beyond");
    build (f);
    w32 (f + 64 + 56 * 2 + 4, 7);
    BAD ("segment 2: writable and executable");
    build (f);
    w32 (f + 64 + 56 * 1 + 4, 0);
    BAD ("segment 1: not readable");
    build (f);
    w64 (f + 64 + 32, 0x30);
    w64 (f + 64 + 40, 0x30);
    BAD ("segment 0: executable segment length");
    build (f);
    w64 (f + 64 + 40, 0x60);
    BAD ("segment 0: executable segment has a zero-filled tail");
    build (f);
    w64 (f + 64 + 16, 0x20010);
    w64 (f + 64 + 8, 0x1010);
    BAD ("segment 0: executable segment not page aligned");
    build (f);
    w64 (f + 64 + 16, 0x10000);
    BAD ("segment 0: addresses");
    build (f);
    w64 (f + 64 + 56 * 2 + 16, 0xfffff000);
    BAD ("segment 2: addresses");
    build (f);
    w64 (f + 64 + 56 * 2 + 40, UINT64_MAX);
    BAD ("segment 2: addresses");
    build (f);
    w64 (f + 64 + 56 * 2 + 32, UINT64_MAX);
    w64 (f + 64 + 56 * 2 + 40, UINT64_MAX);
    BAD ("segment 2: file range");
    build (f);
    w64 (f + 64 + 56 + 16, 0x20000);
    w64 (f + 64 + 56 + 8, 0x1000);
    BAD ("segment 1: overlaps");
    build (f);
    w64 (f + 64 + 56 + 16, 0x20800);
    w64 (f + 64 + 56 + 8, 0x1800);
    BAD ("segment 1: overlaps");
    build (f);
    w64 (f + 64 + 56 + 16, 0x21100);
    BAD ("segment 1: address and file offset differ");
    build (f);
    w32 (f + 64 + 56 + 4, 5);
    BAD ("segment 1: a second executable segment");
    build (f);
    w32 (f + 64 + 4, 4);
    BAD ("no executable segment");
    build (f);
    w32 (f + 64 + 56 * 3, 7);
    BAD ("thread-local storage");
    build (f);
    w64 (f + 0x2008, 1);
    BAD ("relocation 0: type 1");
    build (f);
    w64 (f + 0x2000, 0x21080);
    BAD ("relocation 0: target 0x21080 not inside a writable segment");
    build (f);
    w64 (f + 0x2000, 0x23ffc);
    BAD ("not inside a writable segment");
    build (f);
    w64 (f + 0x3018, 25);
    BAD ("bad relocation table size");
    build (f);
    w64 (f + 0x3008, 0x22400);
    BAD ("relocation table 0x22400+0x18 not inside a segment");
    build (f);
    w64 (f + 0x3030, 1);
    BAD ("DT_NEEDED");
    build (f);
    w64 (f + 0x3030, 23);
    w64 (f + 0x3038, 0x21000);
    BAD ("other than DT_RELA");
    build (f);
    w64 (f + 64 + 56 * 3 + 8, 0x3300);
    w64 (f + 64 + 56 * 3 + 32, 0x1000);
    BAD ("dynamic section beyond");
    build (f);
    sym (f, 1, 100, 0x12, 1, 0x20000);
    BAD ("symbol 1: name outside");
    build (f);
    w64 (f + 40, 0x3380);
    BAD ("section header table beyond");
    build (f);
    w32 (f + 0x3300 + 64 + 40, 9);
    BAD ("links to section 9");
    build (f);
    w32 (f + 0x3300 + 128 + 4, 1);
    BAD ("not a string table");
    build (f);
    bad (f, 0x2f00, "file range", __LINE__);

    /* every prefix of the file is refused or parsed; none crashes */
    int parsed = 0;
    build (f);
    for (size_t len = 0; len <= FILE_SIZE; len += 8) {
        img = sfi_image_parse (f, len, err, sizeof err);
        parsed += img != NULL;
        sfi_image_destroy (&img);
    }
    CHECK_EQ (parsed, 1);

    /* a stripped module parses, exporting nothing */
    build (f);
    w64 (f + 40, 0);
    w16 (f + 60, 0);
    img = sfi_image_parse (f, FILE_SIZE, err, sizeof err);
    CHECK (img && img->nsyms == 0 && sfi_image_symbol (img, "f") == -1);
    sfi_image_destroy (&img);

    CHECK (sfi_image_load ("/nonexistent/module", err, sizeof err) == NULL);
    CHECK (strstr (err, "No such file") != NULL);
    CHECK (sfi_image_load ("/tmp", err, sizeof err) == NULL);
    CHECK (strstr (err, "not a regular file") != NULL);
}

int main (void)
{
    test_safe ();
    test_bundles ();
    test_registers ();
    test_memory ();
    test_control ();
    test_allowlist ();
    test_elf ();
    return tap_done ("test_sfi_verify");
}
