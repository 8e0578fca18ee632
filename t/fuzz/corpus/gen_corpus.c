/*  gen_corpus.c -- write the fuzzer's seed corpus: one valid encoding of
    each message type, update kind and record kind, each job type (with
    every field it may carry), an envelope, and the control messages.

        gen_corpus DIR          writes DIR/msg-ping, DIR/env, ... */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static int failures;
static uint8_t *buf; /* the encoders' output, saved by save() */
static size_t len;

/* Write buf, just filled by an encoder that returned rc, to DIR/name. */
static void save (const char *name, int rc)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = rc == 0 ? fopen (path, "wb") : NULL;
    if (rc)
        fprintf (stderr, "gen_corpus: cannot encode %s\n", name);
    else if (!f || fwrite (buf, 1, len, f) != len || fclose (f))
        fprintf (stderr, "gen_corpus: cannot write %s\n", path);
    else {
        free (buf);
        return;
    }
    failures++;
}

static void fill_update (gl_update_t *upd, int i)
{
    memset (upd, 0, sizeof *upd);
    if (i < 3) {
        gl_rec_t *rec = &upd->rec;
        upd->kind = GL_UPD_REC;
        rec->kind = (uint8_t) (GL_REC_ALIVE + i);
        snprintf (rec->origin, sizeof rec->origin, "node%d", i);
        rec->generation = 1700000000;
        rec->seq = 3;
        rec->time_ms = 1700000000123ull;
        memset (rec->sig, 0xab, sizeof rec->sig);
        if (rec->kind == GL_REC_ALIVE) {
            strcpy (rec->addr, "tcp://127.0.0.1:7946");
            memset (rec->pubkey, 0x11, sizeof rec->pubkey);
        }
        if (rec->kind == GL_REC_RES)
            rec->res = (gl_res_t){ 4, 500, 700, 100, 16u << 20, 8u << 20, 600, GL_RES_IDLE };
    }
    else {
        upd->kind = i == 3 ? GL_UPD_SUSPECT : GL_UPD_DEAD;
        strcpy (upd->node, "node9");
        strcpy (upd->from, "node1");
        upd->generation = 1700000000;
        upd->incarnation = 2;
    }
}

/* A job of the given type with every field it may carry (see wire.h). */
static void fill_job (gl_job_t *job, int type)
{
    static char *args[] = { "/bin/sh", "-c", "echo hi; cat", "" };
    static char *env[] = { "PATH=/usr/bin:/bin", "HOME=/home/alice", "EMPTY=" };
    static uint8_t bytes[] = "line one\nline two\n\0\xff";
    memset (job, 0, sizeof *job);
    job->type = (uint8_t) type;
    if (type != GL_JOB_LIST && type != GL_JOB_LIST_REPLY)
        strcpy (job->gpid, "node1-1700000000-17");
    strcpy (job->home, "node1");
    strcpy (job->node, "node2");
    job->rank = 1;
    job->size = 4;
    job->seq = 5;
    switch (type) {
        case GL_JOB_RUN:
            job->restart = GL_JOB_RESTART_MOVE;
            job->argc = 4;
            job->argv = args;
            job->envc = 3;
            job->envv = env;
            job->cwd = "/home/alice";
            job->umask = 022;
            job->uid = job->gid = 1000;
            strcpy (job->user, "alice");
            job->pty = true;
            job->rows = 24;
            job->cols = 80;
            job->cores = 2;
            job->mem_kb = 1 << 20;
            strcpy (job->pin, "node3");
            job->allow_local = true;
            job->cred_expiry_ms = 1796539200000ull;
            memset (job->cred_sig, 0x5a, GL_SIG_BYTES);
            break;
        case GL_JOB_STARTED: job->pid = 4242; break;
        case GL_JOB_REFUSED: job->text = "owner active"; break;
        case GL_JOB_FAILED:
            job->code = 1;
            job->text = "program not found: fortune";
            break;
        case GL_JOB_DATA:
            job->stream = 1;
            job->data = bytes;
            job->len = sizeof bytes;
            job->eof = true;
            break;
        case GL_JOB_CREDIT:
            job->stream = 0;
            job->credit = 65536;
            break;
        case GL_JOB_SIGNAL: job->signo = 2; break;
        case GL_JOB_WINSIZE:
            job->rows = 50;
            job->cols = 132;
            break;
        case GL_JOB_EXIT:
            job->signo = 11;
            job->core = true;
            break;
        case GL_JOB_KILL: job->text = "launcher gone"; break;
        case GL_JOB_LIST_REPLY: job->text = "node1-1700000000-17 alice node2 running sh\n"; break;
        case GL_JOB_PMI: job->text = "cmd=get kvsname=kvs_node1_1 key=PMI_process_mapping"; break;
        case GL_JOB_PMI_REPLY:
            job->text = "cmd=get_result rc=0 msg=success value=(vector,(0,2,1))\n";
            break;
        case GL_JOB_NOTE:
            job->code = 3;
            job->eof = true; /* a code only with the job's end */
            job->text = "rank 1 aborted the job (exit code 3)";
            break;
        case GL_JOB_CKPT:
            job->code = GL_CKPT_ASK_MOVE;
            strcpy (job->user, "alice");
            strcpy (job->to, "node3");
            break;
        case GL_JOB_IMAGE:
            job->data = bytes;
            job->len = sizeof bytes;
            job->eof = true;
            job->text = "the job's process ended before its image";
            break;
        case GL_JOB_MOVE:
            job->code = GL_MOVE_STDIN;
            job->data = bytes;
            job->len = sizeof bytes;
            job->credit = 9;
            job->eof = true;
            break;
        default: break;
    }
}

