/*  elf.c -- parse a sandbox module file (see elf.h and sfi/SCHEME.md).

    The file is read field by field at explicit little-endian offsets, so
    nothing depends on the host's <elf.h>, alignment or byte order, and
    every offset is range-checked against the file before it is used.
    Sizes from the file are 64-bit and untrusted: all sums go through
    span_ok, which cannot overflow. */
#include "elf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The ELF64 constants and field offsets used here (System V gABI). */
enum {
    EHDR_SIZE = 64,
    PHDR_SIZE = 56,
    SHDR_SIZE = 64,
    SYM_SIZE = 24,
    RELA_SIZE = 24,
    DYN_SIZE = 16,
    ET_DYN = 3,
    EM_X86_64 = 62,
    PT_LOAD = 1,
    PT_DYNAMIC = 2,
    PT_INTERP = 3,
    PT_TLS = 7,
    PF_X = 1,
    PF_W = 2,
    PF_R = 4,
    SHT_SYMTAB = 2,
    SHT_STRTAB = 3,
    STB_GLOBAL = 1,
    STT_FUNC = 2,
    SHN_UNDEF = 0,
    R_X86_64_RELATIVE = 8
};
enum {
    DT_NULL = 0,
    DT_NEEDED = 1,
    DT_PLTRELSZ = 2,
    DT_RELA = 7,
    DT_RELASZ = 8,
    DT_RELAENT = 9,
    DT_REL = 17,
    DT_RELSZ = 18,
    DT_TEXTREL = 22,
    DT_JMPREL = 23,
    DT_RELRSZ = 35,
    DT_RELR = 36
};

#define IMAGE_FILE_MAX (1ULL << 30)

static uint16_t rd16 (const uint8_t *p)
{
    return (uint16_t) (p[0] | p[1] << 8);
}
static uint32_t rd32 (const uint8_t *p)
{
    return rd16 (p) | (uint32_t) rd16 (p + 2) << 16;
}
static uint64_t rd64 (const uint8_t *p)
{
    return rd32 (p) | (uint64_t) rd32 (p + 4) << 32;
}

/* Does [off, off + size) lie inside [0, limit)? */
static int span_ok (uint64_t off, uint64_t size, uint64_t limit)
{
    return off <= limit && size <= limit - off;
}

static uint64_t page_down (uint64_t x)
{
    return x & ~(SFI_PAGE - 1);
}
static uint64_t page_up (uint64_t x)
{
    return (x + SFI_PAGE - 1) & ~(SFI_PAGE - 1);
}

/* The file offset of the len bytes at vaddr, if a segment holds them in
   its file-backed part; else -1. */
static int64_t file_offset (const sfi_image_t *img, uint64_t vaddr, uint64_t len)
{
    for (int i = 0; i < img->nseg; i++) {
        const sfi_seg_t *s = &img->seg[i];
        if (vaddr >= s->vaddr && span_ok (vaddr - s->vaddr, len, s->filesz))
            return (int64_t) (s->offset + (vaddr - s->vaddr));
    }
    return -1;
}

static const sfi_seg_t *segment_at (const sfi_image_t *img, uint64_t vaddr, uint64_t len)
{
    for (int i = 0; i < img->nseg; i++) {
        const sfi_seg_t *s = &img->seg[i];
        if (vaddr >= s->vaddr && span_ok (vaddr - s->vaddr, len, s->memsz))
            return s;
    }
    return NULL;
}

