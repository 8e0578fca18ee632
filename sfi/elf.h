/*  elf.h -- a sandbox module file, parsed once for verifier and loader.

    sfi_image_parse checks a module ELF against the "Module file" section of
    sfi/SCHEME.md and returns its segments, relocations and exported
    functions; the verifier and the loader both work from this one reading
    of the file, so they cannot disagree about what the module is.  Every
    offset and size in the file is checked (for overflow, too) before it is
    used; an error message names what is wrong, e.g. "segment 2: writable
    and executable".  Messages do not name the file: callers add it.

    Offsets and addresses in an image are offsets from the region base
    (the ELF p_vaddr / st_value / r_offset), never host pointers.

    (The name shadows the system <elf.h> for code built with -Isfi; the
    parser reads the ELF fields itself and needs no system header.)
*/
#ifndef SFI_ELF_H
#define SFI_ELF_H

#include <stddef.h>
#include <stdint.h>

/* The region layout of SCHEME.md, for everyone who includes this file. */
#define SFI_REGION_SIZE 0x100000000ULL /* 4 GiB, aligned to 4 GiB */
#define SFI_GUARD       0x200000ULL    /* PROT_NONE below and above */
#define SFI_TABLE_OFF   0x10000ULL     /* host-call table */
#define SFI_TABLE_SLOTS 512
#define SFI_INFO_OFF    0x11800ULL /* struct sfi_info (read-only page) */
#define SFI_IMAGE_OFF   0x20000ULL /* where the module is linked */
#define SFI_DISP_MAX    0x100000LL /* |disp| of a memory operand */
#define SFI_BUNDLE      32
#define SFI_PAGE        4096ULL
#define SFI_SEGS_MAX    8

typedef struct {
    uint64_t vaddr, memsz, filesz, offset;
    int prot;
} sfi_seg_t;
typedef struct {
    char *name;
    uint64_t off;
} sfi_sym_t;
typedef struct {
    uint64_t off, addend;
} sfi_reloc_t; /* *(base+off) = base+addend */

typedef struct sfi_image {
    uint8_t *file;
    size_t file_size; /* private copy of the file */
    sfi_seg_t seg[SFI_SEGS_MAX];
    int nseg;           /* PT_LOAD segments, by vaddr */
    int code;           /* index of the R X segment */
    uint64_t image_end; /* page-rounded end of the highest segment */
    sfi_reloc_t *relocs;
    size_t nrelocs;
    sfi_sym_t *syms;
    size_t nsyms; /* exported functions */
} sfi_image_t;

/* Parse len bytes of ELF; NULL with a message in err when the file is not a
   well-formed module.  Checks segments against [SFI_IMAGE_OFF, 4 GiB); the
   loader checks that heap, scratch and stack fit above image_end. */
sfi_image_t *sfi_image_parse (const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Read and parse a file (at most 1 GiB). */
sfi_image_t *sfi_image_load (const char *path, char *err, size_t errlen);

void sfi_image_destroy (sfi_image_t **self_p);

/* Offset of the exported function called name, or -1. */
int64_t sfi_image_symbol (const sfi_image_t *self, const char *name);

#endif
