# rule: far branches
# a far jump loads cs.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	ljmp	*(%r15)
