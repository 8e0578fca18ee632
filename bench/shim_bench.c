/*  shim_bench -- the per-call figures of bench/shim.sh, in one process.

        shim_bench view RUNTIME_DIR   a cluster-view query through libglunix
                                      (glunix_cluster, glunix_nodes) against
                                      the same view asked of the agent over
                                      its socket ("view", as glpeer view does)
        shim_bench calls              an interposed libc call (sigprocmask,
                                      which the shim wraps) through the PLT,
                                      against libc's own, found in libc.so.6,
                                      and clock_gettime for scale
        shim_bench raw                a raw getppid (syscall instruction)
                                      against libc's getppid: under the shim
                                      the raw one is trapped (Syscall User
                                      Dispatch), without it it is not; and
                                      without the shim, the same trap into a
                                      handler that only answers: the floor

    Each figure is the median over BATCHES batches of the time per call,
    in nanoseconds, printed as "name ns"; a pair timed batch by batch adds
    the median of the per-batch differences ("..._added").  shim.sh runs
    the program with and without the shim preloaded. */
#include "ctl.h"
#include "glunix.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 201 /* short batches, many: the median one ran without being preempted */

static double now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double median (double *v, int n)
{
    qsort (v, (size_t) n, sizeof *v, cmp);
    return v[n / 2];
}

/* The median ns per call of body over BATCHES batches of n calls. */
#define TIME(name, n, body)                                 \
    do {                                                    \
        double per_[BATCHES];                               \
        for (int b_ = 0; b_ < BATCHES; b_++) {              \
            double t0_ = now_ns ();                         \
            for (long i_ = 0; i_ < (n); i_++) {             \
                body;                                       \
            }                                               \
            per_[b_] = (now_ns () - t0_) / (double) (n);    \
        }                                                   \
        printf ("%s %.1f\n", name, median (per_, BATCHES)); \
    } while (0)

/* Two bodies timed batch by batch, alternately, so that the machine's
   drift hits both alike: each one's median, and the median of the
   per-batch differences (b less a), "name_added". */
#define TIME2(name_a, body_a, name_b, body_b, name_d, n)                             \
    do {                                                                             \
        double a_[BATCHES], b_[BATCHES], d_[BATCHES];                                \
        for (int k_ = 0; k_ < BATCHES; k_++) {                                       \
            double t0_ = now_ns ();                                                  \
            for (long i_ = 0; i_ < (n); i_++) {                                      \
                body_a;                                                              \
            }                                                                        \
            double t1_ = now_ns ();                                                  \
            for (long i_ = 0; i_ < (n); i_++) {                                      \
                body_b;                                                              \
            }                                                                        \
            double t2_ = now_ns ();                                                  \
            a_[k_] = (t1_ - t0_) / (double) (n);                                     \
            b_[k_] = (t2_ - t1_) / (double) (n);                                     \
            d_[k_] = b_[k_] - a_[k_];                                                \
        }                                                                            \
        printf ("%s %.1f\n%s %.1f\n%s %.1f\n", name_a, median (a_, BATCHES), name_b, \
                median (b_, BATCHES), name_d, median (d_, BATCHES));                 \
    } while (0)

static long raw_getppid (void)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(SYS_getppid) : "rcx", "r11", "memory");
    return r;
}

static volatile long sink;

/* The mechanism's floor: a SIGSYS handler that does nothing but answer,
   as the kernel's round trip costs with no shim at all. */
static void floor_handler (int signo, siginfo_t *si, void *ctx)
{
    ((ucontext_t *) ctx)->uc_mcontext.gregs[REG_RAX] = 1;
}

