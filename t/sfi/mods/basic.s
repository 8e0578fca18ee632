# basic.s -- a hand-written sandbox module for t/unit/test_sfi_loader.
# Every function keeps the rules of sfi/SCHEME.md: 32-byte bundles,
# functions on bundle starts, memory through (%r15,%r14,1), rip-relative
# data or the stack, and the masked return sequence instead of ret.

	.bundle_align_mode 5

# The sandboxed return: never trust the address on the stack.
	.macro RET
	.bundle_lock
	popq	%r11
	addl	$31, %r11d
	andl	$-32, %r11d
	addq	%r15, %r11
	jmp	*%r11
	.bundle_unlock
	.endm

# The same as a ret, for a function called only from a bundle's end (the
# gate's entry stub is): the CPU pairs the ret with that call.
	.macro LEAFRET
	.bundle_lock
	popq	%r11
	andl	$-32, %r11d
	addq	%r15, %r11
	pushq	%r11
	retq			# not "ret": gas macro names ignore case, RET is ours
	.bundle_unlock
	.endm

	.macro FUNC name
	.globl	\name
	.type	\name, @function
	.p2align 5
\name:
	.endm

	.text

# id(x) = x: the trivial function of the gate benchmark.
FUNC id
	movq	%rdi, %rax
	LEAFRET

FUNC add
	leaq	(%rdi,%rsi), %rax
	RET

# sum6(a..f) = a + 2b + 3c + 4d + 5e + 6f: every argument register, in order.
FUNC sum6
	movq	%rdi, %rax
	leaq	(%rax,%rsi,2), %rax
	imulq	$3, %rdx, %rdx
	addq	%rdx, %rax
	leaq	(%rax,%rcx,4), %rax
	imulq	$5, %r8, %r8
	addq	%r8, %rax
	imulq	$6, %r9, %r9
	addq	%r9, %rax
	RET

# poke(off, byte): store a byte at region offset off.
FUNC poke
	movl	%edi, %r14d
	movb	%sil, (%r15,%r14,1)
	xorl	%eax, %eax
	RET

# peek(off): load the byte at region offset off.
FUNC peek
	movl	%edi, %r14d
	movzbl	(%r15,%r14,1), %eax
	RET

# below(): a store just below the region, into the low guard.
FUNC below
	movl	$1, -0x1000(%r15)
	RET

FUNC trap
	ud2
	RET

FUNC brk
	int3
	RET

# divide(a, b) = a / b, signed; b = 0 raises SIGFPE.
FUNC divide
	movq	%rdi, %rax
	cqto
	idivq	%rsi
	RET

FUNC spin
1:	jmp	1b

# counter(): a counter in .data, one per loaded module.
FUNC counter
	movq	count(%rip), %rax
	addq	$1, %rax
	movq	%rax, count(%rip)
	RET

# viaptr(): read a word through a pointer in .data, which the loader's
# R_X86_64_RELATIVE relocation turned into a full address.
FUNC viaptr
	movq	pointer(%rip), %rax
	movl	%eax, %r14d
	movq	(%r15,%r14,1), %rax
	RET

# info(i): word i of struct sfi_info.
FUNC info
	movl	%edi, %r14d
	shll	$3, %r14d
	movq	0x11800(%r15,%r14,1), %rax
	RET

# hostcall(a, b) = host16(a, b) + 1.
FUNC hostcall
	pushq	%rbx
	movq	$0x1234, %rbx
	call	*0x10080(%r15)
	.p2align 5
	cmpq	$0x1234, %rbx		# callee-saved across the host call?
	jne	1f
	addq	$1, %rax
	popq	%rbx
	RET
1:	ud2

# hostcall17(x) = host17(x): the host function calls back into a module.
FUNC hostcall17
	pushq	%rbx
	call	*0x10088(%r15)
	.p2align 5
	popq	%rbx
	RET

# unexported(): a host call through a slot nobody exported.
FUNC unexported
	pushq	%rbx
	call	*0x10640(%r15)
	.p2align 5
	popq	%rbx
	RET

# deep(): unbounded recursion, until the stack runs out.
FUNC deep
	pushq	%rbx
	call	deep
	.p2align 5
	popq	%rbx
	RET

# jump(off): an indirect jump to region offset off (masked to a bundle).
FUNC jump
	movq	$-7, %rax
	.bundle_lock
	andl	$-32, %edi
	addq	%r15, %rdi
	jmp	*%rdi
	.bundle_unlock

	.section .rodata
	.p2align 3
answer:	.quad	42

	.data
	.p2align 3
count:	.quad	0
pointer: .quad	answer
