/*  ckcompute -- programs to checkpoint in the tests (t/integ/ckpt.sh):
    each prints "ready", then deterministic lines, and a result that
    depends on every byte of its memory, so a restore that lost or
    shifted anything shows.

    ckcompute single MIB STEPS   one thread over MIB MiB, malloc and free
                                 churning, a pause between steps
    ckcompute threads MIB STEPS  the same work over 4 threads, plus one
                                 blocked in read() on a pipe and one in
                                 nanosleep() loops, all joined at the end
    ckcompute socket             holds a TCP connection to itself for 3 s
    ckcompute mqueue             holds a POSIX message queue for 1 s
    ckcompute semaphore          holds a named POSIX semaphore for 1 s
    ckcompute sysv sem|msg|raw|gone
                                 holds a System V semaphore set (raw: made
                                 by its own syscall instruction; "no
                                 dispatch" first where the shim's Syscall
                                 User Dispatch is off) or message queue
                                 for 1 s, or (gone) one removed before
    ckcompute ident STEPS        names a thread, prints a step every 100 ms,
                                 then its name, its thread's, its command
                                 line, whether the heap grows by brk, its
                                 program (/proc/self/exe), which it then
                                 executes again: ckcompute echo WORDS
    ckcompute kobj|kobj-dup STEPS
                                 an eventfd, a timerfd, a signalfd and an
                                 epoll instance at work (kobj-dup: and a
                                 duplicate of the eventfd)
    ckcompute wait poll|sleep|epoll|polltimed
                                 blocked 1.5 s in poll() without a limit,
                                 in nanosleep(), in epoll_wait() with a
                                 limit of 10 s, or 1 s in poll() with a
                                 limit of 1 s: the call's result
    ckcompute sparse STEPS       a mapping of 24 MiB whose pages were
                                 written in runs with untouched holes
                                 between them (small huge pages off):
                                 each step rewrites the written pages
                                 and prints how many pages of it are
                                 present (mincore) and a digest, so a
                                 restore that left a page present the
                                 image did not bring shows
    ckcompute idle MIB random|text
                                 fills MIB MiB (random: as random data;
                                 text: as something that compresses),
                                 then naps 1 ms at a time; after a gap
                                 of more than 100 ms (it was parked and
                                 restored) it prints "resumed <ns>", the
                                 CLOCK_MONOTONIC when it ran again, and
                                 exits (t/ckpt/measure.sh) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <mqueue.h>
#include <semaphore.h>
#include <dlfcn.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void nap (long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep (&t, &t) == -1 && errno == EINTR) {
    }
}

static void mix (uint64_t *m, size_t n, int step)
{
    for (size_t i = 0; i < n; i++)
        m[i] = m[i] * 6364136223846793005ull + (uint64_t) step + 1 + i;
}

static uint64_t digest (const uint64_t *m, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = ((h ^ m[i]) * 0x100000001b3ull) ^ (h >> 29);
    return h;
}

/* The heap at work: blocks that live across steps, checked at the end,
   and many that come and go (small ones from the brk heap, big ones
   mmap'd). */
#define KEEP 2000
static unsigned char *kept[KEEP];
static size_t kept_len[KEEP];

static void churn (int step)
{
    for (int k = 0; k < KEEP; k++) {
        if ((k + step) % 3 == 0) {
            free (kept[k]);
            kept_len[k] = 16 + (size_t) ((k * 37 + step * 11) % 3000);
            kept[k] = malloc (kept_len[k]);
            if (!kept[k])
                abort ();
            memset (kept[k], (k + step) & 0xff, kept_len[k]);
        }
    }
    void *big = malloc (1 << 20);
    memset (big, step, 1 << 20);
    free (big);
}

static uint64_t heap_digest (void)
{
    uint64_t h = 0;
    for (int k = 0; k < KEEP; k++)
        for (size_t i = 0; kept[k] && i < kept_len[k]; i++)
            h = ((h ^ kept[k][i]) * 0x100000001b3ull) ^ (h >> 29);
    return h;
}

static int single (size_t mib, int steps)
{
    size_t n = (mib << 20) / 8;
    uint64_t *m = malloc (n * 8);
    if (!m)
        return 1;
    for (size_t i = 0; i < n; i++)
        m[i] = i * 0x9e3779b97f4a7c15ull;
    pid_t pid = getpid ();
    printf ("ready\n");
    fflush (stdout);
    uint64_t h = 0;
    for (int s = 0; s < steps; s++) {
        mix (m, n, s);
        churn (s);
        h = digest (m, n);
        printf ("step %d %016llx\n", s, (unsigned long long) h);
        fflush (stdout);
        nap (40);
    }
    printf ("result %016llx heap %016llx pid %s\n", (unsigned long long) h,
            (unsigned long long) heap_digest (), getpid () == pid ? "same" : "changed");
    return 0;
}

