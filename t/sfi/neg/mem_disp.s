# rule: not below 1 MiB
# a displacement of 1 MiB reaches past the 2 MiB guard with r14 near 4 GiB.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	0x100000(%r15,%r14,1), %eax
