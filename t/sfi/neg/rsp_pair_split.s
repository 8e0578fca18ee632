# rule: not followed by addq %r15,%rsp in the same bundle
# the add begins the next bundle, where an indirect jump may land with a full rsp and add the base twice.
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	.fill	29, 1, 0x90
	subl	$16, %esp
	addq	%r15, %rsp
