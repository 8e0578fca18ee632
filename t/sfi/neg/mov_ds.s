# rule: segment register
# segment registers belong to the host.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	%eax, %ds
