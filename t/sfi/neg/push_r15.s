# rule: push of rsp or r15
# the scheme keeps r15 out of push.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	pushq	%r15
