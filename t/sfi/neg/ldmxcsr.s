# rule: floating-point control state
# MXCSR is host state too (rounding, exception masks).
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	ldmxcsr	(%r15)
