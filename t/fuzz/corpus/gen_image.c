/*  gen_image.c -- seeds for fuzz_image: whole, valid images (every kind
    of record and descriptor, pages packed and raw), written into the directory given. */
#include "image.h"

#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[4 << 20];

static size_t process (img_enc_t *e_, size_t n, int n_pages, int threads, bool pipe_bytes,
                       uint32_t vpid);
static char state[1 << 16];

/* zombies: the tree's last ones ended and were not waited for (one
   exited 7, one killed by SIGUSR1): listed, no records of their own */
static size_t image (int n_pages, int threads, bool pipe_bytes, int procs, int zombies)
{
    img_enc_t e;
    size_t n = img_put_header (&e, buf, sizeof buf);
    if (procs > 1) { /* a tree: a shell (100), its children, a grandchild in its own group */
        static img_tree_t t;
        t.n = (uint32_t) procs;
        for (int i = 0; i < procs; i++)
            t.p[i] = (img_tproc_t){ .vpid = 100 + (uint32_t) i,
                                    .vppid = i == 0   ? 1
                                             : i == 3 ? 101
                                                      : 100,
                                    .vpgid = i == 3 ? 103 : 100,
                                    .vsid = 100,
                                    .flags = i == 0 ? IMG_P_ROOT : 0 };
        for (int z = 0; z < zombies; z++)
            t.p[procs - 1 - z].flags = IMG_P_ZOMBIE | (z ? 10u : 0x0700u) << 16;
        n += img_put_tree (&e, &t, buf + n, sizeof buf - n);
    }
    for (int pr = 0; pr < (procs > 1 ? procs - zombies : 1); pr++)
        n = process (&e, n, n_pages, threads, pipe_bytes, 100 + (uint32_t) pr);
    n += img_put_end (&e, buf + n, sizeof buf - n);
    return n;
}

