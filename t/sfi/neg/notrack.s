# rule: notrack prefix
# notrack indirect branches.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.bundle_lock
	andl	$-32, %eax
	addq	%r15, %rax
	notrack jmp	*%rax
	.bundle_unlock