/* ---- threads ---- */

static pthread_barrier_t start_b, done_b;
static uint64_t *mem;
static size_t per;
static int steps_n;
static atomic_int stop;
static int pipe_fd[2];

static void *worker (void *arg)
{
    int w = (int) (intptr_t) arg;
    for (int s = 0; s < steps_n; s++) {
        pthread_barrier_wait (&start_b);
        mix (mem + (size_t) w * per, per, s * 4 + w);
        pthread_barrier_wait (&done_b);
    }
    return (void *) (uintptr_t) digest (mem + (size_t) w * per, per);
}

static void *reader (void *arg)
{
    (void) arg;
    char b[16] = { 0 };
    ssize_t k;
    while ((k = read (pipe_fd[0], b, sizeof b - 1)) < 0 && errno == EINTR) {
    }
    return (void *) (uintptr_t) (k == 8 && !strcmp (b, "finished") ? 0x600d : 0xbad);
}

static void *sleeper (void *arg)
{
    (void) arg;
    unsigned long naps = 0;
    while (!atomic_load (&stop)) {
        nap (10);
        naps++;
    }
    return (void *) (uintptr_t) (naps > 0 ? 0x5eed : 0xbad);
}

static int threads (size_t mib, int steps)
{
    enum { W = 2 };
    per = (mib << 20) / 8 / W;
    mem = malloc (per * W * 8);
    if (!mem || pipe (pipe_fd))
        return 1;
    for (size_t i = 0; i < per * W; i++)
        mem[i] = i * 0x9e3779b97f4a7c15ull;
    steps_n = steps;
    pthread_barrier_init (&start_b, NULL, W + 1);
    pthread_barrier_init (&done_b, NULL, W + 1);
    pthread_t t[W + 2];
    for (int w = 0; w < W; w++)
        pthread_create (&t[w], NULL, worker, (void *) (intptr_t) w);
    pthread_create (&t[W], NULL, reader, NULL);
    pthread_create (&t[W + 1], NULL, sleeper, NULL);
    printf ("ready\n");
    fflush (stdout);
    for (int s = 0; s < steps; s++) {
        pthread_barrier_wait (&start_b);
        churn (s);
        pthread_barrier_wait (&done_b);
        printf ("step %d %016llx\n", s, (unsigned long long) digest (mem, per * W));
        fflush (stdout);
        nap (40);
    }
    atomic_store (&stop, 1);
    if (write (pipe_fd[1], "finished", 8) != 8)
        return 1;
    uint64_t h = 0;
    for (int i = 0; i < W + 2; i++) {
        void *r;
        if (pthread_join (t[i], &r))
            return 1;
        h = (h ^ (uint64_t) (uintptr_t) r) * 0x100000001b3ull;
    }
    printf ("result %016llx heap %016llx\n", (unsigned long long) h,
            (unsigned long long) heap_digest ());
    return 0;
}

static int idle (size_t mib, const char *kind)
{
    size_t n = (mib << 20) / 8;
    uint64_t *m = malloc (n * 8);
    if (!m)
        return 1;
    bool text = !strcmp (kind, "text");
    for (size_t i = 0; i < n; i++)
        m[i] = text ? 0x2020656e696c2041ull + ((i >> 6) % 100) : i * 0x9e3779b97f4a7c15ull;
    mix (m, text ? 0 : n, 1);
    /* a gap since the last look, wherever the thread is parked once it
       has said ready */
    struct timespec last, now;
    clock_gettime (CLOCK_MONOTONIC, &last);
    printf ("ready\n");
    fflush (stdout);
    for (int k = 0; k < 600000; k++) {
        nap (1);
        clock_gettime (CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - last.tv_sec) * 1000000000ll + (now.tv_nsec - last.tv_nsec) >
            100000000ll) {
            printf ("resumed %lld %016llx\n", now.tv_sec * 1000000000ll + now.tv_nsec,
                    (unsigned long long) digest (m, n));
            return 0;
        }
        last = now;
    }
    return 1;
}

/* Page i of sparse's mapping is written: runs of 300 written pages,
   200 untouched, and a page written alone in each hole (the image's
   records then end short of a hole, and one starts inside it). */
