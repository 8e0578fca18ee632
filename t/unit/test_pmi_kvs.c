/*  test_pmi_kvs.c -- the PMI server of a parallel job: MPICH's start-up
    conversation, the barrier, the key-value space and its limits, the
    node mapping and its wait, refusals, abort, and the ends that break a
    job. */

#include "pmi_kvs.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* What came out, one "KIND RANK TEXT" per line, answers without their
   newline; kinds R(eply), X (refused), A(bort CODE), B(roken). */
static char outs[1 << 16];

static const char *drain (pmi_kvs_t *kvs)
{
    outs[0] = '\0';
    pmi_out_t o;
    while (pmi_kvs_pop (kvs, &o)) {
        size_t used = strlen (outs);
        size_t tl = strlen (o.text);
        if (tl && o.text[tl - 1] == '\n')
            tl--;
        const char *k = o.kind == PMI_OUT_REPLY     ? "R"
                        : o.kind == PMI_OUT_REFUSED ? "X"
                        : o.kind == PMI_OUT_ABORT   ? "A"
                                                    : "B";
        if (o.kind == PMI_OUT_ABORT)
            snprintf (outs + used, sizeof outs - used, "%s%s %u %lld %.*s", used ? "\n" : "", k,
                      o.rank, (long long) o.code, (int) tl, o.text);
        else
            snprintf (outs + used, sizeof outs - used, "%s%s %u %.*s", used ? "\n" : "", k, o.rank,
                      (int) tl, o.text);
        free (o.text);
    }
    return outs;
}

static void ask (pmi_kvs_t *kvs, uint32_t rank, const char *req)
{
    static pmi_cmd_t cmd;
    const char *why = NULL;
    int rc = pmi_cmd_parse (req, strlen (req), &cmd, &why);
    CHECK_EQ (rc, 0);
    if (rc == 0)
        pmi_kvs_request (kvs, rank, &cmd);
}

#define EXPECT(kvs, want)                                                                 \
    do {                                                                                  \
        const char *got_ = drain (kvs);                                                   \
        CHECK (!strcmp (got_, (want)));                                                   \
        if (strcmp (got_, (want)))                                                        \
            fprintf (stderr, "  got:\n%s\n  wanted:\n%s\n", got_, (const char *) (want)); \
    } while (0)

