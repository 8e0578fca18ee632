# rule: cpuid is not allowed
# modules stay deterministic.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	cpuid
