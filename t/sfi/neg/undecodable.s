# rule: do not decode
# push %es is not an instruction in 64-bit mode.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.byte	0x06
