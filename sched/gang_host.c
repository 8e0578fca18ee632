/*  gang_host.c -- the gang part of the host role (see jobs.h, gangs): a
    gang's process here is counted on the gang slots, told to gang.h,
    put where freeze.h can stop it, and stopped and continued at every
    slice as gang_decide says.  host.c calls in when such a process
    starts, is signalled, killed or freed; the rest is here.  Not public:
    the module's interface is jobs.h. */
#include "jobs_impl.h"
#include "str.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jobs_set_gang (jobs_t *self, gang_t *gang, freeze_t *freeze, uint32_t depth)
{
    self->gang = gang;
    self->freeze = freeze;
    self->gang_depth = depth ? depth : 1;
    if (!self->gang_slots) {
        slots_config_t sc;
        slots_config_default (&sc);
        sc.slots = self->cores * self->gang_depth;
        self->gang_slots = slots_new (&sc, sc.slots);
    }
}

slots_t *jobs_slots_for (jobs_t *self, const char *gang)
{
    return gang && gang[0] && self->gang_slots ? self->gang_slots : self->slots;
}

/* Signals go where exec sends them: to the job's process group, through
   the root launcher when the agent dropped root. */
static int signal_job (void *arg, int signo)
{
    return exec_signal ((exec_t *) arg, signo);
}

void gang_host_started (jobs_t *self, host_job_t *h, const char *gang, uint64_t now)
{
    if (!gang[0])
        return;
    gl_strlcpy (h->gang, gang, sizeof h->gang);
    if (self->freeze)
        h->fz = freeze_job_new (self->freeze, h->gpid, h->pid, signal_job, h->exec);
    if (self->gang)
        gang_procs (self->gang, h->gang, 1, now);
}

void gang_host_thaw (host_job_t *h)
{
    if (h->fz)
        freeze_cont (h->fz);
}

void gang_host_signal (host_job_t *h, int signo)
{
    /* with signals, a slice leaves a process its user stopped alone */
    if (h->fz && (signo == SIGTSTP || signo == SIGSTOP || signo == SIGCONT))
        freeze_user_stop (h->fz, signo != SIGCONT);
}

void gang_host_free (jobs_t *self, host_job_t *h)
{
    freeze_job_destroy (&h->fz); /* continues it if stopped */
    if (h->gang[0] && self->gang)
        gang_procs (self->gang, h->gang, -1, 0);
}

void jobs_gang_stop (jobs_t *self, uint64_t slice, jobs_switch_t *out)
{
    memset (out, 0, sizeof *out);
    if (!self->gang || !self->freeze)
        return;
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (!h->fz || h->killed)
            continue;
        if (gang_decide (self->gang, h->gang, slice) == GANG_STOP && !freeze_stopped (h->fz) &&
            freeze_stop (h->fz) == 0) {
            out->stopped++;
            h->stops++;
        }
    }
    out->unconfirmed = freeze_confirm (self->freeze);
}

void jobs_gang_cont (jobs_t *self, uint64_t slice, jobs_switch_t *out)
{
    if (!self->gang || !self->freeze)
        return;
    for (host_job_t *h = self->hosts; h; h = h->next) {
        if (!h->fz)
            continue;
        bool run = h->killed || gang_decide (self->gang, h->gang, slice) != GANG_STOP;
        if (run && freeze_stopped (h->fz) && freeze_cont (h->fz) == 0)
            out->continued++;
        if (freeze_stopped (h->fz))
            out->held++;
        else
            out->running++;
    }
}

size_t jobs_gang_procs (const jobs_t *self)
{
    size_t n = 0;
    for (const host_job_t *h = self->hosts; h; h = h->next)
        n += h->gang[0] && !h->killed;
    return n;
}

void gang_host_fields (jobs_t *self, const host_job_t *h, char *out, size_t len)
{
    gang_info_t info;
    if (!h->gang[0]) {
        snprintf (out, len, "\t-\t-\t-\t-\t-");
        return;
    }
    if (!self->gang || !gang_local_find (self->gang, h->gang, &info)) {
        snprintf (out, len, "\t%s\t-\t-\t-\tuncoordinated (not coscheduled here)", h->gang);
        return;
    }
    const char *what = info.decision == GANG_RUN    ? "run"
                       : info.decision == GANG_STOP ? "stop"
                                                    : "uncoordinated";
    char row[16] = "-", term[24] = "-";
    if (info.placed) {
        snprintf (row, sizeof row, "%u", info.row);
        snprintf (term, sizeof term, "%llu", (unsigned long long) info.term);
    }
    snprintf (out, len, "\t%s\t%s\t%s\t%s\t%s (%s), stopped %llu times", h->gang, row,
              info.placed ? info.leader : "-", term, what, info.why[0] ? info.why : "-",
              (unsigned long long) h->stops);
}
