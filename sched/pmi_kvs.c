/*  pmi_kvs.c -- the PMI server of one parallel job (see pmi_kvs.h).  The
    answers are hydra's, word for word, where MPICH's client reads them:
    it checks the command name of every answer, and rc where it asks for
    one (put, get, spawn; publish, unpublish and lookup check info too). */
#include "pmi_kvs.h"
#include "grow.h"
#include "str.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024 /* of the key-value hash: chains stay short to a few thousand ranks */

typedef struct pair {
    char *key, *val;
    struct pair *next;
} pair_t;

typedef struct {
    char *node;     /* where it runs: NULL until known */
    bool init;      /* said init */
    bool finalized; /* said finalize */
    bool ended;     /* its process ended */
    bool barrier;   /* waits in the barrier */
    bool wants_map; /* waits for PMI_process_mapping */
} rank_t;

struct pmi_kvs_t {
    uint32_t size;
    char kvsname[PMI_KVSNAME_MAX + 1];
    rank_t *ranks;
    uint32_t nodes_known;
    uint32_t in_barrier;
    uint32_t ended;
    bool mapped; /* every node known: the mapping was put, or is too long */
    char *mapping;
    pair_t *buckets[BUCKETS];
    size_t bytes; /* of keys and values held */
    pmi_out_t *out;
    size_t out_n, out_cap, out_head;
};

/* ---- the key-value space ------------------------------------------------------ */

static uint32_t hash (const char *s)
{
    return (uint32_t) (gl_fnv1a (s, strlen (s)) % BUCKETS);
}

static pair_t *lookup (pmi_kvs_t *self, const char *key)
{
    for (pair_t *p = self->buckets[hash (key)]; p; p = p->next)
        if (!strcmp (p->key, key))
            return p;
    return NULL;
}

/* 0, or -1 out of memory */
static int store (pmi_kvs_t *self, const char *key, const char *val)
{
    pair_t *p = calloc (1, sizeof *p);
    if (!p || !(p->key = strdup (key)) || !(p->val = strdup (val))) {
        if (p)
            free (p->key);
        free (p);
        return -1;
    }
    uint32_t h = hash (key);
    p->next = self->buckets[h];
    self->buckets[h] = p;
    self->bytes += strlen (key) + strlen (val);
    return 0;
}

/* ---- output ------------------------------------------------------------------- */

