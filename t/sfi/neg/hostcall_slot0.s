# rule: memory-indirect branch
# slot 0 of the host-call table is the gate exit, not a host function.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	call	*0x10000(%r15)
