/*  pmi_kvs.h -- the PMI server of one parallel job (glx -n): its
    key-value space, its barrier, what each rank has said, and the answer
    to every request.  Sans-I/O: handed parsed requests (pmi_wire.h) and
    where each rank runs, it hands back answers and events; it never
    reads a clock or touches a descriptor.  The job's home holds one per
    glx -n job (pmi_home.c); the hosts only relay (pmi_host.c).

    What it serves is what MPICH's launcher, hydra, serves to MPICH 4.0's
    PMI 1.1 client: init, get_maxes, get_appnum, get_universe_size,
    get_my_kvsname, put, get, barrier_in (answered barrier_out to every
    rank once all have entered), finalize and abort, with hydra's limits
    (keys of 64 bytes, values of 1024, a kvsname of 256).  Every request
    but abort gets one answer, so a rank never waits for nothing: what
    glunix does not serve (spawn, the name service publish_name,
    unpublish_name and lookup_name, PMI version 2, any other command) is
    answered with an error the client understands, and reported as a
    refusal naming it.

    Locality: PMI_process_mapping, the key MPICH reads at MPI_Init to
    learn which ranks share a node (and so may use shared memory), is put
    once every rank's node is known (pmi_kvs_set_node); a get for it that
    comes earlier is answered then.  Nodes are numbered in the order of
    their lowest rank.  A mapping longer than a value may be is left out:
    MPICH then finds its nodes by their host names.

    Memory is bounded: at most PMI_KVS_BYTES_MAX bytes of keys and values
    per job, and every rank has at most one request outstanding (the
    hosts read a rank's next request only once it has its answer). */
#ifndef GL_PMI_KVS_H
#define GL_PMI_KVS_H

#include "pmi_wire.h"

#include <stdbool.h>
#include <stdint.h>

#define PMI_KVSNAME_MAX   256 /* what get_maxes says: hydra's figures */
#define PMI_KEYLEN_MAX    64
#define PMI_VALLEN_MAX    1024
#define PMI_KVS_BYTES_MAX (64u << 20) /* keys and values of one job */

typedef enum {
    PMI_OUT_REPLY = 1, /* text, one answer line with its newline, goes to rank */
    PMI_OUT_REFUSED,   /* rank asked for what is not served: text says what
                          (the rank has its error answer too) */
    PMI_OUT_ABORT,     /* rank called abort with exit code `code`: end the job */
    PMI_OUT_BROKEN,    /* the job cannot go on (text says why): end it */
} pmi_out_kind_t;

typedef struct {
    uint8_t kind; /* pmi_out_kind_t */
    uint32_t rank;
    int64_t code; /* ABORT: the exit code the rank gave */
    char *text;   /* malloc'ed; the caller frees it */
} pmi_out_t;

typedef struct pmi_kvs_t pmi_kvs_t;

/* A job of size ranks (1 or more) whose key-value space is called
   kvsname ([A-Za-z0-9_-], at most PMI_KVSNAME_MAX).  NULL when out of
   memory or given a bad name. */
pmi_kvs_t *pmi_kvs_new (uint32_t size, const char *kvsname);
void pmi_kvs_destroy (pmi_kvs_t **self_p);

/* Rank runs on node (a name; ranks with the same name share a node).  A
   rank's node is set once. */
void pmi_kvs_set_node (pmi_kvs_t *self, uint32_t rank, const char *node);

/* A request of rank (below size). */
void pmi_kvs_request (pmi_kvs_t *self, uint32_t rank, const pmi_cmd_t *cmd);

/* Rank's process ended; failed when with a non-zero status or a signal
   (the launcher ends the job then, and this says nothing).  A rank that
   exits cleanly after init without finalize, or while others wait in a
   barrier it will never enter, breaks the job (PMI_OUT_BROKEN); so does
   a barrier entered once a rank has ended. */
void pmi_kvs_rank_ended (pmi_kvs_t *self, uint32_t rank, bool failed);

/* The next answer or event, in order; false when there is none. */
bool pmi_kvs_pop (pmi_kvs_t *self, pmi_out_t *out);

/* What rank has said: init, and finalize. */
bool pmi_kvs_initialized (const pmi_kvs_t *self, uint32_t rank);
bool pmi_kvs_finalized (const pmi_kvs_t *self, uint32_t rank);

/* PMI_process_mapping as it is put (NULL until every node is known, or
   when it is too long to be a value). */
const char *pmi_kvs_mapping (const pmi_kvs_t *self);

#endif
