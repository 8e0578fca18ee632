/*  wire_eq.h -- field-by-field equality of decoded wire structures, for
    the codec's unit test and its fuzz target alike. */
#ifndef GL_WIRE_EQ_H
#define GL_WIRE_EQ_H

#include "wire.h"
#include <stdbool.h>
#include <string.h>

static inline bool res_eq (const gl_res_t *a, const gl_res_t *b)
{
    return a->cores == b->cores && a->load1_milli == b->load1_milli &&
           a->load_recent_milli == b->load_recent_milli &&
           a->owner_load_milli == b->owner_load_milli && a->mem_total_kb == b->mem_total_kb &&
           a->mem_avail_kb == b->mem_avail_kb && a->owner_idle_s == b->owner_idle_s &&
           a->state == b->state && a->guests == b->guests && a->started == b->started;
}

static inline bool rec_eq (const gl_rec_t *a, const gl_rec_t *b)
{
    return a->kind == b->kind && !strcmp (a->origin, b->origin) && a->generation == b->generation &&
           a->seq == b->seq && a->time_ms == b->time_ms && !strcmp (a->addr, b->addr) &&
           !memcmp (a->pubkey, b->pubkey, GL_PUBKEY_BYTES) && res_eq (&a->res, &b->res) &&
           !memcmp (a->sig, b->sig, GL_SIG_BYTES);
}

static inline bool upd_eq (const gl_update_t *a, const gl_update_t *b)
{
    return a->kind == b->kind && !strcmp (a->node, b->node) && a->generation == b->generation &&
           a->incarnation == b->incarnation && !strcmp (a->from, b->from) &&
           rec_eq (&a->rec, &b->rec);
}

static inline bool str_eq (const char *a, const char *b)
{
    return a == b || (a && b && !strcmp (a, b));
}

static inline bool strv_eq (char **a, char **b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!str_eq (a[i], b[i]))
            return false;
    return true;
}

static inline bool job_eq (const gl_job_t *a, const gl_job_t *b)
{
    return a->type == b->type && !strcmp (a->gpid, b->gpid) && !strcmp (a->home, b->home) &&
           !strcmp (a->node, b->node) && a->rank == b->rank && a->size == b->size &&
           a->seq == b->seq && a->stream == b->stream && a->eof == b->eof && a->len == b->len &&
           (a->len == 0 || !memcmp (a->data, b->data, a->len)) && a->credit == b->credit &&
           a->code == b->code && a->signo == b->signo && a->core == b->core && a->rows == b->rows &&
           a->cols == b->cols && a->pid == b->pid && str_eq (a->text, b->text) &&
           a->argc == b->argc && strv_eq (a->argv, b->argv, a->argc) && a->envc == b->envc &&
           strv_eq (a->envv, b->envv, a->envc) && str_eq (a->cwd, b->cwd) && a->umask == b->umask &&
           a->uid == b->uid && a->gid == b->gid && !strcmp (a->user, b->user) && a->pty == b->pty &&
           a->closed == b->closed && a->cause == b->cause && a->cores == b->cores &&
           a->mem_kb == b->mem_kb && !strcmp (a->pin, b->pin) && a->allow_local == b->allow_local &&
           !strcmp (a->gang, b->gang) && a->cred_expiry_ms == b->cred_expiry_ms &&
           !memcmp (a->cred_sig, b->cred_sig, GL_SIG_BYTES) && a->restart == b->restart &&
           !strcmp (a->to, b->to) && a->ckpt_every_ms == b->ckpt_every_ms &&
           a->at_out == b->at_out && a->at_err == b->at_err && a->at_in == b->at_in;
}

static inline bool gang_eq (const gl_gang_t *a, const gl_gang_t *b)
{
    if (a->type != b->type || strcmp (a->gang, b->gang) || a->term != b->term ||
        strcmp (a->leader, b->leader) || a->seq != b->seq || a->granted != b->granted ||
        a->n_peers != b->n_peers || a->n_places != b->n_places)
        return false;
    for (uint32_t i = 0; i < a->n_peers; i++)
        if (strcmp (a->peers[i].node, b->peers[i].node) || a->peers[i].procs != b->peers[i].procs ||
            a->peers[i].cores != b->peers[i].cores)
            return false;
    for (uint32_t i = 0; i < a->n_places; i++) {
        const gl_place_t *x = &a->places[i], *y = &b->places[i];
        if (strcmp (x->gang, y->gang) || x->term != y->term || strcmp (x->leader, y->leader) ||
            x->version != y->version || x->row != y->row || x->ended != y->ended ||
            x->n_peers != y->n_peers)
            return false;
    }
    return true;
}

static inline bool msg_eq (const gl_msg_t *a, const gl_msg_t *b)
{
    if (a->type != b->type || a->probe_seq != b->probe_seq || strcmp (a->target, b->target) ||
        strcmp (a->target_addr, b->target_addr) || a->n_updates != b->n_updates)
        return false;
    if (a->job || b->job)
        return a->job && b->job && job_eq (a->job, b->job);
    if (a->gang || b->gang)
        return a->gang && b->gang && gang_eq (a->gang, b->gang);
    for (uint32_t i = 0; i < a->n_updates; i++)
        if (!upd_eq (&a->updates[i], &b->updates[i]))
            return false;
    return true;
}

#endif
