/*  gate.S -- the doors between the host and a sandboxed module.

    Three ways across, all on the calling thread (sfi/loader.c holds the
    rest of the story and the per-thread context they share):

    sfi_gate_call      host -> module.  Saves the host's callee-saved
                       registers in a frame on the host stack and records
                       the frame in the thread's context (the enclosing
                       call's frame is kept in it, so calls nest), loads
                       r15 = base, r14 = 0, the module's stack, the
                       arguments, zeroes every other general register (no
                       host address leaks in), and jumps to the entry
                       stub (base + SFI_ENTRY_OFF), whose `call *%r11`
                       enters the function.  A call, not a jump with a
                       pushed address: the module's sandboxed returns end
                       in `ret`, and a ret the CPU saw no call for is
                       mispredicted, and so is every one after it.

    sfi_gate_exit      module -> host, the normal way: the module's return
                       lands just after that call, on the exit stub (base
                       + SFI_EXIT_OFF), whose `jmp *0x10000(%r15)` reads
                       slot 0 of the table.  The frame gives back the
                       host's registers; rax goes to *ret and the call
                       returns 0.
    sfi_gate_fault_exit
                       the same from a signal handler, which points rip
                       here, rsp at the frame and eax at the error code.

    sfi_gate_stubs     module -> host function -> module: slot k of the
                       table points to stub k, which loads k and joins
                       sfi_gate_hostcall.  That switches to the host stack
                       below the innermost frame, calls the host function
                       with the module's rdi..r9, switches back, clears the
                       caller-saved registers the host may have left
                       addresses in, and returns into the module through
                       the sandboxed return sequence (masked, then pushed
                       back and `ret`, so the CPU's return predictions
                       stay paired with the module's call).

    No system call, lock or sigsetjmp on any path: a call costs a few
    dozen instructions each way.  On the way back to the host the
    direction flag is cleared and the x87 stack emptied (emms), whatever
    the module did.

    The offsets below are checked against the C structures in loader.c. */

#define T_HOST_RSP   0          /* struct sfi_thread: innermost frame */
#define T_CUR        8          /*   the running module */
#define T_ABORT      16         /*   nonzero: end the call at the next host-call return */
#define M_SP         8          /* struct sfi_module: entry sp of the next call */
#define M_FNS        16         /*   host functions by slot */
#define ENTRY_OFF    0x12000    /* SFI_ENTRY_OFF */
#define SLOTS        512        /* SFI_TABLE_SLOTS */
#define STUB_SIZE    16

/* The SSE registers can hold host data too (memcpy moves pointers through
   them): zero them on the way into a module. 16 zeroing idioms, about a
   nanosecond.  (The upper halves of ymm are left: the host's AVX code ends
   with vzeroupper.) */
        .macro  ZERO_XMM
        .irp    r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        xorps   %xmm\r, %xmm\r
        .endr
        .endm

        .text

/* int sfi_gate_call (const uint64_t args[6], uint64_t entry, uint64_t sp,
                      uint64_t base, uint64_t *ret, struct sfi_thread *t)

   The frame, from the recorded rsp up: padding (keeps the recorded rsp
   16-byte aligned for host calls), the enclosing frame, ret, r15, r14,
   r13, r12, rbx, rbp, the return address. */
        .globl  sfi_gate_call
        .hidden sfi_gate_call
        .type   sfi_gate_call, @function
        .p2align 5
sfi_gate_call:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        pushq   %r8
        pushq   T_HOST_RSP(%r9)
        subq    $8, %rsp
        movq    %rsp, T_HOST_RSP(%r9)

        movq    %rcx, %r15
        movq    %rdx, %rsp
        movq    %rsi, %r11
        movq    8(%rdi), %rsi
        movq    16(%rdi), %rdx
        movq    24(%rdi), %rcx
        movq    32(%rdi), %r8
        movq    40(%rdi), %r9
        movq    (%rdi), %rdi
        xorl    %ebx, %ebx
        xorl    %ebp, %ebp
        xorl    %r10d, %r10d
        xorl    %r12d, %r12d
        xorl    %r13d, %r13d
        xorl    %r14d, %r14d
        ZERO_XMM
        leaq    ENTRY_OFF(%r15), %rax   /* the stub's call pushes the exit stub's address */
        jmp     *%rax
        .size   sfi_gate_call, . - sfi_gate_call