static bool sparse_written (size_t i)
{
    return i % 500 < 300 || i % 500 == 417;
}

static int sparse (int steps)
{
    const size_t pages = (24u << 20) / 4096;
    uint8_t *m =
        mmap (NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    madvise (m, pages * 4096, MADV_NOHUGEPAGE); /* present pages counted one by one */
    static unsigned char in[(24u << 20) / 4096];
    for (int k = 1; k <= steps; k++) {
        uint64_t h = 0;
        for (size_t i = 0; i < pages; i++)
            if (sparse_written (i)) {
                uint64_t *w = (uint64_t *) (m + i * 4096);
                if (k == 1) /* as random data: the image carries it raw */
                    for (size_t j = 0; j < 512; j++)
                        w[j] = (i * 512 + j + 1) * 0x9e3779b97f4a7c15ull;
                w[k % 8] = w[k % 8] * 6364136223846793005ull + i + (uint64_t) k;
                for (size_t j = 0; j < 8; j++)
                    h = ((h ^ w[j]) * 0x100000001b3ull) ^ (h >> 29);
            }
        size_t present = 0;
        if (mincore (m, pages * 4096, in))
            return 1;
        for (size_t i = 0; i < pages; i++)
            present += in[i] & 1;
        printf ("step %d present %zu digest %016llx\n", k, present, (unsigned long long) h);
        fflush (stdout);
        nap (100);
    }
    return 0;
}

static int sock (void)
{
    int l = socket (AF_INET, SOCK_STREAM, 0), c = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (l < 0 || c < 0 || bind (l, (struct sockaddr *) &a, sizeof a) || listen (l, 1) ||
        getsockname (l, (struct sockaddr *) &a, &al) || connect (c, (struct sockaddr *) &a, al))
        return 1;
    int s = accept (l, NULL, NULL);
    close (l);
    printf ("ready\n");
    fflush (stdout);
    nap (3000);
    printf ("done %d\n", s >= 0);
    return 0;
}

static int mqueue (void)
{
    char name[64];
    snprintf (name, sizeof name, "/ckcompute-%d", (int) getpid ());
    mqd_t q = mq_open (name, O_CREAT | O_RDWR, 0600, NULL);
    if (q == (mqd_t) -1)
        return 1;
    printf ("ready\n");
    fflush (stdout);
    nap (1000);
    printf ("done %d\n", mq_send (q, "x", 1, 0) == 0);
    mq_unlink (name);
    return 0;
}

static int semaphore (void)
{
    char name[64];
    snprintf (name, sizeof name, "/ckcompute-%d", (int) getpid ());
    sem_t *s = sem_open (name, O_CREAT | O_EXCL, 0600, 1);
    if (s == SEM_FAILED)
        return 1;
    printf ("ready\n");
    fflush (stdout);
    nap (1000);
    printf ("done %d\n", sem_wait (s) == 0 && sem_post (s) == 0);
    sem_unlink (name);
    return 0;
}

static int sysv (const char *how)
{
    int id;
    struct sembuf up = { 0, 1, 0 };
    struct {
        long type;
        char text[4];
    } m = { 1, "msg" };
    if (!strcmp (how, "msg"))
        id = msgget (IPC_PRIVATE, 0600);
    else if (!strcmp (how, "raw")) {
        long r;
        __asm__ volatile("syscall"
                         : "=a"(r)
                         : "a"((long) SYS_semget), "D"((long) IPC_PRIVATE), "S"(1L), "d"(0600L)
                         : "rcx", "r11", "memory");
        id = (int) r;
        int (*sud) (const char **) = (int (*) (const char **)) dlsym (RTLD_DEFAULT, "glshim_sud");
        const char *why = "no shim";
        if (!sud || !sud (&why))
            printf ("no dispatch: %s\n", why);
    }
    else
        id = semget (IPC_PRIVATE, 1, 0600);
    if (id < 0)
        return 1;
    bool sem = strcmp (how, "msg") != 0;
    if (sem ? semop (id, &up, 1) != 0 : msgsnd (id, &m, sizeof m.text, 0) != 0)
        return 1;
    if (!strcmp (how, "gone"))
        semctl (id, 0, IPC_RMID);
    printf ("ready\n");
    fflush (stdout);
    nap (1000);
    printf ("done 1\n");
    if (strcmp (how, "gone"))
        sem ? semctl (id, 0, IPC_RMID) : msgctl (id, IPC_RMID, NULL);
    return 0;
}

/* What the kernel says of the process, once it is done: its name and
   a thread's, its command line (/proc/self/cmdline), and whether its
   heap still grows by the break (glibc's sbrk) rather than by mmap. */
static void *named (void *arg)
{
    (void) arg;
    pthread_setname_np (pthread_self (), "ck-worker");
    for (;;)
        nap (1000);
    return NULL;
}

static int ident (int steps)
{
    pthread_t t;
    pthread_create (&t, NULL, named, NULL);
    for (int step = 0; step < steps; step++) {
        printf ("step %d\n", step);
        fflush (stdout);
        nap (100);
    }
    char name[16] = "", wname[16] = "", cmd[512];
    FILE *f = fopen ("/proc/self/comm", "r");
    if (f && fgets (name, sizeof name, f))
        name[strcspn (name, "\n")] = '\0';
    if (f)
        fclose (f);
    pthread_getname_np (t, wname, sizeof wname);
    size_t n = 0;
    f = fopen ("/proc/self/cmdline", "r");
    if (f) {
        n = fread (cmd, 1, sizeof cmd - 1, f);
        fclose (f);
    }
    for (size_t i = 0; i < n; i++)
        cmd[i] = cmd[i] ? cmd[i] : ' ';
    cmd[n] = '\0';
    const char *base = strrchr (cmd, '/'); /* the path is the build's: not compared */
    printf ("name %s, thread %s, command line %s\n", name, wname, base ? base + 1 : cmd);
    void *before = sbrk (0);
    for (int i = 0; i < 64; i++)
        if (!malloc (16 << 10)) /* kept: the heap must grow */
            return 1;
    printf ("heap grows by the break: %s\n", sbrk (0) > before ? "yes" : "no");
    char exe[4096];
    ssize_t k = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = '\0';
    base = strrchr (exe, '/');
    printf ("its program: %s\n", base ? base + 1 : exe);
    fflush (stdout);
    execl ("/proc/self/exe", "ckcompute", "echo", "executed itself again", (char *) NULL);
    printf ("cannot execute itself again: %s\n", strerror (errno));
    return 1;
}

/* The kernel's objects held by descriptor (checkpoint/kobj.h): an
   eventfd, a semaphore eventfd, a timerfd every 20 ms, a signalfd for
   SIGUSR1 and an epoll instance watching the first and the third; each
   step reports what epoll says is ready; at the end what each holds.
   dup: the eventfd duplicated too, which does not move. */
static int kobj (int steps, bool dup_it)
{
    int efd = eventfd (0, EFD_NONBLOCK), sem = eventfd (3, EFD_SEMAPHORE | EFD_NONBLOCK);
    int tfd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } };
    sigset_t usr1;
    sigemptyset (&usr1);
    sigaddset (&usr1, SIGUSR1);
    sigprocmask (SIG_BLOCK, &usr1, NULL);
    int sfd = signalfd (-1, &usr1, SFD_NONBLOCK);
    int ep = epoll_create1 (0);
    uint64_t seven = 7;
    struct epoll_event e1 = { .events = EPOLLIN, .data.u64 = 0xe1 };
    struct epoll_event e2 = { .events = EPOLLIN, .data.u64 = 0x71 };
    if (efd < 0 || sem < 0 || tfd < 0 || sfd < 0 || ep < 0 ||
        timerfd_settime (tfd, 0, &its, NULL) || write (efd, &seven, 8) != 8 ||
        epoll_ctl (ep, EPOLL_CTL_ADD, efd, &e1) || epoll_ctl (ep, EPOLL_CTL_ADD, tfd, &e2) ||
        (dup_it && dup (efd) < 0)) {
        perror ("ckcompute kobj");
        return 1;
    }
    printf ("ready\n");
    for (int step = 0; step < steps; step++) {
        nap (100);
        struct epoll_event ev[4];
        int n = epoll_wait (ep, ev, 4, 1000);
        uint64_t mask = 0, ticks = 0;
        for (int i = 0; i < n; i++)
            mask |= ev[i].data.u64 == 0xe1 ? 1 : ev[i].data.u64 == 0x71 ? 2 : 4;
        bool fired = read (tfd, &ticks, 8) == 8 && ticks > 0;
        printf ("step %d: epoll: eventfd %s, timer %s; timer fired: %s\n", step,
                mask & 1 ? "ready" : "not ready", mask & 2 ? "ready" : "not ready",
                fired ? "yes" : "no");
        fflush (stdout);
    }
    uint64_t v = 0;
    printf ("eventfd holds %llu\n", read (efd, &v, 8) == 8 ? (unsigned long long) v : 0ull);
    printf ("semaphore gives");
    while (read (sem, &v, 8) == 8)
        printf (" %llu", (unsigned long long) v);
    printf (", then %s\n", errno == EAGAIN ? "nothing" : strerror (errno));
    kill (getpid (), SIGUSR1);
    struct signalfd_siginfo si;
    printf ("signalfd takes signal %d\n",
            read (sfd, &si, sizeof si) == sizeof si ? (int) si.ssi_signo : -1);
    return 0;
}

