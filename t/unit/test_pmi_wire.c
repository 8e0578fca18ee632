/*  test_pmi_wire.c -- the PMI-1 framer and parser: what MPICH 4.0 sends,
    byte by byte and in one piece, and every reason a request is refused. */

#include "pmi_wire.h"
#include "tap.h"

#include <string.h>

/* Feed the len bytes at s to r in pieces of step bytes; the requests
   found, joined by '|'. */
static int feed_bytes (pmi_reader_t *r, const char *s, size_t len, size_t step, char *out,
                       size_t outlen, const char **why)
{
    size_t at = 0;
    out[0] = '\0';
    for (;;) {
        const char *req;
        size_t n;
        int rc;
        while ((rc = pmi_reader_next (r, &req, &n, why)) == 1) {
            size_t used = strlen (out);
            snprintf (out + used, outlen - used, "%s%.*s", used ? "|" : "", (int) n, req);
        }
        if (rc < 0)
            return -1;
        size_t room;
        char *space = pmi_reader_space (r, &room);
        size_t k = len - at < step ? len - at : step;
        if (k > room)
            k = room;
        if (k == 0)
            return 0;
        memcpy (space, s + at, k);
        pmi_reader_wrote (r, k);
        at += k;
    }
}

static int feed (pmi_reader_t *r, const char *s, size_t step, char *out, size_t outlen,
                 const char **why)
{
    return feed_bytes (r, s, strlen (s), step, out, outlen, why);
}

/* What a rank of MPICH 4.0 sent at MPI_Init and MPI_Finalize (captured). */
static const char *const mpich_init =
    "cmd=init pmi_version=1 pmi_subversion=1\n"
    "cmd=get_maxes\n"
    "cmd=get_appnum\n"
    "cmd=get_my_kvsname\n"
    "cmd=get kvsname=kvs_x key=PMI_process_mapping\n"
    "cmd=barrier_in\n"
    "cmd=put kvsname=kvs_x key=-allgather-shm-1-0 value=20058BF29F7571E7F5\n"
    "cmd=finalize\n";

static void test_framing (void)
{
    static const size_t steps[] = { 1, 2, 3, 7, 64, 4096 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        pmi_reader_t r;
        pmi_reader_init (&r);
        char out[2048];
        const char *why = NULL;
        CHECK_EQ (feed (&r, mpich_init, steps[i], out, sizeof out, &why), 0);
        CHECK (!strcmp (out, "cmd=init pmi_version=1 pmi_subversion=1|cmd=get_maxes|cmd=get_appnum|"
                             "cmd=get_my_kvsname|cmd=get kvsname=kvs_x key=PMI_process_mapping|"
                             "cmd=barrier_in|cmd=put kvsname=kvs_x key=-allgather-shm-1-0 "
                             "value=20058BF29F7571E7F5|cmd=finalize"));
    }
    /* a spawn block ends at its endcmd line, not at its first newline */
    pmi_reader_t r;
    pmi_reader_init (&r);
    char out[1024];
    const char *why = NULL;
    CHECK_EQ (feed (&r,
                    "mcmd=spawn\nnprocs=2\nexecname=/bin/true\narg1=a b\nendcmd\ncmd=get_appnum\n",
                    5, out, sizeof out, &why),
              0);
    CHECK (
        !strcmp (out, "mcmd=spawn\nnprocs=2\nexecname=/bin/true\narg1=a b\nendcmd|cmd=get_appnum"));
    /* half a request is not one */
    pmi_reader_init (&r);
    CHECK_EQ (feed (&r, "cmd=get_ma", 3, out, sizeof out, &why), 0);
    CHECK (!strcmp (out, ""));
    pmi_reader_init (&r);
    CHECK_EQ (feed (&r, "mcmd=spawn\nendcm", 3, out, sizeof out, &why), 0);
    CHECK (!strcmp (out, ""));
}

static void refused_stream (const char *s, const char *reason)
{
    pmi_reader_t r;
    pmi_reader_init (&r);
    char out[8192];
    const char *why = NULL;
    CHECK_EQ (feed (&r, s, 1000, out, sizeof out, &why), -1);
    CHECK (why && !strcmp (why, reason));
    /* and for good */
    const char *req;
    size_t n;
    why = NULL;
    CHECK_EQ (pmi_reader_next (&r, &req, &n, &why), -1);
    CHECK (why && !strcmp (why, reason));
    size_t room = 1;
    pmi_reader_space (&r, &room);
    CHECK_EQ (room, 0);
}

