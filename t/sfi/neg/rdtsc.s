# rule: time stamp counter
# modules stay deterministic.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	rdtsc
