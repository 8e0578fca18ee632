# rule: writes r14 with a 64-bit operand
# xchg writes both operands: here all of r14.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	xchgq	%rax, %r14
