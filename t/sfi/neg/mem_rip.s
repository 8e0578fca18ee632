# rule: outside the image
# a rip-relative operand below the image (into the host-call table).
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	movl	-0x10000(%rip), %eax
