/*  glsfi_cc.c -- glsfi-cc: compile C and assembly into a sandbox module.

        glsfi-cc [-c | -S] [-o OUT] [--no-sandbox] [--home DIR] [-save-temps]
                 [-v] [GCC OPTIONS] FILE...

    Each .c goes through gcc -S with the flags of sfi/SCHEME.md, each .S
    through the preprocessor; the assembly goes through the rewriter
    (sfi/rewrite.c), then clang's assembler; the objects, with the
    runtime library, are linked by `ld` with the module linker script.
    See glsfi-cc(1). */
#include "rewrite.h"

#include <Zydis/Zydis.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GLSFI_LIBDIR
#define GLSFI_LIBDIR "/usr/local/lib/glunix"
#endif
#ifndef GLSFI_INCDIR
#define GLSFI_INCDIR "/usr/local/include/glunix"
#endif

/* The code generation flags of SCHEME.md; user flags come after them and
   may override -O2.  -fno-ipa-ra: otherwise gcc keeps values in %r11
   across calls to functions it can see do not touch it, but the rewritten
   return sequence does. */
static const char *const sfi_flags[] = { "-O2",
                                         "-fpie",
                                         "-ffixed-r14",
                                         "-ffixed-r15",
                                         "-fno-ipa-ra",
                                         "-fno-jump-tables",
                                         "-falign-functions=32",
                                         "-fno-stack-protector",
                                         "-fno-asynchronous-unwind-tables",
                                         "-fcf-protection=none",
                                         "-mno-tls-direct-seg-refs",
                                         "-fno-tree-loop-distribute-patterns",
                                         "-mstringop-strategy=libcall",
                                         "-ffreestanding",
                                         "-fno-plt",
                                         "-D__GLSFI__=1",
                                         NULL };

/* The link flags of SCHEME.md ("Module file"). */
static const char *const ld_flags[] = {
    "-pie", "--no-dynamic-linker", "-z", "text", "-z", "noexecstack",
    "-z",   "separate-code",       "-e", "0",    NULL
};

/* gcc options that take their argument as the next word */
static const char *const gcc_with_arg[] = { "-I",       "-D",       "-U",      "-include",
                                            "-imacros", "-isystem", "-iquote", "-idirafter",
                                            "-MF",      "-MT",      "-MQ",     NULL };

typedef struct {
    const char **v;
    size_t n, cap;
} args_t;

static void args_add (args_t *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->v = realloc (a->v, a->cap * sizeof *a->v);
        if (!a->v) {
            fprintf (stderr, "glsfi-cc: out of memory\n");
            exit (1);
        }
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* Everything main allocates stays reachable from here and is freed at
   exit, on every path (the sanitizer build checks for leaks). */
static args_t owned, inputs, cflags, lflags, objs;

static void *own (void *p)
{
    args_add (&owned, p);
    return p;
}

static void release (void)
{
    for (size_t i = 0; i < owned.n; i++)
        free ((void *) owned.v[i]);
    free (owned.v);
    free (inputs.v);
    free (cflags.v);
    free (lflags.v);
    free (objs.v);
    owned = inputs = cflags = lflags = objs = (args_t){ 0 };
}

static char tmpdir[PATH_MAX];
static char *made[4096]; /* files made in tmpdir */
static volatile sig_atomic_t nmade;
static int keep_temps, verbose;

static void cleanup (void)
{
    if (!tmpdir[0] || keep_temps)
        return;
    for (int i = 0; i < nmade; i++)
        unlink (made[i]);
    rmdir (tmpdir);
}

static void on_signal (int sig)
{
    cleanup ();
    signal (sig, SIG_DFL);
    raise (sig);
}

static void die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "glsfi-cc: ");
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\n");
    va_end (ap);
    exit (1);
}

static char *xstrdup (const char *s)
{
    char *d = strdup (s);
    if (!d)
        die ("out of memory");
    return own (d);
}

static char *xprintf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *s = NULL;
    if (vasprintf (&s, fmt, ap) < 0)
        die ("out of memory");
    va_end (ap);
    return own (s);
}

/* A new file name in the private temporary directory. */
static char *temp_file (const char *stem, const char *ext)
{
    if ((size_t) nmade == sizeof made / sizeof made[0])
        die ("too many files");
    static int seq;
    char *path = xprintf ("%s/%d-%s%s", tmpdir, seq++, stem, ext);
    made[nmade] = path;
    nmade++;
    return path;
}

