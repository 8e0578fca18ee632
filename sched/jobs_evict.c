/*  jobs_evict.c -- the owner comes back (see jobs.h, jobs_set_owner_return).

    When this machine's idle state flips to busy, its guests leave as
    cluster.conf's sched/owner_return says: migrate (each guest's home is
    asked to move it to an idle node; whatever is still here and not on
    its way when the grace is over is stopped), suspend (stopped at once),
    kill, or stay.  A stopped guest is continued when the machine is idle
    again, or, while the owner stays, moved once the gossip view shows
    another idle node, unless its own move was refused (no shim, a TCP
    connection): the new node is found first, and the guest continued
    only for its checkpoint (a stopped process cannot answer), stopped
    again when that is refused (jobs_ckpt.c).  Stopping is SIGSTOP to the
    job's process group; a move's own stop is the move's. */
#include "jobs_impl.h"
#include "str.h"

#include <signal.h>
#include <stdlib.h>

#define EVICT_RETRY_MS 3000 /* a suspended guest looks for an idle node this often */

void jobs_set_owner_return (jobs_t *self, jobs_evict_t policy, uint32_t grace_ms)
{
    self->evict = policy;
    self->evict_grace_ms = grace_ms;
}

static void evict_ask_home (jobs_t *self, host_job_t *h, uint64_t now)
{
    gl_job_t m;
    jobs_msg_init (&m, GL_JOB_MOVE, h->gpid, h->home);
    m.code = GL_MOVE_EVICT;
    host_send (self, h, &m);
    h->evict_at = now + self->evict_grace_ms;
}

static void suspend (host_job_t *h)
{
    if (!h->suspended && exec_signal (h->exec, SIGSTOP) == 0)
        h->suspended = true;
}

static void resume (host_job_t *h)
{
    if (h->suspended && !h->user_stopped) /* stopped by its user: it stays so */
        exec_signal (h->exec, SIGCONT);
    h->suspended = false;
}

/* May a guest of ours be treated now?  Not during a move, a restart, an
   end, nor a gang's process (its slices stop and continue it). */
static bool evictable (const host_job_t *h)
{
    return !h->killed && !h->move && !h->held && !h->ck && h->img_fd < 0 && !h->gang[0];
}

void jobs_owner (jobs_t *self, bool present, uint64_t now)
{
    bool was = self->owner_present;
    self->owner_present = present;
    if (present == was)
        return;
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (!present) { /* the machine is idle again: its guests go on here */
            h->evict_at = 0;
            h->unmovable = false;
            resume (h);
            continue;
        }
        if (!evictable (h))
            continue;
        switch (self->evict) {
            case JOBS_EVICT_MIGRATE: evict_ask_home (self, h, now); break;
            case JOBS_EVICT_SUSPEND: suspend (h); break;
            case JOBS_EVICT_KILL: exec_signal (h->exec, SIGKILL); break;
            case JOBS_EVICT_STAY: break;
        }
    }
    self->evict_retry_ms = now + EVICT_RETRY_MS;
}

/* Is some other node idle now, as gossip says? */
static bool idle_elsewhere (jobs_t *self, uint64_t now)
{
    size_t n = 0;
    place_cand_t *cands = self->io.view (self->io.arg, &n, now);
    bool found = false;
    for (size_t i = 0; cands && i < n && !found; i++)
        found = cands[i].state == 0 && !cands[i].is_self && cands[i].has_res &&
                cands[i].res.state == GL_RES_IDLE && !gl_streq (cands[i].name, self->name);
    free (cands);
    return found;
}

void evict_tick (jobs_t *self, uint64_t now)
{
    if (!self->owner_present || self->evict != JOBS_EVICT_MIGRATE)
        return;
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (h->evict_at && now >= h->evict_at && evictable (h)) {
            h->evict_at = 0; /* it could not leave in time: it waits, stopped */
            suspend (h);
        }
    if (now < self->evict_retry_ms)
        return;
    self->evict_retry_ms = now + EVICT_RETRY_MS;
    bool asked = false;
    for (host_job_t *h = self->hosts; h; h = h->next)
        if (h->suspended && !h->unmovable && evictable (h) &&
            (asked || idle_elsewhere (self, now))) {
            asked = true; /* continued for its checkpoint only (jobs_ckpt.c) */
            evict_ask_home (self, h, now);
        }
}

uint64_t evict_next_deadline (jobs_t *self, uint64_t now, uint64_t next)
{
    if (!self->owner_present || self->evict != JOBS_EVICT_MIGRATE)
        return next;
    for (host_job_t *h = self->hosts; h; h = h->next) {
        /* past due while it moves: looked at again soon, not at once */
        uint64_t at = h->evict_at && h->evict_at <= now ? now + 200 : h->evict_at;
        if (at && at < next)
            next = at;
        if (h->suspended && self->evict_retry_ms < next)
            next = self->evict_retry_ms;
    }
    return next;
}
