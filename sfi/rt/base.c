/*  base.c -- where the module is, and how it stops. */
#include "glsfi.h"

/* Regions are 4 GiB aligned: any code address gives the base. */
uintptr_t glsfi_base (void)
{
    return (uintptr_t) &glsfi_base & ~(uintptr_t) 0xffffffffu;
}

const struct sfi_info *glsfi_info (void)
{
    return (const struct sfi_info *) (glsfi_base () + 0x11800);
}

/* ud2 traps; the host reports the module's call as failed. */
void abort (void)
{
    __builtin_trap ();
}

int abs (int x)
{
    return x < 0 ? -x : x;
}

long labs (long x)
{
    return x < 0 ? -x : x;
}
