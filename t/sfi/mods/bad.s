# bad.s -- looks like a module, but makes a system call: the verifier must
# refuse it, and the loader must refuse to load it.
	.bundle_align_mode 5
	.text
	.globl	escape
	.type	escape, @function
	.p2align 5
escape:
	movl	$60, %eax
	syscall
	.bundle_lock
	popq	%r11
	addl	$31, %r11d
	andl	$-32, %r11d
	addq	%r15, %r11
	jmp	*%r11
	.bundle_unlock
