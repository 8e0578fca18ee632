# rule: not an instruction start
# a jump into the immediate of a mov, which decodes as something else.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	1f+1
1:	movl	$0x050f, %eax
