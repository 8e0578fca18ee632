# rule: crosses a 32-byte bundle
# an instruction across a bundle boundary hides a second instruction stream.
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.fill	30, 1, 0x90
	movl	$1, %eax
