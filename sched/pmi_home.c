/*  pmi_home.c -- the home side of a parallel job's PMI (see pmi_kvs.h):
    the ranks of one glx -n job, each a job of its own to home.c, are one
    group here, with one PMI server (pmi_kvs_t).  The group learns where
    each rank runs (its node: locality), serves the requests the hosts
    relay, and sends each answer to the rank's host.  It tells glx what
    it refused, and ends the whole job, as mpiexec does, when a rank
    aborts it, dies between init and finalize, or breaks the job: every
    glx stream of it hears why (NOTE, with the status glx exits with:
    mpiexec's, the abort's code, or the dead rank's exit status or
    signal number) and every rank that runs is killed with SIGKILL
    through its host, which sends what the rank wrote before it exits.
    Not public: the module's interface is jobs.h, what its files share
    jobs_impl.h. */
#include "jobs_impl.h"
#include "err.h"
#include "pmi_kvs.h"
#include "str.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Notes about refused requests a rank's glx hears; then one saying that
   the rest go unsaid, so a program that asks in a loop floods no one. */
#define NOTES_MAX 8

typedef struct {
    char gpid[GL_GPID_MAX + 1]; /* "" before it joins and once it left */
    char node[GL_NAME_MAX + 1]; /* where it runs, once it does */
    uint64_t conn;              /* its glx stream */
    bool running;               /* started, not yet ended */
    int signalled;              /* the last signal its glx sent it */
    uint32_t notes;
} member_t;

struct pmi_group {
    char key[GL_GPID_MAX + 1]; /* what glx calls the job: GLUNIX_JOB */
    uint32_t uid;
    uint32_t size;
    member_t *ranks;
    uint32_t members; /* ranks joined and not yet left */
    bool ending;      /* aborted or broken: its ranks are being killed */
    bool told_wait;   /* glx was told that running ranks wait for a placed one */
    pmi_kvs_t *kvs;
    struct pmi_group *next;
};

/* The name glx gives every rank of one run (GLUNIX_JOB, its host and
   pid): the ranks' RUNs carry it in their environment. */
static const char *group_key (const gl_job_t *run)
{
    for (uint32_t i = 0; i < run->envc; i++)
        if (!strncmp (run->envv[i], "GLUNIX_JOB=", 11))
            return run->envv[i] + 11;
    return NULL;
}

static void group_free (pmi_group_t *g)
{
    pmi_kvs_destroy (&g->kvs);
    free (g->ranks);
    free (g);
}

pmi_group_t *pmi_home_join (jobs_t *self, const gl_job_t *run, const char *gpid, uint64_t conn,
                            const char **why)
{
    const char *key = group_key (run);
    if (!key || !key[0] || strlen (key) > GL_GPID_MAX) {
        gl_why (why, "a parallel job without its GLUNIX_JOB name");
        return NULL;
    }
    pmi_group_t *g;
    for (g = self->pmi_groups; g; g = g->next)
        if (gl_streq (g->key, key) && g->uid == run->uid)
            break;
    if (!g) {
        char kvsname[GL_NAME_MAX + 48];
        snprintf (kvsname, sizeof kvsname, "kvs_%s_%llu", self->name,
                  (unsigned long long) ++self->pmi_groups_made);
        for (char *c = kvsname; *c; c++)
            if (*c == '.')
                *c = '_'; /* node names may hold dots; kvsnames not */
        if (!(g = calloc (1, sizeof *g)) || !(g->ranks = calloc (run->size, sizeof *g->ranks)) ||
            !(g->kvs = pmi_kvs_new (run->size, kvsname))) {
            if (g)
                group_free (g);
            gl_why (why, "out of memory");
            return NULL;
        }
        gl_strlcpy (g->key, key, sizeof g->key);
        g->uid = run->uid;
        g->size = run->size;
        g->next = self->pmi_groups;
        self->pmi_groups = g;
    }
    if (g->size != run->size || g->ranks[run->rank].gpid[0] || g->ending) {
        gl_why (why, g->ending ? "the parallel job is ending" : "a rank given twice");
        return NULL;
    }
    member_t *m = &g->ranks[run->rank];
    gl_strlcpy (m->gpid, gpid, sizeof m->gpid);
    m->conn = conn;
    g->members++;
    return g;
}

