/*  test_access.c -- whom a job runs as and who may signal it: the name
    of the kernel's uid stamped into a RUN, the host's mapping by name with
    its refusals (no account, deny and allow lists, uid ranges, root), a
    user's own agent, and the signal rule.  Uses the accounts every system
    has (root, and nobody when there is one). */
#include "access.h"
#include "tap.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static access_t *rules (const char *extra_allow, const char *deny, const char *uids, bool root,
                        bool machine)
{
    gl_conf_t c;
    gl_conf_defaults (&c);
    snprintf (c.allow_users, sizeof c.allow_users, "%s", extra_allow);
    snprintf (c.deny_users, sizeof c.deny_users, "%s", deny);
    if (uids)
        snprintf (c.uids, sizeof c.uids, "%s", uids);
    c.root_jobs = root;
    return access_new (&c, machine);
}

/* err holds want, and the call failed */
static void refused (access_t *a, const char *user, const char *want)
{
    char err[512] = "";
    uid_t uid = 12345;
    gid_t gid = 12345;
    int rc = access_account (a, user, 4242, &uid, &gid, err, sizeof err);
    CHECK_EQ (rc, -1);
    CHECK (strstr (err, want) != NULL);
    CHECK (uid == 12345 && gid == 12345); /* nothing given away */
    if (rc != -1 || !strstr (err, want))
        fprintf (stderr, "  %s: wanted '%s', got '%s'\n", user, want, err);
}

static void granted (access_t *a, const char *user, uid_t want_uid)
{
    char err[512] = "";
    uid_t uid = 12345;
    gid_t gid = 12345;
    CHECK_EQ (access_account (a, user, 4242, &uid, &gid, err, sizeof err), 0);
    CHECK_EQ (uid, want_uid);
    if (uid != want_uid)
        fprintf (stderr, "  %s: %s\n", user, err);
}

int main (void)
{
    /* the home names the job's user by the kernel's uid, whatever was claimed */
    gl_job_t job = { .type = GL_JOB_RUN, .uid = 7, .gid = 7 };
    snprintf (job.user, sizeof job.user, "mallory");
    access_stamp (&job, 0, 0);
    CHECK (!strcmp (job.user, "root"));
    CHECK_EQ (job.uid, 0);
    access_stamp (&job, 4000000000u, 5); /* a uid with no name: no user */
    CHECK_EQ (job.user[0], '\0');
    CHECK_EQ (job.uid, 4000000000u);
    CHECK_EQ (job.gid, 5);

    /* a machine's agent, defaults: root refused, system accounts refused */
    access_t *a = rules ("", "", NULL, false, true);
    CHECK (a != NULL);
    refused (a, "root", "runs no jobs of root (cluster/root_jobs = no)");
    refused (a, "no-such-user-here", "user no-such-user-here has no account here");
    refused (a, "", "names no user");
    struct passwd *nobody = getpwnam ("nobody");
    if (nobody)
        refused (a, "nobody", "outside node/uids");
    access_destroy (&a);
    CHECK (a == NULL);

    /* root when the cluster says yes, whatever node/uids */
    a = rules ("", "", "1000-2000", true, true);
    granted (a, "root", 0);
    access_destroy (&a);

    /* lists and ranges */
    if (nobody) {
        a = rules ("", "", "0-4294967294", false, true);
        granted (a, "nobody", nobody->pw_uid);
        access_destroy (&a);
        a = rules ("", "daemon, nobody", "0-4294967294", false, true);
        refused (a, "nobody", "user nobody is in node/deny_users here");
        access_destroy (&a);
        a = rules ("alice root", "", "0-4294967294", true, true);
        refused (a, "nobody", "user nobody is not in node/allow_users here");
        granted (a, "root", 0);
        access_destroy (&a);
        char range[64];
        snprintf (range, sizeof range, "%u", (unsigned) nobody->pw_uid);
        a = rules ("", "", range, false, true);
        granted (a, "nobody", nobody->pw_uid);
        access_destroy (&a);
    }
    else
        tap_skip ("no account 'nobody' here: the list and range checks need one besides root");

    /* a user's own agent: its user's jobs only, as itself */
    a = rules ("", "", NULL, false, false);
    struct passwd *me = getpwuid (geteuid ());
    CHECK (me != NULL);
    if (me) {
        char user[64];
        snprintf (user, sizeof user, "%s", me->pw_name);
        granted (a, user, geteuid ());
        refused (a, "someone-else", "runs only that user's jobs");
    }
    access_destroy (&a);

    /* signals: one's own jobs, or root any */
    CHECK (access_may_signal ("ann", "ann"));
    CHECK (!access_may_signal ("ann", "bob"));
    CHECK (access_may_signal ("root", "bob"));
    CHECK (!access_may_signal ("", ""));
    return tap_done ("test_access");
}
