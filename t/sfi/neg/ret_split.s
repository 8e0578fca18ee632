# rule: ret not preceded in its bundle
# the mask ends one bundle, push and ret begin the next: a masked jump to that bundle returns unmasked.
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.fill	25, 1, 0x90
	andl	$-32, %r11d
	addq	%r15, %r11
	pushq	%r11
	ret
