# rule: system calls
# a module talks to the host through host calls only.
	.bundle_align_mode 5
	.text
	.globl	f
	.type	f, @function
	.p2align 5
f:
	syscall
