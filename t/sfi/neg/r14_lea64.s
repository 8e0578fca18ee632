# rule: writes r14 with a 64-bit operand
# r14 must stay below 2^32: a 64-bit lea into it could make it anything.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	leaq	8(%rax,%rbx,4), %r14
