/*  test_sfi_rewrite.c -- the assembly rewriter of glsfi-cc: for each
    construct, the assembly in and the assembly that must come out. */
#include "rewrite.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define HEAD    "\t.bundle_align_mode 5\n"
/* a call ends its bundle: its return address is the next bundle start */
#define CALL(f) "\t.bundle_lock align_to_end\n\tcall\t" f "\n\t.bundle_unlock\n"

/* `in` must become HEAD `want`. */
static void same (int line, const char *in, const char *want)
{
    char *out = NULL;
    char err[512] = "";
    int rc = sfi_rewrite (in, strlen (in), &out, NULL, err, sizeof err);
    CHECK (rc == 0);
    if (rc != 0) {
        fprintf (stderr, "  line %d: refused: %s\n", line, err);
        return;
    }
    int ok = strncmp (out, HEAD, strlen (HEAD)) == 0 && strcmp (out + strlen (HEAD), want) == 0;
    CHECK (ok);
    if (!ok)
        fprintf (stderr, "  line %d: input:\n%s  got:\n%s  want:\n" HEAD "%s", line, in, out, want);
    free (out);
}
#define SAME(in, want) same (__LINE__, in, want)

/* `in` must be refused with an error that contains `why`. */
static void refused (int line, const char *in, const char *why)
{
    char *out = NULL;
    char err[512] = "";
    int rc = sfi_rewrite (in, strlen (in), &out, NULL, err, sizeof err);
    CHECK (rc == -1);
    CHECK (out == NULL);
    CHECK (strstr (err, why) != NULL);
    if (rc != -1 || !strstr (err, why))
        fprintf (stderr, "  line %d: input:\n%s  rc %d, error '%s', want '%s'\n", line, in, rc, err,
                 why);
    free (out);
}
#define REFUSED(in, why) refused (__LINE__, in, why)

