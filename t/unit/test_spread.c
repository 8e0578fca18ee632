/*  test_spread.c -- glx --spread's choices (shim/spread.h): which patterns
    glx takes, which programs they name, which members are on this
    machine, and where a step goes: only where its files are the same,
    never to a member that is not alive and idle or has no core free, and
    over many steps to every allowed member in proportion to its free
    cores. */
#include "spread.h"
#include "tap.h"
#include "view.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void patterns (void)
{
    const char *why = NULL;
    CHECK_EQ (spread_pattern_check ("cc1|as|cc1plus", &why), 0);
    CHECK_EQ (spread_pattern_check ("cc1*|[gl]d", &why), 0);
    CHECK_EQ (spread_pattern_check ("", &why), -1);
    CHECK (why && strstr (why, "empty"));
    CHECK_EQ (spread_pattern_check ("a||b", &why), -1);
    CHECK_EQ (spread_pattern_check ("|a", &why), -1);
    CHECK_EQ (spread_pattern_check ("a|", &why), -1);
    CHECK_EQ (spread_pattern_check ("/usr/bin/as", &why), -1);
    CHECK (why && strstr (why, "no '/'"));
    CHECK_EQ (spread_pattern_check ("a\tb", &why), -1);
    char long_[SPREAD_PATTERN_MAX + 1];
    memset (long_, 'x', sizeof long_ - 1);
    long_[sizeof long_ - 1] = '\0';
    CHECK_EQ (spread_pattern_check (long_, &why), -1);

    CHECK (spread_match ("cc1|as", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"));
    CHECK (spread_match ("cc1|as", "as"));
    CHECK (spread_match ("cc1|as", "/usr/bin/as"));
    CHECK (!spread_match ("cc1|as", "/usr/bin/ash"));
    CHECK (!spread_match ("cc1|as", "cc1plus"));
    CHECK (spread_match ("cc1*", "cc1plus"));
    CHECK (!spread_match ("cc1|as", "/usr/bin/"));
    CHECK (!spread_match ("as", "/usr/as/ld")); /* the program, not a directory */
}

static void addresses (void)
{
    spread_addr_t locals[2] = { { .family = 2, .bytes = { 10, 1, 2, 3 } } };
    CHECK (spread_addr_local ("tcp://127.0.0.1:7946", locals, 1));
    CHECK (spread_addr_local ("tcp://127.8.0.1:7946", locals, 1));
    CHECK (spread_addr_local ("tcp://[::1]:7946", locals, 1));
    CHECK (spread_addr_local ("tcp://10.1.2.3:7946", locals, 1));
    CHECK (!spread_addr_local ("tcp://10.1.2.4:7946", locals, 1));
    CHECK (!spread_addr_local ("tcp://node7:7946", locals, 1)); /* names are not resolved */
    CHECK (!spread_addr_local ("tcp://[fe80::1]:7946", locals, 1));
    CHECK (!spread_addr_local ("", locals, 1));
    spread_addr_t mine[64];
    size_t n = spread_local_addrs (mine, 64);
    bool loopback = false;
    for (size_t i = 0; i < n; i++)
        loopback |= mine[i].family == 2 && mine[i].bytes[0] == 127;
    if (!n)
        tap_skip ("this machine lists no interface addresses");
    else
        CHECK (loopback);
}

static void member (gl_view_node_t *n, const char *name, const char *addr, uint32_t cores,
                    uint32_t guests)
{
    memset (n, 0, sizeof *n);
    snprintf (n->name, sizeof n->name, "%s", name);
    snprintf (n->addr, sizeof n->addr, "%s", addr);
    n->has_res = 1;
    n->cores = cores;
    n->guests = guests;
}

static void picks (const char *dir)
{
    char err[256];
    gl_view_pub_t *pub = gl_view_create (dir, 8, 1, false, err, sizeof err);
    CHECK (pub != NULL);
    if (!pub) {
        fprintf (stderr, "%s\n", err);
        return;
    }
    gl_view_info_t *info = gl_view_begin (pub);
    info->n_nodes = 7;
    member (gl_view_node (pub, 0), "self", "tcp://127.0.0.1:1", 2, 1);
    gl_view_node (pub, 0)->is_self = 1;
    member (gl_view_node (pub, 1), "lo", "tcp://127.0.0.1:2", 4, 0);
    member (gl_view_node (pub, 2), "far", "tcp://192.0.2.7:1", 2, 0);
    member (gl_view_node (pub, 3), "full", "tcp://127.0.0.1:3", 2, 2);
    member (gl_view_node (pub, 4), "busy", "tcp://127.0.0.1:4", 8, 0);
    gl_view_node (pub, 4)->res_state = 1;
    member (gl_view_node (pub, 5), "dead", "tcp://127.0.0.1:5", 8, 0);
    gl_view_node (pub, 5)->state = 2;
    member (gl_view_node (pub, 6), "new", "tcp://127.0.0.1:6", 8, 0);
    gl_view_node (pub, 6)->has_res = 0;
    gl_view_end (pub);
    gl_view_t *v = gl_view_open (dir, err, sizeof err);
    CHECK (v != NULL);
    if (!v) {
        gl_view_destroy (&pub);
        return;
    }
    /* self: 1 free core, lo: 4, far: 2 (only when the files are shared) */
    unsigned here = 0, lo = 0, far = 0, other = 0, failed = 0;
    spread_why_t why;
    char node[64];
    for (uint64_t draw = 0; draw < 7000; draw++) {
        failed += spread_pick (v, false, NULL, 0, draw, node, &why) != 0;
        here += !node[0];
        lo += !strcmp (node, "lo");
        other += node[0] && strcmp (node, "lo");
    }
    CHECK_EQ (failed, 0);
    CHECK_EQ (why.candidates,
              3); /* self, lo, far: full has no core free, busy, dead, new no estimate */
    CHECK_EQ (why.allowed, 2);
    CHECK_EQ (other, 0);
    CHECK_EQ (here, 1400); /* 1 in 5 */
    CHECK_EQ (lo, 5600);
    here = lo = far = other = 0;
    for (uint64_t draw = 0; draw < 7000; draw++) {
        spread_pick (v, true, NULL, 0, draw, node, &why);
        here += !node[0];
        lo += !strcmp (node, "lo");
        far += !strcmp (node, "far");
        other += node[0] && strcmp (node, "lo") && strcmp (node, "far");
    }
    CHECK_EQ (why.allowed, 3);
    CHECK_EQ (other, 0);
    CHECK_EQ (here, 1000); /* 1 in 7, 4 in 7, 2 in 7 */
    CHECK_EQ (lo, 4000);
    CHECK_EQ (far, 2000);
    /* far is on this machine when one of its addresses says so */
    spread_addr_t locals[1] = { { .family = 2, .bytes = { 192, 0, 2, 7 } } };
    spread_pick (v, false, locals, 1, 0, node, &why);
    CHECK_EQ (why.allowed, 3);
    gl_view_close (&v);
    gl_view_destroy (&pub);
}

int main (void)
{
    char dir[64];
    snprintf (dir, sizeof dir, "/tmp/test-spread-%d/", (int) getpid ());
    patterns ();
    addresses ();
    picks (dir);
    return tap_done ("test_spread");
}
