# rule: inside a sandboxing sequence
# a direct jump to the addq of a masked jump skips the mask.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	1f
	.bundle_lock
	andl	$-32, %eax
1:	addq	%r15, %rax
	jmp	*%rax
	.bundle_unlock
