# rule: writes reserved register r15
# r15 holds the region base: no width of it may be written.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	%eax, %r15d
