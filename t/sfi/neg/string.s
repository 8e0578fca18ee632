# rule: string instructions
# stos writes at rdi, which nothing sandboxes.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	rep stosb
