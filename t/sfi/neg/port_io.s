# rule: port I/O
# no device access.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	inb	$0x80, %al