int main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    dir = argv[1];
    gl_update_t updates[5];
    for (int i = 0; i < 5; i++)
        fill_update (&updates[i], i);

    for (int type = GL_MSG_PING; type <= GL_MSG_GOSSIP; type++) {
        gl_msg_t msg = { .type = (uint8_t) type, .probe_seq = 17 };
        strcpy (msg.target, "node2");
        if (type == GL_MSG_PING_REQ)
            strcpy (msg.target_addr, "tcp://127.0.0.1:7947");
        char name[64];
        snprintf (name, sizeof name, "msg-%s", gl_msg_type_name (type));
        save (name, gl_msg_encode (&msg, &buf, &len));
        msg.updates = updates;
        msg.n_updates = 5;
        snprintf (name, sizeof name, "msg-%s-updates", gl_msg_type_name (type));
        save (name, gl_msg_encode (&msg, &buf, &len));
    }
    for (int i = 0; i < 5; i++) {
        gl_msg_t msg = { .type = GL_MSG_GOSSIP, .n_updates = 1, .updates = &updates[i] };
        char name[64];
        snprintf (name, sizeof name, "update-%d", i);
        save (name, gl_msg_encode (&msg, &buf, &len));
    }

    for (int type = GL_JOB_RUN; type <= GL_JOB_MOVE; type++) {
        gl_job_t job;
        fill_job (&job, type);
        gl_msg_t msg = { .type = GL_MSG_JOB, .job = &job };
        char name[64];
        snprintf (name, sizeof name, "job-%s", gl_job_type_name (type));
        save (name, gl_msg_encode (&msg, &buf, &len));
    }
    gl_job_t job; /* an exit code, a bare eof */
    fill_job (&job, GL_JOB_EXIT);
    job.signo = 0;
    job.core = false;
    job.code = 3;
    gl_msg_t job_msg = { .type = GL_MSG_JOB, .job = &job };
    save ("job-exit-code", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_DATA);
    job.len = 0;
    job.data = NULL;
    job.stream = 0;
    save ("job-data-eof", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_CREDIT); /* the image's credit */
    job.stream = 3;
    save ("job-credit-image", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_MOVE);
    job.code = GL_MOVE_RELEASE;
    job.data = NULL;
    job.len = 0;
    job.eof = false;
    job.stream = 2;
    save ("job-move-release", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_MOVE); /* the new host: the image's stream was cut */
    job.code = GL_MOVE_FAILED;
    job.data = NULL;
    job.len = 0;
    job.eof = false;
    job.credit = 0;
    job.cause = GL_MOVE_CAUSE_CUT;
    job.text = "the move's stream was cut before its end";
    save ("job-move-cut", gl_msg_encode (&job_msg, &buf, &len));
    job.cause = GL_MOVE_CAUSE_AGAIN; /* the capture failed for an instant */
    job.text = "fd 7: a file that was not there when the process was stopped";
    save ("job-move-again", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_RUN); /* glx --checkpoint-every */
    job.ckpt_every_ms = 5000;
    save ("job-run-ckpt-every", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_CKPT); /* recovery: a checkpoint its home keeps */
    job.code = GL_CKPT_ASK_KEEP;
    job.user[0] = '\0';
    save ("job-ckpt-keep", gl_msg_encode (&job_msg, &buf, &len));
    job.code = GL_CKPT_KEPT;
    job.to[0] = '\0';
    job.text = "taken 12:03:04 UTC on node2, 64.0 MiB, in node1's memory";
    save ("job-ckpt-kept", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_IMAGE); /* a kept image's end: where the streams stood */
    job.data = NULL;
    job.len = 0;
    job.text = NULL;
    job.at_out = 1234;
    job.at_err = 56;
    job.at_in = 789;
    save ("job-image-kept-end", gl_msg_encode (&job_msg, &buf, &len));
    fill_job (&job, GL_JOB_LIST); /* glpeer ps -v */
    job.code = GL_LIST_PROBE;
    save ("job-list-probe", gl_msg_encode (&job_msg, &buf, &len));

    gl_env_t env = { .version = GL_PROTO_VERSION,
                     .sender = "node1",
                     .generation = 1700000000,
                     .seq = 99,
                     .time_ms = 1700000000123ull,
                     .ct = (const uint8_t *) "0123456789abcdef-ciphertext",
                     .ct_len = 27 };
    memset (env.cluster_id, 0x42, sizeof env.cluster_id);
    memset (env.nonce, 0x24, sizeof env.nonce);
    save ("env", gl_env_encode (&env, &buf, &len));
    save ("env-header", gl_env_encode_header (&env, &buf, &len));

    gl_ctl_req_t req = { .cmd = "run", .argc = 2, .argv = { "./job", "-v" } };
    save ("ctl-req", gl_ctl_req_encode (&req, &buf, &len));
    gl_ctl_resp_t resp = { .code = -2, .text = "no such job\n", .text_len = 12 };
    save ("ctl-resp", gl_ctl_resp_encode (&resp, &buf, &len));
    return failures != 0;
}
