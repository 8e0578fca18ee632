# rule: std/cld
# the host's ABI expects the direction flag clear.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	std
