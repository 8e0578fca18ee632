# rule: ret not preceded in its bundle
# pushes r11 as popped, unmasked: the ret would go where the stack says.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	popq	%r11
	.bundle_lock
	addq	%r15, %r11
	pushq	%r11
	ret
	.bundle_unlock
