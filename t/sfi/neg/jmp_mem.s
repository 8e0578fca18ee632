# rule: memory-indirect branch
# only call may read its target from the table.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	*0x10008(%r15)