/* Memory operands: allowed forms stay, the others go through r14. */
static void test_memory (void)
{
    SAME ("\tmovq\t8(%rsp), %rax\n\tmovl\tfoo+4(%rip), %eax\n\taddl\t%esi, %edi\n",
          "\tmovq\t8(%rsp), %rax\n\tmovl\tfoo+4(%rip), %eax\n\taddl\t%esi, %edi\n");
    SAME ("\tmovl\t8(%rdi), %eax\n", "\tmovl\t%edi, %r14d\n\tmovl\t8(%r15,%r14,1), %eax\n");
    SAME ("\tmovq\t%rax, -16(%rbx)\n", "\tmovl\t%ebx, %r14d\n\tmovq\t%rax, -16(%r15,%r14,1)\n");
    SAME ("\tmovl\t(%rdi,%rax,4), %eax\n",
          "\tleal\t(%rdi,%rax,4), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    SAME ("\tmovsbq\t16(%rbp,%r12), %rax\n",
          "\tleal\t(%rbp,%r12,1), %r14d\n\tmovsbq\t16(%r15,%r14,1), %rax\n");
    SAME ("\tmovl\t0(,%rax,8), %edx\n", "\tleal\t(,%rax,8), %r14d\n\tmovl\t0(%r15,%r14,1), %edx\n");
    /* a displacement too large to keep next to r14 goes into the lea;
       negative ones only when small (only the stack top lies near 4G) */
    SAME ("\tmovl\t2000000(%rdi), %eax\n",
          "\tleal\t2000000(%rdi), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    SAME ("\tmovl\t65536(%rdi), %eax\n",
          "\tleal\t65536(%rdi), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    SAME ("\tmovl\t65532(%rdi), %eax\n", "\tmovl\t%edi, %r14d\n\tmovl\t65532(%r15,%r14,1), %eax\n");
    SAME ("\tmovl\t-300(%rdi), %eax\n", "\tleal\t-300(%rdi), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    /* with an index, B + I*S may lie past the top of the region (a frame
       pointer near 4G plus an index, with a negative displacement) */
    SAME ("\tmovl\t-8(%rdi,%rcx,8), %eax\n",
          "\tleal\t-8(%rdi,%rcx,8), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    SAME ("\tmovq\t%rdx, -176(%rbp,%rax,8)\n\tmovq\t%rdx, -168(%rbp,%rax,8)\n",
          "\tleal\t-176(%rbp,%rax,8), %r14d\n\tmovq\t%rdx, (%r15,%r14,1)\n"
          "\tleal\t-168(%rbp,%rax,8), %r14d\n\tmovq\t%rdx, (%r15,%r14,1)\n");
    SAME ("\tmovl\ttable+8(%rdi), %eax\n",
          "\tleal\ttable+8(%rdi), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    /* %rsp with an index or a large displacement is not an allowed form */
    SAME ("\tmovl\t(%rsp,%rax,4), %eax\n",
          "\tleal\t(%rsp,%rax,4), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    SAME ("\tmovl\t%eax, 2097152(%rsp)\n",
          "\tleal\t2097152(%rsp), %r14d\n\tmovl\t%eax, (%r15,%r14,1)\n");
    /* absolute addresses */
    SAME ("\tmovl\tcounter, %eax\n", "\tleal\tcounter, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
    /* lea and nop do not access memory; prefetch is treated as an access */
    SAME ("\tleaq\t8(%rdi,%rax,4), %rdx\n\tnopw\t0(%rax,%rax,1)\n",
          "\tleaq\t8(%rdi,%rax,4), %rdx\n\tnopw\t0(%rax,%rax,1)\n");
    SAME ("\tprefetcht0\t64(%rsi)\n", "\tmovl\t%esi, %r14d\n\tprefetcht0\t64(%r15,%r14,1)\n");
    /* prefixes, SSE, x87, push/pop with memory */
    SAME ("\tlock addl\t$1, (%rdi)\n", "\tmovl\t%edi, %r14d\n\tlock addl\t$1, (%r15,%r14,1)\n");
    SAME ("\tlock; xaddq\t%rax, 8(%rdx)\n",
          "\tmovl\t%edx, %r14d\n\tlock xaddq\t%rax, 8(%r15,%r14,1)\n");
    SAME ("\tmovsd\t8(%rdi), %xmm0\n\tmovups\t%xmm1, (%rsi)\n",
          "\tmovl\t%edi, %r14d\n\tmovsd\t8(%r15,%r14,1), %xmm0\n"
          "\tmovl\t%esi, %r14d\n\tmovups\t%xmm1, (%r15,%r14,1)\n");
    SAME ("\tfldl\t(%rax)\n", "\tmovl\t%eax, %r14d\n\tfldl\t(%r15,%r14,1)\n");
    SAME ("\tpushq\t8(%rdi)\n\tpopq\t(%rax)\n", "\tmovl\t%edi, %r14d\n\tpushq\t8(%r15,%r14,1)\n"
                                                "\tmovl\t%eax, %r14d\n\tpopq\t(%r15,%r14,1)\n");
    /* %ah..%bh cannot be encoded next to (%r15,%r14,1) (REX): the
       instruction works on %al..%bl, swapped in and out */
    SAME (
        "\tmovb\t%ch, (%rax)\n",
        "\tmovl\t%eax, %r14d\n\txchgb\t%ch, %cl\n\tmovb\t%cl, (%r15,%r14,1)\n\txchgb\t%ch, %cl\n");
    SAME (
        "\taddb\t2(%rcx), %ah\n",
        "\tmovl\t%ecx, %r14d\n\txchgb\t%ah, %al\n\taddb\t2(%r15,%r14,1), %al\n\txchgb\t%ah, %al\n");
    SAME ("\tmovb\t%dh, 8(%rsp)\n", "\tmovb\t%dh, 8(%rsp)\n");
    /* comments go */
    SAME ("\tmovl\t(%rcx), %eax # load\n#APP\n",
          "\tmovl\t%ecx, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
}

/* r14 = low32(base) is reused while nothing can have changed it. */
static void test_reuse (void)
{
    SAME ("\tmovl\t(%rdi), %eax\n\tmovq\t8(%rdi), %rdx\n\taddl\t%eax, 16(%rdi)\n",
          "\tmovl\t%edi, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n"
          "\tmovq\t8(%r15,%r14,1), %rdx\n\taddl\t%eax, 16(%r15,%r14,1)\n");
    /* writes to other registers, reads of the base, jcc fallthrough: kept */
    SAME (
        "\tmovl\t(%rdi), %eax\n\tmovq\t%rdi, %rsi\n\tcmpq\t%rdi, %rax\n\tjne\t.L2\n\tmovl\t4(%rdi), %eax\n",
        "\tmovl\t%edi, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n\tmovq\t%rdi, %rsi\n"
        "\tcmpq\t%rdi, %rax\n\tjne\t.L2\n\tmovl\t4(%r15,%r14,1), %eax\n");
    /* a label: another path may arrive with another r14 */
    SAME ("\tmovl\t(%rdi), %eax\n.L3:\n\tmovl\t4(%rdi), %eax\n",
          "\tmovl\t%edi, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n.L3:\n"
          "\tmovl\t%edi, %r14d\n\tmovl\t4(%r15,%r14,1), %eax\n");
    /* writes to the base in every width */
    static const char *const writers[] = {
        "\taddq\t$8, %rdi\n",     "\tmovb\t$1, %dil\n",      "\tincl\t%edi\n",
        "\tpopq\t%rdi\n",         "\tmovl\t(%rdi), %edi\n",  "\txchgq\t%rdi, %rax\n",
        "\tcmovne\t%rax, %rdi\n", "\tleaq\t1(%rdi), %rdi\n", "\tsetne\t%dil\n",
        "\tbswap\t%rdi\n",
    };
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        char in[256], want[512];
        char *out = NULL, err[256];
        snprintf (in, sizeof in, "\tmovl\t(%%rdi), %%eax\n%s\tmovl\t4(%%rdi), %%eax\n", writers[i]);
        CHECK (sfi_rewrite (in, strlen (in), &out, NULL, err, sizeof err) == 0);
        snprintf (want, sizeof want, "movl\t%%edi, %%r14d\n\tmovl\t4(%%r15,%%r14,1)");
        CHECK (out && strstr (out, want));
        if (!out || !strstr (out, want))
            fprintf (stderr, "  writer %zu: %s", i, out ? out : err);
        free (out);
    }
    /* implicit writes: cqto writes rdx, div writes rax and rdx */
    SAME ("\tmovl\t(%rdx), %eax\n\tcqto\n\tmovl\t4(%rdx), %ecx\n",
          "\tmovl\t%edx, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n\tcqto\n"
          "\tmovl\t%edx, %r14d\n\tmovl\t4(%r15,%r14,1), %ecx\n");
    SAME ("\tmovl\t(%rax), %ecx\n\tdivq\t%rcx\n\tmovl\t4(%rax), %ecx\n",
          "\tmovl\t%eax, %r14d\n\tmovl\t(%r15,%r14,1), %ecx\n\tdivq\t%rcx\n"
          "\tmovl\t%eax, %r14d\n\tmovl\t4(%r15,%r14,1), %ecx\n");
    SAME ("\tmovl\t(%rax), %ecx\n\tlock cmpxchgl\t%ecx, (%rdx)\n\tmovl\t4(%rax), %ecx\n",
          "\tmovl\t%eax, %r14d\n\tmovl\t(%r15,%r14,1), %ecx\n"
          "\tmovl\t%edx, %r14d\n\tlock cmpxchgl\t%ecx, (%r15,%r14,1)\n"
          "\tmovl\t%eax, %r14d\n\tmovl\t4(%r15,%r14,1), %ecx\n");
    /* base + index * scale is reused as well, until either changes */
    SAME ("\tmovsd\t8(%rdi,%rax,8), %xmm0\n\taddsd\t16(%rdi,%rax,8), %xmm0\n"
          "\tmovsd\t%xmm0, -8(%rdi,%rax,8)\n\taddq\t$1, %rax\n\tmovsd\t%xmm0, (%rdi,%rax,8)\n"
          "\tmovl\t(%rdi,%rax,4), %edx\n\tmovl\t(%rsi,%rax,8), %edx\n",
          "\tleal\t(%rdi,%rax,8), %r14d\n\tmovsd\t8(%r15,%r14,1), %xmm0\n"
          "\taddsd\t16(%r15,%r14,1), %xmm0\n\tleal\t-8(%rdi,%rax,8), %r14d\n"
          "\tmovsd\t%xmm0, (%r15,%r14,1)\n\taddq\t$1, %rax\n"
          "\tleal\t(%rdi,%rax,8), %r14d\n\tmovsd\t%xmm0, (%r15,%r14,1)\n"
          "\tleal\t(%rdi,%rax,4), %r14d\n\tmovl\t(%r15,%r14,1), %edx\n"
          "\tleal\t(%rsi,%rax,8), %r14d\n\tmovl\t(%r15,%r14,1), %edx\n");
    SAME (
        "\tmovzbl\t(%rdx,%rcx), %eax\n\tmovb\t%al, (%rdx,%rcx)\n\tmovl\t$0, %edx\n\tmovzbl\t1(%rdx,%rcx), %eax\n",
        "\tleal\t(%rdx,%rcx,1), %r14d\n\tmovzbl\t(%r15,%r14,1), %eax\n\tmovb\t%al, (%r15,%r14,1)\n"
        "\tmovl\t$0, %edx\n\tleal\t(%rdx,%rcx,1), %r14d\n\tmovzbl\t1(%r15,%r14,1), %eax\n");
    /* %rsp moves under push and pop: never a key */
    SAME ("\tmovl\t(%rsp,%rax,4), %edx\n\tpushq\t%rbx\n\tmovl\t(%rsp,%rax,4), %edx\n",
          "\tleal\t(%rsp,%rax,4), %r14d\n\tmovl\t(%r15,%r14,1), %edx\n\tpushq\t%rbx\n"
          "\tleal\t(%rsp,%rax,4), %r14d\n\tmovl\t(%r15,%r14,1), %edx\n");
    /* an indexed access sets r14 to something else */
    SAME ("\tmovl\t(%rdi), %eax\n\tmovl\t(%rsi,%rax,4), %eax\n\tmovl\t4(%rdi), %eax\n",
          "\tmovl\t%edi, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n"
          "\tleal\t(%rsi,%rax,4), %r14d\n\tmovl\t(%r15,%r14,1), %eax\n"
          "\tmovl\t%edi, %r14d\n\tmovl\t4(%r15,%r14,1), %eax\n");
    /* a call: the callee changes r14 */
    SAME ("\tmovl\t(%rbx), %eax\n\tcall\tf\n\tmovl\t4(%rbx), %eax\n",
          "\tmovl\t%ebx, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n" CALL (
              "f") "\tmovl\t%ebx, %r14d\n\tmovl\t4(%r15,%r14,1), %eax\n");
    /* a section switch */
    SAME ("\tmovl\t(%rbx), %eax\n\t.section\t.text.unlikely\n\tmovl\t4(%rbx), %eax\n",
          "\tmovl\t%ebx, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n\t.section\t.text.unlikely\n"
          "\tmovl\t%ebx, %r14d\n\tmovl\t4(%r15,%r14,1), %eax\n");
}

/* Writes to %rsp: 32-bit write, then rebase, in one bundle. */
static void test_rsp (void)
{
#define REBASED(x) "\t.bundle_lock\n\t" x "\n\taddq\t%r15, %rsp\n\t.bundle_unlock\n"
    SAME ("\tsubq\t$24, %rsp\n", REBASED ("subl\t$24, %esp"));
    SAME ("\taddq\t$24, %rsp\n", REBASED ("addl\t$24, %esp"));
    SAME ("\tandq\t$-16, %rsp\n", REBASED ("andl\t$-16, %esp"));
    SAME ("\tsubq\t%rcx, %rsp\n", REBASED ("subl\t%ecx, %esp"));
    SAME ("\tmovq\t%rbp, %rsp\n", REBASED ("movl\t%ebp, %esp"));
    SAME ("\tleaq\t-24(%rbp), %rsp\n", REBASED ("leal\t-24(%rbp), %esp"));
    SAME ("\tmovl\t%eax, %esp\n", REBASED ("movl\t%eax, %esp"));
    SAME ("\tleave\n", REBASED ("movl\t%ebp, %esp") "\tpopq\t%rbp\n");
    /* push, pop, reads of rsp: untouched */
    SAME ("\tpushq\t%rbx\n\tpopq\t%rbx\n\tmovq\t%rsp, %rbp\n",
          "\tpushq\t%rbx\n\tpopq\t%rbx\n\tmovq\t%rsp, %rbp\n");
    /* the rebase writes flags: refuse where they are still needed */
    REFUSED ("\tcmpl\t$1, %eax\n\tleaq\t8(%rsp), %rsp\n\tjne\t.L1\n", "flags are live");
    SAME ("\tleaq\t8(%rsp), %rsp\n\tcmpl\t$1, %eax\n\tjne\t.L1\n",
          REBASED ("leal\t8(%rsp), %esp") "\tcmpl\t$1, %eax\n\tjne\t.L1\n");
    REFUSED ("\tpopq\t%rsp\n", "%rsp cannot be sandboxed");
    REFUSED ("\txchgq\t%rax, %rsp\n", "%rsp cannot be sandboxed");
    REFUSED ("\tcmovne\t%rax, %rsp\n", "%rsp cannot be sandboxed");
    REFUSED ("\tmovw\t%ax, %sp\n", "%rsp cannot be sandboxed");
}

#define RETURN                                            \
    "\tpopq\t%r11\n\t.bundle_lock\n\tandl\t$-32, %r11d\n" \
    "\taddq\t%r15, %r11\n\tpushq\t%r11\n\tret\n\t.bundle_unlock\n"

/* Returns, calls, indirect branches, host calls. */
static void test_control (void)
{
    SAME ("\tret\n", RETURN);
    SAME ("\trep ret\n", RETURN);
    SAME ("\tretq\n", RETURN);
    REFUSED ("\tret\t$8\n", "ret with an operand");
    SAME ("\tcall\tf\n", CALL ("f"));
    SAME ("\tcall\tf@PLT\n", CALL ("f"));
    SAME ("\tcall\t*ext@GOTPCREL(%rip)\n", CALL ("ext"));
    SAME ("\tjmp\t*ext@GOTPCREL(%rip)\n", "\tjmp\text\n");
    SAME ("\tjmp\t.L3\n\tjne\t.L4\n", "\tjmp\t.L3\n\tjne\t.L4\n");
    SAME ("\tcall\t*%rax\n",
          "\t.bundle_lock align_to_end\n\tandl\t$-32, %eax\n\taddq\t%r15, %rax\n\tcall\t*%rax\n"
          "\t.bundle_unlock\n");
    SAME ("\tjmp\t*%r9\n",
          "\t.bundle_lock\n\tandl\t$-32, %r9d\n\taddq\t%r15, %r9\n\tjmp\t*%r9\n\t.bundle_unlock\n");
    SAME ("\tcall\t*8(%rdi)\n",
          "\tmovl\t%edi, %r14d\n\tmovq\t8(%r15,%r14,1), %r11\n"
          "\t.bundle_lock align_to_end\n\tandl\t$-32, %r11d\n\taddq\t%r15, %r11\n\tcall\t*%r11\n"
          "\t.bundle_unlock\n");
    SAME ("\tjmp\t*16(%rsp)\n",
          "\tmovq\t16(%rsp), %r11\n"
          "\t.bundle_lock\n\tandl\t$-32, %r11d\n\taddq\t%r15, %r11\n\tjmp\t*%r11\n"
          "\t.bundle_unlock\n");
    SAME ("\tcall\t*handler(%rip)\n",
          "\tmovq\thandler(%rip), %r11\n"
          "\t.bundle_lock align_to_end\n\tandl\t$-32, %r11d\n\taddq\t%r15, %r11\n\tcall\t*%r11\n"
          "\t.bundle_unlock\n");
    SAME ("\tjmp\t*(%rax,%rdx,8)\n",
          "\tleal\t(%rax,%rdx,8), %r14d\n\tmovq\t(%r15,%r14,1), %r11\n"
          "\t.bundle_lock\n\tandl\t$-32, %r11d\n\taddq\t%r15, %r11\n\tjmp\t*%r11\n"
          "\t.bundle_unlock\n");
    REFUSED ("\tjmp\t*%eax\n", "indirect jmp");
    REFUSED ("\tcall\t*%rsp\n", "indirect call");
    REFUSED ("\tnotrack jmp\t*%rax\n", "prefix that cannot be sandboxed");
    REFUSED ("\tjne\t*%rax\n", "conditional branches must be direct");
    /* host calls */
    SAME ("\tcall\t*__glsfi_host_1@GOTPCREL(%rip)\n", "\tcall\t*0x10008(%r15)\n\t.p2align 5\n");
    SAME ("\tcall\t__glsfi_host_511@PLT\n", "\tcall\t*0x10ff8(%r15)\n\t.p2align 5\n");
    SAME ("\tcall\t__glsfi_host_16\n", "\tcall\t*0x10080(%r15)\n\t.p2align 5\n");
    SAME ("\tjmp\t*__glsfi_host_2@GOTPCREL(%rip)\n",
          REBASED ("subl\t$8, %esp") "\tcall\t*0x10010(%r15)\n\t.p2align 5\n" REBASED (
              "addl\t$8, %esp") RETURN);
    REFUSED ("\tcall\t__glsfi_host_512\n", "host calls are __glsfi_host_1");
    REFUSED ("\tcall\t__glsfi_host_0\n", "host calls are __glsfi_host_1");
    REFUSED ("\tcall\t__glsfi_host_01\n", "host calls are __glsfi_host_1");
    REFUSED ("\tmovq\t__glsfi_host_1@GOTPCREL(%rip), %rax\n", "host calls can only be called");
    /* function entries are aligned for the indirect-call mask */
    SAME ("\t.globl\tf\n\t.type\tf, @function\nf:\n\tret\n",
          "\t.globl\tf\n\t.type\tf, @function\n\t.p2align 5\nf:\n" RETURN);
}

/* What cannot be made safe is refused, naming the line. */
static void test_refused (void)
{
    REFUSED ("\tnop\n\tmovq\t%fs:40, %rax\n",
             "2: segment registers cannot be used: movq\t%fs:40, %rax");
    REFUSED ("\tmovl\t%gs:(%rax), %eax\n", "segment registers");
    REFUSED ("\tfs movl\t(%rax), %eax\n", "segment override prefix");
    REFUSED ("\trep stosq\n", "string instructions");
    REFUSED ("\trep; movsb\n", "string instructions");
    REFUSED ("\tmovsb\n", "string instructions");
    REFUSED ("\tmovsq\n", "string instructions");
    REFUSED ("\tlodsb\n", "string instructions");
    REFUSED ("\tmovsd\n", "string instructions");
    REFUSED ("\tscasb\n", "string instructions");
    REFUSED ("\tsyscall\n", "1: system call: syscall");
    REFUSED ("\tint\t$0x80\n", "software interrupt");
    REFUSED ("\trdtsc\n", "nondeterministic");
    REFUSED ("\tcpuid\n", "nondeterministic");
    REFUSED ("\tenter\t$16, $0\n", "enter");
    REFUSED ("\txlatb\n", "xlat");
    REFUSED ("\txsave\t(%rdi)\n", "xsave");
    REFUSED ("\tljmp\t*(%rax)\n", "far jump");
    REFUSED ("\tmovq\t%rax, %r15\n", "reserved");
    REFUSED ("\tmovl\t(%r14), %eax\n", "reserved");
    REFUSED ("\tvmovdqu64\t%zmm0, (%rdi)\n", "AVX-512");
    REFUSED ("\tvaddps\t%ymm1, %ymm2, %ymm3{%k1}\n", "AVX-512");
    REFUSED ("\tvpgatherdd\t%ymm0, (%rdi,%ymm1,4), %ymm2\n", "gathers");
    REFUSED ("\tmovq\t%rax, %cr3\n", "control and debug");
    REFUSED ("\t.code32\n", "64-bit");
    REFUSED ("\t.bundle_align_mode 0\n", "bundle directives");
    REFUSED ("\t.text\n\t.byte\t0x0f, 0x05\n", "data in a code section");
    REFUSED ("\t.section\t.text.hot,\"ax\",@progbits\n\t.long\t1\n", "data in a code section");
    SAME (
        "\t.data\n\t.byte\t1\n\t.pushsection .rodata\n\t.long\t1\n\t.popsection\n\t.text\n\tnop\n",
        "\t.data\n\t.byte\t1\n\t.pushsection .rodata\n\t.long\t1\n\t.popsection\n\t.text\n\tnop\n");
    SAME ("\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"a#b;c\"\n",
          "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"a#b;c\"\n");
    /* code is aligned to the bundle size at most (clang's larger padding
       crosses bundles); data keeps its alignment */
    SAME ("\t.p2align 6\n\t.p2align 4,,10\n\t.balign 64\n\t.align 16\n\t.p2align 7,,20\n",
          "\t.p2align 5\n\t.p2align 4,,10\n\t.balign 32\n\t.align 16\n\t.p2align 5,,20\n");
    SAME ("\t.data\n\t.p2align 6\n", "\t.data\n\t.p2align 6\n");
    REFUSED ("\tlock\n", "prefix without an instruction");
    /* the line number counts input lines */
    REFUSED ("\t.text\n\n# c\nf:\n\tmovl\t(%rax), %eax\n\tsyscall\n", "6: system call");
    /* allowed oddities */
    SAME ("\tpause\n\tud2\n\tint3\n\tlfence\n", "\tpause\n\tud2\n\tint3\n\tlfence\n");
    SAME ("\trep bsfq\t%rcx, %rcx\n\trep; nop\n", "\trep bsfq\t%rcx, %rcx\n\trep nop\n");
    REFUSED ("\trep bsrq\t%rcx, %rcx\n", "string instructions");
    SAME ("f: movl (%rax), %eax\n", "f:\n\tmovl\t%eax, %r14d\n\tmovl\t(%r15,%r14,1), %eax\n");
}

int main (void)
{
    test_memory ();
    test_reuse ();
    test_rsp ();
    test_control ();
    test_refused ();

    /* the statistics count what was done */
    const char *in =
        "\tmovl\t(%rdi), %eax\n\tmovl\t4(%rdi), %eax\n\tcall\t*%rax\n\tsubq\t$8, %rsp\n\tret\n";
    char *out = NULL, err[256];
    sfi_rewrite_stats_t st;
    CHECK (sfi_rewrite (in, strlen (in), &out, &st, err, sizeof err) == 0);
    CHECK_EQ (st.insns, 5);
    CHECK_EQ (st.sandboxed, 2);
    CHECK_EQ (st.reused, 1);
    CHECK_EQ (st.branches, 1);
    CHECK_EQ (st.rsp_writes, 1);
    CHECK_EQ (st.returns, 1);
    free (out);
    return tap_done ("test_sfi_rewrite");
}
