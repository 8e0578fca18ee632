# rule: 32-bit address size
# with a 0x67 prefix the address wraps to the low 4 GiB of the host.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	8(%r15d,%r14d,1), %eax