/* Blocked in a call the kernel does not restart after a handler: poll
   without a time limit or epoll_wait with a long one (data comes from a
   thread after 1.5 s), a sleep of 1.5 s, or poll with a limit of 1 s
   that comes first.  A request meanwhile must not make it return early
   or with EINTR. */
static int wake_fd;
static void *waker (void *arg)
{
    (void) arg;
    nap (1500);
    if (write (wake_fd, "x", 1) != 1)
        perror ("ckcompute wait");
    return NULL;
}

static int wait_in (const char *how)
{
    int p[2];
    pthread_t t;
    if (pipe (p))
        return 1;
    wake_fd = p[1];
    pthread_create (&t, NULL, waker, NULL);
    printf ("ready\n");
    fflush (stdout);
    if (!strcmp (how, "poll")) {
        struct pollfd pf = { p[0], POLLIN, 0 };
        int n = poll (&pf, 1, -1);
        printf ("poll: %s\n", n == 1 ? "the data came" : strerror (errno));
    }
    else if (!strcmp (how, "epoll")) {
        int ep = epoll_create1 (0);
        struct epoll_event e = { .events = EPOLLIN }, got;
        epoll_ctl (ep, EPOLL_CTL_ADD, p[0], &e);
        int n = epoll_wait (ep, &got, 1, 10000);
        printf ("epoll: %s\n", n == 1 ? "the data came" : n ? strerror (errno) : "timed out");
    }
    else if (!strcmp (how, "polltimed")) {
        struct pollfd pf = { p[0], POLLIN, 0 };
        struct timespec t0, t1;
        clock_gettime (CLOCK_MONOTONIC, &t0);
        int n = poll (&pf, 1, 1000);
        clock_gettime (CLOCK_MONOTONIC, &t1);
        double s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf ("polltimed: %s\n", n < 0      ? strerror (errno)
                                   : n        ? "the data came"
                                   : s >= 1.0 ? "whole"
                                              : "short");
    }
    else {
        struct timespec t0, t1, want = { 1, 500000000 };
        clock_gettime (CLOCK_MONOTONIC, &t0);
        int r = nanosleep (&want, &want);
        clock_gettime (CLOCK_MONOTONIC, &t1);
        double s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf ("sleep: %s\n", r ? strerror (errno) : s >= 1.5 ? "whole" : "short");
    }
    pthread_join (t, NULL);
    return 0;
}

