/*  glforge -- what a member holding the cluster key could send: a RUN in
    another node's name, for tests of job credentials with real peers.

        glforge ENDPOINT KEY_FILE CLUSTER HOME GENERATION USER unsigned|random|NODE_KEY \
                -- PROG [ARGS...]

    Seals, with the cluster key in KEY_FILE, a RUN of PROG for USER as if
    HOME (at GENERATION) asked, and sends it to the peer at ENDPOINT: with
    no credential, with one signed by a random key, or with one signed by
    the node key in the file NODE_KEY (a node's state_dir/node.key: what
    only that node holds).  The peer's answer goes to the real HOME. */
#include "cred.h"
#include "ident.h"
#include "seal.h"
#include "str.h"
#include "wire.h"

#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int main (int argc, char **argv)
{
    if (argc < 10 || strcmp (argv[8], "--")) {
        fprintf (stderr, "usage: glforge ENDPOINT KEY_FILE CLUSTER HOME GENERATION USER "
                         "unsigned|random|NODE_KEY -- PROG [ARGS...]\n");
        return 2;
    }
    if (sodium_init () < 0)
        return 1;
    char text[256] = "";
    FILE *f = fopen (argv[2], "r");
    uint8_t key[GL_KEY_BYTES];
    if (!f || !fgets (text, sizeof text, f) || gl_key_parse (text, key)) {
        fprintf (stderr, "glforge: no cluster key in %s\n", argv[2]);
        return 1;
    }
    fclose (f);
    uint64_t gen = strtoull (argv[5], NULL, 10);
    char *env[] = { "PATH=/usr/bin:/bin", NULL };
    gl_job_t run = { .type = GL_JOB_RUN,
                     .argc = (uint32_t) (argc - 9),
                     .argv = argv + 9,
                     .envc = 1,
                     .envv = env,
                     .cwd = "/" };
    snprintf (run.gpid, sizeof run.gpid, "%s-%llu-%u", argv[4], (unsigned long long) gen,
              (unsigned) (wall_ms () % 100000));
    gl_strlcpy (run.home, argv[4], sizeof run.home);
    gl_strlcpy (run.user, argv[6], sizeof run.user);
    const char *how = argv[7];
    if (strcmp (how, "unsigned")) {
        uint8_t seed[32];
        if (!strcmp (how, "random"))
            randombytes_buf (seed, sizeof seed);
        else {
            uint8_t sk[64];
            FILE *k = fopen (how, "rb");
            if (!k || fread (sk, 1, sizeof sk, k) != sizeof sk) {
                fprintf (stderr, "glforge: cannot read the node key %s\n", how);
                return 1;
            }
            fclose (k);
            memcpy (seed, sk, sizeof seed); /* an Ed25519 secret key starts with its seed */
        }
        gl_ident_t *ident = gl_ident_new_ephemeral (gen, seed);
        if (!ident || cred_sign (ident, argv[3], &run, wall_ms ())) {
            fprintf (stderr, "glforge: cannot sign\n");
            return 1;
        }
        gl_ident_destroy (&ident);
    }
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = &run };
    uint8_t *body, *pkt;
    size_t body_len, pkt_len;
    gl_seal_t *seal = gl_seal_new (key, argv[3], argv[4], gen, 60000);
    if (!seal || gl_msg_encode (&msg, &body, &body_len) ||
        gl_seal_pack (seal, wall_ms (), body, body_len, &pkt, &pkt_len)) {
        fprintf (stderr, "glforge: cannot make the packet\n");
        return 1;
    }
    zsock_t *out = zsock_new (ZMQ_DEALER); /* the agent's ROUTER takes it (cmd/links.h) */
    zsock_set_linger (out, 2000);
    if (!out || zsock_connect (out, "%s", argv[1]) ||
        zmq_send (zsock_resolve (out), pkt, pkt_len, 0) != (int) pkt_len) {
        fprintf (stderr, "glforge: cannot send to %s\n", argv[1]);
        return 1;
    }
    zsock_destroy (&out);
    printf ("sent %s (%s) to %s\n", run.gpid, how, argv[1]);
    free (body);
    free (pkt);
    gl_seal_destroy (&seal);
    return 0;
}
