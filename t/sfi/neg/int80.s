# rule: software interrupts
# int $0x80 is the 32-bit system call.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	int	$0x80
