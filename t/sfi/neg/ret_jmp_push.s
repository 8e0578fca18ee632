# rule: inside a sandboxing sequence
# a direct jump to the pushq of a return skips the mask: it would push and return to an unmasked r11.
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
1:	pushq	%r11
	ret
	.bundle_unlock