static int floor_arm (void)
{
    static char sel = 1;
    Dl_info info;
    if (!dladdr ((void *) getppid, &info))
        return -1;
    /* libc's whole mapping, text included, from its load address on */
    FILE *f = fopen ("/proc/self/maps", "r");
    unsigned long lo = 0, hi = 0, a, b;
    char line[512];
    while (f && fgets (line, sizeof line, f))
        if (strstr (line, info.dli_fname) && strstr (line, " r-xp ") &&
            sscanf (line, "%lx-%lx", &a, &b) == 2) {
            lo = a;
            hi = b;
        }
    if (f)
        fclose (f);
    struct sigaction sa = { .sa_sigaction = floor_handler, .sa_flags = SA_SIGINFO };
    sigaction (SIGSYS, &sa, NULL);
    return lo ? prctl (59 /* PR_SET_SYSCALL_USER_DISPATCH */, 1, lo, hi - lo, &sel) : -1;
}

int main (int argc, char **argv)
{
    if (argc == 3 && !strcmp (argv[1], "view")) {
        char err[512];
        glunix_t *g = glunix_open (argv[2], err, sizeof err);
        if (!g) {
            fprintf (stderr, "shim_bench: %s\n", err);
            return 1;
        }
        glunix_cluster_t c;
        glunix_node_t nodes[16];
        TIME ("view_cluster", 2000, sink += glunix_cluster (g, &c, NULL, 0));
        TIME ("view_nodes", 1000, sink += glunix_nodes (g, nodes, 16, NULL, 0));
        char sock[4200];
        snprintf (sock, sizeof sock, "%s/glpeer.sock", argv[2]);
        gl_ctl_req_t req = { .cmd = "view" };
        TIME ("socket_view", 5, {
            gl_ctl_resp_t resp = { 0 };
            if (ctl_call (sock, &req, &resp, 5000, err, sizeof err)) {
                fprintf (stderr, "shim_bench: %s\n", err);
                return 1;
            }
            sink += resp.code;
            gl_ctl_resp_clear (&resp);
        });
        glunix_close (g);
        return 0;
    }
    if (argc == 2 && !strcmp (argv[1], "calls")) {
        void *libc = dlopen ("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        int (*own) (int, const sigset_t *, sigset_t *) =
            libc ? (int (*) (int, const sigset_t *, sigset_t *)) dlsym (libc, "sigprocmask") : NULL;
        if (!own) {
            fprintf (stderr, "shim_bench: libc's sigprocmask not found\n");
            return 1;
        }
        sigset_t none;
        sigemptyset (&none);
        TIME2 ("sigprocmask_libc", sink += own (SIG_BLOCK, &none, NULL), "sigprocmask_plt",
               sink += sigprocmask (SIG_BLOCK, &none, NULL), "sigprocmask_added", 1000);
        /* a mutex taken and given back: the shim's wrappers claim a lock
           a restored thread held (checkpoint/owners.h) */
        int (*own_lock) (pthread_mutex_t *) =
            (int (*) (pthread_mutex_t *)) dlsym (libc, "pthread_mutex_lock");
        int (*own_unlock) (pthread_mutex_t *) =
            (int (*) (pthread_mutex_t *)) dlsym (libc, "pthread_mutex_unlock");
        static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
        if (own_lock && own_unlock)
            TIME2 ("mutex_libc", (sink += own_lock (&mu), sink += own_unlock (&mu)), "mutex_plt",
                   (sink += pthread_mutex_lock (&mu), sink += pthread_mutex_unlock (&mu)),
                   "mutex_added", 100000);
        struct timespec ts;
        TIME ("clock_gettime", 2000, sink += clock_gettime (CLOCK_MONOTONIC, &ts));
        return 0;
    }
    if (argc == 2 && !strcmp (argv[1], "raw")) {
        TIME2 ("getppid_libc", sink += getppid (), "getppid_raw", sink += raw_getppid (),
               "getppid_raw_added", 100);
        if (!dlsym (RTLD_DEFAULT, "glshim_trapped") && floor_arm () == 0)
            TIME ("sud_floor", 100, sink += raw_getppid ());
        return 0;
    }
    fprintf (stderr, "usage: shim_bench view RUNTIME_DIR | calls | raw\n");
    return 2;
}