static void test_refused_streams (void)
{
    refused_stream ("hello\n", "not a PMI-1 request (expected cmd= or mcmd=)");
    refused_stream ("cmd=get_appnum\ncmd=x\nGET / HTTP/1.0\n",
                    "not a PMI-1 request (expected cmd= or mcmd=)");
    refused_stream ("    29cmd=fullinit;pmirank=0;threaded=FALSE;",
                    "a PMI-2 request (length-prefixed): glunix serves PMI-1");
    char nul[] = "cmd=get\0x\n";
    pmi_reader_t r;
    pmi_reader_init (&r);
    size_t room;
    char *space = pmi_reader_space (&r, &room);
    memcpy (space, nul, sizeof nul - 1);
    pmi_reader_wrote (&r, sizeof nul - 1);
    const char *req, *why = NULL;
    size_t n;
    CHECK_EQ (pmi_reader_next (&r, &req, &n, &why), -1);
    CHECK (why && !strcmp (why, "a NUL byte in a request"));

    static char big[PMI_REQ_MAX + 100];
    memcpy (big, "cmd=put value=", 14);
    memset (big + 14, 'A', sizeof big - 16);
    big[sizeof big - 2] = '\n';
    refused_stream (big, "a request longer than 4096 bytes");
    /* exactly the longest request that fits: 4095 bytes and its newline */
    memset (big + 14, 'A', PMI_REQ_MAX - 15);
    big[PMI_REQ_MAX - 1] = '\n';
    big[PMI_REQ_MAX] = '\0';
    pmi_reader_init (&r);
    static char got[PMI_REQ_MAX + 8];
    CHECK_EQ (feed (&r, big, 333, got, sizeof got, &why), 0);
    CHECK_EQ (strlen (got), PMI_REQ_MAX - 1);
}

/* A stream means the same whatever pieces it comes in: the same requests
   handed out, then the same refusal.  A NUL byte refuses the request it
   is in, not the whole ones before it, and a stream broken before its
   NUL is refused for what broke it first. */
static void test_pieces_agree (void)
{
    static const struct {
        const char *s;
        size_t len;
        const char *reqs, *why;
    } streams[] = {
        { "cmd=get_appnum\ncmd=\0", 20, "cmd=get_appnum", "a NUL byte in a request" },
        { "cmd=get_appnum\n\0", 16, "cmd=get_appnum",
          "not a PMI-1 request (expected cmd= or mcmd=)" },
        { "cmd=barrier_in\ncmd=get\0x\n", 24, "cmd=barrier_in", "a NUL byte in a request" },
        { "mcmd=spawn\nendcmd\ncmd=x\0", 24, "mcmd=spawn\nendcmd", "a NUL byte in a request" },
        { "cmdrar\0", 7, "", "not a PMI-1 request (expected cmd= or mcmd=)" },
        { "12\0", 3, "", "not a PMI-1 request (expected cmd= or mcmd=)" },
    };
    static const size_t steps[] = { 1, 2, 5, 4096 };
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
        for (size_t j = 0; j < sizeof steps / sizeof steps[0]; j++) {
            pmi_reader_t r;
            pmi_reader_init (&r);
            char out[256];
            const char *why = NULL;
            CHECK_EQ (
                feed_bytes (&r, streams[i].s, streams[i].len, steps[j], out, sizeof out, &why), -1);
            CHECK (!strcmp (out, streams[i].reqs));
            CHECK (why && !strcmp (why, streams[i].why));
            if (strcmp (out, streams[i].reqs) || !why || strcmp (why, streams[i].why))
                fprintf (stderr, "  stream %zu in pieces of %zu: '%s', %s\n", i, steps[j], out,
                         why ? why : "(no reason)");
        }
}

static int parse (const char *s, pmi_cmd_t *cmd, const char **why)
{
    return pmi_cmd_parse (s, strlen (s), cmd, why);
}

