/* test_pidmap: the old-to-new process id table of a restored tree
   (checkpoint/pidmap.h). */
#include "pidmap.h"
#include "tap.h"

#include <string.h>

int main (void)
{
    static pidmap_t m;
    const char *why = NULL;
    CHECK (!pidmap_valid (&m)); /* zeros are not a table */
    CHECK_EQ (pidmap_real (&m, 500), 500);
    CHECK (pidmap_add (&m, 500, 600, &why) < 0 && strstr (why, "not a process id table"));
    pidmap_init (&m);
    CHECK (pidmap_valid (&m));

    /* a shell (500) and two children; one child's new id is the
       shell's old one, the shell's new id another child's old one */
    CHECK_EQ (pidmap_add (&m, 500, 600, &why), 0);
    CHECK_EQ (pidmap_add (&m, 600, 700, &why), 0);
    CHECK_EQ (pidmap_add (&m, 601, 500, &why), 0);
    CHECK_EQ (m.n, 3);

    /* into the kernel: each old id to its process's new one */
    CHECK_EQ (pidmap_real (&m, 500), 600);
    CHECK_EQ (pidmap_real (&m, 600), 700);
    CHECK_EQ (pidmap_real (&m, 601), 500);
    /* out of it: each new id back, never an old id of another */
    CHECK_EQ (pidmap_virt (&m, 600), 500);
    CHECK_EQ (pidmap_virt (&m, 700), 600);
    CHECK_EQ (pidmap_virt (&m, 500), 601);
    for (uint32_t i = 0; i < m.n; i++)
        CHECK_EQ (pidmap_virt (&m, pidmap_real (&m, m.e[i].virt)), m.e[i].virt);

    /* process groups (negative ids) by their absolute value; 0, -1 and
       ids outside the table unchanged */
    CHECK_EQ (pidmap_real (&m, -500), -600);
    CHECK_EQ (pidmap_real (&m, -601), -500);
    CHECK_EQ (pidmap_real (&m, 0), 0);
    CHECK_EQ (pidmap_real (&m, -1), -1);
    CHECK_EQ (pidmap_real (&m, 4321), 4321);
    CHECK_EQ (pidmap_real (&m, -4321), -4321);
    CHECK_EQ (pidmap_virt (&m, 4321), 4321);
    CHECK_EQ (pidmap_virt (&m, 0), 0);
    CHECK_EQ (pidmap_virt (&m, -1), -1);

    /* a process born after the restore whose new id is an old one of
       the table: the shim forks again; a fresh id is no collision, nor
       an id the table gives to the process that has it */
    CHECK (pidmap_collides (&m, 601));
    CHECK (!pidmap_collides (&m, 4321));
    CHECK (!pidmap_collides (&m, 0));
    pidmap_t same;
    pidmap_init (&same);
    CHECK_EQ (pidmap_add (&same, 42, 42, &why), 0);
    CHECK (!pidmap_collides (&same, 42));

    /* the ids the kernel hands out next: 600 and 601 (old ids whose
       processes are 700 and 500 now) after 598, the furthest such one
       reported; none past them; the window wraps past the maximum to
       the lowest id (300 in every namespace) */
    CHECK_EQ (pidmap_ahead (&m, 598, 32768, 300, 4), 601);
    CHECK_EQ (pidmap_ahead (&m, 598, 32768, 300, 2), 600);
    CHECK_EQ (pidmap_ahead (&m, 598, 32768, 300, 1), 0);
    CHECK_EQ (pidmap_ahead (&m, 601, 32768, 300, 64), 0);
    CHECK_EQ (pidmap_ahead (&m, 600, 32768, 300, 64), 601);
    pidmap_t wrap;
    pidmap_init (&wrap);
    CHECK_EQ (pidmap_add (&wrap, 302, 9000, &why), 0);
    CHECK_EQ (pidmap_add (&wrap, 32760, 9001, &why), 0);
    CHECK_EQ (pidmap_ahead (&wrap, 32765, 32768, 300, 5), 302); /* 32766 32767 300 301 302 */
    CHECK_EQ (pidmap_ahead (&wrap, 32765, 32768, 300, 4), 0);
    CHECK_EQ (pidmap_ahead (&wrap, 32750, 32768, 300, 64), 302);
    CHECK_EQ (pidmap_ahead (&same, 41, 32768, 300, 64), 0); /* 42 is its own */
    pidmap_t none = { 0 };
    CHECK_EQ (pidmap_ahead (&none, 598, 32768, 300, 64), 0);

    /* one id for two processes, either way; ids out of range; full */
    CHECK (pidmap_add (&m, 500, 900, &why) < 0 && strstr (why, "old process id given twice"));
    CHECK (pidmap_add (&m, 900, 700, &why) < 0 && strstr (why, "new process id given twice"));
    CHECK (pidmap_add (&m, 0, 900, &why) < 0 && strstr (why, "out of range"));
    CHECK (pidmap_add (&m, 900, -3, &why) < 0 && strstr (why, "out of range"));
    CHECK (pidmap_add (&m, 1 << 23, 900, &why) < 0 && strstr (why, "out of range"));
    CHECK_EQ (m.n, 3);
    pidmap_t full;
    pidmap_init (&full);
    for (int i = 0; i < PIDMAP_MAX; i++)
        CHECK_EQ (pidmap_add (&full, 1000 + i, 5000 + i, &why), 0);
    CHECK (pidmap_add (&full, 9999, 9998, &why) < 0 && strstr (why, "more than 256"));

    /* a table whose count was overwritten is not trusted */
    full.n = PIDMAP_MAX + 1;
    CHECK (!pidmap_valid (&full));
    CHECK_EQ (pidmap_real (&full, 1000), 1000);
    return tap_done ("test_pidmap");
}
