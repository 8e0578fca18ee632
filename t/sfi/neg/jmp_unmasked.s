# rule: not preceded in its bundle
# an indirect jump without the mask and base.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	*%rax
