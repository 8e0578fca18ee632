# rule: writes rsp
# subq on rsp is a 64-bit write: it must be subl on esp then addq %r15,%rsp.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	subq	$16, %rsp