/* Runs argv; the step and the file name the failure. */
static void run (const char *step, const char *file, const char *const *argv)
{
    if (verbose) {
        for (int i = 0; argv[i]; i++)
            fprintf (stderr, "%s%s", i ? " " : "", argv[i]);
        fprintf (stderr, "\n");
    }
    fflush (NULL);
    pid_t pid = fork ();
    if (pid < 0)
        die ("%s: cannot fork: %s", step, strerror (errno));
    if (pid == 0) {
        execvp (argv[0], (char *const *) argv);
        fprintf (stderr, "glsfi-cc: %s: cannot run %s: %s\n", step, argv[0], strerror (errno));
        _exit (127);
    }
    int status;
    while (waitpid (pid, &status, 0) < 0)
        if (errno != EINTR)
            die ("%s: waitpid: %s", step, strerror (errno));
    if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        return;
    if (WIFEXITED (status))
        die ("%s failed on %s (exit status %d)", step, file, WEXITSTATUS (status));
    die ("%s failed on %s (signal %d)", step, file, WTERMSIG (status));
}

static char *read_file (const char *path, size_t *len)
{
    FILE *fp = fopen (path, "rb");
    if (!fp)
        die ("%s: %s", path, strerror (errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc (cap);
    size_t got;
    while (buf && (got = fread (buf + n, 1, cap - n - 1, fp)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            char *b = realloc (buf, cap);
            if (!b)
                free (buf);
            buf = b;
        }
    }
    if (!buf)
        die ("out of memory");
    if (ferror (fp))
        die ("%s: %s", path, strerror (errno));
    fclose (fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void write_file (const char *path, const char *a, const char *b)
{
    FILE *fp = fopen (path, "w");
    if (!fp)
        die ("%s: %s", path, strerror (errno));
    fputs (a, fp);
    if (b)
        fputs (b, fp);
    if (fclose (fp) != 0)
        die ("%s: %s", path, strerror (errno));
}

/* Rewrites the assembly in `in` (made from `src`) into `out`. */
static void sandbox_asm (const char *src, const char *in, const char *out, int no_sandbox,
                         int from_c)
{
    size_t len;
    char *text = read_file (in, &len);
    if (no_sandbox) {
        /* the same code generation and bundling; the verifier decides */
        write_file (out, "\t.bundle_align_mode 5\n", text);
        free (text);
        return;
    }
    char *res, err[1024];
    sfi_rewrite_stats_t st;
    if (sfi_rewrite (text, len, &res, &st, err, sizeof err) < 0) {
        if (from_c)
            die ("rewrite: %s: cannot sandbox the assembly of this file, line %s", src, err);
        die ("rewrite: %s:%s", src, err);
    }
    if (verbose)
        fprintf (stderr,
                 "glsfi-cc: %s: %zu instructions, %zu memory operands sandboxed "
                 "(%zu reused r14), %zu rsp writes, %zu indirect branches, %zu returns, "
                 "%zu host calls\n",
                 src, st.insns, st.sandboxed, st.reused, st.rsp_writes, st.branches, st.returns,
                 st.host_calls);
    write_file (out, res, NULL);
    free (res);
    free (text);
}

/* gas pads bundles with one-byte nops, which cost a decode slot each
   where padding falls inside a loop.  Runs of them in the code sections
   of an object become long nops of the same total length (no branch
   target may lie inside a run: those runs are left alone).  Objects that
   do not parse or decode are left as they are; the verifier decides. */
static const unsigned char long_nops[10][10] = {
    { 0 },
    { 0x90 },
    { 0x66, 0x90 },
    { 0x0f, 0x1f, 0x00 },
    { 0x0f, 0x1f, 0x40, 0x00 },
    { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
    { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
    { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
    { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
    { 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

static void fill_nops (unsigned char *p, size_t n)
{
    while (n) {
        size_t k = n > 9 ? 9 : n;
        memcpy (p, long_nops[k], k);
        p += k;
        n -= k;
    }
}

static int in_file (size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* Widens nop runs in the code sections of the object at path; returns the
   number of one-byte nops removed. */
static size_t widen_nops (const char *path)
{
    size_t size;
    unsigned char *f = (unsigned char *) read_file (path, &size);
    Elf64_Ehdr *eh = (Elf64_Ehdr *) f;
    size_t saved = 0;
    if (size < sizeof *eh || memcmp (eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_REL || eh->e_machine != EM_X86_64 ||
        eh->e_shentsize != sizeof (Elf64_Shdr) ||
        !in_file (size, eh->e_shoff, (uint64_t) eh->e_shnum * sizeof (Elf64_Shdr))) {
        free (f);
        return 0;
    }
    Elf64_Shdr *sh = (Elf64_Shdr *) (f + eh->e_shoff);
    ZydisDecoder dec;
    ZydisDecoderInit (&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_PROGBITS || !(sh[i].sh_flags & SHF_EXECINSTR) ||
            !in_file (size, sh[i].sh_offset, sh[i].sh_size) || sh[i].sh_size == 0)
            continue;
        unsigned char *code = f + sh[i].sh_offset;
        size_t n = sh[i].sh_size;
        unsigned char *target = calloc (n + 16, 1); /* may be jumped to */
        unsigned char *start = calloc (n + 16, 1);  /* an instruction starts */
        if (!target || !start)
            die ("out of memory");
        /* symbols in this section, and relocations against them */
        for (unsigned j = 0; j < eh->e_shnum; j++) {
            if (sh[j].sh_type != SHT_SYMTAB || sh[j].sh_entsize != sizeof (Elf64_Sym) ||
                !in_file (size, sh[j].sh_offset, sh[j].sh_size))
                continue;
            Elf64_Sym *sym = (Elf64_Sym *) (f + sh[j].sh_offset);
            size_t nsym = sh[j].sh_size / sizeof *sym;
            for (size_t k = 0; k < nsym; k++)
                if (sym[k].st_shndx == i && sym[k].st_value < n)
                    target[sym[k].st_value] = 1;
            for (unsigned r = 0; r < eh->e_shnum; r++) {
                if (sh[r].sh_type != SHT_RELA || sh[r].sh_link != j ||
                    sh[r].sh_entsize != sizeof (Elf64_Rela) ||
                    !in_file (size, sh[r].sh_offset, sh[r].sh_size))
                    continue;
                Elf64_Rela *rel = (Elf64_Rela *) (f + sh[r].sh_offset);
                for (size_t k = 0; k < sh[r].sh_size / sizeof *rel; k++) {
                    size_t si = ELF64_R_SYM (rel[k].r_info);
                    if (si >= nsym || sym[si].st_shndx != i)
                        continue;
                    for (int64_t d = 0; d <= 4; d += 4) {
                        uint64_t t = sym[si].st_value + (uint64_t) rel[k].r_addend + (uint64_t) d;
                        if (t < n)
                            target[t] = 1;
                    }
                }
            }
        }
        /* decode: instruction starts and direct branch targets */
        int ok = 1;
        for (size_t off = 0; off < n;) {
            ZydisDecodedInstruction in;
            ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
            if (!ZYAN_SUCCESS (ZydisDecoderDecodeFull (&dec, code + off, n - off, &in, op))) {
                ok = 0;
                break;
            }
            start[off] = 1;
            for (unsigned k = 0; k < in.operand_count_visible; k++) {
                ZyanU64 t;
                if (op[k].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op[k].imm.is_relative &&
                    ZYAN_SUCCESS (ZydisCalcAbsoluteAddress (&in, &op[k], off, &t)) && t < n)
                    target[t] = 1;
            }
            off += in.length;
        }
        for (size_t off = 0; ok && off < n;) {
            size_t run = 0;
            while (off + run < n && start[off + run] && code[off + run] == 0x90 &&
                   (run == 0 || !target[off + run]))
                run++;
            if (run >= 2) {
                fill_nops (code + off, run);
                saved += run - (run + 8) / 9;
            }
            off += run ? run : 1;
        }
        free (target);
        free (start);
    }
    if (saved) {
        FILE *fp = fopen (path, "wb");
        if (!fp || fwrite (f, 1, size, fp) != size || fclose (fp) != 0)
            die ("%s: %s", path, strerror (errno));
    }
    free (f);
    return saved;
}

static const char *extension (const char *path)
{
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr (base, '.');
    return dot ? dot : "";
}

/* "dir/foo.c" -> "foo" + ext */
static char *output_name (const char *path, const char *ext)
{
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr (base, '.');
    size_t n = dot ? (size_t) (dot - base) : strlen (base);
    return xprintf ("%.*s%s", (int) n, base, ext);
}

static void usage (FILE *fp)
{
    fprintf (fp,
             "usage: glsfi-cc [-c | -S] [-o OUT] [--no-sandbox] [--home DIR] [-save-temps] [-v]\n"
             "                [GCC OPTIONS] FILE...\n"
             "  FILE           .c (compiled), .s (rewritten), .S (preprocessed, rewritten),\n"
             "                 .o and .a (linked: they must come from glsfi-cc)\n"
             "  -c, -S         stop after assembling, or after rewriting\n"
             "  -o OUT         the output file (default: a.out, or FILE.o / FILE.s)\n"
             "  --no-sandbox   compile the same way but do not rewrite (for testing the verifier)\n"
             "  --home DIR     find glsfi.ld, libglsfirt.a and include/glsfi.h in DIR\n"
             "  -save-temps    keep the temporary directory\n"
             "  -v             print the commands and what the rewriter did\n"
             "  -lNAME, -LDIR, -Wl,ARGS   passed to ld; other options go to gcc\n");
}

int main (int argc, char **argv)
{
    enum { LINK, OBJ, ASM } mode = LINK;
    const char *out = NULL, *home = getenv ("GLSFI_HOME");
    int no_sandbox = 0;
    atexit (release); /* runs after cleanup, registered later */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0) {
            usage (stdout);
            return 0;
        }
        else if (strcmp (a, "-c") == 0)
            mode = OBJ;
        else if (strcmp (a, "-S") == 0)
            mode = ASM;
        else if (strcmp (a, "-o") == 0 || strcmp (a, "--home") == 0) {
            if (i + 1 == argc) {
                fprintf (stderr, "glsfi-cc: %s needs an argument\n", a);
                usage (stderr);
                return 2;
            }
            if (a[1] == 'o')
                out = argv[++i];
            else
                home = argv[++i];
        }
        else if (strncmp (a, "-o", 2) == 0)
            out = a + 2;
        else if (strcmp (a, "--no-sandbox") == 0)
            no_sandbox = 1;
        else if (strcmp (a, "-save-temps") == 0 || strcmp (a, "--save-temps") == 0)
            keep_temps = 1;
        else if (strcmp (a, "-v") == 0)
            verbose = 1;
        else if (strncmp (a, "-l", 2) == 0 || strncmp (a, "-L", 2) == 0) {
            if (a[2] == '\0') {
                if (i + 1 == argc) {
                    fprintf (stderr, "glsfi-cc: %s needs an argument\n", a);
                    return 2;
                }
                args_add (&lflags, xprintf ("%s%s", a, argv[++i]));
            }
            else
                args_add (&lflags, a);
        }
        else if (strncmp (a, "-Wl,", 4) == 0) {
            char *list = xstrdup (a + 4), *save = NULL;
            for (char *w = strtok_r (list, ",", &save); w; w = strtok_r (NULL, ",", &save))
                args_add (&lflags, w);
        }
        else if (strcmp (a, "-shared") == 0 || strcmp (a, "-static") == 0 ||
                 strcmp (a, "-E") == 0 || strcmp (a, "-x") == 0) {
            fprintf (stderr, "glsfi-cc: %s is not supported\n", a);
            return 2;
        }
        else if (a[0] == '-' && a[1]) {
            args_add (&cflags, a);
            for (int k = 0; gcc_with_arg[k]; k++)
                if (strcmp (a, gcc_with_arg[k]) == 0 && i + 1 < argc) {
                    args_add (&cflags, argv[++i]);
                    break;
                }
        }
        else
            args_add (&inputs, a);
    }
    if (inputs.n == 0) {
        fprintf (stderr, "glsfi-cc: no input files\n");
        usage (stderr);
        return 2;
    }
    if (out && mode != LINK && inputs.n > 1) {
        fprintf (stderr, "glsfi-cc: -o with -c or -S takes one input file\n");
        return 2;
    }
    const char *libdir = home ? home : GLSFI_LIBDIR;
    char *incdir = home ? xprintf ("%s/include", home) : xstrdup (GLSFI_INCDIR);
    const char *gcc = getenv ("GLSFI_GCC");
    if (!gcc || !*gcc)
        gcc = "gcc";
    const char *clang = getenv ("GLSFI_CLANG");
    if (!clang || !*clang)
        clang = "clang";

    const char *t = getenv ("TMPDIR");
    snprintf (tmpdir, sizeof tmpdir, "%s/glsfi-cc.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp (tmpdir))
        die ("cannot make a temporary directory in %s: %s", t && *t ? t : "/tmp", strerror (errno));
    if (keep_temps)
        fprintf (stderr, "glsfi-cc: temporaries kept in %s\n", tmpdir);
    atexit (cleanup);
    signal (SIGINT, on_signal);
    signal (SIGTERM, on_signal);
    signal (SIGHUP, on_signal);

    for (size_t i = 0; i < inputs.n; i++) {
        const char *src = inputs.v[i];
        const char *ext = extension (src);
        int is_c = strcmp (ext, ".c") == 0, is_s = strcmp (ext, ".s") == 0;
        int is_S = strcmp (ext, ".S") == 0;
        if (!is_c && !is_s && !is_S) {
            if ((strcmp (ext, ".o") == 0 || strcmp (ext, ".a") == 0) && mode == LINK) {
                args_add (&objs, src);
                continue;
            }
            die ("%s: unknown kind of file (want .c, .s, .S%s)", src,
                 mode == LINK ? ", .o or .a" : "");
        }
        if (access (src, R_OK) != 0)
            die ("%s: %s", src, strerror (errno));
        char *stem = output_name (src, "");
        const char *asm_in = src;
        if (is_c || is_S) {
            char *s = temp_file (stem, ".s");
            args_t cmd = { 0 };
            args_add (&cmd, gcc);
            if (is_c) {
                args_add (&cmd, "-S");
                for (int k = 0; sfi_flags[k]; k++)
                    args_add (&cmd, sfi_flags[k]);
            }
            else {
                args_add (&cmd, "-E");
                args_add (&cmd, "-x");
                args_add (&cmd, "assembler-with-cpp");
                args_add (&cmd, "-D__GLSFI__=1");
            }
            args_add (&cmd, "-I");
            args_add (&cmd, incdir);
            for (size_t k = 0; k < cflags.n; k++)
                args_add (&cmd, cflags.v[k]);
            args_add (&cmd, "-o");
            args_add (&cmd, s);
            args_add (&cmd, src);
            run (is_c ? "gcc" : "preprocessing", src, cmd.v);
            free (cmd.v);
            asm_in = s;
        }
        char *rewritten = mode == ASM ? (out ? xstrdup (out) : output_name (src, ".s"))
                                      : temp_file (stem, ".sfi.s");
        sandbox_asm (src, asm_in, rewritten, no_sandbox, is_c);
        if (mode == ASM)
            continue;
        char *obj =
            mode == OBJ ? (out ? xstrdup (out) : output_name (src, ".o")) : temp_file (stem, ".o");
        /* clang's assembler: gas has no `.bundle_lock align_to_end`,
           which puts every call at the end of its bundle (SCHEME.md) */
        const char *as_cmd[] = { clang, "-c", "-x",      "assembler", "--target=x86_64-linux-gnu",
                                 "-o",  obj,  rewritten, NULL };
        run ("as", src, as_cmd);
        size_t nops = widen_nops (obj);
        if (verbose)
            fprintf (stderr, "glsfi-cc: %s: %zu one-byte nops merged into long nops\n", src, nops);
        args_add (&objs, obj);
    }
    if (mode != LINK)
        return 0;

    char *script = xprintf ("%s/glsfi.ld", libdir);
    char *runtime = xprintf ("%s/libglsfirt.a", libdir);
    if (access (script, R_OK) != 0)
        die ("link: %s: %s (set GLSFI_HOME or --home)", script, strerror (errno));
    if (access (runtime, R_OK) != 0)
        die ("link: %s: %s (set GLSFI_HOME or --home)", runtime, strerror (errno));
    args_t cmd = { 0 };
    args_add (&cmd, "ld");
    for (int k = 0; ld_flags[k]; k++)
        args_add (&cmd, ld_flags[k]);
    args_add (&cmd, "-T");
    args_add (&cmd, script);
    args_add (&cmd, "-o");
    args_add (&cmd, out ? out : "a.out");
    for (size_t k = 0; k < objs.n; k++)
        args_add (&cmd, objs.v[k]);
    for (size_t k = 0; k < lflags.n; k++)
        args_add (&cmd, lflags.v[k]);
    args_add (&cmd, runtime);
    run ("ld", out ? out : "a.out", cmd.v);
    free (cmd.v);
    return 0;
}
