# rule: not in the allowlist
# the fs base belongs to the host's thread.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	wrfsbase	%rax