/* One PT_LOAD program header, number i. */
static int check_load (sfi_image_t *img, int i, const uint8_t *ph, char *err, size_t errlen)
{
    uint32_t flags = rd32 (ph + 4);
    sfi_seg_t s = { .offset = rd64 (ph + 8),
                    .vaddr = rd64 (ph + 16),
                    .filesz = rd64 (ph + 32),
                    .memsz = rd64 (ph + 40) };
    s.prot = (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
             (flags & PF_X ? PROT_EXEC : 0);
    if (s.memsz == 0 && !(flags & PF_X))
        return 0; /* maps nothing */
    if ((flags & PF_W) && (flags & PF_X))
        return gl_err (err, errlen, "segment %d: writable and executable", i);
    if (!(flags & PF_R))
        return gl_err (err, errlen, "segment %d: not readable", i);
    if (s.filesz > s.memsz)
        return gl_err (err, errlen, "segment %d: file size 0x%llx above memory size 0x%llx", i,
                       (unsigned long long) s.filesz, (unsigned long long) s.memsz);
    if (!span_ok (s.offset, s.filesz, img->file_size))
        return gl_err (err, errlen,
                       "segment %d: file range 0x%llx+0x%llx beyond the end of the file", i,
                       (unsigned long long) s.offset, (unsigned long long) s.filesz);
    if (s.vaddr < SFI_IMAGE_OFF || !span_ok (s.vaddr, s.memsz, SFI_REGION_SIZE))
        return gl_err (err, errlen, "segment %d: addresses 0x%llx+0x%llx outside [0x%llx, 0x%llx)",
                       i, (unsigned long long) s.vaddr, (unsigned long long) s.memsz, SFI_IMAGE_OFF,
                       SFI_REGION_SIZE);
    if (s.vaddr % SFI_PAGE != s.offset % SFI_PAGE)
        return gl_err (err, errlen,
                       "segment %d: address and file offset differ modulo the page size", i);
    if (flags & PF_X) {
        if (img->code >= 0)
            return gl_err (err, errlen, "segment %d: a second executable segment", i);
        if (s.vaddr % SFI_PAGE || s.offset % SFI_PAGE)
            return gl_err (err, errlen, "segment %d: executable segment not page aligned", i);
        if (s.filesz != s.memsz)
            return gl_err (err, errlen, "segment %d: executable segment has a zero-filled tail", i);
        if (s.memsz == 0 || s.memsz % SFI_BUNDLE)
            return gl_err (
                err, errlen,
                "segment %d: executable segment length 0x%llx not a positive multiple of %d", i,
                (unsigned long long) s.memsz, SFI_BUNDLE);
    }
    if (img->nseg == SFI_SEGS_MAX)
        return gl_err (err, errlen, "segment %d: more than %d loadable segments", i, SFI_SEGS_MAX);
    /* Ascending order (as the gABI requires) makes the overlap check one
       comparison.  Pages, not bytes: the loader maps pages, and one page
       cannot carry two protections. */
    if (img->nseg > 0) {
        const sfi_seg_t *p = &img->seg[img->nseg - 1];
        if (page_down (s.vaddr) < page_up (p->vaddr + p->memsz))
            return gl_err (err, errlen,
                           "segment %d: overlaps the previous segment or shares a page with it", i);
    }
    if (flags & PF_X)
        img->code = img->nseg;
    img->seg[img->nseg++] = s;
    uint64_t end = page_up (s.vaddr + s.memsz);
    if (end > img->image_end)
        img->image_end = end;
    return 0;
}

/* Relocations: PT_DYNAMIC's DT_RELA table, R_X86_64_RELATIVE only, each
   patching 8 bytes of a writable segment. */
static int read_relocs (sfi_image_t *img, const uint8_t *ph, char *err, size_t errlen)
{
    uint64_t off = rd64 (ph + 8), size = rd64 (ph + 32);
    if (!span_ok (off, size, img->file_size))
        return gl_err (err, errlen, "dynamic section beyond the end of the file");
    uint64_t rela = 0, relasz = 0, relaent = RELA_SIZE;
    int have_rela = 0;
    for (uint64_t d = 0; d + DYN_SIZE <= size; d += DYN_SIZE) {
        const uint8_t *p = img->file + off + d;
        uint64_t tag = rd64 (p), val = rd64 (p + 8);
        if (tag == DT_NULL)
            break;
        switch (tag) {
            case DT_RELA:
                rela = val;
                have_rela = 1;
                break;
            case DT_RELASZ: relasz = val; break;
            case DT_RELAENT: relaent = val; break;
            case DT_NEEDED: return gl_err (err, errlen, "needs a shared library (DT_NEEDED)");
            case DT_TEXTREL: return gl_err (err, errlen, "has text relocations (DT_TEXTREL)");
            case DT_REL:
            case DT_RELSZ:
            case DT_JMPREL:
            case DT_PLTRELSZ:
            case DT_RELR:
            case DT_RELRSZ:
                if (val)
                    return gl_err (err, errlen,
                                   "has relocations other than DT_RELA (dynamic tag %llu)",
                                   (unsigned long long) tag);
                break;
            default: break;
        }
    }
    if (!have_rela || relasz == 0)
        return 0;
    if (relaent != RELA_SIZE || relasz % RELA_SIZE)
        return gl_err (err, errlen, "bad relocation table size 0x%llx (entry 0x%llx)",
                       (unsigned long long) relasz, (unsigned long long) relaent);
    int64_t at = file_offset (img, rela, relasz);
    if (at < 0)
        return gl_err (err, errlen, "relocation table 0x%llx+0x%llx not inside a segment",
                       (unsigned long long) rela, (unsigned long long) relasz);
    img->nrelocs = relasz / RELA_SIZE;
    img->relocs = calloc (img->nrelocs, sizeof *img->relocs);
    if (!img->relocs)
        return gl_err (err, errlen, "out of memory");
    for (size_t i = 0; i < img->nrelocs; i++) {
        const uint8_t *r = img->file + at + i * RELA_SIZE;
        uint64_t where = rd64 (r), info = rd64 (r + 8), addend = rd64 (r + 16);
        if (info != R_X86_64_RELATIVE)
            return gl_err (
                err, errlen,
                "relocation %zu: type %llu symbol %llu, only R_X86_64_RELATIVE is allowed", i,
                (unsigned long long) (info & 0xffffffff), (unsigned long long) (info >> 32));
        const sfi_seg_t *s = segment_at (img, where, 8);
        if (!s || !(s->prot & PROT_WRITE))
            return gl_err (err, errlen,
                           "relocation %zu: target 0x%llx not inside a writable segment", i,
                           (unsigned long long) where);
        if (addend >= SFI_REGION_SIZE)
            return gl_err (err, errlen, "relocation %zu: addend 0x%llx outside the region", i,
                           (unsigned long long) addend);
        img->relocs[i] = (sfi_reloc_t){ .off = where, .addend = addend };
    }
    return 0;
}

/* Exports: GLOBAL FUNC symbols of .symtab, 32-aligned inside the code. */
static int read_symbols (sfi_image_t *img, const uint8_t *eh, char *err, size_t errlen)
{
    uint64_t shoff = rd64 (eh + 40);
    uint16_t shentsize = rd16 (eh + 58), shnum = rd16 (eh + 60);
    if (shoff == 0 || shnum == 0)
        return 0; /* no sections: nothing exported */
    if (shentsize != SHDR_SIZE || !span_ok (shoff, (uint64_t) shnum * SHDR_SIZE, img->file_size))
        return gl_err (err, errlen, "section header table beyond the end of the file");
    const uint8_t *sh = NULL;
    for (uint16_t i = 0; i < shnum && !sh; i++)
        if (rd32 (img->file + shoff + (uint64_t) i * SHDR_SIZE + 4) == SHT_SYMTAB)
            sh = img->file + shoff + (uint64_t) i * SHDR_SIZE;
    if (!sh)
        return 0;
    uint64_t symoff = rd64 (sh + 24), symsize = rd64 (sh + 32);
    uint32_t link = rd32 (sh + 40);
    if (!span_ok (symoff, symsize, img->file_size) || symsize % SYM_SIZE)
        return gl_err (err, errlen, "symbol table beyond the end of the file or of a bad size");
    if (link >= shnum)
        return gl_err (err, errlen, "symbol table links to section %u of %u", link, shnum);
    const uint8_t *st = img->file + shoff + (uint64_t) link * SHDR_SIZE;
    uint64_t stroff = rd64 (st + 24), strsize = rd64 (st + 32);
    if (rd32 (st + 4) != SHT_STRTAB || !span_ok (stroff, strsize, img->file_size))
        return gl_err (err, errlen,
                       "symbol names: section %u is not a string table inside the file", link);
    const char *strtab = (const char *) img->file + stroff;
    const sfi_seg_t *code = &img->seg[img->code];

    size_t n = symsize / SYM_SIZE;
    img->syms = calloc (n ? n : 1, sizeof *img->syms);
    if (!img->syms)
        return gl_err (err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = img->file + symoff + i * SYM_SIZE;
        uint32_t name = rd32 (s);
        uint8_t info = s[4];
        uint64_t value = rd64 (s + 8);
        if (info >> 4 != STB_GLOBAL || (info & 0xf) != STT_FUNC || rd16 (s + 6) == SHN_UNDEF)
            continue;
        if (value % SFI_BUNDLE || value < code->vaddr || value - code->vaddr >= code->memsz)
            continue;
        if (name >= strsize || !memchr (strtab + name, 0, strsize - name))
            return gl_err (err, errlen, "symbol %zu: name outside the string table", i);
        if (!strtab[name])
            continue;
        img->syms[img->nsyms].name = strdup (strtab + name);
        if (!img->syms[img->nsyms].name)
            return gl_err (err, errlen, "out of memory");
        img->syms[img->nsyms++].off = value;
    }
    return 0;
}

/* Parse the file in img->file, which img owns.  0, or -1 with the
   message in err. */
static int parse (sfi_image_t *img, char *err, size_t errlen)
{
    const uint8_t *f = img->file;
    size_t len = img->file_size;

    if (len < EHDR_SIZE || memcmp (f, "\177ELF", 4))
        return gl_err (err, errlen, "not an ELF file");
    if (f[4] != 2 || f[5] != 1 || f[6] != 1)
        return gl_err (err, errlen, "not a 64-bit little-endian ELF version 1 file");
    if (rd16 (f + 18) != EM_X86_64)
        return gl_err (err, errlen, "not an x86-64 file (machine %u)", rd16 (f + 18));
    if (rd16 (f + 16) != ET_DYN)
        return gl_err (err, errlen,
                       "not a position-independent executable (ELF type %u, want ET_DYN)",
                       rd16 (f + 16));
    uint64_t phoff = rd64 (f + 32);
    uint16_t phentsize = rd16 (f + 54), phnum = rd16 (f + 56);
    if (phentsize != PHDR_SIZE || !span_ok (phoff, (uint64_t) phnum * PHDR_SIZE, len))
        return gl_err (err, errlen, "program header table beyond the end of the file");

    const uint8_t *dynamic = NULL;
    for (int i = 0; i < phnum; i++) {
        const uint8_t *ph = f + phoff + (uint64_t) i * PHDR_SIZE;
        switch (rd32 (ph)) {
            case PT_LOAD:
                if (check_load (img, i, ph, err, errlen) < 0)
                    return -1;
                break;
            case PT_DYNAMIC: dynamic = ph; break;
            case PT_INTERP:
                return gl_err (err, errlen, "segment %d: asks for a program interpreter", i);
            case PT_TLS:
                return gl_err (err, errlen, "segment %d: thread-local storage is not supported", i);
            default: break;
        }
    }
    if (img->code < 0)
        return gl_err (err, errlen, "no executable segment");
    if (dynamic && read_relocs (img, dynamic, err, errlen) < 0)
        return -1;
    return read_symbols (img, f, err, errlen);
}

/* An image that owns file (len bytes), parsed; NULL with the message in
   err, file freed either way when it fails. */
static sfi_image_t *image_parse (uint8_t *file, size_t len, char *err, size_t errlen)
{
    sfi_image_t *img = file ? calloc (1, sizeof *img) : NULL;
    if (!img) {
        free (file);
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    img->file = file;
    img->file_size = len;
    img->code = -1;
    if (parse (img, err, errlen) < 0)
        sfi_image_destroy (&img);
    return img;
}

sfi_image_t *sfi_image_parse (const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (len > IMAGE_FILE_MAX) {
        gl_err (err, errlen, "file too large (%zu bytes)", len);
        return NULL;
    }
    uint8_t *copy = malloc (len ? len : 1);
    if (copy && len)
        memcpy (copy, buf, len);
    return image_parse (copy, len, err, errlen);
}

/* Reads all of fd into a new buffer of *len bytes; NULL with the message
   in err. */
static uint8_t *read_all (int fd, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    if (fstat (fd, &st) < 0) {
        gl_err (err, errlen, "%s", strerror (errno));
        return NULL;
    }
    if (!S_ISREG (st.st_mode)) {
        gl_err (err, errlen, "not a regular file");
        return NULL;
    }
    if ((uint64_t) st.st_size > IMAGE_FILE_MAX) {
        gl_err (err, errlen, "file too large");
        return NULL;
    }
    size_t n = (size_t) st.st_size;
    uint8_t *buf = malloc (n ? n : 1);
    if (!buf) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    for (size_t got = 0; got < n;) {
        ssize_t r = read (fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            gl_err (err, errlen, "%s", r < 0 ? strerror (errno) : "file shrank while being read");
            free (buf);
            return NULL;
        }
        got += (size_t) r;
    }
    *len = n;
    return buf;
}

sfi_image_t *sfi_image_load (const char *path, char *err, size_t errlen)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        gl_err (err, errlen, "%s", strerror (errno));
        return NULL;
    }
    size_t len = 0;
    uint8_t *file = read_all (fd, &len, err, errlen);
    close (fd);
    return file ? image_parse (file, len, err, errlen) : NULL;
}

void sfi_image_destroy (sfi_image_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sfi_image_t *self = *self_p;
    for (size_t i = 0; i < self->nsyms; i++)
        free (self->syms[i].name);
    free (self->syms);
    free (self->relocs);
    free (self->file);
    free (self);
    *self_p = NULL;
}

int64_t sfi_image_symbol (const sfi_image_t *self, const char *name)
{
    for (size_t i = 0; self && i < self->nsyms; i++)
        if (!strcmp (self->syms[i].name, name))
            return (int64_t) self->syms[i].off;
    return -1;
}
