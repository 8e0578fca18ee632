# rule: pushf/popf
# popf could set the direction and trap flags.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	pushfq