/* Tell rank's glx, if it still listens.  code >= 0: the job is ending,
   and glx exits with code; -1: only a word. */
static void note (jobs_t *self, pmi_group_t *g, uint32_t rank, int code, const char *text)
{
    member_t *m = &g->ranks[rank];
    if (!m->conn)
        return;
    gl_job_t n;
    jobs_msg_init (&n, GL_JOB_NOTE, m->gpid, self->name);
    n.text = (char *) text;
    n.eof = code >= 0;
    n.code = code >= 0 ? code : 0;
    jobs_to_local (self, m->conn, &n);
}

/* End the whole job, as mpiexec does: every glx stream hears why (so
   glx, whichever of them it reads first, exits with code), and every
   rank that runs is killed; its host still sends what it wrote. */
static void group_end (jobs_t *self, pmi_group_t *g, int code, const char *why)
{
    g->ending = true;
    char text[GL_JOB_TEXT_MAX + 1];
    snprintf (text, sizeof text, "%s; killing the job's other ranks", why);
    for (uint32_t r = 0; r < g->size; r++)
        note (self, g, r, code, text);
    for (uint32_t r = 0; r < g->size; r++) {
        member_t *m = &g->ranks[r];
        if (!m->running)
            continue;
        gl_job_t kill;
        jobs_msg_init (&kill, GL_JOB_SIGNAL, m->gpid, self->name);
        gl_strlcpy (kill.node, m->node, sizeof kill.node);
        kill.signo = SIGKILL;
        jobs_to_node (self, m->node, &kill);
    }
}

/* What the server has to say, said. */
static void group_drain (jobs_t *self, pmi_group_t *g)
{
    pmi_out_t o;
    while (pmi_kvs_pop (g->kvs, &o)) {
        member_t *m = &g->ranks[o.rank];
        if (g->ending)
            ; /* everything is being killed: nothing more to answer or say */
        else if (o.kind == PMI_OUT_REPLY) {
            if (m->running) {
                gl_job_t a;
                jobs_msg_init (&a, GL_JOB_PMI_REPLY, m->gpid, self->name);
                gl_strlcpy (a.node, m->node, sizeof a.node);
                a.text = o.text;
                jobs_to_node (self, m->node, &a);
            }
        }
        else if (o.kind == PMI_OUT_REFUSED) {
            if (m->notes < NOTES_MAX)
                note (self, g, o.rank, -1, o.text);
            else if (m->notes == NOTES_MAX) {
                char text[96];
                snprintf (text, sizeof text, "rank %u: further refused PMI requests go unsaid",
                          o.rank);
                note (self, g, o.rank, -1, text);
            }
            m->notes++;
        }
        else if (o.kind == PMI_OUT_ABORT) {
            /* the exit code's low byte, as mpiexec (0 too: the MPI
               standard hands the code to the environment as it is) */
            group_end (self, g, (int) (o.code & 255), o.text);
        }
        else
            group_end (self, g, JOBS_STATUS_BROKEN, o.text);
        free (o.text);
    }
}

void pmi_home_started (jobs_t *self, pmi_group_t *g, uint32_t rank, const char *node)
{
    member_t *m = &g->ranks[rank];
    gl_strlcpy (m->node, node, sizeof m->node);
    m->running = true;
    pmi_kvs_set_node (g->kvs, rank, node);
    group_drain (self, g);
}

/* A rank waits for a free slot.  If ranks that run have begun MPI_Init,
   they cannot finish it until this one runs too: a job of more ranks than
   the cluster has room for would wait in silence, so glx says why, once. */
