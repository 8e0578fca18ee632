# fork() in a moved job: no child made twice.  A program whose fork is
# caught by the move in the instant its clone has returned (the
# checkpoint's signal, pending and held blocked, let in by an atfork
# handler inside libc's fork), twice: restored, its fork returns the
# child it made on the old node, which the tree carried, and makes no
# second one (the shim's fork makes a child again only when one born
# after the restore has an old id of the tree).  A shell caught so made
# the child of a subshell or of a pipeline's stage twice: a line, or a
# stage's input, doubled.  And the children libc makes and waits for
# with its own calls, system() and popen/pclose, moved ten times in a
# loop of both: each status as undisturbed (a move during glibc's
# system() made it -1, between its spawn and its wait: about one run in
# four on a loaded machine; a pclose after a move failed with ECHILD).
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible cc
start_abc

# ---- a fork caught as its clone returns -----------------------------------------------------
cat > "$T/forkgap.c" <<'C'
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void unblock (void)
{
    uint64_t m = 1ull << (SIGNO - 1);
    syscall (SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, 8);
}
static int pending (void)
{
    char buf[4096];
    FILE *f = fopen ("/proc/self/status", "r");
    int yes = 0;
    while (f && fgets (buf, sizeof buf, f))
        if (!strncmp (buf, "ShdPnd:", 7) || !strncmp (buf, "SigPnd:", 7))
            yes |= (int) ((strtoull (buf + 7, NULL, 16) >> (SIGNO - 1)) & 1);
    if (f)
        fclose (f);
    return yes;
}
int main (void)
{
    /* blocked by a raw call: the shim keeps it out of libc's masks */
    uint64_t m = 1ull << (SIGNO - 1);
    syscall (SYS_rt_sigprocmask, SIG_BLOCK, &m, NULL, 8);
    pthread_atfork (NULL, unblock, unblock);
    printf ("ready\n");
    fflush (stdout);
    for (int i = 0; i < 3000 && !pending (); i++)
        usleep (10000);
    if (!pending ()) {
        printf ("no request came\n");
        return 2;
    }
    pid_t c = fork ();
    if (c == 0) {
        printf ("child\n");
        fflush (stdout);
        _exit (3);
    }
    int st = 0;
    pid_t w = waitpid (c, &st, 0);
    printf ("parent: its child %s, status %d\n", w == c && c > 0 ? "waited for" : "not found",
            WIFEXITED (st) ? WEXITSTATUS (st) : -1);
    int others = 0;
    while (waitpid (-1, NULL, 0) > 0)
        others++;
    printf ("other children: %d\n", others);
    return 0;
}
C
# the checkpoint's signal, as the shim has it
signo=$(awk '$2 == "GL_CKPT_SIGNO" { print $3 }' "$(dirname "$0")/../../checkpoint/ckpt_proto.h")
[ -n "$signo" ] || fail "no GL_CKPT_SIGNO in checkpoint/ckpt_proto.h"
cc -O1 -DSIGNO="$signo" -o "$T/forkgap" "$T/forkgap.c" -lpthread || fail "forkgap.c did not compile"
printf 'ready\nchild\nparent: its child waited for, status 3\nother children: 0\n' > "$T/forkgap.ref"
for k in 1 2; do
    out="$T/forkgap$k.out"
    "$GLX" -w b "$T/forkgap" > "$out" 2> "$T/forkgap.err" & g=$!
    wait_until 10 more_lines "$out" 1 || fail "forkgap did not start: $(cat "$T/forkgap.err")"
    gpid=$(gpid_of forkgap)
    res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) || fail "migrate $gpid c: $res"
    wait_until 30 sh -c "! kill -0 $g 2> /dev/null" || fail "forkgap did not end: $(cat "$out")"
    wait "$g"; rc=$?
    [ $rc = 0 ] || fail "forkgap moved: glx exit $rc: $(cat "$T/forkgap.err") $(cat "$out")"
    cmp -s "$T/forkgap.ref" "$out" || fail "forkgap moved as its clone returned: $(diff "$T/forkgap.ref" "$out")"
    say "a fork caught as its clone returned ($k): one child, waited for ($res)"
done

# ---- children libc makes and waits for itself: system(), popen/pclose ----------------------
# libc holds their ids and waits with its own call: a move while
# system() waited made it -1 (the kernel's answer, the child's new id,
# is not the one libc holds), and pclose after a move waited for no
# child of its (-1, ECHILD): Fortran's execute_command_line stopped the
# program with "Termination status ... cannot be obtained"
cat > "$T/libckids.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main (void)
{
    for (int i = 0; i < 60; i++) {
        errno = 0;
        int rs = system ("sleep 0.03; exit 3");
        FILE *f = popen ("sleep 0.03; echo popen", "r");
        char b[64] = "";
        if (!f || !fgets (b, sizeof b, f))
            strcpy (b, "nothing\n");
        int rp = f ? (i % 2 ? pclose (f) : fclose (f)) : -2;
        printf ("%d: system %d, %s", i, rs, b);
        printf ("%d: pclose %d%s%s\n", i, rp, rp < 0 ? " " : "", rp < 0 ? strerror (errno) : "");
        fflush (stdout);
    }
    return 0;
}
C
cc -O1 -o "$T/libckids" "$T/libckids.c" || fail "libckids.c did not compile"
moved_start libckids libckids "$T/libckids"
move_n 10
moved_same libckids
