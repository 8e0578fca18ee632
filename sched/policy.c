/*  policy.c -- glpeer's placement policy module: load it, score with it,
    switch it off when it misbehaves.  See policy.h and glpolicy.h. */
#include "policy.h"
#include "err.h"
#include "str.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glpolicy.h"
#include "loader.h"
#include "log.h"

/* Host calls a policy may make (glsfi.h numbers its own from 1). */
#define POLICY_HOST_LOG 16

struct policy {
    sfi_module_t *mod;
    int64_t score_fn;
    char path[512];
    bool off;
    unsigned long long calls;
};

/* __glsfi_host_16 (msg, len) in a module: a line in glpeer's log, for
   policy authors (glunix-policy(7)). */
static uint64_t host_log (uint64_t msg, uint64_t len, uint64_t a2, uint64_t a3, uint64_t a4,
                          uint64_t a5)
{
    sfi_module_t *m = sfi_current ();
    if (len > 512)
        len = 512;
    const char *text = m ? sfi_module_ptr (m, msg, (size_t) len) : NULL;
    if (!text)
        return (uint64_t) -1;
    gl_info ("policy says: %.*s", (int) len, text);
    return 0;
}

policy_t *policy_new (const char *path, unsigned budget_ms, char *err, size_t errlen)
{
    policy_t *self = calloc (1, sizeof *self);
    if (!self) {
        gl_err (err, errlen, "out of memory");
        return NULL;
    }
    gl_strlcpy (self->path, path, sizeof self->path);
    /* a policy needs little: small heap and stack keep many agents cheap */
    sfi_limits_t lim = { .heap_size = 16u << 20, .stack_size = 256u << 10, .budget_ms = budget_ms };
    char load_err[512];
    self->mod = sfi_module_load (path, &lim, load_err, sizeof load_err);
    if (!self->mod) {
        gl_err (err, errlen, "sched/policy %s: %s", path, load_err);
        free (self);
        return NULL;
    }
    self->score_fn = sfi_module_lookup (self->mod, "glunix_policy_score");
    if (self->score_fn < 0) {
        gl_err (err, errlen,
                "sched/policy %s: no function glunix_policy_score "
                "(see glunix-policy(7))",
                path);
        policy_destroy (&self);
        return NULL;
    }
    sfi_module_export (self->mod, POLICY_HOST_LOG, (void *) host_log);
    size_t room;
    if (!sfi_module_scratch (self->mod, &room) ||
        room < sizeof (struct glpolicy_node) + sizeof (struct glpolicy_job)) {
        gl_err (err, errlen, "sched/policy %s: no scratch room", path);
        policy_destroy (&self);
        return NULL;
    }
    return self;
}

void policy_destroy (policy_t **self_p)
{
    policy_t *self = *self_p;
    if (!self)
        return;
    sfi_module_destroy (&self->mod);
    free (self);
    *self_p = NULL;
}

static void copy_text (char *dst, size_t size, const char *src)
{
    memset (dst, 0, size);
    if (src)
        gl_strlcpy (dst, src, size);
}

int policy_score (void *arg, const place_cand_t *cand, const place_req_t *req, double builtin,
                  double *score, char *why, size_t size)
{
    policy_t *self = (policy_t *) arg;
    if (!self || self->off)
        return -1;

    /* Fresh copies in the module's scratch area on every call: whatever
       the module did to the last ones does not matter. */
    size_t room;
    uint8_t *scratch = sfi_module_scratch (self->mod, &room);
    struct glpolicy_node *node = (struct glpolicy_node *) scratch;
    struct glpolicy_job *job = (struct glpolicy_job *) (scratch + sizeof *node);
    memset (node, 0, sizeof *node);
    node->version = GLPOLICY_VERSION;
    copy_text (node->name, sizeof node->name, cand->name);
    node->is_self = cand->is_self;
    node->cores = cand->res.cores;
    node->guests = cand->res.guests;
    node->load1_milli = cand->res.load1_milli;
    node->owner_load_milli = cand->res.owner_load_milli;
    node->owner_idle_s = cand->res.owner_idle_s;
    node->mem_total_kb = cand->res.mem_total_kb;
    node->mem_avail_kb = cand->res.mem_avail_kb;
    node->estimate_age_ms = cand->res_age_ms;
    node->builtin_milli = (int64_t) (builtin * 1000.0);
    memset (job, 0, sizeof *job);
    job->version = GLPOLICY_VERSION;
    job->cores = req->cores ? req->cores : 1;
    job->mem_kb = req->mem_kb;
    copy_text (job->user, sizeof job->user, req->user);
    copy_text (job->command, sizeof job->command, req->command);

    uint64_t args[2] = { (uint64_t) (uintptr_t) node, (uint64_t) (uintptr_t) job };
    uint64_t ret = 0;
    self->calls++;
    int rc = sfi_module_call (self->mod, self->score_fn, args, 2, &ret);
    if (rc != SFI_OK) {
        self->off = true;
        gl_warning ("placement policy %s switched off: %s; the built-in policy places jobs "
                    "from now on",
                    self->path,
                    rc == SFI_ETIME ? "it ran over its time budget (sched/policy_budget)"
                                    : sfi_module_fault (self->mod));
        return -1;
    }
    int64_t milli = (int64_t) ret;
    *score = milli > 0 ? (double) milli / 1000.0 : 0;
    if (milli <= 0)
        snprintf (why, size, "scored %" PRId64, milli);
    return 0;
}

bool policy_active (const policy_t *self)
{
    return self && !self->off;
}

unsigned long long policy_calls (const policy_t *self)
{
    return self ? self->calls : 0;
}
