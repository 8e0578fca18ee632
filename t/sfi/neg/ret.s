# rule: ret not preceded in its bundle
# a bare ret jumps to an unmasked address from the stack.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	ret