static void test_parse (void)
{
    static pmi_cmd_t cmd;
    const char *why = NULL;
    CHECK_EQ (parse ("cmd=put kvsname=kvs_1 key=-bcast-1-0 value=2F6465=", &cmd, &why), 0);
    CHECK (!strcmp (cmd.name, "put") && !cmd.multi);
    CHECK_EQ (cmd.n, 3);
    CHECK (!strcmp (pmi_cmd_get (&cmd, "kvsname"), "kvs_1"));
    CHECK (!strcmp (pmi_cmd_get (&cmd, "key"), "-bcast-1-0"));
    CHECK (!strcmp (pmi_cmd_get (&cmd, "value"), "2F6465=")); /* '=' in a value is a value */
    CHECK (pmi_cmd_get (&cmd, "nothing") == NULL);
    CHECK_EQ (parse ("cmd=barrier_in", &cmd, &why), 0);
    CHECK (!strcmp (cmd.name, "barrier_in") && cmd.n == 0);
    CHECK_EQ (parse ("cmd=get_maxes   ", &cmd, &why), 0); /* trailing spaces */
    CHECK_EQ (parse ("cmd=put key= value=", &cmd, &why), 0);
    CHECK (!strcmp (pmi_cmd_get (&cmd, "key"), ""));
    CHECK_EQ (parse ("mcmd=spawn\nnprocs=1\nexecname=/bin/x\narg1=two words\nendcmd", &cmd, &why),
              0);
    CHECK (!strcmp (cmd.name, "spawn") && cmd.multi && cmd.n == 3);
    CHECK (!strcmp (pmi_cmd_get (&cmd, "arg1"), "two words"));
    CHECK (!strcmp (pmi_cmd_word (cmd.name), "spawn"));
    CHECK (!strcmp (pmi_cmd_word ("x y"), "?"));

    struct {
        const char *req, *why;
    } bad[] = {
        { "", "not a PMI-1 request (expected cmd= or mcmd=)" },
        { "command=init", "not a PMI-1 request (expected cmd= or mcmd=)" },
        { "cmd=", "a command name that is empty, too long or not [A-Za-z0-9_-]" },
        { "cmd=in!t", "a command name that is empty, too long or not [A-Za-z0-9_-]" },
        { "cmd=put key", "an attribute without '='" },
        { "cmd=put =v", "an attribute key that is empty, too long or not [A-Za-z0-9_-]" },
        { "cmd=put k.y=v", "an attribute key that is empty, too long or not [A-Za-z0-9_-]" },
        { "cmd=put key=a key=b", "an attribute key given twice" },
        { "cmd=put cmd=get", "a second command name" },
        { "cmd=put key=a\nvalue=b", "a newline inside a one-line request" },
        { "mcmd=spawn\nnprocs=1", "a multi-line request without endcmd" },
        { "mcmd=spawn\nendcmd\nnprocs=1", "lines after endcmd" },
        { "mcmd=spawn\nnprocs", "an attribute without '='" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        CHECK_EQ (parse (bad[i].req, &cmd, &why), -1);
        CHECK (why && !strcmp (why, bad[i].why));
        if (!why || strcmp (why, bad[i].why))
            fprintf (stderr, "  request %zu: %s\n", i, why ? why : "(no reason)");
    }
    CHECK_EQ (pmi_cmd_parse ("cmd=x\0y", 7, &cmd, &why), -1);
    CHECK (!strcmp (why, "a NUL byte in a request"));
    /* the most attributes there may be, and one more */
    static char many[PMI_REQ_MAX];
    size_t len = (size_t) snprintf (many, sizeof many, "cmd=x");
    for (int i = 0; i < PMI_ATTRS_MAX; i++)
        len += (size_t) snprintf (many + len, sizeof many - len, " a%d=", i);
    CHECK_EQ (parse (many, &cmd, &why), 0);
    CHECK_EQ (cmd.n, PMI_ATTRS_MAX);
    snprintf (many + len, sizeof many - len, " z=1");
    CHECK_EQ (parse (many, &cmd, &why), -1);
    CHECK (!strcmp (why, "more than 128 attributes"));
}

int main (void)
{
    test_framing ();
    test_refused_streams ();
    test_pieces_agree ();
    test_parse ();
    return tap_done ("test_pmi_wire");
}
