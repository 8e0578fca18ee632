# rule: inside a sandboxing sequence
# a direct jump to the addq of the rsp pair adds the base twice.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	jmp	1f
	.bundle_lock
	subl	$16, %esp
1:	addq	%r15, %rsp
	.bundle_unlock