/* Slot 0 of every module's table: the module's function has returned. */
        .globl  sfi_gate_exit
        .hidden sfi_gate_exit
        .type   sfi_gate_exit, @function
        .p2align 5
sfi_gate_exit:
        movq    sfi_tls@gottpoff(%rip), %r11
        movq    %fs:T_HOST_RSP(%r11), %rsp
        addq    $8, %rsp
        popq    %fs:T_HOST_RSP(%r11)
        popq    %rcx
        movq    %rax, (%rcx)
        xorl    %eax, %eax
.Lrestore:
        cld
        emms                            /* whatever the module left on the x87 stack */
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   sfi_gate_exit, . - sfi_gate_exit

/* Where a signal handler sends a faulting module: rsp = the innermost
   frame, eax = SFI_EFAULT, SFI_ETRAP or SFI_ETIME. */
        .globl  sfi_gate_fault_exit
        .hidden sfi_gate_fault_exit
        .type   sfi_gate_fault_exit, @function
        .p2align 5
sfi_gate_fault_exit:
        movq    sfi_tls@gottpoff(%rip), %r11
.Lunwind:
        addq    $8, %rsp
        popq    %fs:T_HOST_RSP(%r11)
        popq    %rcx                    /* ret: untouched */
        jmp     .Lrestore
        .size   sfi_gate_fault_exit, . - sfi_gate_fault_exit

/* The common part of a host call: eax = slot, the module's arguments in
   rdi..r9, its return address on top of its stack. */
        .type   sfi_gate_hostcall, @function
        .p2align 5
sfi_gate_hostcall:
        movq    sfi_tls@gottpoff(%rip), %r11
        movq    %rsp, %r10
        movq    %fs:T_HOST_RSP(%r11), %rsp
        movq    %fs:T_CUR(%r11), %r11
        pushq   %r10                    /* the module's rsp */
        pushq   M_SP(%r11)
        leaq    -64(%r10), %r10         /* a call back into this module starts below */
        andq    $-16, %r10
        movq    %r10, M_SP(%r11)
        movq    M_FNS(%r11,%rax,8), %r10
        testq   %r10, %r10
        jz      .Lempty
        cld
        call    *%r10
.Lback:
        movq    sfi_tls@gottpoff(%rip), %r11
        movq    %fs:T_CUR(%r11), %r10
        popq    M_SP(%r10)
        popq    %r10
        movl    %fs:T_ABORT(%r11), %ecx
        testl   %ecx, %ecx
        jnz     .Labort
        movq    %r10, %rsp
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %edi, %edi
        xorl    %r8d, %r8d
        xorl    %r9d, %r9d
        xorl    %r10d, %r10d
        ZERO_XMM
        popq    %r11
        addl    $31, %r11d              /* up: a call not aligned to its bundle's */
        andl    $-32, %r11d             /* end returns to the next bundle start */
        addq    %r15, %r11
        pushq   %r11
        ret
.Lempty:
        movl    %eax, %edi
        call    sfi_gate_empty          /* records the fault, sets T_ABORT */
        jmp     .Lback
.Labort:
        movl    $0, %fs:T_ABORT(%r11)
        movl    %ecx, %eax
        movq    %fs:T_HOST_RSP(%r11), %rsp
        jmp     .Lunwind
        .size   sfi_gate_hostcall, . - sfi_gate_hostcall

/* Stub k: the host address in slot k of every table. */
        .globl  sfi_gate_stubs
        .hidden sfi_gate_stubs
        .p2align 4
sfi_gate_stubs:
        .set    k, 0
        .rept   SLOTS
        movl    $k, %eax
        .byte   0xe9                    /* jmp rel32: always 5 bytes */
        .long   sfi_gate_hostcall - . - 4
        .fill   STUB_SIZE - 10, 1, 0xcc
        .set    k, k + 1
        .endr
        .if     . - sfi_gate_stubs - SLOTS * STUB_SIZE
        .error  "a host-call stub is not STUB_SIZE bytes"
        .endif
        .size   sfi_gate_stubs, . - sfi_gate_stubs

        .section .note.GNU-stack, "", @progbits
