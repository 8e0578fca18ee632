/*  test_conf.c -- cluster.conf parsing, overrides and error messages. */
#include "conf.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/glconf-XXXXXX";
static const char *key_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static const char *write_file (const char *name, const char *text, mode_t mode)
{
    static char path[512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen (path, "w");
    fputs (text, fp);
    fclose (fp);
    chmod (path, mode);
    return path;
}

/* Load text as a file; return 0/-1 and leave the message in err. */
static int load (gl_conf_t *c, const char *text, char *err, size_t errlen)
{
    gl_conf_defaults (c);
    const char *path = write_file ("c.conf", text, 0600);
    return gl_conf_load (c, path, err, errlen);
}

static void test_good (void)
{
    write_file ("k.key", key_hex, 0600);
    gl_conf_t c;
    char err[1024] = "";
    int rc = load (&c,
                   "# a comment\n"
                   "cluster\n"
                   "    name = \"lab\"\n"
                   "    key_file = \"k.key\"\n"
                   "    seed = \"tcp://127.0.0.1:7001\"\n"
                   "    seed = \"tcp://127.0.0.1:7002\"\n"
                   "    clock_window = 30s\n"
                   "node\n"
                   "    name = \"n1\"\n"
                   "    bind = \"tcp://127.0.0.1:7001\"\n"
                   "gossip\n"
                   "    probe_interval = 500ms\n"
                   "    probe_timeout = 200\n"
                   "    pushpull_interval = 1m\n"
                   "idle\n"
                   "    owner_load_max = 0.75\n"
                   "    min_mem_avail = 1G\n"
                   "    activity = \"/tmp/x\"\n",
                   err, sizeof err);
    CHECK_EQ (rc, 0);
    if (rc)
        fprintf (stderr, "  %s\n", err);
    CHECK (!strcmp (c.cluster, "lab"));
    CHECK_EQ (c.n_seeds, 2);
    CHECK (!strcmp (c.seeds[1], "tcp://127.0.0.1:7002"));
    CHECK_EQ (c.clock_window_ms, 30000);
    CHECK_EQ (c.probe_interval_ms, 500);
    CHECK_EQ (c.probe_timeout_ms, 200);
    CHECK_EQ (c.pushpull_interval_ms, 60000);
    CHECK_EQ (c.owner_load_max_milli, 750);
    CHECK_EQ (c.min_mem_avail_kb, 1024 * 1024);
    CHECK_EQ (c.n_activity, 1);
    CHECK_EQ (c.indirect_checks, 3); /* default kept */

    /* command-line overrides, then derived fields */
    CHECK_EQ (gl_conf_set (&c, "node/name", "n2", err, sizeof err), 0);
    CHECK_EQ (gl_conf_set (&c, "node/runtime_dir", "/tmp/rt", err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), 0);
    CHECK (!strcmp (c.name, "n2"));
    CHECK (!strcmp (c.advertise, "tcp://127.0.0.1:7001")); /* from bind */
    CHECK_EQ (c.key[0], 0x00);
    CHECK_EQ (c.key[1], 0x11);
    CHECK_EQ (c.key[31], 0xff);
    CHECK (strstr (c.state_dir, "n2") != NULL);
}

/* Each bad file must fail with a message naming the file, line and field. */
static void expect_error (const char *text, const char *want1, const char *want2)
{
    gl_conf_t c;
    char err[1024] = "";
    int rc = load (&c, text, err, sizeof err);
    CHECK_EQ (rc, -1);
    CHECK (strstr (err, "c.conf") != NULL);
    CHECK (strstr (err, want1) != NULL);
    CHECK (!want2 || strstr (err, want2) != NULL);
    if (rc == 0 || !strstr (err, want1) || (want2 && !strstr (err, want2)))
        fprintf (stderr, "  got: %s\n", err);
}

static void test_errors (void)
{
    expect_error ("cluster\n    name = \"lab\"\n    colour = \"red\"\n",
                  ":3:", "cluster/colour: unknown field");
    expect_error ("cluster\n    name = \"-bad\"\n", ":2:", "cluster/name");
    expect_error ("cluster\n    name = \"lab\"\n\tkey_file = \"k\"\n",
                  ":3:", "a tab in the indent");
    expect_error ("node\n    bind = \"udp://x:1\"\n", ":2:", "node/bind");
    expect_error ("node\n    bind = \"tcp://127.0.0.1:99999\"\n", ":2:", "node/bind");
    expect_error ("node\n    bind = \"tcp://127.0.0.1:0017946\"\n", ":2:", "node/bind");
    expect_error ("gossip\n    probe_interval = 10x\n", ":2:", "not a duration");
    expect_error ("gossip\n    indirect_checks = 1000\n", ":2:", "out of range");
    expect_error ("gossip\n    indirect_checks = -1\n", ":2:", "whole number");
    expect_error ("idle\n    owner_load_max = .3\n", ":2:", "idle/owner_load_max");
    expect_error ("cluster\n    key = \"abc\"\n", ":2:", "cluster/key");
    expect_error ("weather\n    sunny = 1\n", ":1:", "unknown section");
    expect_error ("cluster\n      name = \"x\"\n", ":2:", NULL); /* ZPL indent */
    expect_error ("cluster\n    seed = \"tcp://a:1\"\n    seed = \"nope\"\n",
                  ":3:", "cluster/seed");
    expect_error ("log\n    level = loud\n", ":2:", "log/level");
    expect_error ("cluster\n    root_jobs = maybe\n", ":2:", "not yes or no");
    expect_error ("node\n    deny_users = \"bob, -x\"\n", ":2:", "'-x' is not a user name");
    expect_error ("node\n    allow_users = \"a/b\"\n", ":2:", "node/allow_users");
    /* one account, not a list (fuzz_conf) */
    expect_error ("node\n    agent_user = \"a,b\"\n",
                  ":2:", "node/agent_user: 'a,b' is not a user name");
    expect_error ("node\n    agent_user = \" \"\n",
                  ":2:", "node/agent_user: ' ' is not a user name");
    expect_error ("node\n    uids = \"1000-50\"\n", ":2:", "node/uids");
    expect_error ("node\n    uids = \"1000-\"\n", ":2:", "not a list of uids");
    expect_error ("node\n    uids = \"x\"\n", ":2:", "not a list of uids");

    gl_conf_t c;
    char err[1024];
    gl_conf_defaults (&c);
    CHECK_EQ (gl_conf_load (&c, "/nonexistent/cluster.conf", err, sizeof err), -1);
    CHECK (strstr (err, "/nonexistent/cluster.conf") != NULL);
}

/* Load len bytes (NULs and all) as a file. */
static int load_bytes (gl_conf_t *c, const char *text, size_t len, char *err, size_t errlen)
{
    gl_conf_defaults (c);
    char path[512];
    snprintf (path, sizeof path, "%s/c.conf", dir);
    FILE *fp = fopen (path, "w");
    fwrite (text, 1, len, fp);
    fclose (fp);
    return gl_conf_load (c, path, err, errlen);
}

/* An error names the line the fault is on, whatever the lines before it
   hold (fuzz_conf found both of these). */
static void test_lines (void)
{
    gl_conf_t c;
    char err[1024] = "";
    /* a NUL byte, where zconfig's view of the line ends: not text */
    static const char nul[] = "gossip\n    probe_interval = 1s\n    probe_timeou\v\0= 600\n";
    CHECK_EQ (load_bytes (&c, nul, sizeof nul - 1, err, sizeof err), -1);
    CHECK (strstr (err, "c.conf:3: ") != NULL && strstr (err, "NUL") != NULL);
    if (!strstr (err, "c.conf:3: ") || !strstr (err, "NUL"))
        fprintf (stderr, "  got: %s\n", err);
    /* a line longer than 4 KiB before the faulty one */
    static char text[8192];
    size_t n = (size_t) snprintf (text, sizeof text, "# ");
    memset (text + n, 'x', 5000);
    n += 5000;
    snprintf (text + n, sizeof text - n, "\ncluster\n    colour = red\n");
    expect_error (text, "c.conf:3: ", "cluster/colour: unknown field");
    /* a field given twice, the second time wrong; a section given twice */
    expect_error ("gossip\n    probe_interval = 1s\n    probe_interval = 10x\n",
                  "c.conf:3: ", "not a duration");
    expect_error ("idle\n    proc_dir = /p\nlog\n    level = info\nidle\n    proc_dir = \"\"\n",
                  "c.conf:6: ", "idle/proc_dir");
    /* names longer than any field's */
    static char name[400];
    memset (name, 's', sizeof name - 1);
    snprintf (text, sizeof text, "cluster\n    name = x\n%s\n", name);
    expect_error (text, "c.conf:3: ", "unknown section");
    snprintf (text, sizeof text, "cluster\n    name = x\n    %s = 1\n", name);
    expect_error (text, "c.conf:3: ", "unknown field");
    /* a name zconfig ends at white space other than a space or a tab */
    expect_error ("idle\ns.hed\v\n", "c.conf:2: ", "s.hed: unknown section");
    expect_error ("cluster\n    colour\f= red\n", "c.conf:2: ", "cluster/colour: unknown field");
}

static void test_finish_errors (void)
{
    gl_conf_t c;
    char err[1024];

    /* no cluster name */
    CHECK_EQ (load (&c, "node\n    name = \"a\"\n", err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "cluster/name") != NULL);

    /* no key */
    CHECK_EQ (load (&c, "cluster\n    name = \"x\"\n", err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "cluster/key") != NULL);

    /* a key file readable by others is refused */
    write_file ("open.key", key_hex, 0644);
    CHECK_EQ (
        load (&c, "cluster\n    name = \"x\"\n    key_file = \"open.key\"\n", err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "open.key") && strstr (err, "readable by others"));

    /* a missing key file is named */
    CHECK_EQ (
        load (&c, "cluster\n    name = \"x\"\n    key_file = \"missing.key\"\n", err, sizeof err),
        0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "missing.key") != NULL);

    /* a wildcard bind needs an advertised address */
    char text[512];
    snprintf (text, sizeof text,
              "cluster\n    name = \"x\"\n    key = \"%s\"\nnode\n"
              "    name = \"a\"\n    bind = \"tcp://*:7000\"\n",
              key_hex);
    CHECK_EQ (load (&c, text, err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "node/advertise") != NULL);

    /* the probe timeout must fit inside the probe interval */
    snprintf (text, sizeof text,
              "cluster\n    name = \"x\"\n    key = \"%s\"\nnode\n"
              "    name = \"a\"\n    bind = \"tcp://127.0.0.1:7000\"\ngossip\n"
              "    probe_timeout = 2s\n",
              key_hex);
    CHECK_EQ (load (&c, text, err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "probe_timeout") != NULL);

    /* overrides are checked like the file */
    CHECK_EQ (gl_conf_set (&c, "node/bind", "nope", err, sizeof err), -1);
    CHECK (strstr (err, "node/bind") != NULL);
    CHECK_EQ (gl_conf_set (&c, "node/colour", "red", err, sizeof err), -1);
}

