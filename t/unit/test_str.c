/*  test_str.c -- the bottom layer's helpers: str.h, err.h, fd.h, rng.h. */
#include "err.h"
#include "fd.h"
#include "rng.h"
#include "str.h"
#include "tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_strlcpy (void)
{
    char buf[8];
    CHECK_EQ (gl_strlcpy (buf, "abc", sizeof buf), 3);
    CHECK (!strcmp (buf, "abc"));
    CHECK_EQ (gl_strlcpy (buf, "abcdefghij", sizeof buf), 10); /* cut: 10 >= 8 */
    CHECK (!strcmp (buf, "abcdefg"));
    memset (buf, 'x', sizeof buf);
    CHECK_EQ (gl_strlcpy (buf, "abc", 0), 3); /* nothing written */
    CHECK (buf[0] == 'x');
}

static void test_parse_u64 (void)
{
    uint64_t v = 7;
    const char *s = "123ms";
    CHECK (gl_parse_u64 (&s, &v));
    CHECK_EQ (v, 123);
    CHECK (!strcmp (s, "ms"));
    s = "18446744073709551615";
    CHECK (gl_parse_u64 (&s, &v) && v == UINT64_MAX && *s == '\0');
    s = "18446744073709551616"; /* one more: does not fit */
    v = 7;
    CHECK (!gl_parse_u64 (&s, &v));
    CHECK (v == 7 && s[0] == '1');
    s = "-1";
    CHECK (!gl_parse_u64 (&s, &v));
    s = "";
    CHECK (!gl_parse_u64 (&s, &v));
}

static void test_json_str (void)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&out, &len);
    gl_json_str (f, "a\"b\\c\nd\x01\xc3\xa9");
    fclose (f);
    CHECK (!strcmp (out, "\"a\\\"b\\\\c\\u000ad\\u0001\xc3\xa9\""));
    free (out);
}

static void test_all_zero (void)
{
    uint8_t b[33] = { 0 };
    CHECK (gl_all_zero (b, sizeof b));
    CHECK (gl_all_zero (b, 0));
    b[32] = 1;
    CHECK (!gl_all_zero (b, sizeof b));
    CHECK (gl_all_zero (b, 32));
}

static void test_err (void)
{
    char err[16];
    CHECK_EQ (gl_err (err, sizeof err, "%s: %d", "file", 42), -1);
    CHECK (!strcmp (err, "file: 42"));
    CHECK_EQ (gl_err (err, sizeof err, "%s", "a message longer than the buffer"), -1);
    CHECK_EQ (strlen (err), sizeof err - 1);
    CHECK_EQ (gl_err (NULL, 0, "nothing"), -1);
    const char *why = NULL;
    CHECK_EQ (gl_why (&why, "truncated"), -1);
    CHECK (why && !strcmp (why, "truncated"));
    CHECK_EQ (gl_why (NULL, "ignored"), -1);
}

/* A non-blocking pipe too small for the write: gl_write_all waits for the
   reader instead of failing with EAGAIN, and every byte arrives in order. */
static void test_write_all (void)
{
    int p[2];
    CHECK_EQ (pipe (p), 0);
    CHECK_EQ (gl_set_nonblock (p[1]), 0);
    CHECK (fcntl (p[1], F_GETFL) & O_NONBLOCK);
    size_t n = 1 << 20;
    uint8_t *data = malloc (n), *back = malloc (n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t) (i * 7);
    pid_t pid = fork ();
    if (pid == 0) {
        close (p[0]);
        _exit (gl_write_all (p[1], data, n) == 0 ? 0 : 1);
    }
    close (p[1]);
    size_t got = 0;
    ssize_t r;
    while (got < n && (r = read (p[0], back + got, n - got)) > 0)
        got += (size_t) r;
    int st;
    waitpid (pid, &st, 0);
    CHECK (WIFEXITED (st) && WEXITSTATUS (st) == 0);
    CHECK_EQ (got, n);
    CHECK (!memcmp (data, back, n));
    close (p[0]);
    free (data);
    free (back);
    CHECK_EQ (gl_write_all (-1, "x", 1), -1);
}

static void test_rng (void)
{
    uint64_t s = 0;
    /* the published first outputs of splitmix64 from seed 0 */
    CHECK (gl_splitmix64 (&s) == 0xe220a8397b1dcdafULL);
    CHECK (gl_splitmix64 (&s) == 0x6e789e6aa1b965f4ULL);
    uint64_t a = 42, b = 42;
    for (int i = 0; i < 100; i++)
        CHECK (gl_splitmix64 (&a) == gl_splitmix64 (&b));
}

/* where a restorer listens, as a move's or a restart's sender reads it */
static void test_addr_parse (void)
{
    struct sockaddr_storage sa;
    socklen_t len = 0;
    CHECK (gl_addr_parse ("127.0.0.1:40123", &sa, &len));
    const struct sockaddr_in *v4 = (const struct sockaddr_in *) &sa;
    CHECK (sa.ss_family == AF_INET && len == sizeof *v4 && ntohs (v4->sin_port) == 40123);
    CHECK (v4->sin_addr.s_addr == htonl (INADDR_LOOPBACK));
    CHECK (gl_addr_parse ("[::1]:65535", &sa, &len));
    CHECK (sa.ss_family == AF_INET6 && len == sizeof (struct sockaddr_in6));
    CHECK (ntohs (((const struct sockaddr_in6 *) &sa)->sin6_port) == 65535);
    const char *bad[] = { "127.0.0.1",  "127.0.0.1:",      "127.0.0.1:0", "127.0.0.1:65536",
                          ":80",        "host.example:80", "[::1]",       "::1:80x",
                          "1.2.3.4:08", "1.2.3.4: 8",      "1.2.3.4:+8",  "[127.0.0.1:80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK (!gl_addr_parse (bad[i], &sa, &len));
}

/* a pipe read in full: across short reads, and to its end */
static void test_read_full (void)
{
    int p[2];
    CHECK (pipe (p) == 0);
    CHECK (write (p[1], "abc", 3) == 3);
    pid_t child = fork ();
    if (child == 0) { /* the rest a moment later: the reader's first read is short */
        usleep (20000);
        ssize_t w = write (p[1], "defg", 4);
        _exit (w == 4 ? 0 : 1);
    }
    char buf[16] = "";
    CHECK (gl_read_full (p[0], buf, 7) == 7);
    CHECK (!memcmp (buf, "abcdefg", 7));
    close (p[1]);
    int st;
    waitpid (child, &st, 0);
    CHECK (WIFEXITED (st) && WEXITSTATUS (st) == 0);
    CHECK (gl_read_full (p[0], buf, 5) == 0); /* its end */
    close (p[0]);
    CHECK (gl_read_full (p[0], buf, 1) == -1);
}

int main (void)
{
    test_strlcpy ();
    test_parse_u64 ();
    test_json_str ();
    test_all_zero ();
    test_err ();
    test_write_all ();
    test_rng ();
    test_addr_parse ();
    test_read_full ();
    return tap_done ("test_str");
}