int main (int argc, char **argv)
{
    if (argc == 4 && !strcmp (argv[1], "single"))
        return single ((size_t) atol (argv[2]), atoi (argv[3]));
    if (argc == 4 && !strcmp (argv[1], "threads"))
        return threads ((size_t) atol (argv[2]), atoi (argv[3]));
    if (argc == 4 && !strcmp (argv[1], "idle"))
        return idle ((size_t) atol (argv[2]), argv[3]);
    if (argc == 3 && !strcmp (argv[1], "sparse"))
        return sparse (atoi (argv[2]));
    if (argc == 2 && !strcmp (argv[1], "semaphore"))
        return semaphore ();
    if (argc == 3 && !strcmp (argv[1], "sysv"))
        return sysv (argv[2]);
    if (argc == 2 && !strcmp (argv[1], "mqueue"))
        return mqueue ();
    if (argc == 2 && !strcmp (argv[1], "socket"))
        return sock ();
    if (argc == 3 && !strcmp (argv[1], "ident"))
        return ident (atoi (argv[2]));
    if (argc == 3 && (!strcmp (argv[1], "kobj") || !strcmp (argv[1], "kobj-dup")))
        return kobj (atoi (argv[2]), argv[1][4] == '-');
    if (argc == 3 && !strcmp (argv[1], "wait"))
        return wait_in (argv[2]);
    if (argc == 3 && !strcmp (argv[1], "echo"))
        return puts (argv[2]) < 0;
    fprintf (
        stderr,
        "usage: ckcompute single|threads MIB STEPS | socket | mqueue | semaphore | ident STEPS | "
        "sparse STEPS\n");
    return 2;
}
