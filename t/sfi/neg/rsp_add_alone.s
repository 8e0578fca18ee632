# rule: addq %r15,%rsp without
# adding the base to a full rsp leaves the region.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	addq	%r15, %rsp