static void test_mpich_start (void)
{
    pmi_kvs_t *kvs = pmi_kvs_new (2, "kvs_a_1");
    ask (kvs, 0, "cmd=init pmi_version=1 pmi_subversion=1");
    ask (kvs, 0, "cmd=get_maxes");
    ask (kvs, 0, "cmd=get_appnum");
    ask (kvs, 0, "cmd=get_universe_size");
    ask (kvs, 0, "cmd=get_my_kvsname");
    EXPECT (kvs, "R 0 cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"
                 "R 0 cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024\n"
                 "R 0 cmd=appnum appnum=0\n"
                 "R 0 cmd=universe_size size=2\n"
                 "R 0 cmd=my_kvsname kvsname=kvs_a_1");
    CHECK (pmi_kvs_initialized (kvs, 0) && !pmi_kvs_initialized (kvs, 1));

    /* the mapping waits until every rank's node is known */
    ask (kvs, 0, "cmd=get kvsname=kvs_a_1 key=PMI_process_mapping");
    EXPECT (kvs, "");
    pmi_kvs_set_node (kvs, 0, "b");
    EXPECT (kvs, "");
    CHECK (pmi_kvs_mapping (kvs) == NULL);
    pmi_kvs_set_node (kvs, 1, "b");
    EXPECT (kvs, "R 0 cmd=get_result rc=0 msg=success value=(vector,(0,1,2))");
    ask (kvs, 1, "cmd=get kvsname=kvs_a_1 key=PMI_process_mapping");
    EXPECT (kvs, "R 1 cmd=get_result rc=0 msg=success value=(vector,(0,1,2))");

    /* the barrier lets everyone out once everyone is in */
    ask (kvs, 1, "cmd=barrier_in");
    ask (kvs, 1, "cmd=barrier_in"); /* a second one from a waiting rank changes nothing */
    EXPECT (kvs, "");
    ask (kvs, 0, "cmd=barrier_in");
    EXPECT (kvs, "R 0 cmd=barrier_out\nR 1 cmd=barrier_out");

    /* put, barrier, get */
    ask (kvs, 0, "cmd=put kvsname=kvs_a_1 key=-bcast-1-0 value=2F6465762F73686D");
    ask (kvs, 1, "cmd=get kvsname=kvs_a_1 key=-bcast-1-1");
    EXPECT (kvs, "R 0 cmd=put_result rc=0 msg=success\n"
                 "R 1 cmd=get_result rc=-1 msg=key_-bcast-1-1_not_found");
    ask (kvs, 0, "cmd=barrier_in");
    ask (kvs, 1, "cmd=barrier_in");
    ask (kvs, 1, "cmd=get kvsname=kvs_a_1 key=-bcast-1-0");
    EXPECT (kvs, "R 0 cmd=barrier_out\nR 1 cmd=barrier_out\n"
                 "R 1 cmd=get_result rc=0 msg=success value=2F6465762F73686D");
    ask (kvs, 1, "cmd=put kvsname=kvs_a_1 key=-bcast-1-0 value=x");
    EXPECT (kvs, "R 1 cmd=put_result rc=-1 msg=duplicate_key_-bcast-1-0\n"
                 "X 1 rank 1 put the key -bcast-1-0 twice");

    ask (kvs, 0, "cmd=finalize");
    EXPECT (kvs, "R 0 cmd=finalize_ack");
    CHECK (pmi_kvs_finalized (kvs, 0) && !pmi_kvs_finalized (kvs, 1));
    pmi_kvs_rank_ended (kvs, 0, false);
    EXPECT (kvs, "");
    pmi_kvs_destroy (&kvs);
    CHECK (kvs == NULL);
}

static void mapping_is (const char *const *nodes, uint32_t n, const char *want)
{
    pmi_kvs_t *kvs = pmi_kvs_new (n, "k");
    for (uint32_t r = n; r-- > 0;) /* in any order */
        pmi_kvs_set_node (kvs, r, nodes[r]);
    const char *got = pmi_kvs_mapping (kvs);
    CHECK (got && !strcmp (got, want));
    if (!got || strcmp (got, want))
        fprintf (stderr, "  mapping %s, wanted %s\n", got ? got : "(none)", want);
    pmi_kvs_destroy (&kvs);
}

static void test_mapping (void)
{
    mapping_is ((const char *[]){ "a" }, 1, "(vector,(0,1,1))");
    mapping_is ((const char *[]){ "a", "b" }, 2, "(vector,(0,2,1))");
    mapping_is ((const char *[]){ "a", "a", "b", "b" }, 4, "(vector,(0,2,2))");
    mapping_is ((const char *[]){ "a", "b", "a", "b" }, 4, "(vector,(0,2,1),(0,2,1))");
    mapping_is ((const char *[]){ "c", "c", "c", "a", "b", "b" }, 6,
                "(vector,(0,1,3),(1,1,1),(2,1,2))");
    mapping_is ((const char *[]){ "b", "a", "b", "c" }, 4, "(vector,(0,2,1),(0,1,1),(2,1,1))");

    /* too long to be a value: left out, and the get says not found */
    enum { N = 600 };
    pmi_kvs_t *kvs = pmi_kvs_new (N, "k");
    ask (kvs, 5, "cmd=get kvsname=k key=PMI_process_mapping");
    char node[16];
    uint32_t x = 1;
    for (uint32_t r = 0; r < N; r++) {
        x = x * 1103515245u + 12345u; /* ranks scattered over 50 nodes */
        snprintf (node, sizeof node, "n%u", (x >> 16) % 50);
        pmi_kvs_set_node (kvs, r, node);
    }
    CHECK (pmi_kvs_mapping (kvs) == NULL);
    EXPECT (kvs, "R 5 cmd=get_result rc=-1 msg=key_PMI_process_mapping_not_found");
    pmi_kvs_destroy (&kvs);
}

