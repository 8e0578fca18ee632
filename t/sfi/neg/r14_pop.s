# rule: writes r14 with a 64-bit operand
# pop writes all 64 bits of r14.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	pushq	%rax
	popq	%r14
