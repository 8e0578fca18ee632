/*  rawsys -- a program that makes its system calls with its own syscall
    instruction, as a static runtime or hand-written assembly does, for
    t/integ/shim.sh: run under libglshim.so, every such call must reach
    the shim (Syscall User Dispatch) and still do what it says, in every
    thread, across signals, fork, vfork, clone and exec.

        rawsys check        the checks below; exit 0, 1 (a line says what
                            failed) or 77 (no dispatch here: why)
        rawsys exec PROG..  a raw execve of PROG with an environment of
                            nothing but A=1 (the shim puts itself back)
        rawsys who          whether the shim runs here, and what it caught
        rawsys system       system(3) as POSIX has it, and the shim's own
                            (exit 0, or 1: a line says what failed)

    The shim's counters are read through glshim_trapped(), which only a
    process running the shim has (dlsym finds none otherwise). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long raw (long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static long raw5 (long n, long a, long b, long c, long d, long e)
{
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}

static unsigned long long (*trapped) (void);
static int failures;

#define CHECK(cond, what)                \
    do {                                 \
        if (!(cond)) {                   \
            printf ("FAIL: %s\n", what); \
            failures++;                  \
        }                                \
        else                             \
            printf ("ok: %s\n", what);   \
    } while (0)

/* n raw getppid calls reach the shim, and answer what libc answers */
static int reaches (int n)
{
    unsigned long long before = trapped ();
    for (int i = 0; i < n; i++)
        if (raw (SYS_getppid, 0, 0, 0) != getppid ())
            return 0;
    return trapped () - before >= (unsigned long long) n;
}

static void *thread_main (void *arg)
{
    *(int *) arg = reaches (3);
    return NULL;
}

static volatile sig_atomic_t in_handler_ok;
static void on_usr1 (int s)
{
    in_handler_ok = reaches (1);
}

/* a handler installed by a raw rt_sigaction, with the program's own
   restorer: its rt_sigreturn is a raw system call too */
static volatile sig_atomic_t usr2_ok;
static void on_usr2 (int s)
{
    usr2_ok = reaches (1) ? 1 : 2;
}
void rawsys_restorer (void);
__asm__(".text\n"
        "rawsys_restorer:\n"
        "    mov $15, %eax\n" /* SYS_rt_sigreturn */
        "    syscall\n");

static volatile sig_atomic_t own_sigsys;
static void on_sys (int s)
{
    own_sigsys++;
}

/* a thread of a raw clone: its own stack, its id in *flag when done */
static atomic_int clone_done;
static int clone_child (void)
{
    atomic_store (&clone_done, reaches (2) ? 1 : 2);
    raw (SYS_exit, 0, 0, 0);
    return 0;
}

static long raw_clone_thread (void *stack_top)
{
    /* the child starts on stack_top with the parent's registers: it
       must not return through this frame, so it calls clone_child */
    long r;
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "and $-16, %%rsp\n\t"
        "call *%[fn]\n\t"
        "hlt\n"
        "1:"
        : "=a"(r)
        : "a"(SYS_clone),
          "D"(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM),
          "S"(stack_top), "d"(0), "r"(r10), "r"(r8), [fn] "r"(clone_child)
        : "rcx", "r11", "memory");
    return r;
}

static int check (void)
{
    const char *why = NULL;
    int (*sud) (const char **) = (int (*) (const char **)) dlsym (RTLD_DEFAULT, "glshim_sud");
    if (!trapped || !sud) {
        printf ("FAIL: the shim is not in this process\n");
        return 1;
    }
    if (!sud (&why)) {
        printf ("no Syscall User Dispatch here: %s\n", why ? why : "?");
        return 77;
    }
    setvbuf (stdout, NULL, _IONBF, 0);

    CHECK (reaches (5), "raw calls of the main thread reach the shim and answer as libc does");
    const char msg[] = "ok: a raw write writes\n";
    CHECK (raw (SYS_write, 1, (long) msg, sizeof msg - 1) == sizeof msg - 1, "its result");

    pthread_t t;
    int thread_ok = 0;
    pthread_create (&t, NULL, thread_main, &thread_ok);
    pthread_join (t, NULL);
    CHECK (thread_ok, "a pthread's raw calls reach it");

    pid_t pid = fork ();
    if (pid == 0)
        _exit (reaches (2) ? 0 : 1);
    int st;
    waitpid (pid, &st, 0);
    CHECK (WIFEXITED (st) && WEXITSTATUS (st) == 0, "fork's child is armed");

    pid = (pid_t) raw (SYS_fork, 0, 0, 0);
    if (pid == 0)
        _exit (reaches (2) ? 0 : 1);
    waitpid (pid, &st, 0);
    CHECK (pid > 0 && WIFEXITED (st) && WEXITSTATUS (st) == 0, "a raw fork's child is armed");

    /* a raw vfork is made as a fork (the child would run on this frame,
       inside the shim's handler, on the parent's stack) */
    pid = (pid_t) raw (SYS_vfork, 0, 0, 0);
    if (pid == 0)
        _exit (reaches (2) ? 0 : 1);
    waitpid (pid, &st, 0);
    CHECK (pid > 0 && WIFEXITED (st) && WEXITSTATUS (st) == 0, "a raw vfork's child is armed");

    pid = vfork ();
    if (pid == 0) {
        char *argv[] = { (char *) "true", NULL };
        execvp ("true", argv);
        _exit (127);
    }
    waitpid (pid, &st, 0);
    CHECK (WIFEXITED (st) && WEXITSTATUS (st) == 0, "vfork and exec");

    size_t len = 1 << 16;
    char *stack = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long tid = raw_clone_thread (stack + len);
    for (int i = 0; i < 2000 && !atomic_load (&clone_done); i++)
        usleep (1000);
    CHECK (tid > 0 && atomic_load (&clone_done) == 1,
           "a thread of a raw clone runs, armed, on its own stack");

    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction (SIGUSR1, &sa, NULL);
    raise (SIGUSR1);
    CHECK (in_handler_ok, "raw calls in a signal handler reach it");

    sigset_t all, old;
    sigfillset (&all);
    sigprocmask (SIG_SETMASK, &all, &old);
    CHECK (reaches (1), "with every signal blocked through libc");
    sigprocmask (SIG_SETMASK, &old, NULL);
    uint64_t full = ~0ull, was = 0;
    raw (SYS_rt_sigprocmask, SIG_SETMASK, (long) &full, (long) &was);
    CHECK (reaches (1), "with every signal blocked by a raw rt_sigprocmask");
    raw5 (SYS_rt_sigprocmask, SIG_SETMASK, (long) &was, 0, 8, 0);

    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } k = { (void *) on_usr2, 0x04000000 /* SA_RESTORER */, (void *) rawsys_restorer, 0 };
    raw5 (SYS_rt_sigaction, SIGUSR2, (long) &k, 0, 8, 0);
    raise (SIGUSR2);
    CHECK (usr2_ok == 1,
           "a handler of a raw rt_sigaction, with its own restorer, runs and returns");

    signal (SIGSYS, on_sys);
    raise (SIGSYS);
    CHECK (own_sigsys == 1 && reaches (1), "the program's SIGSYS handler runs, and the shim stays");

    return failures ? 1 : 0;
}

