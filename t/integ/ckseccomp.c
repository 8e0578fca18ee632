/*  ckseccomp -- a process in a sandbox of its own, for
    t/integ/migrate_attrs.sh.

        ckseccomp N

    Sets no_new_privs, installs a seccomp filter that allows every
    system call, then prints a line every 100 ms, N of them.  A
    checkpoint must refuse it: the filter's program can be read back
    only with privilege, and the restored process would run without
    it. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

int main (int argc, char **argv)
{
    int n = argc > 1 ? atoi (argv[1]) : 50;
    struct sock_filter allow[] = { BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
    struct sock_fprog prog = { 1, allow };
    if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror ("ckseccomp: seccomp");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        printf ("%d\n", i);
        fflush (stdout);
        nanosleep (&(struct timespec){ 0, 100000000 }, NULL);
    }
    return 0;
}
