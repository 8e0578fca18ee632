/*  verify.h -- the trusted verifier of the glsfi sandbox.

    The verifier decides whether a module's machine code keeps every rule
    of sfi/SCHEME.md: 32-byte bundles that every byte of decodes, an
    allowlist of instructions, the reserved registers (r15 never written,
    r14 never written at 64-bit width, rsp written only in the sanctioned
    ways), the allowed memory operand forms and the control-flow rules.
    If it says "safe", the loader may run the code in a region.

    Both functions return 0 when the code is safe and 1 when it is not;
    then *v holds the first violation: the offset from the region base
    (the vaddr), the instruction in AT&T syntax and the rule broken.
    Per-instruction rules are checked in address order first, then the
    targets of direct branches.  v->insns counts the instructions checked
    (all of them when the code is safe). */
#ifndef SFI_VERIFY_H
#define SFI_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "elf.h"

typedef struct {
    uint64_t off;   /* offset from base (vaddr) of the instruction */
    char insn[96];  /* the instruction, or its bytes if it does not decode */
    char rule[160]; /* the rule broken, a short sentence */
    uint64_t insns; /* instructions checked */
} sfi_verdict_t;

/* Verify an image's executable segment; rip-relative operands must point
   into [lowest segment, image_end). */
int sfi_verify_image (const sfi_image_t *img, sfi_verdict_t *v);

/* Verify len bytes of code that will run at vaddr (both multiples of 32);
   rip-relative operands must point into [image_lo, image_hi). */
int sfi_verify_code (const uint8_t *code, size_t len, uint64_t vaddr, uint64_t image_lo,
                     uint64_t image_hi, sfi_verdict_t *v);

#endif
