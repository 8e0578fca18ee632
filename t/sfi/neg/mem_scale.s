# rule: memory operand must be
# the index r14 must have scale 1: 4*r14 reaches past the region.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	8(%r15,%r14,4), %eax
