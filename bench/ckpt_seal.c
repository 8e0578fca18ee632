/*  ckpt_seal.c -- a move's image stream without the agents, for
    bench/ckpt_seal.sh: starts the restorer as a new host's agent does
    for a move (its fd 3 a socket, GLUNIX_IMAGE_FD=3, the move's line
    with a key and 127.0.0.1), connects to the port it says, and seals
    IMAGE onto that connection in chunks of CHUNK bytes read from the
    file, as the old host's agent seals what the shim writes
    (checkpoint/imgseal.h).

    ckpt_seal GLRESTORE IMAGE CHUNK [first]

    The restorer runs with -n (read and check, restore nothing).  One
    line on stdout: "ms SEND_CPU_MS RESTORER_CPU_MS STATUS": from the
    restorer's start to its exit, the CPU time this sender used (reading
    the file, sealing, writing the socket) and the restorer's, and the
    restorer's exit status.  With "first", the whole stream is sealed
    into memory before the restorer starts and then only written: the
    restorer's own pace, as on a new host whose cores are its own (the
    sender's CPU is then the writing's). */
#include "ckpt_proto.h"
#include "imgseal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

static double cpu_ms (int who)
{
    struct rusage r;
    getrusage (who, &r);
    return (double) (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 +
           (double) (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

static int write_all (int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write (fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t) k;
    }
    return 0;
}

int main (int argc, char **argv)
{
    if (argc < 4 || argc > 5 || atoi (argv[3]) <= 0 || (size_t) atoi (argv[3]) > IS_CHUNK_MAX ||
        (argc == 5 && strcmp (argv[4], "first"))) {
        fprintf (stderr, "usage: ckpt_seal GLRESTORE IMAGE CHUNK (1..%u) [first]\n", IS_CHUNK_MAX);
        return 2;
    }
    size_t chunk = (size_t) atoi (argv[3]);
    int img = open (argv[2], O_RDONLY);
    int ctl[2];
    if (img < 0 || socketpair (AF_UNIX, SOCK_STREAM, 0, ctl)) {
        perror ("ckpt_seal");
        return 1;
    }
    uint8_t key[IS_KEY_BYTES];
    for (int i = 0; i < IS_KEY_BYTES; i++)
        key[i] = (uint8_t) (i * 37 + 11);
    imgseal_t *seal = imgseal_new (key);
    uint8_t *in = malloc (IS_CHUNK_MAX), *out = malloc (IS_CHUNK_MAX + IS_OVERHEAD);
    if (!seal || !in || !out)
        return 1;
    /* "first": the stream sealed whole before the clock starts */
    uint8_t *pre = NULL;
    size_t pre_len = 0;
    if (argc == 5) {
        off_t size = lseek (img, 0, SEEK_END);
        lseek (img, 0, SEEK_SET);
        size_t cap = IS_OVERHEAD + ((size_t) size / chunk + 2) * (chunk + IS_OVERHEAD);
        if (size < 0 || !(pre = malloc (cap)))
            return 1;
        pre_len = imgseal_seal (seal, in, 0, false, pre);
        for (;;) {
            ssize_t r = read (img, in, chunk);
            if (r < 0)
                return 1;
            pre_len += imgseal_seal (seal, in, (size_t) r, r == 0, pre + pre_len);
            if (r == 0)
                break;
        }
    }
    double c0 = cpu_ms (RUSAGE_SELF), t0 = now_ms ();
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (ctl[1], 3);
        setenv (GL_IMAGE_FD_ENV, "3", 1);
        execl (argv[1], "glrestore", "-n", (char *) NULL);
        _exit (127);
    }
    close (ctl[1]);
    char line[2 * IS_KEY_BYTES + 64];
    int n = snprintf (line, sizeof line, "%s", GL_MOVE_LINE);
    for (int i = 0; i < IS_KEY_BYTES; i++)
        n += snprintf (line + n, sizeof line - (size_t) n, "%02x", key[i]);
    n += snprintf (line + n, sizeof line - (size_t) n, " 127.0.0.1\n");
    char said[64];
    size_t k = 0;
    if (write_all (ctl[0], (uint8_t *) line, (size_t) n))
        return 1;
    while (k < sizeof said - 1 && read (ctl[0], said + k, 1) == 1 && said[k] != '\n')
        k++;
    said[k] = '\0';
    if (strncmp (said, "PORT ", 5)) {
        fprintf (stderr, "ckpt_seal: the restorer said '%s', not its port\n", said);
        return 1;
    }
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons ((uint16_t) atoi (said + 5)) };
    inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
    int s = socket (AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect (s, (struct sockaddr *) &a, sizeof a)) {
        perror ("ckpt_seal: connect");
        return 1;
    }
    size_t m = pre ? pre_len : imgseal_seal (seal, in, 0, false, out); /* the first: the key */
    if (write_all (s, pre ? pre : out, m))
        return 1;
    for (; !pre;) {
        ssize_t r = read (img, in, chunk);
        if (r < 0)
            return 1;
        m = imgseal_seal (seal, in, (size_t) r, r == 0, out);
        if (!m || write_all (s, out, m)) {
            fprintf (stderr, "ckpt_seal: the restorer stopped reading\n");
            break;
        }
        if (r == 0)
            break;
    }
    close (s);
    int st = 0;
    waitpid (pid, &st, 0);
    printf ("%.1f %.0f %.0f %d\n", now_ms () - t0, cpu_ms (RUSAGE_SELF) - c0,
            cpu_ms (RUSAGE_CHILDREN), WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
    imgseal_destroy (&seal);
    return 0;
}
