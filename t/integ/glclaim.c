/*  glclaim -- a client that lies about who it is, for tests of the
    machine's agent: it asks the agent at RUNTIME_DIR to run PROG as the
    user, uid and gid it names, as glx would if it were changed to, and
    prints what the job writes to its stdout.  The agent must take the
    job's user from SO_PEERCRED instead.

        glclaim RUNTIME_DIR NODE USER UID -- PROG [ARGS...]

    Exits with the job's exit code, or 1 when the job failed (its reason
    on stderr).  It never exits without a word: a short job may end, and
    its home close the stream, before glclaim has sent its stdin's end;
    that send then fails (EPIPE, not SIGPIPE's silent death) and what
    the agent said before closing is still read. */
#include "ctl.h"
#include "str.h"
#include "wire.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int send_job (int fd, const gl_job_t *job)
{
    gl_msg_t msg = { .type = GL_MSG_JOB, .job = (gl_job_t *) job };
    uint8_t *body;
    size_t len;
    if (gl_msg_encode (&msg, &body, &len))
        return -1;
    int rc = ctl_frame_write (fd, body, len);
    free (body);
    return rc;
}

int main (int argc, char **argv)
{
    if (argc < 7 || strcmp (argv[5], "--")) {
        fprintf (stderr, "usage: glclaim RUNTIME_DIR NODE USER UID -- PROG [ARGS...]\n");
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    char sock[4200], err[512];
    snprintf (sock, sizeof sock, "%s/glpeer.sock", argv[1]);
    int fd = ctl_connect (sock, err, sizeof err);
    if (fd < 0) {
        fprintf (stderr, "glclaim: %s\n", err);
        return 1;
    }
    gl_ctl_req_t req = { .cmd = "stream" };
    uint8_t *body;
    size_t len;
    if (gl_ctl_req_encode (&req, &body, &len)) {
        fprintf (stderr, "glclaim: cannot encode the stream request\n");
        return 1;
    }
    if (ctl_frame_write (fd, body, len)) {
        fprintf (stderr, "glclaim: cannot send the stream request: %s\n", strerror (errno));
        return 1;
    }
    free (body);
    char *env[] = { "PATH=/usr/bin:/bin", NULL };
    gl_job_t run = { .type = GL_JOB_RUN,
                     .argc = (uint32_t) (argc - 6),
                     .argv = argv + 6,
                     .envc = 1,
                     .envv = env,
                     .cwd = "/",
                     .uid = (uint32_t) strtoul (argv[4], NULL, 10),
                     .gid = (uint32_t) strtoul (argv[4], NULL, 10),
                     .allow_local = true };
    gl_strlcpy (run.user, argv[3], sizeof run.user);
    gl_strlcpy (run.pin, argv[2], sizeof run.pin);
    if (send_job (fd, &run)) {
        fprintf (stderr, "glclaim: cannot send the job: %s\n", strerror (errno));
        return 1;
    }
    uint8_t *frame;
    int status = 1;
    bool ended = false;
    while ((frame = ctl_frame_read (fd, &len))) {
        gl_msg_t msg;
        if (gl_msg_decode (frame, len, &msg, NULL) == 0 && msg.type == GL_MSG_JOB) {
            const gl_job_t *j = msg.job;
            if (j->type == GL_JOB_STARTED) { /* stdin: nothing */
                gl_job_t eof = { .type = GL_JOB_DATA, .eof = true };
                gl_strlcpy (eof.gpid, j->gpid, sizeof eof.gpid);
                send_job (fd, &eof); /* failing, the job has ended: read on */
            }
            else if (j->type == GL_JOB_DATA && j->stream == 1 && j->len)
                fwrite (j->data, 1, j->len, stdout);
            else if (j->type == GL_JOB_FAILED || j->type == GL_JOB_REFUSED ||
                     j->type == GL_JOB_NOTE) {
                fprintf (stderr, "glclaim: %s: %s\n", gl_job_type_name (j->type),
                         j->text ? j->text : "-");
                ended = ended || j->type == GL_JOB_FAILED;
            }
            else if (j->type == GL_JOB_EXIT) {
                status = j->signo ? 128 + j->signo : j->code;
                ended = true;
            }
            gl_msg_clear (&msg);
        }
        free (frame);
    }
    close (fd);
    if (!ended)
        fprintf (stderr, "glclaim: the agent closed the connection before the job ended\n");
    return status;
}
