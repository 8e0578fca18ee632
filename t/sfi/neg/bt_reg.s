# rule: bit offset in a register
# btsq %rax,(%r15): the operand is in the sandboxed form, but the bit
# offset in rax selects the quadword at r15 + 8 * (rax >> 6), anywhere in
# +-2^60 bytes.  Found by t/fuzz/fuzz_sfi_escape.c.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	btsq	%rax, (%r15)
	int3
