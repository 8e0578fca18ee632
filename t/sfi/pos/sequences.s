# Every sandboxing sequence of sfi/SCHEME.md, as the rewriter emits them:
# the masked return, the rsp pair, the masked indirect call, the host
# call, the three memory operand forms, and data with a relocation.
	.bundle_align_mode 5
	.text

	.globl	callee
	.type	callee, @function
	.p2align 5
callee:					# long callee(long x) { return x + 1; }
	leaq	1(%rdi), %rax
	popq	%r11
	addl	$31, %r11d
	.bundle_lock
	andl	$-32, %r11d
	addq	%r15, %r11
	jmp	*%r11
	.bundle_unlock

	.globl	frame
	.type	frame, @function
	.p2align 5
frame:					# long frame(long *p, long x)
	pushq	%rbp
	movq	%rsp, %rbp
	.bundle_lock
	subl	$32, %esp		# subq $32,%rsp
	addq	%r15, %rsp
	.bundle_unlock
	movq	%rsi, 8(%rsp)		# stack slot
	leal	-8(%rbp), %r14d		# -8(%rbp) through r14
	movq	%rdi, (%r15,%r14,1)
	movl	%edi, %r14d		# *p
	movq	0(%r15,%r14,1), %rax
	addq	8(%r15,%r14,1), %rax
	addq	table(%rip), %rax	# read-only data
	movq	ptr(%rip), %rcx		# a pointer the loader relocated
	movq	%rcx, (%r15)		# disp(%r15) without index: the null guard
	.bundle_lock
	andl	$-32, %ecx
	addq	%r15, %rcx
	call	*%rcx
	.bundle_unlock
	.p2align 5
	movl	$1, %edi
	call	*0x10008(%r15)		# host call, slot 1
	.p2align 5
	call	callee			# direct call
	.p2align 5
	testq	%rax, %rax
	jne	1f
	ud2
1:	.bundle_lock
	movl	%ebp, %esp		# leave
	addq	%r15, %rsp
	.bundle_unlock
	popq	%rbp
	popq	%r11
	addl	$31, %r11d
	.bundle_lock
	andl	$-32, %r11d
	addq	%r15, %r11
	jmp	*%r11
	.bundle_unlock

	.globl	loop
	.type	loop, @function
	.p2align 5
loop:					# long loop(long n): sum of 0..n-1
	xorl	%eax, %eax
	xorl	%ecx, %ecx
	jmp	2f
1:	addq	%rcx, %rax
	incq	%rcx
2:	cmpq	%rdi, %rcx
	jl	1b
	popq	%r11
	addl	$31, %r11d
	.bundle_lock
	andl	$-32, %r11d
	addq	%r15, %r11
	jmp	*%r11
	.bundle_unlock

	.section .rodata
	.p2align 3
table:	.quad	42

	.data
	.p2align 3
ptr:	.quad	callee
