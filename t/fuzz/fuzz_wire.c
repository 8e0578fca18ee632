/*  fuzz_wire.c -- libFuzzer target for the wire codec.

    Every input goes to every decoder.  Whatever a decoder accepts must
    encode again, decode again to an equal structure, and encode again to
    the same bytes: the codec loses nothing and has one encoding per value.
    Any failure aborts, which libFuzzer reports as a crash.  Run it with
    t/fuzz/run.sh. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(cond)                                                     \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf (stderr, "fuzz_wire.c:%d: %s\n", __LINE__, #cond); \
            abort ();                                                  \
        }                                                              \
    } while (0)

#include "../wire_eq.h"

/* What a decoded job promises its reader, whatever the input was. */
static void job_sane (const gl_job_t *j)
{
    MUST (strcmp (gl_job_type_name (j->type), "unknown"));
    MUST (j->gpid[0] == 0 || gl_gpid_valid (j->gpid));
    MUST ((j->len == 0) == (j->data == NULL) && j->len <= GL_JOB_DATA_MAX);
    MUST ((j->argc == 0) == (j->argv == NULL) && (j->envc == 0) == (j->envv == NULL));
    MUST (j->text == NULL || (j->text[0] && strlen (j->text) <= GL_JOB_TEXT_MAX));
    MUST (j->cwd == NULL || j->cwd[0] == '/');
    MUST (j->stream <= 3 && j->signo >= 0 && j->signo <= GL_JOB_SIGNO_MAX);
    MUST (j->restart <= GL_JOB_RESTART_MOVE && (j->to[0] == 0 || gl_name_valid (j->to)));
    MUST (j->umask <= 0777 && j->rows <= GL_JOB_WIN_MAX && j->cols <= GL_JOB_WIN_MAX);
    MUST (j->size ? j->rank < j->size : j->rank == 0);
    if (j->type == GL_JOB_RUN)
        MUST (j->argc >= 1 && j->argv[0][0] && j->cwd);
    for (uint32_t i = 0; i < j->envc; i++)
        MUST (j->envv[i][0] != '=' && strchr (j->envv[i], '='));
    if (j->type == GL_JOB_DATA)
        MUST ((j->len > 0 || j->eof) && j->stream <= 2);
    if (j->type == GL_JOB_IMAGE)
        MUST ((j->len > 0 || j->eof) && (!j->text || j->eof));
    if (j->type == GL_JOB_CKPT)
        MUST (j->code >= GL_CKPT_ASK_PROBE && j->code <= GL_CKPT_KEPT &&
              (j->code != GL_CKPT_KEPT || j->text));
    /* a kept image's offsets come on its whole end only; a period is bounded */
    if (j->at_out || j->at_err || j->at_in)
        MUST (j->type == GL_JOB_IMAGE && j->eof && !j->text);
    MUST (j->ckpt_every_ms <= GL_JOB_CKPT_EVERY_MAX || j->ckpt_every_ms == GL_JOB_CKPT_NEVER);
    if (j->ckpt_every_ms)
        MUST (j->type == GL_JOB_RUN);
    if (j->type == GL_JOB_MOVE)
        MUST (j->code >= GL_MOVE_SNAPPED && j->code <= GL_MOVE_LISTEN);
    /* a cause is a move's failure's, and one the home knows */
    if (j->cause)
        MUST (j->type == GL_JOB_MOVE && j->code == GL_MOVE_FAILED &&
              (j->cause == GL_MOVE_CAUSE_CUT || j->cause == GL_MOVE_CAUSE_AGAIN));
    if (j->type == GL_JOB_LIST)
        MUST (j->code == 0 || j->code == GL_LIST_PROBE);
    if (j->type == GL_JOB_SIGNAL)
        MUST (j->signo >= 1);
    if (j->type == GL_JOB_EXIT)
        MUST (j->code >= 0 && j->code <= 255 && !(j->code && j->signo) && (!j->core || j->signo));
}

static bool env_eq (const gl_env_t *a, const gl_env_t *b)
{
    return a->version == b->version &&
           !memcmp (a->cluster_id, b->cluster_id, GL_CLUSTER_ID_BYTES) &&
           !strcmp (a->sender, b->sender) && a->generation == b->generation && a->seq == b->seq &&
           a->time_ms == b->time_ms && !memcmp (a->nonce, b->nonce, GL_NONCE_BYTES) &&
           a->ct_len == b->ct_len && !memcmp (a->ct, b->ct, a->ct_len);
}

