/*  ckadvise -- memory a fork does not copy as it is, moved: for
    t/integ/migrate_advise.sh.

        ckadvise STEPS

    Three mappings, each with a pattern of its own:
    - "kept": 1 MiB advised MADV_DONTFORK (node's JavaScript heap is
      all such mappings: a checkpoint whose fork missed them lost it);
    - "wiped": 64 KiB advised MADV_WIPEONFORK (a random generator's
      state, zero in any child);
    - "half": 2 MiB of which only the upper half is advised
      MADV_DONTFORK (once the advice is off, the kernel may merge the
      halves into one mapping: the image must still tell them apart);
    - "locked": 64 KiB locked in memory (mlock(2), which a fork does
      not pass on either), which each step finds locked in smaps.
    Each step checks every pattern, adds the step to every byte, prints
    the three sums, then forks a child that looks at its copy: "kept"
    and the upper half must be absent, "wiped" zero, the lower half the
    parent's.  A move that lost a mapping, its bytes or its advice
    prints something else (or crashes).  The same STEPS give the same
    output however often the process moved; it exits 0, or 1 with what
    failed. */
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEPT  (1u << 20)
#define WIPED (64u << 10)
#define HALF  (1u << 20)

static uint8_t *map (size_t len)
{
    void *p = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror ("ckadvise: mmap");
        exit (1);
    }
    return p;
}

static void advise (void *p, size_t len, int advice, const char *what)
{
    if (madvise (p, len, advice)) {
        fprintf (stderr, "ckadvise: madvise %s: %m\n", what);
        exit (1);
    }
}

/* The byte at i of a mapping whose pattern starts at seed, after step
   steps (each adds its number to every byte). */
static uint8_t expect (size_t i, unsigned seed, long step)
{
    return (uint8_t) (i * 7 + seed + step * (step + 1) / 2);
}

static uint64_t check_and_add (uint8_t *p, size_t len, unsigned seed, long step, const char *what)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] != expect (i, seed, step)) {
            printf ("%s: byte %zu is %u, not %u\n", what, i, p[i], expect (i, seed, step));
            exit (1);
        }
        p[i] = (uint8_t) (p[i] + step + 1);
        sum = sum * 31 + p[i];
    }
    return sum;
}

/* Whether the mapping at p is locked: "lo" among its VmFlags. */
static bool locked_now (void *p)
{
    FILE *f = fopen ("/proc/self/smaps", "r");
    char line[512];
    bool in = false, lo = false;
    while (f && fgets (line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf (line, "%lx-%lx ", &a, &b) == 2 && strchr (line, '-') < strchr (line, ' '))
            in = a <= (unsigned long) p && (unsigned long) p < b;
        else if (in && !strncmp (line, "VmFlags:", 8))
            lo = strstr (line, " lo") != NULL;
    }
    if (f)
        fclose (f);
    return lo;
}

/* Whether [p, p + len) is mapped in this process: madvise says ENOMEM
   where it is not. */
static int mapped (void *p, size_t len)
{
    return madvise (p, len, MADV_NORMAL) == 0;
}

int main (int argc, char **argv)
{
    long steps = argc > 1 ? atol (argv[1]) : 100;
    uint8_t *kept = map (KEPT), *wiped = map (WIPED), *half = map (2 * HALF), *lock = map (WIPED);
    bool can_lock = mlock (lock, WIPED) == 0; /* within RLIMIT_MEMLOCK */
    for (size_t i = 0; i < KEPT; i++)
        kept[i] = expect (i, 1, 0);
    for (size_t i = 0; i < WIPED; i++)
        wiped[i] = expect (i, 2, 0);
    for (size_t i = 0; i < 2 * HALF; i++)
        half[i] = expect (i, 3, 0);
    advise (kept, KEPT, MADV_DONTFORK, "MADV_DONTFORK");
    advise (wiped, WIPED, MADV_WIPEONFORK, "MADV_WIPEONFORK");
    advise (half + HALF, HALF, MADV_DONTFORK, "MADV_DONTFORK (half)");
    for (long s = 0; s < steps; s++) {
        uint64_t a = check_and_add (kept, KEPT, 1, s, "kept");
        uint64_t b = check_and_add (wiped, WIPED, 2, s, "wiped");
        uint64_t c = check_and_add (half, 2 * HALF, 3, s, "half");
        fflush (stdout);
        pid_t child = fork ();
        if (child < 0) {
            perror ("ckadvise: fork");
            return 1;
        }
        if (child == 0) {
            int bad = 0;
            if (mapped (kept, KEPT))
                bad |= 1; /* copied into the child */
            for (size_t i = 0; i < WIPED; i++)
                if (wiped[i]) {
                    bad |= 2; /* not wiped */
                    break;
                }
            if (!mapped (half, HALF) || half[5] != expect (5, 3, s + 1))
                bad |= 4; /* the lower half lost */
            if (mapped (half + HALF, HALF))
                bad |= 8; /* the upper half copied */
            _exit (bad);
        }
        int st;
        if (waitpid (child, &st, 0) != child || !WIFEXITED (st)) {
            printf ("step %ld: the child did not end normally\n", s);
            return 1;
        }
        printf ("step %ld: %llu %llu %llu child %d locked %s\n", s, (unsigned long long) a,
                (unsigned long long) b, (unsigned long long) c, WEXITSTATUS (st),
                !can_lock           ? "(mlock refused)"
                : locked_now (lock) ? "yes"
                                    : "no");
        fflush (stdout);
        if (WEXITSTATUS (st))
            return 1;
        nanosleep (&(struct timespec){ 0, 20000000 }, NULL);
    }
    return 0;
}
