# rule: not in the allowlist
# xsave and xrstor touch state the host owns.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	xsave	(%r15)