static void test_limits (void)
{
    pmi_kvs_t *kvs = pmi_kvs_new (1, "k");
    char req[2200], val[1100];
    memset (val, 'A', 1025);
    val[1025] = '\0';
    snprintf (req, sizeof req, "cmd=put kvsname=k key=big value=%s", val);
    ask (kvs, 0, req);
    val[1024] = '\0';
    snprintf (req, sizeof req, "cmd=put kvsname=k key=big value=%s", val);
    ask (kvs, 0, req);
    ask (kvs, 0,
         "cmd=put kvsname=k key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "
         "value=1");
    ask (kvs, 0, "cmd=put kvsname=other key=a value=1");
    ask (kvs, 0, "cmd=put kvsname=k value=1");
    ask (kvs, 0, "cmd=get kvsname=other key=a");
    ask (kvs, 0, "cmd=get kvsname=k");
    EXPECT (kvs, "R 0 cmd=put_result rc=-1 msg=refused\n"
                 "X 0 rank 0 sent a put of a value longer than 1024 bytes\n"
                 "R 0 cmd=put_result rc=0 msg=success\n"
                 "R 0 cmd=put_result rc=-1 msg=refused\n"
                 "X 0 rank 0 sent a put of a key that is empty or longer than 64 bytes\n"
                 "R 0 cmd=put_result rc=-1 msg=refused\n"
                 "X 0 rank 0 sent a put to another job's key-value space\n"
                 "R 0 cmd=put_result rc=-1 msg=refused\n"
                 "X 0 rank 0 sent a put without kvsname, key or value\n"
                 "R 0 cmd=get_result rc=-1 msg=refused\n"
                 "X 0 rank 0 sent a get from another job's key-value space\n"
                 "R 0 cmd=get_result rc=-1 msg=refused\n"
                 "X 0 rank 0 sent a get without kvsname or key");
    /* 64 MiB of keys and values, and no more */
    size_t puts = 0;
    for (;; puts++) {
        snprintf (req, sizeof req, "cmd=put kvsname=k key=k%zu value=%s", puts, val);
        ask (kvs, 0, req);
        const char *got = drain (kvs);
        if (strncmp (got, "R 0 cmd=put_result rc=0", 23)) {
            CHECK (!strcmp (got,
                            "R 0 cmd=put_result rc=-1 msg=refused\n"
                            "X 0 rank 0 sent a put beyond the job's 64 MiB of keys and values"));
            break;
        }
    }
    CHECK (puts > 60000 && puts < 66000);
    pmi_kvs_destroy (&kvs);
    CHECK (pmi_kvs_new (0, "k") == NULL);
    CHECK (pmi_kvs_new (2, "a b") == NULL);
    CHECK (pmi_kvs_new (2, "") == NULL);
}

