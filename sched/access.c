/*  access.c -- who a job runs as, and who may do what to it.  See
    access.h. */
#include "access.h"
#include "err.h"
#include "str.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct access_t {
    bool machine;
    bool root_jobs;
    char allow[GL_USERS_MAX];
    char deny[GL_USERS_MAX];
    uint32_t ranges[GL_UID_RANGES][2];
    size_t n_ranges;
};

access_t *access_new (const gl_conf_t *conf, bool machine)
{
    access_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    gl_conf_t defaults;
    if (!conf) {
        gl_conf_defaults (&defaults);
        conf = &defaults;
    }
    self->machine = machine;
    self->root_jobs = conf->root_jobs;
    gl_strlcpy (self->allow, conf->allow_users, sizeof self->allow);
    gl_strlcpy (self->deny, conf->deny_users, sizeof self->deny);
    /* conf.c checked the text; a failure here leaves no range, and so no
       user but root (by its own rule) */
    if (gl_parse_uid_ranges (conf->uids, self->ranges, GL_UID_RANGES, &self->n_ranges))
        self->n_ranges = 0;
    return self;
}

void access_destroy (access_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

void access_stamp (gl_job_t *job, uid_t uid, gid_t gid)
{
    char buf[4096];
    struct passwd pw, *found = NULL;
    if (job->type == GL_JOB_RUN) { /* a SIGNAL carries only the name */
        job->uid = (uint32_t) uid;
        job->gid = (uint32_t) gid;
    }
    job->user[0] = '\0';
    if (getpwuid_r (uid, &pw, buf, sizeof buf, &found) == 0 && found &&
        strlen (pw.pw_name) <= GL_JOB_USER_MAX)
        gl_strlcpy (job->user, pw.pw_name, sizeof job->user);
}

static bool listed (const char *list, const char *user)
{
    size_t want = strlen (user);
    const char *at = list;
    for (size_t len; (len = gl_users_next (&at)); at += len)
        if (len == want && !memcmp (at, user, len))
            return true;
    return false;
}

static bool uid_in_ranges (const access_t *self, uid_t uid)
{
    for (size_t i = 0; i < self->n_ranges; i++)
        if (uid >= self->ranges[i][0] && uid <= self->ranges[i][1])
            return true;
    return false;
}

int access_account (const access_t *self, const char *user, uint32_t uid, uid_t *run_uid,
                    gid_t *run_gid, char *err, size_t errlen)
{
    if (!user[0])
        return gl_err (err, errlen, "the job names no user (its uid %u has no name at its home)",
                       (unsigned) uid);
    char buf[4096];
    struct passwd pw, *found = NULL;
    if (!self->machine) {
        /* one user's agent: that user's jobs only, as itself */
        int rc = getpwuid_r (geteuid (), &pw, buf, sizeof buf, &found);
        bool same = (rc == 0 && found && gl_streq (pw.pw_name, user)) || uid == geteuid ();
        if (!same)
            return gl_err (err, errlen,
                           "user %s: this agent is %s's own and runs only that user's jobs", user,
                           found ? pw.pw_name : "another user");
        *run_uid = geteuid ();
        *run_gid = getegid ();
        return 0;
    }
    int rc = getpwnam_r (user, &pw, buf, sizeof buf, &found);
    if (rc || !found)
        return gl_err (err, errlen, "user %s has no account here%s%s", user, rc ? ": " : "",
                       rc ? strerror (rc) : "");
    if (pw.pw_uid == 0 && !self->root_jobs)
        return gl_err (err, errlen,
                       "user %s: this cluster runs no jobs of root (cluster/root_jobs = no)", user);
    if (listed (self->deny, user))
        return gl_err (err, errlen, "user %s is in node/deny_users here", user);
    if (self->allow[0] && !listed (self->allow, user))
        return gl_err (err, errlen, "user %s is not in node/allow_users here", user);
    if (pw.pw_uid != 0 && !uid_in_ranges (self, pw.pw_uid))
        return gl_err (err, errlen, "user %s: uid %u here is outside node/uids", user,
                       (unsigned) pw.pw_uid);
    *run_uid = pw.pw_uid;
    *run_gid = pw.pw_gid;
    return 0;
}

bool access_may_signal (const char *caller, const char *owner)
{
    return caller[0] && (gl_streq (caller, "root") || gl_streq (caller, owner));
}
