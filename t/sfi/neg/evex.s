# rule: EVEX encoding
# AVX-512 is not in the allowlist.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	vaddps	%zmm0, %zmm1, %zmm2
