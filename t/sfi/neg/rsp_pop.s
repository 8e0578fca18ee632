# rule: writes rsp
# pop %rsp loads rsp from memory.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	popq	%rsp