void pmi_home_waiting (jobs_t *self, pmi_group_t *g, uint32_t rank)
{
    if (g->told_wait || g->ending)
        return;
    uint32_t in_init = 0;
    for (uint32_t r = 0; r < g->size; r++)
        in_init += g->ranks[r].running && pmi_kvs_initialized (g->kvs, r);
    if (!in_init)
        return;
    g->told_wait = true;
    char text[256];
    snprintf (text, sizeof text,
              "rank %u waits for a free slot, and the %u rank%s that run%s wait%s for it in "
              "MPI_Init: an MPI job goes on only once all its %u ranks run",
              rank, in_init, in_init == 1 ? "" : "s", in_init == 1 ? "s" : "",
              in_init == 1 ? "s" : "", g->size);
    note (self, g, rank, -1, text);
}

void pmi_home_signalled (jobs_t *self, pmi_group_t *g, uint32_t rank, int signo)
{
    (void) self;
    g->ranks[rank].signalled = signo;
}

void pmi_home_request (jobs_t *self, pmi_group_t *g, uint32_t rank, const gl_job_t *req)
{
    member_t *m = &g->ranks[rank];
    if (g->ending || !m->running || !req->text)
        return;
    char text[GL_JOB_TEXT_MAX + 64];
    if (req->eof) { /* its host closed the rank's connection */
        snprintf (text, sizeof text, "rank %u sent %s: its PMI connection was closed", rank,
                  req->text);
        note (self, g, rank, -1, text);
        return;
    }
    static pmi_cmd_t cmd; /* 6 KiB: not on the stack */
    const char *why = NULL;
    if (pmi_cmd_parse (req->text, strlen (req->text), &cmd, &why)) {
        /* any answer ends the client's wait: this one is an error to it */
        gl_job_t a;
        jobs_msg_init (&a, GL_JOB_PMI_REPLY, m->gpid, self->name);
        gl_strlcpy (a.node, m->node, sizeof a.node);
        a.text = (char *) "cmd=error rc=-1 msg=malformed_request\n";
        jobs_to_node (self, m->node, &a);
        snprintf (text, sizeof text, "rank %u sent a malformed PMI request (%s)", rank, why);
        note (self, g, rank, -1, text);
        return;
    }
    pmi_kvs_request (g->kvs, rank, &cmd);
    group_drain (self, g);
}

void pmi_home_exited (jobs_t *self, pmi_group_t *g, uint32_t rank, const gl_job_t *exit)
{
    member_t *m = &g->ranks[rank];
    if (!m->running)
        return;
    m->running = false;
    bool failed = exit->code != 0 || exit->signo != 0;
    /* killed by the signal its glx passed on to every rank (Ctrl-C):
       the user ends the job, and glx knows it */
    bool by_glx = exit->signo && exit->signo == m->signalled;
    if (failed && !by_glx && !g->ending && pmi_kvs_initialized (g->kvs, rank) &&
        !pmi_kvs_finalized (g->kvs, rank)) {
        /* an MPI rank died: the others wait for it in vain.  End the job
           as mpiexec does, and have glx exit as mpiexec: with the rank's
           status, or the number of the signal that killed it */
        char text[128];
        if (exit->signo)
            snprintf (text, sizeof text, "rank %u was killed by signal %d (%s)", rank, exit->signo,
                      strsignal (exit->signo));
        else
            snprintf (text, sizeof text, "rank %u exited with status %d before MPI_Finalize", rank,
                      exit->code);
        group_end (self, g, exit->signo ? exit->signo : exit->code, text);
    }
    pmi_kvs_rank_ended (g->kvs, rank, failed);
    group_drain (self, g);
}

void pmi_home_leave (jobs_t *self, pmi_group_t *g, uint32_t rank)
{
    member_t *m = &g->ranks[rank];
    if (!m->gpid[0])
        return;
    memset (m, 0, sizeof *m);
    if (--g->members)
        return;
    for (pmi_group_t **p = &self->pmi_groups; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            group_free (g);
            return;
        }
}

void pmi_home_free_all (jobs_t *self)
{
    while (self->pmi_groups) {
        pmi_group_t *g = self->pmi_groups;
        self->pmi_groups = g->next;
        group_free (g);
    }
}
