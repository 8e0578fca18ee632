# rule: not preceded in its bundle
# the mask is in one bundle and the jump in the next: a jump to the second bundle skips the mask.
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.fill	29, 1, 0x90
	andl	$-32, %eax
	addq	%r15, %rax
	jmp	*%rax
