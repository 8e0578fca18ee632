/*  access.h -- who a job runs as, and who may do what to it.

    A job belongs to the user who ran glx, as the kernel names them to the
    job's home (SO_PEERCRED on the control socket), never as the client
    claims: access_stamp writes that user into the RUN.  Machines need not
    share uid numbers, so what travels is the user's name, and each host
    runs the job as its own local account of that name (access_account),
    or refuses with one line saying why:

      - a user's own agent (not root) runs only its user's jobs, as itself;
      - a machine's agent (started by root) runs a job as the local
        account of the job's user if it has one, the name is not in
        node/deny_users, is in node/allow_users when that is set, and its
        uid is in node/uids (default 1000-60000, people rather than system
        accounts); root's jobs only when cluster/root_jobs says yes, so
        the cluster key alone is never worth root on another machine.

    Signals (glpeer kill) are judged at the job's home by access_may_signal:
    a user signals only their own jobs; root signals any.

    The checks read the local user database (getpwnam), nothing else: no
    clock, no socket, so the home and the host of the simulator could use
    them too. */
#ifndef GL_ACCESS_H
#define GL_ACCESS_H

#include "conf.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct access_t access_t;

/* The rules of conf (NULL: the defaults); machine says whether this agent
   serves every local user (it was started by root) or is one user's.
   NULL when out of memory. */
access_t *access_new (const gl_conf_t *conf, bool machine);
void access_destroy (access_t **self_p);

/* Home side: the RUN or SIGNAL came from a local client the kernel says
   is uid, gid: its user (and a RUN's uid and gid) become that, whatever
   it claimed.  A uid with no name here leaves the user empty, which every
   host refuses, and which may signal nothing. */
void access_stamp (gl_job_t *job, uid_t uid, gid_t gid);

/* Host side: whom to run a job of user (uid: the uid its home gave, for a
   user's own agent only) as.  0 with *run_uid, *run_gid, or -1 with the
   reason in err ("user bob has no account here", ...). */
int access_account (const access_t *self, const char *user, uint32_t uid, uid_t *run_uid,
                    gid_t *run_gid, char *err, size_t errlen);

/* Home side: may the user caller signal a job of the user owner?  Root
   may; anyone else only their own.  An empty caller may not. */
bool access_may_signal (const char *caller, const char *owner);

#endif