static void test_more (void)
{
    gl_conf_t c;
    char err[1024], text[512];
    /* a bare number of seconds is seconds, not milliseconds */
    CHECK_EQ (load (&c, "idle\n    owner_idle_min = 900\n", err, sizeof err), 0);
    CHECK_EQ (c.owner_idle_min_s, 900);
    CHECK_EQ (load (&c, "idle\n    owner_idle_min = 15m\n", err, sizeof err), 0);
    CHECK_EQ (c.owner_idle_min_s, 900);

    /* an inline key in a file others can read is refused */
    snprintf (text, sizeof text,
              "cluster\n    name = \"x\"\n    key = \"%s\"\nnode\n"
              "    name = \"a\"\n    bind = \"tcp://127.0.0.1:7000\"\n",
              key_hex);
    CHECK_EQ (load (&c, text, err, sizeof err), 0);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), 0);
    CHECK_EQ (load (&c, text, err, sizeof err), 0);
    chmod (c.file, 0644);
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "readable by others") != NULL);

    /* wildcards are not addresses to advertise */
    CHECK_EQ (gl_conf_set (&c, "node/bind", "tcp://0.0.0.0:7000", err, sizeof err), 0);
    chmod (c.file, 0600);
    c.advertise[0] = '\0';
    CHECK_EQ (gl_conf_finish (&c, err, sizeof err), -1);
    CHECK (strstr (err, "node/advertise") != NULL);
}

