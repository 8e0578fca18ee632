/*  owners.c -- locks held across a restore (owners.h says why).

    glibc's layouts (x86-64, as <bits/struct_rwlock.h> and
    <bits/struct_mutex.h> give them): a rwlock's first word holds
    PTHREAD_RWLOCK_WRLOCKED (2) while a writer holds it, and its writer's
    id is at byte 24 (__cur_writer); a mutex's first word is its lock (1,
    or 2 with waiters, while held), its owner's id at byte 8 and its kind
    at byte 16. */
#include "owners.h"

#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FORMER_MAX 16 /* a thread's ids before, the latest kept */
#define RANGES_MAX 8

__thread int owners_n_former; /* former.tid's count */
static __thread __attribute__ ((tls_model ("initial-exec"))) struct {
    int tid[FORMER_MAX];
} former;

static struct {
    uintptr_t lo, hi;
} ranges[RANGES_MAX];
static int n_ranges;

/* glibc's own objects: the C library and the dynamic linker. */
static bool glibcs (const char *path)
{
    const char *b = strrchr (path, '/');
    b = b ? b + 1 : path;
    return !strncmp (b, "libc.so", 7) || !strncmp (b, "ld-linux", 8);
}

static int note_object (struct dl_phdr_info *info, size_t size, void *arg)
{
    (void) size;
    (void) arg;
    if (!info->dlpi_name || !glibcs (info->dlpi_name))
        return 0;
    uintptr_t rlo = 0, rhi = 0, page = (uintptr_t) sysconf (_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
            rlo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
            rhi = rlo + info->dlpi_phdr[i].p_memsz;
        }
    for (int i = 0; i < info->dlpi_phnum && n_ranges < RANGES_MAX; i++) {
        const ElfW (Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        /* the part made read-only after relocation holds no lock */
        if (rlo <= lo && lo < rhi)
            lo = (rhi + page - 1) & ~(page - 1);
        if (lo + 32 <= hi) {
            ranges[n_ranges].lo = (lo + 7) & ~(uintptr_t) 7;
            ranges[n_ranges++].hi = hi;
        }
    }
    return 0;
}

void owners_init (void)
{
    n_ranges = 0;
    dl_iterate_phdr (note_object, NULL);
}

void owners_former (int old)
{
    if (old <= 0 || old == (int) syscall (SYS_gettid))
        return;
    for (int i = 0; i < owners_n_former; i++)
        if (former.tid[i] == old)
            return;
    if (owners_n_former == FORMER_MAX) {
        memmove (former.tid, former.tid + 1, sizeof former.tid - sizeof former.tid[0]);
        owners_n_former--;
    }
    former.tid[owners_n_former++] = old;
}

void owners_claim (int *owner)
{
    int o = __atomic_load_n (owner, __ATOMIC_RELAXED);
    if (o <= 0)
        return;
    int i = 0;
    while (i < owners_n_former && former.tid[i] != o)
        i++;
    if (i == owners_n_former)
        return;
    int now = (int) syscall (SYS_gettid);
    /* an id this thread had may be another live thread's of this
       process now (the kernel gives ids again): that one's lock */
    if (o == now || syscall (SYS_tgkill, (int) syscall (SYS_getpid), o, 0) == 0)
        return;
    __atomic_store_n (owner, now, __ATOMIC_RELAXED);
}

void owners_restored (const int *old, const int *now, int n)
{
    for (int r = 0; r < n_ranges; r++)
        for (uintptr_t p = ranges[r].lo; p + 28 <= ranges[r].hi; p += 8) {
            uint32_t *w = (uint32_t *) p;
            for (int i = 0; i < n; i++) {
                if (old[i] == now[i] || old[i] <= 0)
                    continue;
                if ((w[0] & 2) && (int) w[6] == old[i]) /* a rwlock held for writing */
                    w[6] = (uint32_t) now[i];
                /* a mutex held, neither robust nor priority-inheriting */
                if ((w[0] == 1 || w[0] == 2) && (int) w[2] == old[i] && !(w[4] & (16 | 32)))
                    w[2] = (uint32_t) now[i];
            }
        }
}
