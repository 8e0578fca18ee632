/*  forkadv.c -- mappings a fork does not copy as they are (forkadv.h). */
#include "forkadv.h"

#include "capture_impl.h"
#include "str.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif

#define ADV_MAX 4096 /* mappings with such advice a process may have */

/* The mappings noted, in increasing order (smaps' own), as the paused
   process had them; the fork inherits this copy. */
static struct {
    uint64_t start, end;
    uint32_t flags; /* FORKADV_FLAGS */
} adv[ADV_MAX];
static int n_adv;
static atomic_bool advised; /* forkadv_seen: it may have such mappings */

void forkadv_seen (int advice)
{
    if (advice == MADV_DONTFORK || advice == MADV_WIPEONFORK)
        atomic_store_explicit (&advised, true, memory_order_relaxed);
}

uint32_t forkadv_vmflags (const char *line)
{
    uint32_t f = 0;
    for (const char *t = line + 8; *t; t++) {
        if (t[-1] != ' ' || !t[0] || !t[1] || (t[2] != ' ' && t[2]))
            continue;
        if (t[0] == 'h' && t[1] == 'g')
            f = (f & ~(uint32_t) IMG_VF_NOHUGE) | IMG_VF_HUGE;
        else if (t[0] == 'n' && t[1] == 'h')
            f = (f & ~(uint32_t) IMG_VF_HUGE) | IMG_VF_NOHUGE;
        else if (t[0] == 'd' && t[1] == 'c')
            f |= IMG_VF_DONTFORK;
        else if (t[0] == 'w' && t[1] == 'f')
            f |= IMG_VF_WIPEONFORK;
        else if (t[0] == 'l' && t[1] == 'o')
            f |= IMG_VF_LOCKED;
        else if (t[0] == 'l' && t[1] == 'f')
            f |= IMG_VF_LOCKED | IMG_VF_ONFAULT;
    }
    return f;
}

int forkadv_note (bool locked, char *why, size_t cap)
{
    n_adv = 0;
    if (!atomic_load_explicit (&advised, memory_order_relaxed) && !locked)
        return 0;
    int fd = open ("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        gl_strlcpy (why, "/proc/self/smaps cannot be read", cap);
        return -1;
    }
    static char rbuf[16384], line[IMG_PATH_MAX + 256];
    lr_t r = { fd, rbuf, sizeof rbuf, 0, 0 };
    uint64_t start = 0, end = 0;
    while (lr_next (&r, line, sizeof line)) {
        if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
            const char *s;
            start = parse_num (line, 16, &s);
            end = parse_num (s + 1, 16, NULL);
            continue;
        }
        if (strncmp (line, "VmFlags:", 8))
            continue;
        uint32_t f = forkadv_vmflags (line) & FORKADV_FLAGS;
        if (!f)
            continue;
        if (n_adv == ADV_MAX) {
            close (fd);
            n_adv = 0;
            gl_strlcpy (why,
                        "more than 4096 mappings advised MADV_DONTFORK or MADV_WIPEONFORK, or "
                        "locked",
                        cap);
            return -1;
        }
        adv[n_adv].start = start;
        adv[n_adv].end = end;
        adv[n_adv].flags = f;
        n_adv++;
    }
    close (fd);
    return 0;
}

/* Each noted mapping advised so (on) or not (off); best effort: a
   mapping the kernel will not advise is one its fork copies anyway. */
static void advise (bool on)
{
    for (int i = 0; i < n_adv; i++) {
        size_t len = (size_t) (adv[i].end - adv[i].start);
        void *p = (void *) (uintptr_t) adv[i].start;
        if (adv[i].flags & IMG_VF_DONTFORK)
            (void) madvise (p, len, on ? MADV_DONTFORK : MADV_DOFORK);
        if (adv[i].flags & IMG_VF_WIPEONFORK)
            (void) madvise (p, len, on ? MADV_WIPEONFORK : MADV_KEEPONFORK);
    }
}

void forkadv_open (void)
{
    advise (false);
}

void forkadv_close (void)
{
    advise (true);
}

uint32_t forkadv_flags (uint64_t start, uint64_t end, uint64_t *cut)
{
    /* the writer asks in increasing order: from where it last stopped */
    static int at;
    if (at > n_adv || (at > 0 && adv[at - 1].end > start))
        at = 0;
    while (at < n_adv && adv[at].end <= start)
        at++;
    *cut = end;
    if (at == n_adv)
        return 0;
    if (adv[at].start > start) { /* none here; the next one starts there */
        if (adv[at].start < end)
            *cut = adv[at].start;
        return 0;
    }
    if (adv[at].end < end)
        *cut = adv[at].end;
    return adv[at].flags;
}
