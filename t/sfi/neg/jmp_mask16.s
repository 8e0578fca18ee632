# rule: not preceded in its bundle
# masking with -16 lets the jump land in the middle of a bundle.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.bundle_lock
	andl	$-16, %eax
	addq	%r15, %rax
	jmp	*%rax
	.bundle_unlock
