/*  fuzz_sfi_verify.c -- libFuzzer target for the module parser and verifier.

    Every input is parsed as a module file and, when it parses, verified;
    the same bytes are also verified as raw code.  Neither may crash, leak
    or read out of bounds, whatever the bytes.  What the parser accepts
    must keep the promises of sfi/elf.h (segments inside the file and the
    region, one R X segment of whole bundles, relocations into writable
    memory, exports inside the code), and a verdict must point into the
    code it was given.  Any failure aborts.  Run it with t/fuzz/run.sh. */
#include "elf.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MUST(cond)                                                           \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf (stderr, "fuzz_sfi_verify.c:%d: %s\n", __LINE__, #cond); \
            abort ();                                                        \
        }                                                                    \
    } while (0)

static void image_sane (const sfi_image_t *img)
{
    MUST (img->nseg >= 1 && img->nseg <= SFI_SEGS_MAX);
    MUST (img->code >= 0 && img->code < img->nseg);
    for (int i = 0; i < img->nseg; i++) {
        const sfi_seg_t *s = &img->seg[i];
        MUST (s->filesz <= s->memsz && s->offset <= img->file_size &&
              s->filesz <= img->file_size - s->offset);
        MUST (s->vaddr >= SFI_IMAGE_OFF && s->memsz <= SFI_REGION_SIZE - s->vaddr);
        MUST (s->vaddr + s->memsz <= img->image_end && img->image_end <= SFI_REGION_SIZE);
        MUST (!((s->prot & PROT_WRITE) && (s->prot & PROT_EXEC)));
        if (i > 0)
            MUST (s->vaddr >= img->seg[i - 1].vaddr + img->seg[i - 1].memsz);
    }
    const sfi_seg_t *code = &img->seg[img->code];
    MUST (code->prot == (PROT_READ | PROT_EXEC) && code->memsz % 32 == 0 &&
          code->memsz == code->filesz);
    for (size_t i = 0; i < img->nrelocs; i++) {
        const sfi_reloc_t *r = &img->relocs[i];
        int in = 0;
        for (int k = 0; k < img->nseg; k++) {
            const sfi_seg_t *s = &img->seg[k];
            in |= (s->prot & PROT_WRITE) && r->off >= s->vaddr && r->off + 8 <= s->vaddr + s->memsz;
        }
        MUST (in && r->addend < SFI_REGION_SIZE);
    }
    for (size_t i = 0; i < img->nsyms; i++) {
        const sfi_sym_t *s = &img->syms[i];
        MUST (s->name && s->name[0] && s->off % 32 == 0);
        MUST (s->off >= code->vaddr && s->off < code->vaddr + code->memsz);
        MUST (sfi_image_symbol (img, s->name) >= 0);
    }
}

static void verdict_sane (int rc, const sfi_verdict_t *v, uint64_t vaddr, size_t len)
{
    MUST (rc == 0 || rc == 1);
    MUST (v->insns <= len);
    if (rc) {
        MUST (v->rule[0] && memchr (v->rule, 0, sizeof v->rule));
        MUST (memchr (v->insn, 0, sizeof v->insn));
        MUST (v->off >= vaddr && (v->off - vaddr < len || len == 0));
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[256] = "";
    sfi_verdict_t v;
    sfi_image_t *img = sfi_image_parse (data, size, err, sizeof err);
    if (img) {
        image_sane (img);
        const sfi_seg_t *code = &img->seg[img->code];
        verdict_sane (sfi_verify_image (img, &v), &v, code->vaddr, code->memsz);
        sfi_image_destroy (&img);
        MUST (img == NULL);
    }
    else
        MUST (err[0] != 0);

    /* the bytes as code, in whole bundles; the image is the code itself */
    size_t len = size & ~(size_t) 31;
    verdict_sane (
        sfi_verify_code (data, len, SFI_IMAGE_OFF, SFI_IMAGE_OFF, SFI_IMAGE_OFF + len, &v), &v,
        SFI_IMAGE_OFF, len);
    return 0;
}
