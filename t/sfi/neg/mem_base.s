# rule: memory operand must be
# an access through an unsandboxed register.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	(%rax), %eax