/* ---- system(3) ---------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupts;
static void on_int (int sig)
{
    (void) sig;
    interrupts++;
}

static int up[2], go[2]; /* a thread's shell says it runs; main lets it end */

static void *system_thread (void *arg)
{
    char cmd[96];
    snprintf (cmd, sizeof cmd, "echo up >&%d; read line <&%d; exit 4", up[1], go[0]);
    *(int *) arg = system (cmd);
    return NULL;
}

static int system_checks (void)
{
    Dl_info at;
    CHECK (dladdr ((void *) (uintptr_t) system, &at) && at.dli_fname &&
               strstr (at.dli_fname, "libglshim"),
           "system is the shim's");
    CHECK (system (NULL) == 1, "system(NULL): there is a shell");
    int rs = system ("exit 3");
    CHECK (WIFEXITED (rs) && WEXITSTATUS (rs) == 3, "system(\"exit 3\"): exit status 3");

    struct sigaction sa = { .sa_handler = on_int }, now;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGQUIT, &sa, NULL);
    rs = system ("kill -INT $PPID; kill -QUIT $PPID; exit 0");
    CHECK (rs == 0 && interrupts == 0, "SIGINT and SIGQUIT ignored by the caller while it waits");
    sigaction (SIGINT, NULL, &now);
    CHECK (now.sa_handler == on_int, "the caller's SIGINT handler back after");
    rs = system ("kill -INT $$; exit 0");
    CHECK (WIFSIGNALED (rs) && WTERMSIG (rs) == SIGINT, "the shell's SIGINT at its default");

    /* two threads in system(): ignored until the last one returns */
    pthread_t t;
    int trs = -1;
    char b[8];
    if (pipe (up) || pipe (go) || pthread_create (&t, NULL, system_thread, &trs)) {
        CHECK (0, "pipes and a thread");
        return failures;
    }
    CHECK (read (up[0], b, sizeof b) > 0, "the thread's shell runs");
    rs = system ("exit 0");
    kill (getpid (), SIGINT);
    CHECK (rs == 0 && interrupts == 0, "SIGINT still ignored while another thread is in system()");
    CHECK (write (go[1], "go\n", 3) == 3, "let the thread's shell end");
    pthread_join (t, NULL);
    CHECK (WIFEXITED (trs) && WEXITSTATUS (trs) == 4, "the thread's system(): exit status 4");
    kill (getpid (), SIGINT);
    CHECK (interrupts == 1, "SIGINT caught again once no system() runs");

    sa.sa_handler = SIG_IGN;
    sigaction (SIGINT, &sa, NULL);
    rs = system ("kill -INT $$; exit 5");
    CHECK (WIFEXITED (rs) && WEXITSTATUS (rs) == 5,
           "a SIGINT the caller ignores: ignored by the shell");
    errno = 0;
    rs = system ("exit 0");
    CHECK (rs == 0 && errno == 0, "errno untouched");
    return failures ? 1 : 0;
}

int main (int argc, char **argv)
{
    trapped = (unsigned long long (*) (void)) dlsym (RTLD_DEFAULT, "glshim_trapped");
    if (argc >= 2 && !strcmp (argv[1], "check"))
        return check ();
    if (argc >= 3 && !strcmp (argv[1], "exec")) {
        char *envp[] = { (char *) "A=1", NULL };
        raw (SYS_execve, (long) argv[2], (long) (argv + 2), (long) envp);
        printf ("FAIL: the raw execve of %s came back\n", argv[2]);
        return 1;
    }
    if (argc >= 2 && !strcmp (argv[1], "who")) {
        int (*active) (void) = (int (*) (void)) dlsym (RTLD_DEFAULT, "glshim_active");
        printf ("shim %s, %llu raw calls trapped\n", active && active () ? "on" : "off",
                trapped ? trapped () : 0);
        return 0;
    }
    if (argc >= 2 && !strcmp (argv[1], "system"))
        return system_checks ();
    fprintf (stderr, "usage: rawsys check | exec PROG [ARGS...] | who | system\n");
    return 2;
}
