# rule: inside a sandboxing sequence
# a direct jump to the ret of a return sequence returns to whatever is on the stack.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	1f
	.bundle_lock
	andl	$-32, %r11d
	addq	%r15, %r11
	pushq	%r11
1:	ret
	.bundle_unlock
