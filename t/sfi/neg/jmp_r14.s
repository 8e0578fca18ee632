# rule: through rsp, r14 or r15
# r14 is the sandbox's scratch register, never a code pointer.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	*%r14