static void emit (pmi_kvs_t *self, uint8_t kind, uint32_t rank, int64_t code, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

static void emit (pmi_kvs_t *self, uint8_t kind, uint32_t rank, int64_t code, const char *fmt, ...)
{
    if (gl_grow (&self->out, &self->out_cap, self->out_n + 1, sizeof *self->out))
        return; /* out of memory: the rank waits, as for a lost message */
    va_list ap;
    va_start (ap, fmt);
    char *text = NULL;
    int n = vasprintf (&text, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    self->out[self->out_n++] =
        (pmi_out_t){ .kind = kind, .rank = rank, .code = code, .text = text };
}

#define reply(self, rank, ...) emit ((self), PMI_OUT_REPLY, (rank), 0, __VA_ARGS__)

bool pmi_kvs_pop (pmi_kvs_t *self, pmi_out_t *out)
{
    if (self->out_head == self->out_n)
        return false;
    *out = self->out[self->out_head++];
    if (self->out_head == self->out_n)
        self->out_head = self->out_n = 0;
    return true;
}

/* ---- new, destroy ------------------------------------------------------------- */

pmi_kvs_t *pmi_kvs_new (uint32_t size, const char *kvsname)
{
    if (size == 0 || !kvsname || !pmi_word_ok (kvsname, strlen (kvsname), PMI_KVSNAME_MAX))
        return NULL;
    pmi_kvs_t *self = calloc (1, sizeof *self);
    if (!self || !(self->ranks = calloc (size, sizeof *self->ranks))) {
        free (self);
        return NULL;
    }
    self->size = size;
    memcpy (self->kvsname, kvsname, strlen (kvsname) + 1);
    return self;
}

void pmi_kvs_destroy (pmi_kvs_t **self_p)
{
    pmi_kvs_t *self = *self_p;
    if (!self)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        while (self->buckets[b]) {
            pair_t *p = self->buckets[b];
            self->buckets[b] = p->next;
            free (p->key);
            free (p->val);
            free (p);
        }
    for (uint32_t r = 0; r < self->size; r++)
        free (self->ranks[r].node);
    for (size_t i = self->out_head; i < self->out_n; i++)
        free (self->out[i].text);
    free (self->out);
    free (self->ranks);
    free (self->mapping);
    free (self);
    *self_p = NULL;
}

/* ---- locality ----------------------------------------------------------------- */

/* MPICH's vector form: blocks (first node id, nodes, ranks on each), the
   ranks taken in order, each block's nodes one after the other. */
static char *build_mapping (pmi_kvs_t *self)
{
    uint32_t *id = calloc (self->size, sizeof *id);
    uint32_t (*block)[3] = calloc (self->size, sizeof *block);
    size_t cap = 16 + (size_t) self->size * 40;
    char *text = malloc (cap);
    if (!id || !block || !text) {
        free (id);
        free (block);
        free (text);
        return NULL;
    }
    /* node ids in the order of each node's lowest rank */
    uint32_t ids = 0;
    for (uint32_t r = 0; r < self->size; r++) {
        uint32_t q;
        for (q = 0; q < r; q++)
            if (!strcmp (self->ranks[q].node, self->ranks[r].node))
                break;
        id[r] = q < r ? id[q] : ids++;
    }
    /* runs of ranks on one node, then runs of such runs on nodes that follow */
    size_t nb = 0;
    for (uint32_t r = 0; r < self->size;) {
        uint32_t run = 1;
        while (r + run < self->size && id[r + run] == id[r])
            run++;
        if (nb && block[nb - 1][2] == run && block[nb - 1][0] + block[nb - 1][1] == id[r])
            block[nb - 1][1]++;
        else {
            block[nb][0] = id[r];
            block[nb][1] = 1;
            block[nb][2] = run;
            nb++;
        }
        r += run;
    }
    size_t len = (size_t) snprintf (text, cap, "(vector");
    for (size_t b = 0; b < nb; b++)
        len += (size_t) snprintf (text + len, cap - len, ",(%" PRIu32 ",%" PRIu32 ",%" PRIu32 ")",
                                  block[b][0], block[b][1], block[b][2]);
    snprintf (text + len, cap - len, ")");
    free (id);
    free (block);
    if (strlen (text) > PMI_VALLEN_MAX) {
        free (text);
        return NULL;
    }
    return text;
}

static void answer_get (pmi_kvs_t *self, uint32_t rank, const char *key)
{
    pair_t *p = lookup (self, key);
    if (p)
        reply (self, rank, "cmd=get_result rc=0 msg=success value=%s\n", p->val);
    else
        reply (self, rank, "cmd=get_result rc=-1 msg=key_%s_not_found\n", key);
}

void pmi_kvs_set_node (pmi_kvs_t *self, uint32_t rank, const char *node)
{
    if (rank >= self->size || self->ranks[rank].node || !node)
        return;
    if (!(self->ranks[rank].node = strdup (node)))
        return;
    if (++self->nodes_known < self->size)
        return;
    self->mapped = true;
    self->mapping = build_mapping (self);
    if (self->mapping && !lookup (self, "PMI_process_mapping"))
        store (self, "PMI_process_mapping", self->mapping);
    for (uint32_t r = 0; r < self->size; r++)
        if (self->ranks[r].wants_map) {
            self->ranks[r].wants_map = false;
            answer_get (self, r, "PMI_process_mapping");
        }
}

const char *pmi_kvs_mapping (const pmi_kvs_t *self)
{
    return self->mapping;
}

/* ---- requests ----------------------------------------------------------------- */

/* A refusal says which rank asked; fmt takes at least one argument. */
#define refuse(self, rank, fmt, ...) \
    emit ((self), PMI_OUT_REFUSED, (rank), 0, "rank %" PRIu32 " " fmt, (rank), __VA_ARGS__)

/* The barrier: everyone in, everyone out.  Once a rank has ended it can
   never complete. */
static void barrier_in (pmi_kvs_t *self, uint32_t rank)
{
    rank_t *r = &self->ranks[rank];
    if (r->barrier)
        return; /* a second barrier_in without waiting for the first: nothing new */
    if (self->ended) {
        uint32_t gone;
        for (gone = 0; gone < self->size && !self->ranks[gone].ended; gone++)
            ;
        emit (self, PMI_OUT_BROKEN, rank, 0,
              "rank %" PRIu32 " entered a barrier that rank %" PRIu32 ", which has ended, "
              "will never enter",
              rank, gone);
        return;
    }
    r->barrier = true;
    if (++self->in_barrier < self->size)
        return;
    self->in_barrier = 0;
    for (uint32_t q = 0; q < self->size; q++) {
        self->ranks[q].barrier = false;
        reply (self, q, "cmd=barrier_out\n");
    }
}

static void put (pmi_kvs_t *self, uint32_t rank, const pmi_cmd_t *cmd)
{
    const char *kvs = pmi_cmd_get (cmd, "kvsname"), *key = pmi_cmd_get (cmd, "key"),
               *val = pmi_cmd_get (cmd, "value");
    const char *msg = NULL;
    if (!kvs || !key || !val)
        msg = "a put without kvsname, key or value";
    else if (strcmp (kvs, self->kvsname))
        msg = "a put to another job's key-value space";
    else if (!key[0] || strlen (key) > PMI_KEYLEN_MAX)
        msg = "a put of a key that is empty or longer than 64 bytes";
    else if (strlen (val) > PMI_VALLEN_MAX)
        msg = "a put of a value longer than 1024 bytes";
    else if (lookup (self, key)) {
        reply (self, rank, "cmd=put_result rc=-1 msg=duplicate_key_%s\n", key);
        refuse (self, rank, "put the key %s twice", key);
        return;
    }
    else if (self->bytes + strlen (key) + strlen (val) > PMI_KVS_BYTES_MAX)
        msg = "a put beyond the job's 64 MiB of keys and values";
    if (msg) {
        reply (self, rank, "cmd=put_result rc=-1 msg=refused\n");
        refuse (self, rank, "sent %s", msg);
        return;
    }
    if (store (self, key, val)) {
        reply (self, rank, "cmd=put_result rc=-1 msg=out_of_memory\n");
        return;
    }
    reply (self, rank, "cmd=put_result rc=0 msg=success\n");
}

static void get (pmi_kvs_t *self, uint32_t rank, const pmi_cmd_t *cmd)
{
    const char *kvs = pmi_cmd_get (cmd, "kvsname"), *key = pmi_cmd_get (cmd, "key");
    if (!kvs || !key || strcmp (kvs, self->kvsname) || !key[0] || strlen (key) > PMI_KEYLEN_MAX) {
        reply (self, rank, "cmd=get_result rc=-1 msg=refused\n");
        refuse (self, rank, "sent %s",
                !kvs || !key ? "a get without kvsname or key"
                : strcmp (kvs, self->kvsname)
                    ? "a get from another job's key-value space"
                    : "a get of a key that is empty or longer than 64 bytes");
        return;
    }
    if (!self->mapped && !strcmp (key, "PMI_process_mapping")) {
        self->ranks[rank].wants_map = true; /* answered once every rank runs */
        return;
    }
    answer_get (self, rank, key);
}

static void init (pmi_kvs_t *self, uint32_t rank, const pmi_cmd_t *cmd)
{
    const char *v = pmi_cmd_get (cmd, "pmi_version"), *sub = pmi_cmd_get (cmd, "pmi_subversion");
    if (!v || strcmp (v, "1") || (sub && strcmp (sub, "0") && strcmp (sub, "1"))) {
        /* MPICH's client aborts on rc != 0, naming both versions */
        reply (self, rank, "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=-1\n");
        char asked[64];
        snprintf (asked, sizeof asked, "%.20s.%.20s", v ? v : "?", sub ? sub : "?");
        refuse (self, rank, "asked for PMI version %s: glunix serves PMI 1.1", asked);
        return;
    }
    self->ranks[rank].init = true;
    reply (self, rank, "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n");
}

void pmi_kvs_request (pmi_kvs_t *self, uint32_t rank, const pmi_cmd_t *cmd)
{
    if (rank >= self->size || !cmd->name || self->ranks[rank].ended)
        return;
    const char *name = cmd->name;
    if (cmd->multi) {
        /* spawn is the only block MPICH sends */
        reply (self, rank, "cmd=%s_result rc=-1 msg=not_served_by_glunix\n", name);
        if (!strcmp (name, "spawn"))
            refuse (self, rank, "%s",
                    "asked for spawn (MPI_Comm_spawn): glunix does not start processes "
                    "for a running job");
        else
            refuse (self, rank, "sent a PMI request glunix does not serve: mcmd=%s", name);
        return;
    }
    if (!strcmp (name, "init"))
        init (self, rank, cmd);
    else if (!strcmp (name, "get_maxes"))
        reply (self, rank, "cmd=maxes kvsname_max=%d keylen_max=%d vallen_max=%d\n",
               PMI_KVSNAME_MAX, PMI_KEYLEN_MAX, PMI_VALLEN_MAX);
    else if (!strcmp (name, "get_appnum"))
        reply (self, rank, "cmd=appnum appnum=0\n");
    else if (!strcmp (name, "get_universe_size"))
        reply (self, rank, "cmd=universe_size size=%" PRIu32 "\n", self->size);
    else if (!strcmp (name, "get_my_kvsname"))
        reply (self, rank, "cmd=my_kvsname kvsname=%s\n", self->kvsname);
    else if (!strcmp (name, "put"))
        put (self, rank, cmd);
    else if (!strcmp (name, "get"))
        get (self, rank, cmd);
    else if (!strcmp (name, "barrier_in"))
        barrier_in (self, rank);
    else if (!strcmp (name, "finalize")) {
        self->ranks[rank].finalized = true;
        reply (self, rank, "cmd=finalize_ack\n");
    }
    else if (!strcmp (name, "abort")) {
        const char *code = pmi_cmd_get (cmd, "exitcode");
        char *end = NULL;
        long long c = code ? strtoll (code, &end, 10) : 1;
        if (!code || !*code || *end)
            c = 1;
        emit (self, PMI_OUT_ABORT, rank, c, "rank %" PRIu32 " aborted the job (exit code %lld)",
              rank, c);
    }
    else if (!strcmp (name, "publish_name") || !strcmp (name, "unpublish_name") ||
             !strcmp (name, "lookup_name")) {
        /* MPICH's client checks rc, and (older ones) info */
        char result[32];
        snprintf (result, sizeof result, "%.*s_result", (int) (strchr (name, '_') - name), name);
        reply (self, rank, "cmd=%s rc=-1 info=not_served msg=no_name_service\n", result);
        refuse (self, rank, "asked for %s (MPI_Publish_name, MPI_Lookup_name): glunix serves %s",
                name, "no name service");
    }
    else {
        reply (self, rank, "cmd=%s_result rc=-1 msg=not_served_by_glunix\n", name);
        refuse (self, rank, "sent a PMI request glunix does not serve: cmd=%s", name);
    }
}

/* ---- ends --------------------------------------------------------------------- */

void pmi_kvs_rank_ended (pmi_kvs_t *self, uint32_t rank, bool failed)
{
    if (rank >= self->size || self->ranks[rank].ended)
        return;
    rank_t *r = &self->ranks[rank];
    r->ended = true;
    self->ended++;
    r->wants_map = false;
    if (r->barrier) { /* it died waiting: the others will never be let out */
        r->barrier = false;
        self->in_barrier--;
    }
    if (failed)
        return;
    if (r->init && !r->finalized)
        emit (self, PMI_OUT_BROKEN, rank, 0,
              "rank %" PRIu32 " exited without calling MPI_Finalize (PMI finalize)", rank);
    else if (self->in_barrier)
        emit (self, PMI_OUT_BROKEN, rank, 0,
              "rank %" PRIu32 " ended while %" PRIu32 " other rank%s wait%s in a barrier", rank,
              self->in_barrier, self->in_barrier == 1 ? "" : "s", self->in_barrier == 1 ? "s" : "");
}

bool pmi_kvs_initialized (const pmi_kvs_t *self, uint32_t rank)
{
    return rank < self->size && self->ranks[rank].init;
}

bool pmi_kvs_finalized (const pmi_kvs_t *self, uint32_t rank)
{
    return rank < self->size && self->ranks[rank].finalized;
}