static void test_refusals (void)
{
    pmi_kvs_t *kvs = pmi_kvs_new (3, "k");
    ask (kvs, 0,
         "mcmd=spawn\nnprocs=2\nexecname=/bin/true\ntotspawns=1\nspawnssofar=1\n"
         "argcnt=0\npreput_num=0\ninfo_num=0\nendcmd");
    ask (kvs, 1, "cmd=publish_name service=svc port=tag#0$");
    ask (kvs, 1, "cmd=lookup_name service=svc");
    ask (kvs, 1, "cmd=unpublish_name service=svc");
    ask (kvs, 2, "cmd=init pmi_version=2 pmi_subversion=0");
    ask (kvs, 2, "cmd=create_kvs");
    EXPECT (
        kvs,
        "R 0 cmd=spawn_result rc=-1 msg=not_served_by_glunix\n"
        "X 0 rank 0 asked for spawn (MPI_Comm_spawn): glunix does not start processes for a "
        "running job\n"
        "R 1 cmd=publish_result rc=-1 info=not_served msg=no_name_service\n"
        "X 1 rank 1 asked for publish_name (MPI_Publish_name, MPI_Lookup_name): glunix serves "
        "no name service\n"
        "R 1 cmd=lookup_result rc=-1 info=not_served msg=no_name_service\n"
        "X 1 rank 1 asked for lookup_name (MPI_Publish_name, MPI_Lookup_name): glunix serves no "
        "name service\n"
        "R 1 cmd=unpublish_result rc=-1 info=not_served msg=no_name_service\n"
        "X 1 rank 1 asked for unpublish_name (MPI_Publish_name, MPI_Lookup_name): glunix serves "
        "no name service\n"
        "R 2 cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=-1\n"
        "X 2 rank 2 asked for PMI version 2.0: glunix serves PMI 1.1\n"
        "R 2 cmd=create_kvs_result rc=-1 msg=not_served_by_glunix\n"
        "X 2 rank 2 sent a PMI request glunix does not serve: cmd=create_kvs");
    CHECK (!pmi_kvs_initialized (kvs, 2));
    /* the abort MPICH sends for MPI_Abort (and for a fatal error) */
    ask (kvs, 1, "cmd=abort exitcode=873028367");
    ask (kvs, 2, "cmd=abort exitcode=-1");
    ask (kvs, 0, "cmd=abort");
    EXPECT (kvs, "A 1 873028367 rank 1 aborted the job (exit code 873028367)\n"
                 "A 2 -1 rank 2 aborted the job (exit code -1)\n"
                 "A 0 1 rank 0 aborted the job (exit code 1)");
    /* ranks out of range are not served */
    ask (kvs, 3, "cmd=get_appnum");
    EXPECT (kvs, "");
    pmi_kvs_destroy (&kvs);
}

static void test_broken (void)
{
    /* a rank that exits cleanly without finalize */
    pmi_kvs_t *kvs = pmi_kvs_new (3, "k");
    ask (kvs, 1, "cmd=init pmi_version=1 pmi_subversion=1");
    drain (kvs);
    pmi_kvs_rank_ended (kvs, 1, false);
    EXPECT (kvs, "B 1 rank 1 exited without calling MPI_Finalize (PMI finalize)");
    /* its requests are not answered any more, and a barrier cannot be passed */
    ask (kvs, 1, "cmd=get_appnum");
    ask (kvs, 0, "cmd=barrier_in");
    EXPECT (kvs, "B 0 rank 0 entered a barrier that rank 1, which has ended, will never enter");
    pmi_kvs_destroy (&kvs);

    /* one that ends (finalized, or never a PMI client) while others wait */
    kvs = pmi_kvs_new (3, "k");
    ask (kvs, 0, "cmd=barrier_in");
    ask (kvs, 2, "cmd=barrier_in");
    pmi_kvs_rank_ended (kvs, 1, false);
    EXPECT (kvs, "B 1 rank 1 ended while 2 other ranks wait in a barrier");
    pmi_kvs_destroy (&kvs);

    /* a failed rank: the launcher ends the job; the KVS says nothing */
    kvs = pmi_kvs_new (2, "k");
    ask (kvs, 0, "cmd=init pmi_version=1 pmi_subversion=1");
    ask (kvs, 0, "cmd=barrier_in");
    drain (kvs);
    pmi_kvs_rank_ended (kvs, 0, true);
    pmi_kvs_rank_ended (kvs, 0, false); /* once is enough */
    EXPECT (kvs, "");
    /* it left the barrier when it died: the other is not let out */
    ask (kvs, 1, "cmd=barrier_in");
    EXPECT (kvs, "B 1 rank 1 entered a barrier that rank 0, which has ended, will never enter");
    pmi_kvs_destroy (&kvs);

    /* clean ends after finalize break nothing */
    kvs = pmi_kvs_new (2, "k");
    for (uint32_t r = 0; r < 2; r++) {
        ask (kvs, r, "cmd=init pmi_version=1 pmi_subversion=1");
        ask (kvs, r, "cmd=finalize");
    }
    pmi_kvs_rank_ended (kvs, 0, false);
    pmi_kvs_rank_ended (kvs, 1, false);
    drain (kvs);
    CHECK (!strstr (outs, "B "));
    pmi_kvs_destroy (&kvs);
}

int main (void)
{
    test_mpich_start ();
    test_mapping ();
    test_limits ();
    test_refusals ();
    test_broken ();
    return tap_done ("test_pmi_kvs");
}
