# rule: segment override
# fs points at the host's thread block.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	%fs:8(%r15), %eax
