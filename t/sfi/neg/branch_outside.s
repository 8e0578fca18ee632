# rule: outside the code
# a call into data.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	call	data
	.data
data:	.quad 0