static bool bytes_eq (const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    return a_len == b_len && !memcmp (a, b, a_len);
}

/* ---- one check per decoder --------------------------------------------------- */

static void fuzz_msg (const uint8_t *data, size_t size)
{
    gl_msg_t one, two;
    const char *why = NULL;
    if (gl_msg_decode (data, size, &one, &why)) {
        MUST (why != NULL && one.updates == NULL && one.n_updates == 0 && one.job == NULL);
        return;
    }
    MUST ((one.type == GL_MSG_JOB) == (one.job != NULL));
    if (one.job)
        job_sane (one.job);
    uint8_t *a, *b;
    size_t a_len, b_len;
    MUST (gl_msg_encode (&one, &a, &a_len) == 0);
    MUST (gl_msg_decode (a, a_len, &two, &why) == 0);
    MUST (msg_eq (&one, &two));
    MUST (gl_msg_encode (&two, &b, &b_len) == 0);
    MUST (bytes_eq (a, a_len, b, b_len));
    /* Every record that decodes can be checked for its signature. */
    for (uint32_t i = 0; i < one.n_updates; i++)
        if (one.updates[i].kind == GL_UPD_REC) {
            uint8_t *s;
            size_t s_len;
            MUST (gl_rec_signed_bytes (&one.updates[i].rec, &s, &s_len) == 0);
            free (s);
        }
    MUST (strcmp (gl_msg_type_name (one.type), "unknown"));
    free (a);
    free (b);
    gl_msg_clear (&one);
    gl_msg_clear (&two);
}

static void fuzz_env (const uint8_t *data, size_t size)
{
    gl_env_t one, two;
    if (gl_env_decode (data, size, &one, NULL))
        return;
    MUST (one.ct_len == 0 || (one.ct >= data && one.ct + one.ct_len <= data + size));
    uint8_t *a, *b, *ha, *hb;
    size_t a_len, b_len, ha_len, hb_len;
    MUST (gl_env_encode (&one, &a, &a_len) == 0);
    MUST (gl_env_decode (a, a_len, &two, NULL) == 0);
    MUST (env_eq (&one, &two));
    MUST (gl_env_encode (&two, &b, &b_len) == 0);
    MUST (bytes_eq (a, a_len, b, b_len));
    MUST (gl_env_encode_header (&one, &ha, &ha_len) == 0);
    MUST (gl_env_encode_header (&two, &hb, &hb_len) == 0);
    MUST (bytes_eq (ha, ha_len, hb, hb_len));
    free (a);
    free (b);
    free (ha);
    free (hb);
}

static void fuzz_req (const uint8_t *data, size_t size)
{
    gl_ctl_req_t one, two;
    if (gl_ctl_req_decode (data, size, &one, NULL))
        return;
    uint8_t *a, *b;
    size_t a_len, b_len;
    MUST (gl_ctl_req_encode (&one, &a, &a_len) == 0);
    MUST (gl_ctl_req_decode (a, a_len, &two, NULL) == 0);
    MUST (!strcmp (one.cmd, two.cmd) && one.argc == two.argc);
    for (uint32_t i = 0; i < one.argc; i++)
        MUST (!strcmp (one.argv[i], two.argv[i]));
    MUST (gl_ctl_req_encode (&two, &b, &b_len) == 0);
    MUST (bytes_eq (a, a_len, b, b_len));
    free (a);
    free (b);
    gl_ctl_req_clear (&one);
    gl_ctl_req_clear (&two);
}

static void fuzz_resp (const uint8_t *data, size_t size)
{
    gl_ctl_resp_t one, two;
    if (gl_ctl_resp_decode (data, size, &one, NULL))
        return;
    MUST (one.text && strlen (one.text) == one.text_len);
    uint8_t *a, *b;
    size_t a_len, b_len;
    MUST (gl_ctl_resp_encode (&one, &a, &a_len) == 0);
    MUST (gl_ctl_resp_decode (a, a_len, &two, NULL) == 0);
    MUST (one.code == two.code && one.text_len == two.text_len &&
          !memcmp (one.text, two.text, one.text_len));
    MUST (gl_ctl_resp_encode (&two, &b, &b_len) == 0);
    MUST (bytes_eq (a, a_len, b, b_len));
    free (a);
    free (b);
    gl_ctl_resp_clear (&one);
    gl_ctl_resp_clear (&two);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_msg (data, size);
    fuzz_env (data, size);
    fuzz_req (data, size);
    fuzz_resp (data, size);
    return 0;
}
