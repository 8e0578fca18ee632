# Vector, floating-point and bit-manipulation code: SSE to SSE4.2, AVX,
# AVX2, FMA, BMI1/2, x87, with operands in the sandboxed forms.
	.bundle_align_mode 5
	.text
	.globl	simd
	.type	simd, @function
	.p2align 5
simd:
	movl	%edi, %r14d
	movups	(%r15,%r14,1), %xmm0
	addps	%xmm0, %xmm0
	pshufb	%xmm1, %xmm0
	pcmpistri $0, %xmm1, %xmm0
	ptest	%xmm0, %xmm0
	vmovdqu	32(%r15,%r14,1), %ymm1
	vpaddd	%ymm1, %ymm1, %ymm2
	vfmadd231ps %ymm0, %ymm1, %ymm2
	vmovdqu	%ymm2, 64(%r15,%r14,1)
	vzeroupper
	andnl	%eax, %ebx, %ecx
	shlxq	%rax, %rbx, %rcx
	popcntq	%rcx, %rdx
	lzcntl	%eax, %edx
	tzcntq	%rax, %rdx
	movbel	(%r15,%r14,1), %eax
	bswapq	%rax
	cmovsq	%rdx, %rax
	setne	%dl
	cqto
	idivq	%rcx
	fldl	16(%rsp)
	faddl	(%r15,%r14,1)
	fstpl	8(%rsp)
	fnstcw	(%rsp)
	stmxcsr	4(%rsp)
	lock xaddl %eax, (%r15,%r14,1)
	lock cmpxchgq %rcx, (%r15,%r14,1)
	prefetcht0 128(%r15,%r14,1)
	pause
	mfence
	popq	%r11
	addl	$31, %r11d
	.bundle_lock
	andl	$-32, %r11d
	addq	%r15, %r11
	jmp	*%r11
	.bundle_unlock
