# rule: memory-indirect branch
# the table has 512 slots: 0x11000 is past it.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	call	*0x11000(%r15)