/* One process's records, PROC to PAGES, at buf + n: the new length. */
static size_t process (img_enc_t *e_, size_t n, int n_pages, int threads, bool pipe_bytes,
                       uint32_t vpid)
{
    img_enc_t e = *e_;
    static img_proc_t p;
    memset (&p, 0, sizeof p);
    p.vpid = vpid;
    p.n_threads = (uint32_t) threads;
    p.n_vmas = 3;
    p.n_fds = 11;
    const uint64_t mm[IMG_NMM] = { 0x555555554000, 0x555555556000, 0x555555558000, 0x555555559000,
                                   0x55555555a000, 0x55555557b000, 0x7ffc000ff000, 0x7ffc000ff100,
                                   0x7ffc000ff120, 0x7ffc000ff120, 0x7ffc000fffe0 };
    memcpy (p.mm, mm, sizeof mm);
    p.umask = 022;
    strcpy (p.cwd, "/home/user");
    n += img_put_proc (&e, &p, buf + n, sizeof buf - n);
    for (int i = 0; i < threads; i++) {
        img_thread_t t = { .tid = 100 + (uint32_t) i,
                           .flags = i ? 0 : IMG_T_LEADER | IMG_T_COORD,
                           .fs = 0x7f0000002000 + (uint64_t) i * 0x10000,
                           .tid_addr = 0x7f00000022d0 + (uint64_t) i * 0x10000 };
        t.reg[IMG_R_RSP] = 0x7ffc00010000;
        t.reg[IMG_R_RIP] = 0x555555555000;
        snprintf (t.name, sizeof t.name, i ? "worker-%d" : "prog", i);
        n += img_put_thread (&e, &t, buf + n, sizeof buf - n);
    }
    static img_vma_t v;
    memset (&v, 0, sizeof v);
    v = (img_vma_t){ .start = 0x555555554000,
                     .end = 0x555555556000,
                     .prot = 5,
                     .kind = IMG_V_FILE,
                     .fsize = 16000,
                     .mtime_sec = 1700000000 };
    strcpy (v.path, "/usr/bin/prog");
    n += img_put_vma (&e, &v, buf + n, sizeof buf - n);
    /* a semaphore: a deleted file of /dev/shm mapped shared, one object
       (its id) in every process of a tree */
    v = (img_vma_t){ .start = 0x7f0000100000,
                     .end = 0x7f0000101000,
                     .prot = 3,
                     .kind = IMG_V_SHANON,
                     .fsize = 0x1b00000000ull | 44195 };
    n += img_put_vma (&e, &v, buf + n, sizeof buf - n);
    v = (img_vma_t){
        .start = 0x7ffc00000000, .end = 0x7ffc00100000, .prot = 3, .kind = IMG_V_ANON
    };
    n += img_put_vma (&e, &v, buf + n, sizeof buf - n);
    static img_fd_t f;
    memset (&f, 0, sizeof f);
    f = (img_fd_t){ .fd = 1, .kind = IMG_F_STREAM, .stream = 1 };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    f = (img_fd_t){ .fd = 5, .kind = IMG_F_PIPE, .pos = 65536, .fsize = 1234 };
    if (pipe_bytes) {
        f.data = (const uint8_t *) "hello pipe";
        f.data_len = 10;
    }
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    /* the kernel's objects: an eventfd, a timerfd, a signalfd, an epoll
       watching the first two */
    f = (img_fd_t){ .fd = 6, .kind = IMG_F_EVENTFD, .fsize = 7, .flags = 04000 };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    static uint8_t tfd[IMG_TIMERFD_SIZE], regs[2 * IMG_EPOLL_REG];
    img_put_timerfd (&(img_timerfd_t){ 1, 0, 2, 0, 20000000, 0, 20000000 }, tfd);
    f = (img_fd_t){ .fd = 7, .kind = IMG_F_TIMERFD, .data = tfd, .data_len = sizeof tfd };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    f = (img_fd_t){ .fd = 8, .kind = IMG_F_SIGNALFD, .fsize = 1u << 9 };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    for (int k = 0; k < 2; k++) {
        uint8_t *r = regs + k * IMG_EPOLL_REG;
        memset (r, 0, IMG_EPOLL_REG);
        r[0] = (uint8_t) (6 + k); /* the descriptor, little-endian */
        r[4] = 1;                 /* EPOLLIN */
        r[8] = (uint8_t) (0xe1 + k);
    }
    f = (img_fd_t){ .fd = 9, .kind = IMG_F_EPOLL, .data = regs, .data_len = sizeof regs };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    /* unix socket pairs: a stream pair (10, 12) with bytes queued in
       one end, the other's reading shut; a SEQPACKET end whose peer was
       closed, with a record of two bytes and one of none */
    f = (img_fd_t){ .fd = 10,
                    .kind = IMG_F_USOCK,
                    .flags = 02,
                    .fsize = 5001,
                    .pos = 5002,
                    .mtime_sec = 1,
                    .stream = 212992 };
    if (pipe_bytes) {
        f.data = (const uint8_t *) "hello socket";
        f.data_len = 12;
    }
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    f = (img_fd_t){ .fd = 11,
                    .kind = IMG_F_USOCK,
                    .flags = 04002,
                    .fsize = 5003,
                    .mtime_sec = 5,
                    .data = (const uint8_t *) "\2\0\0\0ab\0\0\0\0",
                    .data_len = 10 };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    f = (img_fd_t){ .fd = 12,
                    .kind = IMG_F_USOCK,
                    .flags = 02,
                    .fsize = 5002,
                    .pos = 5001,
                    .mtime_sec = 1,
                    .mtime_nsec = IMG_US_RDSHUT };
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    /* the semaphore's file, held open too (python's multiprocessing.Value) */
    f = (img_fd_t){ .fd = 13,
                    .kind = IMG_F_SHMFD,
                    .flags = 0100002,
                    .fsize = 8,
                    .mtime_sec = 0x1b00000000ull | 44195,
                    .data = (const uint8_t *) "\1\0\0\0\0\0\0\0",
                    .data_len = 8 };
    strcpy (f.path, "/dev/shm/pym-100-abc (deleted)");
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    /* the job's terminal (glx -t) held by a dup of stream 0, with its state */
    static uint8_t tty[IMG_TTY_SIZE];
    img_put_tty (&(img_tty_t){ .iflag = 0x500,
                               .oflag = 5,
                               .cflag = 0xbf,
                               .lflag = 0x8a3b,
                               .cc = { 3, 28, 127, 21, 4 },
                               .ispeed = 15,
                               .ospeed = 15,
                               .rows = 24,
                               .cols = 80,
                               .flags = IMG_TTY_CTTY | IMG_TTY_FG },
                 tty);
    f = (img_fd_t){
        .fd = 255, .kind = IMG_F_TTY, .flags = 02, .data = tty, .data_len = sizeof tty
    };
    strcpy (f.path, "/dev/pts/3");
    n += img_put_fd (&e, &f, buf + n, sizeof buf - n);
    static uint8_t pages[16 * IMG_PAGE];
    for (size_t i = 0; i < sizeof pages; i++)
        pages[i] = (uint8_t) (i % 7 == 0 ? rand () : i / 512);
    if (n_pages)
        n += img_put_pages (&e, 0x7ffc00000000, pages, (uint32_t) n_pages, state, buf + n,
                            sizeof buf - n);
    n += img_put_pages (&e, 0x7ffc00020000, pages, 1, NULL, buf + n, sizeof buf - n);
    *e_ = e;
    return n;
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: gen_image DIR\n");
        return 2;
    }
    const struct {
        int pages, threads;
        bool bytes;
        int procs, zombies;
    } kinds[] = { { 0, 1, false, 1, 0 }, { 4, 2, true, 1, 0 }, { 16, 1, false, 1, 0 },
                  { 1, 3, true, 1, 0 },  { 2, 1, true, 2, 0 }, { 1, 2, false, 4, 0 },
                  { 1, 1, false, 5, 2 } };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = image (kinds[k].pages, kinds[k].threads, kinds[k].bytes, kinds[k].procs,
                          kinds[k].zombies);
        char path[4096];
        snprintf (path, sizeof path, "%s/image-%zu", argv[1], k);
        FILE *o = fopen (path, "wb");
        if (!o || fwrite (buf, 1, n, o) != n || fclose (o))
            return 1;
    }
    return 0;
}
