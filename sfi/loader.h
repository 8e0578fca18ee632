/*  loader.h -- load a verified sandbox module and call into it.

    A module (see sfi/SCHEME.md) gets a region of its own: 4 GiB of
    address space aligned to 4 GiB, between two 2 MiB PROT_NONE guards,
    which holds its code, data, heap, scratch area and stack and nothing
    else of the host.  sfi_module_load parses the file, runs the verifier
    on it and maps it only when the verifier says it is safe; a refused
    module's err reads "offset 0x20040: syscall: RULE".

    Calls go through a gate: sfi_module_call switches to the module's
    stack with r15 = base and r14 = 0, jumps to the function, and comes
    back when it returns, faults (SFI_EFAULT: SIGSEGV, SIGBUS), traps
    (SFI_ETRAP: ud2, int3, division by zero, a host call to an empty slot)
    or runs out of its time budget (SFI_ETIME).  The host goes on in every
    case; sfi_module_fault says what happened.  Faults are caught by
    signal handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and
    SIGXCPU (the watchdog's signal), installed by the first load; a fault
    anywhere but in module code goes to the handler that was there before
    (or the default action), so real crashes still crash.  A later
    sigaction() on these signals by the host would take them away from
    the loader.  A thread that calls into a module must leave these six
    signals unblocked; its first call gives it a signal stack if it has
    none.

    Host calls: the module's `call *(0x10000 + 8k)(%r15)` runs the host
    function exported in slot k with the module's first six integer
    arguments, on the host's stack; sfi_current() names the calling
    module.  Pointers from the module are module addresses (base +
    offset): check them with sfi_module_ptr or sfi_module_wptr before use.
    A host function may call into modules again (the same one too: the
    nested call runs below the caller's frames on the module's stack).

    A module belongs to the first thread that calls it: a call from any
    other thread is refused (SFI_EARG, "the module belongs to another
    thread"), since module code running on two threads at once could
    defeat the sandboxed return.  Different modules may run
    in different threads at once.  The time budget is measured per
    outermost call: nested calls spend their caller's.  Host functions
    must return (no longjmp out of a host call).  After fork, budgets are
    enforced in the child again once it loads a module with a budget. */
#ifndef SFI_LOADER_H
#define SFI_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "elf.h"

/* Region offsets beyond those in elf.h. */
#define SFI_ENTRY_OFF    0x12000ULL /* the entry stub: masks r11, calls it; */
#define SFI_EXIT_OFF     0x12020ULL /* then the exit stub; the rest of that R X page is int3 */
#define SFI_SCRATCH_SIZE 0x10000ULL /* below the stack */

typedef struct {
    size_t heap_size;   /* 0: 64 MiB */
    size_t stack_size;  /* 0: 1 MiB; rounded up to pages */
    unsigned budget_ms; /* per call; 0: no limit */
} sfi_limits_t;

typedef struct sfi_module sfi_module_t;

enum { SFI_OK = 0, SFI_EFAULT = -1, SFI_ETRAP = -2, SFI_ETIME = -3, SFI_EARG = -4 };

/* What a module reads at base + SFI_INFO_OFF (full addresses). */
struct sfi_info {
    uint64_t heap_start, heap_end;
    uint64_t stack_top; /* one past the stack: base + 4 GiB */
    uint64_t scratch;   /* SFI_SCRATCH_SIZE bytes below the stack */
};

/* Parse, verify (refusing with the verdict in err), reserve and map.
   lim may be NULL for the defaults. */
sfi_module_t *sfi_module_load (const char *path, const sfi_limits_t *lim, char *err, size_t errlen);

/* The same from a parsed image, which the module takes over (*img_p is
   NULL afterwards, loaded or not). */
sfi_module_t *sfi_module_load_image (sfi_image_t **img_p, const sfi_limits_t *lim, char *err,
                                     size_t errlen);

/* Unmap the region.  Not while the module is running. */
void sfi_module_destroy (sfi_module_t **self_p);

/* Offset of an exported function, or -1. */
int64_t sfi_module_lookup (sfi_module_t *self, const char *name);

/* Host function for slot 1..511: uint64_t fn (uint64_t a0, ..., a5);
   NULL empties the slot (a call through it traps).  0, or -1 for a bad
   slot. */
int sfi_module_export (sfi_module_t *self, int slot, void *fn);

/* Call the function at fn_off with nargs (0..6) integer arguments; its
   rax in *ret (may be NULL).  SFI_OK or a negative SFI_E*.  Arguments are
   values: a pointer must be a module address (see sfi_module_scratch). */
int sfi_module_call (sfi_module_t *self, int64_t fn_off, const uint64_t *args, int nargs,
                     uint64_t *ret);

/* Why the last call failed, e.g. "SIGSEGV at region offset 0x1000 (rip
   0x20084)"; "" after a call that succeeded. */
const char *sfi_module_fault (sfi_module_t *self);

/* The host view of [addr, addr + len) in module memory, or NULL unless it
   lies inside one readable data area: a read-only or writable image
   segment, the heap, the scratch area or the stack.  Not the code, the
   host-call table or the stubs.  Read-only segments stay read-only: to
   write, use sfi_module_wptr, which accepts writable areas only. */
void *sfi_module_ptr (sfi_module_t *self, uint64_t addr, size_t len);
void *sfi_module_wptr (sfi_module_t *self, uint64_t addr, size_t len);

uint64_t sfi_module_base (sfi_module_t *self);

/* The scratch area (*len bytes) where the host puts arguments: a pointer
   into it is also the module's address of the same byte. */
void *sfi_module_scratch (sfi_module_t *self, size_t *len);

/* The module whose host call is running on this thread, or NULL. */
sfi_module_t *sfi_current (void);

#endif