static void test_parsers (void)
{
    uint64_t v;
    CHECK (gl_parse_duration_ms ("1500", &v) == 0 && v == 1500);
    CHECK (gl_parse_duration_ms ("2s", &v) == 0 && v == 2000);
    CHECK (gl_parse_duration_ms ("1h", &v) == 0 && v == 3600000);
    CHECK (gl_parse_duration_ms ("", &v) == -1);
    CHECK (gl_parse_duration_ms ("s", &v) == -1);
    CHECK (gl_parse_duration_ms ("99999999999999999999", &v) == -1);
    CHECK (gl_parse_duration_ms ("18446744073709551615h", &v) == -1);
    CHECK (gl_parse_size_kb ("64M", &v) == 0 && v == 65536);
    CHECK (gl_parse_size_kb ("1T", &v) == -1);
    CHECK (gl_parse_milli ("0.3", &v) == 0 && v == 300);
    CHECK (gl_parse_milli ("2", &v) == 0 && v == 2000);
    CHECK (gl_parse_milli ("1.2345", &v) == 0 && v == 1234);
    CHECK (gl_parse_milli ("1.", &v) == -1);
    CHECK (gl_parse_milli ("x", &v) == -1);
}

/* who a node runs jobs for: the fields and their parser */
static void test_users (void)
{
    gl_conf_t c;
    char err[1024];
    gl_conf_defaults (&c);
    CHECK (!c.root_jobs);
    CHECK (!strcmp (c.uids, "1000-60000"));
    CHECK_EQ (load (&c,
                    "cluster\n    root_jobs = yes\nnode\n    allow_users = \"ann, bob carl\"\n"
                    "    deny_users = \"eve\"\n    uids = \"0, 500-600 ,7000-7000\"\n",
                    err, sizeof err),
              0);
    CHECK (c.root_jobs);
    CHECK (!strcmp (c.deny_users, "eve"));
    uint32_t r[GL_UID_RANGES][2];
    size_t n = 99;
    CHECK_EQ (gl_parse_uid_ranges (c.uids, r, GL_UID_RANGES, &n), 0);
    CHECK_EQ (n, 3);
    CHECK (r[0][0] == 0 && r[0][1] == 0 && r[1][0] == 500 && r[1][1] == 600 && r[2][0] == 7000);
    CHECK_EQ (gl_parse_uid_ranges ("", r, GL_UID_RANGES, &n), 0);
    CHECK_EQ (n, 0);
    CHECK_EQ (gl_parse_uid_ranges ("1 2 3", r, 2, &n), -1); /* more than max */
    const char *at = c.allow_users, *want[] = { "ann", "bob", "carl" };
    size_t k = 0;
    for (size_t len; (len = gl_users_next (&at)); at += len, k++)
        CHECK (k < 3 && len == strlen (want[k]) && !memcmp (at, want[k], len));
    CHECK_EQ (k, 3);
    CHECK_EQ (gl_conf_set (&c, "node/deny_users", "x y", err, sizeof err), 0);
    CHECK_EQ (gl_conf_set (&c, "cluster/root_jobs", "no", err, sizeof err), 0);
    CHECK (!c.root_jobs);
}

int main (void)
{
    if (!mkdtemp (dir))
        return 1;
    test_good ();
    test_errors ();
    test_lines ();
    test_finish_errors ();
    test_more ();
    test_parsers ();
    test_users ();
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
    return tap_done ("test_conf");
}
